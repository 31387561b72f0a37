//! A small HTTP/1.1 server for `/metrics`: the accepting thread reads every connection's
//! request head as it arrives (`heads`), and a fixed set of worker threads answers the
//! complete ones, `Connection: close` after every answer. A client gets `client_timeout` to
//! send its request (a silent one is answered 408 and dropped) and to take the answer; slow
//! or silent clients hold a small buffer each, not a worker, so they cannot keep scrapes
//! waiting. Past `CONNECTIONS` at once, new ones wait in the kernel's listen backlog rather
//! than in this process's memory. Requests are parsed by `httparse`.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::heads::Arriving;
use super::latest::Latest;
use super::request::{Head, Request};
use super::{Format, Serving};
use crate::interrupt::interrupted;
use crate::poll;

/// Connections held at once, their heads arriving or waiting for a worker: at most this many
/// descriptors and head buffers (8 KiB each at worst).
const CONNECTIONS: usize = 256;
/// How often blocked threads look at the signal flag.
const SLICE: Duration = Duration::from_millis(100);
/// Worker threads copy an answer: a small stack is plenty.
const WORKER_STACK: usize = 256 * 1024;
/// The listen backlog: a burst of scrapers waits here (the kernel caps it at somaxconn).
const BACKLOG: i32 = 1024;

/// A connection with its request head, for a worker to answer.
struct Job {
    stream: TcpStream,
    accepted: Instant,
    head: Head,
}

pub struct Server {
    listener: TcpListener,
}

impl Server {
    /// Binds `addr` (port 0: the kernel chooses) with SO_REUSEADDR, so that a restarted
    /// exporter gets its port back past the last run's TIME_WAIT entries.
    pub fn bind(addr: SocketAddr) -> io::Result<Server> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        socket.set_nonblocking(true)?;
        Ok(Server {
            listener: socket.into(),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGINT or SIGTERM; every worker has finished when it returns.
    pub fn serve(&self, serving: &Serving, latest: &Latest) -> io::Result<()> {
        let (send, receive) = mpsc::sync_channel::<Job>(CONNECTIONS);
        let receive = Mutex::new(receive);
        // Jobs sent and not yet taken by a worker.
        let queued = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..serving.max_clients.max(1) {
                std::thread::Builder::new()
                    .name("http".into())
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, || {
                        while let Ok(job) = next(&receive) {
                            queued.fetch_sub(1, Ordering::Relaxed);
                            // Stopping: answers not begun are not begun.
                            if !interrupted() {
                                answer(job, serving, latest);
                            }
                        }
                    })?;
            }
            let accepted = self.accept_loop(serving, &queued, &send);
            // Workers waiting for a look answer at once; then they see the channel close.
            latest.stop();
            drop(send);
            accepted
        })
    }

    /// Accepts connections and reads their heads until a signal; complete heads (and late or
    /// refused ones, to be answered with an error) go to the workers.
    fn accept_loop(
        &self,
        serving: &Serving,
        queued: &AtomicUsize,
        send: &mpsc::SyncSender<Job>,
    ) -> io::Result<()> {
        let mut arriving: Vec<Arriving> = Vec::new();
        let room = |arriving: &Vec<Arriving>| {
            arriving.len() + queued.load(Ordering::Relaxed) < CONNECTIONS
        };
        while !interrupted() {
            let listening = if room(&arriving) {
                self.listener.as_raw_fd()
            } else {
                -1
            };
            let mut fds = vec![poll::entry(listening, poll::IN)];
            fds.extend(
                arriving
                    .iter()
                    .map(|a| poll::entry(a.stream.as_raw_fd(), poll::IN)),
            );
            let now = Instant::now();
            let wait = arriving
                .iter()
                .map(|a| (a.accepted + serving.client_timeout).saturating_duration_since(now))
                .fold(SLICE, Duration::min);
            poll::wait(&mut fds, wait)?;
            let now = Instant::now();
            // From the end, so that removing one leaves the indices before it valid.
            for i in (0..arriving.len()).rev() {
                let head = if poll::readable(&fds[i + 1]) {
                    arriving[i].read()
                } else if now >= arriving[i].accepted + serving.client_timeout {
                    Some(Head::Answer(408, "the request did not arrive in time
"))
                } else {
                    None
                };
                let Some(head) = head else { continue };
                let Arriving {
                    stream, accepted, ..
                } = arriving.swap_remove(i);
                if matches!(head, Head::Gone) {
                    continue;
                }
                queued.fetch_add(1, Ordering::Relaxed);
                // Never blocks: the channel holds CONNECTIONS and fewer are queued.
                if send.send(Job { stream, accepted, head }).is_err() {
                    return Ok(());
                }
            }
            while poll::readable(&fds[0]) && room(&arriving) {
                match self.listener.accept() {
                    Ok((stream, _)) => {
                        if stream.set_nonblocking(true).is_ok() {
                            arriving.push(Arriving::new(stream, Instant::now()));
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // Gone before accept (ECONNABORTED), or out of descriptors for a moment:
                    // the listener stays and the next client is served.
                    Err(e) if transient(&e) => {
                        std::thread::sleep(Duration::from_millis(10));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

fn transient(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
        || matches!(
            e.raw_os_error(),
            Some(libc::ECONNABORTED | libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
}

fn next(receive: &Mutex<mpsc::Receiver<Job>>) -> Result<Job, mpsc::RecvError> {
    receive.lock().unwrap_or_else(|e| e.into_inner()).recv()
}

fn answer(job: Job, serving: &Serving, latest: &Latest) {
    let Job {
        mut stream,
        accepted,
        head,
    } = job;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(serving.client_timeout));
    let (status, content_type, body, head_only) = match head {
        Head::Gone => return,
        Head::Answer(status, text) => (status, TEXT, text.as_bytes().into(), false),
        Head::Complete(request) => {
            let (status, content_type, body) = route(&request, accepted, serving, latest);
            (status, content_type, body, request.head_only)
        }
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n{}\r\n",
        reason(status),
        body.len(),
        if status == 405 { "Allow: GET, HEAD\r\n" } else { "" }
    );
    let _ = stream.write_all(head.as_bytes());
    if !head_only {
        let _ = stream.write_all(&body);
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

type Body = std::borrow::Cow<'static, [u8]>;

const TEXT: &str = "text/plain; charset=utf-8";

fn route(
    request: &Request,
    accepted: Instant,
    serving: &Serving,
    latest: &Latest,
) -> (u16, &'static str, Body) {
    match request.path.as_str() {
        "/metrics" => {
            let wait = request
                .scrape_timeout
                .map_or(serving.client_timeout, |t| t.min(serving.client_timeout));
            // Answer a little before the scraper gives up, so it sees why.
            let deadline = accepted + wait.saturating_sub(wait / 10);
            let since = serving.interval.is_none().then_some(accepted);
            match latest.get(since, deadline) {
                Some(look) => {
                    let body = match request.format {
                        Format::Prometheus => look.prometheus.clone(),
                        Format::OpenMetrics => look.openmetrics.clone(),
                    };
                    (200, request.format.content_type(), body.into())
                }
                None => (
                    503,
                    TEXT,
                    b"no look at the host finished within the scrape deadline\n".as_slice().into(),
                ),
            }
        }
        "/" => (
            200,
            TEXT,
            b"portscope exporter: metrics at /metrics\n".as_slice().into(),
        ),
        _ => (404, TEXT, b"not found: metrics are at /metrics\n".as_slice().into()),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    }
}
