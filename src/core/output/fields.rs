//! `--fields a,b,c`: print only the chosen fields of each record, in the order asked for (as
//! tshark's `-e` and kubectl's custom columns).
//!
//! Names are checked once, when the selection is parsed. Each template is then compiled once into
//! the position of every chosen field in it, so a record costs one cache hit and the chosen
//! fields, never a search by name.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::Ipv4Addr;
use std::sync::Arc;

use super::json::{self, Cx};
use super::table::display;
use crate::core::ipfix::decoder::RecordRef;
use crate::core::ipfix::registry;
use crate::core::ipfix::template::{Field, Occurrence, Template};
use crate::core::ipfix::types::DataType;
use crate::core::ipfix::value::{Value, read_unsigned};
use crate::core::time::Rfc3339Cache;

/// The record's own keys of the JSON contract, besides `fields`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meta {
    Frame,
    Time,
    Exporter,
    Collector,
    Version,
    ObservationDomainId,
    SequenceNumber,
    ExportTime,
    SysUptime,
    TemplateId,
    Kind,
    Late,
}

const META: [(&str, Meta); 12] = [
    ("frame", Meta::Frame),
    ("time", Meta::Time),
    ("exporter", Meta::Exporter),
    ("collector", Meta::Collector),
    ("version", Meta::Version),
    ("observationDomainId", Meta::ObservationDomainId),
    ("sequenceNumber", Meta::SequenceNumber),
    ("exportTime", Meta::ExportTime),
    ("sysUptime", Meta::SysUptime),
    ("templateId", Meta::TemplateId),
    ("kind", Meta::Kind),
    ("late", Meta::Late),
];

/// The metadata names `--fields` accepts, for help and error texts.
pub const META_NAMES: &str = "frame, time, exporter, collector, version, observationDomainId, sequenceNumber, exportTime, sysUptime, templateId, kind, late";

#[derive(Clone, Debug)]
enum Column {
    Meta(Meta),
    /// An element, by the name templates give it (`ie{ID}` for elements the registry lacks).
    Element(Box<str>),
}

/// Where a chosen field is in one template.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Meta(Meta),
    /// An unsigned field at a fixed offset, read straight from the record's bytes: the common
    /// case, which skips the search for the field and the dispatch on its type.
    Unsigned {
        at: u16,
        len: u8,
    },
    /// An IPv4 address at a fixed offset.
    Ipv4 {
        at: u16,
    },
    Field(u16),
    /// The first of several fields with the name: all their values, as the contract's arrays.
    Repeated(u16),
    Missing,
}

/// Templates compiled for the selection. The template is kept so its address, the key, cannot
/// be reused by another template while its plan is here.
#[derive(Clone, Default)]
struct Plans {
    entries: Vec<(Arc<Template>, Box<[Slot]>)>,
    /// A template's address → its entry.
    index: HashMap<usize, usize, BuildHasherDefault<AddressHasher>>,
    last: usize,
}

impl Plans {
    fn get(&mut self, columns: &[Column], template: &Arc<Template>) -> &[Slot] {
        let hit = self.entries.get(self.last).is_some_and(|(t, _)| Arc::ptr_eq(t, template));
        if !hit {
            let address = Arc::as_ptr(template) as usize;
            match self.index.get(&address) {
                Some(&i) => self.last = i,
                None => {
                    if self.entries.len() >= MAX_PLANS {
                        self.entries.clear();
                        self.index.clear();
                    }
                    let slots = columns.iter().map(|c| compile(c, template)).collect();
                    self.entries.push((template.clone(), slots));
                    self.last = self.entries.len() - 1;
                    self.index.insert(address, self.last);
                }
            }
        }
        &self.entries[self.last].1
    }
}

/// Hashes a template's address. Exporters do not choose addresses, so SipHash's protection
/// against chosen keys buys nothing here, and it cost a tenth of a three-field decode when
/// templates alternate.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ b as u64);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        // Allocations are aligned: the low bits carry nothing, and the table indexes by them.
        let h = (n >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

/// Bounds the plans a long collection keeps; past it they are compiled again.
const MAX_PLANS: usize = 4096;

/// The chosen fields and the templates compiled for them. A clone shares the names and starts
/// with no plans (one per formatting thread).
#[derive(Clone)]
pub struct Selection {
    labels: Arc<[Box<str>]>,
    columns: Arc<[Column]>,
    /// `,"label":` of each column.
    keys: Arc<[Box<[u8]>]>,
    plans: Plans,
}

impl std::fmt::Debug for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.labels()).finish()
    }
}

/// A name in `--fields` that is neither an element nor a metadata name.
#[derive(Debug)]
pub struct UnknownField {
    pub name: String,
    pub close: Vec<String>,
}

