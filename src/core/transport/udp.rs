//! IPFIX over UDP, built for rate.
//!
//! A collector binds a [`UdpListener`]: `sockets` sockets on one port with `SO_REUSEPORT`, so the
//! kernel spreads exporters over them by a hash of the address pair, and each socket gets the
//! receive buffer asked for. [`UdpListener::into_receivers`] turns them into [`UdpReceiver`]s, one
//! per thread; each call to [`UdpReceiver::recv`] takes up to `batch` datagrams with one
//! `recvmmsg` into a buffer the receiver owns, and lends them out as a [`RecvBatch`].
//!
//! What the kernel dropped because a socket's buffer was full is read back per socket from the
//! `drops` column of `/proc/net/udp{,6}`: it is exact at any moment, where the `SO_RXQ_OVFL`
//! control message only reports drops that happened before the last datagram that got through.
//!
//! A port is shared only by the sockets of one listener. `SO_REUSEPORT` alone would let a second
//! process of the same user join the group, and the kernel would split the exporters between the
//! two without a word; so the port is first bound by a probe socket without the option, which the
//! kernel refuses when anyone holds the port, and the probe and the group's binds happen under a
//! lock (an abstract Unix socket named after the port: no file to plant, gone with the process),
//! so two flowctl processes starting at once cannot both pass the probe.
//!
//! [`UdpSender`] is the other side: one connected socket that sends batches with `sendmmsg`.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::sys::socket::{self as sys, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, sockopt};
use socket2::{Domain, Protocol, Socket, Type};

use super::{Endpoint, MAX_MESSAGE_LEN, TransportError};
use crate::core::time::Timestamp;

/// Room for one datagram. No UDP payload is longer (65507 bytes over IPv4, 65527 over IPv6), so
/// a datagram is never cut; the pages of a slot beyond what arrives are never touched.
const SLOT: usize = MAX_MESSAGE_LEN;
/// The kernel takes at most UIO_MAXIOV messages per `recvmmsg`/`sendmmsg`.
const MAX_BATCH: usize = 1024;

/// How a [`UdpListener`] sets up its sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpConfig {
    /// Receive buffer per socket, in bytes (0 keeps the system default). A burst larger than this
    /// while the receiver is busy is dropped by the kernel and counted in `kernel_drops`.
    pub rcvbuf: usize,
    /// Sockets on the port, one receiving thread each (0 is taken as 1).
    pub sockets: usize,
    /// Datagrams per `recvmmsg` (0 is taken as 1; at most 1024). The receiver keeps a 64 KiB
    /// slot per datagram of the batch.
    pub batch: usize,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig { rcvbuf: 4 << 20, sockets: 1, batch: 64 }
    }
}

/// The receive buffer asked for and what the kernel granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RcvBuf {
    pub asked: usize,
    /// What `getsockopt(SO_RCVBUF)` reports. Linux doubles the value set (the other half pays for
    /// its bookkeeping) after clamping it to `net.core.rmem_max`; the smallest of the sockets.
    pub granted: usize,
}

impl RcvBuf {
    /// True when the kernel granted less than asked (Linux reports twice what it accepted).
    pub fn clamped(&self) -> bool {
        self.granted < self.asked.saturating_mul(2)
    }
}

/// One socket of a listener, with what was learnt about it when it was bound.
struct Bound {
    socket: Socket,
    local: SocketAddr,
    /// The socket's inode, the key of its line in `/proc/net/udp{,6}`.
    inode: Option<u64>,
}

/// UDP sockets bound to one port, not receiving yet.
pub struct UdpListener {
    sockets: Vec<Bound>,
    rcvbuf: RcvBuf,
    batch: usize,
}

