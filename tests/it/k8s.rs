//! The Pod store fed by `watch_pods` through a kubeconfig from the fake API server: what
//! kube-rs's watcher reads over real HTTP (list pages, watch, bookmarks, 410 and relist) ends
//! up as the labels text and IP → Pod answers the aggregator puts in records.

use std::time::{Duration, Instant};

use flowctl::core::k8s::{self, KubeSource, PodInfo, PodStore};

use crate::fakeapi::{FakeApiServer, FakePod, unix_now};

/// Polls `cond` until it holds; fails the test after 20 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `watch_pods` running against `server` through a kubeconfig file, as `--kubeconfig` does.
struct Watching {
    store: PodStore,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Watching {
    async fn start(server: &FakeApiServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = server.write_kubeconfig(dir.path());
        let client = k8s::client(&KubeSource::Kubeconfig(kubeconfig)).await.unwrap().expect("a client");
        let store = PodStore::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(k8s::watch_pods(client, store.clone(), async {
            let _ = stopped.await;
        }));
        Watching { store, stop, task, _dir: dir }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let ended = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        ended.expect("watch_pods stops on shutdown").unwrap().expect("watch_pods ends without error");
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
