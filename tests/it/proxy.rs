//! `flowctl run aggregator --mode proxy` end to end on 127.0.0.1: records from real exporters'
//! captures and Antrea agent records made with the encoder go through the proxy to a real
//! collector (flowctl's, nfcapd); every record arrives exactly once, carrying the identity of the
//! exporter that sent it, in the reference order; a collector that goes away loses nothing the
//! queue can hold; the command reads Antrea's config file and answers `get recordmetrics`.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flowctl::core::aggregator::RecordMetrics;
use flowctl::core::aggregator::proxy::{self, ProxyOptions, ProxySummary};
use flowctl::core::collector::CollectorConfig;
use flowctl::core::exporter::{ExporterConfig, Profile};
use flowctl::core::flow::fnv1_32;
use flowctl::core::flow::{Flow, FlowWriter, Layout, LayoutOptions, layout_names};
use flowctl::core::ipfix::{MessageWriter, Template};
use flowctl::core::k8s::PodStore;
use flowctl::core::replay::ReplayOptions;
use flowctl::core::transport::{Endpoint, UdpConfig, UdpSender};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::collect::{Records, collector, collector_on};
use crate::fakeapi::{FakeApiServer, FakePod, unix_now};
use crate::replay::{decode_json, replay_in_process, rx_queue};
use crate::util::{flowctl, testdata_or_skip};

/// Kills the child if the test fails before it stops it.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        // Only while it is still ours: a pid reaped already may belong to someone else by now.
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", self.0)).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("flowctl") {
            let _ = Command::new("kill").args(["-KILL", &self.0.to_string()]).status();
        }
    }
}

/// The binary as a child process of our own, for signals.
fn spawn_flowctl() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("flowctl"));
    cmd.env_remove("RUST_LOG");
    cmd
}

const CLUSTER: &str = "cluster-a";
const AGENT_DOMAIN: u32 = 0x00ab_cdef;

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

fn free_udp_port() -> u16 {
    UdpSocket::bind(localhost(0)).unwrap().local_addr().unwrap().port()
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind(localhost(0)).unwrap().local_addr().unwrap().port()
}

