//! `portscope who PORT|SOCKET`: every socket on a local port, or bound to a Unix socket's
//! name (and every socket connected to it), with their holders.

use std::io::Write;

use anyhow::Result;

use super::{filters, output};
use crate::Exit;
use crate::cli::WhoArgs;
use crate::host::Host;
use crate::inventory;
use crate::model::Proto;
use crate::ports::parse_port;
use crate::query::{OwnerLookup, Query};
use crate::render::sockets::{self, Order};
use crate::render::{json, who};

pub fn run(host: &dyn Host, args: &WhoArgs) -> Result<Exit> {
    let (mut inv, targets) = if is_unix_name(args) {
        let (inv, targets) = inventory::unix_holders(host, &args.port)?;
        (inv, Some(targets))
    } else {
        let port = parse_port(&args.port)?;
        let protos = filters::pick(args.tcp, args.udp, [Proto::Tcp, Proto::Udp]);
        let mut query = Query::port(port).protos(&protos);
        if args.owners.first_owner {
            query.owners = OwnerLookup::First;
        }
        (inventory::collect(host, &query)?, None)
    };
    sockets::sort(&mut inv.sockets, Order::Listeners);
    sockets::sort_unix(&mut inv.unix, Order::Listeners);
    let mut out = output::stdout();
    match (args.json, &targets) {
        (true, _) => json::sockets(&mut out, &inv)?,
        (false, Some(targets)) => who::write_unix(&mut out, &inv, targets)?,
        (false, None) => who::write(&mut out, &inv)?,
    }
    out.flush()?;
    output::report_gaps(&inv);
    Ok(Exit::found(!inv.is_empty()))
}

/// A Unix socket is named by `-x`, by a path (a slash in it) or by `@name`; anything else is
/// a port number or service name.
fn is_unix_name(args: &WhoArgs) -> bool {
    args.unix || args.port.contains('/') || args.port.starts_with('@')
}
