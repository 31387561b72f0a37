//! Unix domain sockets: `ls -x` against `ss -xanp` in a private namespace, the peer's
//! process, `who /path`, hostile names, `watch -x`.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsRawFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::forked::{self, Held};
use crate::ss;
use crate::support::*;

/// A directory for socket files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("portscope-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The inode of the socket behind a descriptor (what `socket:[N]` names).
fn inode(fd: RawFd) -> u32 {
    // SAFETY: fstat on an open descriptor into a zeroed buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
    st.st_ino as u32
}

fn unix_json(ns: &Netns, args: &[&str]) -> Vec<JsonUnix> {
    let mut all = vec!["ls", "--json", "-x"];
    all.extend_from_slice(args);
    json_rows(ns.portscope(&all))
}

/// Three client processes connected to `path` (forked inside the namespace).
fn clients(path: &Path) -> Vec<Held> {
    let addr = forked::unix_address(path.as_os_str().as_encoded_bytes());
    (0..3)
        .map(|_| forked::hold(&[], &|| forked::connect_unix(libc::SOCK_STREAM, &addr)))
        .collect()
}

/// `who NAME`'s text, which must succeed.
fn who_text(ns: &Netns, name: &std::ffi::OsStr) -> String {
    let mut cmd = ns.portscope(&["who"]);
    cmd.arg(name);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    stdout_of(&out)
}

#[test]
fn unix_sockets_agree_with_ss_and_name_each_peer() {
    let test = "unix_sockets_agree_with_ss_and_name_each_peer";
    if !have("ss") {
        return skip(test, "needs ss (iproute2)");
    }
    let Some(ns) = Netns::new(test) else { return };
    let dir = Dir::new(test);
    let app = dir.0.join("app.sock");
    let abstract_name = format!("portscope-{}", std::process::id());
    let (listener, clients, accepted, abstract_socket, dgram, pair) = ns.inside(|| {
        let listener = UnixListener::bind(&app).unwrap();
        let clients = clients(&app);
        let accepted: Vec<UnixStream> = (0..3).map(|_| listener.accept().unwrap().0).collect();
        let name = SocketAddr::from_abstract_name(abstract_name.as_bytes()).unwrap();
        let abstract_socket = UnixListener::bind_addr(&name).unwrap();
        let dgram = UnixDatagram::bind(dir.0.join("dgram.sock")).unwrap();
        let pair = UnixStream::pair().unwrap();
        (listener, clients, accepted, abstract_socket, dgram, pair)
    });
    // Bytes waiting on one end of the pair: a queue to compare.
    std::io::Write::write_all(&mut &pair.0, b"queued").unwrap();
    let me = std::process::id();
    let ours: BTreeSet<u32> = [
        listener.as_raw_fd(),
        abstract_socket.as_raw_fd(),
        dgram.as_raw_fd(),
        pair.0.as_raw_fd(),
        pair.1.as_raw_fd(),
    ]
    .into_iter()
    .chain(accepted.iter().map(|a| a.as_raw_fd()))
    .map(inode)
    .collect();

    let rows = unix_json(&ns, &[]);
    let by_inode: BTreeMap<u32, &JsonUnix> = rows.iter().map(|r| (r.inode, r)).collect();
    let theirs = ss::rows(&ns, &["-xanp"]);
    for inode in &ours {
        let mine = by_inode
            .get(inode)
            .unwrap_or_else(|| panic!("socket {inode} missing: {rows:#?}"));
        let ss = theirs
            .iter()
            .find(|r| r.inode == *inode)
            .unwrap_or_else(|| panic!("ss has no {inode}: {theirs:#?}"));
        let name = mine.path.clone().unwrap_or_else(|| "*".to_string());
        assert_eq!(name, ss.local, "path of {inode}");
        assert_eq!(mine.state, ss.state, "state of {inode}");
        assert_eq!(
            (mine.recv_q, mine.send_q),
            (ss.recv_q, ss.send_q),
            "queues of {inode}"
        );
        assert_eq!(mine.peer_inode, ss.peer_inode, "peer of {inode}");
        let pids: BTreeSet<u32> = mine.pids().into_iter().collect();
        assert_eq!(pids, ss.pids, "owners of {inode}");
        assert_eq!(mine.pids(), vec![me]);
    }
    let kind_of = |inode: u32| by_inode[&inode].kind.as_str();
    assert_eq!(kind_of(inode(dgram.as_raw_fd())), "dgram");
    assert_eq!(kind_of(inode(pair.0.as_raw_fd())), "stream");
    let listener_row = by_inode[&inode(listener.as_raw_fd())];
    assert_eq!(
        (listener_row.state.as_str(), listener_row.path.as_deref()),
        ("LISTEN", app.to_str())
    );
    assert_eq!(
        by_inode[&inode(abstract_socket.as_raw_fd())].path,
        Some(format!("@{abstract_name}"))
    );
    let queued = by_inode[&inode(pair.1.as_raw_fd())];
    assert_eq!(
        queued.recv_q, 6,
        "six bytes wait on the other end of the pair"
    );
    assert_eq!(
        queued.peer_pids(),
        vec![me],
        "a socketpair's peer is this process"
    );
    // Each client's process is named as the peer of its accepted connection.
    let client_pids: BTreeSet<u32> = clients.iter().map(|c| c.pid).collect();
    let peers: BTreeSet<u32> = accepted
        .iter()
        .flat_map(|a| by_inode[&inode(a.as_raw_fd())].peer_pids())
        .collect();
    assert_eq!(peers, client_pids);
    for client in &clients {
        let row = rows
            .iter()
            .find(|r| r.pids() == vec![client.pid])
            .unwrap_or_else(|| panic!("the client {} is listed", client.pid));
        assert_eq!(row.peer_pids(), vec![me], "the client's peer is the server");
        assert_eq!(row.path, None);
    }

    // `who PATH`: the listener's owner and every connected client.
    let text = who_text(&ns, app.as_os_str());
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("{} stream LISTEN — ", app.display()))
            && first.contains(&format!("(pid {me}")),
        "{text}"
    );
    for pid in &client_pids {
        let line = text.lines().find(|l| l.contains(&format!("(pid {pid},")));
        assert!(
            line.is_some_and(|l| l.trim_start().starts_with("client: ")),
            "{text}"
        );
    }
    // A relative spelling of the same path finds the same sockets.
    let relative = Path::new("..")
        .join(dir.0.file_name().unwrap())
        .join("app.sock");
    let mut cmd = ns.portscope(&["who", "-x", relative.to_str().unwrap(), "--json"]);
    cmd.current_dir(dir.0.join("..").join(dir.0.file_name().unwrap()));
    let found: Vec<JsonUnix> = json_rows(cmd);
    assert_eq!(
        found.len(),
        7,
        "listener, 3 accepted, 3 clients: {found:#?}"
    );
    // The abstract socket by its name.
    let who_abstract = ns
        .portscope(&["who", &format!("@{abstract_name}")])
        .output()
        .unwrap();
    assert_eq!(who_abstract.status.code(), Some(0));
    drop((listener, clients, accepted, abstract_socket, dgram, pair));
}

