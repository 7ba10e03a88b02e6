//! The conntrack source against the kernel, in network namespaces of the test's own: two
//! namespaces joined by a veth pair, TCP, UDP and ICMP traffic (IPv4 and IPv6) between them, and
//! our dump inside the server's namespace compared entry by entry with `conntrack -L -o extended`.
//! Events and the zone filter are checked the same way. Needs root, ip, nft, conntrack and
//! python3; each test says it skipped otherwise.
//!
//! What runs inside a namespace is this test binary itself (`ip netns exec NS <it> ns_helper`),
//! with `FLOWCTL_CT_HELPER` saying what to do: that needs no other build than the test's own.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flowctl::core::conntrack::{
    Connection, Conntrack, DEFAULT_RCVBUF, Event, EventKind, EventSocket, Status, TcpState, Tuple,
};
use serde_json::{Value, json};

use crate::netns::{Netns, have, is_root};

const HELPER_ENV: &str = "FLOWCTL_CT_HELPER";

fn ready(test: &str) -> bool {
    let root = is_root();
    let tools = ["ip", "nft", "conntrack", "python3"].iter().all(|t| have(t));
    if !root || !tools {
        eprintln!("{test}: skipped: needs root / ip / nft / conntrack / python3");
    }
    root && tools
}

fn netns(test: &str, side: &str) -> Netns {
    Netns::new(format!("fctl-ct-{}-{test}-{side}", std::process::id()))
}

/// Runs this test binary's [`ns_helper`] in `ns` in `mode`.
fn helper(ns: &Netns, mode: &str) -> Command {
    let mut c = ns.cmd(std::env::current_exe().unwrap());
    c.args(["conntrack::ns_helper", "--exact", "--nocapture", "--test-threads=1", "-q"]).env(HELPER_ENV, mode);
    c
}

/// Client namespace `a` (10.77.0.1, fd77::1) and server namespace `b` (10.77.0.2, fd77::2),
/// with conntrack tracking in `b`, counters and timestamps on, and echo servers running there.
struct Topology {
    a: Netns,
    b: Netns,
    servers: Child,
}

impl Drop for Topology {
    fn drop(&mut self) {
        let _ = self.servers.kill();
        let _ = self.servers.wait();
    }
}

fn topology(test: &str) -> Topology {
    let a = netns(test, "a");
    let b = netns(test, "b");
    a.sh(&format!("ip link add va type veth peer name vb netns {}", b.0));
    for (ns, dev, n) in [(&a, "va", 1), (&b, "vb", 2)] {
        ns.sh(&format!(
            "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 && \
             ip addr add 10.77.0.{n}/24 dev {dev} && ip addr add fd77::{n}/64 dev {dev} nodad && ip link set {dev} up"
        ));
    }
    b.sh("sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1 && \
          nft add table inet fctl && \
          nft add chain inet fctl in '{ type filter hook input priority 0; }' && \
          nft add rule inet fctl in ct state new counter");
    // TCP echo on 8080 and UDP echo on 9999, both dual-stack.
    let mut servers =
        b.cmd("python3").args(["-c", ECHO_SERVERS]).stdout(Stdio::piped()).spawn().expect("python3 echo servers");
    let mut line = String::new();
    BufReader::new(servers.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "listening\n", "the echo servers did not start");
    Topology { a, b, servers }
}

const ECHO_SERVERS: &str = r#"
import socket, threading
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 8080)); s.listen(16)
def tcp():
    while True:
        c, _ = s.accept()
        while True:
            d = c.recv(65536)
            if not d: break
            c.sendall(d)
        c.close()
threading.Thread(target=tcp, daemon=True).start()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
u.bind(("::", 9999))
print("listening", flush=True)
while True:
    d, peer = u.recvfrom(65536)
    u.sendto(d, peer)
"#;

/// From the client: a TCP exchange of 1000 bytes each way, closed by the client (sport 45001).
const TCP_EXCHANGE: &str = r#"
import socket
t = socket.socket(); t.bind(("10.77.0.1", 45001)); t.connect(("10.77.0.2", 8080))
t.sendall(b"a" * 1000); got = b""
while len(got) < 1000: got += t.recv(4096)
t.close()
"#;

