//! What changed between two looks at the socket table. Plain data, no I/O.

use std::collections::HashSet;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::model::{Proto, Socket, TcpState, UnixSocket};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Opened,
    Closed,
    State {
        from: TcpState,
    },
    /// A queue grew (shown on the screen, not in the event stream).
    Grew,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change<T> {
    pub kind: ChangeKind,
    pub socket: T,
    /// Opened and closed between two looks: known only from the kernel's destroy notice.
    pub between: bool,
}

/// What the tracker needs to know of a socket to follow it from one look to the next.
pub trait Tracked: Clone {
    type Key: Hash + Eq;
    fn key(&self) -> Self::Key;
    /// Whether `new`, found under `old`'s key, is the same socket.
    fn same(old: &Self, new: &Self) -> bool;
    fn state(&self) -> TcpState;
    /// Receive and send queues.
    fn queues(&self) -> (u32, u32);
}

/// Protocol, addresses, and the inode for sockets with no peer (listeners, bound-only and
/// unconnected ones: several may share an address with SO_REUSEADDR or SO_REUSEPORT, and a
/// bound socket that listens stays the same socket). Connections are matched on addresses alone, since the kernel drops the inode
/// when the process closes (FIN_WAIT2, TIME_WAIT); a different inode on the same addresses is
/// a new socket.
/// The namespace's inode comes last: the same addresses in two namespaces are two sockets.
pub type Key = (Proto, IpAddr, u16, IpAddr, u16, u32, u64);

type Addresses = (Proto, IpAddr, u16, IpAddr, u16, u64);

fn addresses(s: &Socket) -> Addresses {
    (
        s.proto,
        s.local.ip,
        s.local.port,
        s.remote.ip,
        s.remote.port,
        s.netns,
    )
}

pub fn key(s: &Socket) -> Key {
    let inode = if s.state.is_unconnected() { s.inode } else { 0 };
    (
        s.proto,
        s.local.ip,
        s.local.port,
        s.remote.ip,
        s.remote.port,
        inode,
        s.netns,
    )
}

impl Tracked for Socket {
    type Key = Key;

    fn key(&self) -> Key {
        key(self)
    }

    fn same(old: &Socket, new: &Socket) -> bool {
        old.inode == new.inode || old.inode == 0 || new.inode == 0
    }

    fn state(&self) -> TcpState {
        self.state
    }

    fn queues(&self) -> (u32, u32) {
        (self.recv_q, self.send_q)
    }
}

/// A Unix socket is its inode for as long as it lives.
impl Tracked for UnixSocket {
    type Key = u32;

    fn key(&self) -> u32 {
        self.inode
    }

    fn same(_old: &UnixSocket, _new: &UnixSocket) -> bool {
        true
    }

    fn state(&self) -> TcpState {
        self.state
    }

    fn queues(&self) -> (u32, u32) {
        (self.recv_q, self.send_q)
    }
}

#[derive(Debug)]
pub struct Tracker<T: Tracked> {
    /// Every socket of the last look, with the number of the look that last saw it.
    known: FxHashMap<T::Key, (T, u64)>,
    /// Looks taken; the first only sets the baseline.
    looks: u64,
}

impl<T: Tracked> Default for Tracker<T> {
    fn default() -> Tracker<T> {
        Tracker {
            known: FxHashMap::default(),
            looks: 0,
        }
    }
}

