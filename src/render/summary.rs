//! `ls --summary`: socket counts by protocol, family and state (like `ss -s`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Family, Proto, Socket, TcpState};

use super::{Rows, Tint, text::state_tint};

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub total: usize,
    pub ipv4: usize,
    pub ipv6: usize,
    pub states: BTreeMap<&'static str, usize>,
    #[serde(skip)]
    by_state: BTreeMap<TcpState, usize>,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub total: usize,
    pub tcp: Counts,
    pub udp: Counts,
}

impl Summary {
    pub fn of(sockets: &[Socket]) -> Summary {
        let mut summary = Summary::default();
        for s in sockets {
            summary.total += 1;
            let counts = match s.proto {
                Proto::Tcp => &mut summary.tcp,
                Proto::Udp => &mut summary.udp,
            };
            counts.total += 1;
            match s.family {
                Family::Ipv4 => counts.ipv4 += 1,
                Family::Ipv6 => counts.ipv6 += 1,
            }
            *counts.states.entry(s.state.name()).or_default() += 1;
            *counts.by_state.entry(s.state).or_default() += 1;
        }
        summary
    }

    /// The table view: a column per state that occurs, in state order.
    pub fn rows(&self) -> SummaryRows<'_> {
        let mut states: Vec<TcpState> = self
            .tcp
            .by_state
            .keys()
            .chain(self.udp.by_state.keys())
            .copied()
            .collect();
        states.sort_unstable();
        states.dedup();
        let mut headers = vec!["Proto", "Total", "IPv4", "IPv6"];
        headers.extend(states.iter().map(|s| s.name()));
        SummaryRows {
            summary: self,
            headers,
            states,
        }
    }
}

pub struct SummaryRows<'a> {
    summary: &'a Summary,
    headers: Vec<&'static str>,
    states: Vec<TcpState>,
}

impl Rows for SummaryRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &self.headers
    }

    fn right_aligned(&self, column: usize) -> bool {
        column != 0
    }

    fn len(&self) -> usize {
        3
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let s = self.summary;
        let (label, counts) = match row {
            0 => ("tcp", Some(&s.tcp)),
            1 => ("udp", Some(&s.udp)),
            _ => ("all", None),
        };
        let value = match (column, counts) {
            (0, _) => {
                out.push_str(label);
                return;
            }
            (1, Some(c)) => c.total,
            (2, Some(c)) => c.ipv4,
            (3, Some(c)) => c.ipv6,
            (_, Some(c)) => self
                .states
                .get(column - 4)
                .and_then(|st| c.by_state.get(st))
                .copied()
                .unwrap_or(0),
            (1, None) => s.total,
            (2, None) => s.tcp.ipv4 + s.udp.ipv4,
            (3, None) => s.tcp.ipv6 + s.udp.ipv6,
            (_, None) => self.states.get(column - 4).map_or(0, |st| {
                s.tcp.by_state.get(st).unwrap_or(&0) + s.udp.by_state.get(st).unwrap_or(&0)
            }),
        };
        let _ = write!(out, "{value}");
    }

    fn tint(&self, _row: usize, column: usize) -> Option<Tint> {
        column
            .checked_sub(4)
            .and_then(|i| self.states.get(i))
            .and_then(|s| state_tint(*s))
    }
}
