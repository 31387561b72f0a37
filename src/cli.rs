//! The command line, as clap derive types only.
//!
//! This file imports nothing from the crate, so completions and the man page can be generated
//! from it alone; everything here is turned into a `Query` (or a command's config) elsewhere.

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// A number of seconds: finite, not negative, at most a day (longer waits are Ctrl-C's job).
fn seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if (0.0..=86_400.0).contains(&secs) => Ok(secs),
        _ => Err("expected seconds from 0 to 86400, like 0.5 or 30".to_string()),
    }
}

const EXAMPLES: &str = "\
Examples:
  portscope                      every TCP and UDP socket with its owner (same as `portscope ls`)
  portscope -tl                  TCP listeners
  portscope ls --state time-wait --json
  portscope ls --port 8080       sockets whose local or remote port is 8080
  portscope ls -s                counts by protocol and state
  portscope who 8080             who holds port 8080, in any state
  portscope completions bash > /etc/bash_completion.d/portscope";

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
    /// List TCP and UDP sockets with state, queues and owning process (netstat -anp, ss -tunap)
    #[command(after_help = EXAMPLES)]
    Ls(LsArgs),
    /// Who holds a port: every socket on it, any state, TCP and UDP, with process and command
    #[command(
        after_help = "Examples:\n  portscope who 8080\n  portscope who ssh --json\n\nExit status is 1 when nothing holds the port."
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
    /// Serve the socket table as Prometheus metrics (/metrics), or write it for node_exporter
    #[command(after_help = EXPORTER_EXAMPLES)]
    Exporter(ExporterArgs),
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
    /// Print the man page (roff) to stdout
    #[command(after_help = "Example:\n  portscope man > /usr/local/share/man/man1/portscope.1")]
    Man,
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
    /// Sockets that carry IPv4 only: IPv4 ones, and IPv6 ones on [::] without IPV6_V6ONLY
    /// (tcp46/udp46) or with an IPv4-mapped address
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,
    /// IPv6 sockets only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Listening sockets only: TCP LISTEN and unconnected UDP
    #[arg(short = 'l', long)]
    pub listening: bool,
    /// States to show, comma separated, any case: established,time-wait,listen,unconn,…
    #[arg(long, value_delimiter = ',', value_name = "STATE[,STATE]")]
    pub state: Vec<String>,
    /// Local or remote port (a number or a service name such as ssh)
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,
    /// Local (source) port
    #[arg(long, value_name = "PORT")]
    pub sport: Option<String>,
    /// Remote (destination) port
    #[arg(long, value_name = "PORT")]
    pub dport: Option<String>,
    /// Sockets held by this process id
    #[arg(long)]
    pub pid: Option<u32>,
    /// Sockets held by a process whose name contains NAME
    #[arg(long, value_name = "NAME")]
    pub process: Option<String>,
    /// Sockets owned by this user (name or uid)
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
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
    #[arg(long, conflicts_with_all = ["pid", "process", "all_owners"])]
    pub no_owners: bool,
    /// Scan every process even when a few sockets are wanted, to find every holder of a shared socket
    #[arg(long)]
    pub all_owners: bool,
}

#[derive(Debug, Clone, Args)]
pub struct WhoArgs {
    /// The port: a number or a service name (http, ssh)
    pub port: String,
    /// TCP only
    #[arg(short = 't', long)]
    pub tcp: bool,
    /// UDP only
    #[arg(short = 'u', long)]
    pub udp: bool,
    /// Print the sockets as a JSON array in the `ls --json` schema
    #[arg(long)]
    pub json: bool,
    /// Scan every process, to find every holder of a shared socket
    #[arg(long)]
    pub all_owners: bool,
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
  portscope tcp connect localhost:8080 --hold 30          a long connection
  portscope tcp connect 127.0.0.1:7788 --count 5 --interval 200   five short ones
  portscope tcp connect 127.0.0.1:7788 --linger0          close with RST: no TIME_WAIT
  portscope tcp connect example.test:80 --source 10.0.0.5 --bind-no-port

Exit status 1 when the connection is refused, times out or the network is unreachable.";

const UDP_EXAMPLES: &str = "\
Examples:
  portscope udp recv 127.0.0.1:9999 --reply 'thank you !'
  portscope udp send 127.0.0.1:9999 hello --wait 500
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
    /// Set TCP_NODELAY (no Nagle delay)
    #[arg(long)]
    pub nodelay: bool,
    /// How to show received bytes [default: utf-8; raw bytes when stdout is not a terminal]
    #[arg(long, value_enum)]
    pub encoding: Option<EncodingName>,
    /// One JSON event object per line on stdout (received data in the events' "data")
    #[arg(long)]
    pub json: bool,
    /// Data only: no event lines
    #[arg(short = 'q', long, conflicts_with = "json")]
    pub quiet: bool,
    /// After a close, follow the socket in the kernel's table for up to MS milliseconds
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub follow: u64,
}

