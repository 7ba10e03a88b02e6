//! The collecting process: listeners → messages → templates → records, handed to sinks.
//!
//! Work is split the way sessions are: each UDP socket (several on one port with SO_REUSEPORT,
//! the kernel keeping an exporter on one socket) is read by its own thread with its own decoder,
//! and each TCP or TLS connection, a session of its own, is served by its own task with its own
//! decoder. Nothing on the record path is shared, so ingest spreads over cores without locks;
//! counters are published to a [`Board`] once a second and when a session ends.
//!
//! Every bound (sessions, templates and data waiting for templates per session, the kernel's
//! receive buffer) is counted when it bites: in the summary, the metrics and the log.

mod board;
mod per_template;
mod stream;
mod udp;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tracing::warn;

pub use board::{Board, ConnectionCounters, DEFAULT_LABEL_SETS, LabelSet, LabelledCounters, SocketCounters};
pub use per_template::PerTemplate;

use crate::core::capture::MessagePcapWriter;
use crate::core::ipfix::decoder::{DecoderConfig, RecordRef};
use crate::core::problems::{Policy, ProblemLog};
use crate::core::transport::{
    Endpoint, HandshakeLimits, ServerTls, StreamListener, UdpConfig, UdpListener, server_config,
};

/// What to listen on and how.
#[derive(Clone, Debug)]
pub struct CollectorConfig {
    pub listen: Vec<Endpoint>,
    /// Certificate and key for `tls://` listeners, and the CA that client certificates must
    /// chain to for mutual TLS.
    pub tls: Option<ServerTls>,
    pub udp: UdpConfig,
    pub decoder: DecoderConfig,
    /// A UDP exporter silent this long has its session (and templates) ended.
    pub idle_timeout: Duration,
    /// Write every message received into this capture, with the real peer addresses.
    pub capture: Option<PathBuf>,
    pub connections: ConnectionLimits,
    /// Per-exporter label sets (exporter, transport, version, observation domain) the metrics
    /// show one by one; the rest are summed under `exporter="other"`.
    pub metrics_label_sets: usize,
}

/// How long TCP and TLS connections may take, so idle sockets cannot hold descriptors and
/// session slots for ever, and how long shutdown reads what they still hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub handshakes: HandshakeLimits,
    /// A connection that sends no complete message this long after it opened is closed.
    pub first_message_timeout: Duration,
    /// A connection that sends nothing this long after its last message is closed.
    pub idle_timeout: Duration,
    /// On shutdown, connections are read until they are empty or close, for at most this long;
    /// what they still hold then is counted as lost.
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            handshakes: HandshakeLimits::default(),
            first_message_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            listen: vec![Endpoint::Udp(([0, 0, 0, 0], 4739).into()), Endpoint::Tcp(([0, 0, 0, 0], 4739).into())],
            tls: None,
            udp: UdpConfig::default(),
            decoder: DecoderConfig::default(),
            idle_timeout: Duration::from_secs(1800),
            capture: None,
            connections: ConnectionLimits::default(),
            metrics_label_sets: DEFAULT_LABEL_SETS,
        }
    }
}

