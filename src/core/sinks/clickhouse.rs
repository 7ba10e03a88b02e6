//! ClickHouse (`clickHouse`, reference §3.7): rows in Antrea's 51 columns inserted into
//! `<database>.flows` over ClickHouse's HTTP interface, one `INSERT … FORMAT JSONEachRow` per
//! commit interval (gzipped when `compress`). Rows wait in a buffer of at most 2^19 rows, as
//! Antrea's does: a failed insert keeps them for the next interval, and when the buffer is full
//! the oldest rows are dropped and counted. The table's schema is `deploy/clickhouse/flows.sql`.

use std::collections::VecDeque;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use tracing::{debug, info, warn};

use super::{Sink, SinkCounters};
use crate::core::config::aggregator::ClickHouse;
use crate::core::flow::Flow;

/// Rows held at most (Antrea's cap).
pub const MAX_ROWS: usize = 1 << 19;
/// Rows sent in one request at most, so a backlog goes out in pieces a server accepts.
const ROWS_PER_INSERT: usize = 100_000;

/// The columns inserted, in Antrea's order.
pub const COLUMNS: [&str; 51] = [
    "flowStartSeconds",
    "flowEndSeconds",
    "flowEndSecondsFromSourceNode",
    "flowEndSecondsFromDestinationNode",
    "flowEndReason",
    "sourceIP",
    "destinationIP",
    "sourceTransportPort",
    "destinationTransportPort",
    "protocolIdentifier",
    "packetTotalCount",
    "octetTotalCount",
    "packetDeltaCount",
    "octetDeltaCount",
    "reversePacketTotalCount",
    "reverseOctetTotalCount",
    "reversePacketDeltaCount",
    "reverseOctetDeltaCount",
    "sourcePodName",
    "sourcePodNamespace",
    "sourceNodeName",
    "destinationPodName",
    "destinationPodNamespace",
    "destinationNodeName",
    "destinationClusterIP",
    "destinationServicePort",
    "destinationServicePortName",
    "ingressNetworkPolicyName",
    "ingressNetworkPolicyNamespace",
    "ingressNetworkPolicyRuleName",
    "ingressNetworkPolicyRuleAction",
    "ingressNetworkPolicyType",
    "egressNetworkPolicyName",
    "egressNetworkPolicyNamespace",
    "egressNetworkPolicyRuleName",
    "egressNetworkPolicyRuleAction",
    "egressNetworkPolicyType",
    "tcpState",
    "flowType",
    "sourcePodLabels",
    "destinationPodLabels",
    "throughput",
    "reverseThroughput",
    "throughputFromSourceNode",
    "throughputFromDestinationNode",
    "reverseThroughputFromSourceNode",
    "reverseThroughputFromDestinationNode",
    "clusterUUID",
    "egressName",
    "egressIP",
    "egressNodeName",
];

/// One record as a JSONEachRow line (newline included), times as UNIX seconds.
pub fn row(f: &Flow, out: &mut Vec<u8>) {
    let ip = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    let v = json!([
        f.flow_start,
        f.flow_end,
        f.flow_end_from_source_node,
        f.flow_end_from_destination_node,
        f.end_reason,
        f.source_address.to_string(),
        f.destination_address.to_string(),
        f.source_port,
        f.destination_port,
        f.protocol,
        f.packet_total,
        f.octet_total,
        f.packet_delta,
        f.octet_delta,
        f.reverse_packet_total,
        f.reverse_octet_total,
        f.reverse_packet_delta,
        f.reverse_octet_delta,
        f.source_pod_name,
        f.source_pod_namespace,
        f.source_node_name,
        f.destination_pod_name,
        f.destination_pod_namespace,
        f.destination_node_name,
        ip(f.destination_cluster_ip),
        f.destination_service_port,
        f.destination_service_port_name,
        f.ingress_policy_name,
        f.ingress_policy_namespace,
        f.ingress_rule_name,
        f.ingress_rule_action,
        f.ingress_policy_type,
        f.egress_policy_name,
        f.egress_policy_namespace,
        f.egress_rule_name,
        f.egress_rule_action,
        f.egress_policy_type,
        f.tcp_state,
        f.flow_type,
        f.source_pod_labels,
        f.destination_pod_labels,
        f.throughput,
        f.reverse_throughput,
        f.throughput_from_source_node,
        f.throughput_from_destination_node,
        f.reverse_throughput_from_source_node,
        f.reverse_throughput_from_destination_node,
        f.cluster_id,
        f.egress_name,
        ip(f.egress_ip),
        f.egress_node_name,
    ]);
    let serde_json::Value::Array(values) = v else { unreachable!("json! of an array literal is an array") };
    let object: serde_json::Map<String, serde_json::Value> =
        COLUMNS.iter().map(|c| c.to_string()).zip(values).collect();
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &object);
    out.push(b'\n');
}

