//! Errors of the transport layer. Each message names the address or file concerned and what was
//! expected, so a command can print it as it is. The underlying `io::Error` is part of the
//! message (not a `source`), so `{:#}` chains do not repeat it.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::Endpoint;

/// Parsing an address, binding, connecting, and setting socket options.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("invalid address '{input}': {problem}")]
    Address { input: String, problem: String },
    #[error("cannot resolve '{host}' in '{input}': {io}")]
    Resolve { input: String, host: String, io: io::Error },
    /// A UDP endpoint given where a stream is needed, or TLS settings that do not fit the scheme.
    #[error("{endpoint}: {problem}")]
    Mismatch { endpoint: Endpoint, problem: &'static str },
    #[error("cannot listen on {endpoint}: {io}")]
    Bind { endpoint: Endpoint, io: io::Error },
    #[error("cannot set {option} on the socket for {endpoint}: {io}")]
    SocketOption { option: &'static str, endpoint: Endpoint, io: io::Error },
    #[error("cannot connect to {endpoint}: {io}")]
    Connect { endpoint: Endpoint, io: io::Error },
    #[error("TLS handshake with {endpoint} failed: {io}")]
    Handshake { endpoint: Endpoint, io: io::Error },
}

/// A stream that cannot be split into IPFIX messages any more; the caller closes it.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    #[error("reading from {peer}: {io}")]
    Io { peer: SocketAddr, io: io::Error },
    /// Without a valid header there is no length to find the next message by.
    #[error(
        "{peer} sent a message header with version {version} and length {length}: expected IPFIX \
         (version 10, length at least 16); the stream cannot be re-framed"
    )]
    NotIpfix { peer: SocketAddr, version: u16, length: u16 },
    #[error("{peer} closed the connection inside a message: {received} of its {expected} bytes arrived")]
    Truncated { peer: SocketAddr, received: usize, expected: usize },
}

impl FramingError {
    pub fn peer(&self) -> SocketAddr {
        match *self {
            FramingError::Io { peer, .. }
            | FramingError::NotIpfix { peer, .. }
            | FramingError::Truncated { peer, .. } => peer,
        }
    }
}

/// One connection that could not be accepted; the listener goes on with the next.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The kernel refused a connection (e.g. out of file descriptors). The listener pauses
    /// briefly after this so that a caller looping on `accept` does not spin.
    #[error("cannot accept a connection on {endpoint}: {io}")]
    Accept { endpoint: Endpoint, io: io::Error },
    #[error("TLS handshake with {peer} failed: {io}")]
    Handshake { peer: SocketAddr, io: io::Error },
    #[error("TLS handshake with {peer} did not finish within {}s", after.as_secs())]
    HandshakeTimeout { peer: SocketAddr, after: Duration },
    /// The address already had this many handshakes in progress; the connection was closed.
    #[error("connection from {peer} closed: {limit} TLS handshakes from its address are in progress already")]
    HandshakesFromSource { peer: SocketAddr, limit: usize },
    /// The oldest handshake in progress, dropped to make room for a new connection.
    #[error("TLS handshake with {peer} dropped: {limit} handshakes in progress, this one the oldest")]
    HandshakeDropped { peer: SocketAddr, limit: usize },
    /// The listener's accepting task is gone (it panicked); no more connections will come.
    #[error("the listener on {endpoint} stopped accepting connections")]
    Closed { endpoint: Endpoint },
}

impl AcceptError {
    /// The peer whose connection failed, when there is one.
    pub fn peer(&self) -> Option<SocketAddr> {
        match *self {
            AcceptError::Handshake { peer, .. }
            | AcceptError::HandshakeTimeout { peer, .. }
            | AcceptError::HandshakesFromSource { peer, .. }
            | AcceptError::HandshakeDropped { peer, .. } => Some(peer),
            AcceptError::Accept { .. } | AcceptError::Closed { .. } => None,
        }
    }
}

/// Loading TLS material, building rustls configurations, and creating certificates.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the {what} {}: {io}", path.display())]
    Read { what: &'static str, path: PathBuf, io: io::Error },
    /// The file was read but holds nothing usable, e.g. "no PEM certificate in it".
    #[error("cannot read the {what} {}: {problem}", path.display())]
    Pem { what: &'static str, path: PathBuf, problem: String },
    /// rustls refused the material: a key that does not match its certificate, an unusable CA.
    #[error("cannot use {what}: {error}")]
    Rustls { what: String, error: rustls::Error },
    #[error("cannot use the CA certificates in {} to verify clients: {error}", path.display())]
    ClientVerifier { path: PathBuf, error: rustls::server::VerifierBuilderError },
    #[error("a client certificate needs its key and a key its certificate; only the {given} was given")]
    HalfClientIdentity { given: &'static str },
    #[error("invalid TLS server name '{name}': expected a DNS name or an IP address")]
    ServerName { name: String },
    #[error("invalid certificate name '{name}': expected a DNS name or an IP address")]
    CertName { name: String },
    #[error("cannot make the {what}: {error}")]
    Generate { what: String, error: rcgen::Error },
    #[error("the CA key {} does not belong to the CA certificate {}", key.display(), cert.display())]
    CaKeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("{} exists but {} does not: signing with an existing CA needs both", present.display(), missing.display())]
    CaIncomplete { present: PathBuf, missing: PathBuf },
    #[error("{} already exists and overwriting it was not asked for", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write {}: {io}", path.display())]
    Write { path: PathBuf, io: io::Error },
    /// A certificate directory or file another local user could have planted or could change.
    #[error("refusing {}: {problem}", path.display())]
    Unsafe { path: PathBuf, problem: String },
    /// No `--cert-dir` and no private place to default to.
    #[error("{0}")]
    NoCertDir(&'static str),
}
