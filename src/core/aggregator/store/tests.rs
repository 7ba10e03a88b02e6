//! The cases of the reference's `aggregate_test.go` (§6), and flowctl's departures.

use super::*;
use crate::core::flow::{FLOW_TYPE_INTRA_NODE, FLOW_TYPE_TO_EXTERNAL};

const START: u32 = 1_700_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The source Node's record of a client→server connection, as an agent sends it.
fn source_half(v6: bool) -> Flow {
    let (src, dst) = if v6 { ("fd00::1", "fd00::2") } else { ("10.10.0.5", "10.10.1.7") };
    Flow {
        flow_start: START,
        flow_end: START + 10,
        end_reason: 2,
        source_address: ip(src),
        destination_address: ip(dst),
        source_port: 40_000,
        destination_port: 8080,
        protocol: 6,
        packet_total: 100,
        octet_total: 10_000,
        packet_delta: 100,
        octet_delta: 10_000,
        reverse_packet_total: 80,
        reverse_octet_total: 64_000,
        reverse_packet_delta: 80,
        reverse_octet_delta: 64_000,
        source_pod_name: "client".into(),
        source_pod_namespace: "ns-a".into(),
        source_node_name: "node-1".into(),
        destination_service_port: 80,
        destination_service_port_name: "ns-b/web:http".into(),
        destination_cluster_ip: Some(ip(if v6 { "fd01::10" } else { "10.96.0.10" })),
        egress_policy_name: "allow-out".into(),
        egress_policy_namespace: "ns-a".into(),
        egress_policy_type: 2,
        egress_rule_name: "r1".into(),
        egress_rule_action: 1,
        tcp_state: "ESTABLISHED".into(),
        flow_type: FLOW_TYPE_INTER_NODE,
        ..Flow::default()
    }
}

/// The destination Node's record of the same connection: its own counters, the server Pod and
/// the ingress policy, no Service (the destination Node does not see the DNAT).
fn destination_half(v6: bool) -> Flow {
    let s = source_half(v6);
    Flow {
        packet_total: 98,
        octet_total: 9_800,
        packet_delta: 98,
        octet_delta: 9_800,
        reverse_packet_total: 80,
        reverse_octet_total: 64_000,
        reverse_packet_delta: 80,
        reverse_octet_delta: 64_000,
        source_pod_name: String::new(),
        source_pod_namespace: String::new(),
        source_node_name: String::new(),
        destination_pod_name: "server".into(),
        destination_pod_namespace: "ns-b".into(),
        destination_node_name: "node-2".into(),
        destination_service_port: 0,
        destination_service_port_name: String::new(),
        destination_cluster_ip: None,
        egress_policy_name: String::new(),
        egress_policy_namespace: String::new(),
        egress_policy_type: 0,
        egress_rule_name: String::new(),
        egress_rule_action: 0,
        ingress_policy_name: "allow-in".into(),
        ingress_policy_namespace: "ns-b".into(),
        ingress_policy_type: 1,
        ingress_rule_name: "r2".into(),
        ingress_rule_action: 1,
        ..s
    }
}

fn store() -> AggregationStore {
    AggregationStore::new(StoreConfig { active_timeout: 60, inactive_timeout: 90, ..StoreConfig::default() })
}

fn observe(store: &AggregationStore, record: &Flow, now: u32) {
    let mut overflow = Vec::new();
    store.observe(record, now, &mut overflow);
    assert!(overflow.is_empty());
}

fn expire(store: &AggregationStore, now: u32) -> Vec<Flow> {
    let mut out = Vec::new();
    store.expire(now, &mut out);
    out
}