/// `CH_USERNAME` / `CH_PASSWORD`, as Antrea reads them from its Secret.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    pub fn from_env() -> anyhow::Result<Self> {
        let username = std::env::var("CH_USERNAME").unwrap_or_default();
        let password = std::env::var("CH_PASSWORD").unwrap_or_default();
        if username.is_empty() {
            warn!("CH_USERNAME is not set: inserting into ClickHouse as its default user");
        }
        Ok(Credentials { username, password })
    }
}

/// The HTTP endpoint of `databaseURL`: `http://HOST:PORT`. The native protocol (`tcp://`,
/// `tls://`) is not spoken; such a URL is an error saying what to use instead.
pub fn endpoint(url: &str) -> anyhow::Result<String> {
    let (scheme, rest) =
        url.split_once("://").with_context(|| format!("clickHouse.databaseURL {url:?}: expected http://HOST:PORT"))?;
    anyhow::ensure!(
        !rest.is_empty() && !rest.contains(['/', '?', '@']),
        "clickHouse.databaseURL {url:?}: expected http://HOST:PORT, with no path, query or user"
    );
    match scheme {
        "http" => Ok(format!("http://{rest}/")),
        "tcp" | "tls" => anyhow::bail!(
            "clickHouse.databaseURL {url:?}: flowctl inserts over ClickHouse's HTTP interface, not the native \
             protocol; use http://HOST:8123"
        ),
        "https" => anyhow::bail!("clickHouse.databaseURL {url:?}: https is not supported yet; use http://HOST:8123"),
        other => anyhow::bail!("clickHouse.databaseURL {url:?}: scheme {other:?}; expected http"),
    }
}

/// The sink.
pub struct ClickHouseSink {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    url: String,
    insert: String,
    credentials: Credentials,
    compress: bool,
    debug: bool,
    interval: Duration,
    rows: VecDeque<Vec<u8>>,
    /// Whether the last insert failed, so recovery is logged once.
    failing: bool,
}