#[derive(Debug, Clone, Args)]
pub struct TcpListenArgs {
    /// Where to listen: PORT, ADDR:PORT or [ADDR6]:PORT; port 0 lets the kernel choose
    pub addr: String,
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
    pub common: EndpointArgs,
}

#[derive(Debug, Clone, Args)]
pub struct TcpConnectArgs {
    /// Where to connect: HOST:PORT or [ADDR6]:PORT
    pub target: String,
    /// Bind to ADDR[:PORT] before connecting (no port: the kernel picks one at bind time)
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub source: Option<String>,
    /// With --source: IP_BIND_ADDRESS_NO_PORT, so the port is picked at connect() instead
    #[arg(long)]
    pub bind_no_port: bool,
    /// IP_LOCAL_PORT_RANGE: pick the ephemeral port from LO-HI (Linux 6.3 and later)
    #[arg(long, value_name = "LO-HI")]
    pub port_range: Option<String>,
    /// Give up connecting after MS milliseconds
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub timeout: u64,
    /// Close with SO_LINGER 0: the kernel sends RST and keeps no TIME_WAIT
    #[arg(long)]
    pub linger0: bool,
    /// Keep the connection open SECS seconds, then close it (a long connection)
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub hold: Option<f64>,
    /// Make N connections in a row (short connections), each with its own port
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u32,
    /// Pause between connections of --count
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub interval: u64,
    #[command(flatten)]
    pub common: EndpointArgs,
}

#[derive(Debug, Clone, Args)]
pub struct UdpRecvArgs {
    /// Where to bind: PORT, ADDR:PORT or [ADDR6]:PORT; port 0 lets the kernel choose
    pub addr: String,
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
    /// Where to send: HOST:PORT or [ADDR6]:PORT
    pub target: String,
    /// What to send (any bytes); without it, each line of stdin is one datagram
    pub text: Option<std::ffi::OsString>,
    /// After each datagram, wait up to MS milliseconds for a reply or an ICMP error
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub wait: u64,
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
    /// A host name or an address; every address it resolves to is probed (see -4/-6)
    pub host: String,
    /// Ports: 22 | 22,80,443 | 8000-8100 | service names (ssh,http) | mixtures
    pub ports: String,
    /// Probe UDP instead of TCP
    #[arg(long)]
    pub udp: bool,
    /// How long to wait for an answer, per probe
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub timeout: u64,
    /// Probes in flight at once [default: from the open-files limit]
    #[arg(long, value_name = "N")]
    pub parallel: Option<usize>,
    /// Show only open ports
    #[arg(long)]
    pub open: bool,
    /// Probe N times (0: until Ctrl-C) and print RTT min/avg/max and loss
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u64,
    /// Pause between rounds of --count
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub interval: u64,
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
  portscope ephemeral --watch 2             refresh every 2 s until Ctrl-C
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
    /// Refresh in place every SECS seconds [default: 2] until Ctrl-C
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "2", value_parser = seconds)]
    pub watch: Option<f64>,
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
    /// PORT (on 0.0.0.0, or [::] with -6), ADDR:PORT or [ADDR6]:PORT
    pub addr: String,
    /// A UDP bind instead of TCP
    #[arg(long)]
    pub udp: bool,
    /// Without an address, bind [::] instead of 0.0.0.0
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Print the findings as one JSON object
    #[arg(long)]
    pub json: bool,
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
  portscope watch --state syn-sent,time-wait --interval 0.2 | tee events.jsonl

