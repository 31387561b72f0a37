//! The ICMP rate limits of a UDP sweep's target, read in the network namespace that holds its
//! address when that namespace is on this machine (this one, or one named in /run/netns).

use std::net::IpAddr;

use crate::model::{IcmpLimits, LimitSource};

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

/// Whether the calling thread's namespace has the address: its routing says the address is
/// local (an interface's address, or a range given by `ip route add local`), as `ip route get`
/// tells. A trial bind would not do: a new namespace with no address, not even loopback up,
/// lets a bind to any address through.
fn holds(ip: IpAddr) -> bool {
    ip.is_loopback() || routes_locally(ip).unwrap_or(false)
}

/// RTM_GETROUTE for `ip` in the calling thread's namespace (a netlink socket belongs to the
/// namespace it is made in): whether the route found is of type local.
fn routes_locally(ip: IpAddr) -> std::io::Result<bool> {
    use netlink_sys::{Socket, protocols::NETLINK_ROUTE};
    const RTM_NEWROUTE: u16 = 24;
    const RTM_GETROUTE: u16 = 26;
    const RTA_DST: u16 = 1;
    const RTN_LOCAL: u8 = 2;
    let (family, address) = match ip {
        IpAddr::V4(v4) => (libc::AF_INET as u8, v4.octets().to_vec()),
        IpAddr::V6(v6) => (libc::AF_INET6 as u8, v6.octets().to_vec()),
    };
    let mut request = super::netlink::header(RTM_GETROUTE, libc::NLM_F_REQUEST as u16);
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type; flags.
    request.extend_from_slice(&[family, (address.len() * 8) as u8, 0, 0, 0, 0, 0, 0]);
    request.extend_from_slice(&0u32.to_ne_bytes());
    request.extend_from_slice(&(4 + address.len() as u16).to_ne_bytes());
    request.extend_from_slice(&RTA_DST.to_ne_bytes());
    request.extend_from_slice(&address);
    super::netlink::fix_length(&mut request);
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.send(&request, 0)?;
    let mut reply = Vec::with_capacity(4096);
    socket.recv(&mut reply, 0)?;
    // An unreachable address is an NLMSG_ERROR; a route, RTM_NEWROUTE with rtm_type at 7.
    let kind = reply.get(4..6).map(|k| u16::from_ne_bytes([k[0], k[1]]));
    Ok(kind == Some(RTM_NEWROUTE) && reply.get(16 + 7) == Some(&RTN_LOCAL))
}

/// The limits as the calling thread's namespace has them (kernel defaults where unreadable).
fn read(source: LimitSource) -> IcmpLimits {
    let number = |name: &str, default: u32| super::sysctl::number(name).unwrap_or(default);
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

    /// `f` on a thread moved into a new network namespace (loopback down, no address);
    /// None without the right to make one (not root), or when `f` says it cannot run.
    fn in_new_namespace<T: Send>(f: impl FnOnce() -> Option<T> + Send) -> Option<T> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: moves only this short-lived thread into a new network namespace.
                    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                        return None;
                    }
                    f()
                })
                .join()
                .expect("the thread in the new namespace")
        })
    }

    /// A namespace just made has no address, not even loopback up, and a bind to any address
    /// succeeds there: it must not pass for the one that holds the target (it did, and a
    /// sweep read such a namespace's limits). Skipped (loudly) without root.
    #[test]
    fn a_namespace_without_addresses_holds_none() {
        let seen = in_new_namespace(|| {
            let target = IpAddr::from([10, 214, 1, 2]);
            let bound = std::net::UdpSocket::bind((target, 0)).is_ok();
            Some((bound, holds(target), holds(IpAddr::from([127, 0, 0, 1]))))
        });
        let Some((bound, held, loopback)) = seen else {
            eprintln!("SKIPPED a_namespace_without_addresses_holds_none: needs root (unshare)");
            return;
        };
        assert!(bound, "the kernel lets a bind through here");
        assert!(!held);
        assert!(loopback);
    }

    /// A namespace can own addresses through a `local` route with no interface address
    /// (AnyIP: `ip route add local 10.214.9.0/24 dev lo`); it answers for them, so it holds
    /// them. Skipped (loudly) without root or `ip`.
    #[test]
    fn a_namespace_holds_an_address_its_local_route_gives_it() {
        let seen = in_new_namespace(|| {
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
        });
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
