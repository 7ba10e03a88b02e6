//! The CSV flow log (`flowLogger`, reference §3.9): one line per record in Antrea's columns,
//! written through a buffer flushed every 5 s, rotated as lumberjack does: past `maxSize` MB the
//! file is renamed `<name>-<UTC time>.<ext>` (gzipped when `compress`), and rotated files beyond
//! `maxBackups` or older than `maxAge` days are removed. Filters on the rule actions choose what
//! is logged.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tracing::warn;

use super::{Sink, SinkCounters};
use crate::core::config::aggregator::{FlowLogger, LogFilter};
use crate::core::flow::Flow;

/// How often buffered lines reach the file.
const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// The CSV columns, in Antrea's order (the file has no header line, as Antrea's has none).
pub const COLUMNS: [&str; 30] = [
    "flowStartSeconds",
    "flowEndSeconds",
    "sourceIP",
    "destinationIP",
    "sourceTransportPort",
    "destinationTransportPort",
    "protocol",
    "sourcePodName",
    "sourcePodNamespace",
    "sourceNodeName",
    "destinationPodName",
    "destinationPodNamespace",
    "destinationNodeName",
    "destinationClusterIP",
    "destinationServiceIP",
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
    "egressName",
    "egressIP",
    "egressNodeName",
];

/// Whether `flow` passes the filters: no filters pass everything; otherwise any filter whose
/// lists (each empty, or holding the record's action) all match.
pub fn passes(filters: &[LogFilter], flow: &Flow) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| {
            (f.ingress_actions.is_empty() || f.ingress_actions.contains(&flow.ingress_rule_action))
                && (f.egress_actions.is_empty() || f.egress_actions.contains(&flow.egress_rule_action))
        })
}

fn protocol_name(p: u8) -> Option<&'static str> {
    Some(match p {
        1 => "ICMP",
        6 => "TCP",
        17 => "UDP",
        58 => "IPv6-ICMP",
        132 => "SCTP",
        _ => return None,
    })
}

fn action_name(a: u8) -> &'static str {
    match a {
        0 => "",
        1 => "Allow",
        2 => "Drop",
        3 => "Reject",
        _ => "Invalid",
    }
}

/// Antrea prints type 4 as "Invalid"; flowctl names it.
fn policy_type_name(t: u8) -> &'static str {
    match t {
        0 => "",
        1 => "K8sNetworkPolicy",
        2 => "AntreaNetworkPolicy",
        3 => "AntreaClusterNetworkPolicy",
        4 => "K8sClusterNetworkPolicy",
        _ => "Invalid",
    }
}

/// Appends `field` quoted as RFC 4180 asks when it holds a comma, a quote or a line break.
fn field(out: &mut Vec<u8>, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

/// One record as a CSV line, newline included.
pub fn line(flow: &Flow, pretty: bool, out: &mut Vec<u8>) {
    let ip = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    let number = |n: u64| n.to_string();
    let protocol = match (pretty, protocol_name(flow.protocol)) {
        (true, Some(name)) => name.to_string(),
        _ => flow.protocol.to_string(),
    };
    let action = |a: u8| if pretty { action_name(a).to_string() } else { a.to_string() };
    let policy_type = |t: u8| if pretty { policy_type_name(t).to_string() } else { t.to_string() };
    let fields: [String; 30] = [
        number(flow.flow_start.into()),
        number(flow.flow_end.into()),
        flow.source_address.to_string(),
        flow.destination_address.to_string(),
        number(flow.source_port.into()),
        number(flow.destination_port.into()),
        protocol,
        flow.source_pod_name.clone(),
        flow.source_pod_namespace.clone(),
        flow.source_node_name.clone(),
        flow.destination_pod_name.clone(),
        flow.destination_pod_namespace.clone(),
        flow.destination_node_name.clone(),
        ip(flow.destination_cluster_ip),
        ip(flow.destination_service_ip),
        number(flow.destination_service_port.into()),
        flow.destination_service_port_name.clone(),
        flow.ingress_policy_name.clone(),
        flow.ingress_policy_namespace.clone(),
        flow.ingress_rule_name.clone(),
        action(flow.ingress_rule_action),
        policy_type(flow.ingress_policy_type),
        flow.egress_policy_name.clone(),
        flow.egress_policy_namespace.clone(),
        flow.egress_rule_name.clone(),
        action(flow.egress_rule_action),
        policy_type(flow.egress_policy_type),
        flow.egress_name.clone(),
        ip(flow.egress_ip),
        flow.egress_node_name.clone(),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        field(out, f);
    }
    out.push(b'\n');
}

/// A file that rotates as lumberjack's does.
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_backups: u32,
    max_age: Option<Duration>,
    compress: bool,
    file: Option<BufWriter<File>>,
    size: u64,
}

