//! The verify stage: every epoch that is sealed in the store and whose chain snapshot is made
//! is computed once, over the store's telemetry (streamed a device at a time), and its report
//! — the commit point — is stored in `reports/<epoch>.report` (written whole: temporary file,
//! fsync, rename). The next epoch adds to the previous report's cumulative totals and its
//! dust. A stored report is never overwritten: at start the newest one is computed again and
//! compared, and a difference is a loud determinism alarm.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use borsh::{BorshDeserialize, BorshSerialize};
use groundwork_oracle_chainview::{stored_snapshot, ChainSnapshot};
use groundwork_oracle_store::frame::FrameKind;
use groundwork_oracle_store::manifest::ManifestBuilder;
use groundwork_oracle_store::Store;
use groundwork_telemetry::{Key, TelemetryV1};
use sha2::{Digest, Sha256};

use crate::{EpochComputation, EpochRewards, Message, VerifyParams};

/// The report format version written first.
pub const REPORT_VERSION: u8 = 1;

/// An epoch's stored verified work, with the digests of its inputs.
#[derive(BorshSerialize, BorshDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct EpochReport {
    pub version: u8,
    pub epoch: u64,
    /// SHA-256 of the chain snapshot the epoch was computed over.
    pub snapshot_digest: [u8; 32],
    /// The store's manifest of the epoch's telemetry.
    pub telemetry_messages: u64,
    pub telemetry_conflicts: u64,
    pub telemetry_digest: String,
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

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("the report file {path}: {message}")]
    File { path: String, message: String },
    #[error("the store: {0}")]
    Store(String),
    #[error("the chain view: {0}")]
    ChainView(String),
    #[error("verified work: {0}")]
    Verify(#[from] crate::VerifyError),
    #[error("epoch {epoch}'s telemetry holds a message that does not decode: {message}")]
    Telemetry { epoch: u64, message: String },
}

/// The stored reports.
pub struct Reports {
    dir: PathBuf,
}

impl Reports {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Reports { dir: dir.into() }
    }

    fn path(&self, epoch: u64) -> PathBuf {
        self.dir.join(format!("{epoch}.report"))
    }

    fn file_error(path: &Path, message: impl std::fmt::Display) -> StageError {
        StageError::File {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }

    pub fn load(&self, epoch: u64) -> Result<Option<EpochReport>, StageError> {
        let path = self.path(epoch);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let report = EpochReport::try_from_slice(&bytes)
                    .map_err(|error| Self::file_error(&path, error))?;
                if report.version != REPORT_VERSION || report.epoch != epoch {
                    return Err(Self::file_error(
                        &path,
                        "not a report of this epoch and version",
                    ));
                }
                Ok(Some(report))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Self::file_error(&path, error)),
        }
    }

    /// Stores `report` (never over an existing one).
    pub fn save(&self, report: &EpochReport) -> Result<(), StageError> {
        let path = self.path(report.epoch);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let temporary = path.with_extension(format!("tmp.{}", std::process::id()));
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&report.encode())?;
            file.sync_all()?;
            // A hard link never replaces an existing file: a stored report stays, even with
            // two writers.
            let linked = std::fs::hard_link(&temporary, &path);
            std::fs::remove_file(&temporary)?;
            linked?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|error| Self::file_error(&path, error))
    }

    /// The epochs with a stored report, ascending.
    pub fn epochs(&self) -> Result<Vec<u64>, StageError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(Self::file_error(&self.dir, error)),
        };
        let mut epochs: Vec<u64> = entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".report")?.parse().ok()
            })
            .collect();
        epochs.sort_unstable();
        Ok(epochs)
    }
}

/// What one pass of the stage did.
#[derive(Debug, Default)]
pub struct Pass {
    pub stored: Vec<EpochReport>,
    /// Why the next epoch is not computed yet.
    pub waiting: Option<String>,
    /// The newest stored report, computed again, differed: (epoch, stored digest, new digest).
    pub determinism_alarm: Option<(u64, [u8; 32], [u8; 32])>,
}

/// The verify stage over a store, a chain view directory and a reports directory.
pub struct Verifier {
    store: Store,
    chain_view_dir: PathBuf,
    reports: Reports,
    params: VerifyParams,
    checked_at_start: bool,
}

impl Verifier {
    pub fn new(
        store: Store,
        chain_view_dir: impl Into<PathBuf>,
        reports_dir: impl Into<PathBuf>,
        params: VerifyParams,
    ) -> Self {
        Verifier {
            store,
            chain_view_dir: chain_view_dir.into(),
            reports: Reports::new(reports_dir),
            params,
            checked_at_start: false,
        }
    }

    pub fn reports(&self) -> &Reports {
        &self.reports
    }

    /// Computes and stores every epoch that is ready after the newest stored report (the
    /// first time, after computing the newest stored report again and comparing).
    pub async fn pass(&mut self) -> Result<Pass, StageError> {
        let mut pass = Pass::default();
        let stored = self.reports.epochs()?;
        if !self.checked_at_start {
            if let Some(newest) = stored.last() {
                if let Some(kept) = self.reports.load(*newest)? {
                    // Its inputs may be gone (retention): then there is nothing to compare.
                    if let Some(again) = self.compute(*newest).await? {
                        if again != kept {
                            pass.determinism_alarm = Some((*newest, kept.digest(), again.digest()));
                        }
                    }
                }
            }
            self.checked_at_start = true;
        }
        let mut next = match stored.last() {
            Some(newest) => newest + 1,
            None => match self.first_snapshot_epoch()? {
                Some(first) => first,
                None => {
                    pass.waiting = Some("no chain snapshot is made yet".into());
                    return Ok(pass);
                }
            },
        };
        loop {
            match self.compute(next).await? {
                Some(report) => {
                    self.reports.save(&report)?;
                    pass.stored.push(report);
                    next += 1;
                }
                None => {
                    pass.waiting = Some(self.waiting_for(next).await?);
                    return Ok(pass);
                }
            }
        }
    }

