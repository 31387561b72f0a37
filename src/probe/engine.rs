//! Probes many targets at once: non-blocking sockets and one poll(2) loop per thread, the
//! threads sharing the target list and a budget of sockets in flight. connect()-level only:
//! no raw packets, no root.

use std::borrow::Cow;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use socket2::Socket;

use super::icmp::Icmp;
use super::model::{Outcome, Status, Target};
use crate::endpoint::sockopt;
use crate::interrupt::interrupted;
use crate::model::Proto;
use crate::poll;

/// How a round of probes runs.
pub struct Plan<'a> {
    pub timeout: Duration,
    /// Probes in flight at once, over all threads: each holds a descriptor.
    pub parallel: usize,
    /// The UDP payload for a port.
    pub payload: &'a (dyn Fn(u16) -> Vec<u8> + Sync),
    /// Probes started per second at most, over all threads; None: as fast as they can go.
    pub rate: Option<f64>,
}

/// Spaces the starts of a round's probes `1/rate` apart, whichever thread starts them.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Takes the next start if it is due (Ok), or says how long until it is (Err).
    fn take(&self) -> Result<(), Duration> {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now < *next {
            return Err(*next - now);
        }
        // A pacer that fell behind (a slow poll) does not burst to catch up.
        *next = (*next + self.interval).max(now);
        Ok(())
    }
}

struct Flight {
    target: usize,
    socket: Socket,
    started: Instant,
}

/// What starting a probe gave.
enum Start {
    Flying(Flight),
    /// Answered at once (a refused connect, an unreachable network).
    Answered(Outcome),
    /// No descriptor (or socket buffer) free now: try again when one is.
    NoSocket,
}

/// A round's work, shared by its threads.
struct Round<'a> {
    targets: &'a [Target],
    attempt: u64,
    plan: &'a Plan<'a>,
    tick: &'a (dyn Fn() + Sync),
    /// The next target no thread has taken.
    next: AtomicUsize,
    /// Probes in flight over all threads, at most `plan.parallel`.
    in_flight: AtomicUsize,
    pacer: Option<Pacer>,
}

impl Round<'_> {
    fn take_slot(&self) -> bool {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.plan.parallel).then_some(n + 1)
            })
            .is_ok()
    }

    fn free_slot(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How long a thread with nothing in flight waits before asking for a socket again.
const NO_SOCKET_WAIT: Duration = Duration::from_millis(10);

/// Probes every target once; `tick` is called per finished probe (progress). Ctrl-C ends the
/// round early with the outcomes so far. Opening sockets costs kernel time per port, so the
/// work is spread over the cores (fewer threads when no more can be started).
pub fn round(
    targets: &[Target],
    attempt: u64,
    plan: &Plan,
    tick: &(dyn Fn() + Sync),
) -> io::Result<Vec<Outcome>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(8).min(targets.len().div_ceil(256)).max(1);
    let round = Round {
        targets,
        attempt,
        plan,
        tick,
        next: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        pacer: plan.rate.map(Pacer::new),
    };
    let results = crate::workers::spread(threads, &|running| worker(&round, running));
    let mut all = Vec::with_capacity(targets.len());
    for result in results {
        all.extend(result?);
    }
    Ok(all)
}

/// One thread's loop: start probes up to its share of the budget, poll, collect answers. Out
/// of descriptors, a target waits for one of this round's sockets to close rather than
/// failing; only when none is open anywhere is the lack an error.
fn worker(round: &Round, running: usize) -> io::Result<Vec<Outcome>> {
    let (targets, plan) = (round.targets, round.plan);
    let mut outcomes = Vec::new();
    let mut done = |o: Outcome| {
        (round.tick)();
        outcomes.push(Outcome {
            attempt: round.attempt,
            ..o
        });
    };
    let mut share = plan.parallel.div_ceil(running).max(1);
    let mut flying: Vec<Flight> = Vec::new();
    // Targets taken but not started for want of a socket.
    let mut waiting: Vec<usize> = Vec::new();
    let mut exhausted = false;
    while (!exhausted || !waiting.is_empty() || !flying.is_empty()) && !interrupted() {
        // Until the pacer's next start, when it holds one back.
        let mut paced: Option<Duration> = None;
        while flying.len() < share && round.take_slot() {
            if let Some(Err(wait)) = round.pacer.as_ref().map(Pacer::take) {
                round.free_slot();
                paced = Some(wait);
                break;
            }
            let index = match waiting.pop() {
                Some(index) => index,
                None => match round.next.fetch_add(1, Ordering::Relaxed) {
                    index if index < targets.len() => index,
                    _ => {
                        exhausted = true;
                        round.free_slot();
                        break;
                    }
                },
            };
            match start(&targets[index], index, plan) {
                Start::Flying(flight) => flying.push(flight),
                Start::Answered(outcome) => {
                    round.free_slot();
                    done(outcome);
                }
                Start::NoSocket => {
                    round.free_slot();
                    if flying.is_empty() && round.in_flight.load(Ordering::Acquire) == 0 {
                        // Nothing of ours will close to make room: the limit is elsewhere.
                        done(no_socket(index, targets[index].proto));
                    } else {
                        waiting.push(index);
                        // What this thread holds is what the system lets it have.
                        share = share.min(flying.len()).max(1);
                    }
                    break;
                }
            }
        }
        if flying.is_empty() {
            if !exhausted || !waiting.is_empty() {
                // Another thread holds the budget or the descriptors, or the pacer holds the
                // next start: wait for it.
                std::thread::sleep(paced.map_or(NO_SOCKET_WAIT, |p| p.min(NO_SOCKET_WAIT)));
            }
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
            .min(paced.unwrap_or(Duration::MAX))
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
                drop(flight);
                round.free_slot();
            } else {
                i += 1;
            }
        }
    }
    // Ctrl-C: the sockets still in flight close here; their slots go with the round.
    Ok(outcomes)
}

