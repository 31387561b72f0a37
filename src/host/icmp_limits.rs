//! The ICMP rate limits of a UDP sweep's target, read in the network namespace that holds its
//! address when that namespace is on this machine (this one, or one named in /run/netns).

use std::net::IpAddr;

use crate::model::{IcmpLimits, LimitSource};

const DIR: &str = "/proc/sys/net/ipv4";
const NAMED: &str = "/run/netns";

/// The limits `ip` answers under, and where they were read.
pub fn for_target(ip: IpAddr) -> IcmpLimits {
    if holds(ip) {
        return read(LimitSource::Loopback);
    }
    if let Some(limits) = named_namespaces().into_iter().find_map(|(name, file)| {
        inside(&file, || {
            holds(ip).then(|| read(LimitSource::Namespace(name.clone())))
        })
    }) {
        return limits;
    }
    read(LimitSource::Assumed)
}

/// Whether the calling thread's namespace has the address on one of its interfaces
/// (getifaddrs asks the thread's own namespace). A trial bind would not tell: a new namespace
/// with no address, not even loopback up, lets a bind to any address through.
fn holds(ip: IpAddr) -> bool {
    ip.is_loopback() || interface_addresses().contains(&ip)
}

/// The IPv4 and IPv6 addresses of the calling thread's namespace's interfaces.
fn interface_addresses() -> Vec<IpAddr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a list that freeifaddrs releases below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut at = list;
    while !at.is_null() {
        // SAFETY: a node of the list getifaddrs returned, alive until freeifaddrs.
        let node = unsafe { &*at };
        if !node.ifa_addr.is_null() {
            // SAFETY: ifa_addr points to a sockaddr of the family it names.
            let address = unsafe {
                match i32::from((*node.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let v4 = &*node.ifa_addr.cast::<libc::sockaddr_in>();
                        Some(IpAddr::from(v4.sin_addr.s_addr.to_ne_bytes()))
                    }
                    libc::AF_INET6 => {
                        let v6 = &*node.ifa_addr.cast::<libc::sockaddr_in6>();
                        Some(IpAddr::from(v6.sin6_addr.s6_addr))
                    }
                    _ => None,
                }
            };
            found.extend(address);
        }
        at = node.ifa_next;
    }
    // SAFETY: the list getifaddrs returned, freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// The limits as the calling thread's namespace has them (kernel defaults where unreadable).
fn read(source: LimitSource) -> IcmpLimits {
    let number = |name: &str, default: u32| {
        std::fs::read_to_string(format!("{DIR}/{name}"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(default)
    };
    IcmpLimits {
        ratelimit_ms: number("icmp_ratelimit", 1000),
        ratemask: number("icmp_ratemask", 6168),
        msgs_per_sec: number("icmp_msgs_per_sec", 1000),
        source,
    }
}

fn named_namespaces() -> Vec<(String, std::fs::File)> {
    let Ok(dir) = std::fs::read_dir(NAMED) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let file = std::fs::File::open(e.path()).ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), file))
        })
        .collect()
}

/// `f` on a short-lived thread inside the namespace; None when it cannot be entered.
fn inside<T: Send>(file: &std::fs::File, f: impl FnOnce() -> Option<T> + Send) -> Option<T> {
    super::namespaces::on_thread_inside(file, f).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A namespace just made has no address, not even loopback up, and a bind to any address
    /// succeeds there: it must not pass for the one that holds the target (it did, and a
    /// sweep read such a namespace's limits). Skipped (loudly) without root.
    #[test]
    fn a_namespace_without_addresses_holds_none() {
        let seen = std::thread::spawn(|| {
            // SAFETY: moves only this short-lived thread into a new network namespace.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return None;
            }
            let target = IpAddr::from([10, 214, 1, 2]);
            let bound = std::net::UdpSocket::bind((target, 0)).is_ok();
            Some((bound, holds(target), holds(IpAddr::from([127, 0, 0, 1]))))
        })
        .join()
        .expect("the thread in the new namespace");
        let Some((bound, held, loopback)) = seen else {
            eprintln!("SKIPPED a_namespace_without_addresses_holds_none: needs root (unshare)");
            return;
        };
        assert!(bound, "the kernel lets a bind through here");
        assert!(!held);
        assert!(loopback);
    }
}

#[cfg(test)]
mod review_tests {
    use super::*;

    /// A namespace can own addresses through a `local` route with no interface address
    /// (AnyIP: `ip route add local 10.214.9.0/24 dev lo`); it answers for them, so it holds
    /// them. Skipped (loudly) without root or `ip`.
    #[test]
    fn a_namespace_holds_an_address_its_local_route_gives_it() {
        let seen = std::thread::spawn(|| {
            // SAFETY: moves only this short-lived thread into a new network namespace.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return None;
            }
            // A child forked from this thread starts in its namespace.
            let ip = |args: &[&str]| {
                std::process::Command::new("ip")
                    .args(args)
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !(ip(&["link", "set", "lo", "up"])
                && ip(&["route", "add", "local", "10.214.9.0/24", "dev", "lo"]))
            {
                return None;
            }
            let target = IpAddr::from([10, 214, 9, 5]);
            let kernel_local = std::net::UdpSocket::bind((target, 0)).is_ok();
            Some((kernel_local, holds(target)))
        })
        .join()
        .expect("the thread in the new namespace");
        let Some((kernel_local, held)) = seen else {
            eprintln!(
                "SKIPPED a_namespace_holds_an_address_its_local_route_gives_it: needs root and ip"
            );
            return;
        };
        assert!(kernel_local, "the kernel has the address as local");
        assert!(held, "holds() disagrees with the kernel's local route");
    }
}
