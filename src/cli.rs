//! The command line, as clap derive types only.
//!
//! This file imports nothing from the crate, so completions and the man page can be generated
//! from it alone; everything here is turned into a `Query` (or a command's config) elsewhere.

pub mod duration;

use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  portscope                      every TCP and UDP socket with its owner (same as `portscope ls`)
  portscope -tl                  TCP listeners
  portscope ls --state time-wait --json
  portscope ls --port 8080       sockets whose local or remote port is 8080
  portscope ls -s                counts by protocol and state
  portscope ls -ti --state established   rtt, cwnd, retransmits, bytes and limits per connection
  portscope who 8080             who holds port 8080, in any state
  portscope ls -x                Unix domain sockets, with the process at the other end
  portscope who /run/app.sock    the server behind a Unix socket and every connected client
  portscope who 8080 --all-netns who holds 8080 anywhere on this host (namespaces, containers)
  portscope ls --netns web       the sockets of network namespace web (/run/netns/web)
  portscope ls -tl --all-netns   listeners of every namespace, with Netns and Container columns
  portscope completions bash > /etc/bash_completion.d/portscope

Recv-Q / Send-Q: TCP bytes not yet read / not yet acknowledged; for a listener, the accept
queue / the backlog; for UDP, the kernel memory the queued datagrams take (payload plus a few
hundred bytes of bookkeeping each), not payload bytes.";

#[derive(Debug, Parser)]
#[command(
    name = "portscope",
    version,
    about = "Ports and sockets on this host: what listens, who owns it, what the kernel does",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `portscope [OPTIONS]` is `portscope ls [OPTIONS]`.
    #[command(flatten)]
    pub ls: LsArgs,

    /// When to use colour: auto (a terminal and no NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List TCP and UDP (and with -x Unix) sockets with state, queues and owners (ss -tunap)
    #[command(after_help = EXAMPLES)]
    Ls(LsArgs),
    /// Who holds a port or a Unix socket: every socket on it, any state, with every holder
    #[command(
        after_help = "Examples:\n  portscope who 8080\n  portscope who ssh --json\n  portscope who /run/docker.sock        the server and every connected client\n  portscope who @my-abstract-socket\n  portscope who -x app.sock             a relative path\n\nExit status is 1 when nothing holds the port or socket."
    )]
    Who(WhoArgs),
    /// Is that port reachable? open / closed / filtered, honestly (nc -z, tcping, nmap -sT/-sU)
    #[command(after_help = PROBE_EXAMPLES)]
    Probe(ProbeArgs),
    /// Dynamic (ephemeral) ports: range, use per destination, what holds them; `sample` measures
    #[command(after_help = EPHEMERAL_EXAMPLES, args_conflicts_with_subcommands = true)]
    Ephemeral(EphemeralArgs),
    /// Would binding [ADDR:]PORT succeed? Who holds it, what would help, and a real trial bind
    #[command(name = "why-bind", after_help = WHY_BIND_EXAMPLES)]
    WhyBind(WhyBindArgs),
    /// The TCP lifecycle lab: each step of a connection's life on loopback, with the kernel's table
    #[command(after_help = LIFECYCLE_EXAMPLES)]
    Lifecycle(LifecycleArgs),
    /// Short vs long connections, measured on loopback: latency, ports used, TIME_WAIT left
    #[command(after_help = BENCH_EXAMPLES)]
    Bench(BenchArgs),
    /// Sockets coming and going: a live table on a terminal, a JSON event stream otherwise
    #[command(after_help = WATCH_EXAMPLES)]
    Watch(WatchArgs),
    /// Block until a port is listening (or, with --free, until nothing holds it)
    #[command(after_help = WAIT_EXAMPLES)]
    Wait(WaitArgs),
    /// Free a port: signal every process holding it, and wait until it is free; or close
    /// single connections with --destroy (ss -K)
    #[command(after_help = KILL_EXAMPLES)]
    Kill(KillArgs),
    /// Serve the socket table as Prometheus metrics (/metrics), or write it for node_exporter
    #[command(after_help = EXPORTER_EXAMPLES)]
    Exporter(ExporterArgs),
    /// What is wrong with this host's connections: verdicts with evidence and what to do
    #[command(after_help = DOCTOR_EXAMPLES)]
    Doctor(DoctorArgs),
    /// The kernel's counters that explain trouble (drops, overflows, retransmits), with meanings
    #[command(after_help = STATS_EXAMPLES)]
    Stats(StatsArgs),
    /// TCP test endpoints that explain themselves: listen (a server) and connect (a client)
    #[command(subcommand)]
    Tcp(TcpCommand),
    /// UDP test endpoints: recv (a receiver bound to a port) and send (a sender)
    #[command(subcommand)]
    Udp(UdpCommand),
    /// Print shell completions to stdout
    #[command(
        after_help = "Examples:\n  portscope completions bash > /etc/bash_completion.d/portscope\n  portscope completions zsh > \"${fpath[1]}/_portscope\"\n  portscope completions fish > ~/.config/fish/completions/portscope.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or write every page (one per subcommand) to a folder
    #[command(
        after_help = "Examples:\n  portscope man --dir /usr/local/share/man/man1 && mandb -q\n  portscope man > portscope.1      the main page alone"
    )]
    Man {
        /// Write portscope.1 and a page per subcommand (portscope-ls.1, portscope-tcp-listen.1,
        /// …) into DIR, made if missing; their names are printed
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Filters shared by every command that looks at the socket table.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// TCP sockets only
    #[arg(short = 't', long)]
    pub tcp: bool,
    /// UDP sockets only
    #[arg(short = 'u', long)]
    pub udp: bool,
    /// Unix domain sockets (alone, or with -t / -u: -tx is TCP and Unix)
    #[arg(short = 'x', long)]
    pub unix: bool,
    /// Sockets that carry IPv4 only: IPv4 ones, and IPv6 ones on [::] without IPV6_V6ONLY
    /// (tcp46/udp46) or with an IPv4-mapped address
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,
    /// IPv6 sockets only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Listening sockets only: TCP LISTEN and unconnected UDP (and Unix LISTEN and UNCONN)
    #[arg(short = 'l', long)]
    pub listening: bool,
    /// Sockets in every state, as in ss (the default; not "every family")
    #[arg(short = 'a', long, conflicts_with_all = ["listening", "state"])]
    pub all: bool,
    /// States to show, comma separated, any case, as netstat or ss write them:
    /// established,time-wait,listen,unconn,bound, estab, syn-sent, close-wait, and ss's groups
    /// connected, synchronized, bucket, big
    #[arg(long, value_delimiter = ',', value_name = "STATE[,STATE]")]
    pub state: Vec<String>,
    /// Local or remote port: a number, a service name (ssh), a list or ranges (80,443,8000-8100)
    #[arg(long, value_name = "PORTS")]
    pub port: Option<String>,
    /// Local (source) port: a number, a service name, a list or ranges
    #[arg(long, value_name = "PORTS")]
    pub sport: Option<String>,
    /// Remote (destination) port: a number, a service name, a list or ranges
    #[arg(long, value_name = "PORTS")]
    pub dport: Option<String>,
    /// Sockets held by this process id
    #[arg(long)]
    pub pid: Option<u32>,
    /// Sockets held by a process whose name or command line contains TEXT (http.server)
    #[arg(long, value_name = "TEXT")]
    pub process: Option<String>,
    /// Sockets owned by this user (name or uid)
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
}

