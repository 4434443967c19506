//! Tool handlers: application code the driver runs when the model calls a tool.
//!
//! A registered handler runs on its own task, concurrently with other calls and with the
//! session, under a timeout; its output (or an error object when it fails or times out) goes
//! back to the model automatically. A call whose name has no handler goes to the registry's
//! fallback handler when one is set (tools added later with `update_config`, or bindings that
//! dispatch every name in one place); without either, the application answers it with
//! `RealtimeVoiceSession::send_tool_output` after it sees the `ToolCall` event (the event is
//! emitted for every call either way).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
pub use voicewire_core::ToolCall;

/// Runs one tool.
#[async_trait]
pub trait ToolHandler: Send + Sync {
    /// Runs the call; `Ok` is the output text given to the model (usually JSON), `Err` a
    /// message sent to the model as `{"error": message}`.
    async fn call(&self, call: ToolCall) -> Result<String, String>;
}

/// Handlers by tool name, an optional catch-all, and the timeout they run under.
#[derive(Clone)]
pub struct ToolRegistry {
    handlers: HashMap<String, Arc<dyn ToolHandler>>,
    /// Answers calls to names without a handler of their own.
    fallback: Option<Arc<dyn ToolHandler>>,
    /// A handler that takes longer is abandoned and the model gets a timeout error.
    pub timeout: Duration,
}

impl Default for ToolRegistry {
    fn default() -> Self {
        ToolRegistry {
            handlers: HashMap::new(),
            fallback: None,
            timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.handlers.keys().collect();
        names.sort();
        f.debug_struct("ToolRegistry")
            .field("tools", &names)
            .field("fallback", &self.fallback.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ToolRegistry {
    /// Registers `handler` for tool `name` (replacing any earlier one).
    pub fn register(&mut self, name: impl Into<String>, handler: Arc<dyn ToolHandler>) {
        self.handlers.insert(name.into(), handler);
    }

    /// Sets the handler for calls whose name has no handler of its own (replacing any
    /// earlier fallback).
    ///
    /// Without it, a call to a tool first declared in a later `update_config` reaches no
    /// code until the application answers it by hand; with it, every call is answered.
    pub fn set_fallback(&mut self, handler: Arc<dyn ToolHandler>) {
        self.fallback = Some(handler);
    }

    /// The handler for `name`: its own if registered, otherwise the fallback, if any.
    pub fn get(&self, name: &str) -> Option<Arc<dyn ToolHandler>> {
        self.handlers.get(name).or(self.fallback.as_ref()).cloned()
    }

    /// Whether no handler (named or fallback) is registered.
    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty() && self.fallback.is_none()
    }

    /// Runs `handler` under the timeout and turns failures into the output the model sees.
    pub(crate) async fn run(
        handler: Arc<dyn ToolHandler>,
        call: ToolCall,
        timeout: Duration,
    ) -> String {
        let name = call.name.clone();
        match tokio::time::timeout(timeout, handler.call(call)).await {
            Ok(Ok(output)) => output,
            Ok(Err(message)) => serde_json::json!({ "error": message }).to_string(),
            Err(_) => {
                tracing::warn!(tool = %name, ?timeout, "tool handler timed out");
                serde_json::json!({ "error": format!("the tool `{name}` timed out after {} ms", timeout.as_millis()) })
                    .to_string()
            }
        }
    }
}

/// A handler from an async closure.
pub struct FnToolHandler<F>(pub F);

#[async_trait]
impl<F, Fut> ToolHandler for FnToolHandler<F>
where
    F: Fn(ToolCall) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<String, String>> + Send,
{
    async fn call(&self, call: ToolCall) -> Result<String, String> {
        (self.0)(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str) -> ToolCall {
        ToolCall {
            call_id: "c".into(),
            name: name.into(),
            arguments: "{}".into(),
            item_id: "i".into(),
            response_id: None,
        }
    }

    fn answering(output: &'static str) -> Arc<dyn ToolHandler> {
        Arc::new(FnToolHandler(move |_c: ToolCall| async move {
            Ok::<_, String>(output.to_string())
        }))
    }

    #[tokio::test]
    async fn named_handlers_win_and_the_fallback_takes_the_rest() {
        let mut registry = ToolRegistry::default();
        assert!(registry.is_empty());
        assert!(registry.get("anything").is_none());
        registry.register("weather", answering("sunny"));
        assert!(registry.get("time").is_none(), "no fallback yet");
        registry.set_fallback(answering("fallback"));
        assert!(!registry.is_empty());
        let timeout = Duration::from_secs(1);
        let weather = registry.get("weather").unwrap();
        assert_eq!(
            ToolRegistry::run(weather, call("weather"), timeout).await,
            "sunny"
        );
        let time = registry.get("time").unwrap();
        assert_eq!(
            ToolRegistry::run(time, call("time"), timeout).await,
            "fallback"
        );
        let debug = format!("{registry:?}");
        assert!(debug.contains("fallback: true"), "{debug}");
    }

    #[test]
    fn a_fallback_alone_makes_the_registry_non_empty() {
        let mut registry = ToolRegistry::default();
        registry.set_fallback(answering("x"));
        assert!(!registry.is_empty());
        assert!(registry.get("").is_some());
    }

    #[tokio::test]
    async fn failures_and_timeouts_become_error_outputs() {
        let ok: Arc<dyn ToolHandler> = Arc::new(FnToolHandler(|_c: ToolCall| async {
            Ok::<_, String>("42".to_string())
        }));
        let bad: Arc<dyn ToolHandler> = Arc::new(FnToolHandler(|_c: ToolCall| async {
            Err::<String, _>("no such city".to_string())
        }));
        let slow: Arc<dyn ToolHandler> = Arc::new(FnToolHandler(|_c: ToolCall| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, String>("late".to_string())
        }));
        assert_eq!(
            ToolRegistry::run(ok, call("a"), Duration::from_secs(1)).await,
            "42"
        );
        assert_eq!(
            ToolRegistry::run(bad, call("a"), Duration::from_secs(1)).await,
            r#"{"error":"no such city"}"#
        );
        let out = ToolRegistry::run(slow, call("slow"), Duration::from_millis(20)).await;
        assert!(out.contains("timed out"), "{out}");
    }
}
