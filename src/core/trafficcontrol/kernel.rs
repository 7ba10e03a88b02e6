//! The host side of TrafficControl: links, clsact qdiscs and u32 + mirred filters, driven
//! through iproute2 (`ip`, `tc`) and read back from the kernel with their JSON output, so the
//! kernel is the only record of what is realized.
//!
//! What is ours is marked in the kernel: every filter we add carries a mirred action cookie
//! starting with [`COOKIE_MAGIC`] and holding hashes of the owning TrafficControl's name and of
//! the filter itself, so a reconcile after a restart knows which filters are ours, which
//! TrafficControl they belong to and whether they are already what is wanted; every link we
//! create has the alias [`ALIAS`]. Filters live at priorities [`PREF_SKIP`]..=[`PREF_RETURN6`]
//! on ingress and [`EGRESS_SHIFT`] higher on egress, above anything `tc` picks by default for
//! other users' filters (49152 is its first pick, so ours start one higher and stay in a band
//! of their own). The two hooks need bands of their own because u32 keeps one set of hash
//! tables per qdisc: a dump of either hook lists the u32 filters of both at the same priority.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

/// The action cookie's first bytes: "fct".
pub const COOKIE_MAGIC: &str = "666374";
pub const ALIAS: &str = "flowctl-tc";
/// Lets returned packets (see [`Rule::skip`]) through a Pod interface's hook uncaught.
pub const PREF_SKIP: u16 = 49153;
pub const PREF_CAPTURE: u16 = 49154;
pub const PREF_CAPTURE6: u16 = 49155;
pub const PREF_RETURN: u16 = 49156;
pub const PREF_RETURN6: u16 = 49157;
/// On the ingress hook of a clsact qdisc we added: a filter that never matches, so that the
/// kernel itself says the qdisc is ours to delete (a qdisc carries no alias or cookie). A
/// clsact that was there before has none, and stays.
pub const PREF_MARK: u16 = 49158;
pub const EGRESS_SHIFT: u16 = 8;

/// Classic BPF `ret #0`: matches nothing.
const MARK: &str = "bpf bytecode '1,6 0 0 0' classid 1:fd";

/// The priority of the filter of kind `base` (one of the `PREF_` constants) on `hook`.
pub fn pref(hook: Hook, base: u16) -> u16 {
    match hook {
        Hook::Ingress => base,
        Hook::Egress => base + EGRESS_SHIFT,
    }
}

/// The clsact hook of an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    Ingress,
    Egress,
}

impl Hook {
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Ingress => "ingress",
            Hook::Egress => "egress",
        }
    }
}

/// One filter: on `dev`'s `hook`, at `pref`, for `protocol`, the u32 `selector`, then `action`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub dev: String,
    pub hook: Hook,
    pub pref: u16,
    pub protocol: &'static str,
    /// `tc filter` arguments after the protocol: the classifier and its match.
    pub classifier: String,
    /// `tc` action arguments (empty for the skip filter, which only classifies).
    pub action: String,
    /// Which TrafficControl wants it.
    pub owner: String,
}

/// Classic BPF: accept when the packet type is PACKET_OTHERHOST. Frames that come back on a
/// return port still carry the Pod's or its gateway's MAC address, so the return port saw
/// them as addressed to another host, while frames from the Pod and to it are addressed to
/// this host: this tells returned traffic apart where the kernel has no skbedit to mark it.
const SKIP_RETURNED: &str = "bpf bytecode '4,40 0 0 4294963204,21 0 1 3,6 0 0 4294967295,6 0 0 0' classid 1:fc";

impl Rule {
    pub fn skip(dev: &str, hook: Hook, owner: &str) -> Rule {
        Rule {
            dev: dev.into(),
            hook,
            pref: pref(hook, PREF_SKIP),
            protocol: "all",
            classifier: SKIP_RETURNED.into(),
            action: String::new(),
            owner: owner.into(),
        }
    }

