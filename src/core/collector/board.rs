//! The collecting process's counters, published by the receiving threads and tasks, read by the
//! summary, the metrics endpoint and tests.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::core::ipfix::decoder::{DomainStats, SessionKey, SessionStats};

/// Sessions that ended are kept for the summary up to this many; beyond it their counters are
/// folded into [`Board::ended`] so a collector running for months does not grow.
const ENDED_KEPT: usize = 10_000;

/// Counters of one UDP socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketCounters {
    pub datagrams: u64,
    pub bytes: u64,
    /// Datagrams the kernel dropped because the socket's receive buffer was full.
    pub kernel_drops: u64,
    /// Datagrams longer than the receive buffer (cut, so not decodable).
    pub truncated: u64,
    /// Messages refused because the socket's receiver already held the most sessions it may.
    pub refused_messages: u64,
}

/// Counters of TCP and TLS connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionCounters {
    pub accepted: u64,
    pub active: u64,
    pub closed: u64,
    /// TLS handshakes that failed (no or a wrong client certificate, a plain-TCP client, …).
    pub handshake_failures: u64,
    /// Streams cut mid-message, or carrying something that is not IPFIX.
    pub framing_errors: u64,
    /// Connections closed by us after a protocol error (a template redefined over TCP).
    pub protocol_errors: u64,
    /// Connections refused because the most sessions were already open.
    pub refused: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Board {
    /// Sessions by key, live and ended.
    pub sessions: HashMap<SessionKey, (SessionStats, bool)>,
    /// Counters of the sessions that ended and are no longer listed one by one.
    pub ended: DomainStats,
    pub sockets: HashMap<(SocketAddr, usize), SocketCounters>,
    pub connections: ConnectionCounters,
}

impl Board {
    /// Replaces the counters of a live session.
    pub fn publish(&mut self, stats: SessionStats) {
        self.sessions.insert(stats.key, (stats, true));
    }

    /// Records the final counters of a session that ended.
    pub fn ended(&mut self, stats: SessionStats) {
        let ended = self.sessions.values().filter(|(_, live)| !live).count();
        if ended >= ENDED_KEPT {
            for (_, d) in &stats.domains {
                self.ended.add(d);
            }
            self.ended.add(&stats.unparsed);
            self.sessions.remove(&stats.key);
        } else {
            self.sessions.insert(stats.key, (stats, false));
        }
    }

    /// All session counters summed, ended ones included.
    pub fn totals(&self) -> DomainStats {
        let mut t = self.ended;
        for (s, _) in self.sessions.values() {
            for (_, d) in &s.domains {
                t.add(d);
            }
            t.add(&s.unparsed);
        }
        t
    }

    /// Kernel drops over every UDP socket.
    pub fn kernel_drops(&self) -> u64 {
        self.sockets.values().map(|s| s.kernel_drops).sum()
    }
}
