//! Message headers (IPFIX RFC 7011 §3.1, NetFlow v9 RFC 3954 §5.1) and the walk over a
//! message's sets, bounded by the message and by each set's own length.

use super::error::DecodeError;

pub const IPFIX_VERSION: u16 = 10;
pub const NETFLOW_V9_VERSION: u16 = 9;
pub const IPFIX_HEADER_LEN: usize = 16;
pub const NETFLOW_V9_HEADER_LEN: usize = 20;
pub const SET_HEADER_LEN: usize = 4;
/// IPFIX: Template Set, Options Template Set.
pub const IPFIX_TEMPLATE_SET: u16 = 2;
pub const IPFIX_OPTIONS_TEMPLATE_SET: u16 = 3;
/// NetFlow v9: Template FlowSet, Options Template FlowSet.
pub const V9_TEMPLATE_SET: u16 = 0;
pub const V9_OPTIONS_TEMPLATE_SET: u16 = 1;
/// The first id of a data set (and so of a template).
pub const MIN_DATA_SET_ID: u16 = 256;

/// The fields of a message header, for both versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MessageHeader {
    pub version: u16,
    /// IPFIX: the header's Length. NetFlow v9, which has no length field: the datagram's size.
    pub length: usize,
    /// Seconds since the UNIX epoch when the message left the exporter.
    pub export_time: u32,
    pub sequence: u32,
    /// IPFIX Observation Domain ID, or NetFlow v9 Source ID.
    pub domain: u32,
    /// NetFlow v9 only: milliseconds since the exporter booted, the base of its
    /// flowStart/EndSysUpTime fields.
    pub sys_uptime: Option<u32>,
}

impl MessageHeader {
    pub fn header_len(&self) -> usize {
        if self.version == NETFLOW_V9_VERSION { NETFLOW_V9_HEADER_LEN } else { IPFIX_HEADER_LEN }
    }
}

/// What a set carries, by its id and the message's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    Template,
    OptionsTemplate,
    /// A data set; the value is its template id.
    Data(u16),
    Reserved,
}

/// One set of a message: its id, where it starts, and its contents after the 4-byte header
/// (padding included; the set's length bounds it).
#[derive(Clone, Copy, Debug)]
pub struct Set<'a> {
    pub id: u16,
    pub kind: SetKind,
    /// Offset of the set header from the start of the message.
    pub offset: usize,
    pub body: &'a [u8],
}

/// A parsed message header and the bytes of its sets.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub header: MessageHeader,
    sets: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> Message<'a> {
    /// Parses the header of the message at the start of `bytes`.
    ///
    /// Returns the message and, when the datagram and the header disagree about the length,
    /// the disagreement: shorter than the header says is malformed (the bytes present are still
    /// decoded), longer is trailing garbage some exporters append (ignored, reported).
    pub fn parse(bytes: &'a [u8]) -> Result<(Message<'a>, Option<DecodeError>), DecodeError> {
        if bytes.len() < 2 {
            return Err(DecodeError::ShortHeader { len: bytes.len(), need: IPFIX_HEADER_LEN });
        }
        match be16(bytes, 0) {
            IPFIX_VERSION => {
                if bytes.len() < IPFIX_HEADER_LEN {
                    return Err(DecodeError::ShortHeader { len: bytes.len(), need: IPFIX_HEADER_LEN });
                }
                let length = be16(bytes, 2);
                if (length as usize) < IPFIX_HEADER_LEN {
                    return Err(DecodeError::LengthBelowHeader { length });
                }
                let header = MessageHeader {
                    version: IPFIX_VERSION,
                    length: length as usize,
                    export_time: be32(bytes, 4),
                    sequence: be32(bytes, 8),
                    domain: be32(bytes, 12),
                    sys_uptime: None,
                };
                let (end, notice) = match (length as usize).cmp(&bytes.len()) {
                    std::cmp::Ordering::Greater => {
                        (bytes.len(), Some(DecodeError::LengthBeyondData { length, available: bytes.len() }))
                    }
                    std::cmp::Ordering::Less => {
                        (length as usize, Some(DecodeError::TrailingBytes { trailing: bytes.len() - length as usize }))
                    }
                    std::cmp::Ordering::Equal => (bytes.len(), None),
                };
                Ok((Message { header, sets: &bytes[IPFIX_HEADER_LEN..end] }, notice))
            }
            NETFLOW_V9_VERSION => {
                if bytes.len() < NETFLOW_V9_HEADER_LEN {
                    return Err(DecodeError::ShortHeader { len: bytes.len(), need: NETFLOW_V9_HEADER_LEN });
                }
                let header = MessageHeader {
                    version: NETFLOW_V9_VERSION,
                    length: bytes.len(),
                    sys_uptime: Some(be32(bytes, 4)),
                    export_time: be32(bytes, 8),
                    sequence: be32(bytes, 12),
                    domain: be32(bytes, 16),
                };
                Ok((Message { header, sets: &bytes[NETFLOW_V9_HEADER_LEN..] }, None))
            }
            other => Err(DecodeError::UnsupportedVersion(other)),
        }
    }

    /// The sets in order. The walk ends at the first set whose length cannot be trusted.
    pub fn sets(&self) -> SetIter<'a> {
        SetIter { version: self.header.version, rest: self.sets, offset: self.header.header_len(), failed: false }
    }
}

