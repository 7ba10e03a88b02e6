//! `flow-aggregator.conf`: the Flow Aggregator's configuration, with Antrea's keys, defaults and
//! validation (reference: antrea-flow-visibility.md §3.1). Keys flowctl does not know are
//! reported so a typo does not pass unnoticed; values that are not acceptable are errors naming
//! the key and what it accepts.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value};

use super::{InvalidValue, duration, unknown_keys};

/// What the aggregator does with the records it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Correlates the source-Node and destination-Node records of a connection.
    Aggregate,
    /// Forwards every record at once, statelessly, adding the original exporter's identity.
    Proxy,
}

/// `aggregatorTransportProtocol`: what the IPFIX collecting process listens on (port 4739).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestProtocol {
    Tls,
    Tcp,
    Udp,
    /// No IPFIX collecting process.
    None,
}

/// `flowCollector.recordFormat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFormat {
    Ipfix,
    Json,
}

/// `flowCollector.tls`: how the aggregator authenticates to the downstream collector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectorTls {
    pub enable: bool,
    pub ca_secret_name: String,
    pub server_name: String,
    pub client_secret_name: String,
    pub min_version: String,
}

/// `flowCollector`: the downstream IPFIX (or JSON) collector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowCollector {
    pub enable: bool,
    /// `HOST:PORT[:PROTO]`, parsed by the command (it may name a host to resolve).
    pub address: String,
    /// `None`: FNV-1 32-bit of the cluster id.
    pub observation_domain_id: Option<u32>,
    pub record_format: RecordFormat,
    pub template_refresh_timeout: Duration,
    /// `None`: chosen from the transport (0 in the file).
    pub max_ipfix_msg_size: Option<u16>,
    pub tls: CollectorTls,
    pub include_k8s_names: bool,
    pub include_k8s_uids: bool,
}

/// `flowLogger.filters[]`: a record is logged when any filter matches it; a filter matches when
/// each of its lists is empty or holds the record's rule action (0 none, 1 Allow, 2 Drop,
/// 3 Reject).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub ingress_actions: Vec<u8>,
    pub egress_actions: Vec<u8>,
}

/// `flowLogger`: the CSV flow log, rotated as lumberjack does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowLogger {
    pub enable: bool,
    pub path: std::path::PathBuf,
    /// Megabytes before the file is rotated.
    pub max_size_mb: u64,
    /// Rotated files kept; 0 keeps them all (unless `max_age_days`).
    pub max_backups: u32,
    /// Days a rotated file is kept; 0 keeps them regardless of age.
    pub max_age_days: u32,
    /// Rotated files are gzipped.
    pub compress: bool,
    pub filters: Vec<LogFilter>,
    /// Protocol names and rule-action / policy-type words instead of numbers.
    pub pretty_print: bool,
}

/// `clickHouse`: rows inserted into `<database>.flows` once per commit interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClickHouse {
    pub enable: bool,
    pub database: String,
    /// `tcp://`, `tls://` (native protocol, served here over HTTP on the same host: see
    /// README), `http://` or `https://`.
    pub database_url: String,
    pub insecure_skip_verify: bool,
    pub ca_cert: bool,
    pub debug: bool,
    pub compress: bool,
    pub commit_interval: Duration,
}

/// `aggregation`: flowctl's own keys for where it departs from the reference; each default is
/// flowctl's behaviour, `false` restores Antrea's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aggregation {
    /// An inter-Node half whose other half never arrives is exported at expiry and counted,
    /// instead of being deleted unexported after two retries.
    pub export_unmatched: bool,
    /// Every record counts, also a second one from the same Node within one second (the
    /// reference ignores records whose end second is not later than the last one's).
    pub count_same_second: bool,
    /// Flows tracked at most; past this new flows are exported at once, unaggregated, and counted.
    pub max_flows: usize,
}