impl RotatingFile {
    pub fn open(config: &FlowLogger) -> io::Result<Self> {
        let mut f = RotatingFile {
            path: config.path.clone(),
            max_bytes: config.max_size_mb.saturating_mul(1 << 20),
            max_backups: config.max_backups,
            max_age: (config.max_age_days > 0).then(|| Duration::from_secs(u64::from(config.max_age_days) * 86_400)),
            compress: config.compress,
            file: None,
            size: 0,
        };
        f.reopen()?;
        Ok(f)
    }

    fn reopen(&mut self) -> io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(BufWriter::with_capacity(64 << 10, file));
        Ok(())
    }

    /// Appends `bytes`, rotating first when they would take the file past its size.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            self.reopen()?;
        }
        if self.size > 0 && self.size + bytes.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let file = self.file.as_mut().ok_or_else(|| io::Error::other("the log file is not open"))?;
        file.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    /// The name a rotated file gets: lumberjack's `<stem>-<2006-01-02T15-04-05.000>.<ext>`, UTC.
    fn backup_name(&self, at: SystemTime) -> PathBuf {
        let stem = self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let ext = self.path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        let time = humantime::format_rfc3339_millis(at).to_string();
        // 2026-12-04T21:05:22.123Z → 2026-12-04T21-05-22.123
        let time = time.trim_end_matches('Z').replace(':', "-");
        self.path.with_file_name(format!("{stem}-{time}{ext}"))
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
        }
        let mut backup = self.backup_name(SystemTime::now());
        // Two rotations in one millisecond must not overwrite each other.
        while backup.exists() || gz(&backup).exists() {
            std::thread::sleep(Duration::from_millis(1));
            backup = self.backup_name(SystemTime::now());
        }
        std::fs::rename(&self.path, &backup)?;
        self.reopen()?;
        if self.compress {
            compress(&backup)?;
        }
        self.prune()
    }

    /// Removes rotated files beyond `maxBackups` (newest kept) and older than `maxAge`.
    fn prune(&self) -> io::Result<()> {
        let dir = match self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("."),
        };
        let stem = self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let prefix = format!("{stem}-");
        let mut backups: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(&dir)?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix) && e.path() != self.path)
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        // Newest first; the name's time breaks ties of the modification time.
        backups.sort_by(|a, b| b.cmp(a));
        let now = SystemTime::now();
        for (i, (modified, path)) in backups.iter().enumerate() {
            let too_many = self.max_backups > 0 && i >= self.max_backups as usize;
            let too_old = self.max_age.is_some_and(|age| now.duration_since(*modified).unwrap_or_default() > age);
            if too_many || too_old {
                std::fs::remove_file(path)?;
            }
        }
        Ok(())
    }
}

fn gz(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".gz");
    PathBuf::from(name)
}

/// Replaces `path` by `path.gz`.
fn compress(path: &Path) -> io::Result<()> {
    let target = gz(path);
    let mut input = File::open(path)?;
    let mut encoder = flate2::write::GzEncoder::new(File::create(&target)?, flate2::Compression::default());
    io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.sync_all()?;
    std::fs::remove_file(path)
}

/// The flow log as a [`Sink`].
pub struct LogSink {
    file: RotatingFile,
    filters: Vec<LogFilter>,
    pretty: bool,
    line: Vec<u8>,
    /// Records in the buffer, not yet flushed.
    buffered: usize,
}

impl LogSink {
    pub fn open(config: &FlowLogger) -> anyhow::Result<Self> {
        let file = RotatingFile::open(config)
            .map_err(|e| anyhow::anyhow!("flowLogger.path {}: {e}", config.path.display()))?;
        Ok(LogSink {
            file,
            filters: config.filters.clone(),
            pretty: config.pretty_print,
            line: Vec::new(),
            buffered: 0,
        })
    }

    fn flush(&mut self, counters: &SinkCounters) {
        match self.file.flush() {
            Ok(()) => SinkCounters::add(&counters.written, std::mem::take(&mut self.buffered)),
            Err(e) => {
                warn!("flow log {}: {e}; {} records lost", self.file.path.display(), self.buffered);
                SinkCounters::add(&counters.errors, 1);
                SinkCounters::add(&counters.dropped, std::mem::take(&mut self.buffered));
                self.file.file = None;
            }
        }
    }
}

impl Sink for LogSink {
    fn write(&mut self, flows: &[Flow], counters: &SinkCounters) {
        for flow in flows {
            if !passes(&self.filters, flow) {
                SinkCounters::add(&counters.filtered, 1);
                continue;
            }
            self.line.clear();
            line(flow, self.pretty, &mut self.line);
            match self.file.write(&self.line) {
                Ok(()) => self.buffered += 1,
                Err(e) => {
                    warn!("flow log {}: {e}", self.file.path.display());
                    SinkCounters::add(&counters.errors, 1);
                    SinkCounters::add(&counters.dropped, 1 + std::mem::take(&mut self.buffered));
                    self.file.file = None;
                }
            }
        }
    }

    fn interval(&self) -> Duration {
        FLUSH_INTERVAL
    }

    fn tick(&mut self, counters: &SinkCounters) {
        self.flush(counters);
    }

