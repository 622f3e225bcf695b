//! The embedded store: epoch-partitioned, append-only segment files of checksummed frames.
//!
//! ```text
//! data_dir/
//!   checkpoint            device seq state + segment catalog as of a moment (atomic rename)
//!   epochs/<epoch>/<segment>.seg   frames, appended, fsynced per commit group
//!   epochs/<epoch>/index           at seal: 81-byte records sorted by (device, seq, kind, hash)
//!   epochs/<epoch>/manifest.json   at seal: counts and digest (its presence = sealed)
//! ```
//!
//! One writer thread owns the state and serialises commits, seals and prunes: a commit group
//! is decided candidate by candidate (seq order, duplicates by identical canonical bytes found
//! by walking the device's frames back through their previous-frame pointers, conflicts kept
//! once per distinct copy up to a bound), appended, then fsynced before any outcome is
//! returned. Write cost is one append per frame and one fsync per touched segment per group,
//! whatever the store holds. A failed write or fsync stops the writer ("poisoned"): nothing
//! unacknowledged is lost, and a restart recovers from disk.
//!
//! Startup reads the newest checkpoint and replays only the frames written after it (a
//! checkpoint is taken every `checkpoint_every`), so its time does not grow with history. A
//! torn tail (a crash inside a write) is cut; damage before the tail stops the start loudly.

mod read;
mod recovery;
mod seal;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use groundwork_telemetry::Key;
use tokio::sync::oneshot;

use crate::frame::Location;
use crate::manifest::{EpochRecord, Manifest, ManifestBuilder};
use crate::{io_error, Candidate, DeviceSummary, Outcome, Pruned, StoreError};

use read::{read_epoch, read_open_epoch, visit_epoch};
use seal::{run_sealer, SealJob};

/// How the embedded store runs.
#[derive(Clone, Debug)]
pub struct SegmentConfig {
    pub dir: PathBuf,
    /// Longest a commit waits for others to share its fsync.
    pub commit_window: Duration,
    /// A segment is closed and a new one started past this size.
    pub max_segment_bytes: u32,
    /// How often the device state is checkpointed (bounds the replay at startup).
    pub checkpoint_every: Duration,
    /// Distinct conflicting copies kept per device and epoch.
    pub max_conflicts_per_device_epoch: usize,
}

impl SegmentConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SegmentConfig {
            dir: dir.into(),
            commit_window: Duration::from_millis(2),
            max_segment_bytes: 256 * 1024 * 1024,
            checkpoint_every: Duration::from_secs(60),
            max_conflicts_per_device_epoch: 8,
        }
    }
}

/// Most candidates grouped into one commit.
const MAX_GROUP: usize = 20_000;
/// Most frames walked back to find an old seq (a device's frames in retained epochs).
const MAX_WALK: usize = 200_000;
/// Bytes of one index record: device 32, seq 8 (BE), kind 1, hash 32, segment 4, offset 4.
const INDEX_RECORD_LEN: usize = 81;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Request {
    Commit(Vec<Candidate>, Reply<Vec<Outcome>>),
    SealThrough(u64, Reply<Vec<Manifest>>),
    Prune(u64, Reply<Pruned>),
    Summary(Key, Reply<DeviceSummary>),
    Checkpoint(Reply<()>),
    /// The segments of an epoch and their lengths of durable frames.
    Extent(u64, Reply<Vec<SegmentExtent>>),
}

/// A closed segment to index: its id, path and length of whole frames.
type SegmentExtent = (u32, PathBuf, u32);

/// The embedded store (see the module documentation).
pub struct SegmentStore {
    requests: std::sync::mpsc::SyncSender<Request>,
    shared: Arc<Shared>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The sealer thread (ends after the writer, which holds its queue).
    sealer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// An exclusive lock on `LOCK` in the directory, held while the store is open: a second
    /// process on the same directory is refused instead of corrupting it.
    _lock: File,
}

/// What readers share with the writer.
struct Shared {
    dir: PathBuf,
    /// Manifests of sealed epochs that hold frames.
    manifests: RwLock<BTreeMap<u64, Manifest>>,
    /// Every epoch up to this one is sealed (those without frames have an empty manifest).
    sealed_through: RwLock<Option<u64>>,
    /// Epochs closed to new frames whose index the sealer is still writing.
    sealing: RwLock<std::collections::BTreeSet<u64>>,
    /// Why the writer stopped, if it did.
    poisoned: RwLock<Option<String>>,
}

impl Shared {
    fn sealed_through(&self) -> Option<u64> {
        *self.sealed_through.read().expect("seal lock")
    }

