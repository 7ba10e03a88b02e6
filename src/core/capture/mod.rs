//! Capture files → IPFIX / NetFlow v9 messages.
//!
//! Reads pcap (µs and ns), pcapng (any `if_tsresol`, several interfaces and sections) and
//! RFC 5655 `.ipfix` files; walks link layer → IPv4/IPv6 (with fragment reassembly) → UDP or
//! TCP (with stream reassembly and IPFIX framing) and yields one [`CapturedMessage`] per
//! IPFIX/NetFlow message, borrowing its bytes. Problems in the container or the packets are
//! reported as [`CaptureError`]s naming file, frame and offset, and reading goes on.
//!
//! The format is found by its magic number. The file is read in large chunks into one buffer
//! (see `source.rs`) that the container parsers and the packet dissector work on in place, so a
//! UDP message is handed out without being copied and memory does not grow with the file.
//!
//! Layout: `pcap.rs`, `pcapng.rs`, `ipfix_file.rs` (containers), `link.rs` (L2–L4 slicing and
//! which packets are IPFIX), `defrag.rs` (IP reassembly), `tcp.rs` (stream reassembly and
//! framing), `error.rs`, `stats.rs`.

mod defrag;
mod error;
mod ipfix_file;
mod link;
mod pcap;
mod pcapng;
mod source;
mod stats;
mod tcp;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub use error::{CaptureError, CaptureErrorKind, Recovery, StreamId};
pub use stats::CaptureStats;
pub use writer::{MessagePcapWriter, WriteError};

use crate::core::time::Timestamp;
use defrag::{DefragLimits, Defragmenter};
use ipfix_file::IpfixFile;
use link::{Classifier, L4, Link};
use pcap::PcapFile;
use pcapng::PcapNgFile;
use source::Source;
use tcp::{TcpLimits, TcpReassembler};

pub use crate::core::ipfix::Transport;

/// One IPFIX or NetFlow v9 message found in a capture.
#[derive(Debug)]
pub struct CapturedMessage<'a> {
    /// 1-based packet number as tshark counts it (for TCP or IP-fragmented messages, the
    /// frame that completed the message), or the message number in a `.ipfix` file.
    pub frame: u64,
    /// Capture time (export time for `.ipfix` files).
    pub time: Timestamp,
    pub transport: Transport,
    /// Sender and receiver as seen in the packet; `None` for `.ipfix` files.
    pub exporter: Option<SocketAddr>,
    pub collector: Option<SocketAddr>,
    /// Exactly one message: a UDP payload, or one header-framed message of a TCP stream.
    pub payload: &'a [u8],
}

/// The container format, as found by the file's magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
    /// RFC 5655: IPFIX messages back to back.
    Ipfix,
}

/// The IANA IPFIX ports (4739, 4740 for TLS) and the usual NetFlow ports.
pub const DEFAULT_PORTS: [u16; 5] = [4739, 4740, 2055, 9995, 9996];

/// Which packets count as IPFIX/NetFlow, and the bounds of reassembly.
#[derive(Clone, Debug)]
pub struct CaptureOptions {
    /// UDP datagrams and TCP streams with either port in this set are passed on even if they
    /// do not look like IPFIX, so the decoder can say what is wrong with them.
    pub ports: Vec<u16>,
    /// Also pass UDP datagrams and TCP streams on other ports whose bytes look like IPFIX or
    /// NetFlow v9 (exporters are often configured with other ports).
    pub sniff: bool,
    pub limits: CaptureLimits,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions { ports: DEFAULT_PORTS.to_vec(), sniff: true, limits: CaptureLimits::default() }
    }
}

