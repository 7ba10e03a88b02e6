//! The two ctnetlink sockets: [`Conntrack`] asks for dumps (and creates entries), and
//! [`EventSocket`] listens to the NEW / UPDATE / DESTROY multicast groups. Both are blocking,
//! meant for a thread of their own, and receive into one buffer they own.

use std::io;
use std::time::Duration;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};
use nix::errno::Errno;
use nix::sys::socket::{setsockopt, sockopt};

use super::connection::{
    CTA_MARK, CTA_PROTOINFO, CTA_STATUS, CTA_TIMEOUT, CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_ZONE, write_tuple,
};
use super::wire::{
    IPCTNL_MSG_CT_DELETE, IPCTNL_MSG_CT_GET, IPCTNL_MSG_CT_NEW, NFNL_SUBSYS_CTNETLINK, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_OVERRUN,
    NlMsgHdr, Writer, align4,
};
use super::{Connection, ConntrackError, ParseError, Status};

/// Receive buffer asked of the kernel by default: a 500k-entry table is about 150 MB of
/// messages, and events come in bursts when many connections end at once.
pub const DEFAULT_RCVBUF: usize = 8 << 20;

/// The kernel writes at most 32 KiB of dump per datagram and events are far smaller; 128 KiB
/// leaves room should that grow, and a datagram cut short is reported, not misread.
const RECV_BUF: usize = 128 << 10;

/// Restarts of one dump before giving up: a table changing so fast that every dump is
/// interrupted, or a reader too slow for its buffer, will not get better by trying forever.
const MAX_RESTARTS: u32 = 5;

/// Messages of a create batch per `send`: each is about 120 bytes and its ack 36, so a batch and
/// its acks fit in one datagram each way.
const CREATE_BATCH: usize = 256;

const AF_UNSPEC: u8 = 0;
const NFNLGRP_CONNTRACK_NEW: u32 = 1;
const NFNLGRP_CONNTRACK_UPDATE: u32 = 2;
const NFNLGRP_CONNTRACK_DESTROY: u32 = 3;
const CTA_PROTOINFO_TCP: u16 = 1;
const CTA_PROTOINFO_TCP_STATE: u16 = 1;

/// What one [`Conntrack::dump`] saw. Counts add up over the zones dumped and over restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DumpStats {
    /// Entries the kernel sent that parsed.
    pub entries: u64,
    /// Entries handed to the visitor: those of the zones asked for.
    pub delivered: u64,
    /// Entries the kernel sent although out of the zone asked for: a kernel without the
    /// CTA_ZONE dump filter (older ones) sends the whole table.
    pub filtered_out: u64,
    /// Messages that did not parse; they are skipped.
    pub malformed: u64,
    /// The first parse error, to log.
    pub first_error: Option<ParseError>,
    /// Dumps started again because the kernel flagged them NLM_F_DUMP_INTR.
    pub interrupted_restarts: u32,
    /// Dumps started again because the socket overflowed (ENOBUFS).
    pub enobufs_restarts: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Done,
    Interrupted,
}

/// A ctnetlink socket for requests: table dumps and entry creation.
pub struct Conntrack {
    socket: Socket,
    rcvbuf: usize,
    buf: Box<[u8]>,
    req: Writer,
    seq: u32,
}

impl Conntrack {
    /// Opens a socket in the calling thread's network namespace, with a receive buffer of
    /// `rcvbuf` bytes (`SO_RCVBUFFORCE` when allowed, else `SO_RCVBUF` clamped to `rmem_max`).
    pub fn open(rcvbuf: usize) -> Result<Conntrack, ConntrackError> {
        Ok(Conntrack {
            socket: open_socket(rcvbuf)?,
            rcvbuf,
            buf: vec![0; RECV_BUF].into_boxed_slice(),
            req: Writer::default(),
            seq: 0,
        })
    }

    /// Dumps the table (IPv4 and IPv6) and calls `f` for every entry, with no allocation per
    /// entry. With `zones` empty every entry is delivered; otherwise one dump per zone asks the
    /// kernel to filter (CTA_ZONE) and entries of other zones are dropped here as well.
    ///
    /// A dump the kernel flags as interrupted, or that overflows the socket, is started again
    /// (counted in the stats): `f` then sees entries it has already seen, so a caller that
    /// keys entries by [`Connection::id`] or tuple is unaffected. A zone given twice is dumped
    /// twice.
    pub fn dump(&mut self, zones: &[u16], mut f: impl FnMut(&Connection)) -> Result<DumpStats, ConntrackError> {
        let mut stats = DumpStats::default();
        if zones.is_empty() {
            self.dump_restarting(None, &mut stats, &mut f)?;
        }
        for &zone in zones {
            self.dump_restarting(Some(zone), &mut stats, &mut f)?;
        }
        Ok(stats)
    }

