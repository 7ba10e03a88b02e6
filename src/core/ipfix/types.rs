//! The abstract data types, semantics and status of Information Elements (RFC 7012 §3, RFC 6313),
//! and what a field's length means for each type.

use std::fmt;

/// Field length that marks a variable-length field (RFC 7011 §7).
pub const VARLEN: u16 = 65535;

/// RFC 7012 abstract data types, plus the RFC 6313 structured types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    OctetArray,
    Unsigned8,
    Unsigned16,
    Unsigned32,
    Unsigned64,
    Signed8,
    Signed16,
    Signed32,
    Signed64,
    Float32,
    Float64,
    Boolean,
    MacAddress,
    String,
    DateTimeSeconds,
    DateTimeMilliseconds,
    DateTimeMicroseconds,
    DateTimeNanoseconds,
    Ipv4Address,
    Ipv6Address,
    BasicList,
    SubTemplateList,
    SubTemplateMultiList,
}

impl DataType {
    /// The length an exporter uses when it does not reduce or vary it: the type's natural size,
    /// or [`VARLEN`] for types without one.
    pub const fn natural_length(self) -> u16 {
        match self {
            DataType::Unsigned8 | DataType::Signed8 | DataType::Boolean => 1,
            DataType::Unsigned16 | DataType::Signed16 => 2,
            DataType::Unsigned32
            | DataType::Signed32
            | DataType::Float32
            | DataType::DateTimeSeconds
            | DataType::Ipv4Address => 4,
            DataType::MacAddress => 6,
            DataType::Unsigned64
            | DataType::Signed64
            | DataType::Float64
            | DataType::DateTimeMilliseconds
            | DataType::DateTimeMicroseconds
            | DataType::DateTimeNanoseconds => 8,
            DataType::Ipv6Address => 16,
            DataType::OctetArray
            | DataType::String
            | DataType::BasicList
            | DataType::SubTemplateList
            | DataType::SubTemplateMultiList => VARLEN,
        }
    }

    /// Whether a field of this type may be sent in fewer bytes than its natural size
    /// (RFC 7011 §6.2: the integer types and float64).
    pub const fn allows_reduced_size(self) -> bool {
        matches!(
            self,
            DataType::Unsigned16
                | DataType::Unsigned32
                | DataType::Unsigned64
                | DataType::Signed16
                | DataType::Signed32
                | DataType::Signed64
                | DataType::Float64
        )
    }

    pub const fn name(self) -> &'static str {
        match self {
            DataType::OctetArray => "octetArray",
            DataType::Unsigned8 => "unsigned8",
            DataType::Unsigned16 => "unsigned16",
            DataType::Unsigned32 => "unsigned32",
            DataType::Unsigned64 => "unsigned64",
            DataType::Signed8 => "signed8",
            DataType::Signed16 => "signed16",
            DataType::Signed32 => "signed32",
            DataType::Signed64 => "signed64",
            DataType::Float32 => "float32",
            DataType::Float64 => "float64",
            DataType::Boolean => "boolean",
            DataType::MacAddress => "macAddress",
            DataType::String => "string",
            DataType::DateTimeSeconds => "dateTimeSeconds",
            DataType::DateTimeMilliseconds => "dateTimeMilliseconds",
            DataType::DateTimeMicroseconds => "dateTimeMicroseconds",
            DataType::DateTimeNanoseconds => "dateTimeNanoseconds",
            DataType::Ipv4Address => "ipv4Address",
            DataType::Ipv6Address => "ipv6Address",
            DataType::BasicList => "basicList",
            DataType::SubTemplateList => "subTemplateList",
            DataType::SubTemplateMultiList => "subTemplateMultiList",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// RFC 7012 §3.2 data type semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Semantics {
    Default,
    Quantity,
    TotalCounter,
    DeltaCounter,
    Identifier,
    Flags,
    List,
    SnmpCounter,
    SnmpGauge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Current,
    Deprecated,
}
