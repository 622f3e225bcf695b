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

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use groundwork_telemetry::Key;
use tokio::sync::oneshot;

use crate::frame::{self, Frame, FrameError, FrameKind, Location, HEADER_LEN};
use crate::manifest::{hash_of, EpochRecord, Manifest, ManifestBuilder};
use crate::{io_error, Candidate, DeviceSummary, Outcome, Pruned, StoreError};

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

/// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the folder.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temporary = path.with_extension("tmp");
    let mut file = File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io_error(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(io_error(dir))
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

/// Reads a sealed epoch's index and the frames it points to.
fn read_epoch(dir: &Path, epoch: u64) -> Result<Vec<EpochRecord>, StoreError> {
    let mut records = Vec::new();
    visit_epoch(dir, epoch, |record| {
        records.push(record);
        true
    })?;
    Ok(records)
}

/// Hands `visit` a sealed epoch's records in index order, reading through buffers; stops when
/// `visit` returns false.
/// Whether an epoch's directory holds any segment file.
fn holds_segments(epoch_path: &Path) -> bool {
    std::fs::read_dir(epoch_path).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|entry| {
            entry
                .path()
                .extension()
                .is_some_and(|extension| extension == "seg")
        })
    })
}

fn visit_epoch(
    dir: &Path,
    epoch: u64,
    mut visit: impl FnMut(EpochRecord) -> bool,
) -> Result<(), StoreError> {
    let epoch_path = epoch_dir(dir, epoch);
    let index_path = epoch_path.join("index");
    let index = match File::open(&index_path) {
        Ok(index) => index,
        // An epoch that never held a frame is sealed by the watermark alone: no index, no
        // segment, no record.
        Err(error)
            if error.kind() == std::io::ErrorKind::NotFound && !holds_segments(&epoch_path) =>
        {
            return Ok(());
        }
        Err(error) => return Err(io_error(&index_path)(error)),
    };
    let size = index.metadata().map_err(io_error(&index_path))?.len();
    if size % INDEX_RECORD_LEN as u64 != 0 {
        return Err(StoreError::Corrupt(format!(
            "{} is not a whole number of records",
            index_path.display()
        )));
    }
    let mut index = std::io::BufReader::with_capacity(1 << 16, index);
    let mut files: HashMap<u32, SealedSegment> = HashMap::new();
    let mut entry = [0u8; INDEX_RECORD_LEN];
    for _ in 0..size / INDEX_RECORD_LEN as u64 {
        index
            .read_exact(&mut entry)
            .map_err(io_error(&index_path))?;
        let segment = u32::from_le_bytes(entry[73..77].try_into().expect("4"));
        let offset = u32::from_le_bytes(entry[77..81].try_into().expect("4"));
        let file = match files.entry(segment) {
            std::collections::hash_map::Entry::Occupied(file) => file.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let path = segment_path(dir, epoch, segment);
                slot.insert(SealedSegment::open(&path)?)
            }
        };
        let frame = file.frame_at(offset).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "epoch {epoch}: the index names a frame at {segment}:{offset} that does not read"
            ))
        })?;
        let (device, seq) = frame
            .device_and_seq()
            .ok_or_else(|| StoreError::Corrupt("a frame too short for a message".into()))?;
        let record = EpochRecord {
            kind: frame.kind,
            device,
            seq,
            hash: entry[41..73].try_into().expect("32"),
            canonical: frame.canonical,
            signature: frame.signature,
            received_at_ms: frame.received_at_ms,
        };
        if !visit(record) {
            break;
        }
    }
    Ok(())
}

/// A sealed epoch's segment file, mapped into memory for reading: the index visits its
/// frames in device order, all over the file, and a mapping reads each without a system
/// call.
struct SealedSegment {
    map: memmap2::Mmap,
}

impl SealedSegment {
    fn open(path: &Path) -> Result<Self, StoreError> {
        let file = File::open(path).map_err(io_error(path))?;
        // SAFETY: a sealed epoch's segment files are never written, truncated or replaced
        // again (the writer appends to open epochs' segments only; retention deletes whole
        // files, which leaves an existing mapping intact). A file changed under the mapping
        // by another program would be read as damaged frames, which every frame's checksum
        // catches.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_error(path))?;
        Ok(SealedSegment { map })
    }

    /// The whole, valid frame starting at `offset`, if there is one.
    fn frame_at(&self, offset: u32) -> Option<Frame> {
        let bytes = self.map.get(usize::try_from(offset).ok()?..)?;
        frame::decode(bytes).ok().map(|(frame, _)| frame)
    }
}

