//! The ingest stage's HTTP routes (SPEC 4.5): `POST /v1/telemetry`, `GET /v1/devices/{key}`,
//! `GET /v1/epochs/{n}` and `GET /v1/epochs/{n}/telemetry` (a sealed epoch's input, for peers).
//! Every rejection carries `{"error": code, "message": text}`; a batch reply lists a status per
//! message and is 200 only when every message was accepted or a duplicate, 207 otherwise.
//! `POST /v1/telemetry` takes SPEC 4.1's JSON (one object or an array) or, with
//! `Content-Type: application/vnd.groundwork.telemetry-v1+borsh`, a binary batch (see
//! `groundwork_telemetry::decode_binary_batch`). Bodies must arrive within `body_timeout` and
//! requests finish within `request_timeout`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use groundwork_telemetry::{
    decode_binary_batch, BinaryBatchError, Key, SignedTelemetry, TelemetryV1,
    BINARY_BATCH_MEDIA_TYPE,
};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use groundwork_oracle_core::peers::{signer_of, OracleSet, PeerAuthError};
use groundwork_oracle_core::{Rejection, Verdict};
use groundwork_oracle_store::manifest::{
    encode_stream_head, encode_stream_record, EPOCH_STREAM_MEDIA_TYPE,
};

use crate::{Ingestor, WireMessage};

/// Every route of the ingest stage (without the service's route-class bounds: tests and
/// tools that serve ingest alone); `oracles` decides who may pull sealed epochs.
pub fn router(ingestor: Arc<Ingestor>, oracles: Arc<dyn OracleSet>) -> Router {
    telemetry_router(ingestor.clone())
        .merge(peer_router(ingestor.clone(), oracles))
        .merge(read_router(ingestor))
}

/// `POST /v1/telemetry`: the devices' route (the service bounds it as the "ingest" class).
pub fn telemetry_router(ingestor: Arc<Ingestor>) -> Router {
    Router::new()
        .route("/v1/telemetry", post(post_telemetry))
        // The telemetry handler enforces `limits.max_body_bytes` itself (see `read_body`).
        .layer(DefaultBodyLimit::disable())
        .with_state(ingestor)
}

/// `GET /v1/epochs/{n}/telemetry`: a sealed epoch's input streamed to the network's oracles
/// only — requests signed by a key of `oracles` (`groundwork_oracle_core::peers`) — (the
/// "peer stream" class).
pub fn peer_router(ingestor: Arc<Ingestor>, oracles: Arc<dyn OracleSet>) -> Router {
    Router::new()
        .route("/v1/epochs/{epoch}/telemetry", get(get_epoch_telemetry))
        .with_state(PeerState { ingestor, oracles })
}

/// What the peers' route reads.
#[derive(Clone)]
struct PeerState {
    ingestor: Arc<Ingestor>,
    oracles: Arc<dyn OracleSet>,
}

/// Refuses a request that is not signed by one of the network's oracles.
async fn check_peer(
    oracles: &dyn OracleSet,
    headers: &HeaderMap,
    path: &str,
    now_ms: i64,
) -> Result<(), Response> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let signer = signer_of(header, "GET", path, now_ms).map_err(|refusal| {
        let code = match refusal {
            PeerAuthError::Unsigned => "unsigned",
            PeerAuthError::Malformed(_) => "malformed_signature",
            PeerAuthError::Stale { .. } => "stale_signature",
            PeerAuthError::BadSignature(_) => "bad_signature",
            PeerAuthError::NotAnOracle(_) => "not_an_oracle",
        };
        error(StatusCode::UNAUTHORIZED, code, refusal.to_string())
    })?;
    match oracles.contains(signer).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(error(
            StatusCode::FORBIDDEN,
            "not_an_oracle",
            PeerAuthError::NotAnOracle(signer).to_string(),
        )),
        Err(reason) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "oracle_set_unknown",
            format!("the network's oracle set cannot be read now: {reason}"),
        )),
    }
}

/// `GET /v1/devices/{key}` and `GET /v1/epochs/{n}` (the "read" class).
pub fn read_router(ingestor: Arc<Ingestor>) -> Router {
    Router::new()
        .route("/v1/devices/{key}", get(get_device))
        .route("/v1/epochs/{epoch}", get(get_epoch))
        .with_state(ingestor)
}

