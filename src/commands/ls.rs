//! `portscope ls`: the socket table.

use std::io::Write;

use anyhow::Result;

use super::namespaces::{self, Everywhere};
use super::{filters, output};
use crate::Exit;
use crate::cli::LsArgs;
use crate::host::Host;
use crate::inventory;
use crate::query::DetailLevel;
use crate::render::details::{DetailRows, Layout};
use crate::render::places::{NetnsSummary, NetnsSummaryRows, PlacedRows};
use crate::render::sockets::{self, DUAL_STACK_LEGEND, SocketRows};
use crate::render::summary::Summary;
use crate::render::{self, Style, json, pids};

pub fn run(host: &dyn Host, args: &LsArgs, mut style: Style) -> Result<Exit> {
    let need_owners = !args.summary && !args.no_owners;
    let mut query = filters::query(host, &args.filter, need_owners, args.owners.first_owner)?;
    if args.info {
        query.details = DetailLevel::All;
    }
    let everywhere = args.namespaces.all_netns.then(|| Everywhere::enter(host));
    let reader: &dyn Host = everywhere.as_ref().map_or(host, |e| &e.host);
    let mut inv = inventory::collect(reader, &query)?;
    namespaces::place(&mut inv, everywhere.as_ref());
    sockets::sort(&mut inv.sockets, filters::order(args.sort));
    sockets::sort_unix(&mut inv.unix, filters::order(args.sort));
    style.header = !args.no_header;
    let mut out = output::stdout();
    if args.summary && inv.places.across {
        let summaries = NetnsSummary::of(&inv, query.unix);
        if args.json {
            json::array(&mut out, &summaries)?;
        } else {
            render::rows(&mut out, &NetnsSummaryRows::new(&inv, &summaries), &style)?;
        }
    } else if args.summary {
        let mut summary = Summary::of(&inv.sockets);
        if query.unix {
            summary = summary.with_unix(&inv.unix);
        }
        if args.json {
            json::value(&mut out, &summary)?;
        } else {
            render::rows(&mut out, &summary.rows(), &style)?;
        }
    } else if args.json {
        json::sockets(&mut out, &inv)?;
    } else if args.pids {
        let shown = pids::write(&mut out, &inv)?;
        out.flush()?;
        output::report_gaps(&inv);
        return Ok(Exit::found(shown > 0));
    } else {
        let placed;
        let plain;
        let rows: &dyn render::Rows = if inv.places.across {
            placed = PlacedRows::new(&inv);
            &placed
        } else {
            plain = SocketRows { inventory: &inv };
            &plain
        };
        if args.info {
            let layout = if style.terminal {
                Layout::Line
            } else {
                Layout::Columns
            };
            render::rows(&mut out, &DetailRows::new(rows, &inv, layout), &style)?;
        } else {
            render::rows(&mut out, rows, &style)?;
        }
    }
    if !args.summary && !args.json && style.terminal {
        if inv.sockets.iter().any(|s| s.is_dual_stack()) {
            writeln!(out, "{DUAL_STACK_LEGEND}")?;
        }
        if inv.sockets.iter().any(sockets::shows_mapped) {
            writeln!(out, "{}", sockets::MAPPED_LEGEND)?;
        }
    }
    out.flush()?;
    output::report_gaps(&inv);
    if let Some(why) = query
        .pid
        .filter(|_| inv.is_empty())
        .and_then(|pid| unseen_pid(host, pid, inv.unreadable_processes > 0))
    {
        output::diagnostic(&why);
    }
    Ok(Exit::found(!inv.is_empty()))
}

/// Why `--pid PID` listed nothing, when that is not simply "it has no matching socket".
fn unseen_pid(host: &dyn Host, pid: u32, unreadable: bool) -> Option<String> {
    Some(match (unreadable, crate::host::is_root()) {
        (true, false) => format!(
            "the open files of pid {pid} cannot be read (another user's process), so its \
             sockets cannot be listed; run as root (sudo portscope …) to see them"
        ),
        (true, true) => format!(
            "the open files of pid {pid} cannot be read even as root (another user namespace \
             or a hardened /proc), so its sockets cannot be listed"
        ),
        (false, _) if host.processes(&[pid]).is_empty() => format!("no process has pid {pid}"),
        (false, _) => return None,
    })
}
