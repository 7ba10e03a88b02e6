//! The exporting thread: batches in, messages out, reconnecting when the collector goes away.
//!
//! Records are copied from their batch into a data set per template; a set becomes a message
//! when the next record would not fit, when a flush comes due, or (to bound memory) when too many
//! sets are open. Messages collect in one output buffer, written with one system call per batch
//! of input (one `sendmmsg` over UDP). Nothing is allocated per record once the buffers have
//! grown.
//!
//! Held records live in three places: batches not yet taken apart (`pending`, bounded by the
//! queue bound while disconnected), partly filled data sets (at most one message per template),
//! and the output buffer while it is written. Only the first grows while the collector is away.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError, sync_channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::{info, warn};

use super::conn::{Connection, Target};
use super::templates::template_record_len;
use super::{ExporterConfig, ExporterCounters, ExporterStats, FinishSignal, Format, Profile, RecordBatch, TemplateSet};
use crate::core::ipfix::decoder::{MessageMeta, Origin, RecordRef, Templates};
use crate::core::ipfix::encoder::ipfix_template_record;
use crate::core::ipfix::message::{
    IPFIX_HEADER_LEN, IPFIX_OPTIONS_TEMPLATE_SET, IPFIX_TEMPLATE_SET, IPFIX_VERSION, MIN_DATA_SET_ID, MessageHeader,
    SET_HEADER_LEN,
};
use crate::core::ipfix::record::DataRecord;
use crate::core::ipfix::template::Template;
use crate::core::output::json::JsonWriter;
use crate::core::problems::{Policy, ProblemLog};
use crate::core::time::Timestamp;
use crate::core::transport::{Endpoint, TransportError};

/// A message header and one set header: what a data record shares a message with at least.
const DATA_OVERHEAD: usize = IPFIX_HEADER_LEN + SET_HEADER_LEN;
/// The output buffer is written once it holds this much.
const WRITE_AT: usize = 256 << 10;
/// Batches taken from the channel before the records are packed and written.
const DRAIN: usize = 64;
/// Data sets open at once; opening one more turns the oldest into a message.
const MAX_OPEN_SETS: usize = 256;
/// How long a TCP connect may take in normal operation.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a connection attempt in progress is looked at.
const CONNECT_POLL: Duration = Duration::from_millis(10);
/// A collector that takes nothing for this long is given up on (its write's records dropped).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long closing waits for the collector to close its side, at least and at most.
const LINGER: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(5));

/// Why records were dropped without being written; each is logged with its count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    UnknownTemplate,
    OptionsTemplate,
    TemplateTooLarge,
    EmptyRecords,
    RecordTooLarge,
    RecordMismatch,
}

impl Refusal {
    const ALL: [Refusal; 6] = [
        Refusal::UnknownTemplate,
        Refusal::OptionsTemplate,
        Refusal::TemplateTooLarge,
        Refusal::EmptyRecords,
        Refusal::RecordTooLarge,
        Refusal::RecordMismatch,
    ];

    fn cause(self) -> &'static str {
        match self {
            Refusal::UnknownTemplate => "export-unknown-template",
            Refusal::OptionsTemplate => "export-options-template",
            Refusal::TemplateTooLarge => "export-template-too-large",
            Refusal::EmptyRecords => "export-empty-records",
            Refusal::RecordTooLarge => "export-record-too-large",
            Refusal::RecordMismatch => "export-record-mismatch",
        }
    }

    fn explain(self, limit: usize) -> String {
        match self {
            Refusal::UnknownTemplate => "the template set has no such template".into(),
            Refusal::OptionsTemplate => "it is an options template, which go-ipfix collectors cannot read".into(),
            Refusal::TemplateTooLarge => format!("its template record does not fit a message of {limit} bytes"),
            Refusal::EmptyRecords => "its records take no bytes, so a collector cannot tell them apart".into(),
            Refusal::RecordTooLarge => format!("a record does not fit a message of {limit} bytes"),
            Refusal::RecordMismatch => "the record's bytes do not match its template's fields".into(),
        }
    }
}

/// Records dropped during one round of packing, per refusal, with the last template concerned.
#[derive(Default)]
struct Drops([(u64, u16); Refusal::ALL.len()]);

