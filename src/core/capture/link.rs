//! Frames → IP packets → UDP datagrams, TCP segments or IP fragments, and the tests that decide
//! whether a packet carries IPFIX or NetFlow v9.
//!
//! `etherparse` does the slicing in place (no allocation); this file adds the link types it
//! does not know (Linux SLL2, BSD loopback, the raw-IP variants) and locates the fragmentable
//! part of IPv6 fragments exactly, because etherparse keeps parsing extension headers after a
//! fragment header, which is wrong for every fragment but the first.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::source::Verdict;

use etherparse::{
    EtherType, Ethernet2HeaderSlice, IpFragOffset, IpNumber, Ipv4HeaderSlice, Ipv6ExtensionSlice, Ipv6ExtensionsSlice,
    Ipv6HeaderSlice, LaxNetSlice, LaxSlicedPacket, SingleVlanSlice, TcpSlice, TransportSlice, UdpSlice,
};

/// The link layers the reader understands, by pcap LINKTYPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    Ethernet,
    /// Linux cooked capture v1: 16-byte header, protocol at bytes 14–15.
    Sll,
    /// Linux cooked capture v2: 20-byte header, protocol at bytes 0–1.
    Sll2,
    /// IPv4 or IPv6 with no link header.
    Raw,
    /// BSD loopback: a 4-byte address family in the byte order of the machine that wrote it.
    Null,
    /// OpenBSD loopback: the same, always in network order.
    Loop,
    /// An RFC 5655 file: every "frame" is an IPFIX message already.
    IpfixMessage,
    Unsupported(u32),
}

impl Link {
    pub(crate) fn from_linktype(linktype: u32) -> Link {
        match linktype {
            1 => Link::Ethernet,
            113 => Link::Sll,
            276 => Link::Sll2,
            // 12 and 14 are DLT_RAW on some platforms and show up in files written there.
            101 | 12 | 14 | 228 | 229 => Link::Raw,
            0 => Link::Null,
            108 => Link::Loop,
            other => Link::Unsupported(other),
        }
    }
}

pub(crate) struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4: L4<'a>,
}

pub(crate) enum L4<'a> {
    Udp(Udp<'a>),
    Tcp(Tcp<'a>),
    Fragment(Fragment<'a>),
    Other,
}

pub(crate) struct Udp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub payload: &'a [u8],
}

pub(crate) struct Tcp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: &'a [u8],
}

/// One fragment of an IPv4 datagram, or the fragmentable part of an IPv6 packet.
pub(crate) struct Fragment<'a> {
    pub id: u32,
    /// Protocol of the reassembled payload (for IPv6, the fragment header's next header).
    pub proto: u8,
    pub offset: IpFragOffset,
    pub more: bool,
    pub v6: bool,
    pub data: &'a [u8],
}

/// Slices one frame; `None` when it is not an IPv4/IPv6 packet (or too damaged to tell).
///
/// The common shapes (Ethernet with up to three VLAN tags, IPv4, IPv6 without extension
/// headers, UDP or TCP) are sliced header by header with etherparse's small header slices;
/// anything else goes through `LaxSlicedPacket`, whose result struct is large enough that
/// copying it around costs more than the parsing on the hot path.
pub(crate) fn dissect(link: Link, frame: &[u8]) -> Option<Packet<'_>> {
    let (ether_type, l3) = match link {
        Link::Ethernet => {
            let eth = Ethernet2HeaderSlice::from_slice(frame).ok()?;
            let mut ether_type = eth.ether_type();
            let mut rest = &frame[eth.slice().len()..];
            for _ in 0..3 {
                if !matches!(
                    ether_type,
                    EtherType::VLAN_TAGGED_FRAME | EtherType::PROVIDER_BRIDGING | EtherType::VLAN_DOUBLE_TAGGED_FRAME
                ) {
                    break;
                }
                let vlan = SingleVlanSlice::from_slice(rest).ok()?;
                ether_type = vlan.ether_type();
                rest = vlan.payload_slice();
            }
            (Some(ether_type), rest)
        }
        Link::Sll => {
            let protocol = u16::from_be_bytes([*frame.get(14)?, *frame.get(15)?]);
            (Some(EtherType(protocol)), &frame[16..])
        }
        Link::Sll2 => {
            if frame.len() < 20 {
                return None;
            }
            (Some(EtherType(u16::from_be_bytes([frame[0], frame[1]]))), &frame[20..])
        }
        Link::Raw => (None, frame),
        Link::Null | Link::Loop => {
            let family: [u8; 4] = frame.get(..4)?.try_into().ok()?;
            let be = u32::from_be_bytes(family);
            let le = u32::from_le_bytes(family);
            let ip_family = |af: u32| matches!(af, 2 | 10 | 24 | 28 | 30);
            if !(ip_family(be) || (link == Link::Null && ip_family(le))) {
                return None;
            }
            (None, &frame[4..])
        }
        Link::IpfixMessage | Link::Unsupported(_) => return None,
    };
    let plain_ip = matches!(ether_type, None | Some(EtherType::IPV4) | Some(EtherType::IPV6));
    if plain_ip && let Some(packet) = simple_ip(l3) {
        return Some(packet);
    }
    let sliced = match ether_type {
        Some(et) => LaxSlicedPacket::from_ether_type(et, l3),
        None => LaxSlicedPacket::from_ip(l3).ok()?,
    };
    from_sliced(frame, sliced)
}