    fn is_sealed(&self, epoch: u64) -> bool {
        self.sealed_through().is_some_and(|sealed| epoch <= sealed)
            || self.sealing.read().expect("sealing lock").contains(&epoch)
            || self
                .manifests
                .read()
                .expect("manifest lock")
                .contains_key(&epoch)
    }

    fn manifest(&self, epoch: u64) -> Option<Manifest> {
        if let Some(manifest) = self.manifests.read().expect("manifest lock").get(&epoch) {
            return Some(manifest.clone());
        }
        self.sealed_through()
            .is_some_and(|sealed| epoch <= sealed)
            .then(|| ManifestBuilder::new(epoch).finish())
    }
}

/// Hashes of the conflicting copies kept, per (device, epoch).
type KeptConflicts = HashMap<(Key, u64), Vec<[u8; 32]>>;

/// A device's place in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DeviceState {
    last_seq: u64,
    head: Location,
    accepted: u64,
}

/// A segment file.
struct Segment {
    epoch: u64,
    path: PathBuf,
    file: File,
    /// Bytes of whole frames (all durable once a commit returns).
    len: u32,
}

struct Writer {
    config: SegmentConfig,
    shared: Arc<Shared>,
    devices: HashMap<Key, DeviceState>,
    segments: BTreeMap<u32, Segment>,
    /// The segment taking frames of each open epoch.
    open_segment_of: BTreeMap<u64, u32>,
    next_segment: u32,
    /// Hashes of the conflicting copies kept per (device, epoch) of open epochs.
    conflicts: KeptConflicts,
    last_checkpoint: Instant,
    /// Seal jobs for the sealer thread.
    sealer: Option<std::sync::mpsc::Sender<SealJob>>,
}

fn epoch_dir(dir: &Path, epoch: u64) -> PathBuf {
    dir.join("epochs").join(format!("{epoch:020}"))
}

fn segment_path(dir: &Path, epoch: u64, segment: u32) -> PathBuf {
    epoch_dir(dir, epoch).join(format!("{segment:010}.seg"))
}

/// Writes `bytes` to `path` atomically (core's one copy), naming the file in the error.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    groundwork_oracle_core::files::write_atomically(path, bytes).map_err(io_error(path))
}

/// Makes the folder's entries durable, naming it in the error.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    groundwork_oracle_core::files::sync_dir(dir).map_err(io_error(dir))
}

