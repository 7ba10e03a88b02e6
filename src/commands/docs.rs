//! `flowctl generate-docs` (hidden): writes the completion scripts and man pages that the
//! repository carries in `completions/` and `man/`, from the clap definitions. A test runs it
//! and fails when the committed files are stale.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, ExitStatus};

#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// Directory that receives completions/ and man/
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

pub fn run(args: GenerateDocsArgs) -> anyhow::Result<ExitStatus> {
    generate(&args.out)?;
    Ok(ExitStatus::Success)
}

/// Writes `completions/flowctl.{bash,zsh,fish,ps1,elv}` and `man/flowctl*.1` under `root`.
pub fn generate(root: &Path) -> anyhow::Result<()> {
    let completions = root.join("completions");
    let man = root.join("man");
    for dir in [&completions, &man] {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for (shell, file) in [
        (Shell::Bash, "flowctl.bash"),
        (Shell::Zsh, "_flowctl"),
        (Shell::Fish, "flowctl.fish"),
        (Shell::PowerShell, "_flowctl.ps1"),
        (Shell::Elvish, "flowctl.elv"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut completion_command(), "flowctl", &mut buf);
        let path = completions.join(file);
        fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
    }
    clap_mangen::generate_to(Cli::command(), &man)
        .with_context(|| format!("writing man pages to {}", man.display()))?;
    Ok(())
}

/// The command line that completion scripts offer: clap_complete lists hidden subcommands
/// (`generate-docs`) with the rest, so they are left out of a copy of it.
pub fn completion_command() -> clap::Command {
    let full = Cli::command();
    let mut visible = clap::Command::new("flowctl")
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
        .propagate_version(full.is_propagate_version_set());
    if let Some(about) = full.get_about() {
        visible = visible.about(about.clone());
    }
    visible.version(env!("CARGO_PKG_VERSION"))
}
