//! Addresses as people type them: `8080`, `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`,
//! and link-local IPv6 with its interface, `[fe80::1%eth0]:8080` or `fe80::1%2` (the form `ls`
//! prints). An address is a `SocketAddr` from the start so that the scope (the interface
//! index) travels with it to bind() and connect(); without it the kernel says EINVAL.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, ToSocketAddrs};

use anyhow::{Result, bail};

use crate::ports::parse_port;
use crate::text::escaped;

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
            bail!(
                "'{}': write an IPv6 address and port as [ADDR]:PORT or ADDR PORT",
                escaped(text)
            );
        };
        return Ok((Some(host), port));
    }
    match text.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => {
            bail!(
                "'{}': write an IPv6 address and port as [ADDR]:PORT or ADDR PORT, e.g. [::1]:8080",
                escaped(text)
            )
        }
        Some((host, port)) => Ok((Some(host), port)),
        None => Ok((None, text)),
    }
}

/// The one port an endpoint takes; a list or a range (`80,443`, `8000-8100`) is refused as
/// such rather than as an unknown service name.
fn one_port(text: &str) -> Result<u16> {
    let numeric = |t: &str| !t.trim().is_empty() && t.trim().bytes().all(|b| b.is_ascii_digit());
    let range = text
        .split_once('-')
        .is_some_and(|(low, high)| numeric(low) && numeric(high));
    if text.contains(',') || range {
        bail!(
            "'{}': one port here, not a list or a range (those are for probe, wait and the port filters)",
            escaped(text.trim())
        );
    }
    parse_port(text)
}

/// Whether `text` names a host and no port (a name, `127.0.0.1`, `::1`, `[::1]`,
/// `fe80::1%eth0`), so that the port is the next argument, as in nc's `HOST PORT`.
pub fn is_host_alone(text: &str) -> bool {
    let text = text.trim();
    literal(unbracket(text)).is_some() || !text.contains(':')
}

/// Where a command points, as typed: `HOST:PORT`, `[V6]:PORT`, or nc's `HOST PORT` (two
/// arguments). The port stays text: one port, or a list for `probe` and `wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub host: &'a str,
    pub port: &'a str,
}

impl<'a> Target<'a> {
    pub fn parse(first: &'a str, second: Option<&'a str>) -> Result<Target<'a>> {
        let first = first.trim();
        let target = match second {
            Some(port) if is_host_alone(first) => Target {
                host: unbracket(first),
                port,
            },
            // A malformed first argument ('[::1') is told as such, not as a second port.
            Some(_) => bail!(
                "'{}' already has a port: give HOST:PORT or HOST PORT, not both",
                escaped(split(first).map(|_| first)?)
            ),
            None if is_host_alone(first) => bail!(
                "'{}': give a port too: HOST:PORT, [IPV6]:PORT or HOST PORT",
                escaped(first)
            ),
            None => match split(first)? {
                (Some(host), port) if !host.is_empty() => Target { host, port },
                _ => bail!("'{}': give a host and a port, HOST:PORT", escaped(first)),
            },
        };
        Ok(target)
    }
}

/// A local address to bind: `PORT` (port 0: the kernel chooses), `ADDR:PORT`, or `ADDR PORT`
/// as two arguments (nc -l's order). Without an address: 0.0.0.0, or [::] with -6.
pub fn local(first: &str, second: Option<&str>, families: Families) -> Result<SocketAddr> {
    let (host, port) = match second {
        Some(port) if is_host_alone(first) => (Some(unbracket(first.trim())), port),
        Some(_) => bail!(
            "'{}' already has a port: give ADDR:PORT or ADDR PORT, not both",
            escaped(split(first.trim()).map(|_| first)?)
        ),
        None => split(first.trim())?,
    };
    let port = match port.trim() {
        "0" => 0,
        other => one_port(other)?,
    };
    let mut addr = match host {
        None | Some("") | Some("*") => match families {
            Families::V6 => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
            _ => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        },
        Some(host) => literal(host)
            .unwrap_or_else(|| bail!("'{}' is not an IP address of this host", escaped(host)))?,
    };
    addr.set_port(port);
    if !families.allows(&addr) {
        bail!("{addr} is not of the address family asked for (-4/-6)");
    }
    Ok(addr)
}

/// A remote target (see `Target`), resolved (getaddrinfo, so /etc/hosts and DNS), IPv4 and
/// IPv6 as the resolver orders them, filtered by -4/-6. The port is checked before any name
/// is looked up.
pub fn remote(first: &str, second: Option<&str>, families: Families) -> Result<Vec<SocketAddr>> {
    let target = Target::parse(first, second)?;
    let port = one_port(target.port)?;
    let mut addrs = resolve(target.host, families)?;
    for addr in &mut addrs {
        addr.set_port(port);
    }
    Ok(addrs)
}

