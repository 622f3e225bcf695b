//! Sealing: the writer closes an epoch's segments and hands a `SealJob` to the sealer
//! thread, which sorts the epoch's frames into its index and writes its manifest.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use groundwork_telemetry::Key;

use crate::frame::FrameKind;
use crate::manifest::{hash_of, Manifest, ManifestBuilder};
use crate::{io_error, StoreError};

use super::read::for_each_frame;
use super::{
    epoch_dir, sync_dir, write_atomically, Reply, SegmentExtent, Shared, Writer, INDEX_RECORD_LEN,
};

/// Writes a closed epoch's sorted `index` and its `manifest.json` (the manifest last: its
/// presence marks the epoch sealed) from its segments `(id, path, length)`. Memory stays
/// bounded by one segment: each segment's records are sorted into a run file, then the runs
/// are merged into the index and the digest.
pub(super) fn build_index(
    dir: &Path,
    epoch: u64,
    segments: &[SegmentExtent],
) -> Result<Manifest, StoreError> {
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

/// A seal the writer hands to the sealer thread: the epochs with frames (already closed and
/// refusing frames) and the watermark to reach.
pub(super) struct SealJob {
    through: u64,
    epochs: Vec<(u64, Vec<SegmentExtent>)>,
    reply: Reply<Vec<Manifest>>,
}

/// Runs seal jobs in order, off the writer: commits of open epochs go on while an epoch's
/// index is sorted.
pub(super) fn run_sealer(
    dir: PathBuf,
    shared: Arc<Shared>,
    jobs: std::sync::mpsc::Receiver<SealJob>,
) {
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

impl Writer {
    /// Seals every epoch through `through`: each one holding frames is closed to new frames at
    /// once and its index and manifest are written by the sealer thread, then the watermark
    /// moves (one write for any number of empty epochs). `reply` gets the new manifests.
    pub(super) fn seal_through(&mut self, through: u64, reply: Reply<Vec<Manifest>>) {
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
}
