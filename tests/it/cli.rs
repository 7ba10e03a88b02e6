//! The command line as a user meets it: help, exit codes, completions and man pages.

use crate::util::{flowctl, run};

#[test]
fn completion_scripts_are_printed_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completion", shell]);
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("decode"), "{shell} completion mentions the decode subcommand");
    }
}

#[test]
fn committed_completions_and_man_pages_are_current() {
    let dir = tempfile::tempdir().unwrap();
    flowctl().args(["generate-docs", "--out"]).arg(dir.path()).assert().success();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for sub in ["completions", "man"] {
        let mut generated: Vec<_> =
            std::fs::read_dir(dir.path().join(sub)).unwrap().map(|e| e.unwrap().path()).collect();
        generated.sort();
        for path in generated {
            let name = path.file_name().unwrap();
            let committed = std::fs::read(root.join(sub).join(name)).unwrap_or_default();
            if committed != std::fs::read(&path).unwrap() {
                stale.push(format!("{sub}/{}", name.to_string_lossy()));
            }
        }
    }
    assert!(stale.is_empty(), "stale, run `cargo run -- generate-docs`: {stale:?}");
}

#[test]
fn usage_errors_exit_2_and_say_what_is_wrong() {
    let out = run(&["decode"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<FILE>"));
    let out = run(&["decode", "/nonexistent/capture.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/capture.pcap") && err.contains("No such file"), "{err}");
}
