//! The Pod store fed by `watch_pods` through a kubeconfig from the fake API server: what
//! kube-rs's watcher reads over real HTTP (list pages, watch, bookmarks, 410 and relist) ends
//! up as the labels text and IP → Pod answers the aggregator puts in records. Then the agent's
//! side: one Node's Pods through a field selector, Service port names and Node Pod CIDRs.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use flowctl::core::k8s::{self, KubeSource, NodeStore, PodInfo, PodStore, ServiceStore};

use crate::fakeapi::{FakeApiServer, FakeNode, FakePod, FakeService, unix_now};

/// Polls `cond` until it holds; fails the test after 20 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A watch running against `server` through a kubeconfig file, as `--kubeconfig` does, until
/// stopped.
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start<F, Fut>(server: &FakeApiServer, watch: F) -> Self
    where
        F: FnOnce(kube::Client, Shutdown) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = server.write_kubeconfig(dir.path());
        let client = k8s::client(&KubeSource::Kubeconfig(kubeconfig)).await.unwrap().expect("a client");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(watch(
            client,
            Box::pin(async {
                let _ = stopped.await;
            }),
        ));
        Running { stop, task, _dir: dir }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let ended = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        ended.expect("the watch stops on shutdown").unwrap().expect("the watch ends without error");
    }
}

/// `watch_pods` (or `watch_pods_on` one Node) filling a [`PodStore`].
struct Watching {
    store: PodStore,
    run: Running,
}

impl Watching {
    async fn start(server: &FakeApiServer) -> Self {
        let store = PodStore::default();
        let watched = store.clone();
        let run = Running::start(server, |client, shutdown| k8s::watch_pods(client, watched, shutdown)).await;
        Watching { store, run }
    }

    async fn start_on(server: &FakeApiServer, node: &str) -> Self {
        let store = PodStore::default();
        let watched = store.clone();
        let run =
            Running::start(server, |client, shutdown| k8s::watch_pods_on(client, watched, Some(node), shutdown)).await;
        Watching { store, run }
    }

    async fn stop(self) {
        self.run.stop().await;
    }

    fn labels(&self, namespace: &str, name: &str) -> Option<String> {
        self.store.labels(namespace, name).map(|l| l.to_string())
    }

