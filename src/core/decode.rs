//! Decoding capture files: capture reader → IPFIX decoder → record printer or summary.
//!
//! Problems never stop the run: a damaged frame, block or message is reported (the first few
//! of each cause as warnings, the rest at debug level, with a count at the end) and decoding
//! goes on with the next message. Whether problems make the exit status non-zero is the
//! caller's choice (`--strict`).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use tracing::{debug, info, warn};

use crate::core::capture::{CaptureOptions, CaptureReader, CaptureStats};
use crate::core::ipfix::decoder::{
    Decoder, DecoderConfig, DomainStats, Origin, RecordRef, SessionKey, Transport, Visitor,
};
use crate::core::ipfix::error::DecodeError;
use crate::core::output::{OutputFormat, RecordPrinter};

/// What to decode and how to show it.
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    pub files: Vec<PathBuf>,
    pub capture: CaptureOptions,
    pub decoder: DecoderConfig,
    pub format: OutputFormat,
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

/// The first this many problems of each cause are logged at their level; the rest at debug.
const LOGGED_PER_CAUSE: u64 = 10;

/// Logs problems, a few per cause, and counts them all. Damage (a malformed message, a corrupt
/// block) is a warning; things handled by the rules (an ignored withdrawal, non-zero padding,
/// data whose template never came) are notes that `-v` shows.
#[derive(Default)]
struct ProblemLog {
    counts: HashMap<&'static str, (u64, bool)>,
}

impl ProblemLog {
    fn report(&mut self, cause: &'static str, damage: bool, message: impl FnOnce() -> String) {
        let (n, _) = self.counts.entry(cause).or_insert((0, damage));
        *n += 1;
        match (*n <= LOGGED_PER_CAUSE, damage) {
            (true, true) => warn!("{}", message()),
            (true, false) => info!("{}", message()),
            (false, _) => debug!("{}", message()),
        }
    }

    fn summarize(&self) {
        let mut causes: Vec<_> = self.counts.iter().filter(|(_, (n, _))| *n > LOGGED_PER_CAUSE).collect();
        causes.sort();
        for (cause, (n, damage)) in causes {
            let more = n - LOGGED_PER_CAUSE;
            if *damage {
                warn!("{more} more {cause} problems not shown (-vv shows them all)");
            } else {
                info!("{more} more {cause} notes not shown (-vv shows them all)");
            }
        }
    }
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
    let mut log = ProblemLog::default();
    let mut report = DecodeReport::default();
    let mut printer = RecordPrinter::new(opts.format, out, true).with_workers(opts.workers);
    let mut files = Vec::new();
    for (index, path) in opts.files.iter().enumerate() {
        let mut reader =
            CaptureReader::open(path, &opts.capture).with_context(|| format!("cannot decode {}", path.display()))?;
        let progress = progress_bar(opts.progress, reader.total_bytes());
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
                    return Err(e).with_context(|| format!("cannot decode {}", path.display()));
                }
                Err(e) => {
                    sink.problems += 1;
                    sink.log.report(e.kind.cause(), true, || e.to_string());
                }
            }
            messages += 1;
            if messages.is_multiple_of(4096)
                && let Some(pb) = &progress
            {
                pb.set_position(reader.bytes_consumed());
            }
        }
        if let Some(pb) = progress {
            pb.finish_and_clear();
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
    log.summarize();
    if opts.stats {
        let summary = Summary::new(&decoder, &files);
        printer.finish().context("writing records")?;
        let mut out = printer.into_inner();
        summary.write(opts.format, &mut out).context("writing the summary")?;
    } else {
        printer.finish().context("writing records")?;
    }
    Ok(report)
}