/// One network namespace to run in.
#[derive(Debug, Clone, Default, Args)]
pub struct NetnsArgs {
    /// Run in network namespace NAME (/run/netns/NAME), PATH (an nsfs file such as
    /// /run/docker/netns/ID) or PID's (/proc/PID/ns/net); needs root
    #[arg(long, value_name = "NAME|PATH|PID")]
    pub netns: Option<String>,
}

/// One network namespace, or all of them (no short flag: ss's -N is one named namespace).
#[derive(Debug, Clone, Default, Args)]
pub struct NamespaceArgs {
    #[command(flatten)]
    pub one: NetnsArgs,
    /// Every network namespace on the host (processes' and bound ones), with Netns and
    /// Container columns; those that cannot be entered are counted in a note
    #[arg(long, conflicts_with = "netns")]
    pub all_netns: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    Port,
    State,
    Pid,
    Proto,
}

#[derive(Debug, Clone, Default, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Print a JSON array, one object per socket (schema: docs/json.md)
    #[arg(long)]
    pub json: bool,
    /// Counts by protocol and state instead of the sockets (like ss -s)
    #[arg(short = 's', long)]
    pub summary: bool,
    /// Sort order [default: listeners first, then by local port]
    #[arg(long, value_enum)]
    pub sort: Option<SortKey>,
    /// Leave out the header line
    #[arg(short = 'H', long)]
    pub no_header: bool,
    /// Do not look up owning processes (faster; PID/Program and User show nothing)
    #[arg(long, conflicts_with_all = ["pid", "process", "first_owner"])]
    pub no_owners: bool,
    /// Inside each socket: rtt, cwnd, retransmits, bytes, rates, window and buffer limits,
    /// congestion control, memory and drops, timer (a second line on a terminal; columns in
    /// a pipe; an `info` object in JSON)
    #[arg(short = 'i', long, conflicts_with = "summary")]
    pub info: bool,
    #[command(flatten)]
    pub owners: OwnerArgs,
    #[command(flatten)]
    pub namespaces: NamespaceArgs,
    /// Only the pids of the owning processes, one per line (lsof -t): `| xargs kill`
    #[arg(long, conflicts_with_all = ["json", "summary", "no_owners", "info"])]
    pub pids: bool,
    /// Numeric addresses and ports: always so (ss/netstat habit, accepted and ignored)
    #[arg(short = 'n', long, help_heading = "Compatibility")]
    pub numeric: bool,
    /// Show the owning processes: always so (ss/netstat habit, accepted and ignored)
    #[arg(
        short = 'p',
        long,
        help_heading = "Compatibility",
        conflicts_with = "no_owners"
    )]
    pub processes: bool,
}

