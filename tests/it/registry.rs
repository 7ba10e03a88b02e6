//! The Information Element table is generated from the registries it names; a stale table is a
//! test failure, not a silent drift.

use std::path::Path;
use std::process::Command;

#[test]
fn registry_is_generated_from_its_sources() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join("../shared/data/ipfix-registries").is_dir() {
        eprintln!("registry_is_generated_from_its_sources: skipped: ../shared/data is not there");
        return;
    }
    let out = Command::new("python3")
        .arg(root.join("tools/gen_registry.py"))
        .arg("--check")
        .output()
        .expect("python3 runs the generator");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