impl<T: Tracked> Tracker<T> {
    /// Compares a new look with the last one. The first look only sets the baseline. Each
    /// socket is updated where it is kept: a steady table of 20,000 sockets is a lookup per
    /// socket, not a new map per look.
    pub fn update(&mut self, now: Vec<T>) -> Vec<Change<T>> {
        let baseline = self.looks == 0;
        self.looks += 1;
        let look = self.looks;
        let mut changes = Vec::new();
        let change = |kind, socket: &T| Change {
            kind,
            socket: socket.clone(),
            between: false,
        };
        for socket in now {
            match self.known.entry(socket.key()) {
                Entry::Occupied(mut slot) => {
                    // Compared with what was kept, even when that is this look's own first
                    // listing (a dump of a changing table may list a socket twice): an
                    // identical repeat is no news, a move between the two listings is.
                    let (old, _) = slot.get();
                    if T::same(old, &socket) {
                        let (old_recv, old_send) = old.queues();
                        let (recv, send) = socket.queues();
                        if old.state() != socket.state() {
                            let from = old.state();
                            changes.push(change(ChangeKind::State { from }, &socket));
                        } else if recv > old_recv || send > old_send {
                            changes.push(change(ChangeKind::Grew, &socket));
                        }
                    } else {
                        changes.push(change(ChangeKind::Closed, old));
                        changes.push(change(ChangeKind::Opened, &socket));
                    }
                    *slot.get_mut() = (socket, look);
                }
                Entry::Vacant(slot) => {
                    if !baseline {
                        changes.push(change(ChangeKind::Opened, &socket));
                    }
                    slot.insert((socket, look));
                }
            }
        }
        self.known.retain(|_, (old, seen)| {
            // The kernel dumps listeners before bound-only sockets, so one that listen()s while
            // a dump runs can be in neither part: a BOUND socket missing from one look is
            // given the next before it counts as closed.
            let still = *seen == look || old.state() == TcpState::Bound && *seen + 1 == look;
            if !still {
                changes.push(change(ChangeKind::Closed, old));
            }
            still
        });
        changes
    }

    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    pub fn sockets(&self) -> impl Iterator<Item = &T> {
        self.known.values().map(|(socket, _)| socket)
    }
}

