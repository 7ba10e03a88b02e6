//! Templates: parsing template and options-template records (IPFIX and NetFlow v9), and
//! compiling them once into what decoding a record needs (names, types, fixed offsets, record
//! lengths), so that the per-record work is a walk over precomputed lengths.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use super::error::DecodeError;
use super::message::{MIN_DATA_SET_ID, NETFLOW_V9_VERSION};
use super::registry::{self, InformationElement, PEN_NETFLOW_V9, PEN_NETFLOW_V9_SCOPE};
use super::types::{DataType, VARLEN};

/// A field specifier: which element, and how many bytes it takes in a record
/// ([`VARLEN`] for variable length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldSpec {
    /// Element id without the enterprise bit.
    pub id: u16,
    /// Private Enterprise Number; 0 for IANA elements.
    pub pen: u32,
    pub length: u16,
}

impl FieldSpec {
    pub const fn iana(id: u16, length: u16) -> Self {
        FieldSpec { id, pen: 0, length }
    }

    pub const fn enterprise(pen: u32, id: u16, length: u16) -> Self {
        FieldSpec { id, pen, length }
    }

    /// The field specifier for a registry element at its default length.
    pub fn of(ie: &InformationElement) -> Self {
        FieldSpec { id: ie.id, pen: ie.pen, length: ie.default_length() }
    }

    pub fn is_varlen(&self) -> bool {
        self.length == VARLEN
    }
}

impl fmt::Display for FieldSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pen == 0 {
            write!(f, "{}", self.id)?;
        } else {
            write!(f, "{}/{}", self.pen, self.id)?;
        }
        if self.is_varlen() { f.write_str("[varlen]") } else { write!(f, "[{}]", self.length) }
    }
}

/// How a field's name relates to the other fields of its template: the record output keeps every
/// value of a name that appears several times, as an array at the first occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occurrence {
    Unique,
    /// The first of several fields with this name; [`Template::all_of`] gives the indices of
    /// all of them (`count` entries of the template's repeat table from `at`).
    First {
        at: u32,
        count: u16,
    },
    /// A later field with a name already seen.
    Repeat,
}

/// One compiled field of a template. It owns nothing: its name and JSON key live once per
/// distinct name in the template's key table, so a template of thousands of fields costs
/// [`FIELD_BYTES`] a field plus its distinct names (issue #20).
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub spec: FieldSpec,
    /// Offset within a record, or [`NO_OFFSET`] once a field before has variable length.
    offset: u32,
    /// Where `,"name":` starts in the template's key table.
    key_at: u32,
    pub occurrence: Occurrence,
    key_len: u16,
    /// The element's type; unknown elements are octet arrays.
    pub data_type: DataType,
}

const NO_OFFSET: u32 = u32::MAX;

/// What one field of a compiled template costs, its share of the key table aside.
pub const FIELD_BYTES: usize = std::mem::size_of::<Field>();

impl Field {
    /// Offset within a record, when every field before this one has a fixed length.
    #[inline]
    pub fn offset(&self) -> Option<usize> {
        (self.offset != NO_OFFSET).then_some(self.offset as usize)
    }
}

/// A compiled template or options template.
#[derive(Clone, Debug)]
pub struct Template {
    pub id: u16,
    /// Number of scope fields: 0 for a data template, ≥1 for an options template.
    pub scope_count: u16,
    pub fields: Box<[Field]>,
    /// The length of every record, when no field has variable length.
    pub record_len: Option<usize>,
    /// The shortest possible record (variable-length fields count one byte): fewer bytes left in
    /// a set than this are padding (RFC 7011 §3.3.1).
    pub min_record_len: usize,
    /// `,"name":` of each distinct name, the field's key in the JSON record contract, built once
    /// with the template because printing keys is a large share of printing records. Each is
    /// zero-padded to a multiple of 16 bytes so a printer can copy it in fixed-size moves.
    keys: Box<[u8]>,
    /// The field indices of every repeated name, one run per name.
    repeats: Box<[u16]>,
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.scope_count == other.scope_count && self.same_fields(other.specs())
    }
}

