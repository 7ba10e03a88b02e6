//! Re-encoding Antrea records of one input template into an output layout without a round trip
//! through [`Flow`]: what the proxy does to every record it forwards. Decoding 43 values into a
//! `Flow` (strings copied) and encoding 50 again was two thirds of the proxy's time; here a
//! field whose input encoding is the output's goes as the bytes it came in, and only the fields
//! the caller changes, or that need converting, pass through the model.
//!
//! Output fields that follow each other in the input in the same encoding (most of an agent
//! record) are copied as one run of bytes.
//!
//! The result is the record [`FlowReader`](super::FlowReader) then
//! [`FlowWriter`](super::FlowWriter) would make, the same rules included (absent elements zero
//! or empty, reduced-size integers widened), with four differences that keep what the exporter
//! sent, as go-ipfix does when it forwards records: strings go byte for byte (the model replaces
//! invalid UTF-8); egressIP's text goes as it is (the model parses it and writes it anew, so
//! `0.0.0.0` becomes empty and IPv6 text canonical); a variable-length field keeps the length prefix it came with (RFC 7011 §7 allows
//! either form); where an element appears twice in the input template, the last one is taken as
//! it stands (the model would skip a zero address there).

use std::ops::Range;

use super::codec::{FlowWriter, SlotKind};
use super::model::{Flow, FlowField};
use crate::core::ipfix::encoder::RecordWriter;
use crate::core::ipfix::record::DataRecord;
use crate::core::ipfix::template::{FieldSpec, Template};
use crate::core::ipfix::types::DataType;
use crate::core::ipfix::value::Value;

/// A set of [`FlowField`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(u128);

const _: () = assert!(FlowField::ALL.len() <= 128, "FieldSet holds at most 128 fields");

impl FieldSet {
    pub const EMPTY: FieldSet = FieldSet(0);

    pub const fn of(fields: &[FlowField]) -> FieldSet {
        let mut set = FieldSet(0);
        let mut i = 0;
        while i < fields.len() {
            set = set.with(fields[i]);
            i += 1;
        }
        set
    }

    #[must_use]
    pub const fn with(self, field: FlowField) -> FieldSet {
        FieldSet(self.0 | 1 << field as u32)
    }

    #[must_use]
    pub const fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    pub fn insert(&mut self, field: FlowField) {
        *self = self.with(field);
    }

    pub const fn contains(self, field: FlowField) -> bool {
        self.0 & (1 << field as u32) != 0
    }
}

/// Where one output field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// The input field at this position has the output's encoding: its bytes go as they are.
    Bytes(usize),
    /// Another encoding (reduced size, an address as text, another type): decoded into the
    /// model with the input's type and written back.
    Convert(usize, DataType),
    /// Not in the input template: zero or empty.
    Absent,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    /// Input fields `first..=last`, which are output fields `out..` in the same order and
    /// encoding: one copy of their bytes, variable-length prefixes included.
    Run { first: usize, last: usize, out: usize },
    /// One output field, from the flow when the caller says so, else from `source`.
    Field { spec: FieldSpec, data_type: DataType, field: FlowField, source: Source },
}

/// One input template's records re-encoded in one output layout; compiled once per template.
#[derive(Clone, Debug)]
pub struct Splice {
    /// In output order.
    ops: Box<[Op]>,
    /// The output layout's specifiers, for runs an input record is too short to fill.
    specs: Box<[FieldSpec]>,
    /// The fields [`read`](Splice::read) fills: input position, field, input type.
    reads: Box<[(usize, FlowField, DataType)]>,
}

