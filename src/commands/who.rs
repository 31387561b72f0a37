//! `portscope who PORT[,PORT…]`: every socket on local ports, with its holders.

use std::io::Write;

use anyhow::Result;

use super::{filters, output};
use crate::Exit;
use crate::cli::WhoArgs;
use crate::host::Host;
use crate::model::Proto;
use crate::query::Query;
use crate::render::sockets::{self, Order};
use crate::render::{Style, json, pids, who};

pub fn run(host: &dyn Host, args: &WhoArgs, style: Style) -> Result<Exit> {
    let (port, named) = habit(&args.port);
    let ports = filters::ports(port, "PORT")?;
    let protos = filters::pick(
        args.tcp || named == Some(Proto::Tcp),
        args.udp || named == Some(Proto::Udp),
        [Proto::Tcp, Proto::Udp],
    );
    let mut query = Query::ports(ports.clone()).protos(&protos);
    if !args.all_owners {
        query.owners = crate::query::OwnerLookup::Scan { stop_early: true };
    }
    let mut inv = crate::inventory::collect(host, &query)?;
    sockets::sort(&mut inv.sockets, Order::Listeners);
    let mut out = output::stdout();
    let found = if args.json {
        json::sockets(&mut out, &inv)?;
        !inv.sockets.is_empty()
    } else if args.pids {
        // lsof -t: found means a pid to act on.
        pids::write(&mut out, &inv)? > 0
    } else {
        who::write(&mut out, &inv)?;
        // A person at a terminal gets an answer; a script gets the exit status, as from grep.
        if inv.sockets.is_empty() && style.terminal {
            writeln!(out, "{}", who::nothing_holds(&ports, &protos))?;
        }
        !inv.sockets.is_empty()
    };
    out.flush()?;
    output::report_gaps(&inv);
    Ok(Exit::found(found))
}

/// lsof's `:8080` and fuser's `8080/tcp`, typed from habit: the port, and the protocol a
/// `/tcp` or `/udp` suffix names.
fn habit(text: &str) -> (&str, Option<Proto>) {
    let text = text.trim();
    let text = text.strip_prefix(':').unwrap_or(text);
    match text.rsplit_once('/') {
        Some((port, "tcp")) => (port, Some(Proto::Tcp)),
        Some((port, "udp")) => (port, Some(Proto::Udp)),
        _ => (text, None),
    }
}
