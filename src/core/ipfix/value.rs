//! Typed values of fields, read in place: RFC 7011 §6 encodings (big-endian, reduced-size
//! integers and float64, NTP-format micro/nanosecond timestamps, booleans 1/2) and the
//! RFC 6313 structured types as views that iterate lazily.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::registry::{self, InformationElement};
use super::template::{FieldSpec, varlen_prefix};
use super::types::DataType;
use crate::core::time::{Precision, Timestamp};

/// A field's value as its element's type defines it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// The template gives the field length 0: the element is named but carries no value.
    Absent,
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
    Mac([u8; 6]),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// UTF-8 by the RFC; kept as bytes so a printer decides how to show invalid sequences.
    String(&'a [u8]),
    Octets(&'a [u8]),
    Time(Timestamp),
    BasicList(BasicList<'a>),
    SubTemplateList(SubTemplateList<'a>),
    SubTemplateMultiList(SubTemplateMultiList<'a>),
    /// Bytes that do not fit the element's type, such as a boolean of 3 or a 5-byte address.
    Invalid(&'a [u8]),
}

/// Reads an unsigned big-endian integer of 1..=8 bytes. Longer inputs are accepted when the
/// extra leading bytes are zero (over-length encodings some exporters send).
#[inline]
pub fn read_unsigned(raw: &[u8]) -> Option<u64> {
    match raw.len() {
        1 => Some(raw[0] as u64),
        2 => Some(u16::from_be_bytes([raw[0], raw[1]]) as u64),
        4 => Some(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as u64),
        8 => Some(u64::from_be_bytes(raw.try_into().ok()?)),
        0 => None,
        n if n < 8 => Some(raw.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64)),
        n => {
            raw[..n - 8].iter().all(|&b| b == 0).then(|| u64::from_be_bytes(raw[n - 8..].try_into().unwrap_or([0; 8])))
        }
    }
}

fn read_signed(raw: &[u8]) -> Option<i64> {
    if raw.is_empty() || raw.len() > 8 {
        return None;
    }
    let unsigned = read_unsigned(raw)?;
    let shift = 64 - 8 * raw.len() as u32;
    Some(((unsigned << shift) as i64) >> shift)
}

impl<'a> Value<'a> {
    /// Decodes `raw`, the bytes a record holds for a field of type `data_type`.
    #[inline]
    pub fn decode(data_type: DataType, raw: &'a [u8]) -> Value<'a> {
        if raw.is_empty() && !matches!(data_type, DataType::String | DataType::OctetArray) {
            return Value::Absent;
        }
        let invalid = Value::Invalid(raw);
        match data_type {
            DataType::Unsigned8 | DataType::Unsigned16 | DataType::Unsigned32 | DataType::Unsigned64 => {
                read_unsigned(raw).map_or(invalid, Value::Unsigned)
            }
            DataType::Signed8 | DataType::Signed16 | DataType::Signed32 | DataType::Signed64 => {
                read_signed(raw).map_or(invalid, Value::Signed)
            }
            DataType::Float32 => match raw.len() {
                4 => Value::Float(f32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as f64),
                _ => invalid,
            },
            DataType::Float64 => match raw.len() {
                8 => Value::Float(f64::from_be_bytes(raw.try_into().unwrap_or([0; 8]))),
                4 => Value::Float(f32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as f64),
                _ => invalid,
            },
            DataType::Boolean => match raw {
                [1] => Value::Bool(true),
                [2] => Value::Bool(false),
                _ => invalid,
            },
            DataType::MacAddress => raw.try_into().map_or(invalid, Value::Mac),
            DataType::Ipv4Address => <[u8; 4]>::try_from(raw).map_or(invalid, |b| Value::Ipv4(b.into())),
            DataType::Ipv6Address => <[u8; 16]>::try_from(raw).map_or(invalid, |b| Value::Ipv6(b.into())),
            DataType::String => Value::String(raw),
            DataType::OctetArray => Value::Octets(raw),
            // Seconds and milliseconds are plain integers; exporters reduce them like integers.
            DataType::DateTimeSeconds if raw.len() <= 8 => {
                read_unsigned(raw).map_or(invalid, |s| Value::Time(Timestamp::from_secs(s as i64)))
            }
            DataType::DateTimeMilliseconds if raw.len() <= 8 => {
                read_unsigned(raw).map_or(invalid, |ms| Value::Time(Timestamp::from_millis(ms as i64)))
            }
            DataType::DateTimeMicroseconds | DataType::DateTimeNanoseconds if raw.len() == 8 => {
                let precision =
                    if data_type == DataType::DateTimeMicroseconds { Precision::Micros } else { Precision::Nanos };
                Value::Time(Timestamp::from_ntp(u64::from_be_bytes(raw.try_into().unwrap_or([0; 8])), precision))
            }
            DataType::DateTimeSeconds
            | DataType::DateTimeMilliseconds
            | DataType::DateTimeMicroseconds
            | DataType::DateTimeNanoseconds => invalid,
            DataType::BasicList => BasicList::parse(raw).map_or(invalid, Value::BasicList),
            DataType::SubTemplateList => SubTemplateList::parse(raw).map_or(invalid, Value::SubTemplateList),
            DataType::SubTemplateMultiList => {
                SubTemplateMultiList::parse(raw).map_or(invalid, Value::SubTemplateMultiList)
            }
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Unsigned(v) => Some(v),
            Value::Signed(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
}

/// A basicList: values of one element (RFC 6313 §4.5.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BasicList<'a> {
    pub semantic: u8,
    /// The listed element; `length` is each value's length, or VARLEN.
    pub element: FieldSpec,
    pub ie: Option<&'static InformationElement>,
    pub data_type: DataType,
    content: &'a [u8],
    wire: &'a [u8],
}

impl<'a> BasicList<'a> {
    pub fn parse(raw: &'a [u8]) -> Option<Self> {
        let semantic = *raw.first()?;
        let id = u16::from_be_bytes([*raw.get(1)?, *raw.get(2)?]);
        let length = u16::from_be_bytes([*raw.get(3)?, *raw.get(4)?]);
        let (element, content) = if id & 0x8000 != 0 {
            let pen = u32::from_be_bytes(raw.get(5..9)?.try_into().ok()?);
            (FieldSpec::enterprise(pen, id & 0x7fff, length), &raw[9..])
        } else {
            (FieldSpec::iana(id, length), &raw[5..])
        };
        let ie = registry::lookup(element.pen, element.id);
        let data_type = ie.map_or(DataType::OctetArray, |ie| ie.data_type);
        Some(BasicList { semantic, element, ie, data_type, content, wire: raw })
    }

    /// The whole list as it was on the wire (without the variable-length prefix).
    pub fn wire(&self) -> &'a [u8] {
        self.wire
    }

    /// The listed values; a value cut short by the end of the list comes last, as `Invalid`.
    pub fn values(&self) -> impl Iterator<Item = Value<'a>> + 'a {
        let (spec, data_type) = (self.element, self.data_type);
        let mut rest = self.content;
        std::iter::from_fn(move || {
            if rest.is_empty() || spec.length == 0 {
                return None;
            }
            let (skip, len) = if spec.is_varlen() {
                varlen_prefix(rest).unwrap_or((rest.len(), 0))
            } else {
                (0, spec.length as usize)
            };
            match rest.get(skip..skip + len) {
                Some(v) => {
                    rest = &rest[skip + len..];
                    Some(Value::decode(data_type, v))
                }
                None => {
                    let bad = rest;
                    rest = &[];
                    Some(Value::Invalid(bad))
                }
            }
        })
    }
}

/// A subTemplateList: records of one template (RFC 6313 §4.5.2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SubTemplateList<'a> {
    pub semantic: u8,
    pub template_id: u16,
    /// The records, to be split with the template of the same transport session and domain.
    pub content: &'a [u8],
    wire: &'a [u8],
}

impl<'a> SubTemplateList<'a> {
    pub fn parse(raw: &'a [u8]) -> Option<Self> {
        Some(SubTemplateList {
            semantic: *raw.first()?,
            template_id: u16::from_be_bytes([*raw.get(1)?, *raw.get(2)?]),
            content: &raw[3..],
            wire: raw,
        })
    }

    /// The whole list as it was on the wire (without the variable-length prefix).
    pub fn wire(&self) -> &'a [u8] {
        self.wire
    }
}

/// A subTemplateMultiList: blocks of records, each block with its own template
/// (RFC 6313 §4.5.3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SubTemplateMultiList<'a> {
    pub semantic: u8,
    content: &'a [u8],
    wire: &'a [u8],
}

impl<'a> SubTemplateMultiList<'a> {
    pub fn parse(raw: &'a [u8]) -> Option<Self> {
        Some(SubTemplateMultiList { semantic: *raw.first()?, content: &raw[1..], wire: raw })
    }

    /// The whole list as it was on the wire (without the variable-length prefix).
    pub fn wire(&self) -> &'a [u8] {
        self.wire
    }

    /// Each block as (template id, its records' bytes); a block whose length does not fit ends
    /// the list with `Err` carrying the bytes left.
    pub fn blocks(&self) -> impl Iterator<Item = Result<(u16, &'a [u8]), &'a [u8]>> + 'a {
        let mut rest = self.content;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let header = rest.get(..4).map(|h| (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([h[2], h[3]])));
            match header {
                Some((id, len)) if len >= 4 && len as usize <= rest.len() => {
                    let block = &rest[4..len as usize];
                    rest = &rest[len as usize..];
                    Some(Ok((id, block)))
                }
                _ => {
                    let bad = rest;
                    rest = &[];
                    Some(Err(bad))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_with_reduced_and_over_length_encodings() {
        assert_eq!(Value::decode(DataType::Unsigned64, &[0, 0, 1, 0]), Value::Unsigned(256));
        assert_eq!(Value::decode(DataType::Unsigned32, &[0x01, 0x02, 0x03]), Value::Unsigned(0x010203));
        assert_eq!(Value::decode(DataType::Unsigned8, &[0, 0, 0, 7]), Value::Unsigned(7));
        assert_eq!(Value::decode(DataType::Signed32, &[0xff, 0xfe]), Value::Signed(-2));
        assert_eq!(Value::decode(DataType::Signed64, &[0x7f]), Value::Signed(127));
        let long = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 5];
        assert_eq!(Value::decode(DataType::Unsigned64, &long), Value::Unsigned(5));
        let too_long = [1u8, 0, 0, 0, 0, 0, 0, 0, 0, 5];
        assert_eq!(Value::decode(DataType::Unsigned64, &too_long), Value::Invalid(&too_long));
        assert_eq!(Value::decode(DataType::Unsigned16, &[]), Value::Absent);
    }

    #[test]
    fn floats_booleans_addresses() {
        assert_eq!(Value::decode(DataType::Float64, &1.5f64.to_be_bytes()), Value::Float(1.5));
        assert_eq!(Value::decode(DataType::Float64, &0.25f32.to_be_bytes()), Value::Float(0.25));
        assert_eq!(Value::decode(DataType::Float32, &[0, 0]), Value::Invalid(&[0, 0]));
        assert_eq!(Value::decode(DataType::Boolean, &[1]), Value::Bool(true));
        assert_eq!(Value::decode(DataType::Boolean, &[2]), Value::Bool(false));
        assert_eq!(Value::decode(DataType::Boolean, &[0]), Value::Invalid(&[0]));
        assert_eq!(Value::decode(DataType::Ipv4Address, &[10, 0, 0, 1]), Value::Ipv4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(Value::decode(DataType::Ipv4Address, &[10, 0, 0]), Value::Invalid(&[10, 0, 0]));
        assert_eq!(Value::decode(DataType::MacAddress, &[1, 2, 3, 4, 5, 6]), Value::Mac([1, 2, 3, 4, 5, 6]));
    }

    #[test]
    fn timestamps_of_every_precision() {
        let raw = 1_662_710_767u32.to_be_bytes();
        assert_eq!(Value::decode(DataType::DateTimeSeconds, &raw), Value::Time(Timestamp::from_secs(1_662_710_767)));
        let raw = 1_662_710_767_123u64.to_be_bytes();
        let v = Value::decode(DataType::DateTimeMilliseconds, &raw);
        assert_eq!(v, Value::Time(Timestamp::from_millis(1_662_710_767_123)));
        let t = Timestamp::from_nanos(1_662_710_767_123_456_789);
        let raw = t.to_ntp().to_be_bytes();
        assert_eq!(Value::decode(DataType::DateTimeNanoseconds, &raw), Value::Time(t));
        let t = Timestamp::from_micros(1_662_710_767_123_456);
        let raw = t.to_ntp().to_be_bytes();
        assert_eq!(Value::decode(DataType::DateTimeMicroseconds, &raw), Value::Time(t));
    }

    #[test]
    fn basic_lists_of_fixed_and_variable_values() {
        // allOf, sourceTransportPort (7) of length 2: [80, 443]
        let raw = [3, 0, 7, 0, 2, 0, 80, 1, 187];
        let Value::BasicList(list) = Value::decode(DataType::BasicList, &raw) else { panic!("not a list") };
        assert_eq!(list.ie.map(|ie| ie.name), Some("sourceTransportPort"));
        assert_eq!(list.values().collect::<Vec<_>>(), [Value::Unsigned(80), Value::Unsigned(443)]);
        // enterprise element, variable length: Antrea sourcePodName ["a", "bc"]
        let raw = [4, 0x80, 101, 0xff, 0xff, 0, 0, 0xdc, 0xba, 1, b'a', 2, b'b', b'c'];
        let Value::BasicList(list) = Value::decode(DataType::BasicList, &raw) else { panic!("not a list") };
        assert_eq!(list.values().collect::<Vec<_>>(), [Value::String(b"a"), Value::String(b"bc")]);
        // a value cut short
        let raw = [3, 0, 7, 0, 2, 0, 80, 1];
        let Value::BasicList(list) = Value::decode(DataType::BasicList, &raw) else { panic!("not a list") };
        assert_eq!(list.values().collect::<Vec<_>>(), [Value::Unsigned(80), Value::Invalid(&[1])]);
    }

    #[test]
    fn sub_template_multi_list_blocks() {
        let raw = [3, 1, 0, 0, 6, 0xaa, 0xbb, 1, 1, 0, 4, 1, 2, 0, 9];
        let Value::SubTemplateMultiList(list) = Value::decode(DataType::SubTemplateMultiList, &raw) else {
            panic!("not a list")
        };
        let blocks: Vec<_> = list.blocks().collect();
        assert_eq!(blocks, [Ok((256, &[0xaa, 0xbb][..])), Ok((257, &[][..])), Err(&[1, 2, 0, 9][..])]);
    }
}
