//! Port filters compiled to inet_diag bytecode, so that the kernel sends only the sockets a
//! port filter wants (as `ss 'sport = :80'` does). The netlink crate has no builder for it.
//!
//! Each filter (local or remote, local, remote) is an OR of alternatives, one per range of its
//! port set; an alternative is an AND of tests (`== p`, or `>= low` and `<= high`). Filters are
//! ANDed by running them one after the other.

use crate::ports::PortSet;
use crate::query::Query;

/// enum in include/uapi/linux/inet_diag.h
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const JMP: u8 = 1;
const S_GE: u8 = 2;
const S_LE: u8 = 3;
const D_GE: u8 = 4;
const D_LE: u8 = 5;
const S_EQ: u8 = 11;
const D_EQ: u8 = 12;

/// struct inet_diag_bc_op { u8 code; u8 yes; u16 no; }; a port test is two of them, the
/// port sitting in the second one's `no`.
const OP: usize = 4;
const TEST: usize = 2 * OP;

/// Jumps are 16-bit: a longer program (hundreds of scattered ports) is not sent, and the
/// sockets are filtered after the dump instead (`Query::matches_kernel_fields` always runs).
const MOST: usize = 32 * 1024;

/// One comparison of a socket's local (source) or remote (destination) port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Test {
    code: u8,
    port: u16,
}

/// The compiled port filters of a query; empty when it has none (or too many ranges).
#[derive(Debug, Clone, Default)]
pub struct PortFilter {
    code: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Local,
    Remote,
}

impl PortFilter {
    pub fn new(query: &Query) -> PortFilter {
        let alternatives = |set: &PortSet, side: Side| -> Vec<Vec<Test>> {
            set.ranges().iter().map(|r| tests(*r, side)).collect()
        };
        let mut conditions = Vec::new();
        if let Some(set) = &query.any_port {
            let mut either = alternatives(set, Side::Local);
            either.extend(alternatives(set, Side::Remote));
            conditions.push(either);
        }
        if let Some(set) = &query.local_port {
            conditions.push(alternatives(set, Side::Local));
        }
        if let Some(set) = &query.remote_port {
            conditions.push(alternatives(set, Side::Remote));
        }
        PortFilter {
            code: compile(&conditions),
        }
    }

    /// Appends the bytecode attribute to a serialized request and fixes its length.
    pub fn append_to(&self, request: &mut Vec<u8>) {
        if self.code.is_empty() {
            return;
        }
        let attribute_len = 4 + self.code.len() as u16;
        request.extend_from_slice(&attribute_len.to_ne_bytes());
        request.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        request.extend_from_slice(&self.code);
        let total = request.len() as u32;
        request[..4].copy_from_slice(&total.to_ne_bytes());
    }
}

/// The tests for one range of ports: equality for a single port, otherwise the bounds that
/// say something (every port is `>= 0` and `<= 65535`).
fn tests((low, high): (u16, u16), side: Side) -> Vec<Test> {
    let (eq, ge, le) = match side {
        Side::Local => (S_EQ, S_GE, S_LE),
        Side::Remote => (D_EQ, D_GE, D_LE),
    };
    if low == high {
        return vec![Test {
            code: eq,
            port: low,
        }];
    }
    let mut tests = Vec::with_capacity(2);
    if low > 0 {
        tests.push(Test {
            code: ge,
            port: low,
        });
    }
    if high < u16::MAX {
        tests.push(Test {
            code: le,
            port: high,
        });
    }
    tests
}

