//! The exporting process (RFC 7011): records in, IPFIX messages (or JSON lines) out to one
//! collector over UDP, TCP or TLS. Shared by the agent and the aggregator.
//!
//! Any number of threads encode records into [`RecordBatch`]es with templates of a shared
//! [`TemplateSet`] and hand them to an [`ExportSender`]; one thread of its own, on blocking
//! sockets, packs them per template into messages up to the transport's limit, numbers them
//! (sequence numbers count data records, per observation domain and connection), announces each
//! template before its first record on every connection (and again every `template_refresh` over
//! UDP), and writes. Partly filled messages go out at least every `flush_interval`.
//!
//! The channel between the senders and that thread is bounded, so a collector slower than the
//! records blocks the senders (backpressure). A collector that is away is another matter: the
//! thread keeps taking batches, holds up to `queue_records` records while it reconnects with
//! backoff, and counts (and logs) what overflows. Shutdown ([`ExportingProcess::finish`]) writes
//! everything held.
//!
//! Two shapes of message ([`Profile`]): what go-ipfix collectors (Antrea's Flow Aggregator and
//! its test collector) can read, and everything RFC 7011 allows.
//!
//! A record counts as exported once the kernel took the write that carried it: IPFIX has no
//! acknowledgements, and TCP does not say what the collector read before it went away.

mod batch;
mod conn;
mod engine;
mod templates;
#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use batch::RecordBatch;
pub use templates::{MAX_TEMPLATE_RECORD, TemplateSet, record_len, template_record_len};

use crate::core::transport::{ClientTls, Endpoint, MAX_MESSAGE_LEN, TlsError, client_config};

/// Batches the channel to the exporting thread holds before senders wait.
const CHANNEL_BATCHES: usize = 256;
/// The largest UDP payload: 65535 minus the IPv4 and UDP headers; IPv6's payload length does not
/// count its own header.
const UDP_MAX_V4: usize = 65_507;
const UDP_MAX_V6: usize = 65_527;
/// What go-ipfix collectors read of a datagram in Antrea (`MaxBufferSize` for UDP).
pub const GO_IPFIX_UDP_MAX: usize = 1024;
/// The smallest message size a user may ask for (go-ipfix's `MinSupportedMsgSize`).
pub const MIN_MAX_MESSAGE: usize = 512;
/// The MTU assumed when the path's cannot be read.
const DEFAULT_MTU: usize = 1500;

/// The shape of the messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// What go-ipfix collectors read (ipfix-checklist.md §1.2, §1.9): one set per message, one
    /// template per template set, no options templates (their records are dropped and counted),
    /// no padding, no withdrawals, UDP messages at most 1024 bytes. Field lengths are the
    /// templates' own: register templates with the registry's default lengths for go-ipfix.
    #[default]
    GoIpfix,
    /// Everything RFC 7011 allows: several data sets per message, all templates announced in one
    /// template set (and one options template set), options templates.
    Standard,
}

/// What goes on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Ipfix,
    /// One JSON object per record, as `flowctl collect -o json` prints it (DESIGN.md "Record
    /// output"; exporter and collector are our and the collector's addresses): lines over TCP and
    /// TLS, one object per datagram over UDP.
    Json,
}

/// Where to export and how.
#[derive(Clone, Debug)]
pub struct ExporterConfig {
    pub to: Endpoint,
    /// For `tls://`: the CA to verify the collector with, and our certificate for mutual TLS. The
    /// collector's certificate is checked against `server_name`, else `to`'s IP address: set
    /// `server_name` to the host name when the address was given as one.
    pub tls: Option<ClientTls>,
    /// The observation domain id of every message.
    pub domain: u32,
    pub profile: Profile,
    pub format: Format,
    /// Largest message (512..65535), Antrea's `maxIPFIXMsgSize`. Unset: 65535 over TCP and TLS,
    /// the path MTU less the IP and UDP headers over UDP.
    pub max_message: Option<usize>,
    /// Templates are sent again this often over UDP (zero: never).
    pub template_refresh: Duration,
    /// Partly filled messages wait at most this long.
    pub flush_interval: Duration,
    /// Records held while the collector cannot be reached, besides those already in partly
    /// filled messages (at most one message per template); newer ones are dropped and counted.
    pub queue_records: usize,
    /// Reconnecting waits `backoff_min`, doubling up to `backoff_max`, back to `backoff_min`
    /// once a connection carried messages.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl ExporterConfig {
    /// Antrea's defaults toward `to`.
    pub fn new(to: Endpoint) -> Self {
        ExporterConfig {
            to,
            tls: None,
            domain: 0,
            profile: Profile::default(),
            format: Format::default(),
            max_message: None,
            template_refresh: Duration::from_secs(600),
            flush_interval: Duration::from_secs(1),
            queue_records: 1 << 18,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
        }
    }
}

