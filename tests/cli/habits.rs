//! The habits of ss, netstat and lsof users (issue 13, item 1): `-tlnp`, `-tulpn`, `-tuanp`,
//! ss's state names and groups, and `--pids` for `xargs kill`.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;

use crate::forked;
use crate::support::*;

pub fn scene(test: &str) -> Option<(Netns, forked::Held)> {
    scene_on(test, 7001, 7002)
}

/// A listener on 127.0.0.1:`tcp` with a connection, a closed connection in TIME_WAIT, a UDP
/// socket on 127.0.0.1:`udp`, in a namespace. A forked child holds the sockets: held by the
/// test process, they would also show the children other tests fork (for the moment between
/// fork and exec), and two looks could name different owners.
pub fn scene_on(test: &str, tcp: u16, udp: u16) -> Option<(Netns, forked::Held)> {
    let ns = Netns::new(test)?;
    let held = ns.inside(|| {
        let l = TcpListener::bind(("127.0.0.1", tcp)).unwrap();
        let client = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
        let (server, _) = l.accept().unwrap();
        let gone = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
        let (gone_server, _) = l.accept().unwrap();
        gone.shutdown(Shutdown::Both).unwrap();
        drop((gone, gone_server));
        let udp = UdpSocket::bind(("127.0.0.1", udp)).unwrap();
        let fds = [
            l.as_raw_fd(),
            client.as_raw_fd(),
            server.as_raw_fd(),
            udp.as_raw_fd(),
        ];
        forked::hold(&fds, &|| true)
    });
    eventually("TIME_WAIT", || {
        let tw = ns.ls_json(&["--state", "time-wait"]);
        seen(!tw.is_empty(), tw)
    });
    Some((ns, held))
}

fn text(ns: &Netns, args: &[&str]) -> String {
    let out = ns.portscope(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr_of(&out));
    stdout_of(&out)
}

fn states(ns: &Netns, spec: &str) -> Vec<String> {
    let mut states: Vec<String> = ns
        .ls_json(&["--state", spec])
        .into_iter()
        .map(|s| s.state)
        .collect();
    states.sort();
    states
}

