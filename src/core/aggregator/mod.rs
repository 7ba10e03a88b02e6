//! The Flow Aggregator engines. Aggregate mode (`aggregate`, over the `store`) correlates the two
//! Nodes' records of each connection; proxy mode (`proxy`) forwards every record statelessly with the
//! original exporter's identity; the record metrics (`RecordMetrics`) are what
//! `flowctl get recordmetrics` prints, in antctl's format.

pub mod aggregate;
pub mod client;
pub mod proxy;
mod record_metrics;
pub mod records;
pub mod store;

pub use record_metrics::RecordMetrics;

use std::sync::Arc;

use crate::core::flow::Flow;
use crate::core::k8s::PodStore;

/// The labels of a named Pod, as JSON text; `None` for no name or a Pod the store does not know.
pub(crate) fn pod_labels(pods: &PodStore, namespace: &str, name: &str) -> Option<Arc<str>> {
    if name.is_empty() { None } else { pods.labels(namespace, name) }
}

/// An inter-Node record knows only its own Node's Pod; the other side comes from the Pod store
/// (reference: fillK8sMetadata, in both modes). True when that side was filled in.
pub(crate) fn fill_pod(pods: &PodStore, flow: &mut Flow, source: bool) -> bool {
    let (ip, name) = if source {
        (flow.source_address, &flow.source_pod_name)
    } else {
        (flow.destination_address, &flow.destination_pod_name)
    };
    if !name.is_empty() {
        return false;
    }
    let Some(pod) = pods.by_ip(ip, flow.flow_start) else {
        return false;
    };
    let (name, namespace, node) = if source {
        (&mut flow.source_pod_name, &mut flow.source_pod_namespace, &mut flow.source_node_name)
    } else {
        (&mut flow.destination_pod_name, &mut flow.destination_pod_namespace, &mut flow.destination_node_name)
    };
    for (to, from) in [(name, &pod.name), (namespace, &pod.namespace), (node, &pod.node)] {
        to.clear();
        to.push_str(from);
    }
    true
}

/// Says what shutdown could not read: records an exporter handed over and will not send again.
fn warn_undrained(board: &crate::core::collector::Board) {
    let c = board.connections;
    if c.undrained > 0 {
        tracing::warn!(
            "{} bytes were still unread on {} connections when the drain timeout ran out: the records in them are lost",
            c.undrained_bytes,
            c.undrained
        );
    }
}
