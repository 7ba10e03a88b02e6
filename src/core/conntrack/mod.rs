//! Linux conntrack over ctnetlink: the agent's source of connections.
//!
//! - [`Connection`]: one entry as plain `Copy` data (tuples, counters, timestamps, status,
//!   zone, mark, labels, TCP state), parsed in place from a netlink message by
//!   [`Connection::parse`]; bad bytes give a [`ParseError`] naming the offset, never a panic.
//! - [`Conntrack`]: dumps the table (optionally per zone, filtered by the kernel and again here)
//!   into a visitor, with no allocation per entry, restarting a dump the kernel interrupts or
//!   that overflows the socket; it also creates entries, which benchmarks and tests use.
//! - [`EventSocket`]: the NEW / UPDATE / DESTROY event stream, for a blocking thread; a buffer
//!   overflow is reported as [`Event::Overflow`] so the caller resyncs with a dump.
//! - [`enable_accounting`]: the sysctls that give entries counters and timestamps.
//!
//! The codec is our own (see reference/rust-crates.md §1.1: no crate decodes counters,
//! timestamps, zone and labels without allocating); `netlink-sys` provides the socket.

mod connection;
mod socket;
mod sysctl;
mod wire;

#[cfg(test)]
mod tests;

use std::io;

pub use connection::{Connection, Counters, Status, TcpState, Tuple};
pub use socket::{Conntrack, DEFAULT_RCVBUF, DumpStats, Event, EventKind, EventSocket, EventStats};
pub use sysctl::{SysctlError, enable_accounting, enable_accounting_in};

/// A message that does not hold what ctnetlink puts there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed ctnetlink message at offset {offset}: expected {expected}")]
pub struct ParseError {
    /// Bytes from the start of the netlink message (or of the datagram, for its framing).
    pub offset: usize,
    pub expected: &'static str,
}

impl ParseError {
    fn new(offset: usize, expected: &'static str) -> ParseError {
        ParseError { offset, expected }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConntrackError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("ctnetlink: cannot {op}: {source}")]
    Io { op: &'static str, source: io::Error },
    #[error("the kernel refused the conntrack {request}: {source}")]
    Kernel { request: &'static str, source: io::Error },
    /// ENOBUFS: the kernel had more to send than the socket's receive buffer held.
    #[error("the netlink socket's receive buffer overflowed (ENOBUFS)")]
    Overflow,
    #[error("a {len}-byte netlink datagram does not fit the {buf}-byte receive buffer")]
    DatagramTooLong { len: usize, buf: usize },
    #[error("the conntrack dump was interrupted or overflowed {restarts} times in a row; giving up")]
    DumpRestarts { restarts: u32 },
}