impl std::fmt::Display for UnknownField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--fields: unknown field `{}`: expected an IE name (e.g. sourceIPv4Address, ie{{ID}}, ie{{PEN}}.{{ID}}, fields.NAME) or one of {META_NAMES}",
            self.name
        )?;
        if !self.close.is_empty() {
            write!(f, "; did you mean {}?", self.close.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownField {}

impl Selection {
    /// Resolves the names: metadata names first (`fields.NAME` for the element of that name),
    /// then the IE registry, then `ie{ID}` / `ie{PEN}.{ID}`.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Selection, UnknownField> {
        let mut labels = Vec::new();
        let mut columns = Vec::new();
        for name in names.iter().map(AsRef::as_ref).map(str::trim).filter(|n| !n.is_empty()) {
            let column = if let Some(&(_, meta)) = META.iter().find(|(n, _)| *n == name) {
                Column::Meta(meta)
            } else {
                let element = name.strip_prefix("fields.").unwrap_or(name);
                if registry::by_name(element).is_some() || is_numbered(element) {
                    Column::Element(element.into())
                } else {
                    return Err(UnknownField { name: name.to_string(), close: close_matches(element) });
                }
            };
            labels.push(Box::<str>::from(name));
            columns.push(column);
        }
        let keys = labels
            .iter()
            .map(|l| {
                let mut k = b",".to_vec();
                json::string(l.as_bytes(), &mut k);
                k.push(b':');
                k.into_boxed_slice()
            })
            .collect();
        Ok(Selection { labels: labels.into(), columns: columns.into(), keys, plans: Plans::default() })
    }

    /// The selection of a `--fields` flag: none when the flag was not given.
    pub fn from_flag(names: &[String]) -> Result<Option<Selection>, UnknownField> {
        if names.is_empty() {
            return Ok(None);
        }
        Selection::parse(names).map(Some)
    }

    /// The names as asked for: JSON keys, the table's and CSV's header.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(|l| &**l)
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// How many fields are chosen.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Appends the record as one flat JSON object of the chosen keys, in order, with its newline;
    /// a field the record's template lacks is `null`, and so is `frame` of live input
    /// (`with_frame` false), as the contract has no frame there.
    pub fn json(&mut self, r: &RecordRef<'_>, with_frame: bool, times: &mut Rfc3339Cache, out: &mut Vec<u8>) {
        let open = out.len();
        let plan = self.plans.get(&self.columns, r.template);
        let keys = &self.keys;
        let mut cx = Cx { templates: r.templates, times };
        for (slot, key) in plan.iter().zip(keys.iter()) {
            out.extend_from_slice(key);
            match *slot {
                Slot::Meta(Meta::Frame) if !with_frame => out.extend_from_slice(b"null"),
                Slot::Meta(m) => meta_json(m, r, cx.times, out),
                Slot::Unsigned { at, len } => match fixed_raw(r, at, len as usize) {
                    Some(raw) => json::unsigned(read_unsigned(raw).unwrap_or(0), out),
                    None => out.extend_from_slice(b"null"),
                },
                Slot::Ipv4 { at } => match fixed_raw(r, at, 4) {
                    Some(raw) => {
                        out.push(b'"');
                        fixed_ipv4(raw, out);
                        out.push(b'"');
                    }
                    None => out.extend_from_slice(b"null"),
                },
                Slot::Field(i) => match r.record.raw(i as usize) {
                    Some(raw) => json::field_value(&r.record.template.fields[i as usize], raw, &mut cx, out, 0),
                    None => out.extend_from_slice(b"null"),
                },
                Slot::Repeated(i) => {
                    let t = r.record.template;
                    out.push(b'[');
                    for (k, &j) in t.all_of(&t.fields[i as usize]).iter().enumerate() {
                        if k > 0 {
                            out.push(b',');
                        }
                        match r.record.raw(j as usize) {
                            Some(raw) => json::field_value(&t.fields[j as usize], raw, &mut cx, out, 0),
                            None => out.extend_from_slice(b"null"),
                        }
                    }
                    out.push(b']');
                }
                Slot::Missing => out.extend_from_slice(b"null"),
            }
        }
        if out.len() == open {
            out.push(b'{');
        } else {
            out[open] = b'{';
        }
        out.extend_from_slice(b"}\n");
    }

    /// The record's chosen fields as text cells (table, CSV); a missing field is an empty cell and
    /// a repeated one its values separated by spaces (`frame` of live input is empty too).
    pub fn cells(&mut self, r: &RecordRef<'_>, with_frame: bool) -> Vec<String> {
        let plan = self.plans.get(&self.columns, r.template);
        let text = |i: u16| -> String {
            let field = &r.record.template.fields[i as usize];
            match r.record.raw(i as usize) {
                Some(_) if field.spec.length == 0 => String::new(),
                Some(raw) => display(&Value::decode(field.data_type, raw), r.templates),
                None => String::new(),
            }
        };
        plan.iter()
            .map(|slot| match *slot {
                Slot::Meta(Meta::Frame) if !with_frame => String::new(),
                Slot::Meta(m) => meta_text(m, r),
                Slot::Unsigned { at, len } => fixed_raw(r, at, len as usize)
                    .map(|raw| read_unsigned(raw).unwrap_or(0).to_string())
                    .unwrap_or_default(),
                Slot::Ipv4 { at } => fixed_raw(r, at, 4)
                    .map(|raw| Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).to_string())
                    .unwrap_or_default(),
                Slot::Field(i) => text(i),
                Slot::Repeated(i) => {
                    let t = r.record.template;
                    t.all_of(&t.fields[i as usize]).iter().map(|&j| text(j)).collect::<Vec<_>>().join(" ")
                }
                Slot::Missing => String::new(),
            })
            .collect()
    }

    /// Appends the record's chosen fields as one CSV line ([`csv_line`]'s rules), written
    /// straight into `out` without a string per cell for the common types.
    pub fn csv(&mut self, r: &RecordRef<'_>, with_frame: bool, out: &mut Vec<u8>) {
        let plan = self.plans.get(&self.columns, r.template);
        let t = r.record.template;
        for (k, slot) in plan.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            let start = out.len();
            match *slot {
                // Digits and dots: nothing to quote.
                Slot::Unsigned { at, len } => {
                    if let Some(raw) = fixed_raw(r, at, len as usize) {
                        json::unsigned(read_unsigned(raw).unwrap_or(0), out);
                    }
                    continue;
                }
                Slot::Ipv4 { at } => {
                    if let Some(raw) = fixed_raw(r, at, 4) {
                        fixed_ipv4(raw, out);
                    }
                    continue;
                }
                Slot::Meta(Meta::Frame) if !with_frame => {}
                Slot::Meta(Meta::Frame) => json::unsigned(r.meta.origin.frame, out),
                Slot::Meta(m) => out.extend_from_slice(meta_text(m, r).as_bytes()),
                Slot::Field(i) => field_text(r, i as usize, out),
                Slot::Repeated(i) => {
                    for (n, &j) in t.all_of(&t.fields[i as usize]).iter().enumerate() {
                        if n > 0 {
                            out.push(b' ');
                        }
                        field_text(r, j as usize, out);
                    }
                }
                Slot::Missing => {}
            }
            if out[start..].iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
                let cell = out.split_off(start);
                quoted(&cell, out);
            }
        }
        out.push(b'\n');
    }
}

