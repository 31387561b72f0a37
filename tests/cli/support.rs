//! Shared test helpers: running the binary, reading its JSON strictly, private namespaces.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use serde::Deserialize;

/// The binary under test: this build, or another one named by `PORTSCOPE_BIN` (to check that
/// a test fails on an older build).
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("PORTSCOPE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_portscope").into())
    })
}

pub fn portscope(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args).env("NO_COLOR", "1");
    cmd
}

/// The shell line that sets `limit` (`-n 64`, `-v 200000`: ulimit's flags) and then becomes
/// portscope, so the limit is that child's alone.
fn limited(limit: &str) -> [String; 3] {
    [
        "-c".into(),
        format!("ulimit {limit} && exec \"$0\" \"$@\""),
        bin().into(),
    ]
}

/// portscope under a resource limit set by a child shell.
pub fn portscope_limited(limit: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(limited(limit)).args(args).env("NO_COLOR", "1");
    cmd
}

/// The `ls --json` schema. Unknown keys fail the test: a schema change must be deliberate.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonSocket {
    pub proto: String,
    pub family: String,
    pub dual_stack: bool,
    pub local_addr: String,
    pub local_port: u16,
    pub remote_addr: String,
    pub remote_port: u16,
    pub state: String,
    pub recv_q: u32,
    pub send_q: u32,
    pub uid: u32,
    pub inode: u32,
    pub processes: Vec<JsonProcess>,
    pub netns: Option<JsonNetns>,
    pub container: Option<JsonContainer>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonNetns {
    pub inode: u64,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonContainer {
    pub runtime: String,
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonProcess {
    pub pid: u32,
    pub name: String,
    pub user: Option<String>,
    pub cmdline: String,
}

impl JsonSocket {
    pub fn pids(&self) -> Vec<u32> {
        settled(self.processes.iter().map(|p| p.pid), self.inode)
    }
}

/// The holders of socket `inode` as a test can trust them. A child that another test forks
/// from this process (std's spawn, `forked::hold`) shares every descriptor for the instant
/// before it execs or closes them, and a scan that catches it names it as a holder, as `ss -p`
/// would. Such a child no longer holds the socket (or is gone) when the test looks, and is
/// left out; any other pid is kept, so a wrong holder still fails the test.
pub fn settled(pids: impl IntoIterator<Item = u32>, inode: u32) -> Vec<u32> {
    let me = std::process::id();
    let holds = |pid: u32| {
        let wanted = format!("socket:[{inode}]");
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == &*wanted))
        })
    };
    let parent = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = &stat[stat.rfind(')')? + 1..];
        after_name.split_whitespace().nth(1)?.parse::<u32>().ok()
    };
    pids.into_iter()
        .filter(|&pid| {
            pid == me || inode == 0 || parent(pid).is_some_and(|p| p != me) || holds(pid)
        })
        .collect()
}

/// A Unix socket in the `ls --json` array (docs/json.md). Unknown keys fail the test.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonUnix {
    pub proto: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub path: Option<String>,
    pub state: String,
    pub recv_q: u32,
    pub send_q: u32,
    pub uid: Option<u32>,
    pub inode: u32,
    pub peer_inode: u32,
    pub processes: Vec<JsonProcess>,
    pub peer_processes: Vec<JsonProcess>,
    pub netns: Option<JsonNetns>,
    pub container: Option<JsonContainer>,
}

impl JsonUnix {
    pub fn pids(&self) -> Vec<u32> {
        settled(self.processes.iter().map(|p| p.pid), self.inode)
    }

    pub fn peer_pids(&self) -> Vec<u32> {
        settled(self.peer_processes.iter().map(|p| p.pid), self.peer_inode)
    }
}

/// One element of an `ls --json` array that may hold both kinds.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum JsonRow {
    Ip(JsonSocket),
    Unix(JsonUnix),
}

/// Runs a command that prints `ls --json` output; exit 0 or 1 are both fine.
pub fn json_of(cmd: Command) -> Vec<JsonSocket> {
    json_rows(cmd)
}

/// `json_of` for any element type (`JsonUnix`, `JsonRow`).
pub fn json_rows<T: serde::de::DeserializeOwned>(mut cmd: Command) -> Vec<T> {
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A note means the kernel refused the sock_diag request and /proc/net was read instead:
    // never expected here (the fallback has its own test).
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("portscope: note:"), "{cmd:?}: {err}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// `--json` output of a run that may print notes (across namespaces: those that cannot be
/// entered or seen are counted there); exit 0 or 1.
pub fn json_with_notes<T: serde::de::DeserializeOwned>(out: &Output) -> Vec<T> {
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        stderr_of(out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stdout_of(out)))
}

