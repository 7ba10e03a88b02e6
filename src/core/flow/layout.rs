//! The reference templates, in their exact wire order: the agent's (reference
//! antrea-flow-visibility.md §1.3) and the Flow Aggregator's in aggregate and proxy mode
//! (§3.4, §3.5), built from the model's table.

use super::model::FlowField::{self, *};
use crate::core::ipfix::registry;
use crate::core::ipfix::template::{FieldSpec, Template};

/// Which reference template, and of which address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    AgentV4,
    AgentV6,
    ProxyV4,
    ProxyV6,
    AggregateV4,
    AggregateV6,
}

impl Layout {
    pub fn is_ipv6(self) -> bool {
        matches!(self, Layout::AgentV6 | Layout::ProxyV6 | Layout::AggregateV6)
    }
}

/// The aggregator's `flowCollector.includeK8sNames` and `includeK8sUIDs`; the agent's template
/// does not depend on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutOptions {
    pub include_names: bool,
    pub include_uids: bool,
}

impl Default for LayoutOptions {
    fn default() -> Self {
        LayoutOptions { include_names: true, include_uids: false }
    }
}

/// The agent's template: the IANA block, the reverse block, the Antrea block. Its first 16 are
/// the aggregator's first 16 too.
const AGENT: [FlowField; 43] = [
    FlowStart,
    FlowEnd,
    EndReason,
    SourcePort,
    DestinationPort,
    Protocol,
    PacketTotal,
    OctetTotal,
    PacketDelta,
    OctetDelta,
    SourceAddress,
    DestinationAddress,
    ReversePacketTotal,
    ReverseOctetTotal,
    ReversePacketDelta,
    ReverseOctetDelta,
    SourcePodName,
    SourcePodNamespace,
    SourceNodeName,
    DestinationPodName,
    DestinationPodNamespace,
    DestinationNodeName,
    DestinationServicePort,
    DestinationServicePortName,
    IngressPolicyName,
    IngressPolicyNamespace,
    IngressPolicyType,
    IngressRuleName,
    IngressRuleAction,
    EgressPolicyName,
    EgressPolicyNamespace,
    EgressPolicyType,
    EgressRuleName,
    EgressRuleAction,
    TcpState,
    FlowType,
    EgressName,
    EgressIp,
    EgressNodeName,
    ProxySnatPort,
    DestinationClusterIp,
    ProxySnatIp,
    DestinationServiceIp,
];

const fn agent_names(ipv6: bool) -> [&'static str; 43] {
    let mut names = [""; 43];
    let mut i = 0;
    while i < names.len() {
        names[i] = AGENT[i].ie_name(ipv6);
        i += 1;
    }
    names
}

/// The agent's IPv4 template.
pub const AGENT_IPV4: [&str; 43] = agent_names(false);

/// The agent's IPv6 template: the IPv4 one with the address elements of the IPv6 family.
pub const AGENT_IPV6: [&str; 43] = agent_names(true);

/// The aggregate-only block, in the order of Antrea ≥ 2.7 (PR #8228): each counter from the
/// source Node then from the destination Node, the end times, then each throughput overall,
/// from the source Node, from the destination Node.
const AGGREGATE_ONLY: [FlowField; 24] = [
    OctetDeltaFromSourceNode,
    OctetDeltaFromDestinationNode,
    OctetTotalFromSourceNode,
    OctetTotalFromDestinationNode,
    PacketDeltaFromSourceNode,
    PacketDeltaFromDestinationNode,
    PacketTotalFromSourceNode,
    PacketTotalFromDestinationNode,
    ReverseOctetDeltaFromSourceNode,
    ReverseOctetDeltaFromDestinationNode,
    ReverseOctetTotalFromSourceNode,
    ReverseOctetTotalFromDestinationNode,
    ReversePacketDeltaFromSourceNode,
    ReversePacketDeltaFromDestinationNode,
    ReversePacketTotalFromSourceNode,
    ReversePacketTotalFromDestinationNode,
    FlowEndFromSourceNode,
    FlowEndFromDestinationNode,
    Throughput,
    ThroughputFromSourceNode,
    ThroughputFromDestinationNode,
    ReverseThroughput,
    ReverseThroughputFromSourceNode,
    ReverseThroughputFromDestinationNode,
];