    fn dump_restarting(
        &mut self,
        zone: Option<u16>,
        stats: &mut DumpStats,
        f: &mut impl FnMut(&Connection),
    ) -> Result<(), ConntrackError> {
        let mut restarts = 0;
        loop {
            match self.dump_once(zone, stats, f) {
                Ok(Outcome::Done) => return Ok(()),
                Ok(Outcome::Interrupted) => stats.interrupted_restarts += 1,
                Err(ConntrackError::Overflow) => {
                    stats.enobufs_restarts += 1;
                    // The rest of the broken dump may still be queued: a fresh socket drops it.
                    self.socket = open_socket(self.rcvbuf)?;
                }
                Err(e) => return Err(e),
            }
            restarts += 1;
            if restarts > MAX_RESTARTS {
                return Err(ConntrackError::DumpRestarts { restarts });
            }
        }
    }

    fn dump_once(
        &mut self,
        zone: Option<u16>,
        stats: &mut DumpStats,
        f: &mut impl FnMut(&Connection),
    ) -> Result<Outcome, ConntrackError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        self.req.clear();
        self.req.begin(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, seq, AF_UNSPEC);
        if let Some(z) = zone {
            self.req.attr(CTA_ZONE, &z.to_be_bytes());
        }
        self.req.finish();
        send(&self.socket, self.req.as_bytes())?;
        let mut interrupted = false;
        loop {
            // Only a read timeout gives `None`, and this socket has none.
            let n = recv(&self.socket, &mut self.buf)?
                .ok_or_else(|| ConntrackError::Io { op: "receive a dump", source: io::ErrorKind::TimedOut.into() })?;
            if let Some(outcome) = read_dump_datagram(&self.buf[..n], seq, zone, &mut interrupted, stats, f)? {
                return Ok(outcome);
            }
        }
    }

    /// Creates entries (their tuples, timeout, mark, zone, TCP state and the SEEN_REPLY and
    /// ASSURED status bits), many per system call. Returns how many were created; the first
    /// the kernel refuses ends the call with its error.
    pub fn create(&mut self, entries: &[Connection]) -> Result<usize, ConntrackError> {
        let mut created = 0;
        for batch in entries.chunks(CREATE_BATCH) {
            self.req.clear();
            let first = self.seq.wrapping_add(1);
            for c in batch {
                self.seq = self.seq.wrapping_add(1);
                self.req.begin(
                    IPCTNL_MSG_CT_NEW,
                    NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK,
                    self.seq,
                    c.family,
                );
                write_entry(&mut self.req, c);
                self.req.finish();
            }
            send(&self.socket, self.req.as_bytes())?;
            let mut acked = 0;
            while acked < batch.len() {
                let n = recv(&self.socket, &mut self.buf)?
                    .ok_or_else(|| ConntrackError::Io { op: "receive acks", source: io::ErrorKind::TimedOut.into() })?;
                let data = &self.buf[..n];
                let mut at = 0;
                while at < data.len() {
                    let hdr = NlMsgHdr::read(data, at)?;
                    let msg = &data[at..at + hdr.len as usize];
                    at += align4(hdr.len as usize).min(data.len() - at);
                    if hdr.kind == NLMSG_ERROR && hdr.seq.wrapping_sub(first) < batch.len() as u32 {
                        error_code(msg, "create")?;
                        acked += 1;
                    }
                }
            }
            created += batch.len();
        }
        Ok(created)
    }
}

/// Hands the entries of one datagram of the dump `seq` to `f`; the outcome once the dump's
/// NLMSG_DONE is read.
pub(super) fn read_dump_datagram(
    data: &[u8],
    seq: u32,
    zone: Option<u16>,
    interrupted: &mut bool,
    stats: &mut DumpStats,
    f: &mut impl FnMut(&Connection),
) -> Result<Option<Outcome>, ConntrackError> {
    let mut at = 0;
    while at < data.len() {
        let hdr = NlMsgHdr::read(data, at)?;
        let msg = &data[at..at + hdr.len as usize];
        at += align4(hdr.len as usize).min(data.len() - at);
        // Answers to an earlier, abandoned request are not ours to read.
        if hdr.seq != seq {
            continue;
        }
        *interrupted |= hdr.flags & NLM_F_DUMP_INTR != 0;
        match hdr.kind {
            NLMSG_DONE => {
                error_code(msg, "dump")?;
                return Ok(Some(if *interrupted { Outcome::Interrupted } else { Outcome::Done }));
            }
            NLMSG_ERROR => error_code(msg, "dump")?,
            NLMSG_OVERRUN => return Err(ConntrackError::Overflow),
            k if k == ct_type(IPCTNL_MSG_CT_NEW) => match Connection::parse(msg) {
                Ok(c) => {
                    stats.entries += 1;
                    if zone.is_none_or(|z| c.zone_id() == z) {
                        stats.delivered += 1;
                        f(&c);
                    } else {
                        stats.filtered_out += 1;
                    }
                }
                Err(e) => {
                    stats.malformed += 1;
                    stats.first_error.get_or_insert(e);
                }
            },
            _ => {}
        }
    }
    Ok(None)
}

