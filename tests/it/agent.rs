//! `flowctl run agent` on real conntrack, in network namespaces of the test's own: a "Node"
//! namespace routing between two "Pod" namespaces (veth pairs, an nft rule so conntrack tracks
//! what is forwarded), TCP, UDP and ICMP between the Pods, the agent inside the Node namespace
//! with a Pod inventory, and its records read by `flowctl collect` or nfcapd there, compared
//! with what `conntrack -L` shows for the same connections. Needs root, ip, nft, conntrack,
//! python3 and ping (nfcapd/nfdump for the nfcapd test); each test says it skipped otherwise.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::netns::{Netns, have, is_root};

fn ready(test: &str, tools: &[&str]) -> bool {
    let root = is_root();
    let missing: Vec<_> =
        ["ip", "nft", "conntrack", "python3", "ping"].iter().chain(tools).filter(|t| !have(t)).collect();
    if !root || !missing.is_empty() {
        eprintln!("{test}: skipped: needs root and {missing:?}");
    }
    root && missing.is_empty()
}

fn netns(test: &str, role: &str) -> Netns {
    Netns::new(format!("fctl-ag-{}-{test}-{role}", std::process::id() % 100_000))
}

fn flowctl_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("flowctl")
}

const CLIENT: &str = "10.78.1.2";
const SERVER: &str = "10.78.2.2";

/// Pod `client` (10.78.1.2) and Pod `server` (10.78.2.2, TCP echo on 8080, UDP echo on 9999)
/// behind Node `node-t`, which routes between them and tracks what it forwards.
struct Cluster {
    // Field order: the servers go before their namespace.
    servers: Child,
    node: Netns,
    client: Netns,
    _server: Netns,
    dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.servers.kill();
        let _ = self.servers.wait();
    }
}

fn cluster(test: &str) -> Cluster {
    let node = netns(test, "n");
    let client = netns(test, "c");
    let server = netns(test, "s");
    for (pod, dev, net) in [(&client, "vc", 1), (&server, "vs", 2)] {
        node.sh(&format!(
            "ip link add {dev} type veth peer name eth0 netns {} && ip addr add 10.78.{net}.1/24 dev {dev} && ip link set {dev} up",
            pod.0
        ));
        pod.sh(&format!(
            "ip addr add 10.78.{net}.2/24 dev eth0 && ip link set eth0 up && ip route add default via 10.78.{net}.1"
        ));
    }
    node.sh("sysctl -qw net.ipv4.ip_forward=1 && nft add table inet fctl && \
         nft add chain inet fctl forward_chain '{ type filter hook forward priority 0; }' && \
         nft add rule inet fctl forward_chain ct state new counter");
    let mut servers =
        server.cmd("python3").args(["-c", ECHO_SERVERS]).stdout(Stdio::piped()).spawn().expect("python3 echo servers");
    let mut line = String::new();
    BufReader::new(servers.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "listening\n", "the echo servers did not start");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pods.yaml"),
        format!(
            "node: node-t\npodCIDRs: [10.78.0.0/16]\npods:\n\
             - {{name: client-0, namespace: shop, labels: {{app: client}}, ips: [{CLIENT}], interface: vc}}\n\
             - {{name: server-0, namespace: shop, labels: {{app: server}}, ips: [{SERVER}], interface: vs}}\n"
        ),
    )
    .unwrap();
    Cluster { servers, node, client, _server: server, dir }
}

const ECHO_SERVERS: &str = r#"
import socket, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 8080)); t.listen(16)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    c.close()
def tcp():
    while True:
        c, _ = t.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 9999))
def udp():
    while True:
        d, a = u.recvfrom(65536)
        u.sendto(d, a)
threading.Thread(target=tcp, daemon=True).start()
threading.Thread(target=udp, daemon=True).start()
print("listening", flush=True)
threading.Event().wait()
"#;

