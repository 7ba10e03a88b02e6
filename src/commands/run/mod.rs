//! `flowctl run`: the long-running services of the pipeline.

pub mod agent;
pub mod aggregator;

use clap::{Args, Subcommand};

use super::{ExitStatus, GlobalArgs};

/// Run a service of the flow-visibility pipeline
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(subcommand)]
    pub service: Service,
}

#[derive(Debug, Subcommand)]
pub enum Service {
    Agent(Box<agent::AgentArgs>),
    Aggregator(Box<aggregator::AggregatorArgs>),
}

pub fn run(args: RunArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match args.service {
        Service::Agent(a) => agent::run(*a, global),
        Service::Aggregator(a) => aggregator::run(*a, global),
    }
}