/// Each field of `layout` with the element it is written as, in the reference order.
pub(super) fn layout_fields(layout: Layout, opts: LayoutOptions) -> Vec<(FlowField, &'static str)> {
    let ipv6 = layout.is_ipv6();
    let mut out = Vec::with_capacity(80);
    let mut add = |on: bool, fields: &[FlowField]| {
        if on {
            out.extend(fields.iter().map(|&f| (f, f.ie_name(ipv6))));
        }
    };
    if matches!(layout, Layout::AgentV4 | Layout::AgentV6) {
        add(true, &AGENT);
        return out;
    }
    let (names, uids) = (opts.include_names, opts.include_uids);
    // A rule name means nothing without its policy's name or UID.
    let rules = names || uids;
    add(true, &AGENT[..16]);
    add(names, &[SourcePodName, SourcePodNamespace]);
    add(uids, &[SourcePodUuid]);
    add(names, &[SourceNodeName]);
    add(uids, &[SourceNodeUuid]);
    add(names, &[DestinationPodName, DestinationPodNamespace]);
    add(uids, &[DestinationPodUuid]);
    add(names, &[DestinationNodeName]);
    add(uids, &[DestinationNodeUuid]);
    add(true, &[DestinationServicePort]);
    add(names, &[DestinationServicePortName]);
    add(uids, &[DestinationServiceUuid]);
    add(names, &[IngressPolicyName, IngressPolicyNamespace]);
    add(uids, &[IngressPolicyUuid]);
    add(true, &[IngressPolicyType]);
    add(rules, &[IngressRuleName]);
    add(true, &[IngressRuleAction]);
    add(names, &[EgressPolicyName, EgressPolicyNamespace]);
    add(uids, &[EgressPolicyUuid]);
    add(true, &[EgressPolicyType]);
    add(rules, &[EgressRuleName]);
    add(true, &[EgressRuleAction, TcpState, FlowType]);
    add(names, &[EgressName]);
    add(uids, &[EgressUuid]);
    add(true, &[EgressIp]);
    add(names, &[EgressNodeName]);
    add(uids, &[EgressNodeUuid]);
    // Unlike the agent, the aggregator puts proxySnatIP before destinationClusterIP.
    add(true, &[ProxySnatPort, ProxySnatIp, DestinationClusterIp, DestinationServiceIp]);
    let aggregate = matches!(layout, Layout::AggregateV4 | Layout::AggregateV6);
    add(aggregate, &AGGREGATE_ONLY);
    add(true, &[SourcePodLabels, DestinationPodLabels, ClusterId]);
    if !aggregate {
        out.extend([
            (OriginalDomain, OriginalDomain.ie_name(ipv6)),
            (OriginalExporter, OriginalExporter.ie_name(false)),
            (OriginalExporter, OriginalExporter.ie_name(true)),
            (FlowDirection, FlowDirection.ie_name(ipv6)),
        ]);
    }
    out
}

/// The element names of `layout`, in the reference order.
pub fn layout_names(layout: Layout, opts: LayoutOptions) -> Vec<&'static str> {
    layout_fields(layout, opts).into_iter().map(|(_, name)| name).collect()
}

