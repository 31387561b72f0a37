//! `portscope who PORT|SOCKET`: every socket on a local port, or bound to a Unix socket's
//! name (and every socket connected to it), with their holders.

use std::ffi::OsStr;
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
    let (mut inv, targets) = if let Some(name) = unix_name(args) {
        let (inv, targets) = inventory::unix_holders(host, name)?;
        (inv, Some(targets))
    } else {
        // Not UTF-8, so no port name either: the error names it as given.
        let given = args.port.to_string_lossy();
        // `8080/tcp` as /etc/services writes it: the port and one protocol.
        let (port, tcp, udp) = match given.rsplit_once('/') {
            Some((port, "tcp")) => (port, true, false),
            Some((port, "udp")) => (port, false, true),
            _ => (&*given, args.tcp, args.udp),
        };
        let port = parse_port(port)?;
        let protos = filters::pick(tcp, udp, [Proto::Tcp, Proto::Udp]);
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

/// A Unix socket is named by `-x`, by a path (a slash in it, but not `8080/tcp`) or by
/// `@name`; anything else is a port number or service name. A path need not be UTF-8.
fn unix_name(args: &WhoArgs) -> Option<&OsStr> {
    let name = args.port.as_os_str();
    let bytes = name.as_encoded_bytes();
    let port_and_proto = bytes.ends_with(b"/tcp") || bytes.ends_with(b"/udp");
    let unix = args.unix || bytes.starts_with(b"@") || (bytes.contains(&b'/') && !port_and_proto);
    unix.then_some(name)
}
