//! The aggregation store (reference antrea-flow-visibility.md §3.3): what aggregate mode knows of
//! each flow between two exports of it, the source-Node and destination-Node records of an
//! inter-Node connection correlated into one.
//!
//! The reference's algorithm, with these departures, each behind an `aggregation.*` key whose
//! default is flowctl's:
//! - `exportUnmatched`: an inter-Node half whose other half never arrives is exported after the
//!   reference's two retries (its flowType says inter-Node, the other side's counters are zero)
//!   and counted, instead of being deleted unexported.
//! - `countSameSecondRecords`: every record counts, also a second one a Node sends within the
//!   same second (the reference ignores records whose end second is not later than the last
//!   one's, so a final record right after an active one loses its counters).
//!
//! And without a key, because they only remove the reference's order dependence:
//! - The flow's common counters are the larger of the two sides' totals, and its deltas and
//!   throughput those of the side that reported last, whatever order the halves came in.
//! - A half that needs no correlation (an ingress Reject) makes a flow waiting for its other
//!   half ready to export, instead of leaving it to be deleted after the retries.
//!
//! Flows are spread over shards by key, each behind its own lock, so receiving threads rarely
//! meet. A shard keeps its flows in a slab indexed by a key table that holds only slab indices,
//! and their Kubernetes metadata interned: flows between the same Pods through the same Service
//! and policies share one copy.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashTable;

use crate::core::flow::{FLOW_TYPE_FROM_EXTERNAL, FLOW_TYPE_INTER_NODE, Flow};

/// flowEndReason END_OF_FLOW: sticky once a side reports it.
const END_OF_FLOW: u8 = 3;
/// Rule actions (reference §1.3).
const ACTION_DROP: u8 = 2;
const ACTION_REJECT: u8 = 3;
/// Expiries a flow waiting for its other half survives (the reference's MaxRetries).
pub const MAX_RETRIES: u8 = 2;
const SHARDS: usize = 16;
/// Distinct tcpState strings a shard keeps; past this a state is exported as "".
const MAX_TCP_STATES: usize = 64;

/// How aggregation behaves; timeouts in seconds.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub active_timeout: u32,
    pub inactive_timeout: u32,
    pub export_unmatched: bool,
    pub count_same_second: bool,
    /// Flows tracked at most; a new flow past this is exported at once as it arrived.
    pub max_flows: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            active_timeout: 60,
            inactive_timeout: 90,
            export_unmatched: true,
            count_same_second: true,
            max_flows: 4 << 20,
        }
    }
}

/// What the store did, summed over its shards.
#[derive(Debug, Default)]
pub struct StoreCounters {
    pub records: AtomicU64,
    /// Records without flowStartSeconds and flowEndSeconds (the reference drops them too).
    pub no_timestamps: AtomicU64,
    pub flows_created: AtomicU64,
    pub correlated: AtomicU64,
    /// Inter-Node halves exported without their other half (`exportUnmatched`).
    pub unmatched_exported: AtomicU64,
    /// Inter-Node halves deleted unexported after the retries (`exportUnmatched: false`).
    pub unmatched_deleted: AtomicU64,
    /// Records exported as they arrived because the store was full.
    pub overflow: AtomicU64,
    /// Records that went unused for their side's counters (`countSameSecondRecords: false`):
    /// not later than what that side already reported.
    pub stale_records: AtomicU64,
    pub exported: AtomicU64,
    pub flows: AtomicU64,
    /// Packet deltas held at 2^32 − 1 between two exports of a flow (see `Side`).
    pub packet_delta_saturated: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The 5-tuple a flow is kept under; IPv4 addresses as IPv4-mapped IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// As two integers, so a comparison is two word compares, not a memcmp call.
    source: [u64; 2],
    destination: [u64; 2],
    pub source_port: u16,
    pub destination_port: u16,
    pub protocol: u8,
    pub ipv6: bool,
}

fn octets(ip: IpAddr) -> [u64; 2] {
    let bits = match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().to_bits(),
        IpAddr::V6(a) => a.to_bits(),
    };
    [(bits >> 64) as u64, bits as u64]
}

fn address(words: [u64; 2], ipv6: bool) -> IpAddr {
    let a = Ipv6Addr::from_bits((u128::from(words[0]) << 64) | u128::from(words[1]));
    match (ipv6, a.to_ipv4_mapped()) {
        (false, Some(v4)) => IpAddr::V4(v4),
        _ => IpAddr::V6(a),
    }
}

