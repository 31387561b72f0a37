//! Unix domain sockets as the kernel reports them (unix_diag): plain data.

use super::{Owner, TcpState};

/// The socket type, as `socket(AF_UNIX, TYPE, 0)` made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnixType {
    Stream,
    Dgram,
    Seqpacket,
}

impl UnixType {
    /// The kernel's SOCK_STREAM (1), SOCK_DGRAM (2), SOCK_SEQPACKET (5).
    pub fn from_kernel(kind: u8) -> Option<UnixType> {
        match kind {
            1 => Some(UnixType::Stream),
            2 => Some(UnixType::Dgram),
            5 => Some(UnixType::Seqpacket),
            _ => None,
        }
    }

    /// The name in JSON and in `who`.
    pub fn name(self) -> &'static str {
        match self {
            UnixType::Stream => "stream",
            UnixType::Dgram => "dgram",
            UnixType::Seqpacket => "seqpacket",
        }
    }

    /// The table's Proto column, in ss's spelling (`u_str`, `u_dgr`, `u_seq`).
    pub fn label(self) -> &'static str {
        match self {
            UnixType::Stream => "u_str",
            UnixType::Dgram => "u_dgr",
            UnixType::Seqpacket => "u_seq",
        }
    }
}

/// A file's identity on this host (device and inode, as stat(2) reports them): how a socket
/// bound to a path is matched whatever path spelling names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// One Unix domain socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixSocket {
    pub kind: UnixType,
    /// `Listen`, `Established` (connected) or `Unconn`.
    pub state: TcpState,
    /// The bound name: a path, or `@name` in the abstract namespace; None when unnamed. Bytes
    /// that are not UTF-8 are replaced; control characters are kept (escape before printing).
    pub path: Option<String>,
    /// The socket file a path names, when the kernel reports it (not for abstract names).
    pub file: Option<FileId>,
    /// For LISTEN: connections waiting to be accepted; otherwise unread bytes.
    pub recv_q: u32,
    /// For LISTEN: the backlog; otherwise bytes sent and not yet read by the peer.
    pub send_q: u32,
    /// The socket's owner uid; None when the kernel does not report it (before Linux 5.3).
    pub uid: Option<u32>,
    pub inode: u32,
    /// The connected peer's inode; 0 when not connected.
    pub peer_inode: u32,
    /// For a listener: the client sockets whose connections wait in its accept queue
    /// (unix_diag names the client's end; the server's end has no inode until accepted).
    pub waiting: Vec<u32>,
    /// Pids of the processes holding a descriptor for this socket.
    pub pids: Vec<u32>,
    /// Pids of the processes holding the peer.
    pub peer_pids: Vec<u32>,
    /// The network namespace's inode; 0 until the inventory is placed (`inventory::place`).
    pub netns: u64,
}

impl UnixSocket {
    pub fn new(kind: UnixType, state: TcpState, inode: u32) -> UnixSocket {
        UnixSocket {
            kind,
            state,
            path: None,
            file: None,
            recv_q: 0,
            send_q: 0,
            uid: None,
            inode,
            peer_inode: 0,
            waiting: Vec::new(),
            pids: Vec::new(),
            peer_pids: Vec::new(),
            netns: 0,
        }
    }

    /// Who holds it, as far as the listing can tell.
    pub fn owner(&self, owners_looked_up: bool) -> Owner<'_> {
        match (self.pids.is_empty(), owners_looked_up) {
            (false, _) => Owner::Processes(&self.pids),
            (true, true) => Owner::Hidden,
            (true, false) => Owner::NotLooked,
        }
    }

    /// The kernel's state number for a Unix socket: TCP_CLOSE is an unconnected socket.
    pub fn state_from_kernel(state: u8) -> Option<TcpState> {
        match state {
            1 => Some(TcpState::Established),
            7 => Some(TcpState::Unconn),
            10 => Some(TcpState::Listen),
            _ => None,
        }
    }

    /// The kernel's number for a state in a unix_diag request, if a Unix socket can be in it.
    pub fn kernel_number(state: TcpState) -> Option<u8> {
        match state {
            TcpState::Established => Some(1),
            TcpState::Unconn => Some(7),
            TcpState::Listen => Some(10),
            _ => None,
        }
    }
}
