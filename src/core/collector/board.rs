//! The collecting process's counters, published by the receiving threads and tasks, read by the
//! summary, the metrics endpoint and tests.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use crate::core::ipfix::decoder::{DomainStats, SessionKey, SessionStats, Transport};

/// Sessions that ended are kept for the summary up to this many; beyond it their counters are
/// folded into [`Board::ended`] so a collector running for months does not grow.
const ENDED_KEPT: usize = 10_000;

/// Label sets the metrics show one by one unless told otherwise.
pub const DEFAULT_LABEL_SETS: usize = 1_000;

/// What the per-exporter metrics tell apart: the exporter's address without the port (a
/// restarted exporter keeps its series), the transport, and the (version, observation domain),
/// `None` for the messages whose header could not be read.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabelSet {
    pub exporter: Option<IpAddr>,
    pub transport: Transport,
    pub domain: Option<(u16, u32)>,
}

/// A label set some live session counts under.
#[derive(Clone, Copy, Debug, Default)]
struct Held {
    /// Live (owner, session) pairs counting under it.
    sessions: usize,
    /// Shown on its own; otherwise summed under `other`. Decided once, so a scrape after
    /// another never sees a counter move between the two.
    admitted: bool,
    /// Final counters of its sessions that ended while others still held it.
    ended: DomainStats,
}

/// Which label sets the metrics show on their own: at most `limit` of those live sessions hold,
/// first come first served; the rest, and everything of label sets no live session holds any
/// more, are summed under `other`. Memory follows the live sessions, not their history.
#[derive(Clone, Debug)]
struct LabelSets {
    limit: usize,
    held: HashMap<LabelSet, Held>,
    admitted: usize,
    /// Label sets folded into `other` since the start.
    folded_ever: u64,
    /// Counters of label sets no live session holds any more.
    gone: DomainStats,
}

/// Counters as the metrics show them: the admitted label sets', and `other`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelledCounters {
    pub admitted: Vec<(LabelSet, DomainStats)>,
    pub other: DomainStats,
    /// Label sets live sessions hold that are summed under `other`.
    pub folded: usize,
    pub folded_ever: u64,
}

impl LabelSets {
    fn new(limit: usize) -> Self {
        LabelSets { limit, held: HashMap::new(), admitted: 0, folded_ever: 0, gone: DomainStats::default() }
    }

    fn hold(&mut self, label: LabelSet) {
        let held = self.held.entry(label).or_default();
        if held.sessions == 0 {
            held.admitted = self.admitted < self.limit;
            if held.admitted {
                self.admitted += 1;
            } else {
                self.folded_ever += 1;
            }
        }
        held.sessions += 1;
    }

    /// A session ended with these final counters under `label`; `held_it` is false when the
    /// label set first showed in its final counters (never published, so never held).
    fn release(&mut self, label: LabelSet, held_it: bool, last: &DomainStats) {
        let Some(held) = self.held.get_mut(&label) else {
            self.gone.add(last);
            return;
        };
        held.ended.add(last);
        if !held_it {
            return;
        }
        held.sessions -= 1;
        if held.sessions == 0 {
            let held = self.held.remove(&label).unwrap_or_default();
            self.gone.add(&held.ended);
            if held.admitted {
                self.admitted -= 1;
            }
        }
    }
}

impl Default for LabelSets {
    fn default() -> Self {
        LabelSets::new(DEFAULT_LABEL_SETS)
    }
}

/// The label sets a session counts under, with its counters for each.
fn label_sets(s: &SessionStats) -> impl Iterator<Item = (LabelSet, DomainStats)> + '_ {
    let label = move |domain| LabelSet { exporter: s.key.exporter.map(|a| a.ip()), transport: s.key.transport, domain };
    let unparsed = (s.unparsed.messages > 0).then(|| (label(None), s.unparsed));
    s.domains.iter().map(move |&(domain, d)| (label(Some(domain)), d)).chain(unparsed)
}

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionCounters {
    pub accepted: u64,
    /// Open now: in a summary at the end of a run, always 0.
    #[serde(skip)]
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
    label_sets: LabelSets,
}

impl Board {
    /// A board whose metrics show at most `label_sets` per-exporter label sets one by one.
    pub fn new(label_sets: usize) -> Self {
        Board { label_sets: LabelSets::new(label_sets), ..Board::default() }
    }

    /// Replaces the counters of a live session.
    pub fn publish(&mut self, owner: Owner, stats: SessionStats) {
        let key = (owner, stats.key);
        let known: HashSet<LabelSet> = match self.sessions.get(&key) {
            Some((before, true)) => label_sets(before).map(|(l, _)| l).collect(),
            _ => HashSet::new(),
        };
        for (label, _) in label_sets(&stats) {
            if !known.contains(&label) {
                self.label_sets.hold(label);
            }
        }
        if let Some((before, false)) = self.sessions.insert(key, (stats, true)) {
            // The same session key again (an exporter back on its port after the idle timeout):
            // a new session whose counters start at zero, so the ended one's are kept apart.
            self.fold(&before);
            self.ended_listed -= 1;
        }
    }

    /// Records the final counters of a session that ended.
    pub fn ended(&mut self, owner: Owner, stats: SessionStats) {
        let key = (owner, stats.key);
        let before = self.sessions.remove(&key);
        let held: HashSet<LabelSet> = match &before {
            Some((s, true)) => label_sets(s).map(|(l, _)| l).collect(),
            _ => HashSet::new(),
        };
        for (label, last) in label_sets(&stats) {
            self.label_sets.release(label, held.contains(&label), &last);
        }
        if let Some((before, false)) = before {
            // Ended twice without a publish between (idle, back, idle again within a second):
            // two sessions, both counted.
            self.fold(&before);
            self.ended_listed -= 1;
        }
        if self.ended_listed >= ENDED_KEPT {
            self.fold(&stats);
        } else {
            self.sessions.insert(key, (stats, false));
            self.ended_listed += 1;
        }
    }