fn write_entry(w: &mut Writer, c: &Connection) {
    write_tuple(w, CTA_TUPLE_ORIG, &c.orig);
    write_tuple(w, CTA_TUPLE_REPLY, &c.reply);
    w.attr(CTA_TIMEOUT, &c.timeout.to_be_bytes());
    // The kernel marks a created entry CONFIRMED before applying the status asked for, and
    // refuses (EBUSY) a request that would clear that bit: it must be asked for too.
    let status = c.status.0 & (Status::SEEN_REPLY | Status::ASSURED) | Status::CONFIRMED;
    w.attr(CTA_STATUS, &status.to_be_bytes());
    if c.mark != 0 {
        w.attr(CTA_MARK, &c.mark.to_be_bytes());
    }
    if c.zone != 0 {
        w.attr(CTA_ZONE, &c.zone.to_be_bytes());
    }
    if let Some(state) = c.tcp_state {
        let info = w.begin_nest(CTA_PROTOINFO);
        let tcp = w.begin_nest(CTA_PROTOINFO_TCP);
        w.attr(CTA_PROTOINFO_TCP_STATE, &[state.0]);
        w.end_nest(tcp);
        w.end_nest(info);
    }
}

/// The conntrack multicast groups an [`EventSocket`] joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    New,
    Update,
    Destroy,
}

impl EventKind {
    /// All three groups.
    pub const ALL: [EventKind; 3] = [EventKind::New, EventKind::Update, EventKind::Destroy];

    fn group(self) -> u32 {
        match self {
            EventKind::New => NFNLGRP_CONNTRACK_NEW,
            EventKind::Update => NFNLGRP_CONNTRACK_UPDATE,
            EventKind::Destroy => NFNLGRP_CONNTRACK_DESTROY,
        }
    }
}

/// What [`EventSocket::recv`] yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Conn(EventKind, Connection),
    /// The kernel dropped events because the socket's buffer was full: what the caller knows of
    /// the table may be stale, and a dump resyncs it.
    Overflow,
    /// A message that did not parse; it is skipped, and the socket goes on.
    Malformed(ParseError),
}

/// Counts kept by an [`EventSocket`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventStats {
    pub events: u64,
    pub overflows: u64,
    pub malformed: u64,
}

/// A ctnetlink socket subscribed to conntrack events.
pub struct EventSocket {
    socket: Socket,
    buf: Box<[u8]>,
    /// The received datagram is `buf[pos..len]`; it may hold several messages.
    len: usize,
    pos: usize,
    stats: EventStats,
}

impl EventSocket {
    /// Joins the groups of `kinds` in the calling thread's network namespace. Destroy events
    /// carry the final counters (and the stop timestamp) when accounting is on.
    pub fn subscribe(kinds: &[EventKind], rcvbuf: usize) -> Result<EventSocket, ConntrackError> {
        let socket = open_socket(rcvbuf)?;
        for kind in kinds {
            socket
                .add_membership(kind.group())
                .map_err(|source| ConntrackError::Io { op: "join a conntrack multicast group", source })?;
        }
        Ok(EventSocket {
            socket,
            buf: vec![0; RECV_BUF].into_boxed_slice(),
            len: 0,
            pos: 0,
            stats: EventStats::default(),
        })
    }