impl Template {
    /// Compiles a template from its field specifiers. `scope_count` is 0 for data templates.
    pub fn new(id: u16, scope_count: u16, specs: impl IntoIterator<Item = FieldSpec>) -> Template {
        let specs = specs.into_iter();
        let mut offset = Some(0usize);
        let mut min_record_len = 0usize;
        let mut keys: Vec<u8> = Vec::new();
        // Each distinct name: where its key is, and the fields carrying it.
        let mut names: HashMap<Cow<'static, str>, usize> = HashMap::new();
        let mut groups: Vec<(u32, u16, Vec<u16>)> = Vec::new();
        let mut fields: Vec<Field> = Vec::with_capacity(specs.size_hint().0);
        for spec in specs {
            let (name, data_type) = describe(spec);
            let index = fields.len() as u16;
            let group = *names.entry(name).or_insert_with_key(|name| {
                let at = keys.len();
                keys.extend_from_slice(b",\"");
                keys.extend_from_slice(name.as_bytes());
                keys.extend_from_slice(b"\":");
                let len = keys.len() - at;
                keys.resize(at + len.next_multiple_of(16), 0);
                groups.push((at as u32, len as u16, Vec::new()));
                groups.len() - 1
            });
            let (key_at, key_len, members) = &mut groups[group];
            members.push(index);
            let occurrence = if members.len() > 1 { Occurrence::Repeat } else { Occurrence::Unique };
            let at = offset.and_then(|o| u32::try_from(o).ok()).filter(|&o| o != NO_OFFSET).unwrap_or(NO_OFFSET);
            fields.push(Field { spec, offset: at, key_at: *key_at, occurrence, key_len: *key_len, data_type });
            if spec.is_varlen() {
                offset = None;
                min_record_len += 1;
            } else {
                offset = offset.map(|o| o + spec.length as usize);
                min_record_len += spec.length as usize;
            }
        }
        let mut repeats = Vec::new();
        for (_, _, members) in groups.iter().filter(|(_, _, members)| members.len() > 1) {
            let at = repeats.len() as u32;
            fields[members[0] as usize].occurrence = Occurrence::First { at, count: members.len() as u16 };
            repeats.extend_from_slice(members);
        }
        Template {
            id,
            scope_count,
            fields: fields.into_boxed_slice(),
            record_len: offset,
            min_record_len,
            keys: keys.into_boxed_slice(),
            repeats: repeats.into_boxed_slice(),
        }
    }

    /// The field's element name, or `ie{ID}` / `ie{PEN}.{ID}` for elements the registry does
    /// not know.
    pub fn name(&self, field: &Field) -> &str {
        let (key, len) = self.json_key(field);
        std::str::from_utf8(key.get(2..len.saturating_sub(2)).unwrap_or_default()).unwrap_or_default()
    }

    /// `,"name":` zero-padded to a multiple of 16 bytes, and the length of the key in it.
    #[inline]
    pub fn json_key(&self, field: &Field) -> (&[u8], usize) {
        let at = field.key_at as usize;
        let len = field.key_len as usize;
        (self.keys.get(at..at + len.next_multiple_of(16)).unwrap_or_default(), len)
    }

    /// The indices of every field that carries the same name as `field`, when it is the first of
    /// several ([`Occurrence::First`]); empty otherwise.
    #[inline]
    pub fn all_of(&self, field: &Field) -> &[u16] {
        match field.occurrence {
            Occurrence::First { at, count } => {
                self.repeats.get(at as usize..at as usize + count as usize).unwrap_or_default()
            }
            _ => &[],
        }
    }

    /// The bytes this template holds on the heap and inline, capacity counted, for the
    /// template store's bounds.
    pub fn memory(&self) -> usize {
        std::mem::size_of::<Template>()
            + std::mem::size_of_val::<[Field]>(&self.fields)
            + self.keys.len()
            + std::mem::size_of_val::<[u16]>(&self.repeats)
    }

    pub fn is_options(&self) -> bool {
        self.scope_count > 0
    }

