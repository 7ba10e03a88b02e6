//! Realizing TrafficControls on this host: bindings become links and filters, and a reconcile
//! brings the kernel to exactly that, touching only what is ours. `tc apply --local` keeps the
//! applied TrafficControls in a state file; the kernel is the record of what is realized.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::kernel::{self, Hook, NewLink, Rule};
use super::plan::{self, Binding, PodRef};
use super::{Action, Direction, Port, TrafficControl};
use crate::core::inventory::Inventory;

/// Where a port is on the datapath: the device mirred sends to (or return traffic arrives on),
/// and the link to create for it, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortPlan {
    pub datapath: String,
    pub create: Option<NewLink>,
    /// What a person calls it: `device veth-a`, `vxlan 192.0.2.1 vni 5`.
    pub describe: String,
}

/// The longest start of `name` that fits `bytes` without cutting a character in two (interface
/// names are bytes to the kernel, but ours are Rust strings).
fn prefix_within(name: &str, bytes: usize) -> &str {
    let end = (0..=bytes.min(name.len())).rev().find(|&i| name.is_char_boundary(i)).unwrap_or(0);
    &name[..end]
}

/// Link names for tunnels as the reference makes them: kind prefix and six hex digits of a
/// hash of everything that tells two tunnels apart (FNV-1a here: no SHA-1 in the tree).
fn tunnel_name(prefix: &str, parts: &str) -> String {
    format!("{prefix}-{:06x}", kernel::fnv64(parts.as_bytes()) & 0xff_ffff)
}

pub fn port_plan(port: &Port) -> anyhow::Result<PortPlan> {
    if let Some(d) = &port.device {
        return Ok(PortPlan { datapath: d.name.clone(), create: None, describe: format!("device {}", d.name) });
    }
    if let Some(p) = &port.ovs_internal {
        let peer = format!("{}-p", prefix_within(&p.name, 13));
        return Ok(PortPlan {
            datapath: peer.clone(),
            create: Some(NewLink::Veth { name: p.name.clone(), peer }),
            describe: format!("internal {}", p.name),
        });
    }
    let udp = |kind: &'static str, t: &super::types::UdpTunnel, default_port: i64| {
        let vni = t.vni.unwrap_or(0);
        let dport = t.destination_port.unwrap_or(default_port);
        let name = tunnel_name(kind, &format!("{}|{dport}|{vni}", t.remote_ip));
        PortPlan {
            datapath: name.clone(),
            create: Some(NewLink::Tunnel {
                name,
                kind,
                args: format!("id {vni} remote {} dstport {dport}", t.remote_ip),
            }),
            describe: format!("{kind} {} vni {vni} port {dport}", t.remote_ip),
        }
    };
    if let Some(t) = &port.vxlan {
        return Ok(udp("vxlan", t, 4789));
    }
    if let Some(t) = &port.geneve {
        return Ok(udp("geneve", t, 6081));
    }
    if let Some(g) = &port.gre {
        let name = tunnel_name("gre", &format!("{}|{:?}", g.remote_ip, g.key));
        let key = g.key.map(|k| format!(" key {k}")).unwrap_or_default();
        return Ok(PortPlan {
            datapath: name.clone(),
            create: Some(NewLink::Tunnel { name, kind: "gretap", args: format!("remote {}{key}", g.remote_ip) }),
            describe: format!("gre {}{key}", g.remote_ip),
        });
    }
    if let Some(e) = &port.erspan {
        let session = e.session_id.unwrap_or(0);
        let name = tunnel_name(
            "erspan",
            &format!("{}|{session}|{}|{:?}|{:?}|{:?}", e.remote_ip, e.version, e.index, e.dir, e.hardware_id),
        );
        let mut args = format!("remote {} seq key {session} erspan_ver {}", e.remote_ip, e.version);
        if e.version == 1 {
            args += &format!(" erspan {}", e.index.unwrap_or(0));
        } else {
            let dir = if e.dir.unwrap_or(0) == 0 { "ingress" } else { "egress" };
            args += &format!(" erspan_dir {dir} erspan_hwid {}", e.hardware_id.unwrap_or(0));
        }
        return Ok(PortPlan {
            datapath: name.clone(),
            create: Some(NewLink::Tunnel { name, kind: "erspan", args }),
            describe: format!("erspan {} session {session} v{}", e.remote_ip, e.version),
        });
    }
    anyhow::bail!("the port names no kind")
}

