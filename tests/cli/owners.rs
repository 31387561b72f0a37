//! Every holder of every socket, however the question is asked: `who`, `ls --port`,
//! `ls --pid` and plain `ls` name the same processes as `ss -tanp`, for a listener shared by
//! forked processes, a connection passed with SCM_RIGHTS and a real nginx.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::process::Command;

use crate::forked::{self, Held};
use crate::ss;
use crate::support::*;

/// (local, remote) as ss prints them -> the pids holding the socket.
type Holders = BTreeMap<(String, String), BTreeSet<u32>>;

fn holders_of(sockets: &[JsonSocket]) -> Holders {
    let addr = |ip: &str, port: u16| match port {
        0 => format!("{ip}:*"),
        _ => format!("{ip}:{port}"),
    };
    sockets
        .iter()
        .filter(|s| s.inode != 0)
        .map(|s| {
            let key = (
                addr(&s.local_addr, s.local_port),
                addr(&s.remote_addr, s.remote_port),
            );
            (key, s.pids().into_iter().collect())
        })
        .collect()
}

fn ss_holders(ns: &Netns) -> Holders {
    ss::rows(ns, &["-tuanp"])
        .into_iter()
        .filter(|r| !r.pids.is_empty())
        .map(|r| ((r.local, r.peer), r.pids))
        .collect()
}

/// Waits until every way of asking gives each socket of `expected` it lists (a narrowing
/// lists some of them) exactly its holders, and ss too; each asked with the kernel's walk of
/// every file table (as root) and again reading `/proc` alone. (Another test's fork can hold
/// a copy of a socket for a moment before its exec: that is real, and passes.)
fn agree(ns: &Netns, expected: &Holders, asks: &[Vec<String>]) {
    for (ask, scan) in asks.iter().flat_map(|a| [(a, "default"), (a, "proc")]) {
        let args: Vec<&str> = ask.iter().map(String::as_str).collect();
        eventually(
            &format!("{args:?} ({scan} scan) to name every holder"),
            || {
                let mut cmd = ns.portscope(&args);
                cmd.arg("--json").env("PORTSCOPE_OWNER_SCAN", scan);
                let found = holders_of(&json_of(cmd));
                let wrong: Vec<_> = expected
                    .iter()
                    .filter(|(key, pids)| found.get(*key).is_some_and(|f| f != *pids))
                    .collect();
                let listed = expected.keys().filter(|k| found.contains_key(*k)).count();
                seen(wrong.is_empty() && listed > 0, (wrong, &found))
            },
        );
    }
    eventually("ss -tuanp to agree", || {
        let theirs = ss_holders(ns);
        let wrong: Vec<_> = expected
            .iter()
            .filter(|(key, pids)| theirs.get(*key) != Some(*pids))
            .collect();
        seen(wrong.is_empty(), (wrong, &theirs))
    });
}

#[test]
fn a_shared_listener_and_a_passed_connection_show_every_holder() {
    let test = "a_shared_listener_and_a_passed_connection_show_every_holder";
    let Some(ns) = Netns::new(test) else { return };
    let (listener, client, server) = ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:7070").unwrap();
        let c = TcpStream::connect("127.0.0.1:7070").unwrap();
        let (s, _) = l.accept().unwrap();
        (l, c, s)
    });
    let me = std::process::id();
    // Seven forked processes share the listener with this one.
    let l = listener.as_raw_fd();
    let shared: Vec<Held> = (0..7).map(|_| forked::hold(&[l], &|| true)).collect();
    // The client's socket: this process, three forked copies, and one process that got it
    // with SCM_RIGHTS (sent first; it waits in the socket until the child takes it).
    let c = client.as_raw_fd();
    let copies: Vec<Held> = (0..3).map(|_| forked::hold(&[c], &|| true)).collect();
    let (ours, theirs) = UnixStream::pair().unwrap();
    forked::send_fd(&ours, c);
    let t = theirs.as_raw_fd();
    let receiver = forked::hold(&[t], &|| forked::receive_fd(t));
    drop(theirs);

    let client_port = client.local_addr().unwrap().port();
    let listener_key = ("127.0.0.1:7070".to_string(), "0.0.0.0:*".to_string());
    let client_key = (
        format!("127.0.0.1:{client_port}"),
        "127.0.0.1:7070".to_string(),
    );
    let server_key = (client_key.1.clone(), client_key.0.clone());
    let mut expected = Holders::new();
    let mut listeners: BTreeSet<u32> = shared.iter().map(|h| h.pid).collect();
    listeners.insert(me);
    expected.insert(listener_key, listeners);
    let mut clients: BTreeSet<u32> = copies.iter().map(|h| h.pid).collect();
    clients.extend([me, receiver.pid]);
    assert_eq!(clients.len(), 5);
    expected.insert(client_key, clients);
    expected.insert(server_key, BTreeSet::from([me]));

    let ask = |args: &[&str]| -> Vec<String> { args.iter().map(|a| a.to_string()).collect() };
    let asks = [
        ask(&["ls"]),
        ask(&["ls", "--port", "7070"]),
        ask(&["ls", "--sport", &client_port.to_string()]),
        ask(&["ls", "--pid", &shared[3].pid.to_string()]),
        ask(&["ls", "--pid", &receiver.pid.to_string()]),
        ask(&["ls", "-t", "--state", "established"]),
        ask(&["who", "7070"]),
        ask(&["who", &client_port.to_string()]),
        // Kept so that old scripts run: every holder is the default anyway.
        ask(&["who", "7070", "--all-owners"]),
    ];
    agree(&ns, &expected, &asks);

    // The rows a narrowing keeps are exactly the ones it asks for.
    let by_pid = ns.ls_json(&["--pid", &receiver.pid.to_string()]);
    assert_eq!(by_pid.len(), 1, "{by_pid:?}");
    assert_eq!(by_pid[0].local_port, client_port);
    let who = json_of({
        let mut cmd = ns.portscope(&["who", "7070", "--json"]);
        cmd.env("NO_COLOR", "1");
        cmd
    });
    assert_eq!(who.len(), 2, "the listener and the accepted end: {who:?}");

    // --first-owner may stop early: each socket keeps at least one true holder.
    let first = holders_of(&ns.ls_json(&["--port", "7070", "--first-owner"]));
    for (key, pids) in &expected {
        let found = &first[key];
        assert!(
            !found.is_empty() && found.is_subset(pids),
            "{key:?}: {found:?}"
        );
    }
    drop((shared, copies, receiver, server));
}

