//! A hand-built inventory covering every kind of row, for the renderers' snapshot tests; and
//! the same with Unix sockets of every kind.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::model::{
    Container, Endpoint, Family, Forward, Inventory, Places, Process, Proto, Socket, TcpState,
    Timer, TimerKind, UnixSocket, UnixType,
};

fn ep(ip: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: ip.parse::<IpAddr>().expect("fixture address"),
        port,
    }
}

fn socket(proto: Proto, local: Endpoint, remote: Endpoint, state: TcpState) -> Socket {
    let mut s = Socket::new(proto, local, remote, state);
    s.inode = 1000;
    s.v6only = (s.family == Family::Ipv6).then_some(true);
    s
}

/// A TCP socket on 127.0.0.1 (`remote` 0: no peer) with its inode and holders: the unit
/// tests' socket.
pub fn loopback_tcp(local: u16, remote: u16, state: TcpState, inode: u32, pids: &[u32]) -> Socket {
    let mut s = Socket::new(
        Proto::Tcp,
        ep("127.0.0.1", local),
        ep("127.0.0.1", remote),
        state,
    );
    s.inode = inode;
    s.pids = pids.to_vec();
    s
}

fn process(pid: u32, name: &str, user: &str, cmdline: &str) -> (u32, Process) {
    let p = Process {
        pid,
        name: name.to_string(),
        user: Some(user.to_string()),
        cmdline: cmdline.to_string(),
    };
    (pid, p)
}

pub fn inventory() -> Inventory {
    use Proto::*;
    use TcpState::*;
    let mut sshd = socket(Tcp, ep("0.0.0.0", 22), ep("0.0.0.0", 0), Listen);
    sshd.send_q = 128;
    sshd.pids = vec![812];
    let mut web = socket(Tcp, ep("::", 8080), ep("::", 0), Listen);
    web.v6only = Some(false);
    web.recv_q = 1;
    web.send_q = 511;
    web.uid = 33;
    web.pids = vec![900, 901];
    let mut dns = socket(Udp, ep("127.0.0.53", 53), ep("0.0.0.0", 0), Unconn);
    dns.uid = 101;
    dns.pids = vec![640];
    let mut dhcp = socket(Udp, ep("fe80::1c2:3ff:fe04:506", 546), ep("::", 0), Unconn);
    dhcp.iface = Some("eth0".to_string());
    dhcp.pids = vec![700];
    let mut session = socket(Tcp, ep("10.0.0.5", 22), ep("10.0.0.9", 51234), Established);
    session.send_q = 36;
    session.pids = vec![812];
    let mut queued = socket(
        Tcp,
        ep("::ffff:127.0.0.1", 8080),
        ep("::ffff:127.0.0.1", 40400),
        Established,
    );
    queued.inode = 0;
    let mut half_open = socket(Tcp, ep("0.0.0.0", 22), ep("10.0.0.7", 40022), SynRecv);
    half_open.local = ep("10.0.0.5", 22);
    half_open.inode = 0;
    let mut tw = socket(Tcp, ep("127.0.0.1", 40312), ep("127.0.0.1", 8080), TimeWait);
    tw.inode = 0;
    tw.timer = Some(Timer {
        kind: TimerKind::TimeWait,
        expires_ms: 42_500,
        retransmits: 0,
    });
    let mut orphan = socket(Tcp, ep("127.0.0.1", 40318), ep("127.0.0.1", 8080), FinWait2);
    orphan.inode = 0;
    let mut hidden = socket(Tcp, ep("127.0.0.1", 5432), ep("0.0.0.0", 0), Listen);
    hidden.uid = 1000;
    hidden.send_q = 244;
    let mut evil = socket(Tcp, ep("127.0.0.1", 6666), ep("0.0.0.0", 0), Listen);
    evil.send_q = 1;
    evil.pids = vec![4242];
    let mut waiting = socket(Tcp, ep("127.0.0.1", 51000), ep("127.0.0.1", 9), CloseWait);
    waiting.recv_q = 0;
    waiting.pids = vec![4242];
    // After bind(), before listen() or connect().
    let mut bound = socket(Tcp, ep("127.0.0.1", 7000), ep("0.0.0.0", 0), Bound);
    bound.pids = vec![700];

    let processes: HashMap<u32, Process> = [
        process(
            812,
            "sshd",
            "root",
            "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
        ),
        process(
            900,
            "nginx",
            "root",
            "nginx: master process /usr/sbin/nginx",
        ),
        process(901, "nginx", "www-data", "nginx: worker process"),
        process(
            640,
            "systemd-resolve",
            "systemd-resolve",
            "/lib/systemd/systemd-resolved",
        ),
        process(700, "dhclient", "root", "dhclient -6 eth0"),
        process(4242, "evil\x1b[2Jname", "root", "./evil\x07 --flag"),
        process(1200, "app", "app", "/usr/bin/app --socket /run/app.sock"),
        process(
            4243,
            "curl",
            "alice",
            "curl --unix-socket /run/app.sock http://x/",
        ),
        process(
            4244,
            "curl",
            "alice",
            "curl --unix-socket /run/app.sock http://y/",
        ),
        process(600, "logger", "alice", "logger hello"),
    ]
    .into_iter()
    .collect();
    let users = [
        (0, "root"),
        (33, "www-data"),
        (101, "systemd-resolve"),
        (1000, "alice"),
        (998, "app"),
    ]
    .into_iter()
    .map(|(uid, name)| (uid, name.to_string()))
    .collect();
    Inventory {
        sockets: vec![
            sshd, web, dns, dhcp, hidden, evil, session, queued, half_open, tw, orphan, waiting,
            bound,
        ],
        unix: Vec::new(),
        processes,
        users,
        owners_looked_up: true,
        unreadable_processes: 1,
        notes: Vec::new(),
        places: Default::default(),
    }
}

