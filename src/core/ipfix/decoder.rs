//! The collecting side of the codec: messages in, records out.
//!
//! Templates are scoped by transport session and observation domain (RFC 7011 §8): a
//! [`SessionKey`] names the session, and each (version, domain) inside it keeps its own
//! templates, sequence tracking, data waiting for a template, and counters. Records are handed
//! to a [`Visitor`] as views over the message bytes while the message is decoded, so the path
//! from bytes to a printed record allocates nothing.
//!
//! Everything that can grow is bounded per session (templates, bytes of template state, bytes
//! of data waiting for a template), and template state also in total across every decoder that
//! shares a [`TemplateBudget`]; what a bound refuses is counted and reported, never dropped
//! silently.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::error::DecodeError;
use super::message::{
    IPFIX_OPTIONS_TEMPLATE_SET, IPFIX_TEMPLATE_SET, Message, MessageHeader, NETFLOW_V9_VERSION, SetKind,
};
use super::record::{DataRecord, Records, RecordsError};
use super::template::{FIELD_BYTES, Template, TemplateAction, TemplateRecords};
use crate::core::time::Timestamp;

/// The transport a message travelled on; it decides the template rules (RFC 7011 §8, §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// Templates expire after their lifetime; withdrawals are ignored; a redefinition replaces.
    Udp,
    /// Templates live as long as the connection; a redefinition is a protocol error.
    Tcp,
    /// An RFC 5655 file: one session, templates live until redefined or withdrawn.
    File,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::File => "file",
        }
    }
}

/// Names a transport session. `source` tells apart inputs that could otherwise collide: two
/// files given to one `decode`, or two TCP connections from the same address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    pub source: u32,
    pub transport: Transport,
    pub exporter: Option<SocketAddr>,
    pub collector: Option<SocketAddr>,
}

/// Where a message came from: its frame in a capture (or message number in a file, or a
/// running count for live input), when it was seen, and by whom it was sent and received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub frame: u64,
    pub time: Timestamp,
    pub exporter: Option<SocketAddr>,
    pub collector: Option<SocketAddr>,
}

/// The origin and header of the message a record came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageMeta {
    pub origin: Origin,
    pub header: MessageHeader,
}

/// A record being handed out, with everything needed to print or forward it.
#[derive(Clone, Copy, Debug)]
pub struct RecordRef<'a> {
    pub meta: &'a MessageMeta,
    pub record: DataRecord<'a>,
    /// The record's template, shared, for consumers that keep records beyond this call.
    pub template: &'a Arc<Template>,
    /// The templates of the record's session and domain, for its sub-template lists.
    pub templates: &'a Templates,
    /// Decoded when its template arrived, after the message that carried it.
    pub late: bool,
}

/// Receives what the decoder finds.
pub trait Visitor {
    fn record(&mut self, record: &RecordRef<'_>);

    /// A template (or options template) was defined, re-sent or redefined.
    fn template(&mut self, _meta: &MessageMeta, _template: &Arc<Template>) {}

    /// Something was wrong with a message, or the decoder enforced a rule or a bound.
    fn problem(&mut self, _origin: &Origin, _error: &DecodeError) {}
}

/// Bytes of template state that all the decoders sharing it may hold together: the UDP threads
/// and TCP connections of one collector clone one config, and so one budget. A template's bytes
/// are charged when it is stored and given back when it is withdrawn, replaced, expired, or its
/// session or decoder ends.
#[derive(Clone, Debug)]
pub struct TemplateBudget {
    used: Arc<AtomicUsize>,
    limit: usize,
}

impl TemplateBudget {
    pub fn new(limit: usize) -> Self {
        TemplateBudget { used: Arc::new(AtomicUsize::new(0)), limit }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes charged now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn charge(&self, bytes: usize) -> Option<Charge> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let after = used.checked_add(bytes).filter(|&after| after <= self.limit)?;
            match self.used.compare_exchange_weak(used, after, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(Charge { used: self.used.clone(), bytes }),
                Err(now) => used = now,
            }
        }
    }
}

/// Bytes held against a [`TemplateBudget`], given back when dropped, so that no path that
/// forgets a template can leak the shared budget.
#[derive(Debug)]
struct Charge {
    used: Arc<AtomicUsize>,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.used.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// What storing `template` costs: the compiled template, its `Arc` counts and its slot in the
/// store.
fn stored_cost(template: &Template) -> usize {
    template.memory() + 2 * std::mem::size_of::<usize>() + std::mem::size_of::<(u16, TemplateEntry)>()
}

/// Limits and lifetimes.
#[derive(Clone, Debug)]
pub struct DecoderConfig {
    /// How long a template received over UDP stays valid without being re-sent (RFC 6728
    /// templateLifeTime); `None` keeps them forever.
    pub template_lifetime_secs: Option<u64>,
    pub max_templates_per_session: usize,
    /// Bytes of compiled templates one session may hold: the count bound alone lets one
    /// exporter hold gigabytes with templates of thousands of fields (issue #20).
    pub max_template_bytes_per_session: usize,
    /// Bytes of compiled templates all sessions together may hold.
    pub template_budget: TemplateBudget,
    /// Bytes of data sets a session may hold while waiting for their templates.
    pub max_pending_bytes_per_session: usize,
    /// How long a data set waits for its template before it is counted as expired.
    pub pending_timeout_secs: u64,
    /// Transport sessions held at once; a message that would open one more is refused and
    /// counted, so spoofed source addresses cannot grow memory without end.
    pub max_sessions: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            template_lifetime_secs: Some(1800),
            max_templates_per_session: 4096,
            max_template_bytes_per_session: 16 << 20,
            template_budget: TemplateBudget::new(256 << 20),
            max_pending_bytes_per_session: 4 << 20,
            pending_timeout_secs: 600,
            max_sessions: 65_536,
        }
    }
}

