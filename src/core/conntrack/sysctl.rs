//! The sysctls that make conntrack count packets and bytes and stamp start and stop times.
//! Both are per network namespace; without them entries have zero counters and timestamps.

use std::io;
use std::path::{Path, PathBuf};

/// The settings, relative to `/proc/sys`, and what is lost without each.
const SETTINGS: [(&str, &str); 2] = [
    ("net/netfilter/nf_conntrack_acct", "connections will have no packet or byte counters"),
    ("net/netfilter/nf_conntrack_timestamp", "connections will have no start or stop times"),
];

/// The settings that could not be made, each with the reason and what follows from it.
#[derive(Debug, thiserror::Error)]
#[error("{}", .failures.iter().map(|(path, e, loss)| format!("cannot set {}=1 ({e}): {loss}", path.display())).collect::<Vec<_>>().join("; "))]
pub struct SysctlError {
    pub failures: Vec<(PathBuf, io::Error, &'static str)>,
}

/// Sets `net.netfilter.nf_conntrack_acct=1` and `nf_conntrack_timestamp=1` in the calling
/// thread's network namespace. Both are tried; the error lists each that failed (not root, no
/// conntrack module), a warning to log, since the dump still works without them.
pub fn enable_accounting() -> Result<(), SysctlError> {
    enable_accounting_in(Path::new("/proc/sys"))
}

/// [`enable_accounting`] under another root than `/proc/sys`.
pub fn enable_accounting_in(root: &Path) -> Result<(), SysctlError> {
    let mut failures = Vec::new();
    for (rel, loss) in SETTINGS {
        let path = root.join(rel);
        let already = std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == "1");
        if !already && let Err(e) = std::fs::write(&path, "1\n") {
            failures.push((path, e, loss));
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(SysctlError { failures }) }
}
