//! `portscope tcp listen` and `portscope tcp connect`.

use anyhow::Result;

use super::events;
use crate::Exit;
use crate::addr;
use crate::cli::{TcpCommand, TcpConnectArgs, TcpListenArgs};
use crate::endpoint::{self, Answer, Connect, Listen};
use crate::host::Host;
use crate::model::Proto;

pub fn run(host: &dyn Host, command: &TcpCommand) -> Result<Exit> {
    match command {
        TcpCommand::Listen(args) => {
            events::endpoint(host, &args.common, Proto::Tcp, || listen(args), endpoint::listen)
        }
        TcpCommand::Connect(args) => {
            events::endpoint(host, &args.common, Proto::Tcp, || connect(args), endpoint::connect)
        }
    }
}

fn listen(args: &TcpListenArgs) -> Result<Listen> {
    let common = events::common(&args.common);
    Ok(Listen {
        addr: addr::local(&args.addr, args.port.as_deref(), common.families)?,
        backlog: args.backlog,
        once: args.once,
        answer: answer(args.echo, args.reply.as_deref()),
        common,
        tcp: events::tcp(&args.tcp),
    })
}

fn connect(args: &TcpConnectArgs) -> Result<Connect> {
    let common = events::common(&args.common);
    Ok(Connect {
        targets: addr::remote(&args.target, args.port.as_deref(), common.families)?,
        source: args
            .source
            .as_deref()
            .map(|s| addr::source(s, common.families))
            .transpose()?,
        bind_no_port: args.bind_no_port,
        port_range: args
            .port_range
            .as_deref()
            .map(addr::port_range)
            .transpose()?,
        timeout: args.timeout,
        linger0: args.linger0,
        hold: args.hold,
        count: args.count,
        interval: args.interval,
        common,
        tcp: events::tcp(&args.tcp),
    })
}

/// What a server says back: `--reply TEXT`, `--echo`, or nothing.
pub fn answer(echo: bool, reply: Option<&str>) -> Answer {
    match (reply, echo) {
        (Some(text), _) => Answer::Reply(text.as_bytes().to_vec()),
        (None, true) => Answer::Echo,
        (None, false) => Answer::Nothing,
    }
}
