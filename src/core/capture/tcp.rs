//! TCP stream reassembly for IPFIX over TCP (RFC 7011 §10.4) in captures, and framing of the
//! reassembled byte stream by the IPFIX header's 16-bit length.
//!
//! One stream per direction (source and destination address and port). Bytes are appended in
//! sequence order; retransmitted bytes are trimmed; segments ahead of a hole wait in a bounded
//! map. A hole that does not fill (the bound is reached, the connection ends, the capture ends,
//! or too much capture time passes) is skipped: the message it cut is dropped and framing
//! resumes at the next plausible IPFIX header, checked against the header that follows it. A
//! capture that starts mid-connection is handled the same way. Everything skipped is counted.
//!
//! No crate fits: the general reassemblers do not know where a message starts, and that is
//! what recovering after a hole needs.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use super::error::{CaptureErrorKind, StreamId};
use super::link::{Tcp, message_start};
use super::source::Verdict;
use super::stats::CaptureStats;
use crate::core::time::Timestamp;

#[derive(Clone, Copy, Debug)]
pub(crate) struct TcpLimits {
    pub max_streams: usize,
    /// Bytes held ahead of a hole, per stream.
    pub max_pending_bytes: usize,
    /// Segments held ahead of a hole, per stream.
    pub max_pending_segments: usize,
    /// Capture seconds to wait for a hole to fill.
    pub gap_timeout_secs: i64,
}

struct Stream {
    id: StreamId,
    started: bool,
    /// Sequence number of the next byte expected.
    next_seq: u32,
    /// Stream offset of that byte: bytes appended or skipped since tracking started.
    delivered: u64,
    /// `buf[head..]` are bytes not framed yet; `buf[..head]` is consumed.
    buf: Vec<u8>,
    head: usize,
    /// Segments ahead of a hole, by stream offset.
    ahead: BTreeMap<u64, Vec<u8>>,
    ahead_bytes: usize,
    ahead_since: i64,
    /// `buf[head]` starts a message.
    synced: bool,
    /// Bytes skipped while looking for a message start, for the report when one is found.
    skipping: u64,
    /// After FIN/RST or at the end of the capture: frame what is there without waiting.
    closed: bool,
    last_use: u64,
    last_frame: u64,
    last_time: Timestamp,
}

impl Stream {
    fn new(id: StreamId) -> Self {
        Stream {
            id,
            started: false,
            next_seq: 0,
            delivered: 0,
            buf: Vec::new(),
            head: 0,
            ahead: BTreeMap::new(),
            ahead_bytes: 0,
            ahead_since: 0,
            synced: false,
            skipping: 0,
            closed: false,
            last_use: 0,
            last_frame: 0,
            last_time: Timestamp::default(),
        }
    }

    /// Stream offset of `buf[i]`.
    fn offset_of(&self, i: usize) -> u64 {
        self.delivered - (self.buf.len() - i) as u64
    }

    fn pending(&self) -> usize {
        self.buf.len() - self.head
    }

    /// A new connection on this address pair: forget the old one.
    fn restart(&mut self, isn: u32, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) {
        self.drop_pending(stats, issues);
        stats.tcp_bytes_skipped += self.ahead_bytes as u64;
        self.ahead.clear();
        self.ahead_bytes = 0;
        self.started = true;
        self.next_seq = isn.wrapping_add(1);
        self.delivered = 0;
        self.synced = true;
        self.closed = false;
        self.skipping = 0;
    }

    fn append(&mut self, data: &[u8]) {
        if self.head == self.buf.len() {
            self.buf.clear();
            self.head = 0;
        } else if self.head >= 4096 && self.head * 2 >= self.buf.len() {
            self.buf.drain(..self.head);
            self.head = 0;
        }
        self.buf.extend_from_slice(data);
        self.next_seq = self.next_seq.wrapping_add(data.len() as u32);
        self.delivered += data.len() as u64;
    }

