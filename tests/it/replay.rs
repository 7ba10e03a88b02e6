//! `flowctl replay` end to end: every real capture replayed to our collector over UDP, TCP, TLS
//! and mutual TLS arrives as exactly the records `decode` finds in it, session by session;
//! pacing by rate and by capture time, loops with and without sequence rewriting, the session
//! bound; nfcapd reads the same flows; the command's report, signals and exit codes.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use flowctl::core::capture::{CaptureOptions, CaptureReader, MessagePcapWriter};
use flowctl::core::collector::{Board, CollectingProcess, CollectorConfig, RecordSink, SinkFactory};
use flowctl::core::decode::{self, DecodeOptions};
use flowctl::core::ipfix::decoder::{Decoder, DecoderConfig, Origin, RecordRef, SessionKey, Transport, Visitor};
use flowctl::core::ipfix::error::DecodeError;
use flowctl::core::ipfix::{FieldSpec, MessageWriter, Template};
use flowctl::core::output::RecordFormat;
use flowctl::core::output::json::JsonWriter;
use flowctl::core::replay::{self, ReplayOptions, ReplayReport, StreamTls};
use flowctl::core::time::Timestamp;
use flowctl::core::transport::certs::{self, CertsRequest};
use flowctl::core::transport::{ClientTls, Endpoint, ServerTls, UdpConfig, client_config};
use serde_json::Value;

use crate::util::{json_lines, testdata_or_skip};

// ---------------------------------------------------------------- an in-process collector

/// Records as `collect -o json` prints them (no frame), appended by every receiving thread and
/// connection in whole flushes, so each session's records stay in arrival order.
#[derive(Clone, Default)]
struct Received {
    lines: Arc<Mutex<Vec<u8>>>,
    count: Arc<AtomicU64>,
}

struct JsonSink {
    json: JsonWriter,
    buf: Vec<u8>,
    to: Received,
}

impl RecordSink for JsonSink {
    fn record(&mut self, r: &RecordRef<'_>) {
        self.json.record(r, &mut self.buf);
        self.to.count.fetch_add(1, Ordering::Relaxed);
    }

    fn flush(&mut self) {
        self.to.lines.lock().unwrap().append(&mut self.buf);
    }
}

impl Drop for JsonSink {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Received {
    fn sinks(&self) -> SinkFactory {
        let to = self.clone();
        Arc::new(move || Box::new(JsonSink { json: JsonWriter::new(false), buf: Vec::new(), to: to.clone() }))
    }

