//! The kernel's protocol counters: /proc/net/netstat (TcpExt, IpExt, …) and /proc/net/snmp
//! (Ip, Icmp, Tcp, Udp, …), both "Section: names" lines followed by "Section: values" lines.
//! Read through /proc/thread-self/net, which shows the reading thread's network namespace
//! (/proc/net is the whole process's). /proc/net/sockstat{,6} (gauges: sockets in use,
//! orphans, TIME_WAIT, memory in pages) join them as section `sockstat`, names `TCP_inuse`,
//! `TCP_tw`, `TCP6_inuse`, …, and the memory limits (tcp_mem, udp_mem, in pages) as section
//! `limits`, names `tcp_mem_low`, `tcp_mem_pressure`, `tcp_mem_high`, the same for udp, and
//! `tcp_max_orphans`, `tcp_max_tw_buckets`, `tcp_syncookies`.

use std::collections::BTreeMap;

#[cfg(target_os = "linux")]
use anyhow::{Context, Result};

/// Every counter of both files: section -> name -> value. Most are counters since boot (or
/// since the namespace was made); a few are gauges (Tcp CurrEstab) or settings (Tcp MaxConn,
/// which may be -1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub sections: BTreeMap<String, BTreeMap<String, i64>>,
}

impl Counters {
    /// One counter, `("TcpExt", "ListenOverflows")`; None when this kernel has no such field.
    pub fn get(&self, section: &str, name: &str) -> Option<i64> {
        self.sections.get(section)?.get(name).copied()
    }

    /// Adds the sections of one file's text. A header line gives the names and the next
    /// line with the same section gives the values; a value that is not a number is skipped.
    pub fn add_text(&mut self, text: &str) {
        let mut header: Option<(&str, &str)> = None;
        for line in text.lines() {
            let Some((section, rest)) = line.split_once(':') else {
                header = None;
                continue;
            };
            match header.take() {
                Some((named, names)) if named == section => {
                    let entries = self.sections.entry(section.to_string()).or_default();
                    for (name, value) in names.split_whitespace().zip(rest.split_whitespace()) {
                        if let Ok(value) = value.parse() {
                            entries.insert(name.to_string(), value);
                        }
                    }
                }
                _ => header = Some((section, rest)),
            }
        }
    }

    /// Adds sockstat's lines, `TCP: inuse 5 orphan 0 tw 3 alloc 7 mem 1`, as `TCP_inuse` …
    /// in section `sockstat`.
    pub fn add_sockstat(&mut self, text: &str) {
        let entries = self.sections.entry("sockstat".to_string()).or_default();
        for line in text.lines() {
            let Some((kind, rest)) = line.split_once(':') else {
                continue;
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            for pair in words.chunks_exact(2) {
                if let Ok(value) = pair[1].parse() {
                    entries.insert(format!("{kind}_{}", pair[0]), value);
                }
            }
        }
    }

    /// Adds the numbers of a sysctl's text, in order, under `names` in section `limits`
    /// (tcp_mem's three: low, pressure, high).
    pub fn add_limits(&mut self, names: &[&str], text: &str) {
        let entries = self.sections.entry("limits".to_string()).or_default();
        for (name, value) in names.iter().zip(text.split_whitespace()) {
            if let Ok(value) = value.parse() {
                entries.insert(name.to_string(), value);
            }
        }
    }
}

/// Both files, as the calling thread's network namespace shows them.
#[cfg(target_os = "linux")]
pub fn read() -> Result<Counters> {
    let mut counters = Counters::default();
    for file in ["netstat", "snmp"] {
        let path = format!("/proc/thread-self/net/{file}");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        counters.add_text(&text);
    }
    // Gauges and limits that explain trouble (`stats`, `doctor`); a kernel without IPv6 has
    // no sockstat6, which leaves its names out.
    for file in ["sockstat", "sockstat6"] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/thread-self/net/{file}")) {
            counters.add_sockstat(&text);
        }
    }
    let limits: [(&str, &[&str]); 5] = [
        (
            "tcp_mem",
            &["tcp_mem_low", "tcp_mem_pressure", "tcp_mem_high"],
        ),
        (
            "udp_mem",
            &["udp_mem_low", "udp_mem_pressure", "udp_mem_high"],
        ),
        ("tcp_max_orphans", &["tcp_max_orphans"]),
        ("tcp_max_tw_buckets", &["tcp_max_tw_buckets"]),
        ("tcp_syncookies", &["tcp_syncookies"]),
    ];
    for (file, names) in limits {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/sys/net/ipv4/{file}")) {
            counters.add_limits(names, &text);
        }
    }
    Ok(counters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pair_with_values_per_section() {
        let mut counters = Counters::default();
        counters.add_text(
            "TcpExt: SyncookiesSent ListenOverflows ListenDrops\n\
             TcpExt: 0 12 14\n\
             IpExt: InNoRoutes InOctets\n\
             IpExt: 0 183742132\n",
        );
        counters.add_text(
            "Tcp: RtoAlgorithm MaxConn CurrEstab\nTcp: 1 -1 7\nUdp: InDatagrams Bad\nUdp: 5 x\n",
        );
        assert_eq!(counters.get("TcpExt", "ListenOverflows"), Some(12));
        assert_eq!(counters.get("TcpExt", "ListenDrops"), Some(14));
        assert_eq!(counters.get("IpExt", "InOctets"), Some(183_742_132));
        assert_eq!(counters.get("Tcp", "MaxConn"), Some(-1));
        assert_eq!(counters.get("Udp", "InDatagrams"), Some(5));
        assert_eq!(counters.get("Udp", "Bad"), None, "not a number");
        assert_eq!(counters.get("TcpExt", "Nothing"), None);
    }

    #[test]
    fn a_header_without_its_values_is_ignored() {
        let mut counters = Counters::default();
        counters.add_text("TcpExt: A B\nIpExt: C\nIpExt: 3\nTcp: D\n");
        assert_eq!(counters.get("TcpExt", "A"), None);
        assert_eq!(counters.get("IpExt", "C"), Some(3));
        assert_eq!(counters.get("Tcp", "D"), None);
    }

    #[test]
    fn sockstat_pairs_and_memory_limits() {
        let mut counters = Counters::default();
        counters.add_sockstat(
            "sockets: used 35\nTCP: inuse 1 orphan 6 tw 4 alloc 8 mem 128\nTCP6: inuse 2\n",
        );
        counters.add_limits(
            &["low", "tcp_mem_pressure", "high"],
            "287901\t383868\t575802\n",
        );
        assert_eq!(counters.get("sockstat", "TCP_orphan"), Some(6));
        assert_eq!(counters.get("sockstat", "TCP_mem"), Some(128));
        assert_eq!(counters.get("sockstat", "TCP6_inuse"), Some(2));
        assert_eq!(counters.get("sockstat", "sockets_used"), Some(35));
        assert_eq!(counters.get("limits", "tcp_mem_pressure"), Some(383_868));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_kernel_has_the_listen_counters() {
        let counters = read().unwrap();
        assert!(counters.get("TcpExt", "ListenOverflows").is_some());
        assert!(counters.get("Tcp", "ActiveOpens").is_some());
    }
}
