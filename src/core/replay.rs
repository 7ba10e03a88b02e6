//! Replay: every IPFIX and NetFlow v9 message of pcap, pcapng and RFC 5655 files, sent again to a
//! collector over UDP, TCP or TLS, in capture order, paced or as fast as the machine goes. It
//! feeds a collector under test with what real exporters once sent, and it is the sender of the
//! ingest benchmarks.
//!
//! - **Sessions.** Each transport session of the captures (exporter and collector address and
//!   port, transport; an RFC 5655 file is a session of its own; a session spans rotated pcap
//!   files, as in `decode`) gets a local UDP socket or a TCP/TLS connection of its own, opened
//!   when its first message goes, so the collector scopes templates exactly as it did for the
//!   original exporters. At most `max_sessions` are open at once: opening one more closes the
//!   least recently used (counted); a later message of that session opens a new socket, which a
//!   collector sees as a new session.
//! - **Streams.** TCP and TLS are framed by the IPFIX header's Length, so only messages with a
//!   valid one can go there: NetFlow v9 (no length field), headers that are not IPFIX and Lengths
//!   beyond the message are counted and skipped. A message with bytes after its Length is sent up
//!   to the Length, which is all a UDP collector decodes of it too.
//! - **Records.** Each message is decoded once as it is read, in the capture's own session and
//!   template scoping, to learn how many data records it carries: they pace `rate` and advance
//!   rewritten sequence numbers. Records that waited for their template count with the message
//!   that carried them.
//! - **Memory.** To loop, the messages are read once into memory (payloads back to back in one
//!   buffer, plus [`ENTRY_BYTES`] each) up to `max_memory`; inputs larger than that are read
//!   again from the files on every pass, in chunks of that size. One pass streams the files in
//!   4 MiB chunks.
//! - **Sending.** Messages go in windows of up to [`WINDOW`] that are due: within a window each
//!   session's messages leave in one `sendmmsg` (UDP) or one buffered write and flush (TCP/TLS),
//!   sessions in the order they first appear. Order within a session is exact; a message may
//!   overtake one of another session only within its window. Nothing is allocated per message.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustls_pki_types::ServerName;
use serde::Serialize;
use tracing::{info, warn};

use crate::core::capture::{CaptureError, CaptureOptions, CaptureReader};
use crate::core::ipfix::decoder::{Decoder, DecoderConfig, Origin, RecordRef, SessionKey, Transport, Visitor};
use crate::core::ipfix::message::{IPFIX_HEADER_LEN, IPFIX_VERSION, NETFLOW_V9_HEADER_LEN, NETFLOW_V9_VERSION};
use crate::core::output::OutputFormat;
use crate::core::output::plural::counted;
use crate::core::output::summary::write_serialized;
use crate::core::problems::{Policy, ProblemLog};
use crate::core::transport::{Endpoint, StreamSender, TransportError, UdpSender};

/// Messages sent together: one `sendmmsg` (or one flushed write) per session in a window.
pub const WINDOW: usize = 64;
/// Bytes of messages read ahead when the files are streamed.
const STREAM_CHUNK: usize = 4 << 20;
/// What one message costs in memory besides its bytes.
pub const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();
/// The largest UDP payloads (65535 minus the UDP header, and over IPv4 its 20-byte header too).
const MAX_UDP4_PAYLOAD: usize = 65_507;
const MAX_UDP6_PAYLOAD: usize = 65_527;
/// How long a TCP connection or TLS handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long closing a connection waits for the collector to close its side.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest sleep while pacing, so a stop request is seen quickly.
const MAX_NAP: Duration = Duration::from_millis(50);
/// Tokens the rate limiter saves up while idle, in seconds of rate: enough to ride out a late
/// wake-up without falling behind, too little to burst noticeably.
const BURST_SECS: f64 = 0.01;
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Where the sequence number sits in the header: IPFIX bytes 8–11, NetFlow v9 bytes 12–15.
const IPFIX_SEQUENCE_AT: u8 = 8;
const V9_SEQUENCE_AT: u8 = 12;
/// An entry whose sequence number is not rewritten (a header that is neither IPFIX nor v9).
const NO_SEQUENCE: u32 = u32::MAX;

/// A TLS client configuration and the name the collector's certificate must carry.
#[derive(Clone, Debug)]
pub struct StreamTls {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: ServerName<'static>,
}

/// What to replay, where to, and how fast.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// Capture files, read in order (one input, as in `decode`).
    pub files: Vec<PathBuf>,
    pub capture: CaptureOptions,
    pub to: Endpoint,
    /// For `tls://` collectors.
    pub tls: Option<StreamTls>,
    /// Local address to send from (an ephemeral port on it per session); the unspecified address
    /// of the collector's family when `None`.
    pub source_ip: Option<IpAddr>,
    /// Data records per second, over all sessions.
    pub rate: Option<f64>,
    /// Times the capture's own pace.
    pub speed: Option<f64>,
    /// Passes over the input; 0 repeats until stopped.
    pub loops: u64,
    /// Rewrite sequence numbers per session and observation domain so they keep counting across
    /// passes (IPFIX: data records before the message; NetFlow v9: packets).
    pub rewrite_sequence: bool,
    /// Sockets or connections open at once.
    pub max_sessions: usize,
    /// Bytes the input may take in memory when looping (payloads plus [`ENTRY_BYTES`] each).
    pub max_memory: usize,
    /// Draw a progress line on stderr when it is a terminal.
    pub progress: bool,
}

impl ReplayOptions {
    pub fn new(files: Vec<PathBuf>, to: Endpoint) -> Self {
        ReplayOptions {
            files,
            capture: CaptureOptions::default(),
            to,
            tls: None,
            source_ip: None,
            rate: None,
            speed: None,
            loops: 1,
            rewrite_sequence: false,
            max_sessions: 512,
            max_memory: 1 << 30,
            progress: false,
        }
    }
}

/// What stops a replay before it starts or in its course; problems with single messages are
/// counted in the report instead.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A capture cannot be opened or read (the message names the file).
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("cannot open a UDP socket on {local} to send to {to}: {io}")]
    UdpSocket { local: SocketAddr, to: Endpoint, io: io::Error },
    /// Connecting to (or the TLS handshake with) the collector failed; names its address.
    #[error(transparent)]
    Connect(#[from] TransportError),
    #[error("the source address {ip} and the collector {to} are not of the same IP family")]
    SourceFamily { ip: IpAddr, to: Endpoint },
    #[error("cannot start the runtime that drives TCP and TLS connections: {0}")]
    Runtime(io::Error),
}