fn progress_bar(wanted: bool, total: Option<u64>) -> Option<indicatif::ProgressBar> {
    const WORTH_IT: u64 = 16 << 20;
    let total = total.filter(|&t| t >= WORTH_IT)?;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total);
    let style =
        indicatif::ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style);
    Some(pb)
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
pub struct DomainRow {
    /// The RFC 5655 file a file session is; network sessions can span several capture files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub exporter: Option<String>,
    pub collector: Option<String>,
    pub transport: &'static str,
    /// 10 for IPFIX, 9 for NetFlow v9; absent for messages whose header could not be read.
    pub version: Option<u16>,
    pub observation_domain_id: Option<u32>,
    #[serde(flatten)]
    pub stats: DomainStats,
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
        let mut sessions: Vec<_> = decoder.sessions().collect();
        sessions.sort_by_key(|s| s.key);
        let mut domains = Vec::new();
        let mut totals = DomainStats::default();
        for s in sessions {
            let file = match s.key.source {
                0 => None,
                n => files.get(n as usize - 1).map(|(p, _)| p.display().to_string()),
            };
            let row = |version, domain, stats: DomainStats| DomainRow {
                file: file.clone(),
                exporter: s.key.exporter.map(|a| a.to_string()),
                collector: s.key.collector.map(|a| a.to_string()),
                transport: s.key.transport.name(),
                version,
                observation_domain_id: domain,
                stats,
            };
            let mut ds: Vec<_> = s.domains().collect();
            ds.sort_by_key(|(k, _)| *k);
            for ((version, domain), d) in ds {
                totals.add(&d.stats);
                domains.push(row(Some(version), Some(domain), d.stats));
            }
            if s.unparsed.messages > 0 {
                totals.add(&s.unparsed);
                domains.push(row(None, None, s.unparsed));
            }
        }
        let files = files.iter().map(|(p, c)| FileRow { file: p.display().to_string(), capture: *c }).collect();
        Summary { domains, totals, files }
    }

    fn write<W: Write>(&self, format: OutputFormat, out: &mut W) -> std::io::Result<()> {
        match format {
            OutputFormat::Json => {
                serde_json::to_writer(&mut *out, self)?;
                out.write_all(b"\n")
            }
            OutputFormat::Yaml => {
                let text = serde_saphyr::to_string(self).map_err(std::io::Error::other)?;
                out.write_all(text.as_bytes())
            }
            OutputFormat::Table | OutputFormat::Wide => {
                out.write_all(self.table(format == OutputFormat::Wide).as_bytes())
            }
        }
    }

    fn table(&self, wide: bool) -> String {
        use comfy_table::{Table, presets};
        let mut t = Table::new();
        t.load_style(presets::NOTHING);
        let mut header = vec![];
        header.extend([
            "EXPORTER",
            "VERSION",
            "DOMAIN",
            "MESSAGES",
            "TEMPLATES",
            "OPT-TEMPLATES",
            "DATA",
            "OPT-DATA",
            "WAITING",
            "LATE",
            "EXPIRED",
            "MALFORMED",
            "SEQ-GAPS",
        ]);
        if wide {
            header.extend(["LOST", "WITHDRAWN", "TPL-EXPIRED", "TPL-REFUSED", "BYTES"]);
        }
        t.set_header(header);
        let mut add = |exporter: &str, version: String, domain: String, s: &DomainStats| {
            let mut row = vec![exporter.to_string(), version, domain];
            row.extend(
                [
                    s.messages,
                    s.template_records,
                    s.options_template_records,
                    s.data_records,
                    s.options_records,
                    s.sets_waiting,
                    s.late_records,
                    s.sets_expired,
                    s.malformed,
                    s.sequence_gaps,
                ]
                .map(|n| n.to_string()),
            );
            if wide {
                row.extend(
                    [s.lost, s.withdrawals, s.templates_expired, s.templates_refused, s.bytes].map(|n| n.to_string()),
                );
            }
            t.add_row(row);
        };
        for d in &self.domains {
            let exporter = d.exporter.clone().or_else(|| d.file.clone()).unwrap_or_else(|| d.transport.to_string());
            let version = d.version.map_or("-".into(), |v| if v == 9 { "v9".into() } else { "ipfix".into() });
            let domain = d.observation_domain_id.map_or("-".into(), |v| v.to_string());
            add(&exporter, version, domain, &d.stats);
        }
        if self.domains.len() > 1 {
            add("total", String::new(), String::new(), &self.totals);
        }
        let mut text: String =
            t.lines().map(|l| l.strip_prefix(' ').unwrap_or(&l).trim_end().to_string() + "\n").collect();
        for f in &self.files {
            let c = &f.capture;
            text.push_str(&format!(
                "\n{}: {} frames, {} IPFIX/NetFlow messages ({} UDP, {} TCP, {} file), {} other packets",
                f.file,
                c.frames,
                c.udp_messages + c.tcp_messages + c.file_messages,
                c.udp_messages,
                c.tcp_messages,
                c.file_messages,
                c.non_ipfix_packets + c.non_ip_frames,
            ));
            let damage = [
                (c.corrupt_records, "corrupt records"),
                (c.truncated, "truncated"),
                (c.fragments_dropped, "IP datagrams not reassembled"),
                (c.tcp_gaps, "TCP gaps"),
                (c.tcp_resyncs, "TCP resyncs"),
                (c.tcp_bytes_skipped, "TCP bytes skipped"),
            ];
            for (n, what) in damage {
                if n > 0 {
                    text.push_str(&format!(", {n} {what}"));
                }
            }
            text.push('\n');
        }
        text
    }
}
