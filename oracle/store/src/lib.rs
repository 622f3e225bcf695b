//! The oracle's telemetry store (SPEC 4.2, 4.3 "Shared input", 7): what ingest commits and
//! the later stages read, built for sealed epochs at a million devices.
//!
//! Two backends with one behaviour:
//! - [`segments`]: the embedded default. Append-only, epoch-partitioned segment files of
//!   checksummed frames, group-committed with fsync; the per-device seq order lives in memory
//!   in one writer thread and survives restarts through checkpoints plus a replay of what was
//!   written since (startup time independent of history). Write cost does not grow with what
//!   is stored.
//! - [`postgres`]: several ingest processes on one server; the seq order is enforced by the
//!   database in the same transaction as the insert, telemetry partitioned by epoch.
//!
//! Both decide each candidate's fate in the commit itself ([`Outcome`]): stored, a duplicate
//! of identical canonical bytes, a conflicting copy (kept as bounded evidence), a stale seq, or
//! too late for its sealed epoch. Sealing an epoch freezes its input and writes its
//! [`Manifest`]; its frames can then be read in (device, seq) order.
//!
//! The stage's tasks ([`tasks`]): the sealer (each epoch at its end plus the grace) and
//! retention (settled epochs pruned).

pub mod frame;
pub mod manifest;
pub mod postgres;
pub mod segments;
pub mod tasks;

use std::sync::Arc;

use groundwork_telemetry::Key;

pub use manifest::{EpochRecord, Manifest};

/// A message that passed every check that needs no stored state, offered to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub device: Key,
    pub seq: u64,
    /// The epoch of its signed timestamp.
    pub epoch: u64,
    pub canonical: Vec<u8>,
    pub signature: [u8; 64],
    pub received_at_ms: i64,
}

/// What the store did with a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Durably stored (once the commit returns).
    Stored,
    /// Its canonical bytes equal those stored for its (device, seq).
    Duplicate,
    /// Its (device, seq) is stored with other canonical bytes; `evidence_kept` says whether
    /// this copy is stored as evidence (each distinct copy once, a bounded number per device
    /// and epoch).
    Conflict { evidence_kept: bool },
    /// Its seq is not above the device's last and nothing is stored under it.
    Stale { last_seq: u64 },
    /// Its epoch was sealed before the commit.
    EpochSealed,
}

/// Per-device counts and the newest stored message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceSummary {
    pub accepted: u64,
    /// Conflicting copies kept in epochs not yet sealed.
    pub open_conflicts: u64,
    pub latest_seq: Option<u64>,
    /// The newest message's canonical bytes and signature.
    pub latest: Option<(Vec<u8>, [u8; 64])>,
}

/// What a prune removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub epochs: Vec<u64>,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("store data is damaged: {0}")]
    Corrupt(String),
    #[error("the store stopped after a failed write and must be restarted (nothing unacknowledged was lost): {0}")]
    Poisoned(String),
    #[error("the store's writer stopped")]
    WriterGone,
    #[error("another process holds the store in {0} (one oracle process per data directory)")]
    Locked(String),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] sqlx::Error),
    #[error("the commit failed: {0}")]
    CommitFailed(String),
    #[error("PostgreSQL migrations: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("store URL must be empty (segment files in the data directory) or postgres://")]
    UnsupportedUrl,
}

pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Records handed from a store's reader to its consumer at a time (one wake-up per batch,
/// not per record).
pub(crate) const STREAM_BATCH: usize = 1_024;

/// A sealed epoch's records in order, read ahead in batches by the store.
pub struct EpochStream {
    receiver: tokio::sync::mpsc::Receiver<Result<Vec<EpochRecord>, StoreError>>,
    batch: std::vec::IntoIter<EpochRecord>,
}

