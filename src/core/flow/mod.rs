//! The Antrea flow records: the element lists of the templates the Antrea Flow Exporter (agent)
//! sends, in their exact wire order (reference: antrea-flow-visibility.md §1.3), and the
//! templates built from them.

use crate::core::ipfix::registry;
use crate::core::ipfix::template::{FieldSpec, Template};

/// The agent's IPv4 template: IANA block, reverse block, Antrea block.
pub const AGENT_IPV4: [&str; 43] = [
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

/// The agent's IPv6 template: the IPv4 one with the address elements of the IPv6 family.
pub const AGENT_IPV6: [&str; 43] = {
    let mut t = AGENT_IPV4;
    t[10] = "sourceIPv6Address";
    t[11] = "destinationIPv6Address";
    t[40] = "destinationClusterIPv6";
    t[41] = "proxySnatIPv6";
    t[42] = "destinationServiceIPv6";
    t
};

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
}
