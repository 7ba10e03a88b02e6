//! `-o table` and `-o wide`: records as aligned columns for people.
//!
//! A capture can hold millions of records, so rows are rendered in chunks and the header is
//! printed once. The column widths are fixed by the header and the first chunk and never change,
//! so the header fits every row: a later cell wider than its column is cut to the width and ends
//! in `…` (the last column, which nothing follows, is never cut). `table` shows the flow in a
//! few columns; `wide` adds every field; `--fields` shows the chosen fields instead.

use super::fields::{Selection, csv_line};
use super::json;
use crate::core::ipfix::decoder::{RecordRef, Templates};
use crate::core::ipfix::value::Value;
use crate::core::time::Rfc3339Cache;

const CHUNK: usize = 1000;

pub struct TablePrinter {
    wide: bool,
    with_frame: bool,
    selection: Option<Selection>,
    rows: Vec<Vec<String>>,
    /// Set when the header is printed.
    widths: Option<Vec<usize>>,
}

impl TablePrinter {
    pub fn new(wide: bool, with_frame: bool, selection: Option<Selection>) -> Self {
        TablePrinter { wide, with_frame, selection, rows: Vec::new(), widths: None }
    }

    /// The column names: the chosen fields as asked for, or the flow's columns.
    pub fn header(&self) -> Vec<String> {
        if let Some(s) = &self.selection {
            return s.labels().map(str::to_string).collect();
        }
        let mut h = Vec::new();
        if self.with_frame {
            h.push("FRAME");
        }
        h.extend([
            "TIME",
            "EXPORTER",
            "DOMAIN",
            "TEMPLATE",
            "KIND",
            "SOURCE",
            "DESTINATION",
            "PROTO",
            "PACKETS",
            "BYTES",
        ]);
        if self.wide {
            h.push("FIELDS");
        }
        h.into_iter().map(str::to_string).collect()
    }

