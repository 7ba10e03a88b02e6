//! Bad input: arbitrary bytes and broken variants of valid messages must never panic the decoder
//! nor make it allocate out of proportion to what it was given; and decoding data records of known
//! templates must not allocate at all (the design's zero-copy hot path).
//!
//! Allocation is measured by a counting global allocator. Its counters are per thread, so tests
//! running in parallel in this binary do not disturb each other's measurements.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use proptest::sample::Index;

use super::*;

struct Meter;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note(delta: isize, allocations: usize) {
    // `try_with`: an allocation may happen while the thread's locals are being torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + allocations));
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe.
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize, 1);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize, 1);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize), 0);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize, 1);
        }
        p
    }
}

#[global_allocator]
static METER: Meter = Meter;

/// What a piece of work allocated on this thread.
#[derive(Clone, Copy, Debug)]
struct Usage {
    /// The most bytes it held at once, above what was live when it started.
    peak: usize,
    allocations: usize,
}

fn metered<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    let usage = Usage {
        peak: (PEAK.with(Cell::get) - start).max(0) as usize,
        allocations: ALLOCATIONS.with(Cell::get) - before,
    };
    (out, usage)
}

/// How deep a walk follows nested lists. A sub-template may list records of itself, and each level
/// costs only 4 bytes, so a 64 KiB message can nest thousands deep: a consumer that recurses (a
/// printer) has to stop somewhere, and so does this one.
const MAX_DEPTH: usize = 16;

/// Decodes every value of every record, lists and their records included, as a printer would,
/// without allocating; and checks that what the decoder hands out is whole.
#[derive(Default)]
struct Touch {
    records: usize,
    values: usize,
    problems: usize,
}

impl Touch {
    fn value(&mut self, value: Value<'_>, templates: &Templates, depth: usize) {
        self.values += 1;
        black_box(&value);
        if depth == MAX_DEPTH {
            return;
        }
        match value {
            Value::BasicList(list) => {
                for v in list.values() {
                    self.value(v, templates, depth + 1);
                }
            }
            Value::SubTemplateList(list) => self.records(templates, list.template_id, list.content, depth + 1),
            Value::SubTemplateMultiList(list) => {
                for (template_id, content) in list.blocks().flatten() {
                    self.records(templates, template_id, content, depth + 1);
                }
            }
            _ => {}
        }
    }

    fn records(&mut self, templates: &Templates, template_id: u16, content: &[u8], depth: usize) {
        let Some(template) = templates.get(template_id) else {
            return;
        };
        for record in Records::new(template, content).flatten() {
            for (field, raw) in record.fields() {
                self.value(Value::decode(field.data_type, raw), templates, depth);
            }
        }
    }
}

impl Visitor for Touch {
    fn record(&mut self, r: &RecordRef<'_>) {
        self.records += 1;
        let record = r.record;
        assert_eq!(
            record.template.record_length(record.bytes),
            Some(record.bytes.len()),
            "a record is one whole record"
        );
        assert_eq!(record.fields().count(), record.template.fields.len(), "every field of a record is there");
        for (field, raw) in record.fields() {
            self.value(Value::decode(field.data_type, raw), r.templates, 0);
        }
    }

    fn problem(&mut self, _origin: &Origin, _error: &DecodeError) {
        self.problems += 1;
    }
}

/// Decodes `messages` in order, in one UDP and one TCP session of a fresh decoder.
fn decode_in_sessions(messages: &[&[u8]]) -> (Touch, Usage) {
    metered(|| {
        let mut decoder = Decoder::new(DecoderConfig::default());
        let mut touch = Touch::default();
        for transport in [Transport::Udp, Transport::Tcp] {
            for message in messages {
                decoder.decode(&session(transport), origin(), message, &mut touch);
            }
        }
        touch
    })
}

/// What the decoder may keep for each byte it was given. The most is taken by compiled templates:
/// a message that is one template of 16,000 four-byte field specifiers compiles to about 25 bytes
/// per byte of it.
const BYTES_PER_INPUT_BYTE: usize = 32;
/// Sessions, domains and their tables, whatever the input.
const BYTES_PER_DECODER: usize = 16 << 10;

