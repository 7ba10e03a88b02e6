//! `flowctl collect`: a live IPFIX / NetFlow v9 collector that prints records.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::listen::{ListenAddress, ListenerArgs, endpoints, listen_address};
use super::{ExitStatus, GlobalArgs, StatusArgs, service};
use crate::core::collect::{self, CollectOptions};
use crate::core::collector::CollectorConfig;
use crate::core::ipfix::DecoderConfig;
use crate::core::output::fields::Selection;

/// Receive IPFIX and NetFlow v9 over UDP, TCP and TLS, and print the records
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  flowctl collect\n  flowctl collect -l udp://0.0.0.0:2055 -o json | jq .fields\n  \
                        flowctl collect -l tls://:4740 --tls-cert server.crt --tls-key server.key\n  \
                        flowctl collect --stats --duration 1m --write received.pcap"
)]
pub struct CollectArgs {
    /// Where to listen (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO
    /// udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address
    /// [default: udp://0.0.0.0:4739 and tcp://0.0.0.0:4739]
    #[arg(short, long = "listen", value_name = "ADDR", value_parser = listen_address)]
    pub listen: Vec<ListenAddress>,

    /// Stop after this many records
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,

    /// Stop after this long (e.g. 30s, 5m)
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,

    /// Print a summary per exporter and observation domain when stopping, instead of the records
    #[arg(long)]
    pub stats: bool,

    /// Also write every message received into this pcap file (UDP datagrams and TCP segments
    /// with the real addresses), which `decode` and `replay` read back
    #[arg(short, long = "write", value_name = "FILE.pcap")]
    pub write: Option<PathBuf>,

    /// Serve Prometheus metrics at http://ADDR/metrics
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// How long a template received over UDP stays valid without being re-sent
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = humantime::parse_duration)]
    pub template_lifetime: Duration,

    /// How long data that arrived before its template waits for it
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub template_wait: Duration,

    /// Print only these fields of each record, in this order: IE names (sourceIPv4Address,
    /// reverseOctetDeltaCount; ie{ID} or ie{PEN}.{ID} for elements the registry lacks) and the
    /// record's metadata: frame, time, exporter, collector, version, observationDomainId,
    /// sequenceNumber, exportTime, sysUptime, templateId, kind, late (fields.NAME is the IE of
    /// that name). JSON and YAML print one flat object of just these keys, null where a record
    /// lacks the field; table and csv print one column each
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub fields: Vec<String>,

    #[command(flatten)]
    pub listener: ListenerArgs,

    #[command(flatten)]
    pub status: StatusArgs,
}

pub fn run(args: CollectArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let defaults = CollectorConfig::default();
    let lifetime = args.template_lifetime.as_secs();
    let opts = CollectOptions {
        collector: CollectorConfig {
            listen: if args.listen.is_empty() { defaults.listen } else { endpoints(args.listen) },
            tls: args.listener.server_tls(),
            udp: args.listener.udp(),
            decoder: DecoderConfig {
                template_lifetime_secs: (lifetime > 0).then_some(lifetime),
                pending_timeout_secs: args.template_wait.as_secs(),
                max_sessions: args.listener.max_sessions,
                ..DecoderConfig::default()
            },
            idle_timeout: if lifetime > 0 { args.template_lifetime } else { defaults.idle_timeout },
            capture: args.write,
            connections: args.listener.connections(),
            metrics_label_sets: args.listener.metrics_label_sets,
        },
        format: global.record_format(),
        fields: Selection::from_flag(&args.fields)?,
        stats: args.stats,
        count: args.count,
        metrics: args.metrics_addr,
        status_every: args.status.status_every,
    };
    let duration = args.duration;
    let summary = service::multi_thread(service::workers_per_core(4))?.block_on(async move {
        let stdout = std::io::stdout();
        collect::run(opts, stdout, std::io::stderr(), service::shutdown_signal(duration)).await
    })?;
    // Received and never decoded: the exit status says so.
    Ok(if summary.connections.undrained > 0 { ExitStatus::Failure } else { ExitStatus::Success })
}
