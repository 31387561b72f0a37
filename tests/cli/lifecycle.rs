//! `portscope lifecycle` and `portscope bench`, in a private namespace when root.

use serde_json::Value;

use crate::support::*;

fn run_json(test: &str, args: &[&str]) -> Value {
    let ns = Netns::new(test);
    let mut cmd = match &ns {
        Some(ns) => ns.portscope(args),
        None => portscope(args),
    };
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout_of(&out)))
}

/// The states one role went through, repeats collapsed, in step order.
fn path(steps: &Value, role: &str) -> Vec<String> {
    let mut states: Vec<String> = Vec::new();
    for step in steps.as_array().unwrap() {
        for socket in step["sockets"].as_array().unwrap() {
            if socket["role"] == role {
                let state = socket["state"].as_str().unwrap().to_string();
                if states.last() != Some(&state) {
                    states.push(state);
                }
            }
        }
    }
    states
}

#[test]
fn client_first_close_in_the_right_order() {
    let steps = run_json(
        "client_first_close_in_the_right_order",
        &["lifecycle", "--json"],
    );
    assert_eq!(path(&steps, "listener"), ["LISTEN"]);
    assert_eq!(
        path(&steps, "client"),
        ["ESTABLISHED", "FIN_WAIT2", "TIME_WAIT"]
    );
    assert_eq!(path(&steps, "server"), ["ESTABLISHED", "CLOSE_WAIT"]);
    assert_eq!(
        path(&steps, "client B"),
        ["SYN_SENT"],
        "the backlog-overflow step"
    );
    let all = steps.as_array().unwrap();
    let listener = |i: usize| {
        all[i]["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["role"] == "listener")
            .cloned()
            .unwrap()
    };
    assert_eq!(
        listener(0)["send_q"],
        4,
        "Send-Q of a listener is its backlog"
    );
    assert_eq!(
        listener(1)["recv_q"],
        1,
        "one connection waits in the accept queue"
    );
    assert_eq!(all[0]["actor"], "server");
    assert!(all[1]["call"].as_str().unwrap().starts_with("connect("));
    let sending = &all[3]["sockets"];
    let server = sending
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "server")
        .unwrap();
    assert!(
        server["recv_q"].as_u64().unwrap() > 0,
        "unread bytes in Recv-Q: {sending}"
    );
}

#[test]
fn server_first_close_mirrors_it() {
    let steps = run_json(
        "server_first_close_mirrors_it",
        &[
            "lifecycle",
            "--json",
            "--close",
            "server-first",
            "--no-overflow",
        ],
    );
    assert_eq!(
        path(&steps, "server"),
        ["ESTABLISHED", "FIN_WAIT2", "TIME_WAIT"]
    );
    assert_eq!(path(&steps, "client"), ["ESTABLISHED", "CLOSE_WAIT"]);
}

#[test]
fn rst_close_leaves_no_time_wait() {
    let steps = run_json(
        "rst_close_leaves_no_time_wait",
        &["lifecycle", "--json", "--close", "rst", "--no-overflow"],
    );
    let states: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["sockets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["state"].as_str().unwrap())
        })
        .collect();
    assert!(!states.contains(&"TIME_WAIT"), "{states:?}");
    assert!(
        steps.to_string().contains("recv() fails: ECONNRESET"),
        "the server sees the reset"
    );
    assert_eq!(path(&steps, "client"), ["ESTABLISHED"]);
}