impl FlowKey {
    pub fn new(source: IpAddr, destination: IpAddr, source_port: u16, destination_port: u16, protocol: u8) -> Self {
        FlowKey {
            source: octets(source),
            destination: octets(destination),
            source_port,
            destination_port,
            protocol,
            ipv6: source.is_ipv6(),
        }
    }

    /// The key the reference gives a record (§3.3): its 5-tuple, except the ingress-Node half of
    /// a from-external flow, keyed on the SNAT address the destination Node sees as source.
    pub fn of(flow: &Flow) -> Self {
        match (is_ingress_node_from_external(flow), flow.proxy_snat_ip) {
            (true, Some(snat)) => {
                FlowKey::new(snat, flow.destination_address, flow.proxy_snat_port, flow.destination_port, flow.protocol)
            }
            _ => FlowKey::new(
                flow.source_address,
                flow.destination_address,
                flow.source_port,
                flow.destination_port,
                flow.protocol,
            ),
        }
    }

    pub fn source_address(&self) -> IpAddr {
        address(self.source, self.ipv6)
    }

    pub fn destination_address(&self) -> IpAddr {
        address(self.destination, self.ipv6)
    }
}

/// The ingress-Node half of an inter-Node from-external flow: the Node the client reached, which
/// forwarded the connection (SNATed) to the Pod's Node.
pub fn is_ingress_node_from_external(flow: &Flow) -> bool {
    flow.flow_type == FLOW_TYPE_FROM_EXTERNAL && flow.destination_pod_name.is_empty() && flow.proxy_snat_ip.is_some()
}

/// Whether a record waits for the other Node's record of the same connection (§3.3): inter-Node
/// (or the ingress half of from-external) and not denied where only one Node sees it (egress
/// Drop or Reject, ingress Reject; an ingress Drop is seen by both).
pub fn correlation_required(flow: &Flow) -> bool {
    (flow.flow_type == FLOW_TYPE_INTER_NODE || is_ingress_node_from_external(flow))
        && !matches!(flow.egress_rule_action, ACTION_DROP | ACTION_REJECT)
        && flow.ingress_rule_action != ACTION_REJECT
}

/// Whether a record is the source Node's (only the source Pod known, or the ingress Node of a
/// from-external flow).
pub fn is_from_source(flow: &Flow) -> bool {
    (!flow.source_pod_name.is_empty() && flow.destination_pod_name.is_empty()) || is_ingress_node_from_external(flow)
}

/// Calls `$m!` with every metadata field of [`Flow`]: what a record contributes once, as
/// opposed to its counters and times. Interned per flow; merged field by field on correlation.
macro_rules! with_meta_fields {
    ($m:ident) => {
        $m!(
            source_pod_name,
            source_pod_namespace,
            source_node_name,
            destination_pod_name,
            destination_pod_namespace,
            destination_node_name,
            destination_service_port,
            destination_service_port_name,
            ingress_policy_name,
            ingress_policy_namespace,
            ingress_policy_type,
            ingress_rule_name,
            ingress_rule_action,
            egress_policy_name,
            egress_policy_namespace,
            egress_policy_type,
            egress_rule_name,
            egress_rule_action,
            flow_type,
            egress_name,
            egress_ip,
            egress_node_name,
            proxy_snat_port,
            proxy_snat_ip,
            destination_cluster_ip,
            destination_service_ip
        )
    };
}

