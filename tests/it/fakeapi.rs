//! A fake Kubernetes API server for tests: real HTTP on 127.0.0.1 speaking the list/watch
//! protocol that kube-rs's watcher (and client-go's informers) use, for Pods, Services and
//! Nodes, so code under test goes through its real client, kubeconfig and HTTP stack.
//!
//! What it serves for each kind (`pods`, `services`, `nodes`), as the real API server does:
//! - `GET /api/v1/pods`: a `PodList` with `metadata.resourceVersion`; with `limit`, pages joined
//!   by `continue` tokens, all pages from one snapshot.
//! - `GET /api/v1/pods?watch=true&resourceVersion=N`: newline-delimited `WatchEvent`s (`ADDED`,
//!   `MODIFIED`, `DELETED`) for every change after N, then live ones; `BOOKMARK`s on request
//!   (with `allowWatchBookmarks=true`); the stream ends after `timeoutSeconds`; a watch from a
//!   version older than the compacted history gets an `ERROR` event with 410 Gone, so the
//!   client must list again.
//! - `fieldSelector=path=value[,path=value]` on both: only objects whose field (a JSON path such
//!   as `spec.nodeName`; missing reads as empty) has that value. A watch filters each event by
//!   the object it carries, so an object that stops matching is simply no longer sent, where the
//!   real server would send a `DELETED`.
//!
//! All kinds share one resourceVersion sequence, as etcd's revision is shared.
//!
//! [`FakeApiServer::start_tls`] serves the same over mutual TLS (a CA, a server certificate for
//! 127.0.0.1 and a client certificate, as kubeadm or kind kubeconfigs have).
//!
//! Tests change Pods with [`FakeApiServer::apply`] and [`FakeApiServer::delete`] (Services and
//! Nodes with `apply_service`, `delete_service`, `apply_node`, `delete_node`) while watches are
//! open. The server runs on its own thread and runtime, so sync tests (which run the
//! flowctl binary against [`FakeApiServer::write_kubeconfig`]) can use it as well as async ones.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc;
use serde_json::{Value, json};

use flowctl::core::time::{Precision, Timestamp};

/// A Pod as a test describes it; [`FakeApiServer::apply`] turns it into the JSON a real API
/// server sends, including the fields flowctl ignores (annotations, managedFields, containers).
#[derive(Clone, Debug)]
pub struct FakePod {
    pub namespace: String,
    pub name: String,
    pub uid: [u8; 16],
    pub node: String,
    pub ips: Vec<String>,
    /// In the order written to the JSON object (the API server does not sort them).
    pub labels: Vec<(String, String)>,
    pub phase: String,
    /// `metadata.creationTimestamp` and `status.startTime`, unix seconds.
    pub created: u64,
    pub host_network: bool,
}

impl FakePod {
    /// A running Pod on `node-1`, created now, with a fresh UID, no IP and no labels.
    pub fn new(namespace: &str, name: &str) -> Self {
        FakePod {
            namespace: namespace.into(),
            name: name.into(),
            uid: fresh_uid(),
            node: "node-1".into(),
            ips: Vec::new(),
            labels: Vec::new(),
            phase: "Running".into(),
            created: unix_now(),
            host_network: false,
        }
    }