/// Counters of one observation domain of one session (or, for messages whose header could not
/// be read, of the session itself).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainStats {
    pub messages: u64,
    pub bytes: u64,
    pub template_records: u64,
    pub options_template_records: u64,
    pub withdrawals: u64,
    pub data_records: u64,
    pub options_records: u64,
    /// Data sets that arrived before their template.
    pub sets_waiting: u64,
    /// Records decoded when their template arrived later.
    pub late_records: u64,
    /// Data sets whose template never came in time, or that a bound refused.
    pub sets_expired: u64,
    pub malformed: u64,
    /// Times the sequence number was not the one expected.
    pub sequence_gaps: u64,
    /// Records (NetFlow v9: packets) the sequence numbers say were lost.
    pub lost: u64,
    pub templates_expired: u64,
    pub templates_refused: u64,
}

impl DomainStats {
    pub fn add(&mut self, o: &DomainStats) {
        self.messages += o.messages;
        self.bytes += o.bytes;
        self.template_records += o.template_records;
        self.options_template_records += o.options_template_records;
        self.withdrawals += o.withdrawals;
        self.data_records += o.data_records;
        self.options_records += o.options_records;
        self.sets_waiting += o.sets_waiting;
        self.late_records += o.late_records;
        self.sets_expired += o.sets_expired;
        self.malformed += o.malformed;
        self.sequence_gaps += o.sequence_gaps;
        self.lost += o.lost;
        self.templates_expired += o.templates_expired;
        self.templates_refused += o.templates_refused;
    }
}

#[derive(Debug)]
struct TemplateEntry {
    template: Arc<Template>,
    last_seen: i64,
    charge: Charge,
}

/// The templates of one session and domain.
#[derive(Default, Debug)]
pub struct Templates {
    map: HashMap<u16, TemplateEntry>,
}

impl Templates {
    pub fn get(&self, id: u16) -> Option<&Arc<Template>> {
        self.map.get(&id).map(|e| &e.template)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Template>> {
        self.map.values().map(|e| &e.template)
    }
}

struct Pending {
    meta: MessageMeta,
    template_id: u16,
    offset: usize,
    body: Box<[u8]>,
}

/// One observation domain of a session.
#[derive(Default)]
pub struct Domain {
    templates: Templates,
    /// The sequence number the next message should carry, when known.
    next_sequence: Option<u32>,
    pending: VecDeque<Pending>,
    pub stats: DomainStats,
}

impl Domain {
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Data sets still waiting for their templates.
    pub fn pending_sets(&self) -> usize {
        self.pending.len()
    }
}

/// One transport session.
pub struct Session {
    pub key: SessionKey,
    domains: HashMap<(u16, u32), Domain>,
    template_count: usize,
    /// Bytes of template state held, the sum of its templates' charges.
    template_bytes: usize,
    pending_bytes: usize,
    /// Counters of messages whose header could not be read.
    pub unparsed: DomainStats,
    /// When the last message arrived (the origin's time, seconds).
    pub last_seen: i64,
}

impl Session {
    /// Domains as ((version, domain id), state).
    pub fn domains(&self) -> impl Iterator<Item = ((u16, u32), &Domain)> {
        self.domains.iter().map(|(k, d)| (*k, d))
    }

    /// Bytes of template state the session holds.
    pub fn template_bytes(&self) -> usize {
        self.template_bytes
    }

    /// The session's counters, owned, domains in order.
    pub fn stats(&self) -> SessionStats {
        let mut domains: Vec<_> = self.domains.iter().map(|(k, d)| (*k, d.stats)).collect();
        domains.sort_by_key(|(k, _)| *k);
        SessionStats { key: self.key, domains, unparsed: self.unparsed, last_seen: self.last_seen }
    }
}

/// A session's counters, detached from the decoder (for summaries and metrics, and for
/// sessions that have ended).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionStats {
    pub key: SessionKey,
    /// ((version, observation domain), counters), ordered.
    pub domains: Vec<((u16, u32), DomainStats)>,
    /// Messages whose header could not be read.
    pub unparsed: DomainStats,
    pub last_seen: i64,
}

/// What decoding one message found, for callers that act on it (a TCP collector closes the
/// connection on a protocol error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageOutcome {
    /// Records handed out while decoding this message, late ones it released included.
    pub records: usize,
    pub malformed: bool,
    /// A template was redefined over TCP: RFC 7011 says the session must be reset.
    pub session_error: bool,
    /// The message would have opened a session beyond the bound; it was not decoded.
    pub refused: bool,
}

/// Decodes messages of any number of sessions.
#[derive(Default)]
pub struct Decoder {
    config: DecoderConfig,
    sessions: HashMap<SessionKey, Session>,
    /// Messages refused because the session bound was reached.
    refused_messages: u64,
}

impl Decoder {
    pub fn new(config: DecoderConfig) -> Self {
        Decoder { config, sessions: HashMap::new(), refused_messages: 0 }
    }

    /// Messages not decoded because they would have opened a session beyond the bound.
    pub fn refused_messages(&self) -> u64 {
        self.refused_messages
    }

    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    pub fn session(&self, key: &SessionKey) -> Option<&Session> {
        self.sessions.get(key)
    }

