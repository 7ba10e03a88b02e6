//! The capture the README's quick start decodes, `tests/fixtures/generated/quickstart.pcap`,
//! is built here with flowctl's own encoder, so what it holds is written down in code:
//! - an Antrea agent (10.10.1.11) exporting its IPv4 and IPv6 43-element templates and flows;
//! - a router exporting NetFlow v9 whose first data arrives before its template, and an options
//!   template with its sampling interval;
//! - a biflow exporter (RFC 5103 reverse elements) with a variable-length application name and
//!   an RFC 6313 basicList of MPLS labels.
//!
//! The test fails when the committed file differs from what this code builds; run it with
//! `FLOWCTL_REGENERATE=1` to rewrite the file.

use std::net::SocketAddr;
use std::path::Path;

use flowctl::core::capture::MessagePcapWriter;
use flowctl::core::flow;
use flowctl::core::ipfix::registry::PEN_REVERSE;
use flowctl::core::ipfix::{FieldSpec, MessageWriter, Template, VARLEN};
use flowctl::core::time::Timestamp;

use crate::util::{json_lines, run};

const FIXTURE: &str = "tests/fixtures/generated/quickstart.pcap";
const T0: u32 = 1_763_769_600; // 2025-11-22T00:00:00Z

fn at(ms: u32) -> Timestamp {
    Timestamp::from_micros((T0 as i64) * 1_000_000 + ms as i64 * 1000)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Pod<'a> {
    ip: [u8; 4],
    name: &'a str,
    namespace: &'a str,
    node: &'a str,
}

fn antrea_record(w: &mut MessageWriter, src: &Pod<'_>, dst: &Pod<'_>, sport: u16, packets: u64, bytes: u64) {
    let mut r = w.record();
    r.unsigned((T0 - 40) as u64, 4).unsigned(T0 as u64, 4).unsigned(2, 1);
    r.unsigned(sport as u64, 2).unsigned(8080, 2).unsigned(6, 1);
    r.unsigned(packets, 8).unsigned(bytes, 8).unsigned(packets / 4, 8).unsigned(bytes / 4, 8);
    r.fixed(&src.ip, 4).fixed(&dst.ip, 4);
    r.unsigned(packets - 1, 8).unsigned(bytes * 3, 8).unsigned(packets / 4, 8).unsigned(bytes * 3 / 4, 8);
    r.varlen(src.name.as_bytes()).varlen(src.namespace.as_bytes()).varlen(src.node.as_bytes());
    r.varlen(dst.name.as_bytes()).varlen(dst.namespace.as_bytes()).varlen(dst.node.as_bytes());
    r.unsigned(80, 2).varlen(b"shop/backend:http");
    r.varlen(b"allow-frontend").varlen(b"shop").unsigned(1, 1).varlen(b"").unsigned(1, 1);
    r.varlen(b"").varlen(b"").unsigned(0, 1).varlen(b"").unsigned(0, 1);
    r.varlen(b"ESTABLISHED").unsigned(if src.node == dst.node { 1 } else { 2 }, 1);
    r.varlen(b"").varlen(b"").varlen(b"").unsigned(0, 2);
    r.fixed(&[10, 96, 0, 12], 4).fixed(&[0, 0, 0, 0], 4).fixed(&[10, 96, 0, 12], 4);
}

/// Source, destination, ports, protocol, packets, bytes.
type RouterFlow = ([u8; 4], [u8; 4], u16, u16, u8, u64, u64);

