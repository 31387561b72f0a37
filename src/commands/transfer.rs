//! Transfers in the event lines people read: a TCP connection moving bytes in a burst shows a
//! progress line (bytes so far, rate) and a total, not a line per read or write (a 100 MB
//! transfer made thousands of `sent 16384 bytes` lines). A conversation at human pace keeps
//! a line per exchange; JSON keeps every event.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::endpoint::event::{Event, EventKind};
use crate::model::Proto;
use crate::render::events;

/// More transfer lines than this for one connection within `WINDOW` make a burst.
const BURST: usize = 8;
/// The span a burst is judged over, and the pause (no transfer) that ends one.
const WINDOW: Duration = Duration::from_secs(1);

/// What to write on stderr for an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Say {
    Line(String),
    /// A progress line: redrawn in place on a terminal, a line of its own elsewhere.
    Progress(String),
}

/// One connection's bytes since its first transfer.
#[derive(Debug)]
struct Flow {
    conn: Option<u32>,
    since: Instant,
    sent: u64,
    received: u64,
    /// When the last lines were shown (outside a burst).
    recent: VecDeque<Instant>,
    burst: bool,
    last_transfer: Instant,
    last_shown: Instant,
}

impl Flow {
    fn new(conn: Option<u32>, now: Instant) -> Flow {
        Flow {
            conn,
            since: now,
            sent: 0,
            received: 0,
            recent: VecDeque::new(),
            burst: false,
            last_transfer: now,
            last_shown: now,
        }
    }

    fn progress(&self, now: Instant) -> Say {
        let took = now - self.since;
        Say::Progress(events::transfer(self.conn, self.sent, self.received, took, false))
    }

    fn total(&self) -> String {
        let took = self.last_transfer - self.since;
        events::transfer(self.conn, self.sent, self.received, took, true)
    }
}

/// Per connection, whether its transfers are a burst, and the lines to show.
pub struct Transfers {
    flows: HashMap<Option<u32>, Flow>,
    /// How often a burst's progress is shown.
    refresh: Duration,
}

impl Transfers {
    /// `refresh`: a progress line redrawn in place can change often; one written as a line of
    /// its own (a log) should not.
    pub fn new(refresh: Duration) -> Transfers {
        Transfers {
            flows: HashMap::new(),
            refresh,
        }
    }

    /// What to show for `event`, seen at `now`.
    pub fn event(&mut self, event: &Event, now: Instant) -> Vec<Say> {
        let transfer = matches!(event.kind, EventKind::Sent | EventKind::Received);
        let mut said = Vec::new();
        if event.proto != Proto::Tcp {
            said.push(Say::Line(events::human(event)));
            return said;
        }
        if !transfer {
            // The end of the connection's data ends its burst, with the total; a state change
            // or a pause on the way is a line of its own, and the burst goes on.
            let ends = matches!(
                event.kind,
                EventKind::Eof | EventKind::Closed | EventKind::Error
            );
            if ends
                && let Some(flow) = self.flows.remove(&event.conn)
                && flow.burst
            {
                said.push(Say::Line(flow.total()));
            }
            said.push(Say::Line(events::human(event)));
            return said;
        }
        let conn = event.conn;
        let flow = self.flows.entry(conn).or_insert_with(|| Flow::new(conn, now));
        if flow.burst && now - flow.last_transfer >= WINDOW {
            // A pause ended the burst: its total, then this transfer starts afresh.
            said.push(Say::Line(flow.total()));
            *flow = Flow::new(conn, now);
        }
        let bytes = event.bytes.unwrap_or_default() as u64;
        match event.kind {
            EventKind::Sent => flow.sent += bytes,
            _ => flow.received += bytes,
        }
        flow.last_transfer = now;
        if !flow.burst {
            while flow.recent.front().is_some_and(|t| now - *t > WINDOW) {
                flow.recent.pop_front();
            }
            if flow.recent.len() < BURST {
                flow.recent.push_back(now);
                said.push(Say::Line(events::human(event)));
                return said;
            }
            flow.burst = true;
        } else if now - flow.last_shown < self.refresh {
            return said;
        }
        flow.last_shown = now;
        said.push(flow.progress(now));
        said
    }
}

impl Transfers {
    /// The totals of the bursts still going (the endpoint is ending: Ctrl-C, an error).
    pub fn finish(&mut self) -> Vec<Say> {
        let mut flows: Vec<Flow> = self.flows.drain().map(|(_, f)| f).collect();
        flows.sort_by_key(|f| f.conn);
        flows
            .iter()
            .filter(|f| f.burst)
            .map(|f| Say::Line(f.total()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(conn: u32, bytes: usize) -> Event {
        Event::new(EventKind::Sent, Proto::Tcp)
            .conn(Some(conn))
            .bytes(bytes)
    }

    fn lines(said: &[Say]) -> usize {
        said.iter().filter(|s| matches!(s, Say::Line(_))).count()
    }

    #[test]
    fn a_conversation_keeps_its_lines() {
        let mut t = Transfers::new(Duration::from_secs(1));
        let start = Instant::now();
        for i in 0..20 {
            let now = start + Duration::from_millis(300 * i);
            let said = t.event(&sent(1, 6), now);
            assert_eq!(said, [Say::Line("[1] sent 6 bytes".into())], "{i}");
        }
    }

    #[test]
    fn a_burst_is_one_progress_line_and_a_total() {
        let mut t = Transfers::new(Duration::from_millis(100));
        let start = Instant::now();
        let mut all = Vec::new();
        // 6,400 writes of 16 KiB over 1.28 s: 100 MiB.
        for i in 0..6400u64 {
            let now = start + Duration::from_micros(200 * i);
            all.extend(t.event(&sent(1, 16384), now));
            if i == 3200 {
                // A state change on the way is said, and the burst goes on.
                let state = Event::new(EventKind::State, Proto::Tcp)
                    .conn(Some(1))
                    .state(crate::model::TcpState::CloseWait);
                all.extend(t.event(&state, now));
            }
        }
        let end = start + Duration::from_micros(200 * 6400);
        let closed = Event::new(EventKind::Closed, Proto::Tcp).conn(Some(1));
        all.extend(t.event(&closed, end));
        let progress = all.iter().filter(|s| matches!(s, Say::Progress(_))).count();
        assert_eq!(lines(&all), BURST + 3, "{all:#?}");
        assert!((12..=14).contains(&progress), "about 10 a second: {progress}");
        assert_eq!(
            all[all.len() - 2],
            Say::Line("[1] sent 104857600 bytes in all, in 1.28 s (78.1 MiB/s)".into())
        );
        assert_eq!(all[all.len() - 1], Say::Line("[1] closed".into()));
    }

    #[test]
    fn a_pause_ends_a_burst_and_other_connections_are_their_own() {
        let mut t = Transfers::new(Duration::from_secs(1));
        let start = Instant::now();
        for i in 0..20 {
            t.event(&sent(1, 100), start + Duration::from_millis(i));
            let other = t.event(&sent(2, 1), start + Duration::from_millis(i * 200));
            assert_eq!(lines(&other), 1, "connection 2 talks slowly");
        }
        let later = t.event(&sent(1, 5), start + Duration::from_secs(3));
        assert_eq!(
            later,
            [
                Say::Line("[1] sent 2000 bytes in all, in 0.02 s (102.8 KiB/s)".into()),
                Say::Line("[1] sent 5 bytes".into())
            ]
        );
        let udp = Event::new(EventKind::Sent, Proto::Udp).bytes(1);
        assert_eq!(lines(&t.event(&udp, start)), 1);
    }
}