impl UdpListener {
    /// Binds `cfg.sockets` sockets to `addr` (with `SO_REUSEPORT` when more than one; for port 0
    /// the kernel picks a free port) and sets their receive buffers, with `SO_RCVBUFFORCE` when
    /// the process may exceed `rmem_max`. A port another process holds, with `SO_REUSEPORT` or
    /// without, is refused with "address in use".
    pub fn bind(addr: SocketAddr, cfg: &UdpConfig) -> Result<UdpListener, TransportError> {
        let endpoint = Endpoint::Udp(addr);
        let count = cfg.sockets.max(1);
        let bind_error = |io| TransportError::Bind { endpoint, io };
        let option_error = |option| move |io| TransportError::SocketOption { option, endpoint, io };
        let _lock = PortLock::take(addr.port()).map_err(bind_error)?;
        let mut bind_to = probe(addr).map_err(bind_error)?;
        let mut sockets = Vec::with_capacity(count);
        let mut granted = usize::MAX;
        for _ in 0..count {
            let socket =
                Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(bind_error)?;
            if count > 1 {
                socket.set_reuse_port(true).map_err(option_error("SO_REUSEPORT"))?;
            }
            granted = granted.min(set_rcvbuf(&socket, cfg.rcvbuf).map_err(option_error("SO_RCVBUF"))?);
            socket.bind(&bind_to.into()).map_err(bind_error)?;
            let local = local_addr(&socket).map_err(bind_error)?;
            bind_to = local;
            let inode = std::fs::metadata(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok().map(|m| m.ino());
            sockets.push(Bound { socket, local, inode });
        }
        Ok(UdpListener { sockets, rcvbuf: RcvBuf { asked: cfg.rcvbuf, granted }, batch: cfg.batch.clamp(1, MAX_BATCH) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.sockets[0].local
    }

    pub fn rcvbuf(&self) -> RcvBuf {
        self.rcvbuf
    }

    /// One receiver per socket, each with its own batch buffer.
    pub fn into_receivers(self) -> Vec<UdpReceiver> {
        let batch = self.batch;
        self.sockets
            .into_iter()
            .map(|b| UdpReceiver {
                socket: b.socket,
                local: b.local,
                inode: b.inode,
                buf: vec![0; batch * SLOT].into_boxed_slice(),
                meta: Vec::with_capacity(batch),
                batch,
                timeout: None,
            })
            .collect()
    }
}

/// Binds a socket without `SO_REUSEPORT` to `addr` and closes it: the kernel refuses when any
/// socket holds the port, and for port 0 it picks one that is free. Returns the address bound.
fn probe(addr: SocketAddr) -> io::Result<SocketAddr> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.bind(&addr.into()).map_err(|e| match e.kind() {
        io::ErrorKind::AddrInUse => io::Error::new(e.kind(), "address in use (another process listens on this port)"),
        _ => e,
    })?;
    local_addr(&socket)
}

/// Held while a listener probes and binds its port, so that flowctl processes binding one port
/// at the same moment take turns and the second is refused by the probe.
struct PortLock {
    _held: std::os::unix::net::UnixListener,
}

impl PortLock {
    /// How long to wait for another process's bind to finish.
    const WAIT: Duration = Duration::from_secs(2);

    fn take(port: u16) -> io::Result<PortLock> {
        use std::os::linux::net::SocketAddrExt;
        let name = std::os::unix::net::SocketAddr::from_abstract_name(format!("flowctl/udp-bind/{port}"))?;
        let deadline = std::time::Instant::now() + Self::WAIT;
        loop {
            match std::os::unix::net::UnixListener::bind_addr(&name) {
                Ok(listener) => return Ok(PortLock { _held: listener }),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    return Err(io::Error::new(
                        e.kind(),
                        "address in use (another flowctl process is binding this port)",
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Sets the receive buffer (0: leave the default) and returns what the kernel reports granting.
fn set_rcvbuf(socket: &Socket, size: usize) -> io::Result<usize> {
    if size > 0 {
        // The option is a C int; larger values would wrap rather than mean "as much as allowed".
        let size = size.min(i32::MAX as usize);
        // SO_RCVBUFFORCE goes past net.core.rmem_max when the process has CAP_NET_ADMIN: a
        // collector run as root gets the buffer it was configured with.
        if let Err(e) = sys::setsockopt(socket, sockopt::RcvBufForce, &size) {
            if e != Errno::EPERM {
                return Err(e.into());
            }
            socket.set_recv_buffer_size(size)?;
        }
    }
    socket.recv_buffer_size()
}

fn local_addr(socket: &Socket) -> io::Result<SocketAddr> {
    socket.local_addr()?.as_socket().ok_or_else(|| io::Error::other("the socket has no IP address"))
}

/// Where a received datagram sits in the receiver's buffer.
#[derive(Clone, Copy, Debug)]
struct Meta {
    peer: SocketAddr,
    len: usize,
    truncated: bool,
}

/// Receives datagrams on one socket; owned by the thread that drives it.
pub struct UdpReceiver {
    socket: Socket,
    local: SocketAddr,
    inode: Option<u64>,
    /// `batch` slots of [`SLOT`] bytes, datagram `i` of a batch in slot `i`.
    buf: Box<[u8]>,
    meta: Vec<Meta>,
    batch: usize,
    /// The `SO_RCVTIMEO` in force, so it is only set again when the caller's timeout changes.
    timeout: Option<Duration>,
}

impl UdpReceiver {
    /// Up to `batch` datagrams with one `recvmmsg`; waits at most `timeout` for the first one (so
    /// the caller can check for shutdown) and returns an empty batch when none came. Once one has
    /// arrived it takes only what is already queued, never waiting for the batch to fill.
    pub fn recv(&mut self, timeout: Duration) -> io::Result<RecvBatch<'_>> {
        let mut flags = MsgFlags::MSG_WAITFORONE;
        if timeout.is_zero() {
            flags |= MsgFlags::MSG_DONTWAIT;
        } else if self.timeout != Some(timeout) {
            // SO_RCVTIMEO bounds the wait for the first datagram; recvmmsg's own timeout argument
            // is only checked after a datagram arrives. A zero timeval would mean "forever".
            self.socket.set_read_timeout(Some(timeout.max(Duration::from_micros(1))))?;
            self.timeout = Some(timeout);
        }
        self.meta.clear();
        // nix's headers hold raw pointers and are not Send, so they are made per call (two small
        // allocations per batch, nothing next to the system call).
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(self.batch, None);
        let mut iovs: Vec<[IoSliceMut<'_>; 1]> =
            self.buf.chunks_exact_mut(SLOT).map(|s| [IoSliceMut::new(s)]).collect();
        match sys::recvmmsg(self.socket.as_raw_fd(), &mut headers, iovs.iter_mut(), flags, None) {
            Ok(msgs) => {
                for msg in msgs {
                    self.meta.push(Meta {
                        peer: msg.address.as_ref().map_or(UNKNOWN_PEER, peer_addr),
                        len: msg.bytes.min(SLOT),
                        truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
                    });
                }
            }
            // EAGAIN: the timeout passed with nothing to read. EINTR: a signal; the caller loops.
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(RecvBatch { buf: &self.buf, meta: &self.meta, time: now() })
    }

    /// Datagrams the kernel dropped on this socket because its buffer was full, cumulative since
    /// the socket was made (the `drops` column of `/proc/net/udp{,6}` for the socket's inode).
    /// Reads a /proc file: call it now and then (e.g. once a second), not per batch. 0 when /proc
    /// is not readable.
    pub fn kernel_drops(&self) -> u64 {
        let Some(inode) = self.inode else { return 0 };
        let table = if self.local.is_ipv6() { "/proc/net/udp6" } else { "/proc/net/udp" };
        std::fs::read_to_string(table).ok().and_then(|t| drops_in(&t, inode)).unwrap_or(0)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

const UNKNOWN_PEER: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

fn peer_addr(addr: &SockaddrStorage) -> SocketAddr {
    if let Some(v4) = addr.as_sockaddr_in() {
        return SocketAddr::V4((*v4).into());
    }
    match addr.as_sockaddr_in6() {
        // An IPv4 exporter on a dual-stack socket arrives as ::ffff:a.b.c.d; name it as IPv4 so it
        // is the same exporter whichever socket it reached.
        Some(v6) => {
            let v6 = std::net::SocketAddrV6::from(*v6);
            match v6.ip().to_ipv4_mapped() {
                Some(ip) => SocketAddr::new(IpAddr::V4(ip), v6.port()),
                None => SocketAddr::V6(v6),
            }
        }
        None => UNKNOWN_PEER,
    }
}

/// The receive time of a batch, with the microsecond precision capture files have.
fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_micros(i64::try_from(since.as_micros()).unwrap_or(i64::MAX))
}

/// The `drops` of the socket with `inode` in a `/proc/net/udp` table: columns `sl local_address
/// rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops`.
fn drops_in(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let mut cols = line.split_whitespace();
        if cols.nth(9)?.parse::<u64>().ok()? != inode {
            return None;
        }
        // The kernel prints its 32-bit counter signed; reading it back as u32 undoes the wrap.
        cols.nth(2)?.parse::<i64>().ok().map(|d| u64::from(d as u32))
    })
}

/// The datagrams of one `recvmmsg`, borrowed from the receiver until the next call.
pub struct RecvBatch<'a> {
    buf: &'a [u8],
    meta: &'a [Meta],
    /// When the batch was received (one clock read per batch).
    pub time: Timestamp,
}

/// One received datagram.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    pub peer: SocketAddr,
    pub bytes: &'a [u8],
    /// The datagram was longer than the receive slot and was cut (cannot happen for UDP, whose
    /// payloads are at most 65527 bytes; kept so a caller need not rely on that).
    pub truncated: bool,
}

impl<'a> RecvBatch<'a> {
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Datagram<'a>> {
        self.meta.get(i).map(|m| datagram(self.buf, i, m))
    }

    pub fn iter(&self) -> Datagrams<'a> {
        Datagrams { buf: self.buf, meta: self.meta.iter().enumerate() }
    }
}

fn datagram<'a>(buf: &'a [u8], i: usize, m: &Meta) -> Datagram<'a> {
    let start = i * SLOT;
    Datagram { peer: m.peer, bytes: &buf[start..start + m.len], truncated: m.truncated }
}

impl<'a> IntoIterator for RecvBatch<'a> {
    type Item = Datagram<'a>;
    type IntoIter = Datagrams<'a>;

    fn into_iter(self) -> Datagrams<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &RecvBatch<'a> {
    type Item = Datagram<'a>;
    type IntoIter = Datagrams<'a>;

    fn into_iter(self) -> Datagrams<'a> {
        self.iter()
    }
}

/// Iterator over the datagrams of a [`RecvBatch`].
pub struct Datagrams<'a> {
    buf: &'a [u8],
    meta: std::iter::Enumerate<std::slice::Iter<'a, Meta>>,
}

