//! The live collector on 127.0.0.1: what it decodes equals what `decode` finds in the same
//! messages; what it writes with `--write` decodes back to the same records; bad input is
//! counted without touching other sessions; metrics and signals behave as a user expects.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowctl::core::capture::{CaptureOptions, CaptureReader};
use flowctl::core::collector::{Board, CollectingProcess, CollectorConfig, ConnectionLimits, RecordSink};
use flowctl::core::ipfix::decoder::{DecoderConfig, RecordRef};
use flowctl::core::ipfix::{FieldSpec, MessageWriter, Template, Transport};
use flowctl::core::output::json::JsonWriter;
use flowctl::core::transport::{Endpoint, StreamSender, UdpConfig, UdpSender};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::util::{Service, flowctl, free_port, json_lines, run, wait_listening};

pub(crate) type Records = Arc<Mutex<Vec<Value>>>;

struct Collected(Records, JsonWriter, Vec<u8>);

impl RecordSink for Collected {
    fn record(&mut self, r: &RecordRef<'_>) {
        self.2.clear();
        self.1.record(r, &mut self.2);
        self.0.lock().unwrap().push(serde_json::from_slice(&self.2).unwrap());
    }
}

/// A collector on 127.0.0.1 (port 0) for the given schemes; stop it with the sender.
pub(crate) async fn collector(
    schemes: &[&str],
    config: CollectorConfig,
) -> (Vec<Endpoint>, Records, oneshot::Sender<()>, tokio::task::JoinHandle<Board>) {
    let listen = schemes.iter().map(|s| format!("{s}://127.0.0.1:0").parse().unwrap()).collect();
    collector_on(listen, config).await
}

/// A collector on the given endpoints that keeps every record as JSON; stop it with the sender.
pub(crate) async fn collector_on(
    listen: Vec<Endpoint>,
    config: CollectorConfig,
) -> (Vec<Endpoint>, Records, oneshot::Sender<()>, tokio::task::JoinHandle<Board>) {
    let records: Records = Arc::default();
    let sink = records.clone();
    let config = CollectorConfig { listen, udp: UdpConfig { sockets: 2, ..UdpConfig::default() }, ..config };
    let process = CollectingProcess::start(
        config,
        Arc::new(move || Box::new(Collected(sink.clone(), JsonWriter::new(false), Vec::new()))),
    )
    .await
    .unwrap();
    let endpoints = process.endpoints().to_vec();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(process.run(async {
        let _ = stopped.await;
    }));
    (endpoints, records, stop, task)
}

/// The records as `decode` would print them, without what says where and when they were seen.
fn comparable(r: &Value) -> Value {
    let mut r = r.clone();
    let o = r.as_object_mut().unwrap();
    for k in ["frame", "time", "exporter", "collector", "late"] {
        o.remove(k);
    }
    r
}

/// The quick-start capture's messages by original session, in capture order.
fn quickstart_sessions() -> BTreeMap<String, (Transport, Vec<Vec<u8>>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated/quickstart.pcap");
    let mut reader = CaptureReader::open(path, &CaptureOptions::default()).unwrap();
    let mut sessions: BTreeMap<String, (Transport, Vec<Vec<u8>>)> = BTreeMap::new();
    while let Some(m) = reader.next() {
        let m = m.unwrap();
        let entry = sessions.entry(format!("{:?}", m.exporter)).or_insert((m.transport, Vec::new()));
        entry.1.push(m.payload.to_vec());
    }
    sessions
}

fn decoded_quickstart() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated/quickstart.pcap");
    let mut records = json_lines(&run(&["decode", "-o", "json", path.to_str().unwrap()]).stdout);
    records.sort_by_key(|r| (r["exporter"].to_string(), r["frame"].as_u64()));
    records.iter().map(comparable).collect()
}

