//! The one HTTP exchange behind every token fetch: the minting client and the HTTP token
//! provider both POST a JSON body and get back a client secret, so both share how the request
//! is sent, how failures are described and how the answer is read.

use super::token::ClientSecret;
use crate::error::{TokenError, error_message_from_body, parse_retry_after};

/// Sends `request` and reads a client secret from the answer.
///
/// - transport failures become [`TokenError::Network`], described without the URL (a
///   backend URL may carry a token in its query);
/// - a non-success status becomes [`TokenError::Http`] with the server's error message and
///   its `Retry-After` (so 401/403 map to an auth error and 429 to a rate limit with the
///   server's delay, see [`TokenError::kind`]);
/// - a success body is read in the GA shape `{value, expires_at}` or the beta shape
///   `{client_secret: {value, expires_at}}`.
pub(crate) async fn fetch_client_secret(
    request: reqwest::RequestBuilder,
) -> Result<ClientSecret, TokenError> {
    let response = request
        .send()
        .await
        .map_err(|e| TokenError::Network(without_url(&e)))?;
    let status = response.status();
    let retry_after = parse_retry_after(response.headers().get(http::header::RETRY_AFTER));
    let body = response
        .text()
        .await
        .map_err(|e| TokenError::Network(without_url(&e)))?;
    if !status.is_success() {
        return Err(TokenError::Http {
            status: status.as_u16(),
            message: error_message_from_body(&body),
            retry_after,
        });
    }
    ClientSecret::from_json(&body)
}

/// Describes a reqwest error without its URL (a backend URL may carry a token in its query).
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_decode() {
        "could not decode the response"
    } else if e.is_body() {
        "could not read the body"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_owned(),
    }
}
