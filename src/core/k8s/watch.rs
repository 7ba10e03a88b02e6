//! The Pod list/watch that keeps a [`PodStore`] current: kube-rs's watcher (list in pages,
//! then watch from the list's resourceVersion with bookmarks, relist when the server says the
//! version is too old) with its default backoff between failures. The Service and Node watches
//! run the same loop ([`follow`]) over their own slim types.
//!
//! Pods are read as [`SlimPod`], which deserializes only the fields the store keeps: a Pod's
//! spec (containers, volumes, env) and its managedFields and annotations are skipped by the
//! JSON parser instead of being built and dropped, which is most of a Pod's bytes.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use tracing::{debug, info, warn};

use super::store::{PodStore, PodUpdate};

/// Makes a slim type a [`kube::Resource`] under the real type's kind, group, version and path,
/// so the API server is asked for `$real` and serde keeps only what the slim type declares.
macro_rules! slim_resource {
    ($slim:ty, $real:ty, $scope:ty) => {
        impl kube::Resource for $slim {
            type DynamicType = ();
            type Scope = $scope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(<$real as k8s_openapi::Resource>::KIND)
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(<$real as k8s_openapi::Resource>::GROUP)
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(<$real as k8s_openapi::Resource>::VERSION)
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(<$real as k8s_openapi::Resource>::URL_PATH_SEGMENT)
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }
    };
}
pub(super) use slim_resource;

/// How often Pods past their grace period are forgotten; the other stores ignore the tick.
const PURGE_INTERVAL: Duration = Duration::from_secs(10);

/// Runs the Pod watch into `store` until `shutdown` resolves. Failures (API server unreachable,
/// forbidden, watch dropped) are logged and retried with backoff; lookups keep answering from
/// what the store has. Returns an error only if the watch stream itself ends, which kube-rs's
/// watcher does not do.
pub async fn watch_pods(
    client: kube::Client,
    store: PodStore,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    watch_pods_on(client, store, None, shutdown).await
}

/// [`watch_pods`] for the Pods scheduled on `node` only (`spec.nodeName`, as a field selector the
/// API server applies), as an agent does: every Node listing every Pod would cost the API server
/// and each agent the whole cluster's Pods. `None` watches all Pods.
///
/// The selector is built before the future, so the future borrows nothing and can be spawned.
pub fn watch_pods_on<S: Future<Output = ()>>(
    client: kube::Client,
    store: PodStore,
    node: Option<&str>,
    shutdown: S,
) -> impl Future<Output = anyhow::Result<()>> + use<S> {
    let mut config = watcher::Config::default();
    if let Some(node) = node {
        config = config.fields(&format!("spec.nodeName={node}"));
    }
    let ticked = store.clone();
    follow::<SlimPod>(client, config, shutdown, move |event| apply(&store, event), move || ticked.purge(now_secs()))
}

/// The list/watch loop every store shares: `on_event` for each watcher event, `on_tick` every
/// [`PURGE_INTERVAL`], until `shutdown` resolves.
pub(super) async fn follow<K>(
    client: kube::Client,
    config: watcher::Config,
    shutdown: impl Future<Output = ()>,
    mut on_event: impl FnMut(Event<K>),
    mut on_tick: impl FnMut(),
) -> anyhow::Result<()>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let kind = K::kind(&()).into_owned();
    let events = watcher::watcher(Api::<K>::all(client), config).default_backoff();
    let mut events = pin!(events);
    let mut shutdown = pin!(shutdown);
    let mut tick = tokio::time::interval(PURGE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            _ = tick.tick() => on_tick(),
            event = events.next() => match event {
                Some(Ok(event)) => on_event(event),
                // The API server's history moved past our version: the watcher lists again.
                Some(Err(watcher::Error::WatchError(status))) if status.code == 410 => {
                    debug!(%kind, message = %status.message, "Kubernetes watch expired; listing again");
                }
                Some(Err(e)) => warn!(%kind, error = %e, "Kubernetes watch failed; retrying"),
                None => anyhow::bail!("the Kubernetes {kind} watch ended"),
            },
        }
    }
}

fn apply(store: &PodStore, event: Event<SlimPod>) {
    let now = now_secs();
    match event {
        Event::Init => store.relist_begin(),
        Event::InitApply(pod) | Event::Apply(pod) => {
            if let Some(update) = pod.into_update() {
                store.apply(update, now);
            }
        }
        Event::Delete(pod) => {
            if let Some(uid) = pod.metadata.uid {
                store.delete(&uid, now);
            }
        }
        Event::InitDone => {
            let first = !store.is_synced();
            store.relist_done(now);
            if first {
                info!(pods = store.len(), "Kubernetes Pods listed");
            }
        }
    }
}

fn now_secs() -> u32 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    u32::try_from(secs).unwrap_or(u32::MAX)
}

fn unix_secs(t: &Time) -> u32 {
    u32::try_from(t.0.as_second().max(0)).unwrap_or(u32::MAX)
}