/// Writes a closed epoch's sorted `index` and its `manifest.json` (the manifest last: its
/// presence marks the epoch sealed) from its segments `(id, path, length)`. Memory stays
/// bounded by one segment: each segment's records are sorted into a run file, then the runs
/// are merged into the index and the digest.
fn build_index(dir: &Path, epoch: u64, segments: &[SegmentExtent]) -> Result<Manifest, StoreError> {
    let folder = epoch_dir(dir, epoch);
    std::fs::create_dir_all(&folder).map_err(io_error(&folder))?;
    let mut runs = Vec::new();
    for (id, path, len) in segments {
        let mut records: Vec<[u8; INDEX_RECORD_LEN]> = Vec::new();
        for_each_frame(path, *len, |frame, offset| {
            let (device, seq) = frame
                .device_and_seq()
                .ok_or_else(|| StoreError::Corrupt("a frame too short".into()))?;
            let mut record = [0u8; INDEX_RECORD_LEN];
            record[..32].copy_from_slice(&device.0);
            record[32..40].copy_from_slice(&seq.to_be_bytes());
            record[40] = frame.kind as u8;
            record[41..73].copy_from_slice(&hash_of(&frame.canonical));
            record[73..77].copy_from_slice(&id.to_le_bytes());
            record[77..81].copy_from_slice(&offset.to_le_bytes());
            records.push(record);
            Ok(())
        })?;
        // The first 73 bytes order as (device, seq, kind, hash): seq is big endian.
        records.sort_unstable_by(|a, b| a[..73].cmp(&b[..73]));
        let run = folder.join(format!("run-{id}.tmp"));
        let mut file = std::io::BufWriter::new(File::create(&run).map_err(io_error(&run))?);
        for record in &records {
            file.write_all(record).map_err(io_error(&run))?;
        }
        file.flush().map_err(io_error(&run))?;
        runs.push(run);
    }
    let mut manifest = ManifestBuilder::new(epoch);
    let index_path = folder.join("index");
    let temporary = index_path.with_extension("tmp");
    {
        let mut index =
            std::io::BufWriter::new(File::create(&temporary).map_err(io_error(&temporary))?);
        merge_runs(&runs, |record| {
            let device = Key(record[..32].try_into().expect("32"));
            let seq = u64::from_be_bytes(record[32..40].try_into().expect("8"));
            let kind = if record[40] == 0 {
                FrameKind::Message
            } else {
                FrameKind::Conflict
            };
            manifest.add(kind, &device, seq, record[41..73].try_into().expect("32"));
            index.write_all(record).map_err(io_error(&temporary))
        })?;
        let file = index.into_inner().map_err(|error| StoreError::Io {
            path: temporary.display().to_string(),
            source: error.into_error(),
        })?;
        file.sync_all().map_err(io_error(&temporary))?;
    }
    std::fs::rename(&temporary, &index_path).map_err(io_error(&index_path))?;
    for run in &runs {
        let _ = std::fs::remove_file(run);
    }
    let manifest = manifest.finish();
    sync_dir(&folder)?;
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    write_atomically(&folder.join("manifest.json"), &json)?;
    Ok(manifest)
}

/// A closed segment to index: its id, path and length of whole frames.
type SegmentExtent = (u32, PathBuf, u32);

/// A seal the writer hands to the sealer thread: the epochs with frames (already closed and
/// refusing frames) and the watermark to reach.
struct SealJob {
    through: u64,
    epochs: Vec<(u64, Vec<SegmentExtent>)>,
    reply: Reply<Vec<Manifest>>,
}

/// Runs seal jobs in order, off the writer: commits of open epochs go on while an epoch's
/// index is sorted.
fn run_sealer(dir: PathBuf, shared: Arc<Shared>, jobs: std::sync::mpsc::Receiver<SealJob>) {
    for job in jobs {
        let outcome = (|| {
            let mut sealed = Vec::new();
            for (epoch, segments) in &job.epochs {
                let manifest = build_index(&dir, *epoch, segments)?;
                shared
                    .manifests
                    .write()
                    .expect("manifest lock")
                    .insert(*epoch, manifest.clone());
                shared.sealing.write().expect("sealing lock").remove(epoch);
                sealed.push(manifest);
            }
            if shared
                .sealed_through()
                .is_none_or(|current| current < job.through)
            {
                write_atomically(
                    &dir.join("sealed_through"),
                    job.through.to_string().as_bytes(),
                )?;
                *shared.sealed_through.write().expect("seal lock") = Some(job.through);
            }
            Ok(sealed)
        })();
        if let Err(error) = &outcome {
            tracing::error!(%error, "sealing failed; the epochs stay closed to new messages");
        }
        let _ = job.reply.send(outcome);
    }
}

/// Calls `visit` with every frame of the first `len` bytes of the segment at `path` and its
/// offset, reading through a buffer (memory does not grow with the segment).
fn for_each_frame(
    path: &Path,
    len: u32,
    mut visit: impl FnMut(Frame, u32) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file.take(u64::from(len)));
    let mut offset = 0u32;
    let mut bytes = Vec::new();
    while offset < len {
        bytes.resize(HEADER_LEN, 0);
        reader.read_exact(&mut bytes).map_err(io_error(path))?;
        let needed = match frame::decode(&bytes) {
            Err(FrameError::Truncated { needed }) => needed,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "{}: no frame header at {offset}",
                    path.display()
                )))
            }
        };
        bytes.resize(needed, 0);
        reader
            .read_exact(&mut bytes[HEADER_LEN..])
            .map_err(io_error(path))?;
        let (frame, length) = frame::decode(&bytes).map_err(|error| {
            StoreError::Corrupt(format!("{} at {offset}: {error:?}", path.display()))
        })?;
        visit(frame, offset)?;
        offset += length as u32;
    }
    Ok(())
}

