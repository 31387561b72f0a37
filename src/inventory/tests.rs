use crate::host::fake::FakeHost;
use crate::model::{Endpoint, Proto, Socket, TcpState};
use crate::query::Query;

use super::*;

fn listener(port: u16, inode: u32, pids: &[u32]) -> Socket {
    let ep = |port| Endpoint {
        ip: "127.0.0.1".parse().expect("address"),
        port,
    };
    let mut s = Socket::new(Proto::Tcp, ep(port), ep(0), TcpState::Listen);
    s.inode = inode;
    s.uid = 1000;
    s.pids = pids.to_vec();
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
