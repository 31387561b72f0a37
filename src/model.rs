//! Plain data about sockets and processes. No I/O happens here, so every renderer can be
//! tested with hand-built values.

pub mod details;
pub mod unix;

use std::collections::HashMap;
use std::net::IpAddr;

pub use details::{Details, SocketMemory, TcpInfo};
mod places;
pub use places::{Container, Forward, Placed, Places};
pub use unix::{FileId, UnixSocket, UnixType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// Socket states in net-tools spelling. UDP uses `Unconn` and `Established` only; `Bound` is
/// a TCP socket after bind() and before listen() or connect(), which holds its port too.
/// The order is the display order for `--sort state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpState {
    Listen,
    Unconn,
    Bound,
    SynSent,
    SynRecv,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    Close,
}

impl TcpState {
    pub const ALL: [TcpState; 13] = [
        TcpState::Listen,
        TcpState::Unconn,
        TcpState::Bound,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Close,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TcpState::Listen => "LISTEN",
            TcpState::Unconn => "UNCONN",
            TcpState::Bound => "BOUND",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
        }
    }

    /// Parses a state name in any case, with `-` or `_` (`time-wait`, `TIME_WAIT`, `timewait`).
    pub fn parse(text: &str) -> Option<TcpState> {
        let wanted: String = text
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        TcpState::ALL
            .into_iter()
            .find(|state| state.name().replace('_', "") == wanted)
    }

    /// The Linux kernel's numbering (include/net/tcp_states.h). UDP sockets report
    /// TCP_ESTABLISHED when connected and TCP_CLOSE when not.
    pub fn from_kernel(proto: Proto, state: u8) -> Option<TcpState> {
        Some(match (proto, state) {
            (Proto::Udp, 7) => TcpState::Unconn,
            (_, 1) => TcpState::Established,
            (_, 2) => TcpState::SynSent,
            // 12 is TCP_NEW_SYN_RECV: a request socket, still mid-handshake.
            (_, 3 | 12) => TcpState::SynRecv,
            (_, 4) => TcpState::FinWait1,
            (_, 5) => TcpState::FinWait2,
            (_, 6) => TcpState::TimeWait,
            (_, 7) => TcpState::Close,
            (_, 8) => TcpState::CloseWait,
            (_, 9) => TcpState::LastAck,
            (_, 10) => TcpState::Listen,
            (_, 11) => TcpState::Closing,
            _ => return None,
        })
    }

    /// The kernel's number for this state, as used in sock_diag state masks. A bound-only
    /// socket is asked for with TCP_BOUND_INACTIVE (13) and reported as TCP_CLOSE (7).
    pub fn kernel_number(self) -> u8 {
        match self {
            TcpState::Bound => 13,
            TcpState::Established => 1,
            TcpState::SynSent => 2,
            TcpState::SynRecv => 3,
            TcpState::FinWait1 => 4,
            TcpState::FinWait2 => 5,
            TcpState::TimeWait => 6,
            TcpState::Close | TcpState::Unconn => 7,
            TcpState::CloseWait => 8,
            TcpState::LastAck => 9,
            TcpState::Listen => 10,
            TcpState::Closing => 11,
        }
    }

    /// A socket waiting for peers rather than talking to one.
    pub fn is_listening(self) -> bool {
        matches!(self, TcpState::Listen | TcpState::Unconn)
    }

    /// A socket that stands on its local address alone, with no peer: a listener, an
    /// unconnected UDP socket, a bound-only TCP socket.
    pub fn is_unconnected(self) -> bool {
        self.is_listening() || self == TcpState::Bound
    }

    /// Both sides have exchanged sequence numbers: windows, RTTs and losses mean something.
    pub fn is_synchronized(self) -> bool {
        matches!(
            self,
            TcpState::Established
                | TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::CloseWait
                | TcpState::Closing
                | TcpState::LastAck
        )
    }

    /// States a socket can be in after its process closed it (the kernel finishes the close).
    pub fn is_closing(self) -> bool {
        matches!(
            self,
            TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::Closing
                | TcpState::LastAck
                | TcpState::TimeWait
        )
    }
}

/// A kernel timer running on a socket, as sock_diag reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub kind: TimerKind,
    pub expires_ms: u32,
    /// Retransmissions so far (a SYN_SENT socket whose SYNs go unanswered counts up).
    pub retransmits: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    Retransmit,
    KeepAlive,
    TimeWait,
    ZeroWindowProbe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// fe80::/10: an address that only means something together with its interface.