/// A field's value as the table shows it; the common fixed-size types are written from their
/// bytes.
fn field_text(r: &RecordRef<'_>, index: usize, out: &mut Vec<u8>) {
    let field = &r.record.template.fields[index];
    let Some(raw) = r.record.raw(index) else { return };
    if field.spec.length == 0 {
        return;
    }
    match (field.data_type, raw.len()) {
        (DataType::Unsigned8 | DataType::Unsigned16 | DataType::Unsigned32 | DataType::Unsigned64, 1..=8) => {
            json::unsigned(read_unsigned(raw).unwrap_or(0), out);
        }
        (DataType::Ipv4Address, 4) => json::ipv4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]), out),
        _ => out.extend_from_slice(display(&Value::decode(field.data_type, raw), r.templates).as_bytes()),
    }
}

fn quoted(cell: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in cell {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn compile(column: &Column, template: &Template) -> Slot {
    match column {
        Column::Meta(m) => Slot::Meta(*m),
        Column::Element(name) => match template.fields.iter().position(|f| template.name(f) == &**name) {
            Some(i) if matches!(template.fields[i].occurrence, Occurrence::First { .. }) => Slot::Repeated(i as u16),
            Some(i) => fixed(&template.fields[i]).unwrap_or(Slot::Field(i as u16)),
            None => Slot::Missing,
        },
    }
}

/// The fast slot of a field whose place and form every record of the template shares.
fn fixed(field: &Field) -> Option<Slot> {
    let at = u16::try_from(field.offset()?).ok()?;
    let len = field.spec.length;
    match field.data_type {
        DataType::Unsigned8 | DataType::Unsigned16 | DataType::Unsigned32 | DataType::Unsigned64
            if (1..=8).contains(&len) =>
        {
            Some(Slot::Unsigned { at, len: len as u8 })
        }
        DataType::Ipv4Address if len == 4 => Some(Slot::Ipv4 { at }),
        _ => None,
    }
}

/// The bytes of a fixed slot; none when the record is too short for them, as
/// [`DataRecord::raw`](crate::core::ipfix::record::DataRecord::raw) does.
#[inline]
fn fixed_raw<'a>(r: &RecordRef<'a>, at: u16, len: usize) -> Option<&'a [u8]> {
    r.record.bytes.get(at as usize..at as usize + len)
}

