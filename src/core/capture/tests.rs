//! End-to-end tests of the capture reader: the real captures in `../shared/testdata` against
//! tshark's answers, and synthetic captures built here byte by byte for what the real ones do
//! not exercise (re-segmented TCP, fragments, damaged and cut files, odd link types, pcapng
//! sections and resolutions).

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use etherparse::PacketBuilder;

use super::*;
use crate::core::time::Precision;

/// What a test keeps of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Got {
    frame: u64,
    secs: i64,
    nanos: u32,
    precision: Precision,
    transport: Transport,
    exporter: Option<SocketAddr>,
    collector: Option<SocketAddr>,
    payload: Vec<u8>,
}

/// Reads a whole capture: its messages and the text of its errors.
fn read_all<R: Read>(mut reader: CaptureReader<R>) -> (Vec<Got>, Vec<String>, CaptureStats) {
    let mut msgs = Vec::new();
    let mut errors = Vec::new();
    while let Some(item) = reader.next() {
        match item {
            Ok(m) => msgs.push(Got {
                frame: m.frame,
                secs: m.time.secs,
                nanos: m.time.nanos,
                precision: m.time.precision,
                transport: m.transport,
                exporter: m.exporter,
                collector: m.collector,
                payload: m.payload.to_vec(),
            }),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (msgs, errors, *reader.stats())
}

fn read_bytes(bytes: Vec<u8>, options: &CaptureOptions) -> (Vec<Got>, Vec<String>, CaptureStats) {
    let total = bytes.len() as u64;
    let reader = CaptureReader::from_reader(Cursor::new(bytes), "test.pcap", Some(total), options).expect("a capture");
    read_all(reader)
}

fn read(bytes: Vec<u8>) -> (Vec<Got>, Vec<String>, CaptureStats) {
    read_bytes(bytes, &CaptureOptions::default())
}

// ---------------------------------------------------------------------------------------------
// Real captures

fn testdata() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata");
    if dir.join("captures/MANIFEST.tsv").is_file() {
        Some(dir)
    } else {
        println!("skipped: {} is missing", dir.display());
        None
    }
}

/// Every capture of the manifest, by its path under `captures/`.
fn manifest(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("captures/MANIFEST.tsv")).unwrap();
    text.lines().skip(1).filter_map(|l| l.split('\t').next()).filter(|p| !p.is_empty()).map(str::to_string).collect()
}

/// tshark's answer: per frame, how many messages with at least one set it holds (one line
/// with set index 1 per such message), and the total message count.
fn tshark(dir: &Path, capture: &str) -> (BTreeMap<u64, usize>, u64) {
    let name = capture.replace('/', "__");
    let sets = std::fs::read_to_string(dir.join(format!("expected/tshark/{name}.sets.tsv"))).unwrap();
    let mut frames = BTreeMap::new();
    for line in sets.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.get(4) == Some(&"1") {
            *frames.entry(cols[0].parse().unwrap()).or_insert(0) += 1;
        }
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected/tshark/SUMMARY.json")).unwrap()).unwrap();
    let messages = summary[capture]["messages"].as_u64().unwrap();
    (frames, messages)
}

