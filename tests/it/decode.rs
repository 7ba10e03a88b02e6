//! `flowctl decode` against the outside world: every real capture in `../shared/testdata`
//! decodes to the records tshark finds in it, frame by frame.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::{json_lines, run, testdata_or_skip};

/// tshark's field → the IE names whose values it shows there (RFC 5103 reverse elements share
/// the forward element's tshark field).
const COLUMNS: &[(&str, &[&str])] = &[
    ("cflow.srcaddr", &["sourceIPv4Address", "reverseSourceIPv4Address"]),
    ("cflow.dstaddr", &["destinationIPv4Address", "reverseDestinationIPv4Address"]),
    ("cflow.srcaddrv6", &["sourceIPv6Address", "reverseSourceIPv6Address"]),
    ("cflow.dstaddrv6", &["destinationIPv6Address", "reverseDestinationIPv6Address"]),
    ("cflow.srcport", &["sourceTransportPort", "reverseSourceTransportPort"]),
    ("cflow.dstport", &["destinationTransportPort", "reverseDestinationTransportPort"]),
    ("cflow.protocol", &["protocolIdentifier", "reverseProtocolIdentifier"]),
    ("cflow.octets", &["octetDeltaCount", "reverseOctetDeltaCount"]),
    ("cflow.packets", &["packetDeltaCount", "reversePacketDeltaCount"]),
];

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// tshark's answers for one capture: frame → column → values in dissection order.
fn tshark_records(expected: &Path) -> BTreeMap<u64, BTreeMap<String, Vec<String>>> {
    let tsv = if expected.extension().is_some_and(|e| e == "gz") {
        let out = std::process::Command::new("gzip").arg("-dc").arg(expected).output().expect("gzip runs");
        String::from_utf8(out.stdout).unwrap()
    } else {
        std::fs::read_to_string(expected).unwrap()
    };
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let mut frames = BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split('\t').collect();
        let frame: u64 = cells[0].parse().unwrap();
        let entry: &mut BTreeMap<String, Vec<String>> = frames.entry(frame).or_default();
        for (name, _) in COLUMNS {
            let i = header.iter().position(|h| h == name).unwrap();
            let cell = cells.get(i).copied().unwrap_or("");
            if !cell.is_empty() {
                entry.entry(name.to_string()).or_default().extend(cell.split('|').map(str::to_string));
            }
        }
    }
    frames.retain(|_, cols| !cols.is_empty());
    frames
}

/// Ours, in the same shape, from records decoded in their own frame (late ones are records
/// tshark could not decode).
fn our_records(records: &[Value]) -> BTreeMap<u64, BTreeMap<String, Vec<String>>> {
    let mut frames: BTreeMap<u64, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.get("late").is_none()) {
        let entry = frames.entry(r["frame"].as_u64().unwrap()).or_default();
        for (name, value) in r["fields"].as_object().unwrap() {
            for (column, names) in COLUMNS {
                if names.contains(&name.as_str()) {
                    let values = entry.entry(column.to_string()).or_default();
                    match value {
                        Value::Array(all) => values.extend(all.iter().map(text)),
                        v => values.push(text(v)),
                    }
                }
            }
        }
    }
    frames.retain(|_, cols| !cols.is_empty());
    frames
}

#[test]
fn every_capture_decodes_to_what_tshark_decodes() {
    let Some(data) = testdata_or_skip("every_capture_decodes_to_what_tshark_decodes") else { return };
    let summary: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(data.join("expected/tshark/SUMMARY.json")).unwrap()).unwrap();
    let mut failures = Vec::new();
    for (capture, expected) in &summary {
        let path = data.join("captures").join(capture);
        let out = run(&["decode", "-o", "json", path.to_str().unwrap()]);
        if !out.status.success() {
            failures.push(format!("{capture}: exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        let records = json_lines(&out.stdout);
        let count = |kind: &str, late: bool| {
            records.iter().filter(|r| r["kind"] == kind && r.get("late").is_some() == late).count() as u64
        };
        for (kind, key) in [("data", "data_records"), ("options", "options_data_records")] {
            let theirs = expected[key].as_u64().unwrap();
            if count(kind, false) != theirs {
                failures.push(format!(
                    "{capture}: {} {kind} records decoded in their frame (+{} late), tshark {theirs}",
                    count(kind, false),
                    count(kind, true)
                ));
            }
        }
        let flat = capture.replace('/', "__");
        let tsv = data.join("expected/tshark").join(format!("{flat}.records.tsv"));
        let tsv = if tsv.exists() { tsv } else { tsv.with_extension("tsv.gz") };
        let theirs = tshark_records(&tsv);
        let ours = our_records(&records);
        let frames: std::collections::BTreeSet<_> = theirs.keys().chain(ours.keys()).collect();
        for frame in frames {
            let (a, b) = (ours.get(frame), theirs.get(frame));
            if a != b {
                failures.push(format!("{capture}: frame {frame}: ours {a:?}\n  tshark {b:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} disagreements with tshark:\n{}", failures.len(), failures.join("\n"));
}
