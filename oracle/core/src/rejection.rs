//! Why a message is not accepted (SPEC 4.2), as a type: each rejection has a stable error code
//! and a message. HTTP is not known here: the API edge maps rejections to statuses
//! (`groundwork_oracle_ingest::api::status_of`).

use groundwork_telemetry::Key;
use serde::Serialize;

/// A message refused by ingest.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("the message does not parse: {0}")]
    InvalidMessage(String),
    #[error("message is for network {message_network}, this oracle serves {oracle_network}")]
    WrongNetwork {
        message_network: Key,
        oracle_network: Key,
    },
    #[error("seq must be below 2^63")]
    SeqOutOfRange,
    #[error("device {0} is not onboarded")]
    UnknownDevice(Key),
    #[error("device {0} is suspended")]
    DeviceSuspended(Key),
    #[error("source {source_address} exceeds its rate limit")]
    SourceRateLimited { source_address: String },
    #[error("device {device} exceeds {rate_per_s} message/s (burst {burst})")]
    DeviceRateLimited {
        device: Key,
        rate_per_s: f64,
        burst: u32,
    },
    #[error("the signature does not verify against the device key")]
    BadSignature,
    #[error("timestamp {timestamp_ms} is more than {max_skew_ms} ms ahead")]
    TimestampInFuture { timestamp_ms: i64, max_skew_ms: i64 },
    #[error("timestamp {timestamp_ms} is more than {max_age_ms} ms old")]
    TimestampTooOld { timestamp_ms: i64, max_age_ms: i64 },
    #[error("timestamp {timestamp_ms} is before the network's first epoch")]
    BeforeGenesis { timestamp_ms: i64 },
    #[error("epoch {epoch} is sealed: its input no longer changes")]
    EpochSealed { epoch: u64 },
    #[error("device {device} already sent seq {seq} with other content")]
    SeqConflict { device: Key, seq: u64 },
    #[error("seq {seq} is not above the last accepted seq {last_seq} of device {device}")]
    StaleSeq {
        device: Key,
        seq: u64,
        last_seq: u64,
    },
    #[error("the store failed: {0}; retry")]
    StoreUnavailable(String),
    #[error("the oracle is shutting down; retry")]
    ShuttingDown,
}

impl Rejection {
    /// The stable error code clients and metrics see.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::InvalidMessage(_) => "invalid_message",
            Rejection::WrongNetwork { .. } => "wrong_network",
            Rejection::SeqOutOfRange => "seq_out_of_range",
            Rejection::UnknownDevice(_) => "unknown_device",
            Rejection::DeviceSuspended(_) => "device_suspended",
            Rejection::SourceRateLimited { .. } | Rejection::DeviceRateLimited { .. } => {
                "rate_limited"
            }
            Rejection::BadSignature => "bad_signature",
            Rejection::TimestampInFuture { .. } => "timestamp_in_future",
            Rejection::TimestampTooOld { .. } => "timestamp_too_old",
            Rejection::BeforeGenesis { .. } => "before_genesis",
            Rejection::EpochSealed { .. } => "epoch_sealed",
            Rejection::SeqConflict { .. } => "seq_conflict",
            Rejection::StaleSeq { .. } => "stale_seq",
            Rejection::StoreUnavailable(_) => "store_unavailable",
            Rejection::ShuttingDown => "shutting_down",
        }
    }

    /// Whether the same message may succeed later (rate limits, store trouble, shutdown).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Rejection::SourceRateLimited { .. }
                | Rejection::DeviceRateLimited { .. }
                | Rejection::StoreUnavailable(_)
                | Rejection::ShuttingDown
        )
    }
}

/// What became of one message.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Durably committed.
    Accepted,
    /// Identical to a stored message: acknowledged again, not stored twice.
    Duplicate,
    Rejected(Rejection),
}

impl Verdict {
    /// Accepted or duplicate: the client may forget the message.
    pub fn is_success(&self) -> bool {
        matches!(self, Verdict::Accepted | Verdict::Duplicate)
    }

    /// `{"status": ...}` plus `error` and `message` for a rejection: one entry of a reply.
    pub fn to_reply(&self) -> VerdictReply {
        match self {
            Verdict::Accepted => VerdictReply {
                status: "accepted",
                error: None,
                message: None,
            },
            Verdict::Duplicate => VerdictReply {
                status: "duplicate",
                error: None,
                message: None,
            },
            Verdict::Rejected(rejection) => VerdictReply {
                status: "rejected",
                error: Some(rejection.code()),
                message: Some(rejection.to_string()),
            },
        }
    }
}

/// A verdict as the API serialises it.
#[derive(Clone, Debug, Serialize)]
pub struct VerdictReply {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_stable() {
        let device = Key([1; 32]);
        let cases = [
            (Rejection::BadSignature, "bad_signature", false),
            (Rejection::UnknownDevice(device), "unknown_device", false),
            (Rejection::EpochSealed { epoch: 3 }, "epoch_sealed", false),
            (
                Rejection::SeqConflict { device, seq: 4 },
                "seq_conflict",
                false,
            ),
            (
                Rejection::DeviceRateLimited {
                    device,
                    rate_per_s: 1.0,
                    burst: 60,
                },
                "rate_limited",
                true,
            ),
            (Rejection::ShuttingDown, "shutting_down", true),
        ];
        for (rejection, code, retryable) in cases {
            assert_eq!(rejection.code(), code);
            assert_eq!(rejection.is_retryable(), retryable);
        }
        let reply = Verdict::Rejected(Rejection::EpochSealed { epoch: 3 }).to_reply();
        assert_eq!(reply.error, Some("epoch_sealed"));
        assert!(reply.message.unwrap().contains("epoch 3 is sealed"));
    }
}
