//! `flowctl run aggregator`: the Flow Aggregator, configured as Antrea's is (flow-aggregator.conf)
//! with flags over the file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tracing::warn;

use super::super::listen::{ListenAddress, ListenerArgs, endpoints, listen_address};
use super::super::{ExitStatus, GlobalArgs, StatusArgs, service};
use crate::core::aggregator::store::StoreConfig;
use crate::core::aggregator::{aggregate, proxy};
use crate::core::collector::CollectorConfig;
use crate::core::config::aggregator::{AggregatorConfig, IngestProtocol, Mode, RecordFormat};
use crate::core::exporter::{ExporterConfig, Format, Profile};
use crate::core::flow::LayoutOptions;
use crate::core::flow::fnv1_32;
use crate::core::ipfix::DecoderConfig;
use crate::core::k8s;
use crate::core::sinks::{SinkHandle, clickhouse, log};
use crate::core::transport::certs;
use crate::core::transport::{ClientTls, DEFAULT_PORT, Endpoint};

/// Run the Flow Aggregator: correlate the source- and destination-Node records of each connection
/// (aggregate mode), or forward every record with its exporter's identity (proxy mode)
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    flowctl run aggregator -l 4739 --flow-collector 10.0.0.9:4739 --flow-log f.csv\n  \
    flowctl run aggregator --mode proxy -l udp://:4739 --flow-collector 10.0.0.9\n  \
    flowctl run aggregator --config /etc/flow-aggregator/flow-aggregator.conf\n  \
    flowctl get flowrecords --server 127.0.0.1:10348")]
