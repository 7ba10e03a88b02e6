//! A second independent decoder: libfixbuf's `ipfixDump` reads RFC 5655 files. Every real
//! capture's IPFIX messages are written, one file per exporter session, and both decoders must
//! find the same records with the same values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use flowctl::core::capture::{CaptureOptions, CaptureReader};
use flowctl::core::ipfix::registry;
use serde_json::Value;

use crate::util::{json_lines, run, testdata_or_skip};

fn have_ipfixdump() -> bool {
    Command::new("ipfixDump").arg("--version").output().is_ok()
}

/// One `.ipfix` file per (exporter, collector, transport) session of each capture: RFC 5655 makes
/// a file one session, so sessions must not share a file.
fn session_files(captures: &Path, out: &Path) -> Vec<(String, PathBuf)> {
    let manifest = std::fs::read_to_string(captures.join("MANIFEST.tsv")).unwrap();
    let mut files = Vec::new();
    for name in manifest.lines().skip(1).filter_map(|l| l.split('\t').next()) {
        let mut reader = CaptureReader::open(captures.join(name), &CaptureOptions::default()).unwrap();
        let mut sessions: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        while let Some(item) = reader.next() {
            let Ok(m) = item else { continue };
            // ipfixDump reads IPFIX only; a message's header length bounds it in a file.
            if m.payload.len() < 16 || m.payload[..2] != [0, 10] {
                continue;
            }
            let len = (u16::from_be_bytes([m.payload[2], m.payload[3]]) as usize).min(m.payload.len());
            let key = format!("{:?}-{:?}-{:?}", m.exporter, m.collector, m.transport);
            sessions.entry(key).or_default().extend_from_slice(&m.payload[..len]);
        }
        for (i, bytes) in sessions.into_values().enumerate() {
            let path = out.join(format!("{}-{i}.ipfix", name.replace('/', "__")));
            std::fs::write(&path, bytes).unwrap();
            files.push((format!("{name} session {i}"), path));
        }
    }
    files
}

