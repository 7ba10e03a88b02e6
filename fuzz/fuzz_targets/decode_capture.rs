//! Fuzz target: `flowctl decode`'s whole path must survive any file. The input is read as a
//! capture (pcap, pcapng or RFC 5655, by its magic), every message goes through the decoder,
//! and every record is printed as JSON, so container parsing, link layers, IP reassembly, TCP
//! reassembly, the codec and the printer all see hostile bytes.

#![no_main]

use std::io::Cursor;

use flowctl::core::capture::{CaptureOptions, CaptureReader};
use flowctl::core::ipfix::{Decoder, DecoderConfig, Origin, RecordRef, SessionKey, Visitor};
use flowctl::core::output::json::JsonWriter;
use libfuzzer_sys::fuzz_target;

struct Print(JsonWriter, Vec<u8>);

impl Visitor for Print {
    fn record(&mut self, r: &RecordRef<'_>) {
        self.1.clear();
        self.0.record(r, &mut self.1);
        assert!(self.1.ends_with(b"}\n"));
    }
}

fuzz_target!(|data: &[u8]| {
    let options = CaptureOptions::default();
    let Ok(mut reader) = CaptureReader::from_reader(Cursor::new(data), "fuzz", Some(data.len() as u64), &options)
    else {
        return;
    };
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut print = Print(JsonWriter::new(true), Vec::new());
    while let Some(item) = reader.next() {
        let Ok(m) = item else { continue };
        let key = SessionKey { source: 0, transport: m.transport, exporter: m.exporter, collector: m.collector };
        let origin = Origin { frame: m.frame, time: m.time, exporter: m.exporter, collector: m.collector };
        decoder.decode(&key, origin, m.payload, &mut print);
    }
    decoder.finish(&mut print);
});
