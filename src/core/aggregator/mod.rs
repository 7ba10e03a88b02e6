//! The Flow Aggregator engines. Aggregate mode (`aggregate`, over the `store`) correlates the two
//! Nodes' records of each connection; proxy mode (`proxy`) forwards every record statelessly with the
//! original exporter's identity; the record metrics (`RecordMetrics`) are what
//! `flowctl get recordmetrics` prints, in antctl's format.

pub mod aggregate;
pub mod proxy;
mod record_metrics;
pub mod records;
pub mod store;

pub use record_metrics::RecordMetrics;

/// FNV-1 32-bit (not FNV-1a): how Antrea derives an observation domain id from a Node name or a
/// cluster UUID (reference §1.3, §3.1).
pub fn fnv1_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| h.wrapping_mul(0x0100_0193) ^ u32::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1_32_matches_gos_hash_fnv_new32() {
        // Go: h := fnv.New32(); h.Write([]byte(s)); h.Sum32()
        assert_eq!(fnv1_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1_32(b"a"), 0x050c_5d7e);
        assert_eq!(fnv1_32(b"foobar"), 0x31f0_b262);
    }
}
