//! Netlink framing for ctnetlink: the `nlmsghdr` + `nfgenmsg` headers, a zero-copy reader of
//! attributes (TLVs) and the small writer the requests are built with.
//!
//! Netlink headers are in host byte order; ctnetlink attribute values are big-endian.

use super::ParseError;

pub const NLMSG_HDRLEN: usize = 16;
pub const NFGENMSG_LEN: usize = 4;

pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;

pub const NFNL_SUBSYS_CTNETLINK: u16 = 1;
pub const IPCTNL_MSG_CT_NEW: u16 = 0;
pub const IPCTNL_MSG_CT_GET: u16 = 1;
pub const IPCTNL_MSG_CT_DELETE: u16 = 2;
pub const NFNETLINK_V0: u8 = 0;

const NLA_F_NESTED: u16 = 0x8000;
const NLA_F_NET_BYTEORDER: u16 = 0x4000;
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// Netlink pads every message and attribute to 4 bytes.
pub const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A netlink message header, read from the front of a receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NlMsgHdr {
    pub len: u32,
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

impl NlMsgHdr {
    /// Reads the header at `offset` of `buf` and checks that the whole message is there.
    pub fn read(buf: &[u8], offset: usize) -> Result<NlMsgHdr, ParseError> {
        let rest = &buf[offset.min(buf.len())..];
        if rest.len() < NLMSG_HDRLEN {
            return Err(ParseError::new(offset, "a 16-byte netlink message header"));
        }
        let u32_at = |i: usize| u32::from_ne_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
        let u16_at = |i: usize| u16::from_ne_bytes([rest[i], rest[i + 1]]);
        let hdr = NlMsgHdr { len: u32_at(0), kind: u16_at(4), flags: u16_at(6), seq: u32_at(8), pid: u32_at(12) };
        let len = hdr.len as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(ParseError::new(offset, "a netlink message length within the received bytes"));
        }
        Ok(hdr)
    }
}

/// One attribute: its type with the flag bits masked off, and its value in place.
#[derive(Clone, Copy, Debug)]
pub struct Attr<'a> {
    pub kind: u16,
    pub value: &'a [u8],
    /// Where the value starts, counted from the start of the netlink message.
    pub offset: usize,
}

impl<'a> Attr<'a> {
    pub fn nested(&self) -> Attrs<'a> {
        Attrs { buf: self.value, pos: 0, base: self.offset }
    }

    fn exact<const N: usize>(&self, what: &'static str) -> Result<[u8; N], ParseError> {
        self.value.try_into().map_err(|_| ParseError::new(self.offset, what))
    }

    pub fn u8(&self, what: &'static str) -> Result<u8, ParseError> {
        Ok(self.exact::<1>(what)?[0])
    }

    pub fn u16_be(&self, what: &'static str) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.exact(what)?))
    }

    pub fn u32_be(&self, what: &'static str) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.exact(what)?))
    }

    pub fn u64_be(&self, what: &'static str) -> Result<u64, ParseError> {
        Ok(u64::from_be_bytes(self.exact(what)?))
    }

    pub fn bytes<const N: usize>(&self, what: &'static str) -> Result<[u8; N], ParseError> {
        self.exact(what)
    }
}

/// The attributes of a message or of a nested attribute, in order.
pub struct Attrs<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Attrs<'a> {
    /// The attributes in `buf`, which starts `base` bytes into the netlink message.
    pub fn new(buf: &'a [u8], base: usize) -> Attrs<'a> {
        Attrs { buf, pos: 0, base }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let offset = self.base + self.pos;
        // After an error the iterator is done: nothing after a bad length can be trusted.
        let fail = |this: &mut Self, what| {
            this.pos = this.buf.len();
            Some(Err(ParseError::new(offset, what)))
        };
        if rest.len() < 4 {
            return fail(self, "a 4-byte attribute header");
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > rest.len() {
            return fail(self, "an attribute length within its container");
        }
        // The last attribute's padding may be cut off by the container's length.
        self.pos += align4(len).min(rest.len());
        Some(Ok(Attr { kind, value: &rest[4..len], offset: offset + 4 }))
    }
}

/// Builds netlink messages into a reusable buffer: a header, attributes, nests.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
    /// Where the message being written starts.
    msg_start: usize,
}

impl Writer {
    pub fn clear(&mut self) {
        self.buf.clear();
        self.msg_start = 0;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Starts a ctnetlink message (header + nfgenmsg) after whatever the buffer holds.
    pub fn begin(&mut self, msg: u16, flags: u16, seq: u32, family: u8) {
        self.msg_start = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&((NFNL_SUBSYS_CTNETLINK << 8) | msg).to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&[family, NFNETLINK_V0, 0, 0]);
    }

    /// Writes the length of the message begun last.
    pub fn finish(&mut self) {
        let len = (self.buf.len() - self.msg_start) as u32;
        self.buf[self.msg_start..self.msg_start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    pub fn attr(&mut self, kind: u16, value: &[u8]) {
        let len = 4 + value.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.buf.resize(self.msg_start + align4(self.buf.len() - self.msg_start), 0);
    }

    /// Opens a nested attribute; pass what it returns to [`Writer::end_nest`].
    pub fn begin_nest(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        at
    }

    pub fn end_nest(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }
}
