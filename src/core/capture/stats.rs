//! Counters of what the capture reader saw, skipped and repaired; `flowctl decode --stats` and
//! the tests read them.

use serde::Serialize;

/// Everything is counted from the start of the file. "Dropped" and "skipped" counters say what a
/// bound or damage cost, so nothing is lost silently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureStats {
    /// Packet records read (pcap records, pcapng packet blocks; messages of a `.ipfix` file).
    pub frames: u64,
    /// Captured bytes of those frames.
    pub bytes: u64,
    /// Frames that are not IPv4/IPv6 (ARP, unsupported link types, damaged headers).
    pub non_ip_frames: u64,
    /// IP packets that carry neither IPFIX nor NetFlow v9 (other ports, other protocols).
    pub non_ipfix_packets: u64,
    /// Messages yielded from UDP datagrams.
    pub udp_messages: u64,
    /// Messages yielded from TCP streams.
    pub tcp_messages: u64,
    /// Messages yielded from an RFC 5655 file.
    pub file_messages: u64,
    /// IP datagrams put together from fragments.
    pub fragments_reassembled: u64,
    /// IP datagrams given up: timed out, evicted by a bound, inconsistent, or incomplete at the end.
    pub fragments_dropped: u64,
    /// Holes in TCP streams that were skipped.
    pub tcp_gaps: u64,
    /// Times a TCP stream was re-aligned on an IPFIX header after a hole or garbage.
    pub tcp_resyncs: u64,
    /// TCP segments carrying only (or partly) bytes already seen.
    pub tcp_retransmissions: u64,
    /// TCP segments that arrived ahead of a hole and were held back.
    pub tcp_out_of_order: u64,
    /// TCP stream bytes in the capture that could not be framed: the part of a message before
    /// a gap, bytes that are not IPFIX, a message cut off at the end.
    pub tcp_bytes_skipped: u64,
    /// TCP stream bytes the capture does not have (the sizes of the skipped gaps).
    pub tcp_bytes_missing: u64,
    /// TCP streams dropped because too many were open at once.
    pub tcp_streams_dropped: u64,
    /// Damaged pcap records, pcapng blocks or `.ipfix` message headers.
    pub corrupt_records: u64,
    /// 1 when the file ends inside a record.
    pub truncated: u64,
}
