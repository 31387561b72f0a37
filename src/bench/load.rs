//! The load itself: an echo-like server answering fixed-size requests, and clients that use a
//! new connection per request (short) or keep one (long).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::Bench;
use crate::model::Proto;
use crate::poll;

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub requests: usize,
    pub seconds: f64,
    /// Per request, sorted.
    pub latencies: Vec<Duration>,
    pub ports_used: usize,
}

impl Measured {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds.max(f64::MIN_POSITIVE)
    }

    /// The q-quantile of the latencies (q in 0..=1), in ms.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

/// How long a blocked worker or client waits before looking at the stop flag and Ctrl-C.
const SLICE: Duration = Duration::from_millis(50);

/// A server whose workers each accept a connection and answer `size` bytes for every `size`
/// bytes read, until the client closes. Every wait is sliced, so stopping needs no
/// connection (which may be impossible: loopback down, no port left).
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Up to `workers` threads; fewer when no more can be started, and an error only when
    /// not one can (the clients need a server running beside them).
    pub fn start(size: usize, workers: usize) -> Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").context("starting the bench server")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = Arc::new(listener);
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (listener, stop) = (listener.clone(), stop.clone());
            let (mut request, response) = (buffer(size, 0)?, buffer(size, b'r')?);
            let spawned = std::thread::Builder::new().spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut fds = [poll::entry(listener.as_raw_fd(), poll::IN)];
                    if poll::wait(&mut fds, SLICE).unwrap_or(0) == 0 {
                        continue;
                    }
                    if let Ok((stream, _)) = listener.accept() {
                        serve(stream, &mut request, &response, &stop);
                    }
                }
            });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(_) if !handles.is_empty() => break,
                Err(e) => {
                    return Err(e).context(
                        "starting the bench server: not one thread could be started for it \
                         (the clients run beside it)",
                    );
                }
            }
        }
        Ok(Server {
            addr,
            stop,
            workers: handles,
        })
    }

    /// Stops the workers: each notices the flag within one slice.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

/// `len` bytes of `fill`; short of memory, an error rather than an abort.
pub fn buffer(len: usize, fill: u8) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(len)
        .with_context(|| format!("allocating a {len}-byte buffer"))?;
    buf.resize(len, fill);
    Ok(buf)
}

fn serve(mut stream: TcpStream, request: &mut [u8], response: &[u8], stop: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(SLICE));
    while read_full(&mut stream, request, &|| stop.load(Ordering::Relaxed)).is_ok() {
        if stream.write_all(response).is_err() {
            break;
        }
    }
}

/// Reads exactly `buf.len()` bytes from a stream with a read timeout, giving up when `give_up`
/// says so between slices.
fn read_full(
    stream: &mut TcpStream,
    buf: &mut [u8],
    give_up: &dyn Fn() -> bool,
) -> std::io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                if give_up() {
                    return Err(std::io::ErrorKind::Interrupted.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One request/response exchange on an open connection.
fn exchange(stream: &mut TcpStream, request: &[u8], reply: &mut [u8]) -> Result<()> {
    stream.write_all(request)?;
    read_full(stream, reply, &crate::interrupt::interrupted)?;
    Ok(())
}

/// Runs the exchanges over the clients (fewer when no more threads can be started: they share
/// the requests), a new connection per request when `short`; `tick` is called per request
/// (progress).
pub fn run(
    addr: SocketAddr,
    bench: &Bench,
    short: bool,
    tick: &(dyn Fn() + Sync),
) -> Result<Measured> {
    let requests = bench.requests;
    let clients = bench.concurrency.clamp(1, requests.max(1));
    let taken = AtomicUsize::new(0);
    let load = Load {
        addr,
        requests,
        size: bench.size,
        short,
        taken: &taken,
        tick,
    };
    let started = Instant::now();
    let results = crate::workers::spread(clients, &|_| client(&load));
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies = Vec::with_capacity(requests);
    let mut ports = HashSet::new();
    for result in results {
        let (lat, used) = result?;
        latencies.extend(lat);
        ports.extend(used);
    }
    latencies.sort_unstable();
    Ok(Measured {
        requests,
        seconds,
        latencies,
        ports_used: ports.len(),
    })
}

/// What every client of a run shares: the requests are taken one at a time.
struct Load<'a> {
    addr: SocketAddr,
    requests: usize,
    size: usize,
    short: bool,
    taken: &'a AtomicUsize,
    tick: &'a (dyn Fn() + Sync),
}

fn client(load: &Load) -> Result<(Vec<Duration>, HashSet<u16>)> {
    let addr = load.addr;
    let request = buffer(load.size, b'q')?;
    let mut reply = buffer(load.size, 0)?;
    let mut latencies = Vec::new();
    let mut ports = HashSet::new();
    let connect = || -> Result<TcpStream> {
        let timeout = Duration::from_secs(2);
        // Its own server out of reach is a failure of the bench, whatever the reason: exit 2.
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
            let (why, _) = crate::endpoint::why_not_connected(&e, Proto::Tcp, timeout);
            anyhow::anyhow!("connecting to the bench server {addr}: {why}")
        })?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(SLICE))?;
        Ok(stream)
    };
    let mut kept = if load.short { None } else { Some(connect()?) };
    if let Some(stream) = &kept {
        ports.insert(stream.local_addr()?.port());
    }
    while load.taken.fetch_add(1, Ordering::Relaxed) < load.requests {
        if crate::interrupt::interrupted() {
            anyhow::bail!("interrupted");
        }
        let started = Instant::now();
        match kept.as_mut() {
            Some(stream) => exchange(stream, &request, &mut reply)?,
            None => {
                // Connect, ask, read, close: the client closes first, so TIME_WAIT is its.
                let mut stream = connect()?;
                ports.insert(stream.local_addr()?.port());
                exchange(&mut stream, &request, &mut reply)?;
            }
        }
        latencies.push(started.elapsed());
        (load.tick)();
    }
    Ok((latencies, ports))
}