/// What the exporter knows of one template.
struct Known {
    template: Arc<Template>,
    refused: Option<Refusal>,
    /// Records of the open data set, back to back.
    body: Vec<u8>,
    records: u32,
    /// Sent on the current connection.
    announced: bool,
}

/// Finished messages waiting to be written.
#[derive(Default)]
struct Out {
    buf: Vec<u8>,
    /// Where each message (datagram) ends, and its data records.
    msgs: Vec<(usize, u32)>,
    records: u64,
}

impl Out {
    fn push_message(&mut self, records: u32) {
        self.msgs.push((self.buf.len(), records));
        self.records += u64::from(records);
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.msgs.clear();
        self.records = 0;
    }
}

/// JSON output: the record contract's writer, and the "message" each line claims to be from.
struct Json {
    writer: JsonWriter,
    /// Exported records have no sub-template lists of ours to resolve.
    templates: Templates,
    meta: MessageMeta,
}

pub(super) struct Engine {
    endpoint: Endpoint,
    profile: Profile,
    json: Option<Json>,
    domain: u32,
    limit: usize,
    template_refresh: Duration,
    flush_interval: Duration,
    queue_bound: usize,
    backoff_min: Duration,
    backoff_max: Duration,
    target: Arc<Target>,
    templates: Arc<TemplateSet>,
    counters: Arc<ExporterCounters>,
    problems: ProblemLog,

    conn: Option<Connection>,
    connecting: Option<Receiver<Result<Connection, TransportError>>>,
    next_attempt: Instant,
    backoff: Duration,
    /// A write succeeded on the current connection (and the backoff went back to its start).
    proven: bool,
    /// The connection was found alive since the last write (so messages may be built for it).
    checked: bool,

    pending: VecDeque<(RecordBatch, usize)>,
    pending_records: usize,
    /// Template `256 + i` at index `i`, once a record of it was seen.
    known: Vec<Option<Known>>,
    /// Templates with an open data set, oldest first.
    open: VecDeque<u16>,
    open_records: usize,
    out: Out,
    /// Data records sent on this connection before the next message (RFC 7011 §3.1).
    seq: u32,
    export_time: u32,
    next_flush: Instant,
    next_refresh: Option<Instant>,
    drops: Drops,
    /// Scratch list of template ids.
    ids: Vec<u16>,
}

impl Engine {
    pub fn new(
        config: ExporterConfig,
        limit: usize,
        target: Target,
        templates: Arc<TemplateSet>,
        counters: Arc<ExporterCounters>,
    ) -> Self {
        let now = Instant::now();
        let json = (config.format == Format::Json).then(|| Json {
            writer: JsonWriter::new(false),
            templates: Templates::default(),
            meta: MessageMeta {
                origin: Origin { frame: 0, time: Timestamp::now(), exporter: None, collector: None },
                header: MessageHeader { version: IPFIX_VERSION, domain: config.domain, ..MessageHeader::default() },
            },
        });
        Engine {
            endpoint: config.to,
            profile: config.profile,
            json,
            domain: config.domain,
            limit,
            template_refresh: config.template_refresh,
            flush_interval: config.flush_interval,
            queue_bound: config.queue_records,
            backoff_min: config.backoff_min,
            backoff_max: config.backoff_max,
            target: Arc::new(target),
            templates,
            counters,
            problems: ProblemLog::new(Policy::Every(Duration::from_secs(10))),
            conn: None,
            connecting: None,
            next_attempt: now,
            backoff: config.backoff_min,
            proven: false,
            checked: false,
            pending: VecDeque::new(),
            pending_records: 0,
            known: Vec::new(),
            open: VecDeque::new(),
            open_records: 0,
            out: Out::default(),
            seq: 0,
            export_time: 0,
            next_flush: now + config.flush_interval,
            next_refresh: None,
            drops: Drops::default(),
            ids: Vec::new(),
        }
    }