/// The links and filters that realize `bindings`.
#[derive(Clone, Debug, Default)]
pub struct Desired {
    pub links: BTreeMap<String, NewLink>,
    /// Devices that must already exist (device ports, Pod interfaces).
    pub devices: BTreeSet<String>,
    pub rules: Vec<Rule>,
}

pub fn desired(bindings: &[Binding]) -> anyhow::Result<Desired> {
    let mut d = Desired::default();
    for b in bindings {
        let target = port_plan(&b.target).with_context(|| format!("TrafficControl {}: targetPort", b.tc))?;
        d.devices.insert(b.interface.clone());
        match &target.create {
            Some(link) => {
                d.links.insert(link.name().to_string(), link.clone());
            }
            None => {
                d.devices.insert(target.datapath.clone());
            }
        }
        for &hook in b.direction.hooks() {
            let rule = |base, protocol, classifier: &str, verb: &str| Rule {
                dev: b.interface.clone(),
                hook,
                pref: kernel::pref(hook, base),
                protocol,
                classifier: classifier.into(),
                action: format!("mirred egress {verb} dev {}", target.datapath),
                owner: b.tc.clone(),
            };
            match b.action {
                Action::Mirror => d.rules.push(rule(kernel::PREF_CAPTURE, "all", "u32 match u32 0 0", "mirror")),
                Action::Redirect => {
                    // IP unicast only: ARP and broadcasts stay with the Pod (the reference's
                    // TrafficControl table sees IP traffic only), and a returned broadcast
                    // could not be told apart from a new one.
                    d.rules.push(Rule::skip(&b.interface, hook, &b.tc));
                    d.rules.push(rule(kernel::PREF_CAPTURE, "ip", "u32 match u8 0 1 at -14", "redirect"));
                    d.rules.push(rule(kernel::PREF_CAPTURE6, "ipv6", "u32 match u8 0 1 at -14", "redirect"));
                }
            }
        }
        if let (Action::Redirect, Some(ret)) = (b.action, &b.return_port) {
            let ret = port_plan(ret).with_context(|| format!("TrafficControl {}: returnPort", b.tc))?;
            match &ret.create {
                Some(link) => {
                    d.links.insert(link.name().to_string(), link.clone());
                }
                None => {
                    d.devices.insert(ret.datapath.clone());
                }
            }
            for ip in &b.ips {
                let (pref, field, bits) =
                    if ip.is_ipv4() { (kernel::PREF_RETURN, "ip", 32) } else { (kernel::PREF_RETURN6, "ip6", 128) };
                let mut back = |matcher: &str, how: &str| {
                    d.rules.push(Rule {
                        dev: ret.datapath.clone(),
                        hook: Hook::Ingress,
                        pref,
                        protocol: kernel::ip_protocol(*ip),
                        classifier: format!("u32 match {field} {matcher} {ip}/{bits}"),
                        action: format!("mirred {how} redirect dev {}", b.interface),
                        owner: b.tc.clone(),
                    })
                };
                // Back where it was going: to the Pod out of its interface, from the Pod into the
                // host as if it had arrived on the Pod's interface.
                if matches!(b.direction, Direction::Ingress | Direction::Both) {
                    back("dst", "egress");
                }
                if matches!(b.direction, Direction::Egress | Direction::Both) {
                    back("src", "ingress");
                }
            }
        }
    }
    Ok(d)
}

/// Redirect of traffic *from* a Pod (Egress, Both) with a return port is refused before
/// anything changes. A returned packet carries the MAC address of the host side of the Pod's
/// interface, so the return port received it as PACKET_OTHERHOST; handed back to the host on the
/// Pod's interface, IP drops it as not for this host. Only act_skbedit (`ptype host`) can make
/// it the host's again, and that is not used here. Redirect of traffic *to* a Pod (Ingress)
/// needs no such help: the returned packet leaves through the Pod's interface, where the skip
/// filter lets it pass because of that very packet type, so it is not captured again.
pub fn refuse_unsupported(tcs: &[TrafficControl]) -> anyhow::Result<()> {
    let refused: Vec<String> = tcs
        .iter()
        .filter(|t| t.spec.action == Action::Redirect && t.spec.direction != Direction::Ingress)
        .map(|t| format!("{:?}", t.metadata.name.as_deref().unwrap_or_default()))
        .collect();
    anyhow::ensure!(
        refused.is_empty(),
        "TrafficControl {}: spec.direction: Redirect of a Pod's outgoing traffic (Egress, Both) needs act_skbedit \
         (ptype host) to hand returned packets back to the host, and flowctl's Linux tc realization has no \
         skbedit; use direction Ingress, or Mirror; nothing was applied",
        refused.join(", ")
    );
    Ok(())
}