    pub fn ip(mut self, ip: &str) -> Self {
        self.ips.push(ip.into());
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    pub fn node(mut self, node: &str) -> Self {
        self.node = node.into();
        self
    }

    pub fn created(mut self, unix_secs: u64) -> Self {
        self.created = unix_secs;
        self
    }

    pub fn phase(mut self, phase: &str) -> Self {
        self.phase = phase.into();
        self
    }

    pub fn host_network(mut self) -> Self {
        self.host_network = true;
        self
    }

    fn to_json(&self, resource_version: u64) -> Value {
        let created = rfc3339(self.created);
        let labels: serde_json::Map<String, Value> =
            self.labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        let mut metadata = json!({
            "name": self.name,
            "namespace": self.namespace,
            "uid": uid_string(&self.uid),
            "resourceVersion": resource_version.to_string(),
            "creationTimestamp": created,
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\"}"},
            "managedFields": [{
                "manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": created,
                "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:podIPs": {}}}, "subresource": "status"
            }],
        });
        if !labels.is_empty() {
            metadata["labels"] = Value::Object(labels);
        }
        let mut status = json!({"phase": self.phase, "startTime": created});
        if let Some(first) = self.ips.first() {
            status["podIP"] = json!(first);
            status["podIPs"] = Value::Array(self.ips.iter().map(|ip| json!({"ip": ip})).collect());
        }
        json!({
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": metadata,
            "spec": {
                "nodeName": self.node,
                "hostNetwork": self.host_network,
                "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
                                "env": [{"name": "MODE", "value": "test"}]}],
            },
            "status": status,
        })
    }
}

/// A Service as a test describes it; [`FakeApiServer::apply_service`] turns it into the JSON a
/// real API server sends.
#[derive(Clone, Debug)]
pub struct FakeService {
    pub namespace: String,
    pub name: String,
    /// `spec.clusterIPs`, the first also `spec.clusterIP`; `None` for a headless Service.
    pub cluster_ips: Vec<String>,
    /// Name (empty: unnamed, left out of the JSON as the API server does), port, protocol.
    pub ports: Vec<(String, u16, String)>,
    pub external_ips: Vec<String>,
    /// `status.loadBalancer.ingress[].ip`; any makes the Service a LoadBalancer.
    pub lb_ingress: Vec<String>,
}

impl FakeService {
    /// A Service with no address and no port yet.
    pub fn new(namespace: &str, name: &str) -> Self {
        FakeService {
            namespace: namespace.into(),
            name: name.into(),
            cluster_ips: Vec::new(),
            ports: Vec::new(),
            external_ips: Vec::new(),
            lb_ingress: Vec::new(),
        }
    }

    pub fn cluster_ip(mut self, ip: &str) -> Self {
        self.cluster_ips.push(ip.into());
        self
    }

    pub fn port(mut self, name: &str, port: u16, protocol: &str) -> Self {
        self.ports.push((name.into(), port, protocol.into()));
        self
    }

    pub fn external_ip(mut self, ip: &str) -> Self {
        self.external_ips.push(ip.into());
        self
    }

    pub fn lb_ingress(mut self, ip: &str) -> Self {
        self.lb_ingress.push(ip.into());
        self
    }

    fn to_json(&self, resource_version: u64) -> Value {
        let created = rfc3339(unix_now());
        let ports: Vec<Value> = self
            .ports
            .iter()
            .map(|(name, port, protocol)| {
                let mut p = json!({"port": port, "protocol": protocol, "targetPort": port});
                if !name.is_empty() {
                    p["name"] = json!(name);
                }
                p
            })
            .collect();
        let kind = if self.lb_ingress.is_empty() { "ClusterIP" } else { "LoadBalancer" };
        let mut spec = json!({"type": kind, "ports": ports, "selector": {"app": self.name},
            "sessionAffinity": "None", "internalTrafficPolicy": "Cluster"});
        if let Some(first) = self.cluster_ips.first() {
            spec["clusterIP"] = json!(first);
            spec["clusterIPs"] = json!(self.cluster_ips);
        }
        if !self.external_ips.is_empty() {
            spec["externalIPs"] = json!(self.external_ips);
        }
        let ingress: Vec<Value> = self.lb_ingress.iter().map(|ip| json!({"ip": ip, "ipMode": "VIP"})).collect();
        json!({
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "uid": uid_string(&fresh_uid()),
                "resourceVersion": resource_version.to_string(),
                "creationTimestamp": created,
                "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                    "time": created, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:ports": {}}}}],
            },
            "spec": spec,
            "status": {"loadBalancer": if ingress.is_empty() { json!({}) } else { json!({"ingress": ingress}) }},
        })
    }
}