    fn close(&mut self, _deadline: Duration, counters: &SinkCounters) {
        self.flush(counters);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::atomic::Ordering;

    fn record(n: u16) -> Flow {
        Flow {
            flow_start: 1_700_000_000,
            flow_end: 1_700_000_010,
            source_address: "10.10.0.5".parse().unwrap(),
            destination_address: "10.10.1.7".parse().unwrap(),
            source_port: 40_000 + n,
            destination_port: 8080,
            protocol: 6,
            source_pod_name: "client".into(),
            source_pod_namespace: "ns-a".into(),
            destination_pod_name: "server, the".into(),
            destination_cluster_ip: Some("10.96.0.10".parse().unwrap()),
            destination_service_port: 80,
            destination_service_port_name: "ns-b/web:http".into(),
            ingress_policy_name: "allow-in".into(),
            ingress_rule_action: 1,
            ingress_policy_type: 4,
            egress_rule_action: 2,
            egress_policy_type: 2,
            ..Flow::default()
        }
    }

    #[test]
    fn a_line_has_antreas_columns_pretty_or_not() {
        let mut out = Vec::new();
        line(&record(0), true, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "1700000000,1700000010,10.10.0.5,10.10.1.7,40000,8080,TCP,client,ns-a,,\"server, the\",,,10.96.0.10,,80,\
             ns-b/web:http,allow-in,,,Allow,K8sClusterNetworkPolicy,,,,Drop,AntreaNetworkPolicy,,,\n"
        );
        let mut out = Vec::new();
        line(&record(0), false, &mut out);
        let text = String::from_utf8(out).unwrap();
        let fields: Vec<&str> = text.trim_end().split(',').collect();
        assert_eq!(fields.len(), COLUMNS.len() + 1, "the quoted comma adds one split");
        assert_eq!((fields[6], fields[21], fields[22], fields[27]), ("6", "1", "4", "2"));
    }

    #[test]
    fn filters_are_or_ed_and_their_lists_and_ed() {
        let drop_in = LogFilter { ingress_actions: vec![2], egress_actions: vec![] };
        let drop_both = LogFilter { ingress_actions: vec![2], egress_actions: vec![2] };
        let mut f = record(0);
        f.ingress_rule_action = 2;
        f.egress_rule_action = 1;
        assert!(passes(&[], &f));
        assert!(passes(std::slice::from_ref(&drop_in), &f));
        assert!(!passes(std::slice::from_ref(&drop_both), &f));
        assert!(passes(&[drop_both, drop_in], &f));
    }

    fn config(dir: &Path, compress: bool, max_backups: u32) -> FlowLogger {
        FlowLogger {
            enable: true,
            path: dir.join("flows.csv"),
            max_size_mb: 1,
            max_backups,
            max_age_days: 0,
            compress,
            filters: vec![LogFilter { ingress_actions: vec![], egress_actions: vec![2] }],
            pretty_print: true,
        }
    }

    #[test]
    fn the_log_rotates_past_max_size_compresses_keeps_max_backups_and_counts_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = LogSink::open(&config(dir.path(), true, 2)).unwrap();
        let counters = SinkCounters::default();
        // About 200 bytes a line: 20 000 lines are about 4 MB, so three or four rotations.
        let flows: Vec<Flow> = (0..20_000).map(|n| record(n as u16)).collect();
        for chunk in flows.chunks(1000) {
            SinkCounters::add(&counters.offered, chunk.len());
            sink.write(chunk, &counters);
        }
        let mut allowed = record(1);
        allowed.egress_rule_action = 1;
        SinkCounters::add(&counters.offered, 1);
        sink.write(&[allowed], &counters);
        sink.close(Duration::from_secs(1), &counters);
        assert_eq!(counters.written.load(Ordering::Relaxed), 20_000);
        assert_eq!(counters.filtered.load(Ordering::Relaxed), 1);
        assert_eq!(counters.pending(), 0);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "the live file and two backups: {names:?}");
        assert!(names.iter().filter(|n| n.starts_with("flows-") && n.ends_with(".csv.gz")).count() == 2, "{names:?}");
        assert!(std::fs::metadata(dir.path().join("flows.csv")).unwrap().len() <= 1 << 20);
        let backup = names.iter().find(|n| n.ends_with(".gz")).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(File::open(dir.path().join(backup)).unwrap()).read_to_string(&mut text).unwrap();
        assert!(text.len() > 900_000 && text.len() <= 1 << 20, "{} bytes", text.len());
        assert!(text.lines().all(|l| l.starts_with("1700000000,1700000010,10.10.0.5,")));
    }

    #[test]
    fn a_log_that_exists_is_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("flows.csv"), "old line\n").unwrap();
        let mut sink = LogSink::open(&config(dir.path(), false, 0)).unwrap();
        let counters = SinkCounters::default();
        sink.write(&[record(0)], &counters);
        sink.close(Duration::from_secs(1), &counters);
        let text = std::fs::read_to_string(dir.path().join("flows.csv")).unwrap();
        assert!(text.starts_with("old line\n1700000000,"), "{text}");
    }
}
