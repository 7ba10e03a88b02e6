//! The connection store (reference antrea-flow-visibility.md §1.3, "Conntrack connection
//! store"): what the agent knows of each tracked connection between two exports of it.
//!
//! Connections come in from full dumps and from conntrack events, in any order; counters only
//! go forward (the larger of what is held and what arrives), so an event read after a newer
//! dump cannot pull them back. Each connection is due for export at the earlier of its active
//! timeout (since its last export) and its idle timeout (since its counters last moved);
//! [`ConnectionStore::expire`] exports everything due, however much that is, in deadline order.
//!
//! Where this differs from the reference, on purpose:
//! - A connection that ends is exported at once as END_OF_FLOW (the reference waits for its next
//!   expiry), and every connection that ends gets that record, even one whose last record was an
//!   idle timeout (the reference never reports those again and forgets them at the stale timeout).
//! - A connection seen only by its DESTROY event (it started and ended between two polls) is
//!   exported with its final counters; the reference, which only polls, never sees it.
//! - Connections are told apart by the kernel's entry id as well as by the tuple, so a tuple
//!   reused by a new connection ends the old one instead of inheriting its counters.
//! - "Active" for the idle timeout means the counters moved since the previous reading, not
//!   since the last export.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::core::conntrack::{Connection, Counters, TcpState};
use crate::core::flow::{
    FLOW_TYPE_FROM_EXTERNAL, FLOW_TYPE_INTER_NODE, FLOW_TYPE_INTRA_NODE, FLOW_TYPE_TO_EXTERNAL, FLOW_TYPE_UNSPECIFIED,
    Flow,
};

/// IANA flowEndReason values.
pub const END_IDLE_TIMEOUT: u8 = 1;
pub const END_ACTIVE_TIMEOUT: u8 = 2;
pub const END_OF_FLOW: u8 = 3;
/// Used for connections still alive when the agent stops: the record is the last the agent
/// sends, but the connection did not end (Antrea never sends it; its aggregator treats it as
/// an active record).
pub const END_FORCED: u8 = 4;

/// How long a connection that vanished from a dump waits for its DESTROY event, which carries
/// the final counters, before it is exported with the last ones read.
const DESTROY_GRACE_MS: u64 = 1000;

const TCP: u8 = 6;

/// A Pod, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRef {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
}

/// Where Pod and Service names come from (Kubernetes, an inventory file, or nothing).
pub trait Resolve {
    /// The Pod of this Node that had `ip` at `at_secs` (UNIX seconds).
    fn local_pod(&self, ip: IpAddr, at_secs: u32) -> Option<PodRef>;
    /// `namespace/name:port` of the Service reached at `ip`:`port` over `proto`.
    fn service_port_name(&self, ip: IpAddr, port: u16, proto: u8) -> Option<Arc<str>>;
    /// `ip` is a Pod's address, on any Node (the Pod CIDRs).
    fn is_pod_address(&self, ip: IpAddr) -> bool;
    /// Pods are known: connections touching no local Pod are skipped and flowType is worked
    /// out, as the reference does. When nothing is known about Pods (a plain Linux host), every
    /// connection is exported with flowType 0.
    fn knows_pods(&self) -> bool;
}

/// What the store keeps, and exports, of which connections.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub active_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    /// IP protocol numbers to keep; `None` keeps all (reference: nil), an empty list none.
    pub protocols: Option<Vec<u8>>,
    /// Conntrack zones to keep; empty keeps all. Dumps filter by zone in the kernel, events
    /// are filtered here.
    pub zones: Vec<u16>,
    /// This Node's name, exported as the Node of the local Pods.
    pub node: Arc<str>,
    /// The agent's own export: connections of this IP protocol to this address are skipped, so
    /// the agent does not report the records it sends (as the reference skips its own flows).
    pub own_export: Option<(u8, SocketAddr)>,
}

/// Where a connection reading came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Dump,
    New,
    Update,
    Destroy,
}

/// Counts of what the store did, since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Connections tracked (a connection counts once, however many records it gets).
    pub connections: u64,
    /// Connections not tracked: no local Pod on either side, a flowType the reference does not
    /// export, or outside the protocol or zone filter.
    pub skipped: u64,
    /// Connections that ended (END_OF_FLOW records).
    pub ended: u64,
    /// Records handed out by `expire` and `drain`.
    pub records: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    proto: u8,
    zone: u16,
}

impl Key {
    /// Antrea's flow key (the original source and the reply's source, i.e. the endpoint after
    /// DNAT, with their ports), plus the zone and, for ICMP, the echo id in place of ports.
    fn of(c: &Connection) -> Key {
        let (src_port, dst_port) =
            if is_icmp(c.orig.proto) { (c.orig.icmp_id, 0) } else { (c.orig.src_port, c.reply.src_port) };
        Key { src: c.orig.src, dst: c.reply.src, src_port, dst_port, proto: c.orig.proto, zone: c.zone_id() }
    }
}

fn is_icmp(proto: u8) -> bool {
    proto == 1 || proto == 58
}

