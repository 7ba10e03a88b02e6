//! Printers shared by the commands that show records: `table` and `wide` for people, `json`
//! (the record contract of DESIGN.md, one object per line), `yaml` (the same objects) and `csv`
//! (records only); `--fields` narrows any of them to the chosen fields.
//!
//! A printer buffers its output and reports the first write error (a closed pipe, say) through
//! [`RecordPrinter::error`] so the caller stops reading input instead of panicking.

pub mod fields;
pub mod json;
pub mod parallel;
pub mod plural;
pub mod summary;
pub mod table;

use std::io::{self, Write};

use crate::core::ipfix::decoder::RecordRef;

use self::fields::{Selection, csv_line};
use self::json::JsonWriter;
use self::parallel::ParallelJson;
use self::table::TablePrinter;

/// How records (and summaries) are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Wide,
    Json,
    Yaml,
}

/// How records are shown: the formats of [`OutputFormat`] and CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFormat {
    Table,
    Wide,
    Json,
    Yaml,
    Csv,
}

impl RecordFormat {
    /// How a summary (`--stats`) is shown: CSV is for records, so a table.
    pub fn summary(self) -> OutputFormat {
        match self {
            RecordFormat::Table | RecordFormat::Csv => OutputFormat::Table,
            RecordFormat::Wide => OutputFormat::Wide,
            RecordFormat::Json => OutputFormat::Json,
            RecordFormat::Yaml => OutputFormat::Yaml,
        }
    }
}

impl From<OutputFormat> for RecordFormat {
    fn from(f: OutputFormat) -> Self {
        match f {
            OutputFormat::Table => RecordFormat::Table,
            OutputFormat::Wide => RecordFormat::Wide,
            OutputFormat::Json => RecordFormat::Json,
            OutputFormat::Yaml => RecordFormat::Yaml,
        }
    }
}

/// Buffered output flushed in large writes; the first error sticks.
const FLUSH_AT: usize = 256 << 10;

/// Up to this many chosen fields are formatted on the decoding thread.
const INLINE_FIELDS: usize = 8;

/// Prints records in one format.
pub struct RecordPrinter<W: Write> {
    format: RecordFormat,
    out: W,
    buf: Vec<u8>,
    json: JsonWriter,
    /// JSON formatting on worker threads, when there are cores to spare.
    parallel: Option<ParallelJson>,
    table: TablePrinter,
    /// Scratch for YAML, which goes through the JSON form of the record.
    scratch: Vec<u8>,
    /// CSV's header is still to be written.
    csv_header: bool,
    error: Option<io::Error>,
}

impl<W: Write> RecordPrinter<W> {
    /// `with_frame`: include the capture frame number (captures have one, live input not).
    /// `selection`: print only these fields (`--fields`).
    pub fn new(format: RecordFormat, out: W, with_frame: bool, selection: Option<Selection>) -> Self {
        RecordPrinter {
            format,
            out,
            buf: Vec::with_capacity(FLUSH_AT + (64 << 10)),
            json: JsonWriter::new(with_frame).with_selection(selection.clone()),
            parallel: None,
            table: TablePrinter::new(format == RecordFormat::Wide, with_frame, selection),
            scratch: Vec::new(),
            csv_header: format == RecordFormat::Csv,
            error: None,
        }
    }

    /// Formats JSON on `workers` threads (nothing changes for other formats or fewer than 2, nor
    /// for a selection of a few fields, which costs less to format than to copy to a worker).
    pub fn with_workers(mut self, workers: usize) -> Self {
        let few = self.json.selection().is_some_and(|s| s.len() <= INLINE_FIELDS);
        if self.format == RecordFormat::Json && workers >= 2 && !few {
            self.parallel = Some(ParallelJson::new(self.json.with_frame(), self.json.selection().cloned(), workers));
        }
        self
    }

    fn write_csv_header(&mut self) {
        if std::mem::take(&mut self.csv_header) {
            csv_line(self.table.csv_header(), &mut self.buf);
        }
    }

    /// The write error that stopped the printer, if any.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    #[inline]
    pub fn record(&mut self, r: &RecordRef<'_>) {
        if self.error.is_some() {
            return;
        }
        if let Some(parallel) = &mut self.parallel {
            let (out, error) = (&mut self.out, &mut self.error);
            parallel.record(r, &mut |text| write_text(out, error, text));
            return;
        }
        match self.format {
            RecordFormat::Json => self.json.record(r, &mut self.buf),
            RecordFormat::Yaml => {
                self.scratch.clear();
                self.json.record(r, &mut self.scratch);
                yaml_item(&self.scratch, &mut self.buf);
            }
            RecordFormat::Csv => {
                self.write_csv_header();
                self.table.csv_record(r, &mut self.buf);
            }
            RecordFormat::Table | RecordFormat::Wide => {
                self.table.record(r);
                if self.table.ready() {
                    self.table.render(&mut self.buf);
                }
            }
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf();
        }
    }

    fn flush_buf(&mut self) {
        if let Err(e) = self.out.write_all(&self.buf) {
            self.error = Some(e);
        }
        self.buf.clear();
    }

    /// Gives back the writer (after [`RecordPrinter::finish`]).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes out everything held (the last rows of a table, buffered lines).
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(mut parallel) = self.parallel.take() {
            let (out, error) = (&mut self.out, &mut self.error);
            parallel.finish(&mut |text| write_text(out, error, text));
        }
        if self.error.is_none() && matches!(self.format, RecordFormat::Table | RecordFormat::Wide) {
            self.table.render(&mut self.buf);
        }
        self.write_csv_header();
        if self.error.is_none() {
            self.flush_buf();
        }
        if self.error.is_none()
            && let Err(e) = self.out.flush()
        {
            self.error = Some(e);
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn write_text<W: Write>(out: &mut W, error: &mut Option<io::Error>, text: &[u8]) {
    if error.is_none()
        && let Err(e) = out.write_all(text)
    {
        *error = Some(e);
    }
}

/// Appends the JSON object in `json` (one line) as an item of a YAML sequence.
pub fn yaml_item(json: &[u8], out: &mut Vec<u8>) {
    let value: serde_json::Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(_) => return,
    };
    yaml_value_item(&value, out);
}

/// Appends any serializable value as an item of a YAML sequence.
pub fn yaml_value_item<T: serde::Serialize>(value: &T, out: &mut Vec<u8>) {
    let Ok(text) = serde_saphyr::to_string(value) else { return };
    for (i, line) in text.lines().enumerate() {
        out.extend_from_slice(if i == 0 { b"- " } else { b"  " });
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
}
