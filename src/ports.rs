//! Port numbers and service names (`8080`, `http`), as the user types them.

use anyhow::{Result, bail};

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
            _ => bail!("invalid port '{text}' (ports are 1-65535)"),
        };
    }
    let services = std::fs::read_to_string(SERVICES).unwrap_or_default();
    match service_port(&services, text) {
        Some(port) => Ok(port),
        None => bail!("unknown port '{text}' (not a number 1-65535, nor a service in {SERVICES})"),
    }
}

/// A port list as people write it: `22`, `22,80,443`, `8000-8100`, `ssh,http,8000-8010`.
/// Sorted, without repeats.
pub fn parse_ports(spec: &str) -> Result<Vec<u16>> {
    if spec.trim().is_empty() {
        bail!("empty port list (expected ports like 22,80,8000-8010)");
    }
    let mut ports = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((low, high)) if !low.is_empty() && low.bytes().all(|b| b.is_ascii_digit()) => {
                let (low, high) = (parse_port(low)?, parse_port(high)?);
                if low > high {
                    bail!(
                        "invalid port range '{part}' (the first port must not be above the second)"
                    );
                }
                ports.extend(low..=high);
            }
            _ => ports.push(parse_port(part)?),
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
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
    }

    #[test]
    fn service_names_and_aliases() {
        let text = "# comment\nssh\t\t22/tcp\t\t\t# SSH\nhttp\t80/tcp\t\twww # WWW\n";
        assert_eq!(service_port(text, "ssh"), Some(22));
        assert_eq!(service_port(text, "WWW"), Some(80));
        assert_eq!(service_port(text, "comment"), None);
    }
}