/// A client whose connection waits in the accept queue is connected (its connect() returned)
/// though the server has not accepted it: `who PATH` names its process under the listener,
/// and its socket is among the JSON rows.
#[test]
fn who_names_clients_waiting_to_be_accepted() {
    let test = "who_names_clients_waiting_to_be_accepted";
    let Some(ns) = Netns::new(test) else { return };
    let dir = Dir::new(test);
    let app = dir.0.join("app.sock");
    let (listener, client) = ns.inside(|| {
        let listener = UnixListener::bind(&app).unwrap();
        let addr = forked::unix_address(app.as_os_str().as_encoded_bytes());
        let client = forked::hold(&[], &|| forked::connect_unix(libc::SOCK_STREAM, &addr));
        (listener, client)
    });
    let text = who_text(&ns, app.as_os_str());
    assert!(text.contains("LISTEN (1 waiting to be accepted)"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains(&format!("(pid {},", client.pid)));
    assert!(
        line.is_some_and(|l| l
            .trim_start()
            .starts_with("client, waiting to be accepted: ")),
        "{text}"
    );
    let rows: Vec<JsonUnix> = json_rows(ns.portscope(&["who", app.to_str().unwrap(), "--json"]));
    let waiting = rows.iter().find(|r| r.pids() == vec![client.pid]);
    assert!(
        waiting.is_some_and(|r| r.state == "ESTABLISHED" && r.peer_inode == 0),
        "the waiting client is listed: {rows:#?}"
    );
    drop((listener, client));
}

/// `-x` alone is Unix only, `-tx` adds TCP, `-a` is every state as in ss; a port filter
/// leaves Unix sockets out (they have no port).
#[test]
fn unix_combines_with_tcp_and_filters() {
    let test = "unix_combines_with_tcp_and_filters";
    let Some(ns) = Netns::new(test) else { return };
    let (tcp, unix) = ns.inside(|| {
        let tcp = std::net::TcpListener::bind("127.0.0.1:7300").unwrap();
        let name = SocketAddr::from_abstract_name(b"portscope-combined").unwrap();
        (tcp, UnixListener::bind_addr(&name).unwrap())
    });
    let kinds = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["ls", "--json"];
        all.extend_from_slice(args);
        let rows: Vec<JsonRow> = json_rows(ns.portscope(&all));
        rows.iter()
            .map(|r| match r {
                JsonRow::Ip(s) => s.proto.clone(),
                JsonRow::Unix(u) => format!("{}/{}", u.proto, u.kind),
            })
            .collect()
    };
    assert_eq!(kinds(&[]), ["tcp"], "the default stays TCP and UDP");
    assert_eq!(kinds(&["-x"]), ["unix/stream"]);
    assert_eq!(kinds(&["-tx"]), ["tcp", "unix/stream"]);
    assert_eq!(kinds(&["-xa"]), ["unix/stream"]);
    assert_eq!(kinds(&["-x", "-l"]), ["unix/stream"]);
    assert_eq!(
        kinds(&["-x", "--state", "established"]),
        Vec::<String>::new()
    );
    assert_eq!(kinds(&["-tx", "--port", "7300"]), ["tcp"]);
    let summary = ns
        .portscope(&["ls", "-x", "-s", "--json"])
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    assert_eq!(summary["unix"]["states"]["LISTEN"], 1);
    drop((tcp, unix));
}

