//! A sealed epoch's input as oracles exchange it (SPEC 4.3 "Shared input"): its records in
//! (device, seq) order and a manifest whose digest is the same on every oracle that holds the
//! same set, whatever order the messages arrived in.

use groundwork_telemetry::Key;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::frame::FrameKind;

/// One message (or conflicting copy) of a sealed epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochRecord {
    pub kind: FrameKind,
    pub device: Key,
    pub seq: u64,
    /// SHA-256 of the canonical bytes.
    pub hash: [u8; 32],
    pub canonical: Vec<u8>,
    pub signature: [u8; 64],
    pub received_at_ms: i64,
}

impl EpochRecord {
    /// The order records are served and digested in.
    pub fn sort_key(&self) -> (&[u8; 32], u64, FrameKind, &[u8; 32]) {
        (&self.device.0, self.seq, self.kind, &self.hash)
    }
}

/// SHA-256 of canonical bytes.
pub fn hash_of(canonical: &[u8]) -> [u8; 32] {
    Sha256::digest(canonical).into()
}

/// What a sealed epoch holds: counts and a digest over its sorted
/// `(device, seq, kind, hash of canonical bytes)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub epoch: u64,
    pub messages: u64,
    pub conflicts: u64,
    /// Hex SHA-256 over each record's device (32), seq (8, big endian), kind (1) and hash (32),
    /// in (device, seq, kind, hash) order.
    pub digest: String,
}

impl Manifest {
    /// The manifest of `records`, which must be sorted by [`EpochRecord::sort_key`].
    pub fn of_sorted(epoch: u64, records: &[EpochRecord]) -> Self {
        let mut digest = ManifestBuilder::new(epoch);
        for record in records {
            digest.add(record.kind, &record.device, record.seq, &record.hash);
        }
        digest.finish()
    }
}

/// Builds a manifest record by record, in sorted order.
pub struct ManifestBuilder {
    epoch: u64,
    messages: u64,
    conflicts: u64,
    hasher: Sha256,
}

impl ManifestBuilder {
    pub fn new(epoch: u64) -> Self {
        ManifestBuilder {
            epoch,
            messages: 0,
            conflicts: 0,
            hasher: Sha256::new(),
        }
    }

    pub fn add(&mut self, kind: FrameKind, device: &Key, seq: u64, hash: &[u8; 32]) {
        match kind {
            FrameKind::Message => self.messages += 1,
            FrameKind::Conflict => self.conflicts += 1,
        }
        self.hasher.update(device.0);
        self.hasher.update(seq.to_be_bytes());
        self.hasher.update([kind as u8]);
        self.hasher.update(hash);
    }

    /// (messages, conflicts) added so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.messages, self.conflicts)
    }

    pub fn finish(self) -> Manifest {
        Manifest {
            epoch: self.epoch,
            messages: self.messages,
            conflicts: self.conflicts,
            digest: hex::encode(self.hasher.finalize()),
        }
    }
}

/// Media type of `GET /v1/epochs/{n}/telemetry`.
pub const EPOCH_STREAM_MEDIA_TYPE: &str = "application/vnd.groundwork.epoch-telemetry-v1";
const STREAM_MAGIC: &[u8; 8] = b"GWEPOCH1";

