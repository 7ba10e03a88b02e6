//! The exporting process against raw sockets on 127.0.0.1, reading back exactly the bytes it
//! wrote: message shapes per profile, packing up to the limit, sequence numbers, template
//! announcements and refreshes, reconnection after the collector closed, JSON lines, and the
//! records it refuses. The real collector's view is in tests/it/export.rs.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::core::ipfix::decoder::{
    Decoder, DecoderConfig, DomainStats, Origin, RecordRef, SessionKey, Transport, Visitor,
};
use crate::core::ipfix::message::{Message, SetKind};
use crate::core::ipfix::template::{FieldSpec, TemplateRecords};
use crate::core::ipfix::{DecodeError, VARLEN};
use crate::core::time::Timestamp;

/// Messages as they arrived, with the number of the connection (0 for UDP) that carried them.
type Arrived = Arc<Mutex<Vec<(usize, Vec<u8>)>>>;

/// A socket that takes whatever comes, on a thread of its own, until dropped.
struct Raw {
    addr: SocketAddr,
    arrived: Arrived,
    stop: Arc<AtomicBool>,
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Raw {
    fn udp() -> Raw {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let raw = Raw { addr: socket.local_addr().unwrap(), arrived: Arc::default(), stop: Arc::default() };
        let (arrived, stop) = (raw.arrived.clone(), raw.stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    arrived.lock().unwrap().push((0, buf[..n].to_vec()));
                }
            }
        });
        raw
    }

    /// A TCP listener; the first connection is closed by us after `close_first_after` messages.
    fn tcp(close_first_after: Option<usize>) -> Raw {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let raw = Raw { addr: listener.local_addr().unwrap(), arrived: Arc::default(), stop: Arc::default() };
        let (arrived, stop) = (raw.arrived.clone(), raw.stop.clone());
        std::thread::spawn(move || {
            let mut index = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                let limit = if index == 0 { close_first_after } else { None };
                let arrived = arrived.clone();
                std::thread::spawn(move || {
                    let mut count = 0;
                    let mut header = [0u8; 4];
                    while limit != Some(count) && stream.read_exact(&mut header).is_ok() {
                        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
                        let mut msg = header.to_vec();
                        msg.resize(len.max(4), 0);
                        if stream.read_exact(&mut msg[4..]).is_err() {
                            break;
                        }
                        arrived.lock().unwrap().push((index, msg));
                        count += 1;
                    }
                });
                index += 1;
            }
        });
        raw
    }

    fn messages(&self) -> Vec<(usize, Vec<u8>)> {
        self.arrived.lock().unwrap().clone()
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("gave up waiting: {what}");
}

/// Source and destination ports and the protocol: 5-byte records.
fn ports() -> Vec<FieldSpec> {
    vec![FieldSpec::iana(7, 2), FieldSpec::iana(11, 2), FieldSpec::iana(4, 1)]
}

/// A Pod name (variable length, Antrea's element) and a source address.
fn pod() -> Vec<FieldSpec> {
    vec![FieldSpec::enterprise(56506, 101, VARLEN), FieldSpec::iana(8, 4)]
}

fn port_records(template: u16, ports: std::ops::Range<u16>) -> RecordBatch {
    let mut b = RecordBatch::with_capacity(ports.len());
    for p in ports {
        b.push(template, |w| {
            w.unsigned(u64::from(p), 2).unsigned(80, 2).unsigned(6, 1);
        });
    }
    b
}

fn config(to: Endpoint) -> ExporterConfig {
    ExporterConfig {
        domain: 7,
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        ..ExporterConfig::new(to)
    }
}

/// What a collector makes of the messages: records by template with their bytes, problems, and
/// the counters of every connection.
#[derive(Default)]
struct Decoded {
    records: Vec<(u16, Vec<u8>)>,
    problems: Vec<String>,
    stats: DomainStats,
}

impl Visitor for Decoded {
    fn record(&mut self, r: &RecordRef<'_>) {
        self.records.push((r.record.template.id, r.record.bytes.to_vec()));
    }

    fn problem(&mut self, _: &Origin, error: &DecodeError) {
        self.problems.push(error.to_string());
    }
}

