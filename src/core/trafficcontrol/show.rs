//! TrafficControls and their realization as `tc get` and `tc status` show them.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::kernel::{self, Realized};
use super::local::{self, Desired};
use super::plan::{self, Binding, PodRef};
use super::{Port, TrafficControl};

pub const COLUMNS: [&str; 5] = ["NAME", "DIRECTION", "ACTION", "TARGET", "AGE"];
pub const WIDE_COLUMNS: [&str; 7] = ["NAME", "DIRECTION", "ACTION", "TARGET", "RETURN", "APPLIED-TO", "AGE"];

/// A port as a person calls it: `device veth-a`, `vxlan 192.0.2.1 vni 5 port 4789`.
pub fn describe(port: &Port) -> String {
    local::port_plan(port).map(|p| p.describe).unwrap_or_else(|_| "-".into())
}

fn selector(s: &LabelSelector) -> String {
    let mut parts: Vec<String> = s.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    for e in s.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            _ => format!("!{}", e.key),
        });
    }
    if parts.is_empty() { "<all>".into() } else { parts.join(",") }
}

fn applied_to(tc: &TrafficControl) -> String {
    let a = &tc.spec.applied_to;
    match (&a.pod_selector, &a.namespace_selector) {
        (None, None) => "<none>".into(),
        (Some(p), None) => format!("pods {}", selector(p)),
        (None, Some(n)) => format!("namespaces {}", selector(n)),
        (Some(p), Some(n)) => format!("pods {} in namespaces {}", selector(p), selector(n)),
    }
}

/// Age as kubectl prints it: `45s`, `12m`, `5h`, `3d`.
pub fn age(tc: &TrafficControl, now_secs: i64) -> String {
    let Some(created) = tc.metadata.creation_timestamp.as_ref() else { return "<unknown>".into() };
    let secs = (now_secs - created.0.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

pub fn row(tc: &TrafficControl, now_secs: i64) -> [String; 5] {
    [
        tc.metadata.name.clone().unwrap_or_default(),
        format!("{:?}", tc.spec.direction),
        format!("{:?}", tc.spec.action),
        describe(&tc.spec.target_port),
        age(tc, now_secs),
    ]
}

pub fn wide_row(tc: &TrafficControl, now_secs: i64) -> [String; 7] {
    let [name, direction, action, target, age] = row(tc, now_secs);
    let ret = tc.spec.return_port.as_ref().map(describe).unwrap_or_else(|| "<none>".into());
    [name, direction, action, target, ret, applied_to(tc), age]
}

/// One selected Pod and what it gets, for `tc status`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub traffic_control: String,
    pub pod: String,
    pub interface: String,
    pub direction: String,
    pub action: String,
    pub target: String,
    /// `realized`, `missing N of M filters`, `superseded by NAME` (another TrafficControl was
    /// applied first), or `no TrafficControl selects it`.
    pub state: String,
}

pub const STATUS_COLUMNS: [&str; 7] = ["TRAFFICCONTROL", "POD", "INTERFACE", "DIRECTION", "ACTION", "TARGET", "STATE"];

impl PodStatus {
    pub fn row(&self) -> [String; 7] {
        [
            self.traffic_control.clone(),
            self.pod.clone(),
            self.interface.clone(),
            self.direction.clone(),
            self.action.clone(),
            self.target.clone(),
            self.state.clone(),
        ]
    }
}

/// For every TrafficControl and every Pod it selects: whether the kernel holds its filters, or
/// which TrafficControl took the Pod first.
pub fn status(
    tcs: &[TrafficControl],
    pods: &[PodRef],
    namespace_labels: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    realized: &Realized,
) -> Vec<PodStatus> {
    let bindings = plan::bindings(tcs, pods, namespace_labels);
    let have: BTreeSet<(String, kernel::Hook, u16, String, String)> = realized
        .filters
        .iter()
        .map(|f| (f.dev.clone(), f.hook, f.pref, f.protocol.clone(), f.cookie.clone()))
        .collect();
    let mut out = Vec::new();
    for tc in tcs {
        let name = tc.metadata.name.clone().unwrap_or_default();
        for pod in pods.iter().filter(|p| plan::selects(tc, p, namespace_labels)) {
            let winner = bindings.iter().find(|b| b.interface == pod.interface);
            let state = match winner {
                Some(b) if b.tc == name => realized_state(b, &have),
                Some(b) => format!("superseded by {}", b.tc),
                None => "not realized".into(),
            };
            out.push(PodStatus {
                traffic_control: name.clone(),
                pod: format!("{}/{}", pod.namespace, pod.name),
                interface: pod.interface.clone(),
                direction: format!("{:?}", tc.spec.direction),
                action: format!("{:?}", tc.spec.action),
                target: describe(&tc.spec.target_port),
                state,
            });
        }
    }
    out
}

fn realized_state(b: &Binding, have: &BTreeSet<(String, kernel::Hook, u16, String, String)>) -> String {
    let want: Desired = match local::desired(std::slice::from_ref(b)) {
        Ok(d) => d,
        Err(e) => return format!("cannot be realized: {e:#}"),
    };
    let total = want.rules.len();
    let missing = want
        .rules
        .iter()
        .filter(|r| {
            let cookie = if r.action.is_empty() { String::new() } else { r.cookie() };
            !have.contains(&(r.dev.clone(), r.hook, r.pref, r.protocol.to_string(), cookie))
        })
        .count();
    if missing == 0 { "realized".into() } else { format!("missing {missing} of {total} filters") }
}