pub fn ls_json(args: &[&str]) -> Vec<JsonSocket> {
    let mut all = vec!["ls", "--json"];
    all.extend_from_slice(args);
    json_of(portscope(&all))
}

pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Lets the child started by `cmd` inherit `fd`: close-on-exec is cleared in the child's own
/// descriptor table after the fork, so no other spawn inherits it.
pub fn inherit(cmd: &mut Command, fd: RawFd) {
    // SAFETY: fcntl is async-signal-safe and `fd` is open in the forked child.
    unsafe {
        cmd.pre_exec(move || match libc::fcntl(fd, libc::F_SETFD, 0) {
            -1 => Err(std::io::Error::last_os_error()),
            _ => Ok(()),
        });
    }
}

/// A loopback listener on a kernel-chosen port.
pub fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A TCP socket bound to a kernel-chosen loopback port, not listening yet.
pub fn bound_tcp(reuse_address: bool) -> socket2::Socket {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_reuse_address(reuse_address).unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any.into()).unwrap();
    socket
}

/// A listener whose accept queue is full (backlog 0, one connection waiting): the kernel
/// drops every further SYN, so a connect to it gets no answer. The listener, the queued
/// client, the address.
pub fn full_listener() -> (socket2::Socket, TcpStream, std::net::SocketAddr) {
    let full = bound_tcp(false);
    full.listen(0).unwrap();
    let addr = full.local_addr().unwrap().as_socket().unwrap();
    let queued = TcpStream::connect(addr).unwrap();
    (full, queued, addr)
}

/// A connected pair over loopback: (client, server side).
pub fn pair(l: &TcpListener) -> (TcpStream, TcpStream) {
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, _) = l.accept().unwrap();
    (client, server)
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Says loudly that a test did not run, and why: written to stderr directly, past the test
/// harness's capture of `eprintln!`, so it shows in a passing run.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// portscope run as uid 65534 (nobody) through setpriv; None, with a loud skip, when the
/// test cannot drop privileges (not root, no setpriv, a binary nobody may not run).
pub fn as_nobody(test: &str) -> Option<impl Fn(&[&str]) -> Output> {
    if !is_root() {
        skip(
            test,
            "needs root to own a listener and drop to another user",
        );
        return None;
    }
    if !have("setpriv") {
        skip(test, "needs setpriv (util-linux)");
        return None;
    }
    let run = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()])
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    if !run(&["--version"]).status.success() {
        skip(test, "the test binary is not executable by uid 65534");
        return None;
    }
    Some(run)
}

/// A private network namespace, removed on drop. Sockets are made inside it by a thread that
/// joins it; portscope runs inside it through `ip netns exec`.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// None (and a loud skip) when not root or without `ip`.
    pub fn new(test: &str) -> Option<Netns> {
        if !is_root() {
            skip(test, "needs root to create a network namespace");
            return None;
        }
        if !have("ip") {
            skip(test, "needs `ip` (iproute2)");
            return None;
        }
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("pstest-{}-{n}", std::process::id());
        let ok = |args: &[&str]| Command::new("ip").args(args).status().unwrap().success();
        assert!(ok(&["netns", "add", &name]), "ip netns add {name}");
        let ns = Netns { name };
        assert!(ok(&["-n", &ns.name, "link", "set", "lo", "up"]));
        Some(ns)
    }

    /// Runs `f` on a thread inside the namespace; the sockets it makes belong there.
    pub fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let file = File::open(format!("/run/netns/{}", self.name)).unwrap();
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: a valid namespace fd; only this thread changes namespace.
                    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                    f()
                })
                .join()
                .unwrap()
        })
    }

    /// portscope inside the namespace.
    pub fn portscope(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, bin()])
            .args(args)
            .env("NO_COLOR", "1");
        cmd
    }

    /// portscope inside the namespace, under a resource limit set by a child shell.
    pub fn portscope_limited(&self, limit: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, "sh"])
            .args(limited(limit))
            .args(args)
            .env("NO_COLOR", "1");
        cmd
    }

    pub fn ls_json(&self, args: &[&str]) -> Vec<JsonSocket> {
        let mut all = vec!["ls", "--json"];
        all.extend_from_slice(args);
        json_of(self.portscope(&all))
    }
}

