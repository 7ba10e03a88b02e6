//! The flow records API of aggregate mode (`GET /flowrecords`, `antctl get flowrecords`,
//! reference §4): the query's five optional fields, and each record as an object with the keys
//! of Antrea's `GetRecords`.

use std::net::IpAddr;

use serde_json::{Map, Value, json};

use super::store::{AggregationStore, FlowKey};
use crate::core::flow::Flow;

/// `?srcip=&dstip=&proto=&srcport=&dstport=`; a field left out (or 0) matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordQuery {
    pub source: Option<IpAddr>,
    pub destination: Option<IpAddr>,
    pub protocol: Option<u8>,
    pub source_port: Option<u16>,
    pub destination_port: Option<u16>,
}

impl RecordQuery {
    /// Reads the query string's pairs; an unparsable value is an error naming it.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, String> {
        fn value<T: std::str::FromStr>(key: &str, v: &str) -> Result<Option<T>, String> {
            if v.is_empty() {
                return Ok(None);
            }
            v.parse().map(Some).map_err(|_| format!("{key}={v:?} is not valid"))
        }
        let mut q = RecordQuery::default();
        for (k, v) in pairs {
            match k {
                "srcip" => q.source = value(k, v)?,
                "dstip" => q.destination = value(k, v)?,
                "proto" => q.protocol = value::<u8>(k, v)?.filter(|&p| p != 0),
                "srcport" => q.source_port = value::<u16>(k, v)?.filter(|&p| p != 0),
                "dstport" => q.destination_port = value::<u16>(k, v)?.filter(|&p| p != 0),
                other => {
                    return Err(format!("unknown parameter {other:?}; expected srcip, dstip, proto, srcport, dstport"));
                }
            }
        }
        Ok(q)
    }

    /// The query string for these fields (what `flowctl get flowrecords` sends).
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(ip) = self.source {
            parts.push(format!("srcip={ip}"));
        }
        if let Some(ip) = self.destination {
            parts.push(format!("dstip={ip}"));
        }
        if let Some(p) = self.protocol {
            parts.push(format!("proto={p}"));
        }
        if let Some(p) = self.source_port {
            parts.push(format!("srcport={p}"));
        }
        if let Some(p) = self.destination_port {
            parts.push(format!("dstport={p}"));
        }
        parts.join("&")
    }

    fn matches(&self, key: &FlowKey) -> bool {
        self.source.is_none_or(|ip| key.source_address() == ip.to_canonical())
            && self.destination.is_none_or(|ip| key.destination_address() == ip.to_canonical())
            && self.protocol.is_none_or(|p| key.protocol == p)
            && self.source_port.is_none_or(|p| key.source_port == p)
            && self.destination_port.is_none_or(|p| key.destination_port == p)
    }

    /// The matching flows: an exact lookup when all five fields are given, else a scan.
    pub fn run(&self, store: &AggregationStore) -> Vec<Flow> {
        if let (Some(s), Some(d), Some(p), Some(sp), Some(dp)) =
            (self.source, self.destination, self.protocol, self.source_port, self.destination_port)
        {
            return store.record(&FlowKey::new(s.to_canonical(), d.to_canonical(), sp, dp, p)).into_iter().collect();
        }
        store.records(|k| self.matches(k))
    }
}

/// One record as antctl shows it: Antrea's keys, addresses in the family's element names.
pub fn record_json(f: &Flow) -> Value {
    let ip = |a: Option<IpAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    let mut m: Map<String, Value> = match json!({
        "sourceTransportPort": f.source_port,
        "destinationTransportPort": f.destination_port,
        "protocolIdentifier": f.protocol,
        "tcpState": f.tcp_state,
        "flowStartSeconds": f.flow_start,
        "flowEndSeconds": f.flow_end,
        "flowEndSecondsFromSourceNode": f.flow_end_from_source_node,
        "flowEndSecondsFromDestinationNode": f.flow_end_from_destination_node,
        "flowType": f.flow_type,
        "sourcePodName": f.source_pod_name,
        "sourcePodNamespace": f.source_pod_namespace,
        "sourceNodeName": f.source_node_name,
        "destinationPodName": f.destination_pod_name,
        "destinationPodNamespace": f.destination_pod_namespace,
        "destinationNodeName": f.destination_node_name,
        "destinationServicePort": f.destination_service_port,
        "destinationServicePortName": f.destination_service_port_name,
        "ingressNetworkPolicyNamespace": f.ingress_policy_namespace,
        "ingressNetworkPolicyName": f.ingress_policy_name,
        "ingressNetworkPolicyRuleName": f.ingress_rule_name,
        "ingressNetworkPolicyRuleAction": f.ingress_rule_action,
        "egressNetworkPolicyNamespace": f.egress_policy_namespace,
        "egressNetworkPolicyName": f.egress_policy_name,
        "egressNetworkPolicyRuleName": f.egress_rule_name,
        "egressNetworkPolicyRuleAction": f.egress_rule_action,
        "flowEndReason": f.end_reason,
        "egressName": f.egress_name,
        "egressIP": ip(f.egress_ip),
        "egressNodeName": f.egress_node_name,
        "packetTotalCount": f.packet_total,
        "packetDeltaCount": f.packet_delta,
        "octetTotalCount": f.octet_total,
        "octetDeltaCount": f.octet_delta,
        "reversePacketTotalCount": f.reverse_packet_total,
        "reversePacketDeltaCount": f.reverse_packet_delta,
        "reverseOctetTotalCount": f.reverse_octet_total,
        "reverseOctetDeltaCount": f.reverse_octet_delta,
        "throughput": f.throughput,
        "reverseThroughput": f.reverse_throughput,
    }) {
        Value::Object(m) => m,
        _ => unreachable!("json! of an object literal is an object"),
    };
    let v = if f.source_address.is_ipv6() { "IPv6" } else { "IPv4" };
    m.insert(format!("source{v}Address"), f.source_address.to_string().into());
    m.insert(format!("destination{v}Address"), f.destination_address.to_string().into());
    m.insert(format!("destinationClusterIP{}", &v[2..]), ip(f.destination_cluster_ip).into());
    m.insert(format!("destinationServiceIP{}", &v[2..]), ip(f.destination_service_ip).into());
    Value::Object(m)
}

