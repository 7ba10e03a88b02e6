//! Everything that does work. Nothing in here knows about clap or which command runs it.

pub mod agent;
pub mod aggregator;
pub mod announce;
pub mod capture;
pub mod collect;
pub mod collector;
pub mod config;
pub mod conntrack;
pub mod decode;
pub mod exporter;
pub mod flow;
pub mod inventory;
pub mod ipfix;
pub mod k8s;
pub mod metrics;
pub mod output;
pub mod problems;
pub mod replay;
pub mod sinks;
pub mod time;
pub mod trafficcontrol;
pub mod transport;