    /// Decodes one message of session `key`, handing records and problems to `visitor`.
    pub fn decode<V: Visitor>(
        &mut self,
        key: &SessionKey,
        origin: Origin,
        bytes: &[u8],
        visitor: &mut V,
    ) -> MessageOutcome {
        let config = &self.config;
        let mut outcome = MessageOutcome::default();
        let full = self.sessions.len() >= config.max_sessions;
        // One lookup per message: hashing the key is a tenth of a three-field decode.
        let session = match self.sessions.entry(*key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(_) if full => {
                self.refused_messages += 1;
                outcome.refused = true;
                let limit = config.max_sessions;
                visitor.problem(&origin, &DecodeError::SessionLimit { limit });
                return outcome;
            }
            Entry::Vacant(e) => e.insert(Session {
                key: *key,
                domains: HashMap::new(),
                template_count: 0,
                template_bytes: 0,
                pending_bytes: 0,
                unparsed: DomainStats::default(),
                last_seen: origin.time.secs,
            }),
        };
        session.last_seen = session.last_seen.max(origin.time.secs);
        let (message, notice) = match Message::parse(bytes) {
            Ok(parsed) => parsed,
            Err(e) => {
                session.unparsed.messages += 1;
                session.unparsed.bytes += bytes.len() as u64;
                session.unparsed.malformed += 1;
                visitor.problem(&origin, &e);
                outcome.malformed = true;
                return outcome;
            }
        };
        let meta = MessageMeta { origin, header: message.header };
        let domain_key = (meta.header.version, meta.header.domain);
        let mut ctx = Ctx {
            config,
            transport: key.transport,
            template_count: &mut session.template_count,
            template_bytes: &mut session.template_bytes,
            pending_bytes: &mut session.pending_bytes,
            meta: &meta,
            outcome: &mut outcome,
        };
        let domain = session.domains.entry(domain_key).or_default();
        domain.stats.messages += 1;
        domain.stats.bytes += bytes.len() as u64;
        if let Some(notice) = notice {
            ctx.problem(visitor, notice);
        }
        expire_pending(&mut ctx, domain, visitor);

        let mut countable = true;
        let mut records_in_message = 0u64;
        for set in message.sets() {
            let set = match set {
                Ok(set) => set,
                Err(e) => {
                    ctx.problem(visitor, e);
                    countable = false;
                    break;
                }
            };
            match set.kind {
                SetKind::Template | SetKind::OptionsTemplate => {
                    let options = set.kind == SetKind::OptionsTemplate;
                    let base = set.offset + 4;
                    for rec in TemplateRecords::new(meta.header.version, options, set.body, base) {
                        match rec {
                            Ok(rec) => ctx.template_record(domain, visitor, rec, options),
                            Err(e) => ctx.problem(visitor, e),
                        }
                    }
                }
                SetKind::Data(template_id) => {
                    let found = ctx.lookup(domain, template_id);
                    match found {
                        Some(template) => {
                            let n = emit_set(&mut ctx, domain, visitor, &template, set.offset, set.body, &meta, false);
                            records_in_message += n as u64;
                        }
                        None => {
                            countable = false;
                            ctx.hold(domain, visitor, template_id, set.offset, set.body);
                        }
                    }
                }
                SetKind::Reserved => {
                    ctx.problem(visitor, DecodeError::ReservedSetId { offset: set.offset, set_id: set.id });
                }
            }
        }
        track_sequence(domain, &meta.header, countable.then_some(records_in_message));
        if outcome.malformed {
            domain.stats.malformed += 1;
        }
        outcome
    }

    /// Ends one session (a TCP connection closed): data still waiting for templates expires.
    pub fn close_session<V: Visitor>(&mut self, key: &SessionKey, visitor: &mut V) -> Option<Session> {
        let mut session = self.sessions.remove(key)?;
        for domain in session.domains.values_mut() {
            drain_pending(domain, visitor, None);
        }
        session.pending_bytes = 0;
        Some(session)
    }

    /// Ends the sessions that have been silent since before `cutoff` (seconds): an exporter that
    /// restarts comes back on a new source port, so its old UDP sessions would otherwise stay.
    /// Returns the sessions ended, with their final counters.
    pub fn expire_idle<V: Visitor>(&mut self, cutoff: i64, visitor: &mut V) -> Vec<Session> {
        let idle: Vec<SessionKey> = self.sessions.values().filter(|s| s.last_seen < cutoff).map(|s| s.key).collect();
        idle.iter().filter_map(|k| self.close_session(k, visitor)).collect()
    }

    /// Ends the input: every data set still waiting for a template is counted as expired.
    pub fn finish<V: Visitor>(&mut self, visitor: &mut V) {
        for session in self.sessions.values_mut() {
            for domain in session.domains.values_mut() {
                drain_pending(domain, visitor, None);
            }
            session.pending_bytes = 0;
        }
    }
}

/// Per-message state threaded through the set handlers.
struct Ctx<'c> {
    config: &'c DecoderConfig,
    transport: Transport,
    template_count: &'c mut usize,
    template_bytes: &'c mut usize,
    pending_bytes: &'c mut usize,
    meta: &'c MessageMeta,
    outcome: &'c mut MessageOutcome,
}