/// The host's namespace, inode 4026531840 (unnamed).
pub const HOST_NETNS: u64 = 4026531840;

/// The fixture inventory with Unix sockets seen across namespaces: most sockets in the
/// host's, nginx's and the app's (`/run/app.sock`) in a Docker container's namespace bound as
/// `web`, the DHCP client's in one bound nowhere, and sshd playing a docker-proxy that
/// forwards to nginx.
pub fn across_namespaces() -> Inventory {
    let mut inv = with_unix();
    let web = Container {
        runtime: "docker",
        id: "3f4e8a1c2b9d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f".to_string(),
        name: Some("web".to_string()),
    };
    for s in &mut inv.sockets {
        s.netns = match s.pids.first() {
            Some(900) => 4026532611,
            Some(700) => 4026532700,
            _ => HOST_NETNS,
        };
    }
    for s in &mut inv.unix {
        s.netns = match s.pids.first() {
            Some(1200) => 4026532611,
            _ => HOST_NETNS,
        };
    }
    inv.places = Places {
        across: true,
        names: [(4026532611, "web".to_string())].into(),
        by_pid: [(900, web.clone()), (901, web.clone())].into(),
        by_netns: [(4026532611, web.clone())].into(),
        forwards: [(
            812,
            Forward {
                to: "172.17.0.2:8080".parse().expect("fixture address"),
                container: Some(web),
            },
        )]
        .into(),
    };
    inv
}

/// A Unix socket held by `pids`, owned by their user.
pub fn unix(
    kind: UnixType,
    state: TcpState,
    path: Option<&str>,
    inode: u32,
    pids: &[u32],
) -> UnixSocket {
    let mut s = UnixSocket::new(kind, state, inode);
    s.path = path.map(str::to_string);
    // The socket's uid is its creator's: app, alice, or root.
    s.uid = Some(match pids.first() {
        Some(1200) => 998,
        Some(4243 | 4244 | 600) => 1000,
        _ => 0,
    });
    s.pids = pids.to_vec();
    s
}

/// Two ends of a connection: each one's peer is the other.
fn connect(a: &mut UnixSocket, b: &mut UnixSocket) {
    a.peer_inode = b.inode;
    a.peer_pids = b.pids.clone();
    b.peer_inode = a.inode;
    b.peer_pids = a.pids.clone();
}

/// `inventory()` with Unix sockets: a stream server with a connection accepted and one
/// waiting, its clients, an abstract listener, a datagram server and a client connected to
/// it, a socketpair, and a path with control characters in it.
pub fn with_unix() -> Inventory {
    use TcpState::*;
    use UnixType::*;
    let app = Some("/run/app.sock");
    let mut listener = unix(Stream, Listen, app, 5000, &[1200]);
    listener.recv_q = 1;
    listener.send_q = 128;
    let mut accepted = unix(Stream, Established, app, 5001, &[1200]);
    let mut client = unix(Stream, Established, None, 5002, &[4243]);
    connect(&mut accepted, &mut client);
    // A client whose connection waits to be accepted: the server's end is no socket yet, so
    // the client has no peer inode; the listener names it among its pending connections.
    let waiting_client = unix(Stream, Established, None, 5004, &[4244]);
    listener.waiting = vec![waiting_client.inode];
    let bus = unix(Stream, Listen, Some("@/tmp/dbus-XyZ"), 5005, &[812]);
    let log = unix(Dgram, Unconn, Some("/dev/log"), 5006, &[640]);
    let mut logger = unix(Dgram, Established, None, 5007, &[600]);
    logger.peer_inode = log.inode;
    logger.peer_pids = log.pids.clone();
    let mut left = unix(Seqpacket, Established, None, 5008, &[4243]);
    let mut right = unix(Seqpacket, Established, None, 5009, &[4243]);
    connect(&mut left, &mut right);
    let evil = unix(
        Stream,
        Listen,
        Some("/tmp/evil\n\x1b[2J.sock"),
        5010,
        &[4242],
    );
    let mut inv = inventory();
    inv.unix = vec![
        listener,
        accepted,
        client,
        waiting_client,
        bus,
        log,
        logger,
        left,
        right,
        evil,
    ];
    inv
}