/// How far the owner search goes.
#[derive(Debug, Clone, Default, Args)]
pub struct OwnerArgs {
    /// Stop at the first process holding each socket when reading /proc (faster; a socket
    /// shared by several processes, such as a pre-forked server's listener, may then show
    /// one of them). As root the kernel's walk of every file table finds every holder at once
    /// (PORTSCOPE_OWNER_SCAN=proc reads /proc instead)
    #[arg(long)]
    pub first_owner: bool,
    /// Every holder is the default now; kept so that old scripts still run
    #[arg(long, hide = true, conflicts_with = "first_owner")]
    pub all_owners: bool,
}

#[derive(Debug, Clone, Args)]
pub struct WhoArgs {
    /// The port: a number or a service name (http, ssh), or a list: 80,443,8000-8100 (lsof's
    /// :8080 and fuser's 8080/tcp work too); or a Unix socket: a path with a slash in it, or
    /// @name in the abstract namespace
    #[arg(value_name = "PORT|SOCKET")]
    pub port: std::ffi::OsString,
    /// The argument names a Unix socket (for a relative path without a slash)
    #[arg(short = 'x', long, conflicts_with_all = ["tcp", "udp"])]
    pub unix: bool,
    /// TCP only
    #[arg(short = 't', long)]
    pub tcp: bool,
    /// UDP only
    #[arg(short = 'u', long)]
    pub udp: bool,
    /// Print the sockets as a JSON array in the `ls --json` schema
    #[arg(long)]
    pub json: bool,
    /// Each socket's details too (as `ls -i`): rtt, cwnd, retransmits, bytes, memory, timer
    #[arg(short = 'i', long)]
    pub info: bool,
    #[command(flatten)]
    pub owners: OwnerArgs,
    #[command(flatten)]
    pub namespaces: NamespaceArgs,
    /// Only the pids of the holders, one per line (lsof -t): `| xargs kill`
    #[arg(long, conflicts_with_all = ["json", "info"])]
    pub pids: bool,
}

const TCP_LISTEN_EXAMPLES: &str = "\
Examples:
  portscope tcp listen 0                     a kernel-chosen port on 0.0.0.0; prints it
  portscope tcp listen 127.0.0.1:7788 --reply 'thank you !'
  portscope tcp listen [::]:8080 --echo --once
  echo hello | portscope tcp listen 7788     stdin goes to each peer (nc style)

Event lines go to stderr, received data to stdout; with --json, one event object per line on
stdout. Ctrl-C closes every socket and exits 130.";

const TCP_CONNECT_EXAMPLES: &str = "\
Examples:
  portscope tcp connect 127.0.0.1:7788                    stdin to the peer, the peer to stdout
  portscope tcp connect localhost:8080 --hold 30s         a long connection
  portscope tcp connect 127.0.0.1:7788 --count 5 --interval 200ms   five short ones
  portscope tcp connect 127.0.0.1:7788 --linger0          close with RST: no TIME_WAIT
  portscope tcp connect example.test:80 --source 10.0.0.5 --bind-no-port

Exit status 1 when the connection is refused, times out or the network is unreachable.";

const UDP_EXAMPLES: &str = "\
Examples:
  portscope udp recv 127.0.0.1:9999 --reply 'thank you !'
  portscope udp send 127.0.0.1:9999 hello --wait 500ms
  printf 'a\\nb\\n' | portscope udp send 127.0.0.1:9999       one datagram per line";

#[derive(Debug, Subcommand)]
pub enum TcpCommand {
    /// Bind, listen and serve connections, reporting every step and TCP state
    #[command(after_help = TCP_LISTEN_EXAMPLES)]
    Listen(TcpListenArgs),
    /// Connect, relay stdin and stdout, and follow the connection to its end
    #[command(after_help = TCP_CONNECT_EXAMPLES)]
    Connect(TcpConnectArgs),
}

