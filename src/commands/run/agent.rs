//! `flowctl run agent`: the Flow Exporter, configured as Antrea's is (the `flowExporter` section
//! of antrea-agent.conf) with flags over the file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tracing::{info, warn};

use super::super::{ExitStatus, GlobalArgs, StatusArgs, service};
use super::aggregator::ProfileArg;
use crate::core::agent::{self, AgentOptions, Metadata, StoreConfig};
use crate::core::config::agent::{AgentConfig, CollectorAddr, CollectorHost, CollectorProto, protocol_numbers};
use crate::core::config::duration;
use crate::core::conntrack::DEFAULT_RCVBUF;
use crate::core::exporter::{ExporterConfig, Profile};
use crate::core::flow::fnv1_32;
use crate::core::inventory::{Inventory, IpCidr};
use crate::core::k8s;
use crate::core::transport::{ClientTls, Endpoint};

/// Run the Flow Exporter: conntrack → connection store → IPFIX flow records
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    flowctl run agent --no-kubernetes --pods pods.yaml --collector 10.0.0.5:4739\n  \
    flowctl run agent --config /etc/antrea/antrea-agent.conf\n  \
    flowctl run agent --collector 10.0.0.5:4739:tls --collector-ca ca.crt\n  \
    flowctl run agent --collector 127.0.0.1:4739:udp --active-timeout 5s")]
pub struct AgentArgs {
    /// Antrea's antrea-agent.conf (YAML); its flowExporter section is read, flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Where to export, HOST:PORT[:tcp|udp|tls] (flowCollectorAddr; NAMESPACE/SERVICE needs Kubernetes)
    #[arg(long, value_name = "ADDR")]
    pub collector: Option<String>,

    /// CA (PEM) that signed the collector's certificate (tls)
    #[arg(long, value_name = "FILE")]
    pub collector_ca: Option<PathBuf>,

    /// Client certificate (PEM) for a collector asking for mutual TLS
    #[arg(long, value_name = "FILE", requires = "collector_key")]
    pub collector_cert: Option<PathBuf>,

    /// Private key (PEM) of --collector-cert
    #[arg(long, value_name = "FILE", requires = "collector_cert")]
    pub collector_key: Option<PathBuf>,

    /// Name the collector's certificate must carry [default: the host, or SERVICE.NAMESPACE.svc]
    #[arg(long, value_name = "NAME")]
    pub collector_server_name: Option<String>,

    /// How often conntrack is dumped (flowPollInterval, at least 1s)
    #[arg(long, value_name = "DURATION")]
    pub poll_interval: Option<String>,

    /// A live connection is exported this often (activeFlowExportTimeout)
    #[arg(long, value_name = "DURATION")]
    pub active_timeout: Option<String>,

    /// A connection whose counters stay still this long is exported and left (idleFlowExportTimeout)
    #[arg(long, value_name = "DURATION")]
    pub idle_timeout: Option<String>,

    /// Protocols to export, comma-separated tcp,udp,sctp (protocolFilter); "" exports none
    #[arg(long, value_name = "LIST", value_delimiter = ',', num_args = 0..)]
    pub protocol_filter: Option<Vec<String>>,

    /// This Node's name: the observation domain is its FNV-1 hash [default: $NODE_NAME, the
    /// inventory's node, the host name]
    #[arg(long, value_name = "NAME", env = "NODE_NAME")]
    pub node_name: Option<String>,

    /// Conntrack zone to read (repeatable) [default: every zone]
    #[arg(long = "zone", value_name = "N")]
    pub zones: Vec<u16>,

    /// Do not talk to Kubernetes, even in a Pod or with a kubeconfig
    #[arg(long)]
    pub no_kubernetes: bool,

    /// Kubeconfig for the Pod, Service and Node watches [default: in-cluster when in a Pod]
    #[arg(long, value_name = "FILE", conflicts_with = "no_kubernetes")]
    pub kubeconfig: Option<PathBuf>,

    /// Pod inventory (YAML: node, pods with names and IPs, services, podCIDRs) instead of Kubernetes
    #[arg(long, value_name = "FILE")]
    pub pods: Option<PathBuf>,

    /// Pod CIDR of the cluster (repeatable), for flowType, besides those of the Nodes or inventory
    #[arg(long = "pod-cidr", value_name = "CIDR")]
    pub pod_cidrs: Vec<IpCidr>,

    /// Serve /metrics (Prometheus) here
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Only poll: do not subscribe to conntrack events (connections shorter than a poll are missed)
    #[arg(long)]
    pub no_events: bool,

    /// IPFIX dialect: go-ipfix (what Antrea's aggregator reads) or everything RFC 7011 allows
    #[arg(long, value_enum, default_value_t = ProfileArg::GoIpfix)]
    pub export_profile: ProfileArg,

    /// Records held while the collector is unreachable; more are dropped and counted
    #[arg(long, value_name = "N", default_value_t = 1 << 18)]
    pub queue_records: usize,

    #[command(flatten)]
    pub status: StatusArgs,
}

pub fn run(args: AgentArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    service::multi_thread(2)?.block_on(async move {
        let opts = options(args).await?;
        agent::run(opts, service::shutdown_signal(None)).await
    })?;
    Ok(ExitStatus::Success)
}

