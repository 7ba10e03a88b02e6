//! RFC 5655 IPFIX files: a plain concatenation of IPFIX messages with no file header. Each
//! message is one "frame" numbered from 1, timed by its export time. A header whose version or
//! length cannot be right is reported and the file is scanned for the next plausible message.

use std::io::{self, Read};

use super::error::{CaptureErrorKind, Recovery};
use super::link::{Link, message_start};
use super::source::Source;
use super::{Frame, Step, truncated};
use crate::core::time::Timestamp;

#[derive(Default)]
pub(crate) struct IpfixFile {
    done: bool,
}

impl IpfixFile {
    pub(crate) fn next<R: Read>(&mut self, src: &mut Source<R>) -> io::Result<Step> {
        if self.done {
            return Ok(Step::End);
        }
        let offset = src.offset();
        if !src.fill(16)? {
            self.done = true;
            return Ok(truncated(src, offset, "an IPFIX message header", 16));
        }
        let b = src.avail();
        let version = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if version != 10 || len < 16 {
            let what = format!(
                "IPFIX message header has version {version} and length {len} (expected version 10 and a length of at least 16)"
            );
            src.consume(1);
            let found = src.resync(1, message_start)?;
            let recovery = if found {
                Recovery::Resynchronised { at: src.offset() }
            } else {
                self.done = true;
                Recovery::GaveUp { skipped: src.offset() - offset }
            };
            return Ok(Step::Problem { offset, kind: Box::new(CaptureErrorKind::Corrupt { what, recovery }) });
        }
        if !src.fill(len)? {
            self.done = true;
            return Ok(truncated(src, offset, "an IPFIX message", len as u64));
        }
        let b = src.avail();
        let export = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let start = src.pos();
        src.consume(len);
        Ok(Step::Frame(Frame {
            start,
            len,
            time: Timestamp::from_secs(i64::from(export)),
            link: Link::IpfixMessage,
            offset,
        }))
    }
}
