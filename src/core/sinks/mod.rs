//! Where the aggregator's records go besides the IPFIX exporting process: the CSV flow log
//! (`log`) and ClickHouse (`clickhouse`). Each sink runs on its own thread behind its own bounded
//! queue ([`SinkHandle`]), so a sink that is slow or failing never holds up the engine or the
//! other sinks: when its queue is full the batch is dropped for that sink alone, and counted.

pub mod clickhouse;
pub mod log;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::core::flow::Flow;

/// Records the engine exported at one expiry tick, shared by every sink.
pub type Batch = Arc<[Flow]>;

/// What one sink did; every record offered ends up in exactly one of written, filtered or
/// dropped (or is still held: [`pending`](Self::pending)).
#[derive(Debug, Default)]
pub struct SinkCounters {
    /// Records handed to the sink's queue.
    pub offered: AtomicU64,
    /// Records written to their destination.
    pub written: AtomicU64,
    /// Records the sink's filters left out.
    pub filtered: AtomicU64,
    /// Records lost: the queue was full, or the sink's own bound was passed.
    pub dropped: AtomicU64,
    /// Writes or commits that failed (their records are retried or dropped, and counted there).
    pub errors: AtomicU64,
}

impl SinkCounters {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Records offered and not yet written, filtered or dropped.
    pub fn pending(&self) -> u64 {
        let done = self.written.load(Ordering::Relaxed)
            + self.filtered.load(Ordering::Relaxed)
            + self.dropped.load(Ordering::Relaxed);
        self.offered.load(Ordering::Relaxed).saturating_sub(done)
    }
}

/// A destination for aggregated records. Its methods run on the sink's own thread.
pub trait Sink: Send + 'static {
    /// Takes records; the sink may buffer them until [`tick`](Self::tick).
    fn write(&mut self, flows: &[Flow], counters: &SinkCounters);
    /// How often [`tick`](Self::tick) runs.
    fn interval(&self) -> Duration;
    /// Flushes or commits what is due.
    fn tick(&mut self, counters: &SinkCounters);
    /// The last call: writes everything still held, taking at most `deadline`; what cannot be
    /// written is counted as dropped.
    fn close(&mut self, deadline: Duration, counters: &SinkCounters);
}

/// A sink running on its own thread behind a bounded queue of batches.
pub struct SinkHandle {
    name: &'static str,
    queue: Option<SyncSender<Batch>>,
    counters: Arc<SinkCounters>,
    thread: Option<JoinHandle<()>>,
    deadline: Arc<std::sync::Mutex<Duration>>,
}

impl SinkHandle {
    /// Starts `sink` on a thread named after it, with room for `queue_batches` batches.
    pub fn spawn(name: &'static str, queue_batches: usize, mut sink: impl Sink) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Batch>(queue_batches.max(1));
        let counters = Arc::new(SinkCounters::default());
        let deadline = Arc::new(std::sync::Mutex::new(Duration::from_secs(10)));
        let (c, d) = (counters.clone(), deadline.clone());
        let thread = std::thread::Builder::new().name(format!("sink-{name}")).spawn(move || {
            let interval = sink.interval();
            let mut next = Instant::now() + interval;
            loop {
                match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                    Ok(batch) => sink.write(&batch, &c),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                if Instant::now() >= next {
                    sink.tick(&c);
                    next = Instant::now() + interval;
                }
            }
            let deadline = d.lock().map_or(Duration::from_secs(10), |d| *d);
            sink.close(deadline, &c);
        })?;
        Ok(SinkHandle { name, queue: Some(tx), counters, thread: Some(thread), deadline })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn counters(&self) -> &Arc<SinkCounters> {
        &self.counters
    }

    /// Queues `batch` without waiting; when the queue is full the batch is dropped and counted.
    pub fn offer(&self, batch: &Batch) {
        let Some(queue) = &self.queue else { return };
        SinkCounters::add(&self.counters.offered, batch.len());
        match queue.try_send(batch.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) => {
                SinkCounters::add(&self.counters.dropped, b.len());
            }
        }
    }

    /// Lets the sink write what it holds, for at most `deadline`, and stops it.
    pub fn finish(mut self, deadline: Duration) {
        if let Ok(mut d) = self.deadline.lock() {
            *d = deadline;
        }
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            // A sink that panicked has already lost its records; its counters say how many.
            let _ = thread.join();
        }
    }
}

impl Drop for SinkHandle {
    fn drop(&mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Takes records only when allowed to, as a sink whose destination is down would.
    struct Gate {
        open: Arc<Mutex<bool>>,
        seen: Arc<AtomicU64>,
    }

    impl Sink for Gate {
        fn write(&mut self, flows: &[Flow], counters: &SinkCounters) {
            while !*self.open.lock().unwrap() {
                std::thread::sleep(Duration::from_millis(5));
            }
            self.seen.fetch_add(flows.len() as u64, Ordering::Relaxed);
            SinkCounters::add(&counters.written, flows.len());
        }
        fn interval(&self) -> Duration {
            Duration::from_millis(50)
        }
        fn tick(&mut self, _: &SinkCounters) {}
        fn close(&mut self, _: Duration, _: &SinkCounters) {}
    }

    #[test]
    fn a_stuck_sink_drops_and_counts_what_its_queue_cannot_hold_and_writes_the_rest() {
        let open = Arc::new(Mutex::new(false));
        let seen = Arc::new(AtomicU64::new(0));
        let sink = SinkHandle::spawn("gate", 2, Gate { open: open.clone(), seen: seen.clone() }).unwrap();
        let batch: Batch = vec![Flow::default(); 10].into();
        sink.offer(&batch);
        // The first batch is being written (stuck); two more wait in the queue, three do not fit.
        std::thread::sleep(Duration::from_millis(100));
        for _ in 0..5 {
            sink.offer(&batch);
        }
        let c = sink.counters().clone();
        assert_eq!(c.offered.load(Ordering::Relaxed), 60);
        assert_eq!(c.dropped.load(Ordering::Relaxed), 30);
        *open.lock().unwrap() = true;
        sink.finish(Duration::from_secs(1));
        assert_eq!(seen.load(Ordering::Relaxed), 30);
        assert_eq!(c.pending(), 0);
    }
}
