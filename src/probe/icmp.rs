//! One rule for an ICMP error that answered a probe, TCP or UDP alike (as nmap classifies
//! them): port unreachable means nothing takes the port (closed); any other "destination
//! unreachable" (administratively prohibited, host or network unreachable) or a time exceeded
//! means something on the way stopped the probe (filtered). Plain data, no I/O.

use std::net::IpAddr;

use super::model::Status;

/// An ICMP (or ICMPv6) error queued on a probe's socket (IP_RECVERR), and who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp {
    pub v6: bool,
    pub kind: u8,
    pub code: u8,
    /// The router or host that sent it (SO_EE_OFFENDER), when the kernel gave it.
    pub from: Option<IpAddr>,
}

impl Icmp {
    /// What the message says, in the words of RFC 792 / RFC 4443.
    pub fn name(&self) -> &'static str {
        match (self.v6, self.kind, self.code) {
            (false, 3, 0) | (false, 3, 6) | (false, 3, 11) => "network unreachable",
            (false, 3, 1) | (false, 3, 7) | (false, 3, 12) => "host unreachable",
            (false, 3, 2) => "protocol unreachable",
            (false, 3, 3) | (true, 1, 4) => "port unreachable",
            (false, 3, 4) => "fragmentation needed",
            (false, 3, 9) | (false, 3, 10) | (false, 3, 13) | (true, 1, 1) => {
                "administratively prohibited"
            }
            (false, 3, 14) | (false, 3, 15) => "precedence violation",
            (true, 1, 0) => "no route to destination",
            (true, 1, 2) => "beyond scope of source address",
            (true, 1, 3) => "address unreachable",
            (true, 1, 5) => "source address failed policy",
            (true, 1, 6) => "reject route to destination",
            (false, 11, _) | (true, 3, _) => "time exceeded",
            (false, 12, _) | (true, 4, _) => "parameter problem",
            (false, 3, _) | (true, 1, _) => "destination unreachable",
            _ => "error",
        }
    }

    pub fn is_port_unreachable(&self) -> bool {
        matches!((self.v6, self.kind, self.code), (false, 3, 3) | (true, 1, 4))
    }

    /// The status and the reason shown: `ICMP port unreachable` stays short (the common
    /// answer of a closed UDP port); anything else names its type and code and its sender.
    pub fn verdict(&self) -> (Status, String) {
        if self.is_port_unreachable() {
            return (Status::Closed, "ICMP port unreachable".into());
        }
        let mut reason = format!(
            "ICMP{} {} (type {} code {})",
            if self.v6 { "v6" } else { "" },
            self.name(),
            self.kind,
            self.code
        );
        if let Some(from) = self.from {
            reason.push_str(&format!(" from {from}"));
        }
        (Status::Filtered, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(kind: u8, code: u8) -> Icmp {
        Icmp {
            v6: false,
            kind,
            code,
            from: None,
        }
    }

    #[test]
    fn port_unreachable_is_closed_everything_else_filtered() {
        assert_eq!(v4(3, 3).verdict().0, Status::Closed);
        let v6 = Icmp {
            v6: true,
            kind: 1,
            code: 4,
            from: None,
        };
        assert_eq!(v6.verdict(), (Status::Closed, "ICMP port unreachable".into()));
        let prohibited = Icmp {
            from: Some("10.0.0.1".parse().unwrap()),
            ..v4(3, 13)
        };
        assert_eq!(
            prohibited.verdict(),
            (
                Status::Filtered,
                "ICMP administratively prohibited (type 3 code 13) from 10.0.0.1".into()
            )
        );
        for (kind, code) in [(3, 0), (3, 1), (3, 9), (3, 10), (11, 0)] {
            assert_eq!(v4(kind, code).verdict().0, Status::Filtered, "{kind}/{code}");
        }
    }
}
