//! ClickHouse (issue #6).
