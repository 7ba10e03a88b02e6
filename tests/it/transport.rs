//! The transport layer on 127.0.0.1: UDP batches, reuseport spreading and drop accounting; IPFIX
//! framing over TCP; TLS with and without client certificates; and `flowctl certs create`.

use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowctl::core::transport::certs::{self, CertsRequest};
use flowctl::core::transport::{
    AcceptError, ClientTls, Endpoint, FramingError, HandshakeLimits, MessageStream, ServerTls, StreamListener,
    StreamSender, TlsError, TransportError, UdpConfig, UdpListener, UdpReceiver, UdpSender, client_config,
    server_config,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::util::flowctl;

/// An IPFIX message of `len` bytes (header plus filler) with sequence number `seq`.
fn message(len: u16, seq: u32) -> Vec<u8> {
    let mut m = vec![0u8; usize::from(len)];
    m[0..2].copy_from_slice(&10u16.to_be_bytes());
    m[2..4].copy_from_slice(&len.to_be_bytes());
    m[8..12].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in m.iter_mut().enumerate().skip(16) {
        *b = (i as u32 ^ seq) as u8;
    }
    m
}

fn seq_of(m: &[u8]) -> u32 {
    u32::from_be_bytes(m[8..12].try_into().unwrap())
}

fn localhost0() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Everything queued on a receiver now (waiting up to `first` for the first datagram); the
/// payloads in order and how many `recv` calls brought them.
fn drain(rx: &mut UdpReceiver, first: Duration) -> (Vec<(SocketAddr, Vec<u8>)>, usize) {
    let mut got = Vec::new();
    let mut calls = 0;
    let mut wait = first;
    loop {
        let batch = rx.recv(wait).unwrap();
        if batch.is_empty() {
            return (got, calls);
        }
        calls += 1;
        for d in &batch {
            assert!(!d.truncated);
            got.push((d.peer, d.bytes.to_vec()));
        }
        wait = Duration::from_millis(50);
    }
}

async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), fut).await.expect("finished within 10 s")
}

// ---------------------------------------------------------------- UDP

#[test]
fn udp_reuseport_sockets_on_one_port_all_receive() {
    let listener = UdpListener::bind(localhost0(), &UdpConfig { sockets: 3, ..UdpConfig::default() }).unwrap();
    let addr = listener.local_addr();
    assert_ne!(addr.port(), 0);
    let mut receivers = listener.into_receivers();
    assert_eq!(receivers.len(), 3);
    assert!(receivers.iter().all(|r| r.local_addr() == addr), "one port for all");

    // The kernel picks a socket by hashing the address pair: 60 source ports reach all three
    // with near certainty ((2/3)^60 that one is missed).
    let senders: Vec<UdpSocket> = (0..60).map(|_| UdpSocket::bind(localhost0()).unwrap()).collect();
    for (i, s) in senders.iter().enumerate() {
        s.send_to(&message(100, i as u32), addr).unwrap();
    }
    let mut total = 0;
    let mut per_socket = Vec::new();
    for rx in &mut receivers {
        let (got, _) = drain(rx, Duration::from_millis(200));
        per_socket.push(got.len());
        total += got.len();
    }
    assert_eq!(total, 60);
    assert!(per_socket.iter().all(|&n| n > 0), "every socket received some: {per_socket:?}");
    eprintln!("datagrams per reuseport socket: {per_socket:?}");
}

#[test]
fn udp_batch_receive_returns_several_datagrams_per_call() {
    let listener = UdpListener::bind(localhost0(), &UdpConfig::default()).unwrap();
    let addr = listener.local_addr();
    let mut rx = listener.into_receivers().pop().unwrap();
    let tx = UdpSocket::bind(localhost0()).unwrap();
    for i in 0..200 {
        tx.send_to(&message(1400, i), addr).unwrap();
    }
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let batch = rx.recv(Duration::from_secs(1)).unwrap();
    assert_eq!(batch.len(), 64, "a full batch from what is queued");
    assert!(batch.time.secs >= before);
    let (got, calls) = drain(&mut rx, Duration::from_millis(200));
    assert_eq!(got.len(), 200 - 64);
    assert_eq!(calls, 3, "136 datagrams in batches of 64");
    for (i, (peer, bytes)) in got.iter().enumerate() {
        assert_eq!(*peer, tx.local_addr().unwrap());
        assert_eq!(bytes, &message(1400, 64 + i as u32));
    }
}

#[test]
fn udp_receive_times_out_with_an_empty_batch() {
    let listener = UdpListener::bind(localhost0(), &UdpConfig::default()).unwrap();
    let mut rx = listener.into_receivers().pop().unwrap();
    let start = Instant::now();
    assert!(rx.recv(Duration::from_millis(100)).unwrap().is_empty());
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(90) && waited < Duration::from_secs(2), "{waited:?}");
    assert!(rx.recv(Duration::ZERO).unwrap().is_empty(), "a zero timeout does not block");
}