/// IPv4, or IPv6 carrying UDP or TCP directly; `None` for anything else (extension headers,
/// IPv4 authentication headers, damaged headers), which the general path handles.
fn simple_ip(l3: &[u8]) -> Option<Packet<'_>> {
    match l3.first()? >> 4 {
        4 => {
            let h = Ipv4HeaderSlice::from_slice(l3).ok()?;
            let header_len = h.slice().len();
            let total = usize::from(h.total_len());
            if total < header_len || h.protocol() == IpNumber::AUTHENTICATION_HEADER {
                return None;
            }
            // Lax about a total length beyond the capture: a cut packet is still worth passing on.
            let payload = &l3[header_len..total.min(l3.len())];
            let src = IpAddr::V4(Ipv4Addr::from(h.source()));
            let dst = IpAddr::V4(Ipv4Addr::from(h.destination()));
            let l4 = if h.is_fragmenting_payload() {
                L4::Fragment(Fragment {
                    id: h.identification().into(),
                    proto: h.protocol().0,
                    offset: h.fragments_offset(),
                    more: h.more_fragments(),
                    v6: false,
                    data: payload,
                })
            } else {
                l4(h.protocol(), payload)
            };
            Some(Packet { src, dst, l4 })
        }
        6 => {
            let h = Ipv6HeaderSlice::from_slice(l3).ok()?;
            let next = h.next_header();
            let len = usize::from(h.payload_length());
            if !(next == IpNumber::UDP || next == IpNumber::TCP) || len == 0 {
                return None;
            }
            let payload = &l3[40..(40 + len).min(l3.len())];
            Some(Packet {
                src: IpAddr::V6(Ipv6Addr::from(h.source())),
                dst: IpAddr::V6(Ipv6Addr::from(h.destination())),
                l4: l4(next, payload),
            })
        }
        _ => None,
    }
}

fn from_sliced<'a>(frame: &'a [u8], sliced: LaxSlicedPacket<'a>) -> Option<Packet<'a>> {
    let (src, dst, fragment) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let payload = v4.payload();
            let fragment = payload.fragmented.then(|| Fragment {
                id: h.identification().into(),
                proto: payload.ip_number.0,
                offset: h.fragments_offset(),
                more: h.more_fragments(),
                v6: false,
                data: payload.payload,
            });
            (IpAddr::V4(Ipv4Addr::from(h.source())), IpAddr::V4(Ipv4Addr::from(h.destination())), fragment)
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let payload = v6.payload();
            let fragment = if payload.fragmented {
                let end = offset_in(frame, payload.payload) + payload.payload.len();
                v6.extensions()
                    .clone()
                    .into_iter()
                    .find_map(|ext| match ext {
                        Ipv6ExtensionSlice::Fragment(f) if f.is_fragmenting_payload() => Some(f),
                        _ => None,
                    })
                    .and_then(|f| {
                        let start = offset_in(frame, f.slice()) + f.slice().len();
                        Some(Fragment {
                            id: f.identification(),
                            proto: f.next_header().0,
                            offset: f.fragment_offset(),
                            more: f.more_fragments(),
                            v6: true,
                            data: frame.get(start..end)?,
                        })
                    })
            } else {
                None
            };
            (IpAddr::V6(Ipv6Addr::from(h.source())), IpAddr::V6(Ipv6Addr::from(h.destination())), fragment)
        }
        Some(LaxNetSlice::Arp(_)) | None => return None,
    };
    let l4 = match (fragment, sliced.transport) {
        (Some(f), _) => L4::Fragment(f),
        (None, Some(TransportSlice::Udp(u))) => {
            L4::Udp(Udp { sport: u.source_port(), dport: u.destination_port(), payload: u.payload() })
        }
        (None, Some(TransportSlice::Tcp(t))) => L4::Tcp(tcp(&t)),
        (None, _) => L4::Other,
    };
    Some(Packet { src, dst, l4 })
}

