//! Records already encoded, waiting for a message: what the threads that make records hand to the
//! exporting process. A batch is two growing buffers (the records' bytes back to back, and where
//! each ends with its template id), so filling one allocates nothing once it has grown, and
//! moving it to the exporting thread moves two pointers.

use crate::core::ipfix::encoder::RecordWriter;

/// Encoded data records of any templates of one [`TemplateSet`](super::TemplateSet), in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordBatch {
    bytes: Vec<u8>,
    /// Per record: its template id and the offset in `bytes` where it ends.
    ends: Vec<(u16, u32)>,
}

impl RecordBatch {
    /// A batch with room for `records` records of about a hundred bytes.
    pub fn with_capacity(records: usize) -> Self {
        RecordBatch { bytes: Vec::with_capacity(records.saturating_mul(128)), ends: Vec::with_capacity(records) }
    }

    /// Appends one record of `template_id`; `write` writes its fields in the template's order.
    ///
    /// # Panics
    /// When the batch would pass 4 GiB, which only a caller that never sends its batches reaches.
    pub fn push(&mut self, template_id: u16, write: impl FnOnce(&mut RecordWriter<'_>)) {
        write(&mut RecordWriter::new(&mut self.bytes));
        let end = u32::try_from(self.bytes.len()).expect("a record batch is sent long before it holds 4 GiB");
        self.ends.push((template_id, end));
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Bytes of all records.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Record `index`: its template id and bytes.
    pub fn get(&self, index: usize) -> Option<(u16, &[u8])> {
        let &(template_id, end) = self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1].1 as usize };
        Some((template_id, &self.bytes[start..end as usize]))
    }

    /// The records in order, with their template ids.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u16, &[u8])> + '_ {
        (0..self.len()).map(|i| self.get(i).expect("every index below len is a record"))
    }

    /// Keeps the first `records` records.
    pub fn truncate(&mut self, records: usize) {
        if records >= self.ends.len() {
            return;
        }
        self.ends.truncate(records);
        let end = self.ends.last().map_or(0, |&(_, end)| end as usize);
        self.bytes.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_template_and_bytes_in_order() {
        let mut b = RecordBatch::with_capacity(4);
        b.push(256, |w| {
            w.unsigned(443, 2).unsigned(6, 1);
        });
        b.push(257, |w| {
            w.varlen(b"pod-a");
        });
        b.push(256, |w| {
            w.unsigned(80, 2).unsigned(17, 1);
        });
        assert_eq!(b.len(), 3);
        let all: Vec<_> = b.iter().collect();
        assert_eq!(all, [(256, &[1, 187, 6][..]), (257, &b"\x05pod-a"[..]), (256, &[0, 80, 17][..])]);
        assert_eq!(b.byte_len(), 12);
        assert_eq!(b.get(3), None);

        b.truncate(1);
        assert_eq!(b.iter().collect::<Vec<_>>(), [(256, &[1, 187, 6][..])]);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.byte_len(), 0);
    }
}
