//! One connection of the exporting process to its collector, on blocking sockets: UDP (a
//! connected socket sending batches with `sendmmsg`), TCP, or TLS over TCP with rustls.
//!
//! Collectors never send IPFIX back, so anything that arrives on a stream is either TLS
//! housekeeping (session tickets, close_notify, an alert) or the end of the connection.
//! [`Connection::check`] looks for that without blocking before messages are written: a collector
//! that was restarted between two writes has closed its side by then, and writing into the dead
//! connection would be accepted by our kernel and lost without an error.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv};
use rustls::{ClientConfig, ClientConnection, ProtocolVersion};
use rustls_pki_types::ServerName;

use crate::core::transport::{Endpoint, TransportError, UdpSender};

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait after a TLS 1.3 handshake for the collector's first word (a session ticket, or
/// the alert refusing our certificate: in TLS 1.3 the client finishes its handshake before the
/// server has checked the client's certificate).
const CONFIRM_WAIT: Duration = Duration::from_secs(1);

/// Where to connect, and how.
pub(super) struct Target {
    pub endpoint: Endpoint,
    pub tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
}

enum Link {
    Udp(UdpSender),
    Tcp(TcpStream),
    Tls(Box<(ClientConnection, TcpStream)>),
}

/// An open connection.
pub(super) struct Connection {
    link: Link,
    pub local: SocketAddr,
    pub peer: SocketAddr,
}

impl Connection {
    /// Connects (and for TLS, shakes hands), taking at most about `timeout` for TCP's connect.
    pub fn open(target: &Target, timeout: Duration) -> Result<Connection, TransportError> {
        let endpoint = target.endpoint;
        let peer = endpoint.addr();
        let connect_error = |io| TransportError::Connect { endpoint, io };
        if let Endpoint::Udp(to) = endpoint {
            let local: SocketAddr = if to.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
            let udp = UdpSender::bind(local, to, 0).map_err(connect_error)?;
            let local = udp.local_addr();
            return Ok(Connection { link: Link::Udp(udp), local, peer });
        }
        let tcp = TcpStream::connect_timeout(&peer, timeout.max(Duration::from_millis(1))).map_err(connect_error)?;
        // Messages are whole when written, so Nagle would only delay them.
        tcp.set_nodelay(true).map_err(|io| TransportError::SocketOption { option: "TCP_NODELAY", endpoint, io })?;
        let local = tcp.local_addr().map_err(connect_error)?;
        let link = match &target.tls {
            None => Link::Tcp(tcp),
            Some((config, name)) => Link::Tls(Box::new(handshake(tcp, config, name, endpoint)?)),
        };
        Ok(Connection { link, local, peer })
    }

    pub fn is_udp(&self) -> bool {
        matches!(self.link, Link::Udp(_))
    }

    /// Whether the collector is still there: `Err` with what happened when it closed the
    /// connection, reset it, or (TLS) sent an alert. Never blocks. UDP has nothing to look at;
    /// its errors come back on the next send.
    pub fn check(&mut self) -> Result<(), String> {
        match &mut self.link {
            Link::Udp(_) => Ok(()),
            Link::Tcp(tcp) => {
                let mut discard = [0u8; 4096];
                loop {
                    match recv(tcp.as_raw_fd(), &mut discard, MsgFlags::MSG_DONTWAIT) {
                        Ok(0) => return Err("the collector closed the connection".into()),
                        // Not IPFIX's to send; read and forgotten.
                        Ok(_) => {}
                        Err(Errno::EAGAIN) => return Ok(()),
                        Err(Errno::EINTR) => {}
                        Err(e) => return Err(format!("the connection failed: {e}")),
                    }
                }
            }
            Link::Tls(tls) => {
                let (conn, tcp) = &mut **tls;
                let mut peek = [0u8; 1];
                match recv(tcp.as_raw_fd(), &mut peek, MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_PEEK) {
                    Ok(0) => return Err("the collector closed the connection".into()),
                    Ok(_) => {}
                    Err(Errno::EAGAIN) => return Ok(()),
                    Err(e) => return Err(format!("the connection failed: {e}")),
                }
                tcp.set_nonblocking(true).map_err(|e| format!("the connection failed: {e}"))?;
                let state = read_tls_records(conn, tcp);
                tcp.set_nonblocking(false).map_err(|e| format!("the connection failed: {e}"))?;
                state
            }
        }
    }

