//! The Pod store: what the aggregator needs to know about Pods, answering per-record lookups
//! from several threads while one writer (the Pod watch) keeps it current.
//!
//! Two lookups, as Antrea's Flow Aggregator does them:
//! - Pod labels by namespace and name, as the JSON text the record carries, built once per Pod
//!   update so a lookup only clones an `Arc`.
//! - The Pod that had an IP at a flow's start time, for inter-Node records whose other half
//!   carried no Pod information. IPs are reused, so each IP keeps every Pod that held it, with
//!   the time it got the IP and the time it gave it up; deleted Pods stay for a grace period
//!   because records about their last connections arrive after the deletion.
//!
//! Readers take a read lock on one of [`SHARDS`] shards, chosen by hashing the key, so threads
//! looking up different Pods rarely touch the same lock word. The writer takes one shard's write
//! lock at a time, for a few map operations. Its own bookkeeping (every Pod by UID, the relist in
//! progress) sits behind a mutex no reader takes.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::labels::labels_json;

/// Lock shards; a power of two well above the number of threads that look up records.
const SHARDS: usize = 16;

/// How long a deleted Pod still answers lookups, as Antrea's `objectstore` (5 minutes): records
/// about a Pod's last connections reach the aggregator after the Pod is gone.
pub const DELETED_POD_GRACE_SECS: u32 = 300;

/// Who a Pod is, as a flow record names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    /// `spec.nodeName`; empty while the Pod is not scheduled.
    pub node: Arc<str>,
    /// `metadata.uid` as 16 bytes (the UUID IEs' encoding); all zero if it was not a UUID.
    pub uid: [u8; 16],
}

/// One Pod as published to readers; replaced as a whole when the Pod changes.
#[derive(Debug)]
struct PodEntry {
    info: PodInfo,
    labels: Arc<str>,
}

/// One Pod's tenure of one IP.
#[derive(Clone, Debug)]
struct IpSlot {
    serial: u64,
    /// When the Pod got the IP (unix seconds).
    since: u32,
    /// When it gave the IP up (deleted or finished); `u32::MAX` while it holds it.
    until: u32,
    entry: Arc<PodEntry>,
}

#[derive(Default)]
struct Shard {
    names: HashMap<Arc<str>, HashMap<Arc<str>, Arc<PodEntry>>>,
    ips: HashMap<IpAddr, Vec<IpSlot>>,
}

/// A Pod as the watch reports it, reduced to what the store keeps.
#[derive(Clone, Debug, Default)]
pub(super) struct PodUpdate {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub node: String,
    /// `status.podIPs`; ignored for host-network Pods, whose IP is their Node's.
    pub ips: Vec<IpAddr>,
    pub labels: BTreeMap<String, String>,
    /// `metadata.creationTimestamp` and `status.startTime`, unix seconds.
    pub created: Option<u32>,
    pub started: Option<u32>,
    /// Phase `Pending`: its creation or start time may be long before it got its IP.
    pub pending: bool,
    /// Phase `Succeeded` or `Failed`: its IP is free for another Pod.
    pub finished: bool,
    pub host_network: bool,
}

/// The writer's view of one Pod.
struct Known {
    serial: u64,
    namespace: Arc<str>,
    name: Arc<str>,
    entry: Arc<PodEntry>,
    ips: Vec<IpAddr>,
    since: u32,
    finished_at: Option<u32>,
    deleted_at: Option<u32>,
}

impl Known {
    fn until(&self) -> u32 {
        match (self.finished_at, self.deleted_at) {
            (Some(f), Some(d)) => f.min(d),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => u32::MAX,
        }
    }
}

#[derive(Default)]
struct Writer {
    pods: HashMap<String, Known>,
    next_serial: u64,
    /// Deleted Pods in deletion order, to purge after the grace period.
    deleted: VecDeque<(u32, String)>,
    /// Namespace and Node names, shared by all the Pods that name them.
    strings: HashSet<Arc<str>>,
    /// UIDs seen since the watch started listing again; `None` outside a relist.
    relist: Option<HashSet<String>>,
}