/// From the client Pod: a TCP connection sending `chunks` of 1000 bytes, `gap` seconds apart,
/// each echoed, then closed; prints the client port.
fn tcp_exchange(c: &Cluster, chunks: u32, gap: f64) -> u16 {
    let script = format!(
        "import socket, time\ns = socket.create_connection(('{SERVER}', 8080))\nprint(s.getsockname()[1], flush=True)\n\
         for i in range({chunks}):\n    s.sendall(b'x' * 1000)\n    got = 0\n    while got < 1000: got += len(s.recv(65536))\n    time.sleep({gap})\n\
         s.close()\n"
    );
    let out = c.client.cmd("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "tcp client: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Three UDP datagrams, each echoed; prints the client port.
fn udp_exchange(c: &Cluster) -> u16 {
    let script = format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)\n\
         for i in range(3):\n    s.sendto(b'y' * 200, ('{SERVER}', 9999)); s.recvfrom(65536)\nprint(s.getsockname()[1])\n"
    );
    let out = c.client.cmd("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "udp client: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn ping(c: &Cluster) {
    let out = c.client.cmd("ping").args(["-c", "3", "-i", "0.2", "-W", "2", SERVER]).output().unwrap();
    assert!(out.status.success(), "ping: {}", String::from_utf8_lossy(&out.stdout));
}

/// One entry of `conntrack -L -o extended`: protocol, original source port (0 for ICMP), and
/// the packets and bytes of each direction.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    proto: u64,
    sport: u64,
    state: String,
    totals: [u64; 4],
}

fn conntrack_entries(node: &Netns) -> Vec<Entry> {
    let text = node.sh("conntrack -L -o extended 2>/dev/null");
    text.lines()
        .filter(|l| l.contains(&format!("src={CLIENT} dst={SERVER}")))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let value = |key: &str, nth: usize| -> u64 {
                words.iter().filter_map(|w| w.strip_prefix(key)).nth(nth).map_or(0, |v| v.parse().unwrap())
            };
            let proto: u64 = words[3].parse().unwrap();
            let state = if proto == 6 { words[5].to_string() } else { String::new() };
            Entry {
                proto,
                sport: value("sport=", 0),
                state,
                totals: [value("packets=", 0), value("bytes=", 0), value("packets=", 1), value("bytes=", 1)],
            }
        })
        .collect()
}

