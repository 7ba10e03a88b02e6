//! The Node store: the cluster's Pod CIDRs, so a flow's addresses can be told apart as Pod
//! addresses or external ones (Antrea's flowType: a destination outside every Node's Pod CIDR
//! is `ToExternal`), and Node UIDs for the Node UUID fields.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::watcher::{self, Event};
use serde::Deserialize;
use tracing::{info, warn};

use super::store::parse_uid;
use super::watch::{follow, slim_meta, slim_resource};

/// An IP network with its host bits cleared, so equal networks compare and hash equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Cidr {
    net: IpAddr,
    len: u8,
}

impl Cidr {
    /// `addr/prefix`, IPv4 or IPv6; host bits are masked off rather than refused, as Go's
    /// `net.ParseCIDR` does.
    fn parse(s: &str) -> Option<Cidr> {
        let (addr, len) = s.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        // Digits only: `u8::from_str` would take a leading `+`.
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let len: u8 = len.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (len <= max).then(|| Cidr { net: mask(addr, len), len })
    }
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4) & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

struct Known {
    uid: [u8; 16],
    cidrs: Vec<Cidr>,
}

#[derive(Default)]
struct Nodes {
    by_name: HashMap<String, Known>,
    /// Every Node's Pod CIDRs, with how many Nodes name each (overlaps are a misconfiguration,
    /// but must not make one Node's removal forget another's CIDR).
    cidrs: HashMap<Cidr, usize>,
    /// The prefix lengths in use, by family (IPv6 or not), with how many CIDRs have each: a
    /// lookup masks the address once per length, usually one, instead of testing every Node.
    lens: BTreeMap<(bool, u8), usize>,
    /// CIDR texts already reported as invalid: Nodes are updated every few seconds (heartbeats),
    /// and the warning would repeat with each update.
    reported: HashSet<String>,
    relist: Option<HashSet<String>>,
    synced: bool,
}

impl Nodes {
    fn remove(&mut self, name: &str) {
        let Some(known) = self.by_name.remove(name) else { return };
        for cidr in known.cidrs {
            if decrement(self.cidrs.get_mut(&cidr)) {
                self.cidrs.remove(&cidr);
            }
            let len = (cidr.net.is_ipv6(), cidr.len);
            if decrement(self.lens.get_mut(&len)) {
                self.lens.remove(&len);
            }
        }
    }
}

/// Counts one fewer; true when none are left.
fn decrement(count: Option<&mut usize>) -> bool {
    count.is_some_and(|n| {
        *n -= 1;
        *n == 0
    })
}

/// A Node as the watch reports it, reduced to what the store keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct NodeUpdate {
    pub name: String,
    pub uid: String,
    /// `spec.podCIDRs` (or `spec.podCIDR` alone), as written.
    pub pod_cidrs: Vec<String>,
}

/// Nodes' Pod CIDRs and UIDs. Cheap to clone: clones share one store.
#[derive(Clone, Default)]
pub struct NodeStore {
    inner: Arc<RwLock<Nodes>>,
}

impl std::fmt::Debug for NodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeStore").field("nodes", &self.len()).field("synced", &self.is_synced()).finish()
    }
}

impl NodeStore {
    /// Whether `ip` is in some Node's Pod CIDR.
    pub fn is_pod_address(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let nodes = self.read();
        nodes
            .lens
            .keys()
            .filter(|(v6, _)| *v6 == ip.is_ipv6())
            .any(|&(_, len)| nodes.cidrs.contains_key(&Cidr { net: mask(ip, len), len }))
    }

    /// The Node's `metadata.uid` as 16 bytes (all zero if it was not a UUID), or `None` for a
    /// Node not known.
    pub fn node_uid(&self, name: &str) -> Option<[u8; 16]> {
        self.read().by_name.get(name).map(|k| k.uid)
    }

    /// Whether the first complete list of Nodes has been loaded; lookups before that may miss.
    pub fn is_synced(&self) -> bool {
        self.read().synced
    }

