//! `flowctl get`: query a running aggregator, as `antctl get` does.

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{ExitStatus, GlobalArgs};
use crate::core::aggregator::RecordMetrics;
use crate::core::output::OutputFormat;

/// Query a running aggregator
#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, Subcommand)]
pub enum What {
    /// Records received, exported and dropped, and exporters connected (antctl get recordmetrics)
    #[command(after_help = "Examples:\n  flowctl get recordmetrics\n  \
                            flowctl get recordmetrics --server http://10.0.0.5:10348 -o json")]
    Recordmetrics(ServerArgs),
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The aggregator's API (its --metrics-addr)
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:10348")]
    pub server: String,
}

pub fn run(args: GetArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match args.what {
        What::Recordmetrics(server) => {
            let url = format!("{}/recordmetrics", server.server.trim_end_matches('/'));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let metrics: RecordMetrics = runtime.block_on(async {
                let response = reqwest::get(&url).await.with_context(|| format!("cannot reach {url}"))?;
                let status = response.status();
                anyhow::ensure!(status.is_success(), "{url} answered {status}");
                response.json().await.with_context(|| format!("{url} did not answer with record metrics"))
            })?;
            print(&metrics, global.output_format())?;
        }
    }
    Ok(ExitStatus::Success)
}

fn print(m: &RecordMetrics, format: OutputFormat) -> anyhow::Result<()> {
    let text = match format {
        OutputFormat::Json => serde_json::to_string(m)? + "\n",
        OutputFormat::Yaml => serde_saphyr::to_string(m)?,
        OutputFormat::Table | OutputFormat::Wide => {
            let mut table = comfy_table::Table::new();
            table.load_style(comfy_table::presets::NOTHING);
            table.set_header(RecordMetrics::COLUMNS);
            table.add_row(m.row());
            format!("{}\n", table.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n"))
        }
    };
    use std::io::Write;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}
