//! Where a socket lives: its network namespace and, when one holds it, its container.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::{Inventory, Socket, UnixSocket};

/// A socket that lives in a network namespace and is held by processes: TCP, UDP or Unix.
pub trait Placed {
    fn holders(&self) -> &[u32];
    /// The namespace's inode; 0 until placed.
    fn netns(&self) -> u64;
    /// Whether a port proxy's forward applies to it: a TCP or UDP socket.
    fn has_port(&self) -> bool;
}

impl Placed for Socket {
    fn holders(&self) -> &[u32] {
        &self.pids
    }
    fn netns(&self) -> u64 {
        self.netns
    }
    fn has_port(&self) -> bool {
        true
    }
}

impl Placed for UnixSocket {
    fn holders(&self) -> &[u32] {
        &self.pids
    }
    fn netns(&self) -> u64 {
        self.netns
    }
    fn has_port(&self) -> bool {
        false
    }
}

/// A container as its cgroup names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// `docker`, `podman`, `containerd`, `cri-o`, `kubernetes` (a pod's uid or a container
    /// in the kubelet's cgroupfs layout).
    pub runtime: &'static str,
    /// The full id (64 hex digits; a pod's uid for `kubernetes` pods).
    pub id: String,
    /// Its name from the runtime's own files, where readable.
    pub name: Option<String>,
}

impl Container {
    /// The first 12 characters of the id, as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }

    /// The name, else the short id.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or_else(|| self.short_id())
    }
}

/// Where a published port's proxy (docker-proxy, rootlesskit) sends connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub to: SocketAddr,
    /// The container that holds `to`, when it is known.
    pub container: Option<Container>,
}

/// Namespaces and containers of an inventory's sockets.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// The sockets come from several namespaces: show which.
    pub across: bool,
    /// Network namespace inode → the name it is bound to (`/run/netns/NAME`).
    pub names: HashMap<u64, String>,
    /// Owning pid → its container.
    pub by_pid: HashMap<u32, Container>,
    /// Namespace inode → the container all its processes sit in.
    pub by_netns: HashMap<u64, Container>,
    /// Proxy pid → where it forwards.
    pub forwards: HashMap<u32, Forward>,
}

impl Places {
    /// The namespace's bound name, else `net:[inode]`.
    pub fn netns_label(&self, inode: u64) -> String {
        match self.names.get(&inode) {
            Some(name) => name.clone(),
            None => format!("net:[{inode}]"),
        }
    }

    /// The socket's container: its holders', else its namespace's.
    pub fn container(&self, s: &dyn Placed) -> Option<&Container> {
        s.holders()
            .iter()
            .find_map(|pid| self.by_pid.get(pid))
            .or_else(|| self.by_netns.get(&s.netns()))
    }

    /// Where the socket's holder forwards to, if it is a port proxy and the socket has a
    /// port (not the proxy's Unix sockets).
    pub fn forward(&self, s: &dyn Placed) -> Option<&Forward> {
        let pids = if s.has_port() { s.holders() } else { &[] };
        pids.iter().find_map(|pid| self.forwards.get(pid))
    }
}

/// One namespace's sockets: TCP and UDP, and Unix.
pub type NetnsSockets<'a> = (Vec<&'a Socket>, Vec<&'a UnixSocket>);

impl Inventory {
    /// Sockets per namespace, in namespace inode order.
    pub fn by_netns(&self) -> std::collections::BTreeMap<u64, NetnsSockets<'_>> {
        let mut out: std::collections::BTreeMap<u64, NetnsSockets<'_>> = Default::default();
        for s in &self.sockets {
            out.entry(s.netns).or_default().0.push(s);
        }
        for s in &self.unix {
            out.entry(s.netns).or_default().1.push(s);
        }
        out
    }
}
