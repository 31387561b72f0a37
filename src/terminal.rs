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
    size().0
}

/// The terminal's columns and rows, read now (it may have been resized); a terminal that
/// reports 0 gets $COLUMNS or the fallback width, and 24 rows.
pub fn size() -> (u16, u16) {
    let (columns, rows) = crossterm::terminal::size().unwrap_or((0, 0));
    let columns = if columns > 0 {
        columns
    } else {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .filter(|c| *c > 0)
            .unwrap_or(FALLBACK_WIDTH)
    };
    (columns, if rows > 0 { rows } else { 24 })
}

/// Whether stderr is a terminal (progress bars and prompts go there).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
