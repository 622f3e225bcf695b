//! Startup and checkpoints: the `Checkpoint` file, the replay of the frames written after
//! it, and the cut of a torn tail.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use groundwork_telemetry::Key;

use crate::frame::{self, Frame, FrameKind, Location};
use crate::manifest::{hash_of, Manifest};
use crate::{io_error, StoreError};

use super::seal::build_index;
use super::{
    segment_path, write_atomically, DeviceState, KeptConflicts, Segment, SegmentConfig,
    SegmentExtent, Shared, Writer,
};

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
    pub(super) fn recover(config: SegmentConfig, shared: Arc<Shared>) -> Result<Self, StoreError> {
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

    pub(super) fn checkpoint_if_due(&mut self) {
        if self.last_checkpoint.elapsed() >= self.config.checkpoint_every {
            if let Err(error) = self.write_checkpoint() {
                // A missed checkpoint only lengthens the next start's replay.
                tracing::warn!(%error, "checkpoint failed");
            }
        }
    }

    /// Writes the checkpoint: every segment's length of whole frames (all synced: this runs
    /// between commit groups) and every device's state.
    pub(super) fn write_checkpoint(&mut self) -> Result<(), StoreError> {
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