/// Bounds on what reassembly may hold; what a bound drops is counted in [`CaptureStats`].
#[derive(Clone, Copy, Debug)]
pub struct CaptureLimits {
    /// IP datagrams being reassembled at once.
    pub max_reassemblies: usize,
    /// Bytes held by IP reassembly.
    pub max_reassembly_bytes: usize,
    /// Capture seconds after which an incomplete IP datagram is dropped.
    pub reassembly_timeout_secs: i64,
    /// TCP streams tracked at once; the least recently active is dropped beyond it.
    pub max_tcp_streams: usize,
    /// Bytes a TCP stream holds ahead of a hole before the hole is skipped.
    pub max_tcp_pending_bytes: usize,
    /// Segments a TCP stream holds ahead of a hole before the hole is skipped.
    pub max_tcp_pending_segments: usize,
    /// Capture seconds a TCP stream waits for a hole to fill.
    pub tcp_gap_timeout_secs: i64,
    /// Size of one read from the file.
    pub read_chunk: usize,
}

impl Default for CaptureLimits {
    fn default() -> Self {
        CaptureLimits {
            max_reassemblies: 1024,
            max_reassembly_bytes: 16 << 20,
            reassembly_timeout_secs: 30,
            max_tcp_streams: 1024,
            max_tcp_pending_bytes: 256 << 10,
            max_tcp_pending_segments: 512,
            tcp_gap_timeout_secs: 30,
            read_chunk: source::CHUNK,
        }
    }
}

/// One record a container handed over: `len` bytes at `start` in the read buffer, valid until
/// the container is asked for the next one.
pub(crate) struct Frame {
    start: usize,
    len: usize,
    time: Timestamp,
    link: Link,
    /// File offset of the record or block.
    offset: u64,
}

/// What a container produces.
pub(crate) enum Step {
    Frame(Frame),
    /// Damage it stepped over; it goes on afterwards unless the file ended.
    Problem {
        offset: u64,
        kind: Box<CaptureErrorKind>,
    },
    End,
}

/// Ends a container at a record cut off by the end of the file (reported once).
fn truncated<R: Read>(src: &mut Source<R>, offset: u64, what: &'static str, needed: u64) -> Step {
    let available = src.avail().len();
    src.consume(available);
    if available == 0 {
        return Step::End;
    }
    Step::Problem { offset, kind: Box::new(CaptureErrorKind::Truncated { what, needed, available: available as u64 }) }
}

enum Container {
    Pcap(PcapFile),
    PcapNg(PcapNgFile),
    Ipfix(IpfixFile),
}

/// Where the bytes of a message to hand out are.
#[derive(Clone, Copy)]
enum Bytes {
    Buffer { start: usize, len: usize },
    Reassembled { start: usize, len: usize },
    Stream { idx: usize, start: usize, end: usize },
}

#[derive(Clone, Copy)]
struct Emit {
    bytes: Bytes,
    frame: u64,
    time: Timestamp,
    transport: Transport,
    exporter: Option<SocketAddr>,
    collector: Option<SocketAddr>,
}

/// A TCP stream that may hold more complete messages, and the frame that fed it.
#[derive(Clone, Copy)]
struct Draining {
    idx: usize,
    frame: u64,
    offset: Option<u64>,
    time: Timestamp,
}

/// Reads a capture file and yields its IPFIX / NetFlow v9 messages one by one.
///
/// ```no_run
/// use flowctl::core::capture::{CaptureOptions, CaptureReader};
/// let mut reader = CaptureReader::open("x.pcap", &CaptureOptions::default())?;
/// while let Some(item) = reader.next() {
///     match item {
///         Ok(msg) => println!("frame {}: {} bytes", msg.frame, msg.payload.len()),
///         Err(e) if e.is_fatal() => return Err(e),
///         Err(e) => eprintln!("{e}"),
///     }
/// }
/// # Ok::<(), flowctl::core::capture::CaptureError>(())
/// ```
pub struct CaptureReader<R = File> {
    file: Arc<Path>,
    src: Source<R>,
    format: CaptureFormat,
    container: Container,
    classifier: Classifier,
    defrag: Defragmenter,
    tcp: TcpReassembler,
    stats: CaptureStats,
    total: Option<u64>,
    /// Number of the last frame read.
    frame: u64,
    errors: VecDeque<CaptureError>,
    /// Scratch list the reassemblers report into; moved to `errors` with a location.
    issues: Vec<CaptureErrorKind>,
    held: Option<Emit>,
    draining: Option<Draining>,
    /// Streams still to drain at the end of the capture.
    closing: Vec<usize>,
    reported_links: Vec<u32>,
    ended: bool,
}

