//! `ls --summary`: socket counts by protocol, family and state (like `ss -s`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Family, Proto, Socket, TcpState, UnixSocket};

use super::{Rows, Tint, text::state_tint};

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub total: usize,
    /// By family: TCP and UDP only (None for Unix sockets, and left out of the JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<usize>,
    pub states: BTreeMap<&'static str, usize>,
    #[serde(skip)]
    by_state: BTreeMap<TcpState, usize>,
}

impl Counts {
    fn ip() -> Counts {
        Counts {
            ipv4: Some(0),
            ipv6: Some(0),
            ..Counts::default()
        }
    }

    fn add(&mut self, state: TcpState) {
        self.total += 1;
        *self.states.entry(state.name()).or_default() += 1;
        *self.by_state.entry(state).or_default() += 1;
    }
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub total: usize,
    pub tcp: Counts,
    pub udp: Counts,
    /// With `-x`: Unix domain sockets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unix: Option<Counts>,
}

impl Summary {
    pub fn of<'s>(sockets: impl IntoIterator<Item = &'s Socket>) -> Summary {
        let mut summary = Summary {
            total: 0,
            tcp: Counts::ip(),
            udp: Counts::ip(),
            unix: None,
        };
        for s in sockets {
            summary.total += 1;
            let counts = match s.proto {
                Proto::Tcp => &mut summary.tcp,
                Proto::Udp => &mut summary.udp,
            };
            counts.add(s.state);
            let family = match s.family {
                Family::Ipv4 => &mut counts.ipv4,
                Family::Ipv6 => &mut counts.ipv6,
            };
            *family = Some(family.unwrap_or(0) + 1);
        }
        summary
    }

    /// Counts Unix sockets too (`ls -s -x`).
    pub fn with_unix<'s>(mut self, sockets: impl IntoIterator<Item = &'s UnixSocket>) -> Summary {
        let mut counts = Counts::default();
        for s in sockets {
            counts.add(s.state);
        }
        self.total += counts.total;
        self.unix = Some(counts);
        self
    }

    /// The rows: each kind present, then all together.
    fn kinds(&self) -> Vec<(&'static str, &Counts)> {
        let mut kinds = vec![("tcp", &self.tcp), ("udp", &self.udp)];
        kinds.extend(self.unix.as_ref().map(|u| ("unix", u)));
        kinds
    }

    /// The table view: a column per state that occurs, in state order.
    pub fn rows(&self) -> SummaryRows<'_> {
        let kinds = self.kinds();
        let mut states: Vec<TcpState> = kinds
            .iter()
            .flat_map(|(_, c)| c.by_state.keys())
            .copied()
            .collect();
        states.sort_unstable();
        states.dedup();
        let mut headers = vec!["Proto", "Total", "IPv4", "IPv6"];
        headers.extend(states.iter().map(|s| s.name()));
        SummaryRows {
            kinds,
            headers,
            states,
        }
    }
}

pub struct SummaryRows<'a> {
    kinds: Vec<(&'static str, &'a Counts)>,
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
        self.kinds.len() + 1
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let (label, group) = match self.kinds.get(row) {
            Some((label, _)) => (*label, &self.kinds[row..=row]),
            None => ("all", &self.kinds[..]),
        };
        // A sum over the row's kinds; None when no kind has the number (Unix by family).
        let sum = |count: &dyn Fn(&Counts) -> Option<usize>| {
            group
                .iter()
                .filter_map(|(_, c)| count(c))
                .reduce(|a, b| a + b)
        };
        let value = match column {
            0 => return out.push_str(label),
            1 => sum(&|c| Some(c.total)),
            2 => sum(&|c| c.ipv4),
            3 => sum(&|c| c.ipv6),
            _ => {
                let state = self.states.get(column - 4);
                sum(&|c| {
                    Some(
                        state
                            .and_then(|st| c.by_state.get(st))
                            .copied()
                            .unwrap_or(0),
                    )
                })
            }
        };
        match value {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push('-'),
        }
    }

    fn tint(&self, _row: usize, column: usize) -> Option<Tint> {
        column
            .checked_sub(4)
            .and_then(|i| self.states.get(i))
            .and_then(|s| state_tint(*s))
    }
}