/// A host name or an address (IPv6 with or without brackets, with or without a scope),
/// resolved with getaddrinfo (so /etc/hosts and DNS), in the resolver's order, filtered by
/// -4/-6, without repeats. Port 0, the scope kept.
pub fn resolve(host: &str, families: Families) -> Result<Vec<SocketAddr>> {
    let host = host.trim();
    let bare = unbracket(host);
    if bare.is_empty() {
        bail!("empty host name");
    }
    let mut found: Vec<SocketAddr> = match literal(bare) {
        Some(addr) => vec![addr?],
        None => {
            check_name(bare)?;
            (bare, 0)
                .to_socket_addrs()
                .map_err(|e| anyhow::anyhow!("unknown host '{bare}' ({e})"))?
                .collect()
        }
    };
    let mut seen = std::collections::HashSet::new();
    found.retain(|addr| seen.insert(*addr));
    let allowed: Vec<SocketAddr> = found
        .iter()
        .copied()
        .filter(|addr| families.allows(addr))
        .collect();
    if allowed.is_empty() {
        let found: Vec<IpAddr> = found.iter().map(SocketAddr::ip).collect();
        bail!("'{bare}' has no address of the family asked for (-4/-6): {found:?}");
    }
    Ok(allowed)
}

fn unbracket(text: &str) -> &str {
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text)
}

/// An IP address as typed, port 0: `127.0.0.1`, `::1`, or IPv6 with a scope, `fe80::1%eth0`
/// (an interface name) or `fe80::1%2` (its index). None when it is not an address at all (a
/// host name, say); an error when the scope is wrong.
fn literal(text: &str) -> Option<Result<SocketAddr>> {
    let (ip, scope) = match text.split_once('%') {
        Some((ip, scope)) => (ip, Some(scope)),
        None => (text, None),
    };
    let ip: IpAddr = ip.parse().ok()?;
    let Some(scope) = scope else {
        return Some(Ok(SocketAddr::new(ip, 0)));
    };
    let IpAddr::V6(v6) = ip else {
        return Some(Err(anyhow::anyhow!(
            "'{}': a scope (%interface) belongs to an IPv6 address only",
            escaped(text)
        )));
    };
    let index = match scope.parse::<u32>() {
        Ok(index) => Some(index),
        Err(_) if scope.is_empty() => None,
        Err(_) => crate::host::interface_index(scope),
    };
    Some(match index {
        Some(index) => Ok(SocketAddr::V6(SocketAddrV6::new(v6, 0, 0, index))),
        None => Err(anyhow::anyhow!(
            "'{}': no network interface named '{}' here (see `ip link`)",
            escaped(text),
            escaped(scope)
        )),
    })
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
            escaped(name)
        );
    }
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    if lower == "invalid" || lower.ends_with(".invalid") {
        bail!(
            "unknown host '{}' (the .invalid domain never resolves)",
            escaped(name)
        );
    }
    Ok(())
}

