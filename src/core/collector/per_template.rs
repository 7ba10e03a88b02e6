//! What a record sink works out once per input template (a reader, a conversion plan), kept by
//! template so the records of a set, which share one, find it without a hash lookup.

use std::collections::HashMap;
use std::sync::Arc;

use crate::core::ipfix::Template;

/// Per-template values; past `max` templates the memory is cleared (a value is cheap to make
/// again, and exporters churning templates must not grow it without end).
pub struct PerTemplate<T> {
    /// The `Arc` kept alongside keeps a template's address, the key in `by_template`, from being
    /// reused by another template while its value is kept.
    values: Vec<(Arc<Template>, T)>,
    by_template: HashMap<usize, usize>,
    /// The value of the last record's template.
    last: usize,
    max: usize,
}

impl<T> PerTemplate<T> {
    pub fn new(max: usize) -> Self {
        PerTemplate { values: Vec::new(), by_template: HashMap::new(), last: usize::MAX, max }
    }

    /// The value for `template`, made by `make` on first sight.
    pub fn get(&mut self, template: &Arc<Template>, make: impl FnOnce(&Arc<Template>) -> T) -> &T {
        if !self.values.get(self.last).is_some_and(|(t, _)| Arc::ptr_eq(t, template)) {
            let key = Arc::as_ptr(template) as usize;
            self.last = match self.by_template.get(&key) {
                Some(&i) => i,
                None => {
                    if self.values.len() >= self.max {
                        self.values.clear();
                        self.by_template.clear();
                    }
                    self.values.push((template.clone(), make(template)));
                    self.by_template.insert(key, self.values.len() - 1);
                    self.values.len() - 1
                }
            };
        }
        &self.values[self.last].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_made_once_per_template_and_the_memory_is_bounded() {
        let a = Arc::new(Template::new(256, 0, []));
        let b = Arc::new(Template::new(257, 0, []));
        let mut made = 0;
        let mut cache = PerTemplate::new(2);
        for t in [&a, &a, &b, &a, &b] {
            let id = *cache.get(t, |t| {
                made += 1;
                t.id
            });
            assert_eq!(id, t.id);
        }
        assert_eq!(made, 2);
        let c = Arc::new(Template::new(258, 0, []));
        cache.get(&c, |t| t.id);
        assert_eq!(cache.values.len(), 1, "cleared past the bound");
    }
}