pub fn is_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// One TCP or UDP socket as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub proto: Proto,
    pub family: Family,
    pub local: Endpoint,
    pub remote: Endpoint,
    pub state: TcpState,
    /// For LISTEN: connections waiting in the accept queue; otherwise unread bytes.
    pub recv_q: u32,
    /// For LISTEN: the backlog; otherwise bytes not yet acknowledged by the peer.
    pub send_q: u32,
    /// The socket's owner uid. Meaningless (0) when `inode` is 0.
    pub uid: u32,
    /// 0 when no file refers to the socket: TIME_WAIT, orphans, the accept queue.
    pub inode: u32,
    /// For an IPv6 socket: whether IPV6_V6ONLY is set; `None` when unknown.
    pub v6only: Option<bool>,
    /// The interface the socket is bound to (scope of a link-local address), if any.
    pub iface: Option<String>,
    /// The interface index the kernel's table names the socket with (SO_BINDTODEVICE, a VRF,
    /// a link-local scope); 0 for none. A request for this one socket must name it too.
    pub bound_if: u32,
    pub timer: Option<Timer>,
    /// tcp_info, memory and congestion control, when asked for (`ls -i`); boxed so that a
    /// table read without them stays small.
    pub details: Option<Box<Details>>,
    /// The kernel's cookie for the socket (sock_diag), 0 when unknown: with the 4-tuple, it
    /// names this socket and not a later one with the same addresses.
    pub cookie: u64,
    /// Pids of the processes that hold a file descriptor for this socket.
    pub pids: Vec<u32>,
    /// The network namespace's inode; 0 until the inventory is placed (`inventory::place`).
    pub netns: u64,
}

/// Who holds a socket, as far as the listing can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    Processes(&'a [u32]),
    /// Closed by its process; the kernel is finishing the close (TIME_WAIT, orphans).
    Closed,
    /// Handshake done, waiting in a listener's accept queue for accept().
    AcceptQueue,
    /// A half-open connection: the listener's SYN queue.
    Handshake,
    /// A process holds it, but it could not be seen (another user's, or it exited mid-scan).
    Hidden,
    /// Owners were not looked up.
    NotLooked,
}

impl Owner<'_> {
    /// Why no process is shown: `(closed)`, `(accept queue)`, `(handshake)`, or `-` for an
    /// owner that exists but cannot be seen (or was not looked up).
    pub fn label(self) -> &'static str {
        match self {
            Owner::Closed => "(closed)",
            Owner::AcceptQueue => "(accept queue)",
            Owner::Handshake => "(handshake)",
            Owner::Processes(_) | Owner::Hidden | Owner::NotLooked => "-",
        }
    }
}

impl Socket {
    /// A socket with these addresses and state; queues, ids and owners empty.
    pub fn new(proto: Proto, local: Endpoint, remote: Endpoint, state: TcpState) -> Socket {
        Socket {
            proto,
            family: Family::of(local.ip),
            local,
            remote,
            state,
            recv_q: 0,
            send_q: 0,
            uid: 0,
            inode: 0,
            v6only: None,
            iface: None,
            bound_if: 0,
            timer: None,
            details: None,
            cookie: 0,
            pids: Vec::new(),
            netns: 0,
        }
    }

    /// Time left on a TIME_WAIT (or orphaned FIN_WAIT2) timer, in ms.
    pub fn time_wait_left_ms(&self) -> Option<u32> {
        self.timer
            .filter(|t| t.kind == TimerKind::TimeWait)
            .map(|t| t.expires_ms)
    }

    /// An IPv6 socket on the unspecified address that also accepts IPv4.
    pub fn is_dual_stack(&self) -> bool {
        self.family == Family::Ipv6 && self.local.ip.is_unspecified() && self.v6only == Some(false)
    }

    /// An IPv4 conversation on an IPv6 socket: a dual-stack one, or an IPv4-mapped address
    /// (a connection a dual-stack listener accepted from IPv4). `-4` includes these.
    pub fn carries_ipv4(&self) -> bool {
        let mapped = match self.local.ip {
            std::net::IpAddr::V6(ip) => ip.to_ipv4_mapped().is_some(),
            std::net::IpAddr::V4(_) => false,
        };
        self.family == Family::Ipv6 && (self.is_dual_stack() || mapped)
    }