fn tcp<'a>(t: &TcpSlice<'a>) -> Tcp<'a> {
    Tcp {
        sport: t.source_port(),
        dport: t.destination_port(),
        seq: t.sequence_number(),
        syn: t.syn(),
        ack: t.ack(),
        fin: t.fin(),
        rst: t.rst(),
        payload: t.payload(),
    }
}

/// Slices the transport header of a reassembled IP payload.
pub(crate) fn transport(v6: bool, proto: u8, data: &[u8]) -> L4<'_> {
    if v6 {
        let (_, next, rest, _) = Ipv6ExtensionsSlice::from_slice_lax(IpNumber(proto), data);
        l4(next, rest)
    } else {
        l4(IpNumber(proto), data)
    }
}

fn l4(proto: IpNumber, data: &[u8]) -> L4<'_> {
    match proto {
        IpNumber::UDP => match UdpSlice::from_slice_lax(data) {
            Ok(u) => L4::Udp(Udp { sport: u.source_port(), dport: u.destination_port(), payload: u.payload() }),
            Err(_) => L4::Other,
        },
        IpNumber::TCP => match TcpSlice::from_slice(data) {
            Ok(t) => L4::Tcp(tcp(&t)),
            Err(_) => L4::Other,
        },
        _ => L4::Other,
    }
}

/// Where `inner` starts inside `outer`; both come from the same frame.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// If `b` starts with a plausible IPFIX message header, its length field. Plausible: version
/// 10, length 16..=65535, and (unless the message is only a header) a first set with id 2, 3 or
/// ≥ 256 whose length is at least 4 and fits in the message.
pub(crate) fn ipfix_header(b: &[u8]) -> Option<usize> {
    if b.len() < 16 || b[0] != 0 || b[1] != 10 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if len == 16 {
        return Some(16);
    }
    if len < 20 || b.len() < 20 {
        return None;
    }
    let set_id = u16::from_be_bytes([b[16], b[17]]);
    let set_len = usize::from(u16::from_be_bytes([b[18], b[19]]));
    let id_ok = set_id == 2 || set_id == 3 || set_id >= 256;
    (id_ok && set_len >= 4 && set_len <= len - 16).then_some(len)
}