    async fn waiting_for(&self, epoch: u64) -> Result<String, StageError> {
        if self.snapshot(epoch)?.is_none() {
            return Ok(format!(
                "epoch {epoch}: its chain snapshot (made once the epoch is closed on chain)"
            ));
        }
        Ok(format!("epoch {epoch}: its seal in the store"))
    }

    fn snapshot(&self, epoch: u64) -> Result<Option<ChainSnapshot>, StageError> {
        stored_snapshot(&self.chain_view_dir, epoch)
            .map_err(|error| StageError::ChainView(error.to_string()))
    }

    fn first_snapshot_epoch(&self) -> Result<Option<u64>, StageError> {
        let dir = self.chain_view_dir.join("snapshots");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(StageError::ChainView(error.to_string())),
        };
        Ok(entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".snapshot")?.parse::<u64>().ok()
            })
            .min())
    }

    /// The report of `epoch`, or `None` while its snapshot or its seal is missing.
    pub async fn compute(&self, epoch: u64) -> Result<Option<EpochReport>, StageError> {
        let Some(snapshot) = self.snapshot(epoch)? else {
            return Ok(None);
        };
        let manifest = self
            .store
            .manifest(epoch)
            .await
            .map_err(|error| StageError::Store(error.to_string()))?;
        let Some(manifest) = manifest else {
            return Ok(None);
        };
        let previous = match epoch.checked_sub(1) {
            Some(previous) => self.reports.load(previous)?,
            None => None,
        };
        let (carried_dust_in, base_epoch, base): (u64, Option<u64>, BTreeMap<Pubkey, u64>) =
            match previous {
                Some(report) => (
                    report.rewards.dust,
                    Some(report.epoch),
                    report.rewards.cumulative,
                ),
                None => (0, None, BTreeMap::new()),
            };
        // The computation runs on a blocking thread; the store's stream feeds it a device's
        // messages at a time.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<(Key, Vec<Message>)>(64);
        let params = self.params.clone();
        let snapshot_digest = snapshot.digest();
        let (conflicts_sender, conflicts_receiver) =
            tokio::sync::oneshot::channel::<BTreeSet<Key>>();
        let worker = tokio::task::spawn_blocking(move || {
            let mut computation = EpochComputation::new(&snapshot, &params)?;
            while let Some((device, messages)) = receiver.blocking_recv() {
                computation.add_device(device, messages);
            }
            let conflicted = conflicts_receiver.blocking_recv().unwrap_or_default();
            computation.finish(&conflicted, carried_dust_in, &base)
        });
        let mut records = self.store.stream_epoch(epoch);
        let mut streamed = ManifestBuilder::new(epoch);
        let mut conflicted = BTreeSet::new();
        let mut current: Option<(Key, Vec<Message>)> = None;
        let mut failure = None;
        while let Some(record) = records.recv().await {
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    failure = Some(StageError::Store(error.to_string()));
                    break;
                }
            };
            streamed.add(record.kind, &record.device, record.seq, &record.hash);
            if record.kind == FrameKind::Conflict {
                conflicted.insert(record.device);
                continue;
            }
            let message = match TelemetryV1::from_canonical_bytes(&record.canonical) {
                Ok(message) => message,
                Err(error) => {
                    failure = Some(StageError::Telemetry {
                        epoch,
                        message: error.to_string(),
                    });
                    break;
                }
            };
            let message = Message {
                device: message.device,
                seq: message.seq,
                timestamp_ms: message.timestamp_ms,
                body: message.body,
            };
            match &mut current {
                Some((device, messages)) if *device == record.device => messages.push(message),
                _ => {
                    if let Some(done) = current.replace((record.device, vec![message])) {
                        if sender.send(done).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        if let Some(done) = current.take() {
            let _ = sender.send(done).await;
        }
        drop(sender);
        let _ = conflicts_sender.send(conflicted);
        let rewards = worker
            .await
            .map_err(|error| StageError::Store(format!("the computation stopped: {error}")))?;
        if let Some(failure) = failure {
            return Err(failure);
        }
        // Every record the manifest covers, and no other: a stream cut short (or raw messages
        // pruned under a kept manifest) never becomes a report.
        let streamed = streamed.finish();
        if streamed != manifest {
            return Err(StageError::Store(format!(
                "epoch {epoch}'s stream ({} messages, {} conflicts, digest {}) does not match its manifest ({} messages, {} conflicts, digest {})",
                streamed.messages,
                streamed.conflicts,
                streamed.digest,
                manifest.messages,
                manifest.conflicts,
                manifest.digest
            )));
        }
        Ok(Some(EpochReport {
            version: REPORT_VERSION,
            epoch,
            snapshot_digest,
            telemetry_messages: manifest.messages,
            telemetry_conflicts: manifest.conflicts,
            telemetry_digest: manifest.digest,
            carried_dust_in,
            base_epoch,
            rewards: rewards?,
        }))
    }
}