impl SegmentStore {
    /// Opens (or creates) the store in `config.dir`, recovering from its checkpoint and the
    /// frames written since.
    pub fn open(config: SegmentConfig) -> Result<Self, StoreError> {
        std::fs::create_dir_all(config.dir.join("epochs")).map_err(io_error(&config.dir))?;
        let lock_path = config.dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Locked(config.dir.display().to_string()));
        }
        let shared = Arc::new(Shared {
            dir: config.dir.clone(),
            manifests: RwLock::new(BTreeMap::new()),
            sealed_through: RwLock::new(None),
            sealing: RwLock::new(std::collections::BTreeSet::new()),
            poisoned: RwLock::new(None),
        });
        let mut writer = Writer::recover(config, shared.clone())?;
        let (jobs, job_receiver) = std::sync::mpsc::channel();
        writer.sealer = Some(jobs);
        let sealer_dir = writer.config.dir.clone();
        let sealer_shared = shared.clone();
        let sealer = std::thread::Builder::new()
            .name("segment-sealer".into())
            .spawn(move || run_sealer(sealer_dir, sealer_shared, job_receiver))
            .map_err(|source| StoreError::Io {
                path: "segment sealer thread".into(),
                source,
            })?;
        let (requests, receiver) = std::sync::mpsc::sync_channel(1_024);
        let handle = std::thread::Builder::new()
            .name("segment-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|source| StoreError::Io {
                path: "segment writer thread".into(),
                source,
            })?;
        Ok(SegmentStore {
            requests,
            shared,
            writer: Mutex::new(Some(handle)),
            sealer: Mutex::new(Some(sealer)),
            _lock: lock,
        })
    }

    async fn ask<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> Result<T, StoreError> {
        if let Some(reason) = self.shared.poisoned.read().expect("poison lock").clone() {
            return Err(StoreError::Poisoned(reason));
        }
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(request(reply))
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    pub async fn commit(&self, candidates: Vec<Candidate>) -> Result<Vec<Outcome>, StoreError> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        self.ask(|reply| Request::Commit(candidates, reply)).await
    }

    /// Seals every epoch up to `epoch` (idempotent); returns the manifests of the epochs
    /// holding frames that this call sealed.
    pub async fn seal_through(&self, epoch: u64) -> Result<Vec<Manifest>, StoreError> {
        if self
            .shared
            .sealed_through()
            .is_some_and(|sealed| sealed >= epoch)
        {
            return Ok(Vec::new());
        }
        self.ask(|reply| Request::SealThrough(epoch, reply)).await
    }

    /// A sealed epoch's manifest (an empty one for a sealed epoch that holds nothing).
    pub fn manifest(&self, epoch: u64) -> Option<Manifest> {
        self.shared.manifest(epoch)
    }

    pub async fn prune_through(&self, through: u64) -> Result<Pruned, StoreError> {
        self.ask(|reply| Request::Prune(through, reply)).await
    }

    pub async fn device_summary(&self, device: &Key) -> Result<DeviceSummary, StoreError> {
        let device = *device;
        self.ask(|reply| Request::Summary(device, reply)).await
    }

    /// Writes a checkpoint now (also done every `checkpoint_every` and at shutdown).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.ask(Request::Checkpoint).await
    }

    /// Bytes of every file in the store's directory (segments, indexes, manifests, the
    /// checkpoint): what it holds on disk. Walks the directory; call it off the async threads.
    pub fn bytes_on_disk(&self) -> Result<u64, StoreError> {
        fn walk(dir: &std::path::Path) -> std::io::Result<u64> {
            let mut total = 0;
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    total += walk(&entry.path())?;
                } else if kind.is_file() {
                    // A file removed by retention meanwhile counts as nothing.
                    total += entry.metadata().map(|metadata| metadata.len()).unwrap_or(0);
                }
            }
            Ok(total)
        }
        walk(&self.shared.dir).map_err(io_error(&self.shared.dir))
    }

    /// Whether the store takes writes: its writer thread runs and no write has failed.
    pub fn health(&self) -> Result<(), String> {
        if let Some(reason) = self.shared.poisoned.read().expect("poison lock").clone() {
            return Err(reason);
        }
        let writer = self.writer.lock().expect("writer handle lock");
        match writer.as_ref() {
            Some(handle) if !handle.is_finished() => Ok(()),
            _ => Err("the segment writer thread stopped".into()),
        }
    }

    /// Sends a sealed epoch's records in (device, seq, kind, hash) order to `sender`, in
    /// batches, reading through buffers (memory does not grow with the epoch); stops when the
    /// receiver is gone.
    pub async fn stream_epoch(
        &self,
        epoch: u64,
        sender: tokio::sync::mpsc::Sender<Result<Vec<EpochRecord>, StoreError>>,
    ) {
        let dir = self.shared.dir.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(crate::STREAM_BATCH);
            let visited = visit_epoch(&dir, epoch, |record| {
                batch.push(record);
                batch.len() < crate::STREAM_BATCH
                    || sender
                        .blocking_send(Ok(std::mem::replace(
                            &mut batch,
                            Vec::with_capacity(crate::STREAM_BATCH),
                        )))
                        .is_ok()
            });
            let _ = match visited {
                Ok(()) if batch.is_empty() => Ok(()),
                Ok(()) => sender.blocking_send(Ok(batch)),
                Err(error) => sender.blocking_send(Err(error)),
            };
        })
        .await;
    }

    /// An epoch's records in (device, seq, kind, hash) order: a sealed epoch's from its index,
    /// an open epoch's as they stand (every frame durable at the time of the call).
    pub async fn epoch_records(&self, epoch: u64) -> Result<Vec<EpochRecord>, StoreError> {
        let dir = self.shared.dir.clone();
        if self
            .shared
            .manifests
            .read()
            .expect("manifest lock")
            .contains_key(&epoch)
        {
            return tokio::task::spawn_blocking(move || read_epoch(&dir, epoch))
                .await
                .map_err(|_| StoreError::WriterGone)?;
        }
        let extent = self.ask(|reply| Request::Extent(epoch, reply)).await?;
        tokio::task::spawn_blocking(move || read_open_epoch(&extent))
            .await
            .map_err(|_| StoreError::WriterGone)?
    }
}

impl Drop for SegmentStore {
    fn drop(&mut self) {
        // The writer ends when the request channel closes; it checkpoints first.
        let (closed, _) = std::sync::mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.requests, closed));
        if let Some(handle) = self.writer.lock().expect("writer handle lock").take() {
            let _ = handle.join();
        }
        if let Some(handle) = self.sealer.lock().expect("sealer handle lock").take() {
            let _ = handle.join();
        }
    }
}