pub struct AggregatorArgs {
    /// Antrea's flow-aggregator.conf (YAML); flags given here override its keys
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do with records (the file's `mode`) [default: aggregate]
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,

    /// Aggregate mode: export a flow at least this often while it is active (activeFlowRecordTimeout)
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub active_timeout: Option<Duration>,

    /// Aggregate mode: forget a flow with no record for this long (inactiveFlowRecordTimeout)
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub inactive_timeout: Option<Duration>,

    /// Aggregate mode: write the CSV flow log here (enables flowLogger)
    #[arg(long, value_name = "FILE")]
    pub flow_log: Option<PathBuf>,

    /// Aggregate mode: insert rows into ClickHouse at this URL, http://HOST:8123 (enables clickHouse;
    /// credentials from CH_USERNAME / CH_PASSWORD)
    #[arg(long, value_name = "URL")]
    pub clickhouse: Option<String>,

    /// Where to listen, overriding aggregatorTransportProtocol (repeatable): PORT, HOST:PORT,
    /// HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP,
    /// and a bare PORT on every IPv4 address
    #[arg(short, long = "listen", value_name = "ADDR", value_parser = listen_address)]
    pub listen: Vec<ListenAddress>,

    /// Where the self-signed CA, server and client certificates are made when TLS is on and no
    /// --tls-cert is given (agents use ca.crt and the client certificate); a directory of our own,
    /// created with mode 0700 [default: $STATE_DIRECTORY/certs, or /var/lib/flowctl/certs as root,
    /// else $XDG_RUNTIME_DIR/flowctl]
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,

    /// The downstream collector, HOST:PORT[:tcp|udp|tls] or a URL (enables flowCollector)
    #[arg(long, value_name = "ADDR")]
    pub flow_collector: Option<String>,

    /// Record format sent to the collector (flowCollector.recordFormat)
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub flow_collector_format: Option<FormatArg>,

    /// IPFIX dialect: go-ipfix (what Antrea's collectors read) or everything RFC 7011 allows
    #[arg(long, value_enum, default_value_t = ProfileArg::GoIpfix)]
    pub export_profile: ProfileArg,

    /// CA (PEM) to verify a tls collector
    #[arg(long, value_name = "FILE")]
    pub flow_collector_ca: Option<PathBuf>,

    /// Client certificate (PEM) for a collector asking for mutual TLS
    #[arg(long, value_name = "FILE", requires = "flow_collector_key")]
    pub flow_collector_cert: Option<PathBuf>,

    /// Private key (PEM) of --flow-collector-cert
    #[arg(long, value_name = "FILE", requires = "flow_collector_cert")]
    pub flow_collector_key: Option<PathBuf>,

    /// Name the collector's certificate must carry (flowCollector.tls.serverName)
    #[arg(long, value_name = "NAME")]
    pub flow_collector_server_name: Option<String>,

    /// The aggregator's observation domain id [default: FNV-1 of the cluster id]
    #[arg(long, value_name = "ID")]
    pub observation_domain_id: Option<u32>,

    /// The clusterId exported with every record (clusterID)
    #[arg(long, value_name = "ID")]
    pub cluster_id: Option<String>,

    /// Add sourcePodLabels/destinationPodLabels from Kubernetes (recordContents.podLabels)
    #[arg(long)]
    pub pod_labels: bool,

    /// Kubeconfig for the Pod watch [default: in-cluster when in a Pod, else no Kubernetes]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Serve /metrics (Prometheus) and /recordmetrics here [default: 127.0.0.1:apiServer.apiPort]
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Records held while the collector is unreachable; more are dropped and counted
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    pub queue_records: usize,

    #[command(flatten)]
    pub listener: ListenerArgs,

    #[command(flatten)]
    pub status: StatusArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Correlate the two Nodes' records of each connection and export the flow
    Aggregate,
    /// Forward every record at once, statelessly
    Proxy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Ipfix,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// One set per message, no options templates, UDP messages of at most 1024 bytes
    GoIpfix,
    /// Everything RFC 7011 allows
    Standard,
}

pub fn run(args: AggregatorArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let undrained = service::multi_thread(service::workers_per_core(4))?.block_on(async move {
        let shutdown = service::shutdown_signal(None);
        match options(args).await? {
            Options::Proxy(opts) => proxy::run(*opts, shutdown).await.map(|s| s.undrained_bytes),
            Options::Aggregate(opts) => aggregate::run(*opts, shutdown).await.map(|s| s.undrained_bytes),
        }
    })?;
    // Received and never processed: the exit status says so.
    Ok(if undrained > 0 { ExitStatus::Failure } else { ExitStatus::Success })
}

enum Options {
    Proxy(Box<proxy::ProxyOptions>),
    Aggregate(Box<aggregate::AggregateOptions>),
}

/// The file, then the flags over it, validated.
async fn options(args: AggregatorArgs) -> anyhow::Result<Options> {
    let mut config = match &args.config {
        Some(path) => {
            let loaded = AggregatorConfig::load(path)?;
            for key in &loaded.unknown_keys {
                warn!("{}: unknown key {key} ignored", path.display());
            }
            loaded.config
        }
        None => AggregatorConfig::default(),
    };
    match args.mode {
        Some(ModeArg::Aggregate) => config.mode = Mode::Aggregate,
        Some(ModeArg::Proxy) => config.mode = Mode::Proxy,
        None => {}
    }
    // Under a second is a second, as in the file.
    if let Some(t) = args.active_timeout {
        config.active_flow_record_timeout = t.max(Duration::from_secs(1));
    }
    if let Some(t) = args.inactive_timeout {
        config.inactive_flow_record_timeout = t.max(Duration::from_secs(1));
    }
    if let Some(path) = &args.flow_log {
        config.flow_logger.enable = true;
        config.flow_logger.path = path.clone();
    }
    if let Some(url) = &args.clickhouse {
        config.clickhouse.enable = true;
        config.clickhouse.database_url = url.clone();
    }
    let fc = &mut config.flow_collector;
    if let Some(address) = &args.flow_collector {
        fc.enable = true;
        fc.address = address.clone();
    }
    if let Some(format) = args.flow_collector_format {
        fc.record_format = match format {
            FormatArg::Ipfix => RecordFormat::Ipfix,
            FormatArg::Json => RecordFormat::Json,
        };
    }
    if let Some(id) = args.observation_domain_id {
        fc.observation_domain_id = Some(id);
    }
    if let Some(id) = &args.cluster_id {
        config.cluster_id = id.clone();
    }
    config.pod_labels |= args.pod_labels;
    config.validate()?;

    let source = k8s::resolve_source(args.kubeconfig.clone());
    let client = k8s::client(&source).await?;
    if config.cluster_id.is_empty() {
        config.cluster_id = cluster_id(client.as_ref()).await;
    }
    let pods = match client {
        Some(client) => {
            let store = k8s::PodStore::default();
            let watched = store.clone();
            tokio::spawn(async move {
                if let Err(e) = k8s::watch_pods(client, watched, std::future::pending()).await {
                    warn!("the Pod watch stopped: {e:#}");
                }
            });
            Some(store)
        }
        None => {
            if config.pod_labels {
                warn!("no Kubernetes (no --kubeconfig and not in a Pod): Pod labels are exported as \"\"");
            }
            None
        }
    };

    let listen =
        if args.listen.is_empty() { listen_for(config.aggregator_transport_protocol) } else { endpoints(args.listen) };
    let tls = match (args.listener.server_tls(), listen.iter().any(|e| matches!(e, Endpoint::Tls(_)))) {
        (Some(tls), _) => Some(tls),
        (None, true) => {
            let dir = match args.cert_dir {
                Some(dir) => dir,
                None => certs::default_dir()?,
            };
            Some(certs::self_signed(&dir, &config.flow_aggregator_address)?)
        }
        (None, false) => None,
    };
    let collector = CollectorConfig {
        listen,
        tls,
        udp: args.listener.udp(),
        decoder: DecoderConfig { max_sessions: args.listener.max_sessions, ..DecoderConfig::default() },
        connections: args.listener.connections(),
        metrics_label_sets: args.listener.metrics_label_sets,
        ..CollectorConfig::default()
    };

    let fc = &config.flow_collector;
    let exporter = if fc.enable {
        let to: Endpoint = fc.address.parse()?;
        let tls = match (&to, &args.flow_collector_ca) {
            (Endpoint::Tls(_), Some(ca)) => Some(ClientTls {
                ca: ca.clone(),
                cert: args.flow_collector_cert,
                key: args.flow_collector_key,
                server_name: args
                    .flow_collector_server_name
                    .or_else(|| (!fc.tls.server_name.is_empty()).then(|| fc.tls.server_name.clone()))
                    .or_else(|| Endpoint::host_name(&fc.address).map(str::to_owned)),
            }),
            (Endpoint::Tls(_), None) => anyhow::bail!("{to}: exporting over TLS needs --flow-collector-ca"),
            (_, Some(_)) => anyhow::bail!("{to}: --flow-collector-ca is for a tls collector (HOST:PORT:tls)"),
            (_, None) => None,
        };
        Some(ExporterConfig {
            to,
            tls,
            domain: fc.observation_domain_id.unwrap_or_else(|| fnv1_32(config.cluster_id.as_bytes())),
            profile: match args.export_profile {
                ProfileArg::GoIpfix => Profile::GoIpfix,
                ProfileArg::Standard => Profile::Standard,
            },
            format: match fc.record_format {
                RecordFormat::Ipfix => Format::Ipfix,
                RecordFormat::Json => Format::Json,
            },
            max_message: fc.max_ipfix_msg_size.map(usize::from),
            template_refresh: fc.template_refresh_timeout,
            queue_records: args.queue_records,
            ..ExporterConfig::default()
        })
    } else {
        None
    };
    let layout = LayoutOptions { include_names: fc.include_k8s_names, include_uids: fc.include_k8s_uids };
    let api_addr = Some(args.metrics_addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], config.api_port))));
    if config.mode == Mode::Proxy {
        return Ok(Options::Proxy(Box::new(proxy::ProxyOptions {
            collector,
            exporter,
            cluster_id: config.cluster_id,
            pod_labels: config.pod_labels,
            layout,
            pods,
            api_addr,
            drain: Duration::from_secs(30),
            status_every: args.status.status_every,
        })));
    }
    let mut sinks = Vec::new();
    if config.flow_logger.enable {
        let sink = log::LogSink::open(&config.flow_logger)?;
        crate::announce!("writing the flow log to {}", config.flow_logger.path.display());
        sinks.push(SinkHandle::spawn("log", SINK_QUEUE_BATCHES, sink)?);
    }
    if config.clickhouse.enable {
        let sink = clickhouse::ClickHouseSink::new(&config.clickhouse, clickhouse::Credentials::from_env()?)?;
        crate::announce!(
            "writing to ClickHouse at {} database {}",
            config.clickhouse.database_url,
            config.clickhouse.database
        );
        sinks.push(SinkHandle::spawn("clickhouse", SINK_QUEUE_BATCHES, sink)?);
    }
    let secs = |d: Duration| d.as_secs().clamp(1, u64::from(u32::MAX / 2)) as u32;
    let a = &config.aggregation;
    Ok(Options::Aggregate(Box::new(aggregate::AggregateOptions {
        collector,
        exporter,
        sinks,
        store: StoreConfig {
            active_timeout: secs(config.active_flow_record_timeout),
            inactive_timeout: secs(config.inactive_flow_record_timeout),
            export_unmatched: a.export_unmatched,
            count_same_second: a.count_same_second,
            max_flows: a.max_flows,
        },
        cluster_id: config.cluster_id,
        pod_labels: config.pod_labels,
        layout,
        pods,
        api_addr,
        drain: Duration::from_secs(30),
        status_every: args.status.status_every,
    })))
}