/// The names resolved when the connection was first seen (as the reference does: a Pod's IP
/// at the connection's start time).
#[derive(Clone, Debug, Default)]
struct Meta {
    source_pod: Option<PodRef>,
    destination_pod: Option<PodRef>,
    service: Option<Arc<str>>,
    flow_type: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Live,
    /// Ended; exported as END_OF_FLOW when due. `destroyed`: its DESTROY event came, so nothing
    /// more will be heard of it.
    Dying {
        destroyed: bool,
    },
    /// Exported as ended, kept so later readings of the same entry (a TIME_WAIT connection
    /// stays in the table for minutes) are recognised, until its DESTROY event or until two
    /// complete dumps in a row no longer list it.
    Ended {
        missed_dumps: u8,
    },
}

#[derive(Clone, Debug)]
struct Entry {
    key: Key,
    conn: Connection,
    /// Counters and TCP state at the last export.
    exported: [Counters; 2],
    meta: Meta,
    /// When the agent first saw it and last read it (UNIX seconds): the start time when the
    /// kernel has no timestamp, and the end time of a record of a live connection.
    first_secs: u32,
    read_secs: u32,
    /// Deadlines, in the store's milliseconds.
    active_at: u64,
    idle_at: u64,
    /// The deadline of its item in the expiry queue; `None`: not queued (idle-exported, or ended).
    queued_at: Option<u64>,
    state: State,
    /// The dump generation that last listed it.
    dumped: u64,
    /// It has been exported at least once.
    reported: bool,
}

impl Entry {
    fn due(&self) -> u64 {
        match self.state {
            State::Dying { .. } => self.queued_at.unwrap_or(0),
            _ => self.active_at.min(self.idle_at),
        }
    }
}

/// One record the store hands out: the connection as last read, its counters since the last
/// export, and the names resolved for it.
pub struct Export<'a> {
    entry: &'a Entry,
    pub end_reason: u8,
    node: &'a str,
}

impl Export<'_> {
    /// Fills `flow` (cleared first) as the agent's template carries it.
    pub fn fill(&self, flow: &mut Flow) {
        let e = self.entry;
        let c = &e.conn;
        flow.clear();
        flow.flow_start = match c.start_ns {
            0 => e.first_secs,
            ns => (ns / 1_000_000_000) as u32,
        };
        flow.flow_end = match (self.end_reason, c.stop_ns) {
            (END_OF_FLOW, ns) if ns != 0 => (ns / 1_000_000_000) as u32,
            _ => e.read_secs,
        };
        flow.end_reason = self.end_reason;
        if !is_icmp(c.orig.proto) {
            flow.source_port = c.orig.src_port;
            flow.destination_port = c.reply.src_port;
        }
        flow.protocol = c.orig.proto;
        flow.source_address = c.orig.src;
        flow.destination_address = c.reply.src;
        let [orig, reply] = [c.orig_counters, c.reply_counters];
        flow.packet_total = orig.packets;
        flow.octet_total = orig.bytes;
        flow.packet_delta = orig.packets.saturating_sub(e.exported[0].packets);
        flow.octet_delta = orig.bytes.saturating_sub(e.exported[0].bytes);
        flow.reverse_packet_total = reply.packets;
        flow.reverse_octet_total = reply.bytes;
        flow.reverse_packet_delta = reply.packets.saturating_sub(e.exported[1].packets);
        flow.reverse_octet_delta = reply.bytes.saturating_sub(e.exported[1].bytes);
        if let Some(pod) = &e.meta.source_pod {
            flow.source_pod_name.push_str(&pod.name);
            flow.source_pod_namespace.push_str(&pod.namespace);
            flow.source_node_name.push_str(self.node);
        }
        if let Some(pod) = &e.meta.destination_pod {
            flow.destination_pod_name.push_str(&pod.name);
            flow.destination_pod_namespace.push_str(&pod.namespace);
            flow.destination_node_name.push_str(self.node);
        }
        if let Some(service) = &e.meta.service {
            flow.destination_service_port = c.orig.dst_port;
            flow.destination_service_port_name.push_str(service);
            flow.destination_cluster_ip = Some(c.orig.dst);
            flow.destination_service_ip = Some(c.orig.dst);
        }
        if let Some(state) = c.tcp_state {
            flow.tcp_state.push_str(state.name());
        }
        flow.flow_type = e.meta.flow_type;
        // The reply goes to someone other than the client: the source was NATed.
        if c.reply.dst != c.orig.src {
            flow.proxy_snat_ip = Some(c.reply.dst);
            flow.proxy_snat_port = c.reply.dst_port;
        }
    }
}

/// The connection store. Time is the caller's: `now` in milliseconds of any monotonic clock,
/// `secs` the UNIX time, so tests drive it without waiting.
pub struct ConnectionStore {
    config: StoreConfig,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    index: HashMap<Key, u32>,
    queue: BinaryHeap<Reverse<(u64, u32)>>,
    generation: u64,
    stats: StoreStats,
}

impl ConnectionStore {
    pub fn new(config: StoreConfig) -> Self {
        ConnectionStore {
            config,
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            queue: BinaryHeap::new(),
            generation: 0,
            stats: StoreStats::default(),
        }
    }

