//! Checking a peer's records (the rules that do not depend on arrival, signatures in batches
//! on every core) and keeping the kept ones on disk: the records file of a pull, written as
//! it streams and read back, digest-checked, when the epoch is computed.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use groundwork_oracle_core::epochs::EpochSchedule;
use groundwork_oracle_store::manifest::{
    encode_stream_head, encode_stream_record, EpochRecord, Manifest, StreamDecoder,
};
use groundwork_telemetry::Key;
use sha2::{Digest, Sha256};

use super::{file_error, stopped, SharedInputError};

/// Which of `records` pass the rules that do not depend on arrival, and the refusals by
/// reason: the canonical bytes decode, name `network`, carry a timestamp inside `epoch`, and
/// the device's signature holds (the rules anyone checking an epoch bundle applies).
pub fn check_records(
    records: &[EpochRecord],
    epoch: u64,
    network: Key,
    schedule: &EpochSchedule,
) -> (Vec<bool>, BTreeMap<&'static str, u64>) {
    groundwork_oracle_bundle::check::check_records(records, network, |timestamp| {
        schedule.epoch_of(timestamp) == Some(epoch)
    })
}

pub(super) type CheckedBatch = (Vec<EpochRecord>, Vec<bool>, BTreeMap<&'static str, u64>);

/// Checks batches of a peer's records this oracle does not hold on blocking threads, as many
/// at once as there are cores, and appends the good ones to the records file in the stream's
/// order.
pub(super) struct Checker {
    pub(super) epoch: u64,
    pub(super) network: Key,
    pub(super) schedule: EpochSchedule,
    pub(super) in_flight: std::collections::VecDeque<tokio::task::JoinHandle<CheckedBatch>>,
    pub(super) parallel: usize,
    /// Away only while a write runs.
    pub(super) writer: Option<RecordsWriter>,
    pub(super) refused: BTreeMap<String, u64>,
    pub(super) kept: u64,
}

impl Checker {
    pub(super) async fn submit(&mut self, batch: Vec<EpochRecord>) -> Result<(), SharedInputError> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.in_flight.len() >= self.parallel {
            self.complete_oldest().await?;
        }
        let (epoch, network, schedule) = (self.epoch, self.network, self.schedule);
        self.in_flight
            .push_back(tokio::task::spawn_blocking(move || {
                let (good, counts) = check_records(&batch, epoch, network, &schedule);
                (batch, good, counts)
            }));
        Ok(())
    }

    async fn complete_oldest(&mut self) -> Result<(), SharedInputError> {
        let Some(oldest) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let (batch, good, counts) = oldest.await.map_err(stopped("check"))?;
        let mut writer = self
            .writer
            .take()
            .expect("the writer is back after each write");
        let (writer, kept) = tokio::task::spawn_blocking(move || {
            let mut kept = 0u64;
            for (record, _) in batch.iter().zip(good).filter(|(_, good)| *good) {
                writer.append(record)?;
                kept += 1;
            }
            Ok::<_, SharedInputError>((writer, kept))
        })
        .await
        .map_err(stopped("write"))??;
        self.writer = Some(writer);
        self.kept += kept;
        for (reason, count) in counts {
            *self.refused.entry(reason.to_string()).or_default() += count;
        }
        Ok(())
    }

    /// Waits for every check: the writer, the records kept and the refusals.
    pub(super) async fn finish(
        mut self,
    ) -> Result<(RecordsWriter, u64, BTreeMap<String, u64>), SharedInputError> {
        while !self.in_flight.is_empty() {
            self.complete_oldest().await?;
        }
        let writer = self.writer.expect("the writer is back after each write");
        Ok((writer, self.kept, self.refused))
    }
}

/// Writes a pulled set's records file: the peer's manifest as head, then the kept records;
/// fsync'd before it is renamed into place.
pub(super) struct RecordsWriter {
    path: PathBuf,
    out: BufWriter<std::fs::File>,
    hasher: Sha256,
    buffer: Vec<u8>,
}

