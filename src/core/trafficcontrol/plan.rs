//! Which Pods a TrafficControl selects, and the one TrafficControl that takes effect on each
//! Pod: the first applied (oldest) wins, as in the reference, and the next one takes over when
//! it goes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::{Action, Direction, Port, TrafficControl};

/// A Pod as TrafficControl needs it: where it is, its labels and its host-side interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub interface: String,
    pub ips: Vec<IpAddr>,
}

/// What one Pod gets: from its effective TrafficControl.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub tc: String,
    pub pod: String,
    pub interface: String,
    pub ips: Vec<IpAddr>,
    pub direction: Direction,
    pub action: Action,
    pub target: Port,
    pub return_port: Option<Port>,
}

/// The reference's rules: no selector at all selects nothing; podSelector alone selects in every
/// Namespace; namespaceSelector alone selects every Pod in the matching Namespaces.
pub fn selects(
    tc: &TrafficControl,
    pod: &PodRef,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> bool {
    let applied = &tc.spec.applied_to;
    if applied.pod_selector.is_none() && applied.namespace_selector.is_none() {
        return false;
    }
    let empty = BTreeMap::new();
    let ns_labels = namespace_labels.get(&pod.namespace).unwrap_or(&empty);
    applied.pod_selector.as_ref().is_none_or(|s| matches(s, &pod.labels))
        && applied.namespace_selector.as_ref().is_none_or(|s| matches(s, ns_labels))
}

/// Kubernetes label selector semantics: every matchLabels pair and every expression holds; an
/// empty selector matches everything.
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = selector.match_labels.iter().flatten().all(|(k, v)| labels.get(k).is_some_and(|have| have == v));
    labels_ok
        && selector.match_expressions.iter().flatten().all(|e| {
            let have = labels.get(&e.key);
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => have.is_some_and(|h| values.contains(h)),
                "NotIn" => have.is_none_or(|h| !values.contains(h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            }
        })
}

/// What [`matches`] cannot answer: an unknown operator, values where none belong or none where
/// some are needed.
pub fn check_selector(selector: &LabelSelector) -> Result<(), String> {
    for (i, e) in selector.match_expressions.iter().flatten().enumerate() {
        let n = e.values.as_ref().map_or(0, Vec::len);
        match e.operator.as_str() {
            "In" | "NotIn" if n == 0 => return Err(format!("matchExpressions[{i}]: {} needs values", e.operator)),
            "Exists" | "DoesNotExist" if n > 0 => {
                return Err(format!("matchExpressions[{i}]: {} takes no values", e.operator));
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => {
                return Err(format!(
                    "matchExpressions[{i}]: operator {other:?} is not In, NotIn, Exists or DoesNotExist"
                ));
            }
        }
    }
    Ok(())
}

/// One binding per selected Pod, from the first TrafficControl in `tcs` (applied order) that
/// selects it; Pods are keyed `namespace/name`.
pub fn bindings(
    tcs: &[TrafficControl],
    pods: &[PodRef],
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<Binding> {
    pods.iter()
        .filter_map(|pod| {
            let tc = tcs.iter().find(|tc| selects(tc, pod, namespace_labels))?;
            Some(Binding {
                tc: tc.metadata.name.clone().unwrap_or_default(),
                pod: format!("{}/{}", pod.namespace, pod.name),
                interface: pod.interface.clone(),
                ips: pod.ips.clone(),
                direction: tc.spec.direction,
                action: tc.spec.action,
                target: tc.spec.target_port.clone(),
                return_port: tc.spec.return_port.clone(),
            })
        })
        .collect()
}
