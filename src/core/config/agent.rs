//! The `flowExporter` section of Antrea's `antrea-agent.conf`, with Antrea's keys, defaults and
//! validation (reference: antrea-flow-visibility.md §1.1). The rest of the file (OVS, tunnels,
//! feature gates…) belongs to Antrea's agent and is ignored; unknown keys inside `flowExporter`
//! are reported. Unlike the reference, a timeout raised to the poll interval says so.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value};

use super::{InvalidValue, duration};

/// The agent's flow-export settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentConfig {
    pub enable: bool,
    /// `HOST:[PORT][:PROTO]`, parsed by [`CollectorAddr::parse`].
    pub flow_collector_addr: String,
    pub poll_interval: Duration,
    pub active_timeout: Duration,
    pub idle_timeout: Duration,
    /// IP protocol numbers; `None`: all (the file has no protocolFilter), empty: none.
    pub protocol_filter: Option<Vec<u8>>,
    /// The top-level `nodeName`, when the file has one.
    pub node_name: String,
}

impl Default for AgentConfig {
    /// Antrea's code defaults.
    fn default() -> Self {
        AgentConfig {
            enable: false,
            flow_collector_addr: "flow-aggregator/flow-aggregator:4739:tls".into(),
            poll_interval: Duration::from_secs(5),
            active_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(15),
            protocol_filter: None,
            node_name: String::new(),
        }
    }
}

/// A file read: the settings, the unknown `flowExporter` keys, and what was adjusted.
#[derive(Debug)]
pub struct Loaded {
    pub config: AgentConfig,
    pub unknown_keys: Vec<String>,
    pub warnings: Vec<String>,
}

const KNOWN: &[&str] = &[
    "enable",
    "flowCollectorAddr",
    "flowPollInterval",
    "activeFlowExportTimeout",
    "idleFlowExportTimeout",
    "protocolFilter",
];

/// The pre-v1.13 top-level keys, read when the flowExporter counterpart is absent or empty.
const DEPRECATED: &[(&str, &str)] = &[
    ("flowCollectorAddr", "flowCollectorAddr"),
    ("flowPollInterval", "flowPollInterval"),
    ("activeFlowExportTimeout", "activeFlowExportTimeout"),
    ("idleFlowExportTimeout", "idleFlowExportTimeout"),
];