/// The source a flow's metadata records: the external client of a from-external flow, whose key
/// holds the SNAT address instead; nothing for any other flow (the key has its source).
type Source = (IpAddr, u16);
const NO_SOURCE: Source = (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

fn source_of(record: &Flow) -> Source {
    if is_ingress_node_from_external(record) { (record.source_address, record.source_port) } else { NO_SOURCE }
}

/// The source interned metadata holds (in its source address and port).
fn stored_source(meta: &Flow) -> Source {
    (meta.source_address, meta.source_port)
}

fn meta_hash(flow: &Flow, source: Source, hasher: &hashbrown::DefaultHashBuilder) -> u64 {
    let mut h = hasher.build_hasher();
    macro_rules! go { ($($f:ident),*) => { $( flow.$f.hash(&mut h); )* } }
    with_meta_fields!(go);
    source.hash(&mut h);
    h.finish()
}

/// Whether interned `stored` is the metadata of `flow` with `source`.
fn meta_eq(stored: &Flow, flow: &Flow, source: Source) -> bool {
    macro_rules! go { ($($f:ident),*) => { $( stored.$f == flow.$f )&&* } }
    with_meta_fields!(go) && stored_source(stored) == source
}

fn meta_copy(from: &Flow, source: Source, to: &mut Flow) {
    macro_rules! go { ($($f:ident),*) => { $( to.$f.clone_from(&from.$f); )* } }
    with_meta_fields!(go);
    (to.source_address, to.source_port) = source;
}

/// A field that is "not there" when zero or empty; correlation copies only fields that are.
trait Present {
    fn present(&self) -> bool;
}
impl Present for String {
    fn present(&self) -> bool {
        !self.is_empty()
    }
}
impl Present for u8 {
    fn present(&self) -> bool {
        *self != 0
    }
}
impl Present for u16 {
    fn present(&self) -> bool {
        *self != 0
    }
}
impl Present for Option<IpAddr> {
    fn present(&self) -> bool {
        self.is_some()
    }
}

/// Copies every metadata field `from` has into `into` (the reference's `correlateRecords`),
/// and the external client of an ingress Node's from-external record.
fn meta_merge(from: &Flow, into: &mut Flow) {
    macro_rules! go { ($($f:ident),*) => { $( if from.$f.present() { into.$f.clone_from(&from.$f); } )* } }
    with_meta_fields!(go);
    if is_ingress_node_from_external(from) {
        (into.source_address, into.source_port) = source_of(from);
    }
}

/// Interned metadata, reference counted by the flows that use it.
#[derive(Default)]
struct Interner {
    entries: Vec<(Flow, u32)>,
    free: Vec<u32>,
    table: HashTable<u32>,
}

impl Interner {
    /// The index of `meta` (its metadata fields, with `source`), added when new.
    fn intern(&mut self, meta: &Flow, source: Source, hasher: &hashbrown::DefaultHashBuilder) -> u32 {
        let hash = meta_hash(meta, source, hasher);
        let entries = &self.entries;
        if let Some(&i) = self.table.find(hash, |&i| meta_eq(&entries[i as usize].0, meta, source)) {
            self.entries[i as usize].1 += 1;
            return i;
        }
        let i = match self.free.pop() {
            Some(i) => {
                let e = &mut self.entries[i as usize];
                meta_copy(meta, source, &mut e.0);
                e.1 = 1;
                i
            }
            None => {
                let mut f = Flow::default();
                meta_copy(meta, source, &mut f);
                self.entries.push((f, 1));
                (self.entries.len() - 1) as u32
            }
        };
        let entries = &self.entries;
        self.table.insert_unique(hash, i, |&j| {
            let e = &entries[j as usize].0;
            meta_hash(e, stored_source(e), hasher)
        });
        i
    }

    fn release(&mut self, i: u32, hasher: &hashbrown::DefaultHashBuilder) {
        let e = &mut self.entries[i as usize];
        e.1 -= 1;
        if e.1 == 0 {
            let hash = meta_hash(&e.0, stored_source(&e.0), hasher);
            if let Ok(entry) = self.table.find_entry(hash, |&j| j == i) {
                entry.remove();
            }
            self.free.push(i);
        }
    }

    fn get(&self, i: u32) -> &Flow {
        &self.entries[i as usize].0
    }

    fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }
}

/// One Node's view of a flow.
#[derive(Clone, Copy, Debug, Default)]
struct Side {
    packet_total: u64,
    octet_total: u64,
    reverse_packet_total: u64,
    reverse_octet_total: u64,
    /// Accumulated since the last export. Packets fit 32 bits: 2^32 packets of one connection
    /// between two exports would be 70 M packets/s at the default active timeout; a larger sum is
    /// held at the maximum and counted.
    packet_delta: u32,
    octet_delta: u64,
    reverse_packet_delta: u32,
    reverse_octet_delta: u64,
    /// Bits per second over the side's last reporting interval.
    throughput: u64,
    reverse_throughput: u64,
    /// flowEndSeconds of the side's last record; 0 before its first.
    end: u32,
}

const SOURCE: usize = 0;
const DESTINATION: usize = 1;

