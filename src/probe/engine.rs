//! Probes many targets at once: non-blocking sockets and one poll(2) loop per thread, the
//! threads sharing the target list. connect()-level only: no raw packets, no root.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use socket2::Socket;

use super::model::{Outcome, Status, Target};
use crate::endpoint::sockopt;
use crate::interrupt::interrupted;
use crate::model::Proto;
use crate::poll;

/// How a round of probes runs.
pub struct Plan<'a> {
    pub timeout: Duration,
    /// Probes in flight at once, over all threads.
    pub parallel: usize,
    /// The UDP payload for a port.
    pub payload: &'a (dyn Fn(u16) -> Vec<u8> + Sync),
}

struct Flight {
    target: usize,
    socket: Socket,
    started: Instant,
}

/// Probes every target once; `tick` is called per finished probe (progress). Ctrl-C ends the
/// round early with the outcomes so far. Opening sockets costs kernel time per port, so the
/// work is spread over the cores.
pub fn round(
    targets: &[Target],
    attempt: u64,
    plan: &Plan,
    tick: &(dyn Fn() + Sync),
) -> io::Result<Vec<Outcome>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(8).min(targets.len().div_ceil(256)).max(1);
    let share = (plan.parallel / threads).max(1);
    let next = AtomicUsize::new(0);
    let results: Vec<io::Result<Vec<Outcome>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| worker(targets, attempt, plan, share, &next, tick)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a probe thread failed")))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(targets.len());
    for result in results {
        all.extend(result?);
    }
    Ok(all)
}

fn worker(
    targets: &[Target],
    attempt: u64,
    plan: &Plan,
    parallel: usize,
    next: &AtomicUsize,
    tick: &(dyn Fn() + Sync),
) -> io::Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    let mut done = |o: Outcome| {
        tick();
        outcomes.push(Outcome { attempt, ..o });
    };
    let mut flying: Vec<Flight> = Vec::new();
    let mut exhausted = false;
    while (!exhausted || !flying.is_empty()) && !interrupted() {
        while flying.len() < parallel && !exhausted {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(target) = targets.get(index) else {
                exhausted = true;
                break;
            };
            match start(target, index, plan) {
                Ok(flight) => flying.push(flight),
                Err(outcome) => done(outcome),
            }
        }
        if flying.is_empty() {
            continue;
        }
        let mut fds: Vec<libc::pollfd> = flying
            .iter()
            .map(|f| {
                let events = match targets[f.target].proto {
                    Proto::Tcp => poll::OUT,
                    Proto::Udp => poll::IN,
                };
                poll::entry(f.socket.as_raw_fd(), events)
            })
            .collect();
        let now = Instant::now();
        let soonest = flying
            .iter()
            .map(|f| f.started + plan.timeout)
            .min()
            .unwrap_or(now);
        let wait = soonest
            .saturating_duration_since(now)
            .min(Duration::from_millis(100));
        poll::wait(&mut fds, wait)?;
        let now = Instant::now();
        let mut i = 0;
        while i < flying.len() {
            let answered = fds[i].revents != 0;
            if answered || now >= flying[i].started + plan.timeout {
                fds.swap_remove(i);
                let flight = flying.swap_remove(i);
                let target = &targets[flight.target];
                done(if answered {
                    finish(target, &flight)
                } else {
                    silence(target, &flight, plan.timeout)
                });
            } else {
                i += 1;
            }
        }
    }
    Ok(outcomes)
}

fn outcome(target: usize, status: Status, detail: Option<&'static str>) -> Outcome {
    Outcome {
        target,
        attempt: 0,
        status,
        rtt: None,
        local_port: None,
        error: None,
        detail: detail.map(Into::into),
    }
}

fn local_addr(socket: &Socket) -> Option<SocketAddr> {
    socket
        .local_addr()
        .ok()?
        .as_socket()
        .filter(|a| a.port() != 0)
}