    /// Waits until `want` records came (or 10 s), then a moment for any that should not come.
    async fn wait_for(&self, want: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.count.load(Ordering::Relaxed) < want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    fn lines(&self) -> String {
        String::from_utf8(self.lines.lock().unwrap().clone()).unwrap()
    }
}

/// A collecting process on 127.0.0.1:0 (one UDP socket with a 4 MiB buffer), its endpoint, and
/// where its records go.
async fn collector(listen: Endpoint, tls: Option<ServerTls>) -> (CollectingProcess, Endpoint, Received) {
    let received = Received::default();
    let config = CollectorConfig {
        listen: vec![listen],
        tls,
        udp: UdpConfig { rcvbuf: 4 << 20, sockets: 1, batch: 64 },
        ..CollectorConfig::default()
    };
    let process = CollectingProcess::start(config, received.sinks()).await.unwrap();
    let endpoint = process.endpoints()[0];
    (process, endpoint, received)
}

async fn stop(process: CollectingProcess) -> Board {
    process.run(std::future::ready(())).await
}

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

/// Replays on a blocking thread (the replay drives its own runtime for TCP and TLS).
pub(crate) async fn replay_in_process(opts: ReplayOptions) -> ReplayReport {
    tokio::task::spawn_blocking(move || replay::run(&opts, &AtomicBool::new(false)))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("replay failed: {e}"))
}

// ---------------------------------------------------------------- what decode says

/// What `flowctl decode -o json` gives for a capture (the same code path, run in-process with
/// the command's defaults), and what tells a TCP collector's view apart from it.
struct Expected {
    path: PathBuf,
    /// Decode's records by session (exporter, collector), without what legitimately differs.
    sessions: HashMap<(Option<String>, Option<String>), Vec<String>>,
    v9_messages: u64,
    /// Templates redefined within a session: a protocol error that closes a TCP connection.
    redefinitions: u64,
    /// Template withdrawals: ignored over UDP (decode of a UDP capture, a UDP collector), applied
    /// over TCP and in files.
    withdrawals: u64,
}

fn decode_text(path: &Path) -> String {
    let opts = DecodeOptions {
        files: vec![path.to_owned()],
        capture: CaptureOptions::default(),
        decoder: DecoderConfig::default(),
        format: RecordFormat::Json,
        fields: None,
        stats: false,
        count: None,
        progress: false,
        workers: 1,
    };
    let mut out = Vec::new();
    decode::run(&opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

pub(crate) fn decode_json(path: &Path) -> Vec<Value> {
    json_lines(decode_text(path).as_bytes())
}

#[derive(Default)]
struct Redefinitions(u64);

impl Visitor for Redefinitions {
    fn record(&mut self, _: &RecordRef<'_>) {}

    fn problem(&mut self, _: &Origin, error: &DecodeError) {
        if matches!(error, DecodeError::TemplateRedefined { .. }) {
            self.0 += 1;
        }
    }
}

/// Decodes every message as a TCP collector would (redefinitions are errors) and counts
/// withdrawals and NetFlow v9 messages.
fn stream_view(path: &Path) -> (u64, u64, u64) {
    let mut reader = CaptureReader::open(path, &CaptureOptions::default()).unwrap();
    let mut decoder = Decoder::new(DecoderConfig { template_lifetime_secs: None, ..DecoderConfig::default() });
    let (mut visitor, mut v9) = (Redefinitions::default(), 0);
    while let Some(item) = reader.next() {
        let Ok(m) = item else { continue };
        v9 += u64::from(m.payload.get(..2) == Some(&[0, 9][..]));
        let key = SessionKey { source: 0, transport: Transport::Tcp, exporter: m.exporter, collector: m.collector };
        let origin = Origin { frame: m.frame, time: m.time, exporter: m.exporter, collector: m.collector };
        decoder.decode(&key, origin, m.payload, &mut visitor);
    }
    let withdrawals = decoder.sessions().flat_map(|s| s.domains().map(|(_, d)| d.stats.withdrawals)).sum();
    (v9, visitor.0, withdrawals)
}

fn expected(testdata: &Path) -> &'static [Expected] {
    static EXPECTED: OnceLock<Vec<Expected>> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let mut paths = Vec::new();
        let mut dirs = vec![testdata.join("captures")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "pcap" || e == "pcapng" || e == "ipfix") {
                    paths.push(path);
                }
            }
        }
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let (v9_messages, redefinitions, withdrawals) = stream_view(&path);
                let mut sessions: HashMap<_, Vec<String>> = HashMap::new();
                for line in decode_text(&path).lines() {
                    let (exporter, collector, content) = split(line);
                    sessions.entry((exporter, collector)).or_default().push(content.to_owned());
                }
                Expected { sessions, path, v9_messages, redefinitions, withdrawals }
            })
            .collect()
    })
}

/// A record line's exporter and collector, and the rest of it from `"version"` on: all but what
/// legitimately differs between decode and a collector (the frame, the time, and the addresses,
/// since the collector sees the replay's sockets). The JSON contract fixes the key order, so the
/// rest compares as text, byte for byte.
fn split(line: &str) -> (Option<String>, Option<String>, &str) {
    let string = |key: &str| {
        let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
        line[start..].split('"').next().map(str::to_owned)
    };
    let content = &line[line.find("\"version\":").unwrap_or_else(|| panic!("no version in {line}"))..];
    (string("exporter"), string("collector"), content)
}

fn is_v9(content: &str) -> bool {
    content.starts_with("\"version\":9,")
}

fn field(record: &Value, key: &str) -> Option<String> {
    record.get(key).and_then(Value::as_str).map(str::to_owned)
}

// ---------------------------------------------------------------- 1. acceptance

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Udp,
    Tcp,
    Tls,
    MutualTls,
}

/// A CA with a server certificate for 127.0.0.1 and a client certificate, in a temporary dir.
fn pki() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    certs::create(&CertsRequest {
        servers: vec!["127.0.0.1".into()],
        clients: vec!["replay".into()],
        ..CertsRequest::new(&root)
    })
    .unwrap();
    (dir, root)
}