/// Why a message was not sent; counted per message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Cause {
    /// Longer than one UDP datagram can carry.
    TooLargeForUdp,
    /// NetFlow v9 has no length field, so it cannot be framed on a stream.
    NetflowV9OverStream,
    /// A header that is not IPFIX (version 10, Length of at least 16) cannot be framed on a stream.
    NotIpfixOverStream,
    /// The header's Length is longer than the message: on a stream it would take in the next one.
    LengthBeyondMessage,
    /// The kernel refused a datagram (e.g. "connection refused" after an ICMP port unreachable).
    UdpSend,
    /// A TCP/TLS write failed: the collector closed or reset the connection.
    ConnectionLost,
    /// The collector turned a TCP/TLS connection down after accepting it (a TLS alert such as
    /// a refused client certificate, a close at its session bound, a reset): every message
    /// written on it counts as not delivered, since TCP cannot tell which of them were read.
    Rejected,
    /// Ctrl-C or SIGTERM came while a TCP/TLS write waited on the collector: what of those
    /// messages it read is unknown, so none of them counts as delivered.
    Interrupted,
}

impl Cause {
    fn name(self) -> &'static str {
        match self {
            Cause::TooLargeForUdp => "too-large-for-udp",
            Cause::NetflowV9OverStream => "netflow-v9-over-tcp",
            Cause::NotIpfixOverStream => "not-ipfix-over-tcp",
            Cause::LengthBeyondMessage => "length-beyond-message",
            Cause::UdpSend => "udp-send",
            Cause::ConnectionLost => "connection-lost",
            Cause::Rejected => "rejected-by-collector",
            Cause::Interrupted => "interrupted-while-sending",
        }
    }
}

/// One message in memory.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Where its bytes are in the chunk's buffer (none when it is skipped).
    start: usize,
    len: u32,
    session: u32,
    /// Data and options records, as decoded when it was read.
    records: u32,
    /// Its (session, version, domain) sequence counter, or [`NO_SEQUENCE`].
    sequence: u32,
    /// Where its sequence number is in the header.
    sequence_at: u8,
    /// Why it cannot be sent to this collector.
    skip: Option<Cause>,
    /// Sent only up to its header's Length (bytes after it were dropped).
    trimmed: bool,
    /// Capture time, microseconds since the epoch.
    time_us: i64,
    /// The file it was read from (an index into the files), for the progress line.
    file: u32,
}

/// Messages read from the files: payloads back to back, and their entries.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl Chunk {
    fn footprint(&self) -> usize {
        self.bytes.len() + self.entries.len() * ENTRY_BYTES
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }
}

/// A socket or connection to the collector.
enum Link {
    Udp(UdpSender),
    /// Boxed: a TLS connection's state is over a kilobyte, and sessions are many.
    Stream(Box<StreamSender>),
}

/// What was sent for one session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub messages: u64,
    pub records: u64,
    pub bytes: u64,
}

impl Counts {
    fn add(&mut self, bytes: usize, records: u32) {
        self.messages += 1;
        self.records += u64::from(records);
        self.bytes += bytes as u64;
    }

    /// Takes back what was counted in `part`, which is part of it.
    fn take_back(&mut self, part: Counts) {
        self.messages -= part.messages;
        self.records -= part.records;
        self.bytes -= part.bytes;
    }
}

/// One transport session of the captures and its socket or connection.
struct Session {
    key: SessionKey,
    link: Option<Link>,
    /// The local address of its latest socket or connection.
    local: Option<SocketAddr>,
    /// Sockets or connections opened for it.
    connections: u32,
    last_used: u64,
    sent: Counts,
    /// What was written on its current connection, taken back if the collector rejects it.
    on_link: Counts,
}

/// The sessions of the input, and the sequence counters of their observation domains.
#[derive(Default)]
struct Sessions {
    index: HashMap<SessionKey, u32>,
    list: Vec<Session>,
    domains: HashMap<(u32, u16, u32), u32>,
    /// The next sequence number per (session, version, domain); starts at the first one read.
    sequences: Vec<u32>,
}

impl Sessions {
    fn session(&mut self, key: SessionKey) -> u32 {
        let list = &mut self.list;
        *self.index.entry(key).or_insert_with(|| {
            list.push(Session {
                key,
                link: None,
                local: None,
                connections: 0,
                last_used: 0,
                sent: Counts::default(),
                on_link: Counts::default(),
            });
            (list.len() - 1) as u32
        })
    }

    /// The sequence counter of the message's domain and where its number is, when the header is
    /// IPFIX or NetFlow v9.
    fn sequence(&mut self, session: u32, payload: &[u8]) -> (u32, u8) {
        let be32 = |at: usize| u32::from_be_bytes([payload[at], payload[at + 1], payload[at + 2], payload[at + 3]]);
        let (version, at, domain) = match version_of(payload) {
            Some(IPFIX_VERSION) if payload.len() >= IPFIX_HEADER_LEN => (IPFIX_VERSION, IPFIX_SEQUENCE_AT, be32(12)),
            Some(NETFLOW_V9_VERSION) if payload.len() >= NETFLOW_V9_HEADER_LEN => {
                (NETFLOW_V9_VERSION, V9_SEQUENCE_AT, be32(16))
            }
            _ => return (NO_SEQUENCE, 0),
        };
        let first = be32(usize::from(at));
        let sequences = &mut self.sequences;
        let slot = *self.domains.entry((session, version, domain)).or_insert_with(|| {
            sequences.push(first);
            (sequences.len() - 1) as u32
        });
        (slot, at)
    }
}

fn version_of(payload: &[u8]) -> Option<u16> {
    payload.get(..2).map(|v| u16::from_be_bytes([v[0], v[1]]))
}