impl AgentConfig {
    pub fn load(path: &Path) -> anyhow::Result<Loaded> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Loaded> {
        let doc: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_saphyr::from_str(text).context("not valid YAML")?
        };
        let top = match doc {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => anyhow::bail!("expected a mapping of keys at the top"),
        };
        let section = match top.get("flowExporter") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => anyhow::bail!("flowExporter: expected a mapping of keys"),
        };
        let unknown_keys =
            section.keys().filter(|k| !KNOWN.contains(&k.as_str())).map(|k| format!("flowExporter.{k}")).collect();
        let text_of = |key: &str| -> Result<Option<(String, String)>, InvalidValue> {
            let value = match section.get(key) {
                Some(Value::String(s)) if !s.is_empty() => return Ok(Some((format!("flowExporter.{key}"), s.clone()))),
                Some(Value::String(_)) | Some(Value::Null) | None => None,
                Some(other) => Some(other),
            };
            if let Some(other) = value {
                return Err(InvalidValue::new(&format!("flowExporter.{key}"), other, "a string"));
            }
            let old = DEPRECATED.iter().find(|(new, _)| *new == key).map(|(_, old)| *old);
            match old.and_then(|old| top.get(old).map(|v| (old, v))) {
                Some((old, Value::String(s))) if !s.is_empty() => Ok(Some((old.to_owned(), s.clone()))),
                Some((_, Value::String(_) | Value::Null)) | None => Ok(None),
                Some((old, other)) => Err(InvalidValue::new(old, other, "a string")),
            }
        };
        let d = AgentConfig::default();
        let mut config = AgentConfig {
            enable: match section.get("enable") {
                None | Some(Value::Null) => d.enable,
                Some(Value::Bool(b)) => *b,
                Some(other) => return Err(InvalidValue::new("flowExporter.enable", other, "true or false").into()),
            },
            flow_collector_addr: text_of("flowCollectorAddr")?.map_or(d.flow_collector_addr, |(_, s)| s),
            node_name: top.get("nodeName").and_then(Value::as_str).unwrap_or_default().to_owned(),
            ..d
        };
        for (key, into) in [
            ("flowPollInterval", &mut config.poll_interval),
            ("activeFlowExportTimeout", &mut config.active_timeout),
            ("idleFlowExportTimeout", &mut config.idle_timeout),
        ] {
            if let Some((key, text)) = text_of(key)? {
                *into = duration(&key, &text)?;
            }
        }
        let mut warnings = Vec::new();
        match section.get("protocolFilter") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let names: Vec<String> =
                    items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect();
                let (numbers, problems) = protocol_numbers(&names);
                warnings.extend(problems.into_iter().map(|p| format!("flowExporter.protocolFilter: {p}")));
                config.protocol_filter = Some(numbers);
            }
            Some(other) => {
                return Err(InvalidValue::new("flowExporter.protocolFilter", other, "a list of tcp, udp, sctp").into());
            }
        }
        warnings.extend(config.normalize()?);
        Ok(Loaded { config, unknown_keys, warnings })
    }

    /// Antrea's checks once the file and the flags are in: the poll interval is at least 1s, and
    /// timeouts shorter than it are raised to it (each raise is returned, to be logged).
    pub fn normalize(&mut self) -> Result<Vec<String>, InvalidValue> {
        if self.poll_interval < Duration::from_secs(1) {
            return Err(InvalidValue::new(
                "flowExporter.flowPollInterval",
                humantime::format_duration(self.poll_interval),
                "at least 1s",
            ));
        }
        let mut raised = Vec::new();
        let poll = self.poll_interval;
        for (key, timeout) in
            [("activeFlowExportTimeout", &mut self.active_timeout), ("idleFlowExportTimeout", &mut self.idle_timeout)]
        {
            if *timeout < poll {
                raised.push(format!(
                    "flowExporter.{key} {} is shorter than the poll interval: raised to {}",
                    humantime::format_duration(*timeout),
                    humantime::format_duration(poll)
                ));
                *timeout = poll;
            }
        }
        Ok(raised)
    }

    /// How long an exported connection the kernel no longer lists is kept (the reference's
    /// stale connection timeout).
    pub fn stale_timeout(&self) -> Duration {
        let five_minutes = Duration::from_secs(300);
        let longest = self.active_timeout.max(self.idle_timeout);
        if longest > five_minutes { 2 * longest } else { five_minutes }
    }
}

/// protocolFilter names (tcp, udp, sctp; any case) as IP protocol numbers, and a note for each
/// name that is none of them (ignored, as the reference does).
pub fn protocol_numbers(names: &[String]) -> (Vec<u8>, Vec<String>) {
    let mut numbers = Vec::new();
    let mut problems = Vec::new();
    for name in names {
        match name.to_ascii_lowercase().as_str() {
            "tcp" => numbers.push(6),
            "udp" => numbers.push(17),
            "sctp" => numbers.push(132),
            _ => problems.push(format!("{name:?} is not tcp, udp or sctp: ignored")),
        }
    }
    (numbers, problems)
}

