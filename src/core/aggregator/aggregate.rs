//! Aggregate mode, the Flow Aggregator's default (reference §3.3): every Antrea record goes into
//! the [`AggregationStore`], which correlates the source-Node and destination-Node records of a
//! connection; once a second the flows that are due are exported, with what Kubernetes adds
//! (the missing Pod of an uncorrelated inter-Node flow, Pod labels, UIDs, the cluster id), to the
//! IPFIX exporting process and to every sink.
//!
//! Each receiving thread or connection decodes its records itself and takes only the lock of
//! the store shard a record's key falls in. One ticker thread exports; the exporting process and
//! each sink have their own bounded queue, so none of them holds up the others.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::records::{RecordQuery, record_json};
use super::store::{AggregationStore, StoreConfig};
use super::{RecordMetrics, fill_pod, pod_labels};
use crate::core::announce::StatusLine;
use crate::core::collector::{Board, CollectingProcess, CollectorConfig, PerTemplate, RecordSink, SinkFactory};
use crate::core::exporter::{
    ExportSender, ExporterConfig, ExporterCounters, ExportingProcess, RecordBatch, TemplateSet,
};
use crate::core::flow::{FLOW_TYPE_INTER_NODE, Flow, FlowReader, FlowWriter, Layout, LayoutOptions};
use crate::core::ipfix::decoder::RecordRef;
use crate::core::k8s::PodStore;
use crate::core::metrics;
use crate::core::sinks::{Batch, SinkHandle};

/// Records built and handed on at once at an expiry tick: their memory is reused, not piled up.
const EXPORT_CHUNK: usize = 2048;

/// Input templates whose reader a receiving sink remembers; past this the memory is cleared.
const MAX_READERS: usize = 4096;

/// How aggregate mode runs.
pub struct AggregateOptions {
    pub collector: CollectorConfig,
    /// `flowCollector`, when enabled.
    pub exporter: Option<ExporterConfig>,
    /// The CSV log, ClickHouse: started by the caller, finished here.
    pub sinks: Vec<SinkHandle>,
    pub store: StoreConfig,
    pub cluster_id: String,
    /// `recordContents.podLabels`.
    pub pod_labels: bool,
    pub layout: LayoutOptions,
    pub pods: Option<PodStore>,
    /// Where to serve `/metrics`, `/recordmetrics` and `/flowrecords`.
    pub api_addr: Option<SocketAddr>,
    /// How long the exporting process and the sinks may take to flush on shutdown.
    pub drain: Duration,
    /// How often a status line goes to a terminal (zero: never).
    pub status_every: Duration,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AggregateSummary {
    pub received: u64,
    pub not_antrea: u64,
    pub correlated: u64,
    pub records_exported: u64,
    pub ipfix_exported: u64,
    pub ipfix_dropped: u64,
    /// Bytes still unread on connections when the drain on shutdown ran out of time: lost.
    pub undrained_bytes: u64,
}

/// What the receiving sinks and the ticker share.
struct Shared {
    store: AggregationStore,
    started: Instant,
    /// Seconds since `started`, kept by the expiry thread: reading the clock for every record
    /// would cost more than the rest of its bookkeeping.
    clock: AtomicU32,
    received: AtomicU64,
    /// Data records of templates with no Antrea element, and options records.
    not_antrea: AtomicU64,
    /// Records the store could not keep, exported at the next tick as they came.
    overflow: Mutex<Vec<Flow>>,
    /// Aggregated records produced for the exporting process and the sinks.
    produced: AtomicU64,
}

impl Shared {
    fn now(&self) -> u32 {
        self.clock.load(Ordering::Relaxed)
    }

    fn advance_clock(&self) -> u32 {
        let now = self.started.elapsed().as_secs() as u32;
        self.clock.store(now, Ordering::Relaxed);
        now
    }
}

/// The sink of one receiving thread or connection.
struct AggregateSink {
    shared: Arc<Shared>,
    readers: PerTemplate<Option<FlowReader>>,
    flow: Flow,
    overflow: Vec<Flow>,
    received: u64,
    not_antrea: u64,
}

impl AggregateSink {
    fn publish(&mut self) {
        let s = &self.shared;
        s.received.fetch_add(std::mem::take(&mut self.received), Ordering::Relaxed);
        s.not_antrea.fetch_add(std::mem::take(&mut self.not_antrea), Ordering::Relaxed);
        if !self.overflow.is_empty()
            && let Ok(mut o) = s.overflow.lock()
        {
            o.append(&mut self.overflow);
        }
    }
}

impl RecordSink for AggregateSink {
    fn record(&mut self, r: &RecordRef<'_>) {
        self.received += 1;
        let reader = self.readers.get(r.template, |t| if t.is_options() { None } else { FlowReader::compile(t) });
        let Some(reader) = reader else {
            self.not_antrea += 1;
            return;
        };
        reader.read(&r.record, &mut self.flow);
        self.shared.store.observe(&self.flow, self.shared.now(), &mut self.overflow);
        if self.received >= 4096 {
            self.publish();
        }
    }