    /// CSV's header: the chosen fields, or the table's columns in lower case.
    pub fn csv_header(&self) -> Vec<String> {
        match &self.selection {
            Some(_) => self.header(),
            None => self.header().iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    pub fn record(&mut self, r: &RecordRef<'_>) {
        let row = self.row(r);
        self.push(row);
    }

    /// Adds a row made by [`TablePrinter::row`] (possibly on another thread).
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Appends the record as a CSV line: the chosen fields, or the table's cells.
    pub fn csv_record(&mut self, r: &RecordRef<'_>, out: &mut Vec<u8>) {
        match &mut self.selection {
            Some(s) => s.csv(r, self.with_frame, out),
            None => csv_line(self.row(r), out),
        }
    }

    /// The cells of a record's row.
    pub fn row(&mut self, r: &RecordRef<'_>) -> Vec<String> {
        if let Some(s) = &mut self.selection {
            return s.cells(r, self.with_frame);
        }
        let rec = r.record;
        let get = |id: u16| rec.get(0, id).filter(|v| !matches!(v, Value::Absent));
        let endpoint = |v4: u16, v6: u16, port: u16| -> String {
            let addr = get(v4).or_else(|| get(v6)).map(|v| display(&v, r.templates));
            match (addr, get(port).and_then(|v| v.as_u64())) {
                (Some(a), Some(p)) if a.contains(':') => format!("[{a}]:{p}"),
                (Some(a), Some(p)) => format!("{a}:{p}"),
                (Some(a), None) => a,
                (None, Some(p)) => format!("*:{p}"),
                (None, None) => String::new(),
            }
        };
        let counter = |delta: u16, total: u16| get(delta).or_else(|| get(total)).map(|v| display(&v, r.templates));
        let mut row = Vec::with_capacity(12);
        if self.with_frame {
            row.push(r.meta.origin.frame.to_string());
        }
        row.push(r.meta.origin.time.to_string());
        row.push(r.meta.origin.exporter.map(|a| a.to_string()).unwrap_or_default());
        row.push(r.meta.header.domain.to_string());
        row.push(rec.template.id.to_string());
        row.push(if rec.template.is_options() { "options" } else { "data" }.to_string());
        row.push(endpoint(8, 27, 7));
        row.push(endpoint(12, 28, 11));
        row.push(get(4).and_then(|v| v.as_u64()).map(protocol_name).unwrap_or_default());
        row.push(counter(2, 86).unwrap_or_default());
        row.push(counter(1, 85).unwrap_or_default());
        if self.wide {
            let mut fields = String::new();
            // Repeated names print in place (`name=a name=b`), which reads well in a table.
            for (field, raw) in rec.fields() {
                if !fields.is_empty() {
                    fields.push(' ');
                }
                fields.push_str(rec.template.name(field));
                fields.push('=');
                if field.spec.length == 0 {
                    fields.push('-');
                } else {
                    fields.push_str(&display(&Value::decode(field.data_type, raw), r.templates));
                }
            }
            row.push(fields);
        }
        row
    }

    pub fn ready(&self) -> bool {
        self.rows.len() >= CHUNK
    }

    /// Renders the rows held so far into `out`, the header first the first time.
    pub fn render(&mut self, out: &mut Vec<u8>) {
        if self.rows.is_empty() {
            return;
        }
        let widths = match self.widths.take() {
            Some(widths) => widths,
            None => {
                let header = self.header();
                let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
                for row in &self.rows {
                    for (w, cell) in widths.iter_mut().zip(row) {
                        *w = (*w).max(width(cell));
                    }
                }
                line(&header, &widths, out);
                widths
            }
        };
        for row in self.rows.drain(..) {
            line(&row, &widths, out);
        }
        self.widths = Some(widths);
    }
}

fn width(cell: &str) -> usize {
    cell.chars().count()
}

/// One line of cells padded to `widths` and two spaces apart, as comfy-table's borderless style
/// lays them out, without trailing blanks.
fn line(cells: &[String], widths: &[usize], out: &mut Vec<u8>) {
    let start = out.len();
    for (i, (cell, &w)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"  ");
        }
        let n = width(cell);
        if i + 1 == cells.len().min(widths.len()) {
            out.extend_from_slice(cell.as_bytes());
        } else if n > w {
            out.extend(cell.chars().take(w.saturating_sub(1)).collect::<String>().bytes());
            out.extend_from_slice("…".as_bytes());
        } else {
            out.extend_from_slice(cell.as_bytes());
            out.resize(out.len() + (w - n), b' ');
        }
    }
    let end = out[start..].iter().rposition(|&b| b != b' ').map_or(start, |p| start + p + 1);
    out.truncate(end);
    out.push(b'\n');
}

/// A value as people read it: strings and addresses bare, lists as JSON.
pub fn display(v: &Value<'_>, templates: &Templates) -> String {
    let mut out = Vec::new();
    let mut times = Rfc3339Cache::default();
    match *v {
        Value::String(s) => {
            let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
            return String::from_utf8_lossy(s).into_owned();
        }
        Value::Time(t) => return t.to_string(),
        Value::Ipv4(a) => return a.to_string(),
        Value::Ipv6(a) => return a.to_string(),
        Value::Mac(m) => json::mac(&m, &mut out),
        Value::Octets(b) | Value::Invalid(b) => json::hex(b, &mut out),
        _ => json::value(v, &mut json::Cx { templates, times: &mut times }, &mut out, 0),
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// IANA protocol numbers people know by name.
pub fn protocol_name(p: u64) -> String {
    match p {
        1 => "icmp".into(),
        2 => "igmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        58 => "ipv6-icmp".into(),
        132 => "sctp".into(),
        _ => p.to_string(),
    }
}

/// antctl's plain table: no borders, columns padded, no trailing blanks.
pub fn plain<const N: usize>(header: [&str; N], rows: impl IntoIterator<Item = [String; N]>) -> String {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(header);
    for row in rows {
        table.add_row(row);
    }
    format!("{}\n", table.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n"))
}
