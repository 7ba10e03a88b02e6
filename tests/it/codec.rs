//! Property tests of the IPFIX / NetFlow v9 codec, as a user of `MessageWriter` and `Decoder` sees it.
//!
//! Random messages are described by a plan (templates drawn from the registry, records of values),
//! written with the encoder and read back with the decoder; every decoded value must be the value
//! that was written. The submodules reuse the generators: `malformed` feeds broken input and
//! meters allocation, `oracle` checks the decoder against the independent `netflow_parser` crate.

mod malformed;
mod oracle;

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, LazyLock};

use flowctl::core::ipfix::decoder::{MessageMeta, Templates};
use flowctl::core::ipfix::message::MessageHeader;
use flowctl::core::ipfix::record::Records;
use flowctl::core::ipfix::registry::{self, InformationElement, PEN_NETFLOW_V9, PEN_NETFLOW_V9_SCOPE};
use flowctl::core::ipfix::{
    DataType, DecodeError, Decoder, DecoderConfig, FieldSpec, MessageWriter, Origin, RecordRef, RecordWriter,
    SessionKey, Template, Transport, VARLEN, Value, Visitor,
};
use flowctl::core::time::{NTP_UNIX_OFFSET, Timestamp};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Ipfix,
    NetflowV9,
}

/// Every abstract data type a scalar field can have (RFC 7012 §3.1).
const SCALAR_TYPES: [DataType; 20] = [
    DataType::OctetArray,
    DataType::Unsigned8,
    DataType::Unsigned16,
    DataType::Unsigned32,
    DataType::Unsigned64,
    DataType::Signed8,
    DataType::Signed16,
    DataType::Signed32,
    DataType::Signed64,
    DataType::Float32,
    DataType::Float64,
    DataType::Boolean,
    DataType::MacAddress,
    DataType::String,
    DataType::DateTimeSeconds,
    DataType::DateTimeMilliseconds,
    DataType::DateTimeMicroseconds,
    DataType::DateTimeNanoseconds,
    DataType::Ipv4Address,
    DataType::Ipv6Address,
];

type Pool = HashMap<DataType, Vec<&'static InformationElement>>;

fn pool_of(keep: impl Fn(&InformationElement) -> bool) -> Pool {
    let mut pool = Pool::new();
    for ie in registry::all().iter().filter(|ie| keep(ie)) {
        pool.entry(ie.data_type).or_default().push(ie);
    }
    pool
}

/// IPFIX can carry any registry element with a 15-bit id; the pseudo enterprise numbers that
/// name NetFlow v9 field types mean nothing in IPFIX.
static IPFIX_POOL: LazyLock<Pool> = LazyLock::new(|| pool_of(|ie| ie.id < 0x8000 && ie.pen < PEN_NETFLOW_V9_SCOPE));

/// NetFlow v9 has no enterprise numbers: IANA ids, and the vendor field types the decoder names
/// from the NetFlow v9 list (those IANA never assigned, or above 32767).
static V9_POOL: LazyLock<Pool> = LazyLock::new(|| {
    pool_of(|ie| ie.pen == 0 || (ie.pen == PEN_NETFLOW_V9 && (ie.id >= 0x8000 || registry::lookup(0, ie.id).is_none())))
});

fn pool(version: Version) -> &'static Pool {
    match version {
        Version::Ipfix => &IPFIX_POOL,
        Version::NetflowV9 => &V9_POOL,
    }
}

fn scalar_types(version: Version) -> Vec<DataType> {
    SCALAR_TYPES.into_iter().filter(|t| pool(version).contains_key(t)).collect()
}

/// Which `RecordWriter` call writes a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    /// The typed primitive: `unsigned`, `signed`, `float`, `fixed` or `varlen` (shortest prefix).
    Primitive,
    /// `varlen_long`: the 3-byte prefix even for short values.
    LongPrefix,
    /// The generic `RecordWriter::value`.
    Generic,
}

/// One field of a template and how its values are written.
#[derive(Clone, Debug)]
struct FieldPlan {
    spec: FieldSpec,
    data_type: DataType,
    writer: Writer,
}

impl FieldPlan {
    /// A field as a list element: typed by the registry, written with the primitives.
    fn element(spec: FieldSpec) -> FieldPlan {
        let data_type = registry::lookup(spec.pen, spec.id).map_or(DataType::OctetArray, |ie| ie.data_type);
        FieldPlan { spec, data_type, writer: Writer::Primitive }
    }
}