#[derive(Debug, Subcommand)]
pub enum UdpCommand {
    /// Bind and print each datagram with its sender
    #[command(after_help = UDP_EXAMPLES)]
    Recv(UdpRecvArgs),
    /// Send TEXT, or each line of stdin, and report the port the kernel assigned
    #[command(after_help = UDP_EXAMPLES)]
    Send(UdpSendArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingName {
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    Gbk,
    #[value(alias = "iso-8859-1")]
    Latin1,
    Hex,
}

/// Options every test endpoint takes.
#[derive(Debug, Clone, Args)]
pub struct EndpointArgs {
    /// Use IPv4 only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Set SO_REUSEADDR before binding
    #[arg(long)]
    pub reuseaddr: bool,
    /// Set SO_REUSEPORT before binding
    #[arg(long)]
    pub reuseport: bool,
    /// How to show received bytes [default: utf-8; raw bytes when stdout is not a terminal]
    #[arg(long, value_enum)]
    pub encoding: Option<EncodingName>,
    /// One JSON event object per line on stdout (received data in the events' "data")
    #[arg(long)]
    pub json: bool,
    /// Data only: no event lines
    #[arg(short = 'q', long, conflicts_with = "json")]
    pub quiet: bool,
}

/// Options of the TCP endpoints only (UDP has no Nagle delay and no closing states).
#[derive(Debug, Clone, Args)]
pub struct TcpEndpointArgs {
    /// Set TCP_NODELAY (no Nagle delay)
    #[arg(long)]
    pub nodelay: bool,
    /// After a close, follow the socket in the kernel's table this long (500ms, 2s, 1m; a bare
    /// number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration::parse)]
    pub follow: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct TcpListenArgs {
    /// Where to listen: PORT, ADDR:PORT, [ADDR6]:PORT, or ADDR PORT as nc -l takes it; port 0
    /// lets the kernel choose
    #[arg(value_name = "[ADDR:]PORT")]
    pub addr: String,
    /// The port, when ADDR came alone (nc's order: ADDR PORT)
    #[arg(value_name = "PORT")]
    pub port: Option<String>,
    /// Length of the accept queue (listen's backlog)
    #[arg(long, default_value_t = 128)]
    pub backlog: i32,
    /// Exit after the first connection ends
    #[arg(long)]
    pub once: bool,
    /// Send every received byte back
    #[arg(long, conflicts_with = "reply")]
    pub echo: bool,
    /// Answer each received message with TEXT
    #[arg(long, value_name = "TEXT")]
    pub reply: Option<String>,
    #[command(flatten)]
    pub tcp: TcpEndpointArgs,
    #[command(flatten)]
    pub common: EndpointArgs,
}

#[derive(Debug, Clone, Args)]
pub struct TcpConnectArgs {
    /// Where to connect: HOST:PORT, [ADDR6]:PORT, or HOST PORT as nc takes it
    #[arg(value_name = "HOST[:PORT]")]
    pub target: String,
    /// The port, when HOST came alone (nc's order: HOST PORT)
    #[arg(value_name = "PORT")]
    pub port: Option<String>,
    /// Bind to ADDR[:PORT] before connecting (no port: the kernel picks one at bind time)
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub source: Option<String>,
    /// With --source: IP_BIND_ADDRESS_NO_PORT, so the port is picked at connect() instead
    #[arg(long)]
    pub bind_no_port: bool,
    /// IP_LOCAL_PORT_RANGE: pick the ephemeral port from LO-HI (Linux 6.3 and later)
    #[arg(long, value_name = "LO-HI")]
    pub port_range: Option<String>,
    /// Give up connecting after this long, 1ms at least (500ms, 5s; a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration::answer)]
    pub timeout: Duration,
    /// Close with SO_LINGER 0: the kernel sends RST and keeps no TIME_WAIT
    #[arg(long)]
    pub linger0: bool,
    /// Keep the connection open this long, then close it: a long connection (30s, 2m; a bare
    /// number is seconds)
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub hold: Option<Duration>,
    /// Make N connections in a row (short connections), each with its own port
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u32,
    /// Pause between connections of --count (200ms, 1s; a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration::parse)]
    pub interval: Duration,
    #[command(flatten)]
    pub tcp: TcpEndpointArgs,
    #[command(flatten)]
    pub common: EndpointArgs,
}

#[derive(Debug, Clone, Args)]
pub struct UdpRecvArgs {
    /// Where to bind: PORT, ADDR:PORT, [ADDR6]:PORT, or ADDR PORT as nc -lu takes it; port 0
    /// lets the kernel choose
    #[arg(value_name = "[ADDR:]PORT")]
    pub addr: String,
    /// The port, when ADDR came alone (nc's order: ADDR PORT)
    #[arg(value_name = "PORT")]
    pub port: Option<String>,
    /// Send every datagram back to its sender
    #[arg(long, conflicts_with = "reply")]
    pub echo: bool,
    /// Answer each datagram with TEXT
    #[arg(long, value_name = "TEXT")]
    pub reply: Option<String>,
    /// Exit after N datagrams
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    #[command(flatten)]
    pub common: EndpointArgs,
}

#[derive(Debug, Clone, Args)]
pub struct UdpSendArgs {
    /// Where to send: HOST:PORT, [ADDR6]:PORT, or HOST PORT as nc -u takes it
    #[arg(value_name = "HOST[:PORT]")]
    pub target: String,
    /// The port when HOST came alone (nc's order), then what to send (any bytes); without
    /// TEXT, each line of stdin is one datagram
    #[arg(value_name = "[PORT] [TEXT]", num_args = 0..)]
    pub rest: Vec<std::ffi::OsString>,
    /// After each datagram, wait this long for a reply or an ICMP error (200ms, 1s; a bare
    /// number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = duration::parse)]
    pub wait: Duration,
    /// Bind to ADDR[:PORT] before sending
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub source: Option<String>,
    #[command(flatten)]
    pub common: EndpointArgs,
}

const PROBE_EXAMPLES: &str = "\
Examples:
  portscope probe localhost 22,80,443
  portscope probe db.example 5432 --count 0            tcping: until Ctrl-C, with RTT statistics
  portscope probe 127.0.0.1 1-65535 --open              a sweep; only open ports shown
  portscope probe 10.0.0.53 53 --udp                    DNS gets a real query
  portscope probe host 8000-8010 --json

Statuses: open (handshake completed / UDP reply), closed (RST / ICMP port unreachable),
filtered (no answer in time, or an ICMP 'prohibited'), unreachable (no route to the host),
error. For UDP, silence cannot tell an open port that ignored the probe from a firewall that
dropped it: that is open|filtered, never just 'open' as nc -zu would say.
Exit status: 0 when every probed port is open, 1 otherwise, 2 on a bad argument or unknown host.";

#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// A host name or an address (every address it resolves to is probed; see -4/-6), or
    /// HOST:PORTS, [ADDR6]:PORTS
    #[arg(value_name = "HOST[:PORTS]")]
    pub host: String,
    /// Ports: 22 | 22,80,443 | 8000-8100 | service names (ssh,http) | mixtures
    #[arg(value_name = "PORTS")]
    pub ports: Option<String>,
    /// Probe UDP instead of TCP
    #[arg(long)]
    pub udp: bool,
    /// How long to wait for an answer, per probe, 1ms at least (300ms, 2s; a bare number is
    /// seconds)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration::answer)]
    pub timeout: Duration,
    /// Probes in flight at once [default: from the open-files limit]
    #[arg(long, value_name = "N")]
    pub parallel: Option<usize>,
    /// Show only open ports
    #[arg(long)]
    pub open: bool,
    /// Probe N times (0: until Ctrl-C) and print RTT min/avg/max and loss
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u64,
    /// Pause between rounds of --count (200ms, 1s; a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration::parse)]
    pub interval: Duration,
    /// UDP payload: TEXT, or hex:48656c6c6f [default: empty, or a real query on 53 and 123]
    #[arg(long, value_name = "TEXT|hex:HEX")]
    pub payload: Option<String>,

    /// Probes started per second at most. UDP sweeps default to the rate the target's ICMP
    /// limits answer at (net.ipv4.icmp_ratelimit, read where the target lives when it is on
    /// this machine); faster, silent ports are marked unreliable
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// IPv4 addresses only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// IPv6 addresses only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// A JSON array of results (schema: docs/json.md)
    #[arg(long)]
    pub json: bool,
}

const EPHEMERAL_EXAMPLES: &str = "\
Examples:
  portscope ephemeral                       the range, ports in use, the busiest destinations
  portscope ephemeral --watch 2s            refresh every 2 s until Ctrl-C
  portscope ephemeral sample --connect 200  how connect() picks ports on this kernel
  portscope ephemeral sample --bind 200     and bind(0)
  portscope ephemeral sample --bind 200 --bind-no-port
  portscope ephemeral sample --connect 100 --port-range 50000-50099";

const WHY_BIND_EXAMPLES: &str = "\
Examples:
  portscope why-bind 8080                   0.0.0.0:8080/tcp
  portscope why-bind 127.0.0.1:5353 --udp
  portscope why-bind [::]:443

Exit status 0 when a plain bind succeeds, 1 when it fails.";

#[derive(Debug, Clone, Args)]
pub struct EphemeralArgs {
    #[command(subcommand)]
    pub command: Option<EphemeralCommand>,
    /// Print the report as one JSON object (one per refresh with --watch)
    #[arg(long)]
    pub json: bool,
    /// Refresh in place at this interval until Ctrl-C (500ms, 5s; a bare number is seconds)
    /// [default: 2s]
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "2s",
          value_parser = duration::parse)]
    pub watch: Option<Duration>,
    #[command(flatten)]
    pub namespace: NetnsArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum EphemeralCommand {
    /// Open N sockets on loopback, keep them, and show which ports the kernel chose
    #[command(after_help = EPHEMERAL_EXAMPLES)]
    Sample(SampleArgs),
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("method").required(true).args(["connect", "bind", "udp"])))]
pub struct SampleArgs {
    /// N connect() calls to a loopback listener (the port is chosen at connect)
    #[arg(long, value_name = "N")]
    pub connect: Option<usize>,
    /// N bind(port 0) calls (the port is chosen at bind)
    #[arg(long, value_name = "N")]
    pub bind: Option<usize>,
    /// N unconnected UDP sockets, each sending one datagram (the port is chosen at the send)
    #[arg(long, value_name = "N")]
    pub udp: Option<usize>,
    /// With --bind or --connect: bind(127.0.0.1:0) with IP_BIND_ADDRESS_NO_PORT, then connect()
    #[arg(long)]
    pub bind_no_port: bool,
    /// IP_LOCAL_PORT_RANGE on every socket: choose from LO-HI (Linux 6.3+)
    #[arg(long, value_name = "LO-HI")]
    pub port_range: Option<String>,
    /// Print method, ports (in order), even, odd as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct WhyBindArgs {
    /// PORT (on 0.0.0.0, or [::] with -6), ADDR:PORT, [ADDR6]:PORT or ADDR PORT
    #[arg(value_name = "[ADDR:]PORT")]
    pub addr: String,
    /// The port, when ADDR came alone
    #[arg(value_name = "PORT")]
    pub port: Option<String>,
    /// A UDP bind instead of TCP
    #[arg(long)]
    pub udp: bool,
    /// Without an address, bind [::] instead of 0.0.0.0
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Print the findings as one JSON object
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub namespace: NetnsArgs,
}

