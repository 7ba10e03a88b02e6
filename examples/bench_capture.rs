//! Builds the input of `bench/decode.sh`: a pcap (and the same messages as an RFC 5655 file for
//! ipfixDump) of at least a million records, from
//! - the IPFIX messages of every real capture in `../shared/testdata/captures`, repeated, each
//!   exporter session and observation domain given its own domain id and consistent sequence
//!   numbers (so one `.ipfix` file can hold them all without template clashes), and
//! - records in the Antrea Flow Exporter's 43-element IPv4 template (reference order), packed
//!   as the Flow Aggregator's buffered exporter packs them, up to 1400-byte messages.
//!
//! NetFlow v9 messages are left out: ipfixDump reads only IPFIX, and every tool must see the
//! same records. Usage:
//!   cargo run --release --example bench_capture -- OUT_BASENAME [MIN_RECORDS] [CAPTURES_DIR]
//! writes OUT_BASENAME.pcap and OUT_BASENAME.ipfix and prints the record counts.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use flowctl::core::capture::{CaptureOptions, CaptureReader, MessagePcapWriter};
use flowctl::core::flow;
use flowctl::core::ipfix::MessageWriter;
use flowctl::core::ipfix::decoder::{Decoder, DecoderConfig, Origin, RecordRef, SessionKey, Visitor};
use flowctl::core::ipfix::message::IPFIX_VERSION;
use flowctl::core::time::Timestamp;

struct Count(usize);

impl Visitor for Count {
    fn record(&mut self, _: &RecordRef<'_>) {
        self.0 += 1;
    }
}

struct Source {
    /// The message, its original session and domain, and the records it carries.
    messages: Vec<(Vec<u8>, SessionKey, u32, usize)>,
}

fn read_ipfix_messages(captures: &Path) -> anyhow::Result<Source> {
    let mut files: Vec<PathBuf> = Vec::new();
    let manifest = std::fs::read_to_string(captures.join("MANIFEST.tsv"))?;
    for line in manifest.lines().skip(1) {
        if let Some(path) = line.split('\t').next() {
            files.push(captures.join(path));
        }
    }
    let mut messages = Vec::new();
    for (index, path) in files.iter().enumerate() {
        let mut reader = CaptureReader::open(path, &CaptureOptions::default())?;
        let mut decoder = Decoder::new(DecoderConfig::default());
        while let Some(item) = reader.next() {
            let Ok(m) = item else { continue };
            if m.payload.len() < 16 || u16::from_be_bytes([m.payload[0], m.payload[1]]) != IPFIX_VERSION {
                continue;
            }
            let key = SessionKey {
                source: index as u32,
                transport: m.transport,
                exporter: m.exporter,
                collector: m.collector,
            };
            let origin = Origin { frame: m.frame, time: m.time, exporter: m.exporter, collector: m.collector };
            let mut count = Count(0);
            decoder.decode(&key, origin, m.payload, &mut count);
            let domain = u32::from_be_bytes(m.payload[12..16].try_into()?);
            let len = (u16::from_be_bytes([m.payload[2], m.payload[3]]) as usize).min(m.payload.len());
            messages.push((m.payload[..len].to_vec(), key, domain, count.0));
        }
    }
    Ok(Source { messages })
}

