//! `portscope tcp listen`: bind, listen, serve connections concurrently, explain each step.

use std::io::{IsTerminal, Read};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result};

use super::conn::{Answer, Conn};
use super::event::{Event, EventKind, KernelChoice};
use super::follow::{Follow, TICK};
use super::{Setup, addr, poll};
use crate::cli::TcpListenArgs;
use crate::exit::Exit;
use crate::interrupt::interrupted;
use crate::inventory;
use crate::model::Proto;

/// How often idle connections' states are re-read.
const STATE_TICK: Duration = Duration::from_millis(100);

pub fn run(args: &TcpListenArgs) -> Result<Exit> {
    let setup = Setup::new(&args.common);
    let wanted = addr::local(&args.addr, setup.families)?;
    let listener = bind_listen(&setup, wanted, args.backlog)?;
    let local = listener.local_addr()?;
    let rep = &setup.reporter;
    let mut bound = Event::new(EventKind::Bound, Proto::Tcp).addrs(Some(local), None);
    if wanted.port() == 0 {
        bound.chosen = Some(KernelChoice {
            range: inventory::port_range(),
        });
    }
    rep.emit(&bound)?;
    let mut listening = Event::new(EventKind::Listening, Proto::Tcp).addrs(Some(local), None);
    listening.backlog = Some(args.backlog);
    rep.emit(&listening)?;

    let answer = match (&args.reply, args.echo) {
        (Some(text), _) => Answer::Reply(text.clone().into_bytes()),
        (None, true) => Answer::Echo,
        (None, false) => Answer::Nothing,
    };
    let mut stdin_open = !std::io::stdin().is_terminal();
    let mut conns: Vec<Conn> = Vec::new();
    let mut following: Vec<Follow> = Vec::new();
    let mut accepted = 0u32;
    loop {
        if interrupted() {
            // Returning drops, and so closes, every socket.
            return Ok(Exit::Interrupted);
        }
        let accepting = !(args.once && accepted > 0);
        if !accepting && conns.is_empty() && following.is_empty() {
            return Ok(Exit::Success);
        }
        let mut fds = vec![poll::entry(if accepting {
            listener.as_raw_fd()
        } else {
            -1
        })];
        // stdin goes to the peers, so it waits until there is one (nc does the same).
        let feed_stdin = stdin_open && !conns.is_empty();
        fds.push(poll::entry(if feed_stdin { 0 } else { -1 }));
        fds.extend(conns.iter().map(|c| poll::entry(c.stream.as_raw_fd())));
        let timeout = if following.is_empty() {
            STATE_TICK
        } else {
            TICK
        };
        poll::wait(&mut fds, timeout)?;

        if poll::ready(&fds[0]) {
            let (stream, remote) = match listener.accept() {
                Ok(accepted) => accepted,
                // The peer gave up between the handshake and accept(): nothing to serve.
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => continue,
                Err(e) => return Err(e).context("accepting a connection"),
            };
            accepted += 1;
            setup.tune_stream(&stream)?;
            let mut conn = Conn::new(Some(accepted), stream, remote, setup.encoding)?;
            rep.emit(&conn.event(EventKind::Accepted))?;
            conn.check_state(rep)?;
            conns.push(conn);
        }
        if poll::ready(&fds[1]) {
            let mut buf = [0u8; 16 * 1024];
            match std::io::stdin().read(&mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => {
                    for conn in &mut conns {
                        conn.send(&buf[..n], rep)?;
                    }
                }
            }
        }
        for (conn, fd) in conns.iter_mut().zip(&fds[2..]) {
            if poll::ready(fd) && !conn.peer_done {
                conn.read(rep, &answer)?;
            }
            conn.check_state(rep)?;
        }
        // A peer that closed gets our close too: CLOSE_WAIT -> LAST_ACK -> gone.
        let (done, open): (Vec<Conn>, Vec<Conn>) = conns.into_iter().partition(|c| c.peer_done);
        conns = open;
        for conn in done {
            following.push(conn.close(rep, false, setup.grace)?);
        }
        let mut still = Vec::new();
        for mut f in following {
            if !f.step(rep)? {
                still.push(f);
            }
        }
        following = still;
    }
}

fn bind_listen(setup: &Setup, addr: std::net::SocketAddr, backlog: i32) -> Result<TcpListener> {
    let socket = setup.socket(addr, Proto::Tcp)?;
    setup.bind(&socket, addr, Proto::Tcp)?;
    socket
        .listen(backlog)
        .with_context(|| format!("listening on {addr}"))?;
    Ok(socket.into())
}