    /// Exports until every sender is gone and a deadline is set, then finishes.
    pub fn run(mut self, rx: Receiver<RecordBatch>, finish: &FinishSignal) -> ExporterStats {
        self.start_connect(CONNECT_TIMEOUT);
        let mut input = true;
        let deadline = loop {
            let wait = self.next_wakeup().saturating_duration_since(Instant::now());
            if input {
                match rx.recv_timeout(wait) {
                    Ok(batch) => {
                        self.accept(batch);
                        for _ in 0..DRAIN {
                            match rx.try_recv() {
                                Ok(batch) => self.accept(batch),
                                Err(_) => break,
                            }
                        }
                        self.pump(false);
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => input = false,
                }
            } else if let Some(deadline) = finish.wait(wait) {
                break deadline;
            }
            self.timers();
        };
        self.finish(deadline)
    }

    fn next_wakeup(&self) -> Instant {
        let mut at = self.next_flush;
        if self.connecting.is_some() {
            at = at.min(Instant::now() + CONNECT_POLL);
        } else if self.conn.is_none() {
            at = at.min(self.next_attempt);
        }
        if let Some(refresh) = self.next_refresh {
            at = at.min(refresh);
        }
        at
    }

    fn timers(&mut self) {
        self.poll_connect();
        let now = Instant::now();
        if self.conn.is_none() && self.connecting.is_none() && now >= self.next_attempt {
            self.start_connect(CONNECT_TIMEOUT);
        }
        if now >= self.next_flush {
            self.next_flush = now + self.flush_interval;
            self.pump(true);
        }
        if let Some(at) = self.next_refresh
            && now >= at
        {
            self.next_refresh = Some(now + self.template_refresh);
            self.refresh();
        }
    }

    /// Writes what is held for as long as `deadline` allows (connecting if need be), counts what
    /// is left as dropped, and closes the connection gracefully.
    fn finish(mut self, deadline: Duration) -> ExporterStats {
        let end = Instant::now() + deadline;
        loop {
            self.poll_connect();
            if let Some(conn) = &self.conn {
                conn.set_write_timeout(end.saturating_duration_since(Instant::now()));
                self.pump(true);
            }
            let now = Instant::now();
            if self.held() == 0 || now >= end {
                break;
            }
            if self.conn.is_none() && self.connecting.is_none() && now >= self.next_attempt {
                self.start_connect(end - now);
                continue;
            }
            let wake = if self.connecting.is_some() { now + CONNECT_POLL } else { self.next_attempt };
            std::thread::sleep(wake.min(end).saturating_duration_since(now).max(Duration::from_millis(1)));
        }
        let held = self.held();
        if held > 0 {
            self.lost(held as u64);
            warn!(
                "{held} records could not be exported to {} within the {:?} allowed at shutdown; counted as dropped",
                self.endpoint, deadline
            );
        }
        if let Some(conn) = self.conn.take() {
            conn.close(end.saturating_duration_since(Instant::now()).clamp(LINGER.0, LINGER.1));
        }
        self.counters.connected.store(0, Ordering::Relaxed);
        self.counters.snapshot()
    }

    fn held(&self) -> usize {
        self.pending_records + self.open_records + self.out.records as usize
    }

    fn start_connect(&mut self, timeout: Duration) {
        if matches!(self.endpoint, Endpoint::Udp(_)) {
            // A UDP "connection" is a socket with a destination: nothing to wait for.
            let result = Connection::open(&self.target, timeout);
            return self.connected(result);
        }
        let (tx, rx) = sync_channel(1);
        let target = self.target.clone();
        let spawned = std::thread::Builder::new().name("exporter-connect".into()).spawn(move || {
            let _ = tx.send(Connection::open(&target, timeout));
        });
        match spawned {
            Ok(_) => self.connecting = Some(rx),
            Err(io) => self.connected(Err(TransportError::Connect { endpoint: self.endpoint, io })),
        }
    }

    fn poll_connect(&mut self) {
        let Some(rx) = &self.connecting else { return };
        let result = match rx.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => Err(TransportError::Connect {
                endpoint: self.endpoint,
                io: std::io::Error::other("the connecting thread ended without an answer"),
            }),
        };
        self.connecting = None;
        self.connected(result);
    }

