//! TCP and TLS: an accept loop per listener, and a task per connection with a decoder of its own
//! (a connection is one transport session). A connection that breaks the protocol is closed, the
//! only signal IPFIX over TCP has (RFC 7011 §10.4); other connections carry on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::Shared;
use super::udp::SinkVisitor;
use crate::core::ipfix::decoder::{Decoder, Origin, SessionKey, Transport};
use crate::core::time::Timestamp;
use crate::core::transport::{AcceptError, MessageStream, StreamListener};

/// How often a connection publishes its counters and flushes its sink.
const TICK: Duration = Duration::from_millis(200);

pub(super) async fn serve(listener: StreamListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let mut next_id = 1u32;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let refuse = connections.len() >= shared.decoder.max_sessions;
                    if let Ok(mut board) = shared.board.lock() {
                        if refuse {
                            board.connections.refused += 1;
                        } else {
                            board.connections.accepted += 1;
                            board.connections.active += 1;
                        }
                    }
                    if refuse {
                        shared.problem("session-limit", true, || format!("connection from {peer} refused: too many sessions"));
                        continue;
                    }
                    connections.spawn(connection(stream, peer, next_id, shared.clone(), stop.clone()));
                    next_id = next_id.wrapping_add(1).max(1);
                }
                Err(e) => {
                    let handshake = matches!(e, AcceptError::Handshake { .. } | AcceptError::HandshakeTimeout { .. });
                    if let Ok(mut board) = shared.board.lock()
                        && handshake
                    {
                        board.connections.handshake_failures += 1;
                    }
                    let cause = if handshake { "tls-handshake" } else { "accept" };
                    shared.problem(cause, true, || e.to_string());
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn connection(
    mut stream: MessageStream,
    peer: SocketAddr,
    id: u32,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let local = stream.local();
    let key = SessionKey { source: id, transport: Transport::Tcp, exporter: Some(peer), collector: Some(local) };
    let mut decoder = Decoder::new(shared.decoder.clone());
    let mut visitor = SinkVisitor { sink: (shared.sinks)(), shared: &shared };
    let mut tick = tokio::time::interval(TICK);
    // In the capture, the connection opens with a SYN so readers know where the stream starts.
    let (mut frame, mut tcp_seq) = (0u64, 1u32);
    if let Some(capture) = &shared.capture
        && let Ok(mut w) = capture.lock()
        && let Err(e) = w.write_tcp_syn(Timestamp::now(), peer, local, 0)
    {
        shared.problem("capture-write", true, || format!("writing the capture: {e}"));
    }
    loop {
        tokio::select! {
            message = stream.next_message() => match message {
                Some(Ok(bytes)) => {
                    frame += 1;
                    let time = Timestamp::now();
                    if let Some(capture) = &shared.capture
                        && let Ok(mut w) = capture.lock()
                        && let Err(e) = w.write_tcp(time, peer, local, tcp_seq, &bytes)
                    {
                        shared.problem("capture-write", true, || format!("writing the capture: {e}"));
                    }
                    tcp_seq = tcp_seq.wrapping_add(bytes.len() as u32);
                    let origin = Origin { frame, time, exporter: Some(peer), collector: Some(local) };
                    if decoder.decode(&key, origin, &bytes, &mut visitor).session_error {
                        if let Ok(mut board) = shared.board.lock() {
                            board.connections.protocol_errors += 1;
                        }
                        shared.problem("tcp-protocol-error", true, || format!("closing the connection from {peer} after a protocol error"));
                        break;
                    }
                }
                Some(Err(e)) => {
                    if let Ok(mut board) = shared.board.lock() {
                        board.connections.framing_errors += 1;
                    }
                    shared.problem("tcp-framing", true, || format!("from {peer}: {e}; connection closed"));
                    break;
                }
                None => break,
            },
            _ = tick.tick() => {
                visitor.sink.flush();
                if let (Some(s), Ok(mut board)) = (decoder.session(&key), shared.board.lock()) {
                    board.publish(0, s.stats());
                }
            }
            _ = stop.changed() => break,
        }
    }
    let ended = decoder.close_session(&key, &mut visitor);
    visitor.sink.flush();
    if let Ok(mut board) = shared.board.lock() {
        if let Some(s) = ended {
            board.ended(0, s.stats());
        }
        board.connections.active -= 1;
        board.connections.closed += 1;
    }
}
