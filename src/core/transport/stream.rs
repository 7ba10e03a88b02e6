//! IPFIX over TCP and TLS (tokio): accepting connections, framing messages, and sending them.
//!
//! On a stream, IPFIX messages follow each other with nothing in between; each one's header
//! carries its own length (bytes 2–3, including the 16-byte header), which is how
//! [`MessageStream`] cuts the stream. A header that is not IPFIX leaves no way to find the next
//! message, so framing stops there and the caller closes the connection, as go-ipfix does.
//!
//! [`StreamListener`] accepts in a task of its own and never stops accepting: TLS handshakes run
//! concurrently, each limited in time, at most [`HandshakeLimits::per_source`] at once from one
//! address, and at most [`HandshakeLimits::total`] in all, beyond which the oldest is dropped for
//! the newest. A few silent clients therefore delay no one else and cannot lock anyone out;
//! finished connections wait in a short queue for `accept`.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::{AbortHandle, JoinHandle, JoinSet};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::codec::{Decoder, FramedRead};
use tokio_util::either::Either;

use super::{AcceptError, Endpoint, FramingError, MAX_MESSAGE_LEN, TransportError};
use crate::core::ipfix::message::{IPFIX_HEADER_LEN, IPFIX_VERSION};

/// Accepted connections waiting for the caller's `accept`.
const QUEUE: usize = 16;
/// Pause after the kernel refuses a connection (e.g. no file descriptors left), so the accepting
/// loop does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Read buffer per connection: one largest message fits.
const READ_BUFFER: usize = MAX_MESSAGE_LEN + 1;

type ServerIo = Either<TcpStream, tokio_rustls::server::TlsStream<TcpStream>>;
type ClientIo = Either<TcpStream, tokio_rustls::client::TlsStream<TcpStream>>;
type Accepted = Result<(MessageStream, SocketAddr), AcceptError>;

/// Bounds on TLS handshakes in progress, so that clients which connect and say nothing cannot
/// hold the listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// How long a client has to finish its handshake.
    pub timeout: Duration,
    /// Handshakes in progress from one address; a further connection from it is closed at once.
    pub per_source: usize,
    /// Handshakes in progress in all; at this bound the oldest is dropped for the newest.
    pub total: usize,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits { timeout: Duration::from_secs(5), per_source: 16, total: 1024 }
    }
}

/// Listens for IPFIX exporters on TCP or TLS.
pub struct StreamListener {
    endpoint: Endpoint,
    incoming: Mutex<mpsc::Receiver<Accepted>>,
    acceptor: JoinHandle<()>,
}

