//! `portscope who PORT[,PORT…]|SOCKET`: every socket on local ports, or bound to a Unix
//! socket's name (and every socket connected to it), with their holders.

use std::io::Write;

use anyhow::Result;

use super::{filters, output};
use crate::Exit;
use crate::cli::WhoArgs;
use crate::host::Host;
use crate::inventory;
use crate::model::Proto;
use crate::query::{OwnerLookup, Query};
use crate::render::sockets::{self, Order};
use crate::render::{Style, json, pids, who};

pub fn run(host: &dyn Host, args: &WhoArgs, style: Style) -> Result<Exit> {
    let (mut inv, targets, nothing) = if let Some(name) = unix_name(args) {
        let (inv, targets) = inventory::unix_holders(host, name)?;
        let nothing = format!("no Unix socket is bound to {}", crate::text::escaped(name));
        (inv, Some(targets), nothing)
    } else {
        // `8080/tcp` as /etc/services writes it: the ports and one protocol.
        let (ports, tcp, udp) = match args.port.rsplit_once('/') {
            Some((ports, "tcp")) => (ports, true, false),
            Some((ports, "udp")) => (ports, false, true),
            _ => (args.port.as_str(), args.tcp, args.udp),
        };
        let ports = filters::ports(ports, "PORT")?;
        let protos = filters::pick(tcp, udp, [Proto::Tcp, Proto::Udp]);
        let mut query = Query::ports(ports.clone()).protos(&protos);
        if args.owners.first_owner {
            query.owners = OwnerLookup::First;
        }
        let nothing = who::nothing_holds(&ports, &protos);
        (inventory::collect(host, &query)?, None, nothing)
    };
    sockets::sort(&mut inv.sockets, Order::Listeners);
    sockets::sort_unix(&mut inv.unix, Order::Listeners);
    let mut out = output::stdout();
    let found = if args.json {
        json::sockets(&mut out, &inv)?;
        !inv.is_empty()
    } else if args.pids {
        // lsof -t: found means a pid to act on.
        pids::write(&mut out, &inv)? > 0
    } else {
        match &targets {
            Some(targets) => who::write_unix(&mut out, &inv, targets)?,
            None => who::write(&mut out, &inv)?,
        }
        // A person at a terminal gets an answer; a script gets the exit status, as from grep.
        if inv.is_empty() && style.terminal {
            writeln!(out, "{nothing}")?;
        }
        !inv.is_empty()
    };
    out.flush()?;
    output::report_gaps(&inv);
    Ok(Exit::found(found))
}

/// A Unix socket is named by `-x`, by a path (a slash in it, but not `8080/tcp`) or by
/// `@name`; anything else is a port number or service name.
fn unix_name(args: &WhoArgs) -> Option<&str> {
    let name = args.port.as_str();
    let port_and_proto = matches!(name.rsplit_once('/'), Some((_, "tcp" | "udp")));
    let unix = args.unix || name.starts_with('@') || (name.contains('/') && !port_and_proto);
    unix.then_some(name)
}