/// How much of a message can go to `to`, or why none of it can.
fn fit(payload: &[u8], to: &Endpoint) -> Result<usize, Cause> {
    match to {
        Endpoint::Udp(addr) => {
            let max = if addr.is_ipv4() { MAX_UDP4_PAYLOAD } else { MAX_UDP6_PAYLOAD };
            if payload.len() > max { Err(Cause::TooLargeForUdp) } else { Ok(payload.len()) }
        }
        Endpoint::Tcp(_) | Endpoint::Tls(_) => {
            let version = version_of(payload);
            if version == Some(NETFLOW_V9_VERSION) {
                return Err(Cause::NetflowV9OverStream);
            }
            let length = payload.get(2..4).map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
            if version != Some(IPFIX_VERSION) || payload.len() < IPFIX_HEADER_LEN || length < IPFIX_HEADER_LEN {
                return Err(Cause::NotIpfixOverStream);
            }
            if length > payload.len() {
                return Err(Cause::LengthBeyondMessage);
            }
            Ok(length)
        }
    }
}

/// Counts each record into the message that carried it; records released late into a message
/// no longer in memory count with the message that released them.
struct RecordCounter<'a> {
    entries: &'a mut [Entry],
    /// The message number of `entries[0]`.
    base: u64,
}

impl Visitor for RecordCounter<'_> {
    #[inline]
    fn record(&mut self, r: &RecordRef<'_>) {
        let last = self.entries.len() - 1;
        let i = r.meta.origin.frame.checked_sub(self.base).map_or(last, |i| (i as usize).min(last));
        self.entries[i].records += 1;
    }
}

/// Reads the files' messages into chunks, one pass after another.
struct Reader<'a> {
    opts: &'a ReplayOptions,
    next_file: usize,
    current: Option<(u32, CaptureReader)>,
    /// Decodes every message once, to count its records.
    counter: Decoder,
    /// Messages read in this pass; the counting decoder knows a message by its number.
    read: u64,
    /// Passes begun; damage in the files is counted and logged in the first only.
    pass: u64,
    log: ProblemLog,
    /// Damage found in the captures.
    damage: u64,
}

impl<'a> Reader<'a> {
    fn new(opts: &'a ReplayOptions) -> Self {
        Reader {
            opts,
            next_file: 0,
            current: None,
            counter: Decoder::new(Self::counting()),
            read: 0,
            pass: 0,
            log: ProblemLog::new(Policy::First(10)),
            damage: 0,
        }
    }

    /// Counting follows the content: templates do not expire with capture time, and no session
    /// is refused.
    fn counting() -> DecoderConfig {
        DecoderConfig { template_lifetime_secs: None, max_sessions: usize::MAX, ..DecoderConfig::default() }
    }

    /// Starts the next pass from the first file.
    fn rewind(&mut self) {
        self.next_file = 0;
        self.current = None;
        self.counter = Decoder::new(Self::counting());
        self.read = 0;
        self.pass += 1;
    }

    /// Appends messages to the (empty) chunk until it holds `limit` bytes (and at least one
    /// message) or the input ends; true when the input ended.
    fn fill(&mut self, chunk: &mut Chunk, limit: usize, sessions: &mut Sessions) -> Result<bool, ReplayError> {
        let base = self.read;
        loop {
            if chunk.footprint() >= limit && !chunk.entries.is_empty() {
                return Ok(false);
            }
            let Some((file, capture)) = &mut self.current else {
                let Some(path) = self.opts.files.get(self.next_file) else {
                    return Ok(true);
                };
                self.current = Some((self.next_file as u32, CaptureReader::open(path, &self.opts.capture)?));
                self.next_file += 1;
                continue;
            };
            let file = *file;
            let message = match capture.next() {
                None => {
                    self.current = None;
                    continue;
                }
                Some(Err(e)) if e.is_fatal() => return Err(e.into()),
                Some(Err(e)) => {
                    if self.pass == 0 {
                        self.damage += 1;
                        self.log.report(e.kind.cause(), true, || e.to_string());
                    }
                    continue;
                }
                Some(Ok(m)) => m,
            };
            // A network session spans files (a rotated capture); an RFC 5655 file is its own.
            let source = if message.transport == Transport::File { file + 1 } else { 0 };
            let key = SessionKey {
                source,
                transport: message.transport,
                exporter: message.exporter,
                collector: message.collector,
            };
            let session = sessions.session(key);
            let time_us =
                message.time.secs.saturating_mul(1_000_000).saturating_add(i64::from(message.time.nanos / 1000));
            let mut entry = Entry {
                start: chunk.bytes.len(),
                len: 0,
                session,
                records: 0,
                sequence: NO_SEQUENCE,
                sequence_at: 0,
                skip: None,
                trimmed: false,
                time_us,
                file,
            };
            match fit(message.payload, &self.opts.to) {
                Ok(len) => {
                    entry.trimmed = len < message.payload.len();
                    (entry.sequence, entry.sequence_at) = sessions.sequence(session, message.payload);
                    entry.len = len as u32;
                    chunk.bytes.extend_from_slice(&message.payload[..len]);
                }
                Err(cause) => entry.skip = Some(cause),
            }
            chunk.entries.push(entry);
            let origin = Origin { frame: self.read, time: message.time, exporter: None, collector: None };
            let mut count = RecordCounter { entries: &mut chunk.entries, base };
            self.counter.decode(&key, origin, message.payload, &mut count);
            self.read += 1;
        }
    }
}

/// Paces messages by data records per second and by the capture's own timing.
struct Pacer {
    rate: Option<f64>,
    burst: f64,
    tokens: f64,
    refilled: Option<Instant>,
    speed: Option<f64>,
    /// When the pass's first message went, and its capture time.
    origin: Option<(Instant, i64)>,
}

impl Pacer {
    fn new(rate: Option<f64>, speed: Option<f64>) -> Self {
        let burst = rate.map_or(0.0, |r| (r * BURST_SECS).max(1.0));
        Pacer { rate, burst, tokens: 0.0, refilled: None, speed, origin: None }
    }

    fn new_pass(&mut self) {
        self.origin = None;
    }

    /// How long until `e` may go; zero when it may go now.
    fn delay(&mut self, e: &Entry, now: Instant) -> Duration {
        if e.skip.is_some() {
            return Duration::ZERO;
        }
        let mut wait = Duration::ZERO;
        if let Some(speed) = self.speed {
            let (start, t0) = *self.origin.get_or_insert((now, e.time_us));
            // A message stamped before the first one of the pass is due at once.
            let offset = Duration::from_micros((e.time_us.saturating_sub(t0).max(0) as f64 / speed) as u64);
            wait = match start.checked_add(offset) {
                Some(due) => due.saturating_duration_since(now),
                None => Duration::MAX,
            };
        }
        if let Some(rate) = self.rate {
            self.tokens = match self.refilled {
                Some(t) => (self.tokens + now.saturating_duration_since(t).as_secs_f64() * rate).min(self.burst),
                None => 0.0,
            };
            self.refilled = Some(now);
            // A message goes while the bucket is not in debt, and may put it in debt: a message
            // larger than the burst still goes, and the rate holds over time.
            if self.tokens < 0.0 {
                wait = wait.max(Duration::from_secs_f64(-self.tokens / rate));
            }
        }
        wait
    }

