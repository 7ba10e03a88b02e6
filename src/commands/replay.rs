//! `flowctl replay FILE... --to URL`: sends the IPFIX and NetFlow v9 messages of captures to a
//! collector over UDP, TCP or TLS, paced by records per second or by the capture's own timing.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::Args;

use super::{ExitStatus, GlobalArgs, OutputArg};
use crate::core::capture::{CaptureOptions, DEFAULT_PORTS};
use crate::core::output::OutputFormat;
use crate::core::replay::{self, ReplayOptions, StreamTls};
use crate::core::transport::{ClientTls, Endpoint, client_config};

/// Send the IPFIX and NetFlow v9 messages of captures to a collector, at a chosen pace
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  flowctl replay capture.pcap --to udp://127.0.0.1:4739\n  \
                  flowctl replay --to 10.0.0.5:4739:tcp --rate 50000 router-*.pcap\n  \
                  flowctl replay --to tls://collector.example:4740 --tls-ca ca.crt c.pcapng\n  \
                  flowctl replay --to udp://127.0.0.1:4739 --loop 0 --rewrite-sequence b.pcap\n\n\
                  Each transport session of the captures gets its own socket or connection, so the collector \
                  scopes templates as it did for the original exporters. The report goes to stderr, or to \
                  stdout as one object with -o json or -o yaml.")]
pub struct ReplayArgs {
    /// Capture files (pcap, pcapng, RFC 5655), replayed in order as one input
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The collector: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT[:udp|tcp|tls]
    #[arg(short, long, value_name = "URL", value_parser = endpoint_string)]
    pub to: String,

    /// Data records per second over all sessions [default: as fast as possible]
    #[arg(long, value_name = "N", value_parser = positive)]
    pub rate: Option<f64>,

    /// Follow the capture's own timing, X times faster (0.5: half as fast)
    #[arg(long, value_name = "X", value_parser = positive)]
    pub speed: Option<f64>,

    /// Passes over the captures; 0 repeats until Ctrl-C
    #[arg(long = "loop", value_name = "N", default_value_t = 1)]
    pub loops: u64,

    /// Rewrite sequence numbers per session and observation domain so they keep counting across
    /// passes (IPFIX: data records; NetFlow v9: packets); without it every pass repeats the original ones
    #[arg(long)]
    pub rewrite_sequence: bool,

    /// Local address to send from (an ephemeral port per session) [default: the system's choice]
    #[arg(long, value_name = "IP")]
    pub source_ip: Option<IpAddr>,

    /// Sockets or connections open at once; beyond it the least recently used is closed (counted)
    /// and its session gets a new one when it sends again
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_sessions: u64,

    /// Memory for holding the captures' messages between passes with --loop (bytes, or with K, M,
    /// G); larger inputs are read again from the files on every pass
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = size)]
    pub max_memory: usize,

    /// CA certificate (PEM) that the collector's certificate must chain to, for tls://
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Private key (PEM) of the client certificate
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Name the collector's certificate must carry [default: the host in --to]
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,

    /// UDP/TCP port that carries IPFIX or NetFlow in the captures (repeatable; replaces the
    /// defaults 4739, 4740, 2055, 9995, 9996)
    #[arg(short, long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,

    /// Only take packets on the ports; do not recognise IPFIX/NetFlow on other ports by its header
    #[arg(long)]
    pub no_sniff: bool,

    /// Do not draw the progress line on a terminal
    #[arg(long)]
    pub no_progress: bool,
}

fn endpoint_string(s: &str) -> Result<String, String> {
    s.parse::<Endpoint>().map(|_| s.to_owned()).map_err(|e| e.to_string())
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("expected a number greater than 0, found '{s}'")),
    }
}

/// Bytes, with an optional K, M or G suffix (powers of 1024).
fn size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    digits
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("expected a size in bytes such as 1048576, 512M or 2G, found '{s}'"))
}

