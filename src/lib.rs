//! flowctl: one binary for the flow-visibility pipeline of a Kubernetes cluster.
//!
//! - `commands/` turns command lines into validated options and calls into `core`.
//! - `core/` does the work: the IPFIX codec, capture files, printers, the transport (UDP, TCP and
//!   TLS, certificates), the collector, replay of captures to a collector, the exporting process,
//!   and (in later issues) the agent and aggregator.

pub mod commands;
pub mod core;
