//! Live collection: the collecting process → record printer or summary, with metrics.
//!
//! Each receiving thread or connection formats its own records (JSON and YAML as text, tables as
//! rows) and hands them in chunks to one writer thread, so formatting runs where the records
//! are and only finished text crosses threads. The writer's queue is bounded: a slow reader of
//! our output slows receiving down, and what the kernel then drops is counted like any drop.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use tokio::sync::Notify;

use crate::core::announce::StatusLine;
use crate::core::collector::{Board, CollectingProcess, CollectorConfig, ConnectionCounters, RecordSink, SinkFactory};
use crate::core::ipfix::decoder::{DomainStats, RecordRef};
use crate::core::metrics;
use crate::core::output::fields::{Selection, csv_line};
use crate::core::output::json::JsonWriter;
use crate::core::output::plural::counted;
use crate::core::output::summary::{self, DomainRow};
use crate::core::output::table::TablePrinter;
use crate::core::output::{OutputFormat, RecordFormat, yaml_item};

#[derive(Clone, Debug)]
pub struct CollectOptions {
    pub collector: CollectorConfig,
    pub format: RecordFormat,
    /// Print only these fields of each record (`--fields`).
    pub fields: Option<Selection>,
    /// Print the summary instead of the records.
    pub stats: bool,
    /// Stop after this many records.
    pub count: Option<u64>,
    /// Serve Prometheus metrics here.
    pub metrics: Option<SocketAddr>,
    /// How often a status line goes to a terminal (zero: never).
    pub status_every: Duration,
}

/// A chunk of output from a receiving thread.
enum Chunk {
    Text(Vec<u8>),
    Rows(Vec<Vec<String>>),
}

/// Text a sink holds before handing it to the writer. Each hand-over wakes the writer thread,
/// which at millions of records a second on one core costs more than the formatting: large
/// chunks keep the hand-overs to a few thousand a second.
const CHUNK_BYTES: usize = 256 << 10;
/// Written chunks kept for reuse: a fresh buffer is fresh pages the kernel must fault in and
/// zero, and a freed one goes back to it.
const SPARE_CHUNKS: usize = 16;

/// Buffers the writer has written out, for the sinks to fill again. A sink holds a buffer only
/// while it has text to hand over, so a collector with many idle connections holds few.
#[derive(Default)]
struct Spares(Mutex<Vec<Vec<u8>>>);

impl Spares {
    /// A written buffer, or a new one that grows with what it holds: a connection sending little
    /// between two flushes takes little, whatever the number of connections.
    fn take(&self) -> Vec<u8> {
        self.0.lock().ok().and_then(|mut s| s.pop()).unwrap_or_default()
    }

    fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut spares) = self.0.lock()
            && spares.len() < SPARE_CHUNKS
        {
            spares.push(buf);
        }
    }
}
/// How long the writer waits before printing table rows that came in.
const TABLE_PAUSE: Duration = Duration::from_millis(200);

/// Formats the records of one receiving thread or connection.
struct PrintSink {
    format: RecordFormat,
    json: JsonWriter,
    table: TablePrinter,
    /// Empty without capacity between hand-overs; filled from `spares`.
    text: Vec<u8>,
    spares: Arc<Spares>,
    scratch: Vec<u8>,
    rows: Vec<Vec<String>>,
    tx: SyncSender<Chunk>,
    /// Records still to print when `--count` was given; shared by every sink.
    remaining: Option<Arc<AtomicI64>>,
    done: Arc<Notify>,
    /// Records formatted since the last flush, and the total of every sink's flushes.
    formatted: u64,
    printed: Arc<AtomicU64>,
}

impl RecordSink for PrintSink {
    fn record(&mut self, r: &RecordRef<'_>) {
        if let Some(remaining) = &self.remaining {
            let left = remaining.fetch_sub(1, Ordering::Relaxed);
            if left <= 0 {
                return;
            }
            if left == 1 {
                self.done.notify_one();
            }
        }
        if self.text.capacity() == 0 && !matches!(self.format, RecordFormat::Table | RecordFormat::Wide) {
            self.text = self.spares.take();
        }
        match self.format {
            RecordFormat::Json => self.json.record(r, &mut self.text),
            RecordFormat::Yaml => {
                self.scratch.clear();
                self.json.record(r, &mut self.scratch);
                yaml_item(&self.scratch, &mut self.text);
            }
            RecordFormat::Csv => self.table.csv_record(r, &mut self.text),
            RecordFormat::Table | RecordFormat::Wide => {
                let row = self.table.row(r);
                self.rows.push(row);
            }
        }
        self.formatted += 1;
        if self.text.len() >= CHUNK_BYTES || self.rows.len() >= 256 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.printed.fetch_add(std::mem::take(&mut self.formatted), Ordering::Relaxed);
        // A writer that is gone (stdout closed) just makes output vanish; the run is stopping.
        if !self.text.is_empty() {
            let _ = self.tx.send(Chunk::Text(std::mem::take(&mut self.text)));
        }
        if !self.rows.is_empty() {
            let _ = self.tx.send(Chunk::Rows(std::mem::take(&mut self.rows)));
        }
    }
}