/// The whole file, with Antrea's defaults for what it leaves out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregatorConfig {
    pub mode: Mode,
    pub active_flow_record_timeout: Duration,
    pub inactive_flow_record_timeout: Duration,
    pub aggregator_transport_protocol: IngestProtocol,
    pub flow_aggregator_address: String,
    pub pod_labels: bool,
    pub api_port: u16,
    pub flow_collector: FlowCollector,
    pub clickhouse: ClickHouse,
    pub s3_uploader_enable: bool,
    pub flow_logger: FlowLogger,
    pub flow_stream_service_enable: bool,
    pub aggregation: Aggregation,
    pub record_buffer_size: usize,
    /// `""`: the cluster's UUID.
    pub cluster_id: String,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        AggregatorConfig {
            mode: Mode::Aggregate,
            active_flow_record_timeout: Duration::from_secs(60),
            inactive_flow_record_timeout: Duration::from_secs(90),
            aggregator_transport_protocol: IngestProtocol::Tls,
            flow_aggregator_address: String::new(),
            pod_labels: false,
            api_port: 10348,
            flow_collector: FlowCollector {
                enable: false,
                address: String::new(),
                observation_domain_id: None,
                record_format: RecordFormat::Ipfix,
                template_refresh_timeout: Duration::from_secs(600),
                max_ipfix_msg_size: None,
                tls: CollectorTls::default(),
                include_k8s_names: true,
                include_k8s_uids: false,
            },
            clickhouse: ClickHouse {
                enable: false,
                database: "default".into(),
                database_url: "tcp://clickhouse-clickhouse.flow-visibility.svc:9000".into(),
                insecure_skip_verify: false,
                ca_cert: false,
                debug: false,
                compress: true,
                commit_interval: Duration::from_secs(8),
            },
            s3_uploader_enable: false,
            flow_logger: FlowLogger {
                enable: false,
                path: std::env::temp_dir().join("antrea-flows.log"),
                max_size_mb: 100,
                max_backups: 3,
                max_age_days: 0,
                compress: true,
                filters: Vec::new(),
                pretty_print: true,
            },
            flow_stream_service_enable: false,
            aggregation: Aggregation { export_unmatched: true, count_same_second: true, max_flows: 4 << 20 },
            record_buffer_size: 8192,
            cluster_id: String::new(),
        }
    }
}

/// Every key Antrea's file has, sections included. Keys of sinks flowctl does not run yet are
/// known (an Antrea file carries them) and read only for what the mode requires of them.
const KNOWN: &[&str] = &[
    "mode",
    "activeFlowRecordTimeout",
    "inactiveFlowRecordTimeout",
    "aggregatorTransportProtocol",
    "flowAggregatorAddress",
    "recordContents",
    "recordContents.podLabels",
    "apiServer",
    "apiServer.apiPort",
    "apiServer.tlsCipherSuites",
    "apiServer.tlsMinVersion",
    "flowCollector",
    "flowCollector.enable",
    "flowCollector.address",
    "flowCollector.observationDomainID",
    "flowCollector.recordFormat",
    "flowCollector.templateRefreshTimeout",
    "flowCollector.maxIPFIXMsgSize",
    "flowCollector.tls",
    "flowCollector.tls.enable",
    "flowCollector.tls.caSecretName",
    "flowCollector.tls.serverName",
    "flowCollector.tls.clientSecretName",
    "flowCollector.tls.minVersion",
    "flowCollector.includeK8sNames",
    "flowCollector.includeK8sUIDs",
    "clickHouse",
    "clickHouse.enable",
    "clickHouse.database",
    "clickHouse.databaseURL",
    "clickHouse.tls",
    "clickHouse.tls.insecureSkipVerify",
    "clickHouse.tls.caCert",
    "clickHouse.debug",
    "clickHouse.compress",
    "clickHouse.commitInterval",
    "s3Uploader",
    "s3Uploader.enable",
    "s3Uploader.bucketName",
    "s3Uploader.bucketPrefix",
    "s3Uploader.region",
    "s3Uploader.recordFormat",
    "s3Uploader.compress",
    "s3Uploader.maxRecordsPerFile",
    "s3Uploader.uploadInterval",
    "flowLogger",
    "flowLogger.enable",
    "flowLogger.path",
    "flowLogger.maxSize",
    "flowLogger.maxBackups",
    "flowLogger.maxAge",
    "flowLogger.compress",
    "flowLogger.recordFormat",
    "flowLogger.filters",
    "flowLogger.prettyPrint",
    "flowStreamService",
    "flowStreamService.enable",
    "recordBufferSize",
    "clusterID",
    "aggregation",
    "aggregation.exportUnmatched",
    "aggregation.countSameSecondRecords",
    "aggregation.maxFlows",
];

