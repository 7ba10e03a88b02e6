//! The per-exporter summary `decode --stats` and `collect` print: one row per transport session
//! and observation domain, a total, as a table for people or as JSON/YAML.

use std::io::Write;

use serde::Serialize;

use super::OutputFormat;
use crate::core::ipfix::decoder::{DomainStats, SessionStats};

#[derive(Clone, Debug, Serialize)]
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

/// Rows for `sessions` (sorted by session), and their total. `file_of` names the file of a file
/// session by its source number.
pub fn domain_rows<'a>(
    sessions: impl IntoIterator<Item = &'a SessionStats>,
    file_of: impl Fn(u32) -> Option<String>,
) -> (Vec<DomainRow>, DomainStats) {
    let mut sessions: Vec<_> = sessions.into_iter().collect();
    sessions.sort_by_key(|s| s.key);
    let mut rows = Vec::new();
    let mut totals = DomainStats::default();
    for s in sessions {
        let row = |version, domain, stats: DomainStats| DomainRow {
            file: file_of(s.key.source),
            exporter: s.key.exporter.map(|a| a.to_string()),
            collector: s.key.collector.map(|a| a.to_string()),
            transport: s.key.transport.name(),
            version,
            observation_domain_id: domain,
            stats,
        };
        for &((version, domain), stats) in &s.domains {
            totals.add(&stats);
            rows.push(row(Some(version), Some(domain), stats));
        }
        if s.unparsed.messages > 0 {
            totals.add(&s.unparsed);
            rows.push(row(None, None, s.unparsed));
        }
    }
    (rows, totals)
}

/// The rows as aligned columns; `wide` adds the rarer counters.
pub fn domain_table(rows: &[DomainRow], totals: &DomainStats, wide: bool) -> String {
    use comfy_table::{Table, presets};
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    let mut header = vec![
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
    ];
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
    for d in rows {
        let exporter = d.exporter.clone().or_else(|| d.file.clone()).unwrap_or_else(|| d.transport.to_string());
        let version = d.version.map_or("-".into(), |v| if v == 9 { "v9".into() } else { "ipfix".into() });
        let domain = d.observation_domain_id.map_or("-".into(), |v| v.to_string());
        add(&exporter, version, domain, &d.stats);
    }
    if rows.len() > 1 {
        add("total", String::new(), String::new(), totals);
    }
    // The style pads every cell with a space; the first one only indents the table.
    t.lines().map(|l| l.strip_prefix(' ').unwrap_or(&l).trim_end().to_string() + "\n").collect()
}

/// Writes a summary as one JSON line or a YAML document.
pub fn write_serialized<T: Serialize, W: Write>(value: &T, format: OutputFormat, out: &mut W) -> std::io::Result<()> {
    if format == OutputFormat::Yaml {
        let text = serde_saphyr::to_string(value).map_err(std::io::Error::other)?;
        return out.write_all(text.as_bytes());
    }
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