    fn take(&mut self, e: &Entry) {
        if self.rate.is_some() && e.skip.is_none() {
            self.tokens -= f64::from(e.records);
        }
    }
}

/// Whether sending goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sending {
    Go,
    Stopped,
}

/// How sending over one link went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sent {
    Go,
    Stopped,
    /// The connection broke; it is dropped and the session's next message opens a new one.
    Lost,
}

/// The sockets and connections to the collector.
struct Output<'a> {
    to: Endpoint,
    /// The address UDP sockets bind to; TCP binds only when a source address was given.
    local_ip: IpAddr,
    bind_tcp: Option<IpAddr>,
    tls: Option<&'a StreamTls>,
    /// Drives TCP and TLS connections (a single-threaded runtime, idle for UDP).
    runtime: tokio::runtime::Runtime,
    /// Sessions with an open socket or connection.
    open: Vec<u32>,
    max_open: usize,
    clock: u64,
    stop: &'a AtomicBool,
}

impl<'a> Output<'a> {
    fn new(opts: &'a ReplayOptions, stop: &'a AtomicBool) -> Result<Self, ReplayError> {
        let to = opts.to;
        let local_ip = match opts.source_ip {
            Some(ip) if ip.is_ipv4() != to.addr().is_ipv4() => return Err(ReplayError::SourceFamily { ip, to }),
            Some(ip) => ip,
            None if to.addr().is_ipv4() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ReplayError::Runtime)?;
        Ok(Output {
            to,
            local_ip,
            bind_tcp: opts.source_ip,
            tls: opts.tls.as_ref(),
            runtime,
            open: Vec::new(),
            max_open: opts.max_sessions.max(1),
            clock: 0,
            stop,
        })
    }

    /// Takes session `s`'s socket or connection out of it to send with, opening it first when
    /// it has none (closing the least recently used one at the bound). `None` when a stop was
    /// asked for while connecting. The caller puts it back unless it broke.
    fn take_link(
        &mut self,
        sessions: &mut [Session],
        s: usize,
        tally: &mut Tally,
        log: &mut ProblemLog,
    ) -> Result<Option<Link>, ReplayError> {
        self.clock += 1;
        sessions[s].last_used = self.clock;
        if let Some(link) = sessions[s].link.take() {
            return Ok(Some(link));
        }
        if self.open.len() >= self.max_open {
            let oldest = self.open.iter().enumerate().min_by_key(|(_, o)| sessions[**o as usize].last_used);
            if let Some((i, &victim)) = oldest {
                self.open.swap_remove(i);
                self.close_links(sessions, vec![victim as usize], tally, log);
                tally.closed_at_bound += 1;
            }
        }
        let Some(link) = self.connect()? else {
            return Ok(None);
        };
        let session = &mut sessions[s];
        session.local = Some(match &link {
            Link::Udp(u) => u.local_addr(),
            Link::Stream(st) => st.local_addr(),
        });
        session.connections += 1;
        session.on_link = Counts::default();
        self.open.push(s as u32);
        Ok(Some(link))
    }

    fn connect(&self) -> Result<Option<Link>, ReplayError> {
        if let Endpoint::Udp(to) = self.to {
            let local = SocketAddr::new(self.local_ip, 0);
            let sender =
                UdpSender::bind(local, to, 0).map_err(|io| ReplayError::UdpSocket { local, to: self.to, io })?;
            return Ok(Some(Link::Udp(sender)));
        }
        let tls = self.tls.map(|t| (t.config.clone(), t.server_name.clone()));
        let connect = StreamSender::connect_from(&self.to, self.bind_tcp, tls);
        let outcome = self.runtime.block_on(async {
            tokio::select! {
                r = tokio::time::timeout(CONNECT_TIMEOUT, connect) => Some(r),
                _ = stopped(self.stop) => None,
            }
        });
        match outcome {
            None => Ok(None),
            Some(Ok(Ok(sender))) => Ok(Some(Link::Stream(Box::new(sender)))),
            Some(Ok(Err(e))) => Err(e.into()),
            Some(Err(_)) => Err(ReplayError::Connect(TransportError::Connect {
                endpoint: self.to,
                io: io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no connection within {}s", CONNECT_TIMEOUT.as_secs()),
                ),
            })),
        }
    }

    /// Sends one session's messages of a window over its link, counting what went and what did
    /// not.
    fn send(
        &self,
        link: &mut Link,
        session: &mut Session,
        msgs: &[&[u8]],
        records: &[u32],
        tally: &mut Tally,
        log: &mut ProblemLog,
    ) -> Sent {
        let to = self.to;
        match link {
            Link::Udp(sender) => {
                let mut k = 0;
                while k < msgs.len() {
                    match sender.send_batch(&msgs[k..]) {
                        Ok(0) => {
                            tally.error(Cause::UdpSend, 1);
                            k += 1;
                        }
                        Ok(n) => {
                            for i in k..k + n {
                                session.sent.add(msgs[i].len(), records[i]);
                                tally.sent.add(msgs[i].len(), records[i]);
                            }
                            k += n;
                        }
                        // The error belongs to this datagram (or is one an earlier datagram left
                        // behind, reported once): skip one and go on with the rest.
                        Err(e) => {
                            tally.error(Cause::UdpSend, 1);
                            log.report(Cause::UdpSend.name(), true, || format!("sending to {to}: {e}"));
                            k += 1;
                        }
                    }
                }
                Sent::Go
            }
            Link::Stream(sender) => {
                let outcome = self.runtime.block_on(async {
                    tokio::select! {
                        r = write_all(sender, msgs) => Some(r),
                        _ = stopped(self.stop) => None,
                    }
                });
                match outcome {
                    None => {
                        tally.error(Cause::Interrupted, msgs.len() as u64);
                        log.report(Cause::Interrupted.name(), true, || {
                            format!("stopped while sending to {to}: {} messages count as not delivered", msgs.len())
                        });
                        Sent::Stopped
                    }
                    Some(Ok(())) => {
                        for (m, &r) in msgs.iter().zip(records) {
                            session.sent.add(m.len(), r);
                            session.on_link.add(m.len(), r);
                            tally.sent.add(m.len(), r);
                        }
                        match self.runtime.block_on(sender.check()) {
                            Ok(()) => Sent::Go,
                            Err(e) => {
                                reject(session, &e, to, tally, log);
                                Sent::Lost
                            }
                        }
                    }
                    // What of the write reached the collector is unknown: the whole group counts
                    // as lost, and the session's next message opens a new connection.
                    Some(Err(e)) => {
                        tally.error(Cause::ConnectionLost, msgs.len() as u64);
                        let local = session.local.map(|l| l.to_string()).unwrap_or_default();
                        log.report(Cause::ConnectionLost.name(), true, || {
                            format!("sending to {to} from {local}: {e}; {} messages lost", msgs.len())
                        });
                        Sent::Lost
                    }
                }
            }
        }
    }

    fn close_all(&mut self, sessions: &mut [Session], tally: &mut Tally, log: &mut ProblemLog) {
        let open = std::mem::take(&mut self.open).into_iter().map(|s| s as usize).collect();
        self.close_links(sessions, open, tally, log);
    }

    /// Closes sessions' connections (TCP/TLS: flush, close_notify, FIN, and the collector's
    /// close awaited) all at once, so their waits for the collector overlap; a connection the
    /// collector turned down takes back what was counted as sent on it.
    fn close_links(&self, sessions: &mut [Session], which: Vec<usize>, tally: &mut Tally, log: &mut ProblemLog) {
        let closing = which.into_iter().filter_map(|s| match sessions[s].link.take() {
            Some(Link::Stream(sender)) => Some(async move {
                // The flush before the close may wait on a collector that stopped reading.
                let result = match tokio::time::timeout(2 * CLOSE_TIMEOUT, sender.close(CLOSE_TIMEOUT)).await {
                    Ok(r) => r,
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "closing took too long: the collector stopped reading",
                    )),
                };
                (s, result)
            }),
            _ => None,
        });
        let results = self.runtime.block_on(futures::future::join_all(closing));
        for (s, result) in results {
            if let Err(e) = result {
                reject(&mut sessions[s], &e, self.to, tally, log);
            }
        }
    }
}

