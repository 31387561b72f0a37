//! Addresses as people type them: `8080`, `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use anyhow::{Context, Result, bail};

use crate::ports::parse_port;

/// Which address families a command may use (-4 / -6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Families {
    Any,
    V4,
    V6,
}

impl Families {
    pub fn from_flags(v4: bool, v6: bool) -> Families {
        match (v4, v6) {
            (true, false) => Families::V4,
            (false, true) => Families::V6,
            _ => Families::Any,
        }
    }

    fn allows(self, addr: &SocketAddr) -> bool {
        match self {
            Families::Any => true,
            Families::V4 => addr.is_ipv4(),
            Families::V6 => addr.is_ipv6(),
        }
    }
}

/// Splits `HOST:PORT` / `[V6]:PORT`; `PORT` alone has no host.
fn split(text: &str) -> Result<(Option<&str>, &str)> {
    if let Some(rest) = text.strip_prefix('[') {
        let Some((host, port)) = rest.split_once("]:") else {
            bail!("'{text}': write an IPv6 address and port as [ADDR]:PORT");
        };
        return Ok((Some(host), port));
    }
    match text.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => {
            bail!("'{text}': write an IPv6 address and port as [ADDR]:PORT, e.g. [::1]:8080")
        }
        Some((host, port)) => Ok((Some(host), port)),
        None => Ok((None, text)),
    }
}

/// A local address to bind: `PORT` (port 0: the kernel chooses) or `ADDR:PORT`. Without an
/// address: 0.0.0.0, or [::] with -6.
pub fn local(text: &str, families: Families) -> Result<SocketAddr> {
    let (host, port) = split(text.trim())?;
    let port = match port.trim() {
        "0" => 0,
        other => parse_port(other)?,
    };
    let ip = match host {
        None | Some("") | Some("*") => match families {
            Families::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        },
        Some(host) => host
            .parse()
            .with_context(|| format!("'{host}' is not an IP address of this host"))?,
    };
    let addr = SocketAddr::new(ip, port);
    if !families.allows(&addr) {
        bail!("{addr} is not of the address family asked for (-4/-6)");
    }
    Ok(addr)
}

/// A remote `HOST:PORT`, resolved (getaddrinfo, so /etc/hosts and DNS), IPv4 and IPv6 as
/// the resolver orders them, filtered by -4/-6.
pub fn remote(text: &str, families: Families) -> Result<Vec<SocketAddr>> {
    let (host, port) = split(text.trim())?;
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        bail!("'{text}': give a host and a port, HOST:PORT");
    };
    let port = parse_port(port)?;
    Ok(resolve(host, families)?
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

/// A host name or address (IPv6 with or without brackets), resolved with getaddrinfo (so
/// /etc/hosts and DNS), in the resolver's order, filtered by -4/-6, without repeats.
pub fn resolve(host: &str, families: Families) -> Result<Vec<IpAddr>> {
    let host = host.trim();
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.is_empty() {
        bail!("empty host name");
    }
    let mut found: Vec<IpAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            check_name(bare)?;
            (bare, 0)
                .to_socket_addrs()
                .map_err(|e| anyhow::anyhow!("unknown host '{bare}' ({e})"))?
                .map(|a| a.ip())
                .collect()
        }
    };
    let mut seen = std::collections::HashSet::new();
    found.retain(|ip| seen.insert(*ip));
    let allowed: Vec<IpAddr> = found
        .iter()
        .copied()
        .filter(|ip| families.allows(&SocketAddr::new(*ip, 0)))
        .collect();
    if allowed.is_empty() {
        bail!("'{bare}' has no address of the family asked for (-4/-6): {found:?}");
    }
    Ok(allowed)
}

/// Refuses, without asking the resolver, what cannot be a host name: characters outside
/// letters, digits, `-`, `_` and `.` (an address typed wrong, say), over-long names, and the
/// reserved `.invalid` domain (RFC 6761), which never resolves.
fn check_name(name: &str) -> Result<()> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let labels_ok = name
        .trim_end_matches('.')
        .split('.')
        .all(|label| (1..=63).contains(&label.len()));
    if !valid_chars || !labels_ok || name.len() > 253 {
        bail!(
            "'{}' is neither an IP address nor a valid host name",
            crate::text::escaped(name)
        );
    }
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    if lower == "invalid" || lower.ends_with(".invalid") {
        bail!("unknown host '{name}' (the .invalid domain never resolves)");
    }
    Ok(())
}

/// `ADDR` or `ADDR:PORT` for --source; a bare address binds port 0.
pub fn source(text: &str, families: Families) -> Result<SocketAddr> {
    let text = text.trim();
    let bare = text.parse::<IpAddr>().ok().or_else(|| {
        text.strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse().ok())
    });
    match bare {
        Some(ip) => local(&SocketAddr::new(ip, 0).to_string(), families),
        None => local(text, families),
    }
}

/// `LO-HI` for --port-range.
pub fn port_range(text: &str) -> Result<(u16, u16)> {
    let parsed = text.split_once('-').and_then(|(lo, hi)| {
        Some((
            lo.trim().parse::<u16>().ok()?,
            hi.trim().parse::<u16>().ok()?,
        ))
    });
    match parsed {
        Some((low, high)) if low >= 1 && low <= high => Ok((low, high)),
        _ => bail!("invalid port range '{text}' (expected LO-HI with 1 <= LO <= HI <= 65535)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_forms() {
        assert_eq!(local("0", Families::Any).unwrap().to_string(), "0.0.0.0:0");
        assert_eq!(
            local("8080", Families::V6).unwrap().to_string(),
            "[::]:8080"
        );
        assert_eq!(
            local("127.0.0.1:9", Families::Any).unwrap().to_string(),
            "127.0.0.1:9"
        );
        assert_eq!(
            local("[::1]:0", Families::Any).unwrap().to_string(),
            "[::1]:0"
        );
        assert!(local("::1:80", Families::Any).is_err());
        assert!(local("70000", Families::Any).is_err());
        assert!(local("127.0.0.1:80", Families::V6).is_err());
    }

    #[test]
    fn remote_forms() {
        assert_eq!(remote("127.0.0.1:80", Families::Any).unwrap()[0].port(), 80);
        assert!(remote("127.0.0.1:0", Families::Any).is_err());
        assert!(remote(":80", Families::Any).is_err());
        assert!(remote("no-such-host.invalid:80", Families::Any).is_err());
        assert!(resolve("bad host!", Families::Any).is_err());
        assert!(resolve("a\x1b[2J", Families::Any).is_err());
    }

    #[test]
    fn source_and_range() {
        assert_eq!(
            source("127.0.0.1", Families::Any).unwrap().to_string(),
            "127.0.0.1:0"
        );
        assert_eq!(
            source("[::1]", Families::Any).unwrap().to_string(),
            "[::1]:0"
        );
        assert_eq!(
            source("127.0.0.1:5000", Families::Any).unwrap().port(),
            5000
        );
        assert_eq!(port_range("40000-40099").unwrap(), (40000, 40099));
        assert!(port_range("5-3").is_err());
    }
}