impl Writer {
    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(interned) = self.strings.get(s) {
            return interned.clone();
        }
        let interned: Arc<str> = Arc::from(s);
        self.strings.insert(interned.clone());
        interned
    }
}

#[derive(Default)]
struct Inner {
    shards: [RwLock<Shard>; SHARDS],
    hasher: RandomState,
    synced: AtomicBool,
    live: AtomicUsize,
    writer: Mutex<Writer>,
}

/// Pods by namespace/name and by IP and time. Cheap to clone: clones share one store.
#[derive(Clone, Default)]
pub struct PodStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PodStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodStore").field("pods", &self.len()).field("synced", &self.is_synced()).finish()
    }
}

impl PodStore {
    /// The Pod's labels as JSON text (`{}` for none), or `None` if no such Pod is known (the
    /// record then carries `""`). A Pod deleted less than [`DELETED_POD_GRACE_SECS`] ago still
    /// answers, unless a new Pod has taken its name.
    pub fn labels(&self, namespace: &str, name: &str) -> Option<Arc<str>> {
        let shard = self.read(self.name_shard(namespace, name));
        shard.names.get(namespace)?.get(name).map(|entry| entry.labels.clone())
    }

    /// The Pod that had `ip` at `at_secs` (a flow's start, unix seconds). When several Pods have
    /// held the IP: the newest one that got it at or before `at_secs` and had not given it up by
    /// then. When only one has, it answers whatever the time, as Antrea does, because the Node
    /// that timed the flow and the API server that timed the Pod need not agree on the clock.
    /// Host-network Pods are never answered: their IP is their Node's.
    pub fn by_ip(&self, ip: IpAddr, at_secs: u32) -> Option<PodInfo> {
        let ip = ip.to_canonical();
        let shard = self.read(self.ip_shard(ip));
        let slots = shard.ips.get(&ip)?;
        let slot = match slots.as_slice() {
            [only] => only,
            _ => slots.iter().filter(|s| s.since <= at_secs && at_secs < s.until).max_by_key(|s| s.since)?,
        };
        Some(slot.entry.info.clone())
    }

    /// Whether the first complete list of Pods has been loaded; lookups before that may miss.
    pub fn is_synced(&self) -> bool {
        self.inner.synced.load(Ordering::Acquire)
    }