async fn wait_for(records: &Records, n: usize) {
    for _ in 0..200 {
        if records.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn sorted_by_exporter(records: &Records) -> Vec<Value> {
    let mut got = records.lock().unwrap().clone();
    // Within a session records keep their order; sessions come in any order.
    got.sort_by_key(|r| r["exporter"].to_string());
    got.iter().map(comparable).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_and_tcp_collection_decode_what_the_capture_holds() {
    for scheme in ["udp", "tcp"] {
        // NetFlow v9 has no TCP transport: over TCP only the IPFIX sessions travel.
        let tcp = scheme == "tcp";
        let expected: Vec<Value> = decoded_quickstart().into_iter().filter(|r| !tcp || r["version"] == 10).collect();
        let (endpoints, records, stop, task) = collector(&[scheme], CollectorConfig::default()).await;
        let to = endpoints[0];
        for (_, (_, messages)) in quickstart_sessions() {
            if tcp && messages[0][..2] != [0, 10] {
                continue;
            }
            if scheme == "udp" {
                let mut sender = UdpSender::bind("127.0.0.1:0".parse().unwrap(), to.addr(), 1 << 20).unwrap();
                let batch: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
                assert_eq!(sender.send_batch(&batch).unwrap(), batch.len());
            } else {
                let mut sender = StreamSender::connect(&to, None).await.unwrap();
                for m in &messages {
                    sender.send(m).await.unwrap();
                }
                sender.shutdown().await.unwrap();
            }
        }
        wait_for(&records, expected.len()).await;
        stop.send(()).unwrap();
        let board = task.await.unwrap();
        let got = sorted_by_exporter(&records);
        assert_eq!(got.len(), expected.len(), "{scheme}");
        for r in &expected {
            assert!(got.contains(r), "{scheme}: missing {r}");
        }
        assert_eq!(board.kernel_drops(), 0);
        assert_eq!(board.totals().data_records, if tcp { 4 } else { 7 });
    }
}

/// A template of two ports, and a data message for it.
fn ports_template(id: u16) -> Template {
    Template::new(id, 0, [FieldSpec::iana(7, 2), FieldSpec::iana(11, 2)])
}

fn template_message(t: &Template) -> Vec<u8> {
    let mut m = MessageWriter::ipfix(1_700_000_000, 0, 1);
    m.begin_template_set(false);
    m.template(t);
    m.finish()
}

fn data_message(id: u16, seq: u32, sport: u16) -> Vec<u8> {
    let mut m = MessageWriter::ipfix(1_700_000_000, seq, 1);
    m.begin_set(id);
    m.record().unsigned(sport as u64, 2).unsigned(80, 2);
    m.finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_streams_are_counted_and_other_sessions_carry_on() {
    let (endpoints, records, stop, task) = collector(&["tcp"], CollectorConfig::default()).await;
    let to = endpoints[0];
    let t = ports_template(300);
    // A healthy exporter, connected all along.
    let mut good = StreamSender::connect(&to, None).await.unwrap();
    good.send(&template_message(&t)).await.unwrap();
    good.send(&data_message(300, 0, 1)).await.unwrap();
    // One cut in the middle of a message, one that is not IPFIX at all, one that redefines a
    // template (a protocol error over TCP).
    let mut cut = StreamSender::connect(&to, None).await.unwrap();
    cut.send(&template_message(&t)).await.unwrap();
    cut.send(&data_message(300, 0, 2)[..10]).await.unwrap();
    cut.shutdown().await.unwrap();
    let mut garbage = tokio::net::TcpStream::connect(to.addr()).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut garbage, b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut redefine = StreamSender::connect(&to, None).await.unwrap();
    redefine.send(&template_message(&t)).await.unwrap();
    redefine.send(&template_message(&Template::new(300, 0, [FieldSpec::iana(4, 1)]))).await.unwrap();
    redefine.flush().await.unwrap();
    good.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    good.send(&data_message(300, 1, 3)).await.unwrap();
    good.shutdown().await.unwrap();
    wait_for(&records, 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    let board = task.await.unwrap();
    let ports: Vec<_> = records.lock().unwrap().iter().map(|r| r["fields"]["sourceTransportPort"].clone()).collect();
    assert_eq!(ports, [1, 3], "the healthy session lost nothing, the cut one gave nothing");
    let c = board.connections;
    assert_eq!((c.accepted, c.framing_errors, c.protocol_errors), (4, 2, 1));
    assert_eq!(c.active, 0);
}

/// Issue #20, defect 7: connections that send nothing used to stay open for ever, so
/// `--max-sessions` of them locked every exporter out. Now one that sends no message within the
/// first-message timeout, or nothing within the idle timeout after its last, is closed, and at
/// the session bound the oldest silent one makes room for a newcomer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed_and_a_silent_one_makes_room_at_the_session_bound() {
    let connections = ConnectionLimits {
        first_message_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        ..ConnectionLimits::default()
    };
    let decoder = DecoderConfig { max_sessions: 3, ..DecoderConfig::default() };
    let (endpoints, records, stop, task) =
        collector(&["tcp"], CollectorConfig { connections, decoder, ..CollectorConfig::default() }).await;
    let to = endpoints[0];
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(tokio::net::TcpStream::connect(to.addr()).await.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = ports_template(300);
    let mut good = StreamSender::connect(&to, None).await.unwrap();
    good.send(&template_message(&t)).await.unwrap();
    good.send(&data_message(300, 0, 7)).await.unwrap();
    good.flush().await.unwrap();
    wait_for(&records, 1).await;
    assert_eq!(records.lock().unwrap().len(), 1, "the newcomer was served at the session bound");
    // The oldest silent connection was closed for it.
    let mut byte = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(1), tokio::io::AsyncReadExt::read(&mut silent[0], &mut byte));
    assert!(matches!(n.await, Ok(Ok(0))), "the oldest silent connection is closed");
    good.close(Duration::from_secs(1)).await.unwrap();
    // One that spoke, then went quiet.
    let mut quiet = StreamSender::connect(&to, None).await.unwrap();
    quiet.send(&template_message(&t)).await.unwrap();
    quiet.flush().await.unwrap();
    // Well past both timeouts (1 s and 2 s), with room for a loaded machine.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    stop.send(()).unwrap();
    let c = task.await.unwrap().connections;
    assert_eq!((c.accepted, c.refused, c.evicted), (5, 0, 1));
    assert_eq!((c.closed_silent, c.closed_idle), (2, 1), "two silent past 1 s, one idle past 2 s");
    assert_eq!(c.active, 0);
}

/// Issue #20, defect 8: on shutdown the collector used to stop reading at once, and what its
/// connections still held (acknowledged by TCP, so the exporters counted it delivered) was lost.
/// Now each connection is read until it is empty or closes; what is left when the drain timeout
/// runs out (here: a message cut in half by an exporter that went quiet) is counted as lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_what_connections_hold_and_counts_what_it_could_not() {
    let connections = ConnectionLimits { drain_timeout: Duration::from_secs(3), ..ConnectionLimits::default() };
    let (endpoints, records, stop, task) =
        collector(&["tcp"], CollectorConfig { connections, ..CollectorConfig::default() }).await;
    let to = endpoints[0];
    let t = ports_template(300);
    let mut burst = StreamSender::connect(&to, None).await.unwrap();
    burst.send(&template_message(&t)).await.unwrap();
    for seq in 0..100u32 {
        let mut m = MessageWriter::ipfix(1_700_000_000, seq * 200, 1);
        m.begin_set(300);
        for i in 0..200u16 {
            m.record().unsigned(u64::from(i), 2).unsigned(80, 2);
        }
        burst.send(&m.finish()).await.unwrap();
    }
    burst.flush().await.unwrap();
    let mut cut = StreamSender::connect(&to, None).await.unwrap();
    cut.send(&template_message(&t)).await.unwrap();
    cut.send(&data_message(300, 0, 9)[..10]).await.unwrap();
    cut.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let board = task.await.unwrap();
    assert_eq!(records.lock().unwrap().len(), 20_000, "every record sent before the signal was decoded");
    let c = board.connections;
    assert_eq!((c.undrained, c.undrained_bytes), (1, 10), "the half message is counted as lost");
    drop((burst, cut));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_flood_is_bounded_and_counted_and_does_not_touch_another_exporter() {
    let config = CollectorConfig {
        decoder: DecoderConfig { max_templates_per_session: 100, ..DecoderConfig::default() },
        ..CollectorConfig::default()
    };
    let (endpoints, records, stop, task) = collector(&["udp"], config).await;
    let to = endpoints[0].addr();
    let mut flood = UdpSender::bind("127.0.0.1:0".parse().unwrap(), to, 1 << 20).unwrap();
    let floods: Vec<Vec<u8>> = (0..50)
        .map(|k| {
            let mut m = MessageWriter::ipfix(1_700_000_000, 0, 1);
            m.begin_template_set(false);
            for id in 0..20u16 {
                m.template(&ports_template(256 + k * 20 + id));
            }
            m.finish()
        })
        .collect();
    for chunk in floods.chunks(10) {
        let batch: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        flood.send_batch(&batch).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut good = UdpSender::bind("127.0.0.1:0".parse().unwrap(), to, 1 << 20).unwrap();
    good.send_batch(&[&template_message(&ports_template(256)), &data_message(256, 0, 9)]).unwrap();
    wait_for(&records, 1).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    stop.send(()).unwrap();
    let board = task.await.unwrap();
    assert_eq!(records.lock().unwrap()[0]["fields"]["sourceTransportPort"], 9);
    let t = board.totals();
    assert_eq!(t.template_records, 1001);
    assert_eq!(t.templates_refused, 900, "1000 flooded, 100 kept");
    assert_eq!(board.kernel_drops(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_written_decodes_back_to_what_was_collected() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("received.pcap");
    let config = CollectorConfig { capture: Some(capture.clone()), ..CollectorConfig::default() };
    let (endpoints, records, stop, task) = collector(&["udp", "tcp"], config).await;
    let expected_len = decoded_quickstart().len();
    let mut ipfix_sessions = 0;
    for (_, (_, messages)) in quickstart_sessions() {
        // IPFIX sessions alternate transports so the capture holds UDP datagrams and TCP
        // segments; NetFlow v9 has only UDP.
        let ipfix = messages[0][..2] == [0, 10];
        ipfix_sessions += usize::from(ipfix);
        if !ipfix || ipfix_sessions % 2 == 1 {
            let mut s = UdpSender::bind("127.0.0.1:0".parse().unwrap(), endpoints[0].addr(), 1 << 20).unwrap();
            let batch: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            s.send_batch(&batch).unwrap();
        } else {
            let mut s = StreamSender::connect(&endpoints[1], None).await.unwrap();
            for m in &messages {
                s.send(m).await.unwrap();
            }
            s.shutdown().await.unwrap();
        }
    }
    wait_for(&records, expected_len).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    task.await.unwrap();
    let collected = sorted_by_exporter(&records);
    assert_eq!(collected.len(), expected_len);
    let out = run(&["decode", "-o", "json", capture.to_str().unwrap()]);
    let stats = run(&["decode", "--stats", "-o", "json", capture.to_str().unwrap()]);
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert!(stats["files"][0]["tcpMessages"].as_u64() > Some(0) && stats["files"][0]["udpMessages"].as_u64() > Some(0));
    let mut again = json_lines(&out.stdout);
    again.sort_by_key(|r| r["exporter"].to_string());
    let again: Vec<Value> = again.iter().map(comparable).collect();
    assert_eq!(again.len(), collected.len(), "{}", String::from_utf8_lossy(&out.stderr));
    for r in &collected {
        assert!(again.contains(r), "not in the written capture: {r}");
    }
}

/// A free TCP/UDP port on 127.0.0.1 (bound and released; good enough for a test).
#[test]
fn metrics_count_per_exporter_and_sigterm_prints_the_summary_and_exits_0() {
    let (port, metrics) = (free_port(), free_port());
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowctl"))
        .args(["collect", "-o", "json", "-l", &format!("udp://127.0.0.1:{port}"), "--metrics-addr"])
        .arg(format!("127.0.0.1:{metrics}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let t = ports_template(256);
    let mut scrape = String::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        let mut s = UdpSender::bind("127.0.0.1:0".parse().unwrap(), to, 1 << 16).unwrap();
        let _ = s.send_batch(&[&template_message(&t), &data_message(256, 0, 7)]);
        std::thread::sleep(Duration::from_millis(1100));
        let Ok(mut http) = TcpStream::connect(("127.0.0.1", metrics)) else { continue };
        http.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        scrape.clear();
        http.read_to_string(&mut scrape).unwrap();
        if scrape.contains("flowctl_collector_data_records_total{") {
            break;
        }
    }
    assert!(scrape.contains("200 OK"), "{scrape}");
    let line = scrape.lines().find(|l| l.starts_with("flowctl_collector_data_records_total{")).unwrap();
    assert!(line.contains("exporter=\"127.0.0.1\"") && line.contains("observation_domain=\"1\""), "{line}");
    assert!(scrape.contains("flowctl_collector_udp_kernel_drops_total"));
    assert!(std::process::Command::new("kill").arg(child.id().to_string()).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let records = json_lines(&out.stdout);
    assert!(records.iter().all(|r| r["fields"]["sourceTransportPort"] == 7 && r.get("frame").is_none()));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("EXPORTER") && summary.contains("dropped by the kernel"), "{summary}");
}

#[test]
fn count_stops_the_collector_and_stats_replaces_the_records() {
    let port = free_port();
    let flowctl_child = |extra: &[&str]| {
        let mut args = vec!["collect".to_string(), "-l".into(), format!("udp://127.0.0.1:{port}")];
        args.extend(extra.iter().map(|s| s.to_string()));
        std::process::Command::new(assert_cmd::cargo::cargo_bin("flowctl"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let send_until_done = |child: &mut std::process::Child| {
        let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut s = UdpSender::bind("127.0.0.1:0".parse().unwrap(), to, 1 << 16).unwrap();
        for k in 0..200u32 {
            let _ = s.send_batch(&[&template_message(&ports_template(256)), &data_message(256, k, k as u16)]);
            std::thread::sleep(Duration::from_millis(20));
            if child.try_wait().unwrap().is_some() {
                return;
            }
        }
    };
    let mut child = flowctl_child(&["-o", "json", "-n", "3"]);
    send_until_done(&mut child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_lines(&out.stdout).len(), 3);

    let mut child = flowctl_child(&["-o", "json", "--stats", "--duration", "1s"]);
    send_until_done(&mut child);
    let out = child.wait_with_output().unwrap();
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["totals"]["dataRecords"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["kernelDrops"], 0);
}

#[test]
fn a_tls_listener_without_a_certificate_is_a_clear_error() {
    let out = flowctl().args(["collect", "-l", "tls://127.0.0.1:0", "--duration", "1s"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --tls-cert and --tls-key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_counts_failed_handshakes_and_keeps_serving() {
    use flowctl::core::transport::certs::{self, CertsRequest};
    use flowctl::core::transport::{ClientTls, ServerTls, client_config, tls::parse_server_name};
    let dir = tempfile::tempdir().unwrap();
    let mut req = CertsRequest::new(dir.path());
    req.servers = vec!["127.0.0.1".into(), "collector.test".into()];
    req.clients = vec!["exporter".into()];
    certs::create(&req).unwrap();
    let tls = ServerTls {
        cert: dir.path().join("server.crt"),
        key: dir.path().join("server.key"),
        client_ca: Some(dir.path().join("ca.crt")),
    };
    let config = CollectorConfig { tls: Some(tls), ..CollectorConfig::default() };
    let (endpoints, records, stop, task) = collector(&["tls"], config).await;
    let to = endpoints[0];
    let name = parse_server_name("collector.test").unwrap();
    // No client certificate: the handshake fails, and is counted.
    let anonymous = ClientTls { ca: dir.path().join("ca.crt"), cert: None, key: None, server_name: None };
    let mut refused = StreamSender::connect(&to, Some((client_config(&anonymous).unwrap(), name.clone()))).await;
    if let Ok(s) = refused.as_mut() {
        // TLS 1.3 reports the rejection on the first read or write after the handshake.
        let _ = s.send(&template_message(&ports_template(256))).await;
        let _ = s.shutdown().await;
    }
    let client = ClientTls {
        ca: dir.path().join("ca.crt"),
        cert: Some(dir.path().join("client-exporter.crt")),
        key: Some(dir.path().join("client-exporter.key")),
        server_name: None,
    };
    let mut s = StreamSender::connect(&to, Some((client_config(&client).unwrap(), name))).await.unwrap();
    s.send(&template_message(&ports_template(256))).await.unwrap();
    s.send(&data_message(256, 0, 443)).await.unwrap();
    s.shutdown().await.unwrap();
    wait_for(&records, 1).await;
    stop.send(()).unwrap();
    let board = task.await.unwrap();
    assert_eq!(records.lock().unwrap()[0]["fields"]["sourceTransportPort"], 443);
    assert_eq!((board.connections.handshake_failures, board.connections.accepted), (1, 1));
}

/// `flowctl collect --stats -o json` on 127.0.0.1 with /metrics, and the ports it listens on.
fn collect_with_metrics(extra: &[&str]) -> (std::process::Child, SocketAddr, u16) {
    let (port, metrics) = (free_port(), free_port());
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowctl"))
        .args(["collect", "--stats", "-o", "json", "-l", &format!("udp://127.0.0.1:{port}"), "--metrics-addr"])
        .arg(format!("127.0.0.1:{metrics}"))
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (child, format!("127.0.0.1:{port}").parse().unwrap(), metrics)
}

fn scrape(port: u16) -> String {
    let Ok(mut http) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    http.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut text = String::new();
    http.read_to_string(&mut text).unwrap();
    text
}

/// The samples of one metric: (labels, value).
fn samples<'a>(text: &'a str, name: &str) -> Vec<(&'a str, u64)> {
    text.lines()
        .filter_map(|l| l.strip_prefix(name))
        .filter(|rest| rest.starts_with(['{', ' ']))
        .map(|rest| {
            let (labels, value) = rest.rsplit_once(' ').unwrap();
            (labels, value.parse().unwrap())
        })
        .collect()
}

fn sum(text: &str, name: &str) -> u64 {
    samples(text, name).iter().map(|(_, v)| v).sum()
}

/// Scrapes until `done` holds (or 20 s pass) and returns the last scrape.
fn scrape_until(port: u16, done: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(200));
        text = scrape(port);
        if done(&text) {
            break;
        }
    }
    text
}

/// SIGTERM, and the `--stats` summary printed on the way out.
fn stop_for_summary(child: std::process::Child) -> Value {
    assert!(std::process::Command::new("kill").arg(child.id().to_string()).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Issue #20 (4): every (exporter, observation domain) got ~17 series that never went away, so
/// a flood of domains made /metrics grow without bound. At most N label sets show one by one
/// while their sessions live, the rest sum under `other`; once the sessions end their series go
/// and the totals stay; the sums agree with what `--stats` prints.
#[test]
fn metric_series_are_bounded_and_go_when_their_sessions_end() {
    let (child, to, metrics) = collect_with_metrics(&["--metrics-label-sets", "100", "--template-lifetime", "8s"]);
    let t = ports_template(256);
    let messages: Vec<Vec<u8>> = (0..3000u32)
        .map(|domain| {
            let mut m = MessageWriter::ipfix(1_700_000_000, 0, domain);
            m.begin_template_set(false);
            m.template(&t);
            m.begin_set(256);
            m.record().unsigned(7, 2).unsigned(80, 2);
            m.finish()
        })
        .collect();
    // Wait for the listener, then send at a pace the receive buffer takes.
    scrape_until(metrics, |text| text.contains("200 OK"));
    let mut s = UdpSender::bind("127.0.0.1:0".parse().unwrap(), to, 1 << 16).unwrap();
    for chunk in messages.chunks(50) {
        s.send_batch(&chunk.iter().map(Vec::as_slice).collect::<Vec<_>>()).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let data = "flowctl_collector_data_records_total";
    let live = scrape_until(metrics, |text| sum(text, data) == 3000);
    for family in ["messages", "bytes", "data_records", "template_records"] {
        let n = samples(&live, &format!("flowctl_collector_{family}_total")).len();
        assert_eq!(n, 101, "{family}: 100 label sets and other");
    }
    // Nothing counted yet under `other`: no series for it.
    assert_eq!(samples(&live, "flowctl_collector_malformed_messages_total").len(), 100);
    let by_label = samples(&live, data);
    let other: Vec<_> = by_label.iter().filter(|(l, _)| l.contains("exporter=\"other\"")).collect();
    assert_eq!(other.len(), 1, "{by_label:?}");
    assert_eq!(other[0].1, 2900);
    assert_eq!(sum(&live, data), 3000);
    assert_eq!(sum(&live, "flowctl_collector_label_sets_folded"), 2900);
    assert_eq!(sum(&live, "flowctl_collector_label_sets_ever_folded_total"), 2900);

    // The session ends 8 s after its last message (checked every 10 s).
    let ended = scrape_until(metrics, |text| samples(text, "flowctl_collector_sessions") == [("", 0)]);
    assert_eq!(samples(&ended, "flowctl_collector_sessions"), [("", 0)], "{ended}");
    assert_eq!(
        samples(&ended, data),
        [("{exporter=\"other\",transport=\"\",version=\"\",observation_domain=\"\"}", 3000)]
    );
    assert_eq!(sum(&ended, "flowctl_collector_label_sets_folded"), 0);
    assert_eq!(sum(&ended, "flowctl_collector_label_sets_ever_folded_total"), 2900);
    let messages_seen = sum(&ended, "flowctl_collector_messages_total");
    assert_eq!(messages_seen, 3000);

    let summary = stop_for_summary(child);
    assert_eq!(summary["totals"]["dataRecords"], 3000, "{summary}");
    assert_eq!(summary["totals"]["messages"], messages_seen);
    assert_eq!(summary["totals"]["bytes"], sum(&ended, "flowctl_collector_bytes_total"));
}

/// Issue #20 (5): datagrams that are not IPFIX or NetFlow v9 were counted by `--stats` (2,000)
/// and not in /metrics (0).
#[test]
fn datagrams_that_are_not_ipfix_count_the_same_in_metrics_and_stats() {
    let (child, to, metrics) = collect_with_metrics(&[]);
    scrape_until(metrics, |text| text.contains("200 OK"));
    let mut s = UdpSender::bind("127.0.0.1:0".parse().unwrap(), to, 1 << 16).unwrap();
    let junk = [0u8; 16];
    for _ in 0..40 {
        s.send_batch(&[&junk[..]; 50]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let malformed = "flowctl_collector_malformed_messages_total";
    let text = scrape_until(metrics, |text| sum(text, malformed) >= 2000);
    let exporter = samples(&text, malformed)
        .into_iter()
        .find(|(l, _)| l.contains("exporter=\"127.0.0.1\"") && l.contains("version=\"\""))
        .map(|(_, v)| v);
    assert_eq!(exporter, Some(2000), "{text}");
    let summary = stop_for_summary(child);
    assert_eq!(summary["totals"]["malformed"], 2000, "{summary}");
    assert_eq!(summary["totals"]["messages"], sum(&text, "flowctl_collector_messages_total"));
}

/// Issue 22, defect 1: a second collector process on a UDP port the first holds with
/// `SO_REUSEPORT` is refused with "address in use", instead of silently taking half the traffic.
#[test]
fn a_second_collector_process_cannot_share_a_udp_port() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("udp://127.0.0.1:{port}");
    let mut first = Service::spawn(&["collect", "--stats", "-o", "json", "--udp-sockets", "2", "-l", &listen], |_| {});
    let held = (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::net::UdpSocket::bind(("127.0.0.1", port)).is_err()
    });
    assert!(held, "the first collector never bound udp port {port}");
    assert!(first.0.try_wait().unwrap().is_none(), "the first collector exited");

    let second = flowctl()
        .args(["collect", "--stats", "-o", "json", "--udp-sockets", "2", "-l", &listen])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second collector started on a port in use: {stderr}");
    assert!(stderr.contains("address in use") && stderr.contains(&listen), "{stderr}");
    drop(first);
}

/// Issue 22, defect 4: without `-v`, collect says once per address where it listens, where its
/// metrics are, and with `--stats` that it is waiting; `--quiet` says none of it.
#[test]
fn collect_says_where_it_listens_once_and_quiet_silences_it() {
    let (port, metrics) = (free_port(), free_port());
    let (udp, tcp) = (format!("udp://127.0.0.1:{port}"), format!("tcp://127.0.0.1:{port}"));
    let metrics_addr = format!("127.0.0.1:{metrics}");
    let args = ["collect", "--stats", "-o", "json", "-l", &udp, "-l", &tcp, "--metrics-addr", &metrics_addr];
    let collector = Service::spawn(&args, |_| {});
    wait_listening(port);
    wait_listening(metrics);
    let (_, _, err) = collector.stop("-TERM");
    assert_eq!(err.matches(&format!("listening on {udp}")).count(), 1, "{err}");
    assert_eq!(err.matches(&format!("listening on {tcp}")).count(), 1, "{err}");
    assert!(err.contains(&format!("metrics on http://{metrics_addr}/metrics")), "{err}");
    assert!(err.contains("the summary is printed when collection stops"), "{err}");

    let (port, metrics) = (free_port(), free_port());
    let tcp = format!("tcp://127.0.0.1:{port}");
    let metrics_addr = format!("127.0.0.1:{metrics}");
    let quiet = Service::spawn(
        &["collect", "--quiet", "--stats", "-o", "json", "-l", &tcp, "--metrics-addr", &metrics_addr],
        |_| {},
    );
    wait_listening(port);
    wait_listening(metrics);
    let (_, _, err) = quiet.stop("-TERM");
    assert!(!err.contains("listening") && !err.contains("metrics on"), "--quiet: {err}");
}

/// Issue 22, defect 4: on a terminal, a running collector prints a status line with what came in,
/// what was printed, the drops and the exporters connected.
#[test]
fn collect_on_a_terminal_prints_a_status_line() {
    let bin = assert_cmd::cargo::cargo_bin("flowctl");
    let port = free_port();
    let command =
        format!("{} collect -o json -l udp://127.0.0.1:{port} --status-every 300ms --duration 1500ms", bin.display());
    // script(1) gives the collector a terminal for stdout and stderr.
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("script(1) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let status: Vec<&str> = text.lines().filter(|l| l.contains("status:")).collect();
    assert!(status.len() >= 2, "a status line every 300 ms for 1.5 s: {text}");
    for line in status {
        for part in
            ["0 records", "0 printed", "0 datagrams dropped by the kernel", "0 malformed", "0 exporters connected"]
        {
            assert!(line.contains(part), "{part} in {line}");
        }
    }
}

/// Issue #22 (3): `collect -l 4739` listened on tcp://0.0.18.131:4739. `-l HOST:PORT` (and a bare
/// PORT) listens on UDP and TCP, as the default does: one record over each arrives.
#[test]
fn listen_host_port_without_a_protocol_receives_over_udp_and_tcp() {
    let port = free_port();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowctl"))
        .args(["collect", "-o", "json", "-n", "2", "--duration", "20s", "-l", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = ports_template(256);
    let mut tcp = (0..100)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            TcpStream::connect(("127.0.0.1", port)).ok()
        })
        .expect("no TCP listener");
    tcp.write_all(&[template_message(&t), data_message(256, 0, 6)].concat()).unwrap();
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut udp = UdpSender::bind("127.0.0.1:0".parse().unwrap(), to, 1 << 16).unwrap();
    udp.send_batch(&[&template_message(&t), &data_message(256, 0, 17)]).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut ports: Vec<_> =
        json_lines(&out.stdout).iter().map(|r| r["fields"]["sourceTransportPort"].as_u64().unwrap()).collect();
    ports.sort();
    assert_eq!(ports, [6, 17], "one record over TCP (6) and one over UDP (17)");
}

/// Issue #22 (3): a bare port was read as a host (0.0.18.131).
#[test]
fn listen_bare_port_is_every_address_and_help_says_so() {
    let port = free_port();
    let out = flowctl().args(["collect", "-l", &port.to_string(), "--duration", "1s", "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("0.0.18."), "{stderr}");
    let help = flowctl().args(["collect", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("without PROTO both UDP and TCP"), "{help}");
}

/// Issue #22: `collect --fields` prints only the chosen fields; with `-o csv` a header of the
/// names comes first, then one line per record (`frame` is empty: live input has none).
#[test]
fn collect_prints_only_the_chosen_fields_as_csv() {
    let port = free_port();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowctl"))
        .args(["collect", "-l", &format!("udp://127.0.0.1:{port}"), "-o", "csv", "-n", "3"])
        .args(["--fields", "destinationTransportPort,exporter,frame,sourceTransportPort"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut s = UdpSender::bind("127.0.0.1:0".parse().unwrap(), to, 1 << 16).unwrap();
    let sender = s.local_addr();
    for k in 0..200u32 {
        let _ = s.send_batch(&[&template_message(&ports_template(256)), &data_message(256, k, 7)]);
        std::thread::sleep(Duration::from_millis(20));
        if child.try_wait().unwrap().is_some() {
            break;
        }
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let line = format!("80,{sender},,7");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("destinationTransportPort,exporter,frame,sourceTransportPort\n{line}\n{line}\n{line}\n")
    );
}