/// Counts what was written on a session's connection as not delivered: the collector rejected
/// the connection, and TCP cannot tell which of the messages it read.
fn reject(session: &mut Session, e: &io::Error, to: Endpoint, tally: &mut Tally, log: &mut ProblemLog) {
    let lost = std::mem::take(&mut session.on_link);
    session.sent.take_back(lost);
    tally.sent.take_back(lost);
    tally.error(Cause::Rejected, lost.messages);
    let local = session.local.map(|l| l.to_string()).unwrap_or_default();
    log.report(Cause::Rejected.name(), true, || {
        format!(
            "{to} rejected the connection from {local}: {e}; its {} messages ({} records) count as not delivered",
            lost.messages, lost.records
        )
    });
}

async fn write_all(sender: &mut StreamSender, msgs: &[&[u8]]) -> io::Result<()> {
    for m in msgs {
        sender.send(m).await?;
    }
    sender.flush().await
}

/// Completes once `stop` is set.
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(MAX_NAP).await;
    }
}

/// Running totals.
#[derive(Default)]
struct Tally {
    sent: Counts,
    errors: BTreeMap<Cause, u64>,
    closed_at_bound: u64,
    trimmed: u64,
}

impl Tally {
    fn error(&mut self, cause: Cause, messages: u64) {
        *self.errors.entry(cause).or_default() += messages;
    }
}

/// A progress line on stderr for runs longer than a moment, when stderr is a terminal.
struct Progress {
    bar: indicatif::ProgressBar,
    shown: Instant,
}

impl Progress {
    fn new(wanted: bool) -> Option<Self> {
        if !wanted || !io::stderr().is_terminal() {
            return None;
        }
        let bar = indicatif::ProgressBar::new_spinner();
        Some(Progress { bar, shown: Instant::now() })
    }

    /// One line for the whole run, naming the file being read.
    fn show(&mut self, file: Option<&std::path::Path>, sent: &Counts, started: Instant) {
        if self.shown.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.shown = Instant::now();
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let reading = file.map(|f| format!("{}: ", f.display())).unwrap_or_default();
        self.bar.set_message(format!(
            "{reading}{} messages, {} records sent ({:.0} messages/s, {:.0} records/s)",
            sent.messages,
            sent.records,
            sent.messages as f64 / secs,
            sent.records as f64 / secs
        ));
        self.bar.tick();
    }
}

/// The sending side: sessions, pacing and the output, driven one chunk at a time.
struct Replayer<'a> {
    opts: &'a ReplayOptions,
    stop: &'a AtomicBool,
    sessions: Sessions,
    output: Output<'a>,
    pacer: Pacer,
    tally: Tally,
    log: ProblemLog,
    progress: Option<Progress>,
    started: Instant,
}

