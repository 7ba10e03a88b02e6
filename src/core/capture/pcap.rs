//! Classic pcap files (microsecond and nanosecond magic, either byte order): `pcap-file`'s slice
//! parser frames the records inside our read buffer; this file checks the record headers and
//! finds the next record after a damaged one.

use std::io::{self, Read};

use pcap_file::Endianness;
use pcap_file::pcap::{PcapParseError, PcapParser, PcapTsResolution};

use super::error::{CaptureErrorKind, Recovery};
use super::link::Link;
use super::source::{Source, Verdict};
use super::{Frame, Step, truncated};
use crate::core::time::{Precision, Timestamp};

/// Larger captured lengths than this are damage whatever the snap length says (Wireshark's
/// limit for ordinary link types).
const MAX_CAPLEN: u32 = 262_144;

/// How far apart two consecutive records' seconds may be for a resynchronisation candidate.
const RESYNC_WINDOW_SECS: u32 = 86_400;

#[derive(Clone, Copy)]
struct Shape {
    big_endian: bool,
    nanos: bool,
    snaplen: u32,
    /// Bound on captured length: Wireshark's, or a larger snap length when one is given.
    max_caplen: u32,
    last_secs: Option<u32>,
}

struct RecordHeader {
    secs: u32,
    frac: u32,
    caplen: u32,
    origlen: u32,
}

impl Shape {
    fn header(&self, b: &[u8]) -> RecordHeader {
        let rd = |i: usize| {
            let v = [b[i], b[i + 1], b[i + 2], b[i + 3]];
            if self.big_endian { u32::from_be_bytes(v) } else { u32::from_le_bytes(v) }
        };
        RecordHeader { secs: rd(0), frac: rd(4), caplen: rd(8), origlen: rd(12) }
    }

    /// A record header that a writer could have produced next.
    fn plausible(&self, h: &RecordHeader) -> bool {
        let frac_max = if self.nanos { 1_000_000_000 } else { 1_000_000 };
        let near = self.last_secs.is_none_or(|last| h.secs.abs_diff(last) <= RESYNC_WINDOW_SECS);
        h.frac < frac_max
            && h.caplen <= self.max_caplen
            && h.origlen >= h.caplen
            && h.origlen <= self.max_caplen.saturating_mul(4)
            && near
    }

    /// Judges a resynchronisation candidate: a plausible header whose record is followed by
    /// another plausible header, or by the end of the file.
    fn candidate(&self, b: &[u8], eof: bool) -> Verdict {
        if b.len() < 16 {
            return if eof { Verdict::Reject } else { Verdict::NeedMore(16) };
        }
        let h = self.header(b);
        if !self.plausible(&h) {
            return Verdict::Reject;
        }
        let next = 16 + h.caplen as usize;
        if b.len() < next + 16 {
            return match (eof, b.len() == next) {
                (true, true) => Verdict::Accept,
                (true, false) => Verdict::Reject,
                (false, _) => Verdict::NeedMore(next + 16),
            };
        }
        if self.plausible(&self.header(&b[next..])) { Verdict::Accept } else { Verdict::Reject }
    }
}

pub(crate) struct PcapFile {
    parser: PcapParser,
    link: Link,
    precision: Precision,
    shape: Shape,
    done: bool,
}

impl PcapFile {
    /// Reads the 24-byte file header; `Err` with a description when it cannot be one.
    pub(crate) fn open<R: Read>(src: &mut Source<R>) -> io::Result<Result<PcapFile, String>> {
        src.fill(24)?;
        let parser = match PcapParser::new(src.avail()) {
            Ok((_, parser)) => parser,
            Err(PcapParseError::IncompleteBuffer(..)) => {
                return Ok(Err(format!("a pcap file header needs 24 bytes, the file has {}", src.avail().len())));
            }
            Err(e) => return Ok(Err(format!("a damaged pcap file header ({e})"))),
        };
        src.consume(24);
        let header = parser.header();
        let nanos = header.ts_resolution == PcapTsResolution::NanoSecond;
        // Room for the record's header and the next one within the buffer's bound.
        let max_caplen = match header.snaplen {
            n if n as usize > super::source::MAX_RECORD - 64 => MAX_CAPLEN,
            n => n.max(MAX_CAPLEN),
        };
        Ok(Ok(PcapFile {
            link: Link::from_linktype(u32::from(header.datalink)),
            precision: if nanos { Precision::Nanos } else { Precision::Micros },
            shape: Shape {
                big_endian: header.endianness == Endianness::Big,
                nanos,
                snaplen: header.snaplen,
                max_caplen,
                last_secs: None,
            },
            parser,
            done: false,
        }))
    }

