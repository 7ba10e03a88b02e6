//! Proxy mode: a stateless IPFIX mediator (Antrea issue #6773, reference §3.4).
//!
//! Every data record is re-encoded at once under the aggregator's own observation domain,
//! templates and sequence numbers, with the identity of the exporter it came from:
//! - Antrea-format records (templates carrying Antrea elements) go through the typed
//!   [`Flow`]: the proxy template in the reference order, with flowDirection, Pod labels,
//!   clusterId, Pod info filled from Kubernetes for inter-Node records, and
//!   originalExporterIPv4/IPv6Address + originalObservationDomainId.
//! - Any other record (a router's, a hypervisor's) keeps its own fields, in a template of the
//!   aggregator's made from its template with the mediation elements 403, 404 and 405 appended,
//!   as a generic IPFIX mediator would forward it.
//!
//! Nothing is kept per flow. Each receiving thread or connection converts its own records into
//! a batch (no locks on the record path) and hands full batches to the exporting process, which
//! numbers and sends them. Shutdown stops the listeners, lets every sink hand over what it holds,
//! then has the exporting process flush.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tracing::warn;

use super::{RecordMetrics, fill_pod, pod_labels};
use crate::core::announce::StatusLine;
use crate::core::collector::{Board, CollectingProcess, CollectorConfig, PerTemplate, RecordSink, SinkFactory};
use crate::core::exporter::{
    ExportSender, ExporterConfig, ExporterCounters, ExportingProcess, Profile, RecordBatch, TemplateSet,
};
use crate::core::flow::{FieldSet, Flow, FlowField, FlowWriter, Layout, LayoutOptions, Splice, flow_direction};
use crate::core::ipfix::decoder::RecordRef;
use crate::core::ipfix::registry::{self, PEN_ANTREA};
use crate::core::ipfix::types::DataType;
use crate::core::ipfix::{FieldSpec, Template};
use crate::core::k8s::PodStore;
use crate::core::metrics;
use crate::core::problems::{Policy, ProblemLog};

/// Records a receiving thread gathers before handing them to the exporting process.
const BATCH_RECORDS: usize = 1024;

/// Input templates whose conversion plan a sink remembers; past this the memory is cleared (a
/// plan is cheap to rebuild, and exporters churning templates must not grow it without end).
const MAX_PLANS: usize = 4096;

/// flowType INTER_NODE (reference §1.3).
const INTER_NODE: u8 = 2;

/// How the proxy runs.
pub struct ProxyOptions {
    pub collector: CollectorConfig,
    /// The downstream collector; `None` when `flowCollector` is disabled (records are then
    /// counted and discarded, as Antrea does with no sink enabled).
    pub exporter: Option<ExporterConfig>,
    pub cluster_id: String,
    /// `recordContents.podLabels`.
    pub pod_labels: bool,
    pub layout: LayoutOptions,
    /// Pods for labels and inter-Node records' missing Pod info; `None` without Kubernetes.
    pub pods: Option<PodStore>,
    /// Where to serve `/metrics` and `/recordmetrics`.
    pub api_addr: Option<SocketAddr>,
    /// How long the exporting process may take to flush on shutdown.
    pub drain: Duration,
    /// How often a status line goes to a terminal (zero: never).
    pub status_every: Duration,
}

/// Counters of the conversion, summed over every receiving thread.
#[derive(Debug, Default)]
pub struct ProxyCounters {
    pub received: AtomicU64,
    pub antrea: AtomicU64,
    pub generic: AtomicU64,
    /// Options records while exporting in the go-ipfix profile, which has no options templates.
    pub options_skipped: AtomicU64,
    /// Records whose re-encoded template could not be made (the aggregator's template ids ran
    /// out, or the template cannot fit a message).
    pub template_refused: AtomicU64,
    /// Records received while no flowCollector is enabled.
    pub no_sink: AtomicU64,
    /// Records the exporting process refused because it had stopped.
    pub exporter_gone: AtomicU64,
}

