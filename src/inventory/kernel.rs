//! Linux kernel settings that shape ports, read from /proc/sys (per network namespace).

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