    pub(crate) fn next<R: Read>(&mut self, src: &mut Source<R>) -> io::Result<Step> {
        loop {
            if self.done {
                return Ok(Step::End);
            }
            let offset = src.offset();
            if !src.fill(16)? {
                self.done = true;
                return Ok(truncated(src, offset, "a pcap record header", 16));
            }
            let (secs, frac, caplen) = match self.parser.next_raw_packet(src.avail()) {
                Ok((_, raw)) => (raw.ts_sec, raw.ts_frac, raw.incl_len),
                Err(PcapParseError::IncompleteBuffer(need, _)) => {
                    let caplen = u32::try_from(need).unwrap_or(u32::MAX);
                    if caplen > self.shape.max_caplen
                        || (caplen > self.shape.snaplen && !self.oversized_but_intact(src, caplen)?)
                    {
                        return self.damaged(src, offset, caplen);
                    }
                    if !src.fill(16 + need)? {
                        self.done = true;
                        return Ok(truncated(src, offset, "a pcap record", 16 + need as u64));
                    }
                    continue;
                }
                Err(e) => {
                    let what = format!("unreadable pcap record header ({e})");
                    return self.resync(src, offset, what);
                }
            };
            if caplen > self.shape.snaplen && !self.oversized_but_intact(src, caplen)? {
                return self.damaged(src, offset, caplen);
            }
            let start = src.pos() + 16;
            src.consume(16 + caplen as usize);
            self.shape.last_secs = Some(secs);
            let time = if self.shape.nanos {
                Timestamp::from_nanos(i128::from(secs) * 1_000_000_000 + i128::from(frac))
            } else {
                Timestamp::from_micros(i64::from(secs) * 1_000_000 + i64::from(frac))
            }
            .with_precision(self.precision);
            return Ok(Step::Frame(Frame { start, len: caplen as usize, time, link: self.link, offset }));
        }
    }

    /// Some writers put a snap length smaller than what they captured: such a record is
    /// accepted when the header after it is plausible (or the file ends right after it).
    fn oversized_but_intact<R: Read>(&self, src: &mut Source<R>, caplen: u32) -> io::Result<bool> {
        if caplen > self.shape.max_caplen {
            return Ok(false);
        }
        let next = 16 + caplen as usize;
        let complete = src.fill(next + 16)?;
        let b = src.avail();
        if !complete {
            return Ok(b.len() == next);
        }
        let following = self.shape.header(&b[next..]);
        Ok(self.shape.plausible(&following))
    }

    fn damaged<R: Read>(&mut self, src: &mut Source<R>, offset: u64, caplen: u32) -> io::Result<Step> {
        let what =
            format!("pcap record header claims {caplen} captured bytes but the snap length is {}", self.shape.snaplen);
        self.resync(src, offset, what)
    }

    fn resync<R: Read>(&mut self, src: &mut Source<R>, offset: u64, what: String) -> io::Result<Step> {
        src.consume(1);
        let shape = self.shape;
        let found = src.resync(1, |b, eof| shape.candidate(b, eof))?;
        let recovery = if found {
            Recovery::Resynchronised { at: src.offset() }
        } else {
            self.done = true;
            Recovery::GaveUp { skipped: src.offset() - offset }
        };
        Ok(Step::Problem { offset, kind: Box::new(CaptureErrorKind::Corrupt { what, recovery }) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Shape = Shape {
        big_endian: false,
        nanos: false,
        snaplen: 65535,
        max_caplen: MAX_CAPLEN,
        last_secs: Some(1_700_000_000),
    };

    fn header(secs: u32, frac: u32, caplen: u32, origlen: u32) -> Vec<u8> {
        [secs, frac, caplen, origlen].iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn record(secs: u32, caplen: u32) -> Vec<u8> {
        let mut r = header(secs, 5, caplen, caplen);
        r.resize(16 + caplen as usize, 0xab);
        r
    }

    #[test]
    fn plausible_headers() {
        let ok = |h: Vec<u8>| SHAPE.plausible(&SHAPE.header(&h));
        assert!(ok(header(1_700_000_100, 999_999, 100, 1500)));
        assert!(!ok(header(1_700_000_100, 1_000_000, 100, 100)), "fraction out of range");
        assert!(!ok(header(1_700_000_100, 0, 300_000, 300_000)), "caplen beyond the bound");
        assert!(!ok(header(1_700_000_100, 0, 100, 99)), "original shorter than captured");
        assert!(!ok(header(1_600_000_000, 0, 100, 100)), "far from the previous record");
        let nanos = Shape { nanos: true, ..SHAPE };
        assert!(nanos.plausible(&nanos.header(&header(1_700_000_000, 999_999_999, 1, 1))));
    }

    #[test]
    fn candidates_need_a_plausible_successor_or_the_end() {
        let two = [record(1_700_000_001, 40), record(1_700_000_002, 30)].concat();
        assert!(matches!(SHAPE.candidate(&two, true), Verdict::Accept));
        // The last record of the file.
        assert!(matches!(SHAPE.candidate(&two[56..], true), Verdict::Accept));
        // Not enough bytes to see the successor yet.
        assert!(matches!(SHAPE.candidate(&two[..60], false), Verdict::NeedMore(72)));
        // A successor that is garbage.
        let mut bad = two.clone();
        bad[56 + 8..56 + 12].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(matches!(SHAPE.candidate(&bad, true), Verdict::Reject));
        // Cut inside the candidate's data at the end of the file.
        assert!(matches!(SHAPE.candidate(&two[..50], true), Verdict::Reject));
    }
}