    fn add(&mut self, seq: u32, mut data: &[u8], now: i64, stats: &mut CaptureStats) {
        let delta = seq.wrapping_sub(self.next_seq) as i32;
        if delta < 0 {
            stats.tcp_retransmissions += 1;
            let seen = delta.unsigned_abs() as usize;
            if seen >= data.len() {
                return;
            }
            data = &data[seen..];
        } else if delta > 0 {
            stats.tcp_out_of_order += 1;
            if self.ahead.is_empty() {
                self.ahead_since = now;
            }
            let at = self.delivered + delta as u64;
            let held = self.ahead.entry(at).or_default();
            if held.len() < data.len() {
                self.ahead_bytes += data.len() - held.len();
                held.clear();
                held.extend_from_slice(data);
            }
            return;
        }
        self.append(data);
        self.take_ahead();
    }

    /// Appends held segments that the stream has now reached.
    fn take_ahead(&mut self) {
        while let Some(entry) = self.ahead.first_entry() {
            let at = *entry.key();
            if at > self.delivered {
                break;
            }
            let data = entry.remove();
            self.ahead_bytes -= data.len();
            let seen = (self.delivered - at) as usize;
            if seen < data.len() {
                self.append(&data[seen..]);
            }
        }
    }

    /// Gives up on the first hole: drops the message it cut and continues after it.
    fn skip_hole(&mut self, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) {
        let Some((&at, _)) = self.ahead.first_key_value() else {
            return;
        };
        let missing = at - self.delivered;
        let cut = self.pending() as u64;
        stats.tcp_gaps += 1;
        stats.tcp_bytes_skipped += cut;
        stats.tcp_bytes_missing += missing;
        issues.push(CaptureErrorKind::TcpGap { stream: self.id, missing, at: self.delivered, dropped: cut });
        self.head = self.buf.len();
        self.next_seq = self.next_seq.wrapping_add(missing as u32);
        self.delivered = at;
        self.synced = false;
        self.skipping = 0;
        self.take_ahead();
    }

    fn check_hole(
        &mut self,
        now: i64,
        limits: &TcpLimits,
        stats: &mut CaptureStats,
        issues: &mut Vec<CaptureErrorKind>,
    ) {
        while !self.ahead.is_empty()
            && (self.ahead_bytes > limits.max_pending_bytes
                || self.ahead.len() > limits.max_pending_segments
                || now.saturating_sub(self.ahead_since) > limits.gap_timeout_secs)
        {
            self.skip_hole(stats, issues);
        }
    }

    fn close(&mut self, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) {
        while !self.ahead.is_empty() {
            self.skip_hole(stats, issues);
        }
        self.closed = true;
    }

    /// Drops unframed bytes, reporting them as a message cut off.
    fn drop_pending(&mut self, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) {
        let pending = self.pending() as u64;
        if pending > 0 {
            stats.tcp_bytes_skipped += pending;
            issues.push(CaptureErrorKind::TcpTruncated { stream: self.id, at: self.offset_of(self.head), pending });
        }
        self.buf.clear();
        self.head = 0;
    }

    fn next_message(&mut self, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) -> Option<Range<usize>> {
        loop {
            let avail = &self.buf[self.head..];
            if self.synced {
                if avail.len() < 4 {
                    return self.wait_or_drop(stats, issues);
                }
                let version = u16::from_be_bytes([avail[0], avail[1]]);
                let len = usize::from(u16::from_be_bytes([avail[2], avail[3]]));
                if version != 10 || len < 16 {
                    issues.push(CaptureErrorKind::TcpNotIpfix {
                        stream: self.id,
                        at: self.offset_of(self.head),
                        found: format!("version {version}, length {len}"),
                    });
                    self.synced = false;
                    continue;
                }
                if avail.len() < len {
                    return self.wait_or_drop(stats, issues);
                }
                let start = self.head;
                self.head += len;
                stats.tcp_messages += 1;
                return Some(start..start + len);
            }
            let mut p = 0;
            let mut verdict = Verdict::Reject;
            while p < avail.len() {
                verdict = message_start(&avail[p..], self.closed);
                if !matches!(verdict, Verdict::Reject) {
                    break;
                }
                p += 1;
            }
            self.head += p;
            self.skipping += p as u64;
            stats.tcp_bytes_skipped += p as u64;
            match verdict {
                Verdict::Accept => {
                    stats.tcp_resyncs += 1;
                    if self.skipping > 0 {
                        issues.push(CaptureErrorKind::TcpResync {
                            stream: self.id,
                            at: self.offset_of(self.head),
                            skipped: self.skipping,
                        });
                    }
                    self.skipping = 0;
                    self.synced = true;
                }
                Verdict::NeedMore(_) | Verdict::Reject => {
                    self.release_if_idle();
                    return None;
                }
            }
        }
    }