#[test]
fn hostile_socket_paths_are_escaped_in_text_and_exact_in_json() {
    let test = "hostile_socket_paths_are_escaped_in_text_and_exact_in_json";
    let Some(ns) = Netns::new(test) else { return };
    let dir = Dir::new(test);
    let evil = dir.0.join("evil\n\x1b[2Jname.sock");
    let listener = ns.inside(|| UnixListener::bind(&evil).unwrap());
    let out = ns.portscope(&["ls", "-x"]).output().unwrap();
    let text = stdout_of(&out);
    assert!(!text.contains('\x1b'), "no raw escape: {text:?}");
    let shown = format!("{}/evil\\n\\u{{1b}}[2Jname.sock", dir.0.display());
    assert!(text.contains(&shown), "{text}");
    assert_eq!(text.lines().count(), 2, "the header and one row: {text}");
    let rows = unix_json(&ns, &[]);
    assert_eq!(rows[0].path.as_deref(), evil.to_str(), "exact in JSON");
    let who = ns
        .portscope(&["who", evil.to_str().unwrap()])
        .output()
        .unwrap();
    let text = stdout_of(&who);
    assert!(
        text.starts_with(&shown) && !text.contains('\x1b'),
        "{text:?}"
    );
    drop(listener);
}

/// A path that is not UTF-8 names its socket in `who` as any other path does (listed with
/// the bytes replaced, as in `ls -x`).
#[test]
fn who_takes_a_socket_path_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let test = "who_takes_a_socket_path_that_is_not_utf8";
    let Some(ns) = Netns::new(test) else { return };
    let dir = Dir::new(test);
    let path = dir.0.join(std::ffi::OsStr::from_bytes(b"bad\xff\xfe.sock"));
    let listener = ns.inside(|| UnixListener::bind(&path).unwrap());
    let mut cmd = ns.portscope(&["who", "--json"]);
    cmd.arg(&path);
    let rows: Vec<JsonUnix> = json_rows(cmd);
    let shown = path.to_string_lossy().into_owned();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].path.as_deref(), Some(shown.as_str()));
    // Another test's fork may hold a copy of the descriptor for a moment.
    assert!(rows[0].pids().contains(&std::process::id()), "{rows:#?}");
    let text = who_text(&ns, path.as_os_str());
    assert!(
        text.starts_with(&format!("{shown} stream LISTEN — ")),
        "{text}"
    );
    drop(listener);
}

#[test]
fn watch_reports_unix_sockets_coming_and_going() {
    let test = "watch_reports_unix_sockets_coming_and_going";
    let Some(ns) = Netns::new(test) else { return };
    let watch = Running::spawn(ns.portscope(&["watch", "-x", "--json", "--interval", "0.05"]));
    watch.err_line("watching");
    let name = format!("portscope-watch-{}", std::process::id());
    let listener = ns.inside(|| {
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        UnixListener::bind_addr(&addr).unwrap()
    });
    let opened = watch.out_line("\"opened\"");
    let event: serde_json::Value = serde_json::from_str(&opened).unwrap();
    assert_eq!(event["socket"]["proto"], "unix");
    assert_eq!(event["socket"]["path"], format!("@{name}"));
    assert_eq!(event["to"], "LISTEN");
    drop(listener);
    let closed = watch.out_line("\"closed\"");
    assert!(closed.contains(&format!("@{name}")), "{closed}");
    watch.signal(libc::SIGINT);
    let mut watch = watch;
    assert_eq!(watch.exit_code(), Some(130));
}