    pub fn specs(&self) -> impl ExactSizeIterator<Item = FieldSpec> + '_ {
        self.fields.iter().map(|f| f.spec)
    }

    /// Whether `specs` are exactly this template's fields.
    pub fn same_fields(&self, specs: impl ExactSizeIterator<Item = FieldSpec>) -> bool {
        specs.len() == self.fields.len() && self.fields.iter().zip(specs).all(|(f, s)| f.spec == s)
    }

    /// The index of the first field carrying element (`pen`, `id`).
    pub fn position(&self, pen: u32, id: u16) -> Option<usize> {
        self.fields.iter().position(|f| f.spec.pen == pen && f.spec.id == id)
    }

    /// The length of the record at the start of `bytes`, or `None` when a field runs past the
    /// end of `bytes`.
    #[inline]
    pub fn record_length(&self, bytes: &[u8]) -> Option<usize> {
        if let Some(len) = self.record_len {
            return (len <= bytes.len()).then_some(len);
        }
        let mut pos = 0usize;
        for field in self.fields.iter() {
            if field.spec.is_varlen() {
                let (prefix, len) = varlen_prefix(bytes.get(pos..)?)?;
                pos += prefix + len;
            } else {
                pos += field.spec.length as usize;
            }
            if pos > bytes.len() {
                return None;
            }
        }
        Some(pos)
    }
}

/// Reads the RFC 7011 §7 length prefix of a variable-length field: one byte below 255, or 255
/// followed by a two-byte length. Returns (prefix size, value length).
#[inline]
pub fn varlen_prefix(bytes: &[u8]) -> Option<(usize, usize)> {
    match *bytes.first()? {
        255 => {
            let b = bytes.get(1..3)?;
            Some((3, u16::from_be_bytes([b[0], b[1]]) as usize))
        }
        n => Some((1, n as usize)),
    }
}

fn describe(spec: FieldSpec) -> (Cow<'static, str>, DataType) {
    match registry::lookup(spec.pen, spec.id) {
        Some(ie) => (Cow::Borrowed(ie.name), ie.data_type),
        None => {
            let name = if spec.pen == 0 { format!("ie{}", spec.id) } else { format!("ie{}.{}", spec.pen, spec.id) };
            (Cow::Owned(name), DataType::OctetArray)
        }
    }
}

/// One record of a template set or options template set.
#[derive(Clone, Copy, Debug)]
pub struct TemplateRecord<'a> {
    /// Offset of the record from the start of the message.
    pub offset: usize,
    pub id: u16,
    /// 0 for data templates.
    pub scope_count: u16,
    /// What the record does.
    pub action: TemplateAction<'a>,
}

#[derive(Clone, Copy, Debug)]
pub enum TemplateAction<'a> {
    /// Defines (or re-sends) the template.
    Define(FieldSpecs<'a>),
    /// Withdraws the template (IPFIX, field count 0); id 2 in a template set or 3 in an options
    /// template set withdraws all templates of that kind.
    Withdraw,
}

/// The field specifiers of a template record, decoded on the fly from the wire.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpecs<'a> {
    version: u16,
    raw: &'a [u8],
    count: usize,
    /// NetFlow v9 options templates: how many leading fields are scope fields, which live in
    /// their own number space.
    v9_scopes: usize,
}

impl<'a> FieldSpecs<'a> {
    pub fn iter(&self) -> FieldSpecIter<'a> {
        FieldSpecIter { specs: *self, pos: 0, index: 0 }
    }
}

pub struct FieldSpecIter<'a> {
    specs: FieldSpecs<'a>,
    pos: usize,
    index: usize,
}