    /// The cookie that marks this filter: magic, FNV-1a of the owner, FNV-1a of the filter.
    pub fn cookie(&self) -> String {
        let body =
            format!("{}|{:?}|{}|{}|{}|{}", self.dev, self.hook, self.pref, self.protocol, self.classifier, self.action);
        format!("{COOKIE_MAGIC}{:016x}{:08x}", fnv64(self.owner.as_bytes()), fnv64(body.as_bytes()) as u32)
    }

    /// The `tc` command line that adds it, as `--dry-run` shows it.
    pub fn command(&self) -> String {
        format!("tc {}", self.add_args().join(" "))
    }

    fn add_args(&self) -> Vec<String> {
        let mut args: Vec<String> =
            ["filter", "add", "dev", &self.dev, self.hook.as_str()].iter().map(|s| s.to_string()).collect();
        args.extend(["pref".into(), self.pref.to_string(), "protocol".into(), self.protocol.into()]);
        args.extend(shell_words(&self.classifier));
        if !self.action.is_empty() {
            args.push("action".into());
            args.extend(shell_words(&self.action));
            args.extend(["cookie".into(), self.cookie()]);
        }
        args
    }
}

/// Splits on spaces, keeping '…'-quoted words whole (our own argument strings only).
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if let Some(q) = rest.strip_prefix('\'') {
            let end = q.find('\'').unwrap_or(q.len());
            out.push(q[..end].to_string());
            rest = q.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    out
}

pub fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A link we create for a port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NewLink {
    /// A veth pair: `name` is where users read and write, `peer` is the datapath side.
    Veth { name: String, peer: String },
    /// `ip link add NAME type KIND ARGS` (vxlan, geneve, gretap, erspan).
    Tunnel { name: String, kind: &'static str, args: String },
}

impl NewLink {
    /// The `ip` command line that creates it, as `--dry-run` shows it.
    pub fn command(&self) -> String {
        match self {
            NewLink::Veth { name, peer } => format!("ip link add {name} type veth peer name {peer}"),
            NewLink::Tunnel { name, kind, args } => format!("ip link add {name} type {kind} {args}"),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            NewLink::Veth { name, .. } | NewLink::Tunnel { name, .. } => name,
        }
    }
}

/// A filter found in the kernel with our cookie (or our skip filter).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    pub dev: String,
    pub hook: Hook,
    pub pref: u16,
    pub protocol: String,
    /// Empty for the skip filter.
    pub cookie: String,
    /// The u32 handle the kernel gave it (`800::800`), as `tc filter show` prints it.
    pub handle: String,
}

impl Found {
    /// The owner's name hash, as written in the cookie.
    pub fn owner_hash(&self) -> Option<u64> {
        self.cookie.get(6..22).and_then(|h| u64::from_str_radix(h, 16).ok())
    }
}

/// What the kernel holds of ours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Realized {
    pub filters: BTreeSet<Found>,
    /// Links with our alias, by name.
    pub links: BTreeSet<String>,
    /// Every link name on the host.
    pub all_links: BTreeSet<String>,
}

