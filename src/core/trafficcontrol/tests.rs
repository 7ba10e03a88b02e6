use super::*;

fn one(yaml: &str) -> TrafficControl {
    parse_documents(yaml, "test.yaml").unwrap().remove(0)
}

fn errors(yaml: &str) -> Vec<String> {
    validate(&one(yaml)).iter().map(ToString::to_string).collect()
}

const MIRROR: &str = "apiVersion: crd.antrea.io/v1alpha2\nkind: TrafficControl\nmetadata: {name: mirror-web}\n\
spec:\n  appliedTo: {podSelector: {matchLabels: {app: web}}}\n  direction: Both\n  action: Mirror\n  targetPort: {vxlan: {remoteIP: 192.0.2.9, vni: 7}}\n";

#[test]
fn the_reference_example_parses_and_validates() {
    let tc = one(MIRROR);
    assert_eq!(tc.spec.direction, Direction::Both);
    assert_eq!(tc.spec.target_port.vxlan.as_ref().unwrap().vni, Some(7));
    assert!(validate(&tc).is_empty());
}

#[test]
fn return_port_goes_with_redirect_only_and_redirect_needs_it() {
    let mirror_with_return = MIRROR.replace("action: Mirror", "action: Mirror\n  returnPort: {device: {name: r0}}");
    assert_eq!(errors(&mirror_with_return), ["spec.returnPort: only allowed with action Redirect"]);
    let redirect = MIRROR.replace("action: Mirror", "action: Redirect");
    assert!(errors(&redirect)[0].starts_with("spec.returnPort: required with action Redirect"));
}

#[test]
fn ranges_and_kinds_are_checked_with_field_names() {
    let bad = MIRROR.replace(
        "{vxlan: {remoteIP: 192.0.2.9, vni: 7}}",
        "{vxlan: {remoteIP: nope, vni: 16777216, destinationPort: 0}}",
    );
    assert_eq!(
        errors(&bad),
        [
            "spec.targetPort.vxlan.remoteIP: \"nope\" is not an IPv4 or IPv6 address",
            "spec.targetPort.vxlan.vni: 16777216 is out of range 0..16777215",
            "spec.targetPort.vxlan.destinationPort: 0 is out of range 1..65535",
        ]
    );
    let two = MIRROR
        .replace("{vxlan: {remoteIP: 192.0.2.9, vni: 7}}", "{device: {name: a}, gre: {remoteIP: 192.0.2.1, key: -1}}");
    assert_eq!(
        errors(&two),
        [
            "spec.targetPort: exactly one of ovsInternal, device, geneve, vxlan, gre or erspan is allowed, found device, gre",
            "spec.targetPort.gre.key: -1 is out of range 0..4294967295"
        ]
    );
    let none = MIRROR.replace("{vxlan: {remoteIP: 192.0.2.9, vni: 7}}", "{}");
    assert!(errors(&none)[0].starts_with("spec.targetPort: exactly one of"));
    let long = MIRROR.replace("{vxlan: {remoteIP: 192.0.2.9, vni: 7}}", "{ovsInternal: {name: much-too-long-name}}");
    assert!(errors(&long)[0].starts_with("spec.targetPort.ovsInternal.name:"));
}

#[test]
fn erspan_fields_depend_on_the_version_and_it_cannot_be_a_return_port() {
    let v1 = MIRROR.replace(
        "{vxlan: {remoteIP: 192.0.2.9, vni: 7}}",
        "{erspan: {remoteIP: 192.0.2.1, version: 1, index: 3, dir: 1, sessionID: 1024}}",
    );
    assert_eq!(
        errors(&v1),
        [
            "spec.targetPort.erspan.sessionID: 1024 is out of range 0..1023",
            "spec.targetPort.erspan.dir: only with version 2"
        ]
    );
    let v3 = MIRROR.replace("{vxlan: {remoteIP: 192.0.2.9, vni: 7}}", "{erspan: {remoteIP: 192.0.2.1, version: 3}}");
    assert_eq!(errors(&v3), ["spec.targetPort.erspan.version: 3 is not 1 or 2"]);
    let ret =
        MIRROR.replace("action: Mirror", "action: Redirect\n  returnPort: {erspan: {remoteIP: 192.0.2.1, version: 2}}");
    assert!(errors(&ret).iter().any(|e| e.starts_with("spec.returnPort.erspan: not allowed here")));
}

