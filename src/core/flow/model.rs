//! The one table of the flow model: each row is a [`Flow`] member, its [`FlowField`] and the
//! Information Element(s) it travels in. The struct, the enum, the element names, the reset and
//! the per-field read/write dispatch are all generated from this table, so adding a field is
//! adding a row.

use std::net::IpAddr;
use std::sync::OnceLock;

use super::codec::{Slot, SlotKind};
use crate::core::ipfix::encoder::RecordWriter;
use crate::core::ipfix::registry;
use crate::core::ipfix::template::FieldSpec;
use crate::core::ipfix::types::DataType;
use crate::core::ipfix::value::Value;

macro_rules! flow_table {
    (@name $ipv6:ident, $v4:literal) => { $v4 };
    (@name $ipv6:ident, $v4:literal, $v6:literal) => { if $ipv6 { $v6 } else { $v4 } };
    ($( $(#[doc = $doc:literal])* $member:ident: $ty:ty => $variant:ident($v4:literal $(, $v6:literal)?), )*) => {
        /// One flow record as the Antrea agent and Flow Aggregator export it. Addresses that may
        /// be absent are `Option`s (the wire's 0.0.0.0 / `::`); strings are empty when unknown.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Flow {
            $( $(#[doc = $doc])* pub $member: $ty, )*
        }

        impl Default for Flow {
            fn default() -> Self {
                Flow { $( $member: Slot::empty(), )* }
            }
        }

        /// A member of [`Flow`], named for the table that maps members to elements.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum FlowField {
            $( $variant, )*
        }

        impl FlowField {
            /// Every field, in table order.
            pub const ALL: &'static [FlowField] = &[ $( FlowField::$variant, )* ];

            /// What kind of member the field is, which says when its wire bytes can be
            /// forwarded as they are.
            pub(super) const fn kind(self) -> SlotKind {
                match self {
                    $( FlowField::$variant => <$ty as Slot>::KIND, )*
                }
            }

            /// The element this field travels in; address fields have one per family.
            pub const fn ie_name(self, ipv6: bool) -> &'static str {
                match self {
                    $( FlowField::$variant => flow_table!(@name ipv6, $v4 $(, $v6)?), )*
                }
            }
        }

        impl Flow {
            /// Resets every field to zero or empty, keeping the strings' capacity: a reader fills
            /// one reused `Flow` without allocating once the strings have grown.
            pub fn clear(&mut self) {
                $( Slot::reset(&mut self.$member); )*
            }

            pub(super) fn reset_field(&mut self, field: FlowField) {
                match field {
                    $( FlowField::$variant => Slot::reset(&mut self.$member), )*
                }
            }

            pub(super) fn read_field(&mut self, field: FlowField, value: &Value<'_>) {
                match field {
                    $( FlowField::$variant => Slot::read(&mut self.$member, value), )*
                }
            }

            pub(super) fn write_field(
                &self,
                field: FlowField,
                spec: FieldSpec,
                data_type: DataType,
                w: &mut RecordWriter<'_>,
            ) {
                match field {
                    $( FlowField::$variant => Slot::write(&self.$member, spec, data_type, w), )*
                }
            }
        }
    };
}

flow_table! {
    /// flowStartSeconds, UNIX seconds.
    flow_start: u32 => FlowStart("flowStartSeconds"),
    /// flowEndSeconds, UNIX seconds.
    flow_end: u32 => FlowEnd("flowEndSeconds"),
    /// flowEndReason: 1 idle timeout, 2 active timeout, 3 end of flow.
    end_reason: u8 => EndReason("flowEndReason"),
    source_port: u16 => SourcePort("sourceTransportPort"),
    /// After DNAT: the endpoint's port, not the Service's.
    destination_port: u16 => DestinationPort("destinationTransportPort"),
    protocol: u8 => Protocol("protocolIdentifier"),
    packet_total: u64 => PacketTotal("packetTotalCount"),
    octet_total: u64 => OctetTotal("octetTotalCount"),
    packet_delta: u64 => PacketDelta("packetDeltaCount"),
    octet_delta: u64 => OctetDelta("octetDeltaCount"),
    /// Its family chooses the IPv4 or IPv6 template.
    source_address: IpAddr => SourceAddress("sourceIPv4Address", "sourceIPv6Address"),
    /// After DNAT: the endpoint, not the Service IP.
    destination_address: IpAddr => DestinationAddress("destinationIPv4Address", "destinationIPv6Address"),
    reverse_packet_total: u64 => ReversePacketTotal("reversePacketTotalCount"),
    reverse_octet_total: u64 => ReverseOctetTotal("reverseOctetTotalCount"),
    reverse_packet_delta: u64 => ReversePacketDelta("reversePacketDeltaCount"),
    reverse_octet_delta: u64 => ReverseOctetDelta("reverseOctetDeltaCount"),
    source_pod_name: String => SourcePodName("sourcePodName"),
    source_pod_namespace: String => SourcePodNamespace("sourcePodNamespace"),
    source_node_name: String => SourceNodeName("sourceNodeName"),
    destination_pod_name: String => DestinationPodName("destinationPodName"),
    destination_pod_namespace: String => DestinationPodNamespace("destinationPodNamespace"),
    destination_node_name: String => DestinationNodeName("destinationNodeName"),
    /// The Service port before DNAT; 0 when no Service was resolved.
    destination_service_port: u16 => DestinationServicePort("destinationServicePort"),
    /// `namespace/service:portName`.
    destination_service_port_name: String => DestinationServicePortName("destinationServicePortName"),
    ingress_policy_name: String => IngressPolicyName("ingressNetworkPolicyName"),
    ingress_policy_namespace: String => IngressPolicyNamespace("ingressNetworkPolicyNamespace"),
    /// 0 none, 1 K8s NetworkPolicy, 2 Antrea NetworkPolicy, 3 Antrea ClusterNetworkPolicy,
    /// 4 K8s ClusterNetworkPolicy.
    ingress_policy_type: u8 => IngressPolicyType("ingressNetworkPolicyType"),
    ingress_rule_name: String => IngressRuleName("ingressNetworkPolicyRuleName"),
    /// 0 none, 1 Allow, 2 Drop, 3 Reject.
    ingress_rule_action: u8 => IngressRuleAction("ingressNetworkPolicyRuleAction"),
    egress_policy_name: String => EgressPolicyName("egressNetworkPolicyName"),
    egress_policy_namespace: String => EgressPolicyNamespace("egressNetworkPolicyNamespace"),
    egress_policy_type: u8 => EgressPolicyType("egressNetworkPolicyType"),
    egress_rule_name: String => EgressRuleName("egressNetworkPolicyRuleName"),
    egress_rule_action: u8 => EgressRuleAction("egressNetworkPolicyRuleAction"),
    /// The kernel's conntrack state name; empty for protocols other than TCP.
    tcp_state: String => TcpState("tcpState"),
    /// 0 unspecified, 1 intra-Node, 2 inter-Node, 3 to external, 4 from external.
    flow_type: u8 => FlowType("flowType"),
    egress_name: String => EgressName("egressName"),
    /// Antrea sends it as text (a string element, not an address).
    egress_ip: Option<IpAddr> => EgressIp("egressIP"),
    egress_node_name: String => EgressNodeName("egressNodeName"),
    proxy_snat_port: u16 => ProxySnatPort("proxySnatPort"),
    /// Deprecated by Antrea in favour of `destination_service_ip`; both are still sent.
    destination_cluster_ip: Option<IpAddr> => DestinationClusterIp("destinationClusterIPv4", "destinationClusterIPv6"),
    proxy_snat_ip: Option<IpAddr> => ProxySnatIp("proxySnatIPv4", "proxySnatIPv6"),
    destination_service_ip: Option<IpAddr> => DestinationServiceIp("destinationServiceIPv4", "destinationServiceIPv6"),
    /// Kubernetes UIDs (aggregator with includeK8sUIDs): 16 bytes, all zero when unknown.
    source_pod_uuid: [u8; 16] => SourcePodUuid("sourcePodUUID"),
    destination_pod_uuid: [u8; 16] => DestinationPodUuid("destinationPodUUID"),
    source_node_uuid: [u8; 16] => SourceNodeUuid("sourceNodeUUID"),
    destination_node_uuid: [u8; 16] => DestinationNodeUuid("destinationNodeUUID"),
    destination_service_uuid: [u8; 16] => DestinationServiceUuid("destinationServiceUUID"),
    ingress_policy_uuid: [u8; 16] => IngressPolicyUuid("ingressNetworkPolicyUUID"),
    egress_policy_uuid: [u8; 16] => EgressPolicyUuid("egressNetworkPolicyUUID"),
    egress_uuid: [u8; 16] => EgressUuid("egressUUID"),
    egress_node_uuid: [u8; 16] => EgressNodeUuid("egressNodeUUID"),
    /// Aggregate mode: the counters each Node reported.
    packet_total_from_source_node: u64 => PacketTotalFromSourceNode("packetTotalCountFromSourceNode"),
    octet_total_from_source_node: u64 => OctetTotalFromSourceNode("octetTotalCountFromSourceNode"),
    packet_delta_from_source_node: u64 => PacketDeltaFromSourceNode("packetDeltaCountFromSourceNode"),
    octet_delta_from_source_node: u64 => OctetDeltaFromSourceNode("octetDeltaCountFromSourceNode"),
    reverse_packet_total_from_source_node: u64
        => ReversePacketTotalFromSourceNode("reversePacketTotalCountFromSourceNode"),
    reverse_octet_total_from_source_node: u64
        => ReverseOctetTotalFromSourceNode("reverseOctetTotalCountFromSourceNode"),
    reverse_packet_delta_from_source_node: u64
        => ReversePacketDeltaFromSourceNode("reversePacketDeltaCountFromSourceNode"),
    reverse_octet_delta_from_source_node: u64
        => ReverseOctetDeltaFromSourceNode("reverseOctetDeltaCountFromSourceNode"),
    packet_total_from_destination_node: u64 => PacketTotalFromDestinationNode("packetTotalCountFromDestinationNode"),
    octet_total_from_destination_node: u64 => OctetTotalFromDestinationNode("octetTotalCountFromDestinationNode"),
    packet_delta_from_destination_node: u64 => PacketDeltaFromDestinationNode("packetDeltaCountFromDestinationNode"),
    octet_delta_from_destination_node: u64 => OctetDeltaFromDestinationNode("octetDeltaCountFromDestinationNode"),
    reverse_packet_total_from_destination_node: u64
        => ReversePacketTotalFromDestinationNode("reversePacketTotalCountFromDestinationNode"),
    reverse_octet_total_from_destination_node: u64
        => ReverseOctetTotalFromDestinationNode("reverseOctetTotalCountFromDestinationNode"),
    reverse_packet_delta_from_destination_node: u64
        => ReversePacketDeltaFromDestinationNode("reversePacketDeltaCountFromDestinationNode"),
    reverse_octet_delta_from_destination_node: u64
        => ReverseOctetDeltaFromDestinationNode("reverseOctetDeltaCountFromDestinationNode"),
    /// Aggregate mode: the last flowEndSeconds each Node reported.
    flow_end_from_source_node: u32 => FlowEndFromSourceNode("flowEndSecondsFromSourceNode"),
    flow_end_from_destination_node: u32 => FlowEndFromDestinationNode("flowEndSecondsFromDestinationNode"),
    /// Aggregate mode, bits per second.
    throughput: u64 => Throughput("throughput"),
    throughput_from_source_node: u64 => ThroughputFromSourceNode("throughputFromSourceNode"),
    throughput_from_destination_node: u64 => ThroughputFromDestinationNode("throughputFromDestinationNode"),
    reverse_throughput: u64 => ReverseThroughput("reverseThroughput"),
    reverse_throughput_from_source_node: u64 => ReverseThroughputFromSourceNode("reverseThroughputFromSourceNode"),
    reverse_throughput_from_destination_node: u64
        => ReverseThroughputFromDestinationNode("reverseThroughputFromDestinationNode"),
    /// The Pod's labels as a JSON object, `{}` for a Pod without labels, empty when unknown.
    source_pod_labels: String => SourcePodLabels("sourcePodLabels"),
    destination_pod_labels: String => DestinationPodLabels("destinationPodLabels"),
    cluster_id: String => ClusterId("clusterId"),
    /// Proxy mode: the observation domain the record arrived in.
    original_domain: u32 => OriginalDomain("originalObservationDomainId"),
    /// Proxy mode: the exporter the record came from. Proxy layouts carry both families; the
    /// one this address is not in goes out as 0.0.0.0 or `::`.
    original_exporter: Option<IpAddr> => OriginalExporter("originalExporterIPv4Address", "originalExporterIPv6Address"),
    /// 0 ingress, 1 egress, 255 unknown; see [`flow_direction`](super::flow_direction).
    flow_direction: u8 => FlowDirection("flowDirection"),
}

impl FlowField {
    /// The field carried by element (`pen`, `id`), resolving the table's names through the
    /// registry once.
    pub fn of_element(pen: u32, id: u16) -> Option<FlowField> {
        static BY_ELEMENT: OnceLock<Vec<((u32, u16), FlowField)>> = OnceLock::new();
        let table = BY_ELEMENT.get_or_init(|| {
            let mut table: Vec<_> = FlowField::ALL
                .iter()
                .flat_map(|&f| [f.ie_name(false), f.ie_name(true)].map(|name| (name, f)))
                .filter_map(|(name, f)| registry::by_name(name).map(|ie| ((ie.pen, ie.id), f)))
                .collect();
            table.sort_unstable_by_key(|(key, _)| *key);
            table.dedup();
            table
        });
        table.binary_search_by_key(&(pen, id), |(key, _)| *key).ok().map(|i| table[i].1)
    }
}
