//! `portscope who PORT[,PORT…]|SOCKET`: every socket on local ports, or bound to a Unix
//! socket's name (and every socket connected to it), with their holders.

use std::ffi::OsStr;
use std::io::Write;

use anyhow::Result;

use super::namespaces::{self, Everywhere};
use super::{filters, output};
use crate::Exit;
use crate::cli::WhoArgs;
use crate::host::Host;
use crate::inventory;
use crate::model::Proto;
use crate::query::{DetailLevel, OwnerLookup, Query};
use crate::render::sockets::{self, Order};
use crate::render::{Style, json, pids, who};

pub fn run(host: &dyn Host, args: &WhoArgs, style: Style) -> Result<Exit> {
    // The arguments are checked before any namespace is entered (or its notes printed).
    let ports = match unix_name(args) {
        Some(name) => Err(name),
        None => Ok(port_query(args)?),
    };
    let everywhere = args.namespaces.all_netns.then(|| Everywhere::enter(host));
    let reader: &dyn Host = everywhere.as_ref().map_or(host, |e| &e.host);
    let (mut inv, targets, nothing) = match ports {
        Err(name) => {
            let (inv, targets) = inventory::unix_holders(reader, name)?;
            let nothing = format!(
                "no Unix socket is bound to {}",
                crate::text::escaped(&name.to_string_lossy())
            );
            (inv, Some(targets), nothing)
        }
        Ok((query, nothing)) => (inventory::collect(reader, &query)?, None, nothing),
    };
    namespaces::place(&mut inv, everywhere.as_ref());
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
            None => who::write(&mut out, &inv, args.info)?,
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

/// The query for `who PORT[,PORT…]` (or `PORT/tcp`), and what to say when nothing holds it.
fn port_query(args: &WhoArgs) -> Result<(Query, String)> {
    // Not UTF-8, so no port name either: the error names it as given.
    let given = args.port.to_string_lossy();
    let (port, named) = filters::habit(&given);
    let ports = filters::ports(port, "PORT")?;
    let protos = filters::pick(
        args.tcp || named == Some(Proto::Tcp),
        args.udp || named == Some(Proto::Udp),
        [Proto::Tcp, Proto::Udp],
    );
    let mut query = Query::ports(ports.clone()).protos(&protos);
    if args.owners.first_owner {
        query.owners = OwnerLookup::First;
    }
    if args.info {
        query.details = DetailLevel::All;
    }
    Ok((query, who::nothing_holds(&ports, &protos)))
}

/// A Unix socket is named by `-x`, by a path (a slash in it, but not `8080/tcp`) or by
/// `@name`; anything else is a port number or service name. A path need not be UTF-8.
fn unix_name(args: &WhoArgs) -> Option<&OsStr> {
    let name = args.port.as_os_str();
    let bytes = name.as_encoded_bytes();
    let port_and_proto = bytes.ends_with(b"/tcp") || bytes.ends_with(b"/udp");
    let unix = args.unix || bytes.starts_with(b"@") || (bytes.contains(&b'/') && !port_and_proto);
    unix.then_some(name)
}