fn count(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

fn assert_correlated(f: &Flow, v6: bool) {
    let s = source_half(v6);
    assert_eq!((f.source_address, f.destination_address), (s.source_address, s.destination_address));
    assert_eq!((f.source_port, f.destination_port, f.protocol), (40_000, 8080, 6));
    assert_eq!((f.source_pod_name.as_str(), f.source_node_name.as_str()), ("client", "node-1"));
    assert_eq!((f.destination_pod_name.as_str(), f.destination_node_name.as_str()), ("server", "node-2"));
    assert_eq!(f.destination_service_port_name, "ns-b/web:http");
    assert_eq!(f.destination_cluster_ip, s.destination_cluster_ip);
    assert_eq!((f.egress_policy_name.as_str(), f.ingress_policy_name.as_str()), ("allow-out", "allow-in"));
    assert_eq!((f.egress_rule_action, f.ingress_rule_action), (1, 1));
    assert_eq!(f.flow_type, FLOW_TYPE_INTER_NODE);
    assert_eq!((f.packet_total_from_source_node, f.packet_total_from_destination_node), (100, 98));
    assert_eq!((f.octet_delta_from_source_node, f.octet_delta_from_destination_node), (10_000, 9_800));
    assert_eq!(f.reverse_octet_total_from_destination_node, 64_000);
    assert_eq!((f.flow_end_from_source_node, f.flow_end_from_destination_node), (START + 10, START + 10));
    // Common totals: the larger side's; throughput over the record's lifetime, 10 s.
    assert_eq!((f.packet_total, f.octet_total), (100, 10_000));
    assert_eq!((f.throughput_from_source_node, f.throughput_from_destination_node), (8_000, 7_840));
    assert_eq!(f.reverse_throughput_from_source_node, 51_200);
    assert_eq!(f.throughput, 8_000);
    assert_eq!(f.tcp_state, "ESTABLISHED");
}

#[test]
fn inter_node_halves_correlate_in_either_order_for_ipv4_and_ipv6() {
    for v6 in [false, true] {
        for source_first in [true, false] {
            let s = store();
            let (first, second) = if source_first {
                (source_half(v6), destination_half(v6))
            } else {
                (destination_half(v6), source_half(v6))
            };
            observe(&s, &first, 100);
            assert!(expire(&s, 101).is_empty(), "one half alone waits for the other");
            observe(&s, &second, 102);
            let out = expire(&s, 103);
            assert_eq!(out.len(), 1, "exported at the tick after correlation (v6 {v6}, source first {source_first})");
            assert_correlated(&out[0], v6);
            assert_eq!(count(&s.counters.correlated), 1);
            assert_eq!(s.len(), 1);
            // Deltas and throughputs start again from zero after an export; totals stay.
            let again = s.records(|_| true);
            assert_eq!(again[0].octet_delta_from_source_node, 0);
            assert_eq!(again[0].throughput, 0);
            assert_eq!(again[0].octet_total_from_source_node, 10_000);
        }
    }
}

#[test]
fn egress_drop_and_ingress_reject_are_not_correlated_but_ingress_drop_is() {
    let mut egress_drop = source_half(false);
    egress_drop.egress_rule_action = ACTION_DROP;
    let mut ingress_reject = destination_half(false);
    ingress_reject.ingress_rule_action = ACTION_REJECT;
    for denied in [egress_drop, ingress_reject] {
        let s = store();
        observe(&s, &denied, 100);
        let out = expire(&s, 101);
        assert_eq!(out.len(), 1, "a denied half is exported alone at once");
        assert_eq!(count(&s.counters.correlated), 0);
        // An uncorrelated record fills both sides with its counters.
        assert_eq!(out[0].packet_total_from_source_node, out[0].packet_total_from_destination_node);
    }
    let mut source = source_half(false);
    source.ingress_rule_action = ACTION_DROP;
    let mut destination = destination_half(false);
    destination.ingress_rule_action = ACTION_DROP;
    let s = store();
    observe(&s, &source, 100);
    assert!(expire(&s, 101).is_empty(), "an ingress Drop is seen by both Nodes: wait for the other");
    observe(&s, &destination, 101);
    assert_eq!(expire(&s, 102).len(), 1);
    assert_eq!(count(&s.counters.correlated), 1);
}

#[test]
fn an_ingress_reject_half_makes_a_waiting_flow_ready_instead_of_being_lost() {
    let s = store();
    observe(&s, &source_half(false), 100);
    let mut reject = destination_half(false);
    reject.ingress_rule_action = ACTION_REJECT;
    observe(&s, &reject, 101);
    let out = expire(&s, 102);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ingress_rule_action, ACTION_REJECT);
    assert_eq!(out[0].destination_pod_name, "server");
}

