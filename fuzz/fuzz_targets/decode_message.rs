//! Fuzz target: the decoder must survive any input. The input is read like an IPFIX-over-TCP
//! stream, split into messages by the IPFIX header's Length (a message of another version, or one
//! whose Length does not fit, takes the rest), so that one input can define templates in a message
//! and use them in the next. Every message goes through `Decoder::decode` in a UDP session and in a
//! TCP session, and a visitor decodes every value of every record, lists and their records too.

#![no_main]

use std::hint::black_box;

use flowctl::core::ipfix::decoder::Templates;
use flowctl::core::ipfix::record::Records;
use flowctl::core::ipfix::{
    DecodeError, Decoder, DecoderConfig, Origin, RecordRef, SessionKey, Transport, Value, Visitor,
};
use flowctl::core::time::Timestamp;
use libfuzzer_sys::fuzz_target;

/// How deep the walk follows nested lists: a sub-template may list records of itself, and each
/// level costs only 4 bytes, so a consumer that recurses has to stop somewhere.
const MAX_DEPTH: usize = 16;

struct Walk;

impl Walk {
    fn value(&mut self, value: Value<'_>, templates: &Templates, depth: usize) {
        black_box(&value);
        if depth == MAX_DEPTH {
            return;
        }
        match value {
            Value::BasicList(list) => {
                for v in list.values() {
                    self.value(v, templates, depth + 1);
                }
            }
            Value::SubTemplateList(list) => self.records(templates, list.template_id, list.content, depth + 1),
            Value::SubTemplateMultiList(list) => {
                for (template_id, content) in list.blocks().flatten() {
                    self.records(templates, template_id, content, depth + 1);
                }
            }
            _ => {}
        }
    }

    fn records(&mut self, templates: &Templates, template_id: u16, content: &[u8], depth: usize) {
        let Some(template) = templates.get(template_id) else {
            return;
        };
        for record in Records::new(template, content).flatten() {
            for (field, raw) in record.fields() {
                self.value(Value::decode(field.data_type, raw), templates, depth);
            }
        }
    }
}

impl Visitor for Walk {
    fn record(&mut self, r: &RecordRef<'_>) {
        let record = r.record;
        assert_eq!(
            record.template.record_length(record.bytes),
            Some(record.bytes.len()),
            "a record is one whole record"
        );
        assert_eq!(record.fields().count(), record.template.fields.len(), "every field of a record is there");
        for (field, raw) in record.fields() {
            self.value(Value::decode(field.data_type, raw), r.templates, 0);
        }
    }

    fn problem(&mut self, _origin: &Origin, error: &DecodeError) {
        black_box(error.cause());
    }
}

/// Splits `data` into messages the way a TCP collector frames them.
fn messages(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        let length = match data {
            [0, 10, hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => data.len(),
        };
        let length = if (16..=data.len()).contains(&length) { length } else { data.len() };
        let (message, rest) = data.split_at(length);
        data = rest;
        Some(message)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(DecoderConfig::default());
    for transport in [Transport::Udp, Transport::Tcp] {
        let key = SessionKey { source: 0, transport, exporter: None, collector: None };
        for (frame, message) in messages(data).enumerate() {
            let origin = Origin {
                frame: frame as u64 + 1,
                time: Timestamp::from_secs(1_700_000_000 + frame as i64),
                exporter: None,
                collector: None,
            };
            decoder.decode(&key, origin, message, &mut Walk);
        }
    }
    decoder.finish(&mut Walk);
});
