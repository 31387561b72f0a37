//! `portscope who PORT`: every socket on a local port, with its holders.

use std::io::Write;

use anyhow::Result;

use super::namespaces::{self, Everywhere};
use super::{filters, output};
use crate::Exit;
use crate::cli::WhoArgs;
use crate::host::Host;
use crate::model::Proto;
use crate::ports::parse_port;
use crate::query::Query;
use crate::render::sockets::{self, Order};
use crate::render::{json, who};

pub fn run(host: &dyn Host, args: &WhoArgs) -> Result<Exit> {
    let port = parse_port(&args.port)?;
    let protos = filters::pick(args.tcp, args.udp, [Proto::Tcp, Proto::Udp]);
    let mut query = Query::port(port).protos(&protos);
    if !args.all_owners {
        query.owners = crate::query::OwnerLookup::Scan { stop_early: true };
    }
    let everywhere = args.namespaces.all_netns.then(|| Everywhere::enter(host));
    let reader: &dyn Host = everywhere.as_ref().map_or(host, |e| &e.host);
    let mut inv = crate::inventory::collect(reader, &query)?;
    namespaces::place(&mut inv, everywhere.as_ref());
    sockets::sort(&mut inv.sockets, Order::Listeners);
    let mut out = output::stdout();
    if args.json {
        json::sockets(&mut out, &inv)?;
    } else {
        who::write(&mut out, &inv)?;
    }
    out.flush()?;
    output::report_gaps(&inv);
    Ok(Exit::found(!inv.sockets.is_empty()))
}
