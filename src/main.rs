use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use portscope::{Exit, cli::Cli, text::escaped};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return printed(write!(std::io::stdout(), "{}", e.render()));
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            return missing_subcommand(&e);
        }
        Err(e) => return usage_error(&e),
    };
    match portscope::run(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) if portscope::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the message holds (an argument with a newline, say), in one
            // write that a signal can end when nobody drains stderr.
            let line = format!("portscope: {}\n", escaped(&format!("{e:#}")));
            let _ = portscope::interrupt::stderr().write_all(line.as_bytes());
            ExitCode::from(Exit::for_error(&e).code())
        }
    }
}

/// Help and version text: 0 once written, 0 for a closed pipe, 2 when stdout cannot take it.
fn printed(result: std::io::Result<()>) -> ExitCode {
    match result.and_then(|()| std::io::stdout().flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "portscope: writing the help: {e}");
            ExitCode::from(Exit::Error.code())
        }
    }
}

/// clap's error as one line, not its usage block, and its tip (a similar argument) if any.
fn usage_error(e: &clap::Error) -> ExitCode {
    let message = e.render().to_string();
    let first: Vec<&str> = message
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = first.join(" ");
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "portscope: {} (see --help)",
        escaped(text.trim_start_matches("error: "))
    );
    if let Some(tip) = message
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("tip:"))
    {
        let _ = writeln!(err, "portscope: {}", escaped(tip));
    }
    ExitCode::from(Exit::Error.code())
}

/// `portscope tcp` alone: clap would print the whole help; one line names the subcommands
/// and the usage instead.
fn missing_subcommand(e: &clap::Error) -> ExitCode {
    let help = e.render().to_string();
    let usage = help
        .lines()
        .find_map(|l| l.strip_prefix("Usage: "))
        .unwrap_or("portscope <COMMAND>")
        .trim();
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    let command = usage
        .trim_end_matches(" <COMMAND>")
        .replace(" [OPTIONS]", "");
    let line = format!(
        "{command} needs a subcommand: {} (usage: {usage}; see {command} --help)",
        commands.join(", ")
    );
    let _ = writeln!(std::io::stderr(), "portscope: {}", escaped(&line));
    ExitCode::from(Exit::Error.code())
}