/// Whether an IPFIX message starts at `b[0]` of a byte stream: a plausible header whose message
/// is followed by another plausible header or by the end of the data (`at_end`: no more will
/// come). `NeedMore` when more bytes would decide.
pub(crate) fn message_start(b: &[u8], at_end: bool) -> Verdict {
    let undecided = |n| {
        if at_end { Verdict::Reject } else { Verdict::NeedMore(n) }
    };
    if b.len() < 4 {
        return undecided(4);
    }
    if b[0] != 0 || b[1] != 10 {
        return Verdict::Reject;
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if len < 16 {
        return Verdict::Reject;
    }
    if len > 16 && b.len() < 20 {
        return undecided(20);
    }
    if ipfix_header(b).is_none() {
        return Verdict::Reject;
    }
    if b.len() < len {
        return undecided(len);
    }
    let rest = &b[len..];
    if rest.is_empty() {
        return Verdict::Accept;
    }
    if rest.len() < 4 {
        return if at_end { Verdict::Accept } else { Verdict::NeedMore(len + 4) };
    }
    let next_len = u16::from_be_bytes([rest[2], rest[3]]);
    let next_ok = rest[0] == 0 && rest[1] == 10 && next_len >= 16 && (rest.len() < 20 || ipfix_header(rest).is_some());
    if next_ok { Verdict::Accept } else { Verdict::Reject }
}

/// A UDP payload that is an IPFIX message: a plausible header whose length fits the payload
/// (exporters may pad datagrams, so it need not fill it). A header-only message must be alone.
pub(crate) fn is_ipfix_datagram(p: &[u8]) -> bool {
    match ipfix_header(p) {
        Some(16) => p.len() == 16,
        Some(len) => len <= p.len(),
        None => false,
    }
}

/// A UDP payload that is a NetFlow v9 packet: version 9, a 20-byte header with a record count
/// no exporter exceeds, and a first flowset with id 0, 1 or ≥ 256 that fits the payload.
pub(crate) fn is_netflow9_datagram(p: &[u8]) -> bool {
    if p.len() < 24 || p[0] != 0 || p[1] != 9 {
        return false;
    }
    let count = u16::from_be_bytes([p[2], p[3]]);
    let set_id = u16::from_be_bytes([p[20], p[21]]);
    let set_len = usize::from(u16::from_be_bytes([p[22], p[23]]));
    count <= 1024 && (set_id <= 1 || set_id >= 256) && set_len >= 4 && set_len <= p.len() - 20
}

/// Decides which UDP datagrams and TCP streams carry IPFIX or NetFlow v9.
pub(crate) struct Classifier {
    ports: Box<[u64; 1024]>,
    sniff: bool,
}

impl Classifier {
    pub(crate) fn new(ports: &[u16], sniff: bool) -> Self {
        let mut bits = Box::new([0u64; 1024]);
        for &p in ports {
            bits[usize::from(p >> 6)] |= 1 << (p & 63);
        }
        Classifier { ports: bits, sniff }
    }

    #[inline]
    fn port(&self, p: u16) -> bool {
        self.ports[usize::from(p >> 6)] & (1 << (p & 63)) != 0
    }

    /// Datagrams on a configured port pass whatever they hold, so the decoder can say what is
    /// wrong with them; elsewhere only what looks right passes (when sniffing).
    #[inline]
    pub(crate) fn udp(&self, sport: u16, dport: u16, payload: &[u8]) -> bool {
        self.port(sport)
            || self.port(dport)
            || (self.sniff && (is_ipfix_datagram(payload) || is_netflow9_datagram(payload)))
    }

    /// Whether a segment of an untracked connection starts tracking it: on a configured port,
    /// or (when sniffing) a segment that starts with an IPFIX header.
    pub(crate) fn tcp(&self, sport: u16, dport: u16, payload: &[u8]) -> bool {
        self.port(sport) || self.port(dport) || (self.sniff && ipfix_header(payload).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn udp_ipv4(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(50000, 4739).write(&mut out, payload).unwrap();
        out
    }

    fn expect_udp(link: Link, frame: &[u8], payload: &[u8]) {
        let p = dissect(link, frame).expect("an IP packet");
        assert_eq!(p.src, IpAddr::from([10, 0, 0, 1]));
        match p.l4 {
            L4::Udp(u) => {
                assert_eq!((u.sport, u.dport), (50000, 4739));
                assert_eq!(u.payload, payload);
            }
            _ => panic!("expected UDP"),
        }
    }

    #[test]
    fn ethernet_with_vlan_and_qinq() {
        let payload = b"hello ipfix";
        for vlans in 0..3 {
            let mut frame = Vec::new();
            let b = PacketBuilder::ethernet2([1; 6], [2; 6]);
            let b = match vlans {
                0 => b.ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64),
                1 => b.single_vlan(etherparse::VlanId::try_new(7).unwrap()).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64),
                _ => b
                    .double_vlan(etherparse::VlanId::try_new(7).unwrap(), etherparse::VlanId::try_new(8).unwrap())
                    .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64),
            };
            b.udp(50000, 4739).write(&mut frame, payload).unwrap();
            // Ethernet padding after the IP packet must not reach the payload.
            frame.extend_from_slice(&[0; 8]);
            expect_udp(Link::Ethernet, &frame, payload);
        }
    }

    #[test]
    fn linux_sll_and_sll2() {
        let ip = udp_ipv4(b"abc");
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&ip);
        expect_udp(Link::from_linktype(113), &sll, b"abc");
        let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
        sll2.extend_from_slice(&ip);
        expect_udp(Link::from_linktype(276), &sll2, b"abc");
    }

    #[test]
    fn bsd_loopback_in_either_byte_order() {
        let ip = udp_ipv4(b"xyz");
        for (linktype, family) in [(0, [2, 0, 0, 0]), (0, [0, 0, 0, 2]), (108, [0, 0, 0, 2])] {
            let mut frame = family.to_vec();
            frame.extend_from_slice(&ip);
            expect_udp(Link::from_linktype(linktype), &frame, b"xyz");
        }
        // LOOP is always network order, and other families are not IP.
        let mut frame = vec![2, 0, 0, 0];
        frame.extend_from_slice(&ip);
        assert!(dissect(Link::Loop, &frame).is_none());
        let mut frame = vec![0, 0, 0, 7];
        frame.extend_from_slice(&ip);
        assert!(dissect(Link::Null, &frame).is_none());
    }

    #[test]
    fn raw_ipv6() {
        let mut frame = Vec::new();
        PacketBuilder::ipv6([1; 16], [2; 16], 64).udp(50000, 4739).write(&mut frame, b"v6").unwrap();
        for lt in [101, 12, 14, 229] {
            let p = dissect(Link::from_linktype(lt), &frame).unwrap();
            assert_eq!(p.dst, IpAddr::from([2u8; 16]));
            assert!(matches!(p.l4, L4::Udp(u) if u.payload == b"v6"));
        }
    }

    #[test]
    fn not_ip_and_unsupported() {
        let arp = [0xffu8; 42];
        assert!(dissect(Link::Ethernet, &arp).is_none());
        assert!(dissect(Link::Unsupported(147), &arp).is_none());
        assert!(dissect(Link::Sll, &[0; 10]).is_none());
    }

    #[test]
    fn ipv6_fragment_data_starts_after_the_fragment_header() {
        // IPv6 header, fragment header (next header: destination options), then data that is
        // not a valid extension header: the fragment data must be everything after the
        // fragment header.
        let data = [60u8, 200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
        let mut pkt = vec![0x60, 0, 0, 0, 0, (8 + data.len()) as u8, 44, 64];
        pkt.extend_from_slice(&[1; 16]);
        pkt.extend_from_slice(&[2; 16]);
        // next header 60, reserved, offset 1 (8 bytes) with M flag, id 0x01020304
        pkt.extend_from_slice(&[60, 0, 0, 8 | 1, 1, 2, 3, 4]);
        pkt.extend_from_slice(&data);
        let p = dissect(Link::Raw, &pkt).unwrap();
        match p.l4 {
            L4::Fragment(f) => {
                assert!(f.v6 && f.more);
                assert_eq!((f.id, f.proto, f.offset.byte_offset()), (0x01020304, 60, 8));
                assert_eq!(f.data, &data);
            }
            _ => panic!("expected a fragment"),
        }
    }

    fn ipfix(len: u16, set_id: u16, set_len: u16) -> Vec<u8> {
        let mut m = vec![0, 10];
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(&[0; 12]);
        m.extend_from_slice(&set_id.to_be_bytes());
        m.extend_from_slice(&set_len.to_be_bytes());
        m.resize(usize::from(len).max(20), 0);
        m
    }

    #[test]
    fn sniffs_ipfix_and_netflow9() {
        assert!(is_ipfix_datagram(&ipfix(40, 2, 24)));
        assert!(is_ipfix_datagram(&ipfix(40, 256, 24)));
        assert!(!is_ipfix_datagram(&ipfix(40, 4, 24)), "reserved set id");
        assert!(!is_ipfix_datagram(&ipfix(40, 2, 25)), "set longer than message");
        assert!(!is_ipfix_datagram(&ipfix(40, 2, 3)), "set shorter than its header");
        let mut long = ipfix(40, 2, 24);
        long.truncate(39);
        assert!(!is_ipfix_datagram(&long), "message longer than datagram");
        assert!(is_ipfix_datagram(&ipfix(16, 0, 0)[..16]));

        let mut v9 = vec![0, 9, 0, 2];
        v9.extend_from_slice(&[0; 16]);
        v9.extend_from_slice(&[0, 0, 0, 12]);
        v9.extend_from_slice(&[0; 8]);
        assert!(is_netflow9_datagram(&v9));
        v9[2] = 0x40; // 16384 records: not plausible
        assert!(!is_netflow9_datagram(&v9));
        v9[2] = 0;
        v9[21] = 7; // reserved flowset id
        assert!(!is_netflow9_datagram(&v9));
    }

    #[test]
    fn classifier_ports_pass_anything_sniffing_needs_a_look() {
        let c = Classifier::new(&[4739, 2055], true);
        assert!(c.udp(4739, 1, b"junk"));
        assert!(c.udp(1, 2055, b""));
        assert!(!c.udp(1, 2, b"junk"));
        assert!(c.udp(1, 9991, &ipfix(40, 2, 24)));
        let strict = Classifier::new(&[4739], false);
        assert!(!strict.udp(1, 9991, &ipfix(40, 2, 24)));
        assert!(c.tcp(1, 9991, &ipfix(400, 2, 24)[..40]));
        assert!(!strict.tcp(1, 9991, &ipfix(400, 2, 24)[..40]));
    }
}
