//! The exporting process into the real collecting process on 127.0.0.1: every record arrives
//! exactly once over UDP, TCP, TLS and mutual TLS with sequence numbers that never skip; a
//! collector that is down for a while and comes back on the same port loses nothing within the
//! queue bound, and beyond it the drop count is exactly what is missing; tshark reads what the
//! exporter writes without complaint.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowctl::core::collector::{Board, CollectingProcess, CollectorConfig, RecordSink};
use flowctl::core::exporter::{ExportSender, ExporterConfig, ExportingProcess, Profile, RecordBatch, TemplateSet};
use flowctl::core::flow::{AGENT_IPV4, template};
use flowctl::core::ipfix::decoder::RecordRef;
use flowctl::core::ipfix::registry::PEN_ANTREA;
use flowctl::core::ipfix::{Template, Value};
use flowctl::core::transport::certs::{self, CertsRequest};
use flowctl::core::transport::{ClientTls, Endpoint, ServerTls};
use tokio::sync::oneshot;

/// What the collector saw of each record: octetDeltaCount (the record's number), sourcePodName,
/// and the template id.
type Seen = Arc<Mutex<Vec<(u64, String, u16)>>>;

struct Keep(Seen);

impl RecordSink for Keep {
    fn record(&mut self, r: &RecordRef<'_>) {
        let n = match r.record.get(0, 1) {
            Some(Value::Unsigned(n)) => n,
            other => panic!("octetDeltaCount: {other:?}"),
        };
        let pod = match r.record.get(PEN_ANTREA, 101) {
            Some(Value::String(s)) => String::from_utf8_lossy(s).into_owned(),
            other => panic!("sourcePodName: {other:?}"),
        };
        self.0.lock().unwrap().push((n, pod, r.record.template.id));
    }
}

struct Collector {
    endpoint: Endpoint,
    seen: Seen,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Board>,
}

impl Collector {
    async fn start(listen: &str, tls: Option<ServerTls>, capture: Option<&Path>) -> Collector {
        let seen: Seen = Arc::default();
        let sink = seen.clone();
        let config = CollectorConfig {
            listen: vec![listen.parse().unwrap()],
            tls,
            capture: capture.map(Path::to_path_buf),
            ..CollectorConfig::default()
        };
        let process = CollectingProcess::start(config, Arc::new(move || Box::new(Keep(sink.clone())))).await.unwrap();
        let endpoint = process.endpoints()[0];
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(process.run(async {
            let _ = stopped.await;
        }));
        Collector { endpoint, seen, stop, task }
    }

