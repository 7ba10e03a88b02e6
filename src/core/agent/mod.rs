//! The Flow Exporter (Antrea agent): Linux conntrack → connection store → IPFIX records.

pub mod store;