    /// Connections held, ended ones waiting for the kernel to forget them included.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    /// The earliest deadline of a queued connection: when `expire` has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        self.queue.peek().map(|Reverse((at, _))| *at)
    }

    /// Starts a dump: connections it does not list, once it is complete, have ended.
    pub fn begin_dump(&mut self) {
        self.generation += 1;
    }

    /// Ends a dump begun with `begin_dump`. Only a complete dump says a connection is gone: it
    /// is exported as ended once its DESTROY event had time to bring the final counters.
    pub fn end_dump(&mut self, complete: bool, now: u64) {
        if !complete {
            return;
        }
        let generation = self.generation;
        let mut forget = Vec::new();
        for (slot, entry) in self.slots.iter_mut().enumerate() {
            let Some(e) = entry else { continue };
            let listed = e.dumped == generation;
            match &mut e.state {
                State::Ended { missed_dumps } if listed => *missed_dumps = 0,
                State::Ended { missed_dumps } => {
                    *missed_dumps += 1;
                    if *missed_dumps >= 2 {
                        forget.push(slot as u32);
                    }
                }
                State::Live if !listed => {
                    e.state = State::Dying { destroyed: false };
                    let at = now + DESTROY_GRACE_MS;
                    e.queued_at = Some(at);
                    self.queue.push(Reverse((at, slot as u32)));
                }
                State::Live | State::Dying { .. } => {}
            }
        }
        for slot in forget {
            self.remove(slot);
        }
    }

    /// Takes one reading of a connection.
    pub fn observe(&mut self, conn: &Connection, source: Source, now: u64, secs: u32, resolve: &dyn Resolve) {
        if !self.keeps(conn) {
            self.stats.skipped += 1;
            return;
        }
        let key = Key::of(conn);
        let Some(&slot) = self.index.get(&key) else {
            self.insert(key, conn, source, now, secs, resolve);
            return;
        };
        let held = self.slots[slot as usize].as_ref().expect("indexed slots are filled");
        if !same_entry(&held.conn, conn) {
            let ended = matches!(held.state, State::Ended { .. });
            if source == Source::Destroy {
                // The end of an earlier connection on this tuple, never seen alive: a record
                // of its own, outside the index.
                if let Some(slot) = self.insert_detached(key, conn, source, now, secs, resolve) {
                    self.queue.push(Reverse((now, slot)));
                }
                return;
            }
            // The tuple was reused: the connection held has ended.
            if ended {
                self.remove(slot);
            } else {
                self.index.remove(&key);
                let e = self.slots[slot as usize].as_mut().expect("indexed slots are filled");
                e.state = State::Dying { destroyed: true };
                e.queued_at = Some(now);
                self.queue.push(Reverse((now, slot)));
            }
            self.insert(key, conn, source, now, secs, resolve);
            return;
        }
        let generation = self.generation;
        let config = &self.config;
        let e = self.slots[slot as usize].as_mut().expect("indexed slots are filled");
        if source == Source::Dump {
            e.dumped = generation;
        }
        if let State::Ended { .. } = e.state {
            if source == Source::Destroy {
                self.remove(slot);
            }
            return;
        }
        let moved = merge(&mut e.conn, conn);
        e.read_secs = secs;
        if moved {
            e.idle_at = now + config.idle_timeout_ms;
            if e.queued_at.is_none() && e.state == State::Live {
                e.active_at = now + config.active_timeout_ms;
                let at = e.due();
                e.queued_at = Some(at);
                self.queue.push(Reverse((at, slot)));
            }
        }
        let destroyed = source == Source::Destroy;
        if destroyed || ends(conn, source) {
            let due_now = match &mut e.state {
                State::Dying { destroyed: d } => {
                    // A connection waiting for its DESTROY event has it now.
                    let waiting = !*d && destroyed;
                    *d |= destroyed;
                    waiting
                }
                _ => {
                    e.state = State::Dying { destroyed };
                    true
                }
            };
            if due_now {
                e.queued_at = Some(now);
                self.queue.push(Reverse((now, slot)));
            }
        }
    }

    /// Hands every connection due at `now` to `export`, earliest deadline first, and moves each
    /// on: queued again for its next active timeout, out of the queue after an idle timeout
    /// until its counters move, or kept as ended.
    pub fn expire(&mut self, now: u64, mut export: impl FnMut(&Export<'_>)) {
        while let Some(&Reverse((at, slot))) = self.queue.peek() {
            if at > now {
                break;
            }
            self.queue.pop();
            let Some(e) = self.slots[slot as usize].as_mut() else { continue };
            if e.queued_at != Some(at) {
                // Superseded by a later item for the same connection.
                continue;
            }
            let due = e.due();
            if due > now {
                e.queued_at = Some(due);
                self.queue.push(Reverse((due, slot)));
                continue;
            }
            let reason = match e.state {
                State::Dying { .. } => END_OF_FLOW,
                _ if e.idle_at <= now => END_IDLE_TIMEOUT,
                _ => END_ACTIVE_TIMEOUT,
            };
            export(&Export { entry: e, end_reason: reason, node: &self.config.node });
            self.stats.records += 1;
            e.exported = [e.conn.orig_counters, e.conn.reply_counters];
            e.reported = true;
            match e.state {
                State::Dying { destroyed } => {
                    self.stats.ended += 1;
                    e.queued_at = None;
                    let indexed = self.index.get(&e.key) == Some(&slot);
                    if destroyed || !indexed {
                        self.remove(slot);
                    } else {
                        let missed_dumps = u8::from(e.dumped != self.generation);
                        e.state = State::Ended { missed_dumps };
                    }
                }
                _ if reason == END_IDLE_TIMEOUT => e.queued_at = None,
                _ => {
                    e.active_at = now + self.config.active_timeout_ms;
                    let at = e.due();
                    e.queued_at = Some(at);
                    self.queue.push(Reverse((at, slot)));
                }
            }
        }
    }

    /// Hands out, once, every connection with something not yet exported (the agent is
    /// stopping): those that ended as END_OF_FLOW, the others as forced ends. Empties the store.
    pub fn drain(&mut self, mut export: impl FnMut(&Export<'_>)) {
        for e in self.slots.iter().flatten() {
            let reason = match e.state {
                State::Ended { .. } => continue,
                State::Dying { .. } => END_OF_FLOW,
                State::Live => END_FORCED,
            };
            let fresh = [e.conn.orig_counters, e.conn.reply_counters] != e.exported;
            if fresh || !e.reported || reason == END_OF_FLOW {
                export(&Export { entry: e, end_reason: reason, node: &self.config.node });
                self.stats.records += 1;
                if reason == END_OF_FLOW {
                    self.stats.ended += 1;
                }
            }
        }
        self.slots.clear();
        self.free.clear();
        self.index.clear();
        self.queue.clear();
    }

    fn keeps(&self, c: &Connection) -> bool {
        let proto_ok = self.config.protocols.as_ref().is_none_or(|p| p.contains(&c.orig.proto));
        let zone_ok = self.config.zones.is_empty() || self.config.zones.contains(&c.zone_id());
        let own = self
            .config
            .own_export
            .is_some_and(|(proto, to)| c.orig.proto == proto && c.orig.dst == to.ip() && c.orig.dst_port == to.port());
        proto_ok && zone_ok && !own
    }

    fn insert(&mut self, key: Key, conn: &Connection, source: Source, now: u64, secs: u32, resolve: &dyn Resolve) {
        if let Some(slot) = self.insert_detached(key, conn, source, now, secs, resolve) {
            self.index.insert(key, slot);
            let at = self.slots[slot as usize].as_ref().and_then(|e| e.queued_at).unwrap_or(now);
            self.queue.push(Reverse((at, slot)));
        }
    }

    /// Makes the entry of a connection first seen now, queued but not indexed; `None` when the
    /// connection is not one to export.
    fn insert_detached(
        &mut self,
        key: Key,
        conn: &Connection,
        source: Source,
        now: u64,
        secs: u32,
        resolve: &dyn Resolve,
    ) -> Option<u32> {
        let Some(meta) = resolve_meta(conn, secs, resolve) else {
            self.stats.skipped += 1;
            return None;
        };
        let destroyed = source == Source::Destroy;
        let state = if destroyed || ends(conn, source) { State::Dying { destroyed } } else { State::Live };
        let mut entry = Entry {
            key,
            conn: *conn,
            exported: [Counters::default(); 2],
            meta,
            first_secs: secs,
            read_secs: secs,
            active_at: now + self.config.active_timeout_ms,
            idle_at: now + self.config.idle_timeout_ms,
            queued_at: None,
            state,
            dumped: if source == Source::Dump { self.generation } else { 0 },
            reported: false,
        };
        entry.queued_at = Some(if state == State::Live { entry.due() } else { now });
        self.stats.connections += 1;
        Some(match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(entry);
                slot
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        })
    }

    fn remove(&mut self, slot: u32) {
        if let Some(e) = self.slots[slot as usize].take() {
            if self.index.get(&e.key) == Some(&slot) {
                self.index.remove(&e.key);
            }
            self.free.push(slot);
        }
    }
}

