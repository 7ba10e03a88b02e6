//! The JSON record contract (DESIGN.md "Record output"), written straight into a byte buffer.
//!
//! This is the hot path of `decode -o json` and `collect -o json`: the part of a line that is the
//! same for every record of a set (frame, time, addresses, header fields, template id) is built
//! once per set and copied, numbers go through itoa/ryu, addresses and timestamps are formatted
//! without `fmt`, and nothing is allocated per record.

use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::fields::Selection;
use crate::core::ipfix::decoder::{MessageMeta, RecordRef, Templates};
use crate::core::ipfix::record::{DataRecord, Records};
use crate::core::ipfix::template::{Field, Occurrence, Template};
use crate::core::ipfix::types::DataType;
use crate::core::ipfix::value::{Value, read_unsigned};
use crate::core::time::{Rfc3339Cache, Timestamp};

/// Lists nest; a hostile template can make them nest without end. Deeper than this prints hex.
const MAX_DEPTH: usize = 8;

/// Writes records as JSON lines.
#[derive(Default)]
pub struct JsonWriter {
    /// Include the capture frame number (decode) or not (live collection).
    with_frame: bool,
    prefix: Vec<u8>,
    prefix_key: Option<(MessageMeta, u16, bool)>,
    times: Rfc3339Cache,
    /// `--fields`: only these, as a flat object.
    selection: Option<Selection>,
}

/// What writing values needs besides the value: the templates for sub-template lists and the
/// formatting cache for timestamps.
pub struct Cx<'a> {
    pub templates: &'a Templates,
    pub times: &'a mut Rfc3339Cache,
}

impl JsonWriter {
    pub fn new(with_frame: bool) -> Self {
        JsonWriter {
            with_frame,
            prefix: Vec::with_capacity(256),
            prefix_key: None,
            times: Rfc3339Cache::default(),
            selection: None,
        }
    }

    /// Writes only the selected fields, as one flat object per record.
    pub fn with_selection(mut self, selection: Option<Selection>) -> Self {
        self.selection = selection;
        self
    }

    pub fn selection(&self) -> Option<&Selection> {
        self.selection.as_ref()
    }

    pub fn with_frame(&self) -> bool {
        self.with_frame
    }

    /// Appends one record as a line (with its newline) to `out`.
    #[inline]
    pub fn record(&mut self, r: &RecordRef<'_>, out: &mut Vec<u8>) {
        if let Some(selection) = &mut self.selection {
            return selection.json(r, self.with_frame, &mut self.times, out);
        }
        let key = (*r.meta, r.record.template.id, r.late);
        if self.prefix_key.as_ref() != Some(&key) {
            self.build_prefix(r);
            self.prefix_key = Some(key);
        }
        out.extend_from_slice(&self.prefix);
        let mut cx = Cx { templates: r.templates, times: &mut self.times };
        fields(r.record, &mut cx, out, 0);
        out.extend_from_slice(b"}\n");
    }

    fn build_prefix(&mut self, r: &RecordRef<'_>) {
        let p = &mut self.prefix;
        let (origin, header) = (&r.meta.origin, &r.meta.header);
        p.clear();
        p.push(b'{');
        if self.with_frame {
            p.extend_from_slice(b"\"frame\":");
            p.extend_from_slice(itoa::Buffer::new().format(origin.frame).as_bytes());
            p.push(b',');
        }
        p.extend_from_slice(b"\"time\":\"");
        self.times.write(origin.time, p);
        p.push(b'"');
        for (name, addr) in [("exporter", origin.exporter), ("collector", origin.collector)] {
            if let Some(addr) = addr {
                p.extend_from_slice(b",\"");
                p.extend_from_slice(name.as_bytes());
                p.extend_from_slice(b"\":\"");
                socket_addr(addr, p);
                p.push(b'"');
            }
        }
        let num = |p: &mut Vec<u8>, key: &str, v: u64| {
            p.extend_from_slice(b",\"");
            p.extend_from_slice(key.as_bytes());
            p.extend_from_slice(b"\":");
            p.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        };
        num(p, "version", header.version as u64);
        num(p, "observationDomainId", header.domain as u64);
        num(p, "sequenceNumber", header.sequence as u64);
        num(p, "exportTime", header.export_time as u64);
        if let Some(up) = header.sys_uptime {
            num(p, "sysUptime", up as u64);
        }
        num(p, "templateId", r.record.template.id as u64);
        p.extend_from_slice(if r.record.template.is_options() {
            b",\"kind\":\"options\""
        } else {
            b",\"kind\":\"data\""
        });
        if r.late {
            p.extend_from_slice(b",\"late\":true");
        }
        p.extend_from_slice(b",\"fields\":");
    }
}