#[test]
fn ss_and_netstat_flags_work_as_typed() {
    let Some((ns, _held)) = scene("ss_and_netstat_flags_work_as_typed") else {
        return;
    };
    // -n and -p ask for what is shown anyway; -a is every state, the default.
    for (habit, same) in [
        (&["-tlnp"][..], &["ls", "-tl"][..]),
        (&["-tulpn"], &["ls", "-tul"]),
        (&["-tuanp"], &["ls", "-tu"]),
        (&["ls", "-a"], &["ls"]),
        (&["-n"], &["ls"]),
        (&["-p"], &["ls"]),
        (&["ls", "-tnap"], &["ls", "-t"]),
    ] {
        assert_eq!(text(&ns, habit), text(&ns, same), "{habit:?}");
    }
    assert!(text(&ns, &["-tlnp"]).contains("127.0.0.1:7001"));
    let out = ns.portscope(&["ls", "-p", "--no-owners"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "-p asks for owners");
}

#[test]
fn ss_state_names_and_groups() {
    let Some((ns, _held)) = scene("ss_state_names_and_groups") else {
        return;
    };
    assert_eq!(states(&ns, "estab"), states(&ns, "established"));
    assert_eq!(states(&ns, "estab").len(), 2);
    assert_eq!(states(&ns, "time-wait"), ["TIME_WAIT"]);
    assert_eq!(states(&ns, "unconn"), ["UNCONN"]);
    assert_eq!(states(&ns, "listening"), ["LISTEN"]);
    assert_eq!(
        states(&ns, "connected"),
        ["ESTABLISHED", "ESTABLISHED", "TIME_WAIT"]
    );
    assert_eq!(
        states(&ns, "synchronized"),
        ["ESTABLISHED", "ESTABLISHED", "TIME_WAIT"]
    );
    assert_eq!(states(&ns, "bucket"), ["TIME_WAIT"]);
    assert_eq!(
        states(&ns, "big"),
        ["ESTABLISHED", "ESTABLISHED", "LISTEN", "UNCONN"]
    );
    assert_eq!(states(&ns, "all").len(), 5);
    assert_eq!(states(&ns, "close-wait,syn-sent"), Vec::<String>::new());
}

#[test]
fn pids_one_per_line_for_xargs() {
    let Some(ns) = Netns::new("pids_one_per_line_for_xargs") else {
        return;
    };
    let listen = Running::spawn(ns.portscope(&["tcp", "listen", "127.0.0.1:7003", "--json"]));
    listen.out_line("\"listening\"");
    let pid = format!("{}\n", listen.child.id());
    // A socket on the next port, held by a forked child (not by this process, which other
    // tests' forks share for a moment): two holders, each once.
    let mine = ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:7004").unwrap();
        forked::hold(&[l.as_raw_fd()], &|| true)
    });
    assert_eq!(text(&ns, &["who", "7003", "--pids"]), pid);
    assert_eq!(text(&ns, &["ls", "--pids", "--sport", "7003"]), pid);
    let both = text(&ns, &["who", "7003,7004", "--pids"]);
    let mut expected = [listen.child.id(), mine.pid];
    expected.sort_unstable();
    assert_eq!(both, format!("{}\n{}\n", expected[0], expected[1]));
    let none = ns.portscope(&["who", "7009", "--pids"]).output().unwrap();
    assert_eq!(
        (none.status.code(), stdout_of(&none)),
        (Some(1), String::new())
    );
    // `xargs kill` as lsof -t is used: the listener ends by the signal.
    let status = std::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "ip netns exec {} {} who 7003 --pids | xargs kill",
                ns.name,
                bin()
            ),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let mut listen = listen;
    assert_eq!(listen.exit_code(), Some(143));
    drop(mine);
}

#[test]
fn who_with_nobody_on_the_port_says_so_on_a_terminal() {
    let test = "who_with_nobody_on_the_port_says_so_on_a_terminal";
    let Some(ns) = Netns::new(test) else {
        return;
    };
    let line = format!("{} who 9999; echo status $?", bin());
    let Some(screen) = on_terminal(test, Some(&ns), 100, 20, &line) else {
        return;
    };
    assert_eq!(screen, "nothing holds port 9999/tcp or /udp\nstatus 1\n");
    let piped = ns.portscope(&["who", "9999"]).output().unwrap();
    assert_eq!(
        (piped.status.code(), stdout_of(&piped)),
        (Some(1), String::new())
    );
}

/// UDP's Recv-Q is the kernel memory its queued datagrams take, not their payload, as the help
/// says: one unread datagram of 5 bytes shows as hundreds, while TCP's 5 unread bytes show as 5.
#[test]
fn udp_recv_q_is_kernel_memory_as_the_help_says() {
    let help = stdout_of(&portscope(&["ls", "--help"]).output().unwrap());
    assert!(help.contains("kernel memory"), "{help}");
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.send_to(b"hello", ("127.0.0.1", port)).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = l.local_addr().unwrap().port();
    let mut client = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    let client_port = client.local_addr().unwrap().port();
    let (_server, _) = l.accept().unwrap();
    client.write_all(b"hello").unwrap();
    eventually("5 bytes queued on both", || {
        let udp_q: Vec<u32> = ls_json(&["-u", "--port", &port.to_string()])
            .into_iter()
            .filter(|s| s.local_port == port)
            .map(|s| s.recv_q)
            .collect();
        let tcp_q: Vec<u32> = ls_json(&["-t", "--port", &tcp_port.to_string()])
            .into_iter()
            .filter(|s| s.local_port == tcp_port && s.remote_port == client_port)
            .map(|s| s.recv_q)
            .collect();
        seen(
            udp_q.len() == 1 && udp_q[0] > 5 && tcp_q == [5],
            (udp_q, tcp_q),
        )
    });
}