    fn connected(&mut self, result: Result<Connection, TransportError>) {
        let conn = match result {
            Ok(conn) => conn,
            Err(e) => {
                let (held, wait) = (self.held(), self.backoff);
                self.problems.report("export-connect", true, || {
                    format!("cannot export: {e}; {held} records held, trying again in {wait:?}")
                });
                return self.schedule_retry();
            }
        };
        info!("exporting to {} from {}", self.endpoint, conn.local);
        self.counters.connects.fetch_add(1, Ordering::Relaxed);
        self.counters.connected.store(1, Ordering::Relaxed);
        self.seq = 0;
        self.checked = false;
        for k in self.known.iter_mut().flatten() {
            k.announced = false;
        }
        if conn.is_udp() && !self.template_refresh.is_zero() {
            self.next_refresh = Some(Instant::now() + self.template_refresh);
        }
        if let Some(json) = &mut self.json {
            json.meta.origin.exporter = Some(conn.local);
            json.meta.origin.collector = Some(conn.peer);
        }
        conn.set_write_timeout(WRITE_TIMEOUT);
        self.conn = Some(conn);
        self.pump(false);
    }

    fn schedule_retry(&mut self) {
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(self.backoff_max);
        self.proven = false;
    }

    /// The connection broke (`why`): whatever was in the output buffer is lost, the rest waits
    /// for the next connection.
    fn disconnect(&mut self, why: &str) {
        self.conn = None;
        self.next_refresh = None;
        self.counters.connected.store(0, Ordering::Relaxed);
        self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
        let lost = self.out.records;
        if lost > 0 {
            self.lost(lost);
        }
        self.out.clear();
        self.schedule_retry();
        let (endpoint, wait, held) =
            (self.endpoint, self.next_attempt.saturating_duration_since(Instant::now()), self.held());
        self.problems.report("export-connection", true, || {
            let lost = if lost > 0 { format!("{lost} records of the failed write dropped, ") } else { String::new() };
            format!("exporting to {endpoint}: {why}; {lost}{held} records held, reconnecting in {wait:.1?}")
        });
    }

    /// Takes a batch from a sender. While disconnected, only what the queue bound allows is kept.
    fn accept(&mut self, batch: RecordBatch) {
        self.pending_records += batch.len();
        self.pending.push_back((batch, 0));
        if self.conn.is_none() {
            self.enforce_bound();
        }
    }

    /// Drops the newest waiting records beyond the queue bound.
    fn enforce_bound(&mut self) {
        let over = self.pending_records.saturating_sub(self.queue_bound);
        let mut dropped = 0;
        while dropped < over {
            let Some((batch, next)) = self.pending.back_mut() else { break };
            let waiting = batch.len() - *next;
            if waiting <= over - dropped {
                dropped += waiting;
                self.pending.pop_back();
            } else {
                batch.truncate(batch.len() - (over - dropped));
                dropped = over;
            }
        }
        if dropped == 0 {
            return;
        }
        self.pending_records -= dropped;
        self.lost(dropped as u64);
        let (bound, endpoint) = (self.queue_bound, self.endpoint);
        self.problems.report("export-queue-full", true, || {
            format!("{dropped} records dropped: {bound} records already wait for {endpoint} to be reachable")
        });
    }

    /// Records that will not be exported.
    fn lost(&self, n: u64) {
        self.counters.records_dropped.fetch_add(n, Ordering::Relaxed);
        self.counters.queue_records.fetch_sub(n, Ordering::Relaxed);
    }

    /// Whether messages may be built for the connection: it is there and the collector has not
    /// closed it since the last write.
    fn ensure_alive(&mut self) -> bool {
        let Some(conn) = &mut self.conn else { return false };
        if self.checked {
            return true;
        }
        match conn.check() {
            Ok(()) => {
                self.checked = true;
                true
            }
            Err(why) => {
                self.disconnect(&why);
                false
            }
        }
    }

    /// Packs waiting records into messages and writes the finished ones; `all` also turns the
    /// open data sets into messages (a flush).
    fn pump(&mut self, all: bool) {
        if self.conn.is_none() {
            return;
        }
        self.checked = false;
        self.clock();
        while let Some((batch, start)) = self.pending.pop_front() {
            let mut i = start;
            while let Some((id, bytes)) = batch.get(i) {
                if !self.add(id, bytes) {
                    break;
                }
                i += 1;
                self.pending_records -= 1;
            }
            if i < batch.len() {
                self.pending.push_front((batch, i));
                break;
            }
        }
        if all && self.conn.is_some() && !self.open.is_empty() && self.ensure_alive() {
            self.finish_open_sets();
        }
        self.write_out();
        self.report_drops();
        if self.conn.is_none() {
            self.enforce_bound();
        }
    }

