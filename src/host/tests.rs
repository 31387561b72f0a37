//! The Linux host against the kernel: its two ways of reading the table agree, and a host
//! entered into another network namespace sees that namespace.

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream, UdpSocket};

use super::linux::LinuxHost;
use super::{Host, Scope, procnet};
use crate::model::{Family, Proto, Socket, TcpState};
use crate::query::Query;

type Key = (Proto, String, String, TcpState, u32);

fn key(s: &Socket) -> Key {
    let local = format!("{}:{}", s.local.ip, s.local.port);
    let remote = format!("{}:{}", s.remote.ip, s.remote.port);
    (s.proto, local, remote, s.state, s.inode)
}

/// sock_diag and the /proc/net text tables describe the same sockets the same way: the
/// fallback is a real second reading, not a guess. (This replaced a cross-check against
/// netstat2, whose build pulled bindgen and a second netlink stack into every test build.)
#[test]
fn sock_diag_and_proc_net_agree() {
    let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let v6 = TcpListener::bind("[::1]:0").unwrap();
    let client = TcpStream::connect(v4.local_addr().unwrap()).unwrap();
    let (server, _) = v4.accept().unwrap();
    let client6 = TcpStream::connect(v6.local_addr().unwrap()).unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp6 = UdpSocket::bind("[::1]:0").unwrap();
    let mine: BTreeSet<u16> = [
        v4.local_addr(),
        v6.local_addr(),
        client.local_addr(),
        client6.local_addr(),
        udp.local_addr(),
        udp6.local_addr(),
    ]
    .into_iter()
    .map(|a| a.unwrap().port())
    .collect();
    let ours = |sockets: Vec<Socket>| -> BTreeSet<Key> {
        sockets
            .iter()
            .filter(|s| mine.contains(&s.local.port) && s.state != TcpState::TimeWait)
            .map(key)
            .collect()
    };
    let netlink = ours(
        LinuxHost::current()
            .sockets(&Query::everything())
            .unwrap()
            .sockets,
    );
    let mut text = Vec::new();
    for family in [Family::Ipv4, Family::Ipv6] {
        for proto in [Proto::Tcp, Proto::Udp] {
            procnet::read(family, proto, &mut text).unwrap();
        }
    }
    assert_eq!(netlink, ours(text));
    // 2 listeners, 4 connected ends (the v6 server end waits unaccepted), 2 UDP sockets.
    assert_eq!(netlink.len(), 8, "{netlink:#?}");
    let owners = LinuxHost::current().owners(
        &[netlink.iter().find(|k| k.3 == TcpState::Listen).unwrap().4],
        Scope::All,
    );
    assert_eq!(
        owners.by_inode.values().next(),
        Some(&vec![std::process::id()])
    );
    drop((server, client6));
}

/// A host entered into a network namespace made here sees the socket made there, and not
/// this namespace's; its port settings are that namespace's.
#[test]
fn a_host_entered_into_a_namespace_sees_that_namespace() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED a_host_entered_into_a_namespace_sees_that_namespace: needs root (unshare, setns)"
        );
        return;
    }
    let here = TcpListener::bind("127.0.0.1:0").unwrap();
    let (ready, told) = std::sync::mpsc::channel();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    // A thread of our own moves into a new namespace and makes a listener there.
    let inside = std::thread::spawn(move || {
        // SAFETY: only this thread changes namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        // /proc/sys/net shows the namespace of the thread that opens it.
        std::fs::write("/proc/sys/net/ipv4/ip_local_port_range", "40000 40099").unwrap();
        let l = TcpListener::bind("0.0.0.0:0").unwrap();
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        ready
            .send((
                format!("/proc/self/task/{tid}/ns/net"),
                l.local_addr().unwrap().port(),
            ))
            .unwrap();
        let _ = stopped.recv();
        drop(l);
    });
    let (path, port) = told.recv().unwrap();
    let host = super::in_netns(std::path::Path::new(&path)).unwrap();
    let ports: BTreeSet<u16> = host
        .sockets(&Query::everything())
        .unwrap()
        .sockets
        .iter()
        .map(|s| s.local.port)
        .collect();
    assert!(ports.contains(&port), "{ports:?}");
    assert!(
        !ports.contains(&here.local_addr().unwrap().port()),
        "{ports:?}"
    );
    assert_eq!(host.port_settings().unwrap().range, (40000, 40099));
    assert_ne!(
        LinuxHost::current().port_settings().unwrap().range,
        (40000, 40099),
        "this namespace's range is untouched"
    );
    stop.send(()).unwrap();
    inside.join().unwrap();
}

/// Port lists and ranges are filtered by the kernel (the bytecode of `port_filter.rs`): the raw
/// table holds only matching sockets, and it came from sock_diag (a refused program would have
/// meant the /proc/net fallback and a note).
#[test]
fn the_kernel_filters_port_lists_and_ranges() {
    let listeners: Vec<TcpListener> = (0..4)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let client = TcpStream::connect(listeners[3].local_addr().unwrap()).unwrap();
    let spec = format!("{},{},{}-{}", ports[0], ports[1], ports[3], ports[3]);
    let set = crate::ports::PortSet::parse(&spec).unwrap();
    let table = LinuxHost::current()
        .sockets(&Query {
            local_port: Some(set.clone()),
            ..Query::everything()
        })
        .unwrap();
    assert!(table.notes.is_empty(), "{:?}", table.notes);
    assert!(
        table.sockets.iter().all(|s| set.contains(s.local.port)),
        "the kernel sent only ports of {spec}: {:#?}",
        table.sockets
    );
    let listening: BTreeSet<u16> = table
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::Listen)
        .map(|s| s.local.port)
        .collect();
    assert_eq!(listening, BTreeSet::from([ports[0], ports[1], ports[3]]));
    let remote = LinuxHost::current()
        .sockets(&Query {
            any_port: Some(crate::ports::PortSet::one(ports[3])),
            remote_port: Some(crate::ports::PortSet::parse(&format!("1-{}", ports[3])).unwrap()),
            ..Query::everything()
        })
        .unwrap();
    let client_port = client.local_addr().unwrap().port();
    assert!(
        remote
            .sockets
            .iter()
            .all(|s| s.remote.port == ports[3]
                || s.local.port == ports[3] && s.remote.port <= ports[3]),
        "{:#?}",
        remote.sockets
    );
    assert!(remote.sockets.iter().any(|s| s.local.port == client_port));
}
