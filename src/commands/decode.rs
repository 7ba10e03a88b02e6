//! `flowctl decode FILE...`: IPFIX and NetFlow v9 out of pcap, pcapng and RFC 5655 files.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{ExitStatus, GlobalArgs};
use crate::core::capture::{CaptureOptions, DEFAULT_PORTS};
use crate::core::decode::{self, DecodeOptions};
use crate::core::ipfix::DecoderConfig;
use crate::core::output::fields::Selection;

/// Decode IPFIX and NetFlow v9 records from pcap, pcapng or RFC 5655 (.ipfix) files
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  flowctl decode capture.pcap\n  flowctl decode -o json capture.pcapng | jq .fields\n  \
                        flowctl decode --stats *.pcap\n  flowctl decode --port 9991 --no-sniff router.pcap\n  \
                        flowctl decode -o csv --fields frame,sourceIPv4Address,octetDeltaCount x.pcap"
)]
pub struct DecodeArgs {
    /// Capture files, read in order. An exporter's templates carry over from one pcap file to the
    /// next (a rotated capture); each RFC 5655 file is a session of its own
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// UDP/TCP port that carries IPFIX or NetFlow (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)
    #[arg(short, long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,

    /// Only decode packets on the ports; do not recognise IPFIX/NetFlow on other ports by its header
    #[arg(long)]
    pub no_sniff: bool,

    /// Print a summary per exporter and observation domain (messages, templates, records, data
    /// waiting for templates, malformed messages, sequence gaps) instead of the records
    #[arg(long)]
    pub stats: bool,

    /// Exit with status 1 when a packet, block or message was malformed
    #[arg(long)]
    pub strict: bool,

    /// Stop after this many records
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,

    /// How long a template received over UDP stays valid without being re-sent (0 = forever)
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = humantime::parse_duration)]
    pub template_lifetime: Duration,

    /// How long data that arrived before its template waits for it
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub template_wait: Duration,

    /// Do not draw a progress bar on a terminal
    #[arg(long)]
    pub no_progress: bool,

    /// Print only these fields of each record, in this order: IE names (sourceIPv4Address,
    /// reverseOctetDeltaCount; ie{ID} or ie{PEN}.{ID} for elements the registry lacks) and the
    /// record's metadata: frame, time, exporter, collector, version, observationDomainId,
    /// sequenceNumber, exportTime, sysUptime, templateId, kind, late (fields.NAME is the IE of
    /// that name). JSON and YAML print one flat object of just these keys, null where a record
    /// lacks the field; table and csv print one column each
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub fields: Vec<String>,

    /// Threads that format JSON output, 1 or more [default: the number of cores]
    #[arg(short = 'j', long, value_name = "N", value_parser = threads)]
    pub threads: Option<usize>,
}

fn threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a number of threads, 1 or more, found '{s}'")),
    }
}

pub fn run(args: DecodeArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let ports = if args.ports.is_empty() { DEFAULT_PORTS.to_vec() } else { args.ports };
    let lifetime = args.template_lifetime.as_secs();
    let opts = DecodeOptions {
        files: args.files,
        capture: CaptureOptions { ports, sniff: !args.no_sniff, ..Default::default() },
        decoder: DecoderConfig {
            template_lifetime_secs: (lifetime > 0).then_some(lifetime),
            pending_timeout_secs: args.template_wait.as_secs(),
            ..Default::default()
        },
        format: global.record_format(),
        fields: Selection::from_flag(&args.fields)?,
        stats: args.stats,
        count: args.count,
        progress: !args.no_progress,
        workers: args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let report = decode::run(&opts, std::io::stdout().lock())?;
    Ok(if args.strict && report.problems > 0 { ExitStatus::Failure } else { ExitStatus::Success })
}
