//! TCP and TLS: an accept loop per listener, and a task per connection with a decoder of its own
//! (a connection is one transport session). A connection that breaks the protocol is closed, the
//! only signal IPFIX over TCP has (RFC 7011 §10.4); other connections carry on.
//!
//! Descriptors and session slots are bounded in time as well as in number: a connection that
//! sends no message within the first-message timeout, or nothing within the idle timeout after
//! its last one, is closed; at the session bound, the longest-open connection that never sent a
//! message makes room before a new one is refused. On shutdown the listener closes at once and
//! each connection is read until it is empty or closes (bounded by the drain timeout), so what an
//! exporter handed over before the signal is decoded; what is left unread is counted as lost.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Shared;
use super::udp::SinkVisitor;
use crate::core::ipfix::decoder::{Decoder, Origin, SessionKey, Transport};
use crate::core::time::Timestamp;
use crate::core::transport::{AcceptError, MessageStream, StreamListener};

/// How often a connection publishes its counters and flushes its sink.
const TICK: Duration = Duration::from_millis(200);
/// While draining on shutdown, a connection whose socket stayed empty this long is done.
const DRAIN_QUIET: Duration = Duration::from_millis(100);

/// What the accept loop knows of a connection it started: when, whether it has sent a message,
/// and how to ask it to close (it then ends its session and counts itself as it always does).
struct Live {
    opened: Instant,
    spoke: Arc<AtomicBool>,
    evict: Arc<Notify>,
}

pub(super) async fn serve(listener: StreamListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    // By task, so a connection's entry goes however its task ends.
    let mut live: HashMap<tokio::task::Id, Live> = HashMap::new();
    let mut next_id = 1u32;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let evicted = if live.len() >= shared.decoder.max_sessions { evict_silent(&mut live) } else { false };
                    let refuse = live.len() >= shared.decoder.max_sessions;
                    if let Ok(mut board) = shared.board.lock() {
                        board.connections.evicted += u64::from(evicted);
                        if refuse {
                            board.connections.refused += 1;
                        } else {
                            board.connections.accepted += 1;
                            board.connections.active += 1;
                        }
                    }
                    if evicted {
                        shared.problem("session-limit-evict", true, || {
                            format!("at the session bound: closed the longest-open connection that never sent a message, for {peer}")
                        });
                    }
                    if refuse {
                        shared.problem("session-limit", true, || format!("connection from {peer} refused: too many sessions"));
                        continue;
                    }
                    let id = next_id;
                    next_id = next_id.wrapping_add(1).max(1);
                    let (spoke, evict) = (Arc::new(AtomicBool::new(false)), Arc::new(Notify::new()));
                    let conn = Connection { id, peer, spoke: spoke.clone(), evict: evict.clone(), shared: shared.clone(), stop: stop.clone() };
                    let task = connections.spawn(conn.serve(stream));
                    live.insert(task.id(), Live { opened: Instant::now(), spoke, evict });
                }
                Err(e) => {
                    let cause = match e {
                        AcceptError::Handshake { .. } | AcceptError::HandshakeTimeout { .. } => "tls-handshake",
                        AcceptError::HandshakesFromSource { .. } | AcceptError::HandshakeDropped { .. } => "tls-handshake-limit",
                        AcceptError::Accept { .. } | AcceptError::Closed { .. } => "accept",
                    };
                    if let Ok(mut board) = shared.board.lock() {
                        let c = &mut board.connections;
                        match e {
                            AcceptError::Handshake { .. } | AcceptError::HandshakeTimeout { .. } => c.handshake_failures += 1,
                            AcceptError::HandshakesFromSource { .. } => c.handshakes_refused += 1,
                            AcceptError::HandshakeDropped { .. } => c.handshakes_dropped += 1,
                            AcceptError::Accept { .. } | AcceptError::Closed { .. } => {}
                        }
                    }
                    shared.problem(cause, true, || e.to_string());
                }
            },
            Some(done) = connections.join_next_with_id(), if !connections.is_empty() => {
                live.remove(&done.map_or_else(|e| e.id(), |(id, ())| id));
            }
            _ = stop.changed() => break,
        }
    }
    // No new connections while the open ones drain.
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Asks the longest-open connection that never sent a message to close; false if there is none.
fn evict_silent(live: &mut HashMap<tokio::task::Id, Live>) -> bool {
    let oldest = live.iter().filter(|(_, l)| !l.spoke.load(Ordering::Relaxed)).min_by_key(|(_, l)| l.opened);
    match oldest.map(|(&id, _)| id).and_then(|id| live.remove(&id)) {
        Some(l) => {
            l.evict.notify_one();
            true
        }
        None => false,
    }
}

struct Connection {
    id: u32,
    peer: SocketAddr,
    spoke: Arc<AtomicBool>,
    evict: Arc<Notify>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
}

/// Why a connection's reading loop ended.
enum End {
    /// The peer closed, or broke the stream or the protocol (counted where it happened).
    Peer,
    Silent,
    Idle,
    Evicted,
    Shutdown,
}

