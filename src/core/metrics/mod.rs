//! Prometheus metrics of the collecting process, served over HTTP (`GET /metrics`, OpenMetrics
//! text). The receiving threads keep their counters to themselves and publish them to the
//! [`Board`] once a second; a scrape renders the board, so metrics cost nothing on the record path.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::core::collector::Board;
use crate::core::exporter::ExporterCounters;
use crate::core::ipfix::decoder::DomainStats;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Exporter {
    /// The exporter's address without the port: a restarted exporter keeps its series.
    exporter: String,
    transport: String,
    version: String,
    observation_domain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Socket {
    socket: String,
}

/// The board as OpenMetrics text.
pub fn render(board: &Board) -> String {
    render_with(board, |_| {})
}

/// The board's metrics and those `more` registers (under `flowctl_`), as one OpenMetrics text.
pub fn render_with(board: &Board, more: impl FnOnce(&mut Registry)) -> String {
    let mut top = Registry::with_prefix("flowctl");
    register_board(top.sub_registry_with_prefix("collector"), board);
    more(&mut top);
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut text, &top);
    text
}

/// The metrics `more` registers (under `flowctl_`), as OpenMetrics text: for services that
/// have no collecting process.
pub fn render_only(more: impl FnOnce(&mut Registry)) -> String {
    let mut top = Registry::with_prefix("flowctl");
    more(&mut top);
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut text, &top);
    text
}

/// The exporting process's counters, as every service that exports shows them (register under
/// an `exporter` prefix).
pub fn exporter(r: &mut Registry, e: &ExporterCounters) {
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    counter(r, "records_exported", "Data records sent downstream", load(&e.records_exported));
    counter(r, "messages", "Messages sent downstream", load(&e.messages));
    counter(r, "bytes", "Bytes sent downstream", load(&e.bytes));
    counter(
        r,
        "records_dropped",
        "Records dropped: queue full while the collector was unreachable, or lost in a failed send",
        load(&e.records_dropped),
    );
    counter(r, "connects", "Connections made to the collector", load(&e.connects));
    counter(r, "send_errors", "Sends that failed", load(&e.send_errors));
    gauge(r, "queue_records", "Records waiting to be sent", load(&e.queue_records) as i64);
    gauge(r, "connected", "1 while connected to the collector", load(&e.connected) as i64);
}

/// Registers a counter with this value.
pub fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let counter = Counter::<u64>::default();
    counter.inc_by(value);
    registry.register(name, help, counter);
}