impl Iterator for FieldSpecIter<'_> {
    type Item = FieldSpec;

    fn next(&mut self) -> Option<FieldSpec> {
        if self.index >= self.specs.count {
            return None;
        }
        let raw = self.specs.raw;
        let id = u16::from_be_bytes([raw[self.pos], raw[self.pos + 1]]);
        let length = u16::from_be_bytes([raw[self.pos + 2], raw[self.pos + 3]]);
        self.pos += 4;
        let spec = if self.specs.version == NETFLOW_V9_VERSION {
            if self.index < self.specs.v9_scopes {
                FieldSpec::enterprise(PEN_NETFLOW_V9_SCOPE, id, length)
            } else {
                v9_field(id, length)
            }
        } else if id & 0x8000 != 0 {
            let pen = u32::from_be_bytes([raw[self.pos], raw[self.pos + 1], raw[self.pos + 2], raw[self.pos + 3]]);
            self.pos += 4;
            FieldSpec::enterprise(pen, id & 0x7fff, length)
        } else {
            FieldSpec::iana(id, length)
        };
        self.index += 1;
        Some(spec)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.specs.count - self.index;
        (left, Some(left))
    }
}

impl ExactSizeIterator for FieldSpecIter<'_> {}

/// NetFlow v9 field types are IANA element ids, except those IANA never assigned (Cisco's
/// extensions, some above 32767), which are named from the NetFlow v9 vendor list.
fn v9_field(id: u16, length: u16) -> FieldSpec {
    if id < 0x8000 && (registry::lookup(0, id).is_some() || registry::lookup(PEN_NETFLOW_V9, id).is_none()) {
        FieldSpec::iana(id, length)
    } else {
        FieldSpec::enterprise(PEN_NETFLOW_V9, id, length)
    }
}

/// Iterator over the records of a template set (`options == false`) or options template set.
pub struct TemplateRecords<'a> {
    version: u16,
    options: bool,
    body: &'a [u8],
    pos: usize,
    /// Offset of `body` from the start of the message.
    base: usize,
    failed: bool,
}

impl<'a> TemplateRecords<'a> {
    /// `base` is the offset of `body` from the start of the message.
    pub fn new(version: u16, options: bool, body: &'a [u8], base: usize) -> Self {
        TemplateRecords { version, options, body, pos: 0, base, failed: false }
    }

    fn be16(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.body[at], self.body[at + 1]])
    }

    fn truncated(&mut self, template_id: u16, need: usize) -> Option<Result<TemplateRecord<'a>, DecodeError>> {
        self.failed = true;
        Some(Err(DecodeError::TruncatedTemplate {
            offset: self.base + self.pos,
            template_id,
            need,
            remaining: self.body.len() - self.pos,
        }))
    }

    /// Walks `count` field specifiers from `start`; returns where they end.
    fn walk_specs(&self, start: usize, count: usize) -> Option<usize> {
        let mut at = start;
        for _ in 0..count {
            if at + 4 > self.body.len() {
                return None;
            }
            let enterprise = self.version != NETFLOW_V9_VERSION && self.body[at] & 0x80 != 0;
            at += if enterprise { 8 } else { 4 };
        }
        (at <= self.body.len()).then_some(at)
    }
}

