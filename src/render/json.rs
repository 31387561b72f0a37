//! JSON output (docs/json.md). These serde types are the schema; they are built from model
//! types so that the model can change without changing what scripts read.

use std::io::{self, Write};

use serde::Serialize;

use super::details::JsonInfo;
use crate::model::{Inventory, Placed, Socket, UnixSocket, is_link_local};

#[derive(Debug, Serialize)]
pub struct JsonSocket<'a> {
    pub proto: &'static str,
    pub family: &'static str,
    /// An IPv6 socket on [::] with IPV6_V6ONLY off: it accepts IPv4 too (tcp46/udp46).
    pub dual_stack: bool,
    pub local_addr: String,
    pub local_port: u16,
    pub remote_addr: String,
    pub remote_port: u16,
    pub state: &'static str,
    pub recv_q: u32,
    pub send_q: u32,
    pub uid: u32,
    pub inode: u32,
    pub processes: Vec<JsonProcess<'a>>,
    /// null when the command did not place the sockets (docs/json.md).
    pub netns: Option<JsonNetns<'a>>,
    pub container: Option<JsonContainer<'a>>,
    /// `ls -i`: tcp_info, memory, congestion control and timer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Box<JsonInfo<'a>>>,
}

#[derive(Debug, Serialize)]
pub struct JsonNetns<'a> {
    pub inode: u64,
    pub name: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct JsonContainer<'a> {
    pub runtime: &'static str,
    pub id: &'a str,
    pub name: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct JsonProcess<'a> {
    pub pid: u32,
    pub name: &'a str,
    pub user: Option<&'a str>,
    pub cmdline: &'a str,
}

impl<'a> JsonContainer<'a> {
    pub fn of(c: &'a crate::model::Container) -> JsonContainer<'a> {
        JsonContainer {
            runtime: c.runtime,
            id: &c.id,
            name: c.name.as_deref(),
        }
    }
}

impl<'a> JsonSocket<'a> {
    pub fn new(s: &'a Socket, inv: &'a Inventory) -> JsonSocket<'a> {
        let addr = |ip: &std::net::IpAddr| address(ip, s.iface.as_deref());
        JsonSocket {
            proto: s.proto.name(),
            family: s.family.name(),
            dual_stack: s.is_dual_stack(),
            local_addr: addr(&s.local.ip),
            local_port: s.local.port,
            remote_addr: addr(&s.remote.ip),
            remote_port: s.remote.port,
            state: s.state.name(),
            recv_q: s.recv_q,
            send_q: s.send_q,
            uid: s.uid,
            inode: s.inode,
            processes: processes(&s.pids, inv),
            netns: netns(s, inv),
            container: inv.places.container(s).map(JsonContainer::of),
            info: JsonInfo::of(s).map(Box::new),
        }
    }
}

/// A Unix domain socket in the `ls --json` array: the keys it shares with TCP and UDP mean
/// the same; the address keys are replaced by `type`, `path` and the peer's.
#[derive(Debug, Serialize)]
pub struct JsonUnix<'a> {
    pub proto: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub path: Option<&'a str>,
    pub state: &'static str,
    pub recv_q: u32,
    pub send_q: u32,
    pub uid: Option<u32>,
    pub inode: u32,
    pub peer_inode: u32,
    pub processes: Vec<JsonProcess<'a>>,
    pub peer_processes: Vec<JsonProcess<'a>>,
    pub netns: Option<JsonNetns<'a>>,
    pub container: Option<JsonContainer<'a>>,
}

impl<'a> JsonUnix<'a> {
    pub fn new(s: &'a UnixSocket, inv: &'a Inventory) -> JsonUnix<'a> {
        JsonUnix {
            proto: "unix",
            kind: s.kind.name(),
            path: s.path.as_deref(),
            state: s.state.name(),
            recv_q: s.recv_q,
            send_q: s.send_q,
            uid: s.uid,
            inode: s.inode,
            peer_inode: s.peer_inode,
            processes: processes(&s.pids, inv),
            peer_processes: processes(&s.peer_pids, inv),
            netns: netns(s, inv),
            container: inv.places.container(s).map(JsonContainer::of),
        }
    }
}

/// One element of the `ls --json` array.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum JsonEntry<'a> {
    Ip(JsonSocket<'a>),
    Unix(JsonUnix<'a>),
}

/// A socket of either kind as an element of the `ls --json` array.
pub trait Listed {
    fn json<'a>(&'a self, inv: &'a Inventory) -> JsonEntry<'a>;
}

impl Listed for Socket {
    fn json<'a>(&'a self, inv: &'a Inventory) -> JsonEntry<'a> {
        JsonEntry::Ip(JsonSocket::new(self, inv))
    }
}

impl Listed for UnixSocket {
    fn json<'a>(&'a self, inv: &'a Inventory) -> JsonEntry<'a> {
        JsonEntry::Unix(JsonUnix::new(self, inv))
    }
}

/// An address as the JSON keys `local_addr` and `remote_addr` have it: a link-local one with
/// its interface (`fe80::1%eth0`), the name exactly as the kernel has it (JSON escapes for
/// itself).
pub fn address(ip: &std::net::IpAddr, iface: Option<&str>) -> String {
    match iface.filter(|_| is_link_local(ip)) {
        Some(name) => format!("{ip}%{name}"),
        None => ip.to_string(),
    }
}

/// The socket's namespace; null when the command did not place its sockets.
fn netns<'a>(s: &dyn Placed, inv: &'a Inventory) -> Option<JsonNetns<'a>> {
    namespace(s.netns(), inv)
}

/// A namespace by its inode, with its name when bound; null for 0 (not placed).
pub fn namespace(inode: u64, inv: &Inventory) -> Option<JsonNetns<'_>> {
    (inode != 0).then(|| JsonNetns {
        inode,
        name: inv.places.names.get(&inode).map(String::as_str),
    })
}

pub fn processes<'a>(pids: &[u32], inv: &'a Inventory) -> Vec<JsonProcess<'a>> {
    pids.iter()
        .filter_map(|pid| inv.processes.get(pid))
        .map(|p| JsonProcess {
            pid: p.pid,
            name: &p.name,
            user: p.user.as_deref(),
            cmdline: &p.cmdline,
        })
        .collect()
}

/// A JSON array written one element per line, so that large outputs stream.
pub fn array<T: Serialize>(
    out: &mut dyn Write,
    items: impl IntoIterator<Item = T>,
) -> io::Result<()> {
    let mut first = true;
    out.write_all(b"[")?;
    for item in items {
        out.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        serde_json::to_writer(&mut *out, &item)?;
    }
    out.write_all(if first { b"]\n" } else { b"\n]\n" })
}

/// The sockets of an inventory in the `ls --json` schema, TCP and UDP first, then Unix.
pub fn sockets(out: &mut dyn Write, inv: &Inventory) -> io::Result<()> {
    let ip = inv.sockets.iter().map(|s| s.json(inv));
    let unix = inv.unix.iter().map(|s| s.json(inv));
    array(out, ip.chain(unix))
}

/// Any serializable value on one line.
pub fn value<T: Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
