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

fn decode_with(
    workers: usize,
    format: flowctl::core::output::RecordFormat,
    fields: Option<&[&str]>,
    files: Vec<std::path::PathBuf>,
) -> Vec<u8> {
    use flowctl::core::decode::{DecodeOptions, run};
    let opts = DecodeOptions {
        files,
        capture: Default::default(),
        decoder: Default::default(),
        format,
        fields: fields.map(|f| flowctl::core::output::fields::Selection::parse(f).unwrap()),
        stats: false,
        count: None,
        progress: false,
        workers,
    };
    let mut out = Vec::new();
    run(&opts, &mut out).expect("decodes");
    out
}

#[test]
fn json_from_worker_threads_is_the_same_as_from_one_thread() {
    let Some(data) = testdata_or_skip("json_from_worker_threads_is_the_same_as_from_one_thread") else { return };
    // Every capture at once: many sessions, NetFlow v9, lists (YAF), late and options records.
    let manifest = std::fs::read_to_string(data.join("captures/MANIFEST.tsv")).unwrap();
    let files: Vec<_> =
        manifest.lines().skip(1).filter_map(|l| l.split('\t').next()).map(|p| data.join("captures").join(p)).collect();
    let json = flowctl::core::output::RecordFormat::Json;
    let one = decode_with(1, json, None, files.clone());
    let three = decode_with(3, json, None, files);
    assert!(one.len() > 1_000_000, "the captures hold thousands of records");
    assert!(one == three, "output differs between 1 and 3 formatting threads");
}

#[test]
fn yaml_holds_the_same_records_as_json() {
    let Some(data) = testdata_or_skip("yaml_holds_the_same_records_as_json") else { return };
    let file = data.join("captures/logstash-wrapped/ipfix_yaf.pcap");
    let json = json_lines(&run(&["decode", "-o", "json", file.to_str().unwrap()]).stdout);
    let out = run(&["decode", "-o", "yaml", file.to_str().unwrap()]);
    assert!(out.status.success());
    let yaml: Vec<serde_json::Value> = serde_saphyr::from_slice(&out.stdout).expect("a YAML sequence");
    assert_eq!(yaml, json);
    // The YAF records carry a subTemplateMultiList, decoded into its records.
    let lists: Vec<_> = json.iter().filter_map(|r| r["fields"].get("subTemplateMultiList")).collect();
    assert!(!lists.is_empty());
    assert!(lists[0][0]["records"].is_array(), "{}", lists[0]);
}

#[test]
fn tables_show_the_flow_and_wide_adds_every_field() {
    let Some(data) = testdata_or_skip("tables_show_the_flow_and_wide_adds_every_field") else { return };
    let file = data.join("captures/pmacct/100-IPFIXv10-CISCO/traffic-00.pcap");
    let table = String::from_utf8(run(&["decode", "-o", "table", file.to_str().unwrap()]).stdout).unwrap();
    let lines: Vec<_> = table.lines().collect();
    assert_eq!(lines.len(), 13, "a header and 12 records:\n{table}");
    assert!(lines[0].split_whitespace().eq([
        "FRAME",
        "TIME",
        "EXPORTER",
        "DOMAIN",
        "TEMPLATE",
        "KIND",
        "SOURCE",
        "DESTINATION",
        "PROTO",
        "PACKETS",
        "BYTES"
    ]));
    assert!(lines[1].contains("10.231.65.56:17000") && lines[1].contains("udp"), "{}", lines[1]);
    assert!(lines[5].contains("[2001:1700:f101:2000::1]:1024"), "{}", lines[5]);
    let wide = String::from_utf8(run(&["decode", "-o", "wide", file.to_str().unwrap()]).stdout).unwrap();
    assert!(
        wide.contains("bgpNextHopIPv4Address=0.0.0.0") && wide.contains("flowEndMilliseconds=2023-02-28T09:46:12.352Z")
    );
}

