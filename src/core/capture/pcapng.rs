//! pcapng files: `pcap-file`'s slice parser frames the blocks inside our read buffer and decodes
//! section headers and interface descriptions; packet blocks (enhanced, simple and the obsolete
//! packet block) are read here, in place, with each interface's link type, timestamp resolution
//! (decimal or binary, e.g. 2^-20) and offset. Several sections, with different byte orders,
//! are fine.
//!
//! Damage: a block whose length fields agree is skipped whole; otherwise the file is scanned for
//! the next block whose type, length and trailing length are consistent.

use std::io::{self, Read};

use pcap_file::Endianness;
use pcap_file::pcapng::{PcapNgParseError, PcapNgParser};

use super::error::{CaptureErrorKind, Recovery};
use super::link::Link;
use super::source::{MAX_RECORD, Source, Verdict};
use super::{Frame, Step, truncated};
use crate::core::time::{Precision, Timestamp};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const NRB: u32 = 4;
const ISB: u32 = 5;
const EPB: u32 = 6;
const SJE: u32 = 9;
const DSB: u32 = 0x0A;
const CB_COPY: u32 = 0x0BAD;
const CB_NOCOPY: u32 = 0x4000_0BAD;

/// While scanning for a block after damage, longer candidates are not believed.
const SCAN_MAX_BLOCK: usize = 1 << 20;

const BOM_BE: [u8; 4] = [0x1A, 0x2B, 0x3C, 0x4D];
const BOM_LE: [u8; 4] = [0x4D, 0x3C, 0x2B, 0x1A];

/// Units per second of an interface's timestamps: 10^exp or 2^exp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Resolution {
    binary: bool,
    exp: u8,
}

impl Resolution {
    const MICROS: Resolution = Resolution { binary: false, exp: 6 };

    /// From the `if_tsresol` option byte; `None` for values that cannot be represented.
    fn from_option(v: u8) -> Option<Resolution> {
        let binary = v & 0x80 != 0;
        let exp = v & 0x7f;
        let ok = if binary { exp <= 63 } else { exp <= 9 };
        ok.then_some(Resolution { binary, exp })
    }

    fn precision(self) -> Precision {
        // Binary fractions get the decimal precision that resolves them: 2^-10 ≈ 1 ms, 2^-20 ≈ 1 µs.
        let decimal_digits = if self.binary { (u32::from(self.exp) * 3).div_ceil(10) } else { u32::from(self.exp) };
        match decimal_digits {
            0 => Precision::Seconds,
            1..=3 => Precision::Millis,
            4..=6 => Precision::Micros,
            _ => Precision::Nanos,
        }
    }

