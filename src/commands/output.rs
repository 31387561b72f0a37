//! Where output goes, decided once: stdout buffered, stderr for notes, hints and progress,
//! the style of tables (terminal or not, width, colour).

use std::collections::HashSet;
use std::io::{self, BufWriter, IsTerminal, LineWriter, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::ColorChoice;
use crate::interrupt::{self, Stream};
use crate::model::Inventory;
use crate::render::{FALLBACK_WIDTH, Style};
use crate::text::errno;

/// stdout went away (`portscope | head`): the one failure that ends a command quietly, with 0.
/// A broken pipe anywhere else (a socket) is an error like any other.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// A writer to stdout whose broken pipe carries `StdoutClosed`.
pub struct Stdout<W: Write>(W);

impl<W: Write> Stdout<W> {
    fn mark(e: io::Error) -> io::Error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)
        } else if e.raw_os_error().is_some() {
            io::Error::new(e.kind(), format!("writing to stdout: {}", errno(&e)))
        } else {
            // Ours already (a write a signal cut short): keep what it carries.
            e
        }
    }
}

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(Self::mark)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(Self::mark)
    }
}

/// Buffered stdout; every command flushes it before returning so a closed pipe is noticed. A
/// signal ends a write blocked on a full pipe (`interrupt::Stream`).
pub fn stdout() -> Stdout<BufWriter<Stream>> {
    Stdout(BufWriter::with_capacity(64 * 1024, interrupt::stdout()))
}

/// stdout for a command whose exit status reports what an action did (`kill`): a reader that
/// goes away (`| head -1`) neither stops the action nor changes its status; the rest of the
/// report is dropped.
pub fn stdout_for_action() -> Stdout<BufWriter<Unread<Stream>>> {
    Stdout(BufWriter::with_capacity(
        64 * 1024,
        Unread {
            inner: interrupt::stdout(),
            gone: false,
        },
    ))
}

/// A writer whose reader may leave: after a broken pipe, everything is dropped unwritten.
pub struct Unread<W: Write> {
    inner: W,
    gone: bool,
}

impl<W: Write> Unread<W> {
    /// Whether `e` says the reader left (and from now on nothing is written).
    fn left(&mut self, e: &io::Error) -> bool {
        self.gone |= e.kind() == io::ErrorKind::BrokenPipe;
        self.gone
    }
}

impl<W: Write> Write for Unread<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.gone {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(e) if self.left(&e) => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.inner.flush() {
            Err(e) if self.left(&e) => Ok(()),
            other => other,
        }
    }
}

/// stdout for a line at a time (events, the lab's steps), flushed by the caller.
pub fn stdout_lines() -> Stdout<LineWriter<Stream>> {
    Stdout(LineWriter::new(interrupt::stdout()))
}

/// Colour, terminal and width, from the flag, `NO_COLOR` and stdout.
pub fn style(choice: ColorChoice) -> Style {
    let terminal = std::io::stdout().is_terminal();
    let color = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    // Only a real terminal is asked: elsewhere crossterm would fall back to running `tput`.
    let width = if terminal { size().0 } else { FALLBACK_WIDTH };
    Style {
        color,
        terminal,
        width,
        header: true,
    }
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

/// One line on stderr. A diagnostic that cannot be written (stderr closed or full) is dropped:
/// it must never end the command or change its exit status.
pub fn diagnostic(line: &str) {
    stderr_line(&format!("portscope: {line}"));
}

/// A line on stderr in one write, dropped when stderr cannot take it (closed, or full when a
/// signal comes).
pub fn stderr_line(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    stderr_text(&text);
}

/// Text on stderr in one write (a progress line redrawn in place), dropped like a line.
pub fn stderr_text(text: &str) {
    let _ = interrupt::stderr().write_all(text.as_bytes());
}

/// Notes about how the table was read, each said once however often a command looks.
pub fn notes(notes: &[String]) {
    static SAID: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    let said = said.get_or_insert_with(HashSet::new);
    for note in notes {
        if said.insert(note.clone()) {
            diagnostic(&format!("note: {note}"));
        }
    }
}

/// The notes of an inventory, and the one hint about owners that could not be seen.
pub fn report_gaps(inv: &Inventory) {
    notes(&inv.notes);
    static HINTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if inv.unreadable_processes == 0 || HINTED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let hidden = inv.hidden_owner_count();
    let named = inv.sockets.iter().any(|s| !s.pids.is_empty())
        || inv.unix.iter().any(|s| !s.pids.is_empty());
    let hint = if hidden > 0 {
        format!(
            "hint: the owners of {} are other users' processes and are hidden (shown as -), \
             and a socket shown with owners may have more among them; run as root (sudo \
             portscope …) to see them",
            crate::text::count(hidden, "socket")
        )
    } else if named {
        // A shared socket (a root master and its workers) shows the holders we could read.
        "hint: other users' processes could not be read, so a socket may have more holders \
         than shown; run as root (sudo portscope …) to see them all"
            .to_string()
    } else {
        return;
    };
    HINTED.store(true, std::sync::atomic::Ordering::Relaxed);
    diagnostic(&hint);
}

/// A progress bar on stderr for `len` steps of long work, when stderr is a terminal.
pub fn progress(len: usize, template: &str) -> Option<ProgressBar> {
    if !stderr_is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Some(bar)
}

/// Advances an optional progress bar by one.
pub fn tick(bar: &Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.inc(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe whose reader went away.
    struct Gone;

    impl Write for Gone {
        fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_action_s_report_outlives_its_reader() {
        let mut out = Stdout(Unread {
            inner: Gone,
            gone: false,
        });
        out.write_all(b"first\n").unwrap();
        out.flush().unwrap();
        assert!(out.0.gone);
        out.write_all(b"second\n").unwrap();
    }

    #[test]
    fn only_stdout_going_away_is_quiet() {
        let on_a_socket = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("sending a request");
        assert!(
            !crate::is_broken_pipe(&on_a_socket),
            "a socket's EPIPE is an error"
        );
        let on_stdout = Stdout(Gone).write_all(b"row\n").unwrap_err();
        let on_stdout = anyhow::Error::new(on_stdout).context("writing the table");
        assert!(crate::is_broken_pipe(&on_stdout));
    }
}
