//! After close(): the process no longer has the socket, but the kernel still does (FIN_WAIT2,
//! LAST_ACK, TIME_WAIT). Follow its 4-tuple in the socket table and report each state.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::Reporter;
use super::event::{Event, EventKind};
use crate::inventory;
use crate::model::{Proto, TcpState};

pub struct Follow {
    conn: Option<u32>,
    local: SocketAddr,
    remote: SocketAddr,
    last: Option<TcpState>,
    deadline: Instant,
}

/// How often the table is read while following.
pub const TICK: Duration = Duration::from_millis(5);

impl Follow {
    /// Starts following; `last` is the state seen before close, not reported again.
    pub fn new(
        conn: Option<u32>,
        local: SocketAddr,
        remote: SocketAddr,
        last: Option<TcpState>,
        grace: Duration,
    ) -> Follow {
        Follow {
            conn,
            local,
            remote,
            last,
            deadline: Instant::now() + grace,
        }
    }

    /// One look at the table; true when following is over (gone, TIME_WAIT, time up, or the
    /// table cannot be read now: out of descriptors, say, which must not end a server).
    pub fn step(&mut self, reporter: &Reporter) -> io::Result<bool> {
        let Ok(found) = inventory::find_socket(reporter.host, Proto::Tcp, self.local, self.remote)
        else {
            return Ok(true);
        };
        let event = |state: TcpState| {
            Event::new(EventKind::State, Proto::Tcp)
                .conn(self.conn)
                .addrs(Some(self.local), Some(self.remote))
                .state(state)
        };
        match found {
            None => {
                let gone = event(TcpState::Close).note("gone from the kernel's socket table");
                reporter.emit(&gone)?;
                Ok(true)
            }
            Some(s) if Some(s.state) != self.last => {
                self.last = Some(s.state);
                let mut e = event(s.state);
                if s.state == TcpState::TimeWait {
                    e.timer_ms = s.time_wait_left_ms();
                    e.note =
                        Some("kept by the kernel so late segments die out; not followed further");
                }
                reporter.emit(&e)?;
                Ok(s.state == TcpState::TimeWait || Instant::now() > self.deadline)
            }
            // TIME_WAIT already reported while the descriptor was open: nothing more to see.
            Some(s) if s.state == TcpState::TimeWait => Ok(true),
            Some(_) => Ok(Instant::now() > self.deadline),
        }
    }

    /// Follows to the end, blocking.
    pub fn run(mut self, reporter: &Reporter) -> io::Result<()> {
        while !self.step(reporter)? {
            if crate::interrupt::sleep(TICK) {
                break;
            }
        }
        Ok(())
    }
}
