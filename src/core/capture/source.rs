//! The capture reader's own read buffer: large reads from the file, a window of bytes that the
//! slice parsers of `pcap-file` and the packet dissector work on in place, and the file offset of
//! every byte (for error messages and for resynchronising after damage).
//!
//! Memory stays flat in the file size: the buffer holds one chunk and only grows when a single
//! record or block is larger than it, up to a fixed bound.

use std::io::{self, Read};

/// Size of one read; large enough that syscalls do not show in a profile.
pub(crate) const CHUNK: usize = 2 << 20;

/// No record, block or message is allowed to be larger than this; it also bounds the buffer.
pub(crate) const MAX_RECORD: usize = 64 << 20;

pub(crate) struct Source<R> {
    reader: R,
    buf: Vec<u8>,
    /// `buf[pos..end]` holds bytes read but not yet consumed.
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

/// What a resynchronisation check says about a candidate position.
pub(crate) enum Verdict {
    Accept,
    Reject,
    /// The candidate can only be judged with this many bytes from its start.
    NeedMore(usize),
}

impl<R: Read> Source<R> {
    pub(crate) fn new(reader: R, chunk: usize) -> Self {
        Source { reader, buf: vec![0; chunk.max(64)], pos: 0, end: 0, base: 0, eof: false }
    }

    /// The unconsumed bytes currently in memory.
    #[inline]
    pub(crate) fn avail(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// The whole buffer, for frames addressed by index (stable until the next `fill`).
    #[inline]
    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// Index in [`Source::buffer`] of the first unconsumed byte.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// File offset of the first unconsumed byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.pos);
        self.pos += n;
    }

    /// Makes at least `n` bytes available; `Ok(false)` when the file ends first (whatever is
    /// left stays available). `n` must not exceed [`MAX_RECORD`].
    #[inline]
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        self.fill_slow(n)
    }

    #[cold]
    fn fill_slow(&mut self, n: usize) -> io::Result<bool> {
        debug_assert!(n <= MAX_RECORD, "callers bound what they ask for");
        if self.eof || n > MAX_RECORD {
            return Ok(false);
        }
        if self.pos + n > self.buf.len() {
            let kept = self.end - self.pos;
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.pos = 0;
            self.end = kept;
            if n > self.buf.len() {
                let grown = n.max(self.buf.len() * 2).min(MAX_RECORD.max(n));
                self.buf.resize(grown, 0);
            }
        }
        while self.end - self.pos < n {
            let k = self.read_some()?;
            if k == 0 {
                return Ok(false);
            }
            self.end += k;
        }
        Ok(true)
    }

    fn read_some(&mut self) -> io::Result<usize> {
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(k) => return Ok(k),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Scans forward from the current position for a place where `check` accepts, trying
    /// offsets that are multiples of `align` in the file. `check` gets the bytes from the
    /// candidate on and whether they run to the end of the file. Consumes the bytes before the
    /// accepted place and returns true, or consumes the rest of the file and returns false.
    pub(crate) fn resync(&mut self, align: usize, mut check: impl FnMut(&[u8], bool) -> Verdict) -> io::Result<bool> {
        let misalign = (self.offset() % align as u64) as usize;
        if misalign != 0 {
            let step = align - misalign;
            self.fill(step)?;
            let k = step.min(self.end - self.pos);
            self.pos += k;
            if k < step {
                return Ok(false);
            }
        }
        let mut need = align;
        loop {
            self.fill(need)?;
            let len = self.end - self.pos;
            if len < align {
                self.pos = self.end;
                return Ok(false);
            }
            let eof = self.eof;
            let avail = &self.buf[self.pos..self.end];
            let mut p = 0;
            let mut found = false;
            let mut more = None;
            while p + align <= len {
                match check(&avail[p..], eof) {
                    Verdict::Accept => {
                        found = true;
                        break;
                    }
                    Verdict::NeedMore(n) if n > len - p && n <= MAX_RECORD && !eof => {
                        more = Some(n);
                        break;
                    }
                    Verdict::Reject | Verdict::NeedMore(_) => p += align,
                }
            }
            self.pos += p;
            if found {
                return Ok(true);
            }
            if let Some(n) = more {
                need = n;
            } else if eof {
                self.pos = self.end;
                return Ok(false);
            } else {
                need = self.end - self.pos + align;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most 3 bytes per read, to exercise refills.
    struct Dribble<'a>(&'a [u8]);

    impl Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(3).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn fill_compacts_and_grows_and_keeps_offsets() {
        let data: Vec<u8> = (0..200u8).collect();
        let mut src = Source::new(Dribble(&data), 64);
        assert!(src.fill(10).unwrap());
        assert_eq!(&src.avail()[..10], &data[..10]);
        assert!(src.fill(60).unwrap());
        src.consume(60);
        assert!(src.fill(30).unwrap());
        assert_eq!(src.offset(), 60);
        assert_eq!(&src.avail()[..30], &data[60..90]);
        // Larger than the buffer: it grows.
        assert!(src.fill(100).unwrap());
        assert_eq!(&src.avail()[..100], &data[60..160]);
        src.consume(100);
        assert!(!src.fill(100).unwrap());
        assert_eq!(src.avail(), &data[160..]);
        assert_eq!(src.offset(), 160);
    }

    #[test]
    fn resync_finds_aligned_marker_across_refills() {
        let mut data = vec![0u8; 300];
        data[200..204].copy_from_slice(b"MARK");
        data[101..105].copy_from_slice(b"MARK"); // misaligned for align 4: ignored
        let mut src = Source::new(Dribble(&data), 64);
        assert!(src.fill(1).unwrap());
        let found = src
            .resync(4, |b, _| {
                if b.len() < 4 {
                    Verdict::NeedMore(4)
                } else if &b[..4] == b"MARK" {
                    Verdict::Accept
                } else {
                    Verdict::Reject
                }
            })
            .unwrap();
        assert!(found);
        assert_eq!(src.offset(), 200);
    }

    #[test]
    fn resync_gives_up_at_end_of_file() {
        let data = vec![7u8; 150];
        let mut src = Source::new(Dribble(&data), 64);
        let found = src.resync(1, |_, _| Verdict::Reject).unwrap();
        assert!(!found);
        assert_eq!(src.offset(), 150);
        assert!(src.avail().is_empty());
    }
}