/// What `tc apply --local --dry-run` prints: per TrafficControl, the Pods it takes effect on,
/// with their interfaces, and the links and filters that would realize it (as `ip` and `tc`
/// command lines; a link or filter there already is created again by nobody).
pub fn plan_text(tcs: &[TrafficControl], bindings: &[Binding]) -> anyhow::Result<String> {
    let mut out = String::new();
    for tc in tcs {
        let name = tc.metadata.name.as_deref().unwrap_or_default();
        let target = port_plan(&tc.spec.target_port)?;
        out += &format!(
            "trafficcontrol.crd.antrea.io/{name}: {:?} {:?} to {}\n",
            tc.spec.action, tc.spec.direction, target.describe
        );
        let mine: Vec<Binding> = bindings.iter().filter(|b| b.tc == name).cloned().collect();
        if mine.is_empty() {
            out += "  no Pod on this host (selected by nothing, or taken by an earlier TrafficControl)\n";
            continue;
        }
        let want = desired(&mine)?;
        for link in want.links.values() {
            out += &format!("  link   {}\n", link.command());
        }
        for b in &mine {
            out += &format!("  pod    {} on {}\n", b.pod, b.interface);
            for r in want.rules.iter().filter(|r| r.dev == b.interface) {
                out += &format!("    {}\n", r.command());
            }
        }
        for r in want.rules.iter().filter(|r| !mine.iter().any(|b| b.interface == r.dev)) {
            out += &format!("  return {}\n", r.command());
        }
    }
    Ok(out)
}

/// What must hold before anything is changed: every Pod interface and device port exists, and
/// this kernel can make every tunnel a TrafficControl asks for. A manifest that fails here
/// leaves the kernel and the applied set as they were.
pub fn preflight(bindings: &[Binding], now: &kernel::Realized) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let mut probed: BTreeMap<&'static str, bool> = BTreeMap::new();
    for b in bindings {
        if !now.all_links.contains(&b.interface) {
            problems.push(format!(
                "TrafficControl {:?}: Pod {}'s interface {:?} does not exist on this host",
                b.tc, b.pod, b.interface
            ));
        }
        let ports = [("spec.targetPort", Some(&b.target)), ("spec.returnPort", b.return_port.as_ref())];
        for (field, port) in ports {
            let Some(port) = port else { continue };
            match port_plan(port)?.create {
                None => {
                    let dev = port.device.as_ref().map(|d| d.name.as_str()).unwrap_or_default();
                    if !now.all_links.contains(dev) {
                        problems.push(format!(
                            "TrafficControl {:?}: {field}.device: no interface {dev:?} on this host",
                            b.tc
                        ));
                    }
                }
                Some(NewLink::Tunnel { name, kind, args }) if !now.all_links.contains(&name) => {
                    let supported = match probed.get(kind) {
                        Some(&known) => known,
                        None => *probed.entry(kind).or_insert(kernel::supports_link(kind, &args)?),
                    };
                    if !supported {
                        problems.push(format!(
                            "TrafficControl {:?}: {field}: this kernel has no {kind} support ({} is not built in)",
                            b.tc,
                            kernel::kernel_option(kind)
                        ));
                    }
                }
                Some(_) => {}
            }
        }
    }
    // A port that is itself a hooked Pod interface would feed what it is sent back into a hook.
    let hooked: BTreeSet<&str> = bindings.iter().map(|b| b.interface.as_str()).collect();
    for b in bindings {
        let ports = [("spec.targetPort", Some(&b.target)), ("spec.returnPort", b.return_port.as_ref())];
        for (field, port) in ports {
            if let Some(port) = port
                && let Ok(plan) = port_plan(port)
                && hooked.contains(plan.datapath.as_str())
            {
                problems.push(format!(
                    "TrafficControl {:?}: {field}: {} is the interface of a Pod that a TrafficControl hooks: \
                     its packets would loop",
                    b.tc, plan.datapath
                ));
            }
        }
    }
    problems.dedup();
    anyhow::ensure!(problems.is_empty(), "{}; nothing was applied", problems.join("; "));
    Ok(())
}