fn run(program: &str, args: &[String]) -> anyhow::Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program} (iproute2 is needed for TrafficControl)"))?;
    if !out.status.success() {
        bail!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run_str(program: &str, args: &[&str]) -> anyhow::Result<String> {
    run(program, &args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

fn json(text: &str, what: &str) -> anyhow::Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    serde_json::from_str(text).with_context(|| format!("reading {what}: not the JSON iproute2 writes"))
}

/// Reads links, and our filters on every link.
pub fn read() -> anyhow::Result<Realized> {
    let links = json(&run_str("ip", &["-j", "link", "show"])?, "ip -j link show")?;
    let mut realized = Realized::default();
    for link in links.as_array().into_iter().flatten() {
        let Some(name) = link.get("ifname").and_then(Value::as_str) else { continue };
        realized.all_links.insert(name.to_string());
        if link.get("ifalias").and_then(Value::as_str) == Some(ALIAS) {
            realized.links.insert(name.to_string());
        }
        if !has_clsact(name)? {
            continue;
        }
        for hook in [Hook::Ingress, Hook::Egress] {
            let text = run_str("tc", &["-j", "filter", "show", "dev", name, hook.as_str()])?;
            for filter in json(&text, "tc -j filter show")?.as_array().into_iter().flatten() {
                if let Some(found) = ours(name, hook, filter) {
                    realized.filters.insert(found);
                }
            }
        }
    }
    Ok(realized)
}

fn ours(dev: &str, hook: Hook, filter: &Value) -> Option<Found> {
    let prio = u16::try_from(filter.get("pref")?.as_u64()?).ok()?;
    if !(pref(hook, PREF_SKIP)..=pref(hook, PREF_RETURN6)).contains(&prio) {
        return None;
    }
    let protocol = filter.get("protocol").and_then(Value::as_str).unwrap_or("all").to_string();
    let options = filter.get("options")?;
    let handle = options.get("fh").and_then(Value::as_str).unwrap_or_default().to_string();
    let cookie = options
        .get("actions")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|a| a.get("cookie"))
        .and_then(Value::as_str);
    match (filter.get("kind").and_then(Value::as_str), cookie) {
        (Some("u32"), Some(c)) if c.starts_with(COOKIE_MAGIC) => {
            Some(Found { dev: dev.into(), hook, pref: prio, protocol, cookie: c.into(), handle })
        }
        (Some("bpf"), None)
            if prio == pref(hook, PREF_SKIP) && options.get("flowid").and_then(Value::as_str) == Some("1:fc") =>
        {
            Some(Found { dev: dev.into(), hook, pref: prio, protocol, cookie: String::new(), handle })
        }
        _ => None,
    }
}

pub fn has_clsact(dev: &str) -> anyhow::Result<bool> {
    let text = run_str("tc", &["-j", "qdisc", "show", "dev", dev])?;
    Ok(json(&text, "tc -j qdisc show")?
        .as_array()
        .into_iter()
        .flatten()
        .any(|q| q.get("kind").and_then(Value::as_str) == Some("clsact")))
}

/// Whether `dev` has filters besides our mark, and whether it has our mark.
fn filters_and_mark(dev: &str) -> anyhow::Result<(bool, bool)> {
    let (mut others, mut mark) = (false, false);
    for hook in [Hook::Ingress, Hook::Egress] {
        let text = run_str("tc", &["-j", "filter", "show", "dev", dev, hook.as_str()])?;
        for f in json(&text, "tc -j filter show")?.as_array().into_iter().flatten() {
            let is_mark = hook == Hook::Ingress
                && f.get("pref").and_then(Value::as_u64) == Some(u64::from(PREF_MARK))
                && f.get("kind").and_then(Value::as_str) == Some("bpf");
            if is_mark {
                mark = true;
            } else {
                others = true;
            }
        }
    }
    Ok((others, mark))
}

pub fn create_link(link: &NewLink) -> anyhow::Result<()> {
    match link {
        NewLink::Veth { name, peer } => {
            run_str("ip", &["link", "add", name, "type", "veth", "peer", "name", peer])?;
            run_str("ip", &["link", "set", peer, "up"])?;
        }
        NewLink::Tunnel { name, kind, args } => {
            let mut a: Vec<String> = ["link", "add", name, "type", kind].iter().map(|s| s.to_string()).collect();
            a.extend(shell_words(args));
            if let Err(e) = run("ip", &a) {
                let text = format!("{e:#}");
                if text.contains("Unknown device type") || text.contains("not supported") {
                    bail!("this kernel has no {kind} support (CONFIG for {kind} links is not built in): {text}");
                }
                return Err(e);
            }
        }
    }
    run_str("ip", &["link", "set", link.name(), "alias", ALIAS])?;
    run_str("ip", &["link", "set", link.name(), "up"])?;
    Ok(())
}

/// Whether this kernel can make links of `kind` (vxlan, geneve, gretap, erspan), tried in a
/// network namespace of its own that goes with the probe, so the host is not touched.
pub fn supports_link(kind: &str, args: &str) -> anyhow::Result<bool> {
    let mut a: Vec<String> =
        ["--net", "ip", "link", "add", "fctl-probe", "type", kind].iter().map(|s| s.to_string()).collect();
    a.extend(shell_words(args));
    match run("unshare", &a) {
        Ok(_) => Ok(true),
        Err(e) if format!("{e:#}").contains("Unknown device type") => Ok(false),
        Err(e) => Err(e.context(format!("probing this kernel for {kind} links"))),
    }
}

/// The kernel option a link kind needs, for the error that says it is missing.
pub fn kernel_option(kind: &str) -> &'static str {
    match kind {
        "vxlan" => "CONFIG_VXLAN",
        "geneve" => "CONFIG_GENEVE",
        "gretap" => "CONFIG_NET_IPGRE",
        "erspan" => "CONFIG_NET_IPGRE (erspan)",
        _ => "its link type",
    }
}