const LIFECYCLE_EXAMPLES: &str = "\
Examples:
  portscope lifecycle                     handshake, data, the four-way close (client first),
                                          then a backlog overflow
  portscope lifecycle --step              wait for Enter between steps
  portscope lifecycle --close server-first
  portscope lifecycle --close rst         SO_LINGER 0: RST, no TIME_WAIT
  portscope lifecycle --close half-close  shutdown(SHUT_WR) while data still flows back
  portscope lifecycle --json";

const BENCH_EXAMPLES: &str = "\
Examples:
  portscope bench                          10,000 requests, short then long
  portscope bench --requests 2000 --size 1024 --concurrency 4
  portscope bench --json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloseKind {
    /// The client closes first (it ends in TIME_WAIT)
    ClientFirst,
    /// The server closes first (it ends in TIME_WAIT)
    ServerFirst,
    /// The client closes with SO_LINGER 0: RST, no TIME_WAIT, the server gets ECONNRESET
    Rst,
    /// The client shuts down its sending side and keeps receiving
    HalfClose,
}

#[derive(Debug, Clone, Args)]
pub struct LifecycleArgs {
    /// How the connection ends
    #[arg(long, value_enum, default_value_t = CloseKind::ClientFirst)]
    pub close: CloseKind,
    /// Leave out the backlog-overflow step
    #[arg(long)]
    pub no_overflow: bool,
    /// Wait for Enter between steps
    #[arg(long, conflicts_with = "json")]
    pub step: bool,
    /// Also show the TCP segments of each step (root: the lab runs in a private network
    /// namespace and captures on its loopback)
    #[arg(long)]
    pub packets: bool,
    /// Print the steps as a JSON array
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Request/response exchanges in each run
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub requests: usize,
    /// Bytes in each request and each response
    #[arg(long, value_name = "BYTES", default_value_t = 64,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=16 << 20))]
    pub size: usize,
    /// Clients at once (a thread each)
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub concurrency: usize,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
}

