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

/// A process a test started (flowctl, or a peer); killed and reaped if the test ends before it
/// is stopped, so a failing test leaves nothing holding a port.
pub struct Service(pub std::process::Child);

impl Service {
    /// `flowctl ARGS`, stdout and stderr piped, `RUST_LOG` unset; `setup` adds environment,
    /// working directory and the like.
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(args: &[S], setup: impl FnOnce(&mut std::process::Command)) -> Service {
        use std::process::Stdio;
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowctl"));
        cmd.env_remove("RUST_LOG").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        setup(&mut cmd);
        Service(cmd.spawn().expect("flowctl starts"))
    }

    /// Sends `signal` (`-TERM`, `-INT` for Ctrl-C), waits at most 40 s for the exit, and returns
    /// the exit status and what the process printed on stdout and stderr.
    pub fn stop(mut self, signal: &str) -> (std::process::ExitStatus, String, String) {
        use std::io::Read;
        let pid = self.0.id().to_string();
        assert!(std::process::Command::new("kill").args([signal, &pid]).status().unwrap().success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
        let status = loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                break status;
            }
            assert!(std::time::Instant::now() < deadline, "did not stop within 40 s of {signal}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let (mut out, mut err) = (String::new(), String::new());
        if let Some(mut stdout) = self.0.stdout.take() {
            stdout.read_to_string(&mut out).unwrap();
        }
        if let Some(mut stderr) = self.0.stderr.take() {
            stderr.read_to_string(&mut err).unwrap();
        }
        (status, out, err)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits (at most 30 s) until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_listening(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nothing listens on 127.0.0.1:{port}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