impl Ctx<'_> {
    fn problem<V: Visitor>(&mut self, visitor: &mut V, error: DecodeError) {
        if error.is_malformed() {
            self.outcome.malformed = true;
        }
        if matches!(error, DecodeError::TemplateRedefined { .. }) {
            self.outcome.session_error = true;
        }
        visitor.problem(&self.meta.origin, &error);
    }

    /// The template for a data set, unless it outlived its UDP lifetime.
    fn lookup(&mut self, domain: &mut Domain, id: u16) -> Option<Arc<Template>> {
        let now = self.meta.origin.time.secs;
        let entry = domain.templates.map.get(&id)?;
        if self.transport == Transport::Udp
            && let Some(lifetime) = self.config.template_lifetime_secs
            && now.saturating_sub(entry.last_seen) > lifetime as i64
        {
            self.forget(domain, id);
            domain.stats.templates_expired += 1;
            return None;
        }
        Some(entry.template.clone())
    }

    fn template_record<V: Visitor>(
        &mut self,
        domain: &mut Domain,
        visitor: &mut V,
        rec: super::template::TemplateRecord<'_>,
        options: bool,
    ) {
        let now = self.meta.origin.time.secs;
        match rec.action {
            TemplateAction::Withdraw => {
                domain.stats.withdrawals += 1;
                if self.transport == Transport::Udp {
                    let e = DecodeError::WithdrawalOverUdp { offset: rec.offset, template_id: rec.id };
                    return self.problem(visitor, e);
                }
                let all =
                    (!options && rec.id == IPFIX_TEMPLATE_SET) || (options && rec.id == IPFIX_OPTIONS_TEMPLATE_SET);
                if all {
                    let (count, bytes) = (&mut *self.template_count, &mut *self.template_bytes);
                    domain.templates.map.retain(|_, e| {
                        let keep = e.template.is_options() != options;
                        if !keep {
                            *count -= 1;
                            *bytes -= e.charge.bytes;
                        }
                        keep
                    });
                } else if !self.forget(domain, rec.id) {
                    let e = DecodeError::WithdrawalOfUnknown { offset: rec.offset, template_id: rec.id };
                    self.problem(visitor, e);
                }
            }
            TemplateAction::Define(specs) => {
                if options {
                    domain.stats.options_template_records += 1;
                } else {
                    domain.stats.template_records += 1;
                }
                if let Some(entry) = domain.templates.map.get_mut(&rec.id) {
                    if entry.template.scope_count == rec.scope_count && entry.template.same_fields(specs.iter()) {
                        entry.last_seen = now;
                        let template = entry.template.clone();
                        visitor.template(self.meta, &template);
                        return;
                    }
                    if self.transport == Transport::Tcp {
                        let e = DecodeError::TemplateRedefined {
                            offset: rec.offset,
                            template_id: rec.id,
                            transport: self.transport.name(),
                        };
                        self.problem(visitor, e);
                    }
                    // The old definition goes whether or not the new one fits: its records
                    // would be read with the wrong layout.
                    self.forget(domain, rec.id);
                }
                if *self.template_count >= self.config.max_templates_per_session {
                    let limit = self.config.max_templates_per_session;
                    let e = DecodeError::TemplateLimit { offset: rec.offset, template_id: rec.id, limit };
                    return self.refuse(domain, visitor, e);
                }
                // Refused before compiling when even its fields alone cannot fit, so a flood of
                // huge templates costs no compilation.
                let least = std::mem::size_of::<Template>() + specs.iter().len() * FIELD_BYTES;
                if let Err(e) = self.room(rec.offset, rec.id, least) {
                    return self.refuse(domain, visitor, e);
                }
                let template = Arc::new(Template::new(rec.id, rec.scope_count, specs.iter()));
                let cost = stored_cost(&template);
                if let Err(e) = self.room(rec.offset, rec.id, cost) {
                    return self.refuse(domain, visitor, e);
                }
                let Some(charge) = self.config.template_budget.charge(cost) else {
                    let limit = self.config.template_budget.limit();
                    let e =
                        DecodeError::TemplateBudgetLimit { offset: rec.offset, template_id: rec.id, need: cost, limit };
                    return self.refuse(domain, visitor, e);
                };
                let entry = TemplateEntry { template: template.clone(), last_seen: now, charge };
                domain.templates.map.insert(rec.id, entry);
                *self.template_count += 1;
                *self.template_bytes += cost;
                visitor.template(self.meta, &template);
                self.release_pending(domain, visitor, rec.id);
            }
        }
    }

    /// Whether `need` more bytes of template state fit the session's bound and what is left of
    /// the shared budget.
    fn room(&self, offset: usize, template_id: u16, need: usize) -> Result<(), DecodeError> {
        let limit = self.config.max_template_bytes_per_session;
        if *self.template_bytes + need > limit {
            return Err(DecodeError::TemplateBytesLimit { offset, template_id, need, limit });
        }
        let budget = &self.config.template_budget;
        if budget.used() + need > budget.limit() {
            return Err(DecodeError::TemplateBudgetLimit { offset, template_id, need, limit: budget.limit() });
        }
        Ok(())
    }

    fn refuse<V: Visitor>(&mut self, domain: &mut Domain, visitor: &mut V, error: DecodeError) {
        domain.stats.templates_refused += 1;
        self.problem(visitor, error);
    }

    /// Drops a template from the store, giving back its bytes; whether it was there.
    fn forget(&mut self, domain: &mut Domain, id: u16) -> bool {
        let Some(entry) = domain.templates.map.remove(&id) else {
            return false;
        };
        *self.template_count -= 1;
        *self.template_bytes -= entry.charge.bytes;
        true
    }

    /// Keeps a data set until its template arrives, within the session's byte bound.
    fn hold<V: Visitor>(&mut self, domain: &mut Domain, visitor: &mut V, template_id: u16, offset: usize, body: &[u8]) {
        domain.stats.sets_waiting += 1;
        let limit = self.config.max_pending_bytes_per_session;
        let cost = held_cost(body);
        if *self.pending_bytes + cost > limit {
            domain.stats.sets_expired += 1;
            return self.problem(visitor, DecodeError::PendingLimit { offset, template_id, limit });
        }
        *self.pending_bytes += cost;
        domain.pending.push_back(Pending { meta: *self.meta, template_id, offset, body: body.into() });
    }

    /// Decodes the held data sets of a template that just arrived, in the order they came.
    fn release_pending<V: Visitor>(&mut self, domain: &mut Domain, visitor: &mut V, template_id: u16) {
        if !domain.pending.iter().any(|p| p.template_id == template_id) {
            return;
        }
        let Some(template) = domain.templates.get(template_id).cloned() else {
            return;
        };
        let held = std::mem::take(&mut domain.pending);
        for p in held {
            if p.template_id != template_id {
                domain.pending.push_back(p);
                continue;
            }
            *self.pending_bytes -= held_cost(&p.body);
            let n = emit_set(self, domain, visitor, &template, p.offset, &p.body, &p.meta, true);
            domain.stats.late_records += n as u64;
        }
    }
}

/// What holding a data set costs against the session's bound: its bytes and its bookkeeping,
/// so that thousands of empty sets cannot be held for free.
fn held_cost(body: &[u8]) -> usize {
    body.len() + std::mem::size_of::<Pending>()
}

