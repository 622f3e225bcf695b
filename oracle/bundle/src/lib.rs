//! Epoch bundles (SPEC 4.6): after an epoch's report is stored, the oracle publishes what it
//! computed the epoch from and what it computed, so anyone can check the root without
//! trusting any oracle, and replay the epoch under other rules.
//!
//! A bundle is four parts and an index:
//!
//! | part | bytes |
//! |---|---|
//! | `telemetry` | the union of sealed sets the epoch was computed over: one epoch stream (`GWEPOCH1`, its manifest, the records in (device, seq) order) |
//! | `snapshot` | the chain snapshot's canonical bytes (borsh) |
//! | `report` | the report's canonical bytes (borsh) |
//! | `params` | the `[verify]` parameters in canonical form (compact JSON) |
//!
//! Each part is stored under its SHA-256 (`parts/<hex>`): content-addressed, so a part is
//! never rewritten and epochs share their identical parts. The index (`epochs/<epoch>/
//! index.json`, canonical JSON) names each part by its digest and length. Nothing in a bundle
//! names the oracle that made it: honest oracles of one epoch publish byte-identical bundles.
//!
//! [`store`] reads and writes bundles in a local directory or any S3-compatible store;
//! [`check`] checks a fetched bundle (every digest, signature and the manifest), computes the
//! epoch again and compares; [`verify`] is the whole check against an RPC endpoint
//! (`groundwork rewards verify-epoch`); [`replay`] recomputes epochs under changed
//! parameters.

pub mod check;
pub mod replay;
pub mod store;
pub mod verify;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use store::BundleStore;

/// The format named first in every index.
pub const BUNDLE_FORMAT: &str = "groundwork-epoch-bundle-v1";

/// A part of a bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartName {
    Telemetry,
    Snapshot,
    Report,
    Params,
}

impl PartName {
    /// Every part, in the order the index lists them.
    pub const ALL: [PartName; 4] = [
        PartName::Telemetry,
        PartName::Snapshot,
        PartName::Report,
        PartName::Params,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartName::Telemetry => "telemetry",
            PartName::Snapshot => "snapshot",
            PartName::Report => "report",
            PartName::Params => "params",
        }
    }

    /// The most bytes the part may have: the parts read whole into memory are bounded
    /// (the telemetry streams to a file). 4 GiB holds a report or snapshot of several
    /// million devices.
    pub fn max_bytes(self) -> u64 {
        match self {
            PartName::Telemetry => u64::MAX,
            PartName::Snapshot | PartName::Report => 4 << 30,
            PartName::Params => 1 << 20,
        }
    }

    /// What the part's bytes are.
    pub fn media_type(self) -> &'static str {
        match self {
            PartName::Telemetry => groundwork_oracle_store::manifest::EPOCH_STREAM_MEDIA_TYPE,
            PartName::Snapshot => "application/vnd.groundwork.chain-snapshot-v2",
            PartName::Report => "application/vnd.groundwork.epoch-report-v3",
            PartName::Params => "application/json",
        }
    }
}

impl std::fmt::Display for PartName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One part as the index names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartRef {
    pub name: PartName,
    /// Lowercase hex SHA-256 of the part's bytes.
    pub sha256: String,
    pub bytes: u64,
    pub media_type: String,
}

impl PartRef {
    /// The part `name` for `bytes`.
    pub fn of(name: PartName, bytes: &[u8]) -> Self {
        PartRef::with_digest(name, sha256_hex(bytes), bytes.len() as u64)
    }

    pub fn with_digest(name: PartName, sha256: String, bytes: u64) -> Self {
        PartRef {
            name,
            sha256,
            bytes,
            media_type: name.media_type().to_string(),
        }
    }

    /// Where the part is stored, under the bundle root.
    pub fn path(&self) -> String {
        format!("parts/{}", self.sha256)
    }
}

/// A bundle's index: the epoch, its root and total (for a person reading it), and each part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleIndex {
    pub format: String,
    pub epoch: u64,
    /// The report's root and cumulative total (hex, base units).
    pub root: String,
    pub cumulative_total: u64,
    /// In [`PartName::ALL`] order, each once.
    pub parts: Vec<PartRef>,
}

impl BundleIndex {
    /// The canonical bytes (compact JSON, fields in declaration order).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an index serialises")
    }

    /// An index from its bytes: the format, and every part once in order, checked.
    pub fn decode(bytes: &[u8], epoch: u64) -> Result<Self, BundleError> {
        let index: BundleIndex = serde_json::from_slice(bytes)
            .map_err(|error| BundleError::Index(format!("it does not parse: {error}")))?;
        if index.format != BUNDLE_FORMAT {
            return Err(BundleError::Index(format!(
                "format {:?}, not {BUNDLE_FORMAT:?}",
                index.format
            )));
        }
        if index.epoch != epoch {
            return Err(BundleError::Index(format!(
                "it is epoch {}'s, not epoch {epoch}'s",
                index.epoch
            )));
        }
        let names: Vec<PartName> = index.parts.iter().map(|part| part.name).collect();
        if names != PartName::ALL {
            return Err(BundleError::Index(format!(
                "its parts are {names:?}, not {:?}",
                PartName::ALL
            )));
        }
        for part in &index.parts {
            if part.bytes > part.name.max_bytes() {
                return Err(BundleError::Index(format!(
                    "the {} part is announced at {} bytes, more than the {} it may have",
                    part.name,
                    part.bytes,
                    part.name.max_bytes()
                )));
            }
            let hex_ok = part.sha256.len() == 64
                && part
                    .sha256
                    .bytes()
                    .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
            if !hex_ok {
                return Err(BundleError::Index(format!(
                    "the {} part's digest {:?} is not lowercase hex SHA-256",
                    part.name, part.sha256
                )));
            }
        }
        Ok(index)
    }

    /// The part `name`.
    pub fn part(&self, name: PartName) -> &PartRef {
        self.parts
            .iter()
            .find(|part| part.name == name)
            .expect("a decoded index names every part")
    }

    /// SHA-256 of the canonical bytes: the bundle's digest.
    pub fn digest_hex(&self) -> String {
        sha256_hex(&self.encode())
    }
}

/// Where `epoch`'s index is stored, under the bundle root.
pub fn index_path(epoch: u64) -> String {
    format!("epochs/{epoch}/index.json")
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Why a bundle could not be published, fetched or checked.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle store {url}: {message}")]
    Store { url: String, message: String },
    #[error("the bundle store URL {url:?}: {message}")]
    Url { url: String, message: String },
    #[error("epoch {epoch} has no bundle in {url} (no {path})")]
    NoBundle {
        epoch: u64,
        url: String,
        path: String,
    },
    #[error("the bundle's index: {0}")]
    Index(String),
    #[error("the {part} part's bytes do not match its digest: the index names {expected}, the bytes hash to {actual} ({bytes} bytes)")]
    PartDigest {
        part: PartName,
        expected: String,
        actual: String,
        bytes: u64,
    },
    #[error("the {part} part is {actual} bytes, not the {expected} the index names")]
    PartSize {
        part: PartName,
        expected: u64,
        actual: u64,
    },
    #[error("the {part} part does not decode: {message}")]
    PartDecode { part: PartName, message: String },
    #[error("a local file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the parameters: {0}")]
    Params(String),
    #[error("the chain: {0}")]
    Chain(String),
    #[error("the computation: {0}")]
    Verify(#[from] groundwork_oracle_rewards::VerifyError),
}

impl BundleError {
    pub(crate) fn file(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
        move |source| BundleError::File {
            path: path.display().to_string(),
            source,
        }
    }
}
