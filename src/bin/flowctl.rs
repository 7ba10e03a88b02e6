//! The flowctl binary: parse the command line, set up logging, run, and turn the outcome into
//! an exit code (0 success, 1 problems found that the user asked about, 2 usage or fatal error).
//! A closed stdout (`flowctl decode … | head`) is not an error.

use std::process::ExitCode;

use clap::Parser;
use flowctl::commands::{self, Cli, ExitStatus};

fn main() -> ExitCode {
    let cli = Cli::parse();
    commands::init_logging(&cli.global);
    match commands::run(cli) {
        Ok(ExitStatus::Success) => ExitCode::SUCCESS,
        Ok(ExitStatus::Failure) => ExitCode::from(1),
        Err(err) => {
            if err.chain().any(|cause| {
                cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