#[test]
fn intra_node_and_to_external_flows_are_exported_at_once_with_both_sides_the_same() {
    let mut intra = source_half(false);
    intra.flow_type = FLOW_TYPE_INTRA_NODE;
    intra.destination_pod_name = "server".into();
    let mut external = source_half(false);
    external.flow_type = FLOW_TYPE_TO_EXTERNAL;
    external.destination_address = ip("93.184.216.34");
    for record in [intra, external] {
        let s = store();
        observe(&s, &record, 100);
        let out = expire(&s, 100);
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert_eq!(f.flow_type, record.flow_type);
        assert_eq!((f.packet_total_from_source_node, f.packet_total_from_destination_node), (100, 100));
        assert_eq!((f.throughput_from_source_node, f.throughput_from_destination_node), (8_000, 8_000));
        // A second record aggregates into it and goes out at the active timeout.
        let mut next = record.clone();
        next.flow_end = START + 20;
        next.octet_total = 20_000;
        next.octet_delta = 10_000;
        observe(&s, &next, 110);
        assert!(expire(&s, 130).is_empty());
        let out = expire(&s, 160);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].octet_total, out[0].octet_delta, out[0].throughput), (20_000, 10_000, 8_000));
    }
}

/// The ingress Node of a NodePort connection: the external client, SNATed to the Node's gateway
/// before it goes to the Pod's Node.
fn ingress_node_half() -> Flow {
    Flow {
        flow_start: START,
        flow_end: START + 10,
        end_reason: 2,
        source_address: ip("198.51.100.7"),
        source_port: 51_000,
        destination_address: ip("10.10.1.7"),
        destination_port: 8080,
        protocol: 6,
        packet_total: 10,
        octet_total: 1_000,
        packet_delta: 10,
        octet_delta: 1_000,
        destination_service_port: 30_080,
        destination_service_port_name: "ns-b/web:http".into(),
        proxy_snat_ip: Some(ip("10.10.0.1")),
        proxy_snat_port: 61_000,
        flow_type: FLOW_TYPE_FROM_EXTERNAL,
        ..Flow::default()
    }
}

/// The Pod's Node sees the connection coming from the SNAT address.
fn pod_node_half() -> Flow {
    Flow {
        flow_start: START,
        flow_end: START + 10,
        end_reason: 2,
        source_address: ip("10.10.0.1"),
        source_port: 61_000,
        destination_address: ip("10.10.1.7"),
        destination_port: 8080,
        protocol: 6,
        packet_total: 9,
        octet_total: 900,
        packet_delta: 9,
        octet_delta: 900,
        destination_pod_name: "server".into(),
        destination_pod_namespace: "ns-b".into(),
        destination_node_name: "node-2".into(),
        flow_type: FLOW_TYPE_FROM_EXTERNAL,
        ..Flow::default()
    }
}

#[test]
fn from_external_halves_meet_on_the_snat_address_and_keep_the_external_client() {
    let ingress = ingress_node_half();
    assert!(is_ingress_node_from_external(&ingress) && is_from_source(&ingress) && correlation_required(&ingress));
    assert_eq!(FlowKey::of(&ingress), FlowKey::of(&pod_node_half()));
    for ingress_first in [true, false] {
        let s = store();
        let (a, b) =
            if ingress_first { (ingress_node_half(), pod_node_half()) } else { (pod_node_half(), ingress_node_half()) };
        observe(&s, &a, 100);
        observe(&s, &b, 100);
        let out = expire(&s, 101);
        assert_eq!(out.len(), 1, "ingress first: {ingress_first}");
        let f = &out[0];
        assert_eq!((f.source_address, f.source_port), (ip("198.51.100.7"), 51_000), "the external client");
        assert_eq!((f.proxy_snat_ip, f.proxy_snat_port), (Some(ip("10.10.0.1")), 61_000));
        assert_eq!(f.flow_type, FLOW_TYPE_FROM_EXTERNAL);
        assert_eq!(f.destination_pod_name, "server");
        assert_eq!(f.destination_service_port_name, "ns-b/web:http");
        assert_eq!((f.packet_total_from_source_node, f.packet_total_from_destination_node), (10, 9));
    }
}