impl Default for ExporterConfig {
    /// IPFIX over TCP to 127.0.0.1:4739.
    fn default() -> Self {
        ExporterConfig::new(Endpoint::Tcp(([127, 0, 0, 1], crate::core::transport::DEFAULT_PORT).into()))
    }
}

/// Why an exporting process cannot start, or a template cannot be registered.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no template ids left: all {count} ids from 256 to 65535 are taken")]
    TemplateIdsExhausted { count: usize },
    #[error("a template needs at least one field")]
    EmptyTemplate,
    #[error("a template of {fields} fields cannot have {scope_count} scope fields")]
    ScopeCount { scope_count: u16, fields: usize },
    #[error(
        "a template of {fields} fields takes {bytes} bytes; no IPFIX message holds a template record \
         over {max} bytes"
    )]
    TemplateTooLarge { fields: usize, bytes: usize, max: usize },
    #[error("invalid maximum message size {value}: expected {MIN_MAX_MESSAGE} to {MAX_MESSAGE_LEN} bytes")]
    MaxMessage { value: usize },
    #[error("invalid {setting}: {problem}")]
    Setting { setting: &'static str, problem: &'static str },
    #[error("{endpoint}: {problem}")]
    Mismatch { endpoint: Endpoint, problem: &'static str },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot start the exporting thread: {0}")]
    Thread(io::Error),
}

/// The exporting process is gone (it can only be after a panic); the batch's records were
/// counted as dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the exporting process has stopped")]
pub struct Stopped;

/// Counters, updated by the exporting thread as it goes, readable any time.
#[derive(Debug, Default)]
pub struct ExporterCounters {
    /// Data records in messages written to the collector's connection.
    pub records_exported: AtomicU64,
    /// Messages written (template messages included); JSON: lines.
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    /// Records that will never be exported: over the queue bound, in a write that failed, not
    /// matching their template, too large for a message, of a template the profile cannot send,
    /// or still held when shutdown's deadline passed.
    pub records_dropped: AtomicU64,
    /// Records handed to a sender and neither exported nor dropped yet (gauge).
    pub queue_records: AtomicU64,
    /// 1 while connected (gauge).
    pub connected: AtomicU64,
    /// Connections made.
    pub connects: AtomicU64,
    /// Writes that failed, and connections found closed by the collector.
    pub send_errors: AtomicU64,
}

/// A snapshot of [`ExporterCounters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExporterStats {
    pub records_exported: u64,
    pub messages: u64,
    pub bytes: u64,
    pub records_dropped: u64,
    pub queue_records: u64,
    pub connected: u64,
    pub connects: u64,
    pub send_errors: u64,
}

impl ExporterCounters {
    pub fn snapshot(&self) -> ExporterStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ExporterStats {
            records_exported: get(&self.records_exported),
            messages: get(&self.messages),
            bytes: get(&self.bytes),
            records_dropped: get(&self.records_dropped),
            queue_records: get(&self.queue_records),
            connected: get(&self.connected),
            connects: get(&self.connects),
            send_errors: get(&self.send_errors),
        }
    }
}

/// Hands record batches to the exporting process. Cheap to clone; one per thread or task.
#[derive(Clone)]
pub struct ExportSender {
    tx: SyncSender<RecordBatch>,
    counters: Arc<ExporterCounters>,
}

impl ExportSender {
    /// Queues `batch` for export, waiting while the channel is full (the collector is slower
    /// than the records).
    pub fn send(&self, batch: RecordBatch) -> Result<(), Stopped> {
        if batch.is_empty() {
            return Ok(());
        }
        let n = batch.len() as u64;
        self.counters.queue_records.fetch_add(n, Ordering::Relaxed);
        self.tx.send(batch).map_err(|_| {
            self.counters.queue_records.fetch_sub(n, Ordering::Relaxed);
            self.counters.records_dropped.fetch_add(n, Ordering::Relaxed);
            Stopped
        })
    }
}

/// Tells the exporting thread how long it has to finish, once its senders are gone.
#[derive(Default)]
struct FinishSignal {
    deadline: Mutex<Option<Duration>>,
    cond: Condvar,
}

impl FinishSignal {
    fn set(&self, deadline: Duration) {
        let mut d = self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        if d.is_none() {
            *d = Some(deadline);
        }
        self.cond.notify_all();
    }