fn decode(messages: &[(usize, Vec<u8>)], transport: Transport) -> Decoded {
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut out = Decoded::default();
    let origin = Origin { frame: 0, time: Timestamp::from_secs(1_700_000_000), exporter: None, collector: None };
    for (conn, m) in messages {
        let key = SessionKey { source: *conn as u32, transport, exporter: None, collector: None };
        decoder.decode(&key, origin, m, &mut out);
    }
    for s in decoder.sessions() {
        for (_, d) in s.stats().domains {
            out.stats.add(&d);
        }
    }
    out
}

/// Each set of a message: its id, and how many template records it holds (0 for data sets).
fn shape(m: &[u8]) -> Vec<(u16, usize)> {
    let (message, notice) = Message::parse(m).unwrap();
    assert!(notice.is_none(), "{notice:?}");
    message
        .sets()
        .map(|s| {
            let s = s.unwrap();
            let templates = match s.kind {
                SetKind::Template | SetKind::OptionsTemplate => {
                    TemplateRecords::new(10, s.kind == SetKind::OptionsTemplate, s.body, 0).count()
                }
                _ => 0,
            };
            (s.id, templates)
        })
        .collect()
}

fn header_u32(m: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([m[at], m[at + 1], m[at + 2], m[at + 3]])
}

#[test]
fn go_ipfix_profile_over_udp_one_set_per_message_at_most_1024_bytes() {
    let raw = Raw::udp();
    let templates = Arc::new(TemplateSet::new());
    let ports_id = templates.register(0, &ports()).unwrap();
    let pod_id = templates.register(0, &pod()).unwrap();
    let options_id = templates.register(1, &[FieldSpec::iana(144, 4), FieldSpec::iana(34, 4)]).unwrap();
    let cfg = ExporterConfig { flush_interval: Duration::from_secs(3600), ..config(Endpoint::Udp(raw.addr)) };
    let (process, sender) = ExportingProcess::start(cfg, templates).unwrap();
    assert_eq!(process.max_message(), 1024);

    sender.send(port_records(ports_id, 0..1000)).unwrap();
    let mut mixed = RecordBatch::with_capacity(30);
    for i in 0..20u8 {
        mixed.push(pod_id, |w| {
            w.varlen(format!("web-{i}").as_bytes()).fixed(&[10, 0, 0, i], 4);
        });
        if i % 5 == 0 {
            mixed.push(options_id, |w| {
                w.unsigned(1, 4).unsigned(100, 4);
            });
        }
    }
    sender.send(mixed).unwrap();
    drop(sender);
    let stats = process.finish(Duration::from_secs(5));
    assert_eq!((stats.records_exported, stats.records_dropped), (1020, 4), "options records refused");

    wait_until("every datagram", || raw.messages().len() as u64 == stats.messages);
    let messages = raw.messages();
    let mut data_messages = 0;
    for (_, m) in &messages {
        assert!(m.len() <= 1024, "{} bytes", m.len());
        let sets = shape(m);
        assert_eq!(sets.len(), 1, "one set per message: {sets:?}");
        match sets[0] {
            (2, templates) => assert_eq!(templates, 1, "one template per template set"),
            (id, _) => {
                assert!(id == ports_id || id == pod_id, "no options template or its records: {id}");
                data_messages += 1;
            }
        }
    }
    // 5-byte records: (1024 - 20) / 5 = 200 to a message.
    assert_eq!(data_messages, 5 + 1);
    let decoded = decode(&messages, Transport::Udp);
    assert!(decoded.problems.is_empty(), "{:?}", decoded.problems);
    assert_eq!(decoded.stats.sequence_gaps, 0);
    assert_eq!(decoded.records.len(), 1020);
    let sports: Vec<u64> = decoded
        .records
        .iter()
        .filter(|(t, _)| *t == ports_id)
        .map(|(_, b)| u64::from(u16::from_be_bytes([b[0], b[1]])))
        .collect();
    assert_eq!(sports, (0..1000).collect::<Vec<_>>());
    assert!(decoded.records.iter().any(|(t, b)| *t == pod_id && b[..7] == *b"\x06web-19"));
    // Sequence numbers count the data records before each message.
    let mut decoder = Decoder::new(DecoderConfig::default());
    let key = SessionKey { source: 0, transport: Transport::Udp, exporter: None, collector: None };
    let origin = Origin { frame: 0, time: Timestamp::from_secs(1_700_000_000), exporter: None, collector: None };
    let mut before = 0;
    for (_, m) in &messages {
        assert_eq!(header_u32(m, 8), before);
        assert_eq!(header_u32(m, 12), 7, "observation domain");
        before += decoder.decode(&key, origin, m, &mut Decoded::default()).records as u32;
    }
    assert_eq!(before, 1020);
}