#[test]
fn udp_largest_datagrams_arrive_whole() {
    // 65535 - 20 (IPv4) - 8 (UDP) = 65507: the largest UDP payload over IPv4.
    let listener = UdpListener::bind(localhost0(), &UdpConfig::default()).unwrap();
    let addr = listener.local_addr();
    let mut rx = listener.into_receivers().pop().unwrap();
    let tx = UdpSocket::bind(localhost0()).unwrap();
    let big: Vec<u8> = (0..65507u32).map(|i| (i % 251) as u8).collect();
    tx.send_to(&big, addr).unwrap();
    tx.send_to(&big[..1], addr).unwrap();
    let batch = rx.recv(Duration::from_secs(1)).unwrap();
    let d = batch.get(0).unwrap();
    assert_eq!(d.bytes.len(), 65507);
    assert!(!d.truncated);
    assert_eq!(d.bytes, &big[..]);

    // Over IPv6 the payload can reach 65527 bytes, when the machine has ::1.
    let Ok(listener) = UdpListener::bind("[::1]:0".parse().unwrap(), &UdpConfig::default()) else {
        eprintln!("no IPv6 loopback: the IPv6 half is skipped");
        return;
    };
    let addr = listener.local_addr();
    let mut rx = listener.into_receivers().pop().unwrap();
    let tx = UdpSocket::bind("[::1]:0").unwrap();
    let big: Vec<u8> = (0..65527u32).map(|i| (i % 241) as u8).collect();
    tx.send_to(&big, addr).unwrap();
    let batch = rx.recv(Duration::from_secs(1)).unwrap();
    let d = batch.get(0).unwrap();
    assert_eq!((d.bytes.len(), d.truncated), (65527, false));
    assert_eq!(d.bytes, &big[..]);
    assert_eq!(d.peer, tx.local_addr().unwrap());
}

#[test]
fn udp_rcvbuf_reports_asked_and_granted() {
    let rmem_max: usize =
        std::fs::read_to_string("/proc/sys/net/core/rmem_max").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    for asked in [256 << 10, 64 << 20] {
        let listener = UdpListener::bind(localhost0(), &UdpConfig { rcvbuf: asked, ..UdpConfig::default() }).unwrap();
        let buf = listener.rcvbuf();
        assert_eq!(buf.asked, asked);
        if buf.clamped() {
            // Without CAP_NET_ADMIN the kernel caps it at rmem_max (and reports double).
            assert_eq!(buf.granted, 2 * rmem_max, "{buf:?}");
        } else {
            assert!(buf.granted >= 2 * asked, "{buf:?}");
        }
        eprintln!("rcvbuf asked {} granted {} clamped {}", buf.asked, buf.granted, buf.clamped());
    }
    let default = UdpListener::bind(localhost0(), &UdpConfig { rcvbuf: 0, ..UdpConfig::default() }).unwrap();
    assert!(default.rcvbuf().granted > 0 && !default.rcvbuf().clamped());
}

#[test]
fn udp_kernel_drops_are_counted_exactly() {
    // A 32 KiB buffer holds a few dozen small datagrams; the rest are dropped while nobody reads.
    let listener = UdpListener::bind(localhost0(), &UdpConfig { rcvbuf: 32 << 10, ..UdpConfig::default() }).unwrap();
    let addr = listener.local_addr();
    let mut rx = listener.into_receivers().pop().unwrap();
    assert_eq!(rx.kernel_drops(), 0);
    let mut tx = UdpSender::bind(localhost0(), addr, 0).unwrap();
    let sent = 3000;
    let msgs: Vec<Vec<u8>> = (0..sent).map(|i| message(200, i)).collect();
    for chunk in msgs.chunks(100) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        assert_eq!(tx.send_batch(&refs).unwrap(), refs.len());
    }
    let (got, _) = drain(&mut rx, Duration::from_millis(200));
    let drops = rx.kernel_drops();
    eprintln!("sent {sent}, received {}, kernel drops {drops}", got.len());
    assert!(drops > 0 && got.len() > 1);
    assert_eq!(drops, u64::from(sent) - got.len() as u64, "every datagram is received or counted as dropped");
    // What got through is in order, with the gaps where the buffer was full.
    let seqs: Vec<u32> = got.iter().map(|(_, m)| seq_of(m)).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[test]
