//! The Service store: which Service port a connection's original destination was, for
//! `destinationServicePortName`. Antrea's Flow Exporter asks its proxier for the Service behind
//! the conntrack original tuple's destination IP, port and protocol and writes the
//! `ServicePortName` it gets, `namespace/name:portName`; this store answers the same question
//! from a Service watch, for the addresses a connection can be sent to: ClusterIPs, externalIPs
//! and load-balancer ingress IPs.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::watcher::{self, Event};
use serde::Deserialize;
use tracing::info;

use super::watch::{follow, slim_meta, slim_resource};

/// A Service address as a connection's original destination names it: IP, port, IP protocol.
type Addr = (IpAddr, u16, u8);

#[derive(Default)]
struct Services {
    /// Normally one claimant per address, but externalIPs are set by users and nothing stops two
    /// Services from naming the same one: each keeps its claim, and the oldest claim answers (a
    /// changed Service claims its addresses anew).
    by_addr: HashMap<Addr, Vec<Claim>>,
    /// Every Service by `namespace/name`, with the addresses it claims, so a change or deletion
    /// takes back exactly those.
    owned: HashMap<Arc<str>, Vec<Addr>>,
    /// Services seen since the watch started listing again; `None` outside a relist.
    relist: Option<HashSet<Arc<str>>>,
    synced: bool,
}

struct Claim {
    owner: Arc<str>,
    port_name: Arc<str>,
}

impl Services {
    fn remove(&mut self, owner: &str) {
        let Some(addrs) = self.owned.remove(owner) else { return };
        for addr in addrs {
            if let Some(claims) = self.by_addr.get_mut(&addr) {
                claims.retain(|c| &*c.owner != owner);
                if claims.is_empty() {
                    self.by_addr.remove(&addr);
                }
            }
        }
    }
}

/// Service port names by address. Cheap to clone: clones share one store.
#[derive(Clone, Default)]
pub struct ServiceStore {
    inner: Arc<RwLock<Services>>,
}

impl std::fmt::Debug for ServiceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceStore").field("services", &self.len()).field("synced", &self.is_synced()).finish()
    }
}

/// A Service as the watch reports it, reduced to what the store keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ServiceUpdate {
    pub namespace: String,
    pub name: String,
    /// ClusterIPs, externalIPs and load-balancer ingress IPs.
    pub ips: Vec<IpAddr>,
    /// Port name (empty when unnamed), port, IP protocol number.
    pub ports: Vec<(String, u16, u8)>,
}

impl ServiceStore {
    /// `namespace/name:portName` of the Service port at `ip`:`port` over IP protocol `proto`
    /// (6 TCP, 17 UDP, 132 SCTP), as Antrea's `ServicePortName.String()` writes it: an unnamed
    /// port (a Service with a single port need not name it) gives `namespace/name:`.
    pub fn port_name(&self, ip: IpAddr, port: u16, proto: u8) -> Option<Arc<str>> {
        let services = self.read();
        services.by_addr.get(&(ip.to_canonical(), port, proto))?.first().map(|c| c.port_name.clone())
    }

    /// Whether the first complete list of Services has been loaded; lookups before that may miss.
    pub fn is_synced(&self) -> bool {
        self.read().synced
    }

