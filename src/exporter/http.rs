//! A small HTTP/1.1 server for `/metrics`: a fixed set of worker threads, one connection
//! each, `Connection: close` after every answer. A client gets `client_timeout` to send its
//! request (a silent one is answered 408 and dropped) and to take the answer; connections
//! past the worker count are not accepted until a worker is free, so they wait in the
//! kernel's listen backlog rather than in this process's memory. Requests are parsed by
//! `httparse` from one fixed buffer.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::latest::Latest;
use super::request::{Head, Request, parse};
use super::{Format, Serving};
use crate::interrupt::interrupted;
use crate::poll;

/// A request's head must fit in this many bytes (Prometheus sends about 300).
const HEAD_LIMIT: usize = 8 * 1024;
/// How often blocked threads look at the signal flag.
const SLICE: Duration = Duration::from_millis(100);
/// Worker threads parse a request head and copy an answer: a small stack is plenty.
const WORKER_STACK: usize = 256 * 1024;
/// The listen backlog: a burst of scrapers waits here (the kernel caps it at somaxconn).
const BACKLOG: i32 = 1024;

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
        let workers = serving.max_clients.max(1);
        let slots = Slots::new(workers);
        let (send, receive) = mpsc::sync_channel::<(TcpStream, Instant)>(workers);
        let receive = Mutex::new(receive);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                std::thread::Builder::new()
                    .name("http".into())
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, || {
                        while let Ok((stream, accepted)) = next(&receive) {
                            answer(stream, accepted, serving, latest);
                            slots.give();
                        }
                    })?;
            }
            let accepted = self.accept_loop(&slots, &send);
            // Workers waiting for a look answer at once; then they see the channel close.
            latest.stop();
            drop(send);
            accepted
        })
    }

    fn accept_loop(
        &self,
        slots: &Slots,
        send: &mpsc::SyncSender<(TcpStream, Instant)>,
    ) -> io::Result<()> {
        while !interrupted() {
            if !slots.take(SLICE) {
                continue;
            }
            let stream = loop {
                if interrupted() {
                    return Ok(());
                }
                let mut fds = [poll::entry(self.listener.as_raw_fd(), poll::IN)];
                if poll::wait(&mut fds, SLICE)? == 0 {
                    continue;
                }
                match self.listener.accept() {
                    Ok((stream, _)) => break stream,
                    // Gone before accept (ECONNABORTED), or out of descriptors for a moment:
                    // the listener stays and the next client is served.
                    Err(e) if transient(&e) => std::thread::sleep(Duration::from_millis(10)),
                    Err(e) => return Err(e),
                }
            };
            // Never blocks: a slot was free, so a worker is.
            if send.send((stream, Instant::now())).is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}

fn transient(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
        || matches!(
            e.raw_os_error(),
            Some(libc::ECONNABORTED | libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
}

fn next(
    receive: &Mutex<mpsc::Receiver<(TcpStream, Instant)>>,
) -> Result<(TcpStream, Instant), mpsc::RecvError> {
    receive.lock().unwrap_or_else(|e| e.into_inner()).recv()
}

/// Connections being served, at most `max`.
struct Slots {
    busy: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

impl Slots {
    fn new(max: usize) -> Slots {
        Slots {
            busy: Mutex::new(0),
            freed: Condvar::new(),
            max,
        }
    }

    /// Takes a slot, waiting up to `timeout` for one; false when none came free.
    fn take(&self, timeout: Duration) -> bool {
        let busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let (mut busy, _) = self
            .freed
            .wait_timeout_while(busy, timeout, |b| *b >= self.max)
            .unwrap_or_else(|e| e.into_inner());
        if *busy >= self.max {
            return false;
        }
        *busy += 1;
        true
    }

    fn give(&self) {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        *busy = busy.saturating_sub(1);
        self.freed.notify_one();
    }
}

fn answer(mut stream: TcpStream, accepted: Instant, serving: &Serving, latest: &Latest) {
    let deadline = accepted + serving.client_timeout;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(serving.client_timeout));
    let (status, content_type, body, head_only) = match read_head(&mut stream, deadline) {
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

/// Reads until the request head is complete, the deadline passes (408), or it is malformed.
fn read_head(stream: &mut TcpStream, deadline: Instant) -> Head {
    let mut buf = [0u8; HEAD_LIMIT];
    let mut len = 0;
    loop {
        if interrupted() {
            return Head::Gone;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Head::Answer(408, "the request did not arrive in time\n");
        }
        let _ = stream.set_read_timeout(Some(left.min(SLICE)));
        match stream.read(&mut buf[len..]) {
            Ok(0) => return Head::Gone,
            Ok(n) => len += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(_) => return Head::Gone,
        }
        match parse(&buf[..len]) {
            Ok(Some(head)) => return head,
            Ok(None) if len == buf.len() => {
                return Head::Answer(431, "the request head is too large\n");
            }
            Ok(None) => {}
            Err(()) => return Head::Answer(400, "malformed request\n"),
        }
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
