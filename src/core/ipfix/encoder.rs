//! Building messages: headers, template and options-template records, withdrawals, data
//! records with every encoding the decoder reads (reduced size, 1- and 3-byte variable-length
//! prefixes, NTP timestamps, RFC 6313 lists), in IPFIX or NetFlow v9.
//!
//! The writer appends to one buffer and patches lengths when a set or message closes, so a
//! record costs only the bytes it writes. Sequence numbers, message size limits and template
//! refresh are the exporting process's business, not the writer's.

use super::message::{
    IPFIX_HEADER_LEN, IPFIX_OPTIONS_TEMPLATE_SET, IPFIX_TEMPLATE_SET, IPFIX_VERSION, NETFLOW_V9_HEADER_LEN,
    NETFLOW_V9_VERSION, V9_OPTIONS_TEMPLATE_SET, V9_TEMPLATE_SET,
};
use super::registry::PEN_NETFLOW_V9_SCOPE;
use super::template::{FieldSpec, Template};
use super::types::DataType;
use super::value::Value;

/// Writes one message.
#[derive(Clone, Debug)]
pub struct MessageWriter {
    buf: Vec<u8>,
    version: u16,
    /// Where the open set's header starts.
    set_start: Option<usize>,
    set_id: u16,
    /// NetFlow v9 counts records (template and data) in its header.
    v9_records: u16,
}

impl MessageWriter {
    /// Starts an IPFIX message.
    pub fn ipfix(export_time: u32, sequence: u32, domain: u32) -> Self {
        let mut buf = Vec::with_capacity(1500);
        buf.extend_from_slice(&IPFIX_VERSION.to_be_bytes());
        buf.extend_from_slice(&0u16.to_be_bytes());
        buf.extend_from_slice(&export_time.to_be_bytes());
        buf.extend_from_slice(&sequence.to_be_bytes());
        buf.extend_from_slice(&domain.to_be_bytes());
        MessageWriter { buf, version: IPFIX_VERSION, set_start: None, set_id: 0, v9_records: 0 }
    }

    /// Starts a NetFlow v9 packet.
    pub fn netflow_v9(sys_uptime: u32, export_time: u32, sequence: u32, source_id: u32) -> Self {
        let mut buf = Vec::with_capacity(1500);
        buf.extend_from_slice(&NETFLOW_V9_VERSION.to_be_bytes());
        buf.extend_from_slice(&0u16.to_be_bytes());
        buf.extend_from_slice(&sys_uptime.to_be_bytes());
        buf.extend_from_slice(&export_time.to_be_bytes());
        buf.extend_from_slice(&sequence.to_be_bytes());
        buf.extend_from_slice(&source_id.to_be_bytes());
        MessageWriter { buf, version: NETFLOW_V9_VERSION, set_start: None, set_id: 0, v9_records: 0 }
    }

