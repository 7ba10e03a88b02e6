//! `flowctl certs create`: a CA, a server certificate and client certificates for IPFIX over TLS,
//! written as PEM files that `collect`, `replay` and the aggregator take as they are.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::ExitStatus;
use crate::core::transport::TlsError;
use crate::core::transport::certs::{self, CertsRequest, DEFAULT_CA_NAME, DEFAULT_DAYS};

/// Make TLS certificates for IPFIX over TLS (a CA, the collector's, the exporters')
#[derive(Debug, Args)]
pub struct CertsArgs {
    #[command(subcommand)]
    pub command: CertsCommand,
}

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    Create(CreateArgs),
}

/// Create a CA (or sign with the one in DIR), a server certificate and client certificates
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  flowctl certs create --server collector.example --client node-1,node-2\n  \
                  flowctl certs create --out pki --client node-3\n\n\
                  With --out pki and pki/ca.crt, pki/ca.key there, new certificates are signed by that CA.\n\
                  Keys are ECDSA P-256, written with mode 0600, certificates with mode 0644, whatever the umask.\n\
                  Symbolic links are never followed, and files or a directory owned by another user or\n\
                  writable by others are refused.")]
pub struct CreateArgs {
    /// Directory for the files (created with mode 0700 if missing; one that exists must be ours
    /// and not writable by others)
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,

    /// Common name of a new CA (DIR/ca.crt, DIR/ca.key); when both files exist they sign instead
    #[arg(long = "ca", value_name = "NAME", default_value = DEFAULT_CA_NAME)]
    pub ca_name: String,

    /// DNS names and IP addresses the collector is reached by, all in one server certificate
    /// (server.crt, server.key)
    #[arg(long = "server", value_name = "NAME", num_args = 1.., value_delimiter = ',')]
    pub servers: Vec<String>,

    /// Exporter names, one client certificate each (client-NAME.crt, client-NAME.key)
    #[arg(long = "client", value_name = "NAME", num_args = 1.., value_delimiter = ',')]
    pub clients: Vec<String>,

    /// Days the new certificates are valid
    #[arg(long, value_name = "N", default_value_t = DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
    pub days: u32,

    /// Replace existing server and client files (the CA is never replaced)
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: CertsArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        CertsCommand::Create(args) => create(args),
    }
}

fn create(args: CreateArgs) -> anyhow::Result<ExitStatus> {
    let request = CertsRequest {
        out: args.out,
        ca_name: args.ca_name,
        servers: args.servers,
        clients: args.clients,
        days: args.days,
        force: args.force,
    };
    let made = match certs::create(&request) {
        Err(TlsError::Exists { path }) => {
            anyhow::bail!("{} already exists; pass --force to replace it", path.display())
        }
        result => result?,
    };
    let mut out = std::io::stdout().lock();
    if made.ca_reused {
        writeln!(out, "signed with the existing CA {} (key {})", made.ca_cert.display(), made.ca_key.display())?;
    }
    for file in &made.files {
        writeln!(out, "wrote {}", file.display())?;
    }
    Ok(ExitStatus::Success)
}
