//! flowctl: one binary for the flow-visibility pipeline of a Kubernetes cluster.
//!
//! - `commands/` turns command lines into validated options and calls into `core`.
//! - `core/` does the work: the IPFIX codec, capture files, printers, and (in later issues)
//!   the transport, collector, exporter, agent and aggregator.

pub mod commands;
pub mod core;