    async fn wait_for(&self, n: usize) {
        for _ in 0..1000 {
            if self.seen.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{}: {} of {n} records arrived", self.endpoint, self.seen.lock().unwrap().len());
    }

    async fn stop(self) -> (Vec<(u64, String, u16)>, Board) {
        self.stop.send(()).unwrap();
        let board = self.task.await.unwrap();
        let seen = self.seen.lock().unwrap().clone();
        (seen, board)
    }
}

/// The Antrea agent's IPv4 template, as the agent would register it.
fn agent_template(templates: &TemplateSet) -> Arc<Template> {
    let specs: Vec<_> = template(0, &AGENT_IPV4).specs().collect();
    templates.get(templates.register(0, &specs).unwrap()).unwrap()
}

/// Records `range` of the agent template: record `i` has octetDeltaCount `i` and Pod `pod-{i}`.
fn agent_records(t: &Template, range: std::ops::Range<u64>) -> RecordBatch {
    let mut batch = RecordBatch::with_capacity((range.end - range.start) as usize);
    for i in range {
        batch.push(t.id, |w| {
            for f in t.fields.iter() {
                match t.name(f) {
                    "octetDeltaCount" => w.unsigned(i, f.spec.length),
                    "sourceTransportPort" => w.unsigned(i % 65536, f.spec.length),
                    "sourceIPv4Address" => w.fixed(&[10, 10, (i >> 8) as u8, i as u8], 4),
                    "sourcePodName" => w.varlen(format!("pod-{i}").as_bytes()),
                    "sourcePodNamespace" => w.varlen(b"default"),
                    _ if f.spec.is_varlen() => w.varlen(b""),
                    _ => w.unsigned(1, f.spec.length),
                };
            }
        });
    }
    batch
}

/// Sends records `range` in batches of 100, pausing between batches so UDP bursts stay small.
fn send(sender: &ExportSender, t: &Template, range: std::ops::Range<u64>) {
    let mut start = range.start;
    while start < range.end {
        let end = (start + 100).min(range.end);
        sender.send(agent_records(t, start..end)).unwrap();
        start = end;
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn exporter(to: Endpoint) -> ExporterConfig {
    ExporterConfig {
        domain: 42,
        flush_interval: Duration::from_millis(50),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        ..ExporterConfig::new(to)
    }
}

/// Records 0..n, each once, as sent.
fn assert_exactly(seen: &[(u64, String, u16)], range: std::ops::Range<u64>) {
    let numbers: Vec<u64> = seen.iter().map(|s| s.0).collect();
    let distinct: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(numbers.len(), distinct.len(), "a record arrived twice");
    assert_eq!(distinct, range.collect::<BTreeSet<_>>());
    for (n, pod, _) in seen {
        assert_eq!(pod, &format!("pod-{n}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_arrives_once_over_udp_tcp_tls_and_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = CertsRequest::new(dir.path());
    req.servers = vec!["127.0.0.1".into()];
    req.clients = vec!["aggregator".into()];
    certs::create(&req).unwrap();
    let server = |mutual: bool| ServerTls {
        cert: dir.path().join("server.crt"),
        key: dir.path().join("server.key"),
        client_ca: mutual.then(|| dir.path().join("ca.crt")),
    };
    let client = |mutual: bool| ClientTls {
        ca: dir.path().join("ca.crt"),
        cert: mutual.then(|| dir.path().join("client-aggregator.crt")),
        key: mutual.then(|| dir.path().join("client-aggregator.key")),
        server_name: None,
    };
    const N: u64 = 5000;
    for (name, listen, mutual) in [
        ("udp", "udp://127.0.0.1:0", None),
        ("tcp", "tcp://127.0.0.1:0", None),
        ("tls", "tls://127.0.0.1:0", Some(false)),
        ("mtls", "tls://127.0.0.1:0", Some(true)),
    ] {
        let collector = Collector::start(listen, mutual.map(server), None).await;
        let templates = Arc::new(TemplateSet::new());
        let t = agent_template(&templates);
        let config = ExporterConfig { tls: mutual.map(client), ..exporter(collector.endpoint) };
        let (process, sender) = ExportingProcess::start(config, templates).unwrap();
        let stats = tokio::task::spawn_blocking(move || {
            send(&sender, &t, 0..N);
            drop(sender);
            process.finish(Duration::from_secs(10))
        })
        .await
        .unwrap();
        collector.wait_for(N as usize).await;
        let (seen, board) = collector.stop().await;
        assert_eq!((stats.records_exported, stats.records_dropped, stats.connects), (N, 0, 1), "{name}");
        assert_exactly(&seen, 0..N);
        let totals = board.totals();
        assert_eq!((totals.data_records, totals.sequence_gaps, totals.lost), (N, 0, 0), "{name}");
        assert_eq!((totals.malformed, totals.sets_waiting, board.kernel_drops()), (0, 0, 0), "{name}");
        let sessions = board.merged_sessions();
        assert_eq!(sessions.len(), 1, "{name}: one transport session");
        assert_eq!(sessions[0].domains[0].0, (10, 42), "{name}: IPFIX, our observation domain");
        assert!(seen.iter().all(|s| s.2 == 256), "{name}: template ids from 256");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_down_for_two_seconds_loses_nothing_within_the_queue_bound() {
    let first = Collector::start("tcp://127.0.0.1:0", None, None).await;
    let endpoint = first.endpoint;
    let templates = Arc::new(TemplateSet::new());
    let t = agent_template(&templates);
    let (process, sender) = ExportingProcess::start(exporter(endpoint), templates).unwrap();
    let counters = process.counters();
    let (t2, s2) = (t.clone(), sender.clone());
    tokio::task::spawn_blocking(move || send(&s2, &t2, 0..1000)).await.unwrap();
    first.wait_for(1000).await;
    let (before, _) = first.stop().await;
    assert_exactly(&before, 0..1000);

    // Down: records wait, reconnecting fails a few times.
    let (t2, s2) = (t.clone(), sender.clone());
    tokio::task::spawn_blocking(move || send(&s2, &t2, 1000..4000)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down = counters.snapshot();
    assert_eq!((down.connected, down.records_dropped, down.send_errors), (0, 0, 1), "{down:?}");
    assert_eq!(down.records_exported, 1000);

    // Back on the same port: the queue goes out after the templates, on a new connection.
    let second = Collector::start(&endpoint.to_string(), None, None).await;
    second.wait_for(3000).await;
    let stats = tokio::task::spawn_blocking(move || {
        send(&sender, &t, 4000..4500);
        drop(sender);
        process.finish(Duration::from_secs(10))
    })
    .await
    .unwrap();
    second.wait_for(3500).await;
    let (after, board) = second.stop().await;
    assert_exactly(&after, 1000..4500);
    assert_eq!((stats.records_exported, stats.records_dropped, stats.connects), (4500, 0, 2));
    let totals = board.totals();
    assert_eq!((totals.template_records, totals.sets_waiting, totals.sequence_gaps), (1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_queue_bound_the_drop_count_is_what_is_missing() {
    // A port nobody listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint: Endpoint = format!("tcp://127.0.0.1:{port}").parse().unwrap();
    let templates = Arc::new(TemplateSet::new());
    let t = agent_template(&templates);
    let config = ExporterConfig { queue_records: 250, ..exporter(endpoint) };
    let (process, sender) = ExportingProcess::start(config, templates).unwrap();
    let counters = process.counters();
    let (t2, s2) = (t.clone(), sender.clone());
    tokio::task::spawn_blocking(move || send(&s2, &t2, 0..1000)).await.unwrap();
    for _ in 0..500 {
        if counters.snapshot().records_dropped == 750 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let collector = Collector::start(&endpoint.to_string(), None, None).await;
    collector.wait_for(250).await;
    drop(sender);
    let stats = tokio::task::spawn_blocking(move || process.finish(Duration::from_secs(10))).await.unwrap();
    let (seen, _) = collector.stop().await;
    assert_eq!(stats.records_dropped + seen.len() as u64, 1000);
    assert_eq!((stats.records_dropped, stats.records_exported, stats.queue_records), (750, 250, 0));
    // The oldest records waited; the newest were refused.
    assert_exactly(&seen, 0..250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tshark_decodes_the_exporters_messages_without_errors() {
    if std::process::Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("tshark_decodes_the_exporters_messages_without_errors: skipped: tshark is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (listen, profile) in [("udp://127.0.0.1:0", Profile::GoIpfix), ("tcp://127.0.0.1:0", Profile::Standard)] {
        let capture = dir.path().join("exported.pcap");
        let collector = Collector::start(listen, None, Some(&capture)).await;
        let endpoint = collector.endpoint;
        let templates = Arc::new(TemplateSet::new());
        let t = agent_template(&templates);
        let (process, sender) =
            ExportingProcess::start(ExporterConfig { profile, ..exporter(endpoint) }, templates).unwrap();
        let stats = tokio::task::spawn_blocking(move || {
            send(&sender, &t, 0..1000);
            drop(sender);
            process.finish(Duration::from_secs(10))
        })
        .await
        .unwrap();
        collector.wait_for(1000).await;
        collector.stop().await;
        let decode_as = format!("{}.port=={},cflow", endpoint.scheme(), endpoint.addr().port());
        let run = |extra: &[&str]| {
            let out = std::process::Command::new("tshark")
                .args(["-n", "-r", capture.to_str().unwrap(), "-d", &decode_as])
                .args(extra)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let complaints = run(&["-Y", "_ws.malformed || _ws.expert.severity >= \"warning\""]);
        assert!(complaints.trim().is_empty(), "{listen}: tshark complains:\n{complaints}");
        // Every record tshark decoded, by its source port (the record's number here).
        let ports = run(&["-Y", "cflow", "-T", "fields", "-e", "cflow.srcport"]);
        let ports: Vec<u64> =
            ports.lines().flat_map(|l| l.split(',')).filter(|p| !p.is_empty()).map(|p| p.parse().unwrap()).collect();
        assert_eq!(ports, (0..stats.records_exported).collect::<Vec<_>>(), "{listen}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_refusing_our_certificate_is_a_failed_connection_not_a_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = CertsRequest::new(dir.path());
    req.servers = vec!["127.0.0.1".into()];
    certs::create(&req).unwrap();
    let server = ServerTls {
        cert: dir.path().join("server.crt"),
        key: dir.path().join("server.key"),
        client_ca: Some(dir.path().join("ca.crt")),
    };
    let collector = Collector::start("tls://127.0.0.1:0", Some(server), None).await;
    let templates = Arc::new(TemplateSet::new());
    let t = agent_template(&templates);
    // No client certificate: TLS 1.3 lets the client finish its handshake before the collector
    // refuses it, so the refusal must still keep the records from counting as exported.
    let anonymous = ClientTls { ca: dir.path().join("ca.crt"), cert: None, key: None, server_name: None };
    let config = ExporterConfig { tls: Some(anonymous), ..exporter(collector.endpoint) };
    let (process, sender) = ExportingProcess::start(config, templates).unwrap();
    let stats = tokio::task::spawn_blocking(move || {
        send(&sender, &t, 0..100);
        std::thread::sleep(Duration::from_millis(500));
        drop(sender);
        process.finish(Duration::from_millis(200))
    })
    .await
    .unwrap();
    let (seen, board) = collector.stop().await;
    assert!(seen.is_empty());
    assert_eq!((stats.records_exported, stats.records_dropped, stats.connects), (0, 100, 0), "{stats:?}");
    assert!(board.connections.handshake_failures >= 2, "tried again: {:?}", board.connections);
}