impl StreamListener {
    /// Listens on a `tcp://` endpoint without `tls`, or a `tls://` endpoint with it.
    pub async fn bind(
        endpoint: &Endpoint,
        tls: Option<Arc<rustls::ServerConfig>>,
        limits: HandshakeLimits,
    ) -> Result<Self, TransportError> {
        let mismatch = |problem| Err(TransportError::Mismatch { endpoint: *endpoint, problem });
        let acceptor = match (endpoint, tls) {
            (Endpoint::Udp(_), _) => return mismatch("a stream listener takes tcp:// or tls://"),
            (Endpoint::Tcp(_), Some(_)) => return mismatch("TLS settings given for plain TCP; use tls://"),
            (Endpoint::Tls(_), None) => return mismatch("listening with TLS needs a server certificate and key"),
            (Endpoint::Tcp(_), None) => None,
            (Endpoint::Tls(_), Some(config)) => Some(TlsAcceptor::from(config)),
        };
        let listener =
            TcpListener::bind(endpoint.addr()).await.map_err(|io| TransportError::Bind { endpoint: *endpoint, io })?;
        let local = listener.local_addr().map_err(|io| TransportError::Bind { endpoint: *endpoint, io })?;
        let endpoint = match endpoint {
            Endpoint::Tls(_) => Endpoint::Tls(local),
            _ => Endpoint::Tcp(local),
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let acceptor = tokio::spawn(accept_loop(listener, acceptor, limits, tx, endpoint));
        Ok(StreamListener { endpoint, incoming: Mutex::new(rx), acceptor })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.endpoint.addr()
    }

    /// The next connection. A connection that failed (a TLS handshake gone wrong or too slow) is
    /// returned as an error for that peer; the listener keeps going. Cancel-safe, so it can sit in
    /// a `select!` with a shutdown signal.
    pub async fn accept(&self) -> Result<(MessageStream, SocketAddr), AcceptError> {
        let next = self.incoming.lock().await.recv().await;
        next.unwrap_or(Err(AcceptError::Closed { endpoint: self.endpoint }))
    }
}

impl Drop for StreamListener {
    fn drop(&mut self) {
        // Stops accepting; handshakes in progress are dropped with the task's JoinSet.
        self.acceptor.abort();
    }
}

/// Handshakes in progress per source address; an entry goes when its handshake ends, however
/// it ends (a task dropped by `abort` included), through [`SourceSlot`].
type InProgress = Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>;

struct SourceSlot {
    in_progress: InProgress,
    ip: IpAddr,
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.in_progress.lock()
            && let Some(n) = map.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: HandshakeLimits,
    tx: mpsc::Sender<Accepted>,
    endpoint: Endpoint,
) {
    let mut handshakes = JoinSet::new();
    let in_progress: InProgress = Arc::default();
    // Oldest first, to find the one to drop at the total bound.
    let mut order: VecDeque<(AbortHandle, SocketAddr)> = VecDeque::new();
    loop {
        tokio::select! {
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(io) => {
                        if tx.send(Err(AcceptError::Accept { endpoint, io })).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let local = tcp.local_addr().unwrap_or(endpoint.addr());
                let Some(acceptor) = &tls else {
                    let stream = MessageStream::new(Either::Left(tcp), peer, local, false);
                    if tx.send(Ok((stream, peer))).await.is_err() {
                        return;
                    }
                    continue;
                };
                let slot = {
                    let Ok(mut map) = in_progress.lock() else { return };
                    let n = map.entry(peer.ip()).or_default();
                    if *n >= limits.per_source {
                        None
                    } else {
                        *n += 1;
                        Some(SourceSlot { in_progress: in_progress.clone(), ip: peer.ip() })
                    }
                };
                let Some(slot) = slot else {
                    drop(tcp);
                    let refused = AcceptError::HandshakesFromSource { peer, limit: limits.per_source };
                    if tx.send(Err(refused)).await.is_err() {
                        return;
                    }
                    continue;
                };
                order.retain(|(h, _)| !h.is_finished());
                if order.len() >= limits.total
                    && let Some((oldest, who)) = order.pop_front()
                {
                    oldest.abort();
                    if tx.send(Err(AcceptError::HandshakeDropped { peer: who, limit: limits.total })).await.is_err() {
                        return;
                    }
                }
                let handshake = acceptor.accept(tcp);
                let tx = tx.clone();
                let timeout = limits.timeout;
                let handle = handshakes.spawn(async move {
                    let _slot = slot;
                    let result = match tokio::time::timeout(timeout, handshake).await {
                        Ok(Ok(tls)) => Ok((MessageStream::new(Either::Right(tls), peer, local, true), peer)),
                        Ok(Err(io)) => Err(AcceptError::Handshake { peer, io }),
                        Err(_) => Err(AcceptError::HandshakeTimeout { peer, after: timeout }),
                    };
                    // The listener may be gone; then so is the connection.
                    let _ = tx.send(result).await;
                });
                order.push_back((handle, peer));
            }
        }
    }
}

/// One exporter's connection, read as a sequence of IPFIX messages.
pub struct MessageStream {
    frames: FramedRead<ServerIo, IpfixFraming>,
    peer: SocketAddr,
    local: SocketAddr,
    tls: bool,
}

impl MessageStream {
    fn new(io: ServerIo, peer: SocketAddr, local: SocketAddr, tls: bool) -> Self {
        MessageStream { frames: FramedRead::with_capacity(io, IpfixFraming, READ_BUFFER), peer, local, tls }
    }

