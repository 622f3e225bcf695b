//! The chain view's files in its directory:
//! - `base`: the state at the base (every event before the base epoch's start applied), with
//!   the base epoch, the last slot it includes and the last credit purchase before it;
//!   rewritten whole (temporary file, fsync, rename) when the base moves — about once an epoch;
//! - `journal`: the events after the base as the programs emitted them (raw bytes, decoded
//!   again on load) and the position reached, appended and fsync'd once per poll; each record
//!   is framed with its length and CRC-32, a torn tail is cut on load;
//! - `snapshots/<epoch>.snapshot`: each epoch's snapshot, written once.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anchor_lang::{AnchorDeserialize, AnchorSerialize};
use sha2::{Digest, Sha256};

use crate::model::{ChainState, Purchase};
use crate::rpc::{Position, TxRef};
use crate::ViewError;

const BASE_MAGIC: &[u8; 8] = b"GWBASE03";
/// Bases of older formats (`GWBASE01`: purchases without their price; `GWBASE02`: without
/// pools' commission terms).
const OLDER_BASE_MAGICS: [&[u8; 8]; 2] = [b"GWBASE01", b"GWBASE02"];

/// The base as persisted.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct BaseFile {
    pub base_epoch: u64,
    /// Every transaction at or below this slot is in `state`; none after it.
    pub base_slot: u64,
    pub base_purchase: Option<Purchase>,
    pub state: ChainState,
}

/// One journal record.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub enum JournalRecord {
    Event {
        slot: u64,
        signature: String,
        program: u8,
        data: Vec<u8>,
    },
    Position {
        slot: u64,
        complete: bool,
        applied_in_slot: Vec<String>,
    },
}

impl JournalRecord {
    pub fn event(tx: &TxRef, program: u8, data: &[u8]) -> Self {
        JournalRecord::Event {
            slot: tx.slot,
            signature: tx.signature.clone(),
            program,
            data: data.to_vec(),
        }
    }

    pub fn position(position: &Position) -> Self {
        JournalRecord::Position {
            slot: position.slot,
            complete: position.complete,
            applied_in_slot: position.applied_in_slot.clone(),
        }
    }
}

