//! `flowctl run aggregator` in aggregate mode end to end on 127.0.0.1: two simulated Nodes (their
//! own addresses and observation domains, mutual TLS with the certificates the aggregator makes)
//! send the source-Node and destination-Node halves of the same connections, in both orders; the
//! aggregator exports one correlated record per connection to `flowctl collect`, the CSV flow log
//! and a real ClickHouse server, and answers `get flowrecords` / `get recordmetrics`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flowctl::core::aggregator::RecordMetrics;
use flowctl::core::flow::{Flow, FlowWriter, Layout, LayoutOptions, layout_names};
use flowctl::core::ipfix::{MessageWriter, Template};
use flowctl::core::transport::tls::{ClientTls, client_config, parse_server_name};
use flowctl::core::transport::{Endpoint, StreamSender};
use serde_json::Value;

use crate::util::{Service, flowctl, free_port, json_lines, wait_listening};

const START: u32 = 1_700_000_000;
const CONNECTIONS: usize = 20;

fn spawn(args: &[&str]) -> Service {
    Service::spawn(args, |_| {})
}

/// SIGTERM, then what it printed; it must exit 0.
fn stop(r: Service) -> (String, String) {
    let (status, out, err) = r.stop("-TERM");
    assert!(status.success(), "exit {status}: {err}");
    (out, err)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Connection `i` as the source Node (node-1) reports it: the client Pod, the Service, the
/// egress policy.
fn source_half(i: usize) -> Flow {
    Flow {
        flow_start: START,
        flow_end: START + 10,
        end_reason: 2,
        source_address: ip(&format!("10.10.0.{}", 10 + i)),
        destination_address: ip("10.10.1.7"),
        source_port: 40_000 + i as u16,
        destination_port: 8080,
        protocol: 6,
        packet_total: 100 + i as u64,
        octet_total: 10_000 * (i as u64 + 1),
        packet_delta: 100 + i as u64,
        octet_delta: 10_000 * (i as u64 + 1),
        reverse_packet_total: 50,
        reverse_octet_total: 40_000,
        reverse_packet_delta: 50,
        reverse_octet_delta: 40_000,
        source_pod_name: format!("client-{i}"),
        source_pod_namespace: "shop".into(),
        source_node_name: "node-1".into(),
        destination_service_port: 80,
        destination_service_port_name: "web/frontend:http".into(),
        destination_cluster_ip: Some(ip("10.96.0.10")),
        egress_policy_name: "allow-web".into(),
        egress_policy_namespace: "shop".into(),
        egress_policy_type: 2,
        egress_rule_name: "out".into(),
        egress_rule_action: 1,
        tcp_state: "ESTABLISHED".into(),
        flow_type: 2,
        ..Flow::default()
    }
}

/// The destination Node's (node-2) record of connection `i`: its own counters (it saw a few
/// packets fewer), the server Pod and the ingress policy.
fn destination_half(i: usize) -> Flow {
    let s = source_half(i);
    Flow {
        packet_total: s.packet_total - 2,
        octet_total: s.octet_total - 200,
        packet_delta: s.packet_total - 2,
        octet_delta: s.octet_total - 200,
        source_pod_name: String::new(),
        source_pod_namespace: String::new(),
        source_node_name: String::new(),
        destination_pod_name: "frontend-0".into(),
        destination_pod_namespace: "web".into(),
        destination_node_name: "node-2".into(),
        destination_service_port: 0,
        destination_service_port_name: String::new(),
        destination_cluster_ip: None,
        egress_policy_name: String::new(),
        egress_policy_namespace: String::new(),
        egress_policy_type: 0,
        egress_rule_name: String::new(),
        egress_rule_action: 0,
        ingress_policy_name: "web-in".into(),
        ingress_policy_namespace: "web".into(),
        ingress_policy_type: 1,
        ingress_rule_name: "in".into(),
        ingress_rule_action: 1,
        ..s
    }
}

/// A simulated Node: its agent's IPFIX session from its own address over mutual TLS.
struct Node {
    sender: StreamSender,
    domain: u32,
    sequence: u32,
    writer: FlowWriter,
}

impl Node {
    async fn connect(local: Ipv4Addr, domain: u32, port: u16, certs: &Path) -> Node {
        let tls = ClientTls {
            ca: certs.join("ca.crt"),
            cert: Some(certs.join("client-flow-aggregator-client.crt")),
            key: Some(certs.join("client-flow-aggregator-client.key")),
            server_name: None,
        };
        let config = client_config(&tls).unwrap();
        let to = Endpoint::Tls(SocketAddr::from(([127, 0, 0, 1], port)));
        let mut sender = StreamSender::connect_from(
            &to,
            Some(IpAddr::V4(local)),
            Some((config, parse_server_name("127.0.0.1").unwrap())),
        )
        .await
        .unwrap();
        let writer = FlowWriter::new(Layout::AgentV4, LayoutOptions::default());
        let mut m = MessageWriter::ipfix(START, 0, domain);
        m.begin_template_set(false);
        m.template(&Template::new(256, 0, writer.specs().iter().copied()));
        sender.send(&m.finish()).await.unwrap();
        Node { sender, domain, sequence: 0, writer }
    }

    async fn send(&mut self, flows: &[Flow]) {
        for f in flows {
            let mut m = MessageWriter::ipfix(START, self.sequence, self.domain);
            m.begin_set(256);
            self.writer.write(f, &mut m.record());
            self.sender.send(&m.finish()).await.unwrap();
            self.sequence += 1;
        }
        self.sender.flush().await.unwrap();
    }
}

/// Sends the halves of every connection: node-1's first for the first half of them, node-2's
/// first for the others.
async fn send_both_orders(port: u16, certs: &Path) -> (Node, Node) {
    let mut node1 = Node::connect(Ipv4Addr::new(127, 0, 0, 2), 1, port, certs).await;
    let mut node2 = Node::connect(Ipv4Addr::new(127, 0, 0, 3), 2, port, certs).await;
    let half = CONNECTIONS / 2;
    let sources: Vec<Flow> = (0..CONNECTIONS).map(source_half).collect();
    let destinations: Vec<Flow> = (0..CONNECTIONS).map(destination_half).collect();
    node1.send(&sources[..half]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    node2.send(&destinations).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    node1.send(&sources[half..]).await;
    (node1, node2)
}

fn get_json(args: &[&str]) -> Value {
    let out = flowctl().args(args).args(["-o", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One exported record, checked against both halves of its connection.
fn assert_correlated(f: &serde_json::Map<String, Value>) {
    let i = (f["sourceTransportPort"].as_u64().unwrap() - 40_000) as usize;
    let (s, d) = (source_half(i), destination_half(i));
    assert_eq!(f["sourceIPv4Address"], s.source_address.to_string());
    assert_eq!(f["sourcePodName"], s.source_pod_name.as_str());
    assert_eq!(f["sourceNodeName"], "node-1");
    assert_eq!(f["destinationPodName"], "frontend-0");
    assert_eq!(f["destinationNodeName"], "node-2");
    assert_eq!(f["destinationServicePortName"], "web/frontend:http");
    assert_eq!(f["destinationClusterIPv4"], "10.96.0.10");
    assert_eq!(
        (&f["egressNetworkPolicyName"], &f["ingressNetworkPolicyName"]),
        (&"allow-web".into(), &"web-in".into())
    );
    assert_eq!(f["flowType"], 2);
    assert_eq!(f["clusterId"], "cluster-a");
    assert_eq!(f["octetTotalCountFromSourceNode"], s.octet_total);
    assert_eq!(f["octetTotalCountFromDestinationNode"], d.octet_total);
    assert_eq!(f["packetDeltaCountFromDestinationNode"], d.packet_delta);
    assert_eq!(f["octetTotalCount"], s.octet_total, "the larger side's total");
    // Over the 10 s the records cover, in bits per second.
    assert_eq!(f["throughputFromSourceNode"], s.octet_total * 8 / 10);
    assert_eq!(f["throughputFromDestinationNode"], d.octet_total * 8 / 10);
    assert_eq!(f["reverseThroughputFromSourceNode"], 40_000 * 8 / 10);
    assert_eq!(
        (&f["flowEndSecondsFromSourceNode"], &f["flowEndSecondsFromDestinationNode"]),
        (&"2023-11-14T22:13:30Z".into(), &"2023-11-14T22:13:30Z".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_halves_become_one_correlated_record_per_connection_in_ipfix_the_flow_log_and_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (collector_port, port, api) = (free_port(), free_port(), free_port());
    let downstream = spawn(&["collect", "-o", "json", "-l", &format!("tcp://127.0.0.1:{collector_port}")]);
    wait_listening(collector_port);
    let certs = dir.path().join("certs");
    let log = dir.path().join("flows.csv");
    let server = format!("http://127.0.0.1:{api}");
    let aggregator = spawn(&[
        "run",
        "aggregator",
        "-l",
        &format!("tls://127.0.0.1:{port}"),
        "--cert-dir",
        certs.to_str().unwrap(),
        "--flow-collector",
        &format!("127.0.0.1:{collector_port}:tcp"),
        "--cluster-id",
        "cluster-a",
        "--flow-log",
        log.to_str().unwrap(),
        "--metrics-addr",
        &format!("127.0.0.1:{api}"),
    ]);
    wait_listening(port);
    let nodes = send_both_orders(port, &certs).await;

    let want = RecordMetrics {
        num_records_exported: CONNECTIONS as u64,
        num_records_received: 2 * CONNECTIONS as u64,
        num_flows: CONNECTIONS as u64,
        num_conn_to_collector: 2,
        with_log_exporter: true,
        with_ipfix_exporter: true,
        ..RecordMetrics::default()
    };
    let mut metrics = RecordMetrics::default();
    wait_until("record metrics", Duration::from_secs(15), || {
        metrics = serde_json::from_value(get_json(&["get", "recordmetrics", "--server", &server])).unwrap();
        metrics == want
    });

    // The API: every flow, or those a filter names, with antctl's keys and columns.
    let all = get_json(&["get", "flowrecords", "--server", &server]);
    assert_eq!(all.as_array().unwrap().len(), CONNECTIONS);
    let one = get_json(&["get", "flowrecords", "--server", &server, "--srcip", "10.10.0.13", "--dstport", "8080"]);
    let one = one.as_array().unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["sourcePodName"], "client-3");
    assert_eq!(one[0]["destinationPodName"], "frontend-0");
    assert_eq!(one[0]["octetTotalCount"], 40_000);
    let exact = get_json(&[
        "get",
        "flowrecords",
        "--server",
        &server,
        "--srcip",
        "10.10.0.13",
        "--dstip",
        "10.10.1.7",
        "--proto",
        "6",
        "--srcport",
        "40003",
        "--dstport",
        "8080",
    ]);
    assert_eq!(exact.as_array().unwrap().len(), 1);
    let table = flowctl()
        .args(["get", "flowrecords", "--server", &server, "--srcport", "40003", "-o", "table"])
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        lines[0],
        ["SRC_IP", "DST_IP", "SPORT", "DPORT", "PROTO", "SRC_POD", "DST_POD", "SRC_NS", "DST_NS", "SERVICE"]
    );
    assert_eq!(
        lines[1],
        ["10.10.0.13", "10.10.1.7", "40003", "8080", "6", "client-3", "frontend-0", "shop", "web", "web/frontend:http"]
    );
    // Issue #22 (6): `--proto tcp` was refused, and `-o wide` printed the table's columns.
    let by_name = get_json(&["get", "flowrecords", "--server", &server, "--srcport", "40003", "--proto", "tcp"]);
    assert_eq!(by_name.as_array().unwrap().len(), 1);
    let none = get_json(&["get", "flowrecords", "--server", &server, "--srcport", "40003", "--proto", "udp"]);
    assert_eq!(none.as_array().unwrap().len(), 0);
    let wide = flowctl()
        .args(["get", "flowrecords", "--server", &server, "--srcport", "40003", "-o", "wide"])
        .output()
        .unwrap();
    let text = String::from_utf8(wide.stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[..10], lines[0][..], "wide starts with the table's columns");
    for column in ["SRC_NODE", "DST_NODE", "PACKETS", "BYTES", "REV_BYTES"] {
        assert!(header.contains(&column), "{header:?}");
    }
    assert!(text.lines().nth(1).unwrap().contains("40000"), "the flow's octetTotalCount: {text}");
    let bad = flowctl().args(["get", "flowrecords", "--server", &server]).arg("--srcip").arg("nope").output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "a bad address is a usage error");

    drop(nodes);
    let (_, log_text) = stop(aggregator);
    let (out, _) = stop(downstream);
    let records = json_lines(out.as_bytes());
    assert_eq!(records.len(), CONNECTIONS, "one record per connection, nothing more at shutdown: {log_text}");
    let names = layout_names(Layout::AggregateV4, LayoutOptions::default());
    assert_eq!(names.len(), 70);
    let mut ports: Vec<u64> = Vec::new();
    for r in &records {
        let f = r["fields"].as_object().unwrap();
        assert_eq!(f.keys().map(String::as_str).collect::<Vec<_>>(), names, "the aggregate template's order");
        assert_correlated(f);
        ports.push(f["sourceTransportPort"].as_u64().unwrap());
    }
    ports.sort();
    assert_eq!(ports, (0..CONNECTIONS as u64).map(|i| 40_000 + i).collect::<Vec<_>>());

    // The flow log: one line per record in Antrea's columns.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), CONNECTIONS);
    assert_eq!(
        lines[0],
        "1700000000,1700000010,10.10.0.10,10.10.1.7,40000,8080,TCP,client-0,shop,node-1,frontend-0,web,node-2,\
         10.96.0.10,,80,web/frontend:http,web-in,web,in,Allow,K8sNetworkPolicy,allow-web,shop,out,Allow,\
         AntreaNetworkPolicy,,,"
    );
}

/// A ClickHouse server of our own on free ports, with its data in `dir`.
struct ClickHouseServer {
    _process: Service,
    http: u16,
}

const CLICKHOUSE: &str = "/usr/sbin/clickhouse-server";

impl ClickHouseServer {
    fn start(dir: &Path, http: u16) -> ClickHouseServer {
        let native = free_port();
        let d = dir.display();
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("config.xml");
        std::fs::write(
            &config,
            format!(
                "<?xml version=\"1.0\"?>\n<yandex>\n  <logger><level>warning</level><console>1</console></logger>\n  \
                 <http_port>{http}</http_port>\n  <tcp_port>{native}</tcp_port>\n  <listen_host>127.0.0.1</listen_host>\n  \
                 <path>{d}/data/</path>\n  <tmp_path>{d}/tmp/</tmp_path>\n  \
                 <users_config>/etc/clickhouse-server/users.xml</users_config>\n  \
                 <default_profile>default</default_profile>\n  <default_database>default</default_database>\n  \
                 <mark_cache_size>5368709120</mark_cache_size>\n</yandex>\n"
            ),
        )
        .unwrap();
        let process = Command::new(CLICKHOUSE)
            .arg(format!("--config-file={}", config.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = ClickHouseServer { _process: Service(process), http };
        wait_until("ClickHouse answering", Duration::from_secs(30), || server.query("SELECT 1").is_ok());
        server
    }

    fn query(&self, sql: &str) -> Result<String, String> {
        let out = Command::new("curl")
            .args(["-sS", "--fail-with-body", "--data-binary", "@-", &format!("http://127.0.0.1:{}/", self.http)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(sql.as_bytes())?;
                c.wait_with_output()
            })
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
        }
    }
}

/// Rows reach a real ClickHouse (Debian's 18.16) through the shipped schema, and rows the server
/// could not take while it was down are kept and inserted once it is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_gets_one_row_per_flow_and_rows_wait_while_the_server_is_down() {
    if !Path::new(CLICKHOUSE).exists() {
        eprintln!("skipped: {CLICKHOUSE} is not installed (.ci/run installs clickhouse-server)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (port, api, http) = (free_port(), free_port(), free_port());
    let conf = dir.path().join("flow-aggregator.conf");
    std::fs::write(
        &conf,
        format!(
            "mode: Aggregate\naggregatorTransportProtocol: tls\nclusterID: cluster-a\nclickHouse:\n  enable: true\n  \
             database: default\n  databaseURL: http://127.0.0.1:{http}\n  commitInterval: 1s\n  compress: true\n"
        ),
    )
    .unwrap();
    let certs = dir.path().join("certs");
    let aggregator = spawn(&[
        "run",
        "aggregator",
        "--config",
        conf.to_str().unwrap(),
        "-l",
        &format!("tls://127.0.0.1:{port}"),
        "--cert-dir",
        certs.to_str().unwrap(),
        "--metrics-addr",
        &format!("127.0.0.1:{api}"),
    ]);
    wait_listening(port);
    // The server is not up yet: the first commits fail and the rows wait.
    let nodes = send_both_orders(port, &certs).await;
    let metrics = || -> String {
        let out = Command::new("curl").args(["-s", &format!("http://127.0.0.1:{api}/metrics")]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    wait_until("a failed insert", Duration::from_secs(15), || {
        metrics().lines().any(|l| l.starts_with("flowctl_sink_errors_total{sink=\"clickhouse\"}") && !l.ends_with(" 0"))
    });

    let ch = ClickHouseServer::start(&dir.path().join("clickhouse"), http);
    let schema = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/clickhouse/flows.sql")).unwrap();
    ch.query(&schema).unwrap();
    wait_until("rows in ClickHouse", Duration::from_secs(20), || {
        ch.query("SELECT count() FROM default.flows").is_ok_and(|n| n.trim() == CONNECTIONS.to_string())
    });
    let row = ch
        .query(
            "SELECT toUnixTimestamp(flowStartSeconds), sourceIP, sourcePodName, destinationPodName, destinationNodeName, \
             octetTotalCount, throughputFromSourceNode, throughputFromDestinationNode, flowType, \
             clusterUUID, destinationServicePortName FROM default.flows WHERE sourceTransportPort = 40003 FORMAT TabSeparated",
        )
        .unwrap();
    assert_eq!(
        row.trim_end(),
        "1700000000\t10.10.0.13\tclient-3\tfrontend-0\tnode-2\t40000\t32000\t31840\t2\tcluster-a\tweb/frontend:http"
    );
    let before = metrics();
    assert!(before.contains("flowctl_sink_records_written_total{sink=\"clickhouse\"} 20"), "{before}");
    assert!(before.contains("flowctl_sink_records_dropped_total{sink=\"clickhouse\"} 0"), "{before}");
    drop(nodes);
    stop(aggregator);
}

fn spawn_in_state_directory(state: &Path, port: u16) -> Service {
    let (listen, metrics) = (format!("tls://127.0.0.1:{port}"), format!("127.0.0.1:{}", free_port()));
    Service::spawn(
        &["run", "aggregator", "-l", &listen, "--cluster-id", "cluster-a", "--metrics-addr", &metrics],
        |c| {
            c.env("STATE_DIRECTORY", state);
        },
    )
}

/// Issue #20: with no --cert-dir the certificates went to /tmp/flowctl-aggregator-certs, which
/// any local user could make first. As a systemd service (root, STATE_DIRECTORY set) they go to a
/// private directory under the state directory, and the CA there is kept across restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregator_without_cert_dir_keeps_its_certificates_private_in_the_state_directory() {
    use std::os::unix::fs::MetadataExt;
    let state = tempfile::tempdir().unwrap();
    let certs = state.path().join("certs");
    let port = free_port();
    let aggregator = spawn_in_state_directory(state.path(), port);
    wait_listening(port);
    assert_eq!(std::fs::metadata(&certs).unwrap().mode() & 0o7777, 0o700);
    for (f, mode) in
        [("ca.crt", 0o644), ("ca.key", 0o600), ("server.key", 0o600), ("client-flow-aggregator-client.key", 0o600)]
    {
        assert_eq!(std::fs::metadata(certs.join(f)).unwrap().mode() & 0o7777, mode, "{f}");
    }
    // An agent with the client certificate made there gets through mutual TLS.
    drop(Node::connect(Ipv4Addr::new(127, 0, 0, 2), 1, port, &certs).await);
    let ca = std::fs::read(certs.join("ca.crt")).unwrap();
    stop(aggregator);

    let port = free_port();
    let aggregator = spawn_in_state_directory(state.path(), port);
    wait_listening(port);
    assert_eq!(std::fs::read(certs.join("ca.crt")).unwrap(), ca, "agents keep trusting the same CA");
    stop(aggregator);
}

/// Issue #20: a certificate directory planted by another user was reused, its CA trusted.
#[test]
fn aggregator_refuses_a_cert_dir_owned_by_another_user() {
    let top = tempfile::tempdir().unwrap();
    let planted = top.path().join("certs");
    std::fs::create_dir(&planted).unwrap();
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
    let out = flowctl()
        .args(["run", "aggregator", "-l", &format!("tls://127.0.0.1:{}", free_port()), "--cert-dir"])
        .arg(&planted)
        .args(["--cluster-id", "cluster-a", "--metrics-addr", &format!("127.0.0.1:{}", free_port())])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&planted.display().to_string()) && err.contains("owned by uid 65534"), "{err}");
    assert_eq!(std::fs::read_dir(&planted).unwrap().count(), 0);
}

/// Issue 22, defect 4: without `-v` the aggregator says once where it listens, where its API is,
/// and which certificates it made where (the agents need that CA and client certificate).
#[test]
fn aggregator_says_where_it_listens_where_its_api_is_and_which_certificates_it_made() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let (port, api) = (free_port(), free_port());
    let listen = format!("tls://127.0.0.1:{port}");
    let api_addr = format!("127.0.0.1:{api}");
    let aggregator = spawn(&[
        "run",
        "aggregator",
        "-l",
        &listen,
        "--cluster-id",
        "cluster-a",
        "--metrics-addr",
        &api_addr,
        "--cert-dir",
        certs.to_str().unwrap(),
    ]);
    wait_listening(port);
    wait_listening(api);
    let (_, err) = stop(aggregator);
    assert_eq!(err.matches(&format!("listening on {listen}")).count(), 1, "{err}");
    assert!(err.contains(&format!("API on http://{api_addr}")), "{err}");
    let ca = certs.join("ca.crt");
    let client = certs.join("client-flow-aggregator-client.crt");
    assert!(err.contains(&format!("{}", ca.display())) && err.contains(&format!("{}", client.display())), "{err}");
}

/// Issue #22 (6): a server's HTML error page was printed whole; its title is enough.
#[test]
fn get_quotes_an_html_error_page_by_its_title() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        if let Ok((mut conn, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = std::io::Read::read(&mut conn, &mut request);
            let body = format!(
                "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
                "<p>the proxy could not reach the upstream server</p>".repeat(50)
            );
            let _ = write!(
                conn,
                "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let out = flowctl().args(["get", "recordmetrics", "--server", &addr.to_string()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("502 Bad Gateway") && !err.contains('<') && err.lines().count() <= 2, "{err}");
}