/// Longest the peer stream waits for its reader to take the next chunk: a reader that stops
/// reading loses the stream, and the store's reader (a thread, or a PostgreSQL connection)
/// is freed.
const STALLED_READER: std::time::Duration = std::time::Duration::from_secs(30);

/// The HTTP status of a single-message reply refused for `rejection`: the one place
/// rejections meet HTTP.
pub fn status_of(rejection: &Rejection) -> StatusCode {
    match rejection {
        Rejection::BadSignature => StatusCode::UNAUTHORIZED,
        Rejection::UnknownDevice(_) | Rejection::DeviceSuspended(_) => StatusCode::FORBIDDEN,
        Rejection::SeqConflict { .. } | Rejection::StaleSeq { .. } => StatusCode::CONFLICT,
        Rejection::InvalidMessage(_)
        | Rejection::WrongNetwork { .. }
        | Rejection::SeqOutOfRange
        | Rejection::TimestampInFuture { .. }
        | Rejection::TimestampTooOld { .. }
        | Rejection::BeforeGenesis { .. }
        | Rejection::EpochSealed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Rejection::SourceRateLimited { .. } | Rejection::DeviceRateLimited { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        Rejection::StoreUnavailable(_) | Rejection::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": code, "message": message.into() })),
    )
        .into_response()
}

/// A request refused as a whole, before any message was judged; counted by reason in the
/// metrics (messages judged one by one are counted by their verdicts).
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }
}

/// Reads a request body of at most `limit` bytes. A declared `Content-Length` above the limit is
/// refused before a byte of the body is read, so a client that sends its headers first (or uses
/// `Expect: 100-continue`) gets its 413 without uploading the body; a body without a length is
/// refused as soon as it passes the limit.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, Refusal> {
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body exceeds {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes),
        Err(read_error) => {
            let over_limit = std::iter::successors(
                Some(&read_error as &(dyn std::error::Error + 'static)),
                |error| error.source(),
            )
            .any(|error| error.is::<http_body_util::LengthLimitError>());
            if over_limit {
                Err(too_large())
            } else {
                Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    read_error.to_string(),
                ))
            }
        }
    }
}

fn verdict_json(verdict: &Verdict) -> Value {
    serde_json::to_value(verdict.to_reply()).unwrap_or(Value::Null)
}

async fn post_telemetry(
    State(ingestor): State<Arc<Ingestor>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let handled = tokio::time::timeout(
        ingestor.limits().request_timeout,
        handle_telemetry(&ingestor, peer, &headers, body),
    )
    .await
    .unwrap_or_else(|_| {
        // Messages of a request that timed out may have been stored: a retry is answered
        // "duplicate" for them.
        Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            "the request took too long; retry",
        ))
    });
    let response = match handled {
        Ok(response) => response,
        Err(refusal) => {
            ingestor.metrics.count_refused_request(refusal.code);
            error(refusal.status, refusal.code, refusal.message)
        }
    };
    ingestor
        .metrics
        .observe_latency(started.elapsed().as_secs_f64());
    response
}

