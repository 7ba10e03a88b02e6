//! Fuzz target: the decoder must survive any input. The input is read like an IPFIX-over-TCP
//! stream, split into messages by the IPFIX header's Length (a message of another version, or one
//! whose Length does not fit, takes the rest), so that one input can define templates in a message
//! and use them in the next. Every message goes through `Decoder::decode` in a UDP session and in a
//! TCP session, and every record is printed as JSON, which decodes every value and follows lists
//! into their records (with the printer's own depth limit).

#![no_main]

use std::hint::black_box;

use flowctl::core::ipfix::{DecodeError, Decoder, DecoderConfig, Origin, RecordRef, SessionKey, Transport, Visitor};
use flowctl::core::output::json::JsonWriter;
use flowctl::core::time::Timestamp;
use libfuzzer_sys::fuzz_target;

struct Print(JsonWriter, Vec<u8>);

impl Visitor for Print {
    fn record(&mut self, r: &RecordRef<'_>) {
        let record = r.record;
        assert_eq!(
            record.template.record_length(record.bytes),
            Some(record.bytes.len()),
            "a record is one whole record"
        );
        assert_eq!(record.fields().count(), record.template.fields.len(), "every field of a record is there");
        self.1.clear();
        self.0.record(r, &mut self.1);
        assert!(self.1.ends_with(b"}\n"));
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
    let mut print = Print(JsonWriter::new(true), Vec::new());
    for transport in [Transport::Udp, Transport::Tcp] {
        let key = SessionKey { source: 0, transport, exporter: None, collector: None };
        for (frame, message) in messages(data).enumerate() {
            let origin = Origin {
                frame: frame as u64 + 1,
                time: Timestamp::from_secs(1_700_000_000 + frame as i64),
                exporter: None,
                collector: None,
            };
            decoder.decode(&key, origin, message, &mut print);
        }
    }
    decoder.finish(&mut print);
});