const WATCH_EXAMPLES: &str = "\
Examples:
  portscope watch                      live table; q quits, p pauses, s changes the sort
  portscope watch -t --port 8080       only sockets on port 8080
  portscope watch --json               one JSON object per change, one per line
  portscope watch --state syn-sent,time-wait --interval 200ms | tee events.jsonl
  portscope watch -t --rates           bytes per second per process and connection
  portscope watch --all-netns          every network namespace (those present at start)

Sockets present when watch starts form the baseline: only changes after it are reported.";

const WAIT_EXAMPLES: &str = "\
Examples:
  portscope wait 8080 && curl localhost:8080      block until something listens on 8080
  portscope wait db:5432 --timeout 1m            until db:5432 accepts connections
  portscope wait 8080 --free                      until a bind of 0.0.0.0:8080 succeeds
  portscope wait 8080 --free --reuseaddr          the same for a server setting SO_REUSEADDR

Exit status 0 when the condition holds, 1 on timeout, 130 on Ctrl-C.";

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Time between looks at the table, 50ms at least (200ms, 2s; a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration::parse)]
    pub interval: Duration,
    /// One JSON object per change on stdout (also the default when stdout is not a terminal)
    #[arg(long)]
    pub json: bool,
    /// Bytes per second in and out per connection and per process, from tcp_info's byte
    /// counters between looks (a `rates` event per look in JSON; the busiest on the screen)
    #[arg(long)]
    pub rates: bool,
    /// Initial sort order of the table (s cycles through them)
    #[arg(long, value_enum)]
    pub sort: Option<SortKey>,
    #[command(flatten)]
    pub namespaces: NamespaceArgs,
}