impl Tracker<Socket> {
    /// `update`, and the kernel's destroy notices since the last look: a socket that opened
    /// and closed between two looks is reported as both.
    pub fn update_with(&mut self, now: Vec<Socket>, destroyed: Vec<Socket>) -> Vec<Change<Socket>> {
        let baseline = self.looks == 0;
        // Only destroy notices need the address sets; a quiet look builds none.
        let seen_before: HashSet<Addresses> = if destroyed.is_empty() {
            HashSet::new()
        } else {
            self.sockets().map(addresses).collect()
        };
        let mut changes = self.update(now);
        let seen_now: HashSet<Addresses> = if destroyed.is_empty() {
            HashSet::new()
        } else {
            self.sockets().map(addresses).collect()
        };
        for gone in destroyed {
            // A socket closed before it was ever bound or seen, or one that was (a listener's
            // notice reads CLOSE, a connection may live on in TIME_WAIT), is no news.
            let a = addresses(&gone);
            if gone.local.port != 0
                && !seen_before.contains(&a)
                && !seen_now.contains(&a)
                && !baseline
            {
                changes.push(Change {
                    kind: ChangeKind::Opened,
                    socket: gone.clone(),
                    between: true,
                });
                changes.push(Change {
                    kind: ChangeKind::Closed,
                    socket: gone,
                    between: true,
                });
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(local: u16, remote: u16, state: TcpState, inode: u32) -> Socket {
        crate::fixtures::loopback_tcp(local, remote, state, inode, &[])
    }

    fn kinds(changes: &[Change<Socket>]) -> Vec<(ChangeKind, u16)> {
        changes
            .iter()
            .map(|c| (c.kind, c.socket.local.port))
            .collect()
    }

    #[test]
    fn opened_state_closed_and_reuse() {
        let mut t: Tracker<Socket> = Tracker::default();
        assert!(
            t.update_with(vec![tcp(80, 0, TcpState::Listen, 1)], vec![])
                .is_empty(),
            "baseline"
        );
        let c = t.update_with(
            vec![
                tcp(80, 0, TcpState::Listen, 1),
                tcp(5000, 80, TcpState::Established, 2),
            ],
            vec![],
        );
        assert_eq!(kinds(&c), [(ChangeKind::Opened, 5000)]);
        // The process closed: inode gone, state moved on: the same connection.
        let c = t.update_with(
            vec![
                tcp(80, 0, TcpState::Listen, 1),
                tcp(5000, 80, TcpState::TimeWait, 0),
            ],
            vec![],
        );
        assert_eq!(
            kinds(&c),
            [(
                ChangeKind::State {
                    from: TcpState::Established
                },
                5000
            )]
        );
        let c = t.update_with(vec![tcp(80, 0, TcpState::Listen, 1)], vec![]);
        assert_eq!(kinds(&c), [(ChangeKind::Closed, 5000)]);
        // The same addresses with a new inode: a new socket.
        t.update_with(vec![tcp(5000, 80, TcpState::Established, 7)], vec![]);
        let c = t.update_with(vec![tcp(5000, 80, TcpState::Established, 8)], vec![]);
        assert_eq!(
            kinds(&c),
            [(ChangeKind::Closed, 5000), (ChangeKind::Opened, 5000)]
        );
    }

    /// A dump of a table that changes under it may list a socket twice.
    #[test]
    fn a_socket_listed_twice_in_one_look_is_news_once() {
        let mut t: Tracker<Socket> = Tracker::default();
        t.update_with(vec![], vec![]);
        let s = tcp(5000, 80, TcpState::Established, 2);
        let c = t.update_with(vec![s.clone(), s.clone()], vec![]);
        assert_eq!(kinds(&c), [(ChangeKind::Opened, 5000)]);
        let mut closing = s.clone();
        closing.state = TcpState::FinWait1;
        let c = t.update_with(vec![closing.clone(), closing], vec![]);
        assert_eq!(
            kinds(&c),
            [(
                ChangeKind::State {
                    from: TcpState::Established
                },
                5000
            )]
        );
        assert_eq!(t.len(), 1);
    }

    /// A dump that lists a connection twice as it moves on (ESTABLISHED, then TIME_WAIT, the
    /// table changing under the dump) must still report the move once, now or at the next
    /// look: the tracker must not report on one listing and keep the other.
    #[test]
    fn a_move_seen_within_one_dump_is_not_lost() {
        let mut t: Tracker<Socket> = Tracker::default();
        t.update_with(vec![tcp(5000, 80, TcpState::Established, 2)], vec![]);
        let during = t.update_with(
            vec![
                tcp(5000, 80, TcpState::Established, 2),
                tcp(5000, 80, TcpState::TimeWait, 0),
            ],
            vec![],
        );
        let after = t.update_with(vec![tcp(5000, 80, TcpState::TimeWait, 0)], vec![]);
        let seen: Vec<(ChangeKind, u16)> =
            kinds(&during).into_iter().chain(kinds(&after)).collect();
        assert_eq!(
            seen,
            [(
                ChangeKind::State {
                    from: TcpState::Established
                },
                5000
            )]
        );
    }

    /// A dump that ran while the socket listen()ed may list it neither as BOUND nor as
    /// LISTEN: the next look still reports a state change, and a bound socket that is really
    /// gone is reported closed one look later.
    #[test]
    fn a_bound_socket_missing_from_one_look_is_not_closed_yet() {
        let mut t: Tracker<Socket> = Tracker::default();
        let bound = tcp(7400, 0, TcpState::Bound, 9);
        t.update_with(vec![bound.clone()], vec![]);
        assert!(t.update_with(vec![], vec![]).is_empty());
        let c = t.update_with(vec![tcp(7400, 0, TcpState::Listen, 9)], vec![]);
        assert_eq!(
            kinds(&c),
            [(
                ChangeKind::State {
                    from: TcpState::Bound
                },
                7400
            )]
        );
        let mut t: Tracker<Socket> = Tracker::default();
        t.update_with(vec![bound], vec![]);
        assert!(t.update_with(vec![], vec![]).is_empty());
        let c = t.update_with(vec![], vec![]);
        assert_eq!(kinds(&c), [(ChangeKind::Closed, 7400)]);
    }

    #[test]
    fn destroyed_between_looks_and_growing_queues() {
        let mut t: Tracker<Socket> = Tracker::default();
        t.update_with(vec![tcp(6000, 80, TcpState::Established, 3)], vec![]);
        let mut fuller = tcp(6000, 80, TcpState::Established, 3);
        fuller.recv_q = 10;
        let c = t.update_with(
            vec![fuller.clone()],
            vec![tcp(7000, 80, TcpState::Close, 9)],
        );
        assert_eq!(
            kinds(&c),
            [
                (ChangeKind::Grew, 6000),
                (ChangeKind::Opened, 7000),
                (ChangeKind::Closed, 7000)
            ]
        );
        assert!(c[1].between && c[2].between);
        // A destroy notice for a connection that lives on in TIME_WAIT is no closing.
        let c = t.update_with(
            vec![tcp(6000, 80, TcpState::TimeWait, 0)],
            vec![tcp(6000, 80, TcpState::Close, 3)],
        );
        assert_eq!(
            kinds(&c),
            [(
                ChangeKind::State {
                    from: TcpState::Established
                },
                6000
            )]
        );
        // A listener's notice reads CLOSE: still just the listener closing.
        t.update_with(vec![tcp(80, 0, TcpState::Listen, 4)], vec![]);
        let c = t.update_with(vec![], vec![tcp(80, 0, TcpState::Close, 4)]);
        assert_eq!(kinds(&c), [(ChangeKind::Closed, 80)]);
    }
}
