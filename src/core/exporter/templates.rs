//! The exporter's own templates, shared by every thread that encodes records and by the exporting
//! process that announces them. A template is registered once by its field list and keeps its id
//! for the life of the set; the set only grows (forwarded records can bring new field lists at any
//! time), up to the 65280 ids IPFIX has for templates.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, RwLock};

use super::ExportError;
use crate::core::ipfix::message::{IPFIX_HEADER_LEN, MIN_DATA_SET_ID, SET_HEADER_LEN};
use crate::core::ipfix::template::{FieldSpec, Template};
use crate::core::transport::MAX_MESSAGE_LEN;

/// The largest template record a message can carry (alone in its set).
pub const MAX_TEMPLATE_RECORD: usize = MAX_MESSAGE_LEN - IPFIX_HEADER_LEN - SET_HEADER_LEN;

/// Templates by id (from 256) and by field list.
#[derive(Debug, Default)]
pub struct TemplateSet {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Template `256 + i` at index `i`.
    by_id: Vec<Arc<Template>>,
    /// Ids by a hash of (scope count, field list); collisions are told apart by comparing.
    by_fields: HashMap<u64, Vec<u16>>,
}

impl Inner {
    fn find(&self, hash: u64, scope_count: u16, specs: &[FieldSpec]) -> Option<u16> {
        self.by_fields.get(&hash)?.iter().copied().find(|&id| {
            let t = &self.by_id[usize::from(id - MIN_DATA_SET_ID)];
            t.scope_count == scope_count && t.same_fields(specs.iter().copied())
        })
    }
}

impl TemplateSet {
    pub fn new() -> Self {
        TemplateSet::default()
    }

    /// The id of the template with these fields (`scope_count` > 0: an options template), the
    /// same id for the same fields every time; a new field list gets the next id from 256. Refused
    /// when it has no fields, more scope fields than fields, a template record too large for any
    /// message, or when all ids are taken. Finding a known template takes a read lock and
    /// allocates nothing.
    pub fn register(&self, scope_count: u16, specs: &[FieldSpec]) -> Result<u16, ExportError> {
        let hash = fields_hash(scope_count, specs);
        if let Some(id) = self.read().find(hash, scope_count, specs) {
            return Ok(id);
        }
        if specs.is_empty() {
            return Err(ExportError::EmptyTemplate);
        }
        if usize::from(scope_count) > specs.len() {
            return Err(ExportError::ScopeCount { scope_count, fields: specs.len() });
        }
        let bytes = record_len(scope_count, specs.iter().copied());
        if bytes > MAX_TEMPLATE_RECORD {
            return Err(ExportError::TemplateTooLarge { fields: specs.len(), bytes, max: MAX_TEMPLATE_RECORD });
        }
        let mut inner = self.inner.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another thread may have registered the same fields since the read lock was let go.
        if let Some(id) = inner.find(hash, scope_count, specs) {
            return Ok(id);
        }
        let id = u16::try_from(usize::from(MIN_DATA_SET_ID) + inner.by_id.len())
            .map_err(|_| ExportError::TemplateIdsExhausted { count: inner.by_id.len() })?;
        inner.by_id.push(Arc::new(Template::new(id, scope_count, specs.iter().copied())));
        inner.by_fields.entry(hash).or_default().push(id);
        Ok(id)
    }

    pub fn get(&self, id: u16) -> Option<Arc<Template>> {
        let index = usize::from(id.checked_sub(MIN_DATA_SET_ID)?);
        self.read().by_id.get(index).cloned()
    }

    /// Templates registered so far.
    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic while holding the write lock happens before the set changes (push is last),
        // so the data is whole.
        self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn fields_hash(scope_count: u16, specs: &[FieldSpec]) -> u64 {
    let mut h = DefaultHasher::new();
    scope_count.hash(&mut h);
    specs.hash(&mut h);
    h.finish()
}

/// The bytes of a template record (RFC 7011 §3.4.1, §3.4.2.2): id and field count, the scope
/// count for options templates, and 4 bytes per field specifier (8 with an enterprise number).
pub fn record_len(scope_count: u16, specs: impl IntoIterator<Item = FieldSpec>) -> usize {
    let head = if scope_count > 0 { 6 } else { 4 };
    head + specs.into_iter().map(|s| if s.pen != 0 { 8 } else { 4 }).sum::<usize>()
}

/// The bytes of `template`'s record.
pub fn template_record_len(template: &Template) -> usize {
    record_len(template.scope_count, template.specs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> [FieldSpec; 2] {
        [FieldSpec::iana(7, 2), FieldSpec::iana(11, 2)]
    }

    #[test]
    fn the_same_fields_get_the_same_id_and_new_ones_the_next() {
        let set = TemplateSet::new();
        assert_eq!(set.register(0, &ports()).unwrap(), 256);
        let labels = [FieldSpec::enterprise(56506, 143, 0xffff)];
        assert_eq!(set.register(0, &labels).unwrap(), 257);
        assert_eq!(set.register(0, &ports()).unwrap(), 256);
        // The same fields as an options template are another template.
        assert_eq!(set.register(1, &ports()).unwrap(), 258);
        assert_eq!(set.len(), 3);
        let t = set.get(257).unwrap();
        assert_eq!((t.id, t.name(&t.fields[0])), (257, "sourcePodLabels"));
        assert_eq!(set.get(258).unwrap().scope_count, 1);
        assert!(set.get(259).is_none() && set.get(2).is_none());
    }

    #[test]
    fn registering_is_bounded() {
        let set = TemplateSet::new();
        assert!(matches!(set.register(0, &[]), Err(ExportError::EmptyTemplate)));
        assert!(matches!(set.register(3, &ports()), Err(ExportError::ScopeCount { scope_count: 3, fields: 2 })));
        // 8191 enterprise fields take 4 + 8 × 8191 = 65532 bytes: no message holds that.
        let huge = vec![FieldSpec::enterprise(56506, 101, 0xffff); 8191];
        let err = set.register(0, &huge).unwrap_err();
        assert!(matches!(err, ExportError::TemplateTooLarge { bytes: 65532, max: 65515, .. }), "{err}");
        let largest = vec![FieldSpec::iana(8, 4); (MAX_TEMPLATE_RECORD - 4) / 4];
        assert_eq!(set.register(0, &largest).unwrap(), 256);

        for port in 0..65279u16 {
            set.register(0, &[FieldSpec::iana(7, 2), FieldSpec::iana(port, 1)]).unwrap();
        }
        assert_eq!(set.len(), 65280);
        assert!(set.get(65535).is_some());
        let err = set.register(0, &[FieldSpec::iana(1, 8)]).unwrap_err();
        assert!(err.to_string().contains("65280"), "{err}");
        assert_eq!(set.register(0, &[FieldSpec::iana(7, 2), FieldSpec::iana(9, 1)]).unwrap(), 266, "known ones still");
    }

    #[test]
    fn template_record_lengths() {
        assert_eq!(record_len(0, ports()), 12);
        assert_eq!(record_len(1, ports()), 14);
        assert_eq!(record_len(0, [FieldSpec::enterprise(29305, 1, 8)]), 12);
    }
}