    /// Pods that exist now (deleted ones kept for late records are not counted).
    pub fn len(&self) -> usize {
        self.inner.live.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A Pod added or changed.
    pub(super) fn apply(&self, pod: PodUpdate, now: u32) {
        let mut w = self.writer();
        if let Some(seen) = w.relist.as_mut() {
            seen.insert(pod.uid.clone());
        }
        let mut ips = if pod.host_network { Vec::new() } else { pod.ips };
        for ip in &mut ips {
            *ip = ip.to_canonical();
        }
        ips.sort_unstable();
        ips.dedup();
        let text = labels_json(&pod.labels);
        let previous = w.pods.remove(&pod.uid);
        let labels = match &previous {
            Some(p) if *p.entry.labels == *text => p.entry.labels.clone(),
            _ => Arc::from(text),
        };
        let (namespace, name) = match &previous {
            Some(p) => (p.namespace.clone(), p.name.clone()),
            None => (w.intern(&pod.namespace), Arc::from(pod.name.as_str())),
        };
        let entry = Arc::new(PodEntry {
            info: PodInfo {
                namespace: namespace.clone(),
                name: name.clone(),
                node: w.intern(&pod.node),
                uid: parse_uid(&pod.uid),
            },
            labels,
        });
        let since = match &previous {
            Some(p) if !p.ips.is_empty() => p.since,
            // Known without an IP until this update: it got the IP just now.
            Some(_) => now,
            None if pod.pending => now,
            None => pod.started.or(pod.created).unwrap_or(now),
        };
        let finished_at = previous.as_ref().and_then(|p| p.finished_at).or(pod.finished.then_some(now));
        let serial = previous.as_ref().map_or_else(
            || {
                w.next_serial += 1;
                w.next_serial
            },
            |p| p.serial,
        );
        if previous.as_ref().is_none_or(|p| p.deleted_at.is_some()) {
            self.inner.live.fetch_add(1, Ordering::Relaxed);
        }
        let known = Known { serial, namespace, name, entry, ips, since, finished_at, deleted_at: None };

        if let Some(p) = &previous {
            for ip in p.ips.iter().filter(|ip| !known.ips.contains(ip)) {
                self.remove_slot(*ip, serial);
            }
        }
        let slot = IpSlot { serial, since, until: known.until(), entry: known.entry.clone() };
        for ip in &known.ips {
            let mut shard = self.write(self.ip_shard(*ip));
            let slots = shard.ips.entry(*ip).or_default();
            match slots.iter_mut().find(|s| s.serial == serial) {
                Some(s) => *s = slot.clone(),
                None => slots.push(slot.clone()),
            }
        }
        self.write(self.name_shard(&known.namespace, &known.name))
            .names
            .entry(known.namespace.clone())
            .or_default()
            .insert(known.name.clone(), known.entry.clone());
        w.pods.insert(pod.uid, known);
    }

    /// A Pod deleted: it gives up its IPs now and is forgotten after the grace period.
    pub(super) fn delete(&self, uid: &str, now: u32) {
        let mut w = self.writer();
        self.delete_locked(&mut w, uid, now);
    }

    fn delete_locked(&self, w: &mut Writer, uid: &str, now: u32) {
        let Some(known) = w.pods.get_mut(uid) else { return };
        if known.deleted_at.is_some() {
            return;
        }
        known.deleted_at = Some(now);
        let (serial, until) = (known.serial, known.until());
        for ip in &known.ips {
            let mut shard = self.write(self.ip_shard(*ip));
            if let Some(slot) = shard.ips.get_mut(ip).and_then(|s| s.iter_mut().find(|s| s.serial == serial)) {
                slot.until = until;
            }
        }
        w.deleted.push_back((now, uid.to_owned()));
        self.inner.live.fetch_sub(1, Ordering::Relaxed);
    }

    /// Forgets Pods deleted at least [`DELETED_POD_GRACE_SECS`] before `now`.
    pub(super) fn purge(&self, now: u32) {
        let mut w = self.writer();
        while let Some((at, _)) = w.deleted.front() {
            if at.saturating_add(DELETED_POD_GRACE_SECS) > now {
                break;
            }
            let Some((at, uid)) = w.deleted.pop_front() else { break };
            // Not deleted any more, or deleted again later: a later queue entry decides.
            if w.pods.get(&uid).is_none_or(|k| k.deleted_at != Some(at)) {
                continue;
            }
            let Some(known) = w.pods.remove(&uid) else { continue };
            for ip in &known.ips {
                self.remove_slot(*ip, known.serial);
            }
            let mut shard = self.write(self.name_shard(&known.namespace, &known.name));
            if let Some(names) = shard.names.get_mut(&known.namespace) {
                if names.get(&known.name).is_some_and(|e| Arc::ptr_eq(e, &known.entry)) {
                    names.remove(&known.name);
                }
                if names.is_empty() {
                    shard.names.remove(&known.namespace);
                }
            }
        }
        // Only the interner itself still names them: no Pod is in that namespace or on that Node.
        w.strings.retain(|s| Arc::strong_count(s) > 1);
    }

    /// The watch lists all Pods again (at start, or after it fell too far behind).
    pub(super) fn relist_begin(&self) {
        self.writer().relist = Some(HashSet::new());
    }

    /// The list is complete: Pods it did not mention were deleted while the watch was away.
    pub(super) fn relist_done(&self, now: u32) {
        let mut w = self.writer();
        if let Some(seen) = w.relist.take() {
            let gone: Vec<String> = w
                .pods
                .iter()
                .filter(|(uid, k)| k.deleted_at.is_none() && !seen.contains(*uid))
                .map(|(uid, _)| uid.clone())
                .collect();
            for uid in gone {
                self.delete_locked(&mut w, &uid, now);
            }
        }
        self.inner.synced.store(true, Ordering::Release);
    }

    fn remove_slot(&self, ip: IpAddr, serial: u64) {
        let mut shard = self.write(self.ip_shard(ip));
        if let Some(slots) = shard.ips.get_mut(&ip) {
            slots.retain(|s| s.serial != serial);
            if slots.is_empty() {
                shard.ips.remove(&ip);
            }
        }
    }

    fn name_shard(&self, namespace: &str, name: &str) -> usize {
        (self.inner.hasher.hash_one((namespace, name)) as usize) % SHARDS
    }

    fn ip_shard(&self, ip: IpAddr) -> usize {
        (self.inner.hasher.hash_one(ip) as usize) % SHARDS
    }

    // A panic elsewhere while holding a lock leaves maps that are still consistent (each write is
    // a single map operation), so a poisoned lock is used as it is.
    fn read(&self, shard: usize) -> RwLockReadGuard<'_, Shard> {
        self.inner.shards[shard].read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, shard: usize) -> RwLockWriteGuard<'_, Shard> {
        self.inner.shards[shard].write().unwrap_or_else(PoisonError::into_inner)
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.inner.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `metadata.uid` (a UUID, hyphens optional) as 16 bytes; all zero if it is not one.
pub(super) fn parse_uid(s: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let mut nibbles = 0usize;
    for b in s.bytes().filter(|&b| b != b'-') {
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return [0; 16],
        };
        if nibbles == 32 {
            return [0; 16];
        }
        out[nibbles / 2] |= if nibbles.is_multiple_of(2) { v << 4 } else { v };
        nibbles += 1;
    }
    if nibbles == 32 { out } else { [0; 16] }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u32 = 1_800_000_000;