impl Netns {
    /// `ip -n NS ARGS…`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        let ok = Command::new("ip")
            .args(["-n", &self.name])
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip -n {} {args:?}", self.name);
    }

    pub fn sysctl(&self, key: &str, value: &str) {
        let status = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                "sysctl",
                "-qw",
                &format!("{key}={value}"),
            ])
            .status()
            .unwrap();
        assert!(status.success(), "sysctl {key}={value}");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Polls until `check` holds (the kernel moves states asynchronously) or 5 s pass; on timeout
/// the message carries `check`'s last complaint.
pub fn eventually(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match check() {
            Ok(()) => return,
            Err(last) if std::time::Instant::now() > deadline => {
                panic!("timed out waiting for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// `Ok` when `found`, else the observation as the complaint.
pub fn seen(found: bool, observed: impl std::fmt::Debug) -> Result<(), String> {
    if found {
        Ok(())
    } else {
        Err(format!("{observed:?}"))
    }
}

/// A child whose stdout and stderr lines arrive on channels; killed on drop.
pub struct Running {
    pub child: std::process::Child,
    out: std::sync::mpsc::Receiver<String>,
    err: std::sync::mpsc::Receiver<String>,
}

/// How long a test waits for a line or an exit before calling it a hang.
pub const HANG: std::time::Duration = std::time::Duration::from_secs(10);

impl Running {
    pub fn spawn(cmd: Command) -> Running {
        Running::spawn_to(cmd, std::process::Stdio::piped())
    }

    /// Like `spawn`, with stdout going to `stdout` (its lines are read only when piped).
    pub fn spawn_to(mut cmd: Command, stdout: std::process::Stdio) -> Running {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = cmd.stdout(stdout).stderr(Stdio::piped()).spawn().unwrap();
        let lines = |pipe: Box<dyn std::io::Read + Send>| {
            let (send, receive) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            });
            receive
        };
        let out = match child.stdout.take() {
            Some(stdout) => lines(Box::new(stdout)),
            None => std::sync::mpsc::channel().1,
        };
        let err = lines(Box::new(child.stderr.take().unwrap()));
        Running { child, out, err }
    }

    fn line(
        from: &std::sync::mpsc::Receiver<String>,
        what: &str,
        seen: &mut Vec<String>,
    ) -> String {
        let deadline = std::time::Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match from.recv_timeout(left) {
                Ok(line) if line.contains(what) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no line with {what:?}; saw {seen:#?}"),
            }
        }
    }

    /// The first stdout line holding `what`; panics after `HANG`.
    pub fn out_line(&self, what: &str) -> String {
        Running::line(&self.out, what, &mut Vec::new())
    }

    /// The first stderr line holding `what`; panics after `HANG`.
    pub fn err_line(&self, what: &str) -> String {
        Running::line(&self.err, what, &mut Vec::new())
    }

    /// stdout lines until one holds `what` (that one included).
    pub fn out_lines_until(&self, what: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let last = Running::line(&self.out, what, &mut seen);
        seen.push(last);
        seen
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// The exit code; panics when the child is still running after `HANG`.
    pub fn exit_code(&mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + HANG;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still running after {HANG:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// What is left on stdout once the child has exited.
    pub fn rest_of_stdout(&self) -> Vec<String> {
        self.out.iter().collect()
    }

    /// What is left on stderr once the child has exited.
    pub fn rest_of_stderr(&self) -> Vec<String> {
        self.err.iter().collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The name of the user running the tests.
pub fn current_user() -> String {
    // SAFETY: getpwuid returns a pointer to static storage or null; read at once.
    unsafe {
        let entry = libc::getpwuid(libc::geteuid());
        assert!(!entry.is_null(), "no passwd entry for the test user");
        std::ffi::CStr::from_ptr((*entry).pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

/// What a terminal of `cols`×`rows` shows when `line` (a shell line) runs on it, inside `ns`
/// when given: script(1) gives it a pseudo-terminal sized by stty. None (and a loud skip)
/// without script.
pub fn on_terminal(
    test: &str,
    ns: Option<&Netns>,
    cols: u16,
    rows: u16,
    line: &str,
) -> Option<String> {
    if !have("script") {
        skip(
            test,
            "needs script(1) (util-linux or bsdutils) for a pseudo-terminal",
        );
        return None;
    }
    let line = format!("stty cols {cols} rows {rows}; {line}");
    let mut cmd = match ns {
        Some(ns) => {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &ns.name, "script"]);
            cmd
        }
        None => Command::new("script"),
    };
    let out = cmd
        .args(["-qfec", &line, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Some(stdout_of(&out).replace("\r\n", "\n"))
}