/// A Node as a test describes it; [`FakeApiServer::apply_node`] turns it into the JSON a real
/// API server sends, status (conditions, images) included.
#[derive(Clone, Debug)]
pub struct FakeNode {
    pub name: String,
    pub uid: [u8; 16],
    /// `spec.podCIDRs`, the first also `spec.podCIDR`.
    pub pod_cidrs: Vec<String>,
}

impl FakeNode {
    /// A Node with a fresh UID and no Pod CIDR.
    pub fn new(name: &str) -> Self {
        FakeNode { name: name.into(), uid: fresh_uid(), pod_cidrs: Vec::new() }
    }

    pub fn pod_cidr(mut self, cidr: &str) -> Self {
        self.pod_cidrs.push(cidr.into());
        self
    }

    fn to_json(&self, resource_version: u64) -> Value {
        let now = rfc3339(unix_now());
        let mut spec = json!({"providerID": format!("kind://docker/kind/{}", self.name)});
        if let Some(first) = self.pod_cidrs.first() {
            spec["podCIDR"] = json!(first);
            spec["podCIDRs"] = json!(self.pod_cidrs);
        }
        json!({
            "kind": "Node",
            "apiVersion": "v1",
            "metadata": {
                "name": self.name,
                "uid": uid_string(&self.uid),
                "resourceVersion": resource_version.to_string(),
                "creationTimestamp": now,
                "labels": {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux"},
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
            },
            "spec": spec,
            "status": {
                "addresses": [{"type": "Hostname", "address": self.name}],
                "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": now,
                    "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
                "images": [{"names": ["registry.k8s.io/pause:3.10"], "sizeBytes": 320_368}],
                "nodeInfo": {"kubeletVersion": "v1.33.1", "architecture": "amd64"},
            },
        })
    }
}

/// A UID unique in this test process, shaped like a version-4 UUID.
fn fresh_uid() -> [u8; 16] {
    static NEXT_UID: AtomicU64 = AtomicU64::new(1);
    let n = NEXT_UID.fetch_add(1, Ordering::Relaxed);
    let mut uid = [0u8; 16];
    uid[6] = 0x40;
    uid[8] = 0x80;
    uid[10..].copy_from_slice(&n.to_be_bytes()[2..]);
    uid
}

/// `metadata.uid` as the API server writes it.
fn uid_string(uid: &[u8; 16]) -> String {
    let h: String = uid.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// The kinds served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Pod,
    Service,
    Node,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Service => "Service",
            Kind::Node => "Node",
        }
    }
}

/// One change, kept for watches that resume from before it.
struct Change {
    rv: u64,
    kind: Kind,
    event: &'static str,
    object: Value,
}

/// `fieldSelector`: every (JSON path, value) pair must hold.
#[derive(Clone, Debug, Default)]
struct Selector(Vec<(Vec<String>, String)>);

impl Selector {
    /// `a.b=v,c==w`; `None` for what it does not support (`!=`, set-based forms).
    fn parse(text: &str) -> Option<Selector> {
        let mut terms = Vec::new();
        for term in text.split(',').filter(|t| !t.is_empty()) {
            if term.contains("!=") {
                return None;
            }
            let (path, value) = term.split_once("==").or_else(|| term.split_once('='))?;
            terms.push((path.split('.').map(str::to_string).collect(), value.to_string()));
        }
        Some(Selector(terms))
    }

    fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(path, want)| {
            let found = path.iter().try_fold(object, |v, key| v.get(key));
            let text = match found {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            text == *want
        })
    }
}

#[derive(Default)]
struct Fake {
    /// The last resourceVersion handed out.
    rv: u64,
    /// By kind, namespace (empty for Nodes) and name.
    objects: BTreeMap<(Kind, String, String), Value>,
    /// Changes after `compacted`.
    history: Vec<Change>,
    compacted: u64,
    watches: Vec<Watch>,
    /// List snapshots being paged through, by continue-token id.
    pages: HashMap<u64, (u64, Vec<Value>)>,
    next_page: u64,
    requests: Vec<String>,
}