/// A parsed file and the keys in it flowctl does not know.
#[derive(Debug)]
pub struct Loaded {
    pub config: AggregatorConfig,
    pub unknown_keys: Vec<String>,
}

impl AggregatorConfig {
    /// Reads a file.
    pub fn load(path: &Path) -> anyhow::Result<Loaded> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses the YAML text of a file.
    pub fn parse(text: &str) -> anyhow::Result<Loaded> {
        let doc: Value = if text.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_saphyr::from_str(text).context("not valid YAML")?
        };
        let doc = match doc {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => anyhow::bail!("expected a mapping of keys at the top, found {}", kind(&other)),
        };
        let config = Self::from_doc(&doc)?;
        Ok(Loaded { config, unknown_keys: unknown_keys(&doc, KNOWN) })
    }

    fn from_doc(doc: &Map<String, Value>) -> Result<Self, InvalidValue> {
        let d = AggregatorConfig::default();
        let r = Reader(doc);
        let fc = &d.flow_collector;
        let config = AggregatorConfig {
            mode: match r.string("mode")? {
                None => d.mode,
                // Case-sensitive, as Antrea's validation is.
                Some("Aggregate") => Mode::Aggregate,
                Some("Proxy") => Mode::Proxy,
                Some(other) => return Err(InvalidValue::new("mode", format!("{other:?}"), "Aggregate or Proxy")),
            },
            active_flow_record_timeout: r.timeout("activeFlowRecordTimeout")?.unwrap_or(d.active_flow_record_timeout),
            inactive_flow_record_timeout: r
                .timeout("inactiveFlowRecordTimeout")?
                .unwrap_or(d.inactive_flow_record_timeout),
            aggregator_transport_protocol: match r.string("aggregatorTransportProtocol")? {
                None => d.aggregator_transport_protocol,
                Some(s) => match s.to_ascii_lowercase().as_str() {
                    "tls" => IngestProtocol::Tls,
                    "tcp" => IngestProtocol::Tcp,
                    "udp" => IngestProtocol::Udp,
                    "none" => IngestProtocol::None,
                    _ => {
                        return Err(InvalidValue::new(
                            "aggregatorTransportProtocol",
                            format!("{s:?}"),
                            "tls, tcp, udp or none",
                        ));
                    }
                },
            },
            flow_aggregator_address: r.string("flowAggregatorAddress")?.unwrap_or_default().to_owned(),
            pod_labels: r.bool("recordContents.podLabels")?.unwrap_or(d.pod_labels),
            api_port: r.uint("apiServer.apiPort", 1, u16::MAX.into())?.map_or(d.api_port, |p| p as u16),
            flow_collector: FlowCollector {
                enable: r.bool("flowCollector.enable")?.unwrap_or(fc.enable),
                address: r.string("flowCollector.address")?.unwrap_or_default().to_owned(),
                observation_domain_id: r
                    .uint("flowCollector.observationDomainID", 0, u32::MAX.into())?
                    .map(|v| v as u32),
                record_format: match r.string("flowCollector.recordFormat")? {
                    None => fc.record_format,
                    Some("IPFIX") => RecordFormat::Ipfix,
                    Some("JSON") => RecordFormat::Json,
                    Some(other) => {
                        return Err(InvalidValue::new(
                            "flowCollector.recordFormat",
                            format!("{other:?}"),
                            "IPFIX or JSON",
                        ));
                    }
                },
                template_refresh_timeout: match r.string("flowCollector.templateRefreshTimeout")? {
                    None => fc.template_refresh_timeout,
                    Some(s) => duration("flowCollector.templateRefreshTimeout", s)?,
                },
                max_ipfix_msg_size: match r.uint("flowCollector.maxIPFIXMsgSize", 0, u16::MAX.into())? {
                    None | Some(0) => None,
                    Some(n) if n < 512 => {
                        return Err(InvalidValue::new(
                            "flowCollector.maxIPFIXMsgSize",
                            n,
                            "0 (automatic) or 512..65535",
                        ));
                    }
                    Some(n) => Some(n as u16),
                },
                tls: CollectorTls {
                    enable: r.bool("flowCollector.tls.enable")?.unwrap_or(false),
                    ca_secret_name: r.string("flowCollector.tls.caSecretName")?.unwrap_or_default().to_owned(),
                    server_name: r.string("flowCollector.tls.serverName")?.unwrap_or_default().to_owned(),
                    client_secret_name: r.string("flowCollector.tls.clientSecretName")?.unwrap_or_default().to_owned(),
                    min_version: r.string("flowCollector.tls.minVersion")?.unwrap_or_default().to_owned(),
                },
                include_k8s_names: r.bool("flowCollector.includeK8sNames")?.unwrap_or(fc.include_k8s_names),
                include_k8s_uids: r.bool("flowCollector.includeK8sUIDs")?.unwrap_or(fc.include_k8s_uids),
            },
            clickhouse: {
                let c = &d.clickhouse;
                ClickHouse {
                    enable: r.bool("clickHouse.enable")?.unwrap_or(c.enable),
                    database: r.string("clickHouse.database")?.map_or_else(|| c.database.clone(), str::to_owned),
                    database_url: r
                        .string("clickHouse.databaseURL")?
                        .map_or_else(|| c.database_url.clone(), str::to_owned),
                    insecure_skip_verify: r
                        .bool("clickHouse.tls.insecureSkipVerify")?
                        .unwrap_or(c.insecure_skip_verify),
                    ca_cert: r.bool("clickHouse.tls.caCert")?.unwrap_or(c.ca_cert),
                    debug: r.bool("clickHouse.debug")?.unwrap_or(c.debug),
                    compress: r.bool("clickHouse.compress")?.unwrap_or(c.compress),
                    commit_interval: match r.string("clickHouse.commitInterval")? {
                        None => c.commit_interval,
                        Some(s) => {
                            let d = duration("clickHouse.commitInterval", s)?;
                            if d < Duration::from_secs(1) {
                                return Err(InvalidValue::new("clickHouse.commitInterval", s, "at least 1s"));
                            }
                            d
                        }
                    },
                }
            },
            s3_uploader_enable: r.bool("s3Uploader.enable")?.unwrap_or(false),
            flow_logger: {
                let l = &d.flow_logger;
                FlowLogger {
                    enable: r.bool("flowLogger.enable")?.unwrap_or(l.enable),
                    path: r.string("flowLogger.path")?.map_or_else(|| l.path.clone(), Into::into),
                    max_size_mb: r.uint("flowLogger.maxSize", 1, 1 << 20)?.unwrap_or(l.max_size_mb),
                    max_backups: r
                        .uint("flowLogger.maxBackups", 0, u32::MAX.into())?
                        .map_or(l.max_backups, |n| n as u32),
                    max_age_days: r.uint("flowLogger.maxAge", 0, u32::MAX.into())?.map_or(l.max_age_days, |n| n as u32),
                    compress: r.bool("flowLogger.compress")?.unwrap_or(l.compress),
                    filters: r.filters("flowLogger.filters")?,
                    pretty_print: r.bool("flowLogger.prettyPrint")?.unwrap_or(l.pretty_print),
                }
            },
            flow_stream_service_enable: r.bool("flowStreamService.enable")?.unwrap_or(false),
            aggregation: {
                let a = &d.aggregation;
                Aggregation {
                    export_unmatched: r.bool("aggregation.exportUnmatched")?.unwrap_or(a.export_unmatched),
                    count_same_second: r.bool("aggregation.countSameSecondRecords")?.unwrap_or(a.count_same_second),
                    max_flows: r.uint("aggregation.maxFlows", 1, 1 << 32)?.map_or(a.max_flows, |n| n as usize),
                }
            },
            record_buffer_size: r
                .uint("recordBufferSize", 1, 1 << 30)?
                .map_or(d.record_buffer_size, |n| (n as usize).next_power_of_two()),
            cluster_id: r.string("clusterID")?.unwrap_or_default().to_owned(),
        };
        config.validate()?;
        Ok(config)
    }

    /// The rules that tie keys together; run again by the command after flags are applied.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.mode == Mode::Proxy {
            for (key, on) in [
                ("clickHouse.enable", self.clickhouse.enable),
                ("s3Uploader.enable", self.s3_uploader_enable),
                ("flowLogger.enable", self.flow_logger.enable),
            ] {
                if on {
                    return Err(InvalidValue::new(
                        key,
                        "true",
                        "false in Proxy mode, which exports only to flowCollector",
                    ));
                }
            }
        }
        if self.flow_collector.enable && self.flow_collector.address.is_empty() {
            return Err(InvalidValue::new(
                "flowCollector.address",
                "\"\"",
                "HOST:PORT[:tcp|udp|tls] when flowCollector.enable is true",
            ));
        }
        Ok(())
    }
}

