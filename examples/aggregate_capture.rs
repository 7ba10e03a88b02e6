//! Builds the input of `bench/aggregate.sh`: a pcap of Antrea Flow Exporter records (the agent's
//! 43-element template, IPv4) from two Nodes' agents, the source-Node half and the
//! destination-Node half of each of FLOWS inter-Node connections, ROUNDS times (each round a
//! later report with more counters). Half the connections arrive source half first, the others
//! destination half first. Pod names repeat as in a cluster: 500 client Pods, 200 server Pods.
//! Usage:
//!   cargo run --release --example aggregate_capture -- OUT.pcap FLOWS [ROUNDS]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use flowctl::core::capture::MessagePcapWriter;
use flowctl::core::flow::{Flow, FlowWriter, Layout, LayoutOptions};
use flowctl::core::ipfix::{MessageWriter, Template};
use flowctl::core::time::Timestamp;

const START: u32 = 1_700_000_000;
const MAX_MESSAGE: usize = 1400;
/// Connections per message pair: a message of source halves and one of destination halves.
const CHUNK: u64 = 6;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(out), Some(flows)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: aggregate_capture OUT.pcap FLOWS [ROUNDS]");
    };
    let flows: u64 = flows.parse()?;
    let rounds: u32 = args.next().map_or(Ok(1), |r| r.parse())?;
    anyhow::ensure!((1..=16_000_000).contains(&flows), "FLOWS must be in 1..=16000000");
    let collector = SocketAddr::from(([10, 0, 0, 100], 4739));
    let nodes = [(SocketAddr::from(([10, 0, 0, 1], 40_000)), 1u32), (SocketAddr::from(([10, 0, 0, 2], 40_000)), 2u32)];
    let writer = FlowWriter::new(Layout::AgentV4, LayoutOptions::default());
    let mut pcap = MessagePcapWriter::create(&PathBuf::from(&out))?;
    let time = Timestamp::from_secs(i64::from(START));
    let mut sequence = [0u32; 2];
    for (exporter, domain) in nodes {
        let mut m = MessageWriter::ipfix(START, 0, domain);
        m.begin_template_set(false);
        m.template(&Template::new(256, 0, writer.specs().iter().copied()));
        pcap.write(time, exporter, collector, &m.finish())?;
    }
    let mut flow = Flow::default();
    let mut records = 0u64;
    for round in 1..=rounds {
        let mut first = 0;
        while first < flows {
            let last = (first + CHUNK).min(flows);
            // Even chunks: the source Node's message first; odd chunks: the destination Node's.
            let order = if (first / CHUNK).is_multiple_of(2) { [0, 1] } else { [1, 0] };
            for side in order {
                let (exporter, domain) = nodes[side];
                let mut m = MessageWriter::ipfix(START + round, sequence[side], domain);
                m.begin_set(256);
                for n in first..last {
                    connection(&mut flow, n, round, side == 0);
                    writer.write(&flow, &mut m.record());
                }
                debug_assert!(m.len() <= MAX_MESSAGE);
                sequence[side] += (last - first) as u32;
                records += last - first;
                pcap.write(time, exporter, collector, &m.finish())?;
            }
            first = last;
        }
    }
    pcap.flush()?;
    println!("{out}: {records} records, {flows} connections, {rounds} rounds");
    Ok(())
}

/// Connection `n` as one Node reports it in `round`.
fn connection(f: &mut Flow, n: u64, round: u32, source: bool) {
    f.clear();
    let n32 = n as u32;
    f.flow_start = START;
    f.flow_end = START + 10 * round;
    f.end_reason = 2;
    f.source_address = IpAddr::V4(Ipv4Addr::from(0x0a0a_0000 + n32 / 50_000));
    f.destination_address = IpAddr::V4(Ipv4Addr::from(0x0a14_0000 + n32 % 200));
    f.source_port = 1024 + (n32 % 50_000) as u16;
    f.destination_port = 8080;
    f.protocol = 6;
    let seen = if source { 100 } else { 98 };
    f.packet_total = u64::from(round) * seen;
    f.octet_total = u64::from(round) * seen * 100;
    f.packet_delta = seen;
    f.octet_delta = seen * 100;
    f.reverse_packet_total = u64::from(round) * 50;
    f.reverse_octet_total = u64::from(round) * 40_000;
    f.reverse_packet_delta = 50;
    f.reverse_octet_delta = 40_000;
    f.flow_type = 2;
    f.tcp_state.push_str("ESTABLISHED");
    if source {
        let _ = write!(f.source_pod_name, "client-{}", n % 500);
        f.source_pod_namespace.push_str("shop");
        f.source_node_name.push_str("node-1");
        f.destination_service_port = 80;
        f.destination_service_port_name.push_str("web/frontend:http");
        f.destination_cluster_ip = Some(IpAddr::V4(Ipv4Addr::new(10, 96, 0, 10)));
        f.egress_policy_name.push_str("allow-web");
        f.egress_policy_namespace.push_str("shop");
        f.egress_policy_type = 2;
        f.egress_rule_action = 1;
    } else {
        let _ = write!(f.destination_pod_name, "frontend-{}", n % 200);
        f.destination_pod_namespace.push_str("web");
        f.destination_node_name.push_str("node-2");
        f.ingress_policy_name.push_str("web-in");
        f.ingress_policy_namespace.push_str("web");
        f.ingress_policy_type = 1;
        f.ingress_rule_action = 1;
    }
}