impl Splice {
    /// The splice from `input` to `writer`'s layout. `reads` are the fields the caller looks at
    /// before each record is written, `may_change` those it may then write from the flow.
    pub fn compile(input: &Template, writer: &FlowWriter, reads: FieldSet, may_change: FieldSet) -> Splice {
        let position =
            |spec: FieldSpec| input.fields.iter().rposition(|f| f.spec.pen == spec.pen && f.spec.id == spec.id);
        let mut ops: Vec<Op> = Vec::new();
        for (out, (&spec, &(field, data_type))) in writer.specs().iter().zip(writer.plan.iter()).enumerate() {
            let source = match position(spec) {
                None => Source::Absent,
                Some(i) => source(i, &input.fields[i].spec, input.fields[i].data_type, spec, data_type, field),
            };
            match (source, ops.last_mut()) {
                (Source::Bytes(i), _) if may_change.contains(field) => {
                    ops.push(Op::Field { spec, data_type, field, source: Source::Bytes(i) });
                }
                (Source::Bytes(i), Some(Op::Run { last, .. })) if *last + 1 == i => *last = i,
                (Source::Bytes(i), _) => ops.push(Op::Run { first: i, last: i, out }),
                (source, _) => ops.push(Op::Field { spec, data_type, field, source }),
            }
        }
        let reads = input
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let field = FlowField::of_element(f.spec.pen, f.spec.id)?;
                reads.contains(field).then_some((i, field, f.data_type))
            })
            .collect();
        Splice { ops: ops.into(), specs: writer.specs().into(), reads }
    }

    /// Finds where `record`'s fields are (into `ranges`, kept for [`write`](Splice::write)) and
    /// reads the fields asked for at compile time into `flow`, each reset first. Other fields
    /// of `flow` are left as they are.
    pub fn read(&self, record: &DataRecord<'_>, ranges: &mut Vec<Range<usize>>, flow: &mut Flow) {
        record.ranges(ranges);
        for &(i, field, data_type) in &self.reads {
            flow.reset_field(field);
            if let Some(raw) = ranges.get(i).and_then(|r| record.bytes.get(r.clone())) {
                flow.read_field(field, &Value::decode(data_type, raw));
            }
        }
    }

    /// Writes the record whose bytes are `record` and field positions `ranges` (from
    /// [`read`](Splice::read)): the fields in `from_flow` (of those `may_change` named) as
    /// `flow` holds them, the others from the input. `flow` is scratch for conversions besides.
    pub fn write(
        &self,
        record: &[u8],
        ranges: &[Range<usize>],
        flow: &mut Flow,
        from_flow: FieldSet,
        w: &mut RecordWriter<'_>,
    ) {
        for op in &self.ops {
            match *op {
                Op::Run { first, last, out } => {
                    // A field's prefix starts where the field before it ends.
                    let start = if first == 0 { Some(0) } else { ranges.get(first - 1).map(|r| r.end) };
                    match (start, ranges.get(last)) {
                        (Some(start), Some(end)) => {
                            w.encoded(&record[start..end.end]);
                        }
                        // Shorter than its template (the decoder never hands such a record on):
                        // the run's fields are written empty so the record stays well formed.
                        _ => {
                            for &spec in &self.specs[out..=out + last - first] {
                                w.raw(spec, b"");
                            }
                        }
                    }
                }
                Op::Field { spec, data_type, field, source } => {
                    if from_flow.contains(field) {
                        flow.write_field(field, spec, data_type, w);
                        continue;
                    }
                    let input = |i: usize| ranges.get(i).and_then(|r| record.get(r.clone()));
                    match source {
                        Source::Bytes(i) => {
                            w.raw(spec, input(i).unwrap_or_default());
                        }
                        Source::Convert(i, from_type) => {
                            flow.reset_field(field);
                            if let Some(raw) = input(i) {
                                flow.read_field(field, &Value::decode(from_type, raw));
                            }
                            flow.write_field(field, spec, data_type, w);
                        }
                        Source::Absent => {
                            w.raw(spec, b"");
                        }
                    }
                }
            }
        }
    }
}