impl ClickHouseSink {
    pub fn new(config: &ClickHouse, credentials: Credentials) -> anyhow::Result<Self> {
        let url = endpoint(&config.database_url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the ClickHouse sink's runtime")?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("making the ClickHouse HTTP client")?;
        let insert = format!("INSERT INTO {}.flows ({}) FORMAT JSONEachRow\n", config.database, COLUMNS.join(", "));
        Ok(ClickHouseSink {
            runtime,
            client,
            url,
            insert,
            credentials,
            compress: config.compress,
            debug: config.debug,
            interval: config.commit_interval,
            rows: VecDeque::new(),
            failing: false,
        })
    }

    /// Sends up to [`ROWS_PER_INSERT`] rows; true when the server took them.
    fn insert(&mut self, counters: &SinkCounters, timeout: Duration) -> bool {
        let n = self.rows.len().min(ROWS_PER_INSERT);
        let mut body = self.insert.clone().into_bytes();
        for r in self.rows.iter().take(n) {
            body.extend_from_slice(r);
        }
        let mut request = self.client.post(&self.url).timeout(timeout);
        if !self.credentials.username.is_empty() {
            request = request.basic_auth(&self.credentials.username, Some(&self.credentials.password));
        }
        if self.compress {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            if gz.write_all(&body).is_ok()
                && let Ok(compressed) = gz.finish()
            {
                body = compressed;
                request = request.header("Content-Encoding", "gzip");
            }
        }
        let started = Instant::now();
        let result = self.runtime.block_on(async {
            let response = request.body(body).send().await?;
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            anyhow::Ok((status, text))
        });
        match result {
            Ok((status, _)) if status.is_success() => {
                self.rows.drain(..n);
                SinkCounters::add(&counters.written, n);
                if self.failing {
                    info!("ClickHouse: inserting again ({n} rows)");
                    self.failing = false;
                }
                if self.debug {
                    debug!("ClickHouse: {n} rows in {:?}", started.elapsed());
                }
                true
            }
            Ok((status, text)) => {
                self.failed(counters, format!("{status}: {}", text.trim()));
                false
            }
            Err(e) => {
                self.failed(counters, format!("{e:#}"));
                false
            }
        }
    }

    fn failed(&mut self, counters: &SinkCounters, why: String) {
        SinkCounters::add(&counters.errors, 1);
        if !self.failing {
            warn!("ClickHouse insert into {} failed ({why}); {} rows kept for the next try", self.url, self.rows.len());
        }
        self.failing = true;
    }
}

impl Sink for ClickHouseSink {
    fn write(&mut self, flows: &[Flow], counters: &SinkCounters) {
        for f in flows {
            if self.rows.len() >= MAX_ROWS {
                self.rows.pop_front();
                SinkCounters::add(&counters.dropped, 1);
            }
            let mut line = Vec::with_capacity(1024);
            row(f, &mut line);
            self.rows.push_back(line);
        }
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn tick(&mut self, counters: &SinkCounters) {
        while !self.rows.is_empty() && self.insert(counters, Duration::from_secs(30)) {}
    }

    fn close(&mut self, deadline: Duration, counters: &SinkCounters) {
        let end = Instant::now() + deadline;
        while !self.rows.is_empty() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.insert(counters, left) {
                break;
            }
        }
        if !self.rows.is_empty() {
            warn!("ClickHouse: {} rows could not be inserted before shutdown", self.rows.len());
            SinkCounters::add(&counters.dropped, std::mem::take(&mut self.rows).len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_has_antreas_51_columns_in_order() {
        let f = Flow {
            flow_start: 1_700_000_000,
            source_address: "10.0.0.1".parse().unwrap(),
            source_pod_labels: r#"{"app":"web"}"#.into(),
            cluster_id: "c1".into(),
            ..Flow::default()
        };
        let mut out = Vec::new();
        row(&f, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with('\n'));
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(v.keys().map(String::as_str).collect::<Vec<_>>(), COLUMNS);
        assert_eq!(v["flowStartSeconds"], 1_700_000_000);
        assert_eq!(v["sourceIP"], "10.0.0.1");
        assert_eq!(v["destinationClusterIP"], "");
        assert_eq!(v["sourcePodLabels"], r#"{"app":"web"}"#);
        assert_eq!(v["clusterUUID"], "c1");
    }

    #[test]
    fn database_urls_are_http_and_the_native_protocol_is_refused_with_what_to_use() {
        assert_eq!(endpoint("http://ch:8123").unwrap(), "http://ch:8123/");
        let e = endpoint("tcp://clickhouse-clickhouse.flow-visibility.svc:9000").unwrap_err().to_string();
        assert!(e.contains("use http://HOST:8123"), "{e}");
        assert!(endpoint("http://ch:8123/db").is_err());
        assert!(endpoint("ch:8123").is_err());
    }
}
