//! Linux kernel settings that shape ports, read from /proc/sys/net (which shows the reading
//! thread's network namespace).

use anyhow::{Context, Result, bail};

use crate::model::PortSettings;

const DIR: &str = "/proc/sys/net/ipv4";

fn read(name: &str) -> std::io::Result<String> {
    std::fs::read_to_string(format!("{DIR}/{name}"))
}

/// A number from /proc/sys/net/ipv4/`name`; None when unreadable.
pub(super) fn number<T: std::str::FromStr>(name: &str) -> Option<T> {
    read(name).ok()?.trim().parse().ok()
}

/// Everything that shapes ephemeral ports. The range is required; the rest is shown when
/// readable.
pub fn port_settings() -> Result<PortSettings> {
    let text = read("ip_local_port_range")
        .with_context(|| format!("reading {DIR}/ip_local_port_range"))?;
    let mut parts = text.split_whitespace().map(str::parse);
    let range = match (parts.next(), parts.next()) {
        (Some(Ok(low)), Some(Ok(high))) => (low, high),
        _ => bail!(
            "{DIR}/ip_local_port_range holds '{}', not two ports",
            text.trim()
        ),
    };
    Ok(PortSettings {
        range,
        reserved: read("ip_local_reserved_ports")
            .map(|t| parse_ranges(&t))
            .unwrap_or_default(),
        unprivileged_port_start: number("ip_unprivileged_port_start"),
        tcp_tw_reuse: number("tcp_tw_reuse"),
        tcp_fin_timeout: number("tcp_fin_timeout"),
    })
}

/// `8080,9000-9010` -> [(8080, 8080), (9000, 9010)].
fn parse_ranges(text: &str) -> Vec<(u16, u16)> {
    text.split(',')
        .filter_map(|part| {
            let part = part.trim();
            match part.split_once('-') {
                Some((low, high)) => Some((low.parse().ok()?, high.parse().ok()?)),
                None => part.parse().ok().map(|p| (p, p)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_ranges() {
        assert_eq!(
            super::parse_ranges("8080,9000-9010\n"),
            vec![(8080, 8080), (9000, 9010)]
        );
        assert!(super::parse_ranges("\n").is_empty());
    }
}