impl ProxyCounters {
    /// Records received and not handed to the exporting process.
    pub fn not_forwarded(&self) -> u64 {
        [&self.options_skipped, &self.template_refused, &self.no_sink, &self.exporter_gone]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

/// What a run did, for the log and the tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxySummary {
    pub received: u64,
    pub antrea: u64,
    pub generic: u64,
    pub not_forwarded: u64,
    pub exported: u64,
    pub export_dropped: u64,
    /// Bytes still unread on connections when the drain on shutdown ran out of time: lost.
    pub undrained_bytes: u64,
}

/// What every sink shares.
struct Shared {
    templates: Arc<TemplateSet>,
    writer_v4: FlowWriter,
    writer_v6: FlowWriter,
    template_v4: u16,
    template_v6: u16,
    /// go-ipfix collectors read no options templates.
    options_allowed: bool,
    cluster_id: String,
    pod_labels: bool,
    pods: Option<PodStore>,
    /// What an Antrea record's enrichment reads, and what it may write.
    reads: FieldSet,
    may_change: FieldSet,
    counters: ProxyCounters,
    problems: Mutex<ProblemLog>,
}

impl Shared {
    fn problem(&self, cause: &'static str, message: impl FnOnce() -> String) {
        if let Ok(mut log) = self.problems.lock() {
            log.report(cause, true, message);
        }
    }
}

/// How records of one input template are converted.
enum Plan {
    /// Antrea records: spliced into the proxy layout of their family, under this template.
    Antrea(Box<Splice>, u16),
    /// Forwarded with their own fields under this output template.
    Generic(u16),
    Skip(Skip),
}

enum Skip {
    Options,
    TemplateRefused,
}

/// Counts kept by one sink and added to the shared ones when it hands a batch over.
#[derive(Default)]
struct Local {
    received: u64,
    antrea: u64,
    generic: u64,
    options_skipped: u64,
    template_refused: u64,
}

/// The sink of one receiving thread or connection.
struct ProxySink {
    shared: Arc<Shared>,
    sender: Option<ExportSender>,
    plans: PerTemplate<Plan>,
    /// What an Antrea record's enrichment reads and changes; scratch for the splice besides.
    flow: Flow,
    ranges: Vec<Range<usize>>,
    batch: RecordBatch,
    local: Local,
}

impl ProxySink {
    fn new(shared: Arc<Shared>, sender: Option<ExportSender>) -> Self {
        ProxySink {
            shared,
            sender,
            plans: PerTemplate::new(MAX_PLANS),
            flow: Flow::default(),
            ranges: Vec::new(),
            batch: RecordBatch::with_capacity(BATCH_RECORDS),
            local: Local::default(),
        }
    }

    fn convert(&mut self, r: &RecordRef<'_>) {
        self.local.received += 1;
        // A dual-stack socket sees IPv4 exporters as ::ffff:a.b.c.d; they are IPv4 exporters.
        let exporter = r.meta.origin.exporter.map(|a| a.ip().to_canonical());
        let domain = r.meta.header.domain;
        let shared = &*self.shared;
        match self.plans.get(r.template, |t| make_plan(shared, t)) {
            Plan::Antrea(splice, id) => {
                let (flow, ranges) = (&mut self.flow, &mut self.ranges);
                splice.read(&r.record, ranges, flow);
                let changed = enrich(shared, flow, exporter, domain);
                self.batch.push(*id, |w| splice.write(r.record.bytes, ranges, flow, changed, w));
                self.local.antrea += 1;
            }
            Plan::Generic(id) => {
                self.batch.push(*id, |w| {
                    for (field, raw) in r.record.fields() {
                        w.raw(field.spec, raw);
                    }
                    let (v4, v6) = match exporter {
                        Some(IpAddr::V4(a)) => (a, Ipv6Addr::UNSPECIFIED),
                        Some(IpAddr::V6(a)) => (Ipv4Addr::UNSPECIFIED, a),
                        None => (Ipv4Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED),
                    };
                    w.fixed(&v4.octets(), 4).fixed(&v6.octets(), 16).unsigned(u64::from(domain), 4);
                });
                self.local.generic += 1;
            }
            Plan::Skip(Skip::Options) => self.local.options_skipped += 1,
            Plan::Skip(Skip::TemplateRefused) => self.local.template_refused += 1,
        }
        if self.batch.len() >= BATCH_RECORDS {
            self.hand_over();
        }
    }

