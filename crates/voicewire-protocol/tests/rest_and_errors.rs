//! REST bodies (client secrets, beta sessions, minted secrets) and the wire error object.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use voicewire_protocol::error::codes;
use voicewire_protocol::rest::{ClientSecret, ExpiresAfter, SessionsCreateResponse};
use voicewire_protocol::{
    ApiError, ClientSecretCreateRequest, ClientSecretCreateResponse, Dialect, ErrorBody,
    MintedSecret, ServerEvent, SessionConfig, SessionPayload, Voice,
};

const SECRET: &str = "ek_68af296e8e408191a1120ab6383263c2";

#[test]
fn client_secret_request_round_trips_and_defaults() {
    let body = json!({"expires_after": {"anchor": "created_at", "seconds": 600},
                      "session": {"type": "realtime", "model": "gpt-realtime", "audio": {"output": {"voice": "marin"}}}});
    let req: ClientSecretCreateRequest = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(req.expires_after, Some(ExpiresAfter::seconds(600)));
    assert!(req.expires_after.as_ref().unwrap().is_valid());
    assert_eq!(
        req.session.as_ref().unwrap().as_realtime().unwrap().voice(),
        Some(&Voice::from("marin"))
    );
    assert_eq!(serde_json::to_value(&req).unwrap(), body);
    let empty: ClientSecretCreateRequest = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, ClientSecretCreateRequest::default());
    assert!(!ExpiresAfter::seconds(5).is_valid());
    assert!(!ExpiresAfter::seconds(7201).is_valid());
    let only_seconds: ExpiresAfter = serde_json::from_value(json!({"seconds": 60})).unwrap();
    assert_eq!(only_seconds.anchor, "created_at");
}

#[test]
fn client_secret_response_reads_ga_shape_and_redacts_debug() {
    let body = json!({"value": SECRET, "expires_at": 1756400000,
        "session": {"type": "realtime", "id": "sess_1", "object": "realtime.session", "model": "gpt-realtime"}});
    let resp: ClientSecretCreateResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(resp.value, SECRET);
    assert!(matches!(resp.session, Some(SessionPayload::Realtime(_))));
    assert_eq!(serde_json::to_value(&resp).unwrap(), body);
    let debug = format!("{resp:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
}

#[test]
fn minted_secret_reads_both_shapes_and_redacts_debug() {
    let ga: MintedSecret = serde_json::from_value(
        json!({"value": SECRET, "expires_at": 10, "session": {"type": "realtime"}}),
    )
    .unwrap();
    let beta: MintedSecret =
        serde_json::from_value(json!({"id": "sess_1", "model": "gpt-4o-realtime-preview",
        "client_secret": {"value": SECRET, "expires_at": 10}}))
        .unwrap();
    assert_eq!(ga, beta);
    assert_eq!(ga.value, SECRET);
    assert_eq!(ga.expires_at, 10);
    for text in [
        format!("{ga:?}"),
        format!(
            "{:?}",
            ClientSecret {
                value: SECRET.into(),
                expires_at: 1
            }
        ),
    ] {
        assert!(!text.contains(SECRET), "{text}");
    }
    assert_eq!(
        serde_json::to_value(&ga).unwrap(),
        json!({"value": SECRET, "expires_at": 10})
    );
    assert!(serde_json::from_value::<MintedSecret>(json!({"value": SECRET})).is_err());
    assert!(serde_json::from_value::<MintedSecret>(json!({})).is_err());
}

#[test]
fn beta_sessions_create_response_is_flat_with_client_secret() {
    let body = json!({"id": "sess_1", "object": "realtime.session", "model": "gpt-4o-realtime-preview",
        "modalities": ["audio", "text"], "voice": "alloy", "input_audio_format": "pcm16",
        "turn_detection": null, "client_secret": {"value": SECRET, "expires_at": 1734000060}});
    let resp: SessionsCreateResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(resp.session.voice(), Some(&Voice::from("alloy")));
    assert!(resp.session.turn_detection().is_null());
    assert_eq!(resp.client_secret.expires_at, 1734000060);
    assert_eq!(serde_json::to_value(&resp).unwrap(), body);
    assert!(!format!("{resp:?}").contains(SECRET));
    assert_eq!(MintedSecret::from(resp.client_secret).value, SECRET);
}

#[test]
fn mcp_tool_debug_redacts_credentials() {
    let config: SessionConfig = serde_json::from_value(json!({"type": "realtime", "tools": [
        {"type": "mcp", "server_label": "crm", "authorization": "Bearer sk-very-secret",
         "headers": {"X-Api-Key": "hdr-secret"}}]}))
    .unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("sk-very-secret"), "{debug}");
    assert!(!debug.contains("hdr-secret"), "{debug}");
    assert!(debug.contains("X-Api-Key"));
}