/// A target that could not get a socket while none of the round's was open.
fn no_socket(target: usize, proto: Proto) -> Outcome {
    let e = io::Error::from_raw_os_error(libc::EMFILE);
    let mut out = classify(target, proto, &e, None);
    out.detail = Some("no descriptor free for a socket, with no probe in flight".into());
    out
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
        unreliable: false,
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
fn start(target: &Target, index: usize, plan: &Plan) -> Start {
    let addr = target.addr;
    let answered_at_once = |e: io::Error| Start::Answered(classify(index, target.proto, &e, None));
    let socket = match sockopt::socket(addr, target.proto, true) {
        Ok(socket) => socket,
        Err(e) if out_of_sockets(&e) => return Start::NoSocket,
        Err(e) => return answered_at_once(e),
    };
    // ICMP errors come with their type and code, for TCP (in SYN_SENT) as for UDP.
    let _ = sockopt::set_recverr(&socket, addr.is_ipv6());
    let started = Instant::now();
    match target.proto {
        Proto::Tcp => match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) if out_of_sockets(&e) => return Start::NoSocket,
            Err(e) => {
                let out = classify(index, Proto::Tcp, &e, sockopt::icmp_error(&socket));
                return Start::Answered(answered(out, &socket, started));
            }
        },
        Proto::Udp => {
            let sent = socket
                .connect(&addr.into())
                .and_then(|()| socket.send(&(plan.payload)(target.port())));
            match sent {
                Ok(_) => {}
                Err(e) if out_of_sockets(&e) => return Start::NoSocket,
                Err(e) => return answered_at_once(e),
            }
        }
    }
    Start::Flying(Flight {
        target: index,
        socket,
        started,
    })
}

/// The process or the system is out of descriptors or socket memory: a wait, not an answer.
fn out_of_sockets(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// The socket is ready: the handshake ended, a reply or an ICMP error arrived.
fn finish(target: &Target, flight: &Flight) -> Outcome {
    let socket = &flight.socket;
    let out = match target.proto {
        Proto::Tcp => match socket.take_error() {
            Ok(None) => outcome(flight.target, Status::Open, None),
            Ok(Some(e)) | Err(e) => {
                classify(flight.target, Proto::Tcp, &e, sockopt::icmp_error(socket))
            }
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

/// An error from connect/send/recv. The ICMP message behind it, when IP_RECVERR gave it,
/// decides, by one rule for TCP and UDP (`icmp::Icmp::verdict`); without one, the errno.
fn classify(target: usize, proto: Proto, e: &io::Error, icmp: Option<Icmp>) -> Outcome {
    let (status, detail): (Status, Cow<'static, str>) = match (e.raw_os_error(), icmp) {
        (_, Some(icmp)) => {
            let (status, reason) = icmp.verdict();
            (status, reason.into())
        }
        (Some(libc::ECONNREFUSED), None) => match proto {
            Proto::Tcp => (Status::Closed, "RST".into()),
            Proto::Udp => (Status::Closed, "ICMP port unreachable".into()),
        },
        (Some(libc::ETIMEDOUT), None) => (Status::Filtered, "no answer".into()),
        // No ICMP message: this host itself has no route (or no neighbour answered).
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

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::process::Command;
    use std::sync::Arc;

    use super::*;

    const UNDER_LIMIT: &str = "PORTSCOPE_TEST_UNDER_FD_LIMIT";

    /// More probes in flight than descriptors: the round waits for its own sockets to close
    /// instead of failing targets. The limit is per process, so the test runs itself again in
    /// a child under `ulimit -n 24`.
    #[test]
    fn probes_wait_for_a_free_descriptor() {
        if std::env::var_os(UNDER_LIMIT).is_none() {
            let exe = std::env::current_exe().unwrap();
            let run = Command::new("sh")
                .args(["-c", "ulimit -n 24 && exec \"$0\" \"$@\""])
                .arg(exe)
                .args([
                    "--exact",
                    "probe::engine::tests::probes_wait_for_a_free_descriptor",
                    "--test-threads=1",
                ])
                .env(UNDER_LIMIT, "1")
                .output()
                .unwrap();
            assert!(
                run.status.success(),
                "the run under the limit failed: {}",
                String::from_utf8_lossy(&run.stdout)
            );
            return;
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Forty probes of one open port: its accept queue holds them all.
        let targets: Vec<Target> = (0..40)
            .map(|_| Target {
                host: Arc::from("127.0.0.1"),
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                proto: Proto::Tcp,
            })
            .collect();
        let plan = Plan {
            timeout: Duration::from_secs(5),
            parallel: 64,
            payload: &|_| Vec::new(),
        rate: None,
        };
        let outcomes = round(&targets, 1, &plan, &|| {}).unwrap();
        assert_eq!(outcomes.len(), 40);
        let statuses: Vec<Status> = outcomes.iter().map(|o| o.status).collect();
        assert!(
            statuses.iter().all(|s| *s == Status::Open),
            "{outcomes:#?}"
        );
    }
}