const READY: u8 = 1;
const UPDATED: u8 = 2;
const NEEDS_CORRELATION: u8 = 4;
const SEEN_SOURCE: u8 = 8;
const SEEN_DESTINATION: u8 = 16;
/// Exported without its other half; the half may still arrive and correlate.
const UNMATCHED: u8 = 32;
const FREE: u8 = 128;

/// One flow; kept compact (its metadata is an index into the shard's interner).
#[derive(Clone, Debug)]
struct State {
    key: FlowKey,
    meta: u32,
    flow_start: u32,
    flow_end: u32,
    sides: [Side; 2],
    active_expire: u32,
    inactive_expire: u32,
    /// The deadline of this flow's entry in the expiry heap.
    queued: u32,
    tcp_state: u16,
    end_reason: u8,
    flags: u8,
    retries: u8,
}

/// What a shard needs of the store, passed down to keep the shard free of references.
struct Ctx<'a> {
    config: &'a StoreConfig,
    counters: &'a StoreCounters,
    hasher: &'a hashbrown::DefaultHashBuilder,
}

#[derive(Default)]
struct Shard {
    slab: Vec<State>,
    free: Vec<u32>,
    table: HashTable<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
    /// Flows to export at the next tick (correlated, or needing no correlation).
    ready: Vec<u32>,
    metas: Interner,
    tcp_states: Vec<Box<str>>,
    /// Reused for the metadata being merged on correlation, keeping its strings' capacity.
    scratch: Flow,
}

impl Shard {
    fn len(&self) -> usize {
        self.slab.len() - self.free.len()
    }

    fn find(&self, key: &FlowKey, hash: u64) -> Option<u32> {
        let slab = &self.slab;
        self.table.find(hash, |&i| slab[i as usize].key == *key).copied()
    }

    fn tcp_state(&mut self, name: &str) -> u16 {
        if name.is_empty() {
            return 0;
        }
        if let Some(i) = self.tcp_states.iter().position(|s| &**s == name) {
            return i as u16 + 1;
        }
        if self.tcp_states.len() >= MAX_TCP_STATES {
            return 0;
        }
        self.tcp_states.push(name.into());
        self.tcp_states.len() as u16
    }

    fn push(&mut self, index: u32, deadline: u32) {
        self.slab[index as usize].queued = deadline;
        self.heap.push(Reverse((deadline, index)));
    }

