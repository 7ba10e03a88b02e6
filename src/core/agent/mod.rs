//! The Flow Exporter (Antrea agent): Linux conntrack → connection store → IPFIX records.
//!
//! Two threads of its own:
//! - the event thread reads conntrack's NEW / UPDATE / DESTROY events and hands them on; when
//!   the kernel drops events (the socket's buffer overflowed), it asks for a dump, which
//!   resyncs the store, and counts it;
//! - the store thread owns the [`ConnectionStore`]: it dumps the table every poll interval,
//!   applies the events between dumps, and exports every connection due (active or idle timeout,
//!   or ended) through the exporting process, many records per message.
//!
//! On shutdown the store thread dumps once more, so counters are current, and exports
//! everything not yet reported; then the exporting process flushes.

pub mod metadata;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use tracing::{debug, info, warn};

use crate::core::announce::StatusLine;
use crate::core::conntrack::{self, Conntrack, Event, EventKind, EventSocket};
use crate::core::exporter::{
    ExportSender, ExporterConfig, ExporterCounters, ExportingProcess, RecordBatch, TemplateSet,
};
use crate::core::flow::{Flow, FlowWriter, Layout, LayoutOptions};
use crate::core::metrics;
use crate::core::output::plural::counted;
use crate::core::problems::{Policy, ProblemLog};
pub use metadata::Metadata;
pub use store::{ConnectionStore, Export, PodRef, Resolve, Source, StoreConfig, StoreStats};

/// Events held between the event thread and the store thread; past it the event thread waits,
/// the kernel's buffer fills and overflows, and the overflow is resynced by a dump (counted).
const EVENT_QUEUE: usize = 1 << 16;
/// Records per batch handed to the exporting process.
const BATCH_RECORDS: usize = 1024;
/// How often the event thread looks at the stop flag.
const EVENT_WAIT: Duration = Duration::from_millis(200);

/// How the agent runs.
pub struct AgentOptions {
    pub exporter: ExporterConfig,
    pub poll_interval: Duration,
    pub store: StoreConfig,
    pub resolve: Arc<dyn Resolve + Send + Sync>,
    /// Subscribe to conntrack events besides polling.
    pub events: bool,
    /// Receive buffer of the dump and event sockets.
    pub rcvbuf: usize,
    pub metrics_addr: Option<SocketAddr>,
    /// How long the exporting process has to flush on shutdown.
    pub drain: Duration,
    /// How often a status line goes to a terminal (zero: never).
    pub status_every: Duration,
}

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentSummary {
    pub store: StoreStats,
    pub polls: u64,
    pub events: u64,
    pub resyncs: u64,
    pub exported: u64,
    pub dropped: u64,
}

/// Counters shared with the metrics endpoint.
#[derive(Default)]
struct Counters {
    polls: AtomicU64,
    poll_failures: AtomicU64,
    /// Entries in the zones dumped by the last poll (gauge).
    conntrack_entries: AtomicU64,
    dump_malformed: AtomicU64,
    dump_restarts: AtomicU64,
    events: AtomicU64,
    event_overflows: AtomicU64,
    events_malformed: AtomicU64,
    /// Connections in the store (gauge).
    store_connections: AtomicU64,
    tracked: AtomicU64,
    skipped: AtomicU64,
    ended: AtomicU64,
    records: AtomicU64,
}

enum Msg {
    Event(EventKind, conntrack::Connection),
    /// Events were lost: dump now.
    Resync,
    Stop,
}

