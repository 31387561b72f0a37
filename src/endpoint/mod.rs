//! Test endpoints that explain themselves: `tcp listen|connect`, `udp recv|send`. They are
//! built on poll(2) and Unix socket options, so they exist on Unix systems only.

pub mod addr;
#[cfg(unix)]
mod conn;
pub mod decode;
#[cfg(unix)]
mod errors;
pub mod event;
#[cfg(unix)]
mod follow;
#[cfg(unix)]
mod poll;
#[cfg(unix)]
mod setup;
#[cfg(unix)]
pub mod sockopt;
#[cfg(unix)]
mod tcp_connect;
#[cfg(unix)]
mod tcp_listen;
#[cfg(unix)]
mod udp;

#[cfg(unix)]
use setup::Setup;

#[cfg(unix)]
use {
    crate::cli::{EndpointArgs, TcpCommand, UdpCommand},
    crate::exit::Exit,
    crate::model::Proto,
    crate::render::events::{Mode, Reporter},
    anyhow::Result,
    event::{Event, EventKind},
};

#[cfg(unix)]
pub fn run_tcp(command: &TcpCommand) -> Result<Exit> {
    crate::interrupt::install();
    match command {
        TcpCommand::Listen(args) => reported(&args.common, Proto::Tcp, tcp_listen::run(args)),
        TcpCommand::Connect(args) => reported(&args.common, Proto::Tcp, tcp_connect::run(args)),
    }
}

#[cfg(unix)]
pub fn run_udp(command: &UdpCommand) -> Result<Exit> {
    crate::interrupt::install();
    match command {
        UdpCommand::Recv(args) => reported(&args.common, Proto::Udp, udp::recv(args)),
        UdpCommand::Send(args) => reported(&args.common, Proto::Udp, udp::send(args)),
    }
}

/// A failure ends a JSON event stream with an `error` event too (the one-line message still
/// goes to stderr), so a script reading stdout sees why the stream stopped.
#[cfg(unix)]
fn reported(args: &EndpointArgs, proto: Proto, result: Result<Exit>) -> Result<Exit> {
    if let (Err(e), true) = (&result, args.json) {
        let mut event = Event::new(EventKind::Error, proto);
        event.error = Some(format!("{e:#}"));
        let _ = Reporter::new(Mode::Json, false).emit(&event);
    }
    result
}
