//! Replies every stage's routes share, so a client sees one shape: a refusal is
//! `{"error": code, "message": text}` with its HTTP status, and canonical bytes are served as
//! `application/octet-stream` when the request asks for them.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A refusal: `status` with `{"error": error, "message": message}`.
pub fn refusal(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": error, "message": message.into() })),
    )
        .into_response()
}

/// Whether the request asks for canonical bytes (`Accept: application/octet-stream`).
pub fn wants_bytes(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/octet-stream"))
}

/// `bytes` as `application/octet-stream`.
pub fn octet_stream(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}