/// Where the agent exports: `flowCollectorAddr` parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectorAddr {
    pub host: CollectorHost,
    pub port: u16,
    pub proto: CollectorProto,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CollectorHost {
    Ip(IpAddr),
    Name(String),
    /// `namespace/name`: a Kubernetes Service, reached at its ClusterIP.
    Service {
        namespace: String,
        name: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectorProto {
    Tls,
    Tcp,
    Udp,
}

impl CollectorAddr {
    /// `<HOST>:[<PORT>][:<PROTO>]` as Antrea's `ParseFlowCollectorAddr` reads it: an IPv6 host
    /// in brackets, port 4739 and protocol tls by default.
    pub fn parse(text: &str) -> Result<CollectorAddr, InvalidValue> {
        const KEY: &str = "flowExporter.flowCollectorAddr";
        let bad = |why: &str| InvalidValue::new(KEY, format!("{text:?}"), why);
        let expected = "HOST:[PORT][:PROTO], PROTO one of tls, tcp, udp";
        let (host, rest) = match text.strip_prefix('[') {
            Some(inner) => {
                let (host, after) = inner.split_once(']').ok_or_else(|| bad(expected))?;
                match after {
                    "" => (host, None),
                    _ => (host, Some(after.strip_prefix(':').ok_or_else(|| bad(expected))?)),
                }
            }
            None => match text.split_once(':') {
                Some((host, rest)) => (host, Some(rest)),
                None => (text, None),
            },
        };
        let parts: Vec<&str> = rest.map_or_else(Vec::new, |r| r.split(':').collect());
        if host.is_empty() || parts.len() > 2 {
            return Err(bad(expected));
        }
        let port = match parts.first() {
            None | Some(&"") => crate::core::transport::DEFAULT_PORT,
            Some(p) => p.parse().ok().filter(|&p| p != 0).ok_or_else(|| bad("a port from 1 to 65535"))?,
        };
        let proto = match parts.get(1).map(|p| p.to_ascii_lowercase()) {
            None => CollectorProto::Tls,
            Some(p) => match p.as_str() {
                "tls" => CollectorProto::Tls,
                "tcp" => CollectorProto::Tcp,
                "udp" => CollectorProto::Udp,
                "grpc" => return Err(bad("tls, tcp or udp: flowctl's agent exports IPFIX, not gRPC")),
                _ => return Err(bad(expected)),
            },
        };
        let host = if let Ok(ip) = host.parse() {
            CollectorHost::Ip(ip)
        } else if let Some((namespace, name)) = host.split_once('/') {
            if namespace.is_empty() || name.is_empty() || name.contains('/') {
                return Err(bad("NAMESPACE/SERVICE for a Kubernetes Service"));
            }
            CollectorHost::Service { namespace: namespace.into(), name: name.into() }
        } else {
            CollectorHost::Name(host.into())
        };
        Ok(CollectorAddr { host, port, proto })
    }
}

impl fmt::Display for CollectorAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            CollectorHost::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            CollectorHost::Ip(ip) => write!(f, "{ip}")?,
            CollectorHost::Name(name) => f.write_str(name)?,
            CollectorHost::Service { namespace, name } => write!(f, "{namespace}/{name}")?,
        }
        let proto = match self.proto {
            CollectorProto::Tls => "tls",
            CollectorProto::Tcp => "tcp",
            CollectorProto::Udp => "udp",
        };
        write!(f, ":{}:{proto}", self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_gives_antreas_defaults() {
        let loaded = AgentConfig::parse("").unwrap();
        assert_eq!(loaded.config, AgentConfig::default());
        assert_eq!(loaded.config.poll_interval, Duration::from_secs(5));
        assert_eq!(loaded.config.idle_timeout, Duration::from_secs(15));
        assert!(loaded.unknown_keys.is_empty() && loaded.warnings.is_empty());
    }

    #[test]
    fn an_antrea_agent_conf_is_read_for_its_flow_exporter_section_only() {
        let text = r#"
featureGates:
  FlowExporter: true
trafficEncapMode: encap
ovsBridge: br-int
nodeName: worker-1
antreaProxy:
  proxyAll: false
flowExporter:
  enable: true
  flowCollectorAddr: "10.0.0.5:4739:udp"
  flowPollInterval: "2s"
  activeFlowExportTimeout: "1s"
  idleFlowExportTimeout: "30s"
  protocolFilter: [TCP, udp, icmp]
  flowColectorPort: 1
"#;
        let loaded = AgentConfig::parse(text).unwrap();
        let c = &loaded.config;
        assert!(c.enable);
        assert_eq!(c.flow_collector_addr, "10.0.0.5:4739:udp");
        assert_eq!(c.node_name, "worker-1");
        assert_eq!((c.poll_interval, c.idle_timeout), (Duration::from_secs(2), Duration::from_secs(30)));
        assert_eq!(c.active_timeout, Duration::from_secs(2), "raised to the poll interval");
        assert_eq!(c.protocol_filter, Some(vec![6, 17]));
        assert_eq!(loaded.unknown_keys, ["flowExporter.flowColectorPort"]);
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings.iter().any(|w| w.contains("\"icmp\" is not tcp, udp or sctp")));
        assert!(loaded.warnings.iter().any(|w| w.contains("activeFlowExportTimeout 1s is shorter")));
    }

    #[test]
    fn protocol_filter_nil_means_all_and_empty_means_none() {
        let none = AgentConfig::parse("flowExporter:\n  protocolFilter: []\n").unwrap();
        assert_eq!(none.config.protocol_filter, Some(vec![]));
        let all = AgentConfig::parse("flowExporter:\n  enable: true\n").unwrap();
        assert_eq!(all.config.protocol_filter, None);
    }

    #[test]
    fn deprecated_top_level_keys_count_only_without_the_new_ones() {
        let old = AgentConfig::parse("flowCollectorAddr: 1.2.3.4:4739:tcp\nflowPollInterval: 3s\n").unwrap();
        assert_eq!(old.config.flow_collector_addr, "1.2.3.4:4739:tcp");
        assert_eq!(old.config.poll_interval, Duration::from_secs(3));
        let both = AgentConfig::parse(
            "flowCollectorAddr: 1.2.3.4:4739:tcp\nflowExporter:\n  flowCollectorAddr: 5.6.7.8:4739:udp\n",
        )
        .unwrap();
        assert_eq!(both.config.flow_collector_addr, "5.6.7.8:4739:udp");
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = AgentConfig::parse("flowExporter:\n  flowPollInterval: 500ms\n").unwrap_err().to_string();
        assert!(e.contains("flowExporter.flowPollInterval") && e.contains("at least 1s"), "{e}");
        let e = AgentConfig::parse("flowExporter:\n  idleFlowExportTimeout: soon\n").unwrap_err().to_string();
        assert!(e.starts_with("flowExporter.idleFlowExportTimeout: \"soon\" is not valid"), "{e}");
        let e = AgentConfig::parse("flowExporter:\n  enable: maybe\n").unwrap_err().to_string();
        assert!(e.contains("flowExporter.enable"), "{e}");
    }

    #[test]
    fn the_stale_timeout_is_five_minutes_or_twice_the_longest_timeout() {
        let mut c = AgentConfig::default();
        assert_eq!(c.stale_timeout(), Duration::from_secs(300));
        c.idle_timeout = Duration::from_secs(600);
        assert_eq!(c.stale_timeout(), Duration::from_secs(1200));
    }

    #[test]
    fn collector_addresses_parse_as_antreas() {
        let ok = |s: &str| CollectorAddr::parse(s).unwrap().to_string();
        assert_eq!(ok("10.0.0.5"), "10.0.0.5:4739:tls");
        assert_eq!(ok("10.0.0.5:4740"), "10.0.0.5:4740:tls");
        assert_eq!(ok("10.0.0.5::udp"), "10.0.0.5:4739:udp");
        assert_eq!(ok("[fd00::5]:4739:TCP"), "[fd00::5]:4739:tcp");
        assert_eq!(ok("[fd00::5]"), "[fd00::5]:4739:tls");
        assert_eq!(ok("collector.example:9995:udp"), "collector.example:9995:udp");
        let svc = CollectorAddr::parse("flow-aggregator/flow-aggregator:4739:tls").unwrap();
        assert_eq!(
            svc.host,
            CollectorHost::Service { namespace: "flow-aggregator".into(), name: "flow-aggregator".into() }
        );
        for bad in ["", "a:1:tcp:x", "h:0", "h:70000", "h:1:sctp", "[fd00::5", "/x:1"] {
            let e = CollectorAddr::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("flowExporter.flowCollectorAddr"), "{bad}: {e}");
        }
        let e = CollectorAddr::parse("h:14739:grpc").unwrap_err().to_string();
        assert!(e.contains("not gRPC"), "{e}");
    }
}
