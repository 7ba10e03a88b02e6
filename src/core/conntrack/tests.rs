//! Codec tests: hand-assembled messages laid out as this kernel sends them (kernel-probe.md),
//! messages from a test encoder, and arbitrary or cut bytes, which must give errors, not panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::connection::*;
use super::socket::{Outcome, read_dump_datagram};
use super::wire::{self, Attrs, IPCTNL_MSG_CT_DELETE, IPCTNL_MSG_CT_NEW, Writer};
use super::*;

/// Encodes everything the parser reads, as the kernel would send it (64-bit counters unless
/// `legacy_counters`).
fn encode(c: &Connection, legacy_counters: bool) -> Vec<u8> {
    let mut w = Writer::default();
    w.begin(IPCTNL_MSG_CT_NEW, 0x2, 7, c.family);
    write_tuple(&mut w, CTA_TUPLE_ORIG, &c.orig);
    write_tuple(&mut w, CTA_TUPLE_REPLY, &c.reply);
    w.attr(CTA_STATUS, &c.status.0.to_be_bytes());
    if let Some(s) = c.tcp_state {
        let p = w.begin_nest(CTA_PROTOINFO);
        let t = w.begin_nest(1);
        w.attr(1, &[s.0]);
        w.attr(2, &[7]); // wscale original: skipped by the parser
        w.end_nest(t);
        w.end_nest(p);
    }
    w.attr(CTA_TIMEOUT, &c.timeout.to_be_bytes());
    w.attr(CTA_MARK, &c.mark.to_be_bytes());
    for (kind, ctr) in [(CTA_COUNTERS_ORIG, c.orig_counters), (CTA_COUNTERS_REPLY, c.reply_counters)] {
        let n = w.begin_nest(kind);
        if legacy_counters {
            w.attr(3, &(ctr.packets as u32).to_be_bytes());
            w.attr(4, &(ctr.bytes as u32).to_be_bytes());
        } else {
            w.attr(1, &ctr.packets.to_be_bytes());
            w.attr(2, &ctr.bytes.to_be_bytes());
        }
        w.end_nest(n);
    }
    w.attr(CTA_USE, &c.use_count.to_be_bytes());
    w.attr(CTA_ID, &c.id.to_be_bytes());
    if c.zone != 0 {
        w.attr(CTA_ZONE, &c.zone.to_be_bytes());
    }
    let ts = w.begin_nest(CTA_TIMESTAMP);
    w.attr(1, &c.start_ns.to_be_bytes());
    if c.stop_ns != 0 {
        w.attr(2, &c.stop_ns.to_be_bytes());
    }
    w.end_nest(ts);
    if c.labels != [0; 16] {
        w.attr(CTA_LABELS, &c.labels);
    }
    w.finish();
    w.as_bytes().to_vec()
}

/// A control message (NLMSG_DONE or NLMSG_ERROR) carrying `code`.
fn control(kind: u16, seq: u32, code: i32) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&20u32.to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&2u16.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&code.to_ne_bytes());
    m
}

fn with_seq_and_flags(mut msg: Vec<u8>, seq: u32, flags: u16) -> Vec<u8> {
    msg[6..8].copy_from_slice(&flags.to_ne_bytes());
    msg[8..12].copy_from_slice(&seq.to_ne_bytes());
    msg
}

fn read_all(
    datagram: &[u8],
    zone: Option<u16>,
) -> (Result<Option<Outcome>, ConntrackError>, DumpStats, Vec<Connection>) {
    let (mut stats, mut seen, mut interrupted) = (DumpStats::default(), Vec::new(), false);
    let r = read_dump_datagram(datagram, 5, zone, &mut interrupted, &mut stats, &mut |c| seen.push(*c));
    (r, stats, seen)
}