/// The same kernel entry: ids and start times agree where both are known.
fn same_entry(held: &Connection, new: &Connection) -> bool {
    let id = held.id == 0 || new.id == 0 || held.id == new.id;
    let start = held.start_ns == 0 || new.start_ns == 0 || held.start_ns == new.start_ns;
    id && start
}

/// Takes the newer reading into `held`, counters never going back; whether they moved or the
/// TCP state changed.
fn merge(held: &mut Connection, new: &Connection) -> bool {
    let forward = |h: &mut Counters, n: Counters| {
        let moved = n.packets > h.packets || n.bytes > h.bytes;
        h.packets = h.packets.max(n.packets);
        h.bytes = h.bytes.max(n.bytes);
        moved
    };
    let orig = forward(&mut held.orig_counters, new.orig_counters);
    let reply = forward(&mut held.reply_counters, new.reply_counters);
    let state = new.tcp_state.is_some() && new.tcp_state != held.tcp_state;
    if new.tcp_state.is_some() {
        held.tcp_state = new.tcp_state;
    }
    held.status = new.status;
    held.stop_ns = held.stop_ns.max(new.stop_ns);
    if held.start_ns == 0 {
        held.start_ns = new.start_ns;
    }
    if held.id == 0 {
        held.id = new.id;
    }
    held.mark = new.mark;
    held.labels = new.labels;
    orig || reply || state
}

/// Whether this reading says the connection has ended. Only dumps and DESTROY events carry
/// counters (the kernel leaves them out of NEW and UPDATE events), so an UPDATE to TIME_WAIT
/// waits for the next dump, which reads the final counters, rather than ending the connection
/// with those of the dump before.
fn ends(c: &Connection, source: Source) -> bool {
    match source {
        Source::Destroy => true,
        Source::Dump => is_dying(c),
        Source::New | Source::Update => false,
    }
}