/// Registers a gauge with this value.
pub fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge = Gauge::<i64>::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn register_board(registry: &mut Registry, board: &Board) {
    let labelled = board.labelled();
    let per_exporter: Vec<(Exporter, DomainStats)> = labelled
        .admitted
        .iter()
        .map(|(l, stats)| {
            let labels = Exporter {
                exporter: l.exporter.map_or_else(String::new, |ip| ip.to_string()),
                transport: l.transport.name().to_lowercase(),
                version: l.domain.map_or_else(String::new, |(v, _)| v.to_string()),
                observation_domain: l.domain.map_or_else(String::new, |(_, d)| d.to_string()),
            };
            (labels, *stats)
        })
        .collect();
    // Each family gets `other` once it counts something; it never goes down, so it never goes.
    let other = Exporter {
        exporter: "other".into(),
        transport: String::new(),
        version: String::new(),
        observation_domain: String::new(),
    };
    let per_exporter_counter = |registry: &mut Registry, name: &str, help: &str, value: fn(&DomainStats) -> u64| {
        let family = Family::<Exporter, Counter>::default();
        for (labels, stats) in &per_exporter {
            family.get_or_create(labels).inc_by(value(stats));
        }
        if value(&labelled.other) > 0 {
            family.get_or_create(&other).inc_by(value(&labelled.other));
        }
        registry.register(name, help, family);
    };
    per_exporter_counter(
        registry,
        "messages",
        "Messages received: IPFIX and NetFlow v9, and (version and observation_domain empty) ones whose header \
         could not be read",
        |s| s.messages,
    );
    per_exporter_counter(registry, "bytes", "Bytes of messages received", |s| s.bytes);
    per_exporter_counter(registry, "data_records", "Data records decoded", |s| s.data_records);
    per_exporter_counter(registry, "options_records", "Options data records decoded", |s| s.options_records);
    per_exporter_counter(registry, "template_records", "Template and options template records received", |s| {
        s.template_records + s.options_template_records
    });
    per_exporter_counter(registry, "malformed_messages", "Messages that were malformed", |s| s.malformed);
    per_exporter_counter(registry, "sequence_gaps", "Messages whose sequence number was not the one expected", |s| {
        s.sequence_gaps
    });
    per_exporter_counter(
        registry,
        "sequence_lost",
        "Records (NetFlow v9: packets) the sequence numbers say were lost",
        |s| s.lost,
    );
    per_exporter_counter(registry, "sets_waiting", "Data sets that arrived before their template", |s| s.sets_waiting);
    per_exporter_counter(registry, "late_records", "Records decoded when their template arrived later", |s| {
        s.late_records
    });
    per_exporter_counter(
        registry,
        "sets_expired",
        "Data sets dropped: their template never came, or a bound refused them",
        |s| s.sets_expired,
    );
    per_exporter_counter(registry, "templates_expired", "Templates that outlived their UDP lifetime", |s| {
        s.templates_expired
    });
    per_exporter_counter(
        registry,
        "templates_refused",
        "Templates refused at a bound: templates per session, bytes of templates per session or in all",
        |s| s.templates_refused,
    );

    let drops = Family::<Socket, Counter>::default();
    let datagrams = Family::<Socket, Counter>::default();
    let refused = Family::<Socket, Counter>::default();
    for ((addr, index), s) in &board.sockets {
        let labels = Socket { socket: format!("udp://{addr}#{index}") };
        drops.get_or_create(&labels).inc_by(s.kernel_drops);
        datagrams.get_or_create(&labels).inc_by(s.datagrams);
        refused.get_or_create(&labels).inc_by(s.refused_messages);
    }
    registry.register("udp_kernel_drops", "Datagrams the kernel dropped because the receive buffer was full", drops);
    registry.register("udp_datagrams", "Datagrams received", datagrams);
    registry.register("refused_messages", "Messages refused because the most sessions were already held", refused);

    let c = board.connections;
    counter(registry, "connections_accepted", "TCP and TLS connections accepted", c.accepted);
    counter(registry, "connections_refused", "Connections refused at the session bound", c.refused);
    counter(registry, "tls_handshake_failures", "TLS handshakes that failed", c.handshake_failures);
    counter(registry, "framing_errors", "Streams cut mid-message or carrying something not IPFIX", c.framing_errors);
    counter(registry, "protocol_errors", "Connections closed after a protocol error", c.protocol_errors);
    counter(
        registry,
        "tls_handshakes_refused",
        "Connections closed at once: their address had the most TLS handshakes in progress",
        c.handshakes_refused,
    );
    counter(
        registry,
        "tls_handshakes_dropped",
        "TLS handshakes in progress dropped, oldest first, at the bound on all of them",
        c.handshakes_dropped,
    );
    counter(
        registry,
        "connections_closed_silent",
        "Connections closed for sending no message in time",
        c.closed_silent,
    );
    counter(registry, "connections_closed_idle", "Connections closed after the idle timeout", c.closed_idle);
    counter(
        registry,
        "connections_evicted",
        "Connections that never sent a message, closed to make room at the session bound",
        c.evicted,
    );
    counter(registry, "undrained_bytes", "Bytes left unread on shutdown when the drain timed out", c.undrained_bytes);
    gauge(registry, "connections_active", "TCP and TLS connections open", c.active as i64);
    gauge(registry, "sessions", "Transport sessions being decoded", board.live_sessions() as i64);
    gauge(
        registry,
        "label_sets_folded",
        "Label sets of live sessions counted under exporter=\"other\", beyond the bound on label sets shown",
        labelled.folded as i64,
    );
    counter(
        registry,
        "label_sets_ever_folded",
        "Label sets counted under exporter=\"other\" since the start, beyond the bound on label sets shown",
        labelled.folded_ever,
    );
}

async fn metrics(State(board): State<Arc<Mutex<Board>>>) -> impl IntoResponse {
    openmetrics_response(board.lock().map(|b| render(&b)).unwrap_or_default())
}

/// An HTTP response carrying OpenMetrics text.
pub fn openmetrics_response(text: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
}

/// Serves `GET /metrics` on `addr` until the returned task is aborted; returns the task and
/// the address bound (port 0 picks one).
pub async fn serve(
    addr: SocketAddr,
    board: Arc<Mutex<Board>>,
) -> std::io::Result<(tokio::task::JoinHandle<()>, SocketAddr)> {
    serve_router(addr, Router::new().route("/metrics", get(metrics)).with_state(board)).await
}

/// Serves `router` on `addr` until the returned task is aborted; returns the task and the
/// address bound.
pub async fn serve_router(addr: SocketAddr, app: Router) -> std::io::Result<(tokio::task::JoinHandle<()>, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("the metrics server stopped: {e}");
        }
    });
    Ok((task, local))
}