#[inline]
fn fixed_ipv4(raw: &[u8], out: &mut Vec<u8>) {
    json::ipv4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]), out);
}

fn meta_json(m: Meta, r: &RecordRef<'_>, times: &mut Rfc3339Cache, out: &mut Vec<u8>) {
    let (origin, header) = (&r.meta.origin, &r.meta.header);
    let addr = |a: Option<std::net::SocketAddr>, out: &mut Vec<u8>| match a {
        Some(a) => {
            out.push(b'"');
            json::socket_addr(a, out);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    };
    match m {
        Meta::Frame => json::unsigned(origin.frame, out),
        Meta::Time => {
            out.push(b'"');
            times.write(origin.time, out);
            out.push(b'"');
        }
        Meta::Exporter => addr(origin.exporter, out),
        Meta::Collector => addr(origin.collector, out),
        Meta::Version => json::unsigned(header.version as u64, out),
        Meta::ObservationDomainId => json::unsigned(header.domain as u64, out),
        Meta::SequenceNumber => json::unsigned(header.sequence as u64, out),
        Meta::ExportTime => json::unsigned(header.export_time as u64, out),
        Meta::SysUptime => match header.sys_uptime {
            Some(up) => json::unsigned(up as u64, out),
            None => out.extend_from_slice(b"null"),
        },
        Meta::TemplateId => json::unsigned(r.record.template.id as u64, out),
        Meta::Kind => out.extend_from_slice(if r.record.template.is_options() { b"\"options\"" } else { b"\"data\"" }),
        Meta::Late => out.extend_from_slice(if r.late { b"true" } else { b"false" }),
    }
}

fn meta_text(m: Meta, r: &RecordRef<'_>) -> String {
    let (origin, header) = (&r.meta.origin, &r.meta.header);
    match m {
        Meta::Frame => origin.frame.to_string(),
        Meta::Time => origin.time.to_string(),
        Meta::Exporter => origin.exporter.map(|a| a.to_string()).unwrap_or_default(),
        Meta::Collector => origin.collector.map(|a| a.to_string()).unwrap_or_default(),
        Meta::Version => header.version.to_string(),
        Meta::ObservationDomainId => header.domain.to_string(),
        Meta::SequenceNumber => header.sequence.to_string(),
        Meta::ExportTime => header.export_time.to_string(),
        Meta::SysUptime => header.sys_uptime.map(|u| u.to_string()).unwrap_or_default(),
        Meta::TemplateId => r.record.template.id.to_string(),
        Meta::Kind => if r.record.template.is_options() { "options" } else { "data" }.to_string(),
        Meta::Late => r.late.to_string(),
    }
}

/// `ie{ID}` or `ie{PEN}.{ID}`, the names of elements the registry does not know.
fn is_numbered(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("ie") else { return false };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match rest.split_once('.') {
        Some((pen, id)) => digits(pen) && pen.parse::<u32>().is_ok() && digits(id) && id.parse::<u16>().is_ok(),
        None => digits(rest) && rest.parse::<u16>().is_ok(),
    }
}

/// Up to three known names within a small edit distance, nearest first.
fn close_matches(name: &str) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    let limit = (name.len() / 3).clamp(1, 4);
    let mut scored: Vec<(usize, &str)> = registry::all()
        .iter()
        .map(|ie| ie.name)
        .chain(META.iter().map(|(n, _)| *n))
        .filter_map(|n| {
            let d = edit_distance(&lower, &n.to_ascii_lowercase());
            (d <= limit).then_some((d, n))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, n)| n.to_string()).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Appends one CSV line: cells quoted per RFC 4180 when they hold a comma, a quote or a line
/// break (quotes doubled), lines ended by `\n`.
pub fn csv_line<S: AsRef<str>>(cells: impl IntoIterator<Item = S>, out: &mut Vec<u8>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let cell = cell.as_ref();
        if cell.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            quoted(cell.as_bytes(), out);
        } else {
            out.extend_from_slice(cell.as_bytes());
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_per_rfc_4180() {
        let mut out = Vec::new();
        csv_line(["a", "b,c", "say \"hi\"", "two\nlines", ""], &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",\n");
    }

    #[test]
    fn names_resolve_and_an_unknown_one_suggests_close_matches() {
        let s = Selection::parse(&["frame", "sourceIPv4Address", "ie999", "ie9.1", "fields.templateId"]).unwrap();
        assert_eq!(
            s.labels().collect::<Vec<_>>(),
            ["frame", "sourceIPv4Address", "ie999", "ie9.1", "fields.templateId"]
        );
        let e = Selection::parse(&["sourceIpv4Adress"]).err().unwrap();
        assert!(e.close.contains(&"sourceIPv4Address".to_string()), "{e}");
        assert!(Selection::parse(&["ie70000"]).is_err());
    }
}