/// `ADDR` or `ADDR:PORT` for --source; a bare address binds port 0.
pub fn source(text: &str, families: Families) -> Result<SocketAddr> {
    let text = text.trim();
    if let Some(addr) = literal(unbracket(text)) {
        let addr = addr?;
        if !families.allows(&addr) {
            bail!("{addr} is not of the address family asked for (-4/-6)");
        }
        return Ok(addr);
    }
    let (host, _) = split(text)?;
    if host.is_none() {
        // A name alone: --source binds an address of this host, so no name is looked up.
        bail!(
            "'{}' is not an IP address: --source takes ADDR or ADDR:PORT, like 127.0.0.1, \
             [::1]:5000 or fe80::1%eth0",
            escaped(text)
        );
    }
    local(text, None, families)
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
    fn an_unclosed_bracket_is_named_before_a_second_port() {
        let remote = Target::parse("[::1", Some("8080")).unwrap_err().to_string();
        assert!(remote.contains("[ADDR]:PORT"), "{remote}");
        let here = local("[::1", Some("8080"), Families::Any)
            .unwrap_err()
            .to_string();
        assert!(here.contains("[ADDR]:PORT"), "{here}");
        let both = Target::parse("localhost:80", Some("81"))
            .unwrap_err()
            .to_string();
        assert!(both.contains("already has a port"), "{both}");
    }

    #[test]
    fn an_endpoint_takes_one_port_and_says_so() {
        for list in ["80,443", "8000-8100", " 1-2 ", "http,https"] {
            let refused = one_port(list).unwrap_err().to_string();
            assert!(refused.contains("one port here"), "{list}: {refused}");
        }
        assert_eq!(one_port("8080").unwrap(), 8080);
        // A service name may hold a '-'; it is not a range.
        if let Ok(port) = parse_port("ftp-data") {
            assert_eq!(one_port("ftp-data").unwrap(), port);
        }
        assert!(
            one_port("-1")
                .unwrap_err()
                .to_string()
                .contains("unknown port")
        );
    }

    #[test]
    fn local_forms() {
        assert_eq!(
            local("0", None, Families::Any).unwrap().to_string(),
            "0.0.0.0:0"
        );
        assert_eq!(
            local("8080", None, Families::V6).unwrap().to_string(),
            "[::]:8080"
        );
        assert_eq!(
            local("127.0.0.1:9", None, Families::Any)
                .unwrap()
                .to_string(),
            "127.0.0.1:9"
        );
        assert_eq!(
            local("[::1]:0", None, Families::Any).unwrap().to_string(),
            "[::1]:0"
        );
        assert!(local("::1:80", None, Families::Any).is_err());
        assert!(local("70000", None, Families::Any).is_err());
        assert!(local("127.0.0.1:80", None, Families::V6).is_err());
    }

    #[test]
    fn remote_forms() {
        assert_eq!(
            remote("127.0.0.1:80", None, Families::Any).unwrap()[0].port(),
            80
        );
        assert!(remote("127.0.0.1:0", None, Families::Any).is_err());
        assert!(remote(":80", None, Families::Any).is_err());
        assert!(remote("no-such-host.invalid:80", None, Families::Any).is_err());
        assert!(resolve("bad host!", Families::Any).is_err());
        assert!(resolve("a\x1b[2J", Families::Any).is_err());
    }

    #[test]
    fn one_target_rule_host_port_brackets_and_nc_s_two_arguments() {
        let parse = |a, b| Target::parse(a, b).map(|t| (t.host, t.port));
        assert_eq!(parse("db:5432", None).unwrap(), ("db", "5432"));
        assert_eq!(parse("[::1]:22,80", None).unwrap(), ("::1", "22,80"));
        assert_eq!(parse("db", Some("5432")).unwrap(), ("db", "5432"));
        assert_eq!(parse("::1", Some("22")).unwrap(), ("::1", "22"));
        assert_eq!(parse("[::1]", Some("22")).unwrap(), ("::1", "22"));
        assert_eq!(
            parse("fe80::1%lo", Some("22")).unwrap(),
            ("fe80::1%lo", "22")
        );
        assert_eq!(
            parse("[fe80::1%lo]:22", None).unwrap(),
            ("fe80::1%lo", "22")
        );
        let err = |a, b| parse(a, b).unwrap_err().to_string();
        assert!(
            err("db", None).contains("give a port too"),
            "{}",
            err("db", None)
        );
        assert!(err("::1", None).contains("give a port too"));
        assert!(err("db:1", Some("2")).contains("already has a port"));
        assert!(err("::1:80", None).contains("[IPV6]:PORT"));
        assert!(err(":80", None).contains("give a host and a port"));
        let v4 = remote("127.0.0.1", Some("80"), Families::Any).unwrap();
        assert_eq!(v4[0].to_string(), "127.0.0.1:80");
        let v6 = remote("::1", Some("http"), Families::Any).unwrap();
        assert_eq!(v6[0].to_string(), "[::1]:80");
        // The port is checked first: a bad one never reaches the resolver.
        let bad = remote("nowhere.invalid", Some("99999"), Families::Any).unwrap_err();
        assert!(bad.to_string().contains("invalid port"), "{bad}");
        assert_eq!(
            local("127.0.0.1", Some("7788"), Families::Any)
                .unwrap()
                .to_string(),
            "127.0.0.1:7788"
        );
        assert_eq!(
            local("::", Some("0"), Families::Any).unwrap().to_string(),
            "[::]:0"
        );
        assert!(local("127.0.0.1:1", Some("2"), Families::Any).is_err());
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
        let err = source("localhost", Families::Any).unwrap_err().to_string();
        assert!(err.contains("is not an IP address"), "{err}");
        assert_eq!(port_range("40000-40099").unwrap(), (40000, 40099));
        assert!(port_range("5-3").is_err());
    }

    fn scope(addr: SocketAddr) -> u32 {
        match addr {
            SocketAddr::V6(v6) => v6.scope_id(),
            SocketAddr::V4(_) => 0,
        }
    }

    #[test]
    fn scoped_link_local_addresses_keep_their_interface() {
        let lo = crate::host::interface_index("lo").unwrap();
        let listen = local("[fe80::1%lo]:8080", None, Families::Any).unwrap();
        assert_eq!((listen.port(), scope(listen)), (8080, lo));
        assert_eq!(
            scope(local("[fe80::1%7]:0", None, Families::Any).unwrap()),
            7
        );
        let target = remote("[fe80::1%lo]:22", None, Families::Any).unwrap();
        assert_eq!(scope(target[0]), lo);
        let probed = resolve("fe80::1%lo", Families::Any).unwrap();
        assert_eq!(scope(probed[0]), lo);
        assert_eq!(scope(resolve("[fe80::1%3]", Families::Any).unwrap()[0]), 3);
        assert_eq!(scope(source("fe80::1%lo", Families::Any).unwrap()), lo);
        assert_eq!(
            scope(source("[fe80::1%lo]:5000", Families::Any).unwrap()),
            lo
        );
        for bad in ["fe80::1%no-such-if0", "127.0.0.1%lo", "fe80::1%"] {
            assert!(resolve(bad, Families::Any).is_err(), "{bad}");
        }
        let err = local("[fe80::1%a\x1b[2J]:80", None, Families::Any).unwrap_err();
        assert!(!err.to_string().contains('\x1b'), "{err}");
    }
}