    fn flush(&mut self) {
        self.publish();
    }
}

impl Drop for AggregateSink {
    fn drop(&mut self) {
        self.publish();
    }
}

/// What the ticker adds to a flow before it leaves, and where it sends it.
struct Outlet {
    writer_v4: FlowWriter,
    writer_v6: FlowWriter,
    template_v4: u16,
    template_v6: u16,
    sender: Option<ExportSender>,
    sinks: Vec<SinkHandle>,
    cluster_id: String,
    pod_labels: bool,
    uids: bool,
    pods: Option<PodStore>,
    /// Records the exporting process refused because it had stopped.
    exporter_gone: u64,
}

impl Outlet {
    fn enrich(&self, flow: &mut Flow) {
        flow.cluster_id.clone_from(&self.cluster_id);
        let Some(pods) = &self.pods else { return };
        if flow.flow_type == FLOW_TYPE_INTER_NODE {
            // An inter-Node flow whose other half never came knows one Pod.
            fill_pod(pods, flow, true);
            fill_pod(pods, flow, false);
        }
        if self.uids {
            let uid = |ip, name: &str| pods.by_ip(ip, flow.flow_start).filter(|p| *p.name == *name).map(|p| p.uid);
            if let Some(uid) = uid(flow.source_address, &flow.source_pod_name) {
                flow.source_pod_uuid = uid;
            }
            if let Some(uid) = uid(flow.destination_address, &flow.destination_pod_name) {
                flow.destination_pod_uuid = uid;
            }
        }
        if self.pod_labels {
            if let Some(labels) = pod_labels(pods, &flow.source_pod_namespace, &flow.source_pod_name) {
                flow.source_pod_labels = labels.to_string();
            }
            if let Some(labels) = pod_labels(pods, &flow.destination_pod_namespace, &flow.destination_pod_name) {
                flow.destination_pod_labels = labels.to_string();
            }
        }
    }

    fn send(&mut self, mut flows: Vec<Flow>) {
        if flows.is_empty() {
            return;
        }
        for f in &mut flows {
            self.enrich(f);
        }
        if let Some(sender) = &self.sender {
            let mut batch = RecordBatch::with_capacity(flows.len());
            for f in &flows {
                let (writer, id) = if f.source_address.is_ipv6() {
                    (&self.writer_v6, self.template_v6)
                } else {
                    (&self.writer_v4, self.template_v4)
                };
                batch.push(id, |w| writer.write(f, w));
            }
            let n = batch.len() as u64;
            if sender.send(batch).is_err() {
                self.exporter_gone += n;
            }
        }
        if !self.sinks.is_empty() {
            let batch: Batch = flows.into();
            for sink in &self.sinks {
                sink.offer(&batch);
            }
        }
    }
}

/// A running aggregator's live view, for the HTTP endpoints.
#[derive(Clone)]
struct Live {
    board: Arc<Mutex<Board>>,
    shared: Arc<Shared>,
    exporter: Option<Arc<ExporterCounters>>,
    sinks: Arc<Vec<(&'static str, Arc<crate::core::sinks::SinkCounters>)>>,
}

impl Live {
    fn record_metrics(&self) -> RecordMetrics {
        let s = &self.shared;
        let has = |name| self.sinks.iter().any(|(n, _)| *n == name);
        RecordMetrics {
            num_records_exported: s.produced.load(Ordering::Relaxed),
            num_records_received: s.received.load(Ordering::Relaxed),
            num_records_dropped: s.store.counters.no_timestamps.load(Ordering::Relaxed)
                + s.store.counters.unmatched_deleted.load(Ordering::Relaxed),
            num_flows: s.store.len() as u64,
            num_conn_to_collector: self.board.lock().map_or(0, |b| b.live_sessions() as u64),
            with_click_house_exporter: has("clickhouse"),
            with_s3_exporter: false,
            with_log_exporter: has("log"),
            with_ipfix_exporter: self.exporter.is_some(),
        }
    }

