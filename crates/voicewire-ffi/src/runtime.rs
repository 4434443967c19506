//! The one tokio runtime every FFI call runs on.
//!
//! Foreign callers poll our futures from their own executors (Swift tasks, Kotlin
//! coroutines, the JS event loop), none of which is a tokio runtime. Rather than rely on
//! UniFFI's `async_runtime` attribute (it is not applied on every path, e.g. foreign-trait
//! callbacks), every async export hands its body to [`run`], which spawns it onto this
//! runtime and lets the foreign side await only the join handle. Sockets, timers and the
//! session driver therefore always live on the same runtime, whichever language drives them.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

use crate::error::VoiceError;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process-wide runtime, built on first use.
///
/// Two worker threads: a voice session is I/O-bound, and phones punish idle threads.
pub(crate) fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        // Building a runtime fails only when the OS refuses threads; nothing can run then,
        // and there is no caller to hand the error to from a lazy global.
        #[allow(clippy::expect_used)]
        Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("voicewire-rt")
            .enable_all()
            .build()
            .expect("voicewire: cannot start the tokio runtime")
    })
}

/// Spawns `future` onto the FFI runtime.
pub(crate) fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime().spawn(future)
}

/// Runs an async export's body on the FFI runtime and returns its result to the caller's
/// executor. A panic inside the body becomes [`VoiceError::Other`] instead of unwinding
/// into foreign code.
pub(crate) async fn run<F, T>(future: F) -> Result<T, VoiceError>
where
    F: Future<Output = Result<T, VoiceError>> + Send + 'static,
    T: Send + 'static,
{
    match spawn(future).await {
        Ok(result) => result,
        Err(join_error) => Err(VoiceError::Other {
            detail: format!("internal task failed: {join_error}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_executes_on_the_ffi_runtime_from_a_foreign_executor() {
        // A plain futures executor stands in for Swift/Kotlin: it is not tokio.
        let name = futures_executor_block_on(run(async {
            Ok(std::thread::current().name().map(str::to_owned))
        }))
        .unwrap();
        assert_eq!(name.as_deref(), Some("voicewire-rt"));
    }

    #[test]
    fn a_panicking_body_becomes_a_typed_error() {
        let result: Result<(), VoiceError> = futures_executor_block_on(run(async {
            #[allow(clippy::panic)]
            {
                panic!("boom")
            }
        }));
        assert!(matches!(result, Err(VoiceError::Other { .. })));
    }

    /// Drives a future on the current thread without tokio (like a foreign executor).
    fn futures_executor_block_on<F: Future>(future: F) -> F::Output {
        use std::sync::Arc;
        use std::task::{Context, Poll, Wake, Waker};
        struct ThreadWaker(std::thread::Thread);
        impl Wake for ThreadWaker {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }
}
