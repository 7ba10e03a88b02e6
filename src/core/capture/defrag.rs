//! IPv4 and IPv6 fragment reassembly with bounds.
//!
//! etherparse's `IpDefragBuf` puts one datagram together; its `IpDefragPool` is not bounded,
//! so the pool is ours: at most `max_datagrams` datagrams and `max_bytes` bytes in reassembly,
//! and a datagram not completed within `timeout_secs` of capture time is dropped. Whatever a
//! bound drops is counted and reported.

use std::collections::HashMap;
use std::net::IpAddr;

use etherparse::IpNumber;
use etherparse::defrag::{IpDefragBuf, IpFragRange};

use super::error::CaptureErrorKind;
use super::link::Fragment;
use super::stats::CaptureStats;

#[derive(Clone, Copy, Debug)]
pub(crate) struct DefragLimits {
    pub max_datagrams: usize,
    pub max_bytes: usize,
    pub timeout_secs: i64,
}

/// RFC 791 identifies a datagram by source, destination, protocol and identification.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

struct Pending {
    buf: IpDefragBuf,
    started: i64,
}

/// Buffers kept for reuse; a few are enough because datagrams complete in order mostly.
const SPARE_BUFFERS: usize = 16;

pub(crate) struct Defragmenter {
    active: HashMap<Key, Pending>,
    bytes: usize,
    spare: Vec<Vec<u8>>,
    spare_sections: Vec<Vec<IpFragRange>>,
    output: Vec<u8>,
    last_sweep: i64,
    limits: DefragLimits,
}

