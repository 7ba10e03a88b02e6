//! The Antrea flow model: one typed [`Flow`] with every field the Antrea agent and Flow
//! Aggregator export, and one table mapping its fields to Information Elements ([`FlowField`],
//! in [`model`]). Everything else is built from that table:
//!
//! - [`layout`]: the reference templates in their exact wire order (reference
//!   antrea-flow-visibility.md §1.3, §3.4, §3.5): the agent's (43 elements), the aggregator's in
//!   proxy mode (50 for IPv4 with the defaults) and aggregate mode (70), with the aggregator's
//!   `includeK8sNames` / `includeK8sUIDs` options.
//! - [`codec`]: [`FlowReader`], compiled once per input template, fills a reused `Flow` by
//!   element as Antrea's version-skew preprocessor does (§3.2): extra elements are ignored,
//!   missing ones stay zero or empty, zero addresses are absent, egressIP text is parsed.
//!   [`FlowWriter`], compiled once per layout, writes a `Flow` as one record, absent addresses
//!   as 0.0.0.0 / `::`.
//! - [`splice`]: [`Splice`], compiled once per input template, re-encodes Antrea records into
//!   another layout, forwarding the bytes of every field whose encoding does not change: the
//!   proxy's record path.
//! - [`flow_direction`]: the proxy's flowDirection rule (§3.4).

pub mod codec;
pub mod layout;
pub mod model;
pub mod splice;

pub use codec::{FlowReader, FlowWriter};
pub use layout::{AGENT_IPV4, AGENT_IPV6, Layout, LayoutOptions, layout_names, template};
pub use model::{Flow, FlowField};
pub use splice::{FieldSet, Splice};

/// flowType values (Antrea `flow.proto`, the same in IPFIX).
pub const FLOW_TYPE_UNSPECIFIED: u8 = 0;
pub const FLOW_TYPE_INTRA_NODE: u8 = 1;
pub const FLOW_TYPE_INTER_NODE: u8 = 2;
pub const FLOW_TYPE_TO_EXTERNAL: u8 = 3;
pub const FLOW_TYPE_FROM_EXTERNAL: u8 = 4;

/// FNV-1 32-bit (not FNV-1a): how Antrea derives an observation domain id from a Node name (the
/// agent) or a cluster UUID (the aggregator) (reference §1.3, §3.1).
pub fn fnv1_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| h.wrapping_mul(0x0100_0193) ^ u32::from(b))
}

/// flowDirection values (IANA element 61; Antrea's UNKNOWN is 255).
pub const DIRECTION_INGRESS: u8 = 0;
pub const DIRECTION_EGRESS: u8 = 1;
pub const DIRECTION_UNKNOWN: u8 = 255;

/// The direction the aggregator in proxy mode gives a record, seen from the Node that reported
/// it: an inter-Node record with only the source Pod is egress, with only the destination Pod
/// ingress; to-external with a source Pod is egress; from-external with a destination Pod is
/// ingress; anything else (intra-Node among them) is unknown. A Pod is "there" when its name is.
pub fn flow_direction(flow: &Flow) -> u8 {
    let (source, destination) = (!flow.source_pod_name.is_empty(), !flow.destination_pod_name.is_empty());
    match flow.flow_type {
        FLOW_TYPE_INTER_NODE if source && !destination => DIRECTION_EGRESS,
        FLOW_TYPE_INTER_NODE if destination && !source => DIRECTION_INGRESS,
        FLOW_TYPE_TO_EXTERNAL if source => DIRECTION_EGRESS,
        FLOW_TYPE_FROM_EXTERNAL if destination => DIRECTION_INGRESS,
        _ => DIRECTION_UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv1_32_matches_gos_hash_fnv_new32() {
        // Go: h := fnv.New32(); h.Write([]byte(s)); h.Sum32()
        assert_eq!(super::fnv1_32(b""), 0x811c_9dc5);
        assert_eq!(super::fnv1_32(b"a"), 0x050c_5d7e);
        assert_eq!(super::fnv1_32(b"foobar"), 0x31f0_b262);
    }

    use super::*;

    fn flow(flow_type: u8, source: &str, destination: &str) -> Flow {
        Flow {
            flow_type,
            source_pod_name: source.to_string(),
            destination_pod_name: destination.to_string(),
            ..Flow::default()
        }
    }

    #[test]
    fn flow_direction_follows_the_reference() {
        let cases = [
            (FLOW_TYPE_INTER_NODE, "client", "", DIRECTION_EGRESS),
            (FLOW_TYPE_INTER_NODE, "", "server", DIRECTION_INGRESS),
            // Both Pods known (the aggregator filled one in) or neither: no side to speak for.
            (FLOW_TYPE_INTER_NODE, "client", "server", DIRECTION_UNKNOWN),
            (FLOW_TYPE_INTER_NODE, "", "", DIRECTION_UNKNOWN),
            (FLOW_TYPE_TO_EXTERNAL, "client", "", DIRECTION_EGRESS),
            (FLOW_TYPE_TO_EXTERNAL, "", "", DIRECTION_UNKNOWN),
            (FLOW_TYPE_FROM_EXTERNAL, "", "server", DIRECTION_INGRESS),
            (FLOW_TYPE_FROM_EXTERNAL, "client", "", DIRECTION_UNKNOWN),
            (FLOW_TYPE_INTRA_NODE, "client", "server", DIRECTION_UNKNOWN),
            (FLOW_TYPE_INTRA_NODE, "client", "", DIRECTION_UNKNOWN),
            (FLOW_TYPE_UNSPECIFIED, "client", "", DIRECTION_UNKNOWN),
        ];
        for (flow_type, source, destination, expected) in cases {
            assert_eq!(
                flow_direction(&flow(flow_type, source, destination)),
                expected,
                "flowType {flow_type}, source Pod {source:?}, destination Pod {destination:?}"
            );
        }
    }

    #[test]
    fn clear_resets_every_field() {
        let mut f = flow(FLOW_TYPE_INTER_NODE, "client", "server");
        f.original_exporter = Some("192.0.2.1".parse().unwrap());
        f.source_address = "2001:db8::1".parse().unwrap();
        f.source_pod_uuid = [7; 16];
        f.clear();
        assert_eq!(f, Flow::default());
        assert_eq!(f.source_address, std::net::IpAddr::from([0, 0, 0, 0]));
    }
}