/// Iterator over the sets of a message.
#[derive(Clone, Debug)]
pub struct SetIter<'a> {
    version: u16,
    rest: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Result<Set<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let offset = self.offset;
        if self.rest.len() < SET_HEADER_LEN {
            // NetFlow v9 exporters pad the datagram itself; IPFIX must not, but zero bytes
            // after the last set are harmless either way.
            if self.rest.iter().all(|&b| b == 0) {
                self.rest = &[];
                return None;
            }
            self.failed = true;
            return Some(Err(DecodeError::TruncatedSetHeader { offset, remaining: self.rest.len() }));
        }
        let id = be16(self.rest, 0);
        let length = be16(self.rest, 2);
        if self.version == NETFLOW_V9_VERSION && id == 0 && length == 0 && self.rest.iter().all(|&b| b == 0) {
            self.rest = &[];
            return None;
        }
        if (length as usize) < SET_HEADER_LEN || length as usize > self.rest.len() {
            self.failed = true;
            return Some(Err(DecodeError::BadSetLength { offset, set_id: id, length, remaining: self.rest.len() }));
        }
        let body = &self.rest[SET_HEADER_LEN..length as usize];
        self.rest = &self.rest[length as usize..];
        self.offset += length as usize;
        let kind = match (self.version, id) {
            (_, id) if id >= MIN_DATA_SET_ID => SetKind::Data(id),
            (IPFIX_VERSION, IPFIX_TEMPLATE_SET) | (NETFLOW_V9_VERSION, V9_TEMPLATE_SET) => SetKind::Template,
            (IPFIX_VERSION, IPFIX_OPTIONS_TEMPLATE_SET) | (NETFLOW_V9_VERSION, V9_OPTIONS_TEMPLATE_SET) => {
                SetKind::OptionsTemplate
            }
            _ => SetKind::Reserved,
        };
        Some(Ok(Set { id, kind, offset, body }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipfix(sets: &[u8]) -> Vec<u8> {
        let mut m = vec![0, 10, 0, 0, 0x63, 0x1a, 0xf1, 0xef, 0, 0, 0, 7, 0, 0, 0, 42];
        m.extend_from_slice(sets);
        let len = m.len() as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        m
    }

    #[test]
    fn parses_ipfix_header_and_sets() {
        let msg = ipfix(&[0, 2, 0, 8, 1, 0, 0, 0, 1, 0, 0, 6, 1, 2]);
        let (m, notice) = Message::parse(&msg).unwrap();
        assert!(notice.is_none());
        assert_eq!(m.header.version, 10);
        assert_eq!(m.header.export_time, 0x631a_f1ef);
        assert_eq!((m.header.sequence, m.header.domain), (7, 42));
        let sets: Vec<_> = m.sets().collect::<Result<_, _>>().unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!((sets[0].kind, sets[0].offset, sets[0].body.len()), (SetKind::Template, 16, 4));
        assert_eq!((sets[1].kind, sets[1].offset, sets[1].body), (SetKind::Data(256), 24, &[1, 2][..]));
    }

    #[test]
    fn a_set_longer_than_the_message_stops_the_walk() {
        let msg = ipfix(&[1, 0, 0, 40, 1, 2, 3, 4]);
        let (m, _) = Message::parse(&msg).unwrap();
        let sets: Vec<_> = m.sets().collect();
        assert_eq!(sets.len(), 1);
        assert!(matches!(
            sets[0],
            Err(DecodeError::BadSetLength { offset: 16, set_id: 256, length: 40, remaining: 8 })
        ));
    }

    #[test]
    fn header_length_disagreeing_with_the_datagram() {
        let mut msg = ipfix(&[1, 0, 0, 6, 9, 9]);
        msg.extend_from_slice(&[0xde, 0xad]);
        let (m, notice) = Message::parse(&msg).unwrap();
        assert_eq!(notice, Some(DecodeError::TrailingBytes { trailing: 2 }));
        assert_eq!(m.sets().count(), 1);

        let short = &msg[..msg.len() - 4];
        let (_, notice) = Message::parse(short).unwrap();
        assert_eq!(notice, Some(DecodeError::LengthBeyondData { length: 22, available: 20 }));
        assert_eq!(Message::parse(&[0, 10, 0, 8]).unwrap_err(), DecodeError::ShortHeader { len: 4, need: 16 });
        assert_eq!(Message::parse(&[0, 5, 0, 8]).unwrap_err(), DecodeError::UnsupportedVersion(5));
    }

    #[test]
    fn netflow_v9_header_and_trailing_zero_padding() {
        let mut msg = vec![0, 9, 0, 1, 0, 0, 0, 100, 0x63, 0, 0, 0, 0, 0, 0, 9, 0, 0, 1, 0];
        msg.extend_from_slice(&[0, 0, 0, 8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        let (m, _) = Message::parse(&msg).unwrap();
        assert_eq!(m.header.sys_uptime, Some(100));
        assert_eq!((m.header.sequence, m.header.domain), (9, 256));
        let sets: Vec<_> = m.sets().collect::<Result<_, _>>().unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].kind, SetKind::Template);
    }
}
