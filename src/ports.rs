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
/// Sorted, without repeats: parsed into a set of 65,536 bits, so that a list repeating a huge
/// range many times costs no more than the range once.
pub fn parse_ports(spec: &str) -> Result<Vec<u16>> {
    if spec.trim().is_empty() {
        bail!("empty port list (expected ports like 22,80,8000-8010)");
    }
    let mut set = PortSet::default();
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
                set.insert_range(low, high);
            }
            _ => {
                let port = parse_port(part)?;
                set.insert_range(port, port);
            }
        }
    }
    Ok(set.ports())
}

/// One bit per port number.
struct PortSet {
    words: Box<[u64; 1024]>,
}

impl Default for PortSet {
    fn default() -> PortSet {
        PortSet {
            words: Box::new([0; 1024]),
        }
    }
}

impl PortSet {
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

    fn ports(&self) -> Vec<u16> {
        let mut ports = Vec::new();
        for (i, word) in self.words.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                ports.push((i * 64) as u16 + bits.trailing_zeros() as u16);
                bits &= bits - 1;
            }
        }
        ports
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
    fn service_names_and_aliases() {
        let text = "# comment\nssh\t\t22/tcp\t\t\t# SSH\nhttp\t80/tcp\t\twww # WWW\n";
        assert_eq!(service_port(text, "ssh"), Some(22));
        assert_eq!(service_port(text, "WWW"), Some(80));
        assert_eq!(service_port(text, "comment"), None);
    }
}