    /// Publishes the counts and gives the batch to the exporting process.
    fn hand_over(&mut self) {
        let c = &self.shared.counters;
        let l = std::mem::take(&mut self.local);
        c.received.fetch_add(l.received, Ordering::Relaxed);
        c.antrea.fetch_add(l.antrea, Ordering::Relaxed);
        c.generic.fetch_add(l.generic, Ordering::Relaxed);
        c.options_skipped.fetch_add(l.options_skipped, Ordering::Relaxed);
        c.template_refused.fetch_add(l.template_refused, Ordering::Relaxed);
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, RecordBatch::with_capacity(BATCH_RECORDS));
        let n = batch.len() as u64;
        match &self.sender {
            None => {
                c.no_sink.fetch_add(n, Ordering::Relaxed);
            }
            Some(sender) => {
                if sender.send(batch).is_err() {
                    c.exporter_gone.fetch_add(n, Ordering::Relaxed);
                    self.shared.problem("exporter stopped", || {
                        format!("{n} records not forwarded: the exporting process has stopped")
                    });
                }
            }
        }
    }
}

impl RecordSink for ProxySink {
    fn record(&mut self, r: &RecordRef<'_>) {
        self.convert(r);
    }

    fn flush(&mut self) {
        self.hand_over();
    }
}

impl Drop for ProxySink {
    fn drop(&mut self) {
        self.hand_over();
    }
}

/// Decides how records of `template` are converted: Antrea's through the Flow model, options
/// records only where the profile allows, anything else forwarded with the mediation elements.
fn make_plan(shared: &Shared, template: &Arc<Template>) -> Plan {
    if template.fields.iter().any(|f| f.spec.pen == PEN_ANTREA) {
        // The family of the source address decides the layout, as the model's would; a
        // template with neither address is IPv4, as an empty Flow is.
        let ipv6 = template
            .fields
            .iter()
            .rev()
            .find_map(|f| match f.data_type {
                DataType::Ipv4Address | DataType::Ipv6Address
                    if FlowField::of_element(f.spec.pen, f.spec.id) == Some(FlowField::SourceAddress) =>
                {
                    Some(f.data_type == DataType::Ipv6Address)
                }
                _ => None,
            })
            .unwrap_or(false);
        let (writer, id) =
            if ipv6 { (&shared.writer_v6, shared.template_v6) } else { (&shared.writer_v4, shared.template_v4) };
        return Plan::Antrea(Box::new(Splice::compile(template, writer, shared.reads, shared.may_change)), id);
    }
    if template.is_options() && !shared.options_allowed {
        shared.problem("options records in go-ipfix profile", || {
            format!(
                "options records of template {} are not forwarded: the go-ipfix export profile has no options \
                 templates (use the standard profile to forward them)",
                template.id
            )
        });
        return Plan::Skip(Skip::Options);
    }
    let specs: Vec<FieldSpec> = template.specs().chain(mediation_specs()).collect();
    match shared.templates.register(template.scope_count, &specs) {
        Ok(id) => Plan::Generic(id),
        Err(e) => {
            shared
                .problem("template refused", || format!("records of template {} are not forwarded: {e}", template.id));
            Plan::Skip(Skip::TemplateRefused)
        }
    }
}

/// originalExporterIPv4Address, originalExporterIPv6Address, originalObservationDomainId.
fn mediation_specs() -> [FieldSpec; 3] {
    ["originalExporterIPv4Address", "originalExporterIPv6Address", "originalObservationDomainId"]
        .map(|n| FieldSpec::of(registry::by_name(n).unwrap_or_else(|| panic!("{n} is an IANA element"))))
}

/// What the proxy always writes itself.
const ADDED: FieldSet = FieldSet::of(&[
    FlowField::OriginalExporter,
    FlowField::OriginalDomain,
    FlowField::ClusterId,
    FlowField::FlowDirection,
]);

/// What the proxy reads of an Antrea record: what flowDirection needs, and with Kubernetes what
/// finding the Pods needs.
const READS: FieldSet = FieldSet::of(&[FlowField::FlowType, FlowField::SourcePodName, FlowField::DestinationPodName]);
const READS_WITH_PODS: FieldSet = READS
    .with(FlowField::SourceAddress)
    .with(FlowField::DestinationAddress)
    .with(FlowField::FlowStart)
    .with(FlowField::SourcePodNamespace)
    .with(FlowField::DestinationPodNamespace);