    fn render(&self) -> String {
        let board = self.board.lock().map(|b| b.clone()).unwrap_or_default();
        metrics::render_with(&board, |registry| {
            let s = &self.shared;
            let c = &s.store.counters;
            let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
            let r = registry.sub_registry_with_prefix("aggregator");
            metrics::counter(r, "records_received", "Data records received", load(&s.received));
            metrics::counter(
                r,
                "records_not_antrea",
                "Data records of templates without Antrea elements, and options records (not aggregated)",
                load(&s.not_antrea),
            );
            metrics::counter(
                r,
                "records_no_timestamps",
                "Records without flowStartSeconds and flowEndSeconds (dropped)",
                load(&c.no_timestamps),
            );
            metrics::counter(
                r,
                "records_stale",
                "Records not later than their Node's last one, unused (countSameSecondRecords: false)",
                load(&c.stale_records),
            );
            metrics::counter(r, "flows_created", "Flows the store started tracking", load(&c.flows_created));
            metrics::counter(r, "flows_correlated", "Inter-Node flows whose two halves met", load(&c.correlated));
            metrics::counter(
                r,
                "flows_unmatched_exported",
                "Inter-Node halves exported without their other half",
                load(&c.unmatched_exported),
            );
            metrics::counter(
                r,
                "flows_unmatched_deleted",
                "Inter-Node halves deleted unexported after the retries (exportUnmatched: false)",
                load(&c.unmatched_deleted),
            );
            metrics::counter(
                r,
                "records_overflow",
                "Records exported as they came because the store held maxFlows flows",
                load(&c.overflow),
            );
            metrics::counter(r, "records_exported", "Aggregated records produced", load(&s.produced));
            metrics::counter(
                r,
                "packet_deltas_saturated",
                "Per-Node packet deltas held at 2^32-1 between two exports of a flow",
                load(&c.packet_delta_saturated),
            );
            metrics::gauge(r, "flows", "Flows tracked", s.store.len() as i64);
            for (name, sc) in self.sinks.iter() {
                let r = registry
                    .sub_registry_with_prefix("sink")
                    .sub_registry_with_label((std::borrow::Cow::Borrowed("sink"), std::borrow::Cow::Borrowed(*name)));
                metrics::counter(r, "records_offered", "Records handed to the sink", load(&sc.offered));
                metrics::counter(r, "records_written", "Records the sink wrote", load(&sc.written));
                metrics::counter(r, "records_filtered", "Records the sink's filters left out", load(&sc.filtered));
                metrics::counter(
                    r,
                    "records_dropped",
                    "Records lost: the sink's queue or buffer was full, or it could not write them in time",
                    load(&sc.dropped),
                );
                metrics::counter(r, "errors", "Writes or commits that failed", load(&sc.errors));
            }
            if let Some(e) = &self.exporter {
                metrics::exporter(registry.sub_registry_with_prefix("exporter"), e);
            }
        })
    }
}

/// Runs aggregate mode until `shutdown` completes, then exports what it holds and flushes.
pub async fn run(
    opts: AggregateOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<AggregateSummary> {
    let templates = Arc::new(TemplateSet::new());
    let register = |layout| {
        let writer = FlowWriter::new(layout, opts.layout);
        let id = templates.register(0, writer.specs()).context("registering the aggregate templates")?;
        anyhow::Ok((writer, id))
    };
    let (writer_v4, template_v4) = register(Layout::AggregateV4)?;
    let (writer_v6, template_v6) = register(Layout::AggregateV6)?;
    let (exporter, sender) = match opts.exporter {
        Some(config) => {
            crate::announce!("exporting to {}", config.to);
            let (process, sender) = ExportingProcess::start(config, templates.clone())?;
            (Some(process), Some(sender))
        }
        None => (None, None),
    };
    if exporter.is_none() && opts.sinks.is_empty() {
        crate::announce!(
            "no flowCollector, flowLogger or clickHouse is enabled: records are aggregated and not exported"
        );
    }
    let shared = Arc::new(Shared {
        store: AggregationStore::new(opts.store),
        started: Instant::now(),
        clock: AtomicU32::new(0),
        received: AtomicU64::new(0),
        not_antrea: AtomicU64::new(0),
        overflow: Mutex::new(Vec::new()),
        produced: AtomicU64::new(0),
    });
    let sinks_counters: Arc<Vec<_>> = Arc::new(opts.sinks.iter().map(|s| (s.name(), s.counters().clone())).collect());
    let mut outlet = Outlet {
        writer_v4,
        writer_v6,
        template_v4,
        template_v6,
        sender,
        sinks: opts.sinks,
        cluster_id: opts.cluster_id,
        pod_labels: opts.pod_labels,
        uids: opts.layout.include_uids,
        pods: opts.pods,
        exporter_gone: 0,
    };

    let factory_shared = shared.clone();
    let sinks: SinkFactory = Arc::new(move || {
        Box::new(AggregateSink {
            shared: factory_shared.clone(),
            readers: PerTemplate::new(MAX_READERS),
            flow: Flow::default(),
            overflow: Vec::new(),
            received: 0,
            not_antrea: 0,
        })
    });
    let process = CollectingProcess::start(opts.collector, sinks).await?;
    let live = Live {
        board: process.board(),
        shared: shared.clone(),
        exporter: exporter.as_ref().map(|e| e.counters()),
        sinks: sinks_counters,
    };
    let api = match opts.api_addr {
        Some(addr) => {
            let (task, local) =
                serve_api(addr, live.clone()).await.with_context(|| format!("serving the API on {addr}"))?;
            crate::announce!("API on http://{local}: /metrics, /recordmetrics, /flowrecords");
            Some(task)
        }
        None => None,
    };

    let status = {
        let live = live.clone();
        StatusLine::start(opts.status_every, move || live.record_metrics().status_line())
    };
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (shared, stop) = (shared.clone(), stop.clone());
        std::thread::Builder::new()
            .name("aggregate-expiry".into())
            .spawn(move || {
                let mut out = Vec::new();
                let mut next = shared.started + Duration::from_secs(1);
                while !stop.load(Ordering::Relaxed) {
                    let wait = next.saturating_duration_since(Instant::now());
                    std::thread::sleep(wait.min(Duration::from_millis(100)));
                    shared.advance_clock();
                    if Instant::now() < next {
                        continue;
                    }
                    next += Duration::from_secs(1);
                    tick(&shared, &mut outlet, &mut out, false);
                }
                tick(&shared, &mut outlet, &mut out, true);
                outlet
            })
            .context("starting the expiry thread")?
    };

    let board = process.run(shutdown).await;
    drop(status);
    stop.store(true, Ordering::Relaxed);
    let outlet = tokio::task::spawn_blocking(move || ticker.join())
        .await
        .context("the expiry thread")?
        .map_err(|_| anyhow::anyhow!("the expiry thread panicked"))?;
    let drain = opts.drain;
    let exporter_gone = outlet.exporter_gone;
    let (sinks, sender) = (outlet.sinks, outlet.sender);
    drop(sender);
    let stats = tokio::task::spawn_blocking(move || {
        for sink in sinks {
            sink.finish(drain);
        }
        exporter.map(|process| process.finish(drain))
    })
    .await
    .context("flushing the sinks")?;
    if let Some(task) = api {
        task.abort();
    }
    let c = &shared.store.counters;
    let summary = AggregateSummary {
        received: shared.received.load(Ordering::Relaxed),
        not_antrea: shared.not_antrea.load(Ordering::Relaxed),
        correlated: c.correlated.load(Ordering::Relaxed),
        records_exported: shared.produced.load(Ordering::Relaxed),
        ipfix_exported: stats.as_ref().map_or(0, |s| s.records_exported),
        ipfix_dropped: stats.as_ref().map_or(0, |s| s.records_dropped) + exporter_gone,
        undrained_bytes: board.connections.undrained_bytes,
    };
    super::warn_undrained(&board);
    crate::announce!(
        "stopped: {} records received ({} not Antrea), {} flows correlated, {} records exported, {} sent over IPFIX, \
         {} dropped by the exporter",
        summary.received,
        summary.not_antrea,
        summary.correlated,
        summary.records_exported,
        summary.ipfix_exported,
        summary.ipfix_dropped
    );
    Ok(summary)
}

/// One expiry tick, shard by shard so what goes out at once stays small; at the last one every
/// flow with unexported data goes out.
fn tick(shared: &Shared, outlet: &mut Outlet, out: &mut Vec<Flow>, last: bool) {
    let mut emit = |out: &mut Vec<Flow>| {
        shared.produced.fetch_add(out.len() as u64, Ordering::Relaxed);
        outlet.send(std::mem::take(out));
    };
    if last {
        shared.store.drain(out);
        emit(out);
    } else {
        let now = shared.advance_clock();
        for shard in 0..AggregationStore::shards() {
            shared.store.expire_shard(shard, now, EXPORT_CHUNK, &mut emit);
        }
    }
    if let Ok(mut overflow) = shared.overflow.lock() {
        out.append(&mut overflow);
    }
    emit(out);
}

async fn serve_api(addr: SocketAddr, live: Live) -> std::io::Result<(tokio::task::JoinHandle<()>, SocketAddr)> {
    use axum::extract::Query;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::get;
    let (metrics_live, records_live) = (live.clone(), live.clone());
    let router = axum::Router::new()
        .route("/metrics", get(move || std::future::ready(metrics::openmetrics_response(metrics_live.render()))))
        .route("/recordmetrics", get(move || std::future::ready(axum::Json(live.record_metrics()))))
        .route(
            "/flowrecords",
            get(move |Query(pairs): Query<Vec<(String, String)>>| {
                let live = records_live.clone();
                async move {
                    match RecordQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                        Ok(q) => {
                            let records: Vec<_> = q.run(&live.shared.store).iter().map(record_json).collect();
                            axum::Json(records).into_response()
                        }
                        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
                    }
                }
            }),
        );
    metrics::serve_router(addr, router).await
}