    /// Writes `bytes` to a stream (all of it, or an error).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.link {
            Link::Udp(_) => Err(io::Error::other("a UDP connection sends datagrams")),
            Link::Tcp(tcp) => tcp.write_all(bytes),
            Link::Tls(tls) => {
                let (conn, tcp) = &mut **tls;
                let mut rest = bytes;
                loop {
                    // rustls takes what fits its send buffer; what it encrypted goes out before more.
                    let n = conn.writer().write(rest)?;
                    rest = &rest[n..];
                    while conn.wants_write() {
                        if conn.write_tls(tcp)? == 0 {
                            return Err(io::ErrorKind::WriteZero.into());
                        }
                    }
                    if rest.is_empty() {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Sends datagrams in order; returns how many went (see [`UdpSender::send_batch`]).
    pub fn send_datagrams(&mut self, msgs: &[&[u8]]) -> io::Result<usize> {
        match &mut self.link {
            Link::Udp(udp) => udp.send_batch(msgs),
            _ => Err(io::Error::other("a stream connection writes bytes")),
        }
    }

    /// Bounds how long a write may block on a collector that stopped reading.
    pub fn set_write_timeout(&self, timeout: Duration) {
        let timeout = Some(timeout.max(Duration::from_millis(1)));
        // Failing to set it leaves the previous bound, which is fine.
        let _ = match &self.link {
            Link::Udp(_) => Ok(()),
            Link::Tcp(tcp) => tcp.set_write_timeout(timeout),
            Link::Tls(tls) => tls.1.set_write_timeout(timeout),
        };
    }

    /// Closes a stream without losing what was written: close_notify (TLS), FIN, then reading
    /// until the collector closes too, for at most `linger`. Closing a socket with unread bytes
    /// in it (a TLS 1.3 server's session tickets, which nobody reads) makes the kernel send a
    /// reset, and a reset makes the collector's kernel throw away what it had not read yet.
    pub fn close(self, linger: Duration) {
        let tcp = match self.link {
            Link::Udp(_) => return,
            Link::Tcp(tcp) => tcp,
            Link::Tls(tls) => {
                let (mut conn, mut tcp) = *tls;
                conn.send_close_notify();
                while conn.wants_write() {
                    if !matches!(conn.write_tls(&mut tcp), Ok(n) if n > 0) {
                        break;
                    }
                }
                tcp
            }
        };
        let _ = tcp.shutdown(Shutdown::Write);
        let until = Instant::now() + linger;
        let mut tcp = tcp;
        let mut discard = [0u8; 4096];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || tcp.set_read_timeout(Some(left)).is_err() {
                return;
            }
            // The end of the stream, a reset or the time limit: everything was handed over before.
            match tcp.read(&mut discard) {
                Ok(n) if n > 0 => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => return,
            }
        }
    }
}

/// Reads and processes what the collector sent on a non-blocking socket, until nothing is left.
fn read_tls_records(conn: &mut ClientConnection, tcp: &mut TcpStream) -> Result<(), String> {
    let mut discard = [0u8; 4096];
    loop {
        match conn.read_tls(tcp) {
            Ok(0) => return Err("the collector closed the connection".into()),
            Ok(_) => {
                let state = conn.process_new_packets().map_err(|e| format!("the collector ended TLS: {e}"))?;
                if state.peer_has_closed() {
                    return Err("the collector closed the connection (TLS close_notify)".into());
                }
                while conn.reader().read(&mut discard).is_ok_and(|n| n > 0) {}
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("the connection failed: {e}")),
        }
    }
}

fn handshake(
    mut tcp: TcpStream,
    config: &Arc<ClientConfig>,
    name: &ServerName<'static>,
    endpoint: Endpoint,
) -> Result<(ClientConnection, TcpStream), TransportError> {
    let failed = |io| TransportError::Handshake { endpoint, io };
    let mut conn = ClientConnection::new(config.clone(), name.clone()).map_err(io::Error::other).map_err(failed)?;
    tcp.set_read_timeout(Some(HANDSHAKE_TIMEOUT)).map_err(failed)?;
    tcp.set_write_timeout(Some(HANDSHAKE_TIMEOUT)).map_err(failed)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(failed)?;
    }
    if conn.protocol_version() == Some(ProtocolVersion::TLSv1_3) {
        tcp.set_read_timeout(Some(CONFIRM_WAIT)).map_err(failed)?;
        match conn.read_tls(&mut tcp) {
            Ok(0) => return Err(failed(io::Error::other("the collector closed the connection after the handshake"))),
            Ok(_) => {
                let state = conn.process_new_packets().map_err(io::Error::other).map_err(failed)?;
                if state.peer_has_closed() {
                    return Err(failed(io::Error::other("the collector closed the connection after the handshake")));
                }
            }
            // Nothing said within the wait: a server that sends no tickets.
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    tcp.set_read_timeout(None).map_err(failed)?;
    Ok((conn, tcp))
}

/// The path MTU toward an IPv4 `to`, as the kernel knows it for a socket connected there (the
/// route's MTU, or less once the path reported smaller). `None` for IPv6 or when it cannot be read.
pub(super) fn path_mtu(to: SocketAddr) -> Option<usize> {
    if !to.is_ipv4() {
        return None;
    }
    let socket = std::net::UdpSocket::bind(("0.0.0.0", 0)).ok()?;
    socket.connect(to).ok()?;
    let mtu = nix::sys::socket::getsockopt(&socket, nix::sys::socket::sockopt::IpMtu).ok()?;
    usize::try_from(mtu).ok()
}
