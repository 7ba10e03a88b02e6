//! The listening side's flags, shared by every command that runs a collecting process
//! (`collect`, `run aggregator`): TLS identity and UDP ingest.

use std::path::PathBuf;

use clap::Args;

use crate::core::transport::{ServerTls, UdpConfig};

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

    /// UDP ingest: the buffer asked for, and one socket per core unless told otherwise.
    pub fn udp(&self) -> UdpConfig {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        UdpConfig { rcvbuf: self.rcvbuf, sockets: self.udp_sockets.unwrap_or(cores).max(1), ..UdpConfig::default() }
    }
}