/// Writes a record's fields as a JSON object: name → value in template order, repeated names
/// as one array at the first occurrence. Every key is written with its leading comma and the
/// first comma becomes the opening brace, which saves a branch per field.
fn fields(record: DataRecord<'_>, cx: &mut Cx<'_>, out: &mut Vec<u8>, depth: usize) {
    let open = out.len();
    for (index, (field, raw)) in record.fields().enumerate() {
        match field.occurrence {
            Occurrence::Repeat => continue,
            Occurrence::Unique => {
                key(record.template, field, out);
                field_value(field, raw, cx, out, depth);
            }
            Occurrence::First { .. } => {
                key(record.template, field, out);
                out.push(b'[');
                for (k, &i) in record.template.all_of(field).iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    let i = i as usize;
                    let raw = if i == index { Some(raw) } else { record.raw(i) };
                    match raw {
                        Some(raw) => field_value(&record.template.fields[i], raw, cx, out, depth),
                        None => out.extend_from_slice(b"null"),
                    }
                }
                out.push(b']');
            }
        }
    }
    if out.len() == open {
        out.push(b'{');
    } else {
        out[open] = b'{';
    }
    out.push(b'}');
}

/// Appends `,"name":` with fixed-size copies (the key is zero-padded to 16-byte blocks), then
/// trims to its length: short copies of known size compile to a few moves instead of a call.
#[inline(always)]
fn key(template: &Template, field: &Field, out: &mut Vec<u8>) {
    let at = out.len();
    let (padded, len) = template.json_key(field);
    match padded.len() {
        16 => out.extend_from_slice(&padded[..16]),
        32 => out.extend_from_slice(&padded[..32]),
        48 => out.extend_from_slice(&padded[..48]),
        _ => out.extend_from_slice(padded),
    }
    out.truncate(at + len);
}

/// One field's value. The common fixed-size types are written straight from their bytes;
/// everything else goes through [`Value`].
#[inline]
pub(super) fn field_value(field: &Field, raw: &[u8], cx: &mut Cx<'_>, out: &mut Vec<u8>, depth: usize) {
    if field.spec.length == 0 {
        return out.extend_from_slice(b"null");
    }
    match (field.data_type, raw.len()) {
        (DataType::Unsigned8 | DataType::Unsigned16 | DataType::Unsigned32 | DataType::Unsigned64, 1..=8) => {
            unsigned(read_unsigned(raw).unwrap_or(0), out);
        }
        (DataType::Ipv4Address, 4) => {
            out.push(b'"');
            ipv4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]), out);
            out.push(b'"');
        }
        (DataType::DateTimeMilliseconds, 8) => {
            let ms = read_unsigned(raw).unwrap_or(0);
            out.push(b'"');
            cx.times.write(Timestamp::from_millis(ms as i64), out);
            out.push(b'"');
        }
        (DataType::String, _) => string(raw, out),
        (DataType::OctetArray, _) => hex_string(raw, out),
        (DataType::DateTimeSeconds, 4) => {
            let s = read_unsigned(raw).unwrap_or(0);
            out.push(b'"');
            cx.times.write(Timestamp::from_secs(s as i64), out);
            out.push(b'"');
        }
        _ => value(&Value::decode(field.data_type, raw), cx, out, depth),
    }
}

