//! Decoding capture files: capture reader → IPFIX decoder → record printer or summary.
//!
//! Problems never stop the run: a damaged frame, block or message is reported (the first few
//! of each cause as warnings, the rest at debug level, with a count at the end) and decoding
//! goes on with the next message. Whether problems make the exit status non-zero is the
//! caller's choice (`--strict`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::core::capture::{CaptureOptions, CaptureReader, CaptureStats};
use crate::core::ipfix::decoder::{
    Decoder, DecoderConfig, DomainStats, Origin, RecordRef, SessionKey, Transport, Visitor,
};
use crate::core::ipfix::error::DecodeError;
use crate::core::output::fields::Selection;
use crate::core::output::plural::counted;
use crate::core::output::summary::{self, DomainRow};
use crate::core::output::{OutputFormat, RecordFormat, RecordPrinter};
use crate::core::problems::{Policy, ProblemLog};

/// What to decode and how to show it.
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    pub files: Vec<PathBuf>,
    pub capture: CaptureOptions,
    pub decoder: DecoderConfig,
    pub format: RecordFormat,
    /// Print only these fields of each record (`--fields`).
    pub fields: Option<Selection>,
    /// Print a summary per exporter and observation domain instead of records.
    pub stats: bool,
    /// Stop after this many records.
    pub count: Option<u64>,
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Threads that format JSON (1 formats on the decoding thread).
    pub workers: usize,
}

/// What a run found.
#[derive(Clone, Debug, Default)]
pub struct DecodeReport {
    pub records: u64,
    /// Malformed messages plus damaged frames, blocks and streams.
    pub problems: u64,
}

/// The decoder's visitor for one file: prints records, logs problems.
struct Sink<'a, W: Write> {
    printer: Option<&'a mut RecordPrinter<W>>,
    log: &'a mut ProblemLog,
    file: &'a Path,
    problems: u64,
    limit: Option<u64>,
    records: u64,
}

impl<W: Write> Sink<'_, W> {
    fn done(&self) -> bool {
        self.limit.is_some_and(|n| self.records >= n) || self.printer.as_ref().is_some_and(|p| p.error().is_some())
    }
}

impl<W: Write> Visitor for Sink<'_, W> {
    #[inline]
    fn record(&mut self, r: &RecordRef<'_>) {
        if self.limit.is_some_and(|n| self.records >= n) {
            return;
        }
        self.records += 1;
        if let Some(p) = self.printer.as_deref_mut() {
            p.record(r);
        }
    }

    fn problem(&mut self, origin: &Origin, error: &DecodeError) {
        if error.is_malformed() {
            self.problems += 1;
        }
        let file = self.file;
        self.log.report(error.cause(), error.is_malformed(), || {
            let from = origin.exporter.map(|a| format!(" from {a}")).unwrap_or_default();
            format!("{}: frame {}{from}: {error}", file.display(), origin.frame)
        });
    }
}

/// Decodes `opts.files` in order, writing records or the summary to `out`.
pub fn run<W: Write>(opts: &DecodeOptions, out: W) -> anyhow::Result<DecodeReport> {
    let mut decoder = Decoder::new(opts.decoder.clone());
    let mut log = ProblemLog::new(Policy::First(10));
    let mut report = DecodeReport::default();
    // With --stats no record is printed, so nothing of CSV's either.
    let format = if opts.stats { opts.format.summary().into() } else { opts.format };
    let mut printer = RecordPrinter::new(format, out, true, opts.fields.clone()).with_workers(opts.workers);
    let mut files = Vec::new();
    // One bar over every file: sizes up front, so the total and the ETA are of the whole run.
    let total: u64 = opts.files.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let mut progress = progress_bar(opts.progress, total).map(FilesProgress::new);
    for (index, path) in opts.files.iter().enumerate() {
        // Capture errors name the file and the offset already.
        let mut reader = CaptureReader::open(path, &opts.capture)?;
        if let Some(p) = &mut progress {
            p.start_file(path);
        }
        let mut sink = Sink {
            printer: if opts.stats { None } else { Some(&mut printer) },
            log: &mut log,
            file: path,
            problems: 0,
            limit: opts.count.map(|n| n.saturating_sub(report.records)),
            records: 0,
        };
        let mut messages = 0u64;
        while let Some(item) = reader.next() {
            match item {
                Ok(m) => {
                    // A network session spans files (a capture rotated by size or time); an RFC
                    // 5655 file is a session of its own.
                    let source = if m.transport == Transport::File { index as u32 + 1 } else { 0 };
                    let key =
                        SessionKey { source, transport: m.transport, exporter: m.exporter, collector: m.collector };
                    let origin = Origin { frame: m.frame, time: m.time, exporter: m.exporter, collector: m.collector };
                    decoder.decode(&key, origin, m.payload, &mut sink);
                    if sink.done() {
                        break;
                    }
                }
                Err(e) if e.is_fatal() => {
                    return Err(e.into());
                }
                Err(e) => {
                    sink.problems += 1;
                    sink.log.report(e.kind.cause(), true, || e.to_string());
                }
            }
            messages += 1;
            if messages.is_multiple_of(4096)
                && let Some(p) = &progress
            {
                p.at(reader.bytes_consumed());
            }
        }
        if let Some(p) = &mut progress {
            p.end_file(reader.total_bytes().unwrap_or_else(|| reader.bytes_consumed()));
        }
        if !sink.done() || opts.stats {
            decoder.finish(&mut sink);
        }
        report.records += sink.records;
        report.problems += sink.problems;
        files.push((path.clone(), *reader.stats()));
        if let Some(e) = printer.take_error() {
            return Err(e).context("writing records");
        }
        if opts.count.is_some_and(|n| report.records >= n) {
            break;
        }
    }
    if let Some(p) = progress {
        p.bar.finish_and_clear();
    }
    log.summarize();
    if opts.stats {
        let summary = Summary::new(&decoder, &files);
        printer.finish().context("writing records")?;
        let mut out = printer.into_inner();
        summary.write(opts.format.summary(), &mut out).context("writing the summary")?;
    } else {
        printer.finish().context("writing records")?;
    }
    Ok(report)
}

