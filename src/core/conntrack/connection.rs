//! The conntrack entry as the agent uses it, and its parser from an `IPCTNL_MSG_CT_NEW` /
//! `IPCTNL_MSG_CT_DELETE` message read in place.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ParseError;
use super::wire::{Attr, Attrs, NFGENMSG_LEN, NLMSG_HDRLEN, NlMsgHdr, Writer};

// Top-level attributes (include/uapi/linux/netfilter/nfnetlink_conntrack.h, enum ctattr_type).
pub(super) const CTA_TUPLE_ORIG: u16 = 1;
pub(super) const CTA_TUPLE_REPLY: u16 = 2;
pub(super) const CTA_STATUS: u16 = 3;
pub(super) const CTA_PROTOINFO: u16 = 4;
pub(super) const CTA_TIMEOUT: u16 = 7;
pub(super) const CTA_MARK: u16 = 8;
pub(super) const CTA_COUNTERS_ORIG: u16 = 9;
pub(super) const CTA_COUNTERS_REPLY: u16 = 10;
pub(super) const CTA_USE: u16 = 11;
pub(super) const CTA_ID: u16 = 12;
pub(super) const CTA_ZONE: u16 = 18;
pub(super) const CTA_TIMESTAMP: u16 = 20;
pub(super) const CTA_LABELS: u16 = 22;

const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_TUPLE_ZONE: u16 = 3;

const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;

const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTO_ICMP_ID: u16 = 4;
const CTA_PROTO_ICMP_TYPE: u16 = 5;
const CTA_PROTO_ICMP_CODE: u16 = 6;
const CTA_PROTO_ICMPV6_ID: u16 = 7;
const CTA_PROTO_ICMPV6_TYPE: u16 = 8;
const CTA_PROTO_ICMPV6_CODE: u16 = 9;

const CTA_PROTOINFO_TCP: u16 = 1;
const CTA_PROTOINFO_TCP_STATE: u16 = 1;

const CTA_COUNTERS_PACKETS: u16 = 1;
const CTA_COUNTERS_BYTES: u16 = 2;
const CTA_COUNTERS32_PACKETS: u16 = 3;
const CTA_COUNTERS32_BYTES: u16 = 4;

const CTA_TIMESTAMP_START: u16 = 1;
const CTA_TIMESTAMP_STOP: u16 = 2;

/// One direction of a connection: addresses, L4 protocol and its identifiers.
///
/// `src_port`/`dst_port` are set for TCP, UDP, UDP-Lite, SCTP and DCCP; `icmp_*` for ICMP and
/// ICMPv6 (the kernel tracks an echo by its id; type and code are those of the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub src_port: u16,
    pub dst_port: u16,
    pub icmp_id: u16,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// CTA_TUPLE_ZONE: the zone when it applies to this direction only (0 when absent).
    pub zone: u16,
}

impl Default for Tuple {
    fn default() -> Self {
        Tuple {
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            proto: 0,
            src_port: 0,
            dst_port: 0,
            icmp_id: 0,
            icmp_type: 0,
            icmp_code: 0,
            zone: 0,
        }
    }
}

/// Packet and byte counters of one direction (zero unless `nf_conntrack_acct=1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// The `CTA_STATUS` bits (`enum ip_conntrack_status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Status(pub u32);

impl Status {
    pub const EXPECTED: u32 = 1 << 0;
    pub const SEEN_REPLY: u32 = 1 << 1;
    pub const ASSURED: u32 = 1 << 2;
    pub const CONFIRMED: u32 = 1 << 3;
    pub const SRC_NAT: u32 = 1 << 4;
    pub const DST_NAT: u32 = 1 << 5;
    pub const DYING: u32 = 1 << 9;

    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    /// The entry is being destroyed: Antrea ends a non-TCP flow on this bit.
    pub fn is_dying(self) -> bool {
        self.contains(Self::DYING)
    }
}

/// The kernel's TCP conntrack state (`enum tcp_conntrack`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TcpState(pub u8);

/// The names Antrea exports as `tcpState`, indexed by the kernel's value.
const TCP_STATE_NAMES: [&str; 10] = [
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
];

impl TcpState {
    pub const ESTABLISHED: TcpState = TcpState(3);
    pub const TIME_WAIT: TcpState = TcpState(7);
    pub const CLOSE: TcpState = TcpState(8);

    /// The name Antrea gives the state; "" for a value the kernel does not define, as Antrea does.
    pub fn name(self) -> &'static str {
        TCP_STATE_NAMES.get(self.0 as usize).copied().unwrap_or("")
    }
}