async fn handle_telemetry(
    ingestor: &Ingestor,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let limits = ingestor.limits();
    let body = tokio::time::timeout(
        limits.body_timeout,
        read_body(headers, body, limits.max_body_bytes),
    )
    .await
    .map_err(|_| {
        Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("the body did not arrive within {:?}", limits.body_timeout),
        )
    })??;
    let source = ingestor.source_of(
        peer,
        headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok()),
    );
    if is_binary_batch(headers) {
        return match decode_binary_batch(&body, limits.max_batch_messages) {
            Ok(messages) => {
                let messages = messages.into_iter().map(WireMessage::Decoded).collect();
                Ok(batch_reply(ingestor, source, messages).await)
            }
            Err(reason @ BinaryBatchError::TooManyMessages { .. }) => Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_messages",
                reason.to_string(),
            )),
            Err(BinaryBatchError::Empty) => Err(empty_batch()),
            Err(reason) => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "malformed_batch",
                reason.to_string(),
            )),
        };
    }
    // The JSON document is only delimited here; each message is parsed by the ingest stage,
    // across the cores for a large batch.
    let malformed =
        |reason: String| Refusal::new(StatusCode::BAD_REQUEST, "malformed_json", reason);
    let text =
        std::str::from_utf8(&body).map_err(|_| malformed("the body is not UTF-8".to_string()))?;
    let document: &RawValue =
        serde_json::from_str(text).map_err(|parse_error| malformed(parse_error.to_string()))?;
    match document.get().as_bytes().first() {
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(document.get())
                .map_err(|parse_error| malformed(parse_error.to_string()))?;
            if items.len() > limits.max_batch_messages {
                return Err(Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_many_messages",
                    format!(
                        "{} messages; at most {} per request",
                        items.len(),
                        limits.max_batch_messages
                    ),
                ));
            }
            if items.is_empty() {
                return Err(empty_batch());
            }
            let messages = items
                .iter()
                .map(|item| WireMessage::Json(item.get().to_string()))
                .collect();
            Ok(batch_reply(ingestor, source, messages).await)
        }
        Some(b'{') => {
            let verdict = ingestor
                .ingest(source, vec![WireMessage::Json(document.get().to_string())])
                .await
                .remove(0);
            let status = match &verdict {
                Verdict::Rejected(rejection) => status_of(rejection),
                Verdict::Accepted | Verdict::Duplicate => StatusCode::OK,
            };
            Ok(match &verdict {
                Verdict::Rejected(rejection) => {
                    error(status, rejection.code(), rejection.to_string())
                }
                _ => (status, Json(verdict_json(&verdict))).into_response(),
            })
        }
        _ => Err(malformed(
            "expected a telemetry object or an array of them".to_string(),
        )),
    }
}

/// Whether the body is a binary batch: its media type, or `application/octet-stream`.
/// Anything else (JSON, or no type at all) is read as JSON.
fn is_binary_batch(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case(BINARY_BATCH_MEDIA_TYPE)
        || media_type.eq_ignore_ascii_case("application/octet-stream")
}

fn empty_batch() -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "empty_batch",
        "the batch holds no message",
    )
}

/// Ingests a batch and answers with the counts and one status per message, by index: 200
/// when every message was accepted or a duplicate, 207 (Multi-Status) otherwise.
async fn batch_reply(
    ingestor: &Ingestor,
    source: std::net::IpAddr,
    messages: Vec<WireMessage>,
) -> Response {
    let verdicts = ingestor.ingest(source, messages).await;
    let count = |wanted: fn(&Verdict) -> bool| verdicts.iter().filter(|v| wanted(v)).count();
    let body = json!({
        "accepted": count(|v| matches!(v, Verdict::Accepted)),
        "duplicates": count(|v| matches!(v, Verdict::Duplicate)),
        "rejected": count(|v| matches!(v, Verdict::Rejected(_))),
        "results": verdicts.iter().enumerate().map(|(index, verdict)| {
            let mut entry = verdict_json(verdict);
            entry["index"] = json!(index);
            entry
        }).collect::<Vec<_>>(),
    });
    let status = if verdicts.iter().all(Verdict::is_success) {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    (status, Json(body)).into_response()
}

async fn get_device(State(ingestor): State<Arc<Ingestor>>, Path(key): Path<String>) -> Response {
    let Ok(device) = key.parse::<Key>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_key",
            format!("{key:?} is not a base58 public key"),
        );
    };
    let summary = match ingestor.store().device_summary(&device).await {
        Ok(summary) => summary,
        Err(store_error) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                store_error.to_string(),
            )
        }
    };
    let onboarded = ingestor.devices().get(&device);
    if onboarded.is_none() && summary.accepted == 0 {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_device",
            format!("device {device} is not onboarded and sent nothing"),
        );
    }
    let latest = summary.latest.as_ref().and_then(|(canonical, signature)| {
        let message = TelemetryV1::from_canonical_bytes(canonical).ok()?;
        serde_json::to_value(SignedTelemetry {
            message,
            signature: *signature,
        })
        .ok()
    });
    Json(json!({
        "device": device.to_string(),
        "onboarded": onboarded.is_some(),
        "suspended": onboarded.map(|info| info.suspended),
        "location": onboarded.map(|info| format!("{:x}", info.location)),
        "accepted": summary.accepted,
        "conflicts": summary.open_conflicts,
        "latest_seq": summary.latest_seq,
        "latest": latest,
    }))
    .into_response()
}

