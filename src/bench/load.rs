//! The load itself: an echo-like server answering fixed-size requests, and clients that use a
//! new connection per request (short) or keep one (long).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

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

/// A server whose workers each accept a connection and answer `size` bytes for every `size`
/// bytes read, until the client closes.
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(size: usize, workers: usize) -> Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").context("starting the bench server")?;
        let addr = listener.local_addr()?;
        let listener = Arc::new(listener);
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|_| {
                let (listener, stop) = (listener.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok((stream, _)) = listener.accept() {
                            serve(stream, size);
                        }
                    }
                })
            })
            .collect();
        Ok(Server {
            addr,
            stop,
            workers,
        })
    }

    /// Stops the workers: each is woken by one last connection.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for _ in &self.workers {
            let _ = TcpStream::connect(self.addr);
        }
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

fn serve(mut stream: TcpStream, size: usize) {
    let _ = stream.set_nodelay(true);
    let mut request = vec![0u8; size];
    let response = vec![b'r'; size];
    while stream.read_exact(&mut request).is_ok() {
        if stream.write_all(&response).is_err() {
            break;
        }
    }
}

/// One request/response exchange on an open connection.
fn exchange(stream: &mut TcpStream, request: &[u8], reply: &mut [u8]) -> Result<()> {
    stream.write_all(request)?;
    stream.read_exact(reply)?;
    Ok(())
}

/// Runs `requests` exchanges split over `concurrency` clients, new connection per request when
/// `short`; `tick` is called per request (progress).
pub fn run(
    addr: SocketAddr,
    requests: usize,
    size: usize,
    concurrency: usize,
    short: bool,
    tick: &(dyn Fn() + Sync),
) -> Result<Measured> {
    let concurrency = concurrency.clamp(1, requests.max(1));
    let started = Instant::now();
    let results: Vec<Result<(Vec<Duration>, HashSet<u16>)>> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..concurrency)
            .map(|i| {
                let share = requests / concurrency + usize::from(i < requests % concurrency);
                scope.spawn(move || client(addr, share, size, short, tick))
            })
            .collect();
        clients
            .into_iter()
            .map(|c| {
                c.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a bench client failed")))
            })
            .collect()
    });
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

fn client(
    addr: SocketAddr,
    requests: usize,
    size: usize,
    short: bool,
    tick: &(dyn Fn() + Sync),
) -> Result<(Vec<Duration>, HashSet<u16>)> {
    let request = vec![b'q'; size];
    let mut reply = vec![0u8; size];
    let mut latencies = Vec::with_capacity(requests);
    let mut ports = HashSet::new();
    let connect = || -> Result<TcpStream> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(stream)
    };
    let mut kept = if short { None } else { Some(connect()?) };
    if let Some(stream) = &kept {
        ports.insert(stream.local_addr()?.port());
    }
    for _ in 0..requests {
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
        tick();
    }
    Ok((latencies, ports))
}