    fn fold(&mut self, s: &SessionStats) {
        for (_, d) in label_sets(s) {
            self.ended.add(&d);
        }
    }

    /// The counters by label set as the metrics show them; costs the live sessions and the
    /// admitted label sets, whatever the history.
    pub fn labelled(&self) -> LabelledCounters {
        let sets = &self.label_sets;
        let mut admitted: HashMap<LabelSet, DomainStats> = HashMap::new();
        let mut out = LabelledCounters { other: sets.gone, folded_ever: sets.folded_ever, ..Default::default() };
        for (label, held) in &sets.held {
            if held.admitted {
                admitted.entry(*label).or_default().add(&held.ended);
            } else {
                out.other.add(&held.ended);
                out.folded += 1;
            }
        }
        for (s, _) in self.sessions.values().filter(|(_, live)| *live) {
            for (label, d) in label_sets(s) {
                match admitted.get_mut(&label) {
                    Some(total) => total.add(&d),
                    None => out.other.add(&d),
                }
            }
        }
        out.admitted = admitted.into_iter().collect();
        out.admitted.sort_by_key(|(l, _)| *l);
        out
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
            for (_, d) in label_sets(s) {
                t.add(&d);
            }
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

    fn sum(l: &LabelledCounters) -> DomainStats {
        let mut t = l.other;
        for (_, d) in &l.admitted {
            t.add(d);
        }
        t
    }

    /// A session of its own (a source port) for each domain.
    fn in_domain(domain: u32, data: u64) -> SessionStats {
        let mut s = stats(domain as u16 + 1, data);
        s.domains[0].0 = (10, domain);
        s
    }

    /// Issue #20 (4): every (exporter, domain) got series of its own for ever.
    #[test]
    fn label_sets_beyond_the_bound_fold_into_other_and_stay_there_while_live() {
        let mut b = Board::new(2);
        for domain in 0..5 {
            b.publish(0, in_domain(domain, 1));
        }
        let l = b.labelled();
        assert_eq!(l.admitted.iter().map(|(k, _)| k.domain).collect::<Vec<_>>(), [Some((10, 0)), Some((10, 1))]);
        assert_eq!((l.other.data_records, l.folded, l.folded_ever), (3, 3, 3));
        assert_eq!(sum(&l), b.totals());
        // A slot freed by an ended session is not given to a label set already folded.
        b.ended(0, in_domain(0, 4));
        b.publish(0, in_domain(4, 9));
        let l = b.labelled();
        assert_eq!(l.admitted.iter().map(|(k, _)| k.domain).collect::<Vec<_>>(), [Some((10, 1))]);
        assert_eq!((l.other.data_records, l.folded), (4 + 1 + 1 + 9, 3));
        assert_eq!(sum(&l), b.totals());
        // A new one takes it.
        b.publish(0, in_domain(7, 1));
        assert_eq!(b.labelled().admitted.len(), 2);
        assert_eq!(sum(&b.labelled()), b.totals());
    }

    /// Issue #20 (4): ended sessions' series stayed in /metrics for ever.
    #[test]
    fn ended_sessions_leave_no_label_set_and_their_counts_stay_in_other() {
        let mut b = Board::new(10);
        b.publish(0, stats(1, 3));
        b.publish(0, stats(2, 5));
        b.ended(0, stats(1, 4));
        // The exporter's other session still holds the label set: it keeps what the ended one counted.
        let l = b.labelled();
        assert_eq!((l.admitted.len(), l.admitted[0].1.data_records, l.other.data_records), (1, 9, 0));
        b.ended(0, stats(2, 6));
        let l = b.labelled();
        assert_eq!((l.admitted.len(), l.other.data_records, b.label_sets.held.len()), (0, 10, 0));
        assert_eq!(sum(&l), b.totals());
    }

    /// Issue #20 (5): messages whose header could not be read were in --stats, not in /metrics.
    #[test]
    fn unreadable_messages_count_under_the_exporter_with_no_domain() {
        let mut b = Board::new(10);
        let mut s = stats(1, 0);
        s.domains.clear();
        s.unparsed = DomainStats { messages: 7, malformed: 7, ..DomainStats::default() };
        b.publish(0, s);
        let l = b.labelled();
        assert_eq!(l.admitted.len(), 1);
        assert_eq!((l.admitted[0].0.domain, l.admitted[0].1.malformed), (None, 7));
        assert_eq!(b.totals().malformed, 7);
    }

    /// A session key seen again after it ended (an exporter back on the same port after the idle
    /// timeout) is a new session counting from zero: the ended one's counts used to be lost.
    #[test]
    fn a_session_key_back_after_it_ended_keeps_the_counts_of_the_first() {
        let mut b = Board::new(10);
        b.publish(0, stats(1, 3));
        b.ended(0, stats(1, 4));
        b.publish(0, stats(1, 2));
        assert_eq!(b.totals().data_records, 6);
        assert_eq!(sum(&b.labelled()).data_records, 6);
        b.ended(0, stats(1, 2));
        b.ended(0, stats(1, 1));
        assert_eq!(b.totals().data_records, 7);
        assert_eq!(sum(&b.labelled()).data_records, 7);
    }
}