/// The capture's bytes.
fn build() -> Vec<u8> {
    let mut out = Vec::new();
    let mut pcap = MessagePcapWriter::new(&mut out).unwrap();
    let (agent, aggregator) = (addr("10.10.1.11:47631"), addr("10.10.0.5:4739"));
    let frontend = Pod { ip: [10, 244, 1, 7], name: "frontend-7d9c8b6f5-x2x9k", namespace: "shop", node: "node-a" };
    let backend = Pod { ip: [10, 244, 2, 9], name: "backend-5f4b9c7d8-qq7tz", namespace: "shop", node: "node-b" };
    let cache = Pod { ip: [10, 244, 1, 12], name: "cache-0", namespace: "shop", node: "node-a" };

    // The agent: its templates, then flows (one IPFIX message each, as Antrea's agent sends).
    let (v4, v6) = (flow::template(256, &flow::AGENT_IPV4), flow::template(257, &flow::AGENT_IPV6));
    let domain = 0x1b2c_3d4e;
    let mut m = MessageWriter::ipfix(T0, 0, domain);
    m.begin_template_set(false);
    m.template(&v4);
    m.template(&v6);
    pcap.write(at(0), agent, aggregator, &m.finish()).unwrap();
    for (seq, (src, dst, sport, packets, bytes)) in [
        (&frontend, &backend, 51234, 48, 6912),
        (&frontend, &cache, 40112, 12, 1460),
        (&backend, &cache, 38001, 4, 520),
    ]
    .into_iter()
    .enumerate()
    {
        let mut m = MessageWriter::ipfix(T0, seq as u32, domain);
        m.begin_set(256);
        antrea_record(&mut m, src, dst, sport, packets, bytes);
        pcap.write(at(10 + seq as u32), agent, aggregator, &m.finish()).unwrap();
    }

    // A router on NetFlow v9: data first (it restarted; its template comes next), options too.
    let (router, collector) = (addr("192.0.2.1:61000"), addr("10.10.0.5:2055"));
    let flows = Template::new(
        260,
        0,
        [8, 12, 7, 11, 4, 2, 1, 22, 21]
            .into_iter()
            .zip([4, 4, 2, 2, 1, 4, 4, 4, 4])
            .map(|(id, l)| FieldSpec::iana(id, l)),
    );
    let data = |seq: u32, rows: &[RouterFlow]| {
        let mut m = MessageWriter::netflow_v9(3_600_000, T0, seq, 7);
        m.begin_set(260);
        for &(s, d, sp, dp, proto, pk, by) in rows {
            let mut r = m.record();
            r.fixed(&s, 4).fixed(&d, 4).unsigned(sp as u64, 2).unsigned(dp as u64, 2).unsigned(proto as u64, 1);
            r.unsigned(pk, 4).unsigned(by, 4).unsigned(3_590_000, 4).unsigned(3_599_000, 4);
        }
        m.end_set_padded(4);
        m.finish()
    };
    pcap.write(
        at(20),
        router,
        collector,
        &data(100, &[([198, 51, 100, 7], [203, 0, 113, 80], 52100, 443, 6, 9, 4120)]),
    )
    .unwrap();
    let mut m = MessageWriter::netflow_v9(3_600_100, T0, 101, 7);
    m.begin_template_set(false);
    m.template(&flows);
    let sampling = Template::new(
        261,
        1,
        [FieldSpec::enterprise(flowctl::core::ipfix::registry::PEN_NETFLOW_V9_SCOPE, 1, 4), FieldSpec::iana(34, 4)],
    );
    m.begin_template_set(true);
    m.template(&sampling);
    m.begin_set(261);
    m.record().unsigned(7, 4).unsigned(1000, 4);
    m.end_set_padded(4);
    pcap.write(at(30), router, collector, &m.finish()).unwrap();
    let rows = [
        ([203, 0, 113, 80], [198, 51, 100, 7], 443, 52100, 6, 7, 9800),
        ([198, 51, 100, 9], [8, 8, 8, 8], 5353, 53, 17, 1, 74),
    ];
    pcap.write(at(40), router, collector, &data(102, &rows)).unwrap();

    // A biflow exporter: reverse counters, an application name, and MPLS labels as a basicList.
    let (probe, collector) = (addr("[2001:db8::a]:4739"), addr("[2001:db8::1]:4739"));
    let biflow = Template::new(
        300,
        0,
        [
            FieldSpec::iana(27, 16),
            FieldSpec::iana(28, 16),
            FieldSpec::iana(7, 2),
            FieldSpec::iana(11, 2),
            FieldSpec::iana(4, 1),
            FieldSpec::iana(1, 4),
            FieldSpec::enterprise(PEN_REVERSE, 1, 4),
            FieldSpec::iana(96, VARLEN),
            FieldSpec::iana(291, VARLEN),
            FieldSpec::iana(152, 8),
        ],
    );
    let mut m = MessageWriter::ipfix(T0, 0, 1);
    m.begin_template_set(false);
    m.template(&biflow);
    m.end_set_padded(4);
    m.begin_set(300);
    let client: std::net::Ipv6Addr = "2001:db8:10::25".parse().unwrap();
    let server: std::net::Ipv6Addr = "2001:db8:20::443".parse().unwrap();
    let mut r = m.record();
    r.fixed(&client.octets(), 16).fixed(&server.octets(), 16).unsigned(60412, 2).unsigned(443, 2).unsigned(6, 1);
    r.unsigned(2210, 4).unsigned(58_113, 4).varlen(b"https");
    r.basic_list(3, FieldSpec::iana(70, 3), |w| {
        w.fixed(&[0x01, 0x2c, 0x10], 3).fixed(&[0x00, 0x3e, 0x81], 3);
    });
    r.unsigned((T0 as u64) * 1000 - 2500, 8);
    m.end_set_padded(4);
    pcap.write(at(50), probe, collector, &m.finish()).unwrap();
    pcap.finish().unwrap();
    out
}

#[test]
fn the_quick_start_capture_is_current_and_decodes_to_what_was_built() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let built = build();
    if std::env::var_os("FLOWCTL_REGENERATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &built).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(committed == built, "{FIXTURE} is stale: run FLOWCTL_REGENERATE=1 cargo test quick_start");

    let records = json_lines(&run(&["decode", "-o", "json", path.to_str().unwrap()]).stdout);
    assert_eq!(records.len(), 8, "3 Antrea flows, 3 router flows (one late), 1 options record, 1 biflow");
    let agent: Vec<_> = records.iter().filter(|r| r["exporter"] == "10.10.1.11:47631").collect();
    assert_eq!(agent.len(), 3);
    assert_eq!(agent[0]["fields"]["sourcePodName"], "frontend-7d9c8b6f5-x2x9k");
    assert_eq!(agent[0]["fields"]["destinationNodeName"], "node-b");
    assert_eq!(agent[0]["fields"]["flowType"], 2);
    assert_eq!(agent[0]["fields"]["flowEndSeconds"], "2025-11-22T00:00:00Z");
    assert_eq!(agent[0]["fields"].as_object().unwrap().len(), 43);
    let late: Vec<_> = records.iter().filter(|r| r.get("late").is_some()).collect();
    assert_eq!(late.len(), 1);
    assert_eq!((late[0]["frame"].as_u64(), late[0]["version"].as_u64()), (Some(5), Some(9)));
    let options: Vec<_> = records.iter().filter(|r| r["kind"] == "options").collect();
    assert_eq!(options[0]["fields"]["samplingInterval"], 1000);
    let bi = records.last().unwrap();
    assert_eq!(bi["fields"]["reverseOctetDeltaCount"], 58_113);
    assert_eq!(bi["fields"]["applicationName"], "https");
    assert_eq!(bi["fields"]["basicList"], serde_json::json!(["012c10", "003e81"]));
    assert_eq!(bi["collector"], "[2001:db8::1]:4739");
}