    /// How long [`EventSocket::recv`] waits before it returns `Ok(None)`; `None` waits for ever.
    /// A thread that must notice a shutdown request sets one.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> Result<(), ConntrackError> {
        socket2::SockRef::from(&self.socket)
            .set_read_timeout(timeout)
            .map_err(|source| ConntrackError::Io { op: "set SO_RCVTIMEO", source })
    }

    pub fn stats(&self) -> EventStats {
        self.stats
    }

    /// The next event, blocking until one comes; `Ok(None)` when the timeout passed first.
    pub fn recv(&mut self) -> Result<Option<Event>, ConntrackError> {
        loop {
            while self.pos < self.len {
                let data = &self.buf[..self.len];
                let hdr = match NlMsgHdr::read(data, self.pos) {
                    Ok(h) => h,
                    Err(e) => {
                        // The framing is broken: nothing else in this datagram can be found.
                        self.pos = self.len;
                        self.stats.malformed += 1;
                        return Ok(Some(Event::Malformed(e)));
                    }
                };
                let msg = &data[self.pos..self.pos + hdr.len as usize];
                self.pos += align4(hdr.len as usize).min(self.len - self.pos);
                let kind = match hdr.kind {
                    k if k == ct_type(IPCTNL_MSG_CT_DELETE) => EventKind::Destroy,
                    k if k == ct_type(IPCTNL_MSG_CT_NEW) && hdr.flags & (NLM_F_CREATE | NLM_F_EXCL) != 0 => {
                        EventKind::New
                    }
                    k if k == ct_type(IPCTNL_MSG_CT_NEW) => EventKind::Update,
                    _ => continue,
                };
                return Ok(Some(match Connection::parse(msg) {
                    Ok(c) => {
                        self.stats.events += 1;
                        Event::Conn(kind, c)
                    }
                    Err(e) => {
                        self.stats.malformed += 1;
                        Event::Malformed(e)
                    }
                }));
            }
            self.pos = 0;
            self.len = 0;
            match recv(&self.socket, &mut self.buf) {
                Ok(Some(n)) => self.len = n,
                Ok(None) => return Ok(None),
                Err(ConntrackError::Overflow) => {
                    self.stats.overflows += 1;
                    return Ok(Some(Event::Overflow));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn ct_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_CTNETLINK << 8) | msg
}

fn open_socket(rcvbuf: usize) -> Result<Socket, ConntrackError> {
    let io = |op| move |source| ConntrackError::Io { op, source };
    let mut socket = Socket::new(NETLINK_NETFILTER).map_err(io("open a NETLINK_NETFILTER socket"))?;
    socket.bind_auto().map_err(io("bind the netlink socket"))?;
    let size = rcvbuf.min(i32::MAX as usize);
    // SO_RCVBUFFORCE goes past net.core.rmem_max when the process has CAP_NET_ADMIN.
    if let Err(e) = setsockopt(&socket, sockopt::RcvBufForce, &size) {
        if e != Errno::EPERM {
            return Err(ConntrackError::Io { op: "set SO_RCVBUFFORCE", source: e.into() });
        }
        socket.set_rx_buf_sz(size).map_err(io("set SO_RCVBUF"))?;
    }
    Ok(socket)
}

fn send(socket: &Socket, bytes: &[u8]) -> Result<(), ConntrackError> {
    let kernel = SocketAddr::new(0, 0);
    let sent = socket
        .send_to(bytes, &kernel, 0)
        .map_err(|source| ConntrackError::Io { op: "send a ctnetlink request", source })?;
    if sent != bytes.len() {
        return Err(ConntrackError::Io { op: "send a ctnetlink request", source: io::ErrorKind::WriteZero.into() });
    }
    Ok(())
}

/// Receives one datagram; `None` when the read timeout passed. ENOBUFS comes back as
/// [`ConntrackError::Overflow`].
fn recv(socket: &Socket, buf: &mut [u8]) -> Result<Option<usize>, ConntrackError> {
    loop {
        let mut slot = &mut buf[..];
        // MSG_TRUNC makes the kernel report the datagram's real length.
        match socket.recv(&mut slot, nix::libc::MSG_TRUNC) {
            Ok(n) if n > buf.len() => return Err(ConntrackError::DatagramTooLong { len: n, buf: buf.len() }),
            Ok(n) => return Ok(Some(n)),
            Err(e) => match Errno::from_raw(e.raw_os_error().unwrap_or(0)) {
                Errno::EINTR => continue,
                Errno::EAGAIN => return Ok(None),
                Errno::ENOBUFS => return Err(ConntrackError::Overflow),
                _ => return Err(ConntrackError::Io { op: "receive from the netlink socket", source: e }),
            },
        }
    }
}

/// The error code carried by an NLMSG_ERROR (or NLMSG_DONE) message: 0 is an ack.
fn error_code(msg: &[u8], request: &'static str) -> Result<(), ConntrackError> {
    let Some(code) = msg.get(NLMSG_HDRLEN..NLMSG_HDRLEN + 4) else {
        return Ok(());
    };
    let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
    if code == 0 {
        return Ok(());
    }
    if -code == Errno::ENOBUFS as i32 {
        return Err(ConntrackError::Overflow);
    }
    Err(ConntrackError::Kernel { request, source: io::Error::from_raw_os_error(-code) })
}