#[test]
fn a_dump_datagram_filters_zones_skips_bad_entries_and_other_requests() {
    let zone7 = Connection { zone: 7, ..tcp_v4() };
    let zone0 = Connection { zone: 0, id: 1, ..tcp_v4() };
    let mut bad = encode(&zone0, false);
    // CTA_TUPLE_ORIG's length, past the end of the message.
    bad[20..22].copy_from_slice(&2000u16.to_ne_bytes());
    let datagram = [
        with_seq_and_flags(encode(&zone7, false), 5, 2),
        with_seq_and_flags(encode(&zone0, false), 5, 2),
        // Left over from an earlier request.
        with_seq_and_flags(encode(&zone0, false), 4, 2),
        with_seq_and_flags(bad, 5, 2),
        control(wire::NLMSG_DONE, 5, 0),
    ]
    .concat();
    let (r, stats, seen) = read_all(&datagram, Some(0));
    assert_eq!(r.unwrap(), Some(Outcome::Done));
    assert_eq!(seen, [zone0]);
    assert_eq!((stats.entries, stats.delivered, stats.filtered_out, stats.malformed), (2, 1, 1, 1));
    assert_eq!(stats.first_error.unwrap().offset, 20);

    let (_, _, all) = read_all(&datagram, None);
    assert_eq!(all, [zone7, zone0]);
}

#[test]
fn a_dump_datagram_reports_interruption_errors_and_overflow() {
    let entry = with_seq_and_flags(encode(&tcp_v4(), false), 5, 2 | 0x10);
    let done = control(wire::NLMSG_DONE, 5, 0);
    let (r, _, seen) = read_all(&[entry.clone(), done].concat(), None);
    assert_eq!((r.unwrap(), seen.len()), (Some(Outcome::Interrupted), 1));
    // Not done yet: more datagrams to read.
    assert_eq!(read_all(&entry, None).0.unwrap(), None);

    let eperm = read_all(&control(wire::NLMSG_ERROR, 5, -1), None).0.unwrap_err();
    assert!(matches!(eperm, ConntrackError::Kernel { .. }), "{eperm}");
    let enobufs = read_all(&control(wire::NLMSG_ERROR, 5, -105), None).0.unwrap_err();
    assert!(matches!(enobufs, ConntrackError::Overflow), "{enobufs}");
    // An ack, or an error for another request, is not an error of this dump.
    assert_eq!(
        read_all(&[control(wire::NLMSG_ERROR, 5, 0), control(wire::NLMSG_ERROR, 4, -1)].concat(), None).0.unwrap(),
        None
    );
    // Framing that runs past the datagram cannot be read on.
    assert!(matches!(read_all(&entry[..30], None).0, Err(ConntrackError::Parse(_))));
}

fn tcp_v4() -> Connection {
    let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    Connection {
        family: 2,
        id: 0xdead_beef,
        orig: Tuple { src: a, dst: b, proto: 6, src_port: 40000, dst_port: 80, ..Tuple::default() },
        reply: Tuple { src: b, dst: a, proto: 6, src_port: 80, dst_port: 40000, ..Tuple::default() },
        orig_counters: Counters { packets: 3, bytes: 166 },
        reply_counters: Counters { packets: 2, bytes: 112 },
        start_ns: 1_764_800_000_123_456_789,
        stop_ns: 0,
        status: Status(Status::SEEN_REPLY | Status::ASSURED | Status::CONFIRMED),
        timeout: 431_999,
        zone: 0xfff0,
        mark: 0x13,
        labels: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 9],
        tcp_state: Some(TcpState::ESTABLISHED),
        use_count: 1,
    }
}