#[test]
fn api_error_wire_shape_has_explicit_nulls() {
    let err = ApiError::response_cancel_not_active().with_event_id(Some("evt_9"));
    let v = serde_json::to_value(&err).unwrap();
    assert_eq!(v["type"], "invalid_request_error");
    assert_eq!(v["code"], codes::RESPONSE_CANCEL_NOT_ACTIVE);
    assert_eq!(v["param"], Value::Null);
    assert!(v.as_object().unwrap().contains_key("param"));
    assert_eq!(v["event_id"], "evt_9");
    let event = ServerEvent::error("event_1", err.clone());
    let back = ServerEvent::decode(&event.encode(Dialect::Ga).unwrap()).unwrap();
    assert_eq!(back, event);
}

#[test]
fn api_error_constructors_use_the_documented_codes() {
    let cases = [
        (
            ApiError::conversation_already_has_active_response("resp_1"),
            codes::CONVERSATION_ALREADY_HAS_ACTIVE_RESPONSE,
        ),
        (
            ApiError::input_audio_buffer_commit_empty(12.5),
            codes::INPUT_AUDIO_BUFFER_COMMIT_EMPTY,
        ),
        (ApiError::session_expired(), codes::SESSION_EXPIRED),
        (
            ApiError::invalid_value("session.audio.output.speed", "too fast"),
            codes::INVALID_VALUE,
        ),
        (
            ApiError::unknown_parameter("session.temperature"),
            codes::UNKNOWN_PARAMETER,
        ),
        (
            ApiError::missing_required_parameter("session.type"),
            codes::MISSING_REQUIRED_PARAMETER,
        ),
        (
            ApiError::invalid_type("item.content", "expected array"),
            codes::INVALID_TYPE,
        ),
        (ApiError::item_not_found("item_x"), codes::ITEM_NOT_FOUND),
        (
            ApiError::beta_api_shape_disabled(),
            codes::BETA_API_SHAPE_DISABLED,
        ),
        (ApiError::invalid_api_key(), codes::INVALID_API_KEY),
    ];
    for (err, code) in cases {
        assert_eq!(err.code.as_deref(), Some(code));
        assert_eq!(err.r#type, "invalid_request_error");
        assert!(!err.message.is_empty());
    }
    assert!(
        ApiError::conversation_already_has_active_response("resp_1")
            .message
            .contains("resp_1")
    );
    assert_eq!(
        ApiError::unknown_parameter("session.temperature")
            .param
            .as_deref(),
        Some("session.temperature")
    );
    let server = ApiError::server_error("boom");
    assert_eq!(server.r#type, "server_error");
    assert_eq!(server.code, None);
    assert_eq!(server.to_string(), "server_error: boom");
}

#[test]
fn error_body_wraps_the_error() {
    let body = ErrorBody::from(ApiError::invalid_api_key());
    let v = serde_json::to_value(&body).unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    let back: ErrorBody = serde_json::from_value(v).unwrap();
    assert_eq!(back, body);
    // Bodies from other servers may leave out the optional keys.
    let sparse: ErrorBody = serde_json::from_value(
        json!({"error": {"message": "nope", "type": "invalid_request_error"}}),
    )
    .unwrap();
    assert_eq!(sparse.error.code, None);
}
