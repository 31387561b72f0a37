//! `portscope udp recv` and `portscope udp send`.

use anyhow::{Context, Result, bail};

use super::events;
use super::tcp::answer;
use crate::Exit;
use crate::addr;
use crate::cli::{UdpCommand, UdpRecvArgs, UdpSendArgs};
use crate::endpoint::{self, UdpRecv, UdpSend};
use crate::host::Host;
use crate::model::Proto;

pub fn run(host: &dyn Host, command: &UdpCommand) -> Result<Exit> {
    match command {
        UdpCommand::Recv(args) => {
            events::endpoint(host, &args.common, Proto::Udp, || recv(args), endpoint::recv)
        }
        UdpCommand::Send(args) => {
            events::endpoint(host, &args.common, Proto::Udp, || send(args), endpoint::send)
        }
    }
}

fn recv(args: &UdpRecvArgs) -> Result<UdpRecv> {
    let common = events::common(&args.common);
    Ok(UdpRecv {
        addr: addr::local(&args.addr, args.port.as_deref(), common.families)?,
        answer: answer(args.echo, args.reply.as_deref()),
        count: args.count,
        common,
    })
}

fn send(args: &UdpSendArgs) -> Result<UdpSend> {
    let common = events::common(&args.common);
    // nc's `HOST PORT [TEXT]`, or `HOST:PORT [TEXT]`.
    let (port, rest) = match args.rest.as_slice() {
        [port, rest @ ..] if addr::is_host_alone(&args.target) => (Some(port), rest),
        rest => (None, rest),
    };
    let text = match rest {
        [] => None,
        [text] => Some(text),
        [_, extra, ..] => bail!(
            "'{}' after the text: give HOST:PORT TEXT or HOST PORT TEXT",
            crate::text::escaped(&extra.to_string_lossy())
        ),
    };
    let port = port
        .map(|p| p.to_str().context("the port is not UTF-8 text"))
        .transpose()?;
    Ok(UdpSend {
        // The first address the name resolves to, as nc does.
        target: addr::remote(&args.target, port, common.families)?[0],
        text: text.map(|t| t.as_encoded_bytes().to_vec()),
        wait: args.wait,
        source: args
            .source
            .as_deref()
            .map(|s| addr::source(s, common.families))
            .transpose()?,
        common,
    })
}
