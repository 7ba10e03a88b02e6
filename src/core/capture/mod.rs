//! Capture files → IPFIX / NetFlow v9 messages.
//!
//! Reads pcap (µs and ns), pcapng (any `if_tsresol`, several interfaces and sections) and
//! RFC 5655 `.ipfix` files; walks link layer → IPv4/IPv6 (with fragment reassembly) → UDP or
//! TCP (with stream reassembly and IPFIX framing) and yields one [`CapturedMessage`] per
//! IPFIX/NetFlow message, borrowing its bytes. Problems in the container or the packets are
//! reported as [`CaptureError`]s naming file, frame and offset, and reading goes on.
//!
//! INTERFACE CONTRACT (filled in by the capture implementation).

use std::net::SocketAddr;

use crate::core::time::Timestamp;

/// The transport a message travelled on; decides template semantics (UDP lifetimes and
/// withdrawals ignored, TCP session errors, a file is one session).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    /// An RFC 5655 file: one transport session, no addresses.
    File,
}

/// One IPFIX or NetFlow v9 message found in a capture.
#[derive(Debug)]
pub struct CapturedMessage<'a> {
    /// 1-based packet number as tshark counts it (for TCP or IP-fragmented messages, the
    /// frame that completed the message), or the message number in a `.ipfix` file.
    pub frame: u64,
    /// Capture time (export time for `.ipfix` files).
    pub time: Timestamp,
    pub transport: Transport,
    /// Sender and receiver as seen in the packet; `None` for `.ipfix` files.
    pub exporter: Option<SocketAddr>,
    pub collector: Option<SocketAddr>,
    /// Exactly one message: a UDP payload, or one header-framed message of a TCP stream.
    pub payload: &'a [u8],
}
