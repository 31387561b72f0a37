//! `portscope who PORT`: every socket on a local port, with its holders.

use std::io::Write;

use anyhow::Result;

use super::{report_gaps, stdout};
use crate::Exit;
use crate::cli::{FilterArgs, WhoArgs};
use crate::inventory;
use crate::query::Query;
use crate::render::{Style, json, sockets, who};

pub fn run(args: &WhoArgs, _style: Style) -> Result<Exit> {
    let filter = FilterArgs {
        tcp: args.tcp,
        udp: args.udp,
        sport: Some(args.port.clone()),
        ..FilterArgs::default()
    };
    let query = Query::from_filters(&filter, true, args.all_owners)?;
    let mut inv = inventory::collect(&query)?;
    sockets::sort(&mut inv.sockets, None);
    let mut out = stdout();
    if args.json {
        json::sockets(&mut out, &inv)?;
    } else {
        who::write(&mut out, &inv)?;
    }
    out.flush()?;
    report_gaps(&inv);
    Ok(Exit::found(!inv.sockets.is_empty()))
}
