//! What changed between two looks at the socket table. Plain data, no I/O.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::model::{Proto, Socket, TcpState};

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
pub struct Change {
    pub kind: ChangeKind,
    pub socket: Socket,
    /// Opened and closed between two looks: known only from the kernel's destroy notice.
    pub between: bool,
}

/// Protocol, addresses, and the inode for listeners (several may share an address with
/// SO_REUSEPORT). Connections are matched on addresses alone, since the kernel drops the inode
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
    let inode = if s.state.is_listening() { s.inode } else { 0 };
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

fn same(old: &Socket, new: &Socket) -> bool {
    old.inode == new.inode || old.inode == 0 || new.inode == 0
}

#[derive(Debug, Default)]
pub struct Tracker {
    known: HashMap<Key, Socket>,
    started: bool,
}

impl Tracker {
    /// Compares a new look with the last one. The first look only sets the baseline.
    /// `destroyed` are the kernel's destroy notices since the last look.
    pub fn update(&mut self, now: Vec<Socket>, destroyed: Vec<Socket>) -> Vec<Change> {
        let baseline = !self.started;
        self.started = true;
        // Only destroy notices need the address sets; a quiet look builds none.
        let seen_before: HashSet<Addresses> = if destroyed.is_empty() {
            HashSet::new()
        } else {
            self.known.values().map(addresses).collect()
        };
        let mut changes = Vec::new();
        let mut next = HashMap::with_capacity(now.len());
        let change = |kind, socket: &Socket| Change {
            kind,
            socket: socket.clone(),
            between: false,
        };
        for socket in now {
            let k = key(&socket);
            match self.known.remove(&k) {
                Some(old) if same(&old, &socket) => {
                    if old.state != socket.state {
                        changes.push(change(ChangeKind::State { from: old.state }, &socket));
                    } else if socket.recv_q > old.recv_q || socket.send_q > old.send_q {
                        changes.push(change(ChangeKind::Grew, &socket));
                    }
                }
                Some(old) => {
                    changes.push(change(ChangeKind::Closed, &old));
                    changes.push(change(ChangeKind::Opened, &socket));
                }
                None if baseline => {}
                None => changes.push(change(ChangeKind::Opened, &socket)),
            }
            next.insert(k, socket);
        }
        for old in self.known.values() {
            changes.push(change(ChangeKind::Closed, old));
        }
        let seen_now: HashSet<Addresses> = if destroyed.is_empty() {
            HashSet::new()
        } else {
            next.values().map(addresses).collect()
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
        self.known = next;
        changes
    }

    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    pub fn sockets(&self) -> impl Iterator<Item = &Socket> {
        self.known.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Endpoint;

    fn tcp(local: u16, remote: u16, state: TcpState, inode: u32) -> Socket {
        let ep = |port| Endpoint {
            ip: "127.0.0.1".parse().unwrap(),
            port,
        };
        let mut s = Socket::new(Proto::Tcp, ep(local), ep(remote), state);
        s.inode = inode;
        s
    }

    fn kinds(changes: &[Change]) -> Vec<(ChangeKind, u16)> {
        changes
            .iter()
            .map(|c| (c.kind, c.socket.local.port))
            .collect()
    }

    #[test]
    fn opened_state_closed_and_reuse() {
        let mut t = Tracker::default();
        assert!(
            t.update(vec![tcp(80, 0, TcpState::Listen, 1)], vec![])
                .is_empty(),
            "baseline"
        );
        let c = t.update(
            vec![
                tcp(80, 0, TcpState::Listen, 1),
                tcp(5000, 80, TcpState::Established, 2),
            ],
            vec![],
        );
        assert_eq!(kinds(&c), [(ChangeKind::Opened, 5000)]);
        // The process closed: inode gone, state moved on: the same connection.
        let c = t.update(
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
        let c = t.update(vec![tcp(80, 0, TcpState::Listen, 1)], vec![]);
        assert_eq!(kinds(&c), [(ChangeKind::Closed, 5000)]);
        // The same addresses with a new inode: a new socket.
        t.update(vec![tcp(5000, 80, TcpState::Established, 7)], vec![]);
        let c = t.update(vec![tcp(5000, 80, TcpState::Established, 8)], vec![]);
        assert_eq!(
            kinds(&c),
            [(ChangeKind::Closed, 5000), (ChangeKind::Opened, 5000)]
        );
    }

    #[test]
    fn destroyed_between_looks_and_growing_queues() {
        let mut t = Tracker::default();
        t.update(vec![tcp(6000, 80, TcpState::Established, 3)], vec![]);
        let mut fuller = tcp(6000, 80, TcpState::Established, 3);
        fuller.recv_q = 10;
        let c = t.update(
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
        let c = t.update(
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
        t.update(vec![tcp(80, 0, TcpState::Listen, 4)], vec![]);
        let c = t.update(vec![], vec![tcp(80, 0, TcpState::Close, 4)]);
        assert_eq!(kinds(&c), [(ChangeKind::Closed, 80)]);
    }
}