#[test]
fn documents_of_another_kind_and_bad_names_are_named() {
    let err = parse_documents("apiVersion: v1\nkind: Pod\n", "f.yaml").unwrap_err().to_string();
    assert!(err.contains("f.yaml: document 1: expected apiVersion crd.antrea.io/v1alpha2"), "{err}");
    let tcs = parse_documents(&format!("{MIRROR}---\n{}", MIRROR.replace("mirror-web", "Bad_Name")), "f.yaml").unwrap();
    assert_eq!(tcs.len(), 2);
    assert!(validate(&tcs[1])[0].to_string().starts_with("metadata.name: \"Bad_Name\" is not a DNS subdomain"));
}

#[test]
fn selectors_follow_kubernetes_semantics_and_the_first_tc_wins() {
    use plan::PodRef;
    use std::collections::BTreeMap;
    let pod = |ns: &str, name: &str, app: &str| PodRef {
        namespace: ns.into(),
        name: name.into(),
        labels: [("app".to_string(), app.to_string())].into(),
        interface: format!("veth-{name}"),
        ips: vec![],
    };
    let pods = [pod("shop", "web-0", "web"), pod("dev", "web-1", "web"), pod("shop", "db-0", "db")];
    let ns: BTreeMap<String, BTreeMap<String, String>> =
        [("shop".to_string(), [("env".to_string(), "prod".to_string())].into())].into();
    let second = MIRROR.replace("mirror-web", "prod-all").replace(
        "{podSelector: {matchLabels: {app: web}}}",
        "{namespaceSelector: {matchExpressions: [{key: env, operator: In, values: [prod]}]}}",
    );
    let tcs = parse_documents(&format!("{MIRROR}---\n{second}"), "t").unwrap();
    let got: Vec<(String, String)> = plan::bindings(&tcs, &pods, &ns).into_iter().map(|b| (b.pod, b.tc)).collect();
    assert_eq!(
        got,
        [
            ("shop/web-0".to_string(), "mirror-web".to_string()),
            ("dev/web-1".to_string(), "mirror-web".to_string()),
            ("shop/db-0".to_string(), "prod-all".to_string())
        ]
    );
    // The other takes over when the first goes.
    let got: Vec<String> = plan::bindings(&tcs[1..], &pods, &ns).into_iter().map(|b| b.pod).collect();
    assert_eq!(got, ["shop/web-0", "shop/db-0"]);
    let nothing = MIRROR.replace("{podSelector: {matchLabels: {app: web}}}", "{}");
    assert!(plan::bindings(&parse_documents(&nothing, "t").unwrap(), &pods, &ns).is_empty());
}

#[test]
fn the_crd_carries_the_reference_schema_names_and_columns() {
    let crd = crd();
    assert_eq!(crd.metadata.name.as_deref(), Some("trafficcontrols.crd.antrea.io"));
    assert_eq!(crd.spec.scope, "Cluster");
    assert_eq!(crd.spec.names.short_names.as_deref(), Some(&["tc".to_string()][..]));
    let v = &crd.spec.versions[0];
    let cols: Vec<&str> = v.additional_printer_columns.iter().flatten().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, ["Direction", "Action", "Age"]);
    let schema = serde_json::to_value(v.schema.as_ref().unwrap()).unwrap();
    let target = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["targetPort"];
    assert_eq!(target["oneOf"].as_array().unwrap().len(), 6);
    assert_eq!(target["properties"]["vxlan"]["properties"]["vni"]["maximum"].as_f64(), Some(16_777_215.0));
    let ret = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["returnPort"];
    assert!(ret["properties"].get("erspan").is_none());
}

/// Issue #21: the peer of an internal port was named by cutting its name at byte 13, which
/// panicked when a multi-byte character straddled it.
#[test]
fn an_internal_port_with_multibyte_characters_gets_a_peer_name_cut_on_a_character_boundary() {
    let name = "mon-ééééé"; // 14 bytes: 'é' takes bytes 12 and 13
    assert!(check_ifname(name).is_ok());
    let port = Port { ovs_internal: Some(types::NamedPort { name: name.into() }), ..Port::default() };
    let plan = local::port_plan(&port).unwrap();
    assert_eq!(plan.datapath, "mon-éééé-p");
    assert!(plan.datapath.len() <= 15);
}

/// Issue #21: a misspelt field was ignored, so a manifest did something else than it said.
#[test]
fn unknown_fields_are_named_at_every_level() {
    for (yaml, field) in [
        (MIRROR.replace("direction: Both", "direction: Both\n  directoin: Ingress"), "directoin"),
        (MIRROR.replace("vni: 7", "vni: 7, vnid: 8"), "vnid"),
        (format!("{MIRROR}extra: 1\n"), "extra"),
    ] {
        let err = parse_documents(&yaml, "f.yaml").unwrap_err().to_string();
        assert!(err.contains("f.yaml: document 1") && err.contains(&format!("unknown field `{field}`")), "{err}");
    }
}
