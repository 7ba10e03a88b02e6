//! Network namespaces of a test's own, for the tests that need root: conntrack, the agent, and
//! the peers that export conntrack.

use std::ffi::OsStr;
use std::process::{Child, Command};

/// Whether `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A network namespace with `lo` up, deleted (with whatever runs in it) when dropped.
pub struct Netns(pub String);

impl Netns {
    pub fn new(name: String) -> Netns {
        let ok = Command::new("ip").args(["netns", "add", &name]).status().unwrap().success();
        assert!(ok, "ip netns add {name}");
        let ns = Netns(name);
        ns.sh("ip link set lo up");
        ns
    }

    /// `program` run inside the namespace.
    pub fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).arg(program);
        c
    }

    /// Runs `script` with sh inside the namespace; fails the test if it fails.
    pub fn sh(&self, script: &str) -> String {
        let out = self.cmd("sh").args(["-c", script]).output().unwrap();
        assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes still in the namespace would keep it alive: end them first.
        let _ = Command::new("sh").args(["-c", &format!("ip netns pids {} | xargs -r kill -9", self.0)]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Deletes the namespaces after `secs` unless dropped first. It is a process of its own, so it
/// fires even when the test hangs; deleting a namespace destroys its links, which breaks any
/// packet loop through them.
pub struct Watchdog(Child);

impl Watchdog {
    pub fn new(secs: u32, namespaces: &[&Netns]) -> Watchdog {
        let names: Vec<&str> = namespaces.iter().map(|ns| ns.0.as_str()).collect();
        let script = format!(
            "sleep {secs}; echo 'watchdog: deleting {names}' >&2; for ns in {names}; do \
             ip netns pids $ns | xargs -r kill -9; ip netns del $ns; done",
            names = names.join(" ")
        );
        // A process group of its own, so that stopping it stops its `sleep` too (which would
        // otherwise hold the test's output open until it ends).
        let child = std::os::unix::process::CommandExt::process_group(Command::new("sh").args(["-c", &script]), 0)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("starting the namespace watchdog");
        Watchdog(child)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.0.id())]).status();
        let _ = self.0.wait();
    }
}