    /// The deadline once set, waiting at most `wait` for it.
    fn wait(&self, wait: Duration) -> Option<Duration> {
        let d = self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        let (d, _) = self.cond.wait_timeout_while(d, wait, |d| d.is_none()).unwrap_or_else(|p| p.into_inner());
        *d
    }
}

/// A running exporting process.
pub struct ExportingProcess {
    thread: Option<JoinHandle<ExporterStats>>,
    counters: Arc<ExporterCounters>,
    finish: Arc<FinishSignal>,
    max_message: usize,
}

impl ExportingProcess {
    /// Checks the configuration, loads the TLS material and starts the exporting thread, which
    /// connects at once (and keeps trying, records waiting, while the collector is away).
    pub fn start(
        config: ExporterConfig,
        templates: Arc<TemplateSet>,
    ) -> Result<(ExportingProcess, ExportSender), ExportError> {
        let max_message = message_limit(&config)?;
        if config.flush_interval.is_zero() {
            return Err(ExportError::Setting { setting: "flush interval", problem: "it must be above zero" });
        }
        if config.backoff_min.is_zero() || config.backoff_min > config.backoff_max {
            return Err(ExportError::Setting {
                setting: "reconnect backoff",
                problem: "the first wait must be above zero and at most the longest",
            });
        }
        let tls = match (&config.to, &config.tls) {
            (Endpoint::Tls(_), Some(tls)) => {
                let name = tls.server_name_for("", &config.to)?;
                Some((client_config(tls)?, name))
            }
            (Endpoint::Tls(_), None) => {
                return Err(ExportError::Mismatch {
                    endpoint: config.to,
                    problem: "exporting over TLS needs a CA certificate to verify the collector",
                });
            }
            (_, Some(_)) => {
                return Err(ExportError::Mismatch {
                    endpoint: config.to,
                    problem: "TLS settings given for a transport without TLS; use tls://",
                });
            }
            (_, None) => None,
        };
        let counters = Arc::new(ExporterCounters::default());
        let finish = Arc::new(FinishSignal::default());
        let (tx, rx) = sync_channel(CHANNEL_BATCHES);
        let target = conn::Target { endpoint: config.to, tls };
        let engine = engine::Engine::new(config, max_message, target, templates, counters.clone());
        let signal = finish.clone();
        let thread = std::thread::Builder::new()
            .name("exporter".into())
            .spawn(move || engine.run(rx, &signal))
            .map_err(ExportError::Thread)?;
        let process = ExportingProcess { thread: Some(thread), counters: counters.clone(), finish, max_message };
        Ok((process, ExportSender { tx, counters }))
    }

    pub fn counters(&self) -> Arc<ExporterCounters> {
        self.counters.clone()
    }

    /// The largest message this process writes, as worked out from the configuration and the
    /// path.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// Waits until every [`ExportSender`] is dropped, then writes everything held (connecting
    /// first if need be), taking at most `deadline` from then; what is still held after it is
    /// counted as dropped. Returns the final counters.
    pub fn finish(mut self, deadline: Duration) -> ExporterStats {
        self.finish.set(deadline);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(stats)) => stats,
            _ => self.counters.snapshot(),
        }
    }
}

impl Drop for ExportingProcess {
    /// Without `finish`, the thread still ends once the senders are gone, writing what it can
    /// at once.
    fn drop(&mut self) {
        self.finish.set(Duration::ZERO);
    }
}

/// The largest message for the configured transport and profile.
fn message_limit(config: &ExporterConfig) -> Result<usize, ExportError> {
    if let Some(value) = config.max_message
        && !(MIN_MAX_MESSAGE..=MAX_MESSAGE_LEN).contains(&value)
    {
        return Err(ExportError::MaxMessage { value });
    }
    let Endpoint::Udp(to) = config.to else {
        return Ok(config.max_message.unwrap_or(MAX_MESSAGE_LEN));
    };
    let (headers, udp_max) = if to.is_ipv4() { (28, UDP_MAX_V4) } else { (48, UDP_MAX_V6) };
    if config.format == Format::Json {
        return Ok(udp_max);
    }
    let limit = config
        .max_message
        .unwrap_or_else(|| (path_mtu(to).unwrap_or(DEFAULT_MTU) - headers).max(MIN_MAX_MESSAGE))
        .min(udp_max);
    Ok(if config.profile == Profile::GoIpfix { limit.min(GO_IPFIX_UDP_MAX) } else { limit })
}

fn path_mtu(to: SocketAddr) -> Option<usize> {
    conn::path_mtu(to).filter(|&mtu| mtu > 48)
}
