//! The IPFIX (RFC 7011/7012) and NetFlow v9 (RFC 3954) codec.
//!
//! - [`message`]: headers and the walk over sets.
//! - [`template`]: template records, and templates compiled into names, types and offsets.
//! - [`record`] and [`value`]: records and typed values as views over the message bytes,
//!   RFC 6313 lists included.
//! - [`decoder`]: the collecting side: template scoping by transport session and observation
//!   domain, UDP template lifetimes, withdrawals, data held until its template arrives, sequence
//!   tracking, counters. Records go to a [`decoder::Visitor`].
//! - [`encoder`]: the exporting side's message writer.
//! - [`registry`]: Information Elements (IANA, RFC 5103 reverse, Antrea, vendors).

pub mod decoder;
pub mod encoder;
pub mod error;
pub mod message;
pub mod record;
pub mod registry;
pub mod template;
pub mod types;
pub mod value;

pub use decoder::{Decoder, DecoderConfig, MessageMeta, Origin, RecordRef, SessionKey, Transport, Visitor};
pub use encoder::{MessageWriter, RecordWriter};
pub use error::DecodeError;
pub use record::DataRecord;
pub use template::{Field, FieldSpec, Template};
pub use types::{DataType, VARLEN};
pub use value::Value;
