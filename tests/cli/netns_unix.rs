//! Unix domain sockets across network namespaces: unix_diag, like inet_diag, answers for one
//! namespace, and an abstract name belongs to its namespace (two may share it).

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};

use crate::support::*;

/// `ls -x --all-netns` lists the same abstract name in each namespace with that namespace's
/// name; `who @name --all-netns` finds both; in the host's namespace there is none; `--netns`
/// answers as `ip netns exec` does.
#[test]
fn an_abstract_name_in_two_namespaces() {
    let test = "an_abstract_name_in_two_namespaces";
    let (Some(a), Some(b)) = (Netns::new(test), Netns::new(test)) else {
        return;
    };
    let name = format!("portscope-{test}-{}", std::process::id());
    let bind = || {
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        UnixListener::bind_addr(&addr).unwrap()
    };
    let held = [a.inside(bind), b.inside(bind)];
    let path = format!("@{name}");
    let out = portscope(&["ls", "-x", "--all-netns", "--json"])
        .output()
        .unwrap();
    let all: Vec<JsonRow> = json_with_notes(&out);
    let mine: Vec<&JsonUnix> = all
        .iter()
        .filter_map(|row| match row {
            JsonRow::Unix(u) if u.path.as_deref() == Some(&*path) => Some(u),
            _ => None,
        })
        .collect();
    let mut names: Vec<Option<&str>> = mine
        .iter()
        .map(|u| u.netns.as_ref().and_then(|n| n.name.as_deref()))
        .collect();
    names.sort();
    let mut expected = [Some(&*a.name), Some(&*b.name)];
    expected.sort();
    assert_eq!(names, expected, "{mine:#?}");
    assert!(mine.iter().all(|u| u.pids().contains(&std::process::id())));
    // The table has a row for each, under its namespace's name.
    let table = stdout_of(&portscope(&["ls", "-x", "--all-netns"]).output().unwrap());
    for ns in [&a, &b] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(&ns.name) && l.contains(&path)),
            "{table}"
        );
    }
    // who: both namespaces across; none in the host's own.
    let out = portscope(&["who", &path, "--all-netns"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    for ns in [&a, &b] {
        assert!(text.contains(&format!("in {} —", ns.name)), "{text}");
    }
    let here = portscope(&["who", &path]).output().unwrap();
    assert_eq!(here.status.code(), Some(1), "{}", stdout_of(&here));
    // --netns NAME is `ip netns exec NAME`: the same socket.
    let inodes = |rows: Vec<JsonUnix>| -> Vec<u32> { rows.iter().map(|u| u.inode).collect() };
    let given: Vec<JsonUnix> = json_rows(portscope(&["who", &path, "--netns", &a.name, "--json"]));
    let inside: Vec<JsonUnix> = json_rows(a.portscope(&["who", &path, "--json"]));
    assert_eq!(inodes(given), inodes(inside));
    drop(held);
}
