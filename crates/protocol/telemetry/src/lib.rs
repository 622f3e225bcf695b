//! Telemetry version 1 (SPEC 4.1), shared by the oracle, the CLI's device simulator and the
//! tests.
//!
//! Devices sign canonical bytes, never JSON: `borsh(TelemetryV1)` with the 16-byte domain
//! `GROUNDWORK-TLM-1` first. The JSON wire form carries the same fields (public keys base58,
//! byte arrays hex, the signature base58); the receiver rebuilds the canonical bytes from the
//! parsed fields and verifies them. The binary batch form (module `binary`) carries the
//! canonical bytes themselves, each followed by its signature.
//!
//! Signatures are valid under the ZIP-215 rule (module `signature`): one rule for single and
//! batch verification, so every oracle accepts exactly the same messages however it batches.

mod binary;
mod signature;

pub use binary::{
    decode_binary_batch, encode_binary_batch, BinaryBatchError, BINARY_BATCH_MEDIA_TYPE,
};
pub use signature::{sign_bytes, verify_batch, verify_signature};

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The domain every canonical message starts with.
pub const DOMAIN: [u8; 16] = *b"GROUNDWORK-TLM-1";

/// A 32-byte public key (the registry config address, a device key, a payer).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct Key(pub [u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self)
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&bs58::encode(self.0).into_string())
    }
}

impl std::str::FromStr for Key {
    type Err = TelemetryError;
    fn from_str(text: &str) -> Result<Self, TelemetryError> {
        let bytes = bs58::decode(text)
            .into_vec()
            .map_err(|_| TelemetryError::InvalidKey(text.to_string()))?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| TelemetryError::InvalidKey(text.to_string()))?;
        Ok(Key(array))
    }
}

impl Serialize for Key {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <String as Deserialize>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Byte arrays travel as hex on the wire.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 16], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 16], D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("expected 16 bytes of hex"))
    }
}

/// What a message reports. Variant order is the borsh tag: never reorder.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TelemetryBody {
    Heartbeat {
        lat_e7: i32,
        lon_e7: i32,
        uptime_s: u32,
        firmware: u32,
    },
    DataSession {
        payer: Key,
        bytes_up: u64,
        bytes_down: u64,
        session_id: u64,
    },
    Beacon {
        frequency_hz: u32,
        #[serde(with = "hex_bytes")]
        nonce: [u8; 16],
    },
    Witness {
        beacon_device: Key,
        beacon_seq: u64,
        rssi_dbm: i16,
        snr_db_e1: i16,
        frequency_hz: u32,
    },
}

/// One telemetry message (without its signature).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryV1 {
    /// The registry config address of the network: no cross-network replay.
    pub network: Key,
    pub device: Key,
    /// Strictly increasing per device.
    pub seq: u64,
    /// Device clock, unix milliseconds.
    pub timestamp_ms: i64,
    pub body: TelemetryBody,
}

impl TelemetryV1 {
    /// The bytes a device signs: the domain, then borsh of the fields.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&DOMAIN);
        BorshSerialize::serialize(self, &mut bytes).expect("writing to a Vec cannot fail");
        bytes
    }

    /// Parses canonical bytes (domain checked, nothing left over).
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, TelemetryError> {
        let rest = bytes
            .strip_prefix(&DOMAIN)
            .ok_or(TelemetryError::WrongDomain)?;
        let mut reader = rest;
        let message = <TelemetryV1 as BorshDeserialize>::deserialize(&mut reader)
            .map_err(|_| TelemetryError::Malformed)?;
        if !reader.is_empty() {
            return Err(TelemetryError::Malformed);
        }
        Ok(message)
    }

    /// Signs with the device's 32-byte ed25519 secret seed.
    pub fn sign(self, device_seed: &[u8; 32]) -> SignedTelemetry {
        let key = SigningKey::from_bytes(device_seed);
        let signature = key.sign(&self.canonical_bytes()).to_bytes();
        SignedTelemetry {
            message: self,
            signature,
        }
    }
}

/// A message and its device signature: the unit stored and served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTelemetry {
    pub message: TelemetryV1,
    pub signature: [u8; 64],
}

/// The JSON wire object: the message fields plus `signature` (base58).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTelemetry {
    network: Key,
    device: Key,
    seq: u64,
    timestamp_ms: i64,
    body: TelemetryBody,
    signature: String,
}

impl Serialize for SignedTelemetry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireTelemetry {
            network: self.message.network,
            device: self.message.device,
            seq: self.message.seq,
            timestamp_ms: self.message.timestamp_ms,
            body: self.message.body.clone(),
            signature: bs58::encode(self.signature).into_string(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SignedTelemetry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireTelemetry::deserialize(deserializer)?;
        let signature: [u8; 64] = bs58::decode(&wire.signature)
            .into_vec()
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| serde::de::Error::custom("signature must be 64 bytes of base58"))?;
        Ok(SignedTelemetry {
            message: TelemetryV1 {
                network: wire.network,
                device: wire.device,
                seq: wire.seq,
                timestamp_ms: wire.timestamp_ms,
                body: wire.body,
            },
            signature,
        })
    }
}

impl SignedTelemetry {
    /// Checks the signature against the device key over the rebuilt canonical bytes.
    pub fn verify(&self) -> Result<(), TelemetryError> {
        self.verify_canonical(&self.message.canonical_bytes())
    }

    /// Like [`SignedTelemetry::verify`], for a caller that already holds
    /// `self.message.canonical_bytes()` (and keeps them, e.g. to store).
    pub fn verify_canonical(&self, canonical: &[u8]) -> Result<(), TelemetryError> {
        if verify_signature(&self.message.device, canonical, &self.signature) {
            Ok(())
        } else {
            Err(TelemetryError::BadSignature)
        }
    }

    /// Parses one wire object.
    pub fn from_json(text: &str) -> Result<Self, TelemetryError> {
        serde_json::from_str(text).map_err(|error| TelemetryError::Json(error.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("telemetry always serializes")
    }
}

/// Why a message cannot be parsed or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid base58 public key {0:?}")]
    InvalidKey(String),
    #[error("the device key is not a valid ed25519 public key")]
    InvalidDeviceKey,
    #[error("the signature does not verify against the device key")]
    BadSignature,
    #[error("canonical bytes do not start with GROUNDWORK-TLM-1")]
    WrongDomain,
    #[error("canonical bytes are not a TelemetryV1")]
    Malformed,
    #[error("invalid telemetry JSON: {0}")]
    Json(String),
}