/// The proxy's additions to an Antrea record (reference §3.4), made in `flow` (which holds the
/// fields of [`READS`] / [`READS_WITH_PODS`]); returns the fields it set.
fn enrich(shared: &Shared, flow: &mut Flow, exporter: Option<IpAddr>, domain: u32) -> FieldSet {
    let mut changed = ADDED;
    flow.original_exporter = exporter;
    flow.original_domain = domain;
    flow.cluster_id.clear();
    flow.cluster_id.push_str(&shared.cluster_id);
    // The direction says which Node's half this record is, so it is decided on the record as
    // the agent sent it, before the other side's Pod is filled in.
    flow.flow_direction = flow_direction(flow);
    if let Some(pods) = &shared.pods {
        if flow.flow_type == INTER_NODE {
            for source in [true, false] {
                if fill_pod(pods, flow, source) {
                    changed = changed.union(if source { SOURCE_POD } else { DESTINATION_POD });
                }
            }
        }
        if shared.pod_labels {
            // Labels the store knows replace any the record carried; unknown, the record's stay.
            if let Some(labels) = pod_labels(pods, &flow.source_pod_namespace, &flow.source_pod_name) {
                flow.source_pod_labels.clear();
                flow.source_pod_labels.push_str(&labels);
                changed.insert(FlowField::SourcePodLabels);
            }
            if let Some(labels) = pod_labels(pods, &flow.destination_pod_namespace, &flow.destination_pod_name) {
                flow.destination_pod_labels.clear();
                flow.destination_pod_labels.push_str(&labels);
                changed.insert(FlowField::DestinationPodLabels);
            }
        }
    }
    changed
}

const LABELS: FieldSet = FieldSet::of(&[FlowField::SourcePodLabels, FlowField::DestinationPodLabels]);
const SOURCE_POD: FieldSet =
    FieldSet::of(&[FlowField::SourcePodName, FlowField::SourcePodNamespace, FlowField::SourceNodeName]);
const DESTINATION_POD: FieldSet =
    FieldSet::of(&[FlowField::DestinationPodName, FlowField::DestinationPodNamespace, FlowField::DestinationNodeName]);

/// A running proxy's live view, for the HTTP endpoints.
#[derive(Clone)]
struct Live {
    board: Arc<Mutex<Board>>,
    shared: Arc<Shared>,
    exporter: Option<Arc<ExporterCounters>>,
}

impl Live {
    fn record_metrics(&self) -> RecordMetrics {
        let c = &self.shared.counters;
        let connections = self.board.lock().map_or(0, |b| b.live_sessions() as u64);
        let (exported, dropped) = self.exporter.as_ref().map_or((0, 0), |e| {
            (e.records_exported.load(Ordering::Relaxed), e.records_dropped.load(Ordering::Relaxed))
        });
        RecordMetrics {
            num_records_exported: exported,
            num_records_received: c.received.load(Ordering::Relaxed),
            num_records_dropped: dropped + c.not_forwarded(),
            num_flows: 0,
            num_conn_to_collector: connections,
            with_ipfix_exporter: self.exporter.is_some(),
            ..RecordMetrics::default()
        }
    }

    fn render(&self) -> String {
        let board = self.board.lock().map(|b| b.clone()).unwrap_or_default();
        metrics::render_with(&board, |registry| {
            let c = &self.shared.counters;
            let r = registry.sub_registry_with_prefix("aggregator");
            metrics::counter(r, "records_received", "Data records received", c.received.load(Ordering::Relaxed));
            metrics::counter(r, "records_antrea", "Antrea-format records re-encoded", c.antrea.load(Ordering::Relaxed));
            metrics::counter(
                r,
                "records_generic",
                "Other records forwarded with the mediation elements",
                c.generic.load(Ordering::Relaxed),
            );
            metrics::counter(
                r,
                "records_not_forwarded",
                "Records received and not handed to the exporting process (options in the go-ipfix profile, \
                 refused templates, no flowCollector, exporter stopped)",
                c.not_forwarded(),
            );
            if let Some(e) = &self.exporter {
                metrics::exporter(registry.sub_registry_with_prefix("exporter"), e);
            }
        })
    }
}