impl Fake {
    /// Creates the object (`ADDED`) or replaces the one with its kind, namespace and name
    /// (`MODIFIED`); returns the new resourceVersion.
    fn put(&mut self, kind: Kind, namespace: &str, name: &str, object: impl FnOnce(u64) -> Value) -> u64 {
        self.rv += 1;
        let object = object(self.rv);
        let key = (kind, namespace.to_string(), name.to_string());
        let event = if self.objects.insert(key, object.clone()).is_some() { "MODIFIED" } else { "ADDED" };
        self.publish(kind, event, object);
        self.rv
    }

    /// Removes the object and returns its last state, with a new resourceVersion and a
    /// deletionTimestamp, as a `DELETED` event carries it.
    fn remove(&mut self, kind: Kind, namespace: &str, name: &str) -> Option<Value> {
        let mut object = self.objects.remove(&(kind, namespace.to_string(), name.to_string()))?;
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        object["metadata"]["deletionTimestamp"] = json!(rfc3339(unix_now()));
        Some(object)
    }

    fn publish(&mut self, kind: Kind, event: &'static str, object: Value) {
        let line = event_line(event, &object);
        self.watches
            .retain(|w| w.kind != kind || !w.selector.matches(&object) || w.tx.unbounded_send(line.clone()).is_ok());
        self.history.push(Change { rv: self.rv, kind, event, object });
    }
}

/// An open watch stream.
struct Watch {
    kind: Kind,
    selector: Selector,
    tx: mpsc::UnboundedSender<Bytes>,
    /// Asked for with `allowWatchBookmarks=true`.
    bookmarks: bool,
}

type Shared = Arc<Mutex<Fake>>;

/// The files a kubeconfig names for a TLS server.
struct TlsFiles {
    ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

/// The running server; stops when dropped.
pub struct FakeApiServer {
    addr: SocketAddr,
    tls: Option<TlsFiles>,
    state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Accepts TCP connections and completes the TLS handshake before handing them to axum.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.tcp.accept().await {
                Ok((tcp, addr)) => {
                    if let Ok(tls) = self.acceptor.accept(tcp).await {
                        return (tls, addr);
                    }
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

impl FakeApiServer {
    /// Starts a plain-HTTP server on 127.0.0.1 with an ephemeral port and no Pods.
    pub fn start() -> Self {
        Self::spawn(None)
    }

    /// Starts a server that requires mutual TLS; the CA, server and client certificates are
    /// written into `dir`.
    pub fn start_tls(dir: &Path) -> Self {
        use flowctl::core::transport::certs::{self, CertsRequest};
        use flowctl::core::transport::tls::{ServerTls, server_config};
        let mut req = CertsRequest::new(dir);
        req.servers = vec!["127.0.0.1".into()];
        req.clients = vec!["flowctl".into()];
        let created = certs::create(&req).expect("create certificates");
        let config = server_config(&ServerTls {
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
            client_ca: Some(created.ca_cert.clone()),
        })
        .expect("server TLS configuration");
        let files = TlsFiles {
            ca: created.ca_cert,
            client_cert: dir.join("client-flowctl.crt"),
            client_key: dir.join("client-flowctl.key"),
        };
        Self::spawn(Some((config, files)))
    }

    fn spawn(tls: Option<(Arc<rustls::ServerConfig>, TlsFiles)>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let state = Shared::default();
        let app = Router::new()
            .route("/api/v1/pods", get(|state, uri| resource(state, uri, Kind::Pod)))
            .route("/api/v1/services", get(|state, uri| resource(state, uri, Kind::Service)))
            .route("/api/v1/nodes", get(|state, uri| resource(state, uri, Kind::Node)))
            .fallback(not_found)
            .with_state(state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (config, files) = tls.unzip();
        let thread = std::thread::Builder::new()
            .name("fake-kube-api".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    let tcp = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    match config {
                        None => serve(tcp, app, stopped).await,
                        Some(config) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(config);
                            serve(TlsListener { tcp, acceptor }, app, stopped).await;
                        }
                    }
                });
            })
            .expect("spawn the fake API server");
        FakeApiServer { addr, tls: files, state, stop: Some(stop), thread: Some(thread) }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Writes a kubeconfig for this server into `dir`: no credentials for plain HTTP; for TLS,
    /// the CA and the client certificate and key, by path.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let (ca, user) = match &self.tls {
            None => (String::new(), "{}".to_string()),
            Some(t) => (
                format!("\n    certificate-authority: {}", t.ca.display()),
                format!(
                    "\n    client-certificate: {}\n    client-key: {}",
                    t.client_cert.display(),
                    t.client_key.display()
                ),
            ),
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}{ca}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
             current-context: fake\nusers:\n- name: fake\n  user: {user}\n",
            self.url()
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    /// Creates the Pod (`ADDED`) or replaces the one with its namespace and name (`MODIFIED`);
    /// returns the new resourceVersion.
    pub fn apply(&self, pod: &FakePod) -> u64 {
        self.lock().put(Kind::Pod, &pod.namespace, &pod.name, |rv| pod.to_json(rv))
    }