/// How the value of `field` moves from input field `i` (`from`, `from_type`) to an output field
/// (`to`, `to_type`) of the same element.
fn source(
    i: usize,
    from: &FieldSpec,
    from_type: DataType,
    to: FieldSpec,
    to_type: DataType,
    field: FlowField,
) -> Source {
    let same_encoding = from_type == to_type && from.length == to.length;
    let plain = match field.kind() {
        // A value wider than the member is capped by the model, so only what fits goes as is.
        SlotKind::Unsigned(bytes) => {
            matches!(
                to_type,
                DataType::Unsigned8
                    | DataType::Unsigned16
                    | DataType::Unsigned32
                    | DataType::Unsigned64
                    | DataType::DateTimeSeconds
            ) && !to.is_varlen()
                && to.length <= bytes
        }
        // Byte for byte, as go-ipfix forwards strings (it never checks their UTF-8).
        SlotKind::Text => to_type == DataType::String,
        SlotKind::Uuid => to.length == 16,
        // egressIP is text: forwarded as the agent wrote it, as go-ipfix forwards it.
        SlotKind::Address => matches!(to_type, DataType::Ipv4Address | DataType::Ipv6Address | DataType::String),
    };
    if same_encoding && plain { Source::Bytes(i) } else { Source::Convert(i, from_type) }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::core::flow::{FlowReader, Layout, LayoutOptions};
    use crate::core::ipfix::decoder::{Decoder, Origin, RecordRef, SessionKey, Transport, Visitor};
    use crate::core::ipfix::encoder::MessageWriter;
    use crate::core::ipfix::registry;
    use crate::core::ipfix::types::VARLEN;
    use crate::core::time::Timestamp;

    /// Decodes `message` and gives each data record's template and bytes.
    fn records(message: &[u8]) -> Vec<(Arc<Template>, Vec<u8>)> {
        struct Keep(Vec<(Arc<Template>, Vec<u8>)>);
        impl Visitor for Keep {
            fn record(&mut self, r: &RecordRef<'_>) {
                self.0.push((r.template.clone(), r.record.bytes.to_vec()));
            }
        }
        let key = SessionKey { source: 0, transport: Transport::Tcp, exporter: None, collector: None };
        let origin = Origin { frame: 1, time: Timestamp::from_secs(1_700_000_000), exporter: None, collector: None };
        let mut keep = Keep(Vec::new());
        Decoder::default().decode(&key, origin, message, &mut keep);
        keep.0
    }

    fn message(template: &Template, write: impl FnOnce(&mut RecordWriter<'_>)) -> Vec<u8> {
        let mut m = MessageWriter::ipfix(1_700_000_000, 0, 7);
        m.begin_template_set(false);
        m.template(template);
        m.begin_set(template.id);
        write(&mut m.record());
        m.finish()
    }

    /// The record the model makes of `bytes` (FlowReader then FlowWriter), and the splice's.
    fn both(input: &Template, bytes: &[u8], writer: &FlowWriter) -> (Vec<u8>, Vec<u8>) {
        let record = DataRecord { template: input, bytes };
        let mut flow = Flow::default();
        FlowReader::compile(input).expect("an Antrea template").read(&record, &mut flow);
        let mut model = Vec::new();
        writer.write(&flow, &mut RecordWriter::new(&mut model));

        let splice = Splice::compile(input, writer, FieldSet::EMPTY, FieldSet::EMPTY);
        let mut ranges = Vec::new();
        let mut scratch = Flow::default();
        splice.read(&record, &mut ranges, &mut scratch);
        let mut spliced = Vec::new();
        splice.write(bytes, &ranges, &mut scratch, FieldSet::EMPTY, &mut RecordWriter::new(&mut spliced));
        (model, spliced)
    }

    fn spec(name: &str, length: u16) -> FieldSpec {
        let ie = registry::by_name(name).unwrap_or_else(|| panic!("{name}"));
        FieldSpec { id: ie.id, pen: ie.pen, length }
    }

    #[test]
    fn agent_records_spliced_into_the_proxy_layout_equal_the_models() {
        for (agent, proxy) in [(Layout::AgentV4, Layout::ProxyV4), (Layout::AgentV6, Layout::ProxyV6)] {
            let agent_writer = FlowWriter::new(agent, LayoutOptions::default());
            let input = agent_writer.template(256);
            let mut flow = crate::core::flow::codec::tests::agent_flow();
            if agent.is_ipv6() {
                flow.source_address = "fd00:10:244:1::7".parse().unwrap();
                flow.destination_address = "fd00:10:244:2::9".parse().unwrap();
                flow.destination_cluster_ip = Some("fd00:10:96::12".parse().unwrap());
                flow.destination_service_ip = flow.destination_cluster_ip;
            }
            let msg = message(&input, |w| agent_writer.write(&flow, w));
            let (template, bytes) = records(&msg).pop().expect("one record");
            let writer = FlowWriter::new(proxy, LayoutOptions::default());
            let (model, spliced) = both(&template, &bytes, &writer);
            assert_eq!(spliced, model, "{proxy:?}");
        }
    }

    #[test]
    fn other_encodings_are_converted_as_the_model_converts_them() {
        // Reduced-size counters, a wide flowType (capped), egressIP in a fixed length (parsed
        // as the model parses it), a non-ASCII name, a fixed-length string, a duplicated port
        // and a missing address.
        let input = Template::new(
            300,
            0,
            [
                spec("sourceIPv4Address", 4),
                spec("octetDeltaCount", 2),
                spec("packetTotalCount", 4),
                spec("flowType", 2),
                spec("egressIP", 8),
                spec("sourcePodName", VARLEN),
                spec("destinationPodNamespace", 6),
                spec("sourceTransportPort", 2),
                spec("sourceTransportPort", 2),
            ],
        );
        let msg = message(&input, |w| {
            w.fixed(&[10, 0, 0, 1], 4)
                .unsigned(1500, 2)
                .unsigned(7, 4)
                .unsigned(300, 2)
                .fixed(b"10.0.0.9", 8)
                .varlen("web-é".as_bytes())
                .fixed(b"shop", 6)
                .unsigned(1111, 2)
                .unsigned(2222, 2);
        });
        let (template, bytes) = records(&msg).pop().expect("one record");
        let writer = FlowWriter::new(Layout::ProxyV4, LayoutOptions::default());
        let (model, spliced) = both(&template, &bytes, &writer);
        assert_eq!(spliced, model);
    }

    #[test]
    fn egress_ip_text_goes_as_it_came() {
        let input = Template::new(300, 0, [spec("sourceIPv4Address", 4), spec("egressIP", VARLEN)]);
        let msg = message(&input, |w| {
            w.fixed(&[10, 0, 0, 1], 4).varlen(b"0.0.0.0");
        });
        let (template, bytes) = records(&msg).pop().expect("one record");
        let writer = FlowWriter::new(Layout::ProxyV4, LayoutOptions::default());
        let (model, spliced) = both(&template, &bytes, &writer);
        assert!(!model.windows(8).any(|w| w == b"\x070.0.0.0"), "the model writes an absent address as empty text");
        assert!(spliced.windows(8).any(|w| w == b"\x070.0.0.0"), "{spliced:?}");
    }

    #[test]
    fn strings_and_their_prefixes_go_as_they_came() {
        let input = Template::new(
            300,
            0,
            [spec("sourceIPv4Address", 4), spec("sourcePodName", VARLEN), spec("sourcePodNamespace", VARLEN)],
        );
        let msg = message(&input, |w| {
            w.fixed(&[10, 0, 0, 1], 4).varlen_long(b"web-\xff").varlen(b"shop");
        });
        let (template, bytes) = records(&msg).pop().expect("one record");
        let writer = FlowWriter::new(Layout::ProxyV4, LayoutOptions::default());
        let (model, spliced) = both(&template, &bytes, &writer);
        let name_in_model = [&[7u8][..], "web-\u{fffd}".as_bytes()].concat();
        assert!(model.windows(name_in_model.len()).any(|w| w == name_in_model), "the model replaces invalid UTF-8");
        let name_as_sent = b"\xff\x00\x05web-\xff\x04shop";
        assert!(spliced.windows(name_as_sent.len()).any(|w| w == name_as_sent), "{spliced:?}");
    }

    #[test]
    fn fields_from_the_flow_replace_the_inputs() {
        let agent_writer = FlowWriter::new(Layout::AgentV4, LayoutOptions::default());
        let input = agent_writer.template(256);
        let flow = crate::core::flow::codec::tests::agent_flow();
        let msg = message(&input, |w| agent_writer.write(&flow, w));
        let (template, bytes) = records(&msg).pop().expect("one record");
        let record = DataRecord { template: &template, bytes: &bytes };
        let writer = FlowWriter::new(Layout::ProxyV4, LayoutOptions::default());
        let reads = FieldSet::of(&[FlowField::FlowType, FlowField::SourcePodName]);
        let changed = FieldSet::of(&[FlowField::ClusterId, FlowField::DestinationNodeName]);
        let splice = Splice::compile(&template, &writer, reads, changed);

        let mut scratch = Flow::default();
        let mut ranges = Vec::new();
        splice.read(&record, &mut ranges, &mut scratch);
        assert_eq!((scratch.flow_type, scratch.source_pod_name.as_str()), (flow.flow_type, "frontend-7d9c8b6f5-x2x9k"));
        assert_eq!(scratch.destination_pod_name, "", "only the fields asked for are read");

        scratch.cluster_id = "prod".into();
        scratch.destination_node_name = "node-z".into();
        let mut out = Vec::new();
        splice.write(&bytes, &ranges, &mut scratch, changed, &mut RecordWriter::new(&mut out));

        let mut expected = flow.clone();
        expected.cluster_id = "prod".into();
        expected.destination_node_name = "node-z".into();
        let mut model = Vec::new();
        writer.write(&expected, &mut RecordWriter::new(&mut model));
        assert_eq!(out, model);
    }
}
