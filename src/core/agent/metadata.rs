//! Where the agent's Pod and Service names come from: an inventory file (no Kubernetes),
//! Kubernetes itself, or nothing (a plain Linux host: every connection, no names).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use tracing::warn;

use super::store::{PodRef, Resolve};
use crate::core::inventory::{Inventory, IpCidr};
use crate::core::k8s::{self, NodeStore, PodStore, ServiceStore};

/// The names the store resolves connections with.
pub enum Metadata {
    /// Nothing is known about Pods: every connection is exported, with flowType 0.
    Nothing,
    /// A `--pods` inventory: its Pods are this Node's, its Services and Pod CIDRs the cluster's.
    Inventory(InventoryNames),
    /// Kubernetes: watches of this Node's Pods, of Services and of Nodes (their Pod CIDRs).
    Kubernetes(KubernetesNames),
}

/// What the watches keep.
pub struct KubernetesNames {
    pods: PodStore,
    services: ServiceStore,
    nodes: NodeStore,
    node: Arc<str>,
    cidrs: Vec<IpCidr>,
}

/// An inventory, indexed for the lookups the store makes.
pub struct InventoryNames {
    pods: HashMap<IpAddr, PodRef>,
    services: Inventory,
    cidrs: Vec<IpCidr>,
}

impl Metadata {
    /// The inventory's names, with `extra_cidrs` (`--pod-cidr`) besides its own Pod CIDRs.
    pub fn from_inventory(inventory: Inventory, extra_cidrs: Vec<IpCidr>) -> Metadata {
        let mut pods = HashMap::new();
        for pod in &inventory.pods {
            let named = PodRef { namespace: pod.namespace.as_str().into(), name: pod.name.as_str().into() };
            for &ip in &pod.ips {
                pods.insert(ip, named.clone());
            }
        }
        let mut cidrs = inventory.pod_cidrs.clone();
        cidrs.extend(extra_cidrs);
        Metadata::Inventory(InventoryNames { pods, services: inventory, cidrs })
    }

    /// Names from Kubernetes: starts the watches (on the current Tokio runtime), which keep
    /// going, retrying, for as long as the process runs.
    pub fn kubernetes(client: kube::Client, node: &str, cidrs: Vec<IpCidr>) -> Metadata {
        let (pods, services, nodes) = (PodStore::default(), ServiceStore::default(), NodeStore::default());
        let watch = k8s::watch_pods_on(client.clone(), pods.clone(), Some(node), std::future::pending());
        tokio::spawn(async move {
            if let Err(e) = watch.await {
                warn!("the Pod watch stopped: {e:#}");
            }
        });
        let watched = services.clone();
        let c = client.clone();
        tokio::spawn(async move {
            if let Err(e) = k8s::watch_services(c, watched, std::future::pending()).await {
                warn!("the Service watch stopped: {e:#}");
            }
        });
        let watched = nodes.clone();
        tokio::spawn(async move {
            if let Err(e) = k8s::watch_nodes(client, watched, std::future::pending()).await {
                warn!("the Node watch stopped: {e:#}");
            }
        });
        Metadata::Kubernetes(KubernetesNames { pods, services, nodes, node: node.into(), cidrs })
    }
}

impl Resolve for Metadata {
    fn local_pod(&self, ip: IpAddr, at_secs: u32) -> Option<PodRef> {
        match self {
            Metadata::Nothing => None,
            Metadata::Inventory(inv) => inv.pods.get(&ip).cloned(),
            Metadata::Kubernetes(k) => k
                .pods
                .by_ip(ip, at_secs)
                .filter(|p| p.node == k.node)
                .map(|p| PodRef { namespace: p.namespace, name: p.name }),
        }
    }

    fn service_port_name(&self, ip: IpAddr, port: u16, proto: u8) -> Option<Arc<str>> {
        match self {
            Metadata::Nothing => None,
            Metadata::Inventory(inv) => inv.services.service_port_name(ip, port, proto).map(Arc::from),
            Metadata::Kubernetes(k) => k.services.port_name(ip, port, proto),
        }
    }

    fn is_pod_address(&self, ip: IpAddr) -> bool {
        match self {
            Metadata::Nothing => false,
            Metadata::Inventory(inv) => inv.pods.contains_key(&ip) || inv.cidrs.iter().any(|c| c.contains(ip)),
            Metadata::Kubernetes(k) => {
                k.nodes.is_pod_address(ip) || k.cidrs.iter().any(|c| c.contains(ip)) || k.pods.by_ip(ip, 0).is_some()
            }
        }
    }

    fn knows_pods(&self) -> bool {
        !matches!(self, Metadata::Nothing)
    }
}
