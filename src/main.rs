use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use portscope::{Exit, cli::Cli};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line, not clap's usage block: the first line of its message says it all.
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            eprintln!(
                "portscope: {} (see --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(Exit::Error.code());
        }
    };
    match portscope::run(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) if portscope::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portscope: {e:#}");
            ExitCode::from(Exit::for_error(&e).code())
        }
    }
}