    /// Bytes written so far, headers of open sets included.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() <= self.header_len()
    }

    fn header_len(&self) -> usize {
        if self.version == NETFLOW_V9_VERSION { NETFLOW_V9_HEADER_LEN } else { IPFIX_HEADER_LEN }
    }

    /// Opens a set with this id, closing the open one.
    pub fn begin_set(&mut self, set_id: u16) {
        self.end_set();
        self.set_start = Some(self.buf.len());
        self.set_id = set_id;
        self.buf.extend_from_slice(&set_id.to_be_bytes());
        self.buf.extend_from_slice(&0u16.to_be_bytes());
    }

    /// Opens a template set (`options == false`) or options template set.
    pub fn begin_template_set(&mut self, options: bool) {
        let id = match (self.version, options) {
            (NETFLOW_V9_VERSION, false) => V9_TEMPLATE_SET,
            (NETFLOW_V9_VERSION, true) => V9_OPTIONS_TEMPLATE_SET,
            (_, false) => IPFIX_TEMPLATE_SET,
            (_, true) => IPFIX_OPTIONS_TEMPLATE_SET,
        };
        self.begin_set(id);
    }

    /// Closes the open set.
    pub fn end_set(&mut self) {
        self.end_set_padded(0);
    }

    /// Closes the open set after padding it with zeros to a multiple of `align` bytes.
    pub fn end_set_padded(&mut self, align: usize) {
        let Some(start) = self.set_start.take() else {
            return;
        };
        if align > 1 {
            let pad = (align - (self.buf.len() - start) % align) % align;
            self.buf.resize(self.buf.len() + pad, 0);
        }
        let len = (self.buf.len() - start) as u16;
        self.buf[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Appends a template record to the open template set.
    pub fn template(&mut self, template: &Template) {
        self.v9_records += 1;
        if self.version == NETFLOW_V9_VERSION && template.is_options() {
            let scopes = template.scope_count as usize;
            self.put16(template.id);
            self.put16((scopes * 4) as u16);
            self.put16(((template.fields.len() - scopes) * 4) as u16);
            for f in template.fields.iter() {
                self.put16(f.spec.id);
                self.put16(f.spec.length);
            }
            return;
        }
        if self.version != NETFLOW_V9_VERSION {
            return ipfix_template_record(&mut self.buf, template);
        }
        // NetFlow v9 has no enterprise numbers: its vendor fields are plain type ids.
        self.put16(template.id);
        self.put16(template.fields.len() as u16);
        for f in template.fields.iter() {
            self.put16(f.spec.id);
            self.put16(f.spec.length);
        }
    }

    /// Appends an IPFIX template withdrawal record (field count 0) to the open template set.
    pub fn withdraw(&mut self, template_id: u16) {
        self.put16(template_id);
        self.put16(0);
    }

    /// Starts a data record in the open data set.
    pub fn record(&mut self) -> RecordWriter<'_> {
        self.v9_records += 1;
        RecordWriter { buf: &mut self.buf }
    }

    /// Closes the open set and the message, and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.end_set();
        if self.version == NETFLOW_V9_VERSION {
            let count = self.v9_records;
            self.buf[2..4].copy_from_slice(&count.to_be_bytes());
        } else {
            let len = self.buf.len().min(u16::MAX as usize) as u16;
            self.buf[2..4].copy_from_slice(&len.to_be_bytes());
        }
        self.buf
    }

    fn put16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends an IPFIX template or options-template record (RFC 7011 §3.4.1, §3.4.2.2) to `buf`.
pub fn ipfix_template_record(buf: &mut Vec<u8>, template: &Template) {
    buf.extend_from_slice(&template.id.to_be_bytes());
    buf.extend_from_slice(&(template.fields.len() as u16).to_be_bytes());
    if template.is_options() {
        buf.extend_from_slice(&template.scope_count.to_be_bytes());
    }
    for f in template.fields.iter() {
        let spec = f.spec;
        if spec.pen != 0 {
            buf.extend_from_slice(&(spec.id | 0x8000).to_be_bytes());
            buf.extend_from_slice(&spec.length.to_be_bytes());
            buf.extend_from_slice(&spec.pen.to_be_bytes());
        } else {
            buf.extend_from_slice(&spec.id.to_be_bytes());
            buf.extend_from_slice(&spec.length.to_be_bytes());
        }
    }
}

/// Writes the fields of one record, in template order.
pub struct RecordWriter<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> RecordWriter<'a> {
    /// A writer appending to `buf`, for records encoded before their message exists (the
    /// exporting process's record batches).
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        RecordWriter { buf }
    }
}

