//! The TrafficControl resource, `crd.antrea.io/v1alpha2`, field for field as Antrea's: a
//! manifest written for Antrea applies unchanged, and the CRD we ship is the reference's.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{CustomResourceDefinition, JSONSchemaProps};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use kube::CustomResourceExt;
use serde::{Deserialize, Serialize};

/// The reference's OpenAPI schema (`build/charts/antrea/crds/trafficcontrol.yaml`): its oneOf
/// constraints are what a derived schema cannot say, so it is kept as written.
const SCHEMA: &str = include_str!("schema.yaml");

#[derive(CustomResource, Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[kube(
    group = "crd.antrea.io",
    version = "v1alpha2",
    kind = "TrafficControl",
    plural = "trafficcontrols",
    singular = "trafficcontrol",
    shortname = "tc",
    status = "TrafficControlStatus",
    schema = "disabled",
    printcolumn = r#"{"description":"Specifies the direction of traffic that should be matched.","jsonPath":".spec.direction","name":"Direction","type":"string"}"#,
    printcolumn = r#"{"description":"Specifies the action that should be taken for the traffic.","jsonPath":".spec.action","name":"Action","type":"string"}"#,
    printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficControlSpec {
    pub applied_to: AppliedTo,
    pub direction: Direction,
    pub action: Action,
    pub target_port: Port,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_port: Option<Port>,
}

/// The reference's status is an empty object; kept so `status: {}` round-trips.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct TrafficControlStatus {}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppliedTo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Direction {
    #[default]
    Ingress,
    Egress,
    Both,
}

impl Direction {
    /// Traffic into the Pod leaves the host through the egress hook of the Pod's host-side
    /// interface; traffic from the Pod arrives at its ingress hook.
    pub fn hooks(self) -> &'static [super::kernel::Hook] {
        use super::kernel::Hook;
        match self {
            Direction::Ingress => &[Hook::Egress],
            Direction::Egress => &[Hook::Ingress],
            Direction::Both => &[Hook::Ingress, Hook::Egress],
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Action {
    #[default]
    Mirror,
    Redirect,
}

/// A target or return port: exactly one of the fields is set (checked by
/// [`super::validate`], as the schema's oneOf does on a real API server).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Port {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ovs_internal: Option<NamedPort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<NamedPort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geneve: Option<UdpTunnel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan: Option<UdpTunnel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gre: Option<GreTunnel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erspan: Option<ErspanTunnel>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPort {
    pub name: String,
}

/// VXLAN or GENEVE. Numbers are read as i64 so out-of-range values reach validation and get an
/// error naming the field instead of a YAML type error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UdpTunnel {
    #[serde(rename = "remoteIP")]
    pub remote_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GreTunnel {
    #[serde(rename = "remoteIP")]
    pub remote_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErspanTunnel {
    #[serde(rename = "remoteIP")]
    pub remote_ip: String,
    #[serde(default, rename = "sessionID", skip_serializing_if = "Option::is_none")]
    pub session_id: Option<i64>,
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<i64>,
    #[serde(default, rename = "hardwareID", skip_serializing_if = "Option::is_none")]
    pub hardware_id: Option<i64>,
}

/// The CRD as shipped in `deploy/crds/trafficcontrol.yaml`: kube's derive gives the names,
/// scope, printer columns and status subresource; the schema is the reference's.
pub fn crd() -> CustomResourceDefinition {
    let mut crd = TrafficControl::crd();
    let schema: JSONSchemaProps = serde_saphyr::from_str(SCHEMA).expect("the built-in TrafficControl schema parses");
    if let Some(version) = crd.spec.versions.first_mut() {
        version.schema =
            Some(k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceValidation {
                open_api_v3_schema: Some(schema),
            });
    }
    crd
}

/// The CRD manifest text, as committed under `deploy/`.
pub fn crd_yaml() -> String {
    let text = serde_saphyr::to_string(&crd()).expect("a CRD serializes");
    format!("# Generated by `flowctl generate-docs`; do not edit.\n{text}")
}
