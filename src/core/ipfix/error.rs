//! What can be wrong with a message, and the notable things the decoder does about it.
//!
//! Errors are plain data (no allocation, no boxing) because they are produced on the decode path
//! and counted per exporter; offsets are from the start of the message so a caller that knows
//! where the message sits (file, frame, TCP stream) can say exactly where to look.

use thiserror::Error;

/// A problem found while decoding one message. The decoder reports it and goes on with what
/// can still be trusted: the next set when a set's own length is sound, otherwise the next
/// message.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message has {len} bytes, fewer than the {need}-byte header")]
    ShortHeader { len: usize, need: usize },

    #[error("version {0} is neither IPFIX (10) nor NetFlow v9 (9)")]
    UnsupportedVersion(u16),

    #[error("header length {length} is shorter than the 16-byte header")]
    LengthBelowHeader { length: u16 },

    #[error("header length {length} but only {available} bytes arrived; decoded the bytes present")]
    LengthBeyondData { length: u16, available: usize },

    #[error("at offset {offset}: set header needs 4 bytes, {remaining} left")]
    TruncatedSetHeader { offset: usize, remaining: usize },

    #[error("at offset {offset}: set {set_id} has length {length}, expected 4..={remaining} (the rest of the message)")]
    BadSetLength { offset: usize, set_id: u16, length: u16, remaining: usize },

    #[error("at offset {offset}: set id {set_id} is reserved (4..=255 in IPFIX, 2..=255 in NetFlow v9); skipped")]
    ReservedSetId { offset: usize, set_id: u16 },

    #[error(
        "at offset {offset}: template record {template_id} is cut short: needs {need} bytes, {remaining} left in the set"
    )]
    TruncatedTemplate { offset: usize, template_id: u16, need: usize, remaining: usize },

    #[error("at offset {offset}: NetFlow v9 template {template_id} has no fields")]
    EmptyTemplate { offset: usize, template_id: u16 },

    #[error("at offset {offset}: template id {template_id} is below 256")]
    InvalidTemplateId { offset: usize, template_id: u16 },

    #[error("at offset {offset}: options template {template_id} has scope field count 0")]
    ZeroScopeCount { offset: usize, template_id: u16 },

    #[error(
        "at offset {offset}: options template {template_id} declares {scope_count} scope fields but only {field_count} fields"
    )]
    ScopeCountExceedsFields { offset: usize, template_id: u16, scope_count: u16, field_count: u16 },

    #[error(
        "at offset {offset}: NetFlow v9 options template {template_id} has scope length {scope_length} and option length {option_length}, not multiples of 4 within the set"
    )]
    BadOptionsLengths { offset: usize, template_id: u16, scope_length: u16, option_length: u16 },

    #[error("at offset {offset}: data set {template_id}: record {index} is cut short (a field runs past the set)")]
    TruncatedRecord { offset: usize, template_id: u16, index: usize },

    #[error(
        "at offset {offset}: data set {template_id}: its template has zero-length records, so the set cannot be split into records"
    )]
    ZeroLengthRecords { offset: usize, template_id: u16 },

    #[error(
        "at offset {offset}: data set {template_id}: {trailing} non-zero bytes after the last record where only zero padding may be"
    )]
    NonZeroPadding { offset: usize, template_id: u16, trailing: usize },

    #[error(
        "at offset {offset}: template {template_id} redefined with different fields over {transport}, a protocol error (RFC 7011 §8); the new definition is used"
    )]
    TemplateRedefined { offset: usize, template_id: u16, transport: &'static str },

    #[error("at offset {offset}: withdrawal of template {template_id} over UDP ignored (RFC 7011 §8.4)")]
    WithdrawalOverUdp { offset: usize, template_id: u16 },

    #[error("at offset {offset}: withdrawal of unknown template {template_id}")]
    WithdrawalOfUnknown { offset: usize, template_id: u16 },

    #[error(
        "at offset {offset}: template {template_id} dropped: the session already holds the maximum of {limit} templates"
    )]
    TemplateLimit { offset: usize, template_id: u16, limit: usize },

    #[error(
        "at offset {offset}: template {template_id} dropped: its {need} bytes would pass the session's bound of {limit} bytes of templates"
    )]
    TemplateBytesLimit { offset: usize, template_id: u16, need: usize, limit: usize },

    #[error(
        "at offset {offset}: template {template_id} dropped: its {need} bytes would pass the bound of {limit} bytes of templates of all sessions"
    )]
    TemplateBudgetLimit { offset: usize, template_id: u16, need: usize, limit: usize },

    #[error(
        "at offset {offset}: data set {template_id} dropped while waiting for its template: the session already holds {limit} bytes of such data"
    )]
    PendingLimit { offset: usize, template_id: u16, limit: usize },

    #[error("message refused: already {limit} transport sessions, the most one collector holds")]
    SessionLimit { limit: usize },

    #[error("{sets} data sets for template {template_id} expired before the template arrived")]
    PendingExpired { template_id: u16, sets: usize },

    #[error("{trailing} bytes after the message's header length ignored")]
    TrailingBytes { trailing: usize },
}

