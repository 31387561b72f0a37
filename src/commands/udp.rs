//! `portscope udp recv` and `portscope udp send`.

use anyhow::Result;

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
        addr: addr::local(&args.addr, common.families)?,
        answer: answer(args.echo, args.reply.as_deref()),
        count: args.count,
        common,
    })
}

fn send(args: &UdpSendArgs) -> Result<UdpSend> {
    let common = events::common(&args.common);
    Ok(UdpSend {
        // The first address the name resolves to, as nc does.
        target: addr::remote(&args.target, common.families)?[0],
        text: args.text.as_ref().map(|t| t.as_encoded_bytes().to_vec()),
        wait: args.wait,
        source: args
            .source
            .as_deref()
            .map(|s| addr::source(s, common.families))
            .transpose()?,
        common,
    })
}