    /// Deletes the Pod (`DELETED`, with its last state and a deletionTimestamp); false if absent.
    pub fn delete(&self, namespace: &str, name: &str) -> bool {
        self.delete_kind(Kind::Pod, namespace, name)
    }

    /// [`FakeApiServer::apply`] for a Service.
    pub fn apply_service(&self, service: &FakeService) -> u64 {
        self.lock().put(Kind::Service, &service.namespace, &service.name, |rv| service.to_json(rv))
    }

    pub fn delete_service(&self, namespace: &str, name: &str) -> bool {
        self.delete_kind(Kind::Service, namespace, name)
    }

    /// [`FakeApiServer::apply`] for a Node.
    pub fn apply_node(&self, node: &FakeNode) -> u64 {
        self.lock().put(Kind::Node, "", &node.name, |rv| node.to_json(rv))
    }

    pub fn delete_node(&self, name: &str) -> bool {
        self.delete_kind(Kind::Node, "", name)
    }

    fn delete_kind(&self, kind: Kind, namespace: &str, name: &str) -> bool {
        let mut s = self.lock();
        let Some(object) = s.remove(kind, namespace, name) else { return false };
        s.publish(kind, "DELETED", object);
        true
    }

    /// Deletes the Pod as if it happened while every watch was disconnected and the server's
    /// history was compacted past it: open watches end, no event is sent, and a watch resumed
    /// from an older resourceVersion gets 410 Gone, so the client has to list again to notice.
    pub fn delete_while_watches_are_away(&self, namespace: &str, name: &str) -> bool {
        let mut s = self.lock();
        let found = s.remove(Kind::Pod, namespace, name).is_some();
        s.compacted = s.rv;
        s.history.clear();
        s.watches.clear();
        found
    }

    /// Sends a `BOOKMARK` with the current resourceVersion to every open watch that asked for them.
    pub fn bookmark(&self) -> u64 {
        let mut s = self.lock();
        let rv = s.rv.to_string();
        s.watches.retain(|w| {
            let object = json!({"kind": w.kind.name(), "apiVersion": "v1", "metadata": {"resourceVersion": rv}});
            !w.bookmarks || w.tx.unbounded_send(event_line("BOOKMARK", &object)).is_ok()
        });
        s.rv
    }

    /// Ends every open watch stream, as an API server does at `timeoutSeconds` or on restart.
    pub fn drop_watches(&self) {
        self.lock().watches.clear();
    }

    /// Watch streams currently open.
    pub fn open_watches(&self) -> usize {
        let mut s = self.lock();
        s.watches.retain(|w| !w.tx.is_closed());
        s.watches.len()
    }

