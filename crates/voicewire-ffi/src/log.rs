//! Optional log sink: the engine's `tracing` events forwarded to the app's logger
//! (os_log, Logcat, console).
//!
//! The sink is called synchronously on the thread that logged, so it must be quick and must
//! not call back into VoiceWire. Audio callback threads never log, so the sink is never
//! called from them. Secrets never reach it: the engine redacts tokens in its own messages.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::{Layer, Registry};

/// Severity of a log record, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something unexpected that the engine recovered from.
    Warn,
    /// Session milestones (connected, reconnecting, closed).
    Info,
    /// Details useful when debugging an integration.
    Debug,
    /// Everything, including per-event traces.
    Trace,
}

impl LogLevel {
    fn from_tracing(level: Level) -> Self {
        match level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }

    /// The level as stored in [`ACTIVE_LEVEL`] (0 means no sink).
    fn rank(self) -> u8 {
        match self {
            LogLevel::Error => 1,
            LogLevel::Warn => 2,
            LogLevel::Info => 3,
            LogLevel::Debug => 4,
            LogLevel::Trace => 5,
        }
    }
}

/// The most verbose level forwarded, as [`LogLevel::rank`]; 0 while no sink is set.
///
/// Read with one atomic load by `enabled`, so callsites below the level (and every
/// callsite while no sink is set) never touch the sink lock.
static ACTIVE_LEVEL: AtomicU8 = AtomicU8::new(0);

/// Only the engine's own crates are forwarded (not tokio, rustls, webrtc…).
fn is_voicewire_target(target: &str) -> bool {
    target.starts_with("voicewire")
}

fn set_active_level(rank: u8) {
    ACTIVE_LEVEL.store(rank, Ordering::Relaxed);
    // Callsites cache their interest and the global max level; recompute both.
    tracing::callsite::rebuild_interest_cache();
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Severity.
    pub level: LogLevel,
    /// The Rust module that logged (e.g. `voicewire::driver`).
    pub target: String,
    /// The message followed by its `key=value` fields.
    pub message: String,
}

/// Implemented by the app to receive engine logs.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// Receives one record; keep it quick and do not call VoiceWire from here.
    fn log(&self, record: LogRecord);
}

struct SinkSlot {
    sink: Option<Arc<dyn LogSink>>,
    max_level: LogLevel,
}

static SLOT: RwLock<SinkSlot> = RwLock::new(SinkSlot {
    sink: None,
    max_level: LogLevel::Info,
});
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Sends engine logs at `max_level` and more severe to `sink`, replacing any previous sink.
///
/// The first call installs a process-wide `tracing` subscriber; if the host already
/// installed one (a Rust app with its own logging), the sink is kept but the host's
/// subscriber stays in charge.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) {
    if let Ok(mut slot) = SLOT.write() {
        slot.sink = Some(sink);
        slot.max_level = max_level;
    }
    INSTALLED.get_or_init(|| {
        let subscriber = Registry::default().with(ForwardToSink);
        tracing::subscriber::set_global_default(subscriber).is_ok()
    });
    set_active_level(max_level.rank());
}

/// Stops forwarding logs to the app.
#[uniffi::export]
pub fn clear_log_sink() {
    set_active_level(0);
    if let Ok(mut slot) = SLOT.write() {
        slot.sink = None;
    }
}

struct ForwardToSink;

impl<S: Subscriber> Layer<S> for ForwardToSink {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if !is_voicewire_target(metadata.target()) {
            Interest::never()
        } else if metadata.is_event() {
            // The level can change at any time: ask `enabled` on every use.
            Interest::sometimes()
        } else {
            // Spans are never forwarded.
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        let rank = LogLevel::from_tracing(*metadata.level()).rank();
        rank <= ACTIVE_LEVEL.load(Ordering::Relaxed) && is_voicewire_target(metadata.target())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match ACTIVE_LEVEL.load(Ordering::Relaxed) {
            0 => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            4 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = LogLevel::from_tracing(*event.metadata().level());
        let sink = match SLOT.read() {
            Ok(slot) if level <= slot.max_level => slot.sink.clone(),
            _ => None,
        };
        let Some(sink) = sink else { return };
        let mut text = MessageText::default();
        event.record(&mut text);
        sink.log(LogRecord {
            level,
            target: event.metadata().target().to_owned(),
            message: text.finish(),
        });
    }
}

#[derive(Default)]
struct MessageText {
    message: String,
    fields: String,
}

impl MessageText {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields
        } else {
            format!("{} {}", self.message, self.fields)
        }
    }
}

impl Visit for MessageText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            if !self.fields.is_empty() {
                self.fields.push(' ');
            }
            let _ = write!(self.fields, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<LogRecord>>);

    impl LogSink for Collect {
        fn log(&self, record: LogRecord) {
            self.0.lock().unwrap().push(record);
        }
    }

    fn messages(sink: &Collect) -> Vec<String> {
        sink.0
            .lock()
            .unwrap()
            .drain(..)
            .map(|r| r.message)
            .collect()
    }

    /// One test owns the process-wide subscriber (tests in this binary run in one process).
    #[test]
    fn level_and_target_filter_and_reload() {
        let sink = Arc::new(Collect::default());
        set_log_sink(Arc::clone(&sink) as Arc<dyn LogSink>, LogLevel::Info);
        tracing::info!(target: "voicewire::test", "info shown");
        tracing::debug!(target: "voicewire::test", "debug hidden");
        tracing::info!(target: "hyper::client", "foreign hidden");
        assert_eq!(messages(&sink), ["info shown"]);

        set_log_sink(Arc::clone(&sink) as Arc<dyn LogSink>, LogLevel::Debug);
        tracing::debug!(target: "voicewire::test", "debug shown");
        assert_eq!(messages(&sink), ["debug shown"]);

        set_log_sink(Arc::clone(&sink) as Arc<dyn LogSink>, LogLevel::Error);
        tracing::warn!(target: "voicewire::test", "warn hidden");
        tracing::error!(target: "voicewire::test", "error shown");
        assert_eq!(messages(&sink), ["error shown"]);

        clear_log_sink();
        tracing::error!(target: "voicewire::test", "after clear");
        assert!(messages(&sink).is_empty());
    }
}