/// Runs the agent until `shutdown` resolves, then exports what it holds.
pub async fn run(opts: AgentOptions, shutdown: impl Future<Output = ()>) -> anyhow::Result<AgentSummary> {
    if let Err(e) = conntrack::enable_accounting() {
        warn!("{e}; records may carry no packet and byte counts or start times");
    }
    let templates = Arc::new(TemplateSet::new());
    // 256 for IPv4 and 257 for IPv6, as the reference registers them.
    let writers = [Layout::AgentV4, Layout::AgentV6].map(|layout| FlowWriter::new(layout, LayoutOptions::default()));
    let mut ids = [0u16; 2];
    for (id, writer) in ids.iter_mut().zip(&writers) {
        *id = templates.register(0, writer.specs()).context("registering the agent templates")?;
    }
    crate::announce!("exporting to {}", opts.exporter.to);
    let (exporter, sender) = ExportingProcess::start(opts.exporter, templates)?;
    let counters = Arc::new(Counters::default());
    let poll_histogram = Histogram::new(exponential_buckets(0.001, 2.0, 16));

    let api = match opts.metrics_addr {
        Some(addr) => {
            let live = Live { counters: counters.clone(), exporter: exporter.counters(), poll: poll_histogram.clone() };
            let router = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || std::future::ready(metrics::openmetrics_response(live.render()))),
            );
            let (task, local) =
                metrics::serve_router(addr, router).await.with_context(|| format!("serving metrics on {addr}"))?;
            crate::announce!("metrics on http://{local}/metrics");
            Some(task)
        }
        None => None,
    };

    let status = {
        let (counters, exported) = (counters.clone(), exporter.counters());
        StatusLine::start(opts.status_every, move || {
            let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
            format!(
                "status: {} held, {} out, {} dropped, {} polls",
                counted(load(&counters.store_connections), "connection", "connections"),
                counted(load(&exported.records_exported), "record", "records"),
                load(&exported.records_dropped),
                load(&counters.polls),
            )
        })
    };
    let conntrack = Conntrack::open(opts.rcvbuf).context("opening the conntrack netlink socket")?;
    let (tx, rx) = sync_channel(EVENT_QUEUE);
    let stop = Arc::new(AtomicBool::new(false));
    let event_thread = if opts.events {
        match EventSocket::subscribe(&EventKind::ALL, opts.rcvbuf) {
            Ok(socket) => {
                let (tx, stop, counters) = (tx.clone(), stop.clone(), counters.clone());
                Some(
                    std::thread::Builder::new()
                        .name("ct-events".into())
                        .spawn(move || read_events(socket, &tx, &stop, &counters))
                        .context("starting the event thread")?,
                )
            }
            Err(e) => {
                warn!(
                    "conntrack events unavailable ({e}): polling only, so connections shorter than a poll are missed"
                );
                None
            }
        }
    } else {
        None
    };

    let engine = Engine {
        conntrack,
        zones: opts.store.zones.clone(),
        store: ConnectionStore::new(opts.store),
        resolve: opts.resolve,
        writers,
        ids,
        sender,
        counters: counters.clone(),
        poll_histogram,
        poll_interval: opts.poll_interval,
        clock: Instant::now(),
        flow: Flow::default(),
        batch: RecordBatch::with_capacity(BATCH_RECORDS),
        problems: ProblemLog::new(Policy::Every(Duration::from_secs(60))),
        silence: Silence::default(),
    };
    let store_thread = std::thread::Builder::new()
        .name("ct-store".into())
        .spawn(move || engine.run(&rx))
        .context("starting the store thread")?;

    shutdown.await;
    drop(status);
    info!("stopping: exporting the connections held");
    stop.store(true, Ordering::Relaxed);
    let stopper = tx.clone();
    drop(tx);
    let (store_stats, polls) = tokio::task::spawn_blocking(move || {
        // The queue may be full of events: the store thread reads them all before the stop.
        let _ = stopper.send(Msg::Stop);
        store_thread.join()
    })
    .await
    .context("the store thread")?
    .map_err(|_| anyhow::anyhow!("the store thread panicked"))?;
    if let Some(thread) = event_thread {
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
    let drain = opts.drain;
    let stats = tokio::task::spawn_blocking(move || exporter.finish(drain)).await.context("the exporting process")?;
    if let Some(task) = api {
        task.abort();
    }
    let summary = AgentSummary {
        store: store_stats,
        polls,
        events: counters.events.load(Ordering::Relaxed),
        resyncs: counters.event_overflows.load(Ordering::Relaxed),
        exported: stats.records_exported,
        dropped: stats.records_dropped,
    };
    crate::announce!(
        "stopped: {} connections tracked, {} skipped, {} ended; {} records exported, {} dropped; {} polls, {} events, {} resyncs",
        summary.store.connections,
        summary.store.skipped,
        summary.store.ended,
        summary.exported,
        summary.dropped,
        summary.polls,
        summary.events,
        summary.resyncs
    );
    Ok(summary)
}

