//! Kubernetes: where the API server is, the Pod store the aggregator fills records from (Pod
//! labels, and Pod name/namespace/Node for inter-Node records that lack them), and the Service
//! and Node stores an agent fills its records from.
//!
//! - [`resolve_source`] and [`client`]: a kubeconfig file, the in-cluster service account, or no
//!   Kubernetes at all (every lookup then answers "unknown", which records carry as `""`).
//! - [`PodStore`]: lookups by namespace/name and by IP and time, cheap enough to call per record.
//! - [`watch_pods`]: the list/watch that keeps a [`PodStore`] current; [`watch_pods_on`] for
//!   one Node's Pods, as an agent needs them.
//! - [`ServiceStore`] and [`watch_services`]: Service port names by ClusterIP/external/LB IP,
//!   port and protocol, for `destinationServicePortName`.
//! - [`NodeStore`] and [`watch_nodes`]: Nodes' Pod CIDRs (Pod address or external, for
//!   flowType) and UIDs.
//!
//! TLS to the API server goes through rustls with the ring provider, like the rest of flowctl.

mod labels;
mod nodes;
mod services;
mod store;
mod watch;

use std::path::PathBuf;

use anyhow::Context;
use kube::config::{KubeConfigOptions, Kubeconfig};

pub use labels::labels_json;
pub use nodes::{NodeStore, watch_nodes};
pub use services::{ServiceStore, watch_services};
pub use store::{DELETED_POD_GRACE_SECS, PodInfo, PodStore};
pub use watch::{watch_pods, watch_pods_on};

/// Where to find the Kubernetes API server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeSource {
    /// No Kubernetes: Pod lookups answer "unknown".
    None,
    /// The service account of the Pod flowctl runs in.
    InCluster,
    /// A kubeconfig file, with its current context.
    Kubeconfig(PathBuf),
}

/// An explicit kubeconfig path wins; otherwise in-cluster when `KUBERNETES_SERVICE_HOST` is set
/// (the kubelet sets it in every Pod); otherwise no Kubernetes.
pub fn resolve_source(kubeconfig: Option<PathBuf>) -> KubeSource {
    choose_source(kubeconfig, std::env::var_os("KUBERNETES_SERVICE_HOST").is_some_and(|h| !h.is_empty()))
}

fn choose_source(kubeconfig: Option<PathBuf>, in_cluster: bool) -> KubeSource {
    match kubeconfig {
        Some(path) => KubeSource::Kubeconfig(path),
        None if in_cluster => KubeSource::InCluster,
        None => KubeSource::None,
    }
}

/// A client for `source`, or `None` for [`KubeSource::None`]. Nothing is sent yet: a server that
/// cannot be reached shows up as errors from [`watch_pods`], which keeps retrying.
pub async fn client(source: &KubeSource) -> anyhow::Result<Option<kube::Client>> {
    let config = match source {
        KubeSource::None => return Ok(None),
        KubeSource::InCluster => kube::Config::incluster()
            .context("reading the in-cluster Kubernetes configuration (service account token and CA)")?,
        KubeSource::Kubeconfig(path) => {
            let kubeconfig =
                Kubeconfig::read_from(path).with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("using kubeconfig {}", path.display()))?
        }
    };
    let client = kube::Client::try_from(config).context("building the Kubernetes client")?;
    Ok(Some(client))
}

/// The ClusterIP of Service `namespace/name`: where the agent exports when flowCollectorAddr
/// names a Service.
pub async fn service_cluster_ip(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<std::net::IpAddr> {
    use k8s_openapi::api::core::v1::Service;
    let api: kube::Api<Service> = kube::Api::namespaced(client.clone(), namespace);
    let svc = tokio::time::timeout(std::time::Duration::from_secs(30), api.get(name))
        .await
        .with_context(|| format!("timed out reading Service {namespace}/{name}"))?
        .with_context(|| format!("reading Service {namespace}/{name}"))?;
    let ip = svc.spec.and_then(|s| s.cluster_ip).unwrap_or_default();
    ip.parse().with_context(|| format!("Service {namespace}/{name} has no ClusterIP ({ip:?})"))
}

/// The cluster's UUID as Antrea keeps it: key `uuid` of ConfigMap
/// kube-system/antrea-cluster-identity (the aggregator's default clusterId and, through FNV-1,
/// its observation domain).
pub async fn cluster_uuid(client: &kube::Client) -> anyhow::Result<String> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), "kube-system");
    let cm = tokio::time::timeout(std::time::Duration::from_secs(10), api.get("antrea-cluster-identity"))
        .await
        .context("timed out reading ConfigMap kube-system/antrea-cluster-identity")?
        .context("reading ConfigMap kube-system/antrea-cluster-identity")?;
    cm.data
        .and_then(|mut d| d.remove("uuid"))
        .filter(|u| !u.is_empty())
        .context("ConfigMap kube-system/antrea-cluster-identity has no uuid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_kubeconfig_wins_then_in_cluster_then_none() {
        let path = PathBuf::from("/tmp/kc");
        assert_eq!(choose_source(Some(path.clone()), true), KubeSource::Kubeconfig(path.clone()));
        assert_eq!(choose_source(Some(path.clone()), false), KubeSource::Kubeconfig(path));
        assert_eq!(choose_source(None, true), KubeSource::InCluster);
        assert_eq!(choose_source(None, false), KubeSource::None);
    }

    #[tokio::test]
    async fn no_kubernetes_means_no_client() {
        assert!(client(&KubeSource::None).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_missing_kubeconfig_is_an_error_naming_it() {
        let Err(err) = client(&KubeSource::Kubeconfig("/nonexistent/kubeconfig".into())).await else {
            panic!("a client from a kubeconfig that does not exist")
        };
        assert!(format!("{err:#}").contains("/nonexistent/kubeconfig"), "{err:#}");
    }

    #[tokio::test]
    async fn a_kubeconfig_without_a_server_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n").unwrap();
        let Err(err) = client(&KubeSource::Kubeconfig(path.clone())).await else {
            panic!("a client from a kubeconfig with no cluster")
        };
        assert!(format!("{err:#}").contains(&path.display().to_string()), "{err:#}");
    }
}
