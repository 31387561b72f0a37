//! Facts about where output goes, read once: is stdout a terminal, how wide, colour or not.

use std::io::IsTerminal;

use crate::cli::ColorChoice;
use crate::render::FALLBACK_WIDTH;
pub use crate::render::Style;

impl Style {
    pub fn decide(choice: ColorChoice) -> Style {
        let terminal = std::io::stdout().is_terminal();
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let width = if terminal { width() } else { FALLBACK_WIDTH };
        Style {
            color,
            terminal,
            width,
            header: true,
        }
    }
}

/// Only asked of a real terminal: elsewhere crossterm would fall back to running `tput`.
fn width() -> u16 {
    let reported = crossterm::terminal::size()
        .map(|(columns, _)| columns)
        .unwrap_or(0);
    if reported > 0 {
        return reported;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|c| *c > 0)
        .unwrap_or(FALLBACK_WIDTH)
}

/// Whether stderr is a terminal (progress bars and prompts go there).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