    fn clock(&mut self) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        self.export_time = now.as_secs() as u32;
        if let Some(json) = &mut self.json {
            json.meta.origin.time = Timestamp::now();
            json.meta.header.export_time = self.export_time;
        }
    }

    /// The index of template `id` in `known`, loading it from the template set on first sight.
    fn load(&mut self, id: u16) -> Option<usize> {
        let i = usize::from(id.checked_sub(MIN_DATA_SET_ID)?);
        if self.known.get(i).is_some_and(Option::is_some) {
            return Some(i);
        }
        let template = self.templates.get(id)?;
        let refused = if self.json.is_some() {
            None
        } else if template.is_options() && self.profile == Profile::GoIpfix {
            Some(Refusal::OptionsTemplate)
        } else if DATA_OVERHEAD + template_record_len(&template) > self.limit {
            Some(Refusal::TemplateTooLarge)
        } else if template.record_len == Some(0) {
            Some(Refusal::EmptyRecords)
        } else {
            None
        };
        if self.known.len() <= i {
            self.known.resize_with(i + 1, || None);
        }
        self.known[i] = Some(Known { template, refused, body: Vec::new(), records: 0, announced: false });
        Some(i)
    }

    fn known(&mut self, i: usize) -> &mut Known {
        self.known[i].as_mut().expect("loaded before use")
    }

    fn refuse(&mut self, why: Refusal, id: u16) {
        let slot = &mut self.drops.0[why as usize];
        slot.0 += 1;
        slot.1 = id;
    }

    fn report_drops(&mut self) {
        for (index, why) in Refusal::ALL.into_iter().enumerate() {
            let (n, id) = std::mem::take(&mut self.drops.0[index]);
            if n == 0 {
                continue;
            }
            self.lost(n);
            let limit = self.limit;
            self.problems
                .report(why.cause(), true, || format!("{n} records of template {id} dropped: {}", why.explain(limit)));
        }
    }

    /// Takes one record into a data set (or a JSON line). `false` when the connection turned out
    /// to be gone before the record could be placed; it waits for the next one.
    fn add(&mut self, id: u16, bytes: &[u8]) -> bool {
        let Some(i) = self.load(id) else {
            self.refuse(Refusal::UnknownTemplate, id);
            return true;
        };
        let k = self.known[i].as_ref().expect("just loaded");
        if let Some(why) = k.refused {
            self.refuse(why, id);
            return true;
        }
        if k.template.record_length(bytes) != Some(bytes.len()) {
            self.refuse(Refusal::RecordMismatch, id);
            return true;
        }
        if self.json.is_some() {
            return self.add_json(i, id, bytes);
        }
        if DATA_OVERHEAD + bytes.len() > self.limit {
            self.refuse(Refusal::RecordTooLarge, id);
            return true;
        }
        if DATA_OVERHEAD + k.body.len() + bytes.len() > self.limit {
            if !self.ensure_alive() {
                return false;
            }
            self.finish_set(i);
        }
        let k = self.known(i);
        k.body.extend_from_slice(bytes);
        k.records += 1;
        if k.records == 1 {
            self.open.push_back(id);
        }
        self.open_records += 1;
        if self.open.len() > MAX_OPEN_SETS && self.ensure_alive() {
            let oldest = usize::from(self.open[0] - MIN_DATA_SET_ID);
            self.finish_set(oldest);
        }
        if self.out.buf.len() >= WRITE_AT {
            self.write_out();
        }
        true
    }

    fn add_json(&mut self, i: usize, id: u16, bytes: &[u8]) -> bool {
        if !self.ensure_alive() {
            return false;
        }
        let udp = matches!(self.endpoint, Endpoint::Udp(_));
        let (Some(json), Some(Some(k))) = (&mut self.json, self.known.get(i)) else { return true };
        json.meta.header.sequence = self.seq;
        let start = self.out.buf.len();
        let record = DataRecord { template: &k.template, bytes };
        let r = RecordRef { meta: &json.meta, record, template: &k.template, templates: &json.templates, late: false };
        json.writer.record(&r, &mut self.out.buf);
        if udp {
            // One object per datagram, without the line's end.
            self.out.buf.pop();
            if self.out.buf.len() - start > self.limit {
                self.out.buf.truncate(start);
                self.refuse(Refusal::RecordTooLarge, id);
                return true;
            }
        }
        self.seq = self.seq.wrapping_add(1);
        self.out.push_message(1);
        if self.out.buf.len() >= WRITE_AT {
            self.write_out();
        }
        true
    }

    /// Turns the open data set of `known[i]` into a message of its own, after its template if the
    /// connection has not seen it.
    fn finish_set(&mut self, i: usize) {
        let id = self.known(i).template.id;
        self.announce_one(i);
        let (export_time, seq, domain) = (self.export_time, self.seq, self.domain);
        let k = self.known[i].as_mut().expect("loaded before use");
        let records = k.records;
        if records == 0 {
            return;
        }
        let buf = &mut self.out.buf;
        let message = begin(buf, 0);
        let set = begin(buf, id);
        buf.extend_from_slice(&k.body);
        end_set(buf, set);
        end_message(buf, message, export_time, seq, domain);
        k.body.clear();
        k.records = 0;
        self.out.push_message(records);
        self.seq = self.seq.wrapping_add(records);
        self.open_records -= records as usize;
        if let Some(at) = self.open.iter().position(|&o| o == id) {
            self.open.remove(at);
        }
    }

    /// Turns every open data set into messages: one message each for go-ipfix, as few as fit
    /// otherwise.
    fn finish_open_sets(&mut self) {
        if self.profile == Profile::GoIpfix {
            while let Some(&id) = self.open.front() {
                self.finish_set(usize::from(id - MIN_DATA_SET_ID));
            }
            return;
        }
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        ids.extend(self.open.drain(..));
        self.announce(&ids);
        let (export_time, domain, limit) = (self.export_time, self.domain, self.limit);
        let mut message: Option<(usize, u32)> = None;
        for &id in &ids {
            let k = self.known[usize::from(id - MIN_DATA_SET_ID)].as_mut().expect("open sets are loaded");
            let buf = &mut self.out.buf;
            if let Some((start, records)) = message
                && buf.len() - start + SET_HEADER_LEN + k.body.len() > limit
            {
                end_message(buf, start, export_time, self.seq, domain);
                self.out.push_message(records);
                self.seq = self.seq.wrapping_add(records);
                message = None;
            }
            let buf = &mut self.out.buf;
            if message.is_none() {
                message = Some((begin(buf, 0), 0));
            }
            let set = begin(buf, id);
            buf.extend_from_slice(&k.body);
            end_set(buf, set);
            if let Some((_, records)) = &mut message {
                *records += k.records;
            }
            self.open_records -= k.records as usize;
            k.body.clear();
            k.records = 0;
        }
        if let Some((start, records)) = message {
            end_message(&mut self.out.buf, start, export_time, self.seq, domain);
            self.out.push_message(records);
            self.seq = self.seq.wrapping_add(records);
        }
        self.ids = ids;
    }

    fn announce_one(&mut self, i: usize) {
        if self.known(i).announced {
            return;
        }
        let id = self.known(i).template.id;
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        ids.push(id);
        self.announce(&ids);
        self.ids = ids;
    }

    /// Writes template messages for the templates of `ids` the connection has not seen. go-ipfix:
    /// one message per template. Otherwise: one template set with every data template and one
    /// options template set, in as few messages as fit.
    fn announce(&mut self, ids: &[u16]) {
        let (export_time, seq, domain, limit) = (self.export_time, self.seq, self.domain, self.limit);
        let buf = &mut self.out.buf;
        let mut message: Option<usize> = None;
        for options in [false, true] {
            let mut set: Option<usize> = None;
            for &id in ids {
                let Some(Some(k)) = self.known.get_mut(usize::from(id - MIN_DATA_SET_ID)) else { continue };
                if k.announced || k.template.is_options() != options {
                    continue;
                }
                k.announced = true;
                let len = template_record_len(&k.template);
                let full = match message {
                    Some(start) => {
                        self.profile == Profile::GoIpfix
                            || buf.len() - start + len + if set.is_some() { 0 } else { SET_HEADER_LEN } > limit
                    }
                    None => false,
                };
                if full && let Some(start) = message.take() {
                    if let Some(s) = set.take() {
                        end_set(buf, s);
                    }
                    end_message(buf, start, export_time, seq, domain);
                    self.out.msgs.push((buf.len(), 0));
                }
                if message.is_none() {
                    message = Some(begin(buf, 0));
                }
                if set.is_none() {
                    set = Some(begin(buf, if options { IPFIX_OPTIONS_TEMPLATE_SET } else { IPFIX_TEMPLATE_SET }));
                }
                ipfix_template_record(buf, &k.template);
            }
            if let Some(s) = set {
                end_set(buf, s);
            }
        }
        if let Some(start) = message {
            end_message(buf, start, export_time, seq, domain);
            self.out.msgs.push((buf.len(), 0));
        }
    }

    /// Sends every template the connection has seen again (UDP, RFC 7011 §8.4).
    fn refresh(&mut self) {
        self.checked = false;
        if !self.ensure_alive() {
            return;
        }
        self.clock();
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        for k in self.known.iter_mut().flatten() {
            if k.announced {
                k.announced = false;
                ids.push(k.template.id);
            }
        }
        self.announce(&ids);
        self.ids = ids;
        self.write_out();
    }

    /// Writes the finished messages. A failed write loses its records: bytes handed to the
    /// kernel before the error may or may not have reached the collector, and a collector that
    /// got part of a message over TCP discards the rest of the stream, so none of them can be
    /// known delivered; counting them as dropped never counts a record twice.
    fn write_out(&mut self) {
        if self.out.msgs.is_empty() {
            return;
        }
        // Messages are only built for a live connection, and losing it clears them.
        let Some(conn) = &mut self.conn else { return };
        let (sent, error) = if conn.is_udp() {
            let mut datagrams: Vec<&[u8]> = Vec::with_capacity(self.out.msgs.len());
            let mut start = 0;
            for &(end, _) in &self.out.msgs {
                datagrams.push(&self.out.buf[start..end]);
                start = end;
            }
            match conn.send_datagrams(&datagrams) {
                Ok(n) if n == datagrams.len() => (n, None),
                Ok(n) => (n, Some("the socket stopped taking datagrams".to_owned())),
                Err(e) => (0, Some(format!("sending failed: {e}"))),
            }
        } else {
            match conn.write(&self.out.buf) {
                Ok(()) => (self.out.msgs.len(), None),
                Err(e) => (0, Some(format!("writing failed: {e}"))),
            }
        };
        let (mut records, mut bytes) = (0u64, 0usize);
        for &(end, n) in &self.out.msgs[..sent] {
            records += u64::from(n);
            bytes = end;
        }
        let c = &self.counters;
        c.records_exported.fetch_add(records, Ordering::Relaxed);
        c.queue_records.fetch_sub(records, Ordering::Relaxed);
        c.messages.fetch_add(sent as u64, Ordering::Relaxed);
        c.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.out.records -= records;
        match error {
            None => {
                self.out.clear();
                self.checked = true;
                if !self.proven {
                    self.proven = true;
                    self.backoff = self.backoff_min;
                }
            }
            Some(why) => self.disconnect(&why),
        }
    }
}

/// Starts a message (`id` 0) or a set at the end of `buf`; the header is filled in when it ends.
fn begin(buf: &mut Vec<u8>, id: u16) -> usize {
    let start = buf.len();
    if id == 0 {
        buf.extend_from_slice(&[0; IPFIX_HEADER_LEN]);
    } else {
        buf.extend_from_slice(&id.to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
    }
    start
}

fn end_set(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start) as u16;
    buf[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
}

fn end_message(buf: &mut [u8], start: usize, export_time: u32, seq: u32, domain: u32) {
    let len = (buf.len() - start) as u16;
    let header = &mut buf[start..start + IPFIX_HEADER_LEN];
    header[0..2].copy_from_slice(&IPFIX_VERSION.to_be_bytes());
    header[2..4].copy_from_slice(&len.to_be_bytes());
    header[4..8].copy_from_slice(&export_time.to_be_bytes());
    header[8..12].copy_from_slice(&seq.to_be_bytes());
    header[12..16].copy_from_slice(&domain.to_be_bytes());
}
