//! `portscope stats`: the kernel's counters in a private namespace (its counters start at 0),
//! before and after trouble made for real.

use serde_json::Value;

use crate::info::flooded_udp;
use crate::support::*;

fn stats(ns: &Netns, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["stats", "--json"];
    all.extend_from_slice(args);
    let out = ns.portscope(&all).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn counter<'a>(report: &'a Value, section: &str, name: &str) -> &'a Value {
    report["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["section"] == section && c["name"] == name)
        .unwrap_or_else(|| panic!("{section}.{name} missing: {report}"))
}

#[test]
fn stats_count_udp_receive_buffer_drops() {
    let Some(ns) = Netns::new("stats_count_udp_receive_buffer_drops") else {
        return;
    };
    let before = &stats(&ns, &[])[0];
    assert_eq!(counter(before, "Udp", "RcvbufErrors")["value"], 0);
    assert!(
        counter(before, "Udp", "RcvbufErrors")["meaning"]
            .as_str()
            .unwrap()
            .contains("receive buffer")
    );
    let (_receiver, addr) = ns.inside(flooded_udp);
    let after = &stats(&ns, &[])[0];
    let errors = counter(after, "Udp", "RcvbufErrors")["value"]
        .as_i64()
        .unwrap();
    assert!(errors > 0, "{after}");
    // The per-socket count agrees with the namespace's: this socket took every datagram.
    let port = addr.port().to_string();
    let rows: Vec<Value> = json_rows(ns.portscope(&["ls", "-i", "--json", "-u", "--sport", &port]));
    assert_eq!(rows[0]["info"]["memory"]["drops"].as_i64(), Some(errors));
    // The receiver; the sender is closed.
    assert_eq!(counter(after, "sockstat", "UDP_inuse")["value"], 1);
}

#[test]
fn stats_interval_gives_rates_for_counters_only() {
    let Some(ns) = Netns::new("stats_interval_gives_rates_for_counters_only") else {
        return;
    };
    let reports = stats(&ns, &["--interval", "0.1", "--count", "2"]);
    assert_eq!(reports.len(), 2);
    for report in &reports {
        assert!(report["interval_s"].as_f64().unwrap() > 0.0);
        assert_eq!(counter(report, "Udp", "RcvbufErrors")["per_second"], 0.0);
        assert!(counter(report, "sockstat", "TCP_tw")["per_second"].is_null());
        assert_eq!(counter(report, "sockstat", "TCP_tw")["kind"], "gauge");
    }
    let out = ns
        .portscope(&["stats", "--interval", "0.1", "--count", "1"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        text.contains("Per Second") && text.contains("Udp.RcvbufErrors"),
        "{text}"
    );
}