impl<'a> Iterator for TemplateRecords<'a> {
    type Item = Result<TemplateRecord<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.body[self.pos.min(self.body.len())..];
        // Padding: what is left is too short for a record, or only zeros.
        if self.failed || rest.len() < 4 || rest.iter().all(|&b| b == 0) {
            return None;
        }
        let offset = self.base + self.pos;
        let id = self.be16(self.pos);
        let v9 = self.version == NETFLOW_V9_VERSION;
        if v9 && self.options {
            // Template id, scope length and option length, in bytes (RFC 3954 §6.1).
            if rest.len() < 6 {
                return self.truncated(id, 6);
            }
            let scope_length = self.be16(self.pos + 2);
            let option_length = self.be16(self.pos + 4);
            let need = 6 + scope_length as usize + option_length as usize;
            if !scope_length.is_multiple_of(4) || !option_length.is_multiple_of(4) || need > rest.len() {
                self.failed = true;
                return Some(Err(DecodeError::BadOptionsLengths {
                    offset,
                    template_id: id,
                    scope_length,
                    option_length,
                }));
            }
            let start = self.pos + 6;
            self.pos += need;
            let scopes = scope_length as usize / 4;
            let specs = FieldSpecs {
                version: self.version,
                raw: &self.body[start..start + need - 6],
                count: scopes + option_length as usize / 4,
                v9_scopes: scopes,
            };
            if id < MIN_DATA_SET_ID {
                return Some(Err(DecodeError::InvalidTemplateId { offset, template_id: id }));
            }
            // RFC 3954 requires a scope, but Juniper sends none; the template still decodes.
            return Some(Ok(TemplateRecord {
                offset,
                id,
                scope_count: scopes.max(1) as u16,
                action: TemplateAction::Define(specs),
            }));
        }
        let count = self.be16(self.pos + 2) as usize;
        if count == 0 {
            self.pos += 4;
            if v9 {
                return Some(Err(DecodeError::EmptyTemplate { offset, template_id: id }));
            }
            return Some(Ok(TemplateRecord { offset, id, scope_count: 0, action: TemplateAction::Withdraw }));
        }
        let header = if self.options { 6 } else { 4 };
        if rest.len() < header {
            return self.truncated(id, header);
        }
        let scope_count = if self.options { self.be16(self.pos + 4) } else { 0 };
        let Some(end) = self.walk_specs(self.pos + header, count) else {
            return self.truncated(id, header + 4 * count);
        };
        let specs = FieldSpecs { version: self.version, raw: &self.body[self.pos + header..end], count, v9_scopes: 0 };
        self.pos = end;
        if id < MIN_DATA_SET_ID {
            return Some(Err(DecodeError::InvalidTemplateId { offset, template_id: id }));
        }
        if self.options && scope_count == 0 {
            return Some(Err(DecodeError::ZeroScopeCount { offset, template_id: id }));
        }
        if scope_count as usize > count {
            return Some(Err(DecodeError::ScopeCountExceedsFields {
                offset,
                template_id: id,
                scope_count,
                field_count: count as u16,
            }));
        }
        Some(Ok(TemplateRecord { offset, id, scope_count, action: TemplateAction::Define(specs) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ipfix::message::IPFIX_VERSION;

    #[test]
    fn compiles_fixed_and_variable_templates() {
        let t = Template::new(
            256,
            0,
            [FieldSpec::iana(8, 4), FieldSpec::iana(1, 4), FieldSpec::iana(82, VARLEN), FieldSpec::iana(4, 1)],
        );
        assert_eq!(t.record_len, None);
        assert_eq!(t.min_record_len, 10);
        let offsets: Vec<_> = t.fields.iter().map(|f| f.offset()).collect();
        assert_eq!(offsets, [Some(0), Some(4), Some(8), None]);
        assert_eq!(t.name(&t.fields[2]), "interfaceName");
        assert_eq!(t.fields[1].data_type, DataType::Unsigned64);
        // 4 + 4 + (1 + 3) + 1
        assert_eq!(t.record_length(&[0, 0, 0, 0, 0, 0, 0, 0, 3, b'e', b't', b'h', 6]), Some(13));
        assert_eq!(t.record_length(&[0, 0, 0, 0, 0, 0, 0, 0, 9, b'e']), None);
        // The three-byte form.
        let mut long = vec![0u8; 8];
        long.extend_from_slice(&[255, 0, 3, b'a', b'b', b'c', 17]);
        assert_eq!(t.record_length(&long), Some(15));
    }

    #[test]
    fn names_unknown_and_repeated_elements() {
        let t = Template::new(
            300,
            0,
            [FieldSpec::iana(999, 2), FieldSpec::enterprise(12345, 7, 4), FieldSpec::iana(1, 8), FieldSpec::iana(1, 8)],
        );
        assert_eq!(t.name(&t.fields[0]), "ie999");
        assert_eq!(t.name(&t.fields[1]), "ie12345.7");
        assert_eq!(t.json_key(&t.fields[1]), (&b",\"ie12345.7\":\0\0\0"[..], 13));
        assert!(matches!(t.fields[2].occurrence, Occurrence::First { .. }));
        assert_eq!(t.all_of(&t.fields[2]), [2, 3]);
        assert_eq!(t.fields[3].occurrence, Occurrence::Repeat);
        assert_eq!(t.name(&t.fields[3]), "octetDeltaCount");
    }

    /// Issue #20: a compiled field took ~160 bytes (a name, a boxed JSON key, a boxed list of
    /// repeats, each its own allocation), so templates of 16,000 fields cost 2.6 MB each.
    #[test]
    fn a_field_plan_is_compact_and_its_memory_is_what_it_holds() {
        const { assert!(FIELD_BYTES <= 28, "a field takes more than 28 bytes") };
        let t = Template::new(256, 0, (0..16_000).map(|i| FieldSpec::iana(1000 + i, 4)));
        // Every name distinct and unknown: `,"ie1000":` padded to 16 bytes each.
        assert_eq!(t.memory(), std::mem::size_of::<Template>() + 16_000 * (FIELD_BYTES + 16));
        assert_eq!(t.name(&t.fields[15_999]), "ie16999");
        // One name repeated: its key once, two bytes a field for the list of repeats.
        let t = Template::new(257, 0, (0..16_000).map(|_| FieldSpec::iana(1, 8)));
        let key = b",\"octetDeltaCount\":".len().next_multiple_of(16);
        assert_eq!(t.memory(), std::mem::size_of::<Template>() + 16_000 * (FIELD_BYTES + 2) + key);
        assert_eq!(t.all_of(&t.fields[0]).len(), 16_000);
    }

    #[test]
    fn parses_template_sets_with_enterprise_fields_withdrawals_and_padding() {
        let body = [
            1, 0, 0, 2, // template 256, 2 fields
            0, 8, 0, 4, // sourceIPv4Address
            0x80, 101, 0xff, 0xff, 0, 0, 0xdc, 0xba, // PEN 56506 id 101, varlen
            1, 1, 0, 0, // withdrawal of 257
            0, 0, // padding
        ];
        let recs: Vec<_> = TemplateRecords::new(IPFIX_VERSION, false, &body, 20).collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[0].id, recs[0].offset), (256, 20));
        let TemplateAction::Define(specs) = recs[0].action else { panic!("expected a definition") };
        let specs: Vec<_> = specs.iter().collect();
        assert_eq!(specs, [FieldSpec::iana(8, 4), FieldSpec::enterprise(56506, 101, VARLEN)]);
        assert!(matches!(recs[1].action, TemplateAction::Withdraw));
        assert_eq!(recs[1].id, 257);
        let t = Template::new(256, 0, specs);
        assert_eq!(t.name(&t.fields[1]), "sourcePodName");
    }

    #[test]
    fn rejects_options_templates_without_scope_and_truncated_records() {
        let body = [1, 0, 0, 1, 0, 0, 0, 149, 0, 4];
        let recs: Vec<_> = TemplateRecords::new(IPFIX_VERSION, true, &body, 16).collect();
        assert!(matches!(recs[..], [Err(DecodeError::ZeroScopeCount { template_id: 256, .. })]));
        let body = [1, 0, 0, 3, 0, 8, 0, 4, 0, 12];
        let recs: Vec<_> = TemplateRecords::new(IPFIX_VERSION, false, &body, 16).collect();
        assert!(matches!(recs[..], [Err(DecodeError::TruncatedTemplate { template_id: 256, .. })]));
    }

    #[test]
    fn parses_netflow_v9_options_templates_including_a_zero_length_scope() {
        let body = [
            1, 4, 0, 4, 0, 8, // template 260, scope length 4, option length 8
            0, 1, 0, 0, // scope: system, length 0 (Juniper SRX)
            0, 34, 0, 4, 0, 35, 0, 1, // samplingInterval, samplingAlgorithm
            0, 0, // padding to 4 bytes
        ];
        let recs: Vec<_> = TemplateRecords::new(NETFLOW_V9_VERSION, true, &body, 24).collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 1);
        let TemplateAction::Define(specs) = recs[0].action else { panic!("expected a definition") };
        let t = Template::new(recs[0].id, recs[0].scope_count, specs.iter());
        assert_eq!(t.scope_count, 1);
        let names: Vec<_> = t.fields.iter().map(|f| t.name(f)).collect();
        assert_eq!(names, ["scopeSystem", "samplingInterval", "samplingAlgorithm"]);
        assert_eq!(t.record_len, Some(5));
    }
}