#[test]
fn an_unmatched_half_is_exported_after_the_retries_and_counted() {
    let s = store();
    observe(&s, &source_half(false), 0);
    assert!(expire(&s, 60).is_empty(), "first retry");
    assert!(expire(&s, 120).is_empty(), "second retry");
    let out = expire(&s, 180);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].source_pod_name, "client");
    assert_eq!(out[0].destination_pod_name, "", "the other side stays empty");
    assert_eq!(out[0].packet_total_from_destination_node, 0);
    assert_eq!(count(&s.counters.unmatched_exported), 1);
    // The other half may still come: it correlates and is exported at once.
    let mut late = destination_half(false);
    late.flow_end = START + 200;
    observe(&s, &late, 200);
    let out = expire(&s, 201);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].destination_pod_name, "server");
    assert_eq!(count(&s.counters.correlated), 1);
}

#[test]
fn with_export_unmatched_off_an_unmatched_half_is_deleted_as_the_reference_does_and_counted() {
    let s = AggregationStore::new(StoreConfig { export_unmatched: false, ..StoreConfig::default() });
    observe(&s, &source_half(false), 0);
    for now in [60, 120, 180] {
        assert!(expire(&s, now).is_empty());
    }
    assert_eq!(s.len(), 0);
    assert_eq!(count(&s.counters.unmatched_deleted), 1);
}

#[test]
fn nothing_is_exported_without_new_data_and_the_flow_still_expires() {
    let s = store();
    observe(&s, &source_half(false), 0);
    observe(&s, &destination_half(false), 0);
    assert_eq!(expire(&s, 1).len(), 1);
    assert!(expire(&s, 61).is_empty(), "active timeout with nothing new: no record");
    assert_eq!(s.len(), 1);
    assert!(expire(&s, 90).is_empty());
    assert_eq!(s.len(), 0, "inactive timeout: forgotten");
    assert_eq!(count(&s.counters.exported), 1);
}

#[test]
fn per_side_totals_deltas_throughput_and_sticky_end_of_flow() {
    let s = store();
    observe(&s, &source_half(false), 0);
    observe(&s, &destination_half(false), 0);
    expire(&s, 1);
    // Ten seconds later the source Node reports 5 000 more octets and the end of the flow.
    let mut end = source_half(false);
    end.flow_end = START + 20;
    end.end_reason = END_OF_FLOW;
    end.octet_total = 15_000;
    end.octet_delta = 5_000;
    end.packet_total = 150;
    end.packet_delta = 50;
    end.tcp_state = "TIME_WAIT".into();
    observe(&s, &end, 10);
    // A late active-timeout record from the destination Node does not undo END_OF_FLOW.
    let mut late = destination_half(false);
    late.flow_end = START + 15;
    late.octet_total = 12_000;
    late.octet_delta = 2_200;
    observe(&s, &late, 11);
    let f = &s.records(|_| true)[0];
    assert_eq!(f.end_reason, END_OF_FLOW);
    assert_eq!(f.flow_end, START + 20);
    assert_eq!(f.tcp_state, "TIME_WAIT", "from the latest record");
    assert_eq!((f.octet_total_from_source_node, f.octet_delta_from_source_node), (15_000, 5_000));
    assert_eq!((f.octet_total_from_destination_node, f.octet_delta_from_destination_node), (12_000, 2_200));
    // (15 000 − 10 000) × 8 / 10 s and (12 000 − 9 800) × 8 / 5 s.
    assert_eq!((f.throughput_from_source_node, f.throughput_from_destination_node), (4_000, 3_520));
    // The source Node reported last: it speaks for the flow's deltas and throughput.
    assert_eq!((f.octet_total, f.octet_delta, f.throughput), (15_000, 5_000, 4_000));
    assert_eq!((f.flow_end_from_source_node, f.flow_end_from_destination_node), (START + 20, START + 15));
}