/// The stream's head: magic, the manifest as JSON (u32 LE length first).
pub fn encode_stream_head(manifest: &Manifest) -> Vec<u8> {
    let json = serde_json::to_vec(manifest).expect("a manifest serialises");
    let mut out = Vec::with_capacity(12 + json.len());
    out.extend_from_slice(STREAM_MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out
}

/// One record of the stream: kind (u8), canonical length (u32 LE), canonical bytes, signature.
pub fn encode_stream_record(record: &EpochRecord, out: &mut Vec<u8>) {
    out.push(record.kind as u8);
    out.extend_from_slice(&(record.canonical.len() as u32).to_le_bytes());
    out.extend_from_slice(&record.canonical);
    out.extend_from_slice(&record.signature);
}

/// Decodes an epoch stream as its bytes arrive: feed chunks with [`StreamDecoder::push`],
/// take the manifest once with [`StreamDecoder::head`], then records with
/// [`StreamDecoder::next_record`] until it answers `None`; [`StreamDecoder::finish`] says
/// whether the stream ended on a record boundary. Memory holds at most one chunk and one
/// record.
#[derive(Default)]
pub struct StreamDecoder {
    buffer: Vec<u8>,
    position: usize,
    head_read: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if self.position > 0 {
            self.buffer.drain(..self.position);
            self.position = 0;
        }
        self.buffer.extend_from_slice(chunk);
    }

    fn available(&self) -> &[u8] {
        &self.buffer[self.position..]
    }

    /// The manifest, once its bytes have arrived (`Ok(None)` before).
    pub fn head(&mut self) -> Result<Option<Manifest>, String> {
        if self.head_read {
            return Err("the stream's head was already read".into());
        }
        let bytes = self.available();
        if bytes.len() < STREAM_MAGIC.len() + 4 {
            return Ok(None);
        }
        if !bytes.starts_with(STREAM_MAGIC) {
            return Err("not an epoch stream".into());
        }
        let length = u32::from_le_bytes(bytes[8..12].try_into().expect("4")) as usize;
        if length > 4_096 {
            return Err(format!("a manifest of {length} bytes"));
        }
        let Some(json) = bytes.get(12..12 + length) else {
            return Ok(None);
        };
        let manifest: Manifest =
            serde_json::from_slice(json).map_err(|error| format!("manifest: {error}"))?;
        self.position += 12 + length;
        self.head_read = true;
        Ok(Some(manifest))
    }

    /// The next whole record (`Ok(None)`: its bytes have not all arrived).
    pub fn next_record(&mut self) -> Result<Option<EpochRecord>, String> {
        let bytes = self.available();
        if bytes.len() < 5 {
            return Ok(None);
        }
        let kind = match bytes[0] {
            0 => FrameKind::Message,
            1 => FrameKind::Conflict,
            other => return Err(format!("unknown record kind {other}")),
        };
        let length = u32::from_le_bytes(bytes[1..5].try_into().expect("4")) as usize;
        if length > crate::frame::MAX_CANONICAL_LEN {
            return Err(format!("a record of {length} bytes"));
        }
        let Some(body) = bytes.get(5..5 + length + 64) else {
            return Ok(None);
        };
        let canonical = body[..length].to_vec();
        let signature: [u8; 64] = body[length..].try_into().expect("64");
        let (device, seq) =
            crate::frame::device_and_seq(&canonical).ok_or("a record too short for a message")?;
        self.position += 5 + length + 64;
        Ok(Some(EpochRecord {
            kind,
            device,
            seq,
            hash: hash_of(&canonical),
            canonical,
            signature,
            received_at_ms: 0,
        }))
    }

    /// At the end of the input: an error when it stopped inside the head or a record.
    pub fn finish(&self) -> Result<(), String> {
        if !self.head_read {
            return Err("the stream ends before its manifest".into());
        }
        if !self.available().is_empty() {
            return Err("the stream ends inside a record".into());
        }
        Ok(())
    }
}

/// A whole epoch stream decoded: the manifest it announced and its records (hashes
/// recomputed; `received_at_ms` is not exchanged and reads 0).
pub fn decode_stream(bytes: &[u8]) -> Result<(Manifest, Vec<EpochRecord>), String> {
    let mut decoder = StreamDecoder::new();
    decoder.push(bytes);
    let manifest = decoder
        .head()?
        .ok_or("the stream ends before its manifest")?;
    let mut records = Vec::new();
    while let Some(record) = decoder.next_record()? {
        records.push(record);
    }
    decoder.finish()?;
    Ok((manifest, records))
}
