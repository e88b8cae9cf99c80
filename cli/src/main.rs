//! The `cinelock` binary: parses the command line, runs it, and exits with the code its
//! outcome maps to (`CliError::exit_code`).

use std::process::ExitCode;

use cinelock_cli::output::{Mode, Output};
use cinelock_cli::{CliError, cli::Cli, report, run};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output::new(if cli.json {
        Mode::Json
    } else if cli.quiet {
        Mode::Quiet
    } else {
        Mode::Human
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cinelock: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli, &out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Reported(e)) => ExitCode::from(e.exit_code()),
        Err(e) => {
            report(&out, &e, None);
            ExitCode::from(e.exit_code())
        }
    }
}