/// A Pod with only the fields the store keeps. It is requested and listed as a Pod; the API
/// server sends whole Pods and serde skips the rest.
#[derive(Clone, Debug, Deserialize)]
pub(super) struct SlimPod {
    #[serde(deserialize_with = "slim_meta")]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: SlimSpec,
    #[serde(default)]
    status: SlimStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimSpec {
    node_name: Option<String>,
    host_network: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimStatus {
    phase: Option<String>,
    #[serde(rename = "podIPs")]
    pod_ips: Option<Vec<SlimPodIp>>,
    #[serde(rename = "podIP")]
    pod_ip: Option<String>,
    start_time: Option<Time>,
}

#[derive(Clone, Debug, Deserialize)]
struct SlimPodIp {
    ip: String,
}

/// The metadata fields the store and the watcher (resourceVersion) use; managedFields,
/// annotations, owner references and the rest are skipped while parsing.
pub(super) fn slim_meta<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ObjectMeta, D::Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Slim {
        name: Option<String>,
        namespace: Option<String>,
        uid: Option<String>,
        resource_version: Option<String>,
        labels: Option<BTreeMap<String, String>>,
        creation_timestamp: Option<Time>,
        deletion_timestamp: Option<Time>,
    }
    let m = Slim::deserialize(deserializer)?;
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        labels: m.labels,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        ..ObjectMeta::default()
    })
}

slim_resource!(SlimPod, Pod, k8s_openapi::NamespaceResourceScope);

impl SlimPod {
    /// The store's view of this Pod; `None` without a UID (the API server always sets one).
    fn into_update(self) -> Option<PodUpdate> {
        let meta = self.metadata;
        let phase = self.status.phase.as_deref().unwrap_or("");
        let mut ips: Vec<IpAddr> =
            self.status.pod_ips.unwrap_or_default().iter().filter_map(|p| p.ip.parse().ok()).collect();
        if ips.is_empty() {
            ips.extend(self.status.pod_ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()));
        }
        Some(PodUpdate {
            uid: meta.uid?,
            namespace: meta.namespace.unwrap_or_default(),
            name: meta.name.unwrap_or_default(),
            node: self.spec.node_name.unwrap_or_default(),
            ips,
            labels: meta.labels.unwrap_or_default(),
            created: meta.creation_timestamp.as_ref().map(unix_secs),
            started: self.status.start_time.as_ref().map(unix_secs),
            pending: phase == "Pending",
            finished: phase == "Succeeded" || phase == "Failed",
            host_network: self.spec.host_network.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_as_the_api_server_sends_it_becomes_what_the_store_keeps() {
        let pod: SlimPod = serde_json::from_str(
            r#"{"kind":"Pod","apiVersion":"v1",
                "metadata":{"name":"web-1","namespace":"shop","uid":"0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
                  "resourceVersion":"42","creationTimestamp":"2026-11-22T04:00:00Z",
                  "labels":{"app":"web"},"annotations":{"big":"x"},
                  "managedFields":[{"manager":"kubelet","operation":"Update","fieldsV1":{"f:status":{}}}]},
                "spec":{"nodeName":"node-2","containers":[{"name":"c","image":"nginx","env":[{"name":"A","value":"1"}]}]},
                "status":{"phase":"Running","startTime":"2026-11-22T04:00:05Z","podIP":"10.0.1.5",
                  "podIPs":[{"ip":"10.0.1.5"},{"ip":"fd00::5"}]}}"#,
        )
        .unwrap();
        assert_eq!(pod.metadata.resource_version.as_deref(), Some("42"));
        assert!(pod.metadata.annotations.is_none() && pod.metadata.managed_fields.is_none());
        let u = pod.into_update().unwrap();
        assert_eq!((u.namespace.as_str(), u.name.as_str(), u.node.as_str()), ("shop", "web-1", "node-2"));
        assert_eq!(u.ips, vec!["10.0.1.5".parse::<IpAddr>().unwrap(), "fd00::5".parse().unwrap()]);
        assert_eq!(u.labels, BTreeMap::from([("app".to_string(), "web".to_string())]));
        assert_eq!(u.created, Some(1_795_320_000));
        assert_eq!(u.started, Some(1_795_320_005));
        assert!(!u.pending && !u.finished && !u.host_network);
    }

    #[test]
    fn a_pod_with_only_pod_ip_and_a_finished_phase() {
        let pod: SlimPod = serde_json::from_str(
            r#"{"metadata":{"name":"job","namespace":"ns","uid":"u"},"spec":{"hostNetwork":true},
                "status":{"phase":"Succeeded","podIP":"192.168.1.10"}}"#,
        )
        .unwrap();
        let u = pod.into_update().unwrap();
        assert_eq!(u.ips, vec!["192.168.1.10".parse::<IpAddr>().unwrap()]);
        assert!(u.finished && u.host_network);
        assert!(u.labels.is_empty() && u.created.is_none());
    }

    #[test]
    fn a_pod_without_uid_is_skipped() {
        let pod: SlimPod = serde_json::from_str(r#"{"metadata":{"name":"x"}}"#).unwrap();
        assert!(pod.into_update().is_none());
    }
}