    fn time(self, ticks: u64, offset_secs: i64) -> Timestamp {
        let (secs, nanos) = if self.binary {
            let secs = ticks.checked_shr(u32::from(self.exp)).unwrap_or(0);
            let frac = ticks & ((1u128 << self.exp) - 1) as u64;
            (secs, ((u128::from(frac) * 1_000_000_000) >> self.exp) as u32)
        } else {
            let units = 10u64.pow(u32::from(self.exp));
            let scale = 10u64.pow(9 - u32::from(self.exp));
            (ticks / units, ((ticks % units) * scale) as u32)
        };
        Timestamp {
            secs: i64::try_from(secs).unwrap_or(i64::MAX).saturating_add(offset_secs),
            nanos,
            precision: self.precision(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link: Link,
    snaplen: u32,
    resolution: Resolution,
    offset_secs: i64,
}

pub(crate) struct PcapNgFile {
    parser: PcapNgParser,
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// Simple packet blocks carry no time; they get the time of the packet before.
    last_time: Timestamp,
    pending: Option<(u64, CaptureErrorKind)>,
    done: bool,
}

fn rd32(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big_endian { u32::from_be_bytes(v) } else { u32::from_le_bytes(v) }
}

fn rd16(b: &[u8], at: usize, big_endian: bool) -> u16 {
    let v = [b[at], b[at + 1]];
    if big_endian { u16::from_be_bytes(v) } else { u16::from_le_bytes(v) }
}

/// A section header without options, for restarting the parser in a section whose own header
/// it rejected (the byte order is all it needs).
fn bare_section_header(big_endian: bool) -> [u8; 28] {
    let mut b = [0u8; 28];
    let put = |b: &mut [u8; 28], at: usize, v: u32| {
        let bytes = if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        b[at..at + 4].copy_from_slice(&bytes);
    };
    put(&mut b, 0, SHB);
    put(&mut b, 4, 28);
    b[8..12].copy_from_slice(if big_endian { &BOM_BE } else { &BOM_LE });
    put(&mut b, 12, 1);
    b[16..24].fill(0xff);
    put(&mut b, 24, 28);
    b
}

/// The byte order a section header's byte-order magic announces.
fn section_order(bom: &[u8]) -> Option<bool> {
    match bom {
        b if b == BOM_BE => Some(true),
        b if b == BOM_LE => Some(false),
        _ => None,
    }
}

impl PcapNgFile {
    /// Reads the first section header; `Err` with a description when it cannot be one.
    pub(crate) fn open<R: Read>(src: &mut Source<R>) -> io::Result<Result<PcapNgFile, String>> {
        src.fill(12)?;
        let b = src.avail();
        let Some(big_endian) = b.get(8..12).and_then(section_order) else {
            return Ok(Err("a pcapng section header whose byte-order magic is damaged".into()));
        };
        let len = rd32(b, 4, big_endian) as usize;
        if len < 28 || !len.is_multiple_of(4) || len > MAX_RECORD {
            return Ok(Err(format!("a pcapng section header whose length {len} is impossible")));
        }
        if !src.fill(len)? {
            return Ok(Err(format!("a pcapng section header of {len} bytes in a file of {} bytes", src.avail().len())));
        }
        let (parser, pending) = match PcapNgParser::new(src.avail()) {
            Ok((_, parser)) => (parser, None),
            Err(e) => {
                let Ok((_, parser)) = PcapNgParser::new(&bare_section_header(big_endian)) else {
                    return Ok(Err(format!("a damaged pcapng section header ({e})")));
                };
                let kind = CaptureErrorKind::Corrupt {
                    what: format!("section header block rejected ({})", error_chain(&e)),
                    recovery: Recovery::Skipped,
                };
                (parser, Some((0, kind)))
            }
        };
        src.consume(len);
        Ok(Ok(PcapNgFile {
            parser,
            big_endian,
            interfaces: Vec::new(),
            last_time: Timestamp::default(),
            pending,
            done: false,
        }))
    }

    pub(crate) fn next<R: Read>(&mut self, src: &mut Source<R>) -> io::Result<Step> {
        if let Some((offset, kind)) = self.pending.take() {
            return Ok(Step::Problem { offset, kind: Box::new(kind) });
        }
        loop {
            if self.done {
                return Ok(Step::End);
            }
            let offset = src.offset();
            if !src.fill(12)? {
                self.done = true;
                return Ok(truncated(src, offset, "a pcapng block header", 12));
            }
            let b = src.avail();
            let block_type = rd32(b, 0, self.big_endian);
            let order = if block_type == SHB { section_order(&b[8..12]) } else { Some(self.big_endian) };
            let len = order.map_or(0, |be| rd32(b, 4, be) as usize);
            if len < 12 || !len.is_multiple_of(4) || len > MAX_RECORD {
                let what = if order.is_none() {
                    "section header block with a damaged byte-order magic".to_string()
                } else {
                    format!("pcapng block of type {block_type:#x} claims an impossible length of {len} bytes")
                };
                return self.resync(src, offset, what);
            }
            if !src.fill(len)? {
                self.done = true;
                return Ok(truncated(src, offset, "a pcapng block", len as u64));
            }
            let parsed = self.parser.next_raw_block(src.avail()).map(|_| ());
            match parsed {
                Ok(()) => {}
                Err(PcapNgParseError::InvalidFormat(e)) => {
                    let what = format!("pcapng block of type {block_type:#x}: {e}");
                    return self.resync(src, offset, what);
                }
                Err(e) => {
                    // The framing is fine (the lengths agree), only the content is bad.
                    let recovered = self.content_error(src, block_type, len);
                    src.consume(len);
                    let what =
                        format!("pcapng block of type {block_type:#x} rejected ({}){recovered}", error_chain(&e));
                    return Ok(Step::Problem {
                        offset,
                        kind: Box::new(CaptureErrorKind::Corrupt { what, recovery: Recovery::Skipped }),
                    });
                }
            }
            match block_type {
                SHB => {
                    self.big_endian = self.parser.section().endianness == Endianness::Big;
                    self.interfaces.clear();
                }
                IDB => {
                    if let Some(idb) = self.parser.interfaces().last() {
                        let resolution = idb.ts_resolution();
                        self.interfaces.push(Interface {
                            link: Link::from_linktype(u32::from(idb.linktype)),
                            snaplen: idb.snaplen,
                            resolution: Resolution { binary: resolution.is_bin(), exp: resolution.resolution() },
                            offset_secs: idb.ts_offset(),
                        });
                    }
                }
                EPB | PB | SPB => match self.packet(src, block_type, len) {
                    Ok(frame) => {
                        src.consume(len);
                        return Ok(Step::Frame(Frame { offset, ..frame }));
                    }
                    Err(what) => {
                        src.consume(len);
                        return Ok(Step::Problem {
                            offset,
                            kind: Box::new(CaptureErrorKind::Corrupt { what, recovery: Recovery::Skipped }),
                        });
                    }
                },
                _ => {}
            }
            src.consume(len);
        }
    }

    /// Reads a packet block of `len` bytes at the current position.
    fn packet<R: Read>(&mut self, src: &Source<R>, block_type: u32, len: usize) -> Result<Frame, String> {
        let b = &src.avail()[..len];
        let be = self.big_endian;
        let (iface, ticks, caplen, data_at) = match block_type {
            EPB if len >= 32 => (
                rd32(b, 8, be) as usize,
                Some(u64::from(rd32(b, 12, be)) << 32 | u64::from(rd32(b, 16, be))),
                rd32(b, 20, be) as usize,
                28,
            ),
            PB if len >= 32 => (
                usize::from(rd16(b, 8, be)),
                Some(u64::from(rd32(b, 12, be)) << 32 | u64::from(rd32(b, 16, be))),
                rd32(b, 20, be) as usize,
                28,
            ),
            SPB if len >= 16 => {
                let original = rd32(b, 8, be) as usize;
                let snaplen = self.interfaces.first().map_or(0, |i| i.snaplen as usize);
                let captured = if snaplen == 0 { original } else { original.min(snaplen) };
                (0, None, captured.min(len - 16), 12)
            }
            _ => {
                return Err(format!("packet block of type {block_type} is only {len} bytes long"));
            }
        };
        let Some(interface) = self.interfaces.get(iface).copied() else {
            return Err(format!(
                "packet block refers to interface {iface} but the section describes {}",
                self.interfaces.len()
            ));
        };
        if caplen > len - data_at - 4 {
            return Err(format!("packet block claims {caplen} captured bytes but holds at most {}", len - data_at - 4));
        }
        let time = match ticks {
            Some(t) => interface.resolution.time(t, interface.offset_secs),
            None => self.last_time,
        };
        self.last_time = time;
        Ok(Frame { start: src.pos() + data_at, len: caplen, time, link: interface.link, offset: 0 })
    }

    /// After the parser rejected the content of a block whose framing is fine: keeps the
    /// section and interface numbering right. Returns what was done, for the report.
    fn content_error<R: Read>(&mut self, src: &Source<R>, block_type: u32, len: usize) -> &'static str {
        let b = &src.avail()[..len];
        match block_type {
            SHB => {
                let big_endian = section_order(&b[8..12]).unwrap_or(self.big_endian);
                if let Ok((_, parser)) = PcapNgParser::new(&bare_section_header(big_endian)) {
                    self.parser = parser;
                }
                self.big_endian = big_endian;
                self.interfaces.clear();
                "; a new section starts without its options"
            }
            IDB if len >= 20 => {
                self.interfaces.push(lenient_interface(b, self.big_endian));
                "; its link type, snap length and time options were read leniently"
            }
            _ => "",
        }
    }

    fn resync<R: Read>(&mut self, src: &mut Source<R>, offset: u64, what: String) -> io::Result<Step> {
        src.consume(4.min(src.avail().len()));
        let be = self.big_endian;
        let interfaces = self.interfaces.len();
        let found = src.resync(4, |b, eof| candidate(b, eof, be, interfaces))?;
        let recovery = if found {
            Recovery::Resynchronised { at: src.offset() }
        } else {
            self.done = true;
            Recovery::GaveUp { skipped: src.offset() - offset }
        };
        Ok(Step::Problem { offset, kind: Box::new(CaptureErrorKind::Corrupt { what, recovery }) })
    }
}

/// Reads an interface description block the parser rejected (a non-zero reserved field, a
/// malformed option): link type, snap length, and the two options that change timestamps.
fn lenient_interface(b: &[u8], be: bool) -> Interface {
    let mut interface = Interface {
        link: Link::from_linktype(u32::from(rd16(b, 8, be))),
        snaplen: rd32(b, 12, be),
        resolution: Resolution::MICROS,
        offset_secs: 0,
    };
    let mut at = 16;
    let end = b.len() - 4;
    while at + 4 <= end {
        let code = rd16(b, at, be);
        let len = usize::from(rd16(b, at + 2, be));
        let value = at + 4;
        if code == 0 || value + len > end {
            break;
        }
        match (code, len) {
            (9, 1) => {
                if let Some(r) = Resolution::from_option(b[value]) {
                    interface.resolution = r;
                }
            }
            (14, 8) => {
                let v: [u8; 8] = b[value..value + 8].try_into().unwrap_or_default();
                interface.offset_secs = if be { i64::from_be_bytes(v) } else { i64::from_le_bytes(v) };
            }
            _ => {}
        }
        at = value + len.div_ceil(4) * 4;
    }
    interface
}

/// Whether a block plausibly starts at `b[0]`: a known type, a length that fits its type and
/// agrees with the trailing length, and for packets an interface the section has.
fn candidate(b: &[u8], eof: bool, be: bool, interfaces: usize) -> Verdict {
    if b.len() < 12 {
        return if eof { Verdict::Reject } else { Verdict::NeedMore(12) };
    }
    let block_type = rd32(b, 0, be);
    let (be, min) = match block_type {
        SHB => match section_order(&b[8..12]) {
            Some(order) => (order, 28),
            None => return Verdict::Reject,
        },
        IDB => (be, 20),
        EPB | PB => (be, 32),
        SPB => (be, 16),
        NRB | ISB | SJE | DSB | CB_COPY | CB_NOCOPY => (be, 12),
        _ => return Verdict::Reject,
    };
    let len = rd32(b, 4, be) as usize;
    if len < min || !len.is_multiple_of(4) || len > SCAN_MAX_BLOCK {
        return Verdict::Reject;
    }
    if b.len() < len {
        return if eof { Verdict::Reject } else { Verdict::NeedMore(len) };
    }
    if rd32(b, len - 4, be) as usize != len {
        return Verdict::Reject;
    }
    let packet_ok = match block_type {
        EPB => (rd32(b, 8, be) as usize) < interfaces && rd32(b, 20, be) as usize <= len - 32,
        PB => usize::from(rd16(b, 8, be)) < interfaces && rd32(b, 20, be) as usize <= len - 32,
        SPB => interfaces > 0,
        _ => true,
    };
    if packet_ok { Verdict::Accept } else { Verdict::Reject }
}

/// The parser's error with its causes, which say what was wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_binary_resolutions() {
        let micro = Resolution::MICROS;
        let t = micro.time(1_662_710_767_123_456, 0);
        assert_eq!((t.secs, t.nanos, t.precision), (1_662_710_767, 123_456_000, Precision::Micros));
        let nano = Resolution::from_option(9).unwrap();
        let t = nano.time(1_662_710_767_123_456_789, 0);
        assert_eq!((t.secs, t.nanos, t.precision), (1_662_710_767, 123_456_789, Precision::Nanos));
        // 2^-20: 0x80000 ticks is half a second.
        let bin = Resolution::from_option(0x80 | 20).unwrap();
        let t = bin.time((1_662_710_767u64 << 20) | 0x80000, 0);
        assert_eq!((t.secs, t.nanos, t.precision), (1_662_710_767, 500_000_000, Precision::Micros));
        // Seconds with an offset.
        let secs = Resolution::from_option(0).unwrap();
        let t = secs.time(100, 1_000_000_000);
        assert_eq!((t.secs, t.nanos, t.precision), (1_000_000_100, 0, Precision::Seconds));
        assert!(Resolution::from_option(10).is_none());
        assert!(Resolution::from_option(0x80 | 63).is_some());
        let t = Resolution::from_option(0x80 | 63).unwrap().time(u64::MAX, 0);
        assert_eq!(t.secs, 1);
    }

    #[test]
    fn bare_section_header_parses_in_both_orders() {
        for be in [true, false] {
            let (_, p) = PcapNgParser::new(&bare_section_header(be)).unwrap();
            assert_eq!(p.section().endianness == Endianness::Big, be);
        }
    }
}
