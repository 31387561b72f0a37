use crate::fixtures::unix;
use crate::host::fake::FakeHost;
use crate::model::{FileId, Socket, TcpState, UnixType};
use crate::query::Query;

use super::*;

fn listener(port: u16, inode: u32, pids: &[u32]) -> Socket {
    let mut s = crate::fixtures::loopback_tcp(port, 0, TcpState::Listen, inode, pids);
    s.uid = 1000;
    s
}

fn fake(looks: Vec<Vec<Socket>>) -> FakeHost {
    let mut host = FakeHost::new(looks);
    host.users.insert(1000, "alice".to_string());
    host
}

#[test]
fn owners_users_and_filters_come_together() {
    let host = fake(vec![vec![
        listener(80, 1, &[10, 11]),
        listener(443, 2, &[12]),
    ]]);
    let inv = collect(&host, &Query::everything()).unwrap();
    assert_eq!(inv.sockets.len(), 2);
    assert_eq!(inv.sockets[0].pids, [10, 11]);
    assert_eq!(inv.user_name(1000), Some("alice"));
    let on_443 = collect(&host, &Query::port(443)).unwrap();
    assert_eq!(on_443.sockets.len(), 1, "the port filter narrows rows");
    assert_eq!(on_443.sockets[0].pids, [12]);
    let by_pid = Query {
        pid: Some(11),
        ..Query::everything()
    };
    let inv = collect(&host, &by_pid).unwrap();
    assert_eq!(inv.sockets.len(), 1);
    assert_eq!(
        inv.sockets[0].pids,
        [10, 11],
        "a filter never trims a row's owners"
    );
}

#[test]
fn a_remembering_collector_follows_the_table() {
    let host = fake(vec![
        vec![listener(80, 1, &[10])],
        vec![listener(80, 1, &[10]), listener(81, 2, &[20])],
        vec![listener(81, 2, &[20])],
    ]);
    let mut collector = Collector::new(&host);
    let ports = |inv: &Inventory| -> Vec<(u16, Vec<u32>)> {
        inv.sockets
            .iter()
            .map(|s| (s.local.port, s.pids.clone()))
            .collect()
    };
    let query = Query::everything();
    assert_eq!(ports(&collector.collect(&query).unwrap()), [(80, vec![10])]);
    assert_eq!(
        ports(&collector.collect(&query).unwrap()),
        [(80, vec![10]), (81, vec![20])]
    );
    let last = collector.collect(&query).unwrap();
    assert_eq!(ports(&last), [(81, vec![20])]);
    assert_eq!(last.processes.len(), 0, "no fixtures for processes here");
    assert_eq!(host.looks_taken(), 3);
}

/// A server at /run/app.sock (reached through a symlink too), a client of it, a datagram
/// server with a connected client, and an unrelated socket.
fn unix_host() -> FakeHost {
    use TcpState::*;
    use UnixType::*;
    let file = FileId { dev: 8, ino: 77 };
    let mut listener = unix(Stream, Listen, Some("/run/app.sock"), 10, &[1]);
    listener.file = Some(file);
    let mut accepted = unix(Stream, Established, Some("/run/app.sock"), 11, &[1]);
    accepted.file = Some(file);
    accepted.peer_inode = 12;
    let mut client = unix(Stream, Established, None, 12, &[2, 3]);
    client.peer_inode = 11;
    let log = unix(Dgram, Unconn, Some("@log"), 20, &[4]);
    let mut logger = unix(Dgram, Established, None, 21, &[5]);
    logger.peer_inode = 20;
    let other = unix(Stream, Listen, Some("/run/other.sock"), 30, &[6]);
    let mut host = fake(vec![vec![listener_socket()]]);
    host.unix = vec![listener, accepted, client, log, logger, other];
    host.files.insert("/srv/link-to-app.sock".into(), file);
    host
}

fn listener_socket() -> Socket {
    listener(80, 1, &[1])
}

#[test]
fn unix_sockets_come_with_their_peers_holders_and_filters() {
    let host = unix_host();
    let query = Query {
        unix: true,
        ..Query::everything()
    };
    let inv = collect(&host, &query).unwrap();
    assert_eq!((inv.sockets.len(), inv.unix.len()), (1, 6));
    let client = inv.unix.iter().find(|s| s.inode == 12).unwrap();
    assert_eq!(
        (client.pids.as_slice(), client.peer_pids.as_slice()),
        (&[2, 3][..], &[1][..])
    );
    let accepted = inv.unix.iter().find(|s| s.inode == 11).unwrap();
    assert_eq!(accepted.peer_pids, [2, 3], "every holder of the peer");
    let only_unix = collect(&host, &Query::unix_sockets()).unwrap();
    assert!(only_unix.sockets.is_empty());
    let by_pid = Query {
        pid: Some(3),
        ..Query::unix_sockets()
    };
    let inv = collect(&host, &by_pid).unwrap();
    assert_eq!(inv.unix.len(), 1);
    assert_eq!(
        inv.unix[0].pids,
        [2, 3],
        "a filter never trims a row's owners"
    );
    let by_port = Query {
        any_port: Some(crate::ports::PortSet::one(80)),
        ..query
    };
    let inv = collect(&host, &by_port).unwrap();
    assert_eq!(
        (inv.sockets.len(), inv.unix.len()),
        (1, 0),
        "no port, no match"
    );
}

#[test]
fn unix_holders_by_path_file_or_abstract_name() {
    let host = unix_host();
    let inodes = |name: &str| -> (Vec<u32>, Vec<u32>) {
        let (inv, named) = unix_holders(&host, name.as_ref()).unwrap();
        let mut all: Vec<u32> = inv.unix.iter().map(|s| s.inode).collect();
        all.sort_unstable();
        let mut named: Vec<u32> = named.into_iter().collect();
        named.sort_unstable();
        (named, all)
    };
    // The path as bound: the listener, its accepted connection and the client.
    assert_eq!(inodes("/run/app.sock"), (vec![10, 11], vec![10, 11, 12]));
    // Another spelling of the same file.
    assert_eq!(
        inodes("/srv/link-to-app.sock"),
        (vec![10, 11], vec![10, 11, 12])
    );
    // A datagram server and the client connected to it.
    assert_eq!(inodes("@log"), (vec![20], vec![20, 21]));
    assert_eq!(inodes("/run/nothing.sock"), (vec![], vec![]));
}