    fn observe(&mut self, ctx: &Ctx<'_>, record: &Flow, key: FlowKey, hash: u64, now: u32, overflow: &mut Vec<Flow>) {
        let needs = correlation_required(record);
        let from_source = is_from_source(record);
        match self.find(&key, hash) {
            None => {
                if ctx.counters.flows.load(Ordering::Relaxed) as usize >= ctx.config.max_flows {
                    bump(&ctx.counters.overflow);
                    overflow.push(record.clone());
                    return;
                }
                self.create(ctx, record, key, hash, now, needs, from_source);
            }
            Some(index) => self.update(ctx, record, index, now, needs, from_source),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        ctx: &Ctx<'_>,
        record: &Flow,
        key: FlowKey,
        hash: u64,
        now: u32,
        needs: bool,
        from_source: bool,
    ) {
        let meta = self.metas.intern(record, source_of(record), ctx.hasher);
        let tcp_state = self.tcp_state(&record.tcp_state);
        let side = side_of(record, ctx.counters);
        let sides_seen = if needs { if from_source { SEEN_SOURCE } else { SEEN_DESTINATION } } else { 0 };
        let mut flags = UPDATED | sides_seen;
        let config = ctx.config;
        let active_expire = if needs {
            flags |= NEEDS_CORRELATION;
            now + config.active_timeout
        } else {
            flags |= READY;
            now
        };
        let state = State {
            key,
            meta,
            flow_start: record.flow_start,
            flow_end: record.flow_end,
            sides: match (needs, from_source) {
                (false, _) => [side, side],
                (true, true) => [side, Side::default()],
                (true, false) => [Side::default(), side],
            },
            active_expire,
            inactive_expire: now + config.inactive_timeout,
            queued: 0,
            tcp_state,
            end_reason: record.end_reason,
            flags,
            retries: 0,
        };
        let index = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = state;
                i
            }
            None => {
                self.slab.push(state);
                (self.slab.len() - 1) as u32
            }
        };
        let slab = &self.slab;
        self.table.insert_unique(hash, index, |&i| ctx.hasher.hash_one(slab[i as usize].key));
        let deadline = active_expire.min(now + config.inactive_timeout);
        self.push(index, deadline);
        if flags & READY != 0 {
            self.ready.push(index);
        }
        bump(&ctx.counters.flows_created);
        ctx.counters.flows.fetch_add(1, Ordering::Relaxed);
    }

    fn update(&mut self, ctx: &Ctx<'_>, record: &Flow, index: u32, now: u32, needs: bool, from_source: bool) {
        let config = ctx.config;
        let state = &mut self.slab[index as usize];
        let seen = if from_source { SEEN_SOURCE } else { SEEN_DESTINATION };
        let other_half = state.flags & seen == 0;
        let waiting = state.flags & NEEDS_CORRELATION != 0 && state.flags & (READY | UNMATCHED) != READY;
        // The Pod's Node's half of a from-external flow needs no partner (the client may have
        // reached that Node directly), so it is exported alone; when the ingress Node's half
        // comes after it, the two still correlate.
        let late_ingress = is_ingress_node_from_external(record) && other_half && state.flags & NEEDS_CORRELATION == 0;
        let mut became_ready = false;
        if (waiting && (other_half || !needs)) || late_ingress {
            // The other Node's half (or a half that needs no partner): merge what it knows.
            let mut scratch = std::mem::take(&mut self.scratch);
            let stored = self.metas.get(state.meta);
            meta_copy(stored, stored_source(stored), &mut scratch);
            meta_merge(record, &mut scratch);
            if is_ingress_node_from_external(record) {
                scratch.flow_type = FLOW_TYPE_FROM_EXTERNAL;
            }
            let old = state.meta;
            let meta = self.metas.intern(&scratch, stored_source(&scratch), ctx.hasher);
            self.metas.release(old, ctx.hasher);
            self.scratch = scratch;
            let state = &mut self.slab[index as usize];
            if late_ingress {
                // Until now the one half stood for both sides.
                state.sides[SOURCE] = Side::default();
                state.flags |= NEEDS_CORRELATION | SEEN_DESTINATION;
            }
            state.meta = meta;
            state.flags |= READY | seen;
            state.flags &= !UNMATCHED;
            state.active_expire = now;
            became_ready = true;
            if other_half {
                bump(&ctx.counters.correlated);
            }
        }
        let tcp_state = self.tcp_state(&record.tcp_state);
        let state = &mut self.slab[index as usize];
        let sides: &[usize] = if state.flags & NEEDS_CORRELATION == 0 {
            &[SOURCE, DESTINATION]
        } else if from_source {
            &[SOURCE]
        } else {
            &[DESTINATION]
        };
        if !aggregate(state, record, sides, tcp_state, config.count_same_second, ctx.counters) {
            bump(&ctx.counters.stale_records);
        }
        state.flags |= UPDATED;
        state.inactive_expire = now + config.inactive_timeout;
        if became_ready {
            self.ready.push(index);
        }
    }

    /// Exports (into `out`) what is due at `now`, and forgets what has expired; stops once `out`
    /// holds `limit` records and says whether more are due.
    fn expire(&mut self, ctx: &Ctx<'_>, now: u32, out: &mut Vec<Flow>, limit: usize) -> bool {
        let config = ctx.config;
        let mut ready = std::mem::take(&mut self.ready).into_iter();
        while let Some(index) = ready.next() {
            if out.len() >= limit {
                self.ready.push(index);
                self.ready.extend(ready);
                return true;
            }
            let state = &mut self.slab[index as usize];
            if state.flags & (FREE | READY) != READY || state.active_expire > now {
                continue;
            }
            if state.flags & UPDATED != 0 {
                out.push(self.export(ctx, index));
            }
            self.slab[index as usize].active_expire = now + config.active_timeout;
        }
        while let Some(&Reverse((deadline, index))) = self.heap.peek() {
            if deadline > now {
                break;
            }
            if out.len() >= limit {
                return true;
            }
            self.heap.pop();
            let state = &mut self.slab[index as usize];
            if state.flags & FREE != 0 || state.queued != deadline {
                continue;
            }
            let due = state.active_expire.min(state.inactive_expire);
            if due > now {
                self.push(index, due);
                continue;
            }
            if state.flags & READY == 0 {
                state.retries += 1;
                if state.retries <= MAX_RETRIES {
                    state.active_expire = now + config.active_timeout;
                    state.inactive_expire = now + config.inactive_timeout;
                    self.push(index, now + config.active_timeout.min(config.inactive_timeout));
                    continue;
                }
                if !config.export_unmatched {
                    bump(&ctx.counters.unmatched_deleted);
                    self.remove(ctx, index);
                    continue;
                }
                state.flags |= READY | UNMATCHED;
                bump(&ctx.counters.unmatched_exported);
            }
            if self.slab[index as usize].flags & UPDATED != 0 {
                out.push(self.export(ctx, index));
            }
            let state = &mut self.slab[index as usize];
            if state.inactive_expire <= now {
                self.remove(ctx, index);
            } else {
                state.active_expire = now + config.active_timeout;
                let due = state.active_expire.min(state.inactive_expire);
                self.push(index, due);
            }
        }
        false
    }

    fn remove(&mut self, ctx: &Ctx<'_>, index: u32) {
        let state = &mut self.slab[index as usize];
        state.flags = FREE;
        let (key, meta) = (state.key, state.meta);
        let hash = ctx.hasher.hash_one(key);
        if let Ok(entry) = self.table.find_entry(hash, |&i| i == index) {
            entry.remove();
        }
        self.metas.release(meta, ctx.hasher);
        self.free.push(index);
        ctx.counters.flows.fetch_sub(1, Ordering::Relaxed);
    }

    /// The flow as a record; its deltas and throughputs start again from zero.
    fn export(&mut self, ctx: &Ctx<'_>, index: u32) -> Flow {
        let mut flow = Flow::default();
        self.fill(index, &mut flow);
        let state = &mut self.slab[index as usize];
        state.flags &= !UPDATED;
        for side in &mut state.sides {
            side.packet_delta = 0;
            side.octet_delta = 0;
            side.reverse_packet_delta = 0;
            side.reverse_octet_delta = 0;
            side.throughput = 0;
            side.reverse_throughput = 0;
        }
        bump(&ctx.counters.exported);
        flow
    }

    /// Writes flow `index` as a record into `flow`, without changing it.
    fn fill(&self, index: u32, flow: &mut Flow) {
        let state = &self.slab[index as usize];
        let meta = self.metas.get(state.meta);
        meta_copy(meta, stored_source(meta), flow);
        if meta.source_address.is_unspecified() {
            flow.source_address = state.key.source_address();
            flow.source_port = state.key.source_port;
        }
        flow.destination_address = state.key.destination_address();
        flow.destination_port = state.key.destination_port;
        flow.protocol = state.key.protocol;
        flow.flow_start = state.flow_start;
        flow.flow_end = state.flow_end;
        flow.end_reason = state.end_reason;
        flow.tcp_state.clear();
        if state.tcp_state > 0 {
            flow.tcp_state.push_str(&self.tcp_states[state.tcp_state as usize - 1]);
        }
        let [s, d] = &state.sides;
        flow.packet_total_from_source_node = s.packet_total;
        flow.octet_total_from_source_node = s.octet_total;
        flow.packet_delta_from_source_node = u64::from(s.packet_delta);
        flow.octet_delta_from_source_node = s.octet_delta;
        flow.reverse_packet_total_from_source_node = s.reverse_packet_total;
        flow.reverse_octet_total_from_source_node = s.reverse_octet_total;
        flow.reverse_packet_delta_from_source_node = u64::from(s.reverse_packet_delta);
        flow.reverse_octet_delta_from_source_node = s.reverse_octet_delta;
        flow.packet_total_from_destination_node = d.packet_total;
        flow.octet_total_from_destination_node = d.octet_total;
        flow.packet_delta_from_destination_node = u64::from(d.packet_delta);
        flow.octet_delta_from_destination_node = d.octet_delta;
        flow.reverse_packet_total_from_destination_node = d.reverse_packet_total;
        flow.reverse_octet_total_from_destination_node = d.reverse_octet_total;
        flow.reverse_packet_delta_from_destination_node = u64::from(d.reverse_packet_delta);
        flow.reverse_octet_delta_from_destination_node = d.reverse_octet_delta;
        flow.flow_end_from_source_node = s.end;
        flow.flow_end_from_destination_node = d.end;
        flow.throughput_from_source_node = s.throughput;
        flow.throughput_from_destination_node = d.throughput;
        flow.reverse_throughput_from_source_node = s.reverse_throughput;
        flow.reverse_throughput_from_destination_node = d.reverse_throughput;
        flow.packet_total = s.packet_total.max(d.packet_total);
        flow.octet_total = s.octet_total.max(d.octet_total);
        flow.reverse_packet_total = s.reverse_packet_total.max(d.reverse_packet_total);
        flow.reverse_octet_total = s.reverse_octet_total.max(d.reverse_octet_total);
        // The side that reported last speaks for the flow's deltas and throughput; on a tie the
        // one that saw more.
        let last = if (d.end, d.octet_total) > (s.end, s.octet_total) { d } else { s };
        flow.packet_delta = u64::from(last.packet_delta);
        flow.octet_delta = last.octet_delta;
        flow.reverse_packet_delta = u64::from(last.reverse_packet_delta);
        flow.reverse_octet_delta = last.reverse_octet_delta;
        flow.throughput = last.throughput;
        flow.reverse_throughput = last.reverse_throughput;
    }
}