#[test]
fn standard_profile_announces_all_templates_in_one_set_and_packs_data_sets() {
    let raw = Raw::tcp(None);
    let templates = Arc::new(TemplateSet::new());
    let ports_id = templates.register(0, &ports()).unwrap();
    let pod_id = templates.register(0, &pod()).unwrap();
    let options_id = templates.register(1, &[FieldSpec::iana(144, 4), FieldSpec::iana(34, 4)]).unwrap();
    let cfg = ExporterConfig {
        profile: Profile::Standard,
        flush_interval: Duration::from_secs(3600),
        ..config(Endpoint::Tcp(raw.addr))
    };
    let (process, sender) = ExportingProcess::start(cfg, templates).unwrap();
    let mut batch = port_records(ports_id, 0..3);
    batch.push(pod_id, |w| {
        w.varlen(b"db-0").fixed(&[10, 0, 0, 9], 4);
    });
    batch.push(options_id, |w| {
        w.unsigned(1, 4).unsigned(100, 4);
    });
    sender.send(batch).unwrap();
    drop(sender);
    let stats = process.finish(Duration::from_secs(5));
    assert_eq!((stats.records_exported, stats.records_dropped, stats.messages), (5, 0, 2));
    wait_until("both messages", || raw.messages().len() == 2);
    let messages = raw.messages();
    assert_eq!(shape(&messages[0].1), [(2, 2), (3, 1)], "templates first, all in one set per kind");
    assert_eq!(shape(&messages[1].1), [(ports_id, 0), (pod_id, 0), (options_id, 0)]);
    let decoded = decode(&messages, Transport::Tcp);
    assert!(decoded.problems.is_empty(), "{:?}", decoded.problems);
    assert_eq!((decoded.stats.data_records, decoded.stats.options_records), (4, 1));
}

#[test]
fn messages_fill_up_to_the_configured_size() {
    let raw = Raw::tcp(None);
    let templates = Arc::new(TemplateSet::new());
    let id = templates.register(0, &ports()).unwrap();
    let cfg = ExporterConfig {
        max_message: Some(512),
        flush_interval: Duration::from_secs(3600),
        ..config(Endpoint::Tcp(raw.addr))
    };
    let (process, sender) = ExportingProcess::start(cfg, templates).unwrap();
    for start in (0..10_000u16).step_by(500) {
        sender.send(port_records(id, start..start + 500)).unwrap();
    }
    drop(sender);
    let stats = process.finish(Duration::from_secs(5));
    assert_eq!(stats.records_exported, 10_000);
    wait_until("every message", || raw.messages().len() as u64 == stats.messages);
    let messages = raw.messages();
    // (512 - 20) / 5 = 98 records make a full message; only the last one is partly filled.
    let sizes: Vec<usize> = messages[1..].iter().map(|(_, m)| m.len()).collect();
    assert!(sizes[..sizes.len() - 1].iter().all(|&n| n == 20 + 98 * 5), "{sizes:?}");
    assert_eq!(sizes.len(), 10_000usize.div_ceil(98));
    let decoded = decode(&messages, Transport::Tcp);
    assert_eq!((decoded.records.len(), decoded.stats.sequence_gaps), (10_000, 0));
}

#[test]
fn templates_are_sent_again_over_udp_every_refresh_interval() {
    let raw = Raw::udp();
    let templates = Arc::new(TemplateSet::new());
    let id = templates.register(0, &ports()).unwrap();
    let cfg = ExporterConfig {
        template_refresh: Duration::from_millis(50),
        flush_interval: Duration::from_millis(20),
        ..config(Endpoint::Udp(raw.addr))
    };
    let (process, sender) = ExportingProcess::start(cfg, templates).unwrap();
    sender.send(port_records(id, 0..1)).unwrap();
    let template_messages = || raw.messages().iter().filter(|(_, m)| shape(m) == [(2, 1)]).count();
    wait_until("the template three times", || template_messages() >= 3);
    drop(sender);
    process.finish(Duration::from_secs(1));
}