/// ipfixDump's records: for each, the top-level fields as (our element name, value text).
fn ipfixdump_records(file: &Path) -> Vec<Vec<(String, String)>> {
    let out = Command::new("ipfixDump").arg("-d").arg("-i").arg(file).output().expect("ipfixDump runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut records = Vec::new();
    for line in text.lines() {
        if line.starts_with("--- data record") {
            records.push(Vec::new());
            continue;
        }
        // Top-level fields are indented by exactly one tab: "\t(PEN/ID)   name : value".
        let Some(rest) = line.strip_prefix("\t(") else { continue };
        let (Some(record), Some((id, tail))) = (records.last_mut(), rest.split_once(')')) else { continue };
        let (pen, id) = match id.split_once('/') {
            Some((pen, id)) => (pen.parse().unwrap(), id.parse().unwrap()),
            None => (0u32, id.parse().unwrap()),
        };
        let Some((name, value)) = tail.split_once(" : ") else { continue };
        if name.trim() == "_alienInformationElement" {
            // ipfixDump prints elements it does not know in host byte order; nothing to compare.
            continue;
        }
        let ours = registry::lookup(pen, id)
            .map(|ie| ie.name.to_string())
            .unwrap_or_else(|| if pen == 0 { format!("ie{id}") } else { format!("ie{pen}.{id}") });
        record.push((ours, value.to_string()));
    }
    records
}

/// Our value as ipfixDump writes it.
fn as_ipfixdump(v: &Value) -> String {
    match v {
        Value::String(s) if s.len() >= 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z') => {
            s[..s.len() - 1].replacen('T', " ", 1)
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether our text and ipfixDump's say the same. ipfixDump writes strings after their field
/// length (`(len: 32) A4`), padding as its length only, IPv6 addresses without zero compression,
/// fields of length 0 as zero, octet arrays of up to 8 bytes (and integers sent longer than their type, which it warns are
/// illegal) as an integer in host, little-endian, order, and micro/nanosecond timestamps without
/// their fraction (tshark agrees with ours: see `decode::nanosecond_timestamps_keep_their_fraction`).
fn same(ours: Option<&str>, theirs: &str) -> bool {
    let Some(ours) = ours else { return false };
    let theirs = match theirs.strip_prefix("(len: ").and_then(|t| t.split_once(") ")) {
        Some((_, text)) => text,
        None => theirs,
    };
    if ours == theirs {
        return true;
    }
    // A field of length 0 carries no value: we print null, ipfixDump the type's zero.
    if ours == "null" {
        return theirs == "0" || theirs == "1970-01-01 00:00:00";
    }
    let hex = ours.len() % 2 == 0 && ours.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(len) = theirs.strip_prefix("len: ") {
        return hex && len.parse() == Ok(ours.len() / 2);
    }
    if let (Ok(a), Ok(b)) = (ours.parse::<std::net::Ipv6Addr>(), theirs.parse::<std::net::Ipv6Addr>()) {
        return a == b;
    }
    if let Some(whole) = theirs.strip_suffix(".000000000").or_else(|| theirs.strip_suffix(".000000")) {
        return ours.len() == theirs.len() && ours.starts_with(whole);
    }
    let Ok(n) = theirs.parse::<u64>() else { return false };
    if hex && ours.len() <= 16 {
        let le = (0..ours.len() / 2)
            .rev()
            .fold(0u64, |acc, i| (acc << 8) | u64::from_str_radix(&ours[2 * i..2 * i + 2], 16).unwrap());
        if le == n {
            return true;
        }
    }
    ours.parse::<u64>().is_ok_and(|v| (1..=8).any(|len| v.swap_bytes() >> (64 - 8 * len) == n))
}

#[test]
fn ipfixdump_reads_the_same_records_from_every_capture() {
    let Some(data) = testdata_or_skip("ipfixdump_reads_the_same_records_from_every_capture") else { return };
    if !have_ipfixdump() {
        eprintln!("ipfixdump_reads_the_same_records_from_every_capture: skipped: ipfixDump is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = session_files(&data.join("captures"), dir.path());
    files.push(("ipfixcol2/example_flows.ipfix".into(), data.join("captures/ipfixcol2/example_flows.ipfix")));
    let mut failures = Vec::new();
    let (mut compared_records, mut compared_values) = (0, 0);
    for (what, file) in &files {
        let theirs = ipfixdump_records(file);
        let ours: Vec<_> = json_lines(&run(&["decode", "-o", "json", file.to_str().unwrap()]).stdout)
            .into_iter()
            .filter(|r| r.get("late").is_none())
            .collect();
        if theirs.len() != ours.len() {
            failures.push(format!("{what}: ipfixDump {} records, flowctl {}", theirs.len(), ours.len()));
            continue;
        }
        for (n, (t, o)) in theirs.iter().zip(&ours).enumerate() {
            compared_records += 1;
            let mut values: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (name, v) in o["fields"].as_object().unwrap() {
                let all = match v {
                    Value::Array(a) if !name.ends_with("List") => a.iter().map(as_ipfixdump).collect(),
                    v => vec![as_ipfixdump(v)],
                };
                values.insert(name, all);
            }
            for (name, value) in t {
                if value.is_empty() {
                    continue; // a list: ipfixDump prints its content on the lines below
                }
                let ours = values.get_mut(name.as_str()).filter(|v| !v.is_empty()).map(|v| v.remove(0));
                compared_values += 1;
                if !same(ours.as_deref(), value) {
                    failures.push(format!("{what}: record {}: {name}: ipfixDump {value:?}, flowctl {ours:?}", n + 1));
                }
            }
        }
    }
    assert!(
        compared_records > 4000 && compared_values > 40_000,
        "{compared_records} records, {compared_values} values"
    );
    assert!(failures.is_empty(), "{} disagreements with ipfixDump:\n{}", failures.len(), failures.join("\n"));
}