/// A packet delta added to a side's, held at the 32-bit maximum (see [`Side`]).
fn packets(held: u32, delta: u64, counters: &StoreCounters) -> u32 {
    u32::try_from(u64::from(held) + delta).unwrap_or_else(|_| {
        bump(&counters.packet_delta_saturated);
        u32::MAX
    })
}

/// The counters of a record as one side's first report.
fn side_of(record: &Flow, counters: &StoreCounters) -> Side {
    let seconds = u64::from(record.flow_end.saturating_sub(record.flow_start));
    let rate = |octets: u64| octets.saturating_mul(8).checked_div(seconds).unwrap_or(0);
    Side {
        packet_total: record.packet_total,
        octet_total: record.octet_total,
        reverse_packet_total: record.reverse_packet_total,
        reverse_octet_total: record.reverse_octet_total,
        packet_delta: packets(0, record.packet_delta, counters),
        octet_delta: record.octet_delta,
        reverse_packet_delta: packets(0, record.reverse_packet_delta, counters),
        reverse_octet_delta: record.reverse_octet_delta,
        throughput: rate(record.octet_total),
        reverse_throughput: rate(record.reverse_octet_total),
        end: record.flow_end,
    }
}

/// The reference's `aggregateRecords` for the given sides; false when the record was too old to
/// count for any of them.
fn aggregate(
    state: &mut State,
    record: &Flow,
    sides: &[usize],
    tcp_state: u16,
    count_same_second: bool,
    counters: &StoreCounters,
) -> bool {
    let latest = record.flow_end >= state.flow_end;
    if latest {
        state.flow_end = record.flow_end;
    }
    let mut counted = false;
    for &i in sides {
        let side = &mut state.sides[i];
        let previous_end = if side.end == 0 { record.flow_start } else { side.end };
        let newer = record.flow_end > previous_end || side.end == 0;
        // The reference stops here; flowctl counts the record's deltas whatever its order (its
        // totals cannot pull the side's back).
        if !newer && !count_same_second {
            continue;
        }
        counted = true;
        if newer {
            let seconds = u64::from(record.flow_end.saturating_sub(previous_end));
            let rate = |now: u64, before: u64| now.saturating_sub(before).saturating_mul(8).checked_div(seconds);
            if let Some(t) = rate(record.octet_total, side.octet_total) {
                side.throughput = t;
            }
            if let Some(t) = rate(record.reverse_octet_total, side.reverse_octet_total) {
                side.reverse_throughput = t;
            }
            side.end = record.flow_end;
        }
        side.packet_total = side.packet_total.max(record.packet_total);
        side.octet_total = side.octet_total.max(record.octet_total);
        side.reverse_packet_total = side.reverse_packet_total.max(record.reverse_packet_total);
        side.reverse_octet_total = side.reverse_octet_total.max(record.reverse_octet_total);
        side.packet_delta = packets(side.packet_delta, record.packet_delta, counters);
        side.octet_delta += record.octet_delta;
        side.reverse_packet_delta = packets(side.reverse_packet_delta, record.reverse_packet_delta, counters);
        side.reverse_octet_delta += record.reverse_octet_delta;
    }
    if counted {
        if state.end_reason != END_OF_FLOW {
            state.end_reason = record.end_reason;
        }
        if latest {
            state.tcp_state = tcp_state;
        }
    }
    counted
}

