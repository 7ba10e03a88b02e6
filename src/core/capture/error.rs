//! Errors of the capture reader: where in the file a problem is (file, frame, byte offset) and
//! what was expected there.
//!
//! Only failing to open or read the file and a file that is not a capture at all are fatal;
//! everything else describes damage the reader stepped over, so a caller can print it and keep
//! reading.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// A problem found while reading a capture. `Display` gives one line such as
/// `x.pcap: frame 17 at offset 3320: pcap record header claims 70000 captured bytes but the snap
/// length is 65535; resynchronised at offset 3400`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}{kind}", file.display(), Location { frame: *frame, offset: *offset })]
pub struct CaptureError {
    pub file: Arc<Path>,
    /// The frame the problem belongs to (the frame being read, or the one that revealed it).
    pub frame: Option<u64>,
    /// Byte offset in the file of the record, block or message concerned.
    pub offset: Option<u64>,
    /// Boxed so that results carrying a `CaptureError` stay small on the hot path.
    pub kind: Box<CaptureErrorKind>,
}

impl CaptureError {
    /// True when reading cannot go on: the file could not be opened or read, or is not a capture.
    pub fn is_fatal(&self) -> bool {
        matches!(
            *self.kind,
            CaptureErrorKind::Open(_) | CaptureErrorKind::Read(_) | CaptureErrorKind::NotACapture { .. }
        )
    }
}

struct Location {
    frame: Option<u64>,
    offset: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.frame, self.offset) {
            (Some(n), Some(o)) => write!(f, "frame {n} at offset {o}: "),
            (Some(n), None) => write!(f, "frame {n}: "),
            (None, Some(o)) => write!(f, "offset {o}: "),
            (None, None) => Ok(()),
        }
    }
}

/// What the reader did after finding a damaged record or block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Scanned forward and found a plausible record or block at this file offset.
    Resynchronised { at: u64 },
    /// The damaged block's length was consistent, so it was skipped as a whole.
    Skipped,
    /// Nothing plausible follows; the rest of the file was ignored.
    GaveUp { skipped: u64 },
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recovery::Resynchronised { at } => write!(f, "resynchronised at offset {at}"),
            Recovery::Skipped => f.write_str("block skipped"),
            Recovery::GaveUp { skipped } => {
                write!(f, "no plausible record follows; the last {skipped} bytes of the file were skipped")
            }
        }
    }
}

/// One direction of a TCP connection, printed as `exporter -> collector`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamId {
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TCP {} -> {}", self.src, self.dst)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureErrorKind {
    #[error("cannot open the file: {0}")]
    Open(io::Error),
    #[error("cannot read the file: {0}")]
    Read(io::Error),
    #[error("not a capture file: {detail}")]
    NotACapture { detail: String },
    /// A record or block whose framing fields cannot be right. `what` says which field and what
    /// was expected.
    #[error("{what}; {recovery}")]
    Corrupt { what: String, recovery: Recovery },
    /// The file ends inside a record or block; reading stops there.
    #[error("the file ends inside {what}: it needs {needed} bytes but only {available} remain; the rest is ignored")]
    Truncated { what: &'static str, needed: u64, available: u64 },
    #[error(
        "link type {0} is not supported (expected Ethernet, Linux SLL/SLL2, raw IP or BSD loopback); its frames are skipped"
    )]
    UnsupportedLinkType(u32),
    #[error("IP fragment of {src} -> {dst} (id {id}) rejected: {reason}; that datagram is dropped")]
    Fragment { src: std::net::IpAddr, dst: std::net::IpAddr, id: u32, reason: String },
    #[error("{count} incomplete IP datagram(s) dropped: {reason}")]
    FragmentsDropped { count: u64, reason: &'static str },
    #[error(
        "{stream}: {missing} bytes are missing at stream offset {at}; skipped the gap and the {dropped} bytes of the message it cut"
    )]
    TcpGap { stream: StreamId, missing: u64, at: u64, dropped: u64 },
    #[error(
        "{stream}: expected an IPFIX message header at stream offset {at}, found {found}; scanning for the next message"
    )]
    TcpNotIpfix { stream: StreamId, at: u64, found: String },
    #[error("{stream}: resynchronised on an IPFIX header at stream offset {at} after skipping {skipped} bytes")]
    TcpResync { stream: StreamId, at: u64, skipped: u64 },
    #[error("{stream}: the stream ends inside an IPFIX message: {pending} bytes at stream offset {at} are dropped")]
    TcpTruncated { stream: StreamId, at: u64, pending: u64 },
    #[error("{stream}: dropped because more than {limit} TCP streams are open; its buffered bytes are lost")]
    TcpStreamDropped { stream: StreamId, limit: usize },
}

impl CaptureErrorKind {
    /// A short stable name for the cause, for counters and rate-limited logging.
    pub fn cause(&self) -> &'static str {
        match self {
            CaptureErrorKind::Open(_) => "open",
            CaptureErrorKind::Read(_) => "read",
            CaptureErrorKind::NotACapture { .. } => "not-a-capture",
            CaptureErrorKind::Corrupt { .. } => "corrupt-record",
            CaptureErrorKind::Truncated { .. } => "truncated-file",
            CaptureErrorKind::UnsupportedLinkType(_) => "unsupported-link-type",
            CaptureErrorKind::Fragment { .. } => "ip-fragment",
            CaptureErrorKind::FragmentsDropped { .. } => "ip-fragments-dropped",
            CaptureErrorKind::TcpGap { .. } => "tcp-gap",
            CaptureErrorKind::TcpNotIpfix { .. } => "tcp-not-ipfix",
            CaptureErrorKind::TcpResync { .. } => "tcp-resync",
            CaptureErrorKind::TcpTruncated { .. } => "tcp-truncated",
            CaptureErrorKind::TcpStreamDropped { .. } => "tcp-stream-dropped",
        }
    }
}