/// A conntrack entry, as plain data: parsing one allocates nothing.
///
/// Attributes the kernel left out stay at their zero value: counters without
/// `nf_conntrack_acct`, timestamps without `nf_conntrack_timestamp`, `stop_ns` until the entry
/// dies, zone 0 (the default zone is never sent), labels all zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Connection {
    /// `AF_INET` (2) or `AF_INET6` (10), from the nfgenmsg header.
    pub family: u8,
    /// CTA_ID: the kernel's id of the entry, stable for its life.
    pub id: u32,
    pub orig: Tuple,
    pub reply: Tuple,
    pub orig_counters: Counters,
    pub reply_counters: Counters,
    /// CTA_TIMESTAMP_START / STOP, nanoseconds since the Unix epoch.
    pub start_ns: u64,
    pub stop_ns: u64,
    pub status: Status,
    /// Seconds until the entry expires.
    pub timeout: u32,
    /// CTA_ZONE: the zone for both directions (0 when absent); see [`Connection::zone_id`].
    pub zone: u16,
    pub mark: u32,
    /// CTA_LABELS: the 128-bit label bitmap as the kernel sends it, its memory as is: host-order
    /// 64-bit words, label N being bit N % 64 of word N / 64 (Antrea byte-swaps on little-endian
    /// hosts before reading rule ids from it).
    pub labels: [u8; 16],
    /// Set for TCP entries only.
    pub tcp_state: Option<TcpState>,
    /// CTA_USE: references the kernel holds on the entry.
    pub use_count: u32,
}

impl Connection {
    /// The zone the entry lives in, whether it was given for both directions (CTA_ZONE) or for
    /// one (the tuple's zone): the id the kernel's zone filter compares.
    pub fn zone_id(&self) -> u16 {
        [self.zone, self.orig.zone, self.reply.zone].into_iter().find(|&z| z != 0).unwrap_or(0)
    }

    /// Parses one ctnetlink message (header included) that holds a conntrack entry.
    pub fn parse(msg: &[u8]) -> Result<Connection, ParseError> {
        let hdr = NlMsgHdr::read(msg, 0)?;
        let msg = &msg[..hdr.len as usize];
        if msg.len() < NLMSG_HDRLEN + NFGENMSG_LEN {
            return Err(ParseError::new(NLMSG_HDRLEN, "a 4-byte nfgenmsg header"));
        }
        let mut c = Connection { family: msg[NLMSG_HDRLEN], ..Connection::default() };
        let start = NLMSG_HDRLEN + NFGENMSG_LEN;
        for attr in Attrs::new(&msg[start..], start) {
            let attr = attr?;
            match attr.kind {
                CTA_TUPLE_ORIG => c.orig = parse_tuple(&attr)?,
                CTA_TUPLE_REPLY => c.reply = parse_tuple(&attr)?,
                CTA_STATUS => c.status = Status(attr.u32_be("CTA_STATUS as a 4-byte u32")?),
                CTA_PROTOINFO => c.tcp_state = parse_protoinfo(&attr)?.or(c.tcp_state),
                CTA_TIMEOUT => c.timeout = attr.u32_be("CTA_TIMEOUT as a 4-byte u32")?,
                CTA_MARK => c.mark = attr.u32_be("CTA_MARK as a 4-byte u32")?,
                CTA_COUNTERS_ORIG => c.orig_counters = parse_counters(&attr)?,
                CTA_COUNTERS_REPLY => c.reply_counters = parse_counters(&attr)?,
                CTA_USE => c.use_count = attr.u32_be("CTA_USE as a 4-byte u32")?,
                CTA_ID => c.id = attr.u32_be("CTA_ID as a 4-byte u32")?,
                CTA_ZONE => c.zone = attr.u16_be("CTA_ZONE as a 2-byte u16")?,
                CTA_TIMESTAMP => (c.start_ns, c.stop_ns) = parse_timestamp(&attr)?,
                CTA_LABELS => {
                    // The kernel sends its whole label area: 16 bytes, more only if it ever grows.
                    let n = attr.value.len().min(16);
                    c.labels[..n].copy_from_slice(&attr.value[..n]);
                }
                // NAT, helper, sequence adjustment, secctx, synproxy: not needed by the agent.
                _ => {}
            }
        }
        Ok(c)
    }
}