/// Runs the proxy until `shutdown` completes, then drains and flushes.
pub async fn run(opts: ProxyOptions, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<ProxySummary> {
    let templates = Arc::new(TemplateSet::new());
    let register = |layout| {
        let writer = FlowWriter::new(layout, opts.layout);
        let id = templates.register(0, writer.specs()).context("registering the proxy templates")?;
        anyhow::Ok((writer, id))
    };
    // 256 for IPv4 and 257 for IPv6, both always announced, as the reference does.
    let (writer_v4, template_v4) = register(Layout::ProxyV4)?;
    let (writer_v6, template_v6) = register(Layout::ProxyV6)?;
    let options_allowed = opts.exporter.as_ref().is_none_or(|e| e.profile == Profile::Standard);
    let (exporter, sender) = match opts.exporter {
        Some(config) => {
            crate::announce!("exporting to {}", config.to);
            let (process, sender) = ExportingProcess::start(config, templates.clone())?;
            (Some(process), Some(sender))
        }
        None => {
            warn!("no flowCollector is enabled: records are counted and discarded");
            (None, None)
        }
    };
    let shared = Arc::new(Shared {
        templates,
        writer_v4,
        writer_v6,
        template_v4,
        template_v6,
        options_allowed,
        cluster_id: opts.cluster_id,
        pod_labels: opts.pod_labels,
        reads: if opts.pods.is_some() { READS_WITH_PODS } else { READS },
        may_change: match (&opts.pods, opts.pod_labels) {
            (None, _) => ADDED,
            (Some(_), false) => ADDED.union(SOURCE_POD).union(DESTINATION_POD),
            (Some(_), true) => ADDED.union(SOURCE_POD).union(DESTINATION_POD).union(LABELS),
        },
        pods: opts.pods,
        counters: ProxyCounters::default(),
        problems: Mutex::new(ProblemLog::new(Policy::Every(Duration::from_secs(10)))),
    });
    let sender = Mutex::new(sender);
    let factory_shared = shared.clone();
    let sinks: SinkFactory = {
        let sender = Arc::new(sender);
        Arc::new(move || Box::new(ProxySink::new(factory_shared.clone(), sender.lock().ok().and_then(|s| s.clone()))))
    };
    let process = CollectingProcess::start(opts.collector, sinks).await?;
    let live =
        Live { board: process.board(), shared: shared.clone(), exporter: exporter.as_ref().map(|e| e.counters()) };
    let api = match opts.api_addr {
        Some(addr) => {
            let (task, local) =
                serve_api(addr, live.clone()).await.with_context(|| format!("serving the API on {addr}"))?;
            crate::announce!("metrics on http://{local}/metrics, record metrics on http://{local}/recordmetrics");
            Some(task)
        }
        None => None,
    };
    let status = StatusLine::start(opts.status_every, move || live.record_metrics().status_line());
    // Every sink, and with it every sender, is gone once the collecting process has stopped.
    let board = process.run(shutdown).await;
    drop(status);
    let stats = match exporter {
        Some(process) => {
            let drain = opts.drain;
            Some(tokio::task::spawn_blocking(move || process.finish(drain)).await.context("the exporting process")?)
        }
        None => None,
    };
    if let Some(task) = api {
        task.abort();
    }
    let c = &shared.counters;
    let summary = ProxySummary {
        received: c.received.load(Ordering::Relaxed),
        antrea: c.antrea.load(Ordering::Relaxed),
        generic: c.generic.load(Ordering::Relaxed),
        not_forwarded: c.not_forwarded(),
        exported: stats.as_ref().map_or(0, |s| s.records_exported),
        export_dropped: stats.as_ref().map_or(0, |s| s.records_dropped),
        undrained_bytes: board.connections.undrained_bytes,
    };
    super::warn_undrained(&board);
    crate::announce!(
        "stopped: {} records received ({} Antrea, {} other), {} exported, {} not forwarded, {} dropped by the exporter",
        summary.received,
        summary.antrea,
        summary.generic,
        summary.exported,
        summary.not_forwarded,
        summary.export_dropped
    );
    Ok(summary)
}

async fn serve_api(addr: SocketAddr, live: Live) -> std::io::Result<(tokio::task::JoinHandle<()>, SocketAddr)> {
    use axum::routing::get;
    let metrics_live = live.clone();
    let router = axum::Router::new()
        .route("/metrics", get(move || std::future::ready(metrics::openmetrics_response(metrics_live.render()))))
        .route("/recordmetrics", get(move || std::future::ready(axum::Json(live.record_metrics()))))
        .route(
            "/flowrecords",
            get(|| {
                std::future::ready((
                    axum::http::StatusCode::NOT_FOUND,
                    "flow records exist only in aggregate mode; this aggregator runs in proxy mode\n",
                ))
            }),
        );
    metrics::serve_router(addr, router).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mediation_elements_are_ianas_403_404_405() {
        let specs = mediation_specs();
        assert_eq!(specs.map(|s| (s.pen, s.id, s.length)), [(0, 403, 4), (0, 404, 16), (0, 405, 4)]);
    }
}
