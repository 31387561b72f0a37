//! `portscope who PORT[,PORT…]`: every socket on local ports, with its holders.

use std::io::Write;

use anyhow::Result;

use super::namespaces::{self, Everywhere};
use super::{filters, output};
use crate::Exit;
use crate::cli::WhoArgs;
use crate::host::Host;
use crate::model::Proto;
use crate::query::Query;
use crate::render::sockets::{self, Order};
use crate::render::{Style, json, pids, who};

pub fn run(host: &dyn Host, args: &WhoArgs, style: Style) -> Result<Exit> {
    let ports = filters::ports(&args.port, "PORT")?;
    let protos = filters::pick(args.tcp, args.udp, [Proto::Tcp, Proto::Udp]);
    let mut query = Query::ports(ports.clone()).protos(&protos);
    if !args.all_owners {
        query.owners = crate::query::OwnerLookup::Scan { stop_early: true };
    }
    let everywhere = args.namespaces.all_netns.then(|| Everywhere::enter(host));
    let reader: &dyn Host = everywhere.as_ref().map_or(host, |e| &e.host);
    let mut inv = crate::inventory::collect(reader, &query)?;
    namespaces::place(&mut inv, everywhere.as_ref());
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