async fn options(args: AgentArgs) -> anyhow::Result<AgentOptions> {
    let mut config = match &args.config {
        Some(path) => {
            let loaded = AgentConfig::load(path)?;
            for key in &loaded.unknown_keys {
                warn!("{}: unknown key {key} ignored", path.display());
            }
            for warning in &loaded.warnings {
                warn!("{}: {warning}", path.display());
            }
            loaded.config
        }
        None => AgentConfig::default(),
    };
    if let Some(addr) = &args.collector {
        config.flow_collector_addr = addr.clone();
    }
    let parse = |key: &str, text: &Option<String>, into: &mut Duration| -> anyhow::Result<()> {
        if let Some(text) = text {
            *into = duration(key, text)?;
        }
        Ok(())
    };
    parse("--poll-interval", &args.poll_interval, &mut config.poll_interval)?;
    parse("--active-timeout", &args.active_timeout, &mut config.active_timeout)?;
    parse("--idle-timeout", &args.idle_timeout, &mut config.idle_timeout)?;
    if let Some(names) = &args.protocol_filter {
        let names: Vec<String> = names.iter().filter(|n| !n.is_empty()).cloned().collect();
        let (numbers, warnings) = protocol_numbers(&names);
        for w in warnings {
            warn!("--protocol-filter: {w}");
        }
        config.protocol_filter = Some(numbers);
    }
    for w in config.normalize()? {
        warn!("{w}");
    }

    let inventory = match &args.pods {
        Some(path) => Some(Inventory::load(path)?),
        None => None,
    };
    let client = if args.no_kubernetes || inventory.is_some() {
        None
    } else {
        k8s::client(&k8s::resolve_source(args.kubeconfig.clone())).await?
    };
    let node = args
        .node_name
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| (!config.node_name.is_empty()).then(|| config.node_name.clone()))
        .or_else(|| inventory.as_ref().map(|i| i.node.clone()).filter(|n| !n.is_empty()))
        .unwrap_or_else(host_name);
    let metadata = match (inventory, &client) {
        (Some(inventory), _) => Metadata::from_inventory(inventory, args.pod_cidrs.clone()),
        (None, Some(client)) => Metadata::kubernetes(client.clone(), &node, args.pod_cidrs.clone()),
        (None, None) => {
            crate::announce!("no Kubernetes and no --pods inventory: exporting every connection, without names");
            Metadata::Nothing
        }
    };

    let addr = CollectorAddr::parse(&config.flow_collector_addr)?;
    let ip = match &addr.host {
        CollectorHost::Ip(ip) => *ip,
        CollectorHost::Name(name) => tokio::net::lookup_host((name.as_str(), addr.port))
            .await
            .with_context(|| format!("resolving the collector {name}"))?
            .next()
            .with_context(|| format!("{name} has no address"))?
            .ip(),
        CollectorHost::Service { namespace, name } => {
            let Some(client) = &client else {
                anyhow::bail!(
                    "the collector {addr} is a Kubernetes Service and there is no Kubernetes: give --collector HOST:PORT[:PROTO]"
                );
            };
            k8s::service_cluster_ip(client, namespace, name).await?
        }
    };
    let socket = SocketAddr::new(ip, addr.port);
    let to = match addr.proto {
        CollectorProto::Tcp => Endpoint::Tcp(socket),
        CollectorProto::Udp => Endpoint::Udp(socket),
        CollectorProto::Tls => Endpoint::Tls(socket),
    };
    let tls = match (&to, &args.collector_ca) {
        (Endpoint::Tls(_), Some(ca)) => Some(ClientTls {
            ca: ca.clone(),
            cert: args.collector_cert.clone(),
            key: args.collector_key.clone(),
            server_name: args.collector_server_name.clone().or_else(|| match &addr.host {
                CollectorHost::Name(name) => Some(name.clone()),
                CollectorHost::Service { namespace, name } => Some(format!("{name}.{namespace}.svc")),
                CollectorHost::Ip(_) => None,
            }),
        }),
        (Endpoint::Tls(_), None) => anyhow::bail!(
            "{addr}: exporting over TLS needs --collector-ca (or give the collector as HOST:PORT:tcp or :udp)"
        ),
        (_, Some(_)) => anyhow::bail!("{addr}: --collector-ca is for a tls collector (HOST:PORT:tls)"),
        (_, None) => None,
    };
    let exporter = ExporterConfig {
        to,
        tls,
        domain: fnv1_32(node.as_bytes()),
        profile: match args.export_profile {
            ProfileArg::GoIpfix => Profile::GoIpfix,
            ProfileArg::Standard => Profile::Standard,
        },
        queue_records: args.queue_records,
        ..ExporterConfig::default()
    };
    info!(
        "node {node}: poll every {:?}, active timeout {:?}, idle timeout {:?}",
        config.poll_interval, config.active_timeout, config.idle_timeout
    );
    let own_export = Some((exporter.to.ip_protocol(), exporter.to.addr()));
    Ok(AgentOptions {
        exporter,
        poll_interval: config.poll_interval,
        store: StoreConfig {
            active_timeout_ms: config.active_timeout.as_millis() as u64,
            idle_timeout_ms: config.idle_timeout.as_millis() as u64,
            protocols: config.protocol_filter.clone(),
            zones: args.zones,
            node: node.as_str().into(),
            own_export,
        },
        resolve: Arc::new(metadata),
        events: !args.no_events,
        rcvbuf: DEFAULT_RCVBUF,
        metrics_addr: args.metrics_addr,
        status_every: args.status.status_every,
        drain: Duration::from_secs(30),
    })
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_owned()).unwrap_or_default()
}