const STATS_EXAMPLES: &str = "\
Examples:
  portscope stats                     totals since boot (or since the namespace was made)
  portscope stats --interval 1s       per second, every second, until Ctrl-C
  portscope stats --interval 5s --count 1 --json

Counters come from /proc/net/snmp, /proc/net/netstat and /proc/net/sockstat{,6}; limits from
/proc/sys/net/ipv4 (tcp_mem, tcp_max_orphans, tcp_max_tw_buckets).";

const DOCTOR_EXAMPLES: &str = "\
Examples:
  portscope doctor                    every socket and the kernel's counters
  portscope doctor 8080               sockets whose local or remote port is 8080
  portscope doctor 80,443             … is 80 or 443
  portscope doctor --pid 4242 --json

It looks twice, --interval apart, so that counters show what happens now. Findings: full
accept queues, CLOSE_WAIT leaks per process, TIME_WAIT and ephemeral-port exhaustion per
destination, retransmitting connections, zero windows, send-buffer limits, memory pressure and
orphans, SYN floods, UDP receive-buffer drops. docs/doctor.md shows each.
Exit status 0 when nothing is wrong, 1 when a finding is a warning or worse.";

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Only sockets whose local or remote port is one of PORTS (8080, http, 8080,8443,
    /// 9000-9002)
    #[arg(value_name = "PORTS")]
    pub port: Option<String>,
    /// Only sockets this process holds
    #[arg(long)]
    pub pid: Option<u32>,
    /// Time between the two looks (500ms, 2s; a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration::parse)]
    pub interval: Duration,
    /// One JSON object with every finding (schema: docs/json.md)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    /// Look again at this interval, 50ms at least, and show each counter's change per second
    /// (500ms, 5s; a bare number is seconds)
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub interval: Option<Duration>,
    /// With --interval: stop after N reports [default: until Ctrl-C]
    #[arg(long, value_name = "N", requires = "interval")]
    pub count: Option<u64>,
    /// One JSON object per report, one per line (schema: docs/json.md)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    /// Ports here (8080, http, 8080,8443, 9000-9002: every one of them), or a remote
    /// HOST:PORTS, [ADDR6]:PORTS, or HOST PORTS as nc takes it (checked by connecting)
    #[arg(value_name = "[HOST:]PORTS")]
    pub target: String,
    /// The ports, when HOST came alone (nc's order: HOST PORTS)
    #[arg(value_name = "PORTS")]
    pub ports: Option<String>,
    /// Wait until HOST accepts connections on the ports (as HOST:PORTS does)
    #[arg(long, value_name = "HOST", conflicts_with_all = ["free", "ports"])]
    pub host: Option<String>,
    /// Give up after this long, 0 for never (500ms, 30s, 2m; a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration::parse)]
    pub timeout: Duration,
    /// Wait until the ports are free instead: nothing holds them (closed connections aside:
    /// TIME_WAIT, orphans) and a real trial bind of 0.0.0.0:PORT (and listen, for TCP)
    /// succeeds, so a TIME_WAIT entry counts as it will for your program
    #[arg(long)]
    pub free: bool,
    /// With --free: the trial bind sets SO_REUSEADDR, as a server that sets it will
    #[arg(long, requires = "free")]
    pub reuseaddr: bool,
    /// A UDP port: bound rather than listening
    #[arg(long, conflicts_with = "host")]
    pub udp: bool,
    #[command(flatten)]
    pub namespace: NetnsArgs,
}

const KILL_EXAMPLES: &str = "\
Examples:
  portscope kill 3000                     every process holding port 3000: listed, asked, SIGTERM
  portscope kill 3000 --dry-run           only list what would be signalled
  portscope kill 8080 8443 --yes --timeout 10s --escalate   SIGKILL what is left after 10 s
  portscope kill 5353 --udp --signal HUP
  portscope kill --destroy 127.0.0.1:8080 127.0.0.1:40312   reset one connection (ss -K)
  portscope kill --destroy --dport 443 --state established --yes

