//! Optional log sink: the engine's `tracing` events forwarded to the app's logger
//! (os_log, Logcat, console).
//!
//! The sink is called synchronously on the thread that logged, so it must be quick and must
//! not call back into VoiceWire. Audio callback threads never log, so the sink is never
//! called from them. Secrets never reach it: the engine redacts tokens in its own messages.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
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
}

/// Stops forwarding logs to the app.
#[uniffi::export]
pub fn clear_log_sink() {
    if let Ok(mut slot) = SLOT.write() {
        slot.sink = None;
    }
}

struct ForwardToSink;

impl<S: Subscriber> Layer<S> for ForwardToSink {
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
