//! The lifecycle lab's steps: a heading, the table, one explanation; or a JSON array.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::{Rows, Style, Tint};
use crate::lifecycle::model::{Holder, Row, Step};
use crate::model::{TcpState, TimerKind};

struct StepRows<'a>(&'a [Row]);

fn timer(r: &Row) -> String {
    match r.timer {
        None => String::new(),
        Some(t) => {
            let secs = f64::from(t.expires_ms) / 1000.0;
            match t.kind {
                // An orphaned FIN_WAIT2 runs the same timer, set from tcp_fin_timeout.
                TimerKind::TimeWait if r.state == TcpState::FinWait2 => {
                    format!("fin-timeout {secs:.1} s")
                }
                TimerKind::TimeWait => format!("time-wait {secs:.1} s"),
                // The kernel reports its loss-probe and reordering timers as this one too: with
                // nothing sent again yet, it is a probe armed (or due), not a retransmission.
                TimerKind::Retransmit if t.retransmits == 0 => {
                    format!("probe/retransmit timer {secs:.1} s, nothing resent")
                }
                TimerKind::Retransmit => {
                    format!("retransmit in {secs:.1} s, {} sent again", t.retransmits)
                }
                TimerKind::KeepAlive => format!("keepalive {secs:.1} s"),
                TimerKind::ZeroWindowProbe => format!("window probe {secs:.1} s"),
            }
        }
    }
}

impl Rows for StepRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &[
            "Role", "Local", "Remote", "State", "Recv-Q", "Send-Q", "Owner", "Timer",
        ]
    }

    fn right_aligned(&self, column: usize) -> bool {
        matches!(column, 4 | 5)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let r = &self.0[row];
        let _ = match column {
            0 => write!(out, "{}", r.role),
            1 => write!(out, "{}", r.local),
            2 => match r.remote {
                Some(remote) => write!(out, "{remote}"),
                None => write!(out, "*:*"),
            },
            3 => write!(out, "{}", r.state.name()),
            4 => write!(out, "{}", r.recv_q),
            5 => write!(out, "{}", r.send_q),
            6 => {
                holder(&r.owner, out);
                Ok(())
            }
            _ => write!(out, "{}", timer(r)),
        };
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        (column == 3)
            .then(|| super::text::state_tint(self.0[row].state))
            .flatten()
    }
}

pub fn step(out: &mut dyn Write, step: &Step, style: &Style) -> io::Result<()> {
    writeln!(out, "Step {} — {}: {}", step.number, step.actor, step.call)?;
    if step.rows.is_empty() {
        writeln!(
            out,
            "  (none of the lab's sockets is in the kernel's table)"
        )?;
    } else {
        super::rows(out, &StepRows(&step.rows), style)?;
    }
    if !step.segments.is_empty() {
        writeln!(out, "Segments on the wire:")?;
        for s in &step.segments {
            let mut line = format!("  {:>8} → {:<8} {:<8} seq {}", s.from, s.to, s.flags, s.seq);
            if let Some(ack) = s.ack {
                let _ = write!(line, "  ack {ack}");
            }
            if s.count > 1 {
                let _ = write!(line, "  ({} segments)", s.count);
            }
            if s.len > 0 {
                let _ = write!(line, "  {}", crate::text::count(s.len, "byte"));
            }
            writeln!(out, "{line}")?;
        }
    }
    if step.segments_not_shown > 0 {
        writeln!(
            out,
            "  … {} segments not shown (the capture's buffer overflowed)",
            step.segments_not_shown
        )?;
    }
    writeln!(out, "{}\n", step.explanation)
}

#[derive(Serialize)]
struct JsonStep<'a> {
    step: usize,
    actor: &'static str,
    call: &'a str,
    sockets: Vec<JsonRow>,
    explanation: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    segments: Vec<JsonSegment<'a>>,
    /// Segments the capture lost (its buffer overflowed); absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    segments_not_shown: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct JsonSegment<'a> {
    from: &'static str,
    to: &'static str,
    flags: &'a str,
    seq: u32,
    ack: Option<u32>,
    len: usize,
    count: usize,
}

#[derive(Serialize)]
struct JsonRow {
    role: &'static str,
    local: String,
    remote: Option<String>,
    state: &'static str,
    recv_q: u32,
    send_q: u32,
    owner: String,
    timer_ms: Option<u32>,
}

pub fn json(out: &mut dyn Write, steps: &[Step]) -> io::Result<()> {
    super::json::array(
        out,
        steps.iter().map(|s| JsonStep {
            step: s.number,
            actor: s.actor,
            call: &s.call,
            explanation: &s.explanation,
            segments_not_shown: s.segments_not_shown,
            segments: s
                .segments
                .iter()
                .map(|g| JsonSegment {
                    from: g.from,
                    to: g.to,
                    flags: &g.flags,
                    seq: g.seq,
                    ack: g.ack,
                    len: g.len,
                    count: g.count,
                })
                .collect(),
            sockets: s
                .rows
                .iter()
                .map(|r| JsonRow {
                    role: r.role,
                    local: r.local.to_string(),
                    remote: r.remote.map(|a| a.to_string()),
                    state: r.state.name(),
                    recv_q: r.recv_q,
                    send_q: r.send_q,
                    owner: {
                        let mut text = String::new();
                        holder(&r.owner, &mut text);
                        text
                    },
                    timer_ms: r.timer.map(|t| t.expires_ms),
                })
                .collect(),
        }),
    )
}

/// `1234/portscope`, several joined by commas, as in the `ls` table.
fn holder(h: &Holder, out: &mut String) {
    match h {
        Holder::Nobody(label) => out.push_str(label),
        Holder::Processes(named) => {
            for (i, (pid, name)) in named.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{pid}/");
                super::text::escape_into(name, out);
            }
        }
    }
}
