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
    /// Connections closed at once: their address had the most TLS handshakes in progress.
    pub handshakes_refused: u64,
    /// TLS handshakes in progress dropped, oldest first, at the bound on all of them.
    pub handshakes_dropped: u64,
    /// Connections closed for sending no complete message within the first-message timeout.
    pub closed_silent: u64,
    /// Connections closed for sending nothing within the idle timeout after their last message.
    pub closed_idle: u64,
    /// Connections that never sent a message, closed to make room at the session bound.
    pub evicted: u64,
    /// Connections still holding data when the drain on shutdown ran out of time, and the bytes
    /// they held (received, never decoded: lost).
    pub undrained: u64,
    pub undrained_bytes: u64,
}

/// Who decodes a session: a UDP receiving thread (its number) or, for TCP and TLS, the
/// connection itself (0; the session key's source tells connections apart). A UDP exporter
/// normally stays on one socket, but while a SO_REUSEPORT group forms (or changes), its first
/// datagrams may reach another socket, so the same session key can have two owners.
pub type Owner = u32;

#[derive(Clone, Debug, Default)]
pub struct Board {
    /// Sessions by owner and key, with whether they are still live.
    pub sessions: HashMap<(Owner, SessionKey), (SessionStats, bool)>,
    ended_listed: usize,
    /// Counters of the sessions that ended and are no longer listed one by one.
    pub ended: DomainStats,
    pub sockets: HashMap<(SocketAddr, usize), SocketCounters>,
    pub connections: ConnectionCounters,
}

impl Board {
    /// Replaces the counters of a live session.
    pub fn publish(&mut self, owner: Owner, stats: SessionStats) {
        self.sessions.insert((owner, stats.key), (stats, true));
    }

    /// Records the final counters of a session that ended.
    pub fn ended(&mut self, owner: Owner, stats: SessionStats) {
        let key = (owner, stats.key);
        if self.ended_listed >= ENDED_KEPT {
            for (_, d) in &stats.domains {
                self.ended.add(d);
            }
            self.ended.add(&stats.unparsed);
            if self.sessions.remove(&key).is_some_and(|(_, live)| !live) {
                self.ended_listed -= 1;
            }
        } else {
            // A session listed as ended already (idle, back, idle again) is not counted twice.
            let before = self.sessions.insert(key, (stats, false));
            if !matches!(before, Some((_, false))) {
                self.ended_listed += 1;
            }
        }
    }

    /// One entry per session key, counters of all its owners summed, ordered by key.
    pub fn merged_sessions(&self) -> Vec<SessionStats> {
        let mut merged: HashMap<SessionKey, SessionStats> = HashMap::new();
        for (s, _) in self.sessions.values() {
            match merged.get_mut(&s.key) {
                None => {
                    merged.insert(s.key, s.clone());
                }
                Some(m) => {
                    for &(domain, d) in &s.domains {
                        match m.domains.iter_mut().find(|(k, _)| *k == domain) {
                            Some((_, total)) => total.add(&d),
                            None => m.domains.push((domain, d)),
                        }
                    }
                    m.domains.sort_by_key(|(k, _)| *k);
                    m.unparsed.add(&s.unparsed);
                    m.last_seen = m.last_seen.max(s.last_seen);
                }
            }
        }
        let mut all: Vec<_> = merged.into_values().collect();
        all.sort_by_key(|s| s.key);
        all
    }

    /// Sessions being decoded now.
    pub fn live_sessions(&self) -> usize {
        self.sessions.values().filter(|(_, live)| *live).count()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ipfix::decoder::Transport;

    fn stats(port: u16, data: u64) -> SessionStats {
        let key = SessionKey {
            source: 0,
            transport: Transport::Udp,
            exporter: Some(SocketAddr::from(([192, 0, 2, 1], port))),
            collector: None,
        };
        let d = DomainStats { data_records: data, messages: 1, ..DomainStats::default() };
        SessionStats { key, domains: vec![((10, 1), d)], unparsed: DomainStats::default(), last_seen: 0 }
    }

    #[test]
    fn a_session_seen_by_two_sockets_is_summed_not_overwritten() {
        let mut b = Board::default();
        b.publish(0, stats(1, 3));
        b.publish(1, stats(1, 5));
        b.publish(1, stats(2, 7));
        let merged = b.merged_sessions();
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].domains[0].1.data_records, 8);
        assert_eq!(b.totals().data_records, 15);
        b.ended(1, stats(2, 9));
        b.ended(1, stats(2, 9));
        assert_eq!((b.live_sessions(), b.ended_listed), (2, 1));
    }
}