impl Replayer<'_> {
    /// Sends every message of the chunk, in windows.
    fn send_chunk(&mut self, chunk: &mut Chunk) -> Result<Sending, ReplayError> {
        let n = chunk.entries.len();
        let mut i = 0;
        while i < n {
            loop {
                let wait = self.pacer.delay(&chunk.entries[i], Instant::now());
                if wait.is_zero() {
                    break;
                }
                if self.stop.load(Ordering::Relaxed) {
                    return Ok(Sending::Stopped);
                }
                std::thread::sleep(wait.min(MAX_NAP));
            }
            if self.stop.load(Ordering::Relaxed) {
                return Ok(Sending::Stopped);
            }
            let now = Instant::now();
            let mut j = i;
            while j < n && j - i < WINDOW {
                let e = &chunk.entries[j];
                if j > i && !self.pacer.delay(e, now).is_zero() {
                    break;
                }
                self.pacer.take(e);
                j += 1;
            }
            if self.send_window(chunk, i, j)? == Sending::Stopped {
                return Ok(Sending::Stopped);
            }
            i = j;
            if let Some(p) = &mut self.progress {
                let file = chunk.entries.get(i.saturating_sub(1)).and_then(|e| self.opts.files.get(e.file as usize));
                p.show(file.map(|f| f.as_path()), &self.tally.sent, self.started);
            }
        }
        Ok(Sending::Go)
    }

    /// Sends entries `from..to` of the chunk: sequence numbers first, then one batch per session.
    fn send_window(&mut self, chunk: &mut Chunk, from: usize, to: usize) -> Result<Sending, ReplayError> {
        let Chunk { bytes, entries } = chunk;
        let window = &entries[from..to];
        for e in window {
            if let Some(cause) = e.skip {
                self.tally.error(cause, 1);
                continue;
            }
            self.tally.trimmed += u64::from(e.trimmed);
            if self.opts.rewrite_sequence && e.sequence != NO_SEQUENCE {
                let next = &mut self.sessions.sequences[e.sequence as usize];
                let at = e.start + usize::from(e.sequence_at);
                bytes[at..at + 4].copy_from_slice(&next.to_be_bytes());
                let step = if e.sequence_at == V9_SEQUENCE_AT { 1 } else { e.records };
                *next = next.wrapping_add(step);
            }
        }
        let bytes = &bytes[..];
        let mut grouped = [false; WINDOW];
        let mut msgs: [&[u8]; WINDOW] = [&[]; WINDOW];
        let mut records = [0u32; WINDOW];
        for a in 0..window.len() {
            if grouped[a] || window[a].skip.is_some() {
                continue;
            }
            let session = window[a].session;
            let mut n = 0;
            for (b, e) in window.iter().enumerate().skip(a) {
                if e.session == session && e.skip.is_none() {
                    grouped[b] = true;
                    msgs[n] = &bytes[e.start..e.start + e.len as usize];
                    records[n] = e.records;
                    n += 1;
                }
            }
            let s = session as usize;
            let Some(mut link) = self.output.take_link(&mut self.sessions.list, s, &mut self.tally, &mut self.log)?
            else {
                return Ok(Sending::Stopped);
            };
            let session = &mut self.sessions.list[s];
            match self.output.send(&mut link, session, &msgs[..n], &records[..n], &mut self.tally, &mut self.log) {
                Sent::Go => session.link = Some(link),
                Sent::Lost => self.output.open.retain(|&o| o as usize != s),
                Sent::Stopped => {
                    session.link = Some(link);
                    return Ok(Sending::Stopped);
                }
            }
        }
        Ok(Sending::Go)
    }
}

/// Replays `opts.files` to `opts.to` until every pass is done or `stop` is set.
pub fn run(opts: &ReplayOptions, stop: &AtomicBool) -> Result<ReplayReport, ReplayError> {
    // Every file must open before anything is sent.
    for path in &opts.files {
        CaptureReader::open(path, &opts.capture)?;
    }
    let mut replayer = Replayer {
        opts,
        stop,
        sessions: Sessions::default(),
        output: Output::new(opts, stop)?,
        pacer: Pacer::new(opts.rate, opts.speed),
        tally: Tally::default(),
        log: ProblemLog::new(Policy::First(10)),
        progress: Progress::new(opts.progress),
        started: Instant::now(),
    };
    let mut reader = Reader::new(opts);
    let mut chunk = Chunk::default();
    let looping = opts.loops != 1;
    let limit = if looping { opts.max_memory } else { STREAM_CHUNK };
    let mut at_end = reader.fill(&mut chunk, limit, &mut replayer.sessions)?;
    let in_memory = at_end;
    if looping {
        if in_memory {
            info!(
                "{} messages ({} bytes with their index) held in memory for the passes",
                chunk.entries.len(),
                chunk.footprint()
            );
        } else {
            warn!(
                "the captures hold more than {} bytes of messages: they are read again from the files on every pass",
                limit
            );
        }
    }
    let sendable = chunk.entries.iter().any(|e| e.skip.is_none());
    if chunk.entries.is_empty() {
        warn!("no IPFIX or NetFlow v9 messages in the files");
    }
    replayer.started = Instant::now();
    let mut passes = 0u64;
    let mut interrupted = false;
    'passes: loop {
        replayer.pacer.new_pass();
        loop {
            if replayer.send_chunk(&mut chunk)? == Sending::Stopped {
                interrupted = true;
                break 'passes;
            }
            if at_end {
                break;
            }
            chunk.clear();
            at_end = reader.fill(&mut chunk, limit, &mut replayer.sessions)?;
        }
        passes += 1;
        // Another pass only makes sense when something of the first could be sent.
        if (opts.loops != 0 && passes >= opts.loops) || !sendable {
            break;
        }
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        if !in_memory {
            reader.rewind();
            chunk.clear();
            at_end = reader.fill(&mut chunk, limit, &mut replayer.sessions)?;
        }
    }
    // Rates are of messages handed to the kernel; closing waits for the collector, which is
    // not sending.
    let elapsed = replayer.started.elapsed();
    let Replayer { mut output, mut sessions, mut tally, progress, mut log, .. } = replayer;
    output.close_all(&mut sessions.list, &mut tally, &mut log);
    if let Some(p) = progress {
        p.bar.finish_and_clear();
    }
    log.summarize();
    reader.log.summarize();
    Ok(ReplayReport::new(
        opts,
        &sessions,
        &tally,
        reader.damage,
        passes,
        interrupted,
        elapsed,
        (looping && in_memory).then(|| chunk.footprint()),
    ))
}

/// What a replay did, printed at the end.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    pub to: String,
    pub messages: u64,
    pub records: u64,
    pub bytes: u64,
    pub elapsed_secs: f64,
    pub messages_per_sec: f64,
    pub records_per_sec: f64,
    /// Passes over the input completed.
    pub passes: u64,
    /// Stopped by a signal (or the caller) before the last pass ended.
    pub interrupted: bool,
    /// Bytes the input took in memory when it was read once for every pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_bytes: Option<u64>,
    /// Sockets or connections closed to stay within the session bound.
    pub sessions_closed_at_bound: u64,
    /// Messages sent only up to their header's Length (bytes after it dropped) over TCP/TLS.
    pub trimmed_messages: u64,
    /// Damaged records, packets or streams in the captures.
    pub capture_problems: u64,
    /// Messages not sent, by cause.
    pub errors: BTreeMap<&'static str, u64>,
    pub sessions: Vec<SessionRow>,
}