    /// The next IPFIX message, framed by the header's Length (bytes 2–3, includes the 16-byte
    /// header). `None` at a clean end of stream; `Err` when the stream is cut mid-message or a
    /// header is not IPFIX (version != 10 or length < 16): the stream cannot be re-framed then,
    /// and the caller closes it. A peer that announces a long message and then sends nothing
    /// leaves this waiting; the caller bounds that with its idle timeout.
    pub async fn next_message(&mut self) -> Option<Result<Bytes, FramingError>> {
        let peer = self.peer;
        match self.frames.next().await? {
            Ok(msg) => Some(Ok(msg)),
            Err(FrameError::NotIpfix { version, length }) => {
                Some(Err(FramingError::NotIpfix { peer, version, length }))
            }
            Err(FrameError::Truncated { received, expected }) => {
                Some(Err(FramingError::Truncated { peer, received, expected }))
            }
            // A TLS peer that closes TCP without close_notify between two messages lost nothing:
            // the messages are self-delimiting. Inside a message, it is a truncation like any other.
            Err(FrameError::Io(io)) if self.tls && io.kind() == io::ErrorKind::UnexpectedEof => {
                let buffered = self.frames.read_buffer();
                if buffered.is_empty() {
                    None
                } else {
                    Some(Err(FramingError::Truncated {
                        peer,
                        received: buffered.len(),
                        expected: declared_length(buffered).unwrap_or(IPFIX_HEADER_LEN),
                    }))
                }
            }
            Err(FrameError::Io(io)) => Some(Err(FramingError::Io { peer, io })),
        }
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Bytes received and not yet framed into messages: what the kernel holds for this
    /// connection (for TLS, still encrypted) and the part of a message read already.
    pub fn unread_bytes(&self) -> u64 {
        let tcp = match self.frames.get_ref() {
            Either::Left(tcp) => tcp,
            Either::Right(tls) => tls.get_ref().0,
        };
        let queued = rustix::io::ioctl_fionread(tcp.as_fd()).unwrap_or(0);
        queued + self.frames.read_buffer().len() as u64
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }
}

/// What the framing decoder reports; [`MessageStream`] adds the peer.
#[derive(Debug)]
enum FrameError {
    Io(io::Error),
    NotIpfix { version: u16, length: u16 },
    Truncated { received: usize, expected: usize },
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        FrameError::Io(e)
    }
}

fn declared_length(buf: &[u8]) -> Option<usize> {
    buf.get(2..4).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
}

/// Splits a byte stream into IPFIX messages by the header's Length, checking the version and the
/// length as soon as they are in, so a non-IPFIX peer is caught before its "message" is buffered.
struct IpfixFraming;

impl Decoder for IpfixFraming {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let Some(length) = declared_length(src) else {
            return Ok(None);
        };
        let version = u16::from_be_bytes([src[0], src[1]]);
        if version != IPFIX_VERSION || length < IPFIX_HEADER_LEN {
            return Err(FrameError::NotIpfix { version, length: length as u16 });
        }
        if src.len() < length {
            src.reserve(length - src.len());
            return Ok(None);
        }
        Ok(Some(src.split_to(length).freeze()))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        match self.decode(src)? {
            Some(msg) => Ok(Some(msg)),
            None if src.is_empty() => Ok(None),
            None => Err(FrameError::Truncated {
                received: src.len(),
                expected: declared_length(src).unwrap_or(IPFIX_HEADER_LEN),
            }),
        }
    }
}

/// Sends IPFIX messages to a collector over TCP or TLS. Messages are buffered; `flush` (or
/// `shutdown`) puts them on the wire.
pub struct StreamSender {
    out: BufWriter<ClientIo>,
    local: SocketAddr,
    peer: Endpoint,
}

impl StreamSender {
    /// Connects to a `tcp://` endpoint without `tls`, or a `tls://` endpoint with a client
    /// configuration and the name the server's certificate must carry.
    pub async fn connect(
        to: &Endpoint,
        tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    ) -> Result<Self, TransportError> {
        Self::connect_from(to, None, tls).await
    }

