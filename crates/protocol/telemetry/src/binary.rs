//! The binary batch form (SPEC 4.1: "a binary batch form (borsh) may be added for constrained
//! devices"), media type [`BINARY_BATCH_MEDIA_TYPE`].
//!
//! A batch is `count: u32 LE` followed by `count` entries; an entry is exactly what the device
//! signed followed by its signature: `canonical bytes (GROUNDWORK-TLM-1 || borsh(TelemetryV1))
//! || signature (64 bytes)`. Each entry is self-delimiting, so a device appends the signature to
//! the bytes it signed and sends them unchanged. 1,000 messages of any body take at most
//! ~217 KB, under the 256 KiB body limit (the JSON form of 1,000 heartbeats is ~330 KB).

use borsh::BorshDeserialize;

use crate::{SignedTelemetry, TelemetryV1, DOMAIN};

/// The `Content-Type` of a binary batch.
pub const BINARY_BATCH_MEDIA_TYPE: &str = "application/vnd.groundwork.telemetry-v1+borsh";

/// Why a binary batch cannot be read. A framing error loses the position of every later entry,
/// so it refuses the whole batch; `entry` says where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinaryBatchError {
    #[error("the batch is shorter than its 4-byte message count")]
    MissingCount,
    #[error("the batch declares {declared} messages; at most {max} are accepted")]
    TooManyMessages { declared: usize, max: usize },
    #[error("the batch is empty")]
    Empty,
    #[error("the batch declares {declared} messages but ends after {found}")]
    MissingEntries { declared: usize, found: usize },
    #[error("entry {entry}: does not start with GROUNDWORK-TLM-1")]
    WrongDomain { entry: usize },
    #[error("entry {entry}: not a TelemetryV1 ({reason})")]
    Malformed { entry: usize, reason: String },
    #[error("entry {entry}: the 64-byte signature is cut short")]
    MissingSignature { entry: usize },
    #[error("{0} bytes follow the last declared entry")]
    TrailingBytes(usize),
}

/// Encodes signed messages as one binary batch.
pub fn encode_binary_batch(messages: &[SignedTelemetry]) -> Vec<u8> {
    let count = u32::try_from(messages.len()).expect("a batch holds fewer than 2^32 messages");
    let mut bytes = Vec::with_capacity(4 + messages.len() * 180);
    bytes.extend_from_slice(&count.to_le_bytes());
    for signed in messages {
        bytes.extend_from_slice(&signed.message.canonical_bytes());
        bytes.extend_from_slice(&signed.signature);
    }
    bytes
}