impl Defragmenter {
    pub(crate) fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            active: HashMap::new(),
            bytes: 0,
            spare: Vec::new(),
            spare_sections: Vec::new(),
            output: Vec::new(),
            last_sweep: i64::MIN,
            limits,
        }
    }

    /// The payload of the datagram the last [`Defragmenter::add`] completed.
    pub(crate) fn output(&self) -> &[u8] {
        &self.output
    }

    /// Adds one fragment seen at capture time `now` (seconds). Returns true when it completes
    /// its datagram, whose IP payload is then in [`Defragmenter::output`].
    pub(crate) fn add(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        frag: &Fragment<'_>,
        now: i64,
        stats: &mut CaptureStats,
        issues: &mut Vec<CaptureErrorKind>,
    ) -> bool {
        self.sweep(now, stats, issues);
        let key = Key { src, dst, id: frag.id, proto: frag.proto };
        if !self.active.contains_key(&key) {
            if self.active.len() >= self.limits.max_datagrams {
                self.evict_oldest(None, stats);
                issues.push(CaptureErrorKind::FragmentsDropped {
                    count: 1,
                    reason: "too many IP datagrams in reassembly at once",
                });
            }
            let data = self.spare.pop().unwrap_or_default();
            let sections = self.spare_sections.pop().unwrap_or_default();
            self.active
                .insert(key, Pending { buf: IpDefragBuf::new(IpNumber(frag.proto), data, sections), started: now });
        }
        let Some(pending) = self.active.get_mut(&key) else {
            return false;
        };
        let before = pending.buf.data().len();
        let added = pending.buf.add(frag.offset, frag.more, frag.data);
        let after = pending.buf.data().len();
        self.bytes = (self.bytes + after).saturating_sub(before);
        if let Err(e) = added {
            self.remove(&key);
            stats.fragments_dropped += 1;
            issues.push(CaptureErrorKind::Fragment { src, dst, id: frag.id, reason: e.to_string() });
            return false;
        }
        if pending.buf.is_complete() {
            if let Some(done) = self.active.remove(&key) {
                self.bytes -= done.buf.data().len().min(self.bytes);
                let (data, sections) = done.buf.take_bufs();
                let previous = std::mem::replace(&mut self.output, data);
                self.recycle(previous, sections);
            }
            stats.fragments_reassembled += 1;
            return true;
        }
        let mut evicted = 0;
        while self.bytes > self.limits.max_bytes && self.active.len() > 1 {
            self.evict_oldest(Some(&key), stats);
            evicted += 1;
        }
        if evicted > 0 {
            issues.push(CaptureErrorKind::FragmentsDropped {
                count: evicted,
                reason: "the bytes held for IP reassembly reached their bound",
            });
        }
        false
    }

    /// At the end of the capture: whatever is still incomplete will never complete.
    pub(crate) fn finish(&mut self, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) {
        let count = self.active.len() as u64;
        if count > 0 {
            stats.fragments_dropped += count;
            issues.push(CaptureErrorKind::FragmentsDropped {
                count,
                reason: "still incomplete at the end of the capture",
            });
            self.active.clear();
            self.bytes = 0;
        }
    }

    fn sweep(&mut self, now: i64, stats: &mut CaptureStats, issues: &mut Vec<CaptureErrorKind>) {
        // Once per second of capture time is often enough; a clock going backwards restarts it.
        if now >= self.last_sweep && now.saturating_sub(self.last_sweep) < 1 {
            return;
        }
        self.last_sweep = now;
        let timeout = self.limits.timeout_secs;
        let before = self.active.len();
        let mut freed = 0;
        self.active.retain(|_, p| {
            let keep = now.saturating_sub(p.started) <= timeout;
            if !keep {
                freed += p.buf.data().len();
            }
            keep
        });
        let dropped = (before - self.active.len()) as u64;
        if dropped > 0 {
            self.bytes -= freed.min(self.bytes);
            stats.fragments_dropped += dropped;
            issues.push(CaptureErrorKind::FragmentsDropped {
                count: dropped,
                reason: "not completed within the reassembly timeout",
            });
        }
    }

    fn evict_oldest(&mut self, keep: Option<&Key>, stats: &mut CaptureStats) {
        let oldest =
            self.active.iter().filter(|(k, _)| Some(*k) != keep).min_by_key(|(_, p)| p.started).map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.remove(&k);
            stats.fragments_dropped += 1;
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(p) = self.active.remove(key) {
            self.bytes -= p.buf.data().len().min(self.bytes);
            let (data, sections) = p.buf.take_bufs();
            self.recycle(data, sections);
        }
    }

    fn recycle(&mut self, data: Vec<u8>, sections: Vec<IpFragRange>) {
        if self.spare.len() < SPARE_BUFFERS {
            self.spare.push(data);
        }
        if self.spare_sections.len() < SPARE_BUFFERS {
            self.spare_sections.push(sections);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::IpFragOffset;

    const LIMITS: DefragLimits = DefragLimits { max_datagrams: 4, max_bytes: 100_000, timeout_secs: 30 };

    fn frag(id: u32, offset: usize, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment { id, proto: 17, offset: IpFragOffset::try_new((offset / 8) as u16).unwrap(), more, v6: false, data }
    }

    fn a() -> IpAddr {
        IpAddr::from([10, 0, 0, 1])
    }
    fn b() -> IpAddr {
        IpAddr::from([10, 0, 0, 2])
    }

    #[test]
    fn reassembles_in_and_out_of_order() {
        let payload: Vec<u8> = (0..40u8).collect();
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let mut d = Defragmenter::new(LIMITS);
            let mut stats = CaptureStats::default();
            let mut issues = Vec::new();
            let parts = [
                frag(7, 0, true, &payload[..16]),
                frag(7, 16, true, &payload[16..32]),
                frag(7, 32, false, &payload[32..]),
            ];
            let done: Vec<bool> =
                order.iter().map(|&i| d.add(a(), b(), &parts[i], 100, &mut stats, &mut issues)).collect();
            assert_eq!(done, [false, false, true]);
            assert_eq!(d.output(), &payload[..]);
            assert_eq!(stats.fragments_reassembled, 1);
            assert!(issues.is_empty());
            assert_eq!(d.bytes, 0);
        }
    }

    #[test]
    fn never_completed_datagram_times_out_and_is_counted() {
        let mut d = Defragmenter::new(LIMITS);
        let mut stats = CaptureStats::default();
        let mut issues = Vec::new();
        assert!(!d.add(a(), b(), &frag(1, 0, true, &[0; 8]), 100, &mut stats, &mut issues));
        // A different datagram 31 s later sweeps the first one out.
        assert!(!d.add(a(), b(), &frag(2, 0, true, &[0; 8]), 131, &mut stats, &mut issues));
        assert_eq!(stats.fragments_dropped, 1);
        assert!(matches!(issues[0], CaptureErrorKind::FragmentsDropped { count: 1, .. }));
        // The rest of datagram 1 no longer completes it.
        assert!(!d.add(a(), b(), &frag(1, 8, false, &[0; 8]), 131, &mut stats, &mut issues));
        d.finish(&mut stats, &mut issues);
        assert_eq!(stats.fragments_dropped, 3);
        assert_eq!(stats.fragments_reassembled, 0);
    }

    #[test]
    fn bounds_on_datagrams_and_bytes_evict_the_oldest() {
        let mut d = Defragmenter::new(LIMITS);
        let mut stats = CaptureStats::default();
        let mut issues = Vec::new();
        for id in 0..6 {
            d.add(a(), b(), &frag(id, 0, true, &[0; 8]), 10 + i64::from(id as u8), &mut stats, &mut issues);
        }
        assert_eq!(d.active.len(), 4);
        assert_eq!(stats.fragments_dropped, 2);
        // Datagram 0 was the oldest, so it is gone; 5 is still there.
        assert!(!d.active.contains_key(&Key { src: a(), dst: b(), id: 0, proto: 17 }));
        assert!(d.add(a(), b(), &frag(5, 8, false, &[1; 8]), 20, &mut stats, &mut issues));

        let mut small = Defragmenter::new(DefragLimits { max_bytes: 1000, ..LIMITS });
        small.add(a(), b(), &frag(1, 0, true, &[0; 800]), 1, &mut stats, &mut issues);
        small.add(a(), b(), &frag(2, 0, true, &[0; 800]), 2, &mut stats, &mut issues);
        assert_eq!(small.active.len(), 1);
        assert!(small.bytes <= 1000);
    }

    #[test]
    fn inconsistent_fragments_are_rejected() {
        let mut d = Defragmenter::new(LIMITS);
        let mut stats = CaptureStats::default();
        let mut issues = Vec::new();
        // Not the last fragment but not a multiple of 8 bytes long.
        assert!(!d.add(a(), b(), &frag(3, 0, true, &[0; 5]), 1, &mut stats, &mut issues));
        assert_eq!(stats.fragments_dropped, 1);
        assert!(matches!(issues[0], CaptureErrorKind::Fragment { id: 3, .. }));
        assert!(d.active.is_empty());
    }
}