fn read_events(mut socket: EventSocket, tx: &SyncSender<Msg>, stop: &AtomicBool, counters: &Counters) {
    if let Err(e) = socket.set_timeout(Some(EVENT_WAIT)) {
        warn!("conntrack events: {e}");
    }
    let mut problems = ProblemLog::new(Policy::Every(Duration::from_secs(60)));
    while !stop.load(Ordering::Relaxed) {
        let msg = match socket.recv() {
            Ok(Some(Event::Conn(kind, conn))) => {
                counters.events.fetch_add(1, Ordering::Relaxed);
                Msg::Event(kind, conn)
            }
            Ok(Some(Event::Overflow)) => {
                counters.event_overflows.fetch_add(1, Ordering::Relaxed);
                problems.report("event overflow", true, || {
                    "conntrack events were lost (the socket's buffer overflowed): resyncing with a dump".into()
                });
                Msg::Resync
            }
            Ok(Some(Event::Malformed(e))) => {
                counters.events_malformed.fetch_add(1, Ordering::Relaxed);
                problems.report("malformed event", true, || format!("a conntrack event did not parse: {e}"));
                continue;
            }
            Ok(None) => continue,
            Err(e) => {
                problems.report("event socket", true, || format!("reading conntrack events: {e}"));
                std::thread::sleep(EVENT_WAIT);
                continue;
            }
        };
        match tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(msg)) => {
                // The store is busy (a long dump): wait, letting the kernel's buffer take the
                // strain; if that overflows too, the overflow brings a resync.
                if tx.send(msg).is_err() {
                    return;
                }
            }
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

struct Engine {
    conntrack: Conntrack,
    /// The zones dumped (the kernel filters); empty: all.
    zones: Vec<u16>,
    store: ConnectionStore,
    resolve: Arc<dyn Resolve + Send + Sync>,
    writers: [FlowWriter; 2],
    ids: [u16; 2],
    sender: ExportSender,
    counters: Arc<Counters>,
    poll_histogram: Histogram,
    poll_interval: Duration,
    clock: Instant,
    flow: Flow,
    batch: RecordBatch,
    problems: ProblemLog,
    silence: Silence,
}

/// Notices conntrack that tracks nothing while the interfaces carry traffic: Linux registers
/// conntrack's hooks in a network namespace only once a rule there uses them, so a Node without
/// one dumps an empty table forever and the agent would export nothing without a word.
#[derive(Default)]
struct Silence {
    /// When the dumps started coming back empty, and the packets received by then.
    since: Option<(u64, u64)>,
    said: bool,
}

impl Silence {
    /// Packets received since the table went empty that are enough to call it traffic.
    const TRAFFIC: u64 = 10;

    /// Called after each complete dump; says once when the table stayed empty for `wait` while
    /// more than [`Self::TRAFFIC`] packets came in.
    fn observe(&mut self, entries: u64, now: u64, wait: u64, received: impl FnOnce() -> Option<u64>) {
        if entries > 0 || self.said {
            self.since = None;
            return;
        }
        let Some(packets) = received() else { return };
        let Some((since, before)) = self.since else {
            self.since = Some((now, packets));
            return;
        };
        let arrived = packets.saturating_sub(before);
        if now.saturating_sub(since) >= wait && arrived > Self::TRAFFIC {
            self.said = true;
            warn!("{}", silence_advice((now - since) / 1000, arrived, conntrack_loaded()));
        }
    }
}

fn silence_advice(secs: u64, packets: u64, loaded: bool) -> String {
    let fix = if loaded {
        "nothing in this network namespace uses conntrack, so the kernel tracks nothing (its hooks are          registered only once a rule needs them); add one, e.g. `nft add table inet flowctl && nft add chain inet          flowctl track '{ type filter hook prerouting priority 0; }' && nft add rule inet flowctl track ct state new          counter`, or `iptables -A FORWARD -m conntrack --ctstate NEW -j ACCEPT`"
    } else {
        "the nf_conntrack module is not loaded: `modprobe nf_conntrack`, then add a rule that uses it (an nft `ct          state` rule or iptables `-m conntrack`)"
    };
    format!("conntrack has held no connection for {secs} s while the interfaces received {packets} packets: {fix}")
}

fn conntrack_loaded() -> bool {
    std::path::Path::new("/proc/sys/net/netfilter/nf_conntrack_max").exists()
}

/// Packets received on this network namespace's interfaces but loopback (`/proc/net/dev`): the
/// agent's own export to a local collector is not the traffic conntrack would track.
fn received_packets() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/dev").ok()?;
    Some(received_in(&text))
}

