//! Moving a [`Flow`] in and out of IPFIX records: [`FlowReader`] is compiled once per input
//! template and reads by element, as Antrea's version-skew preprocessor does; [`FlowWriter`] is
//! compiled once per output layout. Both walk the model's one table; neither allocates per
//! record once the reused `Flow`'s strings have grown.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::layout::{Layout, LayoutOptions, layout_fields};
use super::model::{Flow, FlowField};
use crate::core::ipfix::encoder::RecordWriter;
use crate::core::ipfix::record::DataRecord;
use crate::core::ipfix::registry::{self, PEN_ANTREA};
use crate::core::ipfix::template::{FieldSpec, Template};
use crate::core::ipfix::types::DataType;
use crate::core::ipfix::value::Value;

/// The kinds of [`Flow`] member, for [`Splice`](super::splice::Splice) to know which wire
/// encodings it can forward untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SlotKind {
    /// An unsigned integer member of this many bytes.
    Unsigned(u16),
    Text,
    Uuid,
    /// An address member, from an address element or (egressIP) text.
    Address,
}

/// How one kind of [`Flow`] member is reset, read from a value and written as a field.
pub(super) trait Slot {
    const KIND: SlotKind;
    fn empty() -> Self;
    fn reset(&mut self);
    /// Takes `value` when it fits; a value of another kind (a malformed field) leaves the member
    /// as it is.
    fn read(&mut self, value: &Value<'_>);
    fn write(&self, spec: FieldSpec, data_type: DataType, w: &mut RecordWriter<'_>);
}

macro_rules! unsigned_slot {
    ($($ty:ty),*) => {$(
        impl Slot for $ty {
            const KIND: SlotKind = SlotKind::Unsigned(size_of::<$ty>() as u16);

            fn empty() -> Self {
                0
            }

            fn reset(&mut self) {
                *self = 0;
            }

            fn read(&mut self, value: &Value<'_>) {
                let wide = match *value {
                    Value::Unsigned(v) => v,
                    Value::Time(t) => u64::try_from(t.secs).unwrap_or(0),
                    _ => return,
                };
                // Wider than the member only from an exporter that sends nonsense; the largest
                // value says "a lot" better than the low bits would.
                *self = <$ty>::try_from(wide).unwrap_or(<$ty>::MAX);
            }

            fn write(&self, spec: FieldSpec, data_type: DataType, w: &mut RecordWriter<'_>) {
                w.value(spec, data_type, &Value::Unsigned(*self as u64));
            }
        }
    )*};
}

unsigned_slot!(u8, u16, u32, u64);

impl Slot for String {
    const KIND: SlotKind = SlotKind::Text;

    fn empty() -> Self {
        String::new()
    }

    fn reset(&mut self) {
        self.clear();
    }

    fn read(&mut self, value: &Value<'_>) {
        if let Value::String(bytes) | Value::Octets(bytes) = *value {
            self.clear();
            match std::str::from_utf8(bytes) {
                Ok(text) => self.push_str(text),
                Err(_) => self.push_str(&String::from_utf8_lossy(bytes)),
            }
        }
    }

    fn write(&self, spec: FieldSpec, _: DataType, w: &mut RecordWriter<'_>) {
        w.raw(spec, self.as_bytes());
    }
}

impl Slot for [u8; 16] {
    const KIND: SlotKind = SlotKind::Uuid;

    fn empty() -> Self {
        [0; 16]
    }

    fn reset(&mut self) {
        *self = [0; 16];
    }

    fn read(&mut self, value: &Value<'_>) {
        if let Value::Octets(bytes) = *value
            && let Ok(uuid) = <[u8; 16]>::try_from(bytes)
        {
            *self = uuid;
        }
    }

    fn write(&self, spec: FieldSpec, _: DataType, w: &mut RecordWriter<'_>) {
        w.raw(spec, self);
    }
}

/// An address from an address element (either family) or a string element (egressIP).
fn address(value: &Value<'_>) -> Option<IpAddr> {
    match *value {
        Value::Ipv4(a) => Some(a.into()),
        Value::Ipv6(a) => Some(a.into()),
        Value::String(text) => std::str::from_utf8(text).ok()?.parse().ok(),
        _ => None,
    }
}

/// Writes `addr` as a field of `data_type`: in its own family's element, or as text in a string
/// element; absent, or of the other family, it is 0.0.0.0 / `::` (or empty text).
fn write_address(addr: Option<IpAddr>, spec: FieldSpec, data_type: DataType, w: &mut RecordWriter<'_>) {
    match (data_type, addr) {
        (DataType::Ipv4Address, Some(IpAddr::V4(a))) => w.raw(spec, &a.octets()),
        (DataType::Ipv4Address, _) => w.raw(spec, &Ipv4Addr::UNSPECIFIED.octets()),
        (DataType::Ipv6Address, Some(IpAddr::V6(a))) => w.raw(spec, &a.octets()),
        (DataType::Ipv6Address, _) => w.raw(spec, &Ipv6Addr::UNSPECIFIED.octets()),
        (_, None) => w.raw(spec, b""),
        (_, Some(a)) => {
            let mut text = [0u8; 64];
            let mut rest = &mut text[..];
            // An address's text is at most 45 bytes, so this cannot run out of room.
            let _ = write!(rest, "{a}");
            let len = 64 - rest.len();
            w.raw(spec, &text[..len])
        }
    };
}

impl Slot for IpAddr {
    const KIND: SlotKind = SlotKind::Address;

    fn empty() -> Self {
        Ipv4Addr::UNSPECIFIED.into()
    }

    fn reset(&mut self) {
        *self = Self::empty();
    }

    fn read(&mut self, value: &Value<'_>) {
        if let Some(a) = address(value) {
            *self = a;
        }
    }

    fn write(&self, spec: FieldSpec, data_type: DataType, w: &mut RecordWriter<'_>) {
        write_address(Some(*self), spec, data_type, w);
    }
}

impl Slot for Option<IpAddr> {
    const KIND: SlotKind = SlotKind::Address;

    fn empty() -> Self {
        None
    }

    fn reset(&mut self) {
        *self = None;
    }

    /// A zero address is "absent" and leaves what an element of the other family set.
    fn read(&mut self, value: &Value<'_>) {
        if let Some(a) = address(value).filter(|a| !a.is_unspecified()) {
            *self = Some(a);
        }
    }

    fn write(&self, spec: FieldSpec, data_type: DataType, w: &mut RecordWriter<'_>) {
        write_address(*self, spec, data_type, w);
    }
}

/// Reads the records of one template into [`Flow`]s.
#[derive(Clone, Debug)]
pub struct FlowReader {
    /// The field each of the template's fields fills, by position; `None` for elements the
    /// model does not carry.
    plan: Box<[Option<FlowField>]>,
}

impl FlowReader {
    /// None when the template is not Antrea-format: it carries no Antrea (PEN 56506) element.
    pub fn compile(template: &Template) -> Option<FlowReader> {
        if !template.fields.iter().any(|f| f.spec.pen == PEN_ANTREA) {
            return None;
        }
        let plan = template.fields.iter().map(|f| FlowField::of_element(f.spec.pen, f.spec.id)).collect();
        Some(FlowReader { plan })
    }

    /// Fills `into` from `record`, a record of the template this reader was compiled for.
    /// `into` is cleared first; elements the model does not carry are ignored, fields the
    /// template lacks stay zero or empty, zero addresses are absent (`None`).
    pub fn read(&self, record: &DataRecord<'_>, into: &mut Flow) {
        into.clear();
        for ((field, raw), slot) in record.fields().zip(self.plan.iter()) {
            if let Some(target) = *slot {
                into.read_field(target, &Value::decode(field.data_type, raw));
            }
        }
    }
}

/// Writes [`Flow`]s as records of one layout.
#[derive(Clone, Debug)]
pub struct FlowWriter {
    specs: Box<[FieldSpec]>,
    pub(super) plan: Box<[(FlowField, DataType)]>,
}

impl FlowWriter {
    /// The writer for `layout`: its elements in the reference order, at the registry's default
    /// lengths (what go-ipfix sends).
    ///
    /// # Panics
    /// When a layout element is not in the registry: the layouts are fixed and tested.
    pub fn new(layout: Layout, opts: LayoutOptions) -> FlowWriter {
        let (specs, plan) = layout_fields(layout, opts)
            .into_iter()
            .map(|(field, name)| {
                let ie = registry::by_name(name).unwrap_or_else(|| panic!("{name} is a registry element"));
                (FieldSpec::of(ie), (field, ie.data_type))
            })
            .unzip::<_, _, Vec<_>, Vec<_>>();
        FlowWriter { specs: specs.into(), plan: plan.into() }
    }

    /// The template's field specifiers.
    pub fn specs(&self) -> &[FieldSpec] {
        &self.specs
    }

    /// The template with these fields and id `id`.
    pub fn template(&self, id: u16) -> Template {
        Template::new(id, 0, self.specs.iter().copied())
    }

    /// Writes `flow` as one record: absent addresses as 0.0.0.0 / `::` (fixed length), strings
    /// (labels included) with variable length.
    pub fn write(&self, flow: &Flow, w: &mut RecordWriter<'_>) {
        for (&spec, &(field, data_type)) in self.specs.iter().zip(self.plan.iter()) {
            flow.write_field(field, spec, data_type, w);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::core::flow::{FLOW_TYPE_INTER_NODE, FLOW_TYPE_TO_EXTERNAL};
    use crate::core::ipfix::decoder::{Decoder, Origin, RecordRef, SessionKey, Transport, Visitor};
    use crate::core::ipfix::encoder::MessageWriter;
    use crate::core::ipfix::registry::PEN_REVERSE;
    use crate::core::ipfix::types::VARLEN;
    use crate::core::time::Timestamp;

    /// Decodes `message` as a collector would and reads every data record into a Flow.
    fn decode(message: &[u8]) -> Vec<Flow> {
        struct Read(Vec<Flow>);
        impl Visitor for Read {
            fn record(&mut self, r: &RecordRef<'_>) {
                let reader = FlowReader::compile(r.template).expect("an Antrea-format template");
                let mut flow = Flow::default();
                reader.read(&r.record, &mut flow);
                self.0.push(flow);
            }
        }
        let key = SessionKey { source: 0, transport: Transport::Tcp, exporter: None, collector: None };
        let origin = Origin { frame: 1, time: Timestamp::from_secs(1_700_000_000), exporter: None, collector: None };
        let mut read = Read(Vec::new());
        let outcome = Decoder::default().decode(&key, origin, message, &mut read);
        assert_eq!(outcome.records, read.0.len());
        read.0
    }

    /// A message holding `template` and one record `write` writes.
    fn message(template: &Template, write: impl FnOnce(&mut RecordWriter<'_>)) -> Vec<u8> {
        let mut m = MessageWriter::ipfix(1_700_000_000, 0, 7);
        m.begin_template_set(false);
        m.template(template);
        m.begin_set(template.id);
        write(&mut m.record());
        m.finish()
    }

    fn round_trip(layout: Layout, opts: LayoutOptions, flow: &Flow) -> Vec<Flow> {
        let writer = FlowWriter::new(layout, opts);
        decode(&message(&writer.template(256), |w| writer.write(flow, w)))
    }

    fn text(s: &str) -> String {
        s.to_string()
    }

    fn uuid(n: u8) -> [u8; 16] {
        [n; 16]
    }

    /// Every field of the agent's template set, each to a value of its own.
    pub(crate) fn agent_flow() -> Flow {
        Flow {
            flow_start: 1_700_000_000,
            flow_end: 1_700_000_060,
            end_reason: 2,
            source_port: 51234,
            destination_port: 8080,
            protocol: 6,
            packet_total: 48,
            octet_total: 6912,
            packet_delta: 12,
            octet_delta: 1700,
            source_address: "10.244.1.7".parse().unwrap(),
            destination_address: "10.244.2.9".parse().unwrap(),
            reverse_packet_total: 40,
            reverse_octet_total: 52_000,
            reverse_packet_delta: 10,
            reverse_octet_delta: 13_000,
            source_pod_name: text("frontend-7d9c8b6f5-x2x9k"),
            source_pod_namespace: text("shop"),
            source_node_name: text("node-a"),
            destination_pod_name: text("backend-5f4b9c7d8-qq7tz"),
            destination_pod_namespace: text("shop-db"),
            destination_node_name: text("node-b"),
            destination_service_port: 80,
            destination_service_port_name: text("shop/backend:http"),
            ingress_policy_name: text("allow-frontend"),
            ingress_policy_namespace: text("shop-db"),
            ingress_policy_type: 2,
            ingress_rule_name: text("rule-in"),
            ingress_rule_action: 1,
            egress_policy_name: text("egress-web"),
            egress_policy_namespace: text("shop"),
            egress_policy_type: 3,
            egress_rule_name: text("rule-out"),
            egress_rule_action: 3,
            tcp_state: text("ESTABLISHED"),
            flow_type: FLOW_TYPE_INTER_NODE,
            egress_name: text("egress-prod"),
            egress_ip: Some("172.18.0.100".parse().unwrap()),
            egress_node_name: text("node-c"),
            proxy_snat_port: 61000,
            destination_cluster_ip: Some("10.96.0.10".parse().unwrap()),
            proxy_snat_ip: Some("172.18.0.2".parse().unwrap()),
            destination_service_ip: Some("10.96.0.11".parse().unwrap()),
            ..Flow::default()
        }
    }

    /// The agent's fields and every field the proxy adds, UIDs included.
    fn proxied() -> Flow {
        Flow {
            source_pod_uuid: uuid(1),
            destination_pod_uuid: uuid(2),
            source_node_uuid: uuid(3),
            destination_node_uuid: uuid(4),
            destination_service_uuid: uuid(5),
            ingress_policy_uuid: uuid(6),
            egress_policy_uuid: uuid(7),
            egress_uuid: uuid(8),
            egress_node_uuid: uuid(9),
            source_pod_labels: text(r#"{"app":"frontend","tier":"web"}"#),
            destination_pod_labels: text("{}"),
            cluster_id: text("0b7e8a6c-1f2d-4e3a-9b8c-7d6e5f4a3b2c"),
            original_domain: 0x1b2c_3d4e,
            original_exporter: Some("10.10.1.11".parse().unwrap()),
            flow_direction: 1,
            ..agent_flow()
        }
    }

    /// The proxied fields but the proxy-only ones, and every aggregate-only field.
    fn aggregated() -> Flow {
        Flow {
            packet_total_from_source_node: 101,
            octet_total_from_source_node: 102,
            packet_delta_from_source_node: 103,
            octet_delta_from_source_node: 104,
            reverse_packet_total_from_source_node: 105,
            reverse_octet_total_from_source_node: 106,
            reverse_packet_delta_from_source_node: 107,
            reverse_octet_delta_from_source_node: 108,
            packet_total_from_destination_node: 201,
            octet_total_from_destination_node: 202,
            packet_delta_from_destination_node: 203,
            octet_delta_from_destination_node: 204,
            reverse_packet_total_from_destination_node: 205,
            reverse_octet_total_from_destination_node: 206,
            reverse_packet_delta_from_destination_node: 207,
            reverse_octet_delta_from_destination_node: 208,
            flow_end_from_source_node: 1_700_000_058,
            flow_end_from_destination_node: 1_700_000_059,
            throughput: 301,
            throughput_from_source_node: 302,
            throughput_from_destination_node: 303,
            reverse_throughput: 304,
            reverse_throughput_from_source_node: 305,
            reverse_throughput_from_destination_node: 306,
            original_domain: 0,
            original_exporter: None,
            flow_direction: 0,
            ..proxied()
        }
    }

    fn with_uids() -> LayoutOptions {
        LayoutOptions { include_names: true, include_uids: true }
    }

    #[test]
    fn the_round_trip_layouts_cover_every_field() {
        let fields = |layout, opts| FlowWriter::new(layout, opts).plan.iter().map(|(f, _)| *f).collect::<Vec<_>>();
        let mut covered = fields(Layout::ProxyV4, with_uids());
        covered.extend(fields(Layout::AggregateV4, with_uids()));
        for field in FlowField::ALL {
            assert!(covered.contains(field), "{field:?} is in no layout");
        }
    }

    #[test]
    fn every_field_survives_encode_decode_read() {
        assert_eq!(round_trip(Layout::AgentV4, LayoutOptions::default(), &agent_flow()), [agent_flow()]);
        assert_eq!(round_trip(Layout::ProxyV4, with_uids(), &proxied()), [proxied()]);
        assert_eq!(round_trip(Layout::AggregateV4, with_uids(), &aggregated()), [aggregated()]);
        let v6 = Flow {
            source_address: "fd00:10:244:1::7".parse().unwrap(),
            destination_address: "fd00:10:244:2::9".parse().unwrap(),
            egress_ip: Some("2001:db8::100".parse().unwrap()),
            destination_cluster_ip: Some("fd00:10:96::10".parse().unwrap()),
            proxy_snat_ip: Some("2001:db8::2".parse().unwrap()),
            destination_service_ip: Some("fd00:10:96::11".parse().unwrap()),
            original_exporter: Some("2001:db8:1::11".parse().unwrap()),
            ..proxied()
        };
        assert_eq!(round_trip(Layout::ProxyV6, with_uids(), &v6), std::slice::from_ref(&v6));
        let agent_v6 = Flow { original_exporter: None, ..v6 };
        let agent_only = round_trip(Layout::AgentV6, LayoutOptions::default(), &agent_v6);
        assert_eq!(agent_only[0].source_address, agent_v6.source_address);
        assert_eq!(agent_only[0].destination_service_ip, agent_v6.destination_service_ip);
        assert_eq!(agent_only[0].source_pod_labels, "", "the agent sends no labels");
    }

    #[test]
    fn proxy_records_carry_the_exporter_in_its_family_and_zero_in_the_other() {
        let writer = FlowWriter::new(Layout::ProxyV4, with_uids());
        let template = writer.template(256);
        let mut flow = proxied();
        let msg = message(&template, |w| writer.write(&flow, w));
        let record = DataRecord { template: &template, bytes: record_bytes(&msg, &template) };
        assert_eq!(record.get(0, 403), Some(Value::Ipv4("10.10.1.11".parse().unwrap())));
        assert_eq!(record.get(0, 404), Some(Value::Ipv6(Ipv6Addr::UNSPECIFIED)));
        assert_eq!(record.get(0, 405), Some(Value::Unsigned(0x1b2c_3d4e)));
        assert_eq!(record.get(PEN_ANTREA, 154), Some(Value::String(b"172.18.0.100")), "egressIP is text");

        flow.original_exporter = Some("2001:db8::11".parse().unwrap());
        flow.egress_ip = None;
        flow.proxy_snat_ip = None;
        let msg = message(&template, |w| writer.write(&flow, w));
        let record = DataRecord { template: &template, bytes: record_bytes(&msg, &template) };
        assert_eq!(record.get(0, 403), Some(Value::Ipv4(Ipv4Addr::UNSPECIFIED)));
        assert_eq!(record.get(0, 404), Some(Value::Ipv6("2001:db8::11".parse().unwrap())));
        assert_eq!(record.get(PEN_ANTREA, 154), Some(Value::String(b"")), "absent egressIP is empty text");
        assert_eq!(record.get(PEN_ANTREA, 170), Some(Value::Ipv4(Ipv4Addr::UNSPECIFIED)));
        assert_eq!(decode(&msg), [flow]);
    }

    /// The data record of a [`message`]: after the message header, the template set and the
    /// data set header.
    fn record_bytes<'a>(msg: &'a [u8], t: &Template) -> &'a [u8] {
        let template_record = 4 + t.specs().map(|s| if s.pen == 0 { 4 } else { 8 }).sum::<usize>();
        &msg[16 + 4 + template_record + 4..]
    }

    #[test]
    fn records_of_another_version_read_what_is_there() {
        // An agent of another version: fields reordered, some missing (totals, Pod namespaces,
        // egress, Service and SNAT addresses), some the model does not know, one at reduced size.
        let template = Template::new(
            300,
            0,
            [
                FieldSpec::iana(8, 4),                          // sourceIPv4Address
                FieldSpec::enterprise(PEN_ANTREA, 999, 4),      // an element of a later Antrea
                FieldSpec::iana(12, 4),                         // destinationIPv4Address
                FieldSpec::iana(10, 4),                         // ingressInterface: not in the model
                FieldSpec::iana(150, 4),                        // flowStartSeconds
                FieldSpec::iana(1, 4),                          // octetDeltaCount, reduced to 4 bytes
                FieldSpec::enterprise(PEN_REVERSE, 1, 8),       // reverseOctetDeltaCount
                FieldSpec::enterprise(PEN_ANTREA, 101, VARLEN), // sourcePodName
                FieldSpec::enterprise(PEN_ANTREA, 998, VARLEN), // unknown, variable length
                FieldSpec::enterprise(PEN_ANTREA, 137, 1),      // flowType
                FieldSpec::iana(7, 2),                          // sourceTransportPort
            ],
        );
        let msg = message(&template, |w| {
            w.fixed(&[10, 244, 1, 7], 4)
                .unsigned(0xdead_beef, 4)
                .fixed(&[93, 184, 216, 34], 4)
                .unsigned(3, 4)
                .unsigned(1_700_000_000, 4)
                .unsigned(1700, 4)
                .unsigned(13_000, 8)
                .varlen(b"frontend")
                .varlen(b"from the future")
                .unsigned(FLOW_TYPE_TO_EXTERNAL as u64, 1)
                .unsigned(51234, 2);
        });
        let expected = Flow {
            source_address: "10.244.1.7".parse().unwrap(),
            destination_address: "93.184.216.34".parse().unwrap(),
            flow_start: 1_700_000_000,
            octet_delta: 1700,
            reverse_octet_delta: 13_000,
            source_pod_name: text("frontend"),
            flow_type: FLOW_TYPE_TO_EXTERNAL,
            source_port: 51234,
            ..Flow::default()
        };
        assert_eq!(decode(&msg), [expected]);
    }

    #[test]
    fn zero_and_unparsable_addresses_are_absent() {
        let template = Template::new(
            301,
            0,
            [
                FieldSpec::enterprise(PEN_ANTREA, 106, 4),      // destinationClusterIPv4
                FieldSpec::enterprise(PEN_ANTREA, 171, 16),     // proxySnatIPv6
                FieldSpec::enterprise(PEN_ANTREA, 168, 4),      // destinationServiceIPv4
                FieldSpec::enterprise(PEN_ANTREA, 154, VARLEN), // egressIP
                FieldSpec::iana(403, 4),                        // originalExporterIPv4Address
                FieldSpec::iana(404, 16),                       // originalExporterIPv6Address
            ],
        );
        let record = |service: [u8; 4], egress: &[u8], v4: [u8; 4], v6: Ipv6Addr| {
            message(&template, |w| {
                w.fixed(&[0; 4], 4)
                    .fixed(&[0; 16], 16)
                    .fixed(&service, 4)
                    .varlen(egress)
                    .fixed(&v4, 4)
                    .fixed(&v6.octets(), 16);
            })
        };
        let got = decode(&record([0; 4], b"", [0; 4], Ipv6Addr::UNSPECIFIED));
        assert_eq!(
            (got[0].destination_cluster_ip, got[0].proxy_snat_ip, got[0].destination_service_ip),
            (None, None, None)
        );
        assert_eq!((got[0].egress_ip, got[0].original_exporter), (None, None));

        // The exporter's address in the IPv6 element survives the zero IPv4 one before it.
        let got = decode(&record([10, 96, 0, 11], b"not an address", [0; 4], "2001:db8::11".parse().unwrap()));
        assert_eq!(got[0].destination_service_ip, Some("10.96.0.11".parse().unwrap()));
        assert_eq!(got[0].egress_ip, None);
        assert_eq!(got[0].original_exporter, Some("2001:db8::11".parse().unwrap()));
        let got = decode(&record([0; 4], b"fd00::1", [192, 0, 2, 1], Ipv6Addr::UNSPECIFIED));
        assert_eq!(got[0].egress_ip, Some("fd00::1".parse().unwrap()));
        assert_eq!(got[0].original_exporter, Some("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn templates_without_antrea_elements_are_not_antrea_format() {
        // softflowd's IPv4 template, and an RFC 5103 biflow one.
        let plain = Template::new(1024, 0, [8, 12, 7, 11, 4, 2, 1].map(|id| FieldSpec::iana(id, 4)));
        assert!(FlowReader::compile(&plain).is_none());
        let biflow = Template::new(
            1025,
            0,
            [FieldSpec::iana(8, 4), FieldSpec::iana(1, 8), FieldSpec::enterprise(PEN_REVERSE, 1, 8)],
        );
        assert!(FlowReader::compile(&biflow).is_none());
        let agent = FlowWriter::new(Layout::AgentV4, LayoutOptions::default()).template(256);
        assert!(FlowReader::compile(&agent).is_some());
    }

    #[test]
    fn a_reused_flow_keeps_its_strings() {
        let writer = FlowWriter::new(Layout::ProxyV4, with_uids());
        let template = Arc::new(writer.template(256));
        let reader = FlowReader::compile(&template).unwrap();
        let long = Flow { source_pod_labels: "x".repeat(500), ..proxied() };
        let short = Flow { source_pod_name: text("a"), source_pod_labels: text("{}"), ..proxied() };
        let records =
            [&long, &short].map(|f| record_bytes(&message(&template, |w| writer.write(f, w)), &template).to_vec());

        let mut flow = Flow::default();
        reader.read(&DataRecord { template: &template, bytes: &records[0] }, &mut flow);
        assert_eq!(flow, long);
        let (labels, name) = (flow.source_pod_labels.as_ptr(), flow.source_pod_name.as_ptr());
        let (labels_cap, name_cap) = (flow.source_pod_labels.capacity(), flow.source_pod_name.capacity());

        flow.clear();
        assert_eq!(flow, Flow::default());
        assert_eq!(flow.source_pod_labels.capacity(), labels_cap);

        reader.read(&DataRecord { template: &template, bytes: &records[1] }, &mut flow);
        assert_eq!(flow, short);
        assert_eq!((flow.source_pod_labels.as_ptr(), flow.source_pod_labels.capacity()), (labels, labels_cap));
        assert_eq!((flow.source_pod_name.as_ptr(), flow.source_pod_name.capacity()), (name, name_cap));
    }
}