impl RecordsWriter {
    pub(super) fn create(path: &Path, manifest: &Manifest) -> Result<Self, SharedInputError> {
        let file = std::fs::File::create(path).map_err(|error| file_error(path, error))?;
        let mut writer = RecordsWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            buffer: Vec::new(),
        };
        let head = encode_stream_head(manifest);
        writer.write(&head)?;
        Ok(writer)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), SharedInputError> {
        self.hasher.update(bytes);
        self.out
            .write_all(bytes)
            .map_err(|error| file_error(&self.path, error))
    }

    fn append(&mut self, record: &EpochRecord) -> Result<(), SharedInputError> {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        encode_stream_record(record, &mut buffer);
        let written = self.write(&buffer);
        self.buffer = buffer;
        written
    }

    /// Flushes and fsyncs; returns the file's SHA-256 in hex.
    pub(super) fn finish(self) -> Result<String, SharedInputError> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|error| file_error(&path, error.into_error()))?;
        file.sync_all().map_err(|error| file_error(&path, error))?;
        Ok(hex::encode(self.hasher.finalize()))
    }
}

/// A pulled set's kept records, read back in order.
pub struct PulledRecords {
    pub(super) path: PathBuf,
    pub(super) file: std::fs::File,
    pub(super) decoder: StreamDecoder,
    pub(super) hasher: Sha256,
    pub(super) expected_sha256: String,
    pub(super) head_read: bool,
    pub(super) done: bool,
}

impl PulledRecords {
    fn read_more(&mut self) -> Result<bool, SharedInputError> {
        let mut chunk = vec![0u8; 256 * 1024];
        let read = self
            .file
            .read(&mut chunk)
            .map_err(|error| file_error(&self.path, error))?;
        self.hasher.update(&chunk[..read]);
        self.decoder.push(&chunk[..read]);
        Ok(read > 0)
    }

    fn next_record(&mut self) -> Result<Option<EpochRecord>, SharedInputError> {
        let damaged = |path: &Path, message: String| SharedInputError::Damaged {
            path: path.display().to_string(),
            message,
        };
        loop {
            if !self.head_read {
                if self
                    .decoder
                    .head()
                    .map_err(|message| damaged(&self.path, message))?
                    .is_some()
                {
                    self.head_read = true;
                    continue;
                }
            } else if let Some(record) = self
                .decoder
                .next_record()
                .map_err(|message| damaged(&self.path, message))?
            {
                return Ok(Some(record));
            }
            if !self.read_more()? {
                self.decoder
                    .finish()
                    .map_err(|message| damaged(&self.path, message))?;
                let digest = hex::encode(std::mem::take(&mut self.hasher).finalize());
                if digest != self.expected_sha256 {
                    return Err(damaged(
                        &self.path,
                        format!(
                            "its digest {digest} is not the {} recorded when it was pulled",
                            self.expected_sha256
                        ),
                    ));
                }
                return Ok(None);
            }
        }
    }
}

impl PulledRecords {
    /// The same records, decoded ahead on a thread of their own (in batches), so the merge
    /// does not wait for the file.
    pub fn read_ahead(self) -> ReadAhead {
        const BATCH: usize = 1_024;
        let (sender, receiver) = std::sync::mpsc::sync_channel(4);
        std::thread::spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for record in self {
                let failed = record.is_err();
                batch.push(record);
                if (batch.len() == BATCH || failed)
                    && sender
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .is_err()
                {
                    return;
                }
                if failed {
                    return;
                }
            }
            if !batch.is_empty() {
                let _ = sender.send(batch);
            }
        });
        ReadAhead {
            receiver,
            batch: Vec::new().into_iter(),
        }
    }
}

/// A pulled set's records decoded ahead by [`PulledRecords::read_ahead`]; dropping it stops
/// the reader.
pub struct ReadAhead {
    receiver: std::sync::mpsc::Receiver<Vec<Result<EpochRecord, SharedInputError>>>,
    batch: std::vec::IntoIter<Result<EpochRecord, SharedInputError>>,
}

impl Iterator for ReadAhead {
    type Item = Result<EpochRecord, SharedInputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.batch.next() {
                return Some(record);
            }
            self.batch = self.receiver.recv().ok()?.into_iter();
        }
    }
}

impl Iterator for PulledRecords {
    type Item = Result<EpochRecord, SharedInputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_record();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}
