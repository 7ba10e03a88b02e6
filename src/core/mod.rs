//! Everything that does work. Nothing in here knows about clap or which command runs it.

pub mod capture;
pub mod ipfix;
pub mod time;