#[test]
fn two_records_from_one_node_in_the_same_second_both_count_unless_configured_as_the_reference() {
    for (count_same_second, expected_delta) in [(true, 10_000 + 500), (false, 10_000)] {
        let s = AggregationStore::new(StoreConfig { count_same_second, ..StoreConfig::default() });
        let mut intra = source_half(false);
        intra.flow_type = FLOW_TYPE_INTRA_NODE;
        observe(&s, &intra, 0);
        let mut last = intra.clone();
        last.octet_total = 10_500;
        last.octet_delta = 500;
        last.end_reason = END_OF_FLOW;
        observe(&s, &last, 0);
        let f = &s.records(|_| true)[0];
        assert_eq!(f.octet_delta, expected_delta, "countSameSecondRecords: {count_same_second}");
        assert_eq!(count(&s.counters.stale_records), u64::from(!count_same_second));
    }
}

#[test]
fn records_without_timestamps_are_counted_and_not_kept() {
    let s = store();
    observe(&s, &Flow { flow_start: 0, flow_end: 0, ..source_half(false) }, 0);
    assert_eq!((s.len(), count(&s.counters.no_timestamps)), (0, 1));
}

#[test]
fn a_full_store_hands_new_flows_back_to_be_exported_as_they_are() {
    let s = AggregationStore::new(StoreConfig { max_flows: 1, ..StoreConfig::default() });
    observe(&s, &source_half(false), 0);
    let mut other = source_half(false);
    other.source_port = 40_001;
    let mut overflow = Vec::new();
    s.observe(&other, 0, &mut overflow);
    assert_eq!(overflow.len(), 1);
    assert_eq!(overflow[0].source_port, 40_001);
    assert_eq!((s.len(), count(&s.counters.overflow)), (1, 1));
}

#[test]
fn lookups_by_key_and_by_filter_see_the_current_state() {
    let s = store();
    observe(&s, &source_half(false), 0);
    let mut other = source_half(false);
    other.destination_port = 9090;
    observe(&s, &other, 0);
    let key = FlowKey::of(&source_half(false));
    assert_eq!(s.record(&key).unwrap().destination_port, 8080);
    assert_eq!(s.records(|k| k.destination_port == 9090).len(), 1);
    assert_eq!(s.records(|_| true).len(), 2);
    // Flows with the same metadata share one interned set per shard.
    assert!(s.metadata_sets() <= 2);
}

#[test]
fn metadata_is_released_with_the_last_flow_that_uses_it_and_slots_are_reused() {
    let s = store();
    for port in 0..100 {
        let mut f = source_half(false);
        f.flow_type = FLOW_TYPE_INTRA_NODE;
        f.source_port = port;
        observe(&s, &f, 0);
    }
    assert!(s.metadata_sets() <= SHARDS, "one set per shard at most, not one per flow");
    expire(&s, 0);
    expire(&s, 90);
    assert_eq!((s.len(), s.metadata_sets()), (0, 0));
    for port in 0..100 {
        let mut f = source_half(false);
        f.flow_type = FLOW_TYPE_INTRA_NODE;
        f.source_port = port;
        f.source_pod_name = format!("client-{port}");
        observe(&s, &f, 100);
    }
    assert_eq!((s.len(), s.metadata_sets()), (100, 100));
    let slots: usize = (0..SHARDS).map(|i| s.shard(i).slab.len()).sum();
    assert_eq!(slots, 100, "freed slots are reused");
}

#[test]
fn a_tracked_flow_is_compact() {
    assert!(AggregationStore::state_bytes() <= 256, "{} bytes", AggregationStore::state_bytes());
}

#[test]
fn a_packet_delta_past_32_bits_is_held_at_the_maximum_and_counted() {
    let s = store();
    let mut f = source_half(false);
    f.flow_type = FLOW_TYPE_INTRA_NODE;
    f.packet_delta = u64::from(u32::MAX) - 1;
    observe(&s, &f, 0);
    f.packet_delta = 5;
    observe(&s, &f, 0);
    assert_eq!(s.records(|_| true)[0].packet_delta, u64::from(u32::MAX));
    assert_eq!(count(&s.counters.packet_delta_saturated), 2, "an intra-Node record fills both sides");
}
