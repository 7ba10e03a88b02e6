//! The IPFIX transport layer: where messages come in and go out, with no knowledge of what is in
//! them beyond the 16-byte message header that frames them on a stream.
//!
//! - [`Endpoint`]: `udp://HOST:PORT`, `tcp://…`, `tls://…` or Antrea's `HOST:PORT[:PROTO]`.
//! - UDP, built for rate: [`UdpListener`] binds one or more `SO_REUSEPORT` sockets on one port and
//!   hands out one [`UdpReceiver`] per socket, each meant to be driven by its own thread; a
//!   receiver takes up to a batch of datagrams per `recvmmsg` and reports the kernel's drop
//!   counter for its socket. [`UdpSender`] sends batches with `sendmmsg`.
//! - TCP and TLS (tokio): [`StreamListener`] accepts connections (TLS handshakes run concurrently,
//!   bounded, with a time limit) and yields [`MessageStream`]s that split the byte stream into
//!   IPFIX messages by the header's Length field. [`StreamSender`] writes messages to a collector.
//! - [`tls`]: rustls server and client configurations from PEM files, always with the ring
//!   provider; [`certs`]: a CA and the server and client certificates signed by it, in a
//!   directory [`private_dir`] keeps free of files other local users planted.
//!
//! The batching system calls come from `nix` (safe wrappers over `recvmmsg`/`sendmmsg`), so this
//! module has no `unsafe` code of its own.

pub mod certs;
mod endpoint;
mod error;
pub mod private_dir;
mod stream;
pub mod tls;
mod udp;

pub use endpoint::{DEFAULT_PORT, Endpoint};
pub use error::{AcceptError, FramingError, TlsError, TransportError};
pub use stream::{HandshakeLimits, MessageStream, StreamListener, StreamSender};
pub use tls::{ClientTls, ServerTls, client_config, server_config};
pub use udp::{Datagram, Datagrams, RcvBuf, RecvBatch, UdpConfig, UdpListener, UdpReceiver, UdpSender};

/// The longest IPFIX message: the header's Length field is 16 bits.
pub const MAX_MESSAGE_LEN: usize = 65535;

/// Raises this process's soft limit on open files to its hard limit, so a collector serving
/// many exporters is not stopped at the usual 1,024 descriptors; returns the limit in force.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard)
}