/// An epoch's seal state and, once sealed, its manifest.
async fn get_epoch(State(ingestor): State<Arc<Ingestor>>, Path(epoch): Path<u64>) -> Response {
    let schedule = ingestor.schedule();
    let now = ingestor.now_ms();
    match ingestor.store().manifest(epoch).await {
        Ok(manifest) => Json(json!({
            "epoch": epoch,
            "starts_at_ms": schedule.start_ms(epoch),
            "ends_at_ms": schedule.end_ms(epoch),
            "sealed_at_ms": schedule.seal_ms(epoch),
            "status": match (&manifest, schedule.is_sealed(epoch, now)) {
                (Some(_), _) => "sealed",
                (None, true) => "sealing",
                (None, false) => "open",
            },
            "manifest": manifest,
        }))
        .into_response(),
        Err(store_error) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            store_error.to_string(),
        ),
    }
}

/// A sealed epoch's messages and conflicting copies, in (device, seq) order, after its
/// manifest (see `groundwork_oracle_store::manifest` for the format).
async fn get_epoch_telemetry(
    State(PeerState { ingestor, oracles }): State<PeerState>,
    Path(epoch): Path<u64>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) =
        check_peer(oracles.as_ref(), &headers, uri.path(), ingestor.now_ms()).await
    {
        return refused;
    }
    let manifest = match ingestor.store().manifest(epoch).await {
        Ok(Some(manifest)) => manifest,
        Ok(None) => {
            let seal_ms = ingestor.schedule().seal_ms(epoch);
            return error(
                StatusCode::CONFLICT,
                "epoch_not_sealed",
                format!("epoch {epoch} is not sealed yet (it seals at unix ms {seal_ms})"),
            );
        }
        Err(store_error) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                store_error.to_string(),
            )
        }
    };
    // Streamed: the records flow from the store through a small channel; memory does not grow
    // with the epoch. A failure mid-stream aborts the body (the manifest's counts then tell
    // the reader the stream is short).
    let mut records = ingestor.store().stream_epoch(epoch);
    let (chunks, body) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(8);
    tokio::spawn(async move {
        const CHUNK: usize = 64 * 1024;
        if chunks
            .send_timeout(Ok(encode_stream_head(&manifest).into()), STALLED_READER)
            .await
            .is_err()
        {
            return;
        }
        let mut buffer = Vec::with_capacity(CHUNK + 1_024);
        while let Some(record) = records.next().await {
            match record {
                Ok(record) => {
                    encode_stream_record(&record, &mut buffer);
                    if buffer.len() >= CHUNK
                        && chunks
                            .send_timeout(Ok(std::mem::take(&mut buffer).into()), STALLED_READER)
                            .await
                            .is_err()
                    {
                        // The reader went away or stalled: dropping `records` stops the
                        // store's reader.
                        tracing::warn!(
                            epoch,
                            "a peer stopped reading a sealed epoch's stream: dropped"
                        );
                        return;
                    }
                }
                Err(store_error) => {
                    tracing::error!(epoch, %store_error, "streaming a sealed epoch failed");
                    let _ = chunks
                        .send(Err(std::io::Error::other(store_error.to_string())))
                        .await;
                    return;
                }
            }
        }
        if !buffer.is_empty() {
            let _ = chunks.send_timeout(Ok(buffer.into()), STALLED_READER).await;
        }
    });
    (
        [(header::CONTENT_TYPE, EPOCH_STREAM_MEDIA_TYPE)],
        Body::new(ChannelBody(body)),
    )
        .into_response()
}

/// A response body fed by a channel of chunks.
struct ChannelBody(tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>);

impl http_body::Body for ChannelBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.0
            .poll_recv(context)
            .map(|chunk| chunk.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}