/// nginx's `start worker process N` notices, from its stderr.
fn worker_pids(nginx: &Running, workers: usize) -> BTreeSet<u32> {
    (0..workers)
        .map(|_| {
            let line = nginx.err_line("start worker process ");
            line.rsplit(' ').next().unwrap().trim().parse().unwrap()
        })
        .collect()
}

/// nginx's master, stopped with SIGTERM (its workers go with it) however the test ends.
struct Nginx(Running);

impl Drop for Nginx {
    fn drop(&mut self) {
        self.0.signal(libc::SIGTERM);
        let _ = self.0.child.wait();
    }
}

#[test]
fn nginx_master_and_workers_are_all_named() {
    let test = "nginx_master_and_workers_are_all_named";
    if !have("nginx") {
        return skip(test, "needs nginx (apt-get install nginx-light)");
    }
    let Some(ns) = Netns::new(test) else { return };
    let dir = std::env::temp_dir().join(format!("portscope-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 3;\n\
             daemon off;\n\
             pid {pid};\n\
             error_log stderr notice;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {dir}/body;\n\
               server {{ listen 127.0.0.1:8080; location / {{ return 200 \"ok\\n\"; }} }}\n\
             }}\n",
            pid = dir.join("nginx.pid").display(),
            dir = dir.display(),
        ),
    )
    .unwrap();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name, "nginx", "-e", "stderr", "-p"])
        .arg(&dir)
        .arg("-c")
        .arg(&conf);
    let nginx = Nginx(Running::spawn(cmd));
    // `ip netns exec` execs nginx: the child is the master.
    let master = nginx.0.child.id();
    let workers = worker_pids(&nginx.0, 3);
    let mut all = workers.clone();
    all.insert(master);
    let listener = ("127.0.0.1:8080".to_string(), "0.0.0.0:*".to_string());
    let expected = Holders::from([(listener, all.clone())]);
    let worker = workers.iter().next().unwrap().to_string();
    let asks = [
        vec!["who".to_string(), "8080".to_string()],
        vec!["ls".to_string(), "--port".to_string(), "8080".to_string()],
        vec!["ls".to_string(), "--pid".to_string(), worker],
        vec!["ls".to_string()],
    ];
    agree(&ns, &expected, &asks);
    // The text names all four, with their command lines.
    let out = ns.portscope(&["who", "8080"]).output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(
        text.matches("nginx (pid ").count(),
        4,
        "master and three workers: {text}"
    );
    assert!(text.contains("master process"), "{text}");
    assert!(text.contains("worker process"), "{text}");
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Threads (tasks) running with this real uid: what RLIMIT_NPROC counts.
fn tasks_of(uid: u32) -> u32 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let real_uid = |status: &str| -> Option<u32> {
        let line = status.lines().find(|l| l.starts_with("Uid:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_dir(e.path().join("task")).ok())
        .flat_map(|tasks| tasks.flatten())
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter(|status| real_uid(status) == Some(uid))
        .count() as u32
}

/// When no thread can be started (RLIMIT_NPROC reached; `ulimit -v` does the same), the
/// owner scan runs on the calling thread instead of failing.
#[test]
fn without_a_thread_to_spare_the_scan_runs_on_the_calling_thread() {
    let test = "without_a_thread_to_spare_the_scan_runs_on_the_calling_thread";
    if !is_root() {
        return skip(
            test,
            "needs root to drop to another user under a process limit",
        );
    }
    if !have("setpriv") || !have("prlimit") {
        return skip(test, "needs setpriv and prlimit (util-linux)");
    }
    let (_l, port) = listener();
    // A uid of its own (no other test runs as it) may run this process and nothing more: no
    // thread can be created.
    let uid = 65532;
    let limit = tasks_of(uid) + 1;
    let limited = |args: &[&str]| {
        Command::new("prlimit")
            .arg(format!("--nproc={limit}:{limit}"))
            .arg("setpriv")
            .arg(format!("--reuid={uid}"))
            .args(["--regid=65534", "--clear-groups", bin()])
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    if !limited(&["--version"]).status.success() {
        return skip(test, "the test binary is not executable by another user");
    }
    let out = limited(&["ls", "--json", "--sport", &port.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let sockets: Vec<JsonSocket> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sockets.len(), 1, "{sockets:?}");
    assert!(!stderr_of(&out).contains("panicked"), "{}", stderr_of(&out));
}