/// Antrea's dying test: TCP in TIME_WAIT or CLOSE, or another protocol's entry being destroyed.
fn is_dying(c: &Connection) -> bool {
    if c.orig.proto == TCP {
        matches!(c.tcp_state, Some(TcpState::TIME_WAIT | TcpState::CLOSE))
    } else {
        c.status.is_dying()
    }
}

/// The names for a new connection, or `None` when the reference would not export it.
fn resolve_meta(c: &Connection, secs: u32, resolve: &dyn Resolve) -> Option<Meta> {
    let start = match c.start_ns {
        0 => secs,
        ns => (ns / 1_000_000_000) as u32,
    };
    let (source, destination) = (c.orig.src, c.reply.src);
    let mut meta = Meta {
        source_pod: resolve.local_pod(source, start),
        destination_pod: resolve.local_pod(destination, start),
        ..Meta::default()
    };
    if resolve.knows_pods() {
        if meta.source_pod.is_none() && meta.destination_pod.is_none() {
            return None;
        }
        meta.flow_type = flow_type(&meta, resolve.is_pod_address(source), resolve.is_pod_address(destination))?;
    } else {
        meta.flow_type = FLOW_TYPE_UNSPECIFIED;
    }
    let dnat = c.orig.dst != c.reply.src || c.orig.dst_port != c.reply.src_port;
    if dnat {
        meta.service = resolve.service_port_name(c.orig.dst, c.orig.dst_port, c.orig.proto);
    }
    Some(meta)
}

