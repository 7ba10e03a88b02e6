//! The command line: clap definitions, global options, and dispatch. Each subcommand's module
//! turns its arguments into validated options and calls into `core`; nothing here does the work.

pub mod certs;
pub mod collect;
pub mod completion;
pub mod decode;
pub mod docs;
pub mod get;
pub mod listen;
pub mod replay;
pub mod run;
pub mod service;
pub mod tc;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::core::output::{OutputFormat, RecordFormat};

/// What a command's run ended with; the binary turns it into the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the work ran and found nothing the user asked to be told about.
    Success,
    /// 1: the work ran but found problems the user asked about (e.g. `--strict`).
    Failure,
}

#[derive(Debug, Parser)]
#[command(
    name = "flowctl",
    version,
    about = "Network-flow visibility toolkit: decode, collect and export IPFIX / NetFlow v9",
    long_about = "flowctl embeds the flow-visibility pipeline of a Kubernetes cluster (in the style of \
                  Antrea's antctl) and the tools to look inside it: decode IPFIX and NetFlow v9 out of \
                  pcap, pcapng and RFC 5655 files, collect them live, and replay captures to a collector.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format [default: table on a terminal, json otherwise]
    #[arg(short, long, global = true, value_enum, help_heading = "Global options")]
    pub output: Option<OutputArg>,

    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,

    /// No announcements (where services listen and export) and no status line on stderr; warnings and errors stay
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,

    /// Log line format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, help_heading = "Global options")]
    pub log_format: LogFormat,
}

/// The flag every long-running service has for its status line.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it
    /// off, as does --quiet
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub status_every: std::time::Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// Aligned columns, the flow in brief
    Table,
    /// Aligned columns with every field
    Wide,
    /// One JSON object per line
    Json,
    /// The same objects as a YAML sequence
    Yaml,
    /// Comma-separated values, one line per record after a header (decode and collect; other
    /// commands print a table)
    Csv,
}

impl From<OutputArg> for OutputFormat {
    fn from(o: OutputArg) -> Self {
        match o {
            OutputArg::Table => OutputFormat::Table,
            OutputArg::Wide => OutputFormat::Wide,
            OutputArg::Json => OutputFormat::Json,
            OutputArg::Yaml => OutputFormat::Yaml,
            OutputArg::Csv => OutputFormat::Table,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Decode(decode::DecodeArgs),
    Collect(collect::CollectArgs),
    Replay(replay::ReplayArgs),
    Run(run::RunArgs),
    Get(get::GetArgs),
    Tc(tc::TcArgs),
    Certs(certs::CertsArgs),
    Completion(completion::CompletionArgs),
    #[command(hide = true)]
    GenerateDocs(docs::GenerateDocsArgs),
}

impl GlobalArgs {
    /// How records are printed (`decode`, `collect`): the output format, CSV included.
    pub fn record_format(&self) -> RecordFormat {
        match self.output {
            Some(OutputArg::Csv) => RecordFormat::Csv,
            _ => self.output_format().into(),
        }
    }

    /// The output format asked for, or the default for where stdout goes.
    pub fn output_format(&self) -> OutputFormat {
        match self.output {
            Some(o) => o.into(),
            None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => OutputFormat::Table,
            None => OutputFormat::Json,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Decode(args) => decode::run(args, &cli.global),
        Command::Collect(args) => collect::run(args, &cli.global),
        Command::Replay(args) => replay::run(args, &cli.global),
        Command::Run(args) => run::run(args, &cli.global),
        Command::Get(args) => get::run(args, &cli.global),
        Command::Tc(args) => tc::run(args, &cli.global),
        Command::Certs(args) => certs::run(args),
        Command::Completion(args) => completion::run(args),
        Command::GenerateDocs(args) => docs::run(args),
    }
}

/// Colour only for a person at a terminal, and never when `NO_COLOR` is set to anything but the
/// empty string (<https://no-color.org>): escapes in a log file or a pipe are noise.
fn colour_on_stderr(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(|v| v.is_empty()) && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// Sets up logging on stderr: `-v` levels, `RUST_LOG` over them, text or JSON lines.
pub fn init_logging(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let level = match global.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let announcements = if global.quiet { "off" } else { "info" };
    let default = format!("{level},{}={announcements}", crate::core::announce::TARGET);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr(std::env::var_os("NO_COLOR").as_deref()));
    match global.log_format {
        LogFormat::Text => builder.with_target(false).without_time().init(),
        LogFormat::Json => builder.json().init(),
    }
}