#[test]
fn a_template_registered_later_is_announced_before_its_first_record() {
    let raw = Raw::tcp(None);
    let templates = Arc::new(TemplateSet::new());
    let first = templates.register(0, &ports()).unwrap();
    let cfg = ExporterConfig { flush_interval: Duration::from_millis(20), ..config(Endpoint::Tcp(raw.addr)) };
    let (process, sender) = ExportingProcess::start(cfg, templates.clone()).unwrap();
    sender.send(port_records(first, 0..10)).unwrap();
    wait_until("the first records", || raw.messages().len() == 2);
    let later = templates.register(0, &pod()).unwrap();
    let mut batch = port_records(first, 10..20);
    batch.push(later, |w| {
        w.varlen(b"late").fixed(&[10, 1, 1, 1], 4);
    });
    sender.send(batch).unwrap();
    drop(sender);
    process.finish(Duration::from_secs(5));
    let shapes: Vec<_> = raw.messages().iter().map(|(_, m)| shape(m)).collect();
    assert_eq!(
        shapes,
        [vec![(2, 1)], vec![(first, 0)], vec![(first, 0)], vec![(2, 1)], vec![(later, 0)]],
        "over TCP each template is sent once, before its first record"
    );
}

#[test]
fn a_collector_that_closed_the_connection_gets_everything_on_the_next_one() {
    let raw = Raw::tcp(Some(2));
    let templates = Arc::new(TemplateSet::new());
    let id = templates.register(0, &ports()).unwrap();
    let cfg = ExporterConfig { flush_interval: Duration::from_millis(20), ..config(Endpoint::Tcp(raw.addr)) };
    let (process, sender) = ExportingProcess::start(cfg, templates).unwrap();
    sender.send(port_records(id, 0..10)).unwrap();
    wait_until("the first connection's messages", || raw.messages().len() == 2);
    // The collector has closed that connection now; what follows must not be written into it.
    std::thread::sleep(Duration::from_millis(50));
    sender.send(port_records(id, 10..20)).unwrap();
    drop(sender);
    let stats = process.finish(Duration::from_secs(5));
    assert_eq!((stats.records_exported, stats.records_dropped), (20, 0));
    assert_eq!((stats.connects, stats.send_errors), (2, 1));
    let messages = raw.messages();
    let second: Vec<_> = messages.iter().filter(|(c, _)| *c == 1).cloned().collect();
    assert_eq!(second.iter().map(|(_, m)| shape(m)).collect::<Vec<_>>(), [vec![(2, 1)], vec![(id, 0)]]);
    assert_eq!(header_u32(&second[1].1, 8), 0, "a new connection counts from 0");
    let decoded = decode(&messages, Transport::Tcp);
    let sports: Vec<u16> = decoded.records.iter().map(|(_, b)| u16::from_be_bytes([b[0], b[1]])).collect();
    assert_eq!(sports, (0..20).collect::<Vec<_>>());
}

#[test]
fn records_that_cannot_be_exported_are_counted() {
    let raw = Raw::udp();
    let templates = Arc::new(TemplateSet::new());
    let id = templates.register(0, &ports()).unwrap();
    let pod_id = templates.register(0, &pod()).unwrap();
    let (process, sender) = ExportingProcess::start(config(Endpoint::Udp(raw.addr)), templates).unwrap();
    let mut batch = port_records(id, 0..2);
    batch.push(id, |w| {
        w.unsigned(1, 2);
    });
    batch.push(999, |w| {
        w.unsigned(1, 4);
    });
    batch.push(pod_id, |w| {
        w.varlen(&[b'x'; 2000]).fixed(&[10, 0, 0, 1], 4);
    });
    sender.send(batch).unwrap();
    drop(sender);
    let stats = process.finish(Duration::from_secs(5));
    assert_eq!((stats.records_exported, stats.records_dropped, stats.queue_records), (2, 3, 0));
}