/// The reference's flowType rules (`findFlowType`), for a connection with a local Pod on at
/// least one side; `None` for what it does not export.
fn flow_type(meta: &Meta, source_is_pod: bool, destination_is_pod: bool) -> Option<u8> {
    let source_is_pod = source_is_pod || meta.source_pod.is_some();
    let destination_is_pod = destination_is_pod || meta.destination_pod.is_some();
    if !source_is_pod {
        return destination_is_pod.then_some(FLOW_TYPE_FROM_EXTERNAL);
    }
    if !destination_is_pod {
        // Seen on the Egress Node rather than the source Pod's: the reference leaves it out.
        return meta.source_pod.is_some().then_some(FLOW_TYPE_TO_EXTERNAL);
    }
    if meta.source_pod.is_none() || meta.destination_pod.is_none() {
        return Some(FLOW_TYPE_INTER_NODE);
    }
    Some(FLOW_TYPE_INTRA_NODE)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::core::conntrack::{Status, Tuple};

    const ACTIVE: u64 = 5_000;
    const IDLE: u64 = 15_000;

    /// Pods 10.0.0.0/16, the local ones 10.0.1.x; Service 10.96.0.10:80/TCP.
    struct Cluster {
        knows_pods: bool,
    }

    impl Resolve for Cluster {
        fn local_pod(&self, ip: IpAddr, _at: u32) -> Option<PodRef> {
            let IpAddr::V4(v4) = ip else { return None };
            let [a, b, c, d] = v4.octets();
            (self.knows_pods && [a, b, c] == [10, 0, 1])
                .then(|| PodRef { namespace: "default".into(), name: format!("pod-{d}").into() })
        }
        fn service_port_name(&self, ip: IpAddr, port: u16, proto: u8) -> Option<Arc<str>> {
            (ip == IpAddr::V4(Ipv4Addr::new(10, 96, 0, 10)) && port == 80 && proto == TCP)
                .then(|| "default/web:http".into())
        }
        fn is_pod_address(&self, ip: IpAddr) -> bool {
            matches!(ip, IpAddr::V4(v4) if v4.octets()[..2] == [10, 0])
        }
        fn knows_pods(&self) -> bool {
            self.knows_pods
        }
    }

    const PODS: Cluster = Cluster { knows_pods: true };
    const HOST: Cluster = Cluster { knows_pods: false };

    fn store() -> ConnectionStore {
        ConnectionStore::new(StoreConfig {
            active_timeout_ms: ACTIVE,
            idle_timeout_ms: IDLE,
            protocols: None,
            zones: Vec::new(),
            node: "node-a".into(),
            own_export: None,
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A TCP connection src:40000 → dst:80, not NATed, with these totals each way.
    fn tcp(id: u32, src: &str, dst: &str, packets: u64, state: TcpState) -> Connection {
        let orig = Tuple { src: ip(src), dst: ip(dst), proto: TCP, src_port: 40_000, dst_port: 80, ..Tuple::default() };
        let reply = Tuple { src: orig.dst, dst: orig.src, src_port: 80, dst_port: 40_000, ..orig };
        Connection {
            family: 2,
            id,
            orig,
            reply,
            orig_counters: Counters { packets, bytes: packets * 100 },
            reply_counters: Counters { packets, bytes: packets * 1000 },
            start_ns: 1_700_000_000_000_000_000,
            tcp_state: Some(state),
            ..Connection::default()
        }
    }

    fn established(id: u32, packets: u64) -> Connection {
        tcp(id, "10.0.1.2", "10.0.1.3", packets, TcpState::ESTABLISHED)
    }

    /// What `expire` (or `drain`) hands out at `now`, as flows.
    fn expire(store: &mut ConnectionStore, now: u64) -> Vec<Flow> {
        let mut out = Vec::new();
        store.expire(now, |e| {
            let mut flow = Flow::default();
            e.fill(&mut flow);
            out.push(flow);
        });
        out
    }

    fn dump(store: &mut ConnectionStore, now: u64, conns: &[Connection]) {
        store.begin_dump();
        for c in conns {
            store.observe(c, Source::Dump, now, 1_700_000_000 + (now / 1000) as u32, &PODS);
        }
        store.end_dump(true, now);
    }

    #[test]
    fn deltas_between_active_timeouts_sum_to_the_totals() {
        let mut s = store();
        dump(&mut s, 0, &[established(7, 10)]);
        assert!(expire(&mut s, ACTIVE - 1).is_empty(), "nothing is due before the active timeout");
        dump(&mut s, 4_000, &[established(7, 25)]);
        let first = expire(&mut s, ACTIVE);
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].end_reason, first[0].packet_total, first[0].packet_delta), (END_ACTIVE_TIMEOUT, 25, 25));
        dump(&mut s, 9_000, &[established(7, 40)]);
        let second = expire(&mut s, 2 * ACTIVE);
        assert_eq!((second[0].packet_total, second[0].packet_delta), (40, 15));
        assert_eq!((second[0].octet_delta, second[0].reverse_octet_delta), (1500, 15_000));
        assert_eq!(first[0].packet_delta + second[0].packet_delta, second[0].packet_total);
    }

    #[test]
    fn a_quiet_connection_ends_on_its_idle_timeout_and_comes_back_when_it_moves() {
        let mut s = store();
        dump(&mut s, 0, &[established(7, 10)]);
        let mut reasons = Vec::new();
        for t in (1_000..=20_000).step_by(1_000) {
            dump(&mut s, t, &[established(7, 10)]);
            reasons.extend(expire(&mut s, t).iter().map(|f| (t, f.end_reason)));
        }
        assert_eq!(reasons, [(5_000, END_ACTIVE_TIMEOUT), (10_000, END_ACTIVE_TIMEOUT), (15_000, END_IDLE_TIMEOUT)]);
        assert_eq!(s.next_deadline(), None, "an idle connection is not queued");
        dump(&mut s, 21_000, &[established(7, 11)]);
        let back = expire(&mut s, 26_000);
        assert_eq!((back[0].end_reason, back[0].packet_delta), (END_ACTIVE_TIMEOUT, 1));
    }

    #[test]
    fn time_wait_is_exported_once_at_once_and_forgotten_when_the_kernel_forgets_it() {
        let mut s = store();
        dump(&mut s, 0, &[established(7, 10)]);
        let closing = tcp(7, "10.0.1.2", "10.0.1.3", 12, TcpState::TIME_WAIT);
        dump(&mut s, 1_000, &[closing]);
        let ended = expire(&mut s, 1_000);
        assert_eq!(ended.len(), 1);
        assert_eq!(
            (ended[0].end_reason, ended[0].packet_delta, ended[0].tcp_state.as_str()),
            (END_OF_FLOW, 12, "TIME_WAIT")
        );
        for t in [6_000, 11_000, 16_000, 21_000] {
            dump(&mut s, t, &[closing]);
            assert!(expire(&mut s, t).is_empty(), "an ended connection is not exported again");
        }
        assert_eq!(s.len(), 1, "kept while the kernel lists it");
        dump(&mut s, 22_000, &[]);
        dump(&mut s, 23_000, &[]);
        assert!(s.is_empty());
        assert_eq!(s.stats().ended, 1);
    }

    #[test]
    fn an_update_event_to_time_wait_waits_for_the_dump_that_has_the_final_counters() {
        let mut s = store();
        dump(&mut s, 0, &[established(7, 10)]);
        let mut event = tcp(7, "10.0.1.2", "10.0.1.3", 0, TcpState::TIME_WAIT);
        event.orig_counters = Counters::default();
        event.reply_counters = Counters::default();
        s.observe(&event, Source::Update, 500, 0, &PODS);
        assert!(expire(&mut s, 500).is_empty(), "an UPDATE event carries no counters");
        dump(&mut s, 1_000, &[tcp(7, "10.0.1.2", "10.0.1.3", 14, TcpState::TIME_WAIT)]);
        let ended = expire(&mut s, 1_000);
        assert_eq!((ended[0].end_reason, ended[0].packet_total), (END_OF_FLOW, 14));
    }

    #[test]
    fn a_connection_seen_only_by_its_destroy_event_is_exported_with_its_final_counters() {
        let mut s = store();
        let mut gone = tcp(9, "10.0.1.2", "10.0.1.3", 6, TcpState::CLOSE);
        gone.stop_ns = gone.start_ns + 2_000_000_000;
        s.observe(&gone, Source::Destroy, 500, 1_700_000_000, &PODS);
        let ended = expire(&mut s, 500);
        assert_eq!(ended.len(), 1);
        let f = &ended[0];
        assert_eq!((f.end_reason, f.packet_total, f.packet_delta, f.reverse_octet_delta), (END_OF_FLOW, 6, 6, 6000));
        assert_eq!((f.flow_start, f.flow_end), (1_700_000_000, 1_700_000_002));
        assert!(s.is_empty(), "a destroyed connection is not kept");
    }

    #[test]
    fn a_connection_gone_from_a_dump_waits_for_its_destroy_event_then_ends() {
        let mut s = store();
        let other = |packets, state| tcp(8, "10.0.1.2", "10.0.1.4", packets, state);
        dump(&mut s, 0, &[established(7, 10), other(3, TcpState::ESTABLISHED)]);
        dump(&mut s, 1_000, &[established(7, 10)]);
        assert!(expire(&mut s, 1_500).is_empty(), "it waits for the DESTROY event");
        s.observe(&other(5, TcpState::CLOSE), Source::Destroy, 1_600, 1_700_000_001, &PODS);
        let ended = expire(&mut s, 1_600);
        assert_eq!(ended.len(), 1);
        assert_eq!((ended[0].end_reason, ended[0].packet_total), (END_OF_FLOW, 5));

        // With no event, it ends with the last counters read once the grace is over.
        let mut s = store();
        dump(&mut s, 0, &[other(3, TcpState::ESTABLISHED)]);
        dump(&mut s, 1_000, &[]);
        assert!(expire(&mut s, 1_000 + DESTROY_GRACE_MS - 1).is_empty());
        let ended = expire(&mut s, 1_000 + DESTROY_GRACE_MS);
        assert_eq!((ended[0].end_reason, ended[0].packet_total), (END_OF_FLOW, 3));
    }

    #[test]
    fn an_interrupted_dump_ends_nothing() {
        let mut s = store();
        dump(&mut s, 0, &[established(7, 10)]);
        s.begin_dump();
        s.end_dump(false, 1_000);
        assert!(expire(&mut s, 3_000).is_empty());
        assert_eq!(expire(&mut s, ACTIVE)[0].end_reason, END_ACTIVE_TIMEOUT);
    }

    #[test]
    fn counters_never_go_back_when_an_older_event_is_read_after_a_dump() {
        let mut s = store();
        dump(&mut s, 0, &[established(7, 20)]);
        s.observe(&established(7, 12), Source::Update, 100, 0, &PODS);
        let f = &expire(&mut s, ACTIVE)[0];
        assert_eq!((f.packet_total, f.packet_delta), (20, 20));
    }

    #[test]
    fn a_reused_tuple_ends_the_old_connection() {
        let mut s = store();
        dump(&mut s, 0, &[established(7, 20)]);
        let mut new = established(8, 2);
        new.start_ns += 3_000_000_000;
        dump(&mut s, 1_000, &[new]);
        let out = expire(&mut s, 1_000);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].end_reason, out[0].packet_total), (END_OF_FLOW, 20));
        let out = expire(&mut s, 1_000 + ACTIVE);
        assert_eq!((out[0].end_reason, out[0].packet_total, out[0].packet_delta), (END_ACTIVE_TIMEOUT, 2, 2));
    }

    #[test]
    fn the_protocol_filter_is_nil_for_all_and_empty_for_none() {
        let udp = {
            let mut c = established(3, 1);
            c.orig.proto = 17;
            c.reply.proto = 17;
            c.tcp_state = None;
            c
        };
        for (protocols, kept) in [(None, 2), (Some(vec![]), 0), (Some(vec![TCP]), 1)] {
            let mut s = ConnectionStore::new(StoreConfig { protocols, ..store().config });
            let mut other = established(4, 1);
            other.orig.src_port = 1;
            dump(&mut s, 0, &[udp, other]);
            assert_eq!(s.len(), kept);
        }
        let mut s = ConnectionStore::new(StoreConfig { zones: vec![7], ..store().config });
        let mut zoned = established(5, 1);
        zoned.zone = 7;
        s.observe(&established(4, 1), Source::New, 0, 0, &PODS);
        s.observe(&zoned, Source::New, 0, 0, &PODS);
        assert_eq!((s.len(), s.stats().skipped), (1, 1));
    }

    /// Issue 22, defect 9: with nothing known of Pods, the agent exported its own connection to
    /// the collector along with everything else.
    #[test]
    fn the_agents_own_export_connection_is_skipped() {
        let collector: SocketAddr = "10.0.0.9:4739".parse().unwrap();
        let mut s = ConnectionStore::new(StoreConfig { own_export: Some((TCP, collector)), ..store().config });
        let mut export = tcp(1, "10.0.0.5", "10.0.0.9", 3, TcpState::ESTABLISHED);
        export.orig.dst_port = 4739;
        let mut other_port = tcp(2, "10.0.0.5", "10.0.0.9", 3, TcpState::ESTABLISHED);
        other_port.orig.dst_port = 4740;
        s.observe(&export, Source::New, 0, 0, &HOST);
        s.observe(&other_port, Source::New, 0, 0, &HOST);
        assert_eq!((s.len(), s.stats().skipped), (1, 1), "only the export connection is skipped");
    }

    #[test]
    fn names_services_and_flow_types_follow_the_reference() {
        let mut s = store();
        // Intra-Node through Service 10.96.0.10:80, DNATed to 10.0.1.3:8080.
        let mut via_service = tcp(1, "10.0.1.2", "10.96.0.10", 4, TcpState::ESTABLISHED);
        via_service.reply.src = ip("10.0.1.3");
        via_service.reply.src_port = 8080;
        let inter = tcp(2, "10.0.1.2", "10.0.2.9", 4, TcpState::ESTABLISHED);
        let to_external = tcp(3, "10.0.1.2", "93.184.216.34", 4, TcpState::ESTABLISHED);
        let from_external = tcp(4, "192.0.2.7", "10.0.1.3", 4, TcpState::ESTABLISHED);
        let not_local = tcp(5, "10.0.2.1", "10.0.2.9", 4, TcpState::ESTABLISHED);
        let mut snat = tcp(6, "10.0.1.2", "93.184.216.35", 4, TcpState::ESTABLISHED);
        snat.reply.dst = ip("172.18.0.2");
        snat.reply.dst_port = 61_000;
        dump(&mut s, 0, &[via_service, inter, to_external, from_external, not_local, snat]);
        assert_eq!(s.stats().skipped, 1, "a connection with no local Pod is skipped");
        let out = expire(&mut s, ACTIVE);
        let by_dst = |d: &str| out.iter().find(|f| f.destination_address == ip(d)).unwrap();

        let f =
            out.iter().find(|f| f.destination_address == ip("10.0.1.3") && f.source_address == ip("10.0.1.2")).unwrap();
        assert_eq!(f.flow_type, FLOW_TYPE_INTRA_NODE);
        assert_eq!((f.source_pod_name.as_str(), f.destination_pod_name.as_str()), ("pod-2", "pod-3"));
        assert_eq!((f.source_node_name.as_str(), f.destination_node_name.as_str()), ("node-a", "node-a"));
        assert_eq!((f.destination_port, f.destination_service_port), (8080, 80));
        assert_eq!(f.destination_service_port_name, "default/web:http");
        assert_eq!(f.destination_service_ip, Some(ip("10.96.0.10")));
        assert_eq!(f.destination_cluster_ip, Some(ip("10.96.0.10")));

        let f = by_dst("10.0.2.9");
        assert_eq!(
            (f.flow_type, f.destination_pod_name.as_str(), f.destination_node_name.as_str()),
            (FLOW_TYPE_INTER_NODE, "", "")
        );
        assert_eq!(by_dst("93.184.216.34").flow_type, FLOW_TYPE_TO_EXTERNAL);
        let f = by_dst("93.184.216.35");
        assert_eq!((f.proxy_snat_ip, f.proxy_snat_port), (Some(ip("172.18.0.2")), 61_000));
        let f = out.iter().find(|f| f.source_address == ip("192.0.2.7")).unwrap();
        assert_eq!((f.flow_type, f.source_pod_name.as_str()), (FLOW_TYPE_FROM_EXTERNAL, ""));

        // Nothing known about Pods: everything is exported, flowType unspecified.
        let mut s = store();
        s.observe(&not_local, Source::Dump, 0, 0, &HOST);
        let f = &expire(&mut s, ACTIVE)[0];
        assert_eq!((f.flow_type, f.source_pod_name.as_str()), (FLOW_TYPE_UNSPECIFIED, ""));
    }

    #[test]
    fn icmp_echoes_are_told_apart_by_id_and_sent_without_ports() {
        let mut s = store();
        let ping = |id: u16| {
            let orig = Tuple {
                src: ip("10.0.1.2"),
                dst: ip("10.0.1.3"),
                proto: 1,
                icmp_id: id,
                icmp_type: 8,
                ..Tuple::default()
            };
            let reply = Tuple { src: orig.dst, dst: orig.src, icmp_type: 0, ..orig };
            Connection { id: u32::from(id), orig, reply, status: Status(Status::CONFIRMED), ..Connection::default() }
        };
        dump(&mut s, 0, &[ping(1), ping(2)]);
        let out = expire(&mut s, ACTIVE);
        assert_eq!(out.len(), 2);
        assert!(
            out.iter()
                .all(|f| f.source_port == 0 && f.destination_port == 0 && f.protocol == 1 && f.tcp_state.is_empty())
        );
    }

    #[test]
    fn everything_due_goes_out_in_one_pass() {
        let mut s = store();
        let conns: Vec<_> = (0..10_000u32)
            .map(|i| {
                let mut c = established(i + 1, 1);
                c.orig.src_port = i as u16;
                c
            })
            .collect();
        dump(&mut s, 0, &conns);
        assert_eq!(expire(&mut s, ACTIVE).len(), 10_000, "no ceiling per wake-up, unlike the reference's 64");
    }

    #[test]
    fn draining_sends_what_was_not_reported_yet() {
        let mut s = store();
        let quiet = established(1, 5);
        let mut busy = established(2, 5);
        busy.orig.src_port = 2;
        let mut fresh = established(3, 1);
        fresh.orig.src_port = 3;
        dump(&mut s, 0, &[quiet, busy]);
        assert_eq!(expire(&mut s, ACTIVE).len(), 2);
        busy.orig_counters.packets = 9;
        dump(&mut s, 6_000, &[quiet, busy, fresh]);
        let mut out = Vec::new();
        s.drain(|e| {
            let mut f = Flow::default();
            e.fill(&mut f);
            out.push((f.source_port, f.end_reason, f.packet_delta));
        });
        out.sort_unstable();
        assert_eq!(out, [(2, END_FORCED, 4), (3, END_FORCED, 1)]);
        assert!(s.is_empty());
    }
}
