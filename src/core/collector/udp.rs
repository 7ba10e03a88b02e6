//! A UDP receiving thread: one socket, one decoder, one sink. The kernel keeps each exporter on
//! one socket of a SO_REUSEPORT group, so a thread sees whole sessions and needs no locks on the
//! record path.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::board::{Owner, SocketCounters};
use super::{RecordSink, Shared};
use crate::core::ipfix::decoder::{Decoder, Origin, RecordRef, SessionKey, Transport, Visitor};
use crate::core::ipfix::error::DecodeError;
use crate::core::transport::UdpReceiver;

/// How long a receive waits before the thread checks whether to stop.
const POLL: Duration = Duration::from_millis(100);
/// After a batch that came back less than half full, the thread naps this long so the next
/// `recvmmsg` finds a fuller queue: at moderate rates most of the CPU otherwise goes to waking
/// up for a few datagrams at a time. The receive buffer absorbs the pause (4 MiB is a few
/// thousand datagrams; 200 µs at 100k datagrams/s is 20), and latency grows by as much.
const NAP: Duration = Duration::from_micros(200);
/// The longest a stopping thread goes on reading what is queued.
const DRAIN: Duration = Duration::from_secs(1);
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
const EXPIRE_EVERY: Duration = Duration::from_secs(10);

/// Hands records to the sink and problems to the shared log.
pub(super) struct SinkVisitor<'a> {
    pub sink: Box<dyn RecordSink>,
    pub shared: &'a Shared,
}

impl Visitor for SinkVisitor<'_> {
    #[inline]
    fn record(&mut self, r: &RecordRef<'_>) {
        self.sink.record(r);
    }

    fn problem(&mut self, origin: &Origin, error: &DecodeError) {
        self.shared.problem(error.cause(), error.is_malformed(), || match origin.exporter {
            Some(from) => format!("from {from}: {error}"),
            None => error.to_string(),
        });
    }
}

pub(super) fn receive(mut rx: UdpReceiver, index: usize, batch_size: usize, shared: &Shared, stop: &AtomicBool) {
    let local = rx.local_addr();
    let owner = index as Owner;
    let mut decoder = Decoder::new(shared.decoder.clone());
    let mut visitor = SinkVisitor { sink: (shared.sinks)(), shared };
    let mut counters = SocketCounters::default();
    let mut frame = 0u64;
    let (mut published, mut expired) = (Instant::now(), Instant::now());
    // Once told to stop, the thread still reads what the kernel already holds (those datagrams
    // were received), for at most DRAIN should exporters go on sending.
    let mut draining_until = None;
    loop {
        if draining_until.is_none() && stop.load(Ordering::Relaxed) {
            draining_until = Some(Instant::now() + DRAIN);
        }
        let draining = draining_until.is_some();
        if draining_until.is_some_and(|until| Instant::now() >= until) {
            break;
        }
        match rx.recv(if draining { Duration::ZERO } else { POLL }) {
            Ok(batch) if draining && batch.is_empty() => break,
            Ok(batch) => {
                let time = batch.time;
                let nap = !batch.is_empty() && batch.len() < batch_size / 2;
                let mut any = false;
                for d in batch {
                    any = true;
                    frame += 1;
                    counters.datagrams += 1;
                    counters.bytes += d.bytes.len() as u64;
                    if d.truncated {
                        counters.truncated += 1;
                        shared.problem("udp-truncated", true, || {
                            format!("from {}: a datagram longer than 65535 bytes was cut; dropped", d.peer)
                        });
                        continue;
                    }
                    if let Some(capture) = &shared.capture
                        && let Ok(mut w) = capture.lock()
                        && let Err(e) = w.write(time, d.peer, local, d.bytes)
                    {
                        shared.problem("capture-write", true, || format!("writing the capture: {e}"));
                    }
                    let key = SessionKey {
                        source: 0,
                        transport: Transport::Udp,
                        exporter: Some(d.peer),
                        collector: Some(local),
                    };
                    let origin = Origin { frame, time, exporter: Some(d.peer), collector: Some(local) };
                    if decoder.decode(&key, origin, d.bytes, &mut visitor).refused {
                        counters.refused_messages += 1;
                    }
                }
                if !any {
                    visitor.sink.flush();
                }
                if nap && !draining {
                    std::thread::sleep(NAP);
                }
            }
            Err(_) if draining => break,
            Err(e) => {
                shared.problem("udp-receive", true, || format!("receiving on udp://{local}: {e}"));
                std::thread::sleep(POLL);
            }
        }
        if expired.elapsed() >= EXPIRE_EVERY {
            expired = Instant::now();
            let cutoff = crate::core::time::Timestamp::now().secs - shared.idle_timeout.as_secs() as i64;
            let ended = decoder.expire_idle(cutoff, &mut visitor);
            if let Ok(mut board) = shared.board.lock() {
                for s in ended {
                    board.ended(owner, s.stats());
                }
            }
        }
        if published.elapsed() >= PUBLISH_EVERY {
            published = Instant::now();
            counters.kernel_drops = rx.kernel_drops();
            publish(&decoder, local, index, counters, shared, false);
        }
    }
    decoder.finish(&mut visitor);
    visitor.sink.flush();
    counters.kernel_drops = rx.kernel_drops();
    publish(&decoder, local, index, counters, shared, true);
}

fn publish(decoder: &Decoder, local: SocketAddr, index: usize, counters: SocketCounters, shared: &Shared, last: bool) {
    let owner = index as Owner;
    let Ok(mut board) = shared.board.lock() else { return };
    for s in decoder.sessions() {
        if last { board.ended(owner, s.stats()) } else { board.publish(owner, s.stats()) }
    }
    board.sockets.insert((local, index), counters);
}