/// Expiry ticks a sink may fall behind before its batches are dropped (and counted).
const SINK_QUEUE_BATCHES: usize = 64;

/// aggregatorTransportProtocol as listeners on every address, port 4739.
fn listen_for(protocol: IngestProtocol) -> Vec<Endpoint> {
    let any = SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT));
    match protocol {
        IngestProtocol::Tls => vec![Endpoint::Tls(any)],
        IngestProtocol::Tcp => vec![Endpoint::Tcp(any)],
        IngestProtocol::Udp => vec![Endpoint::Udp(any)],
        IngestProtocol::None => Vec::new(),
    }
}

/// The cluster's UUID as Antrea keeps it (ConfigMap kube-system/antrea-cluster-identity), or, with
/// no Kubernetes, this host's machine id, so the observation domain stays the same across restarts.
async fn cluster_id(client: Option<&kube::Client>) -> String {
    if let Some(client) = client {
        match k8s::cluster_uuid(client).await {
            Ok(uuid) => return uuid,
            Err(e) => warn!("cannot read the cluster UUID: {e:#}"),
        }
    }
    let id = std::fs::read_to_string("/etc/machine-id").map(|s| s.trim().to_owned()).unwrap_or_default();
    warn!(
        "no clusterID configured and no cluster UUID: using {id:?}; set clusterID so the observation domain is stable"
    );
    id
}
