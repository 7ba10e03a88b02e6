//! JSON formatting spread over worker threads, output kept in record order.
//!
//! Printing JSON costs several times more than decoding, so with more than one core the
//! decoding thread only copies each record's bytes into a batch (a few dozen bytes and an
//! index) and hands full batches to workers that format them. Results come back tagged with
//! the batch number and are written in order. Channels are bounded, so memory stays flat and a
//! slow reader of our output slows the decoding down rather than filling memory. Buffers travel
//! back and forth instead of being reallocated.
//!
//! Records whose template has RFC 6313 lists need their session's other templates, which live
//! on the decoding thread; those few are formatted there and travel as finished text.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::fields::Selection;
use super::json::JsonWriter;
use crate::core::ipfix::decoder::{MessageMeta, RecordRef, Templates};
use crate::core::ipfix::record::DataRecord;
use crate::core::ipfix::template::Template;
use crate::core::ipfix::types::DataType;

/// Records per batch: large enough that channel and lock costs vanish, small enough that the
/// first lines appear at once.
const BATCH_RECORDS: usize = 2048;

enum Entry {
    Record { meta: u32, template: u32, late: bool, start: u32, end: u32 },
    Text { start: u32, end: u32 },
}

#[derive(Default)]
struct Batch {
    seq: u64,
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    metas: Vec<MessageMeta>,
    templates: Vec<Arc<Template>>,
}

impl Batch {
    fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
        self.metas.clear();
        self.templates.clear();
    }
}

struct Done {
    seq: u64,
    text: Vec<u8>,
    batch: Batch,
}

/// Formats records as JSON lines on `workers` threads.
pub struct ParallelJson {
    jobs: Option<SyncSender<Batch>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    batch: Batch,
    spare_batches: Vec<Batch>,
    spare_text: Arc<Mutex<Vec<Vec<u8>>>>,
    next_seq: u64,
    next_to_write: u64,
    early: BTreeMap<u64, Vec<u8>>,
    /// Formats records with lists here on the decoding thread.
    local: JsonWriter,
    last_meta: Option<MessageMeta>,
    last_template: Option<*const Template>,
}

impl ParallelJson {
    pub fn new(with_frame: bool, selection: Option<Selection>, workers: usize) -> Self {
        let (jobs, job_rx) = sync_channel::<Batch>(workers * 2);
        let (done_tx, done) = std::sync::mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let spare_text: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let workers = (0..workers)
            .map(|_| {
                let (rx, tx, spare) = (job_rx.clone(), done_tx.clone(), spare_text.clone());
                let json = JsonWriter::new(with_frame).with_selection(selection.clone());
                std::thread::spawn(move || work(json, &rx, &tx, &spare))
            })
            .collect();
        ParallelJson {
            jobs: Some(jobs),
            done,
            workers,
            batch: Batch::default(),
            spare_batches: Vec::new(),
            spare_text,
            next_seq: 0,
            next_to_write: 0,
            early: BTreeMap::new(),
            local: JsonWriter::new(with_frame).with_selection(selection),
            last_meta: None,
            last_template: None,
        }
    }

    /// Queues one record; formatted text that is ready, in order, is passed to `write`.
    #[inline]
    pub fn record(&mut self, r: &RecordRef<'_>, write: &mut dyn FnMut(&[u8])) {
        let b = &mut self.batch;
        let start = b.bytes.len() as u32;
        if has_lists(r.record.template) {
            self.local.record(r, &mut b.bytes);
            b.entries.push(Entry::Text { start, end: b.bytes.len() as u32 });
        } else {
            if self.last_meta.as_ref() != Some(r.meta) || b.metas.is_empty() {
                b.metas.push(*r.meta);
                self.last_meta = Some(*r.meta);
            }
            let ptr = Arc::as_ptr(r.template);
            if self.last_template != Some(ptr) || b.templates.is_empty() {
                b.templates.push(r.template.clone());
                self.last_template = Some(ptr);
            }
            b.bytes.extend_from_slice(r.record.bytes);
            b.entries.push(Entry::Record {
                meta: (b.metas.len() - 1) as u32,
                template: (b.templates.len() - 1) as u32,
                late: r.late,
                start,
                end: b.bytes.len() as u32,
            });
        }
        if b.entries.len() >= BATCH_RECORDS {
            self.send(write);
        }
    }

    fn send(&mut self, write: &mut dyn FnMut(&[u8])) {
        let mut batch = std::mem::replace(&mut self.batch, self.spare_batches.pop().unwrap_or_default());
        self.last_meta = None;
        self.last_template = None;
        batch.seq = self.next_seq;
        self.next_seq += 1;
        if let Some(jobs) = &self.jobs {
            // A worker that died (it cannot, short of a bug) must not hang the decoder.
            if jobs.send(batch).is_err() {
                self.jobs = None;
            }
        }
        self.collect(false, write);
    }

    /// Writes finished batches in order; with `all`, waits for every batch sent.
    fn collect(&mut self, all: bool, write: &mut dyn FnMut(&[u8])) {
        loop {
            while let Some(text) = self.early.remove(&self.next_to_write) {
                write(&text);
                self.recycle_text(text);
                self.next_to_write += 1;
            }
            let pending = self.next_seq - self.next_to_write;
            let wait = pending > 0 && (all || pending as usize > 2 * self.workers.len().max(1));
            let done = if wait {
                match self.done.recv() {
                    Ok(d) => d,
                    Err(_) => return,
                }
            } else {
                match self.done.try_recv() {
                    Ok(d) => d,
                    Err(_) => return,
                }
            };
            let mut batch = done.batch;
            batch.clear();
            self.spare_batches.push(batch);
            self.early.insert(done.seq, done.text);
        }
    }

    fn recycle_text(&self, mut text: Vec<u8>) {
        text.clear();
        if let Ok(mut spare) = self.spare_text.lock() {
            spare.push(text);
        }
    }

    /// Sends what is queued, waits for every batch and writes the rest; stops the workers.
    pub fn finish(&mut self, write: &mut dyn FnMut(&[u8])) {
        if !self.batch.entries.is_empty() {
            self.send(write);
        }
        self.collect(true, write);
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for ParallelJson {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn has_lists(t: &Template) -> bool {
    t.fields.iter().any(|f| {
        matches!(f.data_type, DataType::BasicList | DataType::SubTemplateList | DataType::SubTemplateMultiList)
    })
}

fn work(mut json: JsonWriter, jobs: &Mutex<Receiver<Batch>>, done: &Sender<Done>, spare: &Mutex<Vec<Vec<u8>>>) {
    let no_templates = Templates::default();
    loop {
        let batch = match jobs.lock() {
            Ok(rx) => match rx.recv() {
                Ok(b) => b,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let mut text = spare.lock().ok().and_then(|mut s| s.pop()).unwrap_or_default();
        for e in &batch.entries {
            match *e {
                Entry::Text { start, end } => text.extend_from_slice(&batch.bytes[start as usize..end as usize]),
                Entry::Record { meta, template, late, start, end } => {
                    let template = &batch.templates[template as usize];
                    let record = DataRecord { template, bytes: &batch.bytes[start as usize..end as usize] };
                    let meta = &batch.metas[meta as usize];
                    let r = RecordRef { meta, record, template, templates: &no_templates, late };
                    json.record(&r, &mut text);
                }
            }
        }
        if done.send(Done { seq: batch.seq, text, batch }).is_err() {
            return;
        }
    }
}
