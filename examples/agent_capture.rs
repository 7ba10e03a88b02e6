//! Builds the input of `bench/proxy.sh`: a pcap of Antrea Flow Exporter records (the agent's
//! 43-element templates, IPv4) over UDP from one agent, RECORDS records over FLOWS distinct
//! connections (5-tuples and Pod names), packed into messages of up to 1400 bytes. Usage:
//!   cargo run --release --example agent_capture -- OUT.pcap RECORDS FLOWS

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use flowctl::core::capture::MessagePcapWriter;
use flowctl::core::flow::{Flow, FlowWriter, Layout, LayoutOptions};
use flowctl::core::ipfix::{MessageWriter, Template};
use flowctl::core::time::Timestamp;

const DOMAIN: u32 = 0x0a0b_0c0d;
const MAX_MESSAGE: usize = 1400;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(out), Some(records), Some(flows)) = (args.next(), args.next(), args.next()) else {
        anyhow::bail!("usage: agent_capture OUT.pcap RECORDS FLOWS");
    };
    let (records, flows): (u64, u64) = (records.parse()?, flows.parse()?);
    anyhow::ensure!(flows > 0 && flows <= u64::from(u32::MAX), "FLOWS must be in 1..=4294967295");
    let exporter = SocketAddr::from(([10, 0, 0, 1], 40_000));
    let collector = SocketAddr::from(([10, 0, 0, 2], 4739));
    let writer = FlowWriter::new(Layout::AgentV4, LayoutOptions::default());
    let mut pcap = MessagePcapWriter::create(&PathBuf::from(&out))?;
    let time = Timestamp::from_secs(1_700_000_000);
    let mut m = MessageWriter::ipfix(1_700_000_000, 0, DOMAIN);
    m.begin_template_set(false);
    m.template(&Template::new(256, 0, writer.specs().iter().copied()));
    pcap.write(time, exporter, collector, &m.finish())?;

    let mut flow = Flow::default();
    let mut sent = 0u64;
    while sent < records {
        let mut m = MessageWriter::ipfix(1_700_000_000, sent as u32, DOMAIN);
        m.begin_set(256);
        while sent < records && m.len() + 200 < MAX_MESSAGE {
            connection(&mut flow, sent % flows, sent);
            writer.write(&flow, &mut m.record());
            sent += 1;
        }
        pcap.write(time, exporter, collector, &m.finish())?;
    }
    pcap.flush()?;
    println!("{out}: {records} records over {flows} connections");
    Ok(())
}

/// Connection `n` as the agent reports it the `round`-th time: an inter-Node flow from a Pod.
fn connection(f: &mut Flow, n: u64, round: u64) {
    f.clear();
    let n32 = n as u32;
    f.flow_start = 1_700_000_000;
    f.flow_end = 1_700_000_000 + (round % 3600) as u32;
    f.end_reason = 2;
    f.source_port = 1024 + (n32 % 60_000) as u16;
    f.destination_port = 443;
    f.protocol = 6;
    f.packet_total = round;
    f.octet_total = round * 100;
    f.packet_delta = 1;
    f.octet_delta = 100;
    f.source_address = IpAddr::V4(Ipv4Addr::from(0x0a0a_0000 + n32 / 60_000));
    f.destination_address = IpAddr::V4(Ipv4Addr::new(10, 20, 0, 9));
    use std::fmt::Write;
    let _ = write!(f.source_pod_name, "client-{n}");
    f.source_pod_namespace.push_str("default");
    f.source_node_name.push_str("node-1");
    f.flow_type = 2;
    f.tcp_state.push_str("ESTABLISHED");
}