    /// Services known, headless ones included.
    pub fn len(&self) -> usize {
        self.read().owned.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A Service added or changed: its previous addresses are replaced by these.
    pub(super) fn apply(&self, service: ServiceUpdate) {
        let owner: Arc<str> = Arc::from(format!("{}/{}", service.namespace, service.name));
        let mut ips: Vec<IpAddr> = service.ips.iter().map(|ip| ip.to_canonical()).collect();
        ips.sort_unstable();
        ips.dedup();
        let mut w = self.write();
        if let Some(seen) = w.relist.as_mut() {
            seen.insert(owner.clone());
        }
        w.remove(&owner);
        let mut addrs = Vec::with_capacity(ips.len() * service.ports.len());
        for (name, port, proto) in &service.ports {
            let port_name: Arc<str> = Arc::from(format!("{owner}:{name}"));
            for ip in &ips {
                let addr = (*ip, *port, *proto);
                if addrs.contains(&addr) {
                    continue;
                }
                addrs.push(addr);
                w.by_addr.entry(addr).or_default().push(Claim { owner: owner.clone(), port_name: port_name.clone() });
            }
        }
        w.owned.insert(owner, addrs);
    }

    pub(super) fn delete(&self, namespace: &str, name: &str) {
        self.write().remove(&format!("{namespace}/{name}"));
    }

    /// The watch lists all Services again (at start, or after it fell too far behind).
    pub(super) fn relist_begin(&self) {
        self.write().relist = Some(HashSet::new());
    }

    /// The list is complete: Services it did not mention were deleted while the watch was away.
    pub(super) fn relist_done(&self) {
        let mut w = self.write();
        if let Some(seen) = w.relist.take() {
            let gone: Vec<Arc<str>> = w.owned.keys().filter(|k| !seen.contains(*k)).cloned().collect();
            for owner in gone {
                w.remove(&owner);
            }
        }
        w.synced = true;
    }

    // Every write leaves the maps consistent before it can panic, so a poisoned lock is used as
    // it is.
    fn read(&self) -> RwLockReadGuard<'_, Services> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Services> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs the Service watch (all namespaces) into `store` until `shutdown` resolves; failures are
/// logged and retried as in [`super::watch_pods`].
pub async fn watch_services(
    client: kube::Client,
    store: ServiceStore,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    follow::<SlimService>(client, watcher::Config::default(), shutdown, |event| apply(&store, event), || ()).await
}

fn apply(store: &ServiceStore, event: Event<SlimService>) {
    match event {
        Event::Init => store.relist_begin(),
        Event::InitApply(service) | Event::Apply(service) => store.apply(service.into_update()),
        Event::Delete(service) => {
            let meta = service.metadata;
            store.delete(meta.namespace.as_deref().unwrap_or(""), meta.name.as_deref().unwrap_or(""));
        }
        Event::InitDone => {
            let first = !store.is_synced();
            store.relist_done();
            if first {
                info!(services = store.len(), "Kubernetes Services listed");
            }
        }
    }
}

/// A Service with only the fields the store keeps.
#[derive(Clone, Debug, Deserialize)]
pub(super) struct SlimService {
    #[serde(deserialize_with = "slim_meta")]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: SlimServiceSpec,
    #[serde(default)]
    status: SlimServiceStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimServiceSpec {
    #[serde(rename = "clusterIP")]
    cluster_ip: Option<String>,
    #[serde(rename = "clusterIPs")]
    cluster_ips: Option<Vec<String>>,
    #[serde(rename = "externalIPs")]
    external_ips: Option<Vec<String>>,
    ports: Option<Vec<SlimServicePort>>,
}

#[derive(Clone, Debug, Deserialize)]
struct SlimServicePort {
    name: Option<String>,
    port: i32,
    protocol: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimServiceStatus {
    load_balancer: Option<SlimLoadBalancer>,
}

#[derive(Clone, Debug, Deserialize)]
struct SlimLoadBalancer {
    ingress: Option<Vec<SlimIngress>>,
}

#[derive(Clone, Debug, Deserialize)]
struct SlimIngress {
    ip: Option<String>,
}

slim_resource!(SlimService, Service, k8s_openapi::NamespaceResourceScope);

impl SlimService {
    fn into_update(self) -> ServiceUpdate {
        let spec = self.spec;
        // clusterIPs is the dual-stack list whose first entry is clusterIP; servers before 1.20
        // send only clusterIP. Headless Services have `None`, which does not parse.
        let cluster = match spec.cluster_ips {
            Some(ips) if !ips.is_empty() => ips,
            _ => spec.cluster_ip.into_iter().collect(),
        };
        let ingress = self.status.load_balancer.and_then(|lb| lb.ingress).unwrap_or_default();
        let ips = cluster
            .iter()
            .chain(spec.external_ips.iter().flatten())
            .chain(ingress.iter().filter_map(|i| i.ip.as_ref()))
            .filter_map(|ip| ip.parse().ok())
            .collect();
        let ports = spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                // The API server defaults the protocol to TCP.
                let proto = match p.protocol.as_deref().unwrap_or("TCP") {
                    "TCP" => 6,
                    "UDP" => 17,
                    "SCTP" => 132,
                    _ => return None,
                };
                Some((p.name.unwrap_or_default(), u16::try_from(p.port).ok().filter(|&n| n != 0)?, proto))
            })
            .collect();
        ServiceUpdate {
            namespace: self.metadata.namespace.unwrap_or_default(),
            name: self.metadata.name.unwrap_or_default(),
            ips,
            ports,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn service(name: &str, ips: &[&str], ports: &[(&str, u16, u8)]) -> ServiceUpdate {
        ServiceUpdate {
            namespace: "shop".into(),
            name: name.into(),
            ips: ips.iter().map(|s| ip(s)).collect(),
            ports: ports.iter().map(|(n, p, t)| (n.to_string(), *p, *t)).collect(),
        }
    }

    fn name(store: &ServiceStore, addr: &str, port: u16, proto: u8) -> Option<String> {
        store.port_name(ip(addr), port, proto).map(|n| n.to_string())
    }

    #[test]
    fn a_service_as_the_api_server_sends_it_becomes_its_addresses_and_ports() {
        let svc: SlimService = serde_json::from_str(
            r#"{"kind":"Service","apiVersion":"v1",
                "metadata":{"name":"web","namespace":"shop","uid":"u","resourceVersion":"7",
                  "managedFields":[{"manager":"kubectl"}]},
                "spec":{"type":"LoadBalancer","clusterIP":"10.96.0.10","clusterIPs":["10.96.0.10","fd00:96::10"],
                  "externalIPs":["192.0.2.7"],"selector":{"app":"web"},
                  "ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":8080,"nodePort":30080},
                           {"port":53,"protocol":"UDP","targetPort":53},
                           {"name":"sctp","port":9999,"protocol":"SCTP"},
                           {"name":"default-tcp","port":443}]},
                "status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.9"},{"hostname":"lb.example"}]}}}"#,
        )
        .unwrap();
        assert_eq!(svc.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(
            svc.into_update(),
            ServiceUpdate {
                namespace: "shop".into(),
                name: "web".into(),
                ips: ["10.96.0.10", "fd00:96::10", "192.0.2.7", "203.0.113.9"].iter().map(|s| ip(s)).collect(),
                ports: vec![
                    ("http".into(), 80, 6),
                    (String::new(), 53, 17),
                    ("sctp".into(), 9999, 132),
                    ("default-tcp".into(), 443, 6)
                ],
            }
        );
    }

    #[test]
    fn headless_and_pre_dual_stack_services() {
        let headless: SlimService = serde_json::from_str(
            r#"{"metadata":{"name":"db","namespace":"shop"},
                "spec":{"clusterIP":"None","clusterIPs":["None"],"ports":[{"name":"pg","port":5432}]}}"#,
        )
        .unwrap();
        assert!(headless.into_update().ips.is_empty());
        let old: SlimService =
            serde_json::from_str(r#"{"metadata":{"name":"a","namespace":"b"},"spec":{"clusterIP":"10.0.0.1"}}"#)
                .unwrap();
        assert_eq!(old.into_update().ips, vec![ip("10.0.0.1")]);
    }

    #[test]
    fn every_address_and_port_answers_with_the_port_name() {
        let store = ServiceStore::default();
        store.apply(service("web", &["10.96.0.10", "fd00::10", "192.0.2.7"], &[("http", 80, 6), ("", 53, 17)]));
        for addr in ["10.96.0.10", "fd00::10", "192.0.2.7", "::ffff:10.96.0.10"] {
            assert_eq!(name(&store, addr, 80, 6).as_deref(), Some("shop/web:http"), "{addr}");
            assert_eq!(name(&store, addr, 53, 17).as_deref(), Some("shop/web:"), "{addr}");
        }
        assert_eq!(name(&store, "10.96.0.10", 80, 17), None, "another protocol");
        assert_eq!(name(&store, "10.96.0.10", 81, 6), None, "another port");
        assert_eq!(name(&store, "10.96.0.11", 80, 6), None, "another address");
    }

    #[test]
    fn a_change_replaces_the_old_addresses_and_a_deletion_removes_them() {
        let store = ServiceStore::default();
        store.apply(service("web", &["10.96.0.10", "192.0.2.7"], &[("http", 80, 6)]));
        store.apply(service("web", &["10.96.0.10"], &[("web", 8080, 6)]));
        assert_eq!(name(&store, "10.96.0.10", 80, 6), None);
        assert_eq!(name(&store, "192.0.2.7", 8080, 6), None);
        assert_eq!(name(&store, "10.96.0.10", 8080, 6).as_deref(), Some("shop/web:web"));
        assert_eq!(store.len(), 1);
        store.delete("shop", "web");
        assert_eq!(name(&store, "10.96.0.10", 8080, 6), None);
        assert!(store.is_empty() && store.inner.read().unwrap().by_addr.is_empty());
    }

    #[test]
    fn a_shared_external_ip_answers_for_the_first_claimant_until_it_goes() {
        let store = ServiceStore::default();
        store.apply(service("a", &["192.0.2.7"], &[("http", 80, 6)]));
        store.apply(service("b", &["192.0.2.7"], &[("http", 80, 6)]));
        assert_eq!(name(&store, "192.0.2.7", 80, 6).as_deref(), Some("shop/a:http"));
        store.delete("shop", "a");
        assert_eq!(name(&store, "192.0.2.7", 80, 6).as_deref(), Some("shop/b:http"));
    }

    #[test]
    fn a_relist_removes_the_services_it_no_longer_lists() {
        let store = ServiceStore::default();
        store.relist_begin();
        store.apply(service("a", &["10.96.0.1"], &[("x", 1, 6)]));
        store.apply(service("b", &["10.96.0.2"], &[("x", 1, 6)]));
        assert!(!store.is_synced());
        store.relist_done();
        assert!(store.is_synced() && store.len() == 2);
        store.relist_begin();
        store.apply(service("a", &["10.96.0.1"], &[("x", 1, 6)]));
        store.relist_done();
        assert_eq!(store.len(), 1);
        assert_eq!(name(&store, "10.96.0.2", 1, 6), None);
        assert_eq!(name(&store, "10.96.0.1", 1, 6).as_deref(), Some("shop/a:x"));
    }
}
