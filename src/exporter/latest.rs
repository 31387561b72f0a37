//! The latest look, encoded, shared between the collector and the HTTP workers. A worker that
//! wants a fresh look asks for one and waits; every worker waiting meanwhile is answered by
//! the same collection, so a burst of scrapes costs one look, not one each. Fresh means begun
//! after the request arrived: a look already under way may have read the table before what
//! the scraper did just before asking (opened a listener, connected), so it does not count.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A look in both exposition formats.
#[derive(Debug)]
pub struct Published {
    /// When the look began reading the host.
    pub started: Instant,
    pub prometheus: Vec<u8>,
    pub openmetrics: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    current: Option<Arc<Published>>,
    /// A worker waits for a look newer than the current one.
    wanted: bool,
    stopped: bool,
}

#[derive(Debug, Default)]
pub struct Latest {
    state: Mutex<State>,
    /// Signalled on each publication and on stop.
    published: Condvar,
    /// Signalled when a look is wanted and on stop.
    wanted: Condvar,
}

impl Latest {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn publish(&self, published: Published) {
        let mut state = self.lock();
        state.current = Some(Arc::new(published));
        state.wanted = false;
        self.published.notify_all();
    }

    /// A look that began at or after `since` (any look, when None), asking the collector for
    /// one when needed; None when `deadline` passes first or the exporter stops.
    pub fn get(&self, since: Option<Instant>, deadline: Instant) -> Option<Arc<Published>> {
        let mut state = self.lock();
        loop {
            if let Some(current) = &state.current {
                if since.is_none_or(|since| current.started >= since) {
                    return Some(current.clone());
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.stopped || left.is_zero() {
                return None;
            }
            if since.is_some() && !state.wanted {
                state.wanted = true;
                self.wanted.notify_one();
            }
            state = self
                .published
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` for a worker to want a look; true when one does.
    pub fn wait_for_demand(&self, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .wanted
            .wait_timeout_while(state, timeout, |s| !s.wanted && !s.stopped)
            .unwrap_or_else(|e| e.into_inner());
        state.wanted && !state.stopped
    }

    /// Sleeps up to `timeout`, waking at once when the exporter stops.
    pub fn pause(&self, timeout: Duration) {
        let state = self.lock();
        let _ = self
            .wanted
            .wait_timeout_while(state, timeout, |s| !s.stopped)
            .unwrap_or_else(|e| e.into_inner());
    }

    pub fn stop(&self) {
        self.lock().stopped = true;
        self.published.notify_all();
        self.wanted.notify_all();
    }

    pub fn stopped(&self) -> bool {
        self.lock().stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published() -> Published {
        Published {
            started: Instant::now(),
            prometheus: b"p".to_vec(),
            openmetrics: b"o".to_vec(),
        }
    }

    #[test]
    fn waiters_share_one_fresh_look() {
        let latest = Latest::default();
        latest.publish(published());
        let since = Instant::now();
        let deadline = since + Duration::from_secs(10);
        std::thread::scope(|scope| {
            let waiters: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| latest.get(Some(since), deadline)))
                .collect();
            assert!(latest.wait_for_demand(Duration::from_secs(10)), "asked for");
            latest.publish(published());
            let looks: Vec<_> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
            let first = looks[0].clone().expect("a look");
            assert!(first.started >= since);
            assert!(looks.iter().all(|l| Arc::ptr_eq(l.as_ref().unwrap(), &first)));
        });
        assert!(!latest.wait_for_demand(Duration::ZERO), "nobody waits now");
    }

    #[test]
    fn a_look_begun_before_the_request_is_not_fresh() {
        let latest = Latest::default();
        let started = Instant::now();
        let since = started + Duration::from_millis(1);
        // Under way when the request arrived, finished after it.
        latest.publish(Published {
            started,
            ..published()
        });
        assert!(latest.get(Some(since), since).is_none(), "not that one");
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| latest.get(Some(since), since + Duration::from_secs(60)));
            assert!(latest.wait_for_demand(Duration::from_secs(10)), "asked for");
            let fresh = Published {
                started: since + Duration::from_millis(1),
                ..published()
            };
            latest.publish(fresh);
            let look = waiter.join().unwrap().expect("the next look");
            assert!(look.started >= since);
        });
    }

    #[test]
    fn a_deadline_or_a_stop_ends_the_wait() {
        let latest = Latest::default();
        let now = Instant::now();
        assert!(latest.get(Some(now), now).is_none(), "deadline passed");
        assert!(latest.get(None, now).is_none(), "no look yet");
        latest.publish(published());
        assert!(latest.get(None, now).is_some(), "the last look, however old");
        latest.stop();
        let far = Instant::now() + Duration::from_secs(60);
        assert!(latest.get(Some(Instant::now()), far).is_none());
        assert!(!latest.wait_for_demand(Duration::from_secs(60)));
    }
}