/// Opens the socket and sends the SYN (TCP) or the datagram (UDP). An immediate answer comes
/// back as the outcome.
fn start(target: &Target, index: usize, plan: &Plan) -> Result<Flight, Outcome> {
    let addr = SocketAddr::new(target.addr, target.port);
    let failed = |e: io::Error| classify(index, target.proto, &e, None);
    let socket = sockopt::socket(addr, target.proto, true).map_err(failed)?;
    let started = Instant::now();
    match target.proto {
        Proto::Tcp => match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => {
                return Err(answered(
                    classify(index, Proto::Tcp, &e, None),
                    &socket,
                    started,
                ));
            }
        },
        Proto::Udp => {
            let _ = sockopt::set_recverr(&socket, addr.is_ipv6());
            socket.connect(&addr.into()).map_err(failed)?;
            socket.send(&(plan.payload)(target.port)).map_err(failed)?;
        }
    }
    Ok(Flight {
        target: index,
        socket,
        started,
    })
}

/// The socket is ready: the handshake ended, a reply or an ICMP error arrived.
fn finish(target: &Target, flight: &Flight) -> Outcome {
    let socket = &flight.socket;
    let out = match target.proto {
        Proto::Tcp => match socket.take_error() {
            Ok(None) => outcome(flight.target, Status::Open, None),
            Ok(Some(e)) | Err(e) => classify(flight.target, Proto::Tcp, &e, None),
        },
        Proto::Udp => {
            let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
            match socket.recv(&mut buf) {
                Ok(_) => outcome(flight.target, Status::Open, None),
                Err(e) => classify(flight.target, Proto::Udp, &e, sockopt::icmp_error(socket)),
            }
        }
    };
    answered(out, socket, flight.started)
}

fn answered(mut out: Outcome, socket: &Socket, started: Instant) -> Outcome {
    if out.status == Status::Error {
        return out;
    }
    out.rtt = Some(started.elapsed());
    let local = local_addr(socket);
    out.local_port = local.map(|a| a.port());
    // A free port that the kernel also picked as the probe's own ephemeral port connects to
    // itself (TCP simultaneous open): nothing listens there.
    if out.status == Status::Open
        && let (Some(local), Ok(Some(peer))) = (local, socket.peer_addr().map(|a| a.as_socket()))
        && local == peer
    {
        out.status = Status::Closed;
        out.detail = Some("connected to itself: nothing listens".into());
    }
    out
}

/// No answer before the timeout.
fn silence(target: &Target, flight: &Flight, timeout: Duration) -> Outcome {
    let ms = timeout.as_millis();
    let mut out = match target.proto {
        Proto::Tcp => outcome(flight.target, Status::Filtered, None),
        Proto::Udp => outcome(flight.target, Status::OpenFiltered, None),
    };
    out.detail = Some(match target.proto {
        Proto::Tcp => format!("no answer in {ms} ms: SYN dropped").into(),
        Proto::Udp => format!("no reply in {ms} ms: open and silent, or dropped").into(),
    });
    out.local_port = local_addr(&flight.socket).map(|a| a.port());
    out
}

/// An error from connect/send/recv, with the ICMP type and code when IP_RECVERR gave them.
fn classify(target: usize, proto: Proto, e: &io::Error, icmp: Option<(u8, u8)>) -> Outcome {
    let (status, detail) = match (e.raw_os_error(), icmp) {
        // ICMP port unreachable (v4 type 3 code 3, v6 type 1 code 4).
        (_, Some((3, 3))) | (_, Some((1, 4))) => (Status::Closed, "ICMP port unreachable".into()),
        (_, Some((kind, code))) => (
            Status::Filtered,
            format!("ICMP type {kind} code {code}").into(),
        ),
        (Some(libc::ECONNREFUSED), None) => match proto {
            Proto::Tcp => (Status::Closed, "RST".into()),
            Proto::Udp => (Status::Closed, "ICMP port unreachable".into()),
        },
        (Some(libc::ETIMEDOUT), None) => (Status::Filtered, "no answer".into()),
        (Some(libc::EHOSTUNREACH), None) if proto == Proto::Udp => {
            (Status::Filtered, "host unreachable".into())
        }
        (Some(libc::EHOSTUNREACH), None) => (Status::Unreachable, "host unreachable".into()),
        (Some(libc::ENETUNREACH), None) => (Status::Unreachable, "network unreachable".into()),
        _ => {
            let mut out = outcome(target, Status::Error, None);
            out.error = Some(e.to_string());
            return out;
        }
    };
    Outcome {
        detail: Some(detail),
        ..outcome(target, status, None)
    }
}