/// A proxy listening on UDP `port`, exporting to `to`; stop it with the sender.
async fn start_proxy(
    port: u16,
    to: Option<Endpoint>,
    profile: Profile,
    queue_records: usize,
    pods: Option<PodStore>,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<ProxySummary>) {
    let opts = ProxyOptions {
        collector: CollectorConfig {
            listen: vec![Endpoint::Udp(localhost(port))],
            udp: UdpConfig { sockets: 2, ..UdpConfig::default() },
            ..CollectorConfig::default()
        },
        exporter: to.map(|to| ExporterConfig {
            to,
            domain: fnv1_32(CLUSTER.as_bytes()),
            profile,
            queue_records,
            ..ExporterConfig::default()
        }),
        cluster_id: CLUSTER.into(),
        pod_labels: pods.is_some(),
        layout: LayoutOptions::default(),
        pods,
        api_addr: None,
        drain: Duration::from_secs(10),
        status_every: Duration::ZERO,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        proxy::run(opts, async {
            let _ = stopped.await;
        })
        .await
        .unwrap()
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx_queue(port).is_none() {
        assert!(Instant::now() < deadline, "the proxy did not bind 127.0.0.1:{port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (stop, task)
}

async fn wait_for(records: &Records, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while records.lock().unwrap().len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Antrea agent records: inter-Node (source half), intra-Node, to-external, IPv4 and IPv6.
fn agent_flows(n: usize) -> Vec<Flow> {
    (0..n)
        .map(|i| {
            let mut f = Flow::default();
            let v6 = i % 4 == 3;
            f.flow_start = 1_700_000_000 + i as u32;
            f.flow_end = f.flow_start + 5;
            f.end_reason = 1;
            f.source_port = 40_000 + (i % 20_000) as u16;
            f.destination_port = 80;
            f.protocol = 6;
            f.packet_total = 10 + i as u64;
            f.octet_total = 1000 + i as u64;
            f.packet_delta = 3;
            f.octet_delta = 300;
            f.source_address = if v6 { "fd00::1".parse().unwrap() } else { "10.10.0.5".parse().unwrap() };
            f.destination_address = if v6 { "fd00::2".parse().unwrap() } else { "10.10.1.7".parse().unwrap() };
            f.source_pod_name = format!("client-{i}");
            f.source_pod_namespace = "default".into();
            f.source_node_name = "node-1".into();
            f.flow_type = [2, 1, 3][i % 3];
            if f.flow_type == 1 {
                f.destination_pod_name = "server".into();
                f.destination_pod_namespace = "web".into();
                f.destination_node_name = "node-1".into();
            }
            f.tcp_state = "ESTABLISHED".into();
            f
        })
        .collect()
}

/// The agent's messages: its templates, then the records, as the agent sends them (one record
/// per message).
fn agent_messages(flows: &[Flow]) -> Vec<Vec<u8>> {
    let opts = LayoutOptions::default();
    let v4 = FlowWriter::new(Layout::AgentV4, opts);
    let v6 = FlowWriter::new(Layout::AgentV6, opts);
    let mut messages = Vec::new();
    let mut m = MessageWriter::ipfix(1_700_000_000, 0, AGENT_DOMAIN);
    m.begin_template_set(false);
    m.template(&Template::new(256, 0, v4.specs().iter().copied()));
    m.template(&Template::new(257, 0, v6.specs().iter().copied()));
    messages.push(m.finish());
    for (i, f) in flows.iter().enumerate() {
        let mut m = MessageWriter::ipfix(1_700_000_000, i as u32, AGENT_DOMAIN);
        let (id, w) = if f.source_address.is_ipv6() { (257, &v6) } else { (256, &v4) };
        m.begin_set(id);
        w.write(f, &mut m.record());
        messages.push(m.finish());
    }
    messages
}

fn send_udp(port: u16, messages: &[Vec<u8>]) -> SocketAddr {
    let mut sender = UdpSender::bind(localhost(0), localhost(port), 4 << 20).unwrap();
    for chunk in messages.chunks(64) {
        let batch: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        assert_eq!(sender.send_batch(&batch).unwrap(), batch.len());
        // A burst much larger than the proxy's receive buffer would be dropped by the kernel.
        std::thread::sleep(Duration::from_micros(200));
    }
    sender.local_addr()
}

const MEDIATION: [&str; 3] =
    ["originalExporterIPv4Address", "originalExporterIPv6Address", "originalObservationDomainId"];

/// What a forwarded record must carry: the input's fields in order, then the mediation elements.
fn forwarded(input: &Value) -> String {
    let mut fields = input["fields"].as_object().unwrap().clone();
    fields.insert(MEDIATION[0].into(), "127.0.0.1".into());
    fields.insert(MEDIATION[1].into(), "::".into());
    fields.insert(MEDIATION[2].into(), input["observationDomainId"].clone());
    serde_json::to_string(&fields).unwrap()
}

/// Per message of the proxy's output, the sequence number is the count of data records the
/// proxy sent before it (RFC 7011 §3.1), in one observation domain: the proxy's.
fn assert_sequence_numbers(out: &[Value]) {
    let mut sent = 0u64;
    let mut i = 0;
    while i < out.len() {
        let seq = out[i]["sequenceNumber"].as_u64().unwrap();
        assert_eq!(seq, sent % (1 << 32), "message at output record {i}");
        assert_eq!(out[i]["observationDomainId"].as_u64().unwrap(), u64::from(fnv1_32(CLUSTER.as_bytes())));
        let n = out[i..].iter().take_while(|r| r["sequenceNumber"] == out[i]["sequenceNumber"]).count();
        sent += n as u64;
        i += n;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_exporters_and_antrea_records_pass_the_proxy_exactly_once_with_their_identity() {
    let (endpoints, records, stop_downstream, downstream) = collector(&["tcp"], CollectorConfig::default()).await;
    let port = free_udp_port();
    let (stop, proxy) = start_proxy(port, Some(endpoints[0]), Profile::Standard, 1 << 20, None).await;

    // Third-party exporters: each capture replayed from its own source, as its exporter sent it.
    let mut expected: Vec<String> = Vec::new();
    if let Some(testdata) = testdata_or_skip("proxy: third-party captures") {
        for capture in [
            "peers-generated/softflowd_ipfix.pcap",
            "peers-generated/ulogd_nfct_ipfix.pcap",
            "peers-generated/pmacctd_nfprobe_ipfix.pcap",
            "pmacct/100-IPFIXv10-CISCO/traffic-00.pcap",
            "pmacct/101-NFv9-CISCO-cust_primitives/traffic-00.pcap",
        ] {
            let path = testdata.join("captures").join(capture);
            expected.extend(decode_json(&path).iter().map(forwarded));
            replay_in_process(ReplayOptions::new(vec![path], Endpoint::Udp(localhost(port)))).await;
        }
    }
    let third_party = expected.len();
    let flows = agent_flows(300);
    send_udp(port, &agent_messages(&flows));
    let total = third_party + flows.len();
    wait_for(&records, total, Duration::from_secs(20)).await;
    stop.send(()).unwrap();
    let summary = proxy.await.unwrap();
    stop_downstream.send(()).unwrap();
    downstream.await.unwrap();

    let out = records.lock().unwrap().clone();
    assert_eq!(out.len(), total, "records out of the proxy");
    assert_eq!(summary.received as usize, total);
    assert_eq!((summary.antrea as usize, summary.generic as usize), (flows.len(), third_party));
    assert_eq!((summary.exported as usize, summary.not_forwarded, summary.export_dropped), (total, 0, 0));
    assert_sequence_numbers(&out);

    // Others' records: their own fields, then where they came from; each exactly once.
    let mut got: Vec<String> = out
        .iter()
        .filter(|r| !r["fields"].as_object().unwrap().contains_key("clusterId"))
        .map(|r| serde_json::to_string(&r["fields"]).unwrap())
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    // Antrea's: the proxy template in the reference order, with the agent's identity.
    let antrea: Vec<&Value> =
        out.iter().filter(|r| r["fields"].as_object().unwrap().contains_key("clusterId")).collect();
    assert_eq!(antrea.len(), flows.len());
    let names_v4 = layout_names(Layout::ProxyV4, LayoutOptions::default());
    let names_v6 = layout_names(Layout::ProxyV6, LayoutOptions::default());
    assert_eq!(names_v4.len(), 50);
    let mut by_port: BTreeMap<(String, u64), &Value> = BTreeMap::new();
    for r in &antrea {
        let f = r["fields"].as_object().unwrap();
        let names: Vec<&str> = f.keys().map(String::as_str).collect();
        let v6 = f.contains_key("sourceIPv6Address");
        assert_eq!(&names, if v6 { &names_v6 } else { &names_v4 }, "proxy IE order");
        assert_eq!(r["templateId"], if v6 { 257 } else { 256 });
        assert_eq!(f["originalExporterIPv4Address"], "127.0.0.1");
        assert_eq!(f["originalExporterIPv6Address"], "::");
        assert_eq!(f["originalObservationDomainId"], AGENT_DOMAIN);
        assert_eq!(f["clusterId"], CLUSTER);
        assert_eq!((&f["sourcePodLabels"], &f["destinationPodLabels"]), (&Value::from(""), &Value::from("")));
        let pod = f["sourcePodName"].as_str().unwrap().to_owned();
        by_port.insert((pod, f["sourceTransportPort"].as_u64().unwrap()), r);
    }
    assert_eq!(by_port.len(), flows.len(), "each agent record exactly once");
    for flow in &flows {
        let r = by_port[&(flow.source_pod_name.clone(), u64::from(flow.source_port))];
        let f = &r["fields"];
        // INTER_NODE with only the source Pod: EGRESS; intra-Node: UNKNOWN; to external: EGRESS.
        let direction = match flow.flow_type {
            2 | 3 => 1,
            _ => 255,
        };
        assert_eq!(f["flowDirection"], direction, "flowType {}", flow.flow_type);
        assert_eq!(f["flowType"], flow.flow_type);
        assert_eq!(f["octetTotalCount"], flow.octet_total);
        assert_eq!(f["destinationPodName"], flow.destination_pod_name.as_str());
        assert_eq!(f["tcpState"], "ESTABLISHED");
    }
}

/// tshark reads the proxy's IPFIX (go-ipfix profile, over TCP) without an error, and nfcapd
/// stores every flow the proxy forwards over UDP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tshark_and_nfcapd_read_what_the_proxy_sends() {
    let Some(testdata) = testdata_or_skip("tshark_and_nfcapd_read_what_the_proxy_sends") else { return };
    let capture = testdata.join("captures/peers-generated/softflowd_ipfix.pcap");
    let data_records = decode_json(&capture).iter().filter(|r| r["kind"] == "data").count();
    let flows = agent_flows(50);

    // tshark on a capture of the proxy's TCP output.
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("proxy-out.pcap");
    let config = CollectorConfig { capture: Some(written.clone()), ..CollectorConfig::default() };
    let (endpoints, records, stop_downstream, downstream) = collector(&["tcp"], config).await;
    let port = free_udp_port();
    let (stop, proxy) = start_proxy(port, Some(endpoints[0]), Profile::GoIpfix, 1 << 20, None).await;
    replay_in_process(ReplayOptions::new(vec![capture.clone()], Endpoint::Udp(localhost(port)))).await;
    send_udp(port, &agent_messages(&flows));
    wait_for(&records, data_records + flows.len(), Duration::from_secs(10)).await;
    stop.send(()).unwrap();
    proxy.await.unwrap();
    stop_downstream.send(()).unwrap();
    downstream.await.unwrap();
    assert_eq!(records.lock().unwrap().len(), data_records + flows.len());
    let port_pref = format!("cflow.tcp.port:{}", endpoints[0].addr().port());
    let tshark = Command::new("tshark")
        .args(["-n", "-o", &port_pref, "-r"])
        .arg(&written)
        .args(["-Y", "_ws.malformed || _ws.expert.severity >= \"error\""])
        .output();
    match tshark {
        Err(_) => {
            eprintln!("tshark_and_nfcapd_read_what_the_proxy_sends: tshark part skipped: tshark is not installed")
        }
        Ok(out) => {
            assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8_lossy(&out.stdout), "", "frames tshark finds malformed");
            let counted = Command::new("tshark")
                .args(["-n", "-o", &port_pref, "-r"])
                .arg(&written)
                .args(["-T", "fields", "-e", "cflow.od_id"])
                .output()
                .unwrap();
            assert!(String::from_utf8_lossy(&counted.stdout).contains(&fnv1_32(CLUSTER.as_bytes()).to_string()));
        }
    }

    // nfcapd behind the proxy over UDP.
    if Command::new("nfcapd").arg("-V").output().is_err() {
        eprintln!("tshark_and_nfcapd_read_what_the_proxy_sends: nfcapd part skipped: nfcapd is not installed");
        return;
    }
    let nf_dir = tempfile::tempdir().unwrap();
    let nf_port = free_udp_port();
    let mut nfcapd = Command::new("nfcapd")
        .args(["-b", "127.0.0.1", "-p", &nf_port.to_string(), "-t", "3600", "-w"])
        .arg(nf_dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx_queue(nf_port).is_none() {
        assert!(Instant::now() < deadline, "nfcapd did not bind");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let port = free_udp_port();
    let (stop, proxy) =
        start_proxy(port, Some(Endpoint::Udp(localhost(nf_port))), Profile::GoIpfix, 1 << 20, None).await;
    replay_in_process(ReplayOptions::new(vec![capture], Endpoint::Udp(localhost(port)))).await;
    stop.send(()).unwrap();
    let summary = proxy.await.unwrap();
    assert_eq!(summary.exported as usize, data_records);
    while rx_queue(nf_port).is_some_and(|q| q > 0) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(Command::new("kill").args(["-INT", &nfcapd.id().to_string()]).status().unwrap().success());
    nfcapd.wait().unwrap();
    let out = Command::new("nfdump").arg("-R").arg(nf_dir.path()).args(["-o", "json"]).output().unwrap();
    let stored: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let flows_stored = stored.iter().filter(|r| r["type"] == "FLOW").count();
    assert_eq!(flows_stored, data_records, "flows nfcapd stored from the proxy");
}

/// The downstream collector goes away for 10 s and comes back on the same port: every record
/// sent meanwhile (fewer than the queue holds) arrives once; with a small queue the overflow is
/// counted as dropped, and exported + dropped is everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_down_for_10_s_loses_nothing_the_queue_holds_and_overflow_is_counted() {
    for (queue, batches) in [(1 << 20, 10usize), (150, 10)] {
        let tcp_port = free_tcp_port();
        let at = Endpoint::Tcp(localhost(tcp_port));
        let (_, records, stop_downstream, downstream) = collector_on(vec![at], CollectorConfig::default()).await;
        let port = free_udp_port();
        let (stop, proxy) = start_proxy(port, Some(at), Profile::GoIpfix, queue, None).await;
        let flows = agent_flows(100);
        let messages = agent_messages(&flows);
        // A template message, then 100 records: the first batch reaches the collector.
        send_udp(port, &messages);
        wait_for(&records, 100, Duration::from_secs(5)).await;
        assert_eq!(records.lock().unwrap().len(), 100);
        stop_downstream.send(()).unwrap();
        downstream.await.unwrap();
        // Down: one batch a second for 10 s.
        for _ in 0..batches {
            // Each call sends from a new port, a new session: the templates go first again.
            send_udp(port, &messages);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let (_, records, stop_downstream, downstream) = collector_on(vec![at], CollectorConfig::default()).await;
        let sent = 100 * batches;
        stop.send(()).unwrap();
        let summary = proxy.await.unwrap();
        wait_for(&records, sent, Duration::from_secs(5)).await;
        stop_downstream.send(()).unwrap();
        downstream.await.unwrap();
        let got = records.lock().unwrap().len();
        assert_eq!(summary.received as usize, 100 + sent);
        if queue > sent {
            assert_eq!((got, summary.export_dropped), (sent, 0), "queue {queue}");
        } else {
            assert!(summary.export_dropped > 0, "queue {queue}: the overflow is counted");
            assert_eq!(got as u64 + summary.export_dropped, sent as u64, "queue {queue}: delivered + dropped");
        }
    }
}

/// The command: Antrea's config file with flags over it, `get recordmetrics` as antctl prints it,
/// SIGTERM drains and exits 0; an invalid value exits 2 naming the key.
#[test]
fn the_command_reads_antreas_config_serves_recordmetrics_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let down_port = free_tcp_port();
    let downstream = spawn_flowctl()
        .args(["collect", "-o", "json", "-l", &format!("tcp://127.0.0.1:{down_port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _reap_downstream = Reaper(downstream.id());
    let in_port = free_udp_port();
    let api_port = free_tcp_port();
    let conf = dir.path().join("flow-aggregator.conf");
    std::fs::write(
        &conf,
        format!(
            "mode: Proxy\naggregatorTransportProtocol: udp\nclusterID: {CLUSTER}\nflowCollector:\n  enable: true\n  \
             address: \"127.0.0.1:{down_port}:tcp\"\n  templateRefreshTimeout: 600s\nunknownKey: 1\n"
        ),
    )
    .unwrap();
    let mut aggregator = spawn_flowctl()
        .args(["run", "aggregator", "--config"])
        .arg(&conf)
        .args(["-l", &format!("udp://127.0.0.1:{in_port}"), "--metrics-addr", &format!("127.0.0.1:{api_port}")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _reap_aggregator = Reaper(aggregator.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while rx_queue(in_port).is_none() {
        assert!(Instant::now() < deadline, "the aggregator did not bind");
        std::thread::sleep(Duration::from_millis(20));
    }
    let flows = agent_flows(40);
    send_udp(in_port, &agent_messages(&flows));
    let server = format!("http://127.0.0.1:{api_port}");
    let want = RecordMetrics {
        num_records_exported: 40,
        num_records_received: 40,
        num_conn_to_collector: 1,
        with_ipfix_exporter: true,
        ..RecordMetrics::default()
    };
    let mut metrics = RecordMetrics::default();
    // Counters are published once a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    while metrics != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let out = flowctl().args(["get", "recordmetrics", "--server", &server, "-o", "json"]).output().unwrap();
        if out.status.success() {
            metrics = serde_json::from_slice(&out.stdout).unwrap();
        }
    }
    assert_eq!(metrics, want);
    let table = flowctl().args(["get", "recordmetrics", "--server", &server, "-o", "table"]).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], RecordMetrics::COLUMNS);
    assert_eq!(lines[1], ["40", "40", "0", "0", "1", "false", "false", "false", "true"]);
    // Issue #22 (6): `get flowrecords` against proxy mode answered a bare `404 Not Found:`, and a
    // --server without http:// did not work.
    let bare = format!("127.0.0.1:{api_port}");
    let out = flowctl().args(["get", "recordmetrics", "--server", &bare, "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<RecordMetrics>(&out.stdout).unwrap(), want);
    let out = flowctl().args(["get", "flowrecords", "--server", &bare]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("flow records only in aggregate mode"), "{err}");
    match Command::new("curl").args(["-s", &format!("{server}/metrics")]).output() {
        Ok(p) => {
            let text = String::from_utf8_lossy(&p.stdout);
            assert!(text.contains("flowctl_exporter_records_exported_total 40"), "{text}");
            assert!(text.contains("flowctl_aggregator_records_received_total 40"), "{text}");
        }
        Err(_) => eprintln!("the /metrics part skipped: curl is not installed"),
    }

    assert!(Command::new("kill").args(["-TERM", &aggregator.id().to_string()]).status().unwrap().success());
    let status = aggregator.wait().unwrap();
    let mut log = String::new();
    aggregator.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(status.success(), "{log}");
    assert!(log.contains("unknown key unknownKey"), "{log}");
    assert!(Command::new("kill").args(["-TERM", &downstream.id().to_string()]).status().unwrap().success());
    let out = downstream.wait_with_output().unwrap();
    assert_eq!(crate::util::json_lines(&out.stdout).len(), 40);

    std::fs::write(&conf, "mode: Proxy\nflowCollector:\n  recordFormat: XML\n").unwrap();
    let out = flowctl().args(["run", "aggregator", "--config"]).arg(&conf).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("flowCollector.recordFormat: \"XML\" is not valid; expected IPFIX or JSON"), "{err}");
}

/// Issue #20, defect 8, through the binary: SIGTERM right after a TCP burst used to lose what
/// the aggregator's sockets still held (the exporter's TCP had it acknowledged, so the exporter
/// counted it delivered) while the exit log said nothing was dropped. Now the aggregator reads
/// every connection dry before it exports the last of it, and everything reaches downstream.
#[test]
fn sigterm_right_after_a_tcp_burst_forwards_every_record() {
    let down_port = free_tcp_port();
    let downstream = spawn_flowctl()
        .args(["collect", "--stats", "-o", "json", "-l", &format!("tcp://127.0.0.1:{down_port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _reap_downstream = Reaper(downstream.id());
    let in_port = free_tcp_port();
    let aggregator = spawn_flowctl()
        .args(["run", "aggregator", "--mode", "proxy", "--cluster-id", CLUSTER, "-l"])
        .arg(format!("tcp://127.0.0.1:{in_port}"))
        .args(["--flow-collector", &format!("127.0.0.1:{down_port}:tcp")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _reap_aggregator = Reaper(aggregator.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut exporter = loop {
        match std::net::TcpStream::connect(localhost(in_port)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("the aggregator did not listen: {e}"),
        }
    };
    let flows = agent_flows(20_000);
    let burst: Vec<u8> = agent_messages(&flows).concat();
    std::io::Write::write_all(&mut exporter, &burst).unwrap();
    assert!(Command::new("kill").args(["-TERM", &aggregator.id().to_string()]).status().unwrap().success());
    let out = aggregator.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(exporter);
    assert!(Command::new("kill").args(["-TERM", &downstream.id().to_string()]).status().unwrap().success());
    let out = downstream.wait_with_output().unwrap();
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["totals"]["dataRecords"], 20_000, "every record of the burst was forwarded");
}

/// Pod labels and an inter-Node record's missing Pod come from Kubernetes: the aggregator watches
/// Pods through `--kubeconfig` (the fake API server, real HTTP list/watch) and writes labels as
/// the reference does: Go's JSON text, `{}` for a Pod without labels, `""` for no known Pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_labels_and_missing_pods_come_from_the_kubernetes_api() {
    let api = FakeApiServer::start();
    let created = unix_now() - 600;
    api.apply(
        &FakePod::new("default", "client")
            .ip("10.10.0.5")
            .node("node-1")
            .label("tier", "a<b")
            .label("app", "web")
            .created(created),
    );
    api.apply(&FakePod::new("web", "server").ip("10.10.1.7").node("node-2").created(created));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.write_kubeconfig(dir.path());

    let (endpoints, records, stop_downstream, downstream) = collector(&["tcp"], CollectorConfig::default()).await;
    let in_port = free_udp_port();
    let mut aggregator = spawn_flowctl()
        .args(["run", "aggregator", "--mode", "proxy", "--pod-labels", "--cluster-id", CLUSTER, "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["-l", &format!("udp://127.0.0.1:{in_port}"), "--metrics-addr", "127.0.0.1:0"])
        .args(["--flow-collector", &format!("127.0.0.1:{}:tcp", endpoints[0].addr().port())])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _reap = Reaper(aggregator.id());
    // Listed and watching: the Pods are in the aggregator's store.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !api.requests().iter().any(|r| r.contains("watch=true")) || rx_queue(in_port).is_none() {
        assert!(Instant::now() < deadline, "the aggregator did not watch Pods; requests: {:?}", api.requests());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let now = unix_now() as u32;
    let flow = |src_pod: &str, flow_type: u8| Flow {
        flow_start: now,
        flow_end: now,
        protocol: 6,
        source_port: 5000,
        destination_port: 80,
        source_address: "10.10.0.5".parse().unwrap(),
        destination_address: "10.10.1.7".parse().unwrap(),
        source_pod_name: src_pod.into(),
        source_pod_namespace: "default".into(),
        flow_type,
        ..Flow::default()
    };
    // The source Node's half of an inter-Node flow, and one from a Pod the API does not know.
    let mut ghost = flow("ghost", 3);
    ghost.source_address = "10.99.0.1".parse().unwrap();
    send_udp(in_port, &agent_messages(&[flow("client", 2), ghost]));
    wait_for(&records, 2, Duration::from_secs(10)).await;
    assert!(Command::new("kill").args(["-TERM", &aggregator.id().to_string()]).status().unwrap().success());
    let status = aggregator.wait().unwrap();
    let mut log = String::new();
    aggregator.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(status.success(), "{log}");
    stop_downstream.send(()).unwrap();
    downstream.await.unwrap();

    let out = records.lock().unwrap().clone();
    assert_eq!(out.len(), 2, "{log}");
    let by_pod: BTreeMap<String, &Value> =
        out.iter().map(|r| (r["fields"]["sourcePodName"].as_str().unwrap().to_owned(), &r["fields"])).collect();
    let client = by_pod["client"];
    assert_eq!(client["sourcePodLabels"], r#"{"app":"web","tier":"a\u003cb"}"#);
    assert_eq!(client["destinationPodName"], "server", "filled from the Pod store by IP");
    assert_eq!(client["destinationPodNamespace"], "web");
    assert_eq!(client["destinationNodeName"], "node-2");
    assert_eq!(client["destinationPodLabels"], "{}");
    assert_eq!(client["flowDirection"], 1);
    let ghost = by_pod["ghost"];
    assert_eq!((&ghost["sourcePodLabels"], &ghost["destinationPodLabels"]), (&Value::from(""), &Value::from("")));
}