/// Typed access to dotted keys of the document.
struct Reader<'a>(&'a Map<String, Value>);

impl<'a> Reader<'a> {
    fn get(&self, path: &str) -> Option<&'a Value> {
        let mut map = self.0;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let value = map.get(part)?;
            if parts.peek().is_none() {
                // An empty value (`key:` with nothing after it) reads as left out, as in Go.
                return (!value.is_null()).then_some(value);
            }
            map = value.as_object()?;
        }
        None
    }

    fn string(&self, path: &str) -> Result<Option<&'a str>, InvalidValue> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(InvalidValue::new(path, kind(other), "a string")),
        }
    }

    fn bool(&self, path: &str) -> Result<Option<bool>, InvalidValue> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(InvalidValue::new(path, kind(other), "true or false")),
        }
    }

    fn uint(&self, path: &str, min: u64, max: u64) -> Result<Option<u64>, InvalidValue> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
                _ => Err(InvalidValue::new(path, n, format!("an integer in {min}..={max}"))),
            },
            Some(other) => Err(InvalidValue::new(path, kind(other), format!("an integer in {min}..={max}"))),
        }
    }

    /// `flowLogger.filters`: a list of mappings of action lists, the actions by name.
    fn filters(&self, path: &str) -> Result<Vec<LogFilter>, InvalidValue> {
        let expected = "a list of {ingressNetworkPolicyRuleActions, egressNetworkPolicyRuleActions} with values \
                        None, Allow, Drop or Reject";
        let list = match self.get(path) {
            None => return Ok(Vec::new()),
            Some(Value::Array(list)) => list,
            Some(other) => return Err(InvalidValue::new(path, kind(other), expected)),
        };
        let actions = |value: Option<&Value>, key: &str| -> Result<Vec<u8>, InvalidValue> {
            let Some(value) = value else { return Ok(Vec::new()) };
            let Value::Array(names) = value else { return Err(InvalidValue::new(key, kind(value), expected)) };
            names
                .iter()
                .map(|n| match n.as_str() {
                    Some("None") => Ok(0),
                    Some("Allow") => Ok(1),
                    Some("Drop") => Ok(2),
                    Some("Reject") => Ok(3),
                    _ => Err(InvalidValue::new(key, kind(n), "None, Allow, Drop or Reject")),
                })
                .collect()
        };
        list.iter()
            .enumerate()
            .map(|(i, f)| {
                let Value::Object(f) = f else {
                    return Err(InvalidValue::new(&format!("{path}[{i}]"), kind(f), expected));
                };
                Ok(LogFilter {
                    ingress_actions: actions(
                        f.get("ingressNetworkPolicyRuleActions"),
                        &format!("{path}[{i}].ingressNetworkPolicyRuleActions"),
                    )?,
                    egress_actions: actions(
                        f.get("egressNetworkPolicyRuleActions"),
                        &format!("{path}[{i}].egressNetworkPolicyRuleActions"),
                    )?,
                })
            })
            .collect()
    }

    /// Antrea rounds timeouts under a second up to one second.
    fn timeout(&self, path: &str) -> Result<Option<Duration>, InvalidValue> {
        Ok(match self.string(path)? {
            None => None,
            Some(s) => Some(duration(path, s)?.max(Duration::from_secs(1))),
        })
    }
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ConfigMap Antrea's Helm chart renders for proxy mode, trimmed of comments.
    const ANTREA_PROXY: &str = r#"
