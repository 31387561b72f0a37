//! The command line, as clap derive types only.
//!
//! This file imports nothing from the crate, so completions and the man page can be generated
//! from it alone; everything here is turned into a `Query` (or a command's config) elsewhere.

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// IPv4 sockets only
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
