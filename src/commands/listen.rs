//! The listening side's flags, shared by every command that runs a collecting process
//! (`collect`, `run aggregator`): TLS identity and UDP ingest.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::core::collector::{ConnectionLimits, DEFAULT_LABEL_SETS};
use crate::core::transport::{Endpoint, HandshakeLimits, ServerTls, UdpConfig};

/// One `-l/--listen` value: the one or two listeners it stands for (`HOST:PORT` is UDP and TCP).
#[derive(Clone, Debug)]
pub struct ListenAddress(pub Vec<Endpoint>);

/// Parses `-l/--listen`.
pub fn listen_address(s: &str) -> Result<ListenAddress, String> {
    Endpoint::parse_listen(s).map(ListenAddress).map_err(|e| e.to_string())
}

/// All the listeners the `-l/--listen` values stand for, in order.
pub fn endpoints(listen: Vec<ListenAddress>) -> Vec<Endpoint> {
    listen.into_iter().flat_map(|l| l.0).collect()
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Listening")]
pub struct ListenerArgs {
    /// Server certificate (PEM) for tls:// listeners
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Private key (PEM) of the server certificate
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// CA (PEM) that client certificates must chain to: turns on mutual TLS
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// Receive buffer of each UDP socket, in bytes (the kernel may clamp it to net.core.rmem_max; you are told)
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub rcvbuf: usize,

    /// UDP sockets per port (SO_REUSEPORT), each read by its own thread [default: the number of cores]
    #[arg(long, value_name = "N")]
    pub udp_sockets: Option<usize>,

    /// Transport sessions held at once (UDP exporters and TCP connections); more are refused and counted
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub max_sessions: usize,

    /// Time a TLS client has to finish its handshake (at most 16 at once from one address)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub handshake_timeout: Duration,

    /// A TCP/TLS connection that sends no complete message this long after opening is closed
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub first_message_timeout: Duration,

    /// A TCP/TLS connection that sends nothing this long after its last message is closed
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub connection_idle_timeout: Duration,

    /// On SIGTERM/SIGINT, how long connections are read for what they still hold (the rest is counted as lost)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,

    /// Per-exporter label sets (exporter, transport, version, domain) /metrics shows one by one, first come first
    /// served while their sessions live; the rest are summed under exporter="other"
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LABEL_SETS)]
    pub metrics_label_sets: usize,
}

impl ListenerArgs {
    /// The TLS identity given on the command line, if any.
    pub fn server_tls(&self) -> Option<ServerTls> {
        self.tls_cert.clone().map(|cert| ServerTls {
            cert,
            key: self.tls_key.clone().unwrap_or_default(),
            client_ca: self.tls_client_ca.clone(),
        })
    }

    pub fn connections(&self) -> ConnectionLimits {
        ConnectionLimits {
            handshakes: HandshakeLimits { timeout: self.handshake_timeout, ..HandshakeLimits::default() },
            first_message_timeout: self.first_message_timeout,
            idle_timeout: self.connection_idle_timeout,
            drain_timeout: self.drain_timeout,
        }
    }

    /// UDP ingest: the buffer asked for, and one socket per core unless told otherwise.
    pub fn udp(&self) -> UdpConfig {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        UdpConfig { rcvbuf: self.rcvbuf, sockets: self.udp_sockets.unwrap_or(cores).max(1), ..UdpConfig::default() }
    }
}
