//! The abstract data types, semantics and status of Information Elements (RFC 7012 §3, RFC 6313),
//! and what a field's length means for each type.

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