/// An ICMP echo over IPv4 as this kernel sends it, byte by byte: tuples, status, timeout,
/// counters (the exact value captured in kernel-probe.md), use, id, timestamp.
#[rustfmt::skip]
const GOLDEN_ICMP: &[u8] = &[
    // nlmsghdr (host order, little-endian here): len 216, type 0x0100 (CT_NEW), flags MULTI, seq 1, pid 0
    216, 0, 0, 0,  0, 1,  2, 0,  1, 0, 0, 0,  0, 0, 0, 0,
    // nfgenmsg: AF_INET, v0, res_id 0
    2, 0, 0, 0,
    // CTA_TUPLE_ORIG (1 | NESTED), 60 bytes
    60, 0, 1, 0x80,
      20, 0, 1, 0x80,  8, 0, 1, 0, 192, 0, 2, 1,  8, 0, 2, 0, 192, 0, 2, 2,   // CTA_TUPLE_IP
      36, 0, 2, 0x80,  5, 0, 1, 0, 1, 0, 0, 0,                                  // CTA_TUPLE_PROTO: num 1
                       6, 0, 4, 0, 0x12, 0x34, 0, 0,                              // icmp id 0x1234
                       5, 0, 5, 0, 8, 0, 0, 0,  5, 0, 6, 0, 0, 0, 0, 0,          // type 8, code 0
    // CTA_TUPLE_REPLY, 60 bytes
    60, 0, 2, 0x80,
      20, 0, 1, 0x80,  8, 0, 1, 0, 192, 0, 2, 2,  8, 0, 2, 0, 192, 0, 2, 1,
      36, 0, 2, 0x80,  5, 0, 1, 0, 1, 0, 0, 0,
                       6, 0, 4, 0, 0x12, 0x34, 0, 0,
                       5, 0, 5, 0, 0, 0, 0, 0,  5, 0, 6, 0, 0, 0, 0, 0,          // type 0 (echo reply)
    // CTA_STATUS 0x0000000e, CTA_TIMEOUT 29
    8, 0, 3, 0, 0, 0, 0, 0x0e,   8, 0, 7, 0, 0, 0, 0, 29,
    // CTA_COUNTERS_ORIG (kind 32777 on the wire): the captured value, packets 3, bytes 166
    28, 0, 9, 0x80,  12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3,  12, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 166,
    // CTA_USE 1, CTA_ID 0x01020304
    8, 0, 11, 0, 0, 0, 0, 1,   8, 0, 12, 0, 1, 2, 3, 4,
    // CTA_TIMESTAMP (20 | NESTED): START only, the entry is alive
    16, 0, 20, 0x80,  12, 0, 1, 0, 0x18, 0x7e, 0x2b, 0x4c, 0x3a, 0x01, 0x02, 0x03,
];

#[test]
fn golden_icmp_message() {
    let c = Connection::parse(GOLDEN_ICMP).unwrap();
    let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    assert_eq!(c.family, 2);
    assert_eq!(c.orig, Tuple { src: a, dst: b, proto: 1, icmp_id: 0x1234, icmp_type: 8, ..Tuple::default() });
    assert_eq!(c.reply, Tuple { src: b, dst: a, proto: 1, icmp_id: 0x1234, icmp_type: 0, ..Tuple::default() });
    assert_eq!(c.status, Status(0x0e));
    assert_eq!(c.timeout, 29);
    assert_eq!(c.orig_counters, Counters { packets: 3, bytes: 166 });
    assert_eq!(c.reply_counters, Counters::default());
    assert_eq!((c.use_count, c.id), (1, 0x0102_0304));
    assert_eq!(c.start_ns, 0x187e_2b4c_3a01_0203);
    assert_eq!(c.stop_ns, 0);
    assert_eq!((c.zone, c.zone_id(), c.mark, c.tcp_state), (0, 0, 0, None));
}

