//! TrafficControls in a cluster: server-side apply with flowctl's field manager, get, delete.

use anyhow::Context;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};

use super::TrafficControl;

/// The field manager of our server-side applies, as `kubectl apply --server-side` uses
/// `kubectl`.
pub const FIELD_MANAGER: &str = "flowctl";

/// Applies each TrafficControl (validated already) and returns them as the server stored them.
/// `force` takes over fields another manager owns, as `kubectl apply --server-side --force-conflicts`.
pub async fn apply(client: &kube::Client, tcs: &[TrafficControl], force: bool) -> anyhow::Result<Vec<TrafficControl>> {
    let api: Api<TrafficControl> = Api::all(client.clone());
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = force;
    let mut out = Vec::new();
    for tc in tcs {
        let name = tc.metadata.name.clone().unwrap_or_default();
        let mut body = serde_json::to_value(tc).context("serializing a TrafficControl")?;
        if let Some(meta) = body.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            // What the server owns is not ours to apply.
            for key in ["resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"] {
                meta.remove(key);
            }
        }
        let stored = api
            .patch(&name, &params, &Patch::Apply(body))
            .await
            .with_context(|| format!("applying TrafficControl {name}"))?;
        out.push(stored);
    }
    Ok(out)
}

pub async fn get(client: &kube::Client, name: Option<&str>) -> anyhow::Result<Vec<TrafficControl>> {
    let api: Api<TrafficControl> = Api::all(client.clone());
    match name {
        Some(name) => Ok(vec![api.get(name).await.with_context(|| format!("reading TrafficControl {name}"))?]),
        None => {
            let mut list = api.list(&ListParams::default()).await.context("listing TrafficControls")?.items;
            list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            Ok(list)
        }
    }
}

pub async fn delete(client: &kube::Client, name: &str) -> anyhow::Result<()> {
    let api: Api<TrafficControl> = Api::all(client.clone());
    api.delete(name, &DeleteParams::default()).await.with_context(|| format!("deleting TrafficControl {name}"))?;
    Ok(())
}