/// The shard of a key's hash: bits the shard's own table uses neither for its bucket (the low
/// bits) nor for its tag (the top seven), so neither loses entropy within a shard.
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize % SHARDS
}

/// The flows of aggregate mode, sharded by key.
pub struct AggregationStore {
    config: StoreConfig,
    shards: Box<[Mutex<Shard>]>,
    hasher: hashbrown::DefaultHashBuilder,
    pub counters: StoreCounters,
}

impl AggregationStore {
    pub fn new(config: StoreConfig) -> Self {
        AggregationStore {
            config,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: hashbrown::DefaultHashBuilder::default(),
            counters: StoreCounters::default(),
        }
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx { config: &self.config, counters: &self.counters, hasher: &self.hasher }
    }

    fn shard(&self, i: usize) -> std::sync::MutexGuard<'_, Shard> {
        // A panic while a shard was locked leaves it consistent enough to keep serving: every
        // mutation is completed before the next one starts.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one record at `now` (seconds on the engine's clock). A record the store cannot keep
    /// (it is full) is put in `overflow` to be exported as it is.
    pub fn observe(&self, record: &Flow, now: u32, overflow: &mut Vec<Flow>) {
        bump(&self.counters.records);
        if record.flow_start == 0 && record.flow_end == 0 {
            bump(&self.counters.no_timestamps);
            return;
        }
        let key = FlowKey::of(record);
        let hash = self.hasher.hash_one(key);
        self.shard(shard_of(hash)).observe(&self.ctx(), record, key, hash, now, overflow);
    }

