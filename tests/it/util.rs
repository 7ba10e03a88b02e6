//! Helpers shared by the integration tests: running the binary, finding the shared test data.

use std::path::{Path, PathBuf};
use std::process::Output;

/// `../shared/testdata` next to the project, where the real captures and tshark's answers live.
pub fn testdata() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata");
    dir.is_dir().then_some(dir)
}

/// The shared test data, or `None` after saying the test is skipped.
pub fn testdata_or_skip(test: &str) -> Option<PathBuf> {
    let dir = testdata();
    if dir.is_none() {
        eprintln!("{test}: skipped: ../shared/testdata is not there");
    }
    dir
}

pub fn flowctl() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("flowctl").expect("the flowctl binary is built");
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs flowctl with `args` and returns its output, whatever the exit status.
pub fn run(args: &[&str]) -> Output {
    flowctl().args(args).output().expect("flowctl runs")
}

/// Parses JSON lines.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}