/// One Antrea agent record with values of the sizes a cluster produces.
fn antrea_record(w: &mut MessageWriter, k: u64, now: u32) {
    let pod = |side: &str| format!("{side}-{:x}-{:05}", (k * 2_654_435_761) & 0xffff_ffff, k % 99_991);
    let node = format!("node-{}", k % 8);
    let mut r = w.record();
    r.unsigned((now - 30) as u64, 4).unsigned(now as u64, 4).unsigned(1 + k % 3, 1);
    r.unsigned(32768 + k % 28000, 2).unsigned(8080, 2).unsigned(6, 1);
    r.unsigned(100 + k % 1000, 8).unsigned(80_000 + k * 7 % 900_000, 8).unsigned(10, 8).unsigned(8_000, 8);
    r.fixed(&[10, 10, (k >> 8) as u8, k as u8], 4).fixed(&[10, 20, (k >> 16) as u8, (k >> 3) as u8], 4);
    r.unsigned(90 + k % 900, 8).unsigned(120_000 + k * 13 % 800_000, 8).unsigned(9, 8).unsigned(12_000, 8);
    r.varlen(pod("frontend").as_bytes()).varlen(b"shop").varlen(node.as_bytes());
    r.varlen(pod("backend").as_bytes()).varlen(b"shop").varlen(b"node-9");
    r.unsigned(8080, 2).varlen(b"shop/backend:http");
    r.varlen(b"allow-frontend").varlen(b"shop").unsigned(2, 1).varlen(b"ingress-rule-0").unsigned(1, 1);
    r.varlen(b"").varlen(b"").unsigned(0, 1).varlen(b"").unsigned(0, 1);
    r.varlen(b"ESTABLISHED").unsigned(2, 1).varlen(b"").varlen(b"").varlen(b"");
    r.unsigned(0, 2).fixed(&[10, 96, 0, 10], 4).fixed(&[0, 0, 0, 0], 4).fixed(&[10, 96, 0, 10], 4);
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let base = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("bench/out/decode"));
    let min_records: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let captures = PathBuf::from(args.get(3).map(String::as_str).unwrap_or("../shared/testdata/captures"));
    if let Some(dir) = base.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let source = read_ipfix_messages(&captures)?;
    let per_pass: usize = source.messages.iter().map(|m| m.3).sum();
    let antrea_records = min_records / 2;
    let passes = (min_records - antrea_records).div_ceil(per_pass.max(1));

    let mut pcap = MessagePcapWriter::create(&base.with_extension("pcap"))?;
    let mut ipfix = std::io::BufWriter::new(std::fs::File::create(base.with_extension("ipfix"))?);
    let exporter: SocketAddr = "192.0.2.10:50000".parse()?;
    let collector: SocketAddr = "192.0.2.20:4739".parse()?;
    let mut domains: HashMap<(SessionKey, u32), u32> = HashMap::new();
    let mut sequences: HashMap<u32, u32> = HashMap::new();
    let mut time = Timestamp::from_micros(1_700_000_000_000_000);
    let mut emit = |payload: &[u8], time: &mut Timestamp| -> anyhow::Result<()> {
        time.nanos += 1000;
        if time.nanos >= 1_000_000_000 {
            time.nanos -= 1_000_000_000;
            time.secs += 1;
        }
        pcap.write(*time, exporter, collector, payload)?;
        ipfix.write_all(payload)?;
        Ok(())
    };
    let mut real_records = 0usize;
    for _ in 0..passes {
        for (bytes, key, domain, records) in &source.messages {
            let next_id = domains.len() as u32 + 1;
            let id = *domains.entry((*key, *domain)).or_insert(next_id);
            let seq = sequences.entry(id).or_insert(0);
            let mut msg = bytes.clone();
            msg[8..12].copy_from_slice(&seq.to_be_bytes());
            msg[12..16].copy_from_slice(&id.to_be_bytes());
            *seq = seq.wrapping_add(*records as u32);
            real_records += records;
            emit(&msg, &mut time)?;
        }
    }
    let antrea_domain = domains.len() as u32 + 1;
    let template = flow::template(256, &flow::AGENT_IPV4);
    let now = 1_700_000_000u32;
    let mut seq = 0u32;
    let mut k = 0u64;
    let mut first = true;
    while (k as usize) < antrea_records {
        let mut w = MessageWriter::ipfix(now, seq, antrea_domain);
        if first || k.is_multiple_of(50_000) {
            w.begin_template_set(false);
            w.template(&template);
            first = false;
        }
        w.begin_set(256);
        let mut n = 0;
        while w.len() < 1100 && (k as usize) < antrea_records {
            antrea_record(&mut w, k, now);
            k += 1;
            n += 1;
        }
        seq = seq.wrapping_add(n);
        emit(&w.finish(), &mut time)?;
    }
    pcap.finish()?;
    ipfix.flush()?;
    println!(
        "{}: {} records ({} from {} passes over {} real-exporter messages, {} in the Antrea 43-element template)",
        base.with_extension("pcap").display(),
        real_records + antrea_records,
        real_records,
        passes,
        source.messages.len(),
        antrea_records
    );
    Ok(())
}