/// Replays every capture to one collector over `via`, each capture from its own loopback
/// address (127.0.0.10, .11, …) so no two captures' sockets can share an address and port, then
/// compares per session: the collector's records for the replay's socket must be exactly
/// decode's records of the original session, in order (version, domain, sequence number,
/// export time, template, kind, fields).
///
/// What a stream collector legitimately sees differently, handled exactly:
/// - NetFlow v9 has no length field and cannot be framed on TCP: replay skips those messages
///   and counts them (`netflow-v9-over-tcp`); the collector gets nothing of those sessions.
/// - A template redefined in a UDP capture is a protocol error over TCP (the collector closes
///   the connection), and a withdrawal decode ignored over UDP would apply over TCP (and one
///   in a TCP capture would be ignored by a UDP collector). No capture has either; the test
///   checks that, so a capture that adds one fails here, where its expectation must be derived.
async fn acceptance(via: Via, testdata: &Path) {
    let captures = expected(testdata);
    for e in captures {
        assert_eq!(e.redefinitions, 0, "{}: a redefinition changes what a TCP collector decodes", e.path.display());
        assert_eq!(e.withdrawals, 0, "{}: a withdrawal changes what the collector decodes", e.path.display());
    }
    let (_pki_dir, pki) = pki();
    let (listen, server_tls) = match via {
        Via::Udp => (Endpoint::Udp(localhost(0)), None),
        Via::Tcp => (Endpoint::Tcp(localhost(0)), None),
        Via::Tls | Via::MutualTls => (
            Endpoint::Tls(localhost(0)),
            Some(ServerTls {
                cert: pki.join("server.crt"),
                key: pki.join("server.key"),
                client_ca: (via == Via::MutualTls).then(|| pki.join("ca.crt")),
            }),
        ),
    };
    let (process, endpoint, received) = collector(listen, server_tls).await;
    let stream = via != Via::Udp;
    let client_tls = matches!(via, Via::Tls | Via::MutualTls).then(|| {
        let mutual = via == Via::MutualTls;
        let client = ClientTls {
            ca: pki.join("ca.crt"),
            cert: mutual.then(|| pki.join("client-replay.crt")),
            key: mutual.then(|| pki.join("client-replay.key")),
            server_name: None,
        };
        let server_name = client.server_name_for(&endpoint.to_string(), &endpoint).unwrap();
        StreamTls { config: client_config(&client).unwrap(), server_name }
    });

    let mut reports = Vec::new();
    let mut want = 0u64;
    for (i, e) in captures.iter().enumerate() {
        let opts = ReplayOptions {
            source_ip: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + i as u8))),
            tls: client_tls.clone(),
            ..ReplayOptions::new(vec![e.path.clone()], endpoint)
        };
        let report = replay_in_process(opts).await;
        let mut errors = BTreeMap::new();
        if stream && e.v9_messages > 0 {
            errors.insert("netflow-v9-over-tcp", e.v9_messages);
        }
        assert_eq!(report.errors, errors, "{}: messages not sent", e.path.display());
        want += e.sessions.values().flatten().filter(|r| !(stream && is_v9(r))).count() as u64;
        reports.push(report);
    }
    received.wait_for(want).await;
    let board = stop(process).await;
    assert_eq!(board.kernel_drops(), 0, "nothing may be lost in the kernel, or a loss would look like a mismatch");

    let lines = received.lines();
    let mut by_exporter: HashMap<String, Vec<&str>> = HashMap::new();
    for line in lines.lines() {
        let (exporter, _, content) = split(line);
        by_exporter.entry(exporter.unwrap()).or_default().push(content);
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for (e, report) in captures.iter().zip(&reports) {
        for row in &report.sessions {
            let decoded = e.sessions.get(&(row.exporter.clone(), row.collector.clone()));
            let expected: Vec<&str> =
                decoded.into_iter().flatten().map(String::as_str).filter(|r| !(stream && is_v9(r))).collect();
            let actual = row.local.as_ref().and_then(|l| by_exporter.remove(l)).unwrap_or_default();
            compared += actual.len();
            let session = format!("{} session {:?} -> {:?}", e.path.display(), row.exporter, row.collector);
            if actual.len() != expected.len() {
                failures.push(format!("{session}: {} records arrived, decode has {}", actual.len(), expected.len()));
            } else if let Some(i) = (0..actual.len()).find(|&i| actual[i] != expected[i]) {
                failures.push(format!("{session}: record {i} differs:\n  got  {}\n  want {}", actual[i], expected[i]));
            }
        }
    }
    assert!(by_exporter.is_empty(), "records from sockets no replay reported: {:?}", by_exporter.keys());
    assert!(failures.is_empty(), "{via:?}:\n{}", failures.join("\n"));
    assert_eq!(compared as u64, want);
    eprintln!("{via:?}: {} captures, {compared} records arrived as decode has them", captures.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_capture_arrives_as_decoded_over_udp() {
    let Some(testdata) = testdata_or_skip("every_capture_arrives_as_decoded_over_udp") else { return };
    acceptance(Via::Udp, &testdata).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_capture_arrives_as_decoded_over_tcp() {
    let Some(testdata) = testdata_or_skip("every_capture_arrives_as_decoded_over_tcp") else { return };
    acceptance(Via::Tcp, &testdata).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_capture_arrives_as_decoded_over_tls() {
    let Some(testdata) = testdata_or_skip("every_capture_arrives_as_decoded_over_tls") else { return };
    acceptance(Via::Tls, &testdata).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_capture_arrives_as_decoded_over_mutual_tls() {
    let Some(testdata) = testdata_or_skip("every_capture_arrives_as_decoded_over_mutual_tls") else { return };
    acceptance(Via::MutualTls, &testdata).await;
}

// ---------------------------------------------------------------- 2. pacing, loops, bounds

const T0: i64 = 1_763_769_600; // 2025-11-22T00:00:00Z
const COLLECTOR: &str = "192.0.2.2:4739";

fn flows() -> Template {
    Template::new(256, 0, [FieldSpec::iana(7, 2), FieldSpec::iana(11, 2), FieldSpec::iana(2, 8)])
}

/// An IPFIX message of domain 1: the template when `records` is 0, else that many data records.
fn ipfix(sequence: u32, records: u16) -> Vec<u8> {
    let mut m = MessageWriter::ipfix(T0 as u32, sequence, 1);
    if records == 0 {
        m.begin_template_set(false);
        m.template(&flows());
    } else {
        m.begin_set(256);
        for i in 0..records {
            m.record().unsigned(1024 + u64::from(i), 2).unsigned(443, 2).unsigned(1, 8);
        }
    }
    m.finish()
}

/// A NetFlow v9 packet of source 7: the template when `records` is 0, else that many records.
fn v9(sequence: u32, records: u16) -> Vec<u8> {
    let mut m = MessageWriter::netflow_v9(1000, T0 as u32, sequence, 7);
    if records == 0 {
        m.begin_template_set(false);
        m.template(&flows());
    } else {
        m.begin_set(256);
        for i in 0..records {
            m.record().unsigned(2048 + u64::from(i), 2).unsigned(53, 2).unsigned(1, 8);
        }
        m.end_set_padded(4);
    }
    m.finish()
}

/// Writes UDP datagrams (capture time in µs after T0, exporter, payload) to a pcap.
fn pcap(path: &Path, messages: &[(i64, &str, Vec<u8>)]) {
    let mut w = MessagePcapWriter::create(path).unwrap();
    for (us, exporter, payload) in messages {
        let time = Timestamp::from_micros(T0 * 1_000_000 + us);
        w.write(time, exporter.parse().unwrap(), COLLECTOR.parse().unwrap(), payload).unwrap();
    }
    w.finish().unwrap();
}

/// A UDP socket that takes whatever comes, and a thread that notes when each datagram came
/// until a quarter of a second passes without one.
fn receiver() -> (SocketAddr, std::thread::JoinHandle<Vec<(Instant, usize)>>) {
    let socket = UdpSocket::bind(localhost(0)).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(250))).unwrap();
    let addr = socket.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        while let Ok((n, _)) = socket.recv_from(&mut buf) {
            got.push((Instant::now(), n));
        }
        got
    });
    (addr, thread)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_paces_data_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rate.pcap");
    let mut messages = vec![(0, "192.0.2.1:5000", ipfix(0, 0))];
    messages.extend((0..200).map(|i| (0, "192.0.2.1:5000", ipfix(i * 25, 25))));
    pcap(&path, &messages);
    let (addr, thread) = receiver();
    let opts = ReplayOptions { rate: Some(10_000.0), ..ReplayOptions::new(vec![path], Endpoint::Udp(addr)) };
    let started = Instant::now();
    let report = replay_in_process(opts).await;
    let wall = started.elapsed().as_secs_f64();
    assert_eq!((report.messages, report.records), (201, 5_000));
    // The first message goes at once and the bucket starts empty: (5000 - 25) / 10000 s.
    assert!((0.375..0.625).contains(&report.elapsed_secs), "5000 records at 10000/s took {} s", report.elapsed_secs);
    assert!((0.375..0.75).contains(&wall), "wall time {wall} s");
    assert!((8_000.0..12_500.0).contains(&report.records_per_sec), "{} records/s", report.records_per_sec);
    let got = thread.join().unwrap();
    assert_eq!(got.len(), 201);
    // Evenly over the run, not in bursts: the first half of the records took half the time.
    let half = got[100].0.duration_since(got[0].0).as_secs_f64();
    assert!((0.19..0.31).contains(&half), "the first 2500 records took {half} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speed_follows_the_capture_timing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speed.pcap");
    // Eleven messages 100 ms apart; at twice the speed they go 50 ms apart.
    let messages: Vec<_> = (0..11).map(|i| (i * 100_000, "192.0.2.1:5000", ipfix(0, 0))).collect();
    pcap(&path, &messages);
    let (addr, thread) = receiver();
    let opts = ReplayOptions { speed: Some(2.0), ..ReplayOptions::new(vec![path], Endpoint::Udp(addr)) };
    let report = replay_in_process(opts).await;
    assert_eq!(report.messages, 11);
    assert!((0.375..0.625).contains(&report.elapsed_secs), "1 s of capture at speed 2 took {} s", report.elapsed_secs);
    let got = thread.join().unwrap();
    assert_eq!(got.len(), 11);
    for (k, (at, _)) in got.iter().enumerate() {
        let offset = at.duration_since(got[0].0).as_secs_f64() * 1000.0;
        let due = k as f64 * 50.0;
        // The pacer never sends early; the receiving thread may note the first arrival late (by
        // its own scheduling), which makes later ones look a little early. Late only by scheduling.
        assert!(offset >= due - 10.0 && offset <= due + 50.0, "message {k} at {offset:.1} ms, due at {due} ms");
    }
}

/// An IPFIX session (template, then 8 messages of 25 records with one gap in the original
/// numbers: 0, 25, 50, 75, 125, …) and a NetFlow v9 session (template, 5 packets of 10).
fn looping_capture(path: &Path) {
    let mut messages = vec![(0, "192.0.2.1:5000", ipfix(0, 0)), (0, "192.0.2.9:6000", v9(0, 0))];
    for i in 0..8u32 {
        let sequence = i * 25 + if i >= 4 { 25 } else { 0 };
        messages.push((1000 * i64::from(i), "192.0.2.1:5000", ipfix(sequence, 25)));
    }
    for i in 1..=5 {
        messages.push((500 * i64::from(i), "192.0.2.9:6000", v9(i, 10)));
    }
    pcap(path, &messages);
}

async fn looped(path: &Path, rewrite: bool, max_memory: usize) -> (ReplayReport, Board) {
    let (process, endpoint, _) = collector(Endpoint::Udp(localhost(0)), None).await;
    let opts = ReplayOptions {
        loops: 3,
        rewrite_sequence: rewrite,
        max_memory,
        ..ReplayOptions::new(vec![path.to_owned()], endpoint)
    };
    let report = replay_in_process(opts).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    (report, stop(process).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_with_rewritten_sequence_numbers_have_no_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loop.pcap");
    looping_capture(&path);

    let (report, board) = looped(&path, true, 1 << 20).await;
    assert_eq!((report.passes, report.messages, report.records), (3, 45, 750));
    assert!(report.held_bytes.is_some_and(|b| b < 8 << 10), "{:?}", report.held_bytes);
    let totals = board.totals();
    assert_eq!(board.kernel_drops(), 0);
    assert_eq!(totals.data_records, 750);
    assert_eq!(totals.sequence_gaps, 0, "rewritten numbers count on across passes, over the original gap too");

    // An input larger than the memory allowed is read again on every pass, a few messages at a
    // time, with the same outcome.
    let (report, board) = looped(&path, true, 1000).await;
    assert_eq!((report.passes, report.messages, report.records, report.held_bytes), (3, 45, 750, None));
    let totals = board.totals();
    assert_eq!((totals.data_records, totals.sequence_gaps), (750, 0));

    // Without rewriting every pass repeats the original numbers: the IPFIX session's own gap
    // three times, and a step back at the start of passes 2 and 3 in both sessions.
    let (report, board) = looped(&path, false, 1 << 20).await;
    assert_eq!(report.records, 750);
    let totals = board.totals();
    assert_eq!(totals.data_records, 750);
    assert_eq!(totals.sequence_gaps, 3 + 2 + 2);
}

#[test]
fn the_session_bound_closes_the_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.pcap");
    let exporters = ["192.0.2.1:5001", "192.0.2.1:5002", "192.0.2.1:5003"];
    let messages: Vec<_> = (0..4).flat_map(|_| exporters.map(|e| (0, e, ipfix(0, 0)))).collect();
    pcap(&path, &messages);
    let (addr, thread) = receiver();
    let opts = ReplayOptions { max_sessions: 2, ..ReplayOptions::new(vec![path], Endpoint::Udp(addr)) };
    let report = replay::run(&opts, &AtomicBool::new(false)).unwrap();
    // One window holds all twelve, sent per session: the third session's socket closes the first's.
    assert_eq!(report.messages, 12);
    assert_eq!(report.sessions_closed_at_bound, 1);
    assert!(report.sessions.iter().all(|s| s.connections == 1 && s.sent.messages == 4));
    assert_eq!(thread.join().unwrap().len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_collector_drops_is_counted_and_opened_again() {
    // A "collector" that accepts connections and closes them at once.
    let listener = tokio::net::TcpListener::bind(localhost(0)).await.unwrap();
    let to = Endpoint::Tcp(listener.local_addr().unwrap());
    let accepting = tokio::spawn(async move {
        let mut accepted = 0u32;
        while let Ok((conn, _)) = listener.accept().await {
            drop(conn);
            accepted += 1;
        }
        accepted
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.pcap");
    pcap(&path, &[(0, "192.0.2.1:5000", ipfix(0, 0)), (0, "192.0.2.1:5000", ipfix(0, 25))]);
    // Paced over half a second, so the collector's closes come while the replay is sending.
    let opts = ReplayOptions { loops: 50, rate: Some(2500.0), ..ReplayOptions::new(vec![path], to) };
    let report = replay_in_process(opts).await;
    // Lost in a failed write, or written into a connection the collector had closed already.
    let lost = report.undelivered();
    assert!(lost > 0, "{report:?}");
    assert_eq!(report.messages + lost, 100, "every message is either delivered or counted as not");
    assert!(report.sessions[0].connections > 1, "the session connected again after losing its connection");
    accepting.abort();
}

// ---------------------------------------------------------------- 3. nfcapd

/// The 5-tuple of a flow → (flows, packets, bytes, reverse packets, reverse bytes).
type Flows = BTreeMap<(String, String, u64, u64, u64), (u64, u64, u64, u64, u64)>;

fn num(v: Option<&Value>) -> u64 {
    v.and_then(Value::as_u64).unwrap_or(0)
}

/// The data records' flows as `decode` gives them; ICMP type and code stand in the destination
/// port, as nfdump shows them.
fn decoded_flows(path: &Path) -> Flows {
    let mut flows = Flows::new();
    for r in decode_json(path).iter().filter(|r| r["kind"] == "data") {
        let f = &r["fields"];
        let addr = |v4: &str, v6: &str| field(f, v4).or_else(|| field(f, v6)).unwrap_or_default();
        let dport = ["destinationTransportPort", "icmpTypeCodeIPv4", "icmpTypeCodeIPv6"]
            .iter()
            .find_map(|k| f.get(*k).and_then(Value::as_u64))
            .unwrap_or(0);
        let key = (
            addr("sourceIPv4Address", "sourceIPv6Address"),
            addr("destinationIPv4Address", "destinationIPv6Address"),
            num(f.get("sourceTransportPort")),
            dport,
            num(f.get("protocolIdentifier")),
        );
        let e = flows.entry(key).or_default();
        e.0 += 1;
        e.1 += num(f.get("packetDeltaCount"));
        e.2 += num(f.get("octetDeltaCount"));
        e.3 += num(f.get("reversePacketDeltaCount"));
        e.4 += num(f.get("reverseOctetDeltaCount"));
    }
    flows
}

/// nfdump's flows (`-o json`) by the exporter address nfcapd saw.
fn nfdump_flows(dir: &Path) -> BTreeMap<String, Flows> {
    let out = Command::new("nfdump").arg("-R").arg(dir).args(["-o", "json"]).output().unwrap();
    assert!(out.status.success(), "nfdump: {}", String::from_utf8_lossy(&out.stderr));
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut by_router: BTreeMap<String, Flows> = BTreeMap::new();
    for r in all.iter().filter(|r| r["type"] == "FLOW") {
        let s = |k: &str| field(r, k);
        let dport = match r.get("icmp_type") {
            Some(t) => t.as_u64().unwrap_or(0) * 256 + num(r.get("icmp_code")),
            None => num(r.get("dst_port")),
        };
        let key = (
            s("src4_addr").or_else(|| s("src6_addr")).unwrap_or_default(),
            s("dst4_addr").or_else(|| s("dst6_addr")).unwrap_or_default(),
            num(r.get("src_port")),
            dport,
            num(r.get("proto")),
        );
        let router = s("ip4_router").or_else(|| s("ip6_router")).unwrap_or_default();
        let e = by_router.entry(router).or_default().entry(key).or_default();
        e.0 += 1;
        e.1 += num(r.get("in_packets"));
        e.2 += num(r.get("in_bytes"));
        e.3 += num(r.get("out_packets"));
        e.4 += num(r.get("out_bytes"));
    }
    by_router
}

/// Bytes waiting in the receive queue of the UDP socket bound to 127.0.0.1:`port`.
pub(crate) fn rx_queue(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        (cols.get(1) == Some(&local.as_str())).then(|| u64::from_str_radix(cols[4].split(':').nth(1)?, 16).ok())?
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nfcapd_stores_the_flows_decode_finds() {
    let Some(testdata) = testdata_or_skip("nfcapd_stores_the_flows_decode_finds") else { return };
    if Command::new("nfcapd").arg("-V").output().is_err() {
        eprintln!("nfcapd_stores_the_flows_decode_finds: skipped: nfcapd is not installed (apt-get install nfdump)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = UdpSocket::bind(localhost(0)).unwrap().local_addr().unwrap().port();
    let mut nfcapd = Command::new("nfcapd")
        .args(["-b", "127.0.0.1", "-p", &port.to_string(), "-t", "3600", "-B", "4194304", "-w"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx_queue(port).is_none() {
        assert!(Instant::now() < deadline, "nfcapd did not bind 127.0.0.1:{port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // nfcapd tells exporters apart by address and observation domain, not port: each capture
    // is sent from an address of its own.
    let captures = [
        ("peers-generated/softflowd_ipfix.pcap", "127.0.0.2"),
        ("peers-generated/pmacctd_nfprobe_ipfix.pcap", "127.0.0.3"),
    ];
    for (capture, from) in captures {
        let opts = ReplayOptions {
            source_ip: Some(from.parse().unwrap()),
            ..ReplayOptions::new(vec![testdata.join("captures").join(capture)], Endpoint::Udp(localhost(port)))
        };
        replay_in_process(opts).await;
    }
    // Everything sent is read before nfcapd is told to stop and write its file.
    while rx_queue(port).is_some_and(|q| q > 0) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = Command::new("kill").args(["-INT", &nfcapd.id().to_string()]).status().unwrap();
    assert!(killed.success());
    nfcapd.wait().unwrap();
    let stored = nfdump_flows(dir.path());
    for (capture, from) in captures {
        let want = decoded_flows(&testdata.join("captures").join(capture));
        let got = stored.get(from).cloned().unwrap_or_default();
        assert!(!want.is_empty());
        assert_eq!(got, want, "{capture}: nfdump's flows (count, packets, bytes per 5-tuple) against decode's");
    }
}

// ---------------------------------------------------------------- the command

const QUICKSTART: &str = "tests/fixtures/generated/quickstart.pcap";

#[test]
fn command_reports_json_on_stdout() {
    let (addr, thread) = receiver();
    let out = crate::util::run(&["replay", QUICKSTART, "--to", &format!("udp://{addr}"), "-o", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["messages"].as_u64(), report["records"].as_u64()), (Some(8), Some(8)));
    assert_eq!(report["sessions"].as_array().unwrap().len(), 3);
    assert_eq!(report["errors"], serde_json::json!({}));
    assert_eq!(thread.join().unwrap().len(), 8);

    // The text report goes to stderr; stdout stays empty.
    let (addr, thread) = receiver();
    let out = crate::util::run(&["replay", QUICKSTART, "--to", &format!("{addr}:udp")]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.starts_with("sent 8 messages (8 records,"), "{text}");
    assert!(text.contains("10.10.1.11:47631"), "{text}");
    thread.join().unwrap();
}

#[test]
fn command_fatal_errors_exit_2_naming_the_cause() {
    let refused = UdpSocket::bind(localhost(0)).unwrap().local_addr().unwrap().port();
    let out = crate::util::run(&["replay", QUICKSTART, "--to", &format!("tcp://127.0.0.1:{refused}")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot connect to tcp://127.0.0.1:{refused}")), "{err}");

    let out = crate::util::run(&["replay", "no-such.pcap", "--to", "udp://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.pcap"));

    let out = crate::util::run(&["replay", QUICKSTART, "--to", "tls://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-ca"));
}

#[test]
fn command_stops_on_ctrl_c_and_reports() {
    let socket = UdpSocket::bind(localhost(0)).unwrap();
    let to = format!("udp://{}", socket.local_addr().unwrap());
    let child = Command::new(env!("CARGO_BIN_EXE_flowctl"))
        .args(["replay", QUICKSTART, "--to", &to, "--loop", "0", "--rate", "2000", "-o", "json"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The signal handlers are in place before the first message goes.
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    socket.recv(&mut [0u8; 2048]).expect("the replay sends");
    std::thread::sleep(Duration::from_millis(100));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["interrupted"], true);
    assert!(report["passes"].as_u64().unwrap() >= 2, "{report}");
    drop(socket);
}

/// `flowctl replay` through the binary, with `-o json`: its exit status, report and stderr.
fn replay_binary(capture: &Path, to: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("flowctl"))
        .args(["-o", "json", "replay", "--no-progress"])
        .arg(capture)
        .args(["--to", to])
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), report, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn five_messages(dir: &Path) -> PathBuf {
    let path = dir.join("five.pcap");
    let msgs: Vec<(i64, &str, Vec<u8>)> =
        (0..5).map(|i| (i * 1000, "192.0.2.1:50000", ipfix(i as u32 * 3, if i == 0 { 0 } else { 3 }))).collect();
    pcap(&path, &msgs);
    path
}

/// Issue #20, defect 9 (and #22, defect 2): a replay to a mutual-TLS collector without a client
/// certificate printed "sent 5 messages" and exited 0, while the collector had refused the
/// certificate. With TLS 1.3 the client's handshake ends before the server has judged its
/// certificate, so the refusal comes as an alert afterwards: the replay must read it, count
/// what it wrote as not delivered, and exit 1 naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_the_collector_rejects_is_not_reported_as_delivered() {
    let (dir, root) = pki();
    let server =
        ServerTls { cert: root.join("server.crt"), key: root.join("server.key"), client_ca: Some(root.join("ca.crt")) };
    let (process, endpoint, received) = collector(Endpoint::Tls(localhost(0)), Some(server)).await;
    let capture = five_messages(dir.path());
    let (to, ca) = (endpoint.to_string(), root.join("ca.crt"));
    let (code, report, stderr) =
        tokio::task::spawn_blocking(move || replay_binary(&capture, &to, &["--tls-ca", ca.to_str().unwrap()]))
            .await
            .unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!((report["messages"].as_u64(), report["records"].as_u64()), (Some(0), Some(0)), "{report}");
    assert_eq!(report["errors"]["rejected-by-collector"], 5, "{report}");
    assert!(stderr.contains("rejected the connection") && stderr.contains("CertificateRequired"), "{stderr}");
    let board = stop(process).await;
    assert_eq!(received.count.load(Ordering::Relaxed), 0);
    assert_eq!(board.connections.handshake_failures, 1);
}

/// The same for a collector that closes a connection at its session bound: the replay used to
/// count what it wrote into the closed connection as sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_refused_at_the_session_bound_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let received = Received::default();
    let config = CollectorConfig {
        listen: vec![Endpoint::Tcp(localhost(0))],
        decoder: DecoderConfig { max_sessions: 1, ..DecoderConfig::default() },
        ..CollectorConfig::default()
    };
    let process = CollectingProcess::start(config, received.sinks()).await.unwrap();
    let endpoint = process.endpoints()[0];
    // The one session the collector may hold, and it has spoken, so it is not evicted.
    let mut first = flowctl::core::transport::StreamSender::connect(&endpoint, None).await.unwrap();
    first.send(&ipfix(0, 0)).await.unwrap();
    first.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let capture = five_messages(dir.path());
    let to = endpoint.to_string();
    let (code, report, stderr) = tokio::task::spawn_blocking(move || replay_binary(&capture, &to, &[])).await.unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(report["records"], 0, "{report}");
    assert_eq!(report["errors"]["rejected-by-collector"], 5, "{report}");
    let board = stop(process).await;
    assert_eq!(board.connections.refused, 1);
    drop(first);
}

/// Issue #22 (9): Ctrl-C while a TCP write waited on the collector dropped that write's
/// messages from every count, and the replay exited 0. They count as not delivered, the report
/// says how many, and the exit status is 1.
#[test]
fn ctrl_c_during_a_write_the_collector_is_not_reading_counts_it_as_not_delivered_and_exits_1() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    // Large messages fill the socket buffers within a moment.
    let capture = dir.path().join("large.pcap");
    let msgs: Vec<(i64, &str, Vec<u8>)> =
        (0..5).map(|i| (i * 1000, "192.0.2.1:50000", ipfix(i as u32 * 100, if i == 0 { 0 } else { 100 }))).collect();
    pcap(&capture, &msgs);
    let listener = std::net::TcpListener::bind(localhost(0)).unwrap();
    let to = format!("tcp://{}", listener.local_addr().unwrap());
    let fast = Arc::new(AtomicBool::new(false));
    let drain = fast.clone();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        // Not reading until the stop, so the replay waits in a write; then quick, so its close
        // succeeds and only the interrupted write is in question.
        while !drain.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut rest = Vec::new();
        let _ = conn.read_to_end(&mut rest);
    });
    let child = Command::new(env!("CARGO_BIN_EXE_flowctl"))
        .args(["-o", "json", "replay", "--no-progress", "--loop", "0", "--to", &to])
        .arg(&capture)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    // Long enough for the replay to see the stop while its write still waits.
    std::thread::sleep(Duration::from_millis(500));
    fast.store(true, Ordering::Relaxed);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["interrupted"], true);
    let lost = report["errors"]["interrupted-while-sending"].as_u64().unwrap_or(0);
    assert!(lost > 0, "{report}\n{stderr}");
    // Issue #22 (9): TRANSPORT showed the capture's UDP for a session sent over TCP.
    assert_eq!(
        (&report["sessions"][0]["transport"], &report["sessions"][0]["capturedTransport"]),
        (&"TCP".into(), &"UDP".into())
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("count as not delivered"), "{stderr}");
}

/// Issue 22, defect 9: the progress line of a replay over several files names the file it reads.
#[test]
fn the_progress_line_names_the_file_being_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let quickstart = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated/quickstart.pcap");
    let (first, second) = (dir.path().join("first.pcap"), dir.path().join("second.pcap"));
    std::fs::copy(&quickstart, &first).unwrap();
    std::fs::copy(&quickstart, &second).unwrap();
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = format!("udp://{}", sink.local_addr().unwrap());
    // Eight records a file at eight a second: a second per file, several progress lines each.
    let command = format!(
        "{} replay -o json --rate 8 --to {to} {} {}",
        assert_cmd::cargo::cargo_bin("flowctl").display(),
        first.display(),
        second.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("RUST_LOG")
        .output()
        .expect("script(1) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{}: ", first.display())), "{text}");
    assert!(text.contains(&format!("{}: ", second.display())), "{text}");
}