/// antctl's table columns for flow records, in its order.
pub const COLUMNS: [&str; 10] =
    ["SRC_IP", "DST_IP", "SPORT", "DPORT", "PROTO", "SRC_POD", "DST_POD", "SRC_NS", "DST_NS", "SERVICE"];

/// The row of one record (as `record_json` wrote it) under [`COLUMNS`].
pub fn row(record: &Value) -> [String; 10] {
    let s = |k: &str| match record.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let family = if record.get("sourceIPv6Address").is_some() { "IPv6" } else { "IPv4" };
    [
        s(&format!("source{family}Address")),
        s(&format!("destination{family}Address")),
        s("sourceTransportPort"),
        s("destinationTransportPort"),
        s("protocolIdentifier"),
        s("sourcePodName"),
        s("destinationPodName"),
        s("sourcePodNamespace"),
        s("destinationPodNamespace"),
        s("destinationServicePortName"),
    ]
}

/// `-o wide`: the table's columns, then the Nodes, the flow's type and times, its counters both
/// ways and its policies.
pub const WIDE_COLUMNS: [&str; 19] = [
    "SRC_IP",
    "DST_IP",
    "SPORT",
    "DPORT",
    "PROTO",
    "SRC_POD",
    "DST_POD",
    "SRC_NS",
    "DST_NS",
    "SERVICE",
    "SRC_NODE",
    "DST_NODE",
    "FLOW_TYPE",
    "START",
    "END",
    "PACKETS",
    "BYTES",
    "REV_PACKETS",
    "REV_BYTES",
];

/// The row of one record under [`WIDE_COLUMNS`].
pub fn wide_row(record: &Value) -> [String; 19] {
    let s = |k: &str| match record.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let [src_ip, dst_ip, sport, dport, proto, src_pod, dst_pod, src_ns, dst_ns, service] = row(record);
    [
        src_ip,
        dst_ip,
        sport,
        dport,
        proto,
        src_pod,
        dst_pod,
        src_ns,
        dst_ns,
        service,
        s("sourceNodeName"),
        s("destinationNodeName"),
        s("flowType"),
        s("flowStartSeconds"),
        s("flowEndSeconds"),
        s("packetTotalCount"),
        s("octetTotalCount"),
        s("reversePacketTotalCount"),
        s("reverseOctetTotalCount"),
    ]
}

/// `--proto`: a protocol number, or one of the names antctl users type.
pub fn parse_protocol(s: &str) -> Result<u8, String> {
    const NAMES: [(&str, u8); 5] = [("icmp", 1), ("tcp", 6), ("udp", 17), ("icmpv6", 58), ("sctp", 132)];
    s.parse::<u8>()
        .ok()
        .or_else(|| NAMES.iter().find_map(|&(name, n)| s.eq_ignore_ascii_case(name).then_some(n)))
        .ok_or_else(|| format!("expected a protocol number (0-255) or tcp, udp, sctp, icmp, icmpv6, found '{s}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_reads_antctls_parameters_and_names_a_bad_one() {
        let q = RecordQuery::parse([("srcip", "10.0.0.1"), ("proto", "6"), ("dstport", "0")]).unwrap();
        assert_eq!(q.source, Some("10.0.0.1".parse().unwrap()));
        assert_eq!((q.protocol, q.destination_port), (Some(6), None), "0 is a wildcard");
        assert_eq!(q.to_query_string(), "srcip=10.0.0.1&proto=6");
        assert_eq!(RecordQuery::parse([("srcport", "x")]).unwrap_err(), "srcport=\"x\" is not valid");
        assert!(RecordQuery::parse([("port", "1")]).unwrap_err().contains("unknown parameter"));
    }

    #[test]
    fn a_record_has_antreas_keys_and_its_familys_address_names() {
        let f = Flow {
            source_address: "fd00::1".parse().unwrap(),
            destination_address: "fd00::2".parse().unwrap(),
            source_pod_name: "client".into(),
            destination_service_port_name: "ns/web:http".into(),
            ..Flow::default()
        };
        let v = record_json(&f);
        assert_eq!(v["sourceIPv6Address"], "fd00::1");
        assert_eq!(v["destinationClusterIPv6"], "");
        assert!(v.get("sourceIPv4Address").is_none());
        assert_eq!(row(&v)[0], "fd00::1");
        assert_eq!(row(&v)[5], "client");
        assert_eq!(row(&v)[9], "ns/web:http");
    }

    /// Issue #22 (6): `--proto tcp` was refused; names and numbers both work.
    #[test]
    fn protocols_are_names_or_numbers() {
        assert_eq!(parse_protocol("tcp"), Ok(6));
        assert_eq!(parse_protocol("UDP"), Ok(17));
        assert_eq!(parse_protocol("132"), Ok(132));
        assert!(parse_protocol("tpc").unwrap_err().contains("'tpc'"));
        assert!(parse_protocol("256").is_err());
    }
}