fn udp_sender_batches_arrive_in_order() {
    let listener = UdpListener::bind(localhost0(), &UdpConfig::default()).unwrap();
    let addr = listener.local_addr();
    let mut rx = listener.into_receivers().pop().unwrap();
    let mut tx = UdpSender::bind(localhost0(), addr, 1 << 20).unwrap();
    assert_ne!(tx.local_addr().port(), 0);
    let msgs: Vec<Vec<u8>> = (0..1000).map(|i| message(100 + (i % 50) as u16, i)).collect();
    for chunk in msgs.chunks(100) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        assert_eq!(tx.send_batch(&refs).unwrap(), 100);
    }
    let (got, _) = drain(&mut rx, Duration::from_secs(1));
    assert_eq!(got.len(), 1000);
    for (i, (peer, bytes)) in got.iter().enumerate() {
        assert_eq!(*peer, tx.local_addr());
        assert_eq!(bytes, &msgs[i]);
    }
    assert_eq!(rx.kernel_drops(), 0);
}

#[test]
fn udp_sender_reports_errors() {
    let listener = UdpListener::bind(localhost0(), &UdpConfig::default()).unwrap();
    let mut tx = UdpSender::bind(localhost0(), listener.local_addr(), 0).unwrap();
    let too_big = vec![0u8; 70_000];
    let err = tx.send_batch(&[&too_big]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(nix::libc::EMSGSIZE), "{err}");
    // After one that went, the error ends the batch and the count says how far it got.
    let ok = message(100, 1);
    assert_eq!(tx.send_batch(&[&ok, &too_big, &ok]).unwrap(), 1);
    assert_eq!(tx.send_batch(&[]).unwrap(), 0);
}

#[test]
fn udp_bind_errors_name_the_address() {
    let taken = UdpSocket::bind(localhost0()).unwrap();
    let addr = taken.local_addr().unwrap();
    let err = UdpListener::bind(addr, &UdpConfig::default()).err().unwrap();
    let text = err.to_string();
    assert!(matches!(err, TransportError::Bind { .. }), "{text}");
    assert!(text.contains(&format!("udp://{addr}")) && text.contains("in use"), "{text}");
}

// ---------------------------------------------------------------- TCP

async fn tcp_listener() -> (StreamListener, SocketAddr) {
    let listener = StreamListener::bind(&Endpoint::Tcp(localhost0()), None, HandshakeLimits::default()).await.unwrap();
    let addr = listener.local_addr();
    (listener, addr)
}

async fn accept(listener: &StreamListener) -> MessageStream {
    within(listener.accept()).await.unwrap().0
}

async fn next(stream: &mut MessageStream) -> Option<Result<bytes::Bytes, FramingError>> {
    within(stream.next_message()).await
}

#[tokio::test]
async fn tcp_several_messages_in_one_write() {
    let (listener, addr) = tcp_listener().await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let mut all = message(16, 1);
    all.extend(message(300, 2));
    all.extend(message(65535, 3));
    client.write_all(&all).await.unwrap();
    client.shutdown().await.unwrap();

    let (mut stream, peer) = within(listener.accept()).await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!((stream.peer(), stream.local(), stream.is_tls()), (peer, addr, false));
    for (len, seq) in [(16, 1), (300, 2), (65535, 3)] {
        let m = next(&mut stream).await.unwrap().unwrap();
        assert_eq!(&m[..], &message(len, seq)[..]);
    }
    assert!(next(&mut stream).await.is_none(), "clean end of stream");
}

