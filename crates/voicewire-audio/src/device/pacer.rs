//! A thread that calls a tick function at a steady real-time pace (for file and null devices).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::AudioError;

/// Handle to a running pacer thread; stops and joins on [`Pacer::stop`] or drop.
#[derive(Debug)]
pub(crate) struct Pacer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Pacer {
    /// Spawns `name`, calling `tick()` every `period` against absolute deadlines (so the
    /// average rate stays exact even when one sleep overshoots). `tick` returns false to end.
    pub(crate) fn spawn<F>(name: &str, period: Duration, mut tick: F) -> Result<Self, AudioError>
    where
        F: FnMut() -> bool + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut next = Instant::now();
                while !stop_flag.load(Ordering::Acquire) {
                    if !tick() {
                        break;
                    }
                    next += period;
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    } else if now - next > period * 10 {
                        // Far behind (suspended process): resync instead of bursting.
                        next = now;
                    }
                }
            })
            .map_err(|e| AudioError::device(name, e))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("audio pacer thread panicked");
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.stop();
    }
}