    fn wait_or_drop(&mut self, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) -> Option<Range<usize>> {
        if self.closed {
            self.drop_pending(stats, issues);
        }
        self.release_if_idle();
        None
    }

    /// A closed stream keeps only its sequence state, so thousands of them cost little.
    fn release_if_idle(&mut self) {
        if self.closed && self.pending() == 0 {
            self.buf = Vec::new();
            self.head = 0;
        }
    }
}

/// All tracked streams of a capture.
pub(crate) struct TcpReassembler {
    streams: Vec<Stream>,
    index: HashMap<StreamId, usize>,
    free: Vec<usize>,
    limits: TcpLimits,
    clock: u64,
}

impl TcpReassembler {
    pub(crate) fn new(limits: TcpLimits) -> Self {
        TcpReassembler { streams: Vec::new(), index: HashMap::new(), free: Vec::new(), limits, clock: 0 }
    }

    /// Feeds one segment. `track` says whether an untracked stream should start being tracked
    /// (its port or its first bytes say IPFIX). Returns the stream, which may now hold complete
    /// messages, or `None` when the segment is not part of a tracked stream.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn segment(
        &mut self,
        id: StreamId,
        seg: &Tcp<'_>,
        track: bool,
        time: Timestamp,
        frame: u64,
        stats: &mut CaptureStats,
        issues: &mut Vec<CaptureErrorKind>,
    ) -> Option<usize> {
        let idx = match self.index.get(&id) {
            Some(&i) => i,
            None => {
                let opens = seg.syn && !seg.ack;
                if !track || (seg.payload.is_empty() && !opens) {
                    return None;
                }
                self.create(id, stats, issues)
            }
        };
        self.clock += 1;
        let limits = self.limits;
        let s = &mut self.streams[idx];
        s.last_use = self.clock;
        s.last_frame = frame;
        s.last_time = time;
        let mut seq = seg.seq;
        if seg.syn {
            // A retransmitted SYN changes nothing; a different one is a new connection.
            if !(s.started && s.next_seq == seq.wrapping_add(1) && s.delivered == 0) {
                s.restart(seq, stats, issues);
            }
            seq = seq.wrapping_add(1);
        }
        if !s.started {
            s.started = true;
            s.next_seq = seq;
        }
        if !seg.payload.is_empty() {
            s.add(seq, seg.payload, time.secs, stats);
        }
        if seg.fin || seg.rst {
            s.close(stats, issues);
        } else {
            s.check_hole(time.secs, &limits, stats, issues);
        }
        Some(idx)
    }

    /// The next complete message of a stream, as a range of [`TcpReassembler::bytes`].
    pub(crate) fn next_message(
        &mut self,
        idx: usize,
        stats: &mut CaptureStats,
        issues: &mut Vec<CaptureErrorKind>,
    ) -> Option<Range<usize>> {
        self.streams.get_mut(idx)?.next_message(stats, issues)
    }

    pub(crate) fn bytes(&self, idx: usize) -> &[u8] {
        &self.streams[idx].buf
    }

    pub(crate) fn stream(&self, idx: usize) -> (StreamId, u64, Timestamp) {
        let s = &self.streams[idx];
        (s.id, s.last_frame, s.last_time)
    }

    /// At the end of the capture: skips the holes of every stream and lets it frame what is
    /// left. Returns the streams to drain.
    pub(crate) fn close_all(&mut self, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) -> Vec<usize> {
        let mut open: Vec<usize> = self.index.values().copied().collect();
        open.sort_unstable();
        open.retain(|&i| {
            let s = &mut self.streams[i];
            s.close(stats, issues);
            s.pending() > 0
        });
        open
    }

    fn create(&mut self, id: StreamId, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) -> usize {
        if self.index.len() >= self.limits.max_streams.max(1) {
            let victim = self.index.values().copied().min_by_key(|&i| self.streams[i].last_use);
            if let Some(v) = victim {
                let s = &self.streams[v];
                stats.tcp_streams_dropped += 1;
                stats.tcp_bytes_skipped += (s.pending() + s.ahead_bytes) as u64;
                issues.push(CaptureErrorKind::TcpStreamDropped { stream: s.id, limit: self.limits.max_streams });
                self.index.remove(&s.id);
                self.free.push(v);
            }
        }
        let idx = match self.free.pop() {
            Some(i) => {
                self.streams[i] = Stream::new(id);
                i
            }
            None => {
                self.streams.push(Stream::new(id));
                self.streams.len() - 1
            }
        };
        self.index.insert(id, idx);
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    const LIMITS: TcpLimits =
        TcpLimits { max_streams: 8, max_pending_bytes: 10_000, max_pending_segments: 16, gap_timeout_secs: 10 };

    fn id() -> StreamId {
        StreamId { src: SocketAddr::from(([10, 0, 0, 1], 50000)), dst: SocketAddr::from(([10, 0, 0, 2], 4739)) }
    }

    /// An IPFIX message of `len` bytes (one data set) whose bytes after the header are `tag`.
    fn msg(len: u16, tag: u8) -> Vec<u8> {
        let mut m = vec![0, 10];
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(&[0; 12]);
        m.extend_from_slice(&256u16.to_be_bytes());
        m.extend_from_slice(&(len - 16).to_be_bytes());
        m.resize(usize::from(len), tag);
        m
    }

    struct Harness {
        r: TcpReassembler,
        stats: CaptureStats,
        issues: Vec<CaptureErrorKind>,
        frame: u64,
        now: i64,
    }

    impl Harness {
        fn new() -> Self {
            Harness {
                r: TcpReassembler::new(LIMITS),
                stats: CaptureStats::default(),
                issues: Vec::new(),
                frame: 0,
                now: 1000,
            }
        }

        /// Feeds a segment and returns the (frame, message) pairs it completed.
        fn seg(&mut self, seq: u32, flags: &str, payload: &[u8]) -> Vec<(u64, Vec<u8>)> {
            self.frame += 1;
            let t = Tcp {
                sport: 50000,
                dport: 4739,
                seq,
                syn: flags.contains('S'),
                ack: flags.contains('A'),
                fin: flags.contains('F'),
                rst: flags.contains('R'),
                payload,
            };
            let time = Timestamp::from_secs(self.now);
            let Some(idx) = self.r.segment(id(), &t, true, time, self.frame, &mut self.stats, &mut self.issues) else {
                return Vec::new();
            };
            self.drain(idx)
        }

        fn drain(&mut self, idx: usize) -> Vec<(u64, Vec<u8>)> {
            let mut out = Vec::new();
            while let Some(r) = self.r.next_message(idx, &mut self.stats, &mut self.issues) {
                out.push((self.r.stream(idx).1, self.r.bytes(idx)[r].to_vec()));
            }
            out
        }

        fn end(&mut self) -> Vec<(u64, Vec<u8>)> {
            let mut out = Vec::new();
            for idx in self.r.close_all(&mut self.stats, &mut self.issues) {
                out.extend(self.drain(idx));
            }
            out
        }
    }

    const ISN: u32 = 0xffff_fff0; // sequence numbers wrap inside the tests

    #[test]
    fn one_message_over_three_segments() {
        let m = msg(300, 1);
        let mut h = Harness::new();
        assert!(h.seg(ISN, "S", &[]).is_empty());
        let s = ISN.wrapping_add(1);
        assert!(h.seg(s, "A", &m[..100]).is_empty());
        assert!(h.seg(s.wrapping_add(100), "A", &m[100..200]).is_empty());
        let out = h.seg(s.wrapping_add(200), "A", &m[200..]);
        assert_eq!(out, vec![(4, m)]);
        assert!(h.issues.is_empty());
        assert_eq!(h.stats.tcp_messages, 1);
    }

    #[test]
    fn three_messages_in_one_segment() {
        let (a, b, c) = (msg(40, 1), msg(16, 0), msg(60, 3));
        let data = [a.clone(), b.clone(), c.clone()].concat();
        let mut h = Harness::new();
        h.seg(ISN, "S", &[]);
        let out = h.seg(ISN.wrapping_add(1), "A", &data);
        assert_eq!(out, vec![(2, a), (2, b), (2, c)]);
    }

    #[test]
    fn retransmission_is_trimmed() {
        let (a, b) = (msg(40, 1), msg(50, 2));
        let s = ISN.wrapping_add(1);
        let mut h = Harness::new();
        h.seg(ISN, "S", &[]);
        assert_eq!(h.seg(s, "A", &a), vec![(2, a.clone())]);
        // Exact retransmission, then one overlapping into the next message.
        assert!(h.seg(s, "A", &a).is_empty());
        let mut overlap = a[30..].to_vec();
        overlap.extend_from_slice(&b);
        assert_eq!(h.seg(s.wrapping_add(30), "A", &overlap), vec![(4, b)]);
        assert_eq!(h.stats.tcp_retransmissions, 2);
        assert_eq!(h.stats.tcp_messages, 2);
    }

    #[test]
    fn out_of_order_segments_wait_for_the_hole() {
        let (a, b) = (msg(40, 1), msg(50, 2));
        let data = [a.clone(), b.clone()].concat();
        let s = ISN.wrapping_add(1);
        let mut h = Harness::new();
        h.seg(ISN, "S", &[]);
        assert!(h.seg(s.wrapping_add(60), "A", &data[60..]).is_empty());
        assert!(h.seg(s.wrapping_add(30), "A", &data[30..60]).is_empty());
        // The first segment fills the hole: both messages complete in its frame.
        assert_eq!(h.seg(s, "A", &data[..30]), vec![(4, a), (4, b)]);
        assert_eq!(h.stats.tcp_out_of_order, 2);
        assert_eq!(h.stats.tcp_gaps, 0);
    }

    #[test]
    fn missing_segment_is_skipped_at_the_bound_and_framing_resyncs() {
        let msgs: Vec<Vec<u8>> = (0..6).map(|i| msg(1000, i)).collect();
        let data = msgs.concat();
        let s = ISN.wrapping_add(1);
        let mut h = Harness::new();
        h.seg(ISN, "S", &[]);
        assert_eq!(h.seg(s, "A", &data[..1000]), vec![(2, msgs[0].clone())]);
        // Bytes 1000..1500 never arrive; segments of 500 bytes follow.
        let mut out = Vec::new();
        for start in (1500..6000).step_by(500) {
            out.extend(h.seg(s.wrapping_add(start as u32), "A", &data[start..start + 500]));
        }
        // The hole cut message 1; 2..5 are held until the end of the capture closes the stream.
        assert!(out.is_empty());
        out.extend(h.end());
        let got: Vec<u8> = out.iter().map(|(_, m)| m[20]).collect();
        assert_eq!(got, vec![2, 3, 4, 5]);
        assert_eq!(h.stats.tcp_gaps, 1);
        assert_eq!(h.stats.tcp_resyncs, 1);
        // The rest of message 1 (bytes 1500..2000) was skipped while looking for a header.
        assert_eq!(h.stats.tcp_bytes_skipped, 500);
        assert!(matches!(h.issues[0], CaptureErrorKind::TcpGap { missing: 500, at: 1000, .. }));
        assert!(matches!(h.issues[1], CaptureErrorKind::TcpResync { skipped: 500, at: 2000, .. }));
    }

    #[test]
    fn hole_is_skipped_when_too_much_is_held() {
        let msgs: Vec<Vec<u8>> = (0..14).map(|i| msg(1000, i)).collect();
        let data = msgs.concat();
        let s = ISN.wrapping_add(1);
        let mut h = Harness::new();
        h.seg(ISN, "S", &[]);
        let mut out = Vec::new();
        // Message 0 is lost; 1..=11 arrive one per segment.
        for (i, m) in msgs.iter().enumerate().take(12).skip(1) {
            out.extend(h.seg(s.wrapping_add((i * 1000) as u32), "A", m));
        }
        // 10 000 bytes are allowed ahead of the hole: the 11th held segment forces the skip,
        // and all 11 held messages come out in that frame.
        assert_eq!(out.len(), 11);
        assert!(out.iter().all(|(f, _)| *f == 12));
        assert_eq!(out[0].1, data[1000..2000]);
        assert_eq!(h.stats.tcp_gaps, 1);
        assert_eq!(h.stats.tcp_bytes_missing, 1000);
        assert_eq!(h.stats.tcp_bytes_skipped, 0);
        // The stream goes on in order.
        assert_eq!(h.seg(s.wrapping_add(12_000), "A", &msgs[12]), vec![(13, msgs[12].clone())]);
    }

    #[test]
    fn capture_starting_mid_stream_finds_the_first_header() {
        let (a, b, c) = (msg(100, 1), msg(100, 2), msg(100, 3));
        let data = [a, b.clone(), c.clone()].concat();
        let mut h = Harness::new();
        // No SYN; the first segment starts 30 bytes into message a.
        let out = h.seg(5000, "A", &data[30..]);
        assert_eq!(out, vec![(1, b), (1, c)]);
        assert_eq!(h.stats.tcp_bytes_skipped, 70);
        assert_eq!(h.stats.tcp_resyncs, 1);
    }

    #[test]
    fn resync_candidate_is_checked_against_the_next_header() {
        // Garbage that looks like a header at offset 0 but is not followed by one.
        let mut fake = msg(24, 9);
        fake.truncate(24);
        let real = msg(40, 1);
        let mut data = fake.clone();
        data.extend_from_slice(&[0xee; 7]);
        data.extend_from_slice(&real);
        data.extend_from_slice(&real);
        let mut h = Harness::new();
        let out = h.seg(1, "A", &data);
        assert_eq!(out.len(), 2);
        assert_eq!(h.stats.tcp_bytes_skipped, 31);
    }

    #[test]
    fn stream_ending_inside_a_message_reports_it() {
        let a = msg(100, 1);
        let mut h = Harness::new();
        h.seg(ISN, "S", &[]);
        assert!(h.seg(ISN.wrapping_add(1), "A", &a[..60]).is_empty());
        assert!(h.seg(ISN.wrapping_add(61), "FA", &[]).is_empty());
        assert_eq!(h.stats.tcp_bytes_skipped, 60);
        assert!(matches!(h.issues[0], CaptureErrorKind::TcpTruncated { pending: 60, .. }));
    }

    #[test]
    fn garbage_on_a_synced_stream_is_reported_then_skipped() {
        let a = msg(40, 1);
        let mut data = vec![0, 5, 0, 40];
        data.extend_from_slice(&[0; 36]);
        data.extend_from_slice(&a);
        let mut h = Harness::new();
        h.seg(ISN, "S", &[]);
        // The message ends where the data ends, which is evidence enough to resume on it.
        assert_eq!(h.seg(ISN.wrapping_add(1), "A", &data), vec![(2, a)]);
        assert!(matches!(h.issues[0], CaptureErrorKind::TcpNotIpfix { at: 0, .. }));
        assert_eq!(h.stats.tcp_bytes_skipped, 40);
    }

    #[test]
    fn too_many_streams_drop_the_least_recently_used() {
        let mut r = TcpReassembler::new(TcpLimits { max_streams: 2, ..LIMITS });
        let mut stats = CaptureStats::default();
        let mut issues = Vec::new();
        let payload = msg(100, 1);
        for port in [1u16, 2, 3] {
            let sid =
                StreamId { src: SocketAddr::from(([10, 0, 0, 1], port)), dst: SocketAddr::from(([10, 0, 0, 2], 4739)) };
            let seg = Tcp {
                sport: port,
                dport: 4739,
                seq: 1,
                syn: false,
                ack: true,
                fin: false,
                rst: false,
                payload: &payload[..50],
            };
            r.segment(sid, &seg, true, Timestamp::default(), 1, &mut stats, &mut issues);
        }
        assert_eq!(r.index.len(), 2);
        assert_eq!(stats.tcp_streams_dropped, 1);
        assert!(matches!(&issues[0], CaptureErrorKind::TcpStreamDropped { stream, .. } if stream.src.port() == 1));
    }
}