fn parse_tuple(attr: &Attr) -> Result<Tuple, ParseError> {
    let mut t = Tuple::default();
    for a in attr.nested() {
        let a = a?;
        match a.kind {
            CTA_TUPLE_IP => {
                for ip in a.nested() {
                    let ip = ip?;
                    match ip.kind {
                        CTA_IP_V4_SRC => t.src = Ipv4Addr::from(ip.bytes::<4>("a 4-byte IPv4 source")?).into(),
                        CTA_IP_V4_DST => t.dst = Ipv4Addr::from(ip.bytes::<4>("a 4-byte IPv4 destination")?).into(),
                        CTA_IP_V6_SRC => t.src = Ipv6Addr::from(ip.bytes::<16>("a 16-byte IPv6 source")?).into(),
                        CTA_IP_V6_DST => t.dst = Ipv6Addr::from(ip.bytes::<16>("a 16-byte IPv6 destination")?).into(),
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for p in a.nested() {
                    let p = p?;
                    match p.kind {
                        CTA_PROTO_NUM => t.proto = p.u8("CTA_PROTO_NUM as a u8")?,
                        CTA_PROTO_SRC_PORT => t.src_port = p.u16_be("a 2-byte source port")?,
                        CTA_PROTO_DST_PORT => t.dst_port = p.u16_be("a 2-byte destination port")?,
                        CTA_PROTO_ICMP_ID | CTA_PROTO_ICMPV6_ID => t.icmp_id = p.u16_be("a 2-byte ICMP id")?,
                        CTA_PROTO_ICMP_TYPE | CTA_PROTO_ICMPV6_TYPE => t.icmp_type = p.u8("an ICMP type as a u8")?,
                        CTA_PROTO_ICMP_CODE | CTA_PROTO_ICMPV6_CODE => t.icmp_code = p.u8("an ICMP code as a u8")?,
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_ZONE => t.zone = a.u16_be("CTA_TUPLE_ZONE as a 2-byte u16")?,
            _ => {}
        }
    }
    Ok(t)
}

fn parse_protoinfo(attr: &Attr) -> Result<Option<TcpState>, ParseError> {
    let mut state = None;
    for a in attr.nested() {
        let a = a?;
        if a.kind == CTA_PROTOINFO_TCP {
            for t in a.nested() {
                let t = t?;
                if t.kind == CTA_PROTOINFO_TCP_STATE {
                    state = Some(TcpState(t.u8("CTA_PROTOINFO_TCP_STATE as a u8")?));
                }
            }
        }
    }
    Ok(state)
}

fn parse_counters(attr: &Attr) -> Result<Counters, ParseError> {
    let mut c = Counters::default();
    for a in attr.nested() {
        let a = a?;
        match a.kind {
            CTA_COUNTERS_PACKETS => c.packets = a.u64_be("a 64-bit packet counter")?,
            CTA_COUNTERS_BYTES => c.bytes = a.u64_be("a 64-bit byte counter")?,
            CTA_COUNTERS32_PACKETS => c.packets = a.u32_be("a 32-bit packet counter")?.into(),
            CTA_COUNTERS32_BYTES => c.bytes = a.u32_be("a 32-bit byte counter")?.into(),
            _ => {}
        }
    }
    Ok(c)
}

fn parse_timestamp(attr: &Attr) -> Result<(u64, u64), ParseError> {
    let (mut start, mut stop) = (0, 0);
    for a in attr.nested() {
        let a = a?;
        match a.kind {
            CTA_TIMESTAMP_START => start = a.u64_be("a 64-bit start timestamp")?,
            CTA_TIMESTAMP_STOP => stop = a.u64_be("a 64-bit stop timestamp")?,
            _ => {}
        }
    }
    Ok((start, stop))
}

/// Writes a tuple as CTA_TUPLE_ORIG or CTA_TUPLE_REPLY: what a create request carries, and what
/// the tests build their messages with.
pub(super) fn write_tuple(w: &mut Writer, kind: u16, t: &Tuple) {
    let tuple = w.begin_nest(kind);
    let ip = w.begin_nest(CTA_TUPLE_IP);
    match (t.src, t.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            w.attr(CTA_IP_V4_SRC, &s.octets());
            w.attr(CTA_IP_V4_DST, &d.octets());
        }
        (s, d) => {
            w.attr(CTA_IP_V6_SRC, &to_v6(s).octets());
            w.attr(CTA_IP_V6_DST, &to_v6(d).octets());
        }
    }
    w.end_nest(ip);
    let proto = w.begin_nest(CTA_TUPLE_PROTO);
    w.attr(CTA_PROTO_NUM, &[t.proto]);
    match t.proto {
        1 => {
            w.attr(CTA_PROTO_ICMP_ID, &t.icmp_id.to_be_bytes());
            w.attr(CTA_PROTO_ICMP_TYPE, &[t.icmp_type]);
            w.attr(CTA_PROTO_ICMP_CODE, &[t.icmp_code]);
        }
        58 => {
            w.attr(CTA_PROTO_ICMPV6_ID, &t.icmp_id.to_be_bytes());
            w.attr(CTA_PROTO_ICMPV6_TYPE, &[t.icmp_type]);
            w.attr(CTA_PROTO_ICMPV6_CODE, &[t.icmp_code]);
        }
        _ => {
            w.attr(CTA_PROTO_SRC_PORT, &t.src_port.to_be_bytes());
            w.attr(CTA_PROTO_DST_PORT, &t.dst_port.to_be_bytes());
        }
    }
    w.end_nest(proto);
    if t.zone != 0 {
        w.attr(CTA_TUPLE_ZONE, &t.zone.to_be_bytes());
    }
    w.end_nest(tuple);
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}
