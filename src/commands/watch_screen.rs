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
use crate::render::sockets::{self, Order};
use crate::render::summary::Summary;
use crate::render::watch::{Mark, ScreenRows};
use crate::render::{self, Style};
use crate::watch::Watcher;
use crate::watch::tracker::{Change, ChangeKind, Tracked};

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
    ip: Marks<crate::model::Socket>,
    unix: Marks<crate::model::UnixSocket>,
    /// Opened, closed and changed at the last look.
    last: (usize, usize, usize),
}

/// How the last look marked the live sockets of one kind, and the closed ones still shown.
struct Marks<T: Tracked> {
    marks: HashMap<T::Key, Mark>,
    gone: Vec<(T, u8)>,
}

impl<T: Tracked> Default for Marks<T> {
    fn default() -> Marks<T> {
        Marks {
            marks: HashMap::new(),
            gone: Vec::new(),
        }
    }
}

impl<T: Tracked> Marks<T> {
    /// Forgets the last look's marks, ages the closed sockets, marks this look's changes and
    /// counts them into (opened, closed, changed).
    fn apply(&mut self, changes: Vec<Change<T>>, counts: &mut (usize, usize, usize)) {
        self.marks.clear();
        self.gone.retain_mut(|(_, left)| {
            *left -= 1;
            *left > 0
        });
        for change in changes {
            let k = change.socket.key();
            match change.kind {
                ChangeKind::Opened => {
                    counts.0 += 1;
                    self.marks.insert(k, Mark::New);
                }
                ChangeKind::Closed => {
                    counts.1 += 1;
                    self.gone.push((change.socket, GONE_FOR));
                }
                ChangeKind::State { from } => {
                    counts.2 += 1;
                    self.marks.insert(k, Mark::Changed(from));
                }
                ChangeKind::Grew => {
                    self.marks.insert(k, Mark::Grew);
                }
            }
        }
    }

    /// The live sockets (in display order) and then the closed ones, each with its mark, at
    /// most `room` of them: only those are copied.
    fn rows(&self, live: Vec<&T>, room: usize) -> (Vec<T>, Vec<Mark>) {
        let live = live.into_iter().map(|s| {
            let mark = self.marks.get(&s.key()).copied().unwrap_or(Mark::Plain);
            (s.clone(), mark)
        });
        let gone = self.gone.iter().map(|(s, _)| (s.clone(), Mark::Gone));
        live.chain(gone).take(room).unzip()
    }

    /// How many rows there are: the live sockets and the closed ones still shown.
    fn count(&self, live: usize) -> usize {
        live + self.gone.len()
    }
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
        ip: Marks::default(),
        unix: Marks::default(),
        last: (0, 0, 0),
    };
    loop {
        let next = Instant::now() + every;
        if !view.paused {
            let changes = watcher.look()?;
            output::notes(&watcher.notes);
            let mut counts = (0, 0, 0);
            view.ip.apply(changes.ip, &mut counts);
            view.unix.apply(changes.unix, &mut counts);
            view.last = counts;
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
                    // With rates, one more order after the table's own: busiest first.
                    let orders = Order::ALL.len() + usize::from(watcher.measures_rates());
                    view.sort = (view.sort + 1) % orders;
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
    let by_rate = view.sort == Order::ALL.len();
    let order = Order::ALL.get(view.sort).copied().unwrap_or(Order::Port);
    let mut live: Vec<_> = watcher.tracker.sockets().collect();
    let mut live_unix: Vec<_> = watcher.unix.sockets().collect();
    let mut summary = Summary::of(live.iter().copied());
    if watcher.watches_unix() {
        summary = summary.with_unix(live_unix.iter().copied());
    }
    let room = render::watch::room(height, 1 + usize::from(watcher.measures_rates()));
    let total = view.ip.count(live.len()) + view.unix.count(live_unix.len());
    let hidden = total.saturating_sub(room);
    // Only the rows that fit are sorted in full and copied: a screen out of 20,000 sockets.
    let by = sockets::compare(order);
    if by_rate {
        let rates: HashMap<u32, f64> = (watcher.rates.iter())
            .map(|r| (r.inode, r.in_per_s + r.out_per_s))
            .collect();
        let rate = |s: &Socket| rates.get(&s.inode).copied().unwrap_or(0.0);
        // Busiest first; the rest keep the table's order.
        let busiest = |a: &&Socket, b: &&Socket| rate(b).total_cmp(&rate(a)).then_with(|| by(a, b));
        sockets::first_sorted(&mut live, room, busiest);
    } else {
        sockets::first_sorted(&mut live, room, |a, b| by(a, b));
    }
    let (rows, mut row_marks) = view.ip.rows(live, room);
    let left = room - rows.len();
    let by = sockets::compare_unix(order);
    sockets::first_sorted(&mut live_unix, left, |a, b| by(a, b));
    let (unix_rows, unix_marks) = view.unix.rows(live_unix, left);
    row_marks.extend(unix_marks);
    let inv = watcher.inventory(rows, unix_rows);
    // Unix sockets' states are marked: LISTEN or ESTABLISHED alone would read as TCP's.
    let ip = (summary.tcp.states.iter()).chain(summary.udp.states.iter());
    let unix = summary.unix.iter().flat_map(|u| u.states.iter());
    let states: Vec<String> = (ip.map(|(s, n)| format!("{s} {n}")))
        .chain(unix.map(|(s, n)| format!("unix {s} {n}")))
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
        if by_rate { "bytes/s" } else { order.name() }
    );
    let mut busiest = String::new();
    if watcher.measures_rates() {
        render::watch::busiest(&mut busiest, &watcher.rates, &watcher.processes);
    }
    let head: Vec<&str> = [title.as_str(), busiest.as_str()]
        .into_iter()
        .filter(|line| !line.is_empty())
        .collect();
    let mut frame = Vec::new();
    render::watch::screen(
        &mut frame,
        &head,
        &ScreenRows::new(&inv, &row_marks),
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