impl CaptureReader<File> {
    /// Opens a capture file and reads its file header.
    pub fn open(path: impl AsRef<Path>, options: &CaptureOptions) -> Result<Self, CaptureError> {
        let name: Arc<Path> = Arc::from(path.as_ref());
        let file = File::open(&name).map_err(|e| CaptureError {
            file: name.clone(),
            frame: None,
            offset: None,
            kind: Box::new(CaptureErrorKind::Open(e)),
        })?;
        let total = file.metadata().ok().map(|m| m.len());
        Self::with_name(file, name, total, options)
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads a capture from any byte source; `name` is what errors call it and `total_bytes`
    /// its size when known (for progress).
    pub fn from_reader(
        reader: R,
        name: impl AsRef<Path>,
        total_bytes: Option<u64>,
        options: &CaptureOptions,
    ) -> Result<Self, CaptureError> {
        Self::with_name(reader, Arc::from(name.as_ref()), total_bytes, options)
    }

    fn with_name(
        reader: R,
        file: Arc<Path>,
        total: Option<u64>,
        options: &CaptureOptions,
    ) -> Result<Self, CaptureError> {
        let limits = options.limits;
        let mut src = Source::new(reader, limits.read_chunk);
        let fatal = |kind| CaptureError { file: file.clone(), frame: None, offset: Some(0), kind: Box::new(kind) };
        let not_capture = |detail: String| fatal(CaptureErrorKind::NotACapture { detail });
        src.fill(4).map_err(|e| fatal(CaptureErrorKind::Read(e)))?;
        let magic: [u8; 4] = match src.avail().get(..4) {
            Some(m) => [m[0], m[1], m[2], m[3]],
            None => {
                return Err(not_capture(format!("the file is only {} bytes long", src.avail().len())));
            }
        };
        let (format, container) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d] => {
                let pcap = PcapFile::open(&mut src).map_err(|e| fatal(CaptureErrorKind::Read(e)))?;
                (CaptureFormat::Pcap, Container::Pcap(pcap.map_err(not_capture)?))
            }
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                let ng = PcapNgFile::open(&mut src).map_err(|e| fatal(CaptureErrorKind::Read(e)))?;
                (CaptureFormat::PcapNg, Container::PcapNg(ng.map_err(not_capture)?))
            }
            [0x00, 0x0a, hi, lo] if u16::from_be_bytes([hi, lo]) >= 16 => {
                (CaptureFormat::Ipfix, Container::Ipfix(IpfixFile::default()))
            }
            _ => {
                return Err(not_capture(format!(
                    "expected a pcap, pcapng or IPFIX (RFC 5655) file, but it starts with {:02x}{:02x}{:02x}{:02x}",
                    magic[0], magic[1], magic[2], magic[3]
                )));
            }
        };
        Ok(CaptureReader {
            file,
            src,
            format,
            container,
            classifier: Classifier::new(&options.ports, options.sniff),
            defrag: Defragmenter::new(DefragLimits {
                max_datagrams: limits.max_reassemblies,
                max_bytes: limits.max_reassembly_bytes,
                timeout_secs: limits.reassembly_timeout_secs,
            }),
            tcp: TcpReassembler::new(TcpLimits {
                max_streams: limits.max_tcp_streams,
                max_pending_bytes: limits.max_tcp_pending_bytes,
                max_pending_segments: limits.max_tcp_pending_segments,
                gap_timeout_secs: limits.tcp_gap_timeout_secs,
            }),
            stats: CaptureStats::default(),
            total,
            frame: 0,
            errors: VecDeque::new(),
            issues: Vec::new(),
            held: None,
            draining: None,
            closing: Vec::new(),
            reported_links: Vec::new(),
            ended: false,
        })
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// The name errors use for this capture.
    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn stats(&self) -> &CaptureStats {
        &self.stats
    }

    /// Bytes of the file consumed so far, for a progress bar.
    pub fn bytes_consumed(&self) -> u64 {
        self.src.offset()
    }

    /// Size of the file, when known.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }

    /// The next message, or a problem found on the way to it; `None` at the end. After a
    /// fatal error ([`CaptureError::is_fatal`]) it returns `None`.
    ///
    /// It lends the message's bytes, so it cannot be an `Iterator`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<CapturedMessage<'_>, CaptureError>> {
        let emit = loop {
            if let Some(e) = self.errors.pop_front() {
                return Some(Err(e));
            }
            if let Some(emit) = self.held.take() {
                break emit;
            }
            if !self.step() {
                return None;
            }
        };
        let payload = match emit.bytes {
            Bytes::Buffer { start, len } => &self.src.buffer()[start..start + len],
            Bytes::Reassembled { start, len } => &self.defrag.output()[start..start + len],
            Bytes::Stream { idx, start, end } => &self.tcp.bytes(idx)[start..end],
        };
        Some(Ok(CapturedMessage {
            frame: emit.frame,
            time: emit.time,
            transport: emit.transport,
            exporter: emit.exporter,
            collector: emit.collector,
            payload,
        }))
    }

    /// Does one unit of work: drains a TCP stream by one message, or reads one record. Leaves
    /// a message in `held` and/or problems in `errors`; false when there is nothing left.
    fn step(&mut self) -> bool {
        if let Some(d) = self.draining {
            match self.tcp.next_message(d.idx, &mut self.stats, &mut self.issues) {
                Some(range) => {
                    let (id, _, _) = self.tcp.stream(d.idx);
                    self.held = Some(Emit {
                        bytes: Bytes::Stream { idx: d.idx, start: range.start, end: range.end },
                        frame: d.frame,
                        time: d.time,
                        transport: Transport::Tcp,
                        exporter: Some(id.src),
                        collector: Some(id.dst),
                    });
                }
                None => self.draining = None,
            }
            self.report(Some(d.frame), d.offset);
            return true;
        }
        if let Some(idx) = self.closing.pop() {
            let (_, frame, time) = self.tcp.stream(idx);
            self.draining = Some(Draining { idx, frame, offset: None, time });
            return true;
        }
        if self.ended {
            return false;
        }
        let step = match &mut self.container {
            Container::Pcap(c) => c.next(&mut self.src),
            Container::PcapNg(c) => c.next(&mut self.src),
            Container::Ipfix(c) => c.next(&mut self.src),
        };
        match step {
            Err(e) => {
                self.ended = true;
                self.error(None, Some(self.src.offset()), CaptureErrorKind::Read(e));
            }
            Ok(Step::End) => {
                self.ended = true;
                self.defrag.finish(&mut self.stats, &mut self.issues);
                self.closing = self.tcp.close_all(&mut self.stats, &mut self.issues);
                self.closing.reverse();
                self.report(None, None);
            }
            Ok(Step::Problem { offset, kind }) => {
                match *kind {
                    CaptureErrorKind::Truncated { .. } => self.stats.truncated = 1,
                    _ => self.stats.corrupt_records += 1,
                }
                self.errors.push_back(CaptureError {
                    file: self.file.clone(),
                    frame: Some(self.frame + 1),
                    offset: Some(offset),
                    kind,
                });
            }
            Ok(Step::Frame(frame)) => {
                self.frame += 1;
                let offset = frame.offset;
                self.frame_in(frame);
                self.report(Some(self.frame), Some(offset));
            }
        }
        true
    }

    /// Dissects one frame and hands it to UDP, TCP or IP reassembly.
    fn frame_in(&mut self, f: Frame) {
        let CaptureReader {
            src, classifier, defrag, tcp, stats, issues, held, draining, reported_links, frame, ..
        } = self;
        let n = *frame;
        stats.frames += 1;
        stats.bytes += f.len as u64;
        let data = &src.buffer()[f.start..f.start + f.len];
        let base = |part: &[u8]| f.start + (part.as_ptr() as usize - data.as_ptr() as usize);
        if f.link == Link::IpfixMessage {
            stats.file_messages += 1;
            *held = Some(Emit {
                bytes: Bytes::Buffer { start: f.start, len: f.len },
                frame: n,
                time: f.time,
                transport: Transport::File,
                exporter: None,
                collector: None,
            });
            return;
        }
        let Some(packet) = link::dissect(f.link, data) else {
            stats.non_ip_frames += 1;
            if let Link::Unsupported(lt) = f.link
                && !reported_links.contains(&lt)
            {
                reported_links.push(lt);
                issues.push(CaptureErrorKind::UnsupportedLinkType(lt));
            }
            return;
        };
        let ip = (packet.src, packet.dst);
        let tcp_in = |tcp: &mut TcpReassembler,
                      stats: &mut CaptureStats,
                      issues: &mut Vec<CaptureErrorKind>,
                      t: &link::Tcp<'_>|
         -> Option<Draining> {
            let id = StreamId { src: SocketAddr::new(ip.0, t.sport), dst: SocketAddr::new(ip.1, t.dport) };
            let track = classifier.tcp(t.sport, t.dport, t.payload);
            let idx = tcp.segment(id, t, track, f.time, n, stats, issues)?;
            Some(Draining { idx, frame: n, offset: Some(f.offset), time: f.time })
        };
        let udp_emit = |u: &link::Udp<'_>, bytes: Bytes| Emit {
            bytes,
            frame: n,
            time: f.time,
            transport: Transport::Udp,
            exporter: Some(SocketAddr::new(ip.0, u.sport)),
            collector: Some(SocketAddr::new(ip.1, u.dport)),
        };
        match packet.l4 {
            L4::Udp(u) => {
                if classifier.udp(u.sport, u.dport, u.payload) {
                    stats.udp_messages += 1;
                    let bytes = Bytes::Buffer { start: base(u.payload), len: u.payload.len() };
                    *held = Some(udp_emit(&u, bytes));
                } else {
                    stats.non_ipfix_packets += 1;
                }
            }
            L4::Tcp(t) => match tcp_in(tcp, stats, issues, &t) {
                Some(d) => *draining = Some(d),
                None => stats.non_ipfix_packets += 1,
            },
            L4::Fragment(frag) => {
                if !defrag.add(ip.0, ip.1, &frag, f.time.secs, stats, issues) {
                    return;
                }
                let out = defrag.output();
                match link::transport(frag.v6, frag.proto, out) {
                    L4::Udp(u) if classifier.udp(u.sport, u.dport, u.payload) => {
                        stats.udp_messages += 1;
                        let bytes = Bytes::Reassembled {
                            start: u.payload.as_ptr() as usize - out.as_ptr() as usize,
                            len: u.payload.len(),
                        };
                        *held = Some(udp_emit(&u, bytes));
                    }
                    L4::Tcp(t) => match tcp_in(tcp, stats, issues, &t) {
                        Some(d) => *draining = Some(d),
                        None => stats.non_ipfix_packets += 1,
                    },
                    _ => stats.non_ipfix_packets += 1,
                }
            }
            L4::Other => stats.non_ipfix_packets += 1,
        }
    }

    /// Moves what the reassemblers reported into the error queue, with a location.
    fn report(&mut self, frame: Option<u64>, offset: Option<u64>) {
        if self.issues.is_empty() {
            return;
        }
        for kind in self.issues.drain(..) {
            self.errors.push_back(CaptureError { file: self.file.clone(), frame, offset, kind: Box::new(kind) });
        }
    }

    fn error(&mut self, frame: Option<u64>, offset: Option<u64>, kind: CaptureErrorKind) {
        self.errors.push_back(CaptureError { file: self.file.clone(), frame, offset, kind: Box::new(kind) });
    }
}