    fn pod(name: &str, uid: &str, ip: &str, created: u32) -> PodUpdate {
        PodUpdate {
            namespace: "default".into(),
            name: name.into(),
            uid: uid.into(),
            node: "node-1".into(),
            ips: vec![ip.parse().unwrap()],
            created: Some(created),
            ..Default::default()
        }
    }

    fn name_at(store: &PodStore, ip: &str, at: u32) -> Option<String> {
        store.by_ip(ip.parse().unwrap(), at).map(|p| p.name.to_string())
    }

    #[test]
    fn uids_become_16_bytes_and_anything_else_zero() {
        assert_eq!(
            parse_uid("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"),
            [0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9]
        );
        assert_eq!(parse_uid("0A1B2C3D4E5F60718293A4B5C6D7E8F9"), parse_uid("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"));
        for bad in ["", "not-a-uid", "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f", "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f90"] {
            assert_eq!(parse_uid(bad), [0; 16], "{bad}");
        }
    }

    #[test]
    fn labels_answer_json_text_empty_object_or_unknown() {
        let store = PodStore::default();
        let mut web = pod("web", "u1", "10.0.0.1", T0);
        web.labels = [("tier".into(), "front".into()), ("app".into(), "web".into())].into();
        store.apply(web, T0);
        store.apply(pod("bare", "u2", "10.0.0.2", T0), T0);
        assert_eq!(store.labels("default", "web").as_deref(), Some(r#"{"app":"web","tier":"front"}"#));
        assert_eq!(store.labels("default", "bare").as_deref(), Some("{}"));
        assert_eq!(store.labels("default", "nope"), None);
        assert_eq!(store.labels("other", "web"), None);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn relabelling_replaces_the_text_and_keeps_the_pod() {
        let store = PodStore::default();
        let mut web = pod("web", "u1", "10.0.0.1", T0);
        store.apply(web.clone(), T0);
        web.labels = [("app".into(), "web2".into())].into();
        store.apply(web, T0 + 10);
        assert_eq!(store.labels("default", "web").as_deref(), Some(r#"{"app":"web2"}"#));
        assert_eq!(store.len(), 1);
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 20).as_deref(), Some("web"));
    }

    #[test]
    fn by_ip_gives_namespace_name_node_and_uid() {
        let store = PodStore::default();
        store.apply(pod("web", "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", "10.0.0.1", T0), T0);
        let info = store.by_ip("10.0.0.1".parse().unwrap(), T0 + 5).unwrap();
        assert_eq!(&*info.namespace, "default");
        assert_eq!(&*info.name, "web");
        assert_eq!(&*info.node, "node-1");
        assert_eq!(info.uid, parse_uid("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"));
        assert_eq!(store.by_ip("10.0.0.9".parse().unwrap(), T0 + 5), None);
        // An IPv4 address written as IPv4-mapped IPv6 is the same address.
        assert_eq!(name_at(&store, "::ffff:10.0.0.1", T0 + 5).as_deref(), Some("web"));
    }

    #[test]
    fn a_single_pod_answers_whatever_the_time_as_the_reference() {
        let store = PodStore::default();
        store.apply(pod("web", "u1", "10.0.0.1", T0), T0);
        assert_eq!(name_at(&store, "10.0.0.1", T0 - 3600).as_deref(), Some("web"));
        store.delete("u1", T0 + 100);
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 200).as_deref(), Some("web"));
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn a_reused_ip_answers_the_pod_that_had_it_at_that_time() {
        let store = PodStore::default();
        store.apply(pod("old", "u1", "10.0.0.1", T0), T0);
        store.delete("u1", T0 + 100);
        store.apply(pod("new", "u2", "10.0.0.1", T0 + 110), T0 + 110);
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 50).as_deref(), Some("old"));
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 110).as_deref(), Some("new"), "at the second it got the IP");
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 500).as_deref(), Some("new"));
        // Between the deletion and the new Pod, and before either, nobody had it.
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 105), None);
        assert_eq!(name_at(&store, "10.0.0.1", T0 - 5), None);
    }

    #[test]
    fn a_finished_pod_keeps_its_ip_in_status_but_the_newer_pod_wins() {
        // Antrea #8030: a Completed Job Pod still lists its IP; the next Pod with that IP must win
        // for flows after it started, whichever order the API server listed them in.
        for job_first in [true, false] {
            let store = PodStore::default();
            let mut job = pod("job", "u1", "10.0.0.1", T0);
            job.finished = true;
            let web = pod("web", "u2", "10.0.0.1", T0 + 60);
            if job_first {
                store.apply(job, T0 + 120);
                store.apply(web, T0 + 120);
            } else {
                store.apply(web, T0 + 120);
                store.apply(job, T0 + 120);
            }
            assert_eq!(name_at(&store, "10.0.0.1", T0 + 90).as_deref(), Some("web"), "job first: {job_first}");
            assert_eq!(name_at(&store, "10.0.0.1", T0 + 30).as_deref(), Some("job"), "job first: {job_first}");
        }
    }

    #[test]
    fn a_pending_pod_holds_its_ip_from_when_it_was_seen_with_it() {
        // Created long ago but only now given the IP that a deleted Pod held until recently:
        // late records of the deleted Pod must still find it.
        let store = PodStore::default();
        store.apply(pod("old", "u1", "10.0.0.1", T0), T0);
        store.delete("u1", T0 + 1000);
        let mut slow = pod("slow", "u2", "10.0.0.1", T0 + 10);
        slow.pending = true;
        store.apply(slow, T0 + 1010);
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 900).as_deref(), Some("old"));
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 1020).as_deref(), Some("slow"));
    }

    #[test]
    fn a_pod_that_gets_its_ip_later_holds_it_from_then() {
        let store = PodStore::default();
        store.apply(pod("old", "u1", "10.0.0.1", T0), T0);
        store.delete("u1", T0 + 1000);
        let mut later = pod("later", "u2", "10.0.0.1", T0 + 10);
        later.ips.clear();
        later.pending = true;
        store.apply(later.clone(), T0 + 20);
        later.ips = vec!["10.0.0.1".parse().unwrap()];
        later.pending = false;
        store.apply(later.clone(), T0 + 1005);
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 900).as_deref(), Some("old"));
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 1006).as_deref(), Some("later"));
        // Updates after that do not move the start of its tenure.
        later.labels = [("a".into(), "b".into())].into();
        store.apply(later, T0 + 2000);
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 1006).as_deref(), Some("later"));
    }

    #[test]
    fn host_network_pods_are_never_found_by_ip_but_have_labels() {
        let store = PodStore::default();
        let mut agent = pod("antrea-agent-x", "u1", "192.168.1.10", T0);
        agent.host_network = true;
        store.apply(agent, T0);
        assert_eq!(name_at(&store, "192.168.1.10", T0 + 5), None);
        assert_eq!(store.labels("default", "antrea-agent-x").as_deref(), Some("{}"));
    }

    #[test]
    fn deleted_pods_answer_for_the_grace_period_then_are_forgotten() {
        let store = PodStore::default();
        store.apply(pod("web", "u1", "10.0.0.1", T0), T0);
        store.delete("u1", T0 + 100);
        store.purge(T0 + 100 + DELETED_POD_GRACE_SECS - 1);
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 50).as_deref(), Some("web"));
        assert_eq!(store.labels("default", "web").as_deref(), Some("{}"));
        store.purge(T0 + 100 + DELETED_POD_GRACE_SECS);
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 50), None);
        assert_eq!(store.labels("default", "web"), None);
        assert!(store.inner.writer.lock().unwrap().strings.is_empty(), "namespace and node names released");
    }

    #[test]
    fn a_new_pod_with_a_deleted_pods_name_keeps_the_name_after_the_purge() {
        let store = PodStore::default();
        store.apply(pod("db-0", "u1", "10.0.0.1", T0), T0);
        store.delete("u1", T0 + 100);
        let mut again = pod("db-0", "u2", "10.0.0.2", T0 + 110);
        again.labels = [("gen".into(), "2".into())].into();
        store.apply(again, T0 + 110);
        assert_eq!(store.labels("default", "db-0").as_deref(), Some(r#"{"gen":"2"}"#));
        store.purge(T0 + 100 + DELETED_POD_GRACE_SECS);
        assert_eq!(store.labels("default", "db-0").as_deref(), Some(r#"{"gen":"2"}"#));
        assert_eq!(name_at(&store, "10.0.0.2", T0 + 500).as_deref(), Some("db-0"));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_relist_deletes_the_pods_it_no_longer_lists() {
        let store = PodStore::default();
        store.relist_begin();
        store.apply(pod("a", "u1", "10.0.0.1", T0), T0);
        store.apply(pod("b", "u2", "10.0.0.2", T0), T0);
        assert!(!store.is_synced());
        store.relist_done(T0);
        assert!(store.is_synced());
        assert_eq!(store.len(), 2);
        store.relist_begin();
        store.apply(pod("a", "u1", "10.0.0.1", T0), T0 + 50);
        store.relist_done(T0 + 50);
        assert_eq!(store.len(), 1);
        store.purge(T0 + 50 + DELETED_POD_GRACE_SECS);
        assert_eq!(store.labels("default", "b"), None);
        assert_eq!(name_at(&store, "10.0.0.1", T0 + 60).as_deref(), Some("a"));
    }

    #[test]
    fn clones_share_one_store_across_threads() {
        let store = PodStore::default();
        let reader = store.clone();
        store.apply(pod("web", "u1", "10.0.0.1", T0), T0);
        let found = std::thread::spawn(move || reader.by_ip("10.0.0.1".parse().unwrap(), T0)).join().unwrap();
        assert_eq!(found.map(|p| p.name.to_string()).as_deref(), Some("web"));
    }
}
