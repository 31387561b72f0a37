//! The live table on a terminal: alternate screen, redrawn in place, keys q / p / s.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyModifiers};
use crossterm::{cursor, execute, queue, terminal};

use super::output;
use crate::exit::Exit;
use crate::interrupt::interrupted;
use crate::model::Socket;
use crate::render::sockets::Order;
use crate::render::summary::Summary;
use crate::render::watch::{Mark, ScreenRows};
use crate::render::{self, Style};
use crate::watch::Watcher;
use crate::watch::tracker::{ChangeKind, Key, key};

/// How many refreshes a closed socket stays on screen, dimmed.
const GONE_FOR: u8 = 3;

/// Puts the terminal back however the screen ends (error, panic, key).
pub struct Terminal;

impl Terminal {
    /// Raw mode and the alternate screen; fails without a controlling terminal.
    pub fn enter() -> Result<Terminal> {
        terminal::enable_raw_mode()?;
        // From here on, dropping it puts the terminal back, whatever fails next.
        let entered = Terminal;
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            terminal::DisableLineWrap,
            cursor::Hide
        )?;
        Ok(entered)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = execute!(
            std::io::stdout(),
            cursor::Show,
            terminal::EnableLineWrap,
            terminal::LeaveAlternateScreen
        );
        let _ = terminal::disable_raw_mode();
    }
}

struct View {
    sort: usize,
    paused: bool,
    gone: Vec<(Socket, u8)>,
    /// How the last look marked the live sockets.
    marks: HashMap<Key, Mark>,
    /// Opened, closed and changed at the last look.
    last: (usize, usize, usize),
}

pub fn run(
    _terminal: Terminal,
    mut watcher: Watcher,
    every: Duration,
    order: Order,
    style: Style,
) -> Result<Exit> {
    let mut view = View {
        sort: Order::ALL.iter().position(|o| *o == order).unwrap_or(0),
        paused: false,
        gone: Vec::new(),
        marks: HashMap::new(),
        last: (0, 0, 0),
    };
    loop {
        let next = Instant::now() + every;
        if !view.paused {
            let changes = watcher.look()?;
            output::notes(&watcher.notes);
            view.marks.clear();
            view.gone.retain_mut(|(_, left)| {
                *left -= 1;
                *left > 0
            });
            let (mut opened, mut closed, mut changed) = (0, 0, 0);
            for change in changes {
                let k = key(&change.socket);
                match change.kind {
                    ChangeKind::Opened => {
                        opened += 1;
                        view.marks.insert(k, Mark::New);
                    }
                    ChangeKind::Closed => {
                        closed += 1;
                        view.gone.push((change.socket, GONE_FOR));
                    }
                    ChangeKind::State { from } => {
                        changed += 1;
                        view.marks.insert(k, Mark::Changed(from));
                    }
                    ChangeKind::Grew => {
                        view.marks.insert(k, Mark::Grew);
                    }
                }
            }
            view.last = (opened, closed, changed);
        }
        draw(&watcher, &view, &style, every)?;
        // Keys and resizes until the next look.
        while Instant::now() < next {
            if interrupted() {
                return Ok(Exit::Interrupted);
            }
            if !event::poll(
                next.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
            )? {
                continue;
            }
            match event::read()? {
                Event::Key(KeyEvent {
                    code: KeyCode::Char('c'),
                    modifiers,
                    ..
                }) if modifiers.contains(KeyModifiers::CONTROL) => {
                    return Ok(Exit::Interrupted);
                }
                Event::Key(KeyEvent {
                    code: KeyCode::Char('q') | KeyCode::Esc,
                    ..
                }) => {
                    return Ok(Exit::Success);
                }
                Event::Key(KeyEvent {
                    code: KeyCode::Char('p'),
                    ..
                }) => {
                    view.paused = !view.paused;
                    draw(&watcher, &view, &style, every)?;
                }
                Event::Key(KeyEvent {
                    code: KeyCode::Char('s'),
                    ..
                }) => {
                    view.sort = (view.sort + 1) % Order::ALL.len();
                    draw(&watcher, &view, &style, every)?;
                }
                Event::Resize(..) => draw(&watcher, &view, &style, every)?,
                _ => {}
            }
        }
    }
}

fn draw(watcher: &Watcher, view: &View, style: &Style, every: Duration) -> Result<()> {
    let (width, height) = output::size();
    let mut live: Vec<Socket> = watcher.tracker.sockets().cloned().collect();
    let summary = Summary::of(&live);
    render::sockets::sort(&mut live, Order::ALL[view.sort]);
    let shown_live = live.len();
    let mut rows: Vec<Socket> = live;
    rows.extend(view.gone.iter().map(|(s, _)| s.clone()));
    let row_marks: Vec<Mark> = rows
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i >= shown_live {
                Mark::Gone
            } else {
                view.marks.get(&key(s)).copied().unwrap_or(Mark::Plain)
            }
        })
        .collect();
    let room = render::watch::room(height);
    let hidden = rows.len().saturating_sub(room);
    rows.truncate(room);
    let inv = watcher.inventory(rows);
    let states: Vec<String> = summary
        .tcp
        .states
        .iter()
        .chain(summary.udp.states.iter())
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    let (opened, closed, changed) = view.last;
    let title = format!(
        "portscope watch{} — {}: {} — since last look: +{opened} −{closed} ~{changed}",
        // First, where a narrow screen does not cut it off.
        if view.paused { " [PAUSED]" } else { "" },
        crate::text::count(summary.total, "socket"),
        states.join(" · "),
    );
    let status = format!(
        "every {:.2} s · q quit · p pause · s sort ({})",
        every.as_secs_f64(),
        Order::ALL[view.sort].name()
    );
    let mut frame = Vec::new();
    render::watch::screen(
        &mut frame,
        &title,
        &ScreenRows::new(&inv, &row_marks[..inv.sockets.len()]),
        hidden,
        &status,
        &Style {
            width,
            terminal: true,
            ..*style
        },
    )?;
    let text = String::from_utf8_lossy(&frame);
    let mut out = std::io::stdout().lock();
    queue!(
        out,
        cursor::MoveTo(0, 0),
        terminal::Clear(terminal::ClearType::All)
    )?;
    // Raw mode: a line feed does not return the carriage.
    out.write_all(text.replace('\n', "\r\n").as_bytes())?;
    out.flush()?;
    Ok(())
}