#[test]
fn stats_summarize_per_exporter_and_domain() {
    let Some(data) = testdata_or_skip("stats_summarize_per_exporter_and_domain") else { return };
    let file = data.join("captures/pmacct/112-IPFIXv10-CISCO-options-map-reassignment/traffic-00.pcap");
    let out = run(&["decode", "--stats", "-o", "json", file.to_str().unwrap()]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The exporter restarted on a new source port: its data sets before the new templates wait,
    // and never see their template (tshark: 6 sets without template, 76 options records).
    assert_eq!(s["totals"]["optionsRecords"], 76);
    assert_eq!(s["totals"]["setsWaiting"], 6);
    assert_eq!(s["totals"]["setsExpired"], 6);
    assert_eq!(s["files"][0]["udpMessages"], 21);
    let table = String::from_utf8(run(&["decode", "--stats", "-o", "table", file.to_str().unwrap()]).stdout).unwrap();
    assert!(table.contains("EXPORTER") && table.contains("WAITING") && table.contains("total"), "{table}");
}

#[test]
fn count_stops_early_and_a_closed_pipe_is_not_an_error() {
    let Some(data) = testdata_or_skip("count_stops_early_and_a_closed_pipe_is_not_an_error") else { return };
    let file = data.join("captures/ipfixcol2/example_flows.ipfix");
    let out = run(&["decode", "-o", "json", "-n", "5", file.to_str().unwrap()]);
    assert_eq!(json_lines(&out.stdout).len(), 5);
    // `flowctl decode … | head -1`: the reader goes away after one line.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowctl"))
        .args(["decode", "-o", "json", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn malformed_input_is_reported_with_file_frame_and_offset_and_strict_fails() {
    let Some(data) = testdata_or_skip("malformed_input_is_reported_with_file_frame_and_offset_and_strict_fails") else {
        return;
    };
    let file = data.join("captures/telegraf-wrapped/ipfix_issue14370_malformed.pcap");
    let out = run(&["decode", "-o", "json", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "problems alone do not fail the run");
    assert_eq!(json_lines(&out.stdout).len(), 1, "the sound data set still decodes");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ipfix_issue14370_malformed.pcap: frame 1")
            && err.contains("at offset 208: set 257 has length 84"),
        "{err}"
    );
    let strict = run(&["decode", "--strict", "-o", "json", file.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(1));

    // A capture cut in the middle of a record, and one that is not a capture at all.
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(data.join("captures/pmacct/100-IPFIXv10-CISCO/traffic-00.pcap")).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let out = run(&["decode", "-o", "json", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.pcap: frame 6") && err.contains("the file ends inside"), "{err}");
    assert_eq!(json_lines(&out.stdout).len(), 10, "the records before the cut are all there");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a capture\n").unwrap();
    let out = run(&["decode", text.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a capture file"));
}

#[test]
fn nanosecond_timestamps_keep_their_fraction() {
    let Some(data) = testdata_or_skip("nanosecond_timestamps_keep_their_fraction") else { return };
    // softflowd -A nano; tshark shows the first flow's start as 00:00:50.897445999, truncating
    // the NTP fraction where we round to the nearest nanosecond.
    let file = data.join("captures/generated-softflowd/softflowd_ipfix_udp_nano.pcap");
    let records = json_lines(&run(&["decode", "-o", "json", file.to_str().unwrap()]).stdout);
    let first = records.iter().find(|r| r["kind"] == "data").unwrap();
    assert_eq!(first["fields"]["flowStartNanoseconds"], "1970-01-01T00:00:50.897446000Z");
    assert_eq!(first["fields"]["flowEndNanoseconds"], "1970-01-01T00:00:50.986727000Z");
}

/// Issue #20: templates were bounded in count only, so a capture of a few hundred templates of
/// 16,000 fields made `decode` hold gigabytes. The huge ones are now refused at the session's
/// bound on bytes of template state, counted, and a normal template beside them still decodes.
#[test]
fn templates_beyond_the_bytes_bound_are_refused_and_counted_and_normal_records_still_decode() {
    use flowctl::core::capture::MessagePcapWriter;
    use flowctl::core::ipfix::{FieldSpec, MessageWriter, Template};
    use flowctl::core::time::Timestamp;

    let (exporter, collector) = ("192.0.2.1:50000".parse().unwrap(), "192.0.2.2:4739".parse().unwrap());
    let at = |frame: i64| Timestamp::from_secs(1_700_000_000 + frame);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge-templates.pcap");
    let mut pcap = MessagePcapWriter::create(&file).unwrap();
    let normal = Template::new(256, 0, [FieldSpec::iana(7, 2), FieldSpec::iana(11, 2), FieldSpec::iana(1, 8)]);
    let mut m = MessageWriter::ipfix(1_700_000_000, 0, 1);
    m.begin_template_set(false);
    m.template(&normal);
    pcap.write(at(0), exporter, collector, &m.finish()).unwrap();
    let huge = 40u16;
    for i in 0..huge {
        let t = Template::new(300 + i, 0, (0..16_000).map(|f| FieldSpec::iana(1000 + f, 4)));
        let mut m = MessageWriter::ipfix(1_700_000_000, 0, 1);
        m.begin_template_set(false);
        m.template(&t);
        pcap.write(at(1 + i as i64), exporter, collector, &m.finish()).unwrap();
    }
    let mut m = MessageWriter::ipfix(1_700_000_000, 0, 1);
    m.begin_set(256);
    m.record().unsigned(40000, 2).unsigned(443, 2).unsigned(1234, 8);
    m.record().unsigned(40001, 2).unsigned(80, 2).unsigned(99, 8);
    pcap.write(at(100), exporter, collector, &m.finish()).unwrap();
    pcap.finish().unwrap();
    let path = file.to_str().unwrap();

    let records = json_lines(&run(&["decode", "-o", "json", path]).stdout);
    let fields: Vec<_> = records.iter().map(|r| r["fields"].clone()).collect();
    assert_eq!(
        fields,
        [
            serde_json::json!({"sourceTransportPort": 40000, "destinationTransportPort": 443, "octetDeltaCount": 1234}),
            serde_json::json!({"sourceTransportPort": 40001, "destinationTransportPort": 80, "octetDeltaCount": 99}),
        ]
    );
    let out = run(&["decode", "--stats", "-o", "json", path]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["totals"]["templateRecords"], 1 + huge as u64);
    let refused = s["totals"]["templatesRefused"].as_u64().unwrap();
    assert!(refused > 0 && refused < huge as u64, "{refused} of {huge} huge templates refused");
}

/// Issue #22 (9): the summary said `1 frames, 1 IPFIX/NetFlow messages`.
#[test]
fn a_one_frame_capture_is_summarised_in_the_singular() {
    use flowctl::core::capture::MessagePcapWriter;
    use flowctl::core::ipfix::{FieldSpec, MessageWriter, Template};
    use flowctl::core::time::Timestamp;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.pcap");
    let mut pcap = MessagePcapWriter::create(&file).unwrap();
    let mut m = MessageWriter::ipfix(1_700_000_000, 0, 1);
    m.begin_template_set(false);
    m.template(&Template::new(256, 0, [FieldSpec::iana(7, 2)]));
    let (exporter, collector) = ("192.0.2.1:50000".parse().unwrap(), "192.0.2.2:4739".parse().unwrap());
    pcap.write(Timestamp::from_secs(1_700_000_000), exporter, collector, &m.finish()).unwrap();
    pcap.finish().unwrap();
    let out = run(&["decode", "--stats", "-o", "table", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(": 1 frame, 1 IPFIX/NetFlow message (1 UDP, 0 TCP, 0 file), 0 other packets"), "{text}");
}

/// Issue #22: `--fields` prints only the chosen fields, in the order asked, as one flat object
/// whose keys are the names given; a field the record's template lacks is null. Values are the
/// ones the full record holds, and YAML and the parallel JSON path agree.
#[test]
fn fields_print_only_the_chosen_keys_in_the_order_asked() {
    let Some(data) = testdata_or_skip("fields_print_only_the_chosen_keys_in_the_order_asked") else { return };
    let file = data.join("captures/pmacct/100-IPFIXv10-CISCO/traffic-00.pcap");
    let path = file.to_str().unwrap();
    let full = json_lines(&run(&["decode", "-o", "json", path]).stdout);
    let fields = "octetDeltaCount,frame,sourceIPv4Address,templateId,sourceIPv6Address";
    let out = run(&["decode", "-o", "json", "-j", "1", "--fields", fields, path]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let chosen = json_lines(&out.stdout);
    assert_eq!(chosen.len(), full.len());
    let names: Vec<_> = fields.split(',').collect();
    let mut with_v4 = 0;
    for (c, f) in chosen.iter().zip(&full) {
        let keys: Vec<_> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, names, "{c}");
        assert_eq!(c["frame"], f["frame"]);
        assert_eq!(c["templateId"], f["templateId"]);
        for name in ["octetDeltaCount", "sourceIPv4Address", "sourceIPv6Address"] {
            let expected = f["fields"].get(name).cloned().unwrap_or(Value::Null);
            assert_eq!(c[name], expected, "{name} of {f}");
        }
        with_v4 += usize::from(c["sourceIPv4Address"].is_string());
    }
    assert!(with_v4 > 0 && with_v4 < chosen.len(), "the capture mixes IPv4 and IPv6 records");
    let threads = json_lines(&run(&["decode", "-o", "json", "-j", "3", "--fields", fields, path]).stdout);
    assert_eq!(threads, chosen);
    let yaml = run(&["decode", "-o", "yaml", "--fields", fields, path]);
    let yaml: Vec<Value> = serde_saphyr::from_slice(&yaml.stdout).expect("a YAML sequence");
    assert_eq!(yaml, chosen);
}

/// A capture of one template (ports, a string, counters) whose records are `rows`.
fn capture_of(dir: &Path, rows: &[(u16, &str, u64, u64)]) -> std::path::PathBuf {
    use flowctl::core::capture::MessagePcapWriter;
    use flowctl::core::ipfix::{FieldSpec, MessageWriter, Template};
    use flowctl::core::time::Timestamp;

    let (exporter, collector) = ("192.0.2.1:50000".parse().unwrap(), "192.0.2.2:4739".parse().unwrap());
    let file = dir.join("rows.pcap");
    let mut pcap = MessagePcapWriter::create(&file).unwrap();
    let template = Template::new(
        256,
        0,
        [FieldSpec::iana(7, 2), FieldSpec::iana(82, 65535), FieldSpec::iana(2, 8), FieldSpec::iana(1, 8)],
    );
    let mut m = MessageWriter::ipfix(1_700_000_000, 0, 1);
    m.begin_template_set(false);
    m.template(&template);
    pcap.write(Timestamp::from_secs(1_700_000_000), exporter, collector, &m.finish()).unwrap();
    for (i, chunk) in rows.chunks(50).enumerate() {
        let mut m = MessageWriter::ipfix(1_700_000_000, i as u32, 1);
        m.begin_set(256);
        for &(port, name, packets, bytes) in chunk {
            m.record().unsigned(port as u64, 2).varlen(name.as_bytes()).unsigned(packets, 8).unsigned(bytes, 8);
        }
        pcap.write(Timestamp::from_secs(1_700_000_001 + i as i64), exporter, collector, &m.finish()).unwrap();
    }
    pcap.finish().unwrap();
    file
}

/// Issue #22: `-o csv --fields` writes a header of the names and one RFC 4180 line per record
/// (cells with commas, quotes or line breaks quoted, quotes doubled; a missing field is empty);
/// without `--fields` the columns are the table's.
#[test]
fn csv_has_a_header_of_the_fields_and_quotes_per_rfc_4180() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        capture_of(dir.path(), &[(443, "eth0", 3, 180), (80, "wan, \"uplink\"", 1, 60), (53, "two\nlines", 2, 90)]);
    let path = file.to_str().unwrap();
    let out = run(&[
        "decode",
        "-o",
        "csv",
        "--fields",
        "frame,sourceTransportPort,interfaceName,ie999,octetDeltaCount",
        path,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "frame,sourceTransportPort,interfaceName,ie999,octetDeltaCount\n\
         2,443,eth0,,180\n\
         2,80,\"wan, \"\"uplink\"\"\",,60\n\
         2,53,\"two\nlines\",,90\n"
    );
    let out = run(&["decode", "-o", "csv", path]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("frame,time,exporter,domain,template,kind,source,destination,proto,packets,bytes"));
    assert_eq!(lines.next(), Some("2,2023-11-14T22:13:21.000000Z,192.0.2.1:50000,1,256,data,*:443,,,3,180"));
}

/// Issue #22: a name that is neither an element nor a metadata name is a usage error (exit 2)
/// that names it and suggests the names close to it.
#[test]
fn an_unknown_field_is_an_error_naming_close_matches() {
    let dir = tempfile::tempdir().unwrap();
    let file = capture_of(dir.path(), &[(443, "eth0", 3, 180)]);
    let out =
        run(&["decode", "-o", "json", "--fields", "sourceTransportPort,sourceIpv4Adress", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown field `sourceIpv4Adress`") && err.contains("did you mean sourceIPv4Address"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// Whether every line has a column break (two blanks) before each column start of the header,
/// so no cell runs into the next column (empty cells and trimmed line ends aside).
fn aligned(table: &str) -> Result<(), String> {
    let mut lines = table.lines();
    let header = lines.next().ok_or("no header")?;
    let starts: Vec<usize> =
        (1..header.len()).filter(|&i| header.as_bytes()[i] != b' ' && header[..i].ends_with("  ")).collect();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        for &s in &starts {
            if chars.len() > s && (chars[s - 1] != ' ' || chars[s - 2] != ' ') {
                return Err(format!("not aligned at column {s}:\n{header}\n{line}"));
            }
        }
    }
    Ok(())
}

/// Defect 5 of issue #22: the table printed its header once but recomputed the widths per chunk
/// of 1000 rows, so rows wider than the first chunk's pushed later columns out from under the
/// header. Widths are now fixed by the first chunk: every row lines up with the header, a wider
/// cell is cut with `…`, and the last column is never cut.
#[test]
fn table_rows_wider_than_the_first_chunk_stay_aligned_with_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = vec![(443, "eth0", 3, 180); 1200];
    for row in rows.iter_mut().skip(1000) {
        *row = (443, "eth0", 12_345_678_901, 98_765_432_109_876);
    }
    let file = capture_of(dir.path(), &rows);
    let path = file.to_str().unwrap();
    let table = String::from_utf8(run(&["decode", "-o", "table", path]).stdout).unwrap();
    assert_eq!(table.lines().count(), 1201);
    aligned(&table).unwrap();
    let last = table.lines().last().unwrap();
    assert!(last.ends_with("  98765432109876") && last.contains("  123456…  "), "{last}");
    let chosen = String::from_utf8(
        run(&["decode", "-o", "table", "--fields", "packetDeltaCount,frame,octetDeltaCount", path]).stdout,
    )
    .unwrap();
    assert!(chosen.starts_with("packetDeltaCount  frame  octetDeltaCount\n"), "{chosen}");
    aligned(&chosen).unwrap();
    assert!(chosen.lines().last().unwrap().starts_with("12345678901       "), "{chosen}");
}