fn assert_bounded(usage: Usage, messages: &[&[u8]]) -> Result<(), TestCaseError> {
    // Each message is decoded twice, once per session.
    let input: usize = 2 * messages.iter().map(|m| m.len()).sum::<usize>();
    let bound = BYTES_PER_DECODER + BYTES_PER_INPUT_BYTE * input;
    prop_assert!(usage.peak <= bound, "{} bytes held for {input} bytes of input (bound {bound})", usage.peak);
    Ok(())
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Extend(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), 1..=255u8).prop_map(|(at, bits)| Mutation::Flip(at, bits)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => vec(any::<u8>(), 1..64).prop_map(Mutation::Extend),
    ]
}

/// Applies `mutations`; `fix_length` then makes an IPFIX header's Length agree with the bytes
/// again, so that the damage is found inside the sets rather than at the header.
fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation], fix_length: bool) -> Vec<u8> {
    for m in mutations {
        match m {
            Mutation::Flip(at, bits) if !bytes.is_empty() => {
                let at = at.index(bytes.len());
                bytes[at] ^= bits;
            }
            Mutation::Flip(..) => {}
            Mutation::Truncate(at) => bytes.truncate(at.index(bytes.len() + 1)),
            Mutation::Extend(tail) => bytes.extend_from_slice(tail),
        }
    }
    if fix_length && bytes.len() >= 4 && bytes[..2] == [0, 10] {
        let len = bytes.len().min(usize::from(u16::MAX)) as u16;
        bytes[2..4].copy_from_slice(&len.to_be_bytes());
    }
    bytes
}

/// Up to 2000 arbitrary bytes, often behind a NetFlow v9 or IPFIX version number (and then a
/// matching IPFIX Length) so that the decoder gets past the header.
fn arbitrary_message() -> impl Strategy<Value = Vec<u8>> {
    (select(vec![None, Some(9u16), Some(10)]), vec(any::<u8>(), 0..2000)).prop_map(|(version, mut bytes)| {
        if let (Some(version), true) = (version, bytes.len() >= 4) {
            bytes[..2].copy_from_slice(&version.to_be_bytes());
            if version == 10 {
                let len = bytes.len() as u16;
                bytes[2..4].copy_from_slice(&len.to_be_bytes());
            }
        }
        bytes
    })
}

fn version() -> impl Strategy<Value = Version> {
    select(vec![Version::Ipfix, Version::NetflowV9])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// The same bytes twice: whatever templates the first pass defined, the second uses.
    #[test]
    fn arbitrary_bytes_decode_without_panic_in_bounded_memory(bytes in arbitrary_message()) {
        let messages = [&bytes[..], &bytes[..]];
        let (_, usage) = decode_in_sessions(&messages);
        assert_bounded(usage, &messages)?;
    }

    /// The intact message first, so that the broken one meets known templates.
    #[test]
    fn broken_messages_decode_without_panic_in_bounded_memory(
        plan in version().prop_flat_map(message),
        mutations in vec(mutation(), 1..=6),
        fix_length in any::<bool>(),
    ) {
        let intact = plan.encode();
        let broken = mutate(intact.clone(), &mutations, fix_length);
        let messages = [&intact[..], &broken[..]];
        let (touch, usage) = decode_in_sessions(&messages);
        assert_bounded(usage, &messages)?;
        prop_assert!(touch.records >= 2 * plan.expected_records().len(), "the intact message decodes in both sessions");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn data_of_known_templates_decodes_without_allocating(plan in version().prop_flat_map(message)) {
        let mut templates = plan.writer();
        plan.write_templates(&mut templates);
        let templates = templates.finish();
        let mut data = plan.writer();
        plan.write_data_sets(&mut data);
        let data = data.finish();

        let mut decoder = Decoder::new(DecoderConfig::default());
        let mut touch = Touch::default();
        for transport in [Transport::Udp, Transport::Tcp] {
            decoder.decode(&session(transport), origin(), &templates, &mut touch);
        }
        let ((), usage) = metered(|| {
            for transport in [Transport::Udp, Transport::Tcp] {
                decoder.decode(&session(transport), origin(), &data, &mut touch);
            }
        });
        prop_assert_eq!(touch.problems, 0);
        prop_assert_eq!(touch.records, 2 * plan.expected_records().len());
        prop_assert_eq!(usage.allocations, 0, "{:?}", usage);
    }
}