/// One transport session of the captures and what was sent of it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    /// The RFC 5655 file a file session is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub exporter: Option<String>,
    pub collector: Option<String>,
    /// What it is sent over (the transport of `--to`).
    pub transport: &'static str,
    /// What it was carried over in the capture.
    pub captured_transport: &'static str,
    /// The local address of its (latest) socket or connection.
    pub local: Option<String>,
    /// Sockets or connections opened for it.
    pub connections: u32,
    #[serde(flatten)]
    pub sent: Counts,
}

impl ReplayReport {
    #[allow(clippy::too_many_arguments)]
    fn new(
        opts: &ReplayOptions,
        sessions: &Sessions,
        tally: &Tally,
        capture_problems: u64,
        passes: u64,
        interrupted: bool,
        elapsed: Duration,
        held: Option<usize>,
    ) -> Self {
        let secs = elapsed.as_secs_f64();
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let mut rows: Vec<_> = sessions.list.iter().collect();
        rows.sort_by_key(|s| s.key);
        let sessions = rows
            .into_iter()
            .map(|s| SessionRow {
                file: (s.key.transport == Transport::File)
                    .then(|| opts.files.get(s.key.source as usize - 1).map(|p| p.display().to_string()))
                    .flatten(),
                exporter: s.key.exporter.map(|a| a.to_string()),
                collector: s.key.collector.map(|a| a.to_string()),
                transport: match opts.to {
                    Endpoint::Udp(_) => "UDP",
                    Endpoint::Tcp(_) => "TCP",
                    Endpoint::Tls(_) => "TLS",
                },
                captured_transport: s.key.transport.name(),
                local: s.local.map(|a| a.to_string()),
                connections: s.connections,
                sent: s.sent,
            })
            .collect();
        ReplayReport {
            to: opts.to.to_string(),
            messages: tally.sent.messages,
            records: tally.sent.records,
            bytes: tally.sent.bytes,
            elapsed_secs: secs,
            messages_per_sec: per_sec(tally.sent.messages),
            records_per_sec: per_sec(tally.sent.records),
            passes,
            interrupted,
            held_bytes: held.map(|h| h as u64),
            sessions_closed_at_bound: tally.closed_at_bound,
            trimmed_messages: tally.trimmed,
            capture_problems,
            errors: tally.errors.iter().map(|(c, n)| (c.name(), *n)).collect(),
            sessions,
        }
    }

    /// Messages written on connections the collector then broke or rejected, or whose write a
    /// stop interrupted.
    pub fn undelivered(&self) -> u64 {
        [Cause::ConnectionLost, Cause::Rejected, Cause::Interrupted]
            .iter()
            .filter_map(|c| self.errors.get(c.name()))
            .sum()
    }

    /// Writes the report: one JSON object, a YAML document, or lines and a table for people.
    pub fn write<W: Write>(&self, format: OutputFormat, out: &mut W) -> io::Result<()> {
        match format {
            OutputFormat::Json | OutputFormat::Yaml => write_serialized(self, format, out),
            OutputFormat::Table | OutputFormat::Wide => out.write_all(self.text().as_bytes()),
        }
    }