impl DecodeError {
    /// Whether the message was malformed (as opposed to a notice about something the decoder
    /// handled by the rules: a withdrawal it ignored, a bound it enforced).
    pub fn is_malformed(&self) -> bool {
        !matches!(
            self,
            DecodeError::WithdrawalOverUdp { .. }
                | DecodeError::TemplateLimit { .. }
                | DecodeError::TemplateBytesLimit { .. }
                | DecodeError::TemplateBudgetLimit { .. }
                | DecodeError::PendingLimit { .. }
                | DecodeError::PendingExpired { .. }
                | DecodeError::SessionLimit { .. }
                | DecodeError::WithdrawalOfUnknown { .. }
                | DecodeError::NonZeroPadding { .. }
                | DecodeError::TrailingBytes { .. }
        )
    }

    /// A short stable name for the cause, for counters and rate-limited logging.
    pub fn cause(&self) -> &'static str {
        match self {
            DecodeError::ShortHeader { .. } => "short-header",
            DecodeError::UnsupportedVersion(_) => "unsupported-version",
            DecodeError::LengthBelowHeader { .. } => "length-below-header",
            DecodeError::LengthBeyondData { .. } => "length-beyond-data",
            DecodeError::TruncatedSetHeader { .. } => "truncated-set-header",
            DecodeError::BadSetLength { .. } => "bad-set-length",
            DecodeError::ReservedSetId { .. } => "reserved-set-id",
            DecodeError::TruncatedTemplate { .. } => "truncated-template",
            DecodeError::EmptyTemplate { .. } => "empty-template",
            DecodeError::InvalidTemplateId { .. } => "invalid-template-id",
            DecodeError::ZeroScopeCount { .. } => "zero-scope-count",
            DecodeError::ScopeCountExceedsFields { .. } => "scope-count-exceeds-fields",
            DecodeError::BadOptionsLengths { .. } => "bad-options-lengths",
            DecodeError::TruncatedRecord { .. } => "truncated-record",
            DecodeError::ZeroLengthRecords { .. } => "zero-length-records",
            DecodeError::NonZeroPadding { .. } => "non-zero-padding",
            DecodeError::TemplateRedefined { .. } => "template-redefined",
            DecodeError::WithdrawalOverUdp { .. } => "withdrawal-over-udp",
            DecodeError::WithdrawalOfUnknown { .. } => "withdrawal-of-unknown",
            DecodeError::TemplateLimit { .. } => "template-limit",
            DecodeError::TemplateBytesLimit { .. } => "template-bytes-limit",
            DecodeError::TemplateBudgetLimit { .. } => "template-budget-limit",
            DecodeError::PendingLimit { .. } => "pending-limit",
            DecodeError::SessionLimit { .. } => "session-limit",
            DecodeError::PendingExpired { .. } => "pending-expired",
            DecodeError::TrailingBytes { .. } => "trailing-bytes",
        }
    }
}