impl RecordWriter<'_> {
    /// An unsigned integer in `len` bytes (reduced-size encoding when `len` is below the
    /// type's size; the value must fit).
    pub fn unsigned(&mut self, value: u64, len: u16) -> &mut Self {
        let bytes = value.to_be_bytes();
        let len = len as usize;
        if len <= 8 {
            self.buf.extend_from_slice(&bytes[8 - len..]);
        } else {
            self.buf.resize(self.buf.len() + len - 8, 0);
            self.buf.extend_from_slice(&bytes);
        }
        self
    }

    /// A signed integer in `len` bytes (two's complement, truncated to `len`).
    pub fn signed(&mut self, value: i64, len: u16) -> &mut Self {
        let bytes = value.to_be_bytes();
        let len = (len as usize).min(8);
        self.buf.extend_from_slice(&bytes[8 - len..]);
        self
    }

    /// A float in 4 or 8 bytes.
    pub fn float(&mut self, value: f64, len: u16) -> &mut Self {
        if len == 4 {
            self.buf.extend_from_slice(&(value as f32).to_be_bytes());
        } else {
            self.buf.extend_from_slice(&value.to_be_bytes());
        }
        self
    }

    /// Bytes of a fixed-length field: shorter input is padded with zeros, longer is cut.
    pub fn fixed(&mut self, bytes: &[u8], len: u16) -> &mut Self {
        let len = len as usize;
        let n = bytes.len().min(len);
        self.buf.extend_from_slice(&bytes[..n]);
        self.buf.resize(self.buf.len() + len - n, 0);
        self
    }

    /// A variable-length value with the shortest prefix (RFC 7011 §7). Values over 65535 bytes
    /// are cut, since no message can hold them.
    pub fn varlen(&mut self, bytes: &[u8]) -> &mut Self {
        let bytes = &bytes[..bytes.len().min(u16::MAX as usize)];
        if bytes.len() < 255 {
            self.buf.push(bytes.len() as u8);
        } else {
            self.buf.push(255);
            self.buf.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        }
        self.buf.extend_from_slice(bytes);
        self
    }

    /// A variable-length value with the 3-byte prefix even when short (allowed by RFC 7011 §7).
    pub fn varlen_long(&mut self, bytes: &[u8]) -> &mut Self {
        let bytes = &bytes[..bytes.len().min(u16::MAX as usize)];
        self.buf.push(255);
        self.buf.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Fields already encoded (a variable-length field's prefix included), as a forwarded
    /// record's run of fields is copied.
    pub fn encoded(&mut self, fields: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(fields);
        self
    }

    /// A field's bytes as they are, for `spec`: fixed fields take exactly `spec.length` bytes,
    /// variable-length ones get their prefix. This is how records are forwarded unchanged.
    pub fn raw(&mut self, spec: FieldSpec, bytes: &[u8]) -> &mut Self {
        if spec.is_varlen() { self.varlen(bytes) } else { self.fixed(bytes, spec.length) }
    }

    /// Encodes `value` as a field of `spec` with type `data_type`. Lists are written from their
    /// wire content, which the list views keep.
    pub fn value(&mut self, spec: FieldSpec, data_type: DataType, value: &Value<'_>) -> &mut Self {
        let len = if spec.is_varlen() { data_type.natural_length() } else { spec.length };
        let mut scratch = [0u8; 16];
        let bytes: &[u8] = match *value {
            Value::Absent => &[],
            Value::Unsigned(v) if !spec.is_varlen() => return self.unsigned(v, len),
            Value::Signed(v) if !spec.is_varlen() => return self.signed(v, len),
            Value::Float(v) if !spec.is_varlen() => return self.float(v, len),
            Value::Unsigned(v) => {
                scratch[..8].copy_from_slice(&v.to_be_bytes());
                &scratch[..8]
            }
            Value::Signed(v) => {
                scratch[..8].copy_from_slice(&v.to_be_bytes());
                &scratch[..8]
            }
            Value::Float(v) => {
                scratch[..8].copy_from_slice(&v.to_be_bytes());
                &scratch[..8]
            }
            Value::Bool(b) => {
                scratch[0] = if b { 1 } else { 2 };
                &scratch[..1]
            }
            Value::Mac(m) => {
                scratch[..6].copy_from_slice(&m);
                &scratch[..6]
            }
            Value::Ipv4(a) => {
                scratch[..4].copy_from_slice(&a.octets());
                &scratch[..4]
            }
            Value::Ipv6(a) => {
                scratch = a.octets();
                &scratch[..16]
            }
            Value::String(s) | Value::Octets(s) | Value::Invalid(s) => s,
            Value::Time(t) => {
                let raw = match data_type {
                    DataType::DateTimeSeconds => t.secs as u64,
                    DataType::DateTimeMilliseconds => t.as_millis() as u64,
                    _ => t.to_ntp(),
                };
                if !spec.is_varlen()
                    && data_type != DataType::DateTimeMicroseconds
                    && data_type != DataType::DateTimeNanoseconds
                {
                    return self.unsigned(raw, len);
                }
                scratch[..8].copy_from_slice(&raw.to_be_bytes());
                let n = if data_type == DataType::DateTimeSeconds { 4 } else { 8 };
                return self.raw(spec, &scratch[8 - n..8]);
            }
            Value::BasicList(l) => return self.raw(spec, l.wire()),
            Value::SubTemplateList(l) => return self.raw(spec, l.wire()),
            Value::SubTemplateMultiList(l) => return self.raw(spec, l.wire()),
        };
        self.raw(spec, bytes)
    }

    /// A basicList of `element` values (RFC 6313 §4.5.1), always with the 3-byte prefix.
    pub fn basic_list(
        &mut self,
        semantic: u8,
        element: FieldSpec,
        values: impl FnOnce(&mut RecordWriter<'_>),
    ) -> &mut Self {
        self.nested(|w| {
            w.buf.push(semantic);
            if element.pen != 0 && element.pen != PEN_NETFLOW_V9_SCOPE {
                w.buf.extend_from_slice(&(element.id | 0x8000).to_be_bytes());
                w.buf.extend_from_slice(&element.length.to_be_bytes());
                w.buf.extend_from_slice(&element.pen.to_be_bytes());
            } else {
                w.buf.extend_from_slice(&element.id.to_be_bytes());
                w.buf.extend_from_slice(&element.length.to_be_bytes());
            }
            values(w);
        })
    }

    /// A subTemplateList of records of `template_id` (RFC 6313 §4.5.2).
    pub fn sub_template_list(
        &mut self,
        semantic: u8,
        template_id: u16,
        records: impl FnOnce(&mut RecordWriter<'_>),
    ) -> &mut Self {
        self.nested(|w| {
            w.buf.push(semantic);
            w.buf.extend_from_slice(&template_id.to_be_bytes());
            records(w);
        })
    }

    /// A subTemplateMultiList (RFC 6313 §4.5.3): `blocks` writes its blocks with
    /// [`RecordWriter::block`].
    pub fn sub_template_multi_list(&mut self, semantic: u8, blocks: impl FnOnce(&mut RecordWriter<'_>)) -> &mut Self {
        self.nested(|w| {
            w.buf.push(semantic);
            blocks(w);
        })
    }

    /// One block of a subTemplateMultiList: records of `template_id`.
    pub fn block(&mut self, template_id: u16, records: impl FnOnce(&mut RecordWriter<'_>)) -> &mut Self {
        let start = self.buf.len();
        self.buf.extend_from_slice(&template_id.to_be_bytes());
        self.buf.extend_from_slice(&0u16.to_be_bytes());
        records(self);
        let len = (self.buf.len() - start) as u16;
        self.buf[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
        self
    }

    /// A variable-length field whose content `f` writes; the 3-byte prefix is patched after.
    fn nested(&mut self, f: impl FnOnce(&mut RecordWriter<'_>)) -> &mut Self {
        self.buf.push(255);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        f(self);
        let len = (self.buf.len() - at - 2).min(u16::MAX as usize) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_be_bytes());
        self
    }
}