kill never signals pid 1, itself, the shell that started it, or kernel threads; when any
holder cannot be signalled (one of those, or another user's process), it signals none, since
the port would stay held. Processes are signalled through pidfds, so a pid reused since the
lookup is never hit. On a terminal it asks once before acting; in a pipe it needs --yes or
--dry-run. Exit status: 0 the port is free (every connection reset), 1 nothing held it,
2 an error, a refusal, or the port still held after --timeout.";

const EXPORTER_EXAMPLES: &str = "\
Examples:
  portscope exporter                          http://127.0.0.1:9917/metrics (loopback only)
  portscope exporter --listen 0.0.0.0:9917    reachable from other hosts (e.g. Prometheus)
  portscope exporter --interval 15s           look every 15 s; scrapes get the last look
  portscope exporter --probe db.internal:5432 --probe 10.0.0.7:443
  portscope exporter --textfile /var/lib/node_exporter/textfile/portscope.prom
  portscope exporter --once                   the metrics once, on stdout

Metrics and alert examples: docs/exporter.md. Ends on SIGTERM (143) or Ctrl-C (130).";

#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    /// Ports to free (numbers, service names, lists such as 8000-8010); with --destroy, an
    /// optional connection as LOCAL REMOTE (ADDR:PORT ADDR:PORT)
    #[arg(value_name = "PORT|CONN")]
    pub targets: Vec<String>,
    /// Close connections (sock_diag SOCK_DESTROY, like ss -K) instead of signalling
    /// processes: the one named, or those the filters select
    #[arg(long)]
    pub destroy: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub namespace: NetnsArgs,
    /// The signal to send: TERM, INT, HUP, KILL, QUIT, USR1, USR2, … or its number
    #[arg(
        long,
        value_name = "NAME",
        default_value = "TERM",
        conflicts_with = "destroy"
    )]
    pub signal: String,
    /// How long to wait for the port to be free after the signal (500ms, 10s; a bare number
    /// is seconds)
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5s",
        value_parser = duration::parse,
        conflicts_with = "destroy"
    )]
    pub timeout: Duration,
    /// Send SIGKILL to the processes still running when --timeout passes, and wait again
    #[arg(long, conflicts_with = "destroy")]
    pub escalate: bool,
    /// List what would be signalled (or reset), and do nothing
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Act without asking (needed when stdin is not a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Print the targets and the outcome for each as one JSON object (docs/json.md)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExporterArgs {
    /// Serve /metrics on ADDR:PORT [default: 127.0.0.1:9917; port 0: the kernel chooses]
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Write the metrics to PATH every interval, atomically (node_exporter's textfile
    /// collector); without --listen, no HTTP server is started
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<std::path::PathBuf>,
    /// Look at the host at this interval, 100ms at least, and serve the last look (15s, 1m; a
    /// bare number is seconds) [default: at every scrape; 15s with --textfile]
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub interval: Option<Duration>,
    /// Look once, write the metrics (to --textfile, else stdout) and exit
    #[arg(long, conflicts_with_all = ["listen", "interval"])]
    pub once: bool,
    /// Probe HOST:PORT (TCP) at every look: probe_success and probe_duration_seconds
    #[arg(long, value_name = "HOST:PORT")]
    pub probe: Vec<String>,
    /// Give up on a --probe target after this long, 1ms to 1m (500ms, 2s; a bare number is
    /// seconds)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration::parse)]
    pub probe_timeout: Duration,
    /// Destinations shown in the per-destination metrics (the busiest first)
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=1000))]
    pub top: usize,
    /// Listening ports shown one by one; the rest are summed under port="other"
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub max_ports: usize,
    /// Scrapes answered at once; more wait their turn
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub max_clients: usize,
    /// How long a client has to send its request and to take the answer, 100ms at least (10s;
    /// a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration::parse)]
    pub client_timeout: Duration,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every flag whose value is a time, by its long name.
    const DURATION_FLAGS: [&str; 8] = [
        "timeout",
        "interval",
        "follow",
        "hold",
        "wait",
        "watch",
        "probe-timeout",
        "client-timeout",
    ];

    /// Every subcommand, depth first, with its path (`tcp connect`).
    fn commands(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands() {
            let path = format!("{path} {}", sub.get_name()).trim().to_string();
            out.push((path.clone(), sub.clone()));
            commands(sub, path, out);
        }
    }

    #[test]
    fn every_duration_flag_takes_units_and_says_a_bare_number_is_seconds() {
        let mut all = Vec::new();
        commands(&Cli::command(), String::new(), &mut all);
        let mut seen = 0;
        for (path, cmd) in &all {
            for arg in cmd.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                let named = arg
                    .get_value_names()
                    .is_some_and(|names| names.iter().any(|n| n == "DURATION"));
                assert_eq!(
                    named,
                    DURATION_FLAGS.contains(&long),
                    "{path} --{long}: a time flag takes a DURATION, nothing else does"
                );
                if named {
                    seen += 1;
                    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                    assert!(
                        help.contains("a bare number is seconds"),
                        "{path} --{long}: {help}"
                    );
                }
            }
        }
        assert!(seen >= 14, "{seen} duration flags");
    }
}
