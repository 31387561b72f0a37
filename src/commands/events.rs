//! Where an endpoint's events go: a line for people on stderr, or one JSON object per line on
//! stdout; received data goes to stdout (decoded on a terminal or with --encoding, raw
//! otherwise).

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::output;
use super::transfer::{Say, Transfers};
use crate::addr::Families;
use crate::cli::{EncodingName, EndpointArgs, TcpEndpointArgs};
use crate::endpoint::decode::Encoding;
use anyhow::Result;

use crate::Exit;
use crate::endpoint::event::{Event, EventKind};
use crate::endpoint::{Common, Reporter, Sink, TcpOptions};
use crate::host::Host;
use crate::model::Proto;
use crate::render::events;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Human,
    Json,
    /// Data only.
    Quiet,
}

pub struct Terminal {
    mode: Mode,
    start: Instant,
    /// Decode received data for display (else write it raw).
    decode: bool,
    /// People's lines: bursts of transfers shown as progress.
    lines: Mutex<Lines>,
}

/// The human lines on stderr, and whether a progress line is open (drawn in place, not
/// ended) on a terminal.
struct Lines {
    transfers: Transfers,
    /// Progress is redrawn in place: stderr is a terminal that stdout's data does not share.
    in_place: bool,
    open: bool,
}

impl Lines {
    fn say(&mut self, said: Vec<Say>) {
        for say in said {
            match say {
                Say::Progress(text) if self.in_place => {
                    output::stderr_text(&format!("\r\x1b[K{text}"));
                    self.open = true;
                }
                Say::Progress(text) | Say::Line(text) => {
                    self.close();
                    output::stderr_line(&text);
                }
            }
        }
    }

    /// Ends an open progress line, so what follows starts on a clean line.
    fn close(&mut self) {
        if std::mem::take(&mut self.open) {
            output::stderr_text("\r\x1b[K");
        }
    }
}

impl Terminal {
    pub fn new(args: &EndpointArgs) -> Terminal {
        let mode = if args.json {
            Mode::Json
        } else if args.quiet {
            Mode::Quiet
        } else {
            Mode::Human
        };
        let in_place = output::stderr_is_terminal() && !io::stdout().is_terminal();
        let refresh = if in_place {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        };
        Terminal {
            mode,
            start: Instant::now(),
            // Bytes go to a pipe as they came, unless an encoding was asked for.
            decode: args.encoding.is_some() || io::stdout().is_terminal(),
            lines: Mutex::new(Lines {
                transfers: Transfers::new(refresh),
                in_place,
                open: false,
            }),
        }
    }

    pub fn json(&self) -> bool {
        self.mode == Mode::Json
    }
}

impl Drop for Terminal {
    /// A burst cut short still shows its total, and the progress line is ended.
    fn drop(&mut self) {
        if self.mode == Mode::Human {
            let lines = self.lines.get_mut().unwrap_or_else(|e| e.into_inner());
            let said = lines.transfers.finish();
            lines.say(said);
            lines.close();
        }
    }
}

impl Sink for Terminal {
    fn event(&self, event: &Event) -> io::Result<()> {
        match self.mode {
            Mode::Quiet => Ok(()),
            // People's lines are diagnostics: a closed stderr must not end the endpoint.
            Mode::Human => {
                let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
                let said = lines.transfers.event(event, Instant::now());
                lines.say(said);
                Ok(())
            }
            Mode::Json => {
                let mut out = output::stdout_lines();
                let t_ms = self.start.elapsed().as_secs_f64() * 1000.0;
                events::json(&mut out, t_ms, event)?;
                out.flush()
            }
        }
    }

    fn data(&self, text: Option<&str>, raw: &[u8]) -> io::Result<()> {
        if self.mode == Mode::Json {
            return Ok(());
        }
        let mut out = output::stdout_lines();
        match text {
            Some(text) => {
                out.write_all(text.as_bytes())?;
                // On a terminal the next event line must not be glued to the data.
                if self.mode == Mode::Human && !text.ends_with('\n') {
                    out.write_all(b"\n")?;
                }
            }
            None => out.write_all(raw)?,
        }
        out.flush()
    }

    fn decodes(&self) -> bool {
        self.decode || self.mode == Mode::Json
    }
}

/// The options every endpoint takes.
pub fn common(args: &EndpointArgs) -> Common {
    Common {
        families: Families::from_flags(args.ipv4, args.ipv6),
        encoding: match args.encoding.unwrap_or(EncodingName::Utf8) {
            EncodingName::Utf8 => Encoding::Utf8,
            EncodingName::Gbk => Encoding::Gbk,
            EncodingName::Latin1 => Encoding::Latin1,
            EncodingName::Hex => Encoding::Hex,
        },
        reuseaddr: args.reuseaddr,
        reuseport: args.reuseport,
    }
}

/// The options of the TCP endpoints alone.
pub fn tcp(args: &TcpEndpointArgs) -> TcpOptions {
    TcpOptions {
        grace: args.follow,
        nodelay: args.nodelay,
    }
}

/// Runs an endpoint: its sink made from the common flags, its config resolved, a failure
/// also ending a JSON event stream with an `error` event (the one-line message still goes to
/// stderr), so a script reading stdout sees why the stream stopped.
pub fn endpoint<C>(
    host: &dyn Host,
    args: &EndpointArgs,
    proto: Proto,
    config: impl FnOnce() -> Result<C>,
    run: impl FnOnce(&C, Reporter) -> Result<Exit>,
) -> Result<Exit> {
    crate::interrupt::install();
    let sink = Terminal::new(args);
    let result = config().and_then(|c| run(&c, Reporter::new(host, &sink)));
    if let (Err(e), true) = (&result, sink.json()) {
        let mut event = Event::new(EventKind::Error, proto);
        event.error = Some(format!("{e:#}"));
        let _ = sink.event(&event);
    }
    result
}