/// What a reconcile did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub links_created: Vec<String>,
    pub links_deleted: Vec<String>,
    pub filters_added: usize,
    pub filters_removed: usize,
    pub failures: Vec<String>,
}

impl Report {
    pub fn changed(&self) -> bool {
        !self.links_created.is_empty()
            || !self.links_deleted.is_empty()
            || self.filters_added > 0
            || self.filters_removed > 0
    }
}

/// Brings the kernel to `want`: creates missing links, replaces every filter group that differs,
/// removes ours that are no longer wanted (and clsact qdiscs left empty, links left unused).
/// A failure on one device is reported and the rest still happens.
///
/// `now` is what [`kernel::read`] found: dumping filters walks every link, so one read serves
/// the whole reconcile, and links created here are added to it instead of reading it all again.
pub fn reconcile(want: &Desired, mut now: kernel::Realized) -> anyhow::Result<Report> {
    let mut report = Report::default();
    for (name, link) in &want.links {
        if !now.all_links.contains(name) {
            match kernel::create_link(link) {
                Ok(()) => {
                    report.links_created.push(name.clone());
                    if let NewLink::Veth { peer, .. } = link {
                        now.all_links.insert(peer.clone());
                    }
                    now.all_links.insert(name.clone());
                }
                Err(e) => report.failures.push(format!("{name}: {e:#}")),
            }
        }
    }
    let missing: BTreeSet<&String> = want.devices.iter().filter(|d| !now.all_links.contains(*d)).collect();
    for dev in &missing {
        report.failures.push(format!("{dev}: no such interface on this host"));
    }
    let wanted_rules: Vec<Rule> = want
        .rules
        .iter()
        .filter(|r| {
            !missing.contains(&r.dev)
                && now.all_links.contains(&r.dev)
                && action_dev(r).is_none_or(|d| now.all_links.contains(d))
        })
        .cloned()
        .collect();
    let want_groups = kernel::groups(&wanted_rules);
    let have_groups = kernel::found_groups(&now.filters);
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for (key, cookies) in &have_groups {
        if want_groups.get(key) != Some(cookies) {
            let (dev, hook, pref, protocol) = key;
            match kernel::delete_pref(dev, *hook, *pref, protocol) {
                Ok(()) => report.filters_removed += cookies.len(),
                Err(e) => report.failures.push(format!("{dev}: {e:#}")),
            }
            touched.insert(dev.clone());
        }
    }
    for (key, cookies) in &want_groups {
        if have_groups.get(key) == Some(cookies) {
            continue;
        }
        let (dev, hook, pref, protocol) = key;
        let result = kernel::ensure_clsact(dev).and_then(|()| {
            for r in wanted_rules
                .iter()
                .filter(|r| &r.dev == dev && r.hook == *hook && r.pref == *pref && r.protocol == protocol)
            {
                kernel::add_rule(r)?;
            }
            Ok(())
        });
        match result {
            Ok(()) => report.filters_added += cookies.len(),
            Err(e) => report.failures.push(format!("{dev}: {e:#}")),
        }
    }
    let wanted_devs: BTreeSet<&String> = wanted_rules.iter().map(|r| &r.dev).collect();
    for dev in touched.iter().filter(|d| !wanted_devs.contains(d)) {
        if let Err(e) = kernel::release_clsact(dev) {
            report.failures.push(format!("{dev}: {e:#}"));
        }
    }
    for name in &now.links {
        if !want.links.contains_key(name) {
            match kernel::delete_link(name) {
                Ok(()) => report.links_deleted.push(name.clone()),
                Err(e) => report.failures.push(format!("{name}: {e:#}")),
            }
        }
    }
    Ok(report)
}

fn action_dev(rule: &Rule) -> Option<&str> {
    rule.action.rsplit_once(" dev ").map(|(_, d)| d)
}

/// Pods of the inventory with a host-side interface; the rest cannot be realized locally.
pub fn inventory_pods(inv: &Inventory) -> Vec<PodRef> {
    inv.pods
        .iter()
        .filter_map(|p| {
            Some(PodRef {
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                labels: p.labels.clone(),
                interface: p.interface.clone()?,
                ips: p.ips.clone(),
            })
        })
        .collect()
}