fn read_capture(dir: &Path, capture: &str) -> (Vec<Got>, Vec<String>, CaptureStats) {
    let reader = CaptureReader::open(dir.join("captures").join(capture), &CaptureOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    read_all(reader)
}

#[test]
fn real_captures_match_tshark() {
    let Some(dir) = testdata() else { return };
    let captures = manifest(&dir);
    assert!(captures.len() >= 30, "manifest lists {} captures", captures.len());
    for capture in &captures {
        let (expected_frames, expected_messages) = tshark(&dir, capture);
        let (msgs, errors, stats) = read_capture(&dir, capture);
        assert!(errors.is_empty(), "{capture}: {errors:#?}");
        assert_eq!(msgs.len() as u64, expected_messages, "{capture}: message count");
        // A message with no set (a bare header) appears in no line of tshark's table.
        let mut frames = BTreeMap::new();
        for m in &msgs {
            let version = u16::from_be_bytes([m.payload[0], m.payload[1]]);
            assert!(version == 9 || version == 10, "{capture}: frame {} version {version}", m.frame);
            let header = if version == 10 { 16 } else { 20 };
            if m.payload.len() > header {
                *frames.entry(m.frame).or_insert(0) += 1;
            }
        }
        assert_eq!(frames, expected_frames, "{capture}: messages per frame");
        assert_eq!(stats.udp_messages + stats.tcp_messages + stats.file_messages, msgs.len() as u64);
        println!("{capture}: {} messages, {stats:?}", msgs.len());
    }
}

#[test]
fn format_variants_keep_frames_times_and_bytes() {
    let Some(dir) = testdata() else { return };
    for (variant, original) in [
        ("format-variants/pmacct112_sll.pcapng", "pmacct/112-IPFIXv10-CISCO-options-map-reassignment/traffic-00.pcap"),
        ("format-variants/softflowd_ipfix_tcp_biflow.pcapng", "generated-softflowd/softflowd_ipfix_tcp_biflow.pcap"),
        ("format-variants/ipfix_yaf_nsec.pcap", "logstash-wrapped/ipfix_yaf.pcap"),
    ] {
        let (a, _, _) = read_capture(&dir, variant);
        let (b, _, _) = read_capture(&dir, original);
        assert_eq!(a.len(), b.len(), "{variant}");
        assert!(!a.is_empty());
        for (x, y) in a.iter().zip(&b) {
            // The nanosecond variant says so in its precision; the instant is the same.
            assert_eq!(Got { precision: y.precision, ..x.clone() }, *y, "{variant}");
        }
    }
    let (ns, _, _) = read_capture(&dir, "format-variants/ipfix_yaf_nsec.pcap");
    assert!(ns.iter().all(|m| m.precision == Precision::Nanos));
}

#[test]
fn real_tcp_capture_reassembles_messages_split_over_segments() {
    let Some(dir) = testdata() else { return };
    let (msgs, _, stats) = read_capture(&dir, "generated-softflowd/softflowd_ipfix_tcp_biflow.pcap");
    assert!(msgs.iter().all(|m| m.transport == Transport::Tcp));
    assert!(msgs.iter().all(|m| m.collector.map(|c| c.port()) == Some(4739)));
    // Each message's length field covers exactly its bytes.
    for m in &msgs {
        assert_eq!(usize::from(u16::from_be_bytes([m.payload[2], m.payload[3]])), m.payload.len());
    }
    assert_eq!((stats.tcp_gaps, stats.tcp_bytes_skipped), (0, 0));
}

#[test]
fn real_ipfix_file_numbers_messages_and_times_them_by_export_time() {
    let Some(dir) = testdata() else { return };
    let (msgs, _, _) = read_capture(&dir, "ipfixcol2/example_flows.ipfix");
    assert_eq!(msgs.len(), 68);
    assert!(msgs.iter().enumerate().all(|(i, m)| m.frame == i as u64 + 1));
    let first = &msgs[0];
    assert_eq!(first.transport, Transport::File);
    assert_eq!((first.exporter, first.collector), (None, None));
    assert_eq!(first.secs, 0x55bf_5a91);
    assert_eq!(first.precision, Precision::Seconds);
}

// ---------------------------------------------------------------------------------------------
// Builders for synthetic captures

const T0: u32 = 1_700_000_000;

fn exporter() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 50000))
}

fn collector() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 4739))
}

/// An IPFIX message of `len` bytes: a header and one data set whose bytes are all `tag`.
fn ipfix_msg(len: u16, tag: u8) -> Vec<u8> {
    let mut m = vec![0, 10];
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(&T0.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    m.extend_from_slice(&256u16.to_be_bytes());
    m.extend_from_slice(&(len - 16).to_be_bytes());
    m.resize(usize::from(len), tag);
    m
}

/// A NetFlow v9 packet with one data flowset.
fn netflow9_msg() -> Vec<u8> {
    let mut m = vec![0, 9, 0, 1];
    m.extend_from_slice(&[0; 16]);
    m.extend_from_slice(&[1, 0, 0, 12]);
    m.extend_from_slice(&[7; 8]);
    m
}

fn eth_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(sport, dport)
        .write(&mut f, payload)
        .unwrap();
    f
}

/// A TCP segment from the exporter to the collector (or back, when `back`), flags from "SAFR".
fn eth_tcp(back: bool, seq: u32, flags: &str, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) =
        if back { ([10, 0, 0, 2], [10, 0, 0, 1], 4739, 50000) } else { ([10, 0, 0, 1], [10, 0, 0, 2], 50000, 4739) };
    let mut b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    if flags.contains('S') {
        b = b.syn();
    }
    if flags.contains('A') {
        b = b.ack(1);
    }
    if flags.contains('F') {
        b = b.fin();
    }
    if flags.contains('R') {
        b = b.rst();
    }
    let mut f = Vec::new();
    b.write(&mut f, payload).unwrap();
    f
}

fn udp_datagram(payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&50000u16.to_be_bytes());
    d.extend_from_slice(&4739u16.to_be_bytes());
    d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    d
}

/// Ethernet frames carrying `payload` in a UDP datagram cut into IPv4 fragments of `chunk`
/// bytes (a multiple of 8).
fn ipv4_fragments(id: u16, payload: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let datagram = udp_datagram(payload);
    datagram
        .chunks(chunk)
        .enumerate()
        .map(|(i, part)| {
            let offset = i * chunk;
            let mut ip = etherparse::Ipv4Header::new(
                part.len() as u16,
                64,
                etherparse::IpNumber::UDP,
                [10, 0, 0, 1],
                [10, 0, 0, 2],
            )
            .unwrap();
            ip.identification = id;
            ip.more_fragments = offset + part.len() < datagram.len();
            ip.fragment_offset = etherparse::IpFragOffset::try_new((offset / 8) as u16).unwrap();
            ip.header_checksum = ip.calc_header_checksum();
            let mut f = [[2u8; 6], [1u8; 6]].concat();
            f.extend_from_slice(&[0x08, 0x00]);
            ip.write(&mut f).unwrap();
            f.extend_from_slice(part);
            f
        })
        .collect()
}

