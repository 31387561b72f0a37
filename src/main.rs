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
            // One line, not clap's usage block: its first paragraph, joined, says it all.
            let message = e.to_string();
            let lines: Vec<&str> = message.lines().take_while(|l| !l.is_empty()).collect();
            let text = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
            eprintln!(
                "portscope: {} (see --help)",
                text.trim_start_matches("error: ")
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
