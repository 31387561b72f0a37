//! The kernel's protocol counters: /proc/net/netstat (TcpExt, IpExt, …) and /proc/net/snmp
//! (Ip, Icmp, Tcp, Udp, …), both "Section: names" lines followed by "Section: values" lines.
//! Read through /proc/thread-self/net, which shows the reading thread's network namespace
//! (/proc/net is the whole process's).

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

    #[cfg(target_os = "linux")]
    #[test]
    fn this_kernel_has_the_listen_counters() {
        let counters = read().unwrap();
        assert!(counters.get("TcpExt", "ListenOverflows").is_some());
        assert!(counters.get("Tcp", "ActiveOpens").is_some());
    }
}