impl Drop for PrintSink {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Counts nothing: with `--stats` the counters are the output.
struct Silent;

impl RecordSink for Silent {
    fn record(&mut self, _: &RecordRef<'_>) {}
}

/// Writes chunks in arrival order; renders table rows when input pauses.
fn write_chunks<W: Write>(
    rx: Receiver<Chunk>,
    mut out: W,
    mut table: TablePrinter,
    csv: bool,
    done: Arc<Notify>,
    spares: Arc<Spares>,
) -> std::io::Result<()> {
    let mut rendered = Vec::new();
    if csv {
        csv_line(table.csv_header(), &mut rendered);
        out.write_all(&rendered)?;
        rendered.clear();
    }
    let mut pending_rows = false;
    loop {
        let chunk = match rx.recv_timeout(TABLE_PAUSE) {
            Ok(c) => Some(c),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let result = match chunk {
            Some(Chunk::Text(text)) => {
                let written = out.write_all(&text);
                spares.give(text);
                written
            }
            Some(Chunk::Rows(rows)) => {
                for row in rows {
                    table.push(row);
                }
                pending_rows = true;
                Ok(())
            }
            None if pending_rows => {
                pending_rows = false;
                rendered.clear();
                table.render(&mut rendered);
                out.write_all(&rendered).and_then(|_| out.flush())
            }
            None => out.flush(),
        };
        if let Err(e) = result {
            // Whoever reads our output went away (`| head`): stop collecting.
            done.notify_one();
            return Err(e);
        }
    }
    rendered.clear();
    table.render(&mut rendered);
    out.write_all(&rendered)?;
    out.flush()
}

/// The summary of a run.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectSummary {
    pub domains: Vec<DomainRow>,
    pub totals: DomainStats,
    /// Datagrams the kernel dropped on our UDP sockets (receive buffers full).
    pub kernel_drops: u64,
    pub datagrams: u64,
    /// Messages refused because the most sessions were already held.
    pub refused_messages: u64,
    pub connections: ConnectionCounters,
}

impl CollectSummary {
    pub fn new(board: &Board) -> Self {
        let sessions = board.merged_sessions();
        let (domains, _) = summary::domain_rows(&sessions, |_| None);
        CollectSummary {
            domains,
            totals: board.totals(),
            kernel_drops: board.kernel_drops(),
            datagrams: board.sockets.values().map(|s| s.datagrams).sum(),
            refused_messages: board.sockets.values().map(|s| s.refused_messages).sum(),
            connections: board.connections,
        }
    }