/// A template of registry elements at their default lengths, in the order given.
///
/// # Panics
/// When a name is not in the registry: the lists here are fixed and tested.
pub fn template(id: u16, names: &[&str]) -> Template {
    Template::new(
        id,
        0,
        names
            .iter()
            .map(|n| FieldSpec::of(registry::by_name(n).unwrap_or_else(|| panic!("{n} is a registry element")))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ipfix::registry::{PEN_ANTREA, PEN_REVERSE};

    const IANA_V4: [&str; 16] = [
        "flowStartSeconds",
        "flowEndSeconds",
        "flowEndReason",
        "sourceTransportPort",
        "destinationTransportPort",
        "protocolIdentifier",
        "packetTotalCount",
        "octetTotalCount",
        "packetDeltaCount",
        "octetDeltaCount",
        "sourceIPv4Address",
        "destinationIPv4Address",
        "reversePacketTotalCount",
        "reverseOctetTotalCount",
        "reversePacketDeltaCount",
        "reverseOctetDeltaCount",
    ];

    const IANA_V6: [&str; 16] = [
        "flowStartSeconds",
        "flowEndSeconds",
        "flowEndReason",
        "sourceTransportPort",
        "destinationTransportPort",
        "protocolIdentifier",
        "packetTotalCount",
        "octetTotalCount",
        "packetDeltaCount",
        "octetDeltaCount",
        "sourceIPv6Address",
        "destinationIPv6Address",
        "reversePacketTotalCount",
        "reverseOctetTotalCount",
        "reversePacketDeltaCount",
        "reverseOctetDeltaCount",
    ];

    /// Reference §1.3, rows 17–43 (IPv4).
    const AGENT_ANTREA_V4: [&str; 27] = [
        "sourcePodName",
        "sourcePodNamespace",
        "sourceNodeName",
        "destinationPodName",
        "destinationPodNamespace",
        "destinationNodeName",
        "destinationServicePort",
        "destinationServicePortName",
        "ingressNetworkPolicyName",
        "ingressNetworkPolicyNamespace",
        "ingressNetworkPolicyType",
        "ingressNetworkPolicyRuleName",
        "ingressNetworkPolicyRuleAction",
        "egressNetworkPolicyName",
        "egressNetworkPolicyNamespace",
        "egressNetworkPolicyType",
        "egressNetworkPolicyRuleName",
        "egressNetworkPolicyRuleAction",
        "tcpState",
        "flowType",
        "egressName",
        "egressIP",
        "egressNodeName",
        "proxySnatPort",
        "destinationClusterIPv4",
        "proxySnatIPv4",
        "destinationServiceIPv4",
    ];

    /// Reference §3.5, the aggregator's Antrea block with the defaults (IPv4).
    const AGGREGATOR_ANTREA_V4: [&str; 27] = [
        "sourcePodName",
        "sourcePodNamespace",
        "sourceNodeName",
        "destinationPodName",
        "destinationPodNamespace",
        "destinationNodeName",
        "destinationServicePort",
        "destinationServicePortName",
        "ingressNetworkPolicyName",
        "ingressNetworkPolicyNamespace",
        "ingressNetworkPolicyType",
        "ingressNetworkPolicyRuleName",
        "ingressNetworkPolicyRuleAction",
        "egressNetworkPolicyName",
        "egressNetworkPolicyNamespace",
        "egressNetworkPolicyType",
        "egressNetworkPolicyRuleName",
        "egressNetworkPolicyRuleAction",
        "tcpState",
        "flowType",
        "egressName",
        "egressIP",
        "egressNodeName",
        "proxySnatPort",
        "proxySnatIPv4",
        "destinationClusterIPv4",
        "destinationServiceIPv4",
    ];

    /// Reference §3.5, the aggregator's Antrea block with UIDs (IPv6).
    const AGGREGATOR_ANTREA_UIDS_V6: [&str; 36] = [
        "sourcePodName",
        "sourcePodNamespace",
        "sourcePodUUID",
        "sourceNodeName",
        "sourceNodeUUID",
        "destinationPodName",
        "destinationPodNamespace",
        "destinationPodUUID",
        "destinationNodeName",
        "destinationNodeUUID",
        "destinationServicePort",
        "destinationServicePortName",
        "destinationServiceUUID",
        "ingressNetworkPolicyName",
        "ingressNetworkPolicyNamespace",
        "ingressNetworkPolicyUUID",
        "ingressNetworkPolicyType",
        "ingressNetworkPolicyRuleName",
        "ingressNetworkPolicyRuleAction",
        "egressNetworkPolicyName",
        "egressNetworkPolicyNamespace",
        "egressNetworkPolicyUUID",
        "egressNetworkPolicyType",
        "egressNetworkPolicyRuleName",
        "egressNetworkPolicyRuleAction",
        "tcpState",
        "flowType",
        "egressName",
        "egressUUID",
        "egressIP",
        "egressNodeName",
        "egressNodeUUID",
        "proxySnatPort",
        "proxySnatIPv6",
        "destinationClusterIPv6",
        "destinationServiceIPv6",
    ];

    /// Reference §3.5, the aggregate-only block.
    const AGGREGATE_ONLY_NAMES: [&str; 24] = [
        "octetDeltaCountFromSourceNode",
        "octetDeltaCountFromDestinationNode",
        "octetTotalCountFromSourceNode",
        "octetTotalCountFromDestinationNode",
        "packetDeltaCountFromSourceNode",
        "packetDeltaCountFromDestinationNode",
        "packetTotalCountFromSourceNode",
        "packetTotalCountFromDestinationNode",
        "reverseOctetDeltaCountFromSourceNode",
        "reverseOctetDeltaCountFromDestinationNode",
        "reverseOctetTotalCountFromSourceNode",
        "reverseOctetTotalCountFromDestinationNode",
        "reversePacketDeltaCountFromSourceNode",
        "reversePacketDeltaCountFromDestinationNode",
        "reversePacketTotalCountFromSourceNode",
        "reversePacketTotalCountFromDestinationNode",
        "flowEndSecondsFromSourceNode",
        "flowEndSecondsFromDestinationNode",
        "throughput",
        "throughputFromSourceNode",
        "throughputFromDestinationNode",
        "reverseThroughput",
        "reverseThroughputFromSourceNode",
        "reverseThroughputFromDestinationNode",
    ];

    const LABELS_CLUSTER: [&str; 3] = ["sourcePodLabels", "destinationPodLabels", "clusterId"];

    /// Reference §3.4, the proxy-only block.
    const PROXY_ONLY: [&str; 4] =
        ["originalObservationDomainId", "originalExporterIPv4Address", "originalExporterIPv6Address", "flowDirection"];

    fn concat(parts: &[&[&'static str]]) -> Vec<&'static str> {
        parts.concat()
    }

    const NAMES_AND_UIDS: LayoutOptions = LayoutOptions { include_names: true, include_uids: true };

    #[test]
    fn agent_layouts_are_the_reference_lists() {
        let v4 = concat(&[&IANA_V4, &AGENT_ANTREA_V4]);
        assert_eq!(v4.len(), 43);
        assert_eq!(layout_names(Layout::AgentV4, LayoutOptions::default()), v4);
        assert_eq!(AGENT_IPV4.to_vec(), v4);
        let mut antrea_v6 = AGENT_ANTREA_V4;
        antrea_v6[24..].copy_from_slice(&["destinationClusterIPv6", "proxySnatIPv6", "destinationServiceIPv6"]);
        let v6 = concat(&[&IANA_V6, &antrea_v6]);
        assert_eq!(layout_names(Layout::AgentV6, LayoutOptions::default()), v6);
        assert_eq!(AGENT_IPV6.to_vec(), v6);
        // The agent's template does not follow the aggregator's options.
        assert_eq!(layout_names(Layout::AgentV4, NAMES_AND_UIDS), v4);
    }

    #[test]
    fn proxy_layouts_are_the_reference_lists() {
        let v4 = concat(&[&IANA_V4, &AGGREGATOR_ANTREA_V4, &LABELS_CLUSTER, &PROXY_ONLY]);
        assert_eq!(v4.len(), 50);
        assert_eq!(layout_names(Layout::ProxyV4, LayoutOptions::default()), v4);
        let mut antrea_v6 = AGGREGATOR_ANTREA_V4;
        antrea_v6[24..].copy_from_slice(&["proxySnatIPv6", "destinationClusterIPv6", "destinationServiceIPv6"]);
        let v6 = concat(&[&IANA_V6, &antrea_v6, &LABELS_CLUSTER, &PROXY_ONLY]);
        assert_eq!(layout_names(Layout::ProxyV6, LayoutOptions::default()), v6);
    }

    #[test]
    fn aggregate_layouts_are_the_reference_lists() {
        let v4 = concat(&[&IANA_V4, &AGGREGATOR_ANTREA_V4, &AGGREGATE_ONLY_NAMES, &LABELS_CLUSTER]);
        assert_eq!(v4.len(), 70);
        assert_eq!(layout_names(Layout::AggregateV4, LayoutOptions::default()), v4);
        let v6 = concat(&[&IANA_V6, &AGGREGATOR_ANTREA_UIDS_V6, &AGGREGATE_ONLY_NAMES, &LABELS_CLUSTER]);
        assert_eq!(v6.len(), 79);
        assert_eq!(layout_names(Layout::AggregateV6, NAMES_AND_UIDS), v6);
    }

    #[test]
    fn names_can_be_left_out() {
        let no_names = LayoutOptions { include_names: false, include_uids: false };
        let antrea = [
            "destinationServicePort",
            "ingressNetworkPolicyType",
            "ingressNetworkPolicyRuleAction",
            "egressNetworkPolicyType",
            "egressNetworkPolicyRuleAction",
            "tcpState",
            "flowType",
            "egressIP",
            "proxySnatPort",
            "proxySnatIPv4",
            "destinationClusterIPv4",
            "destinationServiceIPv4",
        ];
        let v4 = concat(&[&IANA_V4, &antrea, &LABELS_CLUSTER, &PROXY_ONLY]);
        assert_eq!(layout_names(Layout::ProxyV4, no_names), v4);
        // With UIDs but no names, rule names stay: the UID says which policy they belong to.
        let uids_only = LayoutOptions { include_names: false, include_uids: true };
        let antrea = [
            "sourcePodUUID",
            "sourceNodeUUID",
            "destinationPodUUID",
            "destinationNodeUUID",
            "destinationServicePort",
            "destinationServiceUUID",
            "ingressNetworkPolicyUUID",
            "ingressNetworkPolicyType",
            "ingressNetworkPolicyRuleName",
            "ingressNetworkPolicyRuleAction",
            "egressNetworkPolicyUUID",
            "egressNetworkPolicyType",
            "egressNetworkPolicyRuleName",
            "egressNetworkPolicyRuleAction",
            "tcpState",
            "flowType",
            "egressUUID",
            "egressIP",
            "egressNodeUUID",
            "proxySnatPort",
            "proxySnatIPv4",
            "destinationClusterIPv4",
            "destinationServiceIPv4",
        ];
        let v4 = concat(&[&IANA_V4, &antrea, &AGGREGATE_ONLY_NAMES, &LABELS_CLUSTER]);
        assert_eq!(layout_names(Layout::AggregateV4, uids_only), v4);
    }

    #[test]
    fn every_layout_name_is_a_registry_element() {
        let layouts = [
            Layout::AgentV4,
            Layout::AgentV6,
            Layout::ProxyV4,
            Layout::ProxyV6,
            Layout::AggregateV4,
            Layout::AggregateV6,
        ];
        for layout in layouts {
            for (names, uids) in [(true, false), (true, true), (false, true), (false, false)] {
                for name in layout_names(layout, LayoutOptions { include_names: names, include_uids: uids }) {
                    let ie = registry::by_name(name).unwrap_or_else(|| panic!("{name} is not in the registry"));
                    assert!(matches!(ie.pen, 0 | PEN_REVERSE | PEN_ANTREA), "{name} is IANA, reverse or Antrea");
                }
            }
        }
    }

    #[test]
    fn agent_templates_match_the_reference_wire_order() {
        let v4 = template(256, &AGENT_IPV4);
        let ids: Vec<(u32, u16, u16)> = v4.specs().map(|s| (s.pen, s.id, s.length)).collect();
        assert_eq!(ids.len(), 43);
        assert_eq!(&ids[..3], &[(0, 150, 4), (0, 151, 4), (0, 136, 1)]);
        assert_eq!(ids[10], (0, 8, 4));
        assert_eq!(ids[12], (PEN_REVERSE, 86, 8));
        assert_eq!(ids[16], (PEN_ANTREA, 101, 65535));
        assert_eq!(ids[37], (PEN_ANTREA, 154, 65535), "egressIP is a string");
        assert_eq!(&ids[40..], &[(PEN_ANTREA, 106, 4), (PEN_ANTREA, 170, 4), (PEN_ANTREA, 168, 4)]);
        let v6 = template(257, &AGENT_IPV6);
        let ids: Vec<(u32, u16, u16)> = v6.specs().map(|s| (s.pen, s.id, s.length)).collect();
        assert_eq!((ids[10], ids[11]), ((0, 27, 16), (0, 28, 16)));
        assert_eq!(&ids[40..], &[(PEN_ANTREA, 107, 16), (PEN_ANTREA, 171, 16), (PEN_ANTREA, 169, 16)]);
    }

    #[test]
    fn proxy_template_elements_and_lengths() {
        let writer = crate::core::flow::FlowWriter::new(Layout::ProxyV4, LayoutOptions::default());
        let specs = writer.specs();
        assert_eq!(specs.len(), 50);
        assert_eq!(specs[40], FieldSpec::enterprise(PEN_ANTREA, 170, 4), "proxySnatIPv4 before the cluster IP");
        assert_eq!(specs[43], FieldSpec::enterprise(PEN_ANTREA, 143, 65535), "labels are variable-length");
        let tail: Vec<_> = specs[46..].to_vec();
        assert_eq!(
            tail,
            [FieldSpec::iana(405, 4), FieldSpec::iana(403, 4), FieldSpec::iana(404, 16), FieldSpec::iana(61, 1)]
        );
        let uids = crate::core::flow::FlowWriter::new(Layout::AggregateV4, NAMES_AND_UIDS);
        assert_eq!(uids.specs()[18], FieldSpec::enterprise(PEN_ANTREA, 159, 16), "sourcePodUUID is 16 bytes");
    }
}
