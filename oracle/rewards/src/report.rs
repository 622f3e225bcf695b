//! An epoch's report — the verified work stored as the verify stage's commit point, voted by
//! the submit stage and served to operators and peers — and the folder of stored reports.
//!
//! The canonical bytes are borsh of [`EpochReport`]; two oracles that computed an epoch over
//! the same inputs store byte-identical reports. A stored report is never replaced.

use std::io::Write;
use std::path::{Path, PathBuf};

use borsh::{BorshDeserialize, BorshSerialize};
use groundwork_oracle_core::files::{epoch_files, sync_dir};
use sha2::{Digest, Sha256};

use crate::EpochRewards;

/// The report format version written first.
pub const REPORT_VERSION: u8 = 4;

/// A set of telemetry as its manifest describes it.
#[derive(BorshSerialize, BorshDeserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputSet {
    pub messages: u64,
    pub conflicts: u64,
    /// Hex SHA-256 over its sorted (device, seq, kind, hash) records.
    pub digest: String,
}

/// An epoch's stored verified work, with the digests of its inputs.
#[derive(BorshSerialize, BorshDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct EpochReport {
    pub version: u8,
    pub epoch: u64,
    /// SHA-256 of the chain snapshot the epoch was computed over.
    pub snapshot_digest: [u8; 32],
    /// Every set merged — this oracle's own and each peer's — as its manifest, ordered, each
    /// once: two oracles that merged each other's sets record the same list.
    pub inputs: Vec<InputSet>,
    /// The union computed over.
    pub union: InputSet,
    /// How many configured peers' sealed sets had not arrived when the wait for them ended:
    /// the epoch was computed without them (which ones, and why, the verify stage keeps beside
    /// the report; a peer's address is not part of what oracles agree on).
    pub missing_peer_sets: u32,
    /// The dust carried in, and the epoch whose cumulative totals this one adds to.
    pub carried_dust_in: u64,
    pub base_epoch: Option<u64>,
    pub rewards: EpochRewards,
}

impl EpochReport {
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding into memory")
    }

    /// SHA-256 of the canonical bytes.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }
}

/// Why a report could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a report: {0}")]
    Malformed(#[from] std::io::Error),
    #[error("not a version {REPORT_VERSION} report of epoch {expected} (version {version}, epoch {epoch})")]
    Unexpected {
        expected: u64,
        version: u8,
        epoch: u64,
    },
}

/// A report of `epoch` of the current version from its canonical bytes.
pub fn decode_report(bytes: &[u8], epoch: u64) -> Result<EpochReport, DecodeError> {
    let report = EpochReport::try_from_slice(bytes)?;
    if report.version != REPORT_VERSION || report.epoch != epoch {
        return Err(DecodeError::Unexpected {
            expected: epoch,
            version: report.version,
            epoch: report.epoch,
        });
    }
    Ok(report)
}

/// Why a stored report could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportFileError {
    #[error("the report file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the report file {path}: {source}")]
    Decode {
        path: String,
        #[source]
        source: DecodeError,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReportFileError + '_ {
    move |source| ReportFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The stored reports: `<dir>/<epoch>.report`, each written once and never replaced.
#[derive(Clone, Debug)]
pub struct Reports {
    dir: PathBuf,
}

impl Reports {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Reports { dir: dir.into() }
    }

    /// The folder the reports are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `epoch`'s report is (or will be) stored.
    pub fn path(&self, epoch: u64) -> PathBuf {
        self.dir.join(format!("{epoch}.report"))
    }

    /// `epoch`'s stored report, decoded (`None` when it is not stored).
    pub fn load(&self, epoch: u64) -> Result<Option<EpochReport>, ReportFileError> {
        let path = self.path(epoch);
        match self.load_bytes(epoch)? {
            Some(bytes) => {
                decode_report(&bytes, epoch)
                    .map(Some)
                    .map_err(|source| ReportFileError::Decode {
                        path: path.display().to_string(),
                        source,
                    })
            }
            None => Ok(None),
        }
    }

    /// The stored report's canonical bytes (what peers adopt).
    pub fn load_bytes(&self, epoch: u64) -> Result<Option<Vec<u8>>, ReportFileError> {
        let path = self.path(epoch);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(&path)(error)),
        }
    }

    /// Stores `report` (never over an existing one: a hard link fails when the name exists,
    /// so a stored report stays, even with two writers).
    pub fn save(&self, report: &EpochReport) -> Result<(), ReportFileError> {
        let path = self.path(report.epoch);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let temporary = path.with_extension(format!("tmp.{}", std::process::id()));
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&report.encode())?;
            file.sync_all()?;
            let linked = std::fs::hard_link(&temporary, &path);
            std::fs::remove_file(&temporary)?;
            linked?;
            sync_dir(&self.dir)
        };
        write().map_err(io_error(&path))
    }

    /// The epochs with a stored report, ascending.
    pub fn epochs(&self) -> Result<Vec<u64>, ReportFileError> {
        epoch_files(&self.dir, ".report").map_err(io_error(&self.dir))
    }
}
