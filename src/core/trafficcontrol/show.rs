//! TrafficControls and their realization as `tc get` and `tc status` show them.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::kernel::Realized;
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

/// One TrafficControl as this host realizes it, for `tc status`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcStatus {
    pub name: String,
    pub direction: String,
    pub action: String,
    pub target: String,
    /// `realized`, `missing N of M filters`, `waiting for NAME` (every Pod it selects was taken
    /// by a TrafficControl applied before it), or `selects no Pod on this host`.
    pub state: String,
    pub pods: Vec<PodStatus>,
}

/// One Pod a TrafficControl selects, and what the kernel holds for it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub pod: String,
    pub interface: String,
    /// `realized`, `missing N of M filters`, or `superseded by NAME`.
    pub state: String,
    /// The filters found for it: `DEV HOOK pref PREF handle HANDLE`.
    pub filters: Vec<String>,
}

pub const STATUS_COLUMNS: [&str; 6] = ["NAME", "PODS", "DIRECTION", "ACTION", "TARGET", "STATE"];
pub const STATUS_WIDE_COLUMNS: [&str; 8] =
    ["NAME", "PODS", "DIRECTION", "ACTION", "TARGET", "STATE", "INTERFACES", "FILTERS"];

impl TcStatus {
    /// The Pods it takes effect on (not those another TrafficControl took first).
    fn effective(&self) -> impl Iterator<Item = &PodStatus> {
        self.pods.iter().filter(|p| !p.state.starts_with("superseded"))
    }

    pub fn row(&self) -> [String; 6] {
        let pods: Vec<&str> = self.effective().map(|p| p.pod.as_str()).collect();
        [
            self.name.clone(),
            if pods.is_empty() { "<none>".into() } else { pods.join(",") },
            self.direction.clone(),
            self.action.clone(),
            self.target.clone(),
            self.state.clone(),
        ]
    }

    pub fn wide_row(&self) -> [String; 8] {
        let [name, pods, direction, action, target, state] = self.row();
        let interfaces: Vec<&str> = self.effective().map(|p| p.interface.as_str()).collect();
        let filters: Vec<String> =
            self.effective().flat_map(|p| p.filters.iter().map(|f| f.replace(' ', "/"))).collect();
        let or_none = |v: Vec<String>| if v.is_empty() { "<none>".to_string() } else { v.join(",") };
        [
            name,
            pods,
            direction,
            action,
            target,
            state,
            or_none(interfaces.into_iter().map(String::from).collect()),
            or_none(filters),
        ]
    }

    /// Whether what it asks for is all in the kernel (waiting for another counts as fine).
    pub fn healthy(&self) -> bool {
        !self.state.starts_with("missing") && !self.state.starts_with("cannot")
    }
}

/// For every TrafficControl: the Pods it selects, whether the kernel holds their filters, or
/// which TrafficControl took a Pod first.
pub fn status(
    tcs: &[TrafficControl],
    pods: &[PodRef],
    namespace_labels: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    realized: &Realized,
) -> Vec<TcStatus> {
    let bindings = plan::bindings(tcs, pods, namespace_labels);
    let mut out = Vec::new();
    for tc in tcs {
        let name = tc.metadata.name.clone().unwrap_or_default();
        let mut pod_states = Vec::new();
        let (mut missing, mut total) = (0, 0);
        for pod in pods.iter().filter(|p| plan::selects(tc, p, namespace_labels)) {
            let winner = bindings.iter().find(|b| b.interface == pod.interface);
            let (state, filters) = match winner {
                Some(b) if b.tc == name => match realized_filters(b, realized) {
                    Ok((found, want)) => {
                        missing += want - found.len();
                        total += want;
                        let state = if found.len() == want {
                            "realized".to_string()
                        } else {
                            format!("missing {} of {want} filters", want - found.len())
                        };
                        (state, found)
                    }
                    Err(e) => (format!("cannot be realized: {e:#}"), Vec::new()),
                },
                Some(b) => (format!("superseded by {}", b.tc), Vec::new()),
                None => ("not realized".into(), Vec::new()),
            };
            pod_states.push(PodStatus {
                pod: format!("{}/{}", pod.namespace, pod.name),
                interface: pod.interface.clone(),
                state,
                filters,
            });
        }
        let state = if let Some(bad) = pod_states.iter().find(|p| p.state.starts_with("cannot")) {
            bad.state.clone()
        } else if missing > 0 {
            format!("missing {missing} of {total} filters")
        } else if pod_states.is_empty() {
            "selects no Pod on this host".into()
        } else if let Some(first) = pod_states.iter().find(|p| !p.state.starts_with("superseded")) {
            first.state.clone()
        } else {
            let by: BTreeSet<&str> = pod_states.iter().filter_map(|p| p.state.strip_prefix("superseded by ")).collect();
            format!("waiting for {}", by.into_iter().collect::<Vec<_>>().join(", "))
        };
        out.push(TcStatus {
            name,
            direction: format!("{:?}", tc.spec.direction),
            action: format!("{:?}", tc.spec.action),
            target: describe(&tc.spec.target_port),
            state,
            pods: pod_states,
        });
    }
    out
}

/// The filters of a binding that the kernel holds (as `DEV HOOK pref PREF handle HANDLE`), and
/// how many it asks for.
fn realized_filters(b: &Binding, realized: &Realized) -> anyhow::Result<(Vec<String>, usize)> {
    let want: Desired = local::desired(std::slice::from_ref(b))?;
    let found = want
        .rules
        .iter()
        .filter_map(|r| {
            let cookie = if r.action.is_empty() { String::new() } else { r.cookie() };
            realized.filters.iter().find(|f| {
                f.dev == r.dev && f.hook == r.hook && f.pref == r.pref && f.protocol == r.protocol && f.cookie == cookie
            })
        })
        .map(|f| format!("{} {} pref {} handle {}", f.dev, f.hook.as_str(), f.pref, f.handle))
        .collect();
    Ok((found, want.rules.len()))
}
