//! REST endpoints: minting client secrets (GA `POST /v1/realtime/client_secrets`, beta
//! `POST /v1/realtime/sessions`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use voicewire_protocol::{
    ApiError, Dialect, Nullable, SessionConfig, SessionPayload, TranscriptionSessionConfig,
    TurnDetection,
};

use voicewire_protocol::session::BetaSessionConfig;

use crate::auth;
use crate::ids;
use crate::secrets::{self, DEFAULT_TTL_SECS, MAX_TTL_SECS, MIN_TTL_SECS};
use crate::server::{Shared, error_response};
use crate::session::settings::{default_session, normalize, validate_update};

/// Beta secrets lived one minute by default.
const BETA_DEFAULT_TTL_SECS: u64 = 60;

/// A REST call failed; turned into the service's error response.
struct RestError(StatusCode, Box<ApiError>);

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        error_response(self.0, *self.1)
    }
}

impl From<ApiError> for RestError {
    fn from(error: ApiError) -> Self {
        Self(StatusCode::BAD_REQUEST, Box::new(error))
    }
}

/// The HTTP 401 the service answers when no key is given.
pub(crate) fn missing_key_error() -> ApiError {
    ApiError::new(
        voicewire_protocol::error::INVALID_REQUEST_ERROR,
        None,
        "You didn't provide an API key. You need to provide your API key in an Authorization header \
         using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    )
}

/// Checks the standard API key of a REST call (client secrets cannot mint more secrets).
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), RestError> {
    let Some(key) = auth::presented_key(headers, &[]) else {
        return Err(RestError(
            StatusCode::UNAUTHORIZED,
            Box::new(missing_key_error()),
        ));
    };
    if key.is_ephemeral() {
        return Err(RestError(
            StatusCode::UNAUTHORIZED,
            Box::new(ApiError::invalid_request(
                voicewire_protocol::error::codes::INVALID_API_KEY,
                "Client secrets cannot be used to create client secrets; use a standard API key.",
            )),
        ));
    }
    if !shared.accepts_api_key(key.expose()) {
        return Err(RestError(
            StatusCode::UNAUTHORIZED,
            Box::new(ApiError::invalid_api_key()),
        ));
    }
    Ok(())
}

fn rate_limited() -> Response {
    let error = ApiError::new(
        "requests",
        Some("rate_limit_exceeded"),
        "Rate limit reached for requests (injected by the VoiceWire emulator). Please try again in 1s.",
    );
    let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, error);
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from_static("1"));
    response.headers_mut().insert(
        "x-ratelimit-remaining-requests",
        HeaderValue::from_static("0"),
    );
    response
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, RestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => {
            Err(ApiError::invalid_type("body", "The request body must be a JSON object.").into())
        }
        Err(e) => Err(ApiError::new(
            voicewire_protocol::error::INVALID_REQUEST_ERROR,
            None,
            format!("We could not parse the JSON body of your request. ({e})"),
        )
        .into()),
    }
}

/// Reads `{anchor: "created_at", seconds: 10..=7200}` at `path`.
fn parse_expires_after(
    value: Option<&Value>,
    path: &str,
    default_secs: u64,
) -> Result<Duration, RestError> {
    let Some(value) = value else {
        return Ok(Duration::from_secs(default_secs));
    };
    let Value::Object(map) = value else {
        return Err(ApiError::invalid_type(
            path,
            format!("Invalid type for '{path}': expected an object."),
        )
        .into());
    };
    if let Some(key) = map.keys().find(|k| *k != "anchor" && *k != "seconds") {
        return Err(ApiError::unknown_parameter(format!("{path}.{key}")).into());
    }
    match map.get("anchor") {
        None => {}
        Some(Value::String(a)) if a == "created_at" => {}
        Some(other) => {
            return Err(ApiError::invalid_value(
                format!("{path}.anchor"),
                format!("Invalid value: {other}. Supported values are: 'created_at'."),
            )
            .into());
        }
    }
    let seconds = match map.get("seconds") {
        None => default_secs,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(s) => s,
            None => {
                return Err(ApiError::invalid_value(
                    format!("{path}.seconds"),
                    format!("Invalid value: {n}. Expected an integer between {MIN_TTL_SECS} and {MAX_TTL_SECS}."),
                )
                .into());
            }
        },
        Some(_) => {
            return Err(ApiError::invalid_type(
                format!("{path}.seconds"),
                format!("Invalid type for '{path}.seconds': expected an integer."),
            )
            .into());
        }
    };
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&seconds) {
        return Err(ApiError::invalid_value(
            format!("{path}.seconds"),
            format!("Invalid value: {seconds}. Expected an integer between {MIN_TTL_SECS} and {MAX_TTL_SECS}."),
        )
        .into());
    }
    Ok(Duration::from_secs(seconds))
}

/// The effective realtime config for a minted secret.
fn effective_realtime(
    dialect: Dialect,
    raw: Option<&Value>,
    requested: &SessionConfig,
) -> Result<SessionConfig, RestError> {
    validate_update(raw, requested, None, dialect, false)?;
    let expires_at = secrets::unix_seconds(SystemTime::now() + Duration::from_secs(3_600));
    let mut effective = default_session(
        dialect,
        requested.model.as_deref(),
        &ids::session(),
        expires_at,
    );
    effective.merge(requested);
    normalize(&mut effective);
    Ok(effective)
}

