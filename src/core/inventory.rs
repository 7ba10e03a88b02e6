//! The Pod inventory: what Kubernetes would say about this Node's Pods, written down, so the
//! agent (`--pods`) and TrafficControl (`tc apply --local`) work on any Linux host.
//!
//! ```yaml
//! node: node-a
//! podCIDRs: [10.200.0.0/24, 10.201.0.0/24]   # optional: every Node's, for flowType
//! pods:
//! - {name: web-0, namespace: default, labels: {app: web}, annotations: {}, ips: [10.200.0.2], interface: veth-web0}
//! namespaces: {default: {team: blue}}        # optional: Namespace labels, for TrafficControl
//! services:                                  # optional
//! - {name: web, namespace: default, clusterIPs: [10.96.0.10], ports: [{name: http, port: 80, protocol: TCP}]}
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use serde::Deserialize;

/// An address block: `ADDR/PREFIX`, host bits masked off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpCidr {
    addr: IpAddr,
    prefix: u8,
}

impl IpCidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && (top(ip) ^ top(self.addr)) & prefix_mask(self.prefix) == 0
    }
}

/// The address's bits from the top of a u128, so one mask serves both families.
fn top(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn prefix_mask(prefix: u8) -> u128 {
    if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) }
}

impl FromStr for IpCidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a CIDR such as 10.244.0.0/16 or fd00::/64");
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > if addr.is_ipv4() { 32 } else { 128 } {
            return Err(bad());
        }
        let masked = top(addr) & prefix_mask(prefix);
        let addr = match addr {
            IpAddr::V4(_) => IpAddr::V4(((masked >> 96) as u32).into()),
            IpAddr::V6(_) => IpAddr::V6(masked.into()),
        };
        Ok(IpCidr { addr, prefix })
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl<'de> Deserialize<'de> for IpCidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InventoryPod {
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub ips: Vec<IpAddr>,
    /// The Pod's interface on the host side (its veth).
    #[serde(default)]
    pub interface: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InventoryService {
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default, rename = "clusterIPs")]
    pub cluster_ips: Vec<IpAddr>,
    #[serde(default)]
    pub ports: Vec<ServicePort>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePort {
    #[serde(default)]
    pub name: String,
    pub port: u16,
    /// TCP, UDP or SCTP.
    #[serde(default = "default_protocol")]
    pub protocol: String,
}

fn default_namespace() -> String {
    "default".into()
}

fn default_protocol() -> String {
    "TCP".into()
}

fn protocol_number(name: &str) -> Option<u8> {
    match name.to_ascii_uppercase().as_str() {
        "TCP" => Some(6),
        "UDP" => Some(17),
        "SCTP" => Some(132),
        _ => None,
    }
}

/// This Node's Pods, and what is known of the cluster around them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Inventory {
    #[serde(default)]
    pub node: String,
    #[serde(default, rename = "podCIDRs")]
    pub pod_cidrs: Vec<IpCidr>,
    #[serde(default)]
    pub pods: Vec<InventoryPod>,
    #[serde(default)]
    pub services: Vec<InventoryService>,
    /// Namespace labels, for TrafficControl's namespaceSelector: `{shop: {env: prod}}`.
    #[serde(default)]
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(skip)]
    by_ip: HashMap<IpAddr, usize>,
}

