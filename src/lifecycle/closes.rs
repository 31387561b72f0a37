//! The ways the lab's connection can end: the four-way close (either side first), RST, and
//! a half-close.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use anyhow::Result;

use super::lab::{Lab, row};
use super::model::{Holder, Row};
use super::table::{Known, rows, settled, state_of};
use crate::model::TcpState;

/// What a CLOSE_WAIT row's Recv-Q of 1 is: the peer's FIN, which takes one sequence number
/// and stays "unread" until a read returns 0.
fn fin_in_recv_q(rows: &[Row], role: &str) -> String {
    match row(rows, role) {
        Some(r) if r.state == TcpState::CloseWait && r.recv_q == 1 => format!(
            " Its Recv-Q 1 is not data: it is the FIN, which takes one sequence number and \
             counts as unread until the {role} reads it (a read that returns 0)."
        ),
        _ => String::new(),
    }
}

/// The four-way close: `first` closes, `second` reads 0 and closes.
pub fn orderly(
    lab: &mut Lab,
    port: u16,
    known: &[Known],
    first: TcpStream,
    mut second: TcpStream,
    [a, b]: [&'static str; 2],
) -> Result<()> {
    drop(first);
    let table = settled(lab, port, known, |r| {
        state_of(r, a) == Some(TcpState::FinWait2) && state_of(r, b) == Some(TcpState::CloseWait)
    })?;
    let fin = fin_in_recv_q(&table, b);
    lab.step(
        a,
        "close()".into(),
        table,
        format!(
            "The {a} sent FIN and the {b}'s kernel acknowledged it: the {a} waits in FIN_WAIT2 \
             for the {b}'s FIN (FIN_WAIT1 lasted until that ACK, microseconds on loopback). The \
             {b} is in CLOSE_WAIT: its peer is done, its own process has not closed yet.{fin}"
        ),
    )?;
    let mut buf = [0u8; 16];
    let n = second.read(&mut buf)?;
    let now = rows(lab, port, known)?;
    lab.step(
        b,
        format!("recv() returns {}", crate::text::count(n, "byte")),
        now,
        format!(
            "A read that returns 0 is how a program learns that the peer closed. The {b} \
             should now close too; one that never does leaves sockets in CLOSE_WAIT for good."
        ),
    )?;
    drop(second);
    let table = settled(lab, port, known, |r| {
        state_of(r, a) == Some(TcpState::TimeWait) && state_of(r, b).is_none()
    })?;
    let left = row(&table, a)
        .and_then(|r| r.timer)
        .map_or(60.0, |t| f64::from(t.expires_ms) / 1000.0);
    lab.step(
        b,
        "close()".into(),
        table,
        format!(
            "The {b}'s FIN and the {a}'s ACK finished the close: the {b}'s socket went through \
             LAST_ACK and is gone. The {a}, which closed first, keeps the connection in \
             TIME_WAIT ({left:.0} s left) so that late segments cannot be taken for a new \
             connection on the same four addresses and ports."
        ),
    )
}

pub fn reset(
    lab: &mut Lab,
    port: u16,
    known: &[Known],
    client: TcpStream,
    mut server: TcpStream,
) -> Result<()> {
    socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO))?;
    drop(client);
    let table = settled(lab, port, known, |r| {
        state_of(r, "client").is_none() && state_of(r, "server").is_none()
    })?;
    lab.step(
        "client",
        "close() with SO_LINGER 0".into(),
        table,
        "With a zero linger time close() sends RST instead of FIN: the client's socket is gone \
         at once — no FIN_WAIT, no TIME_WAIT — and the server's kernel tore its end down when \
         the RST arrived."
            .into(),
    )?;
    let mut buf = [0u8; 16];
    let outcome = match server.read(&mut buf) {
        Ok(n) => format!("recv() returns {}", crate::text::count(n, "byte")),
        Err(e) => format!("recv() fails: {}", crate::text::errno(&e)),
    };
    let now = rows(lab, port, known)?;
    lab.step(
        "server",
        outcome,
        now,
        "The server learns of it as an error, not as an end of data: connection reset by peer."
            .into(),
    )?;
    drop(server);
    let now = rows(lab, port, known)?;
    lab.step(
        "server",
        "close()".into(),
        now,
        "Nothing of the connection is left on either side: no TIME_WAIT, which is why RST closes \
         tempt people, and why they lose any data still in flight."
            .into(),
    )
}

pub fn half_close(
    lab: &mut Lab,
    port: u16,
    known: &[Known],
    mut client: TcpStream,
    mut server: TcpStream,
) -> Result<()> {
    client.shutdown(Shutdown::Write)?;
    let table = settled(lab, port, known, |r| {
        state_of(r, "client") == Some(TcpState::FinWait2)
            && state_of(r, "server") == Some(TcpState::CloseWait)
    })?;
    let fin = fin_in_recv_q(&table, "server");
    lab.step(
        "client",
        "shutdown(SHUT_WR)".into(),
        table,
        format!(
            "The client sent FIN — it will send nothing more — but it can still receive: a \
             half-close. The server is in CLOSE_WAIT.{fin}"
        ),
    )?;
    let reply = b"data after your FIN";
    server.write_all(reply)?;
    let table = settled(lab, port, known, |r| {
        row(r, "client").is_some_and(|c| c.recv_q > 0)
    })?;
    lab.step(
        "server",
        format!("send() {} bytes", reply.len()),
        table,
        "Data still flows the other way: CLOSE_WAIT only says the peer has finished sending. \
         The bytes wait in the client's Recv-Q."
            .into(),
    )?;
    let mut buf = [0u8; 64];
    let n = client.read(&mut buf)?;
    let now = rows(lab, port, known)?;
    lab.step(
        "client",
        format!("recv() {}", crate::text::count(n, "byte")),
        now,
        "The client reads them in FIN_WAIT2.".into(),
    )?;
    drop(server);
    let mut table = settled(lab, port, known, |r| {
        state_of(r, "client") == Some(TcpState::TimeWait)
    })?;
    // The kernel's TIME_WAIT entry has no descriptor of its own, but the lab knows the client
    // has not closed its one yet.
    for r in table.iter_mut().filter(|r| r.role == "client") {
        if matches!(r.owner, Holder::Nobody(_)) {
            r.owner = Holder::Nobody("(fd still open)");
        }
    }
    lab.step(
        "server",
        "close()".into(),
        table,
        "The server's FIN ends the connection: the client, which sent the first FIN, is in \
         TIME_WAIT while its descriptor is still open (the Owner column says so; the kernel's \
         TIME_WAIT entry itself refers to no descriptor)."
            .into(),
    )?;
    drop(client);
    let now = rows(lab, port, known)?;
    lab.step(
        "client",
        "close()".into(),
        now,
        "Closing the descriptor changes nothing in the table: the connection already lives on \
         in the kernel's TIME_WAIT entry alone."
            .into(),
    )
}
