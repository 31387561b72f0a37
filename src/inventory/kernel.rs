//! Linux kernel settings that shape ports, read from /proc/sys (per network namespace).

use crate::model::PortSettings;

fn read(name: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}")).ok()
}

/// net.ipv4.ip_local_port_range: where the kernel picks ephemeral ports.
pub fn port_range() -> Option<(u16, u16)> {
    let text = read("ip_local_port_range")?;
    let mut parts = text.split_whitespace().map(str::parse);
    match (parts.next(), parts.next()) {
        (Some(Ok(low)), Some(Ok(high))) => Some((low, high)),
        _ => None,
    }
}

/// net.ipv4.ip_unprivileged_port_start: ports below it need CAP_NET_BIND_SERVICE.
pub fn unprivileged_port_start() -> Option<u16> {
    read("ip_unprivileged_port_start")?.trim().parse().ok()
}

/// Everything that shapes ephemeral ports; None when the range cannot be read.
pub fn port_settings() -> Option<PortSettings> {
    Some(PortSettings {
        range: port_range()?,
        reserved: read("ip_local_reserved_ports")
            .map(|t| parse_ranges(&t))
            .unwrap_or_default(),
        unprivileged_port_start: unprivileged_port_start(),
        tcp_tw_reuse: read("tcp_tw_reuse").and_then(|t| t.trim().parse().ok()),
        tcp_fin_timeout: read("tcp_fin_timeout").and_then(|t| t.trim().parse().ok()),
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