    /// Exports into `out` every flow due at `now` and forgets those that expired.
    pub fn expire(&self, now: u32, out: &mut Vec<Flow>) {
        let ctx = self.ctx();
        for i in 0..SHARDS {
            self.shard(i).expire(&ctx, now, out, usize::MAX);
        }
    }

    /// Exports every flow with unexported data, as at shutdown.
    pub fn drain(&self, out: &mut Vec<Flow>) {
        let ctx = self.ctx();
        for i in 0..SHARDS {
            let mut shard = self.shard(i);
            for index in 0..shard.slab.len() as u32 {
                let flags = shard.slab[index as usize].flags;
                if flags & FREE == 0 && flags & UPDATED != 0 {
                    if flags & READY == 0 {
                        bump(&self.counters.unmatched_exported);
                    }
                    out.push(shard.export(&ctx, index));
                }
            }
        }
    }

    /// Every tracked flow for which `keep` says yes, as it would be exported now.
    pub fn records(&self, mut keep: impl FnMut(&FlowKey) -> bool) -> Vec<Flow> {
        let mut out = Vec::new();
        for i in 0..SHARDS {
            let shard = self.shard(i);
            for (index, state) in shard.slab.iter().enumerate() {
                if state.flags & FREE == 0 && keep(&state.key) {
                    let mut flow = Flow::default();
                    shard.fill(index as u32, &mut flow);
                    out.push(flow);
                }
            }
        }
        out
    }

    /// The flow kept under `key`, if any: the exact lookup of a query naming all five fields.
    pub fn record(&self, key: &FlowKey) -> Option<Flow> {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(shard_of(hash));
        let index = shard.find(key, hash)?;
        let mut flow = Flow::default();
        shard.fill(index, &mut flow);
        Some(flow)
    }

    pub fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.shard(i).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct interned metadata sets, for the memory figures.
    pub fn metadata_sets(&self) -> usize {
        (0..SHARDS).map(|i| self.shard(i).metas.len()).sum()
    }

    /// Bytes one tracked flow takes in a shard's slab.
    pub const fn state_bytes() -> usize {
        std::mem::size_of::<State>()
    }

    pub const fn shards() -> usize {
        SHARDS
    }

    /// [`expire`](Self::expire) one shard, handing `emit` at most `chunk` records at a time (the
    /// shard is not locked meanwhile), so what goes out at once stays small.
    pub fn expire_shard(&self, shard: usize, now: u32, chunk: usize, mut emit: impl FnMut(&mut Vec<Flow>)) {
        let ctx = self.ctx();
        let mut out = Vec::with_capacity(chunk.min(1024));
        loop {
            let more = self.shard(shard).expire(&ctx, now, &mut out, chunk);
            emit(&mut out);
            if !more {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests;