#[test]
fn json_lines_over_tcp_and_objects_over_udp() {
    let templates = Arc::new(TemplateSet::new());
    let id = templates.register(0, &ports()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        (text, peer)
    });
    let cfg = ExporterConfig { format: Format::Json, ..config(Endpoint::Tcp(to)) };
    let (process, sender) = ExportingProcess::start(cfg, templates.clone()).unwrap();
    sender.send(port_records(id, 5..8)).unwrap();
    drop(sender);
    assert_eq!(process.finish(Duration::from_secs(5)).records_exported, 3);
    let (text, peer) = reader.join().unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["fields"]["sourceTransportPort"], 5 + i);
        assert_eq!(line["fields"]["protocolIdentifier"], 6);
        assert_eq!((line["templateId"].as_u64(), line["kind"].as_str()), (Some(u64::from(id)), Some("data")));
        assert_eq!((line["observationDomainId"].as_u64(), line["sequenceNumber"].as_u64()), (Some(7), Some(i as u64)));
        assert_eq!(line["exporter"], peer.to_string());
        assert_eq!(line["collector"], to.to_string());
    }

    let udp = Raw::udp();
    let cfg = ExporterConfig { format: Format::Json, ..config(Endpoint::Udp(udp.addr)) };
    let (process, sender) = ExportingProcess::start(cfg, templates).unwrap();
    sender.send(port_records(id, 0..2)).unwrap();
    drop(sender);
    process.finish(Duration::from_secs(5));
    wait_until("two datagrams", || udp.messages().len() == 2);
    for (i, (_, d)) in udp.messages().iter().enumerate() {
        let v: serde_json::Value = serde_json::from_slice(d).unwrap();
        assert_eq!(v["fields"]["sourceTransportPort"], i);
        assert!(!d.ends_with(b"\n"));
    }
}

#[test]
fn message_limits_per_transport_and_profile() {
    let limit = |to: &str, profile, max| {
        let cfg = ExporterConfig { profile, max_message: max, ..ExporterConfig::new(to.parse().unwrap()) };
        message_limit(&cfg)
    };
    assert_eq!(limit("tcp://127.0.0.1:4739", Profile::GoIpfix, None).unwrap(), 65535);
    assert_eq!(limit("tls://127.0.0.1:4739", Profile::Standard, Some(9000)).unwrap(), 9000);
    assert_eq!(limit("udp://127.0.0.1:4739", Profile::GoIpfix, None).unwrap(), 1024);
    assert_eq!(limit("udp://127.0.0.1:4739", Profile::GoIpfix, Some(600)).unwrap(), 600);
    // Loopback's MTU is 65536; a datagram carries at most 65507 bytes over IPv4.
    assert_eq!(limit("udp://127.0.0.1:4739", Profile::Standard, None).unwrap(), 65507);
    assert_eq!(limit("udp://[::1]:4739", Profile::Standard, None).unwrap(), 1500 - 48);
    assert_eq!(limit("udp://127.0.0.1:4739", Profile::Standard, Some(1400)).unwrap(), 1400);
    for bad in [511, 65536] {
        let err = limit("udp://127.0.0.1:4739", Profile::Standard, Some(bad)).unwrap_err().to_string();
        assert!(err.contains(&bad.to_string()) && err.contains("512 to 65535"), "{err}");
    }
}

#[test]
fn settings_that_cannot_work_are_refused_at_start() {
    let templates = Arc::new(TemplateSet::new());
    let start = |cfg: ExporterConfig| ExportingProcess::start(cfg, templates.clone()).err().unwrap().to_string();
    let tcp: Endpoint = "tcp://127.0.0.1:4739".parse().unwrap();
    let tls_endpoint: Endpoint = "tls://127.0.0.1:4739".parse().unwrap();
    let err = start(ExporterConfig::new(tls_endpoint));
    assert!(err.contains("needs a CA certificate"), "{err}");
    let tls = ClientTls { ca: "/nonexistent/ca.crt".into(), cert: None, key: None, server_name: None };
    let err = start(ExporterConfig { tls: Some(tls.clone()), ..ExporterConfig::new(tcp) });
    assert!(err.contains("use tls://"), "{err}");
    let err = start(ExporterConfig { tls: Some(tls), ..ExporterConfig::new(tls_endpoint) });
    assert!(err.contains("/nonexistent/ca.crt"), "{err}");
    let err = start(ExporterConfig { backoff_min: Duration::from_secs(60), ..ExporterConfig::new(tcp) });
    assert!(err.contains("backoff"), "{err}");
    let err = start(ExporterConfig { flush_interval: Duration::ZERO, ..ExporterConfig::new(tcp) });
    assert!(err.contains("flush interval"), "{err}");
}