    pub fn write<W: Write>(&self, format: OutputFormat, out: &mut W) -> std::io::Result<()> {
        match format {
            OutputFormat::Json | OutputFormat::Yaml => summary::write_serialized(self, format, out),
            OutputFormat::Table | OutputFormat::Wide => {
                let mut text = summary::domain_table(&self.domains, &self.totals, format == OutputFormat::Wide);
                let c = &self.connections;
                text.push_str(&format!(
                    "\n{}, {} dropped by the kernel (receive buffer full); {} \
                     ({} failed, {} refused and {} dropped at the handshake bounds, {}, \
                     {} closed on protocol errors, {} closed silent, {} closed idle, {} evicted, {} refused); \
                     {} refused at the session bound\n",
                    counted(self.datagrams, "datagram", "datagrams"),
                    self.kernel_drops,
                    counted(c.accepted, "TCP/TLS connection", "TCP/TLS connections"),
                    counted(c.handshake_failures, "TLS handshake", "TLS handshakes"),
                    c.handshakes_refused,
                    c.handshakes_dropped,
                    counted(c.framing_errors, "stream broken", "streams broken"),
                    c.protocol_errors,
                    c.closed_silent,
                    c.closed_idle,
                    c.evicted,
                    c.refused,
                    counted(self.refused_messages, "message", "messages"),
                ));
                if c.undrained > 0 {
                    text.push_str(&format!(
                        "LOST on shutdown: {} bytes still unread on {} connections when the drain timeout ran out\n",
                        c.undrained_bytes, c.undrained
                    ));
                }
                out.write_all(text.as_bytes())
            }
        }
    }
}

/// Collects until `shutdown` completes, `--count` records were printed, or our output is closed.
/// Records go to `out`; the summary goes to `out` with `--stats` and to `summary_out` otherwise.
pub async fn run<W, S>(
    opts: CollectOptions,
    out: W,
    mut summary_out: S,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<CollectSummary>
where
    W: Write + Send + 'static,
    S: Write,
{
    let done = Arc::new(Notify::new());
    let printed = Arc::new(AtomicU64::new(0));
    let spares = Arc::new(Spares::default());
    let (tx, rx) = sync_channel::<Chunk>(64);
    let (writer, mut stats_out) = if opts.stats {
        (None, Some(out))
    } else {
        let table = TablePrinter::new(opts.format == RecordFormat::Wide, false, opts.fields.clone());
        let (csv, done, spares) = (opts.format == RecordFormat::Csv, done.clone(), spares.clone());
        let thread = std::thread::Builder::new()
            .name("output".into())
            .spawn(move || write_chunks(rx, out, table, csv, done, spares))
            .context("starting the output thread")?;
        (Some(thread), None)
    };
    let sinks: SinkFactory = if opts.stats {
        Arc::new(|| Box::new(Silent))
    } else {
        let remaining = opts.count.map(|n| Arc::new(AtomicI64::new(n.min(i64::MAX as u64) as i64)));
        let (format, done, tx, printed) = (opts.format, done.clone(), Mutex::new(tx.clone()), printed.clone());
        let fields = opts.fields.clone();
        Arc::new(move || {
            let tx = tx.lock().map(|t| t.clone()).expect("the sender lock is never poisoned");
            Box::new(PrintSink {
                format,
                json: JsonWriter::new(false).with_selection(fields.clone()),
                table: TablePrinter::new(format == RecordFormat::Wide, false, fields.clone()),
                text: Vec::new(),
                spares: spares.clone(),
                scratch: Vec::new(),
                rows: Vec::new(),
                tx,
                remaining: remaining.clone(),
                done: done.clone(),
                formatted: 0,
                printed: printed.clone(),
            })
        })
    };
    drop(tx);
    let process = CollectingProcess::start(opts.collector.clone(), sinks).await?;
    let metrics = match opts.metrics {
        Some(addr) => {
            let (task, local) =
                metrics::serve(addr, process.board()).await.with_context(|| format!("serving metrics on {addr}"))?;
            crate::announce!("metrics on http://{local}/metrics");
            Some(task)
        }
        None => None,
    };
    if opts.stats {
        crate::announce!(
            "collecting; the summary is printed when collection stops (Ctrl-C, SIGTERM, --count or --duration)"
        );
    }
    let status = {
        let (board, stats) = (process.board(), opts.stats);
        StatusLine::start(opts.status_every, move || {
            let Ok(board) = board.lock() else { return String::new() };
            let totals = board.totals();
            let out = if stats { String::new() } else { format!(", {} printed", printed.load(Ordering::Relaxed)) };
            format!(
                "status: {}{out}, {} dropped by the kernel, {} malformed, {} connected",
                counted(totals.data_records + totals.options_records, "record", "records"),
                counted(board.kernel_drops(), "datagram", "datagrams"),
                totals.malformed,
                counted(board.live_sessions() as u64, "exporter", "exporters"),
            )
        })
    };
    let board = process
        .run(async {
            tokio::select! {
                _ = shutdown => {}
                _ = done.notified() => {}
            }
        })
        .await;
    drop(status);
    if let Some(m) = metrics {
        m.abort();
    }
    let summary = CollectSummary::new(&board);
    // Every sink is gone now, so the writer drains and ends.
    let output_error = match writer {
        Some(thread) => match tokio::task::spawn_blocking(move || thread.join()).await {
            Ok(Ok(Err(e))) if e.kind() != std::io::ErrorKind::BrokenPipe => Some(e),
            _ => None,
        },
        None => None,
    };
    match &mut stats_out {
        Some(out) => summary.write(opts.format.summary(), out).context("writing the summary")?,
        None => summary.write(OutputFormat::Table, &mut summary_out).context("writing the summary")?,
    }
    if let Some(e) = output_error {
        return Err(e).context("writing records");
    }
    Ok(summary)
}