    fn text(&self) -> String {
        use comfy_table::{Table, presets};
        let mut text = format!(
            "sent {} ({}, {}) to {} in {:.3} s: {:.0} messages/s, {:.0} records/s\n",
            counted(self.messages, "message", "messages"),
            counted(self.records, "record", "records"),
            counted(self.bytes, "byte", "bytes"),
            self.to,
            self.elapsed_secs,
            self.messages_per_sec,
            self.records_per_sec
        );
        let mut t = Table::new();
        t.load_style(presets::NOTHING);
        t.set_header([
            "EXPORTER",
            "COLLECTOR",
            "CAPTURED",
            "TRANSPORT",
            "LOCAL",
            "CONNECTIONS",
            "MESSAGES",
            "RECORDS",
            "BYTES",
        ]);
        for s in &self.sessions {
            let exporter = s.exporter.clone().or_else(|| s.file.clone()).unwrap_or_else(|| "-".into());
            t.add_row([
                exporter,
                s.collector.clone().unwrap_or_else(|| "-".into()),
                s.captured_transport.to_string(),
                s.transport.to_string(),
                s.local.clone().unwrap_or_else(|| "-".into()),
                s.connections.to_string(),
                s.sent.messages.to_string(),
                s.sent.records.to_string(),
                s.sent.bytes.to_string(),
            ]);
        }
        // The style pads every cell with a space; the first one only indents the table.
        for line in t.lines() {
            text.push_str(line.strip_prefix(' ').unwrap_or(&line).trim_end());
            text.push('\n');
        }
        let mut notes = Vec::new();
        if self.interrupted {
            notes.push(format!("stopped after {}", counted(self.passes, "full pass", "full passes")));
        } else if self.passes != 1 {
            notes.push(counted(self.passes, "pass", "passes"));
        }
        if !self.errors.is_empty() {
            let causes: Vec<_> = self.errors.iter().map(|(c, n)| format!("{n} {c}")).collect();
            notes.push(format!("not sent: {}", causes.join(", ")));
        }
        let undelivered = self.undelivered();
        if undelivered > 0 {
            notes.push(format!("{} not delivered", counted(undelivered, "message", "messages")));
        }
        if self.sessions_closed_at_bound > 0 {
            let closed = counted(self.sessions_closed_at_bound, "socket or connection", "sockets or connections");
            notes.push(format!("{closed} closed at the session bound"));
        }
        if self.trimmed_messages > 0 {
            let trimmed = counted(self.trimmed_messages, "message", "messages");
            notes.push(format!("{trimmed} sent up to the header's Length"));
        }
        if self.capture_problems > 0 {
            notes.push(format!("{} in the captures", counted(self.capture_problems, "problem", "problems")));
        }
        if !notes.is_empty() {
            text.push('\n');
            text.push_str(&notes.join("; "));
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u16, length: u16, sequence: u32, domain: u32, total: usize) -> Vec<u8> {
        let mut m = vec![0u8; total];
        m[0..2].copy_from_slice(&version.to_be_bytes());
        m[2..4].copy_from_slice(&length.to_be_bytes());
        let (seq_at, domain_at) = if version == NETFLOW_V9_VERSION { (12, 16) } else { (8, 12) };
        m[seq_at..seq_at + 4].copy_from_slice(&sequence.to_be_bytes());
        m[domain_at..domain_at + 4].copy_from_slice(&domain.to_be_bytes());
        m
    }

    #[test]
    fn an_entry_takes_the_40_bytes_the_documentation_says() {
        assert_eq!(ENTRY_BYTES, 40);
    }

    #[test]
    fn what_fits_each_transport() {
        let udp4 = Endpoint::Udp("127.0.0.1:4739".parse().unwrap());
        let udp6 = Endpoint::Udp("[::1]:4739".parse().unwrap());
        let tcp = Endpoint::Tcp("127.0.0.1:4739".parse().unwrap());
        let big = header(10, 0, 0, 0, 65_520);
        assert_eq!(fit(&big, &udp4), Err(Cause::TooLargeForUdp));
        assert_eq!(fit(&big, &udp6), Ok(65_520), "IPv6 carries 20 bytes more");
        assert_eq!(fit(&header(9, 2, 0, 0, 40), &tcp), Err(Cause::NetflowV9OverStream));
        assert_eq!(fit(&header(9, 2, 0, 0, 40), &udp4), Ok(40));
        assert_eq!(fit(&header(5, 40, 0, 0, 40), &tcp), Err(Cause::NotIpfixOverStream));
        assert_eq!(fit(&header(10, 12, 0, 0, 40), &tcp), Err(Cause::NotIpfixOverStream));
        assert_eq!(fit(&[0, 10, 0], &tcp), Err(Cause::NotIpfixOverStream));
        assert_eq!(fit(&header(10, 48, 0, 0, 40), &tcp), Err(Cause::LengthBeyondMessage));
        assert_eq!(fit(&header(10, 36, 0, 0, 40), &tcp), Ok(36), "bytes after the Length stay behind");
        assert_eq!(fit(&header(10, 36, 0, 0, 40), &udp4), Ok(40), "UDP sends the datagram as it was");
    }

    #[test]
    fn sequence_counters_are_per_session_version_and_domain_from_the_first_number() {
        let mut s = Sessions::default();
        assert_eq!(s.sequence(0, &header(10, 16, 500, 1, 16)), (0, IPFIX_SEQUENCE_AT));
        assert_eq!(s.sequence(0, &header(10, 16, 900, 1, 16)), (0, IPFIX_SEQUENCE_AT), "same domain");
        assert_eq!(s.sequence(0, &header(10, 16, 7, 2, 16)), (1, IPFIX_SEQUENCE_AT));
        assert_eq!(s.sequence(1, &header(10, 16, 8, 1, 16)), (2, IPFIX_SEQUENCE_AT), "another session");
        assert_eq!(s.sequence(0, &header(9, 0, 42, 1, 20)), (3, V9_SEQUENCE_AT), "v9 source 1 is not IPFIX domain 1");
        assert_eq!(s.sequences, [500, 7, 8, 42]);
        assert_eq!(s.sequence(0, &[0, 10, 0, 16]).0, NO_SEQUENCE, "a header too short to hold one");
        assert_eq!(s.sequence(0, &header(5, 0, 0, 0, 24)).0, NO_SEQUENCE);
    }

    fn entry(records: u32, time_us: i64) -> Entry {
        Entry {
            start: 0,
            len: 0,
            session: 0,
            records,
            sequence: NO_SEQUENCE,
            sequence_at: 0,
            skip: None,
            trimmed: false,
            time_us,
            file: 0,
        }
    }

    #[test]
    fn the_rate_bucket_goes_into_debt_and_waits_it_off() {
        let mut p = Pacer::new(Some(1000.0), None);
        let t = Instant::now();
        let e = entry(25, 0);
        assert_eq!(p.delay(&e, t), Duration::ZERO, "the first message goes at once");
        p.take(&e);
        assert_eq!(p.delay(&e, t), Duration::from_millis(25), "25 records at 1000/s");
        assert_eq!(p.delay(&e, t + Duration::from_millis(25)), Duration::ZERO);
        // Idle time saves at most the burst (10 ms of rate), not a second's worth.
        assert_eq!(p.delay(&e, t + Duration::from_secs(1)), Duration::ZERO);
        assert!((p.tokens - 10.0).abs() < 1e-9, "{}", p.tokens);
        let skipped = Entry { skip: Some(Cause::TooLargeForUdp), ..e };
        p.take(&skipped);
        assert!((p.tokens - 10.0).abs() < 1e-9, "skipped messages cost nothing");
    }

    #[test]
    fn speed_scales_capture_time_from_the_first_message_of_each_pass() {
        let mut p = Pacer::new(None, Some(4.0));
        let t = Instant::now();
        assert_eq!(p.delay(&entry(1, 10_000_000), t), Duration::ZERO);
        assert_eq!(p.delay(&entry(1, 11_000_000), t), Duration::from_millis(250));
        assert_eq!(p.delay(&entry(1, 9_000_000), t), Duration::ZERO, "stamped before the first: at once");
        p.new_pass();
        let later = t + Duration::from_secs(5);
        assert_eq!(p.delay(&entry(1, 10_000_000), later), Duration::ZERO);
        assert_eq!(p.delay(&entry(1, 12_000_000), later), Duration::from_millis(500));
        assert!(p.delay(&entry(1, i64::MAX), later) > Duration::from_secs(86_400 * 365), "far ahead, not a panic");
    }

    #[test]
    fn late_records_count_with_their_message_or_the_one_that_released_them() {
        let mut entries = vec![entry(0, 0), entry(0, 0), entry(0, 0)];
        let mut counter = RecordCounter { entries: &mut entries, base: 10 };
        let meta = |frame| crate::core::ipfix::decoder::MessageMeta {
            origin: Origin { frame, time: crate::core::time::Timestamp::from_secs(0), exporter: None, collector: None },
            header: Default::default(),
        };
        let template = Arc::new(crate::core::ipfix::Template::new(256, 0, []));
        let templates = crate::core::ipfix::decoder::Templates::default();
        let record = crate::core::ipfix::DataRecord { template: &template, bytes: &[] };
        for frame in [11, 11, 3, 12] {
            let m = meta(frame);
            counter.record(&RecordRef { meta: &m, record, template: &template, templates: &templates, late: true });
        }
        assert_eq!(entries.iter().map(|e| e.records).collect::<Vec<_>>(), [0, 2, 2]);
    }
}
