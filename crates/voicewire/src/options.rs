//! Everything a session is configured with, and a builder for it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use voicewire_audio::AudioDevice;
use voicewire_core::{AudioRetention, ReconnectPolicy};
use voicewire_protocol::SessionConfig;

use crate::auth::TokenSource;
use crate::endpoint::Endpoint;
use crate::tools::{ToolHandler, ToolRegistry};
use crate::transport::Transport;

/// Default capacity of the event queue to the application.
pub const DEFAULT_EVENT_CAPACITY: usize = 1024;

/// Options of a [`crate::RealtimeVoiceSession`].
pub struct SessionOptions {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// Where the credential comes from.
    pub token_source: TokenSource,
    /// WebSocket or WebRTC.
    pub transport: Transport,
    /// The session configuration (sent on connect; merged with later updates).
    pub session: SessionConfig,
    /// The audio device; `None` for text-only sessions or audio pushed with `push_audio`.
    pub audio_device: Option<Box<dyn AudioDevice>>,
    /// Retry and recycle policy (its `connect_timeout` also bounds the transport handshake).
    pub reconnect: ReconnectPolicy,
    /// Tool handlers run by the driver.
    pub tools: ToolRegistry,
    /// Keep assistant audio per item, with caps (off by default).
    pub audio_retention: Option<AudioRetention>,
    /// Capacity of the event queue to the application. The driver never waits for the
    /// app: when the queue is full, levels and metrics snapshots are dropped, transcript
    /// deltas wait in a bounded overflow of this size and are then dropped, and every
    /// other event (states, errors, final transcripts, tool calls) waits in the overflow
    /// (hard cap 16,384). Drops are counted
    /// ([`RealtimeVoiceSession::events_dropped`](crate::RealtimeVoiceSession::events_dropped))
    /// and announced with one `Error { code: "events_dropped" }` when the reader catches up.
    pub event_capacity: usize,
    /// Input audio goes out in chunks of this many milliseconds (20–100).
    pub input_chunk_ms: u32,
    /// How often audio levels are reported (`None` = never).
    pub levels_interval: Option<Duration>,
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("endpoint", &self.endpoint.redacted_websocket_url())
            .field("token_source", &self.token_source)
            .field("transport", &self.transport)
            .field(
                "audio_device",
                &self.audio_device.as_ref().map(|d| d.name().to_owned()),
            )
            .field("reconnect", &self.reconnect)
            .field("tools", &self.tools)
            .finish_non_exhaustive()
    }
}

impl SessionOptions {
    /// Options for `token_source` with every other setting at its default (OpenAI endpoint,
    /// WebSocket, server VAD session, no audio device, default reconnect policy).
    pub fn new(token_source: TokenSource) -> Self {
        SessionOptions {
            endpoint: Endpoint::openai(),
            token_source,
            transport: Transport::WebSocket,
            session: SessionConfig::default(),
            audio_device: None,
            reconnect: ReconnectPolicy::default(),
            tools: ToolRegistry::default(),
            audio_retention: None,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            input_chunk_ms: 40,
            levels_interval: Some(Duration::from_millis(100)),
        }
    }

    /// Sets the endpoint.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// Sets the transport.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Sets the session configuration.
    pub fn session_config(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// Uses an audio device.
    pub fn audio_device(mut self, device: Box<dyn AudioDevice>) -> Self {
        self.audio_device = Some(device);
        self
    }

    /// Sets the reconnect policy.
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// Registers a tool handler.
    pub fn tool(mut self, name: impl Into<String>, handler: Arc<dyn ToolHandler>) -> Self {
        self.tools.register(name, handler);
        self
    }

    /// Sets the handler for tool calls whose name has no handler registered with
    /// [`Self::tool`].
    ///
    /// Use it when tools can appear after the session starts (a later `update_config`
    /// declaring new functions) or when one function dispatches every name itself, as the
    /// platform bindings do. It runs like any handler: on its own task, under
    /// [`Self::tool_timeout`], its output or error answered to the model automatically.
    /// Named handlers still take precedence.
    pub fn fallback_tool_handler(mut self, handler: Arc<dyn ToolHandler>) -> Self {
        self.tools.set_fallback(handler);
        self
    }

    /// Sets how long tool handlers may run.
    pub fn tool_timeout(mut self, timeout: Duration) -> Self {
        self.tools.timeout = timeout;
        self
    }

    /// Keeps assistant audio per item within caps.
    pub fn audio_retention(mut self, retention: AudioRetention) -> Self {
        self.audio_retention = Some(retention);
        self
    }
}