Sockets present when watch starts form the baseline: only changes after it are reported.";

const WAIT_EXAMPLES: &str = "\
Examples:
  portscope wait 8080 && curl localhost:8080      block until something listens on 8080
  portscope wait 5432 --host db --timeout 60      until db:5432 accepts connections
  portscope wait 8080 --free                      until a bind of 0.0.0.0:8080 succeeds
  portscope wait 8080 --free --reuseaddr          the same for a server setting SO_REUSEADDR

Exit status 0 when the condition holds, 1 on timeout, 130 on Ctrl-C.";

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Seconds between looks at the table (0.05 at least)
    #[arg(long, value_name = "SECS", default_value_t = 1.0, value_parser = seconds)]
    pub interval: f64,
    /// One JSON object per change on stdout (also the default when stdout is not a terminal)
    #[arg(long)]
    pub json: bool,
    /// Initial sort order of the table (s cycles through them)
    #[arg(long, value_enum)]
    pub sort: Option<SortKey>,
}

#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    /// The port: a number or a service name
    pub port: String,
    /// Wait until HOST accepts connections on the port (checked by connecting)
    #[arg(long, value_name = "HOST", conflicts_with = "free")]
    pub host: Option<String>,
    /// Give up after SECS seconds (0: never)
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = seconds)]
    pub timeout: f64,
    /// Wait until a bind of the port (0.0.0.0, and listen for TCP) succeeds instead: a real
    /// trial bind, so a TIME_WAIT entry counts as it will for your program
    #[arg(long)]
    pub free: bool,
    /// With --free: the trial bind sets SO_REUSEADDR, as a server that sets it will
    #[arg(long, requires = "free")]
    pub reuseaddr: bool,
    /// A UDP port: bound rather than listening
    #[arg(long, conflicts_with = "host")]
    pub udp: bool,
}

const EXPORTER_EXAMPLES: &str = "\
Examples:
  portscope exporter                          http://127.0.0.1:9917/metrics (loopback only)
  portscope exporter --listen 0.0.0.0:9917    reachable from other hosts (e.g. Prometheus)
  portscope exporter --interval 15            look every 15 s; scrapes get the last look
  portscope exporter --probe db.internal:5432 --probe 10.0.0.7:443
  portscope exporter --textfile /var/lib/node_exporter/textfile/portscope.prom
  portscope exporter --once                   the metrics once, on stdout

Metrics and alert examples: docs/exporter.md. Ends on SIGTERM (143) or Ctrl-C (130).";

#[derive(Debug, Clone, Args)]
pub struct ExporterArgs {
    /// Serve /metrics on ADDR:PORT [default: 127.0.0.1:9917; port 0: the kernel chooses]
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Write the metrics to PATH every interval, atomically (node_exporter's textfile
    /// collector); without --listen, no HTTP server is started
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<std::path::PathBuf>,
    /// Look at the host every SECS seconds and serve the last look [default: at every scrape;
    /// 15 with --textfile]
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub interval: Option<f64>,
    /// Look once, write the metrics (to --textfile, else stdout) and exit
    #[arg(long, conflicts_with_all = ["listen", "interval"])]
    pub once: bool,
    /// Probe HOST:PORT (TCP) at every look: probe_success and probe_duration_seconds
    #[arg(long, value_name = "HOST:PORT")]
    pub probe: Vec<String>,
    /// Give up on a --probe target after MS milliseconds
    #[arg(long, value_name = "MS", default_value_t = 1000,
          value_parser = RangedU64ValueParser::<u64>::new().range(1..=60_000))]
    pub probe_timeout: u64,
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
    /// Seconds a client has to send its request and to take the answer
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = seconds)]
    pub client_timeout: f64,
}