/// Writes one value.
pub fn value(v: &Value<'_>, cx: &mut Cx<'_>, out: &mut Vec<u8>, depth: usize) {
    match *v {
        Value::Absent => out.extend_from_slice(b"null"),
        Value::Unsigned(n) => unsigned(n, out),
        Value::Signed(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::Float(f) if f.is_finite() => out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes()),
        Value::Float(_) => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Mac(m) => {
            out.push(b'"');
            mac(&m, out);
            out.push(b'"');
        }
        Value::Ipv4(a) => {
            out.push(b'"');
            ipv4(a, out);
            out.push(b'"');
        }
        Value::Ipv6(a) => {
            out.push(b'"');
            ipv6(a, out);
            out.push(b'"');
        }
        Value::String(s) => string(s, out),
        Value::Octets(b) | Value::Invalid(b) => hex_string(b, out),
        Value::Time(t) => {
            out.push(b'"');
            cx.times.write(t, out);
            out.push(b'"');
        }
        Value::BasicList(list) => {
            if depth >= MAX_DEPTH {
                return hex_string(list.wire(), out);
            }
            out.push(b'[');
            for (i, v) in list.values().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value(&v, cx, out, depth + 1);
            }
            out.push(b']');
        }
        Value::SubTemplateList(list) => match cx.templates.get(list.template_id) {
            Some(t) if depth < MAX_DEPTH => {
                let t = t.clone();
                out.push(b'[');
                sub_records(Records::new(&t, list.content), cx, out, depth + 1);
                out.push(b']');
            }
            _ => hex_string(list.wire(), out),
        },
        Value::SubTemplateMultiList(list) => {
            if depth >= MAX_DEPTH {
                return hex_string(list.wire(), out);
            }
            out.push(b'[');
            for (i, block) in list.blocks().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match block {
                    Ok((id, content)) => {
                        out.extend_from_slice(b"{\"templateId\":");
                        out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
                        out.extend_from_slice(b",\"records\":");
                        match cx.templates.get(id).cloned() {
                            Some(t) => {
                                out.push(b'[');
                                sub_records(Records::new(&t, content), cx, out, depth + 1);
                                out.push(b']');
                            }
                            None => hex_string(content, out),
                        }
                        out.push(b'}');
                    }
                    Err(rest) => hex_string(rest, out),
                }
            }
            out.push(b']');
        }
    }
}

fn sub_records(records: Records<'_>, cx: &mut Cx<'_>, out: &mut Vec<u8>, depth: usize) {
    let mut first = true;
    for r in records {
        if !first {
            out.push(b',');
        }
        first = false;
        match r {
            Ok(rec) => fields(rec, cx, out, depth),
            // A cut-short record inside a list: say so in place rather than drop it.
            Err(_) => out.extend_from_slice(b"null"),
        }
    }
}

/// Bytes that can be copied into a JSON string as they are: printable ASCII but `"` and `\\`.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    t
};

/// Writes `s` as a JSON string: UTF-8 (invalid sequences replaced), cut at the first NUL as
/// fixed-length string fields are NUL-padded, escaped per RFC 8259. Names and labels are
/// nearly always plain ASCII, which is copied after one pass.
#[inline]
pub fn string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    if s.iter().all(|&b| PLAIN[b as usize]) {
        out.extend_from_slice(s);
    } else {
        let s = match s.iter().position(|&b| b == 0) {
            Some(nul) => &s[..nul],
            None => s,
        };
        match std::str::from_utf8(s) {
            Ok(text) => escape(text, out),
            Err(_) => escape(&String::from_utf8_lossy(s), out),
        }
    }
    out.push(b'"');
}

fn escape(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Lowercase hex in quotes.
pub fn hex_string(b: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    hex(b, out);
    out.push(b'"');
}

pub fn hex(b: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(b.len() * 2);
    for &x in b {
        out.push(HEX[(x >> 4) as usize]);
        out.push(HEX[(x & 15) as usize]);
    }
}

pub fn mac(m: &[u8; 6], out: &mut Vec<u8>) {
    for (i, &x) in m.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        hex(&[x], out);
    }
}