impl<'a> Iterator for Datagrams<'a> {
    type Item = Datagram<'a>;

    fn next(&mut self) -> Option<Datagram<'a>> {
        self.meta.next().map(|(i, m)| datagram(self.buf, i, m))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.meta.size_hint()
    }
}

impl ExactSizeIterator for Datagrams<'_> {}

/// Sends datagrams to one destination from one local socket, in batches.
pub struct UdpSender {
    socket: Socket,
    local: SocketAddr,
}

impl UdpSender {
    /// A socket bound to `local` (port 0 for an ephemeral one) and connected to `to`, with a send
    /// buffer of `sndbuf` bytes (0 keeps the system default).
    pub fn bind(local: SocketAddr, to: SocketAddr, sndbuf: usize) -> io::Result<Self> {
        let socket = Socket::new(Domain::for_address(to), Type::DGRAM, Some(Protocol::UDP))?;
        if sndbuf > 0 {
            socket.set_send_buffer_size(sndbuf)?;
        }
        socket.bind(&local.into())?;
        socket.connect(&to.into())?;
        let local = local_addr(&socket)?;
        Ok(UdpSender { socket, local })
    }

    /// Sends `msgs` in order, one datagram each, with as few `sendmmsg` calls as the kernel
    /// allows; returns how many went. An error after some went ends the call with their count
    /// (the kernel reports the error again on the next send); an error before any is returned.
    pub fn send_batch(&mut self, msgs: &[&[u8]]) -> io::Result<usize> {
        let mut sent = 0;
        while sent < msgs.len() {
            let chunk = &msgs[sent..msgs.len().min(sent + MAX_BATCH)];
            match self.send_chunk(chunk) {
                Ok(0) => break,
                Ok(n) => sent += n,
                Err(Errno::EINTR) => {}
                Err(_) if sent > 0 => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(sent)
    }

    fn send_chunk(&self, chunk: &[&[u8]]) -> Result<usize, Errno> {
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(chunk.len(), None);
        let iovs: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|m| [IoSlice::new(m)]).collect();
        // The socket is connected: no destination per message.
        let addrs: Vec<Option<SockaddrStorage>> = vec![None; chunk.len()];
        let no_cmsgs: [ControlMessage<'_>; 0] = [];
        let results = sys::sendmmsg(self.socket.as_raw_fd(), &mut headers, &iovs, addrs, no_cmsgs, MsgFlags::empty())?;
        Ok(results.count())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_and_senders_can_move_to_their_threads() {
        fn send<T: Send>() {}
        send::<UdpReceiver>();
        send::<UdpSender>();
        send::<UdpListener>();
    }

    #[test]
    fn drops_column_is_found_by_inode() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            \n\
          213: 0100007F:A8C3 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0        \n\
          214: 0100007F:A8C4 00000000:0000 07 00000000:00002300 00:00000000 00000000     0        0 4243 2 0000000000000000 1234     \n\
          215: 0100007F:A8C5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4244 2 0000000000000000 -2 \n";
        assert_eq!(drops_in(table, 4242), Some(0));
        assert_eq!(drops_in(table, 4243), Some(1234));
        assert_eq!(drops_in(table, 4244), Some(u64::from(u32::MAX - 1)), "the kernel's int wrapped");
        assert_eq!(drops_in(table, 9), None);
        assert_eq!(drops_in("garbage\nnot a table", 1), None);
    }

    #[test]
    fn rcvbuf_clamping_allows_for_linux_doubling() {
        assert!(!RcvBuf { asked: 4 << 20, granted: 8 << 20 }.clamped());
        assert!(RcvBuf { asked: 4 << 20, granted: 425_984 }.clamped());
        assert!(!RcvBuf { asked: 0, granted: 212_992 }.clamped());
    }

    #[test]
    fn ipv4_mapped_peers_are_named_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:10.1.2.3]:5000".parse().unwrap();
        let std::net::SocketAddr::V6(v6) = mapped else { unreachable!() };
        assert_eq!(peer_addr(&SockaddrStorage::from(v6)), "10.1.2.3:5000".parse::<SocketAddr>().unwrap());
        let plain: SocketAddr = "[fd00::1]:5000".parse().unwrap();
        assert_eq!(peer_addr(&SockaddrStorage::from(plain)), plain);
    }
}
