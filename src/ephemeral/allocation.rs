//! What an allocation experiment found, and what the kernel's known policy predicts. Plain data.

use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Connect,
    Bind,
    BindNoPort,
    Udp,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Connect => "connect",
            Method::Bind => "bind",
            Method::BindNoPort => "bind-no-port",
            Method::Udp => "udp",
        }
    }

    /// The parity the kernel prefers for this method, given the range's low end: connect()
    /// takes ports of the low end's parity first, bind(0) the other one, UDP neither.
    pub fn preferred_even(self, low: u16) -> Option<bool> {
        let low_even = low % 2 == 0;
        match self {
            Method::Connect | Method::BindNoPort => Some(low_even),
            Method::Bind => Some(!low_even),
            Method::Udp => None,
        }
    }

    /// What Linux is known to do, in a sentence.
    pub fn policy(self) -> &'static str {
        match self {
            Method::Connect => {
                "connect() (__inet_hash_connect, RFC 6056 double hash): the starting point is \
                 hashed from the destination, the search walks the range in random steps and \
                 tries ports of the low end's parity first, leaving the others for bind()"
            }
            Method::Bind => {
                "bind(0) (inet_csk_find_open_port): a random start, ports of the parity opposite \
                 to the low end first, so listeners and bound clients rarely take the ports \
                 connect() wants"
            }
            Method::BindNoPort => {
                "IP_BIND_ADDRESS_NO_PORT: bind() takes the address only and the port is chosen \
                 at connect(), with connect()'s policy and per-destination sharing"
            }
            Method::Udp => {
                "UDP (udp_lib_get_port) gives an unbound socket a random free port at its first \
                 send, with no parity preference"
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub method: Method,
    /// The range the kernel chose from.
    pub range: (u16, u16),
    /// Ports in allocation order.
    pub ports: Vec<u16>,
}

impl Allocation {
    pub fn even(&self) -> usize {
        self.ports.iter().filter(|p| *p % 2 == 0).count()
    }

    pub fn odd(&self) -> usize {
        self.ports.len() - self.even()
    }

    pub fn distinct(&self) -> usize {
        self.ports.iter().collect::<HashSet<_>>().len()
    }

    pub fn in_range(&self) -> usize {
        self.ports
            .iter()
            .filter(|p| (self.range.0..=self.range.1).contains(*p))
            .count()
    }

    /// Counts per bucket over the range, `buckets` of them.
    pub fn histogram(&self, buckets: usize) -> Vec<usize> {
        let buckets = buckets.max(1);
        let span = usize::from(self.range.1 - self.range.0) + 1;
        let mut counts = vec![0; buckets];
        for port in self
            .ports
            .iter()
            .filter(|p| (self.range.0..=self.range.1).contains(*p))
        {
            let offset = usize::from(port - self.range.0);
            counts[(offset * buckets / span).min(buckets - 1)] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_and_histogram() {
        let a = Allocation {
            method: Method::Connect,
            range: (40000, 40199),
            ports: vec![40000, 40002, 40199, 40002],
        };
        assert_eq!(
            (a.even(), a.odd(), a.distinct(), a.in_range()),
            (3, 1, 3, 4)
        );
        assert_eq!(a.histogram(4), vec![3, 0, 0, 1]);
        assert_eq!(Method::Connect.preferred_even(40000), Some(true));
        assert_eq!(Method::Bind.preferred_even(32768), Some(false));
        assert_eq!(Method::Bind.preferred_even(32769), Some(true));
        assert_eq!(Method::Udp.preferred_even(0), None);
    }
}