/// Raw IPv6 packets (no link header) carrying `payload` in a UDP datagram cut into fragments.
fn ipv6_fragments(id: u32, payload: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let datagram = udp_datagram(payload);
    datagram
        .chunks(chunk)
        .enumerate()
        .map(|(i, part)| {
            let offset = i * chunk;
            let more = u16::from(offset + part.len() < datagram.len());
            let mut f = vec![0x60, 0, 0, 0];
            f.extend_from_slice(&((8 + part.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[44, 64]);
            f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
            f.extend_from_slice(&[17, 0]);
            f.extend_from_slice(&((offset as u16) | more).to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(part);
            f
        })
        .collect()
}

fn pcap_header(big_endian: bool, nanos: bool, snaplen: u32, linktype: u32) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let fields = [magic, 0x0002_0004, 0, 0, snaplen, linktype];
    let mut out = Vec::new();
    for (i, v) in fields.iter().enumerate() {
        if i == 1 {
            // version 2.4 is two 16-bit fields
            let (major, minor) = (2u16, 4u16);
            if big_endian {
                out.extend_from_slice(&major.to_be_bytes());
                out.extend_from_slice(&minor.to_be_bytes());
            } else {
                out.extend_from_slice(&major.to_le_bytes());
                out.extend_from_slice(&minor.to_le_bytes());
            }
        } else if big_endian {
            out.extend_from_slice(&v.to_be_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

fn pcap_record(big_endian: bool, secs: u32, frac: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [secs, frac, data.len() as u32, data.len() as u32] {
        if big_endian {
            out.extend_from_slice(&v.to_be_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(data);
    out
}

/// A little-endian microsecond pcap; frame i is at T0 + i ms. Returns the file and the offset
/// of every record.
fn pcap_with_offsets(linktype: u32, frames: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut out = pcap_header(false, false, 65535, linktype);
    let mut offsets = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        offsets.push(out.len());
        out.extend(pcap_record(false, T0, i as u32 * 1000, f));
    }
    (out, offsets)
}

fn pcap(linktype: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    pcap_with_offsets(linktype, frames).0
}

/// Writes pcapng blocks in the byte order of the current section.
struct PcapNg {
    out: Vec<u8>,
    big_endian: bool,
}

impl PcapNg {
    fn new() -> Self {
        PcapNg { out: Vec::new(), big_endian: false }
    }

    fn u16(&self, v: u16) -> [u8; 2] {
        if self.big_endian { v.to_be_bytes() } else { v.to_le_bytes() }
    }

    fn u32(&self, v: u32) -> [u8; 4] {
        if self.big_endian { v.to_be_bytes() } else { v.to_le_bytes() }
    }

    fn block(&mut self, block_type: u32, body: &[u8]) -> usize {
        let at = self.out.len();
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        let (t, l) = (self.u32(block_type), self.u32(len));
        self.out.extend_from_slice(&t);
        self.out.extend_from_slice(&l);
        self.out.extend_from_slice(body);
        self.out.extend(std::iter::repeat_n(0, pad));
        self.out.extend_from_slice(&l);
        at
    }

    fn section(&mut self, big_endian: bool) {
        self.big_endian = big_endian;
        let mut body = self.u32(0x1A2B_3C4D).to_vec();
        body.extend_from_slice(&self.u16(1));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0A0D_0D0A, &body);
    }

    /// An interface; `options` are (code, value) pairs.
    fn interface(&mut self, linktype: u16, reserved: u16, options: &[(u16, Vec<u8>)]) {
        let mut body = self.u16(linktype).to_vec();
        body.extend_from_slice(&self.u16(reserved));
        body.extend_from_slice(&self.u32(0));
        for (code, value) in options {
            body.extend_from_slice(&self.u16(*code));
            body.extend_from_slice(&self.u16(value.len() as u16));
            body.extend_from_slice(value);
            body.extend(std::iter::repeat_n(0, (4 - value.len() % 4) % 4));
        }
        body.extend_from_slice(&[0; 4]);
        self.block(1, &body);
    }

    fn epb(&mut self, iface: u32, ticks: u64, data: &[u8]) -> usize {
        let mut body = Vec::new();
        for v in [iface, (ticks >> 32) as u32, ticks as u32, data.len() as u32, data.len() as u32] {
            body.extend_from_slice(&self.u32(v));
        }
        body.extend_from_slice(data);
        self.block(6, &body)
    }

    fn pb(&mut self, iface: u16, ticks: u64, data: &[u8]) {
        let mut body = self.u16(iface).to_vec();
        body.extend_from_slice(&self.u16(0));
        for v in [(ticks >> 32) as u32, ticks as u32, data.len() as u32, data.len() as u32] {
            body.extend_from_slice(&self.u32(v));
        }
        body.extend_from_slice(data);
        self.block(2, &body);
    }

    fn spb(&mut self, data: &[u8]) {
        let mut body = self.u32(data.len() as u32).to_vec();
        body.extend_from_slice(data);
        self.block(3, &body);
    }
}

/// Reads with the default options and with a tiny read chunk (so every record straddles
/// refills and the buffer must grow); both must agree.
fn read_both(bytes: Vec<u8>, options: &CaptureOptions) -> (Vec<Got>, Vec<String>, CaptureStats) {
    let normal = read_bytes(bytes.clone(), options);
    let mut tiny = options.clone();
    tiny.limits.read_chunk = 64;
    let small = read_bytes(bytes, &tiny);
    assert_eq!(normal.0, small.0, "messages differ with a tiny read chunk");
    assert_eq!(normal.1, small.1, "errors differ with a tiny read chunk");
    assert_eq!(normal.2, small.2, "counters differ with a tiny read chunk");
    normal
}

fn frames_and_payloads(msgs: &[Got]) -> Vec<(u64, Vec<u8>)> {
    msgs.iter().map(|m| (m.frame, m.payload.clone())).collect()
}

// ---------------------------------------------------------------------------------------------
// Synthetic captures

#[test]
fn tcp_stream_is_reassembled_and_framed() {
    let m: Vec<Vec<u8>> = (0..9).map(|i| ipfix_msg(300 + i * 10, i as u8 + 1)).collect();
    let isn = 0xffff_ff00u32; // sequence numbers wrap during the stream
    let seq = |at: usize| isn.wrapping_add(1).wrapping_add(at as u32);
    let mut at = 0;
    let mut frames = vec![eth_tcp(false, isn, "S", &[]), eth_tcp(true, 77, "SA", &[])];
    // One message over three segments.
    for part in [&m[1][..100], &m[1][100..200], &m[1][200..]] {
        frames.push(eth_tcp(false, seq(at), "A", part));
        at += part.len();
    }
    // Three messages in one segment, then the same segment again.
    let three = [m[2].clone(), m[3].clone(), m[4].clone()].concat();
    frames.push(eth_tcp(false, seq(at), "A", &three));
    frames.push(eth_tcp(false, seq(at), "A", &three));
    at += three.len();
    // Out of order: message 6 before message 5.
    frames.push(eth_tcp(false, seq(at + m[5].len()), "A", &m[6]));
    frames.push(eth_tcp(false, seq(at), "A", &m[5]));
    at += m[5].len() + m[6].len();
    // Message 7 is lost; message 8 arrives, then the connection closes.
    at += m[7].len();
    frames.push(eth_tcp(false, seq(at), "A", &m[8]));
    at += m[8].len();
    frames.push(eth_tcp(false, seq(at), "FA", &[]));
    frames.push(eth_tcp(true, 78, "A", &[]));

    let (msgs, errors, stats) = read_both(pcap(1, &frames), &CaptureOptions::default());
    let want = vec![
        (5, m[1].clone()),
        (6, m[2].clone()),
        (6, m[3].clone()),
        (6, m[4].clone()),
        (9, m[5].clone()),
        (9, m[6].clone()),
        (11, m[8].clone()),
    ];
    assert_eq!(frames_and_payloads(&msgs), want);
    assert!(
        msgs.iter().all(|g| g.transport == Transport::Tcp
            && g.exporter == Some(exporter())
            && g.collector == Some(collector()))
    );
    assert_eq!(
        errors,
        vec![format!(
            "test.pcap: frame 11 at offset {}: TCP 10.0.0.1:50000 -> 10.0.0.2:4739: {} bytes are missing at stream offset {}; skipped the gap and the 0 bytes of the message it cut",
            pcap_with_offsets(1, &frames).1[10],
            m[7].len(),
            at - m[7].len() - m[8].len()
        )]
    );
    assert_eq!(stats.tcp_messages, 7);
    assert_eq!(stats.tcp_retransmissions, 1);
    assert_eq!(stats.tcp_out_of_order, 2);
    assert_eq!((stats.tcp_gaps, stats.tcp_bytes_missing), (1, m[7].len() as u64));
    assert_eq!(stats.frames, 12);
}

#[test]
fn tcp_capture_starting_mid_stream_and_ending_mid_message() {
    let (a, b, c) = (ipfix_msg(200, 1), ipfix_msg(200, 2), ipfix_msg(200, 3));
    let frames = vec![
        // No handshake: the first segment starts inside message a.
        eth_tcp(false, 1000, "A", &[&a[50..], &b[..]].concat()),
        eth_tcp(false, 1350, "A", &c[..120]),
    ];
    let (msgs, errors, stats) = read_both(pcap(1, &frames), &CaptureOptions::default());
    assert_eq!(frames_and_payloads(&msgs), vec![(1, b)]);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("frame 1 ") && errors[0].contains("after skipping 150 bytes"));
    assert!(errors[1].contains("the stream ends inside an IPFIX message: 120 bytes"));
    assert_eq!((stats.tcp_resyncs, stats.tcp_bytes_skipped), (1, 270));
}

#[test]
fn ip_fragments_are_reassembled_and_bounded() {
    let big = ipfix_msg(3000, 5);
    let v4 = ipv4_fragments(1, &big, 1480);
    assert_eq!(v4.len(), 3);
    let lost = ipv4_fragments(2, &ipfix_msg(2000, 6), 1480);
    let v6 = ipv6_fragments(9, &ipfix_msg(1800, 7), 1232);
    // Ethernet carrying the IPv6 fragments.
    let eth6 = |p: &Vec<u8>| [vec![2; 6], vec![1; 6], vec![0x86, 0xdd], p.clone()].concat();
    let frames = vec![
        v4[2].clone(),
        v4[0].clone(),
        v4[1].clone(),
        lost[0].clone(),
        eth_udp(50000, 4739, &ipfix_msg(40, 8)),
        eth6(&v6[1]),
        eth6(&v6[0]),
    ];
    let (msgs, errors, stats) = read_both(pcap(1, &frames), &CaptureOptions::default());
    assert_eq!(frames_and_payloads(&msgs), vec![(3, big), (5, ipfix_msg(40, 8)), (7, ipfix_msg(1800, 7))]);
    assert_eq!(msgs[0].exporter, Some(exporter()));
    assert_eq!(msgs[2].exporter.map(|e| e.ip().is_ipv6()), Some(true));
    assert_eq!((stats.fragments_reassembled, stats.fragments_dropped), (2, 1));
    assert_eq!(
        errors,
        vec!["test.pcap: 1 incomplete IP datagram(s) dropped: still incomplete at the end of the capture"]
    );
}

#[test]
fn fragments_of_a_datagram_that_never_completes_time_out() {
    let lost = ipv4_fragments(2, &ipfix_msg(2000, 6), 1480);
    let ok = ipv4_fragments(3, &ipfix_msg(2000, 7), 1480);
    let frames = [lost[0].clone(), ok[0].clone(), ok[1].clone()];
    // The second datagram comes 60 s later: the first has timed out by then.
    let mut bytes = pcap_header(false, false, 65535, 1);
    bytes.extend(pcap_record(false, T0, 0, &frames[0]));
    bytes.extend(pcap_record(false, T0 + 60, 0, &frames[1]));
    bytes.extend(pcap_record(false, T0 + 60, 1, &frames[2]));
    let (msgs, errors, stats) = read_both(bytes, &CaptureOptions::default());
    assert_eq!(frames_and_payloads(&msgs), vec![(3, ipfix_msg(2000, 7))]);
    assert_eq!((stats.fragments_reassembled, stats.fragments_dropped), (1, 1));
    assert!(errors[0].starts_with("test.pcap: frame 2 at offset "), "{errors:?}");
    assert!(errors[0].ends_with("not completed within the reassembly timeout"));
}

#[test]
fn link_types_vlan_qinq_sll_sll2_loopback_raw() {
    let msg = ipfix_msg(60, 1);
    let mut ip4 = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(50000, 4739).write(&mut ip4, &msg).unwrap();
    let mut ip6 = Vec::new();
    PacketBuilder::ipv6([1; 16], [2; 16], 64).udp(50000, 4739).write(&mut ip6, &msg).unwrap();
    let vlan = |ids: &[u16]| {
        let mut f = [[2u8; 6], [1u8; 6]].concat();
        for (i, id) in ids.iter().enumerate() {
            f.extend_from_slice(if i == 0 && ids.len() > 1 { &[0x88, 0xa8] } else { &[0x81, 0x00] });
            f.extend_from_slice(&id.to_be_bytes());
        }
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&ip4);
        f
    };
    let sll = [vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00], ip4.clone()].concat();
    let sll2 = [vec![0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0], ip6.clone()].concat();
    let cases: Vec<(u32, Vec<u8>, &str)> = vec![
        (1, vlan(&[5]), "10.0.0.1:50000"),
        (1, vlan(&[5, 6]), "10.0.0.1:50000"),
        (113, sll, "10.0.0.1:50000"),
        (276, sll2, "[101:101:101:101:101:101:101:101]:50000"),
        (0, [vec![2, 0, 0, 0], ip4.clone()].concat(), "10.0.0.1:50000"),
        (0, [vec![0, 0, 0, 30], ip6.clone()].concat(), "[101:101:101:101:101:101:101:101]:50000"),
        (108, [vec![0, 0, 0, 2], ip4.clone()].concat(), "10.0.0.1:50000"),
        (101, ip4.clone(), "10.0.0.1:50000"),
        (229, ip6.clone(), "[101:101:101:101:101:101:101:101]:50000"),
    ];
    for (linktype, frame, from) in cases {
        let (msgs, errors, _) = read(pcap(linktype, &[frame]));
        assert!(errors.is_empty(), "link type {linktype}: {errors:?}");
        assert_eq!(msgs.len(), 1, "link type {linktype}");
        assert_eq!(msgs[0].payload, msg);
        assert_eq!(msgs[0].exporter.unwrap().to_string(), from);
    }
    let (msgs, errors, stats) = read(pcap(147, &[ip4.clone(), ip4]));
    assert!(msgs.is_empty());
    assert_eq!(errors.len(), 1, "reported once: {errors:?}");
    assert!(errors[0].contains("link type 147 is not supported"));
    assert_eq!(stats.non_ip_frames, 2);
}

#[test]
fn sniffing_finds_ipfix_and_netflow_on_other_ports() {
    let frames = vec![
        eth_udp(50000, 9991, &ipfix_msg(40, 1)),
        eth_udp(50000, 9992, &netflow9_msg()),
        eth_udp(50000, 4739, b"not ipfix at all"),
        eth_udp(50000, 5353, b"not ipfix at all"),
        eth_udp(50000, 9991, &ipfix_msg(40, 1)[..30]),
    ];
    let bytes = pcap(1, &frames);
    let (msgs, _, stats) = read_both(bytes.clone(), &CaptureOptions::default());
    assert_eq!(msgs.iter().map(|m| m.frame).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!((stats.udp_messages, stats.non_ipfix_packets), (3, 2));
    let strict = CaptureOptions { sniff: false, ..CaptureOptions::default() };
    let (msgs, _, _) = read_bytes(bytes.clone(), &strict);
    assert_eq!(msgs.iter().map(|m| m.frame).collect::<Vec<_>>(), vec![3]);
    let other_ports = CaptureOptions { ports: vec![5353], sniff: false, ..CaptureOptions::default() };
    let (msgs, _, _) = read_bytes(bytes, &other_ports);
    assert_eq!(msgs.iter().map(|m| m.frame).collect::<Vec<_>>(), vec![4]);
}

#[test]
fn pcap_byte_orders_and_nanosecond_magic() {
    let frame = eth_udp(50000, 4739, &ipfix_msg(40, 1));
    for (big_endian, nanos, frac, want_nanos, precision) in [
        (false, false, 123_456, 123_456_000, Precision::Micros),
        (true, false, 123_456, 123_456_000, Precision::Micros),
        (false, true, 123_456_789, 123_456_789, Precision::Nanos),
        (true, true, 123_456_789, 123_456_789, Precision::Nanos),
    ] {
        let mut bytes = pcap_header(big_endian, nanos, 65535, 1);
        bytes.extend(pcap_record(big_endian, T0, frac, &frame));
        let (msgs, errors, _) = read(bytes);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((msgs[0].secs, msgs[0].nanos, msgs[0].precision), (i64::from(T0), want_nanos, precision));
    }
}

#[test]
fn corrupt_pcap_record_header_is_reported_and_resynchronised() {
    let frames: Vec<Vec<u8>> = (0..5).map(|i| eth_udp(50000, 4739, &ipfix_msg(60, i))).collect();
    let (mut bytes, offsets) = pcap_with_offsets(1, &frames);
    // Record 3 claims 70000 captured bytes.
    bytes[offsets[2] + 8..offsets[2] + 12].copy_from_slice(&70000u32.to_le_bytes());
    let (msgs, errors, stats) = read_both(bytes, &CaptureOptions::default());
    let tags: Vec<(u64, u8)> = msgs.iter().map(|m| (m.frame, m.payload[20])).collect();
    assert_eq!(tags, vec![(1, 0), (2, 1), (3, 3), (4, 4)]);
    assert_eq!(
        errors,
        vec![format!(
            "test.pcap: frame 3 at offset {}: pcap record header claims 70000 captured bytes but the snap length is 65535; resynchronised at offset {}",
            offsets[2], offsets[3]
        )]
    );
    assert_eq!(stats.corrupt_records, 1);
}

#[test]
fn record_longer_than_the_snap_length_but_intact_is_accepted() {
    let frame = eth_udp(50000, 4739, &ipfix_msg(200, 1));
    let mut bytes = pcap_header(false, false, 128, 1);
    bytes.extend(pcap_record(false, T0, 0, &frame));
    bytes.extend(pcap_record(false, T0, 1, &frame));
    let (msgs, errors, _) = read(bytes);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(msgs.len(), 2);
}

#[test]
fn garbage_to_the_end_gives_up_once() {
    let frames = vec![eth_udp(50000, 4739, &ipfix_msg(60, 1))];
    let (mut bytes, offsets) = pcap_with_offsets(1, &frames);
    let end = bytes.len();
    bytes.extend(std::iter::repeat_n(0xee, 500));
    let (msgs, errors, _) = read_both(bytes, &CaptureOptions::default());
    assert_eq!(msgs.len(), 1);
    assert_eq!(offsets.len(), 1);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains(&format!("frame 2 at offset {end}")), "{errors:?}");
    assert!(errors[0].ends_with("no plausible record follows; the last 500 bytes of the file were skipped"));
}

#[test]
fn truncated_pcap_ends_with_one_report() {
    let frames: Vec<Vec<u8>> = (0..3).map(|i| eth_udp(50000, 4739, &ipfix_msg(60, i))).collect();
    let (bytes, offsets) = pcap_with_offsets(1, &frames);
    // Cut inside the last record's data, then inside its header.
    for (cut, what, needed) in
        [(offsets[2] + 16 + 10, "a pcap record", 16 + frames[2].len()), (offsets[2] + 9, "a pcap record header", 16)]
    {
        let (msgs, errors, stats) = read_both(bytes[..cut].to_vec(), &CaptureOptions::default());
        assert_eq!(msgs.len(), 2);
        assert_eq!(
            errors,
            vec![format!(
                "test.pcap: frame 3 at offset {}: the file ends inside {what}: it needs {needed} bytes but only {} remain; the rest is ignored",
                offsets[2],
                cut - offsets[2]
            )]
        );
        assert_eq!(stats.truncated, 1);
    }
}

#[test]
fn pcapng_sections_interfaces_and_resolutions() {
    let msg = ipfix_msg(48, 1);
    let eth = eth_udp(50000, 4739, &msg);
    let mut raw = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(50000, 4739).write(&mut raw, &msg).unwrap();
    let sll2 = [vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0], raw.clone()].concat();
    let mut ng = PcapNg::new();
    ng.section(false);
    ng.interface(1, 0, &[(9, vec![9])]);
    let offset_1000 = ng.u32(1000).iter().chain(&ng.u32(0)).copied().collect::<Vec<u8>>();
    ng.interface(101, 0, &[(9, vec![0x80 | 20]), (14, offset_1000)]);
    ng.epb(0, u64::from(T0) * 1_000_000_000 + 123_456_789, &eth);
    ng.epb(1, (5 << 20) | (1 << 19), &raw);
    ng.spb(&eth);
    // A second section, big-endian, with one interface in microseconds.
    ng.section(true);
    ng.interface(276, 0, &[]);
    ng.block(4, &[0, 0, 0, 0]); // a name resolution block with no records
    ng.epb(0, u64::from(T0) * 1_000_000 + 42, &sll2);
    ng.pb(0, u64::from(T0) * 1_000_000 + 43, &sll2);
    let (msgs, errors, stats) = read_both(ng.out, &CaptureOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    let times: Vec<(u64, i64, u32, Precision)> = msgs.iter().map(|m| (m.frame, m.secs, m.nanos, m.precision)).collect();
    let t0 = i64::from(T0);
    assert_eq!(
        times,
        vec![
            (1, t0, 123_456_789, Precision::Nanos),
            (2, 1005, 500_000_000, Precision::Micros),
            // A simple packet block has no time of its own.
            (3, 1005, 500_000_000, Precision::Micros),
            (4, t0, 42_000, Precision::Micros),
            (5, t0, 43_000, Precision::Micros),
        ]
    );
    assert!(msgs.iter().all(|m| m.payload == msg));
    assert_eq!(stats.frames, 5);
}

#[test]
fn damaged_pcapng_blocks_are_skipped_or_scanned_past() {
    let frame = |tag| eth_udp(50000, 4739, &ipfix_msg(48, tag));
    let mut ng = PcapNg::new();
    ng.section(false);
    // A non-zero reserved field: the parser refuses it, we read it leniently (nanoseconds).
    ng.interface(1, 1, &[(9, vec![9])]);
    ng.epb(0, u64::from(T0) * 1_000_000_000 + 7, &frame(1));
    let broken = ng.epb(0, 0, &frame(2));
    let trailer = ng.out.len() - 4;
    ng.out[trailer] ^= 0x40; // the trailing length no longer matches
    let next = ng.epb(0, 0, &frame(3));
    let stray = ng.epb(7, 0, &frame(4)); // an interface the section does not have
    ng.epb(0, 0, &frame(5));
    let cut = ng.epb(0, 0, &frame(6));
    let mut bytes = ng.out;
    bytes.truncate(cut + 40);
    let (msgs, errors, stats) = read_both(bytes, &CaptureOptions::default());
    let tags: Vec<(u64, u8)> = msgs.iter().map(|m| (m.frame, m.payload[20])).collect();
    assert_eq!(tags, vec![(1, 1), (2, 3), (3, 5)]);
    assert_eq!((msgs[0].secs, msgs[0].nanos), (i64::from(T0), 7));
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].contains("at offset 28: pcapng block of type 0x1 rejected"), "{errors:?}");
    assert!(errors[0].ends_with("were read leniently; block skipped"), "{errors:?}");
    assert!(errors[1].contains(&format!("frame 2 at offset {broken}: pcapng block of type 0x6")));
    assert!(errors[1].ends_with(&format!("resynchronised at offset {next}")), "{errors:?}");
    assert!(errors[2].contains(&format!("at offset {stray}: packet block refers to interface 7")));
    assert!(errors[3].contains(&format!("at offset {cut}: the file ends inside a pcapng block")));
    assert_eq!((stats.corrupt_records, stats.truncated), (3, 1));
}

#[test]
fn ipfix_file_with_damage_and_a_cut_end() {
    let mut bytes = Vec::new();
    for i in 0..3 {
        bytes.extend(ipfix_msg(40 + i, i as u8));
    }
    let garbage = bytes.len();
    bytes.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]);
    let resumed = bytes.len();
    bytes.extend(ipfix_msg(50, 7));
    bytes.extend(ipfix_msg(16, 0)[..16].to_vec());
    let cut = bytes.len();
    bytes.extend_from_slice(&ipfix_msg(100, 9)[..30]);
    let (msgs, errors, stats) = read_both(bytes, &CaptureOptions::default());
    assert_eq!(msgs.iter().map(|m| m.frame).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert!(msgs.iter().all(|m| m.transport == Transport::File && m.secs == i64::from(T0)));
    assert_eq!(msgs[4].payload.len(), 16);
    assert_eq!(
        errors,
        vec![
            format!(
                "test.pcap: frame 4 at offset {garbage}: IPFIX message header has version 57005 and length 48879 (expected version 10 and a length of at least 16); resynchronised at offset {resumed}"
            ),
            format!(
                "test.pcap: frame 6 at offset {cut}: the file ends inside an IPFIX message: it needs 100 bytes but only 30 remain; the rest is ignored"
            ),
        ]
    );
    assert_eq!((stats.file_messages, stats.corrupt_records, stats.truncated), (5, 1, 1));
}

#[test]
fn not_a_capture_is_fatal() {
    for (bytes, detail) in [
        (b"hello, world".to_vec(), "but it starts with 68656c6c"),
        (Vec::new(), "the file is only 0 bytes long"),
        (pcap_header(false, false, 65535, 1)[..10].to_vec(), "a pcap file header needs 24 bytes, the file has 10"),
    ] {
        let err = CaptureReader::from_reader(Cursor::new(bytes), "x", None, &CaptureOptions::default())
            .err()
            .expect("an error");
        assert!(err.is_fatal());
        assert!(err.to_string().starts_with("x: offset 0: not a capture file: "), "{err}");
        assert!(err.to_string().ends_with(detail), "{err}");
    }
    let missing = CaptureReader::open("/nonexistent/x.pcap", &CaptureOptions::default()).err().expect("an error");
    assert!(missing.is_fatal());
    assert!(matches!(*missing.kind, CaptureErrorKind::Open(_)));
}

#[test]
fn progress_counts_bytes_consumed() {
    let frames: Vec<Vec<u8>> = (0..50).map(|i| eth_udp(50000, 4739, &ipfix_msg(600, i))).collect();
    let bytes = pcap(1, &frames);
    let total = bytes.len() as u64;
    let mut options = CaptureOptions::default();
    options.limits.read_chunk = 4096;
    let mut reader = CaptureReader::from_reader(Cursor::new(bytes), "p", Some(total), &options).unwrap();
    assert_eq!(reader.format(), CaptureFormat::Pcap);
    assert_eq!(reader.total_bytes(), Some(total));
    let mut last = reader.bytes_consumed();
    while let Some(item) = reader.next() {
        item.unwrap();
        assert!(reader.bytes_consumed() >= last);
        last = reader.bytes_consumed();
    }
    assert_eq!(last, total);
}

/// Damaged inputs never panic and always end: random byte flips and every truncation.
#[test]
fn damaged_inputs_never_panic() {
    let tcp_frames: Vec<Vec<u8>> = {
        let m = ipfix_msg(300, 1);
        vec![
            eth_tcp(false, 9, "S", &[]),
            eth_tcp(false, 10, "A", &m[..120]),
            eth_tcp(false, 130, "A", &[&m[120..], &m[..]].concat()),
        ]
    };
    let mut ng = PcapNg::new();
    ng.section(false);
    ng.interface(1, 0, &[(9, vec![0x80 | 20])]);
    ng.epb(0, 1 << 40, &eth_udp(1, 2, &ipfix_msg(40, 1)));
    ng.spb(&ipv4_fragments(4, &ipfix_msg(100, 2), 64)[0]);
    let inputs = vec![
        pcap(1, &tcp_frames),
        pcap(1, &ipv4_fragments(1, &ipfix_msg(200, 3), 64)),
        ng.out,
        [ipfix_msg(40, 1), ipfix_msg(50, 2)].concat(),
    ];
    let mut options = CaptureOptions::default();
    options.limits.read_chunk = 64;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for input in &inputs {
        for cut in 0..input.len() {
            drain(&input[..cut], &options);
        }
        for _ in 0..400 {
            let mut damaged = input.clone();
            for _ in 0..1 + rand() % 8 {
                let at = (rand() % damaged.len() as u64) as usize;
                damaged[at] = rand() as u8;
            }
            drain(&damaged, &options);
        }
    }
}

fn drain(bytes: &[u8], options: &CaptureOptions) {
    let Ok(mut reader) = CaptureReader::from_reader(bytes, "fuzz", None, options) else {
        return;
    };
    let mut steps = 0;
    while reader.next().is_some() {
        steps += 1;
        assert!(steps < 100_000, "the reader does not end");
    }
}

/// Measures the reader alone: `FLOWCTL_CAPTURE_BENCH=/tmp/big.pcap cargo test --release --lib
/// -- --ignored --nocapture count_messages` (make the file with shared/tools/make_ipfix_pcap.py).
#[test]
#[ignore = "a measurement, run by hand in release mode"]
fn count_messages_of_a_big_capture() {
    let Some(path) = std::env::var_os("FLOWCTL_CAPTURE_BENCH") else {
        println!("skipped: FLOWCTL_CAPTURE_BENCH is not set");
        return;
    };
    // The best of five runs: this machine is shared and noisy.
    let mut best = std::time::Duration::MAX;
    let (mut messages, mut frames, mut file_bytes) = (0u64, 0u64, 0u64);
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let mut reader = CaptureReader::open(&path, &CaptureOptions::default()).unwrap();
        messages = 0;
        while let Some(item) = reader.next() {
            messages += u64::from(item.is_ok());
        }
        best = best.min(start.elapsed());
        frames = reader.stats().frames;
        file_bytes = reader.bytes_consumed();
    }
    println!(
        "{messages} messages in {frames} frames ({file_bytes} bytes): best {best:?}, {:.1} ns/frame, {:.0} MB/s",
        best.as_nanos() as f64 / frames as f64,
        file_bytes as f64 / best.as_secs_f64() / 1e6
    );
}