/// The TrafficControls applied with `--local`, in applied order, kept in a state file.
pub struct LocalState {
    path: PathBuf,
    pub applied: Vec<TrafficControl>,
}

impl LocalState {
    pub fn load(dir: &Path) -> anyhow::Result<LocalState> {
        let path = dir.join("trafficcontrols.yaml");
        let applied = match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => super::parse_documents(&text, &path.display().to_string())?,
            Ok(_) => Vec::new(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(LocalState { path, applied })
    }

    /// Replaces a TrafficControl of the same name in place (it keeps its precedence) or adds it last.
    pub fn upsert(&mut self, tc: TrafficControl) {
        match self.applied.iter_mut().find(|t| t.metadata.name == tc.metadata.name) {
            Some(slot) => *slot = tc,
            None => self.applied.push(tc),
        }
    }

    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.applied.len();
        self.applied.retain(|t| t.metadata.name.as_deref() != Some(name));
        self.applied.len() != before
    }

    pub fn save(&self) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut text = String::new();
        for tc in &self.applied {
            text.push_str("---\n");
            text.push_str(&serde_saphyr::to_string(tc).context("serializing a TrafficControl")?);
        }
        let tmp = self.path.with_extension("yaml.tmp");
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path).with_context(|| format!("cannot write {}", self.path.display()))
    }

    pub fn bindings(&self, inv: &Inventory) -> Vec<Binding> {
        plan::bindings(&self.applied, &inventory_pods(inv), &inv.namespaces)
    }
}

/// What `apply` did to one TrafficControl, in kubectl's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Created,
    Configured,
    Unchanged,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Configured => "configured",
            Change::Unchanged => "unchanged",
        }
    }
}

impl LocalState {
    /// Adds or replaces each TrafficControl; a new one is stamped with the time it was first
    /// applied (its precedence and its AGE), a replaced one keeps its stamp.
    pub fn apply(&mut self, tcs: Vec<TrafficControl>) -> Vec<(String, Change)> {
        let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
        let mut changes = Vec::new();
        for mut tc in tcs {
            let name = tc.metadata.name.clone().unwrap_or_default();
            let old = self.applied.iter().find(|t| t.metadata.name == tc.metadata.name);
            tc.metadata.creation_timestamp =
                Some(old.and_then(|o| o.metadata.creation_timestamp.clone()).unwrap_or(now.clone()));
            let change = match old {
                None => Change::Created,
                Some(o) if o.spec == tc.spec && o.metadata.labels == tc.metadata.labels => Change::Unchanged,
                Some(_) => Change::Configured,
            };
            self.upsert(tc);
            changes.push((name, change));
        }
        changes
    }

    fn inventory_record(&self) -> PathBuf {
        self.path.with_file_name("inventory-path")
    }

    /// The Pod inventory: `given`, or the one remembered from the last `apply`.
    pub fn inventory(&self, given: Option<&Path>) -> anyhow::Result<Inventory> {
        let path = match given {
            Some(p) => std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))?,
            None => {
                let record = self.inventory_record();
                match std::fs::read(&record) {
                    Ok(bytes) => PathBuf::from(String::from_utf8_lossy(&bytes).trim().to_string()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
                        "--pods INVENTORY is needed: no inventory was given to an earlier `tc apply --local` with this --state-dir"
                    ),
                    Err(e) => return Err(e).with_context(|| format!("cannot read {}", record.display())),
                }
            }
        };
        Inventory::load(&path)
    }

    /// Remembers `given` as the inventory of the next commands (after an apply that passed).
    pub fn remember_inventory(&self, given: Option<&Path>) -> anyhow::Result<()> {
        let Some(p) = given else { return Ok(()) };
        let p = std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))?;
        let record = self.inventory_record();
        if let Some(dir) = record.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&record, p.as_os_str().as_encoded_bytes())
            .with_context(|| format!("cannot write {}", record.display()))
    }

    /// Brings the kernel to the applied TrafficControls. Without any, no inventory is needed:
    /// everything of ours goes.
    pub fn realize(&self, given: Option<&Path>) -> anyhow::Result<Report> {
        let want = if self.applied.is_empty() && given.is_none() {
            Desired::default()
        } else {
            desired(&self.bindings(&self.inventory(given)?))?
        };
        reconcile(&want, kernel::read()?)
    }
}