#[test]
fn half_close_still_carries_data_back() {
    let steps = run_json(
        "half_close_still_carries_data_back",
        &[
            "lifecycle",
            "--json",
            "--close",
            "half-close",
            "--no-overflow",
        ],
    );
    assert_eq!(
        path(&steps, "client"),
        ["ESTABLISHED", "FIN_WAIT2", "TIME_WAIT"]
    );
    let after_fin = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["call"].as_str().unwrap().starts_with("send() 19"))
        .unwrap();
    let client = after_fin["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "client")
        .unwrap();
    assert_eq!(client["recv_q"], 19);
    let steps = steps.as_array().unwrap();
    let socket = |step: &Value, role: &str| -> Value {
        step["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["role"] == role)
            .cloned()
            .unwrap_or(Value::Null)
    };
    // CLOSE_WAIT's Recv-Q 1 is the FIN, and the explanation says so.
    let half = steps
        .iter()
        .find(|s| s["call"] == "shutdown(SHUT_WR)")
        .unwrap();
    if socket(half, "server")["recv_q"] == 1 {
        let text = half["explanation"].as_str().unwrap();
        assert!(
            text.contains("Recv-Q 1 is not data: it is the FIN"),
            "{text}"
        );
    }
    // The server's close puts the client in TIME_WAIT while its descriptor is still open:
    // the table must not call it closed.
    let server_close = steps
        .iter()
        .find(|s| s["actor"] == "server" && s["call"] == "close()")
        .unwrap();
    let client = socket(server_close, "client");
    assert_eq!(client["state"], "TIME_WAIT", "{server_close}");
    assert_eq!(client["owner"], "(fd still open)", "{server_close}");
}

/// A retransmit timer with nothing sent again is a probe armed, not a retransmission.
#[test]
fn timers_with_nothing_resent_are_not_called_retransmits() {
    let ns = Netns::new("timers_with_nothing_resent_are_not_called_retransmits");
    let mut cmd = match &ns {
        Some(ns) => ns.portscope(&["lifecycle", "--no-overflow"]),
        None => portscope(&["lifecycle", "--no-overflow"]),
    };
    let out = cmd.output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(!text.contains(", 0 sent again"), "{text}");
}

#[test]
fn bench_long_uses_one_port_short_many() {
    let result = run_json(
        "bench_long_uses_one_port_short_many",
        &["bench", "--requests", "150", "--json"],
    );
    assert_eq!(result["short"]["requests"], 150);
    assert_eq!(result["long"]["ports_used"], 1);
    assert_eq!(
        result["short"]["ports_used"], 150,
        "a new port per short request"
    );
    assert!(
        result["short"]["time_wait_after"].as_u64().unwrap() >= 145,
        "{result}"
    );
    assert!(
        result["long"]["time_wait_after"].as_u64().unwrap() <= 1,
        "{result}"
    );
    for run in ["short", "long"] {
        let r = &result[run];
        let (p50, p99) = (r["p50_ms"].as_f64().unwrap(), r["p99_ms"].as_f64().unwrap());
        assert!(
            r["rps"].as_f64().unwrap() > 0.0 && p50 > 0.0 && p99 >= p50,
            "{r}"
        );
    }
}

#[test]
fn packets_show_the_handshake_and_the_fins() {
    if !is_root() {
        return skip(
            "packets_show_the_handshake_and_the_fins",
            "--packets needs root",
        );
    }
    let steps = run_json(
        "packets_show_the_handshake_and_the_fins",
        &["lifecycle", "--json", "--packets"],
    );
    let flags = |i: usize| -> Vec<String> {
        steps[i]["segments"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|g| {
                        format!(
                            "{}>{} {}",
                            g["from"].as_str().unwrap(),
                            g["to"].as_str().unwrap(),
                            g["flags"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        flags(1),
        [
            "client>server SYN",
            "server>client SYN,ACK",
            "client>server ACK"
        ]
    );
    assert_eq!(
        flags(5),
        ["client>server ACK,FIN", "server>client ACK"],
        "the client's FIN, acknowledged"
    );
    assert_eq!(
        flags(7),
        ["server>client ACK,FIN", "client>server ACK"],
        "the server's FIN, acknowledged"
    );
    let overflow = flags(8);
    assert!(
        overflow
            .iter()
            .filter(|f| *f == "client B>server SYN")
            .count()
            >= 2,
        "retransmitted SYN: {overflow:?}"
    );
    assert_eq!(
        steps[1]["segments"][1]["ack"], 1,
        "relative numbers: the SYN-ACK acknowledges seq 0 + 1"
    );
}

/// Every data byte the client sent is on the wire in the capture (the send step fills
/// megabytes in 64 KB segments): the client's data segments leave no gap in the sequence
/// space (a segment the receiver could not take is sent again, so overlaps are legal).
#[test]
fn packets_lose_no_segment_silently() {
    if !is_root() {
        return skip("packets_lose_no_segment_silently", "--packets needs root");
    }
    let steps = run_json(
        "packets_lose_no_segment_silently",
        &["lifecycle", "--json", "--packets"],
    );
    let steps = steps.as_array().unwrap();
    let call = steps[3]["call"].as_str().unwrap();
    let sent: u64 = call
        .strip_prefix("send() ")
        .and_then(|c| c.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{call}"));
    let not_shown: u64 = steps
        .iter()
        .filter_map(|s| s["segments_not_shown"].as_u64())
        .sum();
    assert_eq!(not_shown, 0, "the capture is sized for the transfer");
    // Relative sequence numbers: the SYN took 0, data starts at 1.
    let mut end = 1;
    for g in steps
        .iter()
        .flat_map(|s| s["segments"].as_array().cloned().unwrap_or_default())
        .filter(|g| g["from"] == "client" && g["to"] == "server" && g["len"] != 0)
    {
        let seq = g["seq"].as_u64().unwrap();
        assert!(
            seq <= end,
            "bytes {end}..{seq} missing from the capture: {g}"
        );
        end = end.max(seq + g["len"].as_u64().unwrap());
    }
    assert_eq!(end, sent + 1, "{call}");
}