#[derive(Clone, Debug)]
struct TemplatePlan {
    id: u16,
    scope_count: u16,
    fields: Vec<FieldPlan>,
}

impl TemplatePlan {
    fn specs(&self) -> Vec<FieldSpec> {
        self.fields.iter().map(|f| f.spec).collect()
    }

    fn template(&self) -> Template {
        Template::new(self.id, self.scope_count, self.specs())
    }
}

/// The shortest record of these fields, each variable-length one counting one byte
/// (RFC 7011 §3.3.1): set padding must be shorter than this.
fn min_record_len(fields: &[FieldPlan]) -> usize {
    fields.iter().map(|f| if f.spec.is_varlen() { 1 } else { usize::from(f.spec.length) }).sum()
}

/// A value as the decoder should hand it back, owned so that plans and decoded messages compare.
#[derive(Clone, Debug, PartialEq)]
enum Owned {
    Absent,
    Unsigned(u64),
    Signed(i64),
    /// The bits, so that -0.0 and 0.0 differ.
    Float(u64),
    Bool(bool),
    Mac([u8; 6]),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    String(Vec<u8>),
    Octets(Vec<u8>),
    Time(Timestamp),
    BasicList {
        semantic: u8,
        element: FieldSpec,
        values: Vec<Owned>,
    },
    SubTemplateList {
        semantic: u8,
        template_id: u16,
        records: Vec<Vec<Owned>>,
    },
    SubTemplateMultiList {
        semantic: u8,
        blocks: Vec<(u16, Vec<Vec<Owned>>)>,
    },
    Invalid(Vec<u8>),
    /// Something in a list that could not be read as records, and why.
    Broken(String),
}

#[derive(Clone, Copy, Debug)]
struct HeaderPlan {
    export_time: u32,
    sequence: u32,
    domain: u32,
    sys_uptime: u32,
}

#[derive(Clone, Debug)]
struct DataSetPlan {
    /// Index into `MessagePlan::templates`.
    template: usize,
    records: Vec<Vec<Owned>>,
    /// Pad the set to a multiple of 4 bytes, where the RFC allows it.
    pad: bool,
}

/// One message: templates (first those the lists refer to), then data sets in any order.
#[derive(Clone, Debug)]
struct MessagePlan {
    version: Version,
    header: HeaderPlan,
    /// Templates of the records inside subTemplateList and subTemplateMultiList values.
    subs: Arc<[TemplatePlan]>,
    templates: Arc<[TemplatePlan]>,
    /// For each template in writing order (subs, then templates): start a new template set
    /// before it, and pad the set it ends.
    new_set: Vec<bool>,
    pad_template_set: Vec<bool>,
    data_sets: Vec<DataSetPlan>,
}

/// A decoded data record, as compared with the plan.
#[derive(Clone, Debug, PartialEq)]
struct DecodedRecord {
    template_id: u16,
    values: Vec<Owned>,
}

/// A template as the decoder announced it: id, scope count, field specifiers.
type TemplateShape = (u16, u16, Vec<FieldSpec>);

impl MessagePlan {
    fn all_templates(&self) -> impl Iterator<Item = &TemplatePlan> {
        self.subs.iter().chain(self.templates.iter())
    }

    fn writer(&self) -> MessageWriter {
        let h = self.header;
        match self.version {
            Version::Ipfix => MessageWriter::ipfix(h.export_time, h.sequence, h.domain),
            Version::NetflowV9 => MessageWriter::netflow_v9(h.sys_uptime, h.export_time, h.sequence, h.domain),
        }
    }

    fn write_templates(&self, m: &mut MessageWriter) {
        let mut open: Option<(bool, bool)> = None;
        for (i, t) in self.all_templates().enumerate() {
            let options = t.scope_count > 0;
            if open.is_none_or(|(kind, _)| kind != options) || self.new_set[i] {
                close_template_set(m, open);
                m.begin_template_set(options);
            }
            open = Some((options, self.pad_template_set[i]));
            m.template(&t.template());
        }
        close_template_set(m, open);
    }

