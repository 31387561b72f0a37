//! Work spread over a few threads that share one queue, with fewer threads (down to the calling
//! one alone) when the system will not start more: under a memory or process limit, starting
//! a thread fails, and that must not end the command.

use std::sync::{Condvar, Mutex};

/// Runs `work` on up to `threads` threads, the calling thread among them, and returns each
/// one's result. `work` is told how many threads run it, and must take its items from a queue
/// its threads share (an atomic index, say), so that fewer threads still do all of it.
pub fn spread<T: Send>(threads: usize, work: &(dyn Fn(usize) -> T + Sync)) -> Vec<T> {
    spread_with(threads, &|| true, work)
}

/// `spread`, with `may_start` asked before each thread is started (tests refuse some).
fn spread_with<T: Send>(
    threads: usize,
    may_start: &dyn Fn() -> bool,
    work: &(dyn Fn(usize) -> T + Sync),
) -> Vec<T> {
    // The helpers wait until the caller knows how many could be started.
    let gate = (Mutex::new(None::<usize>), Condvar::new());
    let wait = || {
        let (count, opened) = &gate;
        let mut count = count.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(n) = *count {
                return n;
            }
            count = opened.wait(count).unwrap_or_else(|e| e.into_inner());
        }
    };
    std::thread::scope(|scope| {
        let mut helpers = Vec::new();
        for _ in 1..threads.max(1) {
            if !may_start() {
                break;
            }
            match std::thread::Builder::new().spawn_scoped(scope, || work(wait())) {
                Ok(helper) => helpers.push(helper),
                Err(_) => break,
            }
        }
        let running = helpers.len() + 1;
        *gate.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(running);
        gate.1.notify_all();
        let mut results = vec![work(running)];
        for helper in helpers {
            // A helper that panicked is a bug: let it show as the caller's panic.
            results.push(
                helper
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Sums 0..1000 taken from a shared index, on as many threads as could be started.
    fn shared_sum(threads: usize, startable: usize) -> (usize, Vec<usize>) {
        let next = AtomicUsize::new(0);
        let started = AtomicUsize::new(0);
        let may_start = || started.fetch_add(1, Ordering::Relaxed) < startable;
        let results = spread_with(threads, &may_start, &|running| {
            let mut sum = 0;
            while let Some(i) = Some(next.fetch_add(1, Ordering::Relaxed)).filter(|i| *i < 1000) {
                sum += i;
            }
            (sum, running)
        });
        let total = results.iter().map(|r| r.0).sum();
        (total, results.iter().map(|r| r.1).collect())
    }

    #[test]
    fn every_thread_asked_for_runs() {
        let (total, running) = shared_sum(4, usize::MAX);
        assert_eq!(total, 499_500);
        assert_eq!(running, vec![4; 4]);
    }

    #[test]
    fn fewer_threads_still_do_all_the_work() {
        let (total, running) = shared_sum(8, 2);
        assert_eq!(total, 499_500);
        assert_eq!(running, vec![3; 3], "the caller and the two that started");
        let (total, running) = shared_sum(8, 0);
        assert_eq!(total, 499_500);
        assert_eq!(running, vec![1], "the calling thread alone");
    }
}