impl Inventory {
    pub fn load(path: &Path) -> anyhow::Result<Inventory> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in the Pod inventory {}", path.display()))
    }

    /// Parses and checks an inventory: every Pod named, no address held by two Pods, Service
    /// ports above 0 with a known protocol.
    pub fn parse(text: &str) -> anyhow::Result<Inventory> {
        let mut inv: Inventory =
            if text.trim().is_empty() { Inventory::default() } else { serde_saphyr::from_str(text)? };
        for (i, pod) in inv.pods.iter().enumerate() {
            anyhow::ensure!(!pod.name.is_empty(), "pods[{i}]: name is empty");
            for &ip in &pod.ips {
                if let Some(&other) = inv.by_ip.get(&ip) {
                    anyhow::bail!(
                        "pods[{i}] ({}/{}): {ip} is already the address of pods[{other}] ({}/{})",
                        pod.namespace,
                        pod.name,
                        inv.pods[other].namespace,
                        inv.pods[other].name
                    );
                }
                inv.by_ip.insert(ip, i);
            }
        }
        for (i, svc) in inv.services.iter().enumerate() {
            anyhow::ensure!(!svc.name.is_empty(), "services[{i}]: name is empty");
            for (j, port) in svc.ports.iter().enumerate() {
                let at = format!("services[{i}] ({}/{}) ports[{j}]", svc.namespace, svc.name);
                anyhow::ensure!(port.port != 0, "{at}: port 0");
                anyhow::ensure!(
                    protocol_number(&port.protocol).is_some(),
                    "{at}: protocol {:?} is not TCP, UDP or SCTP",
                    port.protocol
                );
            }
        }
        Ok(inv)
    }

    pub fn pod_by_ip(&self, ip: IpAddr) -> Option<&InventoryPod> {
        self.by_ip.get(&ip).map(|&i| &self.pods[i])
    }

    /// Antrea's `destinationServicePortName` for a Service reached at `ip`:`port` over `proto`:
    /// `namespace/name:portName` (Kubernetes' ServicePortName, with the colon even when the
    /// port has no name).
    pub fn service_port_name(&self, ip: IpAddr, port: u16, proto: u8) -> Option<String> {
        self.services.iter().find_map(|svc| {
            if !svc.cluster_ips.contains(&ip) {
                return None;
            }
            let p = svc.ports.iter().find(|p| p.port == port && protocol_number(&p.protocol) == Some(proto))?;
            Some(format!("{}/{}:{}", svc.namespace, svc.name, p.name))
        })
    }

    /// `ip` is a Pod's: in a Pod CIDR or the address of a listed Pod.
    pub fn is_pod_address(&self, ip: IpAddr) -> bool {
        self.by_ip.contains_key(&ip) || self.pod_cidrs.iter().any(|c| c.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_one_line_pod_of_the_issue_parses() {
        let inv = Inventory::parse(
            "node: node-a\npods:\n- {name: web-0, namespace: default, labels: {app: web}, annotations: {}, ips: [10.200.0.2], interface: veth-web0}\n",
        )
        .unwrap();
        let pod = inv.pod_by_ip(ip("10.200.0.2")).unwrap();
        assert_eq!((pod.name.as_str(), pod.interface.as_deref()), ("web-0", Some("veth-web0")));
        assert_eq!(pod.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(inv.node, "node-a");
        assert!(inv.pod_by_ip(ip("10.200.0.3")).is_none());
    }

    #[test]
    fn services_and_pod_cidrs_answer_lookups() {
        let inv = Inventory::parse(
            "podCIDRs: [10.200.0.0/16, 'fd00:200::/64']\npods:\n- {name: a, ips: [10.200.1.2, 'fd00:200::2']}\n\
             services:\n- {name: web, namespace: shop, clusterIPs: [10.96.0.10], ports: [{name: http, port: 80}, {port: 53, protocol: udp}]}\n",
        )
        .unwrap();
        assert_eq!(inv.pods[0].namespace, "default");
        assert_eq!(inv.service_port_name(ip("10.96.0.10"), 80, 6).as_deref(), Some("shop/web:http"));
        assert_eq!(inv.service_port_name(ip("10.96.0.10"), 53, 17).as_deref(), Some("shop/web:"));
        assert_eq!(inv.service_port_name(ip("10.96.0.10"), 80, 17), None);
        assert!(inv.is_pod_address(ip("10.200.9.9")) && inv.is_pod_address(ip("fd00:200::77")));
        assert!(!inv.is_pod_address(ip("10.201.0.1")) && !inv.is_pod_address(ip("fd00:201::1")));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |text: &str| format!("{:#}", Inventory::parse(text).unwrap_err());
        assert!(
            err("pods:\n- {name: a, ips: [10.0.0.1]}\n- {name: b, ips: [10.0.0.1]}\n")
                .contains("pods[1] (default/b): 10.0.0.1 is already the address of pods[0] (default/a)")
        );
        assert!(err("pods:\n- {name: '', ips: []}\n").contains("pods[0]: name is empty"));
        assert!(
            err("pods:\n- {name: a, ips: [10.0.0.300]}\n").contains("line 2"),
            "{}",
            err("pods:\n- {name: a, ips: [10.0.0.300]}\n")
        );
        assert!(err("pods:\n- {name: a, ipz: []}\n").contains("ipz"));
        assert!(
            err("services:\n- {name: s, ports: [{port: 0}]}\n").contains("services[0] (default/s) ports[0]: port 0")
        );
        assert!(err("services:\n- {name: s, ports: [{port: 1, protocol: icmp}]}\n").contains("\"icmp\" is not TCP"));
        assert!(err("podCIDRs: [10.0.0.0/33]\n").contains("is not a CIDR"));
    }

    #[test]
    fn cidrs_mask_host_bits() {
        let c: IpCidr = "10.1.2.3/16".parse().unwrap();
        assert_eq!(c.to_string(), "10.1.0.0/16");
        assert!(c.contains(ip("10.1.255.1")) && !c.contains(ip("10.2.0.1")) && !c.contains(ip("::1")));
        let all: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        let v6: IpCidr = "fd00::1/127".parse().unwrap();
        assert!(v6.contains(ip("fd00::")) && !v6.contains(ip("fd00::2")));
    }
}