fn received_in(proc_net_dev: &str) -> u64 {
    proc_net_dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim() != "lo")
        .filter_map(|(_, counters)| counters.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

impl Engine {
    /// The store thread: returns the store's counts and the number of polls.
    fn run(mut self, rx: &Receiver<Msg>) -> (StoreStats, u64) {
        let mut polls = 0u64;
        let mut next_poll = self.now();
        loop {
            let now = self.now();
            if now >= next_poll {
                self.poll(now);
                polls += 1;
                next_poll = now + self.poll_interval.as_millis() as u64;
            }
            let now = self.now();
            self.expire(now);
            let wake = self.store.next_deadline().map_or(next_poll, |at| at.min(next_poll));
            match rx.recv_timeout(Duration::from_millis(wake.saturating_sub(self.now()))) {
                Ok(Msg::Event(kind, conn)) => {
                    self.event(kind, &conn);
                    // Take every event already queued before looking at the clock again.
                    loop {
                        match rx.try_recv() {
                            Ok(Msg::Event(kind, conn)) => self.event(kind, &conn),
                            Ok(Msg::Resync) => next_poll = 0,
                            Ok(Msg::Stop) => return self.stop(polls + 1),
                            Err(_) => break,
                        }
                    }
                }
                Ok(Msg::Resync) => next_poll = 0,
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return self.stop(polls + 1),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn stop(mut self, polls: u64) -> (StoreStats, u64) {
        let now = self.now();
        self.poll(now);
        self.expire(now);
        let Engine { store, writers, ids, flow, batch, .. } = &mut self;
        store.drain(|e| push(e, flow, writers, ids, batch));
        self.send();
        self.publish();
        (self.store.stats(), polls)
    }

    fn now(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }

    fn poll(&mut self, now: u64) {
        let started = Instant::now();
        let secs = unix_secs();
        let Engine { conntrack, store, resolve, zones, .. } = self;
        store.begin_dump();
        let result = conntrack.dump(zones, |c| store.observe(c, Source::Dump, now, secs, resolve.as_ref()));
        let complete = result.is_ok();
        store.end_dump(complete, now);
        self.poll_histogram.observe(started.elapsed().as_secs_f64());
        let c = &self.counters;
        c.polls.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(stats) => {
                c.conntrack_entries.store(stats.delivered, Ordering::Relaxed);
                // Three polls, and never less than a second, make "for a while".
                // A zone filter may rightly leave the dump empty.
                if self.zones.is_empty() {
                    let wait = (3 * self.poll_interval.as_millis() as u64).max(1000);
                    self.silence.observe(stats.delivered, now, wait, received_packets);
                }
                c.dump_malformed.fetch_add(stats.malformed, Ordering::Relaxed);
                c.dump_restarts
                    .fetch_add(u64::from(stats.interrupted_restarts + stats.enobufs_restarts), Ordering::Relaxed);
                if let Some(e) = stats.first_error {
                    self.problems.report("malformed entry", true, || {
                        format!("{} conntrack entries did not parse and were skipped; the first: {e}", stats.malformed)
                    });
                }
            }
            Err(e) => {
                c.poll_failures.fetch_add(1, Ordering::Relaxed);
                self.problems.report("dump", true, || format!("dumping conntrack failed: {e}"));
            }
        }
        debug!(entries = c.conntrack_entries.load(Ordering::Relaxed), held = self.store.len(), "polled conntrack");
        self.publish();
    }

    fn event(&mut self, kind: EventKind, conn: &conntrack::Connection) {
        let source = match kind {
            EventKind::New => Source::New,
            EventKind::Update => Source::Update,
            EventKind::Destroy => Source::Destroy,
        };
        let now = self.now();
        self.store.observe(conn, source, now, unix_secs(), self.resolve.as_ref());
    }

    fn expire(&mut self, now: u64) {
        let Engine { store, writers, ids, flow, batch, sender, .. } = self;
        let mut full = Vec::new();
        store.expire(now, |e| {
            push(e, flow, writers, ids, batch);
            if batch.len() >= BATCH_RECORDS {
                full.push(std::mem::replace(batch, RecordBatch::with_capacity(BATCH_RECORDS)));
            }
        });
        for b in full {
            // A stopped exporting process counts the batch as dropped.
            let _ = sender.send(b);
        }
        self.send();
        self.publish();
    }

    fn send(&mut self) {
        if !self.batch.is_empty() {
            let _ = self.sender.send(std::mem::replace(&mut self.batch, RecordBatch::with_capacity(BATCH_RECORDS)));
        }
    }

    fn publish(&self) {
        let s = self.store.stats();
        let c = &self.counters;
        c.store_connections.store(self.store.len() as u64, Ordering::Relaxed);
        c.tracked.store(s.connections, Ordering::Relaxed);
        c.skipped.store(s.skipped, Ordering::Relaxed);
        c.ended.store(s.ended, Ordering::Relaxed);
        c.records.store(s.records, Ordering::Relaxed);
    }
}

fn push(e: &Export<'_>, flow: &mut Flow, writers: &[FlowWriter; 2], ids: &[u16; 2], batch: &mut RecordBatch) {
    e.fill(flow);
    let v6 = usize::from(flow.source_address.is_ipv6());
    batch.push(ids[v6], |w| writers[v6].write(flow, w));
}

fn unix_secs() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as u32)
}

/// The metrics endpoint's view.
#[derive(Clone)]
struct Live {
    counters: Arc<Counters>,
    exporter: Arc<ExporterCounters>,
    poll: Histogram,
}

impl Live {
    fn render(&self) -> String {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let max = std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_max")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        metrics::render_only(|registry| {
            metrics::exporter(registry.sub_registry_with_prefix("exporter"), &self.exporter);
            let r = registry.sub_registry_with_prefix("agent");
            // The reference's names (antrea_agent_*), under flowctl_agent_.
            metrics::gauge(
                r,
                "conntrack_total_connection_count",
                "Conntrack entries in the zones dumped by the last poll",
                load(&c.conntrack_entries) as i64,
            );
            metrics::gauge(r, "conntrack_max_connection_count", "nf_conntrack_max", max);
            r.register("conntrack_poll_cycle_duration_seconds", "Time one conntrack dump takes", self.poll.clone());
            metrics::gauge(
                r,
                "conntrack_antrea_connection_count",
                "Connections held by the connection store",
                load(&c.store_connections) as i64,
            );
            metrics::counter(
                r,
                "flow_collector_reconnection_count",
                "Connections made to the flow collector",
                load(&self.exporter.connects),
            );
            metrics::counter(r, "conntrack_polls", "Conntrack dumps", load(&c.polls));
            metrics::counter(r, "conntrack_poll_failures", "Conntrack dumps that failed", load(&c.poll_failures));
            metrics::counter(
                r,
                "conntrack_dump_restarts",
                "Dumps the kernel interrupted and were started again",
                load(&c.dump_restarts),
            );
            metrics::counter(
                r,
                "conntrack_malformed_entries",
                "Dumped entries that did not parse",
                load(&c.dump_malformed),
            );
            metrics::counter(r, "conntrack_events", "Conntrack events received", load(&c.events));
            metrics::counter(
                r,
                "conntrack_event_overflows",
                "Times the kernel dropped events; each brought a resync by dump",
                load(&c.event_overflows),
            );
            metrics::counter(r, "conntrack_malformed_events", "Events that did not parse", load(&c.events_malformed));
            metrics::counter(r, "connections_tracked", "Connections the store has tracked", load(&c.tracked));
            metrics::counter(
                r,
                "connections_skipped",
                "Conntrack readings not tracked: no local Pod, a flowType not exported, or filtered out",
                load(&c.skipped),
            );
            metrics::counter(r, "connections_ended", "Connections exported as ended", load(&c.ended));
            metrics::counter(r, "records", "Flow records made", load(&c.records));
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9000      90    0    0    0     0          0         0     9000      90    0    0    0     0       0          0
  eth0: 123456    700    0    0    0     0          0         0    65432     300    0    0    0     0       0          0
vethab12: 5000     25    0    0    0     0          0         0     5000      25    0    0    0     0       0          0
";

    #[test]
    fn received_packets_are_summed_over_every_interface_but_loopback() {
        assert_eq!(received_in(PROC_NET_DEV), 725);
    }

    #[test]
    fn an_empty_table_with_traffic_is_said_once_after_the_wait() {
        let mut s = Silence::default();
        s.observe(0, 0, 3000, || Some(100));
        s.observe(0, 2000, 3000, || Some(500));
        assert!(!s.said, "not before the wait");
        s.observe(0, 3000, 3000, || Some(500));
        assert!(s.said);
        // Once said, never again, whatever comes.
        s.observe(0, 9000, 3000, || Some(900));
        assert!(s.since.is_none());
    }

    #[test]
    fn an_empty_table_without_traffic_or_a_table_with_entries_is_not_a_problem() {
        let mut idle = Silence::default();
        idle.observe(0, 0, 3000, || Some(100));
        idle.observe(0, 60_000, 3000, || Some(105));
        assert!(!idle.said, "five packets in a minute are not traffic");
        let mut tracking = Silence::default();
        tracking.observe(0, 0, 3000, || Some(100));
        tracking.observe(3, 1000, 3000, || Some(400));
        tracking.observe(0, 4000, 3000, || Some(800));
        assert!(!tracking.said, "the empty stretch starts again after a dump with entries");
    }

    #[test]
    fn the_advice_names_the_fix() {
        assert!(silence_advice(15, 40, true).contains("ct state new"));
        assert!(silence_advice(15, 40, false).contains("modprobe nf_conntrack"));
    }

    /// Issue #22, defect 11: README.md documented the reconnection counter as
    /// `flowctl_agent_flow_collector_reconnection_count`, a name `/metrics` does not carry (a
    /// counter's samples end in `_total`). The agent needs conntrack (root, a network namespace),
    /// so this renders the agent's own `/metrics` text, as its endpoint serves it, and checks every
    /// `flowctl_agent_…` name the README mentions is a metric in it.
    #[test]
    fn every_agent_metric_the_readme_names_is_one_the_agent_serves() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let live = Live {
            counters: Arc::new(Counters::default()),
            exporter: Arc::new(ExporterCounters::default()),
            poll: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
        };
        let text = live.render();
        let served: Vec<&str> = text
            .lines()
            .filter_map(|l| match l.strip_prefix("# TYPE ") {
                // A histogram is named by its family; its samples add _bucket, _sum, _count.
                Some(t) => t.strip_suffix(" histogram"),
                None => l.split(['{', ' ']).next(),
            })
            .collect();
        let named: Vec<&str> = readme
            .match_indices("flowctl_agent_")
            .map(|(at, _)| {
                let rest = &readme[at..];
                &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())]
            })
            .collect();
        assert!(named.len() >= 5, "the README names the agent's metrics: {named:?}");
        for name in named {
            assert!(served.contains(&name), "README.md names {name}, which the agent does not serve:\n{text}");
        }
        assert!(readme.contains("`flowctl_exporter_*`") && text.contains("flowctl_exporter_records_exported_total"));
    }
}