/// Runs `flowctl ARGS` in `ns`, stdout to `out`.
fn spawn_flowctl(ns: &Netns, args: &[&str], out: &Path) -> Child {
    ns.cmd(flowctl_bin())
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// SIGTERM, then the exit status and what it logged.
fn stop(mut child: Child) -> Output {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Waits until something in `ns` listens on `port` (`ss` from iproute2).
fn wait_listening(ns: &Netns, udp: bool, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let flags = if udp { "-uln" } else { "-tln" };
    while !ns.sh(&format!("ss -H {flags} sport = :{port}")).contains(&port.to_string()) {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn agent_args<'a>(c: &'a Cluster, collector: &'a str, poll: &'a str) -> Vec<String> {
    let pods = c.dir.path().join("pods.yaml");
    ["run", "agent", "--pods", pods.to_str().unwrap(), "--collector", collector, "--poll-interval", poll]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The records of one connection: (protocol, client port, 0 for ICMP) → records in order.
fn by_connection(records: &[Value]) -> BTreeMap<(u64, u64), Vec<&Value>> {
    let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for r in records.iter().filter(|r| r["kind"] == "data") {
        let f = &r["fields"];
        if f["sourceIPv4Address"] != CLIENT || f["destinationIPv4Address"] != SERVER {
            continue;
        }
        let key = (f["protocolIdentifier"].as_u64().unwrap(), f["sourceTransportPort"].as_u64().unwrap());
        out.entry(key).or_default().push(f);
    }
    out
}

fn counter(f: &Value, name: &str) -> u64 {
    f[name].as_u64().unwrap_or_else(|| panic!("{name} in {f}"))
}

#[test]
fn records_carry_conntracks_totals_in_deltas_with_end_reasons_and_pod_names() {
    const TEST: &str = "records_carry_conntracks_totals_in_deltas_with_end_reasons_and_pod_names";
    if !ready(TEST, &["ss"]) {
        return;
    }
    let c = cluster("tot");
    let out = c.dir.path().join("records.json");
    let collector = spawn_flowctl(&c.node, &["collect", "-l", "tcp://127.0.0.1:4739", "-o", "json"], &out);
    wait_listening(&c.node, false, 4739);
    let mut args = agent_args(&c, "127.0.0.1:4739:tcp", "1s");
    args.extend(
        ["--active-timeout", "2s", "--idle-timeout", "3s", "--metrics-addr", "127.0.0.1:9102"].map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let agent = spawn_flowctl(&c.node, &args, &c.dir.path().join("agent.out"));

    std::thread::sleep(Duration::from_millis(500));
    // 30 chunks 0.1 s apart: about 3 s, so active-timeout records come before the end.
    let tcp_port = tcp_exchange(&c, 30, 0.1);
    let udp_port = udp_exchange(&c);
    ping(&c);
    // The idle timeout (3 s) of the UDP and ICMP connections, and a poll, pass.
    std::thread::sleep(Duration::from_millis(5_000));
    let table = conntrack_entries(&c.node);
    let metrics = c.node.sh("curl -s 127.0.0.1:9102/metrics");
    let metric = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    assert!(metric("flowctl_agent_conntrack_events_total") > 0, "conntrack events were read");
    assert_eq!(metric("flowctl_agent_conntrack_event_overflows_total"), 0);
    assert_eq!(metric("flowctl_agent_connections_tracked_total"), 3);
    assert_eq!(metric("flowctl_exporter_records_dropped_total"), 0);
    let exported_before_stop = metric("flowctl_exporter_records_exported_total");
    let agent = stop(agent);
    assert!(agent.status.success(), "agent: {}", String::from_utf8_lossy(&agent.stderr));
    let collector = stop(collector);
    assert!(collector.status.success(), "collect: {}", String::from_utf8_lossy(&collector.stderr));

    let records = util_lines(&out);
    let data = records.iter().filter(|r| r["kind"] == "data").count() as u64;
    assert!(data >= exported_before_stop, "every record the agent counted as exported arrived");
    let conns = by_connection(&records);
    assert_eq!(table.len(), 3, "conntrack lists the TCP, UDP and ICMP connections: {table:?}");
    for entry in &table {
        let key = (entry.proto, entry.sport);
        let got = conns.get(&key).unwrap_or_else(|| panic!("no record for {entry:?}; records: {conns:?}"));
        let last = got.last().unwrap();
        let totals = ["packetTotalCount", "octetTotalCount", "reversePacketTotalCount", "reverseOctetTotalCount"]
            .map(|n| counter(last, n));
        assert_eq!(totals, entry.totals, "{entry:?}: the last record's totals are conntrack's");
        let deltas = ["packetDeltaCount", "octetDeltaCount", "reversePacketDeltaCount", "reverseOctetDeltaCount"]
            .map(|n| got.iter().map(|f| counter(f, n)).sum::<u64>());
        assert_eq!(deltas, entry.totals, "{entry:?}: the deltas add up to the totals");
        for f in got {
            assert_eq!(f["sourcePodName"], "client-0");
            assert_eq!(f["sourcePodNamespace"], "shop");
            assert_eq!(f["destinationPodName"], "server-0");
            assert_eq!(
                (f["sourceNodeName"].as_str(), f["destinationNodeName"].as_str()),
                (Some("node-t"), Some("node-t"))
            );
            assert_eq!(f["flowType"], 1, "both Pods are on this Node");
        }
        let reasons: Vec<u64> = got.iter().map(|f| counter(f, "flowEndReason")).collect();
        match entry.proto {
            6 => {
                assert_eq!(key.1, u64::from(tcp_port));
                assert!(reasons.len() >= 2, "active-timeout records before the end: {reasons:?}");
                assert_eq!(reasons.last(), Some(&3), "a closed TCP connection ends with END_OF_FLOW: {reasons:?}");
                assert!(reasons[..reasons.len() - 1].iter().all(|&r| r == 2), "{reasons:?}");
                assert_eq!(last["tcpState"], entry.state, "TIME_WAIT, as conntrack says");
            }
            17 => {
                assert_eq!(key.1, u64::from(udp_port));
                assert_eq!(reasons.last(), Some(&1), "a quiet UDP flow ends its records on the idle timeout");
            }
            _ => assert_eq!(reasons.last(), Some(&1), "ICMP: idle timeout: {reasons:?}"),
        }
    }
}

fn util_lines(path: &Path) -> Vec<Value> {
    super::util::json_lines(&std::fs::read(path).unwrap())
}

#[test]
fn a_connection_shorter_than_a_poll_reaches_nfcapd_with_its_final_counters() {
    const TEST: &str = "a_connection_shorter_than_a_poll_reaches_nfcapd_with_its_final_counters";
    if !ready(TEST, &["ss", "nfcapd", "nfdump"]) {
        return;
    }
    let c = cluster("short");
    let store = c.dir.path().join("nfcapd");
    std::fs::create_dir(&store).unwrap();
    let nfcapd = c
        .node
        .cmd("nfcapd")
        .args(["-b", "127.0.0.1", "-p", "9995", "-t", "3600", "-w"])
        .arg(&store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(&c.node, true, 9995);
    // One poll at start, the next a minute later: the connection lives and dies in between.
    let args = agent_args(&c, "127.0.0.1:9995:udp", "60s");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let agent = spawn_flowctl(&c.node, &args, &c.dir.path().join("agent.out"));
    std::thread::sleep(Duration::from_millis(1_000));
    let port = tcp_exchange(&c, 5, 0.0);
    let table = conntrack_entries(&c.node);
    let entry = table.iter().find(|e| e.sport == u64::from(port)).expect("conntrack lists the connection").clone();
    // The kernel forgets it (as it would after TIME_WAIT): only its DESTROY event tells.
    c.node.sh(&format!("conntrack -D -p tcp --orig-port-src {port} >/dev/null 2>&1"));
    std::thread::sleep(Duration::from_millis(1_000));
    let agent = stop(agent);
    assert!(agent.status.success(), "agent: {}", String::from_utf8_lossy(&agent.stderr));
    let stopped = Command::new("kill").args(["-INT", &nfcapd.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let _ = nfcapd.wait_with_output();

    let out = Command::new("nfdump").arg("-R").arg(&store).args(["-o", "json"]).output().unwrap();
    assert!(out.status.success(), "nfdump: {}", String::from_utf8_lossy(&out.stderr));
    let flows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ours: Vec<&Value> =
        flows.iter().filter(|f| f["type"] == "FLOW" && f["src_port"].as_u64() == Some(u64::from(port))).collect();
    assert!(!ours.is_empty(), "nfcapd stored no flow for client port {port}: {flows:?}");
    let sum = |k: &str| ours.iter().map(|f| f[k].as_u64().unwrap_or(0)).sum::<u64>();
    assert_eq!(
        (sum("in_packets"), sum("in_bytes")),
        (entry.totals[0], entry.totals[1]),
        "nfdump's packets and bytes for the connection are conntrack's"
    );
    assert_eq!(ours[0]["src4_addr"], CLIENT);
    assert_eq!(ours[0]["dst4_addr"], SERVER);
}

/// The 5-tuples of the records that arrived at `collector` (the listener's address).
fn tuples(records: &[Value], collector: &str) -> std::collections::BTreeSet<(u64, String, String, u64, u64)> {
    records
        .iter()
        .filter(|r| r["kind"] == "data" && r["collector"] == collector)
        .map(|r| {
            let f = &r["fields"];
            let n = |k: &str| f[k].as_u64().unwrap_or(0);
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (
                n("protocolIdentifier"),
                s("sourceIPv4Address"),
                s("destinationIPv4Address"),
                n("sourceTransportPort"),
                n("destinationTransportPort"),
            )
        })
        .filter(|t| t.1 == CLIENT && t.2 == SERVER)
        .collect()
}

#[test]
fn ulogd2_exports_the_same_connections_as_the_agent() {
    const TEST: &str = "ulogd2_exports_the_same_connections_as_the_agent";
    if !ready(TEST, &["ss", "ulogd"]) {
        return;
    }
    let plugins = Path::new("/usr/lib/x86_64-linux-gnu/ulogd");
    if !plugins.join("ulogd_output_IPFIX.so").exists() {
        eprintln!("{TEST}: skipped: ulogd2's IPFIX plugin is not in {}", plugins.display());
        return;
    }
    let c = cluster("ulogd");
    let out = c.dir.path().join("records.json");
    let collector = spawn_flowctl(
        &c.node,
        &["collect", "-l", "udp://127.0.0.1:4739", "-l", "udp://127.0.0.1:4740", "-o", "json"],
        &out,
    );
    wait_listening(&c.node, true, 4740);
    // As peers.md §4.4 runs it: DESTROY events only (NEW events would carry no counters).
    let conf = c.dir.path().join("ulogd.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]\nlogfile=\"{dir}/ulogd.log\"\nloglevel=1\n\
             plugin=\"{p}/ulogd_inpflow_NFCT.so\"\nplugin=\"{p}/ulogd_output_IPFIX.so\"\n\
             stack=ct1:NFCT,ipfix1:IPFIX\n[ct1]\nhash_enable=0\nevent_mask=0x00000004\n\
             [ipfix1]\noid=1\nhost=\"127.0.0.1\"\nport=4740\nproto=\"udp\"\nsend_template=\"always\"\n",
            dir = c.dir.path().display(),
            p = plugins.display()
        ),
    )
    .unwrap();
    let ulogd = c.node.cmd("ulogd").arg("-c").arg(&conf).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let args = agent_args(&c, "127.0.0.1:4739:udp", "1s");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let agent = spawn_flowctl(&c.node, &args, &c.dir.path().join("agent.out"));
    std::thread::sleep(Duration::from_millis(1_000));

    // Enough connections to fill several of ulogd's 512-byte messages.
    for _ in 0..30 {
        tcp_exchange(&c, 1, 0.0);
    }
    for _ in 0..5 {
        udp_exchange(&c);
    }
    ping(&c);
    // Every connection ends now: ulogd hears of each through its DESTROY event.
    c.node.sh("conntrack -F 2>/dev/null");
    std::thread::sleep(Duration::from_millis(2_000));
    let ulogd = stop(ulogd);
    let agent = stop(agent);
    assert!(agent.status.success(), "agent: {}", String::from_utf8_lossy(&agent.stderr));
    std::thread::sleep(Duration::from_millis(300));
    stop(collector);

    let records = util_lines(&out);
    let ours = tuples(&records, "127.0.0.1:4739");
    let theirs = tuples(&records, "127.0.0.1:4740");
    assert_eq!(ours.len(), 36, "30 TCP, 5 UDP, 1 ICMP: {ours:?}");
    // ulogd never sends its last, partly filled message (peers.md §4.4) and says how many
    // flows it held: those are the only ones it may lack.
    let log = std::fs::read_to_string(c.dir.path().join("ulogd.log")).unwrap_or_default();
    let lost: usize =
        log.lines().find_map(|l| l.split("ipfix_msg_free: ").nth(1)?.split(' ').next()?.parse().ok()).unwrap_or(0);
    assert!(
        theirs.len() >= 11,
        "ulogd sent at least one full message: {theirs:?} (stderr: {})",
        String::from_utf8_lossy(&ulogd.stderr)
    );
    let missing: Vec<_> = theirs.difference(&ours).collect();
    assert!(missing.is_empty(), "connections ulogd2 exported and the agent did not: {missing:?}");
    // Its lost flows may include the Node's own (the exports themselves), which are not Pods'.
    assert!(
        ours.len() - theirs.len() <= lost,
        "the agent has {} connections ulogd2 neither sent nor reported lost ({lost})",
        ours.len() - theirs.len()
    );
}

/// Issue 22, defect 8: on a Node where no rule uses conntrack, the kernel tracks nothing and the
/// agent exported nothing without a word. It now says so once, with the fix (and, defect 4, it
/// says where it exports to).
#[test]
fn an_agent_where_nothing_uses_conntrack_says_so_with_the_fix() {
    let test = "silent";
    if !ready(test, &[]) {
        return;
    }
    let node = netns(test, "n");
    let pod = netns(test, "p");
    let _watchdog = crate::netns::Watchdog::new(60, &[&node, &pod]);
    node.sh(&format!(
        "ip link add vp type veth peer name eth0 netns {} && ip addr add 10.79.1.1/24 dev vp && ip link set vp up",
        pod.0
    ));
    pod.sh("ip addr add 10.79.1.2/24 dev eth0 && ip link set eth0 up");
    let dir = tempfile::tempdir().unwrap();
    let agent = spawn_flowctl(
        &node,
        &["run", "agent", "--collector", "127.0.0.1:4739:udp", "--poll-interval", "1s", "--no-events"],
        &dir.path().join("out"),
    );
    // Bounded traffic into the Node: 60 pings, 0.1 s apart, over more than three polls.
    let out = pod.cmd("ping").args(["-c", "60", "-i", "0.1", "-W", "1", "10.79.1.1"]).output().unwrap();
    assert!(out.status.success(), "ping: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(node.sh("conntrack -L 2>/dev/null | wc -l").trim(), "0", "the Node tracked the pings");
    let logged = stop(agent);
    let stderr = String::from_utf8_lossy(&logged.stderr);
    assert_eq!(stderr.matches("conntrack has held no connection").count(), 1, "{stderr}");
    assert!(stderr.contains("ct state new"), "{stderr}");
    // Defect 4: where it exports to, and its summary on stopping, without -v.
    assert!(stderr.contains("exporting to udp://127.0.0.1:4739"), "{stderr}");
    assert!(stderr.contains("stopped: "), "{stderr}");
}