/// From the client: UDP over IPv4 (sport 45002) and IPv6 (45003), ICMP echoes over both (ids
/// 0x4d01, 0x4d02).
const OTHER_TRAFFIC: &str = r#"
import socket, struct
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
for fam, src, dst, sport, n in ((socket.AF_INET, "10.77.0.1", "10.77.0.2", 45002, 3), (socket.AF_INET6, "fd77::1", "fd77::2", 45003, 2)):
    u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(2); u.bind((src, sport))
    for _ in range(n):
        u.sendto(b"u" * 100, (dst, 9999)); u.recvfrom(65536)
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.settimeout(2)
for seq in range(3):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4d01, seq) + b"p" * 56
    r.sendto(body[:2] + struct.pack("!H", csum(body)) + body[4:], ("10.77.0.2", 0)); r.recv(4096)
r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6); r6.settimeout(2)
for seq in range(2):
    r6.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x4d02, seq) + b"p" * 56, ("fd77::2", 0))
    while r6.recv(4096)[0] != 129: pass
"#;

/// Runs a python script in `ns`.
fn python(ns: &Netns, script: &str) {
    let out = ns.cmd("python3").args(["-c", script]).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
}

/// All the test traffic, from the client.
fn traffic(a: &Netns) {
    python(a, TCP_EXCHANGE);
    python(a, OTHER_TRAFFIC);
}

/// What runs inside a namespace when `FLOWCTL_CT_HELPER` is set (otherwise nothing):
/// `dump:Z,Z` prints `CT <json>` per entry of those zones (all when none) and `STATS <json>`;
/// `events:SECONDS` prints `READY` once subscribed, then `EV <json>` per event;
/// `overflow:N` creates N entries while its event socket is not read and prints `OVERFLOW <json>`;
/// `roundtrip:` creates [`created_entries`], finds them in a dump and prints `ROUNDTRIP ok`.
#[test]
fn ns_helper() {
    let Ok(mode) = std::env::var(HELPER_ENV) else { return };
    let (what, arg) = mode.split_once(':').unwrap();
    match what {
        "dump" => {
            let zones: Vec<u16> = arg.split(',').filter(|z| !z.is_empty()).map(|z| z.parse().unwrap()).collect();
            let mut ct = Conntrack::open(DEFAULT_RCVBUF).unwrap();
            let stats = ct.dump(&zones, |c| println!("CT {}", conn_json(c, None))).unwrap();
            println!(
                "STATS {}",
                json!({"entries": stats.entries, "delivered": stats.delivered, "filtered_out": stats.filtered_out,
                       "malformed": stats.malformed})
            );
        }
        "events" => {
            let mut sock = EventSocket::subscribe(&EventKind::ALL, DEFAULT_RCVBUF).unwrap();
            sock.set_timeout(Some(Duration::from_millis(100))).unwrap();
            println!("READY");
            let until = Instant::now() + Duration::from_secs(arg.parse().unwrap());
            while Instant::now() < until {
                match sock.recv().unwrap() {
                    Some(Event::Conn(kind, c)) => println!("EV {}", conn_json(&c, Some(kind))),
                    Some(other) => panic!("{other:?}"),
                    None => {}
                }
            }
        }
        "overflow" => {
            // A receive buffer far too small for the NEW events of the entries created, unread.
            let mut sock = EventSocket::subscribe(&[EventKind::New], 4096).unwrap();
            sock.set_timeout(Some(Duration::from_millis(500))).unwrap();
            let entries: Vec<Connection> = (0..arg.parse().unwrap()).map(udp_entry).collect();
            Conntrack::open(DEFAULT_RCVBUF).unwrap().create(&entries).unwrap();
            let (mut before, mut after) = (0, 0);
            while let Some(event) = sock.recv().unwrap() {
                match event {
                    Event::Overflow => {}
                    _ if sock.stats().overflows == 0 => before += 1,
                    _ => after += 1,
                }
            }
            let s = sock.stats();
            println!(
                "OVERFLOW {}",
                json!({"overflows": s.overflows, "events": s.events, "before": before, "after": after})
            );
        }
        "roundtrip" => {
            let made = created_entries();
            let mut ct = Conntrack::open(DEFAULT_RCVBUF).unwrap();
            assert_eq!(ct.create(&made).unwrap(), made.len());
            let mut dumped = Vec::new();
            ct.dump(&[], |c| dumped.push(*c)).unwrap();
            for c in &made {
                let d = dumped.iter().find(|d| d.orig == c.orig).unwrap_or_else(|| panic!("{c:?} not dumped"));
                assert_eq!((d.reply, d.mark, d.zone, d.tcp_state), (c.reply, c.mark, c.zone, c.tcp_state));
                assert!(d.timeout > 0 && d.timeout <= c.timeout, "{d:?}");
                assert!(d.status.contains(Status::CONFIRMED | Status::SEEN_REPLY), "{d:?}");
            }
            println!("ROUNDTRIP ok");
        }
        _ => panic!("{mode}"),
    }
}

