//! The writer thread: it serves the requests in order, deciding and appending commit groups
//! (one fsync per touched segment per group), and serves seals, prunes and summaries.

use std::fs::OpenOptions;
use std::io::Write;
use std::time::Instant;

use groundwork_telemetry::Key;

use crate::frame::{Frame, FrameKind, Location};
use crate::manifest::hash_of;
use crate::{io_error, Candidate, DeviceSummary, Outcome, Pruned, StoreError};

use super::read::read_frame_at;
use super::{
    epoch_dir, segment_path, sync_dir, DeviceState, Reply, Request, Segment, Writer, MAX_GROUP,
    MAX_WALK,
};

impl Writer {
    pub(super) fn run(mut self, requests: std::sync::mpsc::Receiver<Request>) {
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

    pub(super) fn close_segment(&mut self, segment_id: u32) -> Result<(), StoreError> {
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
}
