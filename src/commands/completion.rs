//! `flowctl completion <shell>`: prints a shell completion script.

use clap::Args;
use clap_complete::Shell;

use super::ExitStatus;
use super::docs::completion_command;

/// Print a shell completion script (e.g. `source <(flowctl completion bash)`)
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: CompletionArgs) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut completion_command(), "flowctl", &mut out);
    Ok(ExitStatus::Success)
}