/// The i-th of a set of distinct UDP entries.
fn udp_entry(i: u32) -> Connection {
    let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i));
    let server = IpAddr::V4(Ipv4Addr::new(172, 16, 0, 1));
    Connection {
        family: 2,
        orig: Tuple { src: client, dst: server, proto: 17, src_port: 1024, dst_port: 53, ..Tuple::default() },
        reply: Tuple { src: server, dst: client, proto: 17, src_port: 53, dst_port: 1024, ..Tuple::default() },
        timeout: 600,
        ..Connection::default()
    }
}

/// Entries with something of everything [`Conntrack::create`] writes: a zone and a mark, a
/// TCP state over IPv6, an ICMP echo.
fn created_entries() -> Vec<Connection> {
    let (a4, b4) = (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
    let (a6, b6): (IpAddr, IpAddr) = ("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap());
    let udp = Tuple { src: a4, dst: b4, proto: 17, src_port: 5000, dst_port: 53, ..Tuple::default() };
    let tcp = Tuple { src: a6, dst: b6, proto: 6, src_port: 40000, dst_port: 443, ..Tuple::default() };
    let icmp = Tuple { src: a4, dst: b4, proto: 1, icmp_id: 77, icmp_type: 8, ..Tuple::default() };
    let reverse = |t: Tuple| Tuple { src: t.dst, dst: t.src, src_port: t.dst_port, dst_port: t.src_port, ..t };
    let base = Connection { timeout: 300, status: Status(Status::SEEN_REPLY), ..Connection::default() };
    vec![
        Connection { family: 2, orig: udp, reply: reverse(udp), zone: 9, mark: 0x42, ..base },
        Connection { family: 10, orig: tcp, reply: reverse(tcp), tcp_state: Some(TcpState::ESTABLISHED), ..base },
        Connection { family: 2, orig: icmp, reply: Tuple { icmp_type: 0, ..reverse(icmp) }, ..base },
    ]
}

fn tuple_json(t: &Tuple) -> Value {
    json!({"src": t.src.to_string(), "dst": t.dst.to_string(), "sport": t.src_port, "dport": t.dst_port,
           "type": t.icmp_type, "code": t.icmp_code, "id": t.icmp_id})
}

fn conn_json(c: &Connection, kind: Option<EventKind>) -> Value {
    json!({"event": kind.map(|k| format!("{k:?}")), "proto": c.orig.proto, "zone": c.zone_id(),
           "state": c.tcp_state.map(|s| s.name()), "start_ns": c.start_ns, "stop_ns": c.stop_ns,
           "orig": tuple_json(&c.orig), "reply": tuple_json(&c.reply),
           "orig_counters": [c.orig_counters.packets, c.orig_counters.bytes],
           "reply_counters": [c.reply_counters.packets, c.reply_counters.bytes]})
}

/// What follows `tag` on the helper's lines, as JSON. The test harness may print on the same
/// line before the helper's first output.
fn tagged(stdout: &str, tag: &str) -> Vec<Value> {
    stdout.lines().filter_map(|l| l.split_once(tag)).map(|(_, j)| serde_json::from_str(j.trim()).unwrap()).collect()
}

fn dump_in(ns: &Netns, zones: &str) -> (Vec<Value>, Value) {
    let out = helper(ns, &format!("dump:{zones}")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (tagged(&stdout, "CT "), tagged(&stdout, "STATS ").pop().expect("the helper's stats"))
}

/// An entry in `conntrack -L -o extended`'s words: protocol, TCP state, then the fields of
/// each direction in the order the tool prints them.
fn ours(v: &Value) -> String {
    let proto = v["proto"].as_u64().unwrap();
    let dir = |t: &Value, c: &Value| {
        let ids = if proto == 1 || proto == 58 {
            format!("type={} code={} id={}", t["type"], t["code"], t["id"])
        } else {
            format!("sport={} dport={}", t["sport"], t["dport"])
        };
        format!(
            "src={} dst={} {ids} packets={} bytes={}",
            t["src"].as_str().unwrap(),
            t["dst"].as_str().unwrap(),
            c[0],
            c[1]
        )
    };
    let state = v["state"].as_str().unwrap_or("-");
    format!("{proto} {state} {} | {}", dir(&v["orig"], &v["orig_counters"]), dir(&v["reply"], &v["reply_counters"]))
}

/// The same words from one line of `conntrack -L -o extended`.
fn theirs(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let proto = words[3];
    let state = if proto == "6" { words[5] } else { "-" };
    let keys = ["src", "dst", "sport", "dport", "type", "code", "id", "packets", "bytes"];
    let mut dirs = vec![Vec::new()];
    for w in &words[4..] {
        let Some((k, _)) = w.split_once('=') else { continue };
        if k == "src" && !dirs.last().unwrap().is_empty() {
            dirs.push(Vec::new());
        }
        if keys.contains(&k) && dirs.len() <= 2 {
            dirs.last_mut().unwrap().push(*w);
        }
    }
    format!("{proto} {state} {} | {}", dirs[0].join(" "), dirs.get(1).map(|d| d.join(" ")).unwrap_or_default())
}

/// Only the test's own traffic: the kernel may track a neighbour solicitation of its own.
fn test_traffic(entry: &str) -> bool {
    entry.contains("src=10.77.0.") || entry.contains("src=fd77::")
}

#[test]
fn conntrack_dump_matches_the_conntrack_cli() {
    if !ready("conntrack_dump_matches_the_conntrack_cli") {
        return;
    }
    let t = topology("dump");
    let (a, b) = (&t.a, &t.b);
    traffic(a);
    let cli: BTreeSet<String> =
        b.sh("conntrack -L -o extended 2>/dev/null").lines().map(theirs).filter(|e| test_traffic(e)).collect();
    let (entries, stats) = dump_in(b, "");
    let got: BTreeSet<String> = entries.iter().map(ours).filter(|e| test_traffic(e)).collect();
    assert_eq!(got, cli, "\nours:   {got:#?}\ntheirs: {cli:#?}");
    assert_eq!(stats["malformed"], 0);

    // Every kind of traffic made is there, with counters, timestamps and the TCP state.
    let find = |needle: &str| got.iter().find(|e| e.contains(needle)).cloned().unwrap_or_else(|| panic!("{needle}"));
    let tcp = find("sport=45001 dport=8080");
    assert!(tcp.starts_with("6 TIME_WAIT ") || tcp.starts_with("6 CLOSE "), "{tcp}");
    assert!(find("sport=45002 dport=9999").contains("packets=3 bytes=384"), "3 × (100 + 8 + 20)");
    assert!(find("sport=45003 dport=9999").contains("packets=2 bytes=296"), "2 × (100 + 8 + 40)");
    assert!(find("id=19713").starts_with("1 - src=10.77.0.1 dst=10.77.0.2 type=8 code=0 id=19713 packets=3"));
    assert!(find("id=19714").starts_with("58 - src=fd77::1 dst=fd77::2 type=128 code=0 id=19714 packets=2"));
    assert!(entries.iter().all(|e| e["start_ns"].as_u64() > Some(0)), "timestamps are on");
}

#[test]
fn conntrack_zone_filter() {
    if !ready("conntrack_zone_filter") {
        return;
    }
    let t = topology("zone");
    let (a, b) = (&t.a, &t.b);
    traffic(a);
    for port in [1, 2] {
        b.sh(&format!(
            "conntrack -I -w 7 -s 192.0.2.1 -d 192.0.2.2 -p udp --sport {port} --dport 53 -t 600 -u SEEN_REPLY 2>/dev/null"
        ));
    }
    let in_zone7: BTreeSet<String> = b.sh("conntrack -L -o extended -w 7 2>/dev/null").lines().map(theirs).collect();
    assert_eq!(in_zone7.len(), 2);

    let (z7, stats7) = dump_in(b, "7");
    assert_eq!(z7.iter().map(ours).collect::<BTreeSet<_>>(), in_zone7);
    assert!(z7.iter().all(|e| e["zone"] == 7));
    assert_eq!(stats7["delivered"], 2);

    // Zone 0 is a zone like any other, not "all zones". Whether the kernel filtered (this one
    // does) or the entries were dropped here, the result is the same.
    let (z0, stats0) = dump_in(b, "0");
    assert!(z0.iter().all(|e| e["zone"] == 0) && z0.iter().any(|e| ours(e).contains("sport=45001")));
    assert_eq!(stats0["delivered"].as_u64().unwrap() as usize, z0.len(), "{stats0}");

    let (all, _) = dump_in(b, "");
    assert_eq!(all.len(), z0.len() + z7.len());
}

#[test]
fn conntrack_events_new_and_destroy_with_final_counters() {
    if !ready("conntrack_events_new_and_destroy_with_final_counters") {
        return;
    }
    let t = topology("events");
    let (a, b) = (&t.a, &t.b);
    let mut helper = helper(b, "events:4").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(helper.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("READY") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the events helper ended before subscribing");
    }
    // A short TCP connection, opened and closed by the client; then its entry is deleted, as
    // its end of TIME_WAIT would, so the DESTROY event comes now.
    python(a, TCP_EXCHANGE);
    let before = b.sh("conntrack -L -o extended -p tcp --sport 45001 2>/dev/null");
    let expected = theirs(before.lines().next().expect("the TCP entry"));
    b.sh("conntrack -D -p tcp --sport 45001 2>/dev/null");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(helper.wait().unwrap().success());

    let events: Vec<Value> =
        tagged(&rest, "EV ").into_iter().filter(|e| e["orig"]["sport"] == 45001 && e["proto"] == 6).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"New"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"Destroy"), "{kinds:?}");
    let destroy = events.last().unwrap();
    // The final counters are those the table showed just before the delete.
    let without_state = |e: &str| e.splitn(3, ' ').nth(2).unwrap_or_default().to_string();
    assert_eq!(without_state(&ours(destroy)), without_state(&expected));
    assert!(destroy["orig_counters"][0].as_u64() >= Some(5), "{destroy}");
    assert!(destroy["stop_ns"].as_u64() >= destroy["start_ns"].as_u64() && destroy["start_ns"].as_u64() > Some(0));
}

#[test]
fn conntrack_event_overflow_is_reported_and_counted() {
    if !ready("conntrack_event_overflow_is_reported_and_counted") {
        return;
    }
    let ns = netns("overflow", "a");
    ns.sh("nft add table inet fctl && \
           nft add chain inet fctl out '{ type filter hook output priority 0; }' && \
           nft add rule inet fctl out ct state new counter");
    let out = helper(&ns, "overflow:2000").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let report = tagged(&stdout, "OVERFLOW ").pop().expect("the helper's report");
    assert_eq!(report["overflows"], 1, "{report}");
    // Events were lost, and the socket still works: those that fitted in its buffer are read.
    assert!(report["events"].as_u64() < Some(2000), "{report}");
    assert!(report["events"].as_u64() > Some(0), "{report}");
    // Every entry was made: the table was never in doubt, only the event stream.
    assert!(ns.sh("conntrack -C").trim() == "2000");
}

#[test]
fn conntrack_created_entries_come_back_in_dumps_and_the_cli() {
    if !ready("conntrack_created_entries_come_back_in_dumps_and_the_cli") {
        return;
    }
    let ns = netns("create", "a");
    ns.sh("nft add table inet fctl && \
           nft add chain inet fctl out '{ type filter hook output priority 0; }' && \
           nft add rule inet fctl out ct state new counter");
    let out = helper(&ns, "roundtrip:").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ROUNDTRIP ok"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli = ns.sh("conntrack -L -o extended 2>/dev/null");
    let line = |needle: &str| cli.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}: {cli}"));
    let udp = line("sport=5000");
    assert!(udp.contains("mark=66") && udp.contains("zone=9"), "{udp}");
    assert!(line("sport=40000").contains(" ESTABLISHED src=2001:db8::1 dst=2001:db8::2 "));
    assert!(line("id=77").contains("type=8 code=0 id=77"));
}