#[tokio::test]
async fn tcp_message_split_across_writes_with_delays() {
    let (listener, addr) = tcp_listener().await;
    let writer = tokio::spawn(async move {
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.set_nodelay(true).unwrap();
        let m = message(1000, 7);
        for piece in [&m[..2], &m[2..11], &m[11..500], &m[500..]] {
            client.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        client.write_all(&message(20, 8)).await.unwrap();
    });
    let mut stream = accept(&listener).await;
    assert_eq!(&next(&mut stream).await.unwrap().unwrap()[..], &message(1000, 7)[..]);
    assert_eq!(&next(&mut stream).await.unwrap().unwrap()[..], &message(20, 8)[..]);
    assert!(next(&mut stream).await.is_none());
    writer.await.unwrap();
}

#[tokio::test]
async fn tcp_stream_cut_mid_message_is_an_error() {
    let (listener, addr) = tcp_listener().await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let m = message(100, 1);
    client.write_all(&message(50, 0)).await.unwrap();
    client.write_all(&m[..40]).await.unwrap();
    drop(client);
    let mut stream = accept(&listener).await;
    assert_eq!(next(&mut stream).await.unwrap().unwrap().len(), 50);
    let err = next(&mut stream).await.unwrap().unwrap_err();
    assert!(matches!(err, FramingError::Truncated { received: 40, expected: 100, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&stream.peer().to_string()) && text.contains("40 of its 100 bytes"), "{text}");
    assert!(next(&mut stream).await.is_none(), "nothing after the error");
}

#[tokio::test]
async fn tcp_non_ipfix_header_is_an_error() {
    let (listener, addr) = tcp_listener().await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    // A NetFlow v9 header, then a valid IPFIX message that can no longer be found.
    let mut v9 = message(40, 1);
    v9[0..2].copy_from_slice(&9u16.to_be_bytes());
    client.write_all(&v9).await.unwrap();
    client.write_all(&message(40, 2)).await.unwrap();
    let mut stream = accept(&listener).await;
    let err = next(&mut stream).await.unwrap().unwrap_err();
    assert!(matches!(err, FramingError::NotIpfix { version: 9, length: 40, .. }), "{err}");
    assert!(err.to_string().contains("expected IPFIX (version 10"), "{err}");
    assert!(next(&mut stream).await.is_none());

    // A length shorter than the header cannot frame anything either.
    let mut client = TcpStream::connect(addr).await.unwrap();
    let mut short = message(16, 1);
    short[2..4].copy_from_slice(&8u16.to_be_bytes());
    client.write_all(&short).await.unwrap();
    let mut stream = accept(&listener).await;
    let err = next(&mut stream).await.unwrap().unwrap_err();
    assert!(matches!(err, FramingError::NotIpfix { version: 10, length: 8, .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_many_concurrent_connections() {
    let (listener, addr) = tcp_listener().await;
    const CLIENTS: u32 = 50;
    const PER_CLIENT: u32 = 40;
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        clients.push(tokio::spawn(async move {
            let mut tx = StreamSender::connect(&Endpoint::Tcp(addr), None).await.unwrap();
            for i in 0..PER_CLIENT {
                tx.send(&message(100 + (i % 7) as u16, c * 1000 + i)).await.unwrap();
                if i % 10 == 0 {
                    tx.flush().await.unwrap();
                }
            }
            tx.shutdown().await.unwrap();
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..CLIENTS {
        let mut stream = accept(&listener).await;
        readers.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            while let Some(m) = stream.next_message().await {
                seqs.push(seq_of(&m.unwrap()));
            }
            seqs
        }));
    }
    let mut total = 0;
    for r in readers {
        let seqs = within(r).await.unwrap();
        assert_eq!(seqs.len() as u32, PER_CLIENT);
        let c = seqs[0] / 1000;
        assert_eq!(seqs, (0..PER_CLIENT).map(|i| c * 1000 + i).collect::<Vec<_>>(), "in order per connection");
        total += seqs.len();
    }
    for c in clients {
        c.await.unwrap();
    }
    assert_eq!(total as u32, CLIENTS * PER_CLIENT);
}

#[tokio::test]
async fn stream_endpoints_must_fit() {
    let err = StreamListener::bind(&Endpoint::Udp(localhost0()), None, HandshakeLimits::default()).await.err().unwrap();
    assert!(err.to_string().contains("tcp:// or tls://"), "{err}");
    let err = StreamListener::bind(&Endpoint::Tls(localhost0()), None, HandshakeLimits::default()).await.err().unwrap();
    assert!(err.to_string().contains("server certificate"), "{err}");
    let err = StreamSender::connect(&Endpoint::Tls(localhost0()), None).await.err().unwrap();
    assert!(err.to_string().contains("CA certificate"), "{err}");
    // Nobody listens on the port of a socket just closed.
    let port = std::net::TcpListener::bind(localhost0()).unwrap().local_addr().unwrap();
    let err = StreamSender::connect(&Endpoint::Tcp(port), None).await.err().unwrap();
    assert!(err.to_string().starts_with(&format!("cannot connect to tcp://{port}")), "{err}");
}

// ---------------------------------------------------------------- TLS

/// A CA with a server certificate for 127.0.0.1 and localhost and a client certificate, made by
/// `certs::create` in a temporary directory.
struct Pki {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Pki {
    fn new(clients: &[&str]) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        certs::create(&CertsRequest {
            servers: vec!["127.0.0.1".into(), "localhost".into()],
            clients: clients.iter().map(|c| c.to_string()).collect(),
            ..CertsRequest::new(&root)
        })
        .unwrap();
        Pki { _dir: dir, root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn server(&self, mutual: bool) -> Arc<rustls::ServerConfig> {
        server_config(&ServerTls {
            cert: self.path("server.crt"),
            key: self.path("server.key"),
            client_ca: mutual.then(|| self.path("ca.crt")),
        })
        .unwrap()
    }

    fn client(&self, ca: &Path, identity: Option<&str>) -> ClientTls {
        ClientTls {
            ca: ca.to_owned(),
            cert: identity.map(|c| self.path(&format!("client-{c}.crt"))),
            key: identity.map(|c| self.path(&format!("client-{c}.key"))),
            server_name: None,
        }
    }
}

async fn tls_listener(config: Arc<rustls::ServerConfig>) -> (StreamListener, Endpoint) {
    tls_listener_with(config, HandshakeLimits::default()).await
}

async fn tls_listener_with(config: Arc<rustls::ServerConfig>, limits: HandshakeLimits) -> (StreamListener, Endpoint) {
    let listener = StreamListener::bind(&Endpoint::Tls(localhost0()), Some(config), limits).await.unwrap();
    let endpoint = Endpoint::Tls(listener.local_addr());
    (listener, endpoint)
}

async fn tls_send(to: Endpoint, tls: &ClientTls, msgs: u32) -> Result<(), TransportError> {
    let name = tls.server_name_for(&to.to_string(), &to).unwrap();
    let mut tx = StreamSender::connect(&to, Some((client_config(tls).unwrap(), name))).await?;
    for i in 0..msgs {
        tx.send(&message(200, i)).await.map_err(|io| TransportError::Connect { endpoint: to, io })?;
    }
    tx.shutdown().await.map_err(|io| TransportError::Connect { endpoint: to, io })
}

/// Issue #20, defect 6: 64 silent connections used to fill every handshake slot, and accepting
/// stopped until they timed out, so a good exporter waited 10 s or was locked out. Now one
/// address gets at most `per_source` handshakes at once, the oldest handshake makes room at the
/// total bound, and accepting never stops: the good exporter is served at once.
#[tokio::test]
async fn silent_tls_clients_neither_starve_handshakes_nor_lock_out_a_good_exporter() {
    let pki = Pki::new(&[]);
    let limits = HandshakeLimits { timeout: Duration::from_secs(30), per_source: 16, total: 40 };
    let (listener, to) = tls_listener_with(pki.server(false), limits).await;
    // Connecting while the listener's answers are read, as a collector reads them.
    let silent = tokio::spawn(async move {
        let mut silent = Vec::new();
        // 200 from one address: 16 get a handshake, the rest are closed at once.
        for _ in 0..200 {
            silent.push(TcpStream::connect(to.addr()).await.unwrap());
        }
        // 30 more from 30 other addresses: the total bound of 40 drops the 6 oldest.
        for i in 0..30u8 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::from(([127, 0, 1, 10 + i], 0))).unwrap();
            silent.push(socket.connect(to.addr()).await.unwrap());
        }
        silent
    });
    let (mut refused, mut dropped) = (0, 0);
    while refused + dropped < 184 + 6 {
        match within(listener.accept()).await {
            Err(AcceptError::HandshakesFromSource { limit: 16, .. }) => refused += 1,
            Err(AcceptError::HandshakeDropped { limit: 40, .. }) => dropped += 1,
            Err(e) => panic!("{e}"),
            other => panic!("expected a refused or dropped handshake: {:?}", other.map(|(_, peer)| peer)),
        }
    }
    assert_eq!((refused, dropped), (184, 6));
    let silent = silent.await.unwrap();

    // Served within `within`'s 10 s, a third of the 30 s handshake timeout: a listener that
    // waited for the silent handshakes to time out could not serve it in time.
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = (client_config(&pki.client(&pki.path("ca.crt"), None)).unwrap(), name);
    let sender = tokio::spawn(async move {
        let mut tx = StreamSender::connect_from(&to, Some([127, 0, 0, 2].into()), Some(tls)).await.unwrap();
        tx.send(&message(100, 7)).await.unwrap();
        tx.shutdown().await.unwrap();
    });
    // One more handshake dropped to make room for the good exporter, then its connection.
    let (mut stream, peer) = loop {
        match within(listener.accept()).await {
            Ok(conn) => break conn,
            Err(AcceptError::HandshakeDropped { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(peer.ip(), std::net::IpAddr::from([127, 0, 0, 2]));
    assert_eq!(read_all(&mut stream).await, [7]);
    sender.await.unwrap();
    drop(silent);
}

async fn read_all(stream: &mut MessageStream) -> Vec<u32> {
    let mut seqs = Vec::new();
    while let Some(m) = next(stream).await {
        seqs.push(seq_of(&m.unwrap()));
    }
    seqs
}

#[tokio::test]
async fn tls_server_only() {
    let pki = Pki::new(&[]);
    let (listener, to) = tls_listener(pki.server(false)).await;
    let client = pki.client(&pki.path("ca.crt"), None);
    let sender = tokio::spawn(async move { tls_send(to, &client, 5).await });
    let (mut stream, peer) = within(listener.accept()).await.unwrap();
    assert!(stream.is_tls());
    assert_eq!(stream.peer(), peer);
    assert_eq!(read_all(&mut stream).await, [0, 1, 2, 3, 4]);
    sender.await.unwrap().unwrap();

    // Checked by DNS name too: the certificate names localhost as well.
    let client = ClientTls { server_name: Some("localhost".into()), ..pki.client(&pki.path("ca.crt"), None) };
    let sender = tokio::spawn(async move { tls_send(to, &client, 2).await });
    let mut stream = accept(&listener).await;
    assert_eq!(read_all(&mut stream).await, [0, 1]);
    sender.await.unwrap().unwrap();
}

#[tokio::test]
async fn tls_wrong_server_name_is_rejected() {
    let pki = Pki::new(&[]);
    let (listener, to) = tls_listener(pki.server(false)).await;
    let client = ClientTls { server_name: Some("other.example".into()), ..pki.client(&pki.path("ca.crt"), None) };
    let err = within(tls_send(to, &client, 1)).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TransportError::Handshake { .. }), "{text}");
    assert!(text.contains(&to.to_string()) && text.contains("not valid for name \"other.example\""), "{text}");
    // The server saw the client give up.
    let err = within(listener.accept()).await.err().unwrap();
    assert!(matches!(err, AcceptError::Handshake { .. }), "{err}");

    // A server whose certificate comes from another CA (of the same name) is not trusted either.
    let other = Pki::new(&[]);
    let err = within(tls_send(to, &other.client(&other.path("ca.crt"), None), 1)).await.unwrap_err();
    assert!(err.to_string().contains("invalid peer certificate: BadSignature"), "{err}");
}

#[tokio::test]
async fn tls_mutual_requires_a_client_certificate_from_the_ca() {
    let pki = Pki::new(&["node-1"]);
    let other = Pki::new(&["node-1"]);
    let (listener, to) = tls_listener(pki.server(true)).await;
    let ca = pki.path("ca.crt");

    // No client certificate: rejected in the handshake. (With TLS 1.3 the client may finish its
    // side first; the server is the one that says no.)
    let client = pki.client(&ca, None);
    let sender = tokio::spawn(async move { tls_send(to, &client, 1).await });
    let err = within(listener.accept()).await.err().unwrap();
    assert!(matches!(err, AcceptError::Handshake { .. }), "{err}");
    assert!(err.to_string().contains("TLS handshake with 127.0.0.1:"), "{err}");
    assert!(err.peer().is_some());
    let _ = sender.await.unwrap();

    // A client certificate signed by another CA (of the same name, so only the signature tells):
    // rejected.
    let client = ClientTls { ca: ca.clone(), ..other.client(&ca, Some("node-1")) };
    let sender = tokio::spawn(async move { tls_send(to, &client, 1).await });
    let err = within(listener.accept()).await.err().unwrap();
    assert!(err.to_string().contains("invalid peer certificate: BadSignature"), "{err}");
    let _ = sender.await.unwrap();

    // The listener goes on: the right certificate gets in.
    let client = pki.client(&ca, Some("node-1"));
    let sender = tokio::spawn(async move { tls_send(to, &client, 3).await });
    let mut stream = accept(&listener).await;
    assert!(stream.is_tls());
    assert_eq!(read_all(&mut stream).await, [0, 1, 2]);
    sender.await.unwrap().unwrap();
}

#[tokio::test]
async fn tls_listener_survives_a_failed_handshake() {
    let pki = Pki::new(&[]);
    let (listener, to) = tls_listener(pki.server(false)).await;
    // Plain IPFIX to a TLS port is not a ClientHello.
    let mut plain = TcpStream::connect(to.addr()).await.unwrap();
    plain.write_all(&message(100, 1)).await.unwrap();
    let err = within(listener.accept()).await.err().unwrap();
    assert_eq!(err.peer(), Some(plain.local_addr().unwrap()));
    // A client that connects and says nothing does not hold up the next one.
    let _silent = TcpStream::connect(to.addr()).await.unwrap();
    let client = pki.client(&pki.path("ca.crt"), None);
    let sender = tokio::spawn(async move { tls_send(to, &client, 1).await });
    let mut stream = accept(&listener).await;
    assert_eq!(read_all(&mut stream).await, [0]);
    sender.await.unwrap().unwrap();
}

#[tokio::test]
async fn tls_peer_closing_without_close_notify() {
    let pki = Pki::new(&[]);
    let (listener, to) = tls_listener(pki.server(false)).await;
    let config = client_config(&pki.client(&pki.path("ca.crt"), None)).unwrap();
    // Closes the TCP connection under TLS without a close_notify, after `tail` bytes of a
    // second message.
    let cut = |tail: usize| {
        let config = config.clone();
        async move {
            let tcp = TcpStream::connect(to.addr()).await.unwrap();
            let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
            let mut tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.unwrap();
            tls.write_all(&message(100, 1)).await.unwrap();
            tls.write_all(&message(100, 2)[..tail]).await.unwrap();
            tls.flush().await.unwrap();
            drop(tls.into_inner().0);
        }
    };
    // Between messages nothing is lost: a clean end.
    let sender = tokio::spawn(cut(0));
    let mut stream = accept(&listener).await;
    assert_eq!(seq_of(&next(&mut stream).await.unwrap().unwrap()), 1);
    assert!(next(&mut stream).await.is_none());
    sender.await.unwrap();
    // Inside a message it is a truncation.
    let sender = tokio::spawn(cut(30));
    let mut stream = accept(&listener).await;
    assert_eq!(seq_of(&next(&mut stream).await.unwrap().unwrap()), 1);
    let err = next(&mut stream).await.unwrap().unwrap_err();
    assert!(matches!(err, FramingError::Truncated { received: 30, expected: 100, .. }), "{err}");
    sender.await.unwrap();
}

#[tokio::test]
async fn closing_waits_for_the_collector_so_nothing_is_reset() {
    const MESSAGES: u32 = 2000;
    let pki = Pki::new(&[]);
    let (listener, to) = tls_listener(pki.server(false)).await;
    let client = pki.client(&pki.path("ca.crt"), None);
    let tls = (client_config(&client).unwrap(), client.server_name_for(&to.to_string(), &to).unwrap());
    let sender = tokio::spawn(async move {
        let mut tx = StreamSender::connect(&to, Some(tls)).await.unwrap();
        for i in 0..MESSAGES {
            tx.send(&message(1000, i)).await.unwrap();
        }
        tx.close(Duration::from_secs(5)).await.unwrap();
    });
    // The collector starts reading late, so the sender closes with messages still in flight. The
    // TLS 1.3 session tickets the server sent sit unread at the sender: had it just dropped its
    // socket, the kernel would have reset the connection and discarded what was not delivered.
    let mut stream = accept(&listener).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(read_all(&mut stream).await, (0..MESSAGES).collect::<Vec<_>>());
    drop(stream);
    within(sender).await.unwrap();
}

#[tokio::test]
async fn tls_to_a_plain_tcp_listener_is_not_ipfix() {
    let pki = Pki::new(&[]);
    let (listener, addr) = tcp_listener().await;
    let client = pki.client(&pki.path("ca.crt"), None);
    let sender = tokio::spawn(async move { tls_send(Endpoint::Tls(addr), &client, 1).await });
    let mut stream = accept(&listener).await;
    let err = next(&mut stream).await.unwrap().unwrap_err();
    // A ClientHello record starts 0x16 0x03.
    assert!(matches!(err, FramingError::NotIpfix { version: 0x1603, .. }), "{err}");
    drop(stream);
    assert!(sender.await.unwrap().is_err());
}

#[test]
fn tls_configuration_errors_name_the_file() {
    let pki = Pki::new(&["node-1"]);
    let missing = pki.path("nope.crt");
    let err = server_config(&ServerTls { cert: missing.clone(), key: pki.path("server.key"), client_ca: None })
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("cannot read the TLS certificate {}: ", missing.display())), "{err}");

    let err = server_config(&ServerTls { cert: pki.path("server.key"), key: pki.path("server.key"), client_ca: None })
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!("cannot read the TLS certificate {}: no PEM certificate in it", pki.path("server.key").display())
    );

    let err = server_config(&ServerTls { cert: pki.path("server.crt"), key: pki.path("server.crt"), client_ca: None })
        .unwrap_err()
        .to_string();
    assert!(err.contains("no PEM private key in it") && err.contains("server.crt"), "{err}");

    let err =
        server_config(&ServerTls { cert: pki.path("server.crt"), key: pki.path("client-node-1.key"), client_ca: None })
            .unwrap_err();
    assert!(matches!(err, TlsError::Rustls { .. }), "{err}");
    assert!(
        err.to_string().contains("server.crt with the key") && err.to_string().contains("client-node-1.key"),
        "{err}"
    );

    let err = client_config(&ClientTls {
        cert: Some(pki.path("client-node-1.crt")),
        ..pki.client(&pki.path("ca.crt"), None)
    })
    .unwrap_err();
    assert!(matches!(err, TlsError::HalfClientIdentity { given: "certificate" }), "{err}");
    let err = client_config(&pki.client(&pki.path("server.key"), None)).unwrap_err().to_string();
    assert!(err.contains("CA certificate") && err.contains("no PEM certificate"), "{err}");
}

// ---------------------------------------------------------------- flowctl certs create

#[tokio::test]
async fn certs_command_makes_certificates_that_work_for_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let out = flowctl()
        .args(["certs", "create", "--out"])
        .arg(dir.path())
        .args(["--server", "127.0.0.1", "localhost", "--client", "node-1", "--client", "node-2", "--days", "30"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for f in ["ca.crt", "ca.key", "server.crt", "server.key", "client-node-1.crt", "client-node-2.key"] {
        assert!(stdout.contains(&dir.path().join(f).display().to_string()), "{f} in {stdout}");
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.path().join(f)).unwrap().permissions());
        if f.ends_with(".key") {
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }

    let p = |f: &str| dir.path().join(f);
    let server =
        server_config(&ServerTls { cert: p("server.crt"), key: p("server.key"), client_ca: Some(p("ca.crt")) })
            .unwrap();
    let (listener, to) = tls_listener(server).await;
    let client = ClientTls {
        ca: p("ca.crt"),
        cert: Some(p("client-node-2.crt")),
        key: Some(p("client-node-2.key")),
        server_name: Some("localhost".into()),
    };
    let sender = tokio::spawn(async move { tls_send(to, &client, 2).await });
    let mut stream = accept(&listener).await;
    assert_eq!(read_all(&mut stream).await, [0, 1]);
    sender.await.unwrap().unwrap();

    // Again: existing server and client files are kept unless --force.
    let out =
        flowctl().args(["certs", "create", "--out"]).arg(dir.path()).args(["--server", "localhost"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.crt already exists") && err.contains("--force"), "{err}");
    let out = flowctl()
        .args(["certs", "create", "--force", "--out"])
        .arg(dir.path())
        .args(["--server", "localhost"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rewrote_ca = stdout.lines().any(|l| l.starts_with("wrote") && (l.ends_with("ca.crt") || l.ends_with("ca.key")));
    assert!(stdout.contains("signed with the existing CA") && !rewrote_ca, "{stdout}");
}

fn mode_of(path: &Path) -> u32 {
    std::os::unix::fs::MetadataExt::mode(&std::fs::symlink_metadata(path).unwrap()) & 0o7777
}

fn certs_create(out: &Path, more: &[&str]) -> std::process::Output {
    flowctl().args(["certs", "create", "--out"]).arg(out).args(["--server", "localhost"]).args(more).output().unwrap()
}

/// Issue #20: a directory another local user made first was used, and a CA planted in it signed.
#[test]
fn certs_create_refuses_a_directory_owned_by_another_user() {
    let top = tempfile::tempdir().unwrap();
    let planted = top.path().join("pki");
    std::fs::create_dir(&planted).unwrap();
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
    let out = certs_create(&planted, &["--client", "node-1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&planted.display().to_string()) && err.contains("owned by uid 65534"), "{err}");
    assert_eq!(std::fs::read_dir(&planted).unwrap().count(), 0, "nothing written in it");
}

/// Issue #20: a symbolic link in place of the directory was followed.
#[test]
fn certs_create_refuses_a_symlinked_directory() {
    let top = tempfile::tempdir().unwrap();
    let elsewhere = top.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let link = top.path().join("pki");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let out = certs_create(&link, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&link.display().to_string()) && err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing written through the link");
}

/// Issue #20: `--force` followed a symbolic link planted as client.crt and overwrote its target.
#[test]
fn certs_create_force_refuses_a_symlinked_client_certificate_and_leaves_its_target_alone() {
    let top = tempfile::tempdir().unwrap();
    let pki = top.path().join("pki");
    assert!(certs_create(&pki, &["--client", "node-1"]).status.success());
    let victim = top.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let cert = pki.join("client-node-1.crt");
    std::fs::remove_file(&cert).unwrap();
    std::os::unix::fs::symlink(&victim, &cert).unwrap();
    let server_before = std::fs::read(pki.join("server.crt")).unwrap();

    let out = certs_create(&pki, &["--client", "node-1", "--force"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&cert.display().to_string()) && err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::symlink_metadata(&cert).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(pki.join("server.crt")).unwrap(), server_before, "nothing else rewritten");
}

/// Issue #20: under umask 000 the directory was 0777 and the certificates 0666, so anyone could
/// replace the trust anchor.
#[test]
fn certs_create_modes_do_not_depend_on_the_umask() {
    let top = tempfile::tempdir().unwrap();
    let pki = top.path().join("pki");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" certs create --out \"$1\" --server localhost --client node-1")
        .arg(assert_cmd::cargo::cargo_bin("flowctl"))
        .arg(&pki)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode_of(&pki), 0o700, "the directory");
    for f in ["ca.crt", "server.crt", "client-node-1.crt"] {
        assert_eq!(mode_of(&pki.join(f)), 0o644, "{f}");
    }
    for f in ["ca.key", "server.key", "client-node-1.key"] {
        assert_eq!(mode_of(&pki.join(f)), 0o600, "{f}");
    }
}

/// Issue #20: a world-readable ca.key signed new certificates without a word.
#[test]
fn certs_create_warns_when_the_ca_key_is_readable_by_others() {
    let top = tempfile::tempdir().unwrap();
    let pki = top.path().join("pki");
    assert!(certs_create(&pki, &[]).status.success());
    let ca_key = pki.join("ca.key");
    std::fs::set_permissions(&ca_key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = certs_create(&pki, &["--force"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&ca_key.display().to_string()) && err.contains("open to group or others (mode 0644)"),
        "{err}"
    );

    std::fs::set_permissions(&ca_key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = certs_create(&pki, &["--force"]);
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