pub fn delete_link(name: &str) -> anyhow::Result<()> {
    run_str("ip", &["link", "del", name]).map(drop)
}

pub fn ensure_clsact(dev: &str) -> anyhow::Result<()> {
    if !has_clsact(dev)? {
        run_str("tc", &["qdisc", "add", "dev", dev, "clsact"])?;
        let mut mark: Vec<String> =
            ["filter", "add", "dev", dev, "ingress", "pref"].iter().map(|s| s.to_string()).collect();
        mark.extend([PREF_MARK.to_string(), "protocol".into(), "all".into()]);
        mark.extend(shell_words(MARK));
        run("tc", &mark)?;
    }
    Ok(())
}

pub fn add_rule(rule: &Rule) -> anyhow::Result<()> {
    run("tc", &rule.add_args()).map(drop)
}

pub fn delete_pref(dev: &str, hook: Hook, pref: u16, protocol: &str) -> anyhow::Result<()> {
    run_str("tc", &["filter", "del", "dev", dev, hook.as_str(), "pref", &pref.to_string(), "protocol", protocol])
        .map(drop)
}

/// Removes the clsact qdisc when nothing is left on it: a qdisc someone else uses stays.
/// Deletes the clsact qdisc of `dev` when we added it (it has our mark) and nothing else uses it.
pub fn release_clsact(dev: &str) -> anyhow::Result<()> {
    if has_clsact(dev)? && filters_and_mark(dev)? == (false, true) {
        run_str("tc", &["qdisc", "del", "dev", dev, "clsact"])?;
    }
    Ok(())
}

/// The filters of `rules` grouped as the kernel holds them: one (dev, hook, pref, protocol) per
/// group, each with the cookies its filters carry.
pub fn groups(rules: &[Rule]) -> BTreeMap<(String, Hook, u16, String), BTreeSet<String>> {
    let mut out: BTreeMap<_, BTreeSet<String>> = BTreeMap::new();
    for r in rules {
        let cookie = if r.action.is_empty() { String::new() } else { r.cookie() };
        out.entry((r.dev.clone(), r.hook, r.pref, r.protocol.to_string())).or_default().insert(cookie);
    }
    out
}

pub fn found_groups(found: &BTreeSet<Found>) -> BTreeMap<(String, Hook, u16, String), BTreeSet<String>> {
    let mut out: BTreeMap<_, BTreeSet<String>> = BTreeMap::new();
    for f in found {
        out.entry((f.dev.clone(), f.hook, f.pref, f.protocol.clone())).or_default().insert(f.cookie.clone());
    }
    out
}

/// `ip` protocol names as `tc -j` prints them back.
pub fn ip_protocol(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "ip" } else { "ipv6" }
}