    /// [`connect`](Self::connect) from a chosen local address (an ephemeral port on it), for a
    /// host with several addresses where the collector tells exporters apart by address.
    pub async fn connect_from(
        to: &Endpoint,
        local: Option<IpAddr>,
        tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    ) -> Result<Self, TransportError> {
        let mismatch = |problem| Err(TransportError::Mismatch { endpoint: *to, problem });
        let tls = match (to, tls) {
            (Endpoint::Udp(_), _) => return mismatch("a stream sender takes tcp:// or tls://"),
            (Endpoint::Tcp(_), Some(_)) => return mismatch("TLS settings given for plain TCP; use tls://"),
            (Endpoint::Tls(_), None) => {
                return mismatch("sending with TLS needs a CA certificate to verify the collector");
            }
            (_, tls) => tls,
        };
        let connect_error = |io| TransportError::Connect { endpoint: *to, io };
        let tcp = match local {
            None => TcpStream::connect(to.addr()).await.map_err(connect_error)?,
            Some(ip) => {
                let socket = if ip.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() };
                let socket = socket.map_err(connect_error)?;
                socket.bind(SocketAddr::new(ip, 0)).map_err(connect_error)?;
                socket.connect(to.addr()).await.map_err(connect_error)?
            }
        };
        // Messages are whole when written (the BufWriter gathers them), so Nagle would only delay.
        tcp.set_nodelay(true).map_err(|io| TransportError::SocketOption {
            option: "TCP_NODELAY",
            endpoint: *to,
            io,
        })?;
        let local = tcp.local_addr().map_err(|io| TransportError::Connect { endpoint: *to, io })?;
        let io = match tls {
            None => Either::Left(tcp),
            Some((config, name)) => Either::Right(
                TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|io| TransportError::Handshake { endpoint: *to, io })?,
            ),
        };
        Ok(StreamSender { out: BufWriter::with_capacity(READ_BUFFER, io), local, peer: *to })
    }

    /// Queues one message (written out when the buffer fills or on `flush`).
    pub async fn send(&mut self, msg: &[u8]) -> io::Result<()> {
        self.out.write_all(msg).await
    }

    pub async fn flush(&mut self) -> io::Result<()> {
        self.out.flush().await
    }

    /// Flushes, then closes the sending side (with a TLS close_notify first).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.out.shutdown().await
    }

    /// Whether the collector has turned the connection down: a collector never speaks first on an
    /// IPFIX stream, so a TLS alert (a client certificate refused after a TLS 1.3 handshake that
    /// looked complete), a reset, or the end of its side means what was written is not being
    /// read. Looks once at what has arrived, without waiting for more.
    pub async fn check(&mut self) -> io::Result<()> {
        // The runtime learns what arrived only when it polls for events; yielding makes it poll.
        tokio::task::yield_now().await;
        let mut byte = [0u8; 1];
        match futures::FutureExt::now_or_never(self.out.get_mut().read(&mut byte)) {
            None | Some(Ok(1..)) => Ok(()),
            Some(Ok(0)) => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the collector closed the connection (it may be at its session bound or refusing this exporter)",
            )),
            Some(Err(e)) => Err(e),
        }
    }

    /// Closes the connection without losing what was sent: flushes, closes the sending side (TLS
    /// close_notify, then FIN) and reads until the collector closes its side too, for at most
    /// `linger`. A socket closed with unread bytes in it (such as the session tickets a TLS 1.3
    /// server sends, which a sender never reads) is reset by the kernel, and a reset makes the
    /// collector's kernel discard whatever it had received and not yet read.
    ///
    /// An error says the collector did not take what was sent: it had closed or refused the
    /// connection before we were done (see [`check`](Self::check)), or reset it instead of
    /// reading to the end. `Ok` is as much as IPFIX over TCP can promise: the collector read the
    /// stream to its end and closed (or had not closed within `linger`, with everything
    /// acknowledged by its kernel); whether it then processed the records, TCP cannot say.
    pub async fn close(mut self, linger: Duration) -> io::Result<()> {
        self.check().await?;
        if let Err(e) = self.out.flush().await {
            // A refusal that arrived while flushing says more than the broken pipe it caused.
            return Err(self.check().await.err().unwrap_or(e));
        }
        self.check().await?;
        self.out.shutdown().await?;
        let mut io = self.out.into_inner();
        let mut discard = [0u8; 4096];
        let read_to_end = async {
            loop {
                match io.read(&mut discard).await {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    // A TLS collector may close TCP without close_notify after reading all.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        };
        tokio::time::timeout(linger, read_to_end).await.unwrap_or(Ok(()))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn peer(&self) -> Endpoint {
        self.peer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u16, length: u16) -> Vec<u8> {
        let mut m = vec![0; usize::from(length).max(4)];
        m[0..2].copy_from_slice(&version.to_be_bytes());
        m[2..4].copy_from_slice(&length.to_be_bytes());
        m
    }

    #[test]
    fn streams_can_move_to_their_tasks() {
        fn send<T: Send>() {}
        send::<MessageStream>();
        send::<StreamSender>();
        send::<StreamListener>();
    }

    #[test]
    fn decoder_frames_by_length_and_waits_for_the_rest() {
        let mut buf = BytesMut::new();
        let mut two = header(10, 20);
        two.extend(header(10, 16));
        buf.extend_from_slice(&two[..10]);
        assert!(IpfixFraming.decode(&mut buf).unwrap().is_none());
        assert!(buf.capacity() >= 20, "room reserved for the whole message");
        buf.extend_from_slice(&two[10..]);
        assert_eq!(IpfixFraming.decode(&mut buf).unwrap().unwrap().len(), 20);
        assert_eq!(IpfixFraming.decode(&mut buf).unwrap().unwrap().len(), 16);
        assert!(IpfixFraming.decode(&mut buf).unwrap().is_none());
        assert!(IpfixFraming.decode_eof(&mut buf).unwrap().is_none(), "clean end");
    }

    #[test]
    fn decoder_rejects_what_is_not_ipfix() {
        for (bytes, version, length) in [
            (header(9, 40), 9, 40),
            (header(10, 15), 10, 15),
            (header(10, 0), 10, 0),
            (vec![0x16, 0x03, 0x01, 0x02], 0x1603, 0x0102),
        ] {
            let mut buf = BytesMut::from(&bytes[..]);
            match IpfixFraming.decode(&mut buf) {
                Err(FrameError::NotIpfix { version: v, length: l }) => assert_eq!((v, l), (version, length)),
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn decoder_reports_a_cut_message_at_eof() {
        let mut buf = BytesMut::from(&header(10, 100)[..40]);
        match IpfixFraming.decode_eof(&mut buf) {
            Err(FrameError::Truncated { received: 40, expected: 100 }) => {}
            other => panic!("{other:?}"),
        }
        let mut buf = BytesMut::from(&[0u8, 10, 0][..]);
        match IpfixFraming.decode_eof(&mut buf) {
            Err(FrameError::Truncated { received: 3, expected: 16 }) => {}
            other => panic!("{other:?}"),
        }
    }
}
