//! The command line as a user meets it: help, exit codes, completions and man pages.

use crate::util::{flowctl, run};

#[test]
fn completion_scripts_are_printed_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completion", shell]);
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("decode"), "{shell} completion mentions the decode subcommand");
        // Issue #22 (9): the hidden generate-docs was offered.
        assert!(!text.contains("generate-docs") && !text.contains("generate_docs"), "{shell} offers generate-docs");
        let committed =
            std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions")).unwrap();
        for file in committed {
            let path = file.unwrap().path();
            assert!(!std::fs::read_to_string(&path).unwrap().contains("generate-docs"), "{}", path.display());
        }
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

/// A capture cut inside its last record, so decoding warns on stderr.
fn cut_capture(dir: &std::path::Path) -> std::path::PathBuf {
    let quickstart = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated/quickstart.pcap");
    let bytes = std::fs::read(quickstart).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).unwrap();
    cut
}

/// Issue 22, defect 7: warnings written to a file or a pipe carry no ANSI escapes.
#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let cut = cut_capture(dir.path());
    let out = run(&["decode", "-o", "json", cut.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WARN"), "the cut capture is warned about: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in a pipe: {stderr:?}");
}

/// Issue 22, defect 7: on a terminal, warnings are coloured unless `NO_COLOR` is set.
#[test]
fn logs_to_a_terminal_are_coloured_unless_no_color_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let cut = cut_capture(dir.path());
    let bin = assert_cmd::cargo::cargo_bin("flowctl");
    // script(1) runs the command on a pseudo-terminal and copies what it printed.
    let on_terminal = |no_color: Option<&str>| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &format!("{} decode -o json {}", bin.display(), cut.display()), "/dev/null"]);
        cmd.env_remove("NO_COLOR").env_remove("RUST_LOG");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().expect("script(1) runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_terminal(None);
    assert!(coloured.contains("WARN") && coloured.contains('\u{1b}'), "{coloured:?}");
    let plain = on_terminal(Some("1"));
    assert!(plain.contains("WARN") && !plain.contains('\u{1b}'), "{plain:?}");
}

/// Issue #22 (9): help examples were wrapped mid-command on an 80-column terminal. Every line of
/// every Examples block is a whole command.
#[test]
fn help_examples_are_whole_commands_on_an_80_column_terminal() {
    let commands: &[&[&str]] = &[
        &["decode"],
        &["collect"],
        &["replay"],
        &["run", "agent"],
        &["run", "aggregator"],
        &["get", "recordmetrics"],
        &["get", "flowrecords"],
        &["tc", "apply"],
        &["tc", "get"],
        &["tc", "delete"],
        &["tc", "status"],
        &["certs", "create"],
    ];
    let mut wrapped = Vec::new();
    for command in commands {
        let out = flowctl().env("COLUMNS", "80").args(*command).arg("--help").output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        let examples: Vec<&str> =
            help.lines().skip_while(|l| *l != "Examples:").skip(1).take_while(|l| !l.is_empty()).collect();
        assert!(!examples.is_empty(), "{command:?} has no examples:\n{help}");
        wrapped.extend(examples.iter().filter(|l| !l.starts_with("  flowctl ") || l.len() > 80).map(|l| l.to_string()));
    }
    assert!(wrapped.is_empty(), "not whole commands: {wrapped:#?}");
}

/// Issue #22 (9): `decode -j 0` was accepted; zero threads is a usage error that says why.
#[test]
fn zero_threads_is_a_usage_error() {
    let out = run(&["decode", "-j", "0", "/nonexistent/capture.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'0'") && err.contains("--threads") && err.contains("1 or more"), "{err}");
}

/// Issue #22 (9): errors repeated their cause (`cannot decode nope.pcap: nope.pcap: …`,
/// `cannot write X: cannot create X: No such file …: No such file …`).
#[test]
fn an_error_names_its_file_and_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.pcap");
    std::fs::write(&short, b"hi\n").unwrap();
    let missing = dir.path().join("missing.pcap");
    let unwritable = dir.path().join("no-such-dir").join("out.pcap");
    let runs: [&[&str]; 4] = [
        &["decode", missing.to_str().unwrap()],
        &["decode", short.to_str().unwrap()],
        &["replay", missing.to_str().unwrap(), "--to", "udp://127.0.0.1:9"],
        &["collect", "-l", "udp://127.0.0.1:0", "--duration", "1s", "--write", unwritable.to_str().unwrap()],
    ];
    for args in runs {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let file = dir.path().to_str().unwrap();
        assert_eq!(err.matches(file).count(), 1, "{args:?}: {err}");
        assert!(err.matches("(os error").count() <= 1, "{args:?}: {err}");
    }
}