/// Consumes the records of one receiving thread or one connection.
pub trait RecordSink: Send {
    fn record(&mut self, r: &RecordRef<'_>);

    /// Input paused, or the session ended: push out what is buffered.
    fn flush(&mut self) {}
}

/// Makes the sink of each receiving thread and connection.
pub type SinkFactory = Arc<dyn Fn() -> Box<dyn RecordSink> + Send + Sync>;

/// What every receiving thread and task shares: counters, the problem log, the capture.
pub(crate) struct Shared {
    pub board: Arc<Mutex<Board>>,
    pub problems: Mutex<ProblemLog>,
    pub capture: Option<Mutex<MessagePcapWriter>>,
    pub sinks: SinkFactory,
    pub decoder: DecoderConfig,
    pub idle_timeout: Duration,
    pub connections: ConnectionLimits,
}

impl Shared {
    /// Logs a problem (rate-limited per cause) and counts it.
    pub fn problem(&self, cause: &'static str, damage: bool, message: impl FnOnce() -> String) {
        if let Ok(mut log) = self.problems.lock() {
            log.report(cause, damage, message);
        }
    }
}

/// A running collecting process.
pub struct CollectingProcess {
    shared: Arc<Shared>,
    bound: Vec<Endpoint>,
    stop: Arc<AtomicBool>,
    stop_tx: watch::Sender<bool>,
    udp_threads: Vec<std::thread::JoinHandle<()>>,
    stream_tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl CollectingProcess {
    /// Binds every listener and starts receiving. Must run inside a tokio runtime (TCP and TLS
    /// are served by tasks; UDP by threads of their own).
    pub async fn start(config: CollectorConfig, sinks: SinkFactory) -> anyhow::Result<Self> {
        let capture = match &config.capture {
            Some(path) => Some(Mutex::new(MessagePcapWriter::create(path)?)),
            None => None,
        };
        let shared = Arc::new(Shared {
            board: Arc::new(Mutex::new(Board::new(config.metrics_label_sets))),
            problems: Mutex::new(ProblemLog::new(Policy::Every(Duration::from_secs(10)))),
            capture,
            sinks,
            decoder: config.decoder.clone(),
            idle_timeout: config.idle_timeout,
            connections: config.connections,
        });
        match crate::core::transport::raise_fd_limit() {
            Ok(limit) => tracing::debug!("open files limit: {limit}"),
            Err(e) => warn!("cannot raise the open files limit: {e}; connections beyond it are refused by the kernel"),
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (stop_tx, stop_rx) = watch::channel(false);
        let tls = match (&config.tls, config.listen.iter().any(|e| matches!(e, Endpoint::Tls(_)))) {
            (Some(files), true) => Some(server_config(files).context("setting up TLS")?),
            (None, true) => anyhow::bail!("a tls:// listener needs --tls-cert and --tls-key"),
            _ => None,
        };
        let mut bound = Vec::new();
        let mut udp_threads = Vec::new();
        let mut stream_tasks = Vec::new();
        for endpoint in &config.listen {
            match endpoint {
                Endpoint::Udp(addr) => {
                    let listener = UdpListener::bind(*addr, &config.udp)
                        .with_context(|| format!("cannot listen on {endpoint}"))?;
                    let local = listener.local_addr();
                    let rcvbuf = listener.rcvbuf();
                    if rcvbuf.clamped() {
                        warn!(
                            "{}: the kernel gave a {} KiB receive buffer instead of {} KiB (net.core.rmem_max); \
                             bursts may be dropped and counted",
                            Endpoint::Udp(local),
                            rcvbuf.granted >> 11,
                            rcvbuf.asked >> 10
                        );
                    }
                    let batch = config.udp.batch;
                    for (i, receiver) in listener.into_receivers().into_iter().enumerate() {
                        let (shared, stop) = (shared.clone(), stop.clone());
                        let thread = std::thread::Builder::new()
                            .name(format!("udp-{}-{i}", local.port()))
                            .spawn(move || udp::receive(receiver, i, batch, &shared, &stop))
                            .context("starting a UDP receiver thread")?;
                        udp_threads.push(thread);
                    }
                    crate::announce!("listening on {}", Endpoint::Udp(local));
                    bound.push(Endpoint::Udp(local));
                }
                Endpoint::Tcp(_) | Endpoint::Tls(_) => {
                    let tls = if matches!(endpoint, Endpoint::Tls(_)) { tls.clone() } else { None };
                    let listener = StreamListener::bind(endpoint, tls, config.connections.handshakes).await?;
                    let local = listener.local_addr();
                    let here = match endpoint {
                        Endpoint::Tls(_) => Endpoint::Tls(local),
                        _ => Endpoint::Tcp(local),
                    };
                    crate::announce!("listening on {here}");
                    bound.push(here);
                    stream_tasks.push(tokio::spawn(stream::serve(listener, shared.clone(), stop_rx.clone())));
                }
            }
        }
        Ok(CollectingProcess { shared, bound, stop, stop_tx, udp_threads, stream_tasks })
    }

    /// The endpoints listened on, with the ports the system chose for port 0.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.bound
    }

    /// The counters published so far.
    pub fn board(&self) -> Arc<Mutex<Board>> {
        self.shared.board.clone()
    }

    /// Receives until `shutdown` completes, then stops every receiver, lets sessions end
    /// (data still waiting for templates is counted as expired), flushes the sinks and the
    /// capture, and returns the final counters.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Board {
        shutdown.await;
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.stop_tx.send(true);
        for task in self.stream_tasks {
            let _ = task.await;
        }
        let threads = self.udp_threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
        if let Some(capture) = &self.shared.capture
            && let Ok(mut w) = capture.lock()
            && let Err(e) = w.flush()
        {
            warn!("writing the capture: {e}");
        }
        self.shared.board.lock().map(|b| b.clone()).unwrap_or_default()
    }
}