    fn name_at(&self, ip: &str, at: u64) -> Option<String> {
        self.store.by_ip(ip.parse().unwrap(), at as u32).map(|p| p.name.to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_follows_pods_listed_and_watched() {
    let server = FakeApiServer::start();
    let now = unix_now();
    // Labels written unsorted, with a character Go escapes.
    let web = FakePod::new("shop", "web-1").node("node-a").ip("10.10.0.5").label("team", "a&b").label("app", "web");
    let db = FakePod::new("shop", "db-0").node("node-b").ip("10.10.0.6").created(now - 3600);
    let agent = FakePod::new("kube-system", "antrea-agent-x").ip("192.168.0.10").label("app", "antrea").host_network();
    // Antrea #8030: a completed Job Pod keeps its IP in its status after the IP went to a newer Pod.
    let job = FakePod::new("batch", "job-1").ip("10.10.0.9").created(now - 7200).phase("Succeeded");
    let api = FakePod::new("shop", "api-0").ip("10.10.0.9").created(now - 600);
    for pod in [&web, &db, &agent, &api, &job] {
        server.apply(pod);
    }

    let w = Watching::start(&server).await;
    eventually("the Pod list is loaded", || w.store.is_synced()).await;
    assert_eq!(w.store.len(), 5);
    assert_eq!(w.labels("shop", "web-1").as_deref(), Some(r#"{"app":"web","team":"a\u0026b"}"#));
    assert_eq!(w.labels("shop", "db-0").as_deref(), Some("{}"), "a Pod without labels");
    assert_eq!(w.labels("shop", "nope"), None, "no such Pod");
    assert_eq!(
        w.store.by_ip("10.10.0.5".parse().unwrap(), now as u32),
        Some(PodInfo { namespace: "shop".into(), name: "web-1".into(), node: "node-a".into(), uid: web.uid })
    );
    assert_eq!(w.name_at("192.168.0.10", now), None, "a host-network Pod's IP is its Node's");
    assert_eq!(w.labels("kube-system", "antrea-agent-x").as_deref(), Some(r#"{"app":"antrea"}"#));
    assert_eq!(w.name_at("10.10.0.9", now).as_deref(), Some("api-0"));
    assert_eq!(w.name_at("10.10.0.9", now - 3600).as_deref(), Some("job-1"));

    // Changes while the watch is open.
    eventually("the watch is open", || server.open_watches() == 1).await;
    server.apply(&FakePod::new("shop", "cache-0").ip("10.10.0.7").label("app", "cache"));
    eventually("an added Pod is known", || w.labels("shop", "cache-0").is_some()).await;
    assert_eq!(w.name_at("10.10.0.7", unix_now()).as_deref(), Some("cache-0"));
    server.apply(&web.clone().label("version", "2"));
    eventually("a relabelled Pod has its new labels", || {
        w.labels("shop", "web-1").as_deref() == Some(r#"{"app":"web","team":"a\u0026b","version":"2"}"#)
    })
    .await;
    assert!(server.delete("shop", "db-0"));
    eventually("a deleted Pod is not counted", || w.store.len() == 5).await;
    assert_eq!(w.name_at("10.10.0.6", now - 60).as_deref(), Some("db-0"), "late records still find it");

    // The deleted Pod's IP goes to a new Pod: each flow finds the Pod of its time.
    let reborn = FakePod::new("shop", "db-1").ip("10.10.0.6").created(unix_now() + 5);
    server.apply(&reborn);
    eventually("the new Pod is known", || w.labels("shop", "db-1").is_some()).await;
    assert_eq!(w.name_at("10.10.0.6", now - 60).as_deref(), Some("db-0"));
    assert_eq!(w.name_at("10.10.0.6", reborn.created + 100).as_deref(), Some("db-1"));

    // The watch ends (as at timeoutSeconds) after a bookmark: kube resumes from the bookmark's
    // version and misses nothing.
    let bookmark = server.bookmark();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.drop_watches();
    server.apply(&FakePod::new("shop", "queue-0").ip("10.10.0.8"));
    eventually("a Pod added while the watch reconnected is known", || w.labels("shop", "queue-0").is_some()).await;
    let resumed = format!("resourceVersion={bookmark}");
    assert!(
        server.requests().iter().any(|r| r.contains("watch=true") && r.contains(&resumed)),
        "the watch resumed from the bookmark: {:?}",
        server.requests()
    );

    // A deletion the watch never sees (history compacted while it was away): 410 Gone, list
    // again, and the Pod missing from the new list is deleted.
    let lists_before = server.requests().iter().filter(|r| !r.contains("watch=")).count();
    assert!(server.delete_while_watches_are_away("shop", "cache-0"));
    eventually("the relist noticed the deletion", || w.store.len() == 6).await;
    let lists_after = server.requests().iter().filter(|r| !r.contains("watch=")).count();
    assert_eq!(lists_after, lists_before + 1, "one more list: {:?}", server.requests());
    assert!(w.store.is_synced());
    assert_eq!(w.labels("shop", "web-1").as_deref(), Some(r#"{"app":"web","team":"a\u0026b","version":"2"}"#));

    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_list_is_read_in_pages() {
    let server = FakeApiServer::start();
    const PODS: usize = 1201;
    for i in 0..PODS {
        let pod = FakePod::new("bulk", &format!("p-{i:04}")).ip(&format!("10.20.{}.{}", i / 250, i % 250 + 1));
        server.apply(&pod.label("i", &i.to_string()));
    }
    let w = Watching::start(&server).await;
    eventually("the Pod list is loaded", || w.store.is_synced()).await;
    assert_eq!(w.store.len(), PODS);
    assert_eq!(w.labels("bulk", "p-1200").as_deref(), Some(r#"{"i":"1200"}"#));
    assert_eq!(w.name_at("10.20.4.201", unix_now()).as_deref(), Some("p-1200"));
    let lists: Vec<String> = server.requests().into_iter().filter(|r| !r.contains("watch=")).collect();
    assert_eq!(lists.len(), 3, "500 + 500 + 201: {lists:?}");
    assert!(lists.iter().all(|r| r.contains("limit=500")), "{lists:?}");
    assert_eq!(lists.iter().filter(|r| r.contains("continue=")).count(), 2, "{lists:?}");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_works_over_mutual_tls() {
    let certs = tempfile::tempdir().unwrap();
    let server = FakeApiServer::start_tls(certs.path());
    assert!(server.url().starts_with("https://127.0.0.1:"));
    server.apply(&FakePod::new("shop", "web-1").ip("10.30.0.1").label("app", "web"));
    let w = Watching::start(&server).await;
    eventually("the Pod list is loaded over TLS", || w.store.is_synced()).await;
    assert_eq!(w.labels("shop", "web-1").as_deref(), Some(r#"{"app":"web"}"#));
    server.apply(&FakePod::new("shop", "web-2").ip("10.30.0.2"));
    eventually("a Pod added is seen through the TLS watch", || w.name_at("10.30.0.2", unix_now()).is_some()).await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_field_selector_keeps_only_this_nodes_pods() {
    let server = FakeApiServer::start();
    server.apply(&FakePod::new("shop", "web-1").node("node-a").ip("10.10.0.5"));
    server.apply(&FakePod::new("shop", "api-0").node("node-b").ip("10.10.1.5"));
    let w = Watching::start_on(&server, "node-a").await;
    eventually("this Node's Pods are listed", || w.store.is_synced()).await;
    assert_eq!(w.store.len(), 1);
    assert_eq!(w.name_at("10.10.0.5", unix_now()).as_deref(), Some("web-1"));
    assert_eq!(w.labels("shop", "api-0"), None, "a Pod on another Node is not listed");
    assert_eq!(w.name_at("10.10.1.5", unix_now()), None);

    // Watch events too: the other Node's Pod goes out first, so once this Node's Pod, sent after
    // it on the same stream, is known, the other would have been seen.
    eventually("the watch is open", || server.open_watches() == 1).await;
    server.apply(&FakePod::new("shop", "api-1").node("node-b").ip("10.10.1.6"));
    server.apply(&FakePod::new("shop", "web-2").node("node-a").ip("10.10.0.6"));
    eventually("a Pod added on this Node is known", || w.labels("shop", "web-2").is_some()).await;
    assert_eq!(w.labels("shop", "api-1"), None, "a Pod added on another Node is not watched");
    assert_eq!(w.store.len(), 2);

    let requests = server.requests();
    let (watches, lists): (Vec<&String>, Vec<&String>) = requests.iter().partition(|r| r.contains("watch=true"));
    assert!(!watches.is_empty() && !lists.is_empty(), "{requests:?}");
    assert!(requests.iter().all(|r| r.contains("fieldSelector=spec.nodeName%3Dnode-a")), "{requests:?}");
    w.stop().await;
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_port_names_follow_services_added_changed_and_deleted() {
    const TCP: u8 = 6;
    const UDP: u8 = 17;
    const SCTP: u8 = 132;
    let server = FakeApiServer::start();
    let web = FakeService::new("shop", "web")
        .cluster_ip("10.96.0.80")
        .cluster_ip("fd00:96::80")
        .external_ip("192.0.2.80")
        .lb_ingress("203.0.113.80")
        .port("http", 80, "TCP");
    server.apply_service(&web);
    server.apply_service(
        &FakeService::new("kube-system", "kube-dns")
            .cluster_ip("10.96.0.10")
            .port("dns", 53, "UDP")
            .port("dns-tcp", 53, "TCP"),
    );
    server.apply_service(&FakeService::new("kube-system", "metrics").cluster_ip("10.96.0.20").port("", 443, "TCP"));
    server.apply_service(&FakeService::new("shop", "db").cluster_ip("None").port("pg", 5432, "TCP"));

    let store = ServiceStore::default();
    let watched = store.clone();
    let run = Running::start(&server, |client, shutdown| k8s::watch_services(client, watched, shutdown)).await;
    let name = |addr: &str, port: u16, proto: u8| store.port_name(ip(addr), port, proto).map(|n| n.to_string());
    eventually("the Services are listed", || store.is_synced()).await;
    assert_eq!(store.len(), 4);
    for addr in ["10.96.0.80", "fd00:96::80", "192.0.2.80", "203.0.113.80"] {
        assert_eq!(name(addr, 80, TCP).as_deref(), Some("shop/web:http"), "{addr}");
    }
    assert_eq!(name("10.96.0.10", 53, UDP).as_deref(), Some("kube-system/kube-dns:dns"));
    assert_eq!(name("10.96.0.10", 53, TCP).as_deref(), Some("kube-system/kube-dns:dns-tcp"));
    assert_eq!(name("10.96.0.20", 443, TCP).as_deref(), Some("kube-system/metrics:"), "an unnamed port");
    assert_eq!(name("10.96.0.80", 80, UDP), None, "no UDP port 80");
    assert_eq!(name("10.96.0.80", 443, TCP), None);

    // Changed: the port is renamed and moved, the load balancer is gone.
    eventually("the watch is open", || server.open_watches() == 1).await;
    let changed =
        FakeService::new("shop", "web").cluster_ip("10.96.0.80").external_ip("192.0.2.80").port("web", 8080, "TCP");
    server.apply_service(&changed);
    eventually("a changed Service has its new port", || {
        name("10.96.0.80", 8080, TCP).as_deref() == Some("shop/web:web")
    })
    .await;
    assert_eq!(name("192.0.2.80", 8080, TCP).as_deref(), Some("shop/web:web"));
    for addr in ["10.96.0.80", "fd00:96::80", "192.0.2.80", "203.0.113.80"] {
        assert_eq!(name(addr, 80, TCP), None, "{addr}: the old port is gone");
    }
    assert_eq!(name("203.0.113.80", 8080, TCP), None, "the old ingress IP is gone");

    server.apply_service(&FakeService::new("tel", "sig").cluster_ip("10.96.0.30").port("m3ua", 2905, "SCTP"));
    eventually("an added Service is known", || name("10.96.0.30", 2905, SCTP).is_some()).await;
    assert_eq!(name("10.96.0.30", 2905, SCTP).as_deref(), Some("tel/sig:m3ua"));

    assert!(server.delete_service("kube-system", "kube-dns"));
    eventually("a deleted Service is gone", || name("10.96.0.10", 53, UDP).is_none()).await;
    assert_eq!(name("10.96.0.10", 53, TCP), None);
    assert_eq!(store.len(), 4);
    assert_eq!(name("10.96.0.20", 443, TCP).as_deref(), Some("kube-system/metrics:"));
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_pod_cidrs_tell_pod_addresses_from_external_ones() {
    let server = FakeApiServer::start();
    let node1 = FakeNode::new("node-1").pod_cidr("10.244.1.0/24").pod_cidr("fd00:10:244:1::/64");
    server.apply_node(&node1);
    // An invalid CIDR is skipped; the Node's other one still counts.
    server.apply_node(&FakeNode::new("node-2").pod_cidr("10.244.2.0/33").pod_cidr("10.244.20.0/24"));
    server.apply_node(&FakeNode::new("control-plane"));

    let store = NodeStore::default();
    let watched = store.clone();
    let run = Running::start(&server, |client, shutdown| k8s::watch_nodes(client, watched, shutdown)).await;
    let pod = |addr: &str| store.is_pod_address(ip(addr));
    eventually("the Nodes are listed", || store.is_synced()).await;
    assert_eq!(store.len(), 3);
    for addr in ["10.244.1.7", "fd00:10:244:1::7", "10.244.20.7"] {
        assert!(pod(addr), "{addr} is a Pod address");
    }
    for addr in ["10.244.2.7", "10.244.3.7", "10.96.0.10", "8.8.8.8", "fd00:10:244:2::7"] {
        assert!(!pod(addr), "{addr} is external");
    }
    assert_eq!(store.node_uid("node-1"), Some(node1.uid));
    assert_eq!(store.node_uid("node-9"), None);

    eventually("the watch is open", || server.open_watches() == 1).await;
    server.apply_node(&FakeNode::new("node-3").pod_cidr("10.244.3.0/24"));
    eventually("an added Node's CIDR holds Pod addresses", || pod("10.244.3.7")).await;
    assert!(server.delete_node("node-1"));
    eventually("a deleted Node's CIDR no longer does", || !pod("10.244.1.7")).await;
    assert!(!pod("fd00:10:244:1::7"));
    assert_eq!(store.node_uid("node-1"), None);
    assert!(pod("10.244.3.7") && pod("10.244.20.7"));
    run.stop().await;
}

/// The agent's names from Kubernetes, end to end: the watches `run agent` starts, over real
/// HTTP, and the connection store filling a record of a conntrack entry with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_fills_names_service_port_name_and_flow_type_from_kubernetes() {
    use flowctl::core::agent::{ConnectionStore, Metadata, Resolve, Source, StoreConfig};
    use flowctl::core::conntrack::{Connection, Counters, TcpState, Tuple};
    use flowctl::core::flow::Flow;

    let server = FakeApiServer::start();
    server.apply(&FakePod::new("shop", "frontend-0").ip("10.244.1.7").node("node-a"));
    server.apply(&FakePod::new("shop", "backend-0").ip("10.244.1.9").node("node-a"));
    server.apply(&FakePod::new("shop", "backend-1").ip("10.244.2.9").node("node-b"));
    server.apply_service(&FakeService::new("shop", "backend").cluster_ip("10.96.0.12").port("http", 80, "TCP"));
    server.apply_node(&FakeNode::new("node-a").pod_cidr("10.244.1.0/24"));
    server.apply_node(&FakeNode::new("node-b").pod_cidr("10.244.2.0/24"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    let client = k8s::client(&KubeSource::Kubeconfig(kubeconfig)).await.unwrap().expect("a client");
    let names = Metadata::kubernetes(client, "node-a", Vec::new());
    eventually("the watches have listed", || {
        names.local_pod(ip("10.244.1.9"), 0).is_some()
            && names.service_port_name(ip("10.96.0.12"), 80, 6).is_some()
            && names.is_pod_address(ip("10.244.2.9"))
    })
    .await;
    assert_eq!(names.local_pod(ip("10.244.2.9"), 0), None, "another Node's Pod is not local");
    assert!(!names.is_pod_address(ip("93.184.216.34")));

    // frontend-0 → Service 10.96.0.12:80, DNATed to backend-0 (same Node) and to backend-1
    // (node-b), and frontend-0 → an external address.
    let conn = |id: u32, dst: &str, endpoint: &str, port: u16| {
        let orig = Tuple {
            src: ip("10.244.1.7"),
            dst: ip(dst),
            proto: 6,
            src_port: 40_000 + id as u16,
            dst_port: 80,
            ..Tuple::default()
        };
        let reply = Tuple { src: ip(endpoint), dst: orig.src, src_port: port, dst_port: orig.src_port, ..orig };
        Connection {
            family: 2,
            id,
            orig,
            reply,
            orig_counters: Counters { packets: 4, bytes: 400 },
            reply_counters: Counters { packets: 3, bytes: 900 },
            tcp_state: Some(TcpState::ESTABLISHED),
            ..Connection::default()
        }
    };
    let mut store = ConnectionStore::new(StoreConfig {
        active_timeout_ms: 1_000,
        idle_timeout_ms: 5_000,
        protocols: None,
        zones: Vec::new(),
        node: "node-a".into(),
        own_export: None,
    });
    for c in [
        conn(1, "10.96.0.12", "10.244.1.9", 8080),
        conn(2, "10.96.0.12", "10.244.2.9", 8080),
        conn(3, "93.184.216.34", "93.184.216.34", 80),
    ] {
        store.observe(&c, Source::Dump, 0, unix_now() as u32, &names);
    }
    let mut flows = Vec::new();
    store.expire(1_000, |e| {
        let mut f = Flow::default();
        e.fill(&mut f);
        flows.push(f);
    });
    flows.sort_by_key(|f| f.source_port);
    let summary: Vec<_> = flows
        .iter()
        .map(|f| {
            (
                f.source_pod_name.as_str(),
                f.source_pod_namespace.as_str(),
                f.source_node_name.as_str(),
                f.destination_pod_name.as_str(),
                f.destination_node_name.as_str(),
                f.destination_service_port_name.as_str(),
                f.destination_service_port,
                f.flow_type,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("frontend-0", "shop", "node-a", "backend-0", "node-a", "shop/backend:http", 80, 1),
            ("frontend-0", "shop", "node-a", "", "", "shop/backend:http", 80, 2),
            ("frontend-0", "shop", "node-a", "", "", "", 0, 3),
        ]
    );
    assert_eq!(flows[0].destination_service_ip, Some(ip("10.96.0.12")));
    assert_eq!(flows[0].destination_port, 8080);
}
