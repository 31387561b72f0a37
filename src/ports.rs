//! Port numbers and service names (`8080`, `http`), as the user types them.

use std::sync::OnceLock;

use anyhow::{Result, bail};

use crate::text::escaped;

const SERVICES: &str = "/etc/services";

/// One port: a number 1-65535 or a service name from /etc/services.
pub fn parse_port(text: &str) -> Result<u16> {
    let text = text.trim();
    if text.is_empty() {
        bail!("empty port (expected a number 1-65535 or a service name such as http)");
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(port @ 1..=65535) => Ok(port as u16),
            _ => bail!("invalid port '{}' (ports are 1-65535)", escaped(text)),
        };
    }
    match service_port(services(), text) {
        Some(port) => Ok(port),
        None => bail!(
            "unknown port '{}' (not a number 1-65535, nor a service in {SERVICES})",
            escaped(text)
        ),
    }
}

/// /etc/services, read once however many names a port list holds.
fn services() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| std::fs::read_to_string(SERVICES).unwrap_or_default())
}

/// A port list as people write it: `22`, `22,80,443`, `8000-8100`, `ssh,http,8000-8010`.
/// Sorted, without repeats.
pub fn parse_ports(spec: &str) -> Result<Vec<u16>> {
    Ok(PortSet::parse(spec)?.ports().collect())
}

/// A set of ports as sorted, disjoint ranges that do not touch: what every port filter holds
/// (and the kernel's socket filter is compiled from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    pub fn one(port: u16) -> PortSet {
        PortSet {
            ranges: vec![(port, port)],
        }
    }

    /// `22`, `22,80,443`, `8000-8100`, `ssh,http,8000-8010`: parsed into 65,536 bits first,
    /// so that a list repeating a huge range many times costs no more than the range once.
    pub fn parse(spec: &str) -> Result<PortSet> {
        if spec.trim().is_empty() {
            bail!("empty port list (expected ports like 22,80,8000-8010)");
        }
        let mut bits = PortBits::default();
        for part in spec.split(',') {
            let part = part.trim();
            match part.split_once('-') {
                Some((low, high)) if !low.is_empty() && low.bytes().all(|b| b.is_ascii_digit()) => {
                    let (low, high) = (parse_port(low)?, parse_port(high)?);
                    if low > high {
                        bail!(
                            "invalid port range '{}' (the first port must not be above the second)",
                            escaped(part)
                        );
                    }
                    bits.insert_range(low, high);
                }
                _ => {
                    let port = parse_port(part)?;
                    bits.insert_range(port, port);
                }
            }
        }
        Ok(bits.set())
    }

    pub fn contains(&self, port: u16) -> bool {
        let at = self.ranges.partition_point(|(_, high)| *high < port);
        self.ranges.get(at).is_some_and(|(low, _)| *low <= port)
    }

    /// The ranges, lowest first; a single port is `(p, p)`.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    pub fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.ranges.iter().flat_map(|(low, high)| *low..=*high)
    }

    pub fn len(&self) -> usize {
        self.ranges
            .iter()
            .map(|(low, high)| usize::from(high - low) + 1)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The only port, when there is one.
    pub fn single(&self) -> Option<u16> {
        match self.ranges.as_slice() {
            [(low, high)] if low == high => Some(*low),
            _ => None,
        }
    }
}

/// `22,80,8000-8100`: as the user would type it back.
impl std::fmt::Display for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (low, high)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if low == high {
                write!(f, "{low}")?;
            } else {
                write!(f, "{low}-{high}")?;
            }
        }
        Ok(())
    }
}

/// The ports of several lists (`kill 8080 8443,9000-9010`) as one set.
impl FromIterator<u16> for PortSet {
    fn from_iter<I: IntoIterator<Item = u16>>(ports: I) -> PortSet {
        let mut bits = PortBits::default();
        for port in ports {
            bits.insert_range(port, port);
        }
        bits.set()
    }
}

/// One bit per port number.
struct PortBits {
    words: Box<[u64; 1024]>,
}

impl Default for PortBits {
    fn default() -> PortBits {
        PortBits {
            words: Box::new([0; 1024]),
        }
    }
}