    pub fn len(&self) -> usize {
        self.read().by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A Node added or changed: its Pod CIDRs replace the ones it had.
    pub(super) fn apply(&self, node: NodeUpdate) {
        let mut w = self.write();
        if let Some(seen) = w.relist.as_mut() {
            seen.insert(node.name.clone());
        }
        let mut cidrs = Vec::with_capacity(node.pod_cidrs.len());
        for text in &node.pod_cidrs {
            match Cidr::parse(text) {
                Some(cidr) if !cidrs.contains(&cidr) => cidrs.push(cidr),
                Some(_) => {}
                None => {
                    if w.reported.insert(text.clone()) {
                        warn!(node = %node.name, cidr = %text, "ignoring a Node Pod CIDR that is not addr/prefix");
                    }
                }
            }
        }
        w.remove(&node.name);
        for cidr in &cidrs {
            *w.cidrs.entry(*cidr).or_default() += 1;
            *w.lens.entry((cidr.net.is_ipv6(), cidr.len)).or_default() += 1;
        }
        w.by_name.insert(node.name, Known { uid: parse_uid(&node.uid), cidrs });
    }

    pub(super) fn delete(&self, name: &str) {
        self.write().remove(name);
    }

    /// The watch lists all Nodes again (at start, or after it fell too far behind).
    pub(super) fn relist_begin(&self) {
        self.write().relist = Some(HashSet::new());
    }

    /// The list is complete: Nodes it did not mention were deleted while the watch was away.
    pub(super) fn relist_done(&self) {
        let mut w = self.write();
        if let Some(seen) = w.relist.take() {
            let gone: Vec<String> = w.by_name.keys().filter(|k| !seen.contains(*k)).cloned().collect();
            for name in gone {
                w.remove(&name);
            }
        }
        w.synced = true;
    }

    // Every write leaves the maps consistent before it can panic, so a poisoned lock is used as
    // it is.
    fn read(&self) -> RwLockReadGuard<'_, Nodes> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Nodes> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs the Node watch into `store` until `shutdown` resolves; failures are logged and retried
/// as in [`super::watch_pods`].
pub async fn watch_nodes(
    client: kube::Client,
    store: NodeStore,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    follow::<SlimNode>(client, watcher::Config::default(), shutdown, |event| apply(&store, event), || ()).await
}

fn apply(store: &NodeStore, event: Event<SlimNode>) {
    match event {
        Event::Init => store.relist_begin(),
        Event::InitApply(node) | Event::Apply(node) => store.apply(node.into_update()),
        Event::Delete(node) => store.delete(node.metadata.name.as_deref().unwrap_or("")),
        Event::InitDone => {
            let first = !store.is_synced();
            store.relist_done();
            if first {
                info!(nodes = store.len(), "Kubernetes Nodes listed");
            }
        }
    }
}

/// A Node with only the fields the store keeps: its status (images, conditions, capacity),
/// which the kubelet rewrites with every heartbeat, is skipped while parsing.
#[derive(Clone, Debug, Deserialize)]
pub(super) struct SlimNode {
    #[serde(deserialize_with = "slim_meta")]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: SlimNodeSpec,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct SlimNodeSpec {
    #[serde(rename = "podCIDR")]
    pod_cidr: Option<String>,
    #[serde(rename = "podCIDRs")]
    pod_cidrs: Option<Vec<String>>,
}

slim_resource!(SlimNode, Node, k8s_openapi::ClusterResourceScope);

impl SlimNode {
    fn into_update(self) -> NodeUpdate {
        // podCIDRs is the dual-stack list whose first entry is podCIDR.
        let pod_cidrs = match self.spec.pod_cidrs {
            Some(cidrs) if !cidrs.is_empty() => cidrs,
            _ => self.spec.pod_cidr.into_iter().collect(),
        };
        NodeUpdate {
            name: self.metadata.name.unwrap_or_default(),
            uid: self.metadata.uid.unwrap_or_default(),
            pod_cidrs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn node(name: &str, cidrs: &[&str]) -> NodeUpdate {
        NodeUpdate {
            name: name.into(),
            uid: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into(),
            pod_cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn cidrs_parse_with_host_bits_masked_and_anything_else_is_refused() {
        let c = |s| Cidr::parse(s).map(|c| format!("{}/{}", c.net, c.len));
        assert_eq!(c("10.244.1.0/24").as_deref(), Some("10.244.1.0/24"));
        assert_eq!(c("10.244.1.77/24").as_deref(), Some("10.244.1.0/24"));
        assert_eq!(c("10.1.2.3/0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(c("10.1.2.3/32").as_deref(), Some("10.1.2.3/32"));
        assert_eq!(c("fd00:10:244:1::17/64").as_deref(), Some("fd00:10:244:1::/64"));
        assert_eq!(c("fd00::1/128").as_deref(), Some("fd00::1/128"));
        assert_eq!(c("::/0").as_deref(), Some("::/0"));
        for bad in ["", "10.244.1.0", "10.244.1.0/", "10.244.1.0/33", "fd00::/129", "10.244.1/24", "10.0.0.0/+8"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
        assert_eq!(Cidr::parse("10.0.0.0/x8"), None);
        assert_eq!(Cidr::parse("nope/8"), None);
    }

    #[test]
    fn a_node_as_the_api_server_sends_it_becomes_its_name_uid_and_cidrs() {
        let n: SlimNode = serde_json::from_str(
            r#"{"kind":"Node","apiVersion":"v1",
                "metadata":{"name":"node-1","uid":"0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9","resourceVersion":"9"},
                "spec":{"podCIDR":"10.244.1.0/24","podCIDRs":["10.244.1.0/24","fd00:10:244:1::/64"],
                  "taints":[{"key":"k","effect":"NoSchedule"}]},
                "status":{"images":[{"names":["pause"],"sizeBytes":1}],"conditions":[{"type":"Ready","status":"True"}]}}"#,
        )
        .unwrap();
        assert_eq!(n.metadata.resource_version.as_deref(), Some("9"));
        assert_eq!(n.into_update(), node("node-1", &["10.244.1.0/24", "fd00:10:244:1::/64"]));
        let old: SlimNode =
            serde_json::from_str(r#"{"metadata":{"name":"n","uid":"u"},"spec":{"podCIDR":"10.0.0.0/24"}}"#).unwrap();
        assert_eq!(old.into_update().pod_cidrs, vec!["10.0.0.0/24".to_string()]);
    }

    #[test]
    fn pod_addresses_are_those_in_some_nodes_cidr() {
        let store = NodeStore::default();
        store.apply(node("node-1", &["10.244.1.0/24", "fd00:10:244:1::/64"]));
        store.apply(node("node-2", &["10.244.2.0/24", "not-a-cidr"]));
        store.apply(node("node-3", &["10.245.0.0/16"]));
        for pod in ["10.244.1.5", "10.244.2.255", "10.245.200.1", "fd00:10:244:1::abc", "::ffff:10.244.1.5"] {
            assert!(store.is_pod_address(ip(pod)), "{pod}");
        }
        for external in ["10.244.3.1", "8.8.8.8", "fd00:10:244:2::1", "::"] {
            assert!(!store.is_pod_address(ip(external)), "{external}");
        }
        assert_eq!(store.node_uid("node-1"), Some(parse_uid("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")));
        assert_eq!(store.node_uid("node-9"), None);
        assert!(store.inner.read().unwrap().reported.contains("not-a-cidr"));
    }

    #[test]
    fn a_changed_or_deleted_node_gives_up_its_cidrs_but_not_a_shared_one() {
        let store = NodeStore::default();
        store.apply(node("node-1", &["10.244.1.0/24"]));
        store.apply(node("node-2", &["10.244.1.0/24", "10.244.2.0/24"]));
        store.apply(node("node-2", &["10.244.1.0/24", "10.244.3.0/24"]));
        assert!(!store.is_pod_address(ip("10.244.2.1")));
        assert!(store.is_pod_address(ip("10.244.3.1")));
        store.delete("node-2");
        assert!(store.is_pod_address(ip("10.244.1.1")), "node-1 still has it");
        assert!(!store.is_pod_address(ip("10.244.3.1")));
        store.delete("node-1");
        assert!(!store.is_pod_address(ip("10.244.1.1")));
        let nodes = store.inner.read().unwrap();
        assert!(nodes.cidrs.is_empty() && nodes.lens.is_empty() && nodes.by_name.is_empty());
    }

    #[test]
    fn a_relist_removes_the_nodes_it_no_longer_lists() {
        let store = NodeStore::default();
        store.relist_begin();
        store.apply(node("a", &["10.244.1.0/24"]));
        store.apply(node("b", &["10.244.2.0/24"]));
        store.relist_done();
        assert!(store.is_synced() && store.len() == 2);
        store.relist_begin();
        store.apply(node("a", &["10.244.1.0/24"]));
        store.relist_done();
        assert_eq!(store.len(), 1);
        assert!(!store.is_pod_address(ip("10.244.2.1")));
        assert!(store.is_pod_address(ip("10.244.1.1")));
    }
}
