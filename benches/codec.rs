//! Codec throughput: records per second decoded (every value read), decoded to JSON, and
//! encoded, for the Antrea Flow Exporter's 43-element template and a Cisco-style router template.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowctl::core::flow;
use flowctl::core::ipfix::decoder::{Decoder, Origin, RecordRef, SessionKey, Transport, Visitor};
use flowctl::core::ipfix::{FieldSpec, MessageWriter, Template, Value};
use flowctl::core::output::json::JsonWriter;
use flowctl::core::time::Timestamp;

/// The fields of a Cisco IOS-XR IPFIX template (pmacct's 100-IPFIXv10-CISCO capture), lengths
/// as the router sends them.
const CISCO: &[(u16, u16)] = &[
    (70, 3),
    (71, 3),
    (72, 3),
    (47, 4),
    (8, 4),
    (12, 4),
    (5, 1),
    (4, 1),
    (7, 2),
    (11, 2),
    (32, 2),
    (10, 4),
    (58, 2),
    (9, 1),
    (13, 1),
    (16, 4),
    (17, 4),
    (15, 4),
    (6, 1),
    (14, 4),
    (52, 1),
    (53, 1),
    (136, 1),
    (60, 1),
    (18, 4),
    (61, 1),
    (243, 2),
    (245, 2),
    (54, 4),
    (1, 8),
    (2, 8),
    (152, 8),
    (153, 8),
];

fn antrea_template() -> Template {
    flow::template(256, &flow::AGENT_IPV4)
}

fn cisco_template() -> Template {
    Template::new(260, 0, CISCO.iter().map(|&(id, len)| FieldSpec::iana(id, len)))
}

/// Writes a record with plausible values for every field of `t`.
fn fill(w: &mut MessageWriter, t: &Template, k: u64) {
    let mut r = w.record();
    for f in t.fields.iter() {
        let v = match f.data_type {
            flowctl::core::ipfix::DataType::String => Value::String(b"frontend-7d9c8b6f5-x2x9k"),
            flowctl::core::ipfix::DataType::Ipv4Address => Value::Ipv4([10, 0, (k >> 8) as u8, k as u8].into()),
            flowctl::core::ipfix::DataType::DateTimeSeconds => Value::Time(Timestamp::from_secs(1_700_000_000)),
            flowctl::core::ipfix::DataType::DateTimeMilliseconds => {
                Value::Time(Timestamp::from_millis(1_700_000_000_123))
            }
            flowctl::core::ipfix::DataType::OctetArray => Value::Octets(&[0, 0x45, 0xa1]),
            _ => Value::Unsigned(k % 200),
        };
        r.value(f.spec, f.data_type, &v);
    }
}

fn template_message(t: &Template) -> Vec<u8> {
    let mut w = MessageWriter::ipfix(1_700_000_000, 0, 1);
    w.begin_template_set(false);
    w.template(t);
    w.finish()
}

fn data_message(t: &Template, records: usize) -> Vec<u8> {
    let mut w = MessageWriter::ipfix(1_700_000_000, 0, 1);
    w.begin_set(t.id);
    for k in 0..records {
        fill(&mut w, t, k as u64);
    }
    w.finish()
}

struct ReadAll(u64);

impl Visitor for ReadAll {
    fn record(&mut self, r: &RecordRef<'_>) {
        for (field, raw) in r.record.fields() {
            if let Value::Unsigned(n) = black_box(Value::decode(field.data_type, raw)) {
                self.0 = self.0.wrapping_add(n);
            }
        }
    }
}

struct ToJson(JsonWriter, Vec<u8>);

impl Visitor for ToJson {
    fn record(&mut self, r: &RecordRef<'_>) {
        self.0.record(r, &mut self.1);
    }
}

fn bench_decode(c: &mut Criterion) {
    let key = SessionKey { source: 0, transport: Transport::Udp, exporter: None, collector: None };
    let origin = Origin { frame: 1, time: Timestamp::from_secs(1_700_000_000), exporter: None, collector: None };
    // Records per message as a 1500-byte MTU holds them.
    for (name, t, n) in [("antrea-43", antrea_template(), 5usize), ("cisco-33", cisco_template(), 15)] {
        // Steady state: the session knows the template; messages carry data only.
        let (tmpl, msg) = (template_message(&t), data_message(&t, n));
        let primed = || {
            let mut d = Decoder::default();
            d.decode(&key, origin, &tmpl, &mut ReadAll(0));
            d
        };
        let mut g = c.benchmark_group(format!("decode/{name}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("values", |b| {
            let mut d = primed();
            let mut v = ReadAll(0);
            b.iter(|| d.decode(&key, origin, black_box(&msg), &mut v))
        });
        g.bench_function("json", |b| {
            let mut d = primed();
            let mut v = ToJson(JsonWriter::new(true), Vec::with_capacity(1 << 20));
            b.iter(|| {
                v.1.clear();
                d.decode(&key, origin, black_box(&msg), &mut v)
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("encode/{name}"));
        g.throughput(Throughput::Elements(n as u64));
        let t = Arc::new(t);
        g.bench_function("records", |b| {
            b.iter(|| {
                let mut w = MessageWriter::ipfix(1_700_000_000, 0, 1);
                w.begin_set(t.id);
                for k in 0..n {
                    fill(&mut w, &t, k as u64);
                }
                black_box(w.finish())
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
