//! TrafficControl: mirror or redirect Pods' traffic to a port or a tunnel, realized with Linux
//! tc (clsact, u32, mirred) instead of OVS flows.
//!
//! - [`types`]: the `crd.antrea.io/v1alpha2` resource and its CRD.
//! - [`validate`]: what the reference's schema checks, and what it leaves to the user to get
//!   right (returnPort only with Redirect, ranges, exactly one port kind), with field names.
//! - [`plan`]: which Pods a TrafficControl selects, and the one effective TrafficControl per Pod.
//! - [`kernel`]: the netlink side: links, clsact, filters; reading back what is realized.
//! - [`local`]: `tc apply --local`: the applied set kept in a state file, realized on this host.

pub mod cluster;
pub mod kernel;
pub mod local;
pub mod plan;
pub mod show;
pub mod types;

use std::net::IpAddr;

pub use types::{Action, Direction, Port, TrafficControl, TrafficControlSpec, crd, crd_yaml};

/// A validation failure: the field path, as `kubectl explain` spells it, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem with `tc`, not only the first.
pub fn validate(tc: &TrafficControl) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut err = |field: String, message: String| errors.push(FieldError { field, message });
    match tc.metadata.name.as_deref() {
        None | Some("") => err("metadata.name".into(), "required".into()),
        Some(name) if !is_dns_subdomain(name) => err(
            "metadata.name".into(),
            format!("{name:?} is not a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253)"),
        ),
        Some(_) => {}
    }
    let spec = &tc.spec;
    check_port(&spec.target_port, "spec.targetPort", true, &mut err);
    match (&spec.return_port, spec.action) {
        (Some(port), Action::Redirect) => check_port(port, "spec.returnPort", false, &mut err),
        (Some(_), Action::Mirror) => err("spec.returnPort".into(), "only allowed with action Redirect".into()),
        (None, Action::Redirect) => err(
            "spec.returnPort".into(),
            "required with action Redirect: redirected traffic comes back through it".into(),
        ),
        (None, Action::Mirror) => {}
    }
    if let Some(ret) = &spec.return_port
        && spec.action == Action::Redirect
        && ret == &spec.target_port
    {
        err("spec.returnPort".into(), "must differ from spec.targetPort".into());
    }
    for (field, selector) in [
        ("spec.appliedTo.podSelector", &spec.applied_to.pod_selector),
        ("spec.appliedTo.namespaceSelector", &spec.applied_to.namespace_selector),
    ] {
        if let Some(selector) = selector
            && let Err(message) = plan::check_selector(selector)
        {
            err(field.into(), message);
        }
    }
    errors
}

