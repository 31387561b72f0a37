//! A hand-built inventory covering every kind of row, for the renderers' snapshot tests.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::model::{
    Container, Endpoint, Family, Forward, Inventory, Places, Process, Proto, Socket, TcpState,
    Timer, TimerKind,
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
    ]
    .into_iter()
    .collect();
    let users = [
        (0, "root"),
        (33, "www-data"),
        (101, "systemd-resolve"),
        (1000, "alice"),
    ]
    .into_iter()
    .map(|(uid, name)| (uid, name.to_string()))
    .collect();
    Inventory {
        sockets: vec![
            sshd, web, dns, dhcp, hidden, evil, session, queued, half_open, tw, orphan, waiting,
        ],
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

/// The fixture inventory seen across namespaces: most sockets in the host's, nginx's in a
/// Docker container's namespace bound as `web`, the DHCP client's in one bound nowhere, and
/// sshd playing a docker-proxy that forwards to nginx.
pub fn across_namespaces() -> Inventory {
    let mut inv = inventory();
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