fn progress_bar(wanted: bool, total: u64) -> Option<indicatif::ProgressBar> {
    const WORTH_IT: u64 = 16 << 20;
    if total < WORTH_IT || !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total);
    let style =
        indicatif::ProgressStyle::with_template("{spinner} {msg} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style);
    Some(pb)
}

/// The progress of a run over several files on one bar, named by the file being read.
struct FilesProgress {
    bar: indicatif::ProgressBar,
    /// Bytes of the files already read.
    done: u64,
}

impl FilesProgress {
    fn new(bar: indicatif::ProgressBar) -> Self {
        FilesProgress { bar, done: 0 }
    }

    fn start_file(&mut self, path: &Path) {
        self.bar.set_message(path.display().to_string());
        self.bar.set_position(self.done);
    }

    /// `consumed` bytes of the current file are read.
    fn at(&self, consumed: u64) {
        self.bar.set_position(self.done + consumed);
    }

    fn end_file(&mut self, size: u64) {
        self.done += size;
        self.bar.set_position(self.done);
    }
}

/// The `--stats` summary: per file, exporter and observation domain, plus the capture counters.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub domains: Vec<DomainRow>,
    pub totals: DomainStats,
    pub files: Vec<FileRow>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRow {
    pub file: String,
    #[serde(flatten)]
    pub capture: CaptureStats,
}

impl Summary {
    fn new(decoder: &Decoder, files: &[(PathBuf, CaptureStats)]) -> Summary {
        let sessions: Vec<_> = decoder.sessions().map(|s| s.stats()).collect();
        let (domains, totals) = summary::domain_rows(&sessions, |source| match source {
            0 => None,
            n => files.get(n as usize - 1).map(|(p, _)| p.display().to_string()),
        });
        let files = files.iter().map(|(p, c)| FileRow { file: p.display().to_string(), capture: *c }).collect();
        Summary { domains, totals, files }
    }

    fn write<W: Write>(&self, format: OutputFormat, out: &mut W) -> std::io::Result<()> {
        match format {
            OutputFormat::Json | OutputFormat::Yaml => summary::write_serialized(self, format, out),
            OutputFormat::Table | OutputFormat::Wide => {
                let mut text = summary::domain_table(&self.domains, &self.totals, format == OutputFormat::Wide);
                text.push_str(&self.files_text());
                out.write_all(text.as_bytes())
            }
        }
    }

    fn files_text(&self) -> String {
        let mut text = String::new();
        for f in &self.files {
            let c = &f.capture;
            text.push_str(&format!(
                "\n{}: {}, {} ({} UDP, {} TCP, {} file), {}",
                f.file,
                counted(c.frames, "frame", "frames"),
                counted(
                    c.udp_messages + c.tcp_messages + c.file_messages,
                    "IPFIX/NetFlow message",
                    "IPFIX/NetFlow messages"
                ),
                c.udp_messages,
                c.tcp_messages,
                c.file_messages,
                counted(c.non_ipfix_packets + c.non_ip_frames, "other packet", "other packets"),
            ));
            let damage = [
                (c.corrupt_records, "corrupt record", "corrupt records"),
                (c.truncated, "truncated", "truncated"),
                (c.fragments_dropped, "IP datagram not reassembled", "IP datagrams not reassembled"),
                (c.tcp_gaps, "TCP gap", "TCP gaps"),
                (c.tcp_resyncs, "TCP resync", "TCP resyncs"),
                (c.tcp_bytes_skipped, "TCP byte skipped", "TCP bytes skipped"),
            ];
            for (n, one, many) in damage {
                if n > 0 {
                    text.push_str(&format!(", {}", counted(n, one, many)));
                }
            }
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    /// Issue #22 (9): the bar started again for every file without naming it. One bar goes on
    /// over all files and names the one being read.
    #[test]
    fn one_bar_over_all_files_names_the_current_one() {
        let mut p = super::FilesProgress::new(indicatif::ProgressBar::hidden());
        p.bar.set_length(300);
        p.start_file(std::path::Path::new("a.pcap"));
        p.at(60);
        assert_eq!((p.bar.position(), p.bar.message()), (60, "a.pcap".into()));
        p.end_file(100);
        p.start_file(std::path::Path::new("b.pcap"));
        p.at(50);
        assert_eq!((p.bar.position(), p.bar.message()), (150, "b.pcap".into()));
        p.end_file(200);
        assert_eq!(p.bar.position(), 300);
    }
}
