//! `flowctl get`: query a running aggregator, as `antctl get` does.

use clap::{Args, Subcommand};

use super::{ExitStatus, GlobalArgs};
use std::net::IpAddr;

use crate::core::aggregator::RecordMetrics;
use crate::core::aggregator::client;
use crate::core::aggregator::records::{self, RecordQuery};
use crate::core::output::OutputFormat;
use crate::core::output::table::plain;

/// Query a running aggregator
#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, Subcommand)]
pub enum What {
    /// Records received, exported and dropped, and exporters connected (antctl get recordmetrics)
    #[command(after_help = "Examples:\n  flowctl get recordmetrics\n  \
                            flowctl get recordmetrics --server http://10.0.0.5:10348 -o json")]
    Recordmetrics(ServerArgs),
    /// The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)
    #[command(after_help = "Examples:\n  flowctl get flowrecords\n  \
                            flowctl get flowrecords --srcip 10.10.0.5 --dstport 8080 -o json\n  \
                            flowctl get flowrecords --server http://10.0.0.5:10348 -o yaml")]
    Flowrecords(FlowRecordsArgs),
}

#[derive(Debug, Args)]
pub struct FlowRecordsArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Only flows from this source address
    #[arg(long, value_name = "IP")]
    pub srcip: Option<IpAddr>,
    /// Only flows to this destination address
    #[arg(long, value_name = "IP")]
    pub dstip: Option<IpAddr>,
    /// Only flows of this IP protocol: a number or tcp, udp, sctp, icmp, icmpv6
    #[arg(long, value_name = "PROTO", value_parser = records::parse_protocol)]
    pub proto: Option<u8>,
    /// Only flows from this source port
    #[arg(long, value_name = "N")]
    pub srcport: Option<u16>,
    /// Only flows to this destination port
    #[arg(long, value_name = "N")]
    pub dstport: Option<u16>,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The aggregator's API (its --metrics-addr): a URL, or HOST:PORT for http://HOST:PORT
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:10348")]
    pub server: String,
}

pub fn run(args: GetArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match args.what {
        What::Recordmetrics(server) => print(&client::record_metrics(&server.server)?, global.output_format())?,
        What::Flowrecords(a) => {
            let query = RecordQuery {
                source: a.srcip,
                destination: a.dstip,
                protocol: a.proto,
                source_port: a.srcport,
                destination_port: a.dstport,
            };
            print_records(&client::flow_records(&a.server.server, &query)?, global.output_format())?;
        }
    }
    Ok(ExitStatus::Success)
}

fn print_records(flows: &[serde_json::Value], format: OutputFormat) -> anyhow::Result<()> {
    let text = match format {
        OutputFormat::Json => serde_json::to_string_pretty(flows)? + "\n",
        OutputFormat::Yaml => serde_saphyr::to_string(&flows)?,
        OutputFormat::Table => plain(records::COLUMNS, flows.iter().map(records::row)),
        OutputFormat::Wide => plain(records::WIDE_COLUMNS, flows.iter().map(records::wide_row)),
    };
    use std::io::Write;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}

fn print(m: &RecordMetrics, format: OutputFormat) -> anyhow::Result<()> {
    let text = match format {
        OutputFormat::Json => serde_json::to_string(m)? + "\n",
        OutputFormat::Yaml => serde_saphyr::to_string(m)?,
        OutputFormat::Table | OutputFormat::Wide => plain(RecordMetrics::COLUMNS, [m.row()]),
    };
    use std::io::Write;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}