#[test]
fn kernel_sample_counters_and_timestamp() {
    // kernel-probe.md: the value of CTA_COUNTERS_ORIG, and a nested CTA_TIMESTAMP_START.
    let counters = [12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 12, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 166];
    let mut w = Writer::default();
    w.begin(IPCTNL_MSG_CT_NEW, 0, 0, 2);
    w.attr(CTA_COUNTERS_ORIG | 0x8000, &counters);
    w.attr(CTA_TIMESTAMP | 0x8000, &[12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    w.finish();
    let c = Connection::parse(w.as_bytes()).unwrap();
    assert_eq!(c.orig_counters, Counters { packets: 3, bytes: 166 });
    assert_eq!(c.start_ns, 256);
}

#[test]
fn every_field_round_trips() {
    let c = tcp_v4();
    assert_eq!(Connection::parse(&encode(&c, false)).unwrap(), c);
    assert_eq!(c.tcp_state.unwrap().name(), "ESTABLISHED");
    assert_eq!(c.zone_id(), 0xfff0);
}

#[test]
fn legacy_32_bit_counters() {
    let c = tcp_v4();
    assert_eq!(Connection::parse(&encode(&c, true)).unwrap(), c);
}

#[test]
fn ipv6_icmpv6_with_stop_time_and_a_tuple_zone() {
    let a = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let b = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
    let icmp = Tuple { src: a, dst: b, proto: 58, icmp_id: 9, icmp_type: 128, zone: 0xffe6, ..Tuple::default() };
    let c = Connection {
        family: 10,
        orig: icmp,
        reply: Tuple { src: b, dst: a, icmp_type: 129, zone: 0, ..icmp },
        start_ns: 1,
        stop_ns: 2,
        status: Status(Status::DYING),
        ..Connection::default()
    };
    let parsed = Connection::parse(&encode(&c, false)).unwrap();
    assert_eq!(parsed, c);
    assert!(parsed.status.is_dying());
    // Only the original direction is in the zone: the entry still belongs to it.
    assert_eq!(parsed.zone_id(), 0xffe6);
}

#[test]
fn tcp_state_names_are_antreas() {
    let names: Vec<&str> = (0..=10).map(|s| TcpState(s).name()).collect();
    assert_eq!(
        names,
        [
            "NONE",
            "SYN_SENT",
            "SYN_RECV",
            "ESTABLISHED",
            "FIN_WAIT",
            "CLOSE_WAIT",
            "LAST_ACK",
            "TIME_WAIT",
            "CLOSE",
            "SYN_SENT2",
            ""
        ]
    );
}

#[test]
fn a_wrong_length_names_the_attribute_and_its_offset() {
    let mut w = Writer::default();
    w.begin(IPCTNL_MSG_CT_DELETE, 0, 0, 2);
    w.attr(CTA_MARK, &[0, 0, 1, 2]);
    w.attr(CTA_ID, &[1, 2, 3]);
    w.finish();
    let e = Connection::parse(w.as_bytes()).unwrap_err();
    // 16 (nlmsghdr) + 4 (nfgenmsg) + 8 (CTA_MARK) + 4 (CTA_ID's header).
    assert_eq!(e, ParseError { offset: 32, expected: "CTA_ID as a 4-byte u32" });
    assert_eq!(e.to_string(), "malformed ctnetlink message at offset 32: expected CTA_ID as a 4-byte u32");
}

#[test]
fn a_nested_length_past_its_container_is_an_error() {
    let mut msg = encode(&tcp_v4(), false);
    // The CTA_TUPLE_IP inside CTA_TUPLE_ORIG: claim more than the tuple holds.
    msg[24] = 200;
    let e = Connection::parse(&msg).unwrap_err();
    assert_eq!(e, ParseError { offset: 24, expected: "an attribute length within its container" });
}

#[test]
fn a_message_longer_than_the_bytes_is_an_error() {
    let msg = encode(&tcp_v4(), false);
    let e = Connection::parse(&msg[..msg.len() - 1]).unwrap_err();
    assert_eq!(e, ParseError { offset: 0, expected: "a netlink message length within the received bytes" });
    assert!(Connection::parse(&msg[..10]).is_err());
    let mut short = msg[..16].to_vec();
    short[..4].copy_from_slice(&16u32.to_ne_bytes());
    assert_eq!(Connection::parse(&short).unwrap_err().expected, "a 4-byte nfgenmsg header");
}

#[test]
fn the_last_attributes_padding_may_be_missing() {
    // A 5-byte attribute at the end of its container, with no padding after it.
    let attrs = [5, 0, 1, 0, 6];
    let got: Vec<_> = Attrs::new(&attrs, 0).map(|a| a.unwrap().value.to_vec()).collect();
    assert_eq!(got, [vec![6]]);
    // Three bytes are not a header.
    assert!(Attrs::new(&[8, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3], 0).nth(1).unwrap().is_err());
}

#[test]
fn accounting_sysctls() {
    let dir = tempfile::tempdir().unwrap();
    let nf = dir.path().join("net/netfilter");
    std::fs::create_dir_all(&nf).unwrap();
    std::fs::write(nf.join("nf_conntrack_acct"), "0\n").unwrap();
    std::fs::write(nf.join("nf_conntrack_timestamp"), "1\n").unwrap();
    enable_accounting_in(dir.path()).unwrap();
    assert_eq!(std::fs::read_to_string(nf.join("nf_conntrack_acct")).unwrap(), "1\n");

    let e = enable_accounting_in(&dir.path().join("missing")).unwrap_err();
    assert_eq!(e.failures.len(), 2);
    let text = e.to_string();
    assert!(text.contains("nf_conntrack_acct=1") && text.contains("no packet or byte counters"), "{text}");
    assert!(text.contains("nf_conntrack_timestamp=1") && text.contains("no start or stop times"), "{text}");
}

fn addr(v6: bool) -> impl Strategy<Value = IpAddr> {
    if v6 {
        any::<[u8; 16]>().prop_map(|b| IpAddr::V6(b.into())).boxed()
    } else {
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(b.into())).boxed()
    }
}

fn tuple(v6: bool) -> impl Strategy<Value = Tuple> {
    (addr(v6), addr(v6), prop::sample::select(vec![1u8, 6, 17, 58, 132]), any::<(u16, u16, u16, u8, u8, u16)>())
        .prop_map(move |(src, dst, proto, (sp, dp, id, ty, code, zone))| {
            // Each protocol carries ports or ICMP fields, not both; ICMPv4 in IPv6 is not a thing.
            let proto = match (proto, v6) {
                (1, true) => 58,
                (58, false) => 1,
                (p, _) => p,
            };
            let icmp = proto == 1 || proto == 58;
            Tuple {
                src,
                dst,
                proto,
                src_port: if icmp { 0 } else { sp },
                dst_port: if icmp { 0 } else { dp },
                icmp_id: if icmp { id } else { 0 },
                icmp_type: if icmp { ty } else { 0 },
                icmp_code: if icmp { code } else { 0 },
                zone,
            }
        })
}

fn connection() -> impl Strategy<Value = Connection> {
    any::<bool>().prop_flat_map(|v6| {
        (tuple(v6), tuple(v6), any::<[u64; 6]>(), any::<[u32; 5]>(), any::<(u16, [u8; 16], Option<u8>)>()).prop_map(
            move |(orig, reply, n, m, (zone, labels, tcp))| Connection {
                family: if v6 { 10 } else { 2 },
                id: m[0],
                orig,
                reply,
                orig_counters: Counters { packets: n[0], bytes: n[1] },
                reply_counters: Counters { packets: n[2], bytes: n[3] },
                start_ns: n[4],
                stop_ns: n[5],
                status: Status(m[1]),
                timeout: m[2],
                zone,
                mark: m[3],
                labels,
                tcp_state: tcp.map(TcpState),
                use_count: m[4],
            },
        )
    })
}

proptest! {
    #[test]
    fn encode_then_parse_is_the_identity(c in connection()) {
        prop_assert_eq!(Connection::parse(&encode(&c, false)).unwrap(), c);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Connection::parse(&bytes);
    }

    #[test]
    fn corrupted_messages_never_panic(c in connection(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut msg = encode(&c, false);
        let i = at.index(msg.len());
        msg[i] = byte;
        let _ = Connection::parse(&msg);
        // Cut short, with the header's length made to agree: a truncated attribute somewhere.
        let n = cut.index(msg.len()).max(16);
        msg.truncate(n);
        msg[..4].copy_from_slice(&(n as u32).to_ne_bytes());
        let _ = Connection::parse(&msg);
    }
}