fn state_error(path: &Path, message: impl std::fmt::Display) -> ViewError {
    ViewError::State {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Writes `bytes` to `path` atomically (core's one copy), naming the file in the error.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ViewError> {
    groundwork_oracle_core::files::write_atomically(path, bytes)
        .map_err(|error| state_error(path, error))
}

pub struct ViewFiles {
    pub dir: PathBuf,
}

impl ViewFiles {
    fn base_path(&self) -> PathBuf {
        self.dir.join("base")
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join("journal")
    }

    pub fn snapshot_path(&self, epoch: u64) -> PathBuf {
        self.dir.join("snapshots").join(format!("{epoch}.snapshot"))
    }

    pub fn ledger_path(&self, epoch: u64) -> PathBuf {
        self.dir.join("snapshots").join(format!("{epoch}.ledger"))
    }

    pub fn save_base(&self, base: &BaseFile) -> Result<(), ViewError> {
        let mut bytes = BASE_MAGIC.to_vec();
        base.serialize(&mut bytes).expect("encoding into memory");
        let checksum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&checksum);
        write_atomically(&self.base_path(), &bytes)
    }

    /// The persisted base, if there is one.
    pub fn load_base(&self) -> Result<Option<BaseFile>, ViewError> {
        let path = self.base_path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(state_error(&path, error)),
        };
        let corrupt = || {
            state_error(
                &path,
                "not an intact chain view base (delete the chain-view directory to load the chain again)",
            )
        };
        if OLDER_BASE_MAGICS
            .iter()
            .any(|magic| bytes.starts_with(magic.as_slice()))
        {
            // Written by an older version in a format this one does not read: the base is
            // loaded again from the chain.
            tracing::warn!(path = %path.display(), "the chain view's base is of an older format; loading it again from the chain");
            return Ok(None);
        }
        if bytes.len() < BASE_MAGIC.len() + 32 || !bytes.starts_with(BASE_MAGIC) {
            return Err(corrupt());
        }
        let (content, checksum) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(content).as_slice() != checksum {
            return Err(corrupt());
        }
        BaseFile::try_from_slice(&content[BASE_MAGIC.len()..])
            .map(Some)
            .map_err(|_| corrupt())
    }

    /// Replaces the journal with `records`.
    pub fn rewrite_journal(&self, records: &[JournalRecord]) -> Result<(), ViewError> {
        let mut bytes = Vec::new();
        for record in records {
            frame(record, &mut bytes);
        }
        write_atomically(&self.journal_path(), &bytes)
    }

    /// Appends `records` to the journal and syncs it.
    pub fn append_journal(&self, records: &[JournalRecord]) -> Result<(), ViewError> {
        if records.is_empty() {
            return Ok(());
        }
        let path = self.journal_path();
        let mut bytes = Vec::new();
        for record in records {
            frame(record, &mut bytes);
        }
        let append = || -> std::io::Result<()> {
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(&bytes)?;
            file.sync_data()
        };
        append().map_err(|error| state_error(&path, error))
    }

    /// The journal's records; a torn or damaged tail (a crash during an append) is cut off.
    pub fn load_journal(&self) -> Result<Vec<JournalRecord>, ViewError> {
        let path = self.journal_path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(state_error(&path, error)),
        };
        let mut records = Vec::new();
        let mut offset = 0;
        while let Some(record) = unframe(&bytes[offset..]) {
            let (record, length) = record;
            records.push(record);
            offset += length;
        }
        if offset < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                cut = bytes.len() - offset,
                "cutting a torn chain view journal tail (the poll that wrote it runs again)"
            );
            let cut = || -> std::io::Result<()> {
                let file = OpenOptions::new().write(true).open(&path)?;
                file.set_len(offset as u64)?;
                file.sync_all()
            };
            cut().map_err(|error| state_error(&path, error))?;
        }
        Ok(records)
    }
}

fn frame(record: &JournalRecord, out: &mut Vec<u8>) {
    let payload = borsh::to_vec(record).expect("encoding into memory");
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
}

fn unframe(bytes: &[u8]) -> Option<(JournalRecord, usize)> {
    let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    let payload = bytes.get(8..8 + length)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let record = JournalRecord::try_from_slice(payload).ok()?;
    Some((record, 8 + length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_journal_tail_is_cut_and_the_records_before_it_kept() {
        let dir = tempfile::tempdir().unwrap();
        let files = ViewFiles {
            dir: dir.path().to_path_buf(),
        };
        let tx = TxRef {
            slot: 7,
            signature: "5sig".into(),
        };
        let records = vec![
            JournalRecord::event(&tx, 0, &[1, 2, 3]),
            JournalRecord::position(&Position::complete_at(9)),
        ];
        files.append_journal(&records).unwrap();
        let path = dir.path().join("journal");
        let mut bytes = std::fs::read(&path).unwrap();
        let whole = bytes.len();
        bytes.extend_from_slice(&[40, 0, 0, 0, 1, 2]);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(files.load_journal().unwrap(), records);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, whole);
    }

    #[test]
    fn a_damaged_base_is_refused_with_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let files = ViewFiles {
            dir: dir.path().to_path_buf(),
        };
        let base = BaseFile {
            base_epoch: 3,
            base_slot: 99,
            base_purchase: None,
            state: ChainState::default(),
        };
        files.save_base(&base).unwrap();
        assert_eq!(files.load_base().unwrap(), Some(base));
        let path = dir.path().join("base");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[12] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let error = files.load_base().unwrap_err().to_string();
        assert!(error.contains("delete the chain-view directory"), "{error}");
    }
}
