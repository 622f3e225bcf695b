//! An epoch's submission as it is persisted: the state machine (computed -> signed -> sent
//! -> confirmed, or superseded / failed) and every transaction signed for it, with what is
//! needed to rebuild its exact bytes. A file per epoch (`submit/<epoch>.json`), replaced
//! whole (temporary file, fsync, rename, directory fsync) before anything it records is
//! acted on: an attempt is on disk before its first send.

use std::path::{Path, PathBuf};

use groundwork_oracle_core::files::{epoch_files, write_atomically};
use serde::{Deserialize, Serialize};

/// Where an epoch's vote stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// The report is stored; nothing is signed yet (or the last attempt was dropped).
    Computed,
    /// An attempt is signed and persisted, maybe not sent yet.
    Signed,
    /// The newest attempt was sent to every endpoint.
    Sent,
    /// The authority vetoed the epoch after this oracle started voting its root (SPEC 4.4: a
    /// veto is final for that root). Nothing more is sent for it, nor for later epochs built
    /// on it, until an operator recomputes from this epoch (`groundwork-oracle recompute`).
    Vetoed { reason: String },
    /// This oracle's vote is on chain (finalized).
    Confirmed {
        /// The transaction that carried it, when this oracle knows which.
        signature: Option<String>,
        /// How it was established.
        how: String,
    },
    /// No vote is needed any more (the epoch's root, or a newer one, is active).
    Superseded { reason: String },
    /// The program refuses this vote for a reason a retry cannot change; an operator acts.
    Failed { reason: String },
}

impl State {
    /// Whether nothing more will be done for the epoch.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            State::Confirmed { .. }
                | State::Superseded { .. }
                | State::Failed { .. }
                | State::Vetoed { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            State::Computed => "computed",
            State::Signed => "signed",
            State::Sent => "sent",
            State::Vetoed { .. } => "vetoed",
            State::Confirmed { .. } => "confirmed",
            State::Superseded { .. } => "superseded",
            State::Failed { .. } => "failed",
        }
    }
}

/// One signed transaction: enough to rebuild its exact bytes (the same message signed again
/// gives the same ed25519 signature) and to tell when it can no longer land.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub signature: String,
    pub blockhash: String,
    /// The last block height at which the blockhash is valid.
    pub last_valid_block_height: u64,
    pub priority_fee_micro_lamports: u64,
    pub compute_unit_limit: u32,
}

/// An epoch's vote: what is voted and how far it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub epoch: u64,
    /// Hex.
    pub root: String,
    pub cumulative_total: u64,
    pub leaf_count: u64,
    /// Hex SHA-256 of the report it votes.
    pub report_digest: String,
    /// Flattened: `"state": "sent"` and the state's fields beside the others.
    #[serde(flatten)]
    pub state: State,
    pub attempts: Vec<Attempt>,
    /// The latest refusal that did not decide the epoch (an unfunded key, a set being
    /// changed, a lagging endpoint): tried again each round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_problem: Option<String>,
    /// The epoch record's veto count when this oracle signed its first attempt: a higher
    /// count later means the authority vetoed the epoch while this root was being voted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetoes_at_first_attempt: Option<u8>,
}

/// Why a submission file could not be read or written (the file named, the cause kept).
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("the submission file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the submission file {path} does not parse: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the submission file {path} is epoch {found}'s, not {expected}'s")]
    OtherEpoch {
        path: String,
        expected: u64,
        found: u64,
    },
}

/// The submission files.
#[derive(Clone, Debug)]
pub struct Submissions {
    dir: PathBuf,
}

impl Submissions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Submissions { dir: dir.into() }
    }

    fn path(&self, epoch: u64) -> PathBuf {
        self.dir.join(format!("{epoch}.json"))
    }

    fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StateFileError + '_ {
        move |source| StateFileError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub fn load(&self, epoch: u64) -> Result<Option<Submission>, StateFileError> {
        let path = self.path(epoch);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let submission: Submission =
                    serde_json::from_slice(&bytes).map_err(|source| StateFileError::Parse {
                        path: path.display().to_string(),
                        source,
                    })?;
                if submission.epoch != epoch {
                    return Err(StateFileError::OtherEpoch {
                        path: path.display().to_string(),
                        expected: epoch,
                        found: submission.epoch,
                    });
                }
                Ok(Some(submission))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Self::io_error(&path)(error)),
        }
    }

    /// Replaces the epoch's file; durable when this returns.
    pub fn save(&self, submission: &Submission) -> Result<(), StateFileError> {
        let path = self.path(submission.epoch);
        let json = serde_json::to_vec_pretty(submission).expect("a submission serialises");
        write_atomically(&path, &json).map_err(Self::io_error(&path))
    }

    /// Every epoch with a file, ascending.
    pub fn epochs(&self) -> Result<Vec<u64>, StateFileError> {
        epoch_files(&self.dir, ".json").map_err(Self::io_error(&self.dir))
    }
}