pub fn run(args: ReplayArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let to: Endpoint = args.to.parse()?;
    let tls = match (&to, args.tls_ca) {
        (Endpoint::Tls(_), Some(ca)) => {
            let client = ClientTls { ca, cert: args.tls_cert, key: args.tls_key, server_name: args.tls_server_name };
            let config = client_config(&client).context("setting up TLS")?;
            Some(StreamTls { config, server_name: client.server_name_for(&args.to, &to)? })
        }
        (Endpoint::Tls(_), None) => anyhow::bail!("{to}: sending over TLS needs --tls-ca to verify the collector"),
        (_, Some(_)) => anyhow::bail!("{to}: --tls-ca and the other TLS options are for a tls:// collector"),
        (_, None) if args.tls_cert.is_some() || args.tls_server_name.is_some() => {
            anyhow::bail!("{to}: the TLS options are for a tls:// collector")
        }
        (_, None) => None,
    };
    let ports = if args.ports.is_empty() { DEFAULT_PORTS.to_vec() } else { args.ports };
    let opts = ReplayOptions {
        capture: CaptureOptions { ports, sniff: !args.no_sniff, ..Default::default() },
        tls,
        source_ip: args.source_ip,
        rate: args.rate,
        speed: args.speed,
        loops: args.loops,
        rewrite_sequence: args.rewrite_sequence,
        max_sessions: usize::try_from(args.max_sessions).unwrap_or(usize::MAX),
        max_memory: args.max_memory,
        progress: !args.no_progress,
        ..ReplayOptions::new(args.files, to)
    };
    let stop = stop_on_signal()?;
    let report = replay::run(&opts, &stop)?;
    match global.output {
        Some(o @ (OutputArg::Json | OutputArg::Yaml)) => {
            report.write(OutputFormat::from(o), &mut std::io::stdout().lock()).context("writing the report")?
        }
        _ => report.write(OutputFormat::Table, &mut std::io::stderr().lock()).context("writing the report")?,
    }
    // Messages the collector did not take: the replay did not do what was asked.
    Ok(if report.undelivered() > 0 { ExitStatus::Failure } else { ExitStatus::Success })
}

/// A flag set by the first Ctrl-C or SIGTERM, so the replay stops and reports; a second one, a
/// second or more later, ends the process at once (exit status 130), in case sending is stuck.
fn stop_on_signal() -> anyhow::Result<Arc<AtomicBool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal handler's runtime")?;
    // Registered here, before anything is sent, so an early Ctrl-C is not the default one.
    let (mut int, mut term) = {
        let _context = runtime.enter();
        let int = signal(SignalKind::interrupt()).context("handling SIGINT")?;
        let term = signal(SignalKind::terminate()).context("handling SIGTERM")?;
        (int, term)
    };
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async {
                let mut first: Option<std::time::Instant> = None;
                loop {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                    match first {
                        None => {
                            first = Some(std::time::Instant::now());
                            flag.store(true, Ordering::Relaxed);
                        }
                        // `timeout` and shells signal the process and then its whole group: the
                        // same stop can arrive twice at once, which is not a second request.
                        Some(at) if at.elapsed() < std::time::Duration::from_secs(1) => {}
                        Some(_) => std::process::exit(130),
                    }
                }
            })
        })
        .context("starting the signal handler")?;
    Ok(stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(size("1048576"), Ok(1 << 20));
        assert_eq!(size("512M"), Ok(512 << 20));
        assert_eq!(size("2g"), Ok(2 << 30));
        assert_eq!(size("64k"), Ok(64 << 10));
        assert!(size("lots").unwrap_err().contains("'lots'"));
        assert!(size("").is_err());
    }

    #[test]
    fn rates_and_speeds_are_positive() {
        assert_eq!(positive("2.5"), Ok(2.5));
        for bad in ["0", "-1", "inf", "NaN", "fast"] {
            assert!(positive(bad).is_err(), "{bad}");
        }
    }
}
