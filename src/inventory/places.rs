//! Placing an inventory: each socket's network namespace (a name where one is bound), the
//! container its holders run in (or the one container its namespace's processes all share),
//! and where a published port's proxy forwards.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::host::namespaces::Namespace;
use crate::model::{Container, Forward, Inventory, Places, Process};

/// Places `inv`'s sockets. A socket not tagged by the table (one namespace read) is in
/// `own`; `namespaces` are those known (names, member processes).
pub fn place(inv: &mut Inventory, own: u64, namespaces: &[Namespace]) {
    place_with(inv, own, namespaces, crate::host::containers::of_pid);
    let places = &mut inv.places;
    crate::host::containers::name_all(
        places
            .by_pid
            .values_mut()
            .chain(places.by_netns.values_mut())
            .chain(
                places
                    .forwards
                    .values_mut()
                    .filter_map(|f| f.container.as_mut()),
            ),
    );
}

fn place_with(
    inv: &mut Inventory,
    own: u64,
    namespaces: &[Namespace],
    container_of: impl Fn(u32) -> Option<Container>,
) {
    for s in inv.sockets.iter_mut().filter(|s| s.netns == 0) {
        s.netns = own;
    }
    for s in inv.unix.iter_mut().filter(|s| s.netns == 0) {
        s.netns = own;
    }
    let mut places = Places::default();
    for ns in namespaces {
        if let Some(name) = &ns.name {
            places.names.insert(ns.inode, name.clone());
        }
    }
    for pid in inv.processes.keys() {
        if let Some(c) = container_of(*pid) {
            places.by_pid.insert(*pid, c);
        }
    }
    // A namespace other than ours whose processes all sit in one container is that
    // container's, so its sockets are even when their holders cannot be seen.
    let shown: std::collections::HashSet<u64> = (inv.sockets.iter().map(|s| s.netns))
        .chain(inv.unix.iter().map(|s| s.netns))
        .collect();
    for ns in namespaces
        .iter()
        .filter(|ns| ns.inode != own && shown.contains(&ns.inode))
    {
        let mut members = ns.pids.iter().map(|pid| container_of(*pid));
        if let Some(Some(first)) = members.next()
            && members.all(|c| c.as_ref().is_some_and(|c| c.id == first.id))
        {
            places.by_netns.insert(ns.inode, first);
        }
    }
    for p in inv.processes.values() {
        if let Some(to) = proxy_target(p) {
            let container = listener_container(inv, &places, to);
            places.forwards.insert(p.pid, Forward { to, container });
        }
    }
    inv.places = places;
}

/// docker-proxy's target from its command line: `-container-ip 172.17.0.2 -container-port 80`.
fn proxy_target(p: &Process) -> Option<SocketAddr> {
    if p.name != "docker-proxy" {
        return None;
    }
    let args: Vec<&str> = p.cmdline.split(' ').collect();
    let value = |flag: &str| {
        args.windows(2)
            .find(|w| w[0] == flag || w[0] == &flag[1..])
            .map(|w| w[1])
    };
    let ip = value("--container-ip")?.parse().ok()?;
    let port = value("--container-port")?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// The container of the one namespace that listens on the target's port (on its address or
/// a wildcard), when exactly one container does.
fn listener_container(inv: &Inventory, places: &Places, to: SocketAddr) -> Option<Container> {
    let mut found: HashMap<&str, &Container> = HashMap::new();
    for s in &inv.sockets {
        let listens = s.state.is_listening()
            && s.local.port == to.port()
            && (s.local.ip == to.ip() || s.local.ip.is_unspecified());
        if let Some(c) = listens.then(|| places.container(s)).flatten() {
            found.insert(&c.id, c);
        }
    }
    let mut found = found.into_values();
    match (found.next(), found.next()) {
        (Some(c), None) => Some(c.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, Proto, Socket, TcpState};

    fn container(id: char) -> Container {
        Container {
            runtime: "docker",
            id: id.to_string().repeat(64),
            name: None,
        }
    }

    fn listener(port: u16, netns: u64, pids: Vec<u32>) -> Socket {
        let ep = |port| Endpoint {
            ip: "0.0.0.0".parse().expect("address"),
            port,
        };
        let mut s = Socket::new(Proto::Tcp, ep(port), ep(0), TcpState::Listen);
        s.netns = netns;
        s.inode = 7;
        s.pids = pids;
        s
    }

    fn process(pid: u32, name: &str, cmdline: &str) -> (u32, Process) {
        let p = Process {
            pid,
            name: name.into(),
            user: None,
            cmdline: cmdline.into(),
        };
        (pid, p)
    }

    #[test]
    fn namespaces_containers_and_a_proxy() {
        let ns = |inode, name: Option<&str>, pids: Vec<u32>| Namespace {
            inode,
            name: name.map(str::to_string),
            path: "/proc/1/ns/net".into(),
            pids,
        };
        let namespaces = [
            ns(1, None, vec![1, 10]),
            ns(2, Some("web"), vec![20, 21]),
            ns(3, None, vec![30, 31]),
        ];
        let mut inv = Inventory {
            sockets: vec![
                listener(8080, 0, vec![10]),
                listener(80, 2, vec![]),
                listener(5432, 3, vec![]),
            ],
            processes: [process(
                10,
                "docker-proxy",
                "/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080 \
                 -container-ip 172.17.0.2 -container-port 80",
            )]
            .into(),
            ..Inventory::default()
        };
        // 20 and 21 share container a; 30 is in b, 31 in none.
        let of = |pid| match pid {
            20 | 21 => Some(container('a')),
            30 => Some(container('b')),
            _ => None,
        };
        place_with(&mut inv, 1, &namespaces, of);
        let p = &inv.places;
        assert_eq!(inv.sockets[0].netns, 1, "untagged: our namespace");
        assert_eq!(p.netns_label(2), "web");
        assert_eq!(p.netns_label(3), "net:[3]");
        assert_eq!(p.container(&inv.sockets[1]), Some(&container('a')));
        assert_eq!(
            p.container(&inv.sockets[2]),
            None,
            "mixed members: no container"
        );
        let forward = p.forward(&inv.sockets[0]).expect("docker-proxy forwards");
        assert_eq!(forward.to, "172.17.0.2:80".parse().expect("address"));
        assert_eq!(forward.container, Some(container('a')));
    }
}