/// Merges sorted runs of index records (by their first 73 bytes) and hands each record to
/// `emit` in order.
fn merge_runs(
    runs: &[PathBuf],
    mut emit: impl FnMut(&[u8; INDEX_RECORD_LEN]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut readers = runs
        .iter()
        .map(|run| {
            File::open(run)
                .map(|file| std::io::BufReader::with_capacity(1 << 16, file))
                .map_err(io_error(run))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next = |reader: &mut std::io::BufReader<File>, run: &Path| {
        let mut record = [0u8; INDEX_RECORD_LEN];
        match reader.read_exact(&mut record) {
            Ok(()) => Ok(Some(record)),
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(source) => Err(StoreError::Io {
                path: run.display().to_string(),
                source,
            }),
        }
    };
    let mut heap = BinaryHeap::new();
    for (index, reader) in readers.iter_mut().enumerate() {
        if let Some(record) = next(reader, &runs[index])? {
            heap.push(Reverse((record, index)));
        }
    }
    while let Some(Reverse((record, index))) = heap.pop() {
        emit(&record)?;
        if let Some(record) = next(&mut readers[index], &runs[index])? {
            heap.push(Reverse((record, index)));
        }
    }
    Ok(())
}

/// Every frame of the given segment prefixes, sorted into epoch records.
fn read_open_epoch(extent: &[SegmentExtent]) -> Result<Vec<EpochRecord>, StoreError> {
    let mut records = Vec::new();
    for (_, path, len) in extent {
        let file = File::open(path).map_err(io_error(path))?;
        let mut bytes = vec![0u8; *len as usize];
        file.read_exact_at(&mut bytes, 0).map_err(io_error(path))?;
        let mut position = 0usize;
        while position < bytes.len() {
            let (frame, length) = frame::decode(&bytes[position..]).map_err(|error| {
                StoreError::Corrupt(format!("{} at {position}: {error:?}", path.display()))
            })?;
            let (device, seq) = frame
                .device_and_seq()
                .ok_or_else(|| StoreError::Corrupt("a frame too short".into()))?;
            records.push(EpochRecord {
                kind: frame.kind,
                device,
                seq,
                hash: hash_of(&frame.canonical),
                canonical: frame.canonical,
                signature: frame.signature,
                received_at_ms: frame.received_at_ms,
            });
            position += length;
        }
    }
    records.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(records)
}

/// The frame starting at `offset` of `file`, if a whole valid one is there.
fn read_frame_at(file: &File, offset: u32) -> Result<Option<Frame>, StoreError> {
    // One read covers a typical frame (a few hundred bytes); a longer one takes a second.
    const FIRST_READ: usize = 1_024;
    let mut bytes = vec![0u8; FIRST_READ];
    let read = read_at_most(file, &mut bytes, u64::from(offset));
    bytes.truncate(read);
    let needed = match frame::decode(&bytes) {
        Ok((frame, _)) => return Ok(Some(frame)),
        Err(FrameError::Truncated { needed }) if needed > bytes.len() => needed,
        Err(_) => return Ok(None),
    };
    let mut bytes = vec![0u8; needed];
    if file.read_exact_at(&mut bytes, u64::from(offset)).is_err() {
        return Ok(None);
    }
    Ok(frame::decode(&bytes).ok().map(|(frame, _)| frame))
}

/// Reads from `offset` until `buffer` is full or the file ends; how many bytes were read.
fn read_at_most(file: &File, buffer: &mut [u8], offset: u64) -> usize {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    filled
}

/// The checkpoint file: everything needed to resume without reading history.
#[derive(Debug, Default, PartialEq)]
struct Checkpoint {
    next_segment: u32,
    /// (segment, epoch, length of whole frames at the checkpoint)
    segments: Vec<(u32, u64, u32)>,
    devices: Vec<(Key, DeviceState)>,
    /// Hashes of the conflicting copies kept per (device, epoch) in open epochs.
    conflicts: KeptConflicts,
}

const CHECKPOINT_MAGIC: &[u8; 8] = b"GWCKPT02";

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.segments.len() * 16 + self.devices.len() * 56);
        out.extend_from_slice(CHECKPOINT_MAGIC);
        out.extend_from_slice(&self.next_segment.to_le_bytes());
        out.extend_from_slice(&(self.segments.len() as u64).to_le_bytes());
        for (segment, epoch, len) in &self.segments {
            out.extend_from_slice(&segment.to_le_bytes());
            out.extend_from_slice(&epoch.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        out.extend_from_slice(&(self.devices.len() as u64).to_le_bytes());
        for (device, state) in &self.devices {
            out.extend_from_slice(&device.0);
            out.extend_from_slice(&state.last_seq.to_le_bytes());
            out.extend_from_slice(&state.head.pack().to_le_bytes());
            out.extend_from_slice(&state.accepted.to_le_bytes());
        }
        out.extend_from_slice(&(self.conflicts.len() as u64).to_le_bytes());
        for ((device, epoch), hashes) in &self.conflicts {
            out.extend_from_slice(&device.0);
            out.extend_from_slice(&epoch.to_le_bytes());
            out.extend_from_slice(&(hashes.len() as u32).to_le_bytes());
            for hash in hashes {
                out.extend_from_slice(hash);
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let (body, crc) = bytes
            .split_last_chunk::<4>()
            .ok_or("the checkpoint is empty")?;
        if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return Err("the checkpoint's checksum does not match".into());
        }
        let mut rest = body
            .strip_prefix(CHECKPOINT_MAGIC.as_slice())
            .ok_or("not a checkpoint")?;
        fn take<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], String> {
            let (head, tail) = rest
                .split_first_chunk::<N>()
                .ok_or("the checkpoint ends early")?;
            *rest = tail;
            Ok(*head)
        }
        let next_segment = u32::from_le_bytes(take(&mut rest)?);
        let segment_count = u64::from_le_bytes(take(&mut rest)?);
        let mut segments = Vec::new();
        for _ in 0..segment_count {
            segments.push((
                u32::from_le_bytes(take(&mut rest)?),
                u64::from_le_bytes(take(&mut rest)?),
                u32::from_le_bytes(take(&mut rest)?),
            ));
        }
        let device_count = u64::from_le_bytes(take(&mut rest)?);
        let mut devices = Vec::with_capacity(usize::try_from(device_count).unwrap_or(0));
        for _ in 0..device_count {
            let device = Key(take(&mut rest)?);
            let last_seq = u64::from_le_bytes(take(&mut rest)?);
            let head = Location::unpack(u64::from_le_bytes(take(&mut rest)?))
                .ok_or("a device without a head frame")?;
            let accepted = u64::from_le_bytes(take(&mut rest)?);
            devices.push((
                device,
                DeviceState {
                    last_seq,
                    head,
                    accepted,
                },
            ));
        }
        let conflict_count = u64::from_le_bytes(take(&mut rest)?);
        let mut conflicts = KeptConflicts::new();
        for _ in 0..conflict_count {
            let device = Key(take(&mut rest)?);
            let epoch = u64::from_le_bytes(take(&mut rest)?);
            let hashes = (0..u32::from_le_bytes(take(&mut rest)?))
                .map(|_| take::<32>(&mut rest))
                .collect::<Result<Vec<_>, _>>()?;
            conflicts.insert((device, epoch), hashes);
        }
        Ok(Checkpoint {
            next_segment,
            segments,
            devices,
            conflicts,
        })
    }
}

impl Writer {
    /// Rebuilds the state: the checkpoint, then every frame written after it.
    fn recover(config: SegmentConfig, shared: Arc<Shared>) -> Result<Self, StoreError> {
        let dir = config.dir.clone();
        let checkpoint_path = dir.join("checkpoint");
        let checkpoint = match std::fs::read(&checkpoint_path) {
            Ok(bytes) => Checkpoint::decode(&bytes).map_err(|reason| {
                StoreError::Corrupt(format!("{}: {reason}", checkpoint_path.display()))
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Checkpoint::default(),
            Err(source) => {
                return Err(StoreError::Io {
                    path: checkpoint_path.display().to_string(),
                    source,
                })
            }
        };
        let watermark_path = dir.join("sealed_through");
        match std::fs::read_to_string(&watermark_path) {
            Ok(text) => {
                let sealed: u64 = text.trim().parse().map_err(|_| {
                    StoreError::Corrupt(format!("{} is not an epoch", watermark_path.display()))
                })?;
                *shared.sealed_through.write().expect("seal lock") = Some(sealed);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StoreError::Io {
                    path: watermark_path.display().to_string(),
                    source,
                })
            }
        }
        let checkpointed: HashMap<u32, (u64, u32)> = checkpoint
            .segments
            .iter()
            .map(|(segment, epoch, len)| (*segment, (*epoch, *len)))
            .collect();
        let mut writer = Writer {
            config,
            shared,
            devices: checkpoint.devices.into_iter().collect(),
            segments: BTreeMap::new(),
            open_segment_of: BTreeMap::new(),
            next_segment: checkpoint.next_segment,
            conflicts: checkpoint.conflicts,
            last_checkpoint: Instant::now(),
            sealer: None,
        };
        // Every epoch folder: sealed ones have a manifest; the others take frames again.
        let epochs_dir = dir.join("epochs");
        let mut epoch_folders: Vec<(u64, PathBuf)> = std::fs::read_dir(&epochs_dir)
            .map_err(io_error(&epochs_dir))?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let epoch = entry.file_name().to_str()?.parse::<u64>().ok()?;
                Some((epoch, entry.path()))
            })
            .collect();
        epoch_folders.sort();
        let mut unindexed = Vec::new();
        for (epoch, folder) in epoch_folders {
            let manifest_path = folder.join("manifest.json");
            let sealed = match std::fs::read(&manifest_path) {
                // Sealed by the watermark without its manifest (the file was lost): its index
                // and manifest are written again from its frames once they are replayed.
                Err(_)
                    if writer
                        .shared
                        .sealed_through()
                        .is_some_and(|sealed| epoch <= sealed) =>
                {
                    unindexed.push(epoch);
                    true
                }
                Ok(bytes) => {
                    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|error| {
                        StoreError::Corrupt(format!("{}: {error}", manifest_path.display()))
                    })?;
                    writer
                        .shared
                        .manifests
                        .write()
                        .expect("manifest lock")
                        .insert(epoch, manifest);
                    true
                }
                Err(_) => false,
            };
            let mut segment_ids: Vec<u32> = std::fs::read_dir(&folder)
                .map_err(io_error(&folder))?
                .filter_map(|entry| {
                    let name = entry.ok()?.file_name();
                    name.to_str()?.strip_suffix(".seg")?.parse::<u32>().ok()
                })
                .collect();
            segment_ids.sort_unstable();
            for segment in segment_ids {
                let path = segment_path(&dir, epoch, segment);
                let file = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .open(&path)
                    .map_err(io_error(&path))?;
                let replay_from = match checkpointed.get(&segment) {
                    Some((_, len)) => *len,
                    None => 0,
                };
                let len = writer.replay(segment, epoch, &path, &file, replay_from, sealed)?;
                writer.next_segment = writer.next_segment.max(segment + 1);
                writer.segments.insert(
                    segment,
                    Segment {
                        epoch,
                        path,
                        file,
                        len,
                    },
                );
                if !sealed {
                    writer.open_segment_of.insert(epoch, segment);
                }
            }
        }
        for epoch in unindexed {
            let extent: Vec<SegmentExtent> = writer
                .segments
                .iter()
                .filter(|(_, segment)| segment.epoch == epoch)
                .map(|(id, segment)| (*id, segment.path.clone(), segment.len))
                .collect();
            let manifest = build_index(&dir, epoch, &extent)?;
            tracing::warn!(
                epoch,
                "rebuilt the missing index and manifest of a sealed epoch"
            );
            writer
                .shared
                .manifests
                .write()
                .expect("manifest lock")
                .insert(epoch, manifest);
        }
        // A checkpointed segment whose file is gone was pruned: nothing to replay.
        Ok(writer)
    }

    /// Applies the frames of `segment` from `from` to its end; cuts a torn tail. Returns the
    /// length of its whole frames.
    fn replay(
        &mut self,
        segment: u32,
        epoch: u64,
        path: &Path,
        file: &File,
        from: u32,
        sealed: bool,
    ) -> Result<u32, StoreError> {
        let size = file.metadata().map_err(io_error(path))?.len();
        if size < u64::from(from) {
            return Err(StoreError::Corrupt(format!(
                "{} holds {size} bytes but {from} were committed before the last checkpoint",
                path.display()
            )));
        }
        let mut bytes = vec![0u8; usize::try_from(size - u64::from(from)).unwrap_or(0)];
        file.read_exact_at(&mut bytes, u64::from(from))
            .map_err(io_error(path))?;
        let mut position = 0usize;
        while position < bytes.len() {
            match frame::decode(&bytes[position..]) {
                Ok((frame, length)) => {
                    let offset = from + position as u32;
                    self.apply_replayed(&frame, epoch, Location { segment, offset }, sealed);
                    position += length;
                }
                Err(error) => {
                    // A torn tail has no valid frame after it; damage before the tail does.
                    let later_frame = (position + 1..bytes.len()).any(|start| {
                        bytes[start] == frame::FRAME_MAGIC && frame::decode(&bytes[start..]).is_ok()
                    });
                    if later_frame {
                        return Err(StoreError::Corrupt(format!(
                            "{} is damaged at byte {} ({error:?}) with valid frames after it",
                            path.display(),
                            u64::from(from) + position as u64
                        )));
                    }
                    let keep = u64::from(from) + position as u64;
                    tracing::warn!(
                        segment = %path.display(),
                        cut_bytes = size - keep,
                        "cutting a torn tail (a write interrupted by a crash; it was never acknowledged)"
                    );
                    file.set_len(keep).map_err(io_error(path))?;
                    file.sync_all().map_err(io_error(path))?;
                    return Ok(keep as u32);
                }
            }
        }
        Ok(from + position as u32)
    }

    fn apply_replayed(&mut self, frame: &Frame, epoch: u64, location: Location, sealed: bool) {
        let Some((device, seq)) = frame.device_and_seq() else {
            return;
        };
        match frame.kind {
            FrameKind::Message => {
                let state = self.devices.entry(device).or_insert(DeviceState {
                    last_seq: seq,
                    head: location,
                    accepted: 0,
                });
                state.accepted += 1;
                if seq >= state.last_seq {
                    state.last_seq = seq;
                    state.head = location;
                }
            }
            FrameKind::Conflict if !sealed => {
                self.conflicts
                    .entry((device, epoch))
                    .or_default()
                    .push(hash_of(&frame.canonical));
            }
            FrameKind::Conflict => {}
        }
    }

    fn run(mut self, requests: std::sync::mpsc::Receiver<Request>) {
        let mut pending: Option<Request> = None;
        loop {
            let request = match pending.take() {
                Some(request) => request,
                None => match requests.recv_timeout(self.config.checkpoint_every) {
                    Ok(request) => request,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        self.checkpoint_if_due();
                        continue;
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                },
            };
            match request {
                Request::Commit(candidates, reply) => {
                    // Group every commit that arrives within the window.
                    let mut group = vec![(candidates, reply)];
                    let mut count = group[0].0.len();
                    let deadline = Instant::now() + self.config.commit_window;
                    while count < MAX_GROUP {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match requests.recv_timeout(left) {
                            Ok(Request::Commit(candidates, reply)) => {
                                count += candidates.len();
                                group.push((candidates, reply));
                            }
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_group(group);
                }
                Request::SealThrough(epoch, reply) => self.seal_through(epoch, reply),
                Request::Prune(through, reply) => {
                    let _ = reply.send(self.prune(through));
                }
                Request::Summary(device, reply) => {
                    let _ = reply.send(Ok(self.summary(&device)));
                }
                Request::Checkpoint(reply) => {
                    let _ = reply.send(self.write_checkpoint());
                }
                Request::Extent(epoch, reply) => {
                    let extent = self
                        .segments
                        .iter()
                        .filter(|(_, segment)| segment.epoch == epoch)
                        .map(|(id, segment)| (*id, segment.path.clone(), segment.len))
                        .collect();
                    let _ = reply.send(Ok(extent));
                }
            }
            self.checkpoint_if_due();
        }
        if let Err(error) = self.write_checkpoint() {
            tracing::error!(%error, "the final checkpoint failed; the next start replays more");
        }
    }

    fn poison(&self, reason: String) {
        tracing::error!(%reason, "the store stops taking writes");
        *self.shared.poisoned.write().expect("poison lock") = Some(reason);
    }

    fn commit_group(&mut self, group: Vec<(Vec<Candidate>, Reply<Vec<Outcome>>)>) {
        if let Some(reason) = self.shared.poisoned.read().expect("poison lock").clone() {
            for (_, reply) in group {
                let _ = reply.send(Err(StoreError::Poisoned(reason.clone())));
            }
            return;
        }
        let mut touched: Vec<u32> = Vec::new();
        let mut outcomes: Vec<Vec<Outcome>> = Vec::with_capacity(group.len());
        let mut failure: Option<StoreError> = None;
        'group: for (candidates, _) in &group {
            let mut these = Vec::with_capacity(candidates.len());
            for candidate in candidates {
                match self.decide(candidate, &mut touched) {
                    Ok(outcome) => these.push(outcome),
                    Err(error) => {
                        failure = Some(error);
                        break 'group;
                    }
                }
            }
            outcomes.push(these);
        }
        if failure.is_none() {
            for segment in &touched {
                if let Some(segment) = self.segments.get(segment) {
                    if let Err(source) = segment.file.sync_data() {
                        failure = Some(StoreError::Io {
                            path: segment.path.display().to_string(),
                            source,
                        });
                        break;
                    }
                }
            }
        }
        match failure {
            None => {
                for ((_, reply), outcome) in group.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Some(error) => {
                // The in-memory state may now name frames that are not durable: stop here;
                // a restart recovers exactly what is on disk. Nothing of this group is
                // acknowledged.
                let reason = error.to_string();
                self.poison(reason.clone());
                for (_, reply) in group {
                    let _ = reply.send(Err(StoreError::Poisoned(reason.clone())));
                }
            }
        }
    }

    /// Decides one candidate and appends what it stores.
    fn decide(
        &mut self,
        candidate: &Candidate,
        touched: &mut Vec<u32>,
    ) -> Result<Outcome, StoreError> {
        if self.is_sealed(candidate.epoch) {
            return Ok(Outcome::EpochSealed);
        }
        let state = self.devices.get(&candidate.device).copied();
        if state.is_none_or(|state| candidate.seq > state.last_seq) {
            let frame = Frame {
                kind: FrameKind::Message,
                previous: state.map(|state| state.head),
                received_at_ms: candidate.received_at_ms,
                signature: candidate.signature,
                canonical: candidate.canonical.clone(),
            };
            let location = self.append(candidate.epoch, &frame, touched)?;
            self.devices.insert(
                candidate.device,
                DeviceState {
                    last_seq: candidate.seq,
                    head: location,
                    accepted: state.map_or(0, |state| state.accepted) + 1,
                },
            );
            return Ok(Outcome::Stored);
        }
        let state = state.expect("an old seq has a device state");
        match self.find(&candidate.device, candidate.seq, state.head)? {
            None => Ok(Outcome::Stale {
                last_seq: state.last_seq,
            }),
            Some(stored) if stored == candidate.canonical => Ok(Outcome::Duplicate),
            Some(_) => {
                let hash = hash_of(&candidate.canonical);
                let key = (candidate.device, candidate.epoch);
                let kept = self.conflicts.get(&key).map_or(&[][..], Vec::as_slice);
                if kept.contains(&hash) {
                    return Ok(Outcome::Conflict {
                        evidence_kept: true,
                    });
                }
                if kept.len() >= self.config.max_conflicts_per_device_epoch {
                    return Ok(Outcome::Conflict {
                        evidence_kept: false,
                    });
                }
                let frame = Frame {
                    kind: FrameKind::Conflict,
                    previous: None,
                    received_at_ms: candidate.received_at_ms,
                    signature: candidate.signature,
                    canonical: candidate.canonical.clone(),
                };
                self.append(candidate.epoch, &frame, touched)?;
                self.conflicts.entry(key).or_default().push(hash);
                Ok(Outcome::Conflict {
                    evidence_kept: true,
                })
            }
        }
    }

    fn is_sealed(&self, epoch: u64) -> bool {
        self.shared.is_sealed(epoch)
    }

    /// Seals every epoch through `through`: each one holding frames is closed to new frames at
    /// once and its index and manifest are written by the sealer thread, then the watermark
    /// moves (one write for any number of empty epochs). `reply` gets the new manifests.
    fn seal_through(&mut self, through: u64, reply: Reply<Vec<Manifest>>) {
        let mut epochs: Vec<u64> = self
            .segments
            .values()
            .map(|segment| segment.epoch)
            .filter(|epoch| *epoch <= through && !self.shared.is_sealed(*epoch))
            .collect();
        epochs.sort_unstable();
        epochs.dedup();
        let mut job = SealJob {
            through,
            epochs: Vec::new(),
            reply,
        };
        for epoch in epochs {
            let ids: Vec<u32> = self
                .segments
                .iter()
                .filter(|(_, segment)| segment.epoch == epoch)
                .map(|(id, _)| *id)
                .collect();
            for id in &ids {
                if let Err(error) = self.close_segment(*id) {
                    let _ = job.reply.send(Err(error));
                    return;
                }
            }
            self.shared
                .sealing
                .write()
                .expect("sealing lock")
                .insert(epoch);
            job.epochs.push((
                epoch,
                ids.iter()
                    .map(|id| (*id, self.segments[id].path.clone(), self.segments[id].len))
                    .collect(),
            ));
        }
        self.conflicts.retain(|(_, epoch), _| *epoch > through);
        match &self.sealer {
            Some(sealer) => {
                if let Err(std::sync::mpsc::SendError(job)) = sealer.send(job) {
                    let _ = job.reply.send(Err(StoreError::WriterGone));
                }
            }
            None => {
                let _ = job.reply.send(Err(StoreError::WriterGone));
            }
        }
    }

    /// The canonical bytes stored for (device, seq), walking back from `head`.
    fn find(&self, device: &Key, seq: u64, head: Location) -> Result<Option<Vec<u8>>, StoreError> {
        let mut at = Some(head);
        for _ in 0..MAX_WALK {
            let Some(location) = at else {
                return Ok(None);
            };
            // A pruned segment ends the walk: older messages are no longer held.
            let Some(segment) = self.segments.get(&location.segment) else {
                return Ok(None);
            };
            let frame = read_frame_at(&segment.file, location.offset)?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "{}: no frame at {} (a device's previous-frame pointer)",
                    segment.path.display(),
                    location.offset
                ))
            })?;
            let (frame_device, frame_seq) = frame
                .device_and_seq()
                .ok_or_else(|| StoreError::Corrupt("a frame too short for a message".into()))?;
            if frame_device != *device {
                return Err(StoreError::Corrupt(format!(
                    "{}: the frame at {} belongs to another device",
                    segment.path.display(),
                    location.offset
                )));
            }
            if frame_seq == seq {
                return Ok(Some(frame.canonical));
            }
            if frame_seq < seq {
                return Ok(None);
            }
            at = frame.previous;
        }
        Ok(None)
    }

    /// Appends `frame` to `epoch`'s open segment (starting one if needed).
    fn append(
        &mut self,
        epoch: u64,
        frame: &Frame,
        touched: &mut Vec<u32>,
    ) -> Result<Location, StoreError> {
        let mut bytes = Vec::with_capacity(Frame::encoded_len(frame.canonical.len()));
        frame.encode_into(&mut bytes);
        let segment_id = match self.open_segment_of.get(&epoch) {
            Some(segment)
                if u64::from(self.segments[segment].len) + bytes.len() as u64
                    <= u64::from(self.config.max_segment_bytes) =>
            {
                *segment
            }
            full => {
                if let Some(full) = full.copied() {
                    self.close_segment(full)?;
                }
                self.start_segment(epoch)?
            }
        };
        let segment = self.segments.get_mut(&segment_id).expect("open segment");
        segment
            .file
            .write_all(&bytes)
            .map_err(io_error(&segment.path))?;
        let location = Location {
            segment: segment_id,
            offset: segment.len,
        };
        segment.len += bytes.len() as u32;
        if !touched.contains(&segment_id) {
            touched.push(segment_id);
        }
        Ok(location)
    }

    fn start_segment(&mut self, epoch: u64) -> Result<u32, StoreError> {
        let folder = epoch_dir(&self.config.dir, epoch);
        std::fs::create_dir_all(&folder).map_err(io_error(&folder))?;
        let segment = self.next_segment;
        self.next_segment += 1;
        let path = segment_path(&self.config.dir, epoch, segment);
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(io_error(&path))?;
        sync_dir(&folder)?;
        sync_dir(&self.config.dir.join("epochs"))?;
        self.segments.insert(
            segment,
            Segment {
                epoch,
                path,
                file,
                len: 0,
            },
        );
        self.open_segment_of.insert(epoch, segment);
        Ok(segment)
    }

    fn close_segment(&mut self, segment_id: u32) -> Result<(), StoreError> {
        if let Some(segment) = self.segments.get_mut(&segment_id) {
            segment.file.sync_all().map_err(io_error(&segment.path))?;
            if self.open_segment_of.get(&segment.epoch) == Some(&segment_id) {
                self.open_segment_of.remove(&segment.epoch);
            }
        }
        Ok(())
    }

    /// Deletes sealed epochs up to `through`.
    fn prune(&mut self, through: u64) -> Result<Pruned, StoreError> {
        let sealed: Vec<u64> = self
            .shared
            .manifests
            .read()
            .expect("manifest lock")
            .keys()
            .copied()
            .filter(|epoch| *epoch <= through)
            .collect();
        let mut pruned = Pruned::default();
        for epoch in sealed {
            let folder = epoch_dir(&self.config.dir, epoch);
            if !folder.exists() {
                continue;
            }
            let ids: Vec<u32> = self
                .segments
                .iter()
                .filter(|(_, segment)| segment.epoch == epoch)
                .map(|(id, _)| *id)
                .collect();
            for id in ids {
                if let Some(segment) = self.segments.remove(&id) {
                    pruned.bytes += u64::from(segment.len);
                }
            }
            std::fs::remove_dir_all(&folder).map_err(io_error(&folder))?;
            pruned.epochs.push(epoch);
        }
        if !pruned.epochs.is_empty() {
            sync_dir(&self.config.dir.join("epochs"))?;
            // The checkpoint must not name pruned segments.
            self.write_checkpoint()?;
        }
        Ok(pruned)
    }

    fn summary(&self, device: &Key) -> DeviceSummary {
        let Some(state) = self.devices.get(device) else {
            return DeviceSummary::default();
        };
        let latest = self
            .segments
            .get(&state.head.segment)
            .and_then(|segment| {
                read_frame_at(&segment.file, state.head.offset)
                    .ok()
                    .flatten()
            })
            .map(|frame| (frame.canonical, frame.signature));
        DeviceSummary {
            accepted: state.accepted,
            open_conflicts: self
                .conflicts
                .iter()
                .filter(|((conflict_device, _), _)| conflict_device == device)
                .map(|(_, copies)| copies.len() as u64)
                .sum(),
            latest_seq: Some(state.last_seq),
            latest,
        }
    }

    fn checkpoint_if_due(&mut self) {
        if self.last_checkpoint.elapsed() >= self.config.checkpoint_every {
            if let Err(error) = self.write_checkpoint() {
                // A missed checkpoint only lengthens the next start's replay.
                tracing::warn!(%error, "checkpoint failed");
            }
        }
    }

    /// Writes the checkpoint: every segment's length of whole frames (all synced: this runs
    /// between commit groups) and every device's state.
    fn write_checkpoint(&mut self) -> Result<(), StoreError> {
        self.last_checkpoint = Instant::now();
        if self.shared.poisoned.read().expect("poison lock").is_some() {
            // After a failed write the state may name frames that are not durable: the next
            // start recovers from the previous checkpoint and the disk instead.
            return Ok(());
        }
        let checkpoint = Checkpoint {
            next_segment: self.next_segment,
            segments: self
                .segments
                .iter()
                .map(|(id, segment)| (*id, segment.epoch, segment.len))
                .collect(),
            devices: self
                .devices
                .iter()
                .map(|(device, state)| (*device, *state))
                .collect(),
            conflicts: self.conflicts.clone(),
        };
        write_atomically(&self.config.dir.join("checkpoint"), &checkpoint.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_refuses_damage() {
        let checkpoint = Checkpoint {
            next_segment: 9,
            segments: vec![(3, 17, 4_096), (8, 18, 12)],
            devices: vec![(
                Key([5; 32]),
                DeviceState {
                    last_seq: 77,
                    head: Location {
                        segment: 8,
                        offset: 0,
                    },
                    accepted: 12,
                },
            )],
            conflicts: [((Key([6; 32]), 18), vec![[1; 32], [2; 32]])].into(),
        };
        let bytes = checkpoint.encode();
        assert_eq!(Checkpoint::decode(&bytes).unwrap(), checkpoint);
        let mut damaged = bytes.clone();
        damaged[20] ^= 1;
        assert!(Checkpoint::decode(&damaged).is_err());
        assert!(Checkpoint::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
