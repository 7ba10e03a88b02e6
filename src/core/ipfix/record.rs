//! Data records as views over the message bytes: splitting a data set (or a sub-template list)
//! into records, and a record into its field values. Nothing here allocates.

use super::template::{Field, Template, varlen_prefix};
use super::value::Value;

/// One data record: its template and exactly its bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataRecord<'a> {
    pub template: &'a Template,
    pub bytes: &'a [u8],
}

impl<'a> DataRecord<'a> {
    /// Each field with the bytes of its value (a variable-length field's prefix removed).
    #[inline]
    pub fn fields(&self) -> FieldValues<'a> {
        FieldValues { fields: self.template.fields.iter(), bytes: self.bytes, pos: 0 }
    }

    /// Where each field's value lies in `bytes` (a variable-length field's prefix excluded), for
    /// callers that pick fields out of template order; fewer ranges than fields when the record
    /// is shorter than its template says.
    pub fn ranges(&self, into: &mut Vec<std::ops::Range<usize>>) {
        into.clear();
        let mut values = self.fields();
        while let Some((_, value)) = values.next() {
            into.push(values.pos - value.len()..values.pos);
        }
    }

    /// The bytes of field `index`.
    pub fn raw(&self, index: usize) -> Option<&'a [u8]> {
        let field = self.template.fields.get(index)?;
        match field.offset() {
            Some(at) if !field.spec.is_varlen() => self.bytes.get(at..at + field.spec.length as usize),
            _ => self.fields().nth(index).map(|(_, raw)| raw),
        }
    }

    /// The typed value of field `index`.
    pub fn value(&self, index: usize) -> Option<Value<'a>> {
        let raw = self.raw(index)?;
        Some(Value::decode(self.template.fields[index].data_type, raw))
    }

    /// The typed value of the first field carrying element (`pen`, `id`).
    pub fn get(&self, pen: u32, id: u16) -> Option<Value<'a>> {
        self.value(self.template.position(pen, id)?)
    }
}

/// Iterator over the fields of a record and the bytes of their values.
#[derive(Clone, Debug)]
pub struct FieldValues<'a> {
    fields: std::slice::Iter<'a, Field>,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for FieldValues<'a> {
    type Item = (&'a Field, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let field = self.fields.next()?;
        let rest = self.bytes.get(self.pos..)?;
        let (skip, len) = if field.spec.is_varlen() { varlen_prefix(rest)? } else { (0, field.spec.length as usize) };
        let value = rest.get(skip..skip + len)?;
        self.pos += skip + len;
        Some((field, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.fields.len()))
    }
}

/// Why the records of a set could not all be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordsError {
    /// Record `index` (0-based) has a field running past the end of the set.
    Truncated { index: usize },
    /// Every field of the template has length zero, so records take no room.
    ZeroLength,
}

/// Iterator over the records of a data set body or a sub-template list. It stops at padding:
/// fewer bytes than the template's shortest record (RFC 7011 §3.3.1).
#[derive(Clone, Debug)]
pub struct Records<'a> {
    template: &'a Template,
    rest: &'a [u8],
    index: usize,
    failed: bool,
}

impl<'a> Records<'a> {
    pub fn new(template: &'a Template, body: &'a [u8]) -> Self {
        Records { template, rest: body, index: 0, failed: false }
    }

    /// What is left after the last record: padding once the iterator is done.
    pub fn remainder(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<DataRecord<'a>, RecordsError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.len() < self.template.min_record_len || self.rest.is_empty() {
            return None;
        }
        if self.template.record_len == Some(0) {
            self.failed = true;
            return Some(Err(RecordsError::ZeroLength));
        }
        match self.template.record_length(self.rest) {
            Some(len) => {
                let (bytes, rest) = self.rest.split_at(len);
                self.rest = rest;
                self.index += 1;
                Some(Ok(DataRecord { template: self.template, bytes }))
            }
            None => {
                self.failed = true;
                Some(Err(RecordsError::Truncated { index: self.index }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ipfix::template::FieldSpec;
    use crate::core::ipfix::types::VARLEN;

    #[test]
    fn splits_sets_into_records_and_stops_at_padding() {
        let t = Template::new(256, 0, [FieldSpec::iana(7, 2), FieldSpec::iana(4, 1)]);
        let body = [0, 80, 6, 1, 187, 17, 0, 0];
        let recs: Vec<_> = Records::new(&t, &body).collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].value(0), Some(Value::Unsigned(443)));
        assert_eq!(recs[1].get(0, 4), Some(Value::Unsigned(17)));
    }

    #[test]
    fn variable_length_records_and_truncation() {
        let t = Template::new(256, 0, [FieldSpec::iana(82, VARLEN), FieldSpec::iana(4, 1)]);
        let body = [3, b'e', b't', b'h', 6, 0, 17, 9, b'x'];
        let mut it = Records::new(&t, &body);
        let first = it.next().unwrap().unwrap();
        assert_eq!(first.value(0), Some(Value::String(b"eth")));
        assert_eq!(first.value(1), Some(Value::Unsigned(6)));
        let second = it.next().unwrap().unwrap();
        assert_eq!(second.value(0), Some(Value::String(b"")));
        assert_eq!(it.next(), Some(Err(RecordsError::Truncated { index: 2 })));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn zero_length_templates_do_not_loop() {
        let t = Template::new(256, 0, [FieldSpec::iana(150, 0), FieldSpec::iana(151, 0)]);
        let mut it = Records::new(&t, &[1, 2, 3, 4]);
        assert_eq!(it.next(), Some(Err(RecordsError::ZeroLength)));
        assert_eq!(it.next(), None);
    }
}