/// Decodes a binary batch of at most `max_messages`. The count is checked before any entry is
/// read, and every byte must belong to a declared entry. Signatures are not verified here.
pub fn decode_binary_batch(
    bytes: &[u8],
    max_messages: usize,
) -> Result<Vec<SignedTelemetry>, BinaryBatchError> {
    let (count, mut rest) = bytes
        .split_first_chunk::<4>()
        .ok_or(BinaryBatchError::MissingCount)?;
    let declared = u32::from_le_bytes(*count) as usize;
    if declared > max_messages {
        return Err(BinaryBatchError::TooManyMessages {
            declared,
            max: max_messages,
        });
    }
    if declared == 0 {
        return Err(BinaryBatchError::Empty);
    }
    let mut messages = Vec::with_capacity(declared);
    for entry in 0..declared {
        if rest.is_empty() {
            return Err(BinaryBatchError::MissingEntries {
                declared,
                found: entry,
            });
        }
        rest = rest
            .strip_prefix(&DOMAIN)
            .ok_or(BinaryBatchError::WrongDomain { entry })?;
        let message =
            TelemetryV1::deserialize(&mut rest).map_err(|error| BinaryBatchError::Malformed {
                entry,
                reason: error.to_string(),
            })?;
        let (signature, after) = rest
            .split_first_chunk::<64>()
            .ok_or(BinaryBatchError::MissingSignature { entry })?;
        rest = after;
        messages.push(SignedTelemetry {
            message,
            signature: *signature,
        });
    }
    if !rest.is_empty() {
        return Err(BinaryBatchError::TrailingBytes(rest.len()));
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Key, TelemetryBody};

    fn signed(seq: u64, body: TelemetryBody) -> SignedTelemetry {
        let seed = [7; 32];
        TelemetryV1 {
            network: Key([1; 32]),
            device: Key(ed25519_dalek::SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_bytes()),
            seq,
            timestamp_ms: 1_790_000_000_000,
            body,
        }
        .sign(&seed)
    }

    fn one_of_each() -> Vec<SignedTelemetry> {
        vec![
            signed(
                1,
                TelemetryBody::Heartbeat {
                    lat_e7: -1,
                    lon_e7: 2,
                    uptime_s: 3,
                    firmware: 4,
                },
            ),
            signed(
                2,
                TelemetryBody::DataSession {
                    payer: Key([9; 32]),
                    bytes_up: u64::MAX,
                    bytes_down: 0,
                    session_id: 5,
                },
            ),
            signed(
                3,
                TelemetryBody::Beacon {
                    frequency_hz: 868_100_000,
                    nonce: [3; 16],
                },
            ),
            signed(
                4,
                TelemetryBody::Witness {
                    beacon_device: Key([4; 32]),
                    beacon_seq: 8,
                    rssi_dbm: -120,
                    snr_db_e1: -75,
                    frequency_hz: 868_100_000,
                },
            ),
        ]
    }

    #[test]
    fn every_body_round_trips_and_each_entry_is_what_was_signed() {
        let messages = one_of_each();
        let bytes = encode_binary_batch(&messages);
        assert_eq!(&bytes[..4], &4u32.to_le_bytes());
        let first_entry_len = messages[0].message.canonical_bytes().len();
        assert_eq!(
            &bytes[4..4 + first_entry_len],
            &messages[0].message.canonical_bytes()[..]
        );
        assert_eq!(
            &bytes[4 + first_entry_len..4 + first_entry_len + 64],
            &messages[0].signature[..]
        );
        let decoded = decode_binary_batch(&bytes, 1_000).unwrap();
        assert_eq!(decoded, messages);
        assert!(decoded.iter().all(|signed| signed.verify().is_ok()));
    }

    #[test]
    fn a_thousand_of_the_largest_messages_fit_the_default_body_limit() {
        let largest = signed(
            1,
            TelemetryBody::DataSession {
                payer: Key([9; 32]),
                bytes_up: 1,
                bytes_down: 1,
                session_id: 1,
            },
        );
        let bytes = encode_binary_batch(&vec![largest; 1_000]);
        assert!(bytes.len() < 256 * 1024, "{} bytes", bytes.len());
    }

    #[test]
    fn framing_errors_refuse_the_batch_and_say_where() {
        let messages = one_of_each();
        let bytes = encode_binary_batch(&messages);
        assert_eq!(
            decode_binary_batch(&bytes[..3], 1_000),
            Err(BinaryBatchError::MissingCount)
        );
        assert_eq!(
            decode_binary_batch(&bytes, 3),
            Err(BinaryBatchError::TooManyMessages {
                declared: 4,
                max: 3
            })
        );
        assert_eq!(
            decode_binary_batch(&0u32.to_le_bytes(), 1_000),
            Err(BinaryBatchError::Empty)
        );
        // The last signature cut short, then the last body cut short.
        assert_eq!(
            decode_binary_batch(&bytes[..bytes.len() - 1], 1_000),
            Err(BinaryBatchError::MissingSignature { entry: 3 })
        );
        assert!(matches!(
            decode_binary_batch(&bytes[..bytes.len() - 70], 1_000),
            Err(BinaryBatchError::Malformed { entry: 3, .. })
        ));
        // One byte more than declared.
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode_binary_batch(&longer, 1_000),
            Err(BinaryBatchError::TrailingBytes(1))
        );
        // A count above the entries present.
        let mut overcounted = bytes.clone();
        overcounted[..4].copy_from_slice(&5u32.to_le_bytes());
        assert_eq!(
            decode_binary_batch(&overcounted, 1_000),
            Err(BinaryBatchError::MissingEntries {
                declared: 5,
                found: 4
            })
        );
        // The second entry's domain damaged, and an unknown body variant.
        let second = 4 + messages[0].message.canonical_bytes().len() + 64;
        let mut damaged = bytes.clone();
        damaged[second] ^= 1;
        assert_eq!(
            decode_binary_batch(&damaged, 1_000),
            Err(BinaryBatchError::WrongDomain { entry: 1 })
        );
        let mut unknown_body = bytes.clone();
        let tag = 4 + 16 + 32 + 32 + 8 + 8;
        assert_eq!(unknown_body[tag], 0, "the heartbeat tag");
        unknown_body[tag] = 9;
        assert!(matches!(
            decode_binary_batch(&unknown_body, 1_000),
            Err(BinaryBatchError::Malformed { entry: 0, .. })
        ));
    }

    #[test]
    fn a_changed_byte_inside_an_entry_fails_its_signature_not_the_framing() {
        let messages = one_of_each();
        let mut bytes = encode_binary_batch(&messages);
        let seq_of_first = 4 + 16 + 32 + 32;
        bytes[seq_of_first] ^= 0x40;
        let decoded = decode_binary_batch(&bytes, 1_000).unwrap();
        assert_ne!(decoded[0].message.seq, messages[0].message.seq);
        assert!(decoded[0].verify().is_err());
        assert!(decoded[1..].iter().all(|signed| signed.verify().is_ok()));
    }
}