/// Hands the records of one data set to the visitor; returns how many there were.
#[allow(clippy::too_many_arguments)]
fn emit_set<V: Visitor>(
    ctx: &mut Ctx<'_>,
    domain: &mut Domain,
    visitor: &mut V,
    template: &Arc<Template>,
    offset: usize,
    body: &[u8],
    meta: &MessageMeta,
    late: bool,
) -> usize {
    let mut n = 0usize;
    let mut records = Records::new(template, body);
    let mut failure = None;
    for rec in records.by_ref() {
        match rec {
            Ok(record) => {
                n += 1;
                visitor.record(&RecordRef { meta, record, template, templates: &domain.templates, late });
            }
            Err(e) => failure = Some(e),
        }
    }
    ctx.outcome.records += n;
    if template.is_options() {
        domain.stats.options_records += n as u64;
    } else {
        domain.stats.data_records += n as u64;
    }
    match failure {
        Some(RecordsError::Truncated { index }) => {
            ctx.problem(visitor, DecodeError::TruncatedRecord { offset, template_id: template.id, index });
        }
        Some(RecordsError::ZeroLength) => {
            ctx.problem(visitor, DecodeError::ZeroLengthRecords { offset, template_id: template.id });
        }
        None => {
            let rest = records.remainder();
            if rest.iter().any(|&b| b != 0) {
                let e = DecodeError::NonZeroPadding { offset, template_id: template.id, trailing: rest.len() };
                ctx.problem(visitor, e);
            }
        }
    }
    n
}

/// Data sets that waited longer than the timeout are counted as expired.
fn expire_pending<V: Visitor>(ctx: &mut Ctx<'_>, domain: &mut Domain, visitor: &mut V) {
    let Some(front) = domain.pending.front() else {
        return;
    };
    let deadline = ctx.meta.origin.time.secs.saturating_sub(ctx.config.pending_timeout_secs as i64);
    if front.meta.origin.time.secs >= deadline {
        return;
    }
    let freed: usize =
        domain.pending.iter().filter(|p| p.meta.origin.time.secs < deadline).map(|p| held_cost(&p.body)).sum();
    *ctx.pending_bytes -= freed;
    drain_pending(domain, visitor, Some(deadline));
}

/// Expires held data sets older than `deadline` (all of them when `None`), reporting one
/// problem per template id.
fn drain_pending<V: Visitor>(domain: &mut Domain, visitor: &mut V, deadline: Option<i64>) {
    let mut expired: Vec<(u16, usize, Origin)> = Vec::new();
    domain.pending.retain(|p| {
        if deadline.is_some_and(|d| p.meta.origin.time.secs >= d) {
            return true;
        }
        match expired.iter_mut().find(|(id, _, _)| *id == p.template_id) {
            Some(entry) => entry.1 += 1,
            None => expired.push((p.template_id, 1, p.meta.origin)),
        }
        false
    });
    for (template_id, sets, origin) in expired {
        domain.stats.sets_expired += sets as u64;
        visitor.problem(&origin, &DecodeError::PendingExpired { template_id, sets });
    }
}