/// The program: conditions one after the other, each an OR of alternatives. Running off the
/// end accepts; a jump past the end by one op rejects. Within a condition a failed test jumps
/// to the next alternative (the last one's, to reject), and an alternative whose tests all
/// held jumps to the end of the condition. Every op's `yes` is the next op, so every `no`
/// target lies on the `yes` path from the start, as the kernel's audit insists.
fn compile(conditions: &[Vec<Vec<Test>>]) -> Vec<u8> {
    // An alternative without tests (the range 0-65535) always holds: its condition is moot.
    let conditions: Vec<&Vec<Vec<Test>>> = conditions
        .iter()
        .filter(|alternatives| !alternatives.iter().any(Vec::is_empty))
        .collect();
    let size = |alternatives: &[Vec<Test>]| -> usize {
        let tests: usize = alternatives.iter().map(Vec::len).sum();
        tests * TEST + alternatives.len().saturating_sub(1) * OP
    };
    let total: usize = conditions.iter().map(|c| size(c)).sum();
    if total == 0 || total > MOST {
        return Vec::new();
    }
    let mut code = Vec::with_capacity(total);
    let op = |code: &mut Vec<u8>, kind: u8, yes: usize, no: usize| {
        code.extend_from_slice(&[kind, yes as u8]);
        code.extend_from_slice(&(no as u16).to_ne_bytes());
    };
    for alternatives in conditions {
        let end = code.len() + size(alternatives);
        for (i, alternative) in alternatives.iter().enumerate() {
            let last = i + 1 == alternatives.len();
            let next = code.len() + alternative.len() * TEST + OP;
            for test in alternative {
                let here = code.len();
                let no = if last { total + OP - here } else { next - here };
                op(&mut code, test.code, TEST, no);
                op(&mut code, 0, 0, usize::from(test.port));
            }
            if !last {
                let here = code.len();
                op(&mut code, JMP, OP, end - here);
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's inet_diag_bc_audit (net/ipv4/inet_diag.c) for the ops used here: every
    /// `yes` and `no` in bounds and aligned, every `no` landing on an op of the `yes` path.
    fn audit(code: &[u8]) -> bool {
        let ops_on_path = {
            let mut at = 0;
            let mut path = vec![];
            while at < code.len() {
                path.push(at);
                at += usize::from(code[at + 1]);
            }
            path
        };
        let mut at = 0;
        while at < code.len() {
            let len = code.len() - at;
            let (kind, yes) = (code[at], usize::from(code[at + 1]));
            let no = usize::from(u16::from_ne_bytes([code[at + 2], code[at + 3]]));
            let min = if kind == JMP { OP } else { TEST };
            if no < min || no > len + 4 || no % 4 != 0 || yes < min || yes > len + 4 || yes % 4 != 0
            {
                return false;
            }
            if no < len && !ops_on_path.contains(&(at + no)) {
                return false;
            }
            at += yes;
        }
        at == code.len()
    }

    /// The kernel's inet_diag_bc_run: accepts when the program runs off its end exactly.
    fn run(code: &[u8], sport: u16, dport: u16) -> bool {
        let mut at: isize = 0;
        let end = code.len() as isize;
        while at < end {
            let i = at as usize;
            let port = |i: usize| u16::from_ne_bytes([code[i + 6], code[i + 7]]);
            let yes = match code[i] {
                JMP => false,
                S_GE => sport >= port(i),
                S_LE => sport <= port(i),
                D_GE => dport >= port(i),
                D_LE => dport <= port(i),
                S_EQ => sport == port(i),
                D_EQ => dport == port(i),
                other => panic!("op {other}"),
            };
            at += if yes {
                isize::from(code[i + 1])
            } else {
                u16::from_ne_bytes([code[i + 2], code[i + 3]]) as isize
            };
        }
        at == end
    }

    fn filter(any: Option<&str>, local: Option<&str>, remote: Option<&str>) -> Vec<u8> {
        let set = |s: Option<&str>| s.map(|s| PortSet::parse(s).expect("port list"));
        let query = Query {
            any_port: set(any),
            local_port: set(local),
            remote_port: set(remote),
            ..Query::everything()
        };
        PortFilter::new(&query).code
    }

    #[test]
    fn lists_and_ranges_pass_the_audit_and_match_exactly() {
        let cases = [
            (Some("80"), None, None),
            (None, Some("22,80,8000-8100"), None),
            (None, None, Some("1-1023")),
            (Some("443,8000-8002"), Some("1024-65535"), Some("80,8080")),
            (None, Some("1-65535"), Some("5-6")),
            (Some("7"), Some("7"), Some("7")),
        ];
        let probes: Vec<u16> = vec![
            0, 1, 5, 6, 7, 21, 22, 23, 79, 80, 81, 443, 1023, 1024, 7999, 8000, 8001, 8002, 8003,
            8080, 8100, 8101, 65535,
        ];
        for (any, local, remote) in cases {
            let code = filter(any, local, remote);
            assert!(!code.is_empty(), "{any:?} {local:?} {remote:?}");
            assert!(audit(&code), "{any:?} {local:?} {remote:?}: {code:?}");
            let set = |s: Option<&str>| s.map(|s| PortSet::parse(s).expect("port list"));
            let (a, l, r) = (set(any), set(local), set(remote));
            for &sport in &probes {
                for &dport in &probes {
                    let wanted = a
                        .as_ref()
                        .is_none_or(|a| a.contains(sport) || a.contains(dport))
                        && l.as_ref().is_none_or(|l| l.contains(sport))
                        && r.as_ref().is_none_or(|r| r.contains(dport));
                    assert_eq!(
                        run(&code, sport, dport),
                        wanted,
                        "{any:?} {local:?} {remote:?} on {sport} → {dport}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_filter_or_too_many_ranges_sends_no_program() {
        assert!(filter(None, None, None).is_empty());
        let scattered: Vec<String> = (1..4000).step_by(2).map(|p| p.to_string()).collect();
        assert!(filter(Some(&scattered.join(",")), None, None).is_empty());
        let many: Vec<String> = (1..1000).step_by(2).map(|p| p.to_string()).collect();
        let code = filter(None, Some(&many.join(",")), None);
        assert!(!code.is_empty() && audit(&code));
        assert!(run(&code, 999, 0) && !run(&code, 998, 0));
    }
}