/// The decimal text of every octet as little-endian bytes, and its length.
static OCTETS: [(u32, u8); 256] = {
    let mut t = [(0u32, 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let o = i as u32;
        t[i] = if o >= 100 {
            ((b'0' as u32 + o / 100) | (b'0' as u32 + o / 10 % 10) << 8 | (b'0' as u32 + o % 10) << 16, 3)
        } else if o >= 10 {
            ((b'0' as u32 + o / 10) | (b'0' as u32 + o % 10) << 8, 2)
        } else {
            (b'0' as u32 + o, 1)
        };
        i += 1;
    }
    t
};

/// Appends a dotted quad, assembled in a register (see [`unsigned`] for why).
#[inline]
pub fn ipv4(a: Ipv4Addr, out: &mut Vec<u8>) {
    let (mut word, mut len) = (0u128, 0u32);
    for (i, o) in a.octets().into_iter().enumerate() {
        if i > 0 {
            word |= (b'.' as u128) << (8 * len);
            len += 1;
        }
        let (digits, n) = OCTETS[o as usize];
        word |= (digits as u128) << (8 * len);
        len += n as u32;
    }
    let at = out.len();
    out.extend_from_slice(&word.to_le_bytes());
    out.truncate(at + len as usize);
}

/// "00" to "99" as little-endian pairs of ASCII digits, for writing two digits at a time.
static PAIRS: [u16; 100] = {
    let mut t = [0u16; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = (b'0' + (i / 10) as u8) as u16 | ((b'0' + (i % 10) as u8) as u16) << 8;
        i += 1;
    }
    t
};

/// Appends `n` in decimal. The digits are assembled in a register and stored with one 16-byte
/// write that is then trimmed: no call for a variable-length copy, and no reading back of bytes
/// just written (which stalls the store buffer). Numbers are most of what records hold.
#[inline]
pub fn unsigned(n: u64, out: &mut Vec<u8>) {
    if n >= 10_000_000_000_000_000 {
        return out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
    let (mut v, mut word, mut len) = (n, 0u128, 0usize);
    while v >= 100 {
        word = (word << 16) | PAIRS[(v % 100) as usize] as u128;
        v /= 100;
        len += 2;
    }
    if v >= 10 {
        word = (word << 16) | PAIRS[v as usize] as u128;
        len += 2;
    } else {
        word = (word << 8) | (b'0' + v as u8) as u128;
        len += 1;
    }
    let at = out.len();
    out.extend_from_slice(&word.to_le_bytes());
    out.truncate(at + len);
}

pub fn ipv6(a: Ipv6Addr, out: &mut Vec<u8>) {
    let _ = write!(out, "{a}");
}

pub fn socket_addr(addr: SocketAddr, out: &mut Vec<u8>) {
    match addr {
        SocketAddr::V4(a) => ipv4(*a.ip(), out),
        SocketAddr::V6(a) => {
            out.push(b'[');
            ipv6(*a.ip(), out);
            out.push(b']');
        }
    }
    out.push(b':');
    out.extend_from_slice(itoa::Buffer::new().format(addr.port()).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_cut_at_nul_and_made_valid() {
        assert_eq!(s(|o| string(b"Gi0/0/1\0\0\0", o)), r#""Gi0/0/1""#);
        assert_eq!(s(|o| string(b"a\"b\\c\n\x01", o)), r#""a\"b\\c\n\u0001""#);
        assert_eq!(s(|o| string(b"caf\xc3\xa9 \xff", o)), "\"café \u{fffd}\"");
    }

    #[test]
    fn numbers() {
        for n in [0, 7, 9, 10, 99, 100, 101, 65535, 4_294_967_295, 9_999_999_999_999_999_999, u64::MAX] {
            assert_eq!(s(|o| unsigned(n, o)), n.to_string());
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(s(|o| ipv4(Ipv4Addr::new(10, 231, 0, 255), o)), "10.231.0.255");
        assert_eq!(s(|o| socket_addr("[2001:db8::1]:4739".parse().unwrap(), o)), "[2001:db8::1]:4739");
        assert_eq!(s(|o| mac(&[0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc], o)), "00:1b:21:aa:bb:cc");
    }
}
