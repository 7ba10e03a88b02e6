//! Writing IPFIX messages into a pcap file as the UDP datagrams they were (or could have been),
//! with the real exporter and collector addresses, so `decode`, `replay`, tshark and every other
//! pcap tool read them back.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapPacket, PcapWriter};

use crate::core::time::Timestamp;

/// Largest UDP payload an IPv4 datagram can carry.
const MAX_UDP4_PAYLOAD: usize = 65_507;

/// Errors while writing a capture.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot create {path}")]
    Create { path: String, source: std::io::Error },
    #[error("cannot write the capture: {0}")]
    Write(String),
    #[error("exporter {exporter} and collector {collector} are not of the same IP family")]
    MixedFamilies { exporter: SocketAddr, collector: SocketAddr },
    #[error("a {len}-byte message does not fit in one UDP datagram over IPv4")]
    TooLarge { len: usize },
}

/// A pcap (Ethernet, microsecond timestamps) of IPFIX messages carried over UDP.
pub struct MessagePcapWriter<W: Write = BufWriter<File>> {
    pcap: PcapWriter<W>,
    packet: Vec<u8>,
}

impl MessagePcapWriter<BufWriter<File>> {
    pub fn create(path: &Path) -> Result<Self, WriteError> {
        let file =
            File::create(path).map_err(|source| WriteError::Create { path: path.display().to_string(), source })?;
        Self::new(BufWriter::with_capacity(1 << 20, file))
    }
}

impl<W: Write> MessagePcapWriter<W> {
    pub fn new(out: W) -> Result<Self, WriteError> {
        let pcap = PcapWriter::new(out).map_err(|e| WriteError::Write(e.to_string()))?;
        Ok(MessagePcapWriter { pcap, packet: Vec::with_capacity(2048) })
    }

    /// Appends one datagram from `exporter` to `collector` carrying `payload`, seen at `time`.
    pub fn write(
        &mut self,
        time: Timestamp,
        exporter: SocketAddr,
        collector: SocketAddr,
        payload: &[u8],
    ) -> Result<(), WriteError> {
        if exporter.is_ipv4() && payload.len() > MAX_UDP4_PAYLOAD {
            return Err(WriteError::TooLarge { len: payload.len() });
        }
        let builder = Self::ip(exporter, collector)?.udp(exporter.port(), collector.port());
        self.packet.clear();
        builder.write(&mut self.packet, payload).map_err(|e| WriteError::Write(e.to_string()))?;
        self.emit(time)
    }

    /// Appends one segment of a TCP stream from `exporter` to `collector`: `seq` is the stream
    /// offset of `payload` (plus the initial sequence number), so consecutive messages of a
    /// connection read back as one stream.
    pub fn write_tcp(
        &mut self,
        time: Timestamp,
        exporter: SocketAddr,
        collector: SocketAddr,
        seq: u32,
        payload: &[u8],
    ) -> Result<(), WriteError> {
        let builder = Self::ip(exporter, collector)?.tcp(exporter.port(), collector.port(), seq, 65535).psh().ack(1);
        self.packet.clear();
        builder.write(&mut self.packet, payload).map_err(|e| WriteError::Write(e.to_string()))?;
        self.emit(time)
    }

    /// Appends the SYN that opens a TCP connection whose first payload byte has sequence
    /// number `isn + 1`, so a reader knows the stream starts at a message boundary.
    pub fn write_tcp_syn(
        &mut self,
        time: Timestamp,
        exporter: SocketAddr,
        collector: SocketAddr,
        isn: u32,
    ) -> Result<(), WriteError> {
        let builder = Self::ip(exporter, collector)?.tcp(exporter.port(), collector.port(), isn, 65535).syn();
        self.packet.clear();
        builder.write(&mut self.packet, &[]).map_err(|e| WriteError::Write(e.to_string()))?;
        self.emit(time)
    }

    fn ip(
        exporter: SocketAddr,
        collector: SocketAddr,
    ) -> Result<etherparse::PacketBuilderStep<etherparse::IpHeaders>, WriteError> {
        // Locally administered MACs: the capture is a reconstruction, not what a NIC saw.
        let builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        match (exporter, collector) {
            (SocketAddr::V4(e), SocketAddr::V4(c)) => Ok(builder.ipv4(e.ip().octets(), c.ip().octets(), 64)),
            (SocketAddr::V6(e), SocketAddr::V6(c)) => Ok(builder.ipv6(e.ip().octets(), c.ip().octets(), 64)),
            _ => Err(WriteError::MixedFamilies { exporter, collector }),
        }
    }

    fn emit(&mut self, time: Timestamp) -> Result<(), WriteError> {
        let ts = Duration::new(time.secs.max(0) as u64, time.nanos);
        let packet = PcapPacket::new(ts, self.packet.len() as u32, &self.packet[..])
            .map_err(|e| WriteError::Write(e.to_string()))?;
        self.pcap.write_packet(&packet).map_err(|e| WriteError::Write(e.to_string()))?;
        Ok(())
    }

    /// Pushes what is buffered to the file.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.pcap.flush().map_err(|e| WriteError::Write(e.to_string()))
    }

    /// Flushes and gives back the underlying writer.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.pcap.flush().map_err(|e| WriteError::Write(e.to_string()))?;
        Ok(self.pcap.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::capture::{CaptureOptions, CaptureReader};

    #[test]
    fn written_messages_read_back_with_their_addresses_and_times() {
        let mut out = Vec::new();
        {
            let mut w = MessagePcapWriter::new(&mut out).unwrap();
            let msg = [0u8, 10, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7];
            let t = Timestamp::from_micros(1_700_000_000_123_456);
            w.write(t, "10.1.2.3:50000".parse().unwrap(), "10.9.9.9:4739".parse().unwrap(), &msg).unwrap();
            w.write(t, "[2001:db8::1]:40000".parse().unwrap(), "[2001:db8::2]:12345".parse().unwrap(), &msg).unwrap();
            let mixed = w.write(t, "10.1.2.3:1".parse().unwrap(), "[::1]:2".parse().unwrap(), &msg);
            assert!(matches!(mixed, Err(WriteError::MixedFamilies { .. })));
            // Two messages of one TCP connection, split at an odd place: they read back as a stream.
            let (e, c) = ("10.1.2.3:40000".parse().unwrap(), "10.9.9.9:4739".parse().unwrap());
            let two: Vec<u8> = [msg, msg].concat();
            w.write_tcp_syn(t, e, c, 999).unwrap();
            w.write_tcp(t, e, c, 1000, &two[..5]).unwrap();
            w.write_tcp(t, e, c, 1005, &two[5..]).unwrap();
            w.finish().unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.pcap");
        std::fs::write(&path, &out).unwrap();
        let mut r = CaptureReader::open(&path, &CaptureOptions::default()).unwrap();
        let m = r.next().unwrap().unwrap();
        assert_eq!(m.exporter, Some("10.1.2.3:50000".parse().unwrap()));
        assert_eq!(m.time.to_string(), "2023-11-14T22:13:20.123456Z");
        assert_eq!(m.payload.len(), 16);
        // Port 12345 is no IPFIX port: the header is what identifies it.
        let m = r.next().unwrap().unwrap();
        assert_eq!(m.collector, Some("[2001:db8::2]:12345".parse().unwrap()));
        for _ in 0..2 {
            let m = r.next().unwrap().unwrap();
            assert_eq!((m.transport, m.payload.len()), (crate::core::ipfix::Transport::Tcp, 16));
        }
        assert!(r.next().is_none());
    }
}
