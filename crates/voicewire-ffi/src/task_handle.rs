//! Handles for background work started on behalf of the app (event listeners).
//!
//! Whoever subscribes owns the handle; dropping it (Swift `deinit`, Kotlin `close()`, a
//! garbage-collected JS object, Python `del`) cancels the work, so a forgotten listener can
//! never keep a session's events flowing into a torn-down screen.

use tokio::task::AbortHandle;

/// Cancels its task when dropped or when [`TaskHandle::cancel`] is called.
#[derive(Debug, uniffi::Object)]
pub struct TaskHandle {
    abort: AbortHandle,
}

impl TaskHandle {
    pub(crate) fn new(abort: AbortHandle) -> Self {
        Self { abort }
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the task now; calling it again does nothing.
    pub fn cancel(&self) {
        self.abort.abort();
    }

    /// True once the task has ended (finished, failed or cancelled).
    pub fn is_finished(&self) -> bool {
        self.abort.is_finished()
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.abort.abort();
    }
}