    pub fn owner(&self, owners_looked_up: bool) -> Owner<'_> {
        if !self.pids.is_empty() {
            return Owner::Processes(&self.pids);
        }
        if self.inode == 0 {
            return match self.state {
                TcpState::SynRecv => Owner::Handshake,
                TcpState::Established | TcpState::CloseWait => Owner::AcceptQueue,
                _ => Owner::Closed,
            };
        }
        if owners_looked_up {
            Owner::Hidden
        } else {
            Owner::NotLooked
        }
    }
}

/// What a process looks like to the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub user: Option<String>,
    pub cmdline: String,
}

/// The result of one collection: sockets, their processes, and what could not be seen.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub sockets: Vec<Socket>,
    /// Unix domain sockets, when asked for (`ls -x`).
    pub unix: Vec<UnixSocket>,
    /// The processes holding the listed sockets, and the peers of the Unix ones.
    pub processes: HashMap<u32, Process>,
    /// Socket uid -> user name, for the uids of the listed sockets.
    pub users: HashMap<u32, String>,
    pub owners_looked_up: bool,
    /// Processes whose descriptors could not be read (another user's, without privileges).
    pub unreadable_processes: usize,
    /// Things the user should know about how the table was read (a fallback, say).
    pub notes: Vec<String>,
    /// Namespaces and containers, once placed (`inventory::place`).
    pub places: Places,
}

impl Inventory {
    /// Sockets with a file descriptor somewhere whose holder could not be seen.
    pub fn hidden_owner_count(&self) -> usize {
        if !self.owners_looked_up {
            return 0;
        }
        let ip = self
            .sockets
            .iter()
            .filter(|s| s.owner(true) == Owner::Hidden);
        let unix = self.unix.iter().filter(|s| s.owner(true) == Owner::Hidden);
        ip.count() + unix.count()
    }

    /// No socket of any kind.
    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty() && self.unix.is_empty()
    }

    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users.get(&uid).map(String::as_str)
    }
}

/// The ICMP rate limits a UDP target answers under: net.ipv4.icmp_ratelimit (ms between
/// messages to one address, after a burst of 6; 0: none), icmp_ratemask (which types are
/// limited) and icmp_msgs_per_sec (host-wide; 0: none). Port unreachable is type 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpLimits {
    pub ratelimit_ms: u32,
    pub ratemask: u32,
    pub msgs_per_sec: u32,
    /// Where the figures come from.
    pub source: LimitSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitSource {
    /// The target is an address of this namespace: its answers go over loopback, unlimited.
    Loopback,
    /// Read in the named network namespace that holds the target's address.
    Namespace(String),
    /// The target is elsewhere: this namespace's settings, assumed to be the target's.
    Assumed,
}

impl IcmpLimits {
    /// ICMP port unreachable messages per second the target sends this prober at most;
    /// None: no limit.
    pub fn answers_per_sec(&self) -> Option<f64> {
        if self.source == LimitSource::Loopback || self.ratemask & (1 << 3) == 0 {
            return None;
        }
        let per_peer = (self.ratelimit_ms > 0).then(|| 1000.0 / f64::from(self.ratelimit_ms));
        let global = (self.msgs_per_sec > 0).then_some(f64::from(self.msgs_per_sec));
        match (per_peer, global) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// How the kernel hands out ephemeral ports (per network namespace on Linux).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSettings {
    /// ip_local_port_range: where automatic ports come from.
    pub range: (u16, u16),
    /// ip_local_reserved_ports: never handed out automatically (explicit bind still works).
    pub reserved: Vec<(u16, u16)>,
    pub unprivileged_port_start: Option<u16>,
    /// tcp_tw_reuse: 0 off, 1 on, 2 loopback only.
    pub tcp_tw_reuse: Option<u8>,
    /// tcp_fin_timeout: seconds an orphaned FIN_WAIT2 lives.
    pub tcp_fin_timeout: Option<u32>,
}

impl PortSettings {
    pub fn in_range(&self, port: u16) -> bool {
        (self.range.0..=self.range.1).contains(&port)
    }

    pub fn is_reserved(&self, port: u16) -> bool {
        self.reserved
            .iter()
            .any(|(low, high)| (*low..=*high).contains(&port))
    }

    pub fn range_size(&self) -> usize {
        usize::from(self.range.1.saturating_sub(self.range.0)) + 1
    }

    /// Ports of the range that are reserved.
    pub fn reserved_in_range(&self) -> usize {
        (self.range.0..=self.range.1)
            .filter(|p| self.is_reserved(*p))
            .count()
    }
}