fn check_port(port: &Port, at: &str, erspan_allowed: bool, err: &mut impl FnMut(String, String)) {
    let kinds: Vec<&str> = [
        ("ovsInternal", port.ovs_internal.is_some()),
        ("device", port.device.is_some()),
        ("geneve", port.geneve.is_some()),
        ("vxlan", port.vxlan.is_some()),
        ("gre", port.gre.is_some()),
        ("erspan", port.erspan.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    let choices = if erspan_allowed {
        "ovsInternal, device, geneve, vxlan, gre or erspan"
    } else {
        "ovsInternal, device, geneve, vxlan or gre"
    };
    match kinds.len() {
        0 => err(at.into(), format!("exactly one of {choices} is required")),
        1 => {}
        _ => err(at.into(), format!("exactly one of {choices} is allowed, found {}", kinds.join(", "))),
    }
    let range = |err: &mut dyn FnMut(String, String), field: String, value: Option<i64>, lo: i64, hi: i64| {
        if let Some(v) = value
            && !(lo..=hi).contains(&v)
        {
            err(field, format!("{v} is out of range {lo}..{hi}"));
        }
    };
    let ip = |err: &mut dyn FnMut(String, String), field: String, value: &str| {
        if value.parse::<IpAddr>().is_err() {
            err(field, format!("{value:?} is not an IPv4 or IPv6 address"));
        }
    };
    for (kind, named) in [("ovsInternal", &port.ovs_internal), ("device", &port.device)] {
        if let Some(named) = named
            && let Err(message) = check_ifname(&named.name)
        {
            err(format!("{at}.{kind}.name"), message);
        }
    }
    for (kind, tunnel) in [("geneve", &port.geneve), ("vxlan", &port.vxlan)] {
        if let Some(t) = tunnel {
            ip(err, format!("{at}.{kind}.remoteIP"), &t.remote_ip);
            range(err, format!("{at}.{kind}.vni"), t.vni, 0, 16_777_215);
            range(err, format!("{at}.{kind}.destinationPort"), t.destination_port, 1, 65_535);
        }
    }
    if let Some(gre) = &port.gre {
        ip(err, format!("{at}.gre.remoteIP"), &gre.remote_ip);
        range(err, format!("{at}.gre.key"), gre.key, 0, i64::from(u32::MAX));
    }
    if let Some(e) = &port.erspan {
        if !erspan_allowed {
            err(format!("{at}.erspan"), "not allowed here: ERSPAN only sends".into());
        }
        let f = |name: &str| format!("{at}.erspan.{name}");
        ip(err, f("remoteIP"), &e.remote_ip);
        range(err, f("sessionID"), e.session_id, 0, 1023);
        match e.version {
            1 => {
                range(err, f("index"), e.index, 0, 0xF_FFFF);
                for (name, v) in [("dir", e.dir), ("hardwareID", e.hardware_id)] {
                    if v.is_some() {
                        err(f(name), "only with version 2".into());
                    }
                }
            }
            2 => {
                if e.index.is_some() {
                    err(f("index"), "only with version 1".into());
                }
                range(err, f("dir"), e.dir, 0, 1);
                range(err, f("hardwareID"), e.hardware_id, 0, 63);
            }
            v => err(f("version"), format!("{v} is not 1 or 2")),
        }
    }
}

/// Linux interface names: 1 to 15 bytes, no '/', no whitespace, not "." or "..".
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err(format!("{name:?} is not an interface name: 1 to 15 characters"));
    }
    if name == "." || name == ".." || name.bytes().any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace()) {
        return Err(format!("{name:?} is not an interface name: no '/', ':' or spaces"));
    }
    Ok(())
}

fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Reads one or more TrafficControls from multi-document YAML (`---` separated); empty
/// documents are skipped. Errors name the document.
pub fn parse_documents(text: &str, source: &str) -> anyhow::Result<Vec<TrafficControl>> {
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).map_err(|e| anyhow::anyhow!("{source}: not YAML: {e}"))?;
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let at = format!("{source}: document {}", i + 1);
        let api_version = doc.get("apiVersion").and_then(|v| v.as_str()).unwrap_or_default();
        let kind = doc.get("kind").and_then(|v| v.as_str()).unwrap_or_default();
        anyhow::ensure!(
            api_version == "crd.antrea.io/v1alpha2" && kind == "TrafficControl",
            "{at}: expected apiVersion crd.antrea.io/v1alpha2 and kind TrafficControl, found {api_version:?} {kind:?}"
        );
        if let Some(unknown) = doc.as_object().and_then(|o| {
            o.keys().find(|k| !["apiVersion", "kind", "metadata", "spec", "status"].contains(&k.as_str()))
        }) {
            anyhow::bail!("{at}: unknown field `{unknown}`, expected apiVersion, kind, metadata, spec or status");
        }
        let tc: TrafficControl = serde_json::from_value(doc).map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
        out.push(tc);
    }
    anyhow::ensure!(!out.is_empty(), "{source}: no TrafficControl in it");
    Ok(out)
}

/// Parses and validates; every field error of every document in one message.
pub fn load_checked(text: &str, source: &str) -> anyhow::Result<Vec<TrafficControl>> {
    let tcs = parse_documents(text, source)?;
    let mut problems = Vec::new();
    for tc in &tcs {
        let name = tc.metadata.name.clone().unwrap_or_default();
        problems.extend(validate(tc).into_iter().map(|e| format!("TrafficControl {name:?}: {e}")));
    }
    anyhow::ensure!(problems.is_empty(), "{source}: invalid:\n  {}", problems.join("\n  "));
    Ok(tcs)
}

#[cfg(test)]
mod tests;