mode: "Proxy"
activeFlowRecordTimeout: 60s
inactiveFlowRecordTimeout: 90s
aggregatorTransportProtocol: "tcp"
flowAggregatorAddress: ""
recordContents:
  podLabels: true
apiServer:
  apiPort: 10348
  tlsCipherSuites: ""
  tlsMinVersion: ""
flowCollector:
  enable: true
  address: "10.0.0.9:4739:udp"
  observationDomainID: 42
  recordFormat: "IPFIX"
  templateRefreshTimeout: "10m"
  maxIPFIXMsgSize: 0
  tls:
    enable: false
    caSecretName: ""
    serverName: ""
    clientSecretName: ""
    minVersion: ""
  includeK8sNames: true
  includeK8sUIDs: false
clickHouse:
  enable: false
  database: "default"
  databaseURL: "tcp://clickhouse-clickhouse.flow-visibility.svc:9000"
  debug: false
  compress: true
  commitInterval: "8s"
  tls:
    insecureSkipVerify: false
    caCert: false
s3Uploader:
  enable: false
flowLogger:
  enable: false
  path: "/tmp/antrea-flows.log"
  filters: []
flowStreamService:
  enable: false
recordBufferSize: 1000
clusterID: "c1"
"#;

    #[test]
    fn an_antrea_proxy_configmap_reads_whole_with_no_unknown_keys() {
        let loaded = AggregatorConfig::parse(ANTREA_PROXY).unwrap();
        assert_eq!(loaded.unknown_keys, Vec::<String>::new());
        let c = loaded.config;
        assert_eq!(c.mode, Mode::Proxy);
        assert_eq!(c.aggregator_transport_protocol, IngestProtocol::Tcp);
        assert!(c.pod_labels);
        assert!(c.flow_collector.enable);
        assert_eq!(c.flow_collector.address, "10.0.0.9:4739:udp");
        assert_eq!(c.flow_collector.observation_domain_id, Some(42));
        assert_eq!(c.flow_collector.template_refresh_timeout, Duration::from_secs(600));
        assert_eq!(c.flow_collector.max_ipfix_msg_size, None);
        assert_eq!(c.record_buffer_size, 1024, "rounded up to a power of two");
        assert_eq!(c.cluster_id, "c1");
    }

    #[test]
    fn an_empty_file_gives_antreas_defaults() {
        let c = AggregatorConfig::parse("").unwrap().config;
        assert_eq!(c, AggregatorConfig::default());
        assert_eq!(c.mode, Mode::Aggregate);
        assert_eq!(c.aggregator_transport_protocol, IngestProtocol::Tls);
        assert_eq!(c.active_flow_record_timeout, Duration::from_secs(60));
        assert!(c.flow_collector.include_k8s_names && !c.flow_collector.include_k8s_uids);
    }

    #[test]
    fn unknown_keys_are_reported_with_their_path() {
        let loaded = AggregatorConfig::parse("mode: Proxy\nflowCollector:\n  adress: x\nfoo: 1\n").unwrap();
        assert_eq!(loaded.unknown_keys, ["flowCollector.adress", "foo"]);
    }

    fn error(text: &str) -> String {
        format!("{:#}", AggregatorConfig::parse(text).unwrap_err())
    }

    #[test]
    fn invalid_values_name_the_key_and_what_it_accepts() {
        assert_eq!(error("mode: proxy"), "mode: \"proxy\" is not valid; expected Aggregate or Proxy");
        assert!(error("aggregatorTransportProtocol: sctp").contains("tls, tcp, udp or none"));
        assert!(error("flowCollector:\n  maxIPFIXMsgSize: 100").starts_with("flowCollector.maxIPFIXMsgSize: 100"));
        assert!(error("flowCollector:\n  recordFormat: CSV").contains("IPFIX or JSON"));
        assert!(error("flowCollector:\n  enable: yes please").contains("true or false"));
        assert!(error("activeFlowRecordTimeout: 5 minutes later").contains("a duration"));
        assert!(error("mode: Proxy\nflowLogger:\n  enable: true").starts_with("flowLogger.enable: true"));
        assert!(error("flowCollector:\n  enable: true").starts_with("flowCollector.address"));
        assert!(error("- a\n- b").contains("expected a mapping"));
    }

    #[test]
    fn sink_sections_and_aggregation_keys_read_with_antreas_names() {
        let text = "flowLogger:\n  enable: true\n  path: /var/log/flows.csv\n  maxSize: 5\n  maxBackups: 0\n  \
                    compress: false\n  prettyPrint: false\n  filters:\n  - ingressNetworkPolicyRuleActions: [Drop, Reject]\n  \
                    - egressNetworkPolicyRuleActions: [Drop]\nclickHouse:\n  enable: true\n  databaseURL: http://ch:8123\n  \
                    commitInterval: 2s\naggregation:\n  exportUnmatched: false\n";
        let c = AggregatorConfig::parse(text).unwrap().config;
        let l = &c.flow_logger;
        assert!(l.enable && !l.compress && !l.pretty_print);
        assert_eq!((l.path.to_str().unwrap(), l.max_size_mb, l.max_backups), ("/var/log/flows.csv", 5, 0));
        assert_eq!(
            l.filters,
            [
                LogFilter { ingress_actions: vec![2, 3], egress_actions: vec![] },
                LogFilter { ingress_actions: vec![], egress_actions: vec![2] }
            ]
        );
        assert_eq!(c.clickhouse.database_url, "http://ch:8123");
        assert_eq!(c.clickhouse.commit_interval, Duration::from_secs(2));
        assert_eq!(c.clickhouse.database, "default");
        assert!(!c.aggregation.export_unmatched && c.aggregation.count_same_second);
        assert!(error("clickHouse:\n  commitInterval: 500ms").contains("at least 1s"));
        assert!(error("flowLogger:\n  filters:\n  - ingressNetworkPolicyRuleActions: [Deny]").contains("[0]"));
    }

    #[test]
    fn timeouts_under_a_second_are_one_second_and_transport_is_case_insensitive() {
        let c = AggregatorConfig::parse("activeFlowRecordTimeout: 200ms\naggregatorTransportProtocol: UDP\n")
            .unwrap()
            .config;
        assert_eq!(c.active_flow_record_timeout, Duration::from_secs(1));
        assert_eq!(c.aggregator_transport_protocol, IngestProtocol::Udp);
    }
}