    fn write_data_sets(&self, m: &mut MessageWriter) {
        for set in &self.data_sets {
            let template = &self.templates[set.template];
            let start = m.len();
            m.begin_set(template.id);
            for record in &set.records {
                let mut w = m.record();
                for (field, value) in template.fields.iter().zip(record) {
                    write_value(&mut w, field, value, &self.subs);
                }
            }
            let pad = (4 - (m.len() - start) % 4) % 4;
            if set.pad && pad < min_record_len(&template.fields) {
                m.end_set_padded(4);
            } else {
                m.end_set();
            }
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut m = self.writer();
        self.write_templates(&mut m);
        self.write_data_sets(&mut m);
        m.finish()
    }

    fn expected_templates(&self) -> Vec<TemplateShape> {
        self.all_templates().map(|t| (t.id, t.scope_count, t.specs())).collect()
    }

    fn expected_records(&self) -> Vec<DecodedRecord> {
        self.data_sets
            .iter()
            .flat_map(|set| {
                let template_id = self.templates[set.template].id;
                set.records.iter().map(move |values| DecodedRecord { template_id, values: values.clone() })
            })
            .collect()
    }
}

fn close_template_set(m: &mut MessageWriter, open: Option<(bool, bool)>) {
    match open {
        Some((_, true)) => m.end_set_padded(4),
        Some((_, false)) => m.end_set(),
        None => {}
    }
}

/// Writes one value the way `field` says, lists through the encoder's list builders.
fn write_value(w: &mut RecordWriter<'_>, field: &FieldPlan, value: &Owned, subs: &[TemplatePlan]) {
    let len = field.spec.length;
    if field.writer == Writer::Generic {
        w.value(field.spec, field.data_type, &as_value(value));
        return;
    }
    match value {
        Owned::Absent => {
            w.fixed(&[], len);
        }
        Owned::Unsigned(v) => {
            w.unsigned(*v, len);
        }
        Owned::Signed(v) => {
            w.signed(*v, len);
        }
        Owned::Float(bits) => {
            w.float(f64::from_bits(*bits), len);
        }
        Owned::Bool(b) => {
            w.unsigned(if *b { 1 } else { 2 }, len);
        }
        Owned::Mac(m) => {
            w.fixed(m, len);
        }
        Owned::Ipv4(a) => {
            w.fixed(&a.octets(), len);
        }
        Owned::Ipv6(a) => {
            w.fixed(&a.octets(), len);
        }
        Owned::Time(t) => {
            let raw = match field.data_type {
                DataType::DateTimeSeconds => t.secs as u64,
                DataType::DateTimeMilliseconds => t.as_millis() as u64,
                _ => t.to_ntp(),
            };
            w.unsigned(raw, len);
        }
        Owned::String(bytes) | Owned::Octets(bytes) => match field.writer {
            _ if !field.spec.is_varlen() => {
                w.fixed(unpadded(field.data_type, bytes), len);
            }
            Writer::LongPrefix => {
                w.varlen_long(bytes);
            }
            _ => {
                w.varlen(bytes);
            }
        },
        Owned::BasicList { semantic, element, values } => {
            let element = FieldPlan::element(*element);
            w.basic_list(*semantic, element.spec, |w| {
                for v in values {
                    write_value(w, &element, v, subs);
                }
            });
        }
        Owned::SubTemplateList { semantic, template_id, records } => {
            let template = sub_template(subs, *template_id);
            w.sub_template_list(*semantic, *template_id, |w| write_records(w, template, records, subs));
        }
        Owned::SubTemplateMultiList { semantic, blocks } => {
            w.sub_template_multi_list(*semantic, |w| {
                for (template_id, records) in blocks {
                    let template = sub_template(subs, *template_id);
                    w.block(*template_id, |w| write_records(w, template, records, subs));
                }
            });
        }
        Owned::Invalid(_) | Owned::Broken(_) => panic!("a plan holds only valid values, not {value:?}"),
    }
}

fn write_records(w: &mut RecordWriter<'_>, template: &TemplatePlan, records: &[Vec<Owned>], subs: &[TemplatePlan]) {
    for record in records {
        for (field, value) in template.fields.iter().zip(record) {
            write_value(w, field, value, subs);
        }
    }
}

fn sub_template(subs: &[TemplatePlan], id: u16) -> &TemplatePlan {
    subs.iter().find(|t| t.id == id).expect("lists refer to planned sub-templates")
}

/// A fixed-length string is written without its NUL padding, so that the writer pads it.
fn unpadded(data_type: DataType, bytes: &[u8]) -> &[u8] {
    if data_type != DataType::String {
        return bytes;
    }
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// The value `RecordWriter::value` is given for a scalar (lists are written from their parts).
fn as_value(value: &Owned) -> Value<'_> {
    match value {
        Owned::Absent => Value::Absent,
        Owned::Unsigned(v) => Value::Unsigned(*v),
        Owned::Signed(v) => Value::Signed(*v),
        Owned::Float(bits) => Value::Float(f64::from_bits(*bits)),
        Owned::Bool(b) => Value::Bool(*b),
        Owned::Mac(m) => Value::Mac(*m),
        Owned::Ipv4(a) => Value::Ipv4(*a),
        Owned::Ipv6(a) => Value::Ipv6(*a),
        Owned::String(s) => Value::String(unpadded(DataType::String, s)),
        Owned::Octets(s) => Value::Octets(s),
        Owned::Time(t) => Value::Time(*t),
        other => panic!("generic writes are planned for scalars only, not {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding into owned values.

/// Turns a decoded value into an owned one, reading list records with the session's templates.
fn own(value: Value<'_>, templates: &Templates) -> Owned {
    match value {
        Value::Absent => Owned::Absent,
        Value::Unsigned(v) => Owned::Unsigned(v),
        Value::Signed(v) => Owned::Signed(v),
        Value::Float(v) => Owned::Float(v.to_bits()),
        Value::Bool(b) => Owned::Bool(b),
        Value::Mac(m) => Owned::Mac(m),
        Value::Ipv4(a) => Owned::Ipv4(a),
        Value::Ipv6(a) => Owned::Ipv6(a),
        Value::String(s) => Owned::String(s.to_vec()),
        Value::Octets(s) => Owned::Octets(s.to_vec()),
        Value::Time(t) => Owned::Time(t),
        Value::Invalid(b) => Owned::Invalid(b.to_vec()),
        Value::BasicList(list) => Owned::BasicList {
            semantic: list.semantic,
            element: list.element,
            values: list.values().map(|v| own(v, templates)).collect(),
        },
        Value::SubTemplateList(list) => Owned::SubTemplateList {
            semantic: list.semantic,
            template_id: list.template_id,
            records: own_records(templates, list.template_id, list.content),
        },
        Value::SubTemplateMultiList(list) => Owned::SubTemplateMultiList {
            semantic: list.semantic,
            blocks: list
                .blocks()
                .map(|block| match block {
                    Ok((id, content)) => (id, own_records(templates, id, content)),
                    Err(rest) => (0, vec![vec![Owned::Broken(format!("bad block header in {rest:?}"))]]),
                })
                .collect(),
        },
    }
}

fn own_records(templates: &Templates, template_id: u16, content: &[u8]) -> Vec<Vec<Owned>> {
    let Some(template) = templates.get(template_id) else {
        return vec![vec![Owned::Broken(format!("no template {template_id}"))]];
    };
    let mut records = Records::new(template, content);
    let mut out: Vec<Vec<Owned>> = Vec::new();
    for record in records.by_ref() {
        out.push(match record {
            Ok(record) => record.fields().map(|(f, raw)| own(Value::decode(f.data_type, raw), templates)).collect(),
            Err(e) => vec![Owned::Broken(format!("{e:?}"))],
        });
    }
    if !records.remainder().is_empty() {
        out.push(vec![Owned::Broken(format!("{} bytes left after the records", records.remainder().len()))]);
    }
    out
}

/// Keeps everything the decoder reports about one message.
#[derive(Default)]
struct Collect {
    header: Option<MessageHeader>,
    templates: Vec<TemplateShape>,
    records: Vec<DecodedRecord>,
    problems: Vec<String>,
}

impl Visitor for Collect {
    fn record(&mut self, r: &RecordRef<'_>) {
        self.header = Some(r.meta.header);
        let values = r.record.fields().map(|(f, raw)| own(Value::decode(f.data_type, raw), r.templates)).collect();
        self.records.push(DecodedRecord { template_id: r.record.template.id, values });
    }

    fn template(&mut self, meta: &MessageMeta, template: &Arc<Template>) {
        self.header = Some(meta.header);
        self.templates.push((template.id, template.scope_count, template.specs().collect()));
    }

    fn problem(&mut self, _origin: &Origin, error: &DecodeError) {
        self.problems.push(error.to_string());
    }
}

fn session(transport: Transport) -> SessionKey {
    SessionKey { source: 0, transport, exporter: None, collector: None }
}

fn origin() -> Origin {
    Origin { frame: 1, time: Timestamp::from_secs(1_700_000_000), exporter: None, collector: None }
}

/// Decodes one message in a fresh decoder.
fn decode(bytes: &[u8], transport: Transport) -> Collect {
    let mut collect = Collect::default();
    Decoder::new(DecoderConfig::default()).decode(&session(transport), origin(), bytes, &mut collect);
    collect
}

// ---------------------------------------------------------------------------------------------
// Generators.

/// Lengths the RFC allows for a field of `data_type`: reduced sizes for integers (§6.2),
/// float64 as 4 or 8, any fixed length or variable length for strings and octets; sometimes 0,
/// which exporters send for elements they do not fill.
fn length(data_type: DataType, allow_zero: bool) -> BoxedStrategy<u16> {
    let natural = data_type.natural_length();
    let usual = match data_type {
        DataType::Unsigned16
        | DataType::Unsigned32
        | DataType::Unsigned64
        | DataType::Signed16
        | DataType::Signed32
        | DataType::Signed64 => (1..=natural).boxed(),
        DataType::Float64 => select(vec![4u16, 8]).boxed(),
        DataType::String | DataType::OctetArray => prop_oneof![1..=24u16, Just(VARLEN)].boxed(),
        _ => Just(natural).boxed(),
    };
    if allow_zero { prop_oneof![15 => usual, 1 => Just(0u16)].boxed() } else { usual }
}

fn writer(length: u16) -> BoxedStrategy<Writer> {
    let writers = if length == VARLEN {
        vec![Writer::Primitive, Writer::LongPrefix, Writer::Generic]
    } else {
        vec![Writer::Primitive, Writer::Generic]
    };
    select(writers).boxed()
}

/// A scalar field: a registry element of any type the version can carry, or (IPFIX) an
/// enterprise element the registry does not know, which decodes as octets.
fn scalar_field(version: Version, allow_zero: bool) -> BoxedStrategy<FieldPlan> {
    let known = select(scalar_types(version))
        .prop_flat_map(move |data_type| (select(pool(version)[&data_type].clone()), length(data_type, allow_zero)))
        .prop_flat_map(|(ie, length)| {
            writer(length).prop_map(move |writer| FieldPlan {
                spec: FieldSpec::enterprise(ie.pen, ie.id, length),
                data_type: ie.data_type,
                writer,
            })
        });
    if version == Version::NetflowV9 {
        return known.boxed();
    }
    let unknown = (1u32..PEN_NETFLOW_V9_SCOPE, 1u16..0x8000, length(DataType::OctetArray, allow_zero))
        .prop_filter("an element the registry does not know", |(pen, id, _)| registry::lookup(*pen, *id).is_none())
        .prop_flat_map(|(pen, id, length)| {
            writer(length).prop_map(move |writer| FieldPlan {
                spec: FieldSpec::enterprise(pen, id, length),
                data_type: DataType::OctetArray,
                writer,
            })
        });
    prop_oneof![9 => known, 1 => unknown].boxed()
}

/// A field of a data or options template; `lists` are the structured types it may have.
fn field(version: Version, lists: Vec<DataType>) -> BoxedStrategy<FieldPlan> {
    if lists.is_empty() {
        return scalar_field(version, true);
    }
    let list =
        select(lists).prop_flat_map(|data_type| select(IPFIX_POOL[&data_type].clone())).prop_map(|ie| FieldPlan {
            spec: FieldSpec::enterprise(ie.pen, ie.id, VARLEN),
            data_type: ie.data_type,
            writer: Writer::Primitive,
        });
    prop_oneof![4 => scalar_field(version, true), 1 => list].boxed()
}

/// A NetFlow v9 options scope field (system, interface, line card, cache, template).
fn v9_scope_field() -> BoxedStrategy<FieldPlan> {
    (1u16..=5)
        .prop_flat_map(|id| {
            let data_type = registry::lookup(PEN_NETFLOW_V9_SCOPE, id).expect("v9 scope types are known").data_type;
            (Just(id), Just(data_type), length(data_type, true).prop_filter("v9 scopes are fixed", |l| *l != VARLEN))
        })
        .prop_flat_map(|(id, data_type, length)| {
            writer(length).prop_map(move |writer| FieldPlan {
                spec: FieldSpec::enterprise(PEN_NETFLOW_V9_SCOPE, id, length),
                data_type,
                writer,
            })
        })
        .boxed()
}

/// The fields of a template (scope fields first) and its scope count. A record always takes at
/// least one byte; templates of zero-length fields only are the codec's unit tests' business.
fn template_fields(version: Version, lists: Vec<DataType>, options: bool) -> BoxedStrategy<(u16, Vec<FieldPlan>)> {
    let shape = match (version, options) {
        (_, false) => vec(field(version, lists), 1..=8).prop_map(|fields| (0u16, fields)).boxed(),
        (Version::Ipfix, true) => {
            vec(field(version, lists), 1..=8).prop_flat_map(|fields| (1..=fields.len() as u16, Just(fields))).boxed()
        }
        (Version::NetflowV9, true) => (vec(v9_scope_field(), 1..=3), vec(field(version, lists), 0..=6))
            .prop_map(|(mut fields, options)| {
                let scopes = fields.len() as u16;
                fields.extend(options);
                (scopes, fields)
            })
            .boxed(),
    };
    shape
        .prop_map(|(scopes, mut fields)| {
            if min_record_len(&fields) == 0 {
                fields.push(FieldPlan::element(FieldSpec::iana(4, 1)));
            }
            (scopes, fields)
        })
        .boxed()
}

/// Text of a string element: any printable Unicode, sometimes longer than 254 bytes so that the
/// shortest variable-length prefix is the 3-byte one.
fn text(long: bool) -> BoxedStrategy<Vec<u8>> {
    let short = "\\PC{0,12}".prop_map(String::into_bytes);
    if long {
        prop_oneof![8 => short, 1 => "[a-z]{250,300}".prop_map(String::into_bytes)].boxed()
    } else {
        short.boxed()
    }
}

fn octets(long: bool) -> BoxedStrategy<Vec<u8>> {
    if long {
        prop_oneof![8 => vec(any::<u8>(), 0..=20), 1 => vec(any::<u8>(), 250..=300)].boxed()
    } else {
        vec(any::<u8>(), 0..=20).boxed()
    }
}

fn unsigned_max(len: u16) -> u64 {
    if len >= 8 { u64::MAX } else { (1u64 << (8 * len)) - 1 }
}

fn signed_range(len: u16) -> (i64, i64) {
    if len >= 8 {
        (i64::MIN, i64::MAX)
    } else {
        let half = 1i64 << (8 * len - 1);
        (-half, half - 1)
    }
}

/// Floats without NaN (whose payload an f32/f64 conversion need not keep).
fn float64() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{INFINITE, NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO | INFINITE
}

fn float32() -> impl Strategy<Value = f32> {
    use proptest::num::f32::{INFINITE, NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO | INFINITE
}

/// Seconds (UNIX) that NTP era 0 can carry: 1900-01-01 to 2036-02-07.
fn ntp_secs() -> std::ops::RangeInclusive<i64> {
    -NTP_UNIX_OFFSET..=i64::from(u32::MAX) - NTP_UNIX_OFFSET
}

fn semantic() -> BoxedStrategy<u8> {
    select(vec![0u8, 1, 2, 3, 4, 255]).boxed()
}

/// A value of `field`. Microsecond timestamps are exact to the microsecond, since that
/// precision ignores the low 11 bits of the NTP fraction (RFC 7011 §6.1.9).
fn value(field: &FieldPlan, subs: &Arc<[TemplatePlan]>, long: bool) -> BoxedStrategy<Owned> {
    let len = field.spec.length;
    let varlen = field.spec.is_varlen();
    if len == 0 {
        return Just(match field.data_type {
            DataType::String => Owned::String(Vec::new()),
            DataType::OctetArray => Owned::Octets(Vec::new()),
            _ => Owned::Absent,
        })
        .boxed();
    }
    match field.data_type {
        DataType::Unsigned8 | DataType::Unsigned16 | DataType::Unsigned32 | DataType::Unsigned64 => {
            (0..=unsigned_max(len)).prop_map(Owned::Unsigned).boxed()
        }
        DataType::Signed8 | DataType::Signed16 | DataType::Signed32 | DataType::Signed64 => {
            let (lo, hi) = signed_range(len);
            (lo..=hi).prop_map(Owned::Signed).boxed()
        }
        DataType::Float64 if len == 8 => float64().prop_map(|f| Owned::Float(f.to_bits())).boxed(),
        DataType::Float32 | DataType::Float64 => float32().prop_map(|f| Owned::Float(f64::from(f).to_bits())).boxed(),
        DataType::Boolean => any::<bool>().prop_map(Owned::Bool).boxed(),
        DataType::MacAddress => any::<[u8; 6]>().prop_map(Owned::Mac).boxed(),
        DataType::Ipv4Address => any::<u32>().prop_map(|a| Owned::Ipv4(a.into())).boxed(),
        DataType::Ipv6Address => any::<u128>().prop_map(|a| Owned::Ipv6(a.into())).boxed(),
        DataType::String if varlen => text(long).prop_map(Owned::String).boxed(),
        DataType::String => text(false)
            .prop_map(move |mut s| {
                // Fixed-length strings come back NUL-padded to the field length.
                s.resize(usize::from(len), 0);
                Owned::String(s)
            })
            .boxed(),
        DataType::OctetArray if varlen => octets(long).prop_map(Owned::Octets).boxed(),
        DataType::OctetArray => vec(any::<u8>(), usize::from(len)).prop_map(Owned::Octets).boxed(),
        DataType::DateTimeSeconds => any::<u32>().prop_map(|s| Owned::Time(Timestamp::from_secs(s.into()))).boxed(),
        DataType::DateTimeMilliseconds => (0..=i64::MAX).prop_map(|ms| Owned::Time(Timestamp::from_millis(ms))).boxed(),
        DataType::DateTimeMicroseconds => (ntp_secs(), 0..1_000_000i64)
            .prop_map(|(s, us)| Owned::Time(Timestamp::from_micros(s * 1_000_000 + us)))
            .boxed(),
        DataType::DateTimeNanoseconds => (ntp_secs(), 0..1_000_000_000i128)
            .prop_map(|(s, ns)| Owned::Time(Timestamp::from_nanos(i128::from(s) * 1_000_000_000 + ns)))
            .boxed(),
        DataType::BasicList => {
            let subs = subs.clone();
            let element = scalar_field(Version::Ipfix, false)
                .prop_map(|f| FieldPlan { writer: Writer::Primitive, ..f })
                .prop_filter("a list of zero-length values says nothing", |f| f.spec.length != 0);
            (semantic(), element)
                .prop_flat_map(move |(semantic, element)| {
                    vec(value(&element, &subs, false), 0..=4).prop_map(move |values| Owned::BasicList {
                        semantic,
                        element: element.spec,
                        values,
                    })
                })
                .boxed()
        }
        DataType::SubTemplateList => {
            let subs = subs.clone();
            (semantic(), 0..subs.len())
                .prop_flat_map(move |(semantic, i)| {
                    let template_id = subs[i].id;
                    vec(record(&subs[i], &subs, false), 0..=3).prop_map(move |records| Owned::SubTemplateList {
                        semantic,
                        template_id,
                        records,
                    })
                })
                .boxed()
        }
        DataType::SubTemplateMultiList => {
            let block = {
                let subs = subs.clone();
                (0..subs.len()).prop_flat_map(move |i| (Just(subs[i].id), vec(record(&subs[i], &subs, false), 0..=2)))
            };
            (semantic(), vec(block, 0..=2))
                .prop_map(|(semantic, blocks)| Owned::SubTemplateMultiList { semantic, blocks })
                .boxed()
        }
    }
}

fn record(template: &TemplatePlan, subs: &Arc<[TemplatePlan]>, long: bool) -> Vec<BoxedStrategy<Owned>> {
    template.fields.iter().map(|f| value(f, subs, long)).collect()
}

fn header() -> impl Strategy<Value = HeaderPlan> {
    any::<(u32, u32, u32, u32)>().prop_map(|(export_time, sequence, domain, sys_uptime)| HeaderPlan {
        export_time,
        sequence,
        domain,
        sys_uptime,
    })
}

/// A whole message of `version`. IPFIX messages may define up to two sub-templates, which the
/// subTemplateList and subTemplateMultiList values of the other templates' records refer to.
fn message(version: Version) -> BoxedStrategy<MessagePlan> {
    let subs = match version {
        Version::Ipfix => vec(template_fields(version, Vec::new(), false), 0..=2).boxed(),
        Version::NetflowV9 => Just(Vec::new()).boxed(),
    };
    (header(), 256u16..=65000, subs)
        .prop_flat_map(move |(header, first_id, subs)| {
            let subs: Arc<[TemplatePlan]> = subs
                .into_iter()
                .enumerate()
                .map(|(i, (scope_count, fields))| TemplatePlan { id: first_id + i as u16, scope_count, fields })
                .collect();
            let mut lists = Vec::new();
            if version == Version::Ipfix {
                lists.push(DataType::BasicList);
                if !subs.is_empty() {
                    lists.extend([DataType::SubTemplateList, DataType::SubTemplateMultiList]);
                }
            }
            let templates =
                vec(any::<bool>().prop_flat_map(move |o| template_fields(version, lists.clone(), o)), 1..=3);
            (Just(header), Just(first_id + subs.len() as u16), Just(subs), templates)
        })
        .prop_flat_map(move |(header, first_id, subs, templates)| {
            let templates: Arc<[TemplatePlan]> = templates
                .into_iter()
                .enumerate()
                .map(|(i, (scope_count, fields))| TemplatePlan { id: first_id + i as u16, scope_count, fields })
                .collect();
            let data_set = {
                let (subs, templates) = (subs.clone(), templates.clone());
                (0..templates.len()).prop_flat_map(move |t| {
                    (vec(record(&templates[t], &subs, true), 0..=3), any::<bool>())
                        .prop_map(move |(records, pad)| DataSetPlan { template: t, records, pad })
                })
            };
            let count = subs.len() + templates.len();
            (vec(data_set, 1..=3), vec(any::<bool>(), count), vec(any::<bool>(), count)).prop_map(
                move |(data_sets, new_set, pad_template_set)| MessagePlan {
                    version,
                    header,
                    subs: subs.clone(),
                    templates: templates.clone(),
                    new_set,
                    pad_template_set,
                    data_sets,
                },
            )
        })
        .boxed()
}

fn transport() -> impl Strategy<Value = Transport> {
    select(vec![Transport::Udp, Transport::Tcp, Transport::File])
}

// ---------------------------------------------------------------------------------------------
// Properties.

fn assert_round_trip(plan: &MessagePlan, transport: Transport) -> Result<(), TestCaseError> {
    let bytes = plan.encode();
    prop_assert!(bytes.len() <= usize::from(u16::MAX), "the plan outgrew one message: {} bytes", bytes.len());
    let decoded = decode(&bytes, transport);
    prop_assert_eq!(decoded.problems, Vec::<String>::new());
    prop_assert_eq!(decoded.templates, plan.expected_templates());
    prop_assert_eq!(decoded.records, plan.expected_records());
    let header = decoded.header.expect("every message defines a template");
    let expected_version = if plan.version == Version::Ipfix { 10 } else { 9 };
    prop_assert_eq!(header.version, expected_version);
    prop_assert_eq!(
        (header.export_time, header.sequence, header.domain),
        (plan.header.export_time, plan.header.sequence, plan.header.domain)
    );
    let sys_uptime = (plan.version == Version::NetflowV9).then_some(plan.header.sys_uptime);
    prop_assert_eq!(header.sys_uptime, sys_uptime);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn ipfix_messages_decode_to_what_was_encoded(plan in message(Version::Ipfix), transport in transport()) {
        assert_round_trip(&plan, transport)?;
    }

    #[test]
    fn netflow_v9_messages_decode_to_what_was_encoded(plan in message(Version::NetflowV9), transport in transport()) {
        assert_round_trip(&plan, transport)?;
    }

    /// No registry element is a signed64, so reduced-size signed64 is checked on the value itself.
    #[test]
    fn signed64_in_every_reduced_size(len in 1u16..=8, seed in any::<i64>()) {
        let (lo, hi) = signed_range(len);
        let v = seed.clamp(lo, hi);
        let raw = &v.to_be_bytes()[8 - usize::from(len)..];
        prop_assert_eq!(Value::decode(DataType::Signed64, raw), Value::Signed(v));
    }
}

#[test]
fn the_registry_offers_an_element_of_every_scalar_type_but_signed64() {
    let missing: Vec<_> = SCALAR_TYPES.into_iter().filter(|t| !IPFIX_POOL.contains_key(t)).collect();
    assert_eq!(missing, [DataType::Signed64]);
    for list in [DataType::BasicList, DataType::SubTemplateList, DataType::SubTemplateMultiList] {
        assert!(IPFIX_POOL.contains_key(&list), "{list:?}");
    }
}