/// Compares the header's sequence number with the one expected and remembers the next. IPFIX
/// counts data records before the message; NetFlow v9 counts packets.
fn track_sequence(domain: &mut Domain, header: &MessageHeader, records: Option<u64>) {
    if let Some(expected) = domain.next_sequence {
        let ahead = header.sequence.wrapping_sub(expected);
        if ahead != 0 {
            domain.stats.sequence_gaps += 1;
            // A small step forward is loss; a huge one is a step back (reordering or restart).
            if ahead < 1 << 31 {
                domain.stats.lost += ahead as u64;
            }
        }
    }
    domain.next_sequence = if header.version == NETFLOW_V9_VERSION {
        Some(header.sequence.wrapping_add(1))
    } else {
        records.map(|n| header.sequence.wrapping_add(n as u32))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ipfix::encoder::MessageWriter;
    use crate::core::ipfix::template::FieldSpec;
    use crate::core::ipfix::value::Value;

    #[derive(Default)]
    struct Seen {
        records: Vec<(u64, u16, Vec<String>, bool)>,
        problems: Vec<DecodeError>,
    }

    impl Visitor for Seen {
        fn record(&mut self, r: &RecordRef<'_>) {
            let values = (0..r.record.template.fields.len())
                .map(|i| format!("{:?}", r.record.value(i).unwrap_or(Value::Absent)))
                .collect();
            self.records.push((r.meta.origin.frame, r.record.template.id, values, r.late));
        }
        fn problem(&mut self, _origin: &Origin, error: &DecodeError) {
            self.problems.push(*error);
        }
    }

    fn key(transport: Transport) -> SessionKey {
        SessionKey {
            source: 0,
            transport,
            exporter: Some("192.0.2.1:50000".parse().unwrap()),
            collector: Some("192.0.2.2:4739".parse().unwrap()),
        }
    }

    fn origin(frame: u64, secs: i64) -> Origin {
        Origin { frame, time: Timestamp::from_secs(secs), exporter: None, collector: None }
    }

    fn ports() -> Template {
        Template::new(256, 0, [FieldSpec::iana(7, 2), FieldSpec::iana(11, 2)])
    }

    fn template_message(seq: u32, t: &Template) -> Vec<u8> {
        let mut m = MessageWriter::ipfix(0, seq, 1);
        m.begin_template_set(t.is_options());
        m.template(t);
        m.finish()
    }

    fn data_message(seq: u32, id: u16, ports: &[(u16, u16)]) -> Vec<u8> {
        let mut m = MessageWriter::ipfix(0, seq, 1);
        m.begin_set(id);
        for &(s, d) in ports {
            m.record().unsigned(s as u64, 2).unsigned(d as u64, 2);
        }
        m.finish()
    }

    fn stats(d: &Decoder, k: &SessionKey) -> DomainStats {
        *d.session(k).unwrap().domains().map(|(_, d)| &d.stats).next().unwrap()
    }

    #[test]
    fn template_and_data_in_one_message() {
        let t = ports();
        let mut m = MessageWriter::ipfix(0, 0, 1);
        m.begin_template_set(false);
        m.template(&t);
        m.begin_set(256);
        m.record().unsigned(1234, 2).unsigned(80, 2);
        m.record().unsigned(1235, 2).unsigned(443, 2);
        let bytes = m.finish();
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Udp));
        let outcome = d.decode(&k, origin(1, 100), &bytes, &mut seen);
        assert_eq!(outcome.records, 2);
        assert_eq!(seen.records.len(), 2);
        assert_eq!(seen.records[1].2, ["Unsigned(1235)", "Unsigned(443)"]);
        assert!(seen.problems.is_empty());
        let s = stats(&d, &k);
        assert_eq!((s.messages, s.template_records, s.data_records), (1, 1, 2));
    }

    #[test]
    fn data_before_its_template_is_decoded_late_with_its_own_frame() {
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Udp));
        d.decode(&k, origin(1, 100), &data_message(0, 256, &[(1, 2)]), &mut seen);
        assert!(seen.records.is_empty());
        d.decode(&k, origin(2, 101), &template_message(1, &ports()), &mut seen);
        assert_eq!(seen.records, [(1, 256, vec!["Unsigned(1)".into(), "Unsigned(2)".into()], true)]);
        let s = stats(&d, &k);
        assert_eq!((s.sets_waiting, s.late_records, s.data_records, s.sets_expired), (1, 1, 1, 0));
    }

    #[test]
    fn data_waiting_too_long_or_at_the_end_expires_and_is_counted() {
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Udp));
        d.decode(&k, origin(1, 100), &data_message(0, 300, &[(1, 2)]), &mut seen);
        d.decode(&k, origin(2, 100 + 601), &data_message(0, 301, &[(1, 2)]), &mut seen);
        assert_eq!(seen.problems, [DecodeError::PendingExpired { template_id: 300, sets: 1 }]);
        d.finish(&mut seen);
        assert_eq!(seen.problems[1], DecodeError::PendingExpired { template_id: 301, sets: 1 });
        assert_eq!(stats(&d, &k).sets_expired, 2);
    }

    #[test]
    fn pending_data_is_bounded_per_session() {
        let limit = 8 + std::mem::size_of::<Pending>() + 4;
        let config = DecoderConfig { max_pending_bytes_per_session: limit, ..Default::default() };
        let (mut d, mut seen, k) = (Decoder::new(config), Seen::default(), key(Transport::Udp));
        d.decode(&k, origin(1, 0), &data_message(0, 256, &[(1, 2), (3, 4)]), &mut seen);
        d.decode(&k, origin(2, 0), &data_message(0, 256, &[(5, 6), (7, 8)]), &mut seen);
        assert!(matches!(seen.problems[..], [DecodeError::PendingLimit { template_id: 256, .. }]));
        d.decode(&k, origin(3, 0), &template_message(0, &ports()), &mut seen);
        assert_eq!(seen.records.len(), 2, "the set that fit is still decoded");
        assert_eq!(stats(&d, &k).sets_expired, 1);
    }

    #[test]
    fn empty_data_sets_waiting_for_a_template_count_against_the_bound() {
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Udp));
        let mut m = MessageWriter::ipfix(0, 0, 1);
        for _ in 0..16_000 {
            m.begin_set(999);
        }
        let bytes = m.finish();
        for frame in 0..20 {
            d.decode(&k, origin(frame, 0), &bytes, &mut seen);
        }
        let held: usize = d.session(&k).unwrap().domains().map(|(_, d)| d.pending_sets()).sum();
        let bound = DecoderConfig::default().max_pending_bytes_per_session;
        assert!(held * std::mem::size_of::<Pending>() <= bound, "{held} empty sets held");
        assert!(stats(&d, &k).sets_expired > 0);
    }

    #[test]
    fn closing_a_tcp_session_expires_what_it_held_and_forgets_its_templates() {
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Tcp));
        d.decode(&k, origin(1, 0), &template_message(0, &ports()), &mut seen);
        d.decode(&k, origin(2, 0), &data_message(0, 300, &[(1, 2)]), &mut seen);
        let closed = d.close_session(&k, &mut seen).expect("the session existed");
        assert_eq!(closed.domains().map(|(_, d)| d.stats.sets_expired).sum::<u64>(), 1);
        assert_eq!(seen.problems, [DecodeError::PendingExpired { template_id: 300, sets: 1 }]);
        assert!(d.session(&k).is_none());
        // A reconnection from the same address and port starts without templates.
        d.decode(&k, origin(3, 0), &data_message(0, 256, &[(1, 2)]), &mut seen);
        assert!(seen.records.is_empty());
    }

    #[test]
    fn sessions_are_bounded_and_idle_ones_end() {
        let config = DecoderConfig { max_sessions: 2, ..Default::default() };
        let (mut d, mut seen) = (Decoder::new(config), Seen::default());
        let at = |port: u16| SessionKey {
            exporter: Some(format!("192.0.2.1:{port}").parse().unwrap()),
            ..key(Transport::Udp)
        };
        d.decode(&at(1), origin(1, 100), &template_message(0, &ports()), &mut seen);
        d.decode(&at(2), origin(2, 200), &template_message(0, &ports()), &mut seen);
        let refused = d.decode(&at(3), origin(3, 300), &template_message(0, &ports()), &mut seen);
        assert!(refused.refused);
        assert_eq!(d.refused_messages(), 1);
        assert_eq!(seen.problems, [DecodeError::SessionLimit { limit: 2 }]);
        // The first exporter has been silent since 100: it ends, and room is made.
        let ended = d.expire_idle(150, &mut seen);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].key, at(1));
        assert!(!d.decode(&at(3), origin(4, 300), &template_message(0, &ports()), &mut seen).refused);
    }

    #[test]
    fn udp_templates_expire_after_their_lifetime() {
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Udp));
        d.decode(&k, origin(1, 0), &template_message(0, &ports()), &mut seen);
        d.decode(&k, origin(2, 1800), &data_message(0, 256, &[(1, 2)]), &mut seen);
        assert_eq!(seen.records.len(), 1);
        d.decode(&k, origin(3, 1801), &data_message(1, 256, &[(1, 2)]), &mut seen);
        assert_eq!(seen.records.len(), 1, "the template outlived its 1800 s lifetime");
        assert_eq!(stats(&d, &k).templates_expired, 1);
        // Over TCP the same template lives as long as the connection.
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Tcp));
        d.decode(&k, origin(1, 0), &template_message(0, &ports()), &mut seen);
        d.decode(&k, origin(2, 100_000), &data_message(0, 256, &[(1, 2)]), &mut seen);
        assert_eq!(seen.records.len(), 1);
    }

    fn withdrawal(id: u16) -> Vec<u8> {
        let mut m = MessageWriter::ipfix(0, 0, 1);
        m.begin_template_set(false);
        m.withdraw(id);
        m.finish()
    }

    #[test]
    fn withdrawals_apply_over_tcp_and_are_ignored_over_udp() {
        for (transport, kept) in [(Transport::Udp, true), (Transport::Tcp, false)] {
            let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(transport));
            d.decode(&k, origin(1, 0), &template_message(0, &ports()), &mut seen);
            d.decode(&k, origin(2, 0), &withdrawal(256), &mut seen);
            d.decode(&k, origin(3, 0), &data_message(0, 256, &[(1, 2)]), &mut seen);
            assert_eq!(seen.records.len() == 1, kept, "{transport:?}");
        }
        // Template id 2 in a template set withdraws every data template.
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::File));
        d.decode(&k, origin(1, 0), &template_message(0, &ports()), &mut seen);
        let other = Template::new(257, 0, [FieldSpec::iana(4, 1)]);
        d.decode(&k, origin(2, 0), &template_message(0, &other), &mut seen);
        d.decode(&k, origin(3, 0), &withdrawal(2), &mut seen);
        let domain = d.session(&k).unwrap().domains().next().unwrap().1;
        assert!(domain.templates().is_empty());
    }

    #[test]
    fn redefinition_replaces_over_udp_and_is_a_session_error_over_tcp() {
        let other = Template::new(256, 0, [FieldSpec::iana(4, 1)]);
        for transport in [Transport::Udp, Transport::Tcp] {
            let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(transport));
            d.decode(&k, origin(1, 0), &template_message(0, &ports()), &mut seen);
            let refresh = d.decode(&k, origin(2, 0), &template_message(0, &ports()), &mut seen);
            assert!(!refresh.session_error && !refresh.malformed, "an identical re-send is a refresh");
            let outcome = d.decode(&k, origin(3, 0), &template_message(0, &other), &mut seen);
            assert_eq!(outcome.session_error, transport == Transport::Tcp);
            let mut m = MessageWriter::ipfix(0, 0, 1);
            m.begin_set(256);
            m.record().unsigned(17, 1);
            d.decode(&k, origin(4, 0), &m.finish(), &mut seen);
            assert_eq!(seen.records[0].2, ["Unsigned(17)"], "{transport:?}: the new definition decodes");
        }
    }

    #[test]
    fn templates_per_session_are_bounded() {
        let config = DecoderConfig { max_templates_per_session: 2, ..Default::default() };
        let (mut d, mut seen, k) = (Decoder::new(config), Seen::default(), key(Transport::Udp));
        for id in 256..260 {
            let t = Template::new(id, 0, [FieldSpec::iana(4, 1)]);
            d.decode(&k, origin(1, 0), &template_message(0, &t), &mut seen);
        }
        assert_eq!(stats(&d, &k).templates_refused, 2);
        assert_eq!(seen.problems.len(), 2);
    }

    /// A template of `fields` elements unknown to the registry, like a hostile exporter sends.
    fn wide(id: u16, fields: u16) -> Template {
        Template::new(id, 0, (0..fields).map(|i| FieldSpec::iana(1000 + i, 4)))
    }

    fn held(d: &Decoder, k: &SessionKey) -> usize {
        d.session(k).map_or(0, |s| s.template_bytes())
    }

    /// Issue #20: templates were bounded in count only, so one session could hold gigabytes in
    /// a few hundred templates of thousands of fields.
    #[test]
    fn template_bytes_are_bounded_per_session_not_only_in_count() {
        let one = stored_cost(&wide(256, 1000));
        let config = DecoderConfig { max_template_bytes_per_session: one * 2 + one / 2, ..Default::default() };
        let (mut d, mut seen, k) = (Decoder::new(config), Seen::default(), key(Transport::Udp));
        for id in 256..260 {
            d.decode(&k, origin(1, 0), &template_message(0, &wide(id, 1000)), &mut seen);
        }
        assert_eq!(stats(&d, &k).templates_refused, 2);
        assert!(matches!(seen.problems[..], [DecodeError::TemplateBytesLimit { template_id: 258, .. }, _]));
        assert_eq!(held(&d, &k), one * 2);
        // A small template still fits, and decodes.
        d.decode(
            &k,
            origin(2, 0),
            &template_message(0, &Template::new(300, 0, [FieldSpec::iana(7, 2), FieldSpec::iana(11, 2)])),
            &mut seen,
        );
        d.decode(&k, origin(3, 0), &data_message(0, 300, &[(1, 2)]), &mut seen);
        assert_eq!(seen.records.len(), 1);
        // Data for a refused template waits, as for any template not known.
        d.decode(&k, origin(4, 0), &data_message(0, 259, &[(1, 2)]), &mut seen);
        assert_eq!(stats(&d, &k).sets_waiting, 1);
    }

    /// Issue #20: every further exporter port multiplied the memory templates could take.
    #[test]
    fn template_budget_is_shared_by_decoders_and_given_back_when_a_session_ends() {
        let one = stored_cost(&wide(256, 1000));
        let config = DecoderConfig { template_budget: TemplateBudget::new(one + one / 2), ..Default::default() };
        let budget = config.template_budget.clone();
        let (mut a, mut b, mut seen, k) =
            (Decoder::new(config.clone()), Decoder::new(config), Seen::default(), key(Transport::Tcp));
        a.decode(&k, origin(1, 0), &template_message(0, &wide(256, 1000)), &mut seen);
        assert_eq!(budget.used(), one);
        b.decode(&k, origin(1, 0), &template_message(0, &wide(256, 1000)), &mut seen);
        assert!(matches!(seen.problems[..], [DecodeError::TemplateBudgetLimit { template_id: 256, .. }]));
        assert_eq!(stats(&b, &k).templates_refused, 1);
        a.close_session(&k, &mut seen);
        assert_eq!(budget.used(), 0, "an ended session gives its bytes back");
        b.decode(&k, origin(2, 0), &template_message(0, &wide(256, 1000)), &mut seen);
        assert_eq!(budget.used(), one);
        assert_eq!(stats(&b, &k).templates_refused, 1, "the same template fits once the budget is back");
        drop(b);
        assert_eq!(budget.used(), 0, "so does a decoder that ends");
    }

    /// Issue #20: the budget must not leak when templates go, or it fills up for good.
    #[test]
    fn template_bytes_are_given_back_on_withdrawal_replacement_and_expiry() {
        let config = DecoderConfig::default();
        let budget = config.template_budget.clone();
        let (mut d, mut seen, k) = (Decoder::new(config.clone()), Seen::default(), key(Transport::Tcp));
        d.decode(&k, origin(1, 0), &template_message(0, &wide(256, 100)), &mut seen);
        d.decode(&k, origin(1, 0), &template_message(0, &wide(257, 100)), &mut seen);
        d.decode(&k, origin(2, 0), &withdrawal(256), &mut seen);
        assert_eq!((held(&d, &k), budget.used()), (stored_cost(&wide(257, 100)), stored_cost(&wide(257, 100))));
        d.decode(&k, origin(3, 0), &withdrawal(2), &mut seen);
        assert_eq!((held(&d, &k), budget.used()), (0, 0));

        let (mut d, mut seen, k) = (Decoder::new(config), Seen::default(), key(Transport::Udp));
        d.decode(&k, origin(1, 0), &template_message(0, &wide(256, 100)), &mut seen);
        d.decode(&k, origin(2, 0), &template_message(0, &ports()), &mut seen);
        assert_eq!((held(&d, &k), budget.used()), (stored_cost(&ports()), stored_cost(&ports())), "replaced");
        d.decode(&k, origin(3, 1801), &data_message(0, 256, &[(1, 2)]), &mut seen);
        assert_eq!(stats(&d, &k).templates_expired, 1);
        assert_eq!((held(&d, &k), budget.used()), (0, 0), "expired");
    }

    #[test]
    fn sequence_numbers_count_data_records() {
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Udp));
        d.decode(&k, origin(1, 0), &template_message(0, &ports()), &mut seen);
        d.decode(&k, origin(2, 0), &data_message(0, 256, &[(1, 2), (3, 4)]), &mut seen);
        d.decode(&k, origin(3, 0), &data_message(2, 256, &[(1, 2)]), &mut seen);
        assert_eq!(stats(&d, &k).sequence_gaps, 0);
        d.decode(&k, origin(4, 0), &data_message(10, 256, &[(1, 2)]), &mut seen);
        let s = stats(&d, &k);
        assert_eq!((s.sequence_gaps, s.lost), (1, 7));
    }

    #[test]
    fn sessions_and_domains_keep_separate_templates() {
        let (mut d, mut seen) = (Decoder::default(), Seen::default());
        let a = key(Transport::Udp);
        let b = SessionKey { exporter: Some("192.0.2.1:50001".parse().unwrap()), ..a };
        d.decode(&a, origin(1, 0), &template_message(0, &ports()), &mut seen);
        d.decode(&b, origin(2, 0), &data_message(0, 256, &[(1, 2)]), &mut seen);
        assert!(seen.records.is_empty(), "an exporter restarted on a new port is a new session");
        let mut m = MessageWriter::ipfix(0, 0, 2);
        m.begin_set(256);
        m.record().unsigned(1, 2).unsigned(2, 2);
        d.decode(&a, origin(3, 0), &m.finish(), &mut seen);
        assert!(seen.records.is_empty(), "another observation domain has its own templates");
    }

    #[test]
    fn netflow_v9_messages_decode_through_the_same_machinery() {
        let t = Template::new(260, 0, [FieldSpec::iana(8, 4), FieldSpec::iana(2, 4)]);
        let mut m = MessageWriter::netflow_v9(5000, 1_600_000_000, 7, 42);
        m.begin_template_set(false);
        m.template(&t);
        m.begin_set(260);
        m.record().fixed(&[10, 0, 0, 1], 4).unsigned(9, 4);
        m.end_set_padded(4);
        let bytes = m.finish();
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Udp));
        d.decode(&k, origin(1, 0), &bytes, &mut seen);
        assert_eq!(seen.records[0].2, ["Ipv4(10.0.0.1)", "Unsigned(9)"]);
        let (version_and_domain, _) = d.session(&k).unwrap().domains().next().unwrap();
        assert_eq!(version_and_domain, (9, 42));
    }

    #[test]
    fn malformed_messages_are_counted_and_what_is_sound_is_still_decoded() {
        let t = ports();
        let mut m = MessageWriter::ipfix(0, 0, 1);
        m.begin_template_set(false);
        m.template(&t);
        m.begin_set(256);
        m.record().unsigned(1, 2).unsigned(2, 2);
        let mut bytes = m.finish();
        bytes.extend_from_slice(&[1, 0, 0, 40, 0, 0]);
        let len = bytes.len() as u16;
        bytes[2..4].copy_from_slice(&len.to_be_bytes());
        let (mut d, mut seen, k) = (Decoder::default(), Seen::default(), key(Transport::Udp));
        let outcome = d.decode(&k, origin(1, 0), &bytes, &mut seen);
        assert!(outcome.malformed);
        assert_eq!(seen.records.len(), 1);
        assert!(matches!(seen.problems[..], [DecodeError::BadSetLength { set_id: 256, length: 40, .. }]));
        assert_eq!(stats(&d, &k).malformed, 1);
        d.decode(&k, origin(2, 0), &[0, 10, 0], &mut seen);
        assert_eq!(d.session(&k).unwrap().unparsed.malformed, 1);
    }
}