impl PortBits {
    /// Sets `low..=high` a word at a time.
    fn insert_range(&mut self, low: u16, high: u16) {
        let (low, high) = (usize::from(low), usize::from(high));
        for word in low / 64..=high / 64 {
            let first = (word * 64).max(low) - word * 64;
            let last = (word * 64 + 63).min(high) - word * 64;
            let bits = (u64::MAX >> (63 - (last - first))) << first;
            self.words[word] |= bits;
        }
    }

    /// The set bits as ranges.
    fn set(&self) -> PortSet {
        let mut ranges: Vec<(u16, u16)> = Vec::new();
        for (i, word) in self.words.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let port = (i * 64) as u16 + bits.trailing_zeros() as u16;
                bits &= bits - 1;
                match ranges.last_mut() {
                    Some((_, high)) if *high + 1 == port => *high = port,
                    _ => ranges.push((port, port)),
                }
            }
        }
        PortSet { ranges }
    }
}

/// Looks a service name or alias up in the text of an /etc/services file.
fn service_port(services: &str, name: &str) -> Option<u16> {
    services.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let service = fields.next()?;
        let (port, _proto) = fields.next()?.split_once('/')?;
        let mut names = std::iter::once(service).chain(fields);
        names
            .any(|n| n.eq_ignore_ascii_case(name))
            .then(|| port.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_range_only() {
        assert_eq!(parse_port("8080").unwrap(), 8080);
        assert_eq!(parse_port(" 1 ").unwrap(), 1);
        for bad in ["0", "65536", "70000", "", "99999999999999999999"] {
            assert!(parse_port(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn port_lists() {
        assert_eq!(
            parse_ports("22,80,8000-8002").unwrap(),
            vec![22, 80, 8000, 8001, 8002]
        );
        assert_eq!(parse_ports("80, 80,1-2").unwrap(), vec![1, 2, 80]);
        assert_eq!(parse_ports("1-65535").unwrap().len(), 65535);
        for bad in ["", "0", "70000", "5-3", "abc", "1,,2", "-5", "3-"] {
            assert!(parse_ports(bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(
            parse_ports("63-65,127-128").unwrap(),
            vec![63, 64, 65, 127, 128]
        );
        assert_eq!(parse_ports("65535,1").unwrap(), vec![1, 65535]);
    }

    #[test]
    fn a_range_repeated_is_the_range_once() {
        let spec = vec!["1-65535"; 14_000].join(",");
        let ports = parse_ports(&spec).unwrap();
        assert_eq!(ports.len(), 65535);
        assert!(ports.windows(2).all(|w| w[0] + 1 == w[1]));
    }

    #[test]
    fn sets_hold_ranges() {
        let set = PortSet::parse("8000-8100,443,80,81,8101").unwrap();
        assert_eq!(set.ranges(), [(80, 81), (443, 443), (8000, 8101)]);
        assert_eq!(set.to_string(), "80-81,443,8000-8101");
        assert_eq!(set.len(), 2 + 1 + 102);
        for (port, inside) in [
            (79, false),
            (80, true),
            (81, true),
            (82, false),
            (443, true),
        ] {
            assert_eq!(set.contains(port), inside, "{port}");
        }
        assert!(set.contains(8050) && !set.contains(8102) && !set.contains(65535));
        assert_eq!(PortSet::parse("ssh").unwrap().single(), Some(22));
        assert_eq!(set.single(), None);
        assert_eq!(PortSet::parse("1-65535").unwrap().ranges(), [(1, 65535)]);
        assert!(PortSet::one(0).contains(0));
        let joined: PortSet = [8101, 80, 8000, 81, 443, 80]
            .into_iter()
            .chain(8001..=8100)
            .collect();
        assert_eq!(joined, set);
    }

    #[test]
    fn service_names_and_aliases() {
        let text = "# comment\nssh\t\t22/tcp\t\t\t# SSH\nhttp\t80/tcp\t\twww # WWW\n";
        assert_eq!(service_port(text, "ssh"), Some(22));
        assert_eq!(service_port(text, "WWW"), Some(80));
        assert_eq!(service_port(text, "comment"), None);
    }
}