    /// Every request so far, as path and query.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.drop_watches();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve<L>(listener: L, app: Router, stopped: tokio::sync::oneshot::Receiver<()>)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::select! {
        served = axum::serve(listener, app).into_future() => served.expect("fake API server"),
        _ = stopped => {}
    }
}

async fn resource(State(state): State<Shared>, uri: Uri, kind: Kind) -> Response {
    let query: HashMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), percent_decode(v))
        })
        .collect();
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.requests.push(uri.path_and_query().map_or_else(|| uri.path().to_string(), |pq| pq.to_string()));
    let Some(selector) = Selector::parse(query.get("fieldSelector").map_or("", String::as_str)) else {
        return status(StatusCode::BAD_REQUEST, "BadRequest", "unsupported field selector");
    };
    if matches!(query.get("watch").map(String::as_str), Some("true" | "1")) {
        watch(&mut s, &query, kind, selector)
    } else {
        list(&mut s, &query, kind, &selector)
    }
}

fn list(s: &mut Fake, query: &HashMap<String, String>, kind: Kind, selector: &Selector) -> Response {
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(0);
    let (id, rv, items, offset) = match query.get("continue") {
        Some(token) => {
            let parsed = token.split_once(':').and_then(|(id, off)| Some((id.parse().ok()?, off.parse().ok()?)));
            let Some((id, offset)) = parsed else {
                return status(StatusCode::BAD_REQUEST, "BadRequest", "bad continue token");
            };
            let Some((rv, items)) = s.pages.remove(&id) else {
                return status(StatusCode::GONE, "Expired", "the provided continue parameter is too old");
            };
            (id, rv, items, offset)
        }
        None => {
            s.next_page += 1;
            let items: Vec<Value> = s
                .objects
                .iter()
                .filter(|((k, _, _), object)| *k == kind && selector.matches(object))
                .map(|(_, object)| object.clone())
                .collect();
            (s.next_page, s.rv, items, 0usize)
        }
    };
    let end = if limit > 0 { (offset + limit).min(items.len()) } else { items.len() };
    let page: Vec<Value> = items[offset.min(end)..end].to_vec();
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if end < items.len() {
        metadata["continue"] = json!(format!("{id}:{end}"));
        s.pages.insert(id, (rv, items));
    }
    let list_kind = format!("{}List", kind.name());
    let body = json!({"kind": list_kind, "apiVersion": "v1", "metadata": metadata, "items": page});
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn watch(s: &mut Fake, query: &HashMap<String, String>, kind: Kind, selector: Selector) -> Response {
    let from: u64 = query.get("resourceVersion").and_then(|v| v.parse().ok()).filter(|&v| v > 0).unwrap_or(s.rv);
    let timeout = query.get("timeoutSeconds").and_then(|t| t.parse().ok()).unwrap_or(1800);
    let bookmarks = query.get("allowWatchBookmarks").is_some_and(|b| b == "true");
    let (tx, rx) = mpsc::unbounded();
    if from < s.compacted {
        let gone = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("too old resource version: {from} ({})", s.compacted), "reason": "Expired", "code": 410});
        let _ = tx.unbounded_send(event_line("ERROR", &gone));
    } else {
        for c in s.history.iter().filter(|c| c.rv > from && c.kind == kind && selector.matches(&c.object)) {
            let _ = tx.unbounded_send(event_line(c.event, &c.object));
        }
        s.watches.push(Watch { kind, selector, tx, bookmarks });
    }
    let stream = rx.map(Ok::<Bytes, Infallible>).take_until(tokio::time::sleep(Duration::from_secs(timeout)));
    ([(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream)).into_response()
}

async fn not_found(uri: Uri) -> Response {
    status(StatusCode::NOT_FOUND, "NotFound", &format!("the server could not find the requested resource {uri}"))
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()});
    (code, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn rfc3339(unix_secs: u64) -> String {
    Timestamp { secs: unix_secs as i64, nanos: 0, precision: Precision::Seconds }.to_string()
}