impl EpochStream {
    /// The next record; `None` after the last (or after an error was returned).
    pub async fn next(&mut self) -> Option<Result<EpochRecord, StoreError>> {
        loop {
            if let Some(record) = self.batch.next() {
                return Some(Ok(record));
            }
            match self.receiver.recv().await? {
                Ok(batch) => self.batch = batch.into_iter(),
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// [`EpochStream::next`] from a thread outside the async runtime.
    pub fn blocking_next(&mut self) -> Option<Result<EpochRecord, StoreError>> {
        loop {
            if let Some(record) = self.batch.next() {
                return Some(Ok(record));
            }
            match self.receiver.blocking_recv()? {
                Ok(batch) => self.batch = batch.into_iter(),
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// The store behind every stage.
#[derive(Clone)]
pub enum Store {
    Segments(Arc<segments::SegmentStore>),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Commits `candidates` (in order: a later candidate sees an earlier one of the same
    /// group) and returns each one's outcome once every stored frame is durable.
    pub async fn commit(&self, candidates: Vec<Candidate>) -> Result<Vec<Outcome>, StoreError> {
        match self {
            Store::Segments(store) => store.commit(candidates).await,
            Store::Postgres(store) => store.commit(candidates).await,
        }
    }

    /// Seals every epoch up to `epoch` (idempotent): nothing more is stored in them. Returns
    /// the manifests of the epochs holding messages that this call sealed.
    pub async fn seal_through(&self, epoch: u64) -> Result<Vec<Manifest>, StoreError> {
        match self {
            Store::Segments(store) => store.seal_through(epoch).await,
            Store::Postgres(store) => store.seal_through(epoch).await,
        }
    }

    /// The manifest of a sealed epoch (empty for a sealed epoch that holds nothing).
    pub async fn manifest(&self, epoch: u64) -> Result<Option<Manifest>, StoreError> {
        match self {
            Store::Segments(store) => Ok(store.manifest(epoch)),
            Store::Postgres(store) => store.manifest(epoch).await,
        }
    }

    /// An epoch's messages and conflict copies in (device, seq, kind, hash) order: all of a
    /// sealed epoch, or an open epoch's as they stand.
    pub async fn epoch_records(&self, epoch: u64) -> Result<Vec<EpochRecord>, StoreError> {
        match self {
            Store::Segments(store) => store.epoch_records(epoch).await,
            Store::Postgres(store) => store.epoch_records(epoch).await,
        }
    }

    /// Streams a sealed epoch's records in (device, seq, kind, hash) order: memory does not
    /// grow with the epoch. The stream ends after the last record (or an error).
    pub fn stream_epoch(&self, epoch: u64) -> EpochStream {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let store = self.clone();
        tokio::spawn(async move {
            match store {
                Store::Segments(store) => store.stream_epoch(epoch, sender).await,
                Store::Postgres(store) => store.stream_epoch(epoch, sender).await,
            }
        });
        EpochStream {
            receiver,
            batch: Vec::new().into_iter(),
        }
    }

    /// Removes the raw messages of sealed epochs up to and including `through`.
    pub async fn prune_through(&self, through: u64) -> Result<Pruned, StoreError> {
        match self {
            Store::Segments(store) => store.prune_through(through).await,
            Store::Postgres(store) => store.prune_through(through).await,
        }
    }

    pub async fn device_summary(&self, device: &Key) -> Result<DeviceSummary, StoreError> {
        match self {
            Store::Segments(store) => store.device_summary(device).await,
            Store::Postgres(store) => store.device_summary(device).await,
        }
    }

    /// What the store holds on disk, in bytes: its segment files, or its PostgreSQL tables
    /// with their indexes.
    pub async fn bytes_on_disk(&self) -> Result<u64, StoreError> {
        match self {
            Store::Segments(store) => {
                let store = store.clone();
                tokio::task::spawn_blocking(move || store.bytes_on_disk())
                    .await
                    .map_err(|error| StoreError::Io {
                        path: "the store's directory".into(),
                        source: std::io::Error::other(error),
                    })?
            }
            Store::Postgres(store) => store.bytes_on_disk().await,
        }
    }

    /// Whether the store can take writes (a failed write stops it until restarted).
    pub fn health(&self) -> Result<(), String> {
        match self {
            Store::Segments(store) => store.health(),
            Store::Postgres(store) => store.health(),
        }
    }
}
