//! `watch --rates`: bytes per second from tcp_info's counters between looks, checked against
//! a transfer paced at a known rate.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

const RATE: f64 = 2_000_000.0;
const TOTAL: usize = 10_000_000;
const CHUNK: usize = 50_000;

/// Writes TOTAL bytes at RATE bytes per second: each chunk waits until its time comes, so a
/// late wake-up is made up for by the next ones.
fn paced(mut to: std::net::TcpStream) {
    let start = Instant::now();
    let chunk = vec![3u8; CHUNK];
    for sent in (0..TOTAL).step_by(CHUNK) {
        let due = start + Duration::from_secs_f64(sent as f64 / RATE);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        to.write_all(&chunk).unwrap();
    }
}

/// `watch --json --rates` on one port's TCP sockets.
fn watch_rates(port: u16, interval: &str) -> Running {
    let port = port.to_string();
    let args = [
        "watch",
        "--json",
        "--rates",
        "-t",
        "--port",
        &port,
        "--interval",
        interval,
    ];
    Running::spawn(portscope(&args))
}

#[test]
fn watch_rates_follow_a_paced_transfer() {
    let (l, port) = listener();
    let watch = watch_rates(port, "0.5");
    watch.err_line("changes follow");
    let (client, mut server) = pair(&l);
    let client_port = u64::from(client.local_addr().unwrap().port());
    let client_inode = inode_of(&client);
    let reader = std::thread::spawn(move || {
        let mut sink = vec![0u8; 1 << 16];
        let mut got = 0;
        while got < TOTAL {
            got += server.read(&mut sink).unwrap();
        }
    });
    paced(client);
    reader.join().unwrap();
    // Every rate event until the transfer's end was measured (it ends at 5 s).
    let mut out_rates = Vec::new();
    let mut process_rates = Vec::new();
    loop {
        let line = watch.out_line("\"rates\"");
        let event: Value = serde_json::from_str(&line).unwrap();
        let ours = event["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["local_port"] == client_port);
        if let Some(c) = ours {
            // Named as `ls --json` names it; no namespace without --all-netns.
            assert_eq!(c["inode"], client_inode, "{c}");
            assert!(c["netns"].is_null(), "{c}");
        }
        let ours = ours.map(|c| c["out_bytes_per_s"].as_f64().unwrap());
        match ours {
            Some(rate) => out_rates.push(rate),
            None if !out_rates.is_empty() => break,
            None => continue,
        }
        let me = event["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == u64::from(std::process::id()))
            .map(|p| p["out_bytes_per_s"].as_f64().unwrap());
        process_rates.push(me.unwrap_or(0.0));
    }
    // The first and last looks cover part of an interval without the transfer.
    assert!(out_rates.len() >= 5, "{out_rates:?}");
    let mut middle = out_rates[1..out_rates.len() - 1].to_vec();
    middle.sort_by(f64::total_cmp);
    let median = middle[middle.len() / 2];
    assert!(
        (median - RATE).abs() <= 0.2 * RATE,
        "median {median} of {out_rates:?}"
    );
    // The process holds both ends: its out rate is the client's (the server sends nothing).
    let mut process_middle = process_rates[1..process_rates.len() - 1].to_vec();
    process_middle.sort_by(f64::total_cmp);
    let process_median = process_middle[process_middle.len() / 2];
    assert!(
        (process_median - RATE).abs() <= 0.2 * RATE,
        "process median {process_median} of {process_rates:?}"
    );
}

/// docs/json.md: with `--rates`, the change events' sockets carry `info` "as in `ls -i
/// --json`": congestion control and memory too, not only tcp_info.
#[test]
fn watch_rates_events_carry_the_info_of_ls_i() {
    let (l, port) = listener();
    let watch = watch_rates(port, "0.2");
    watch.err_line("changes follow");
    let (client, _server) = pair(&l);
    let client_port = u64::from(client.local_addr().unwrap().port());
    let opened = loop {
        let event: Value = serde_json::from_str(&watch.out_line("\"opened\"")).unwrap();
        if event["socket"]["local_port"] == client_port {
            break event;
        }
    };
    let info = &opened["socket"]["info"];
    assert!(info["tcp"]["bytes_acked"].is_u64(), "{opened}");
    assert!(info["congestion"].is_string(), "{opened}");
    assert!(info["memory"]["sndbuf"].is_u64(), "{opened}");
}

/// The inode of a socket of ours, as `ls --json` has it.
fn inode_of(socket: &std::net::TcpStream) -> u64 {
    let fd = format!("/proc/self/fd/{}", socket.as_raw_fd());
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(fd).unwrap())
}

/// `--all-netns`: a rates event names each connection's namespace, as the sockets' events do.
#[test]
fn watch_rates_across_namespaces_name_the_namespace() {
    let test = "watch_rates_across_namespaces_name_the_namespace";
    let Some(ns) = Netns::new(test) else { return };
    let (l, mut client, mut server) = ns.inside(|| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (client, server) = pair(&l);
        (l, client, server)
    });
    let port = l.local_addr().unwrap().port().to_string();
    let args = [
        "watch",
        "--json",
        "--rates",
        "--all-netns",
        "-t",
        "--port",
        &port,
        "--interval",
        "0.2",
    ];
    let watch = Running::spawn(portscope(&args));
    watch.err_line("changes follow");
    let client_port = u64::from(client.local_addr().unwrap().port());
    let moved = loop {
        // A chunk per look until a rates event shows the connection.
        client.write_all(&[7u8; 100_000]).unwrap();
        server.read_exact(&mut [0u8; 100_000]).unwrap();
        let event: Value = serde_json::from_str(&watch.out_line("\"rates\"")).unwrap();
        let found = (event["connections"].as_array().unwrap().iter())
            .find(|c| c["local_port"] == client_port)
            .cloned();
        if let Some(c) = found {
            break c;
        }
    };
    assert_eq!(moved["netns"]["name"], ns.name.as_str(), "{moved}");
    assert!(moved["netns"]["inode"].as_u64().unwrap() > 0, "{moved}");
    assert_eq!(moved["inode"], inode_of(&client), "{moved}");
}