impl Connection {
    /// Reads the connection until it ends.
    async fn serve(mut self, mut stream: MessageStream) {
        let (peer, shared) = (self.peer, self.shared.clone());
        let limits = shared.connections;
        let local = stream.local();
        let mut reader = Reader {
            key: SessionKey {
                source: self.id,
                transport: Transport::Tcp,
                exporter: Some(peer),
                collector: Some(local),
            },
            decoder: Decoder::new(shared.decoder.clone()),
            visitor: SinkVisitor { sink: (shared.sinks)(), shared: &shared },
            peer,
            local,
            frame: 0,
            tcp_seq: 1,
        };
        reader.syn();
        let mut tick = tokio::time::interval(TICK);
        let mut deadline = Instant::now() + limits.first_message_timeout;
        let end = loop {
            tokio::select! {
                message = stream.next_message() => match message {
                    Some(Ok(bytes)) => {
                        if !reader.take(&bytes) {
                            break End::Peer;
                        }
                        self.spoke.store(true, Ordering::Relaxed);
                        deadline = Instant::now() + limits.idle_timeout;
                    }
                    Some(Err(e)) => {
                        reader.framing_error(&e);
                        break End::Peer;
                    }
                    None => break End::Peer,
                },
                _ = tick.tick() => {
                    reader.visitor.sink.flush();
                    if let (Some(s), Ok(mut board)) = (reader.decoder.session(&reader.key), shared.board.lock()) {
                        board.publish(0, s.stats());
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    break if self.spoke.load(Ordering::Relaxed) { End::Idle } else { End::Silent };
                }
                _ = self.evict.notified() => break End::Evicted,
                _ = self.stop.changed() => break End::Shutdown,
            }
        };
        let undrained = match end {
            End::Shutdown => reader.drain(&mut stream, limits.drain_timeout).await,
            End::Silent => {
                let after = limits.first_message_timeout;
                shared.problem("tcp-silent", true, || {
                    format!(
                        "closing the connection from {peer}: no complete message within {}s of opening",
                        after.as_secs()
                    )
                });
                0
            }
            End::Idle => {
                let after = limits.idle_timeout;
                shared.problem("tcp-idle", true, || {
                    format!("closing the connection from {peer}: nothing received for {}s", after.as_secs())
                });
                0
            }
            End::Peer | End::Evicted => 0,
        };
        let ended = reader.decoder.close_session(&reader.key, &mut reader.visitor);
        reader.visitor.sink.flush();
        if let Ok(mut board) = shared.board.lock() {
            if let Some(s) = ended {
                board.ended(0, s.stats());
            }
            let c = &mut board.connections;
            c.active -= 1;
            c.closed += 1;
            match end {
                End::Silent => c.closed_silent += 1,
                End::Idle => c.closed_idle += 1,
                End::Peer | End::Evicted | End::Shutdown => {}
            }
            if undrained > 0 {
                c.undrained += 1;
                c.undrained_bytes += undrained;
            }
        }
    }
}

/// One connection's decoding: its session, its sink, and its place in the capture.
struct Reader<'a> {
    key: SessionKey,
    decoder: Decoder,
    visitor: SinkVisitor<'a>,
    peer: SocketAddr,
    local: SocketAddr,
    frame: u64,
    tcp_seq: u32,
}

impl Reader<'_> {
    /// In the capture, the connection opens with a SYN so readers know where the stream starts.
    fn syn(&mut self) {
        let shared = self.visitor.shared;
        if let Some(capture) = &shared.capture
            && let Ok(mut w) = capture.lock()
            && let Err(e) = w.write_tcp_syn(Timestamp::now(), self.peer, self.local, 0)
        {
            shared.problem("capture-write", true, || format!("writing the capture: {e}"));
        }
    }

    /// Decodes one message; false when it broke the protocol and the connection must close.
    fn take(&mut self, bytes: &[u8]) -> bool {
        let shared = self.visitor.shared;
        self.frame += 1;
        let time = Timestamp::now();
        if let Some(capture) = &shared.capture
            && let Ok(mut w) = capture.lock()
            && let Err(e) = w.write_tcp(time, self.peer, self.local, self.tcp_seq, bytes)
        {
            shared.problem("capture-write", true, || format!("writing the capture: {e}"));
        }
        self.tcp_seq = self.tcp_seq.wrapping_add(bytes.len() as u32);
        let origin = Origin { frame: self.frame, time, exporter: Some(self.peer), collector: Some(self.local) };
        if self.decoder.decode(&self.key, origin, bytes, &mut self.visitor).session_error {
            if let Ok(mut board) = shared.board.lock() {
                board.connections.protocol_errors += 1;
            }
            let peer = self.peer;
            shared.problem("tcp-protocol-error", true, || {
                format!("closing the connection from {peer} after a protocol error")
            });
            return false;
        }
        true
    }

    fn framing_error(&self, e: &crate::core::transport::FramingError) {
        let shared = self.visitor.shared;
        if let Ok(mut board) = shared.board.lock() {
            board.connections.framing_errors += 1;
        }
        let peer = self.peer;
        shared.problem("tcp-framing", true, || format!("from {peer}: {e}; connection closed"));
    }

    /// Reads what the connection still holds after the shutdown signal: until it closes, or its
    /// socket stays empty for [`DRAIN_QUIET`], for at most `limit`. Returns the bytes left unread.
    async fn drain(&mut self, stream: &mut MessageStream, limit: Duration) -> u64 {
        let until = Instant::now() + limit;
        loop {
            tokio::select! {
                message = stream.next_message() => match message {
                    Some(Ok(bytes)) => {
                        if !self.take(&bytes) {
                            return 0;
                        }
                    }
                    Some(Err(e)) => {
                        self.framing_error(&e);
                        return 0;
                    }
                    None => return 0,
                },
                _ = tokio::time::sleep(DRAIN_QUIET) => {
                    if stream.unread_bytes() == 0 {
                        return 0;
                    }
                }
                _ = tokio::time::sleep_until(until) => {
                    let left = stream.unread_bytes();
                    if left > 0 {
                        let peer = self.peer;
                        self.visitor.shared.problem("drain-timeout", true, || {
                            format!(
                                "shutdown: {left} bytes from {peer} were still unread after {}s of draining; they are lost",
                                limit.as_secs()
                            )
                        });
                    }
                    return left;
                }
            }
        }
    }
}