/// The effective transcription config for a minted secret.
fn effective_transcription(requested: &TranscriptionSessionConfig) -> TranscriptionSessionConfig {
    let mut effective = TranscriptionSessionConfig {
        id: Some(ids::session()),
        object: Some("realtime.transcription_session".to_owned()),
        expires_at: Some(secrets::unix_seconds(
            SystemTime::now() + Duration::from_secs(3_600),
        )),
        ..TranscriptionSessionConfig::default()
    };
    {
        let input = effective
            .audio
            .get_or_insert_with(Default::default)
            .input
            .get_or_insert_with(Default::default);
        input.format = Some(voicewire_protocol::AudioFormat::PCM16_24K);
        input.noise_reduction = Nullable::Null;
        input.transcription = Nullable::Value(voicewire_protocol::session::TranscriptionConfig {
            model: Some("gpt-4o-transcribe".to_owned()),
            language: None,
            prompt: None,
        });
        input.turn_detection = Nullable::Value(TurnDetection::server_vad_defaults());
    }
    effective.merge(requested);
    effective
}

/// `POST /v1/realtime/client_secrets`.
pub(crate) async fn create_client_secret(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match mint_ga(&shared, &headers, &body) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn mint_ga(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Result<Response, RestError> {
    authorize(shared, headers)?;
    if shared.take_mint_refusal() {
        return Ok(rate_limited());
    }
    let map = parse_body(body)?;
    if let Some(key) = map
        .keys()
        .find(|k| *k != "expires_after" && *k != "session")
    {
        return Err(ApiError::unknown_parameter(key.clone()).into());
    }
    let ttl = parse_expires_after(map.get("expires_after"), "expires_after", DEFAULT_TTL_SECS)?;
    let raw_session = map.get("session");
    let requested = match raw_session {
        None => SessionPayload::Realtime(SessionConfig::default()),
        Some(value) => SessionPayload::deserialize(value)
            .map_err(|e| ApiError::invalid_value("session", format!("Invalid 'session': {e}.")))?,
    };
    let effective = match &requested {
        SessionPayload::Realtime(config) => {
            // A missing `session` is fine; a given one must say its type.
            SessionPayload::Realtime(effective_realtime(Dialect::Ga, raw_session, config)?)
        }
        SessionPayload::Transcription(config) => {
            SessionPayload::Transcription(effective_transcription(config))
        }
    };
    let (value, expires_at) = shared.secrets.mint(ttl, effective.clone());
    tracing::debug!(
        ttl_secs = ttl.as_secs(),
        kind = effective.session_type(),
        "minted a client secret"
    );
    Ok((
        StatusCode::OK,
        axum::Json(json!({ "value": value, "expires_at": expires_at, "session": effective })),
    )
        .into_response())
}

/// `POST /v1/realtime/sessions` (beta): flat session in, flat session plus
/// `client_secret {value, expires_at}` out.
pub(crate) async fn create_beta_session(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match mint_beta(&shared, &headers, &body) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn mint_beta(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Result<Response, RestError> {
    authorize(shared, headers)?;
    if shared.take_mint_refusal() {
        return Ok(rate_limited());
    }
    let mut map = parse_body(body)?;
    let client_secret = map.remove("client_secret");
    let ttl = match &client_secret {
        None => Duration::from_secs(BETA_DEFAULT_TTL_SECS),
        Some(Value::Object(cs)) => parse_expires_after(
            cs.get("expires_after"),
            "client_secret.expires_after",
            BETA_DEFAULT_TTL_SECS,
        )?,
        Some(_) => {
            return Err(ApiError::invalid_type(
                "client_secret",
                "Invalid type for 'client_secret': expected an object.",
            )
            .into());
        }
    };
    let raw = Value::Object(map);
    let requested = SessionConfig::deserialize(&raw)
        .map_err(|e| ApiError::invalid_value("session", format!("Invalid session: {e}.")))?;
    let effective = effective_realtime(Dialect::Beta, Some(&raw), &requested)?;
    let (value, expires_at) = shared
        .secrets
        .mint(ttl, SessionPayload::Realtime(effective.clone()));
    let mut out = serde_json::to_value(BetaSessionConfig::from(&effective)).map_err(|e| {
        RestError(
            StatusCode::INTERNAL_SERVER_ERROR,
            Box::new(ApiError::server_error(e.to_string())),
        )
    })?;
    if let Value::Object(out) = &mut out {
        out.insert(
            "client_secret".to_owned(),
            json!({ "value": value, "expires_at": expires_at }),
        );
    }
    Ok((StatusCode::OK, axum::Json(out)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_after_bounds() {
        let ok = parse_expires_after(
            Some(&json!({"anchor":"created_at","seconds":10})),
            "expires_after",
            600,
        );
        assert_eq!(ok.ok(), Some(Duration::from_secs(10)));
        assert_eq!(
            parse_expires_after(None, "expires_after", 600).ok(),
            Some(Duration::from_secs(600))
        );
        for bad in [
            json!({"seconds": 9}),
            json!({"seconds": 7201}),
            json!({"anchor":"now"}),
            json!({"seconds":"x"}),
        ] {
            let Err(RestError(status, error)) =
                parse_expires_after(Some(&bad), "expires_after", 600)
            else {
                panic!("accepted {bad}");
            };
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(error.param.unwrap().starts_with("expires_after."));
        }
    }
}
