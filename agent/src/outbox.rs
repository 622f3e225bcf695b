//! The agent's durable outbox: signed messages journaled in order, until an oracle resolved
//! them.
//!
//! On disk, in the data directory:
//! - `seq`: the end of the block of seqs handed out (exclusive). It is written (to a temporary
//!   file, fsync'd, renamed, the directory fsync'd) **before** the first seq of a new block is
//!   used, so after any crash the next seq is at or above it: a seq is never used twice, even
//!   for a message that never reached the disk. Seqs may skip (SPEC 4.1 asks only that they
//!   increase).
//! - `outbox/<n>.log`: segments of records `[u32 LE length][u32 LE crc32][canonical bytes][64-byte
//!   signature]`. A record is fsync'd before its writer is acknowledged and before it is sent;
//!   on open, a torn or corrupt tail of the newest segment is cut at the last whole record.
//! - `cursor`: the segment and offset after the last resolved record (replaced by rename). A
//!   cursor older than the truth only makes resolved messages go out again — as the same
//!   bytes, which an oracle acknowledges as duplicates.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use groundwork_telemetry::{Key, TelemetryBody, TelemetryV1};

/// Seqs reserved per write of the `seq` file: one fsync per this many messages.
pub const SEQ_BLOCK: u64 = 4_096;
/// A segment is closed once it holds this many bytes.
const SEGMENT_BYTES: u64 = 4 << 20;
/// Longest record accepted when reading a segment (a canonical message is under 200 bytes).
const MAX_RECORD: usize = 4_096;

/// A journaled message not yet resolved by an oracle.
#[derive(Clone, Debug)]
pub struct Pending {
    pub seq: u64,
    pub timestamp_ms: i64,
    /// The canonical bytes the device signed.
    pub canonical: Vec<u8>,
    pub signature: [u8; 64],
    /// Where the record ends: the cursor once it is resolved.
    segment: u64,
    end: u64,
}

/// The outbox of one device (see the module docs).
pub struct Outbox {
    dir: PathBuf,
    seed: [u8; 32],
    network: Key,
    device: Key,
    next_seq: u64,
    reserved_until: u64,
    active: File,
    active_segment: u64,
    active_len: u64,
    unsynced: bool,
    pending: VecDeque<Pending>,
    /// Records cut from a torn tail when the outbox was opened.
    pub torn_bytes_cut: u64,
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir` for the device of `seed`. The first seq is at
    /// least `seq_floor` (a fresh directory: above what the oracle last accepted, and the
    /// clock), at least the reserved block's end, and above every journaled message.
    pub fn open(
        dir: &Path,
        seed: [u8; 32],
        network: Key,
        device: Key,
        seq_floor: u64,
    ) -> Result<Self> {
        let segments_dir = dir.join("outbox");
        std::fs::create_dir_all(&segments_dir)
            .with_context(|| format!("creating {}", segments_dir.display()))?;
        let reserved_until = read_number(&dir.join("seq"))?.unwrap_or(0);
        // A cursor lost or garbled by a power cut (it is replaced without an fsync) only
        // means resolved messages go out again, as duplicates: start from the oldest segment.
        let (cursor_segment, cursor_offset) = read_cursor(&dir.join("cursor")).unwrap_or((0, 0));
        let mut segments = segment_numbers(&segments_dir)?;
        // Segments wholly behind the cursor are resolved: a damaged one does not matter.
        for segment in segments.iter().filter(|segment| **segment < cursor_segment) {
            std::fs::remove_file(segment_path(dir, *segment))?;
        }
        segments.retain(|segment| *segment >= cursor_segment);
        let mut pending = VecDeque::new();
        let mut torn_bytes_cut = 0;
        let mut last_seq = None;
        for (index, &segment) in segments.iter().enumerate() {
            let path = segment_path(dir, segment);
            let start = if segment == cursor_segment {
                cursor_offset
            } else {
                0
            };
            let newest = index + 1 == segments.len();
            let (records, whole_len, file_len) = read_segment(&path, start, segment)?;
            if whole_len < file_len {
                if !newest {
                    bail!(
                        "{} is damaged at byte {whole_len} and is not the newest segment: move the data directory aside and restart (the device then starts from a fresh seq)",
                        path.display()
                    );
                }
                let file = OpenOptions::new().write(true).open(&path)?;
                file.set_len(whole_len)?;
                file.sync_all()?;
                torn_bytes_cut = file_len - whole_len;
            }
            for record in records {
                last_seq = Some(record.seq);
                if segment > cursor_segment
                    || (segment == cursor_segment && record.end > cursor_offset)
                {
                    pending.push_back(record);
                }
            }
        }
        if segments.is_empty() {
            // A segment number never used before: above the cursor's, whose records are
            // resolved (records written at offsets behind the cursor would pass as resolved).
            segments.push(cursor_segment + 1);
        }
        let active_segment = *segments.last().unwrap_or(&1);
        let active_path = segment_path(dir, active_segment);
        let active = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&active_path)
            .with_context(|| format!("opening {}", active_path.display()))?;
        let active_len = active.metadata()?.len();
        sync_directory(&segments_dir)?;
        sync_directory(dir)?;
        let next_seq = reserved_until
            .max(seq_floor)
            .max(last_seq.map_or(0, |seq| seq + 1))
            .max(1);
        let mut outbox = Outbox {
            dir: dir.to_path_buf(),
            seed,
            network,
            device,
            next_seq,
            reserved_until,
            active,
            active_segment,
            active_len,
            unsynced: false,
            pending,
            torn_bytes_cut,
        };
        outbox.forget_resolved_segments()?;
        Ok(outbox)
    }

    /// The next seq to be used.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Messages journaled and not resolved, oldest first.
    pub fn pending(&self) -> &VecDeque<Pending> {
        &self.pending
    }

    /// Signs `body` at `timestamp_ms` with the next seq and appends it (not yet fsync'd: see
    /// [`Outbox::sync`]). Returns its seq.
    pub fn append(&mut self, timestamp_ms: i64, body: TelemetryBody) -> Result<u64> {
        let seq = self.next_seq;
        if seq >= self.reserved_until {
            self.reserve(seq)?;
        }
        let signed = TelemetryV1 {
            network: self.network,
            device: self.device,
            seq,
            timestamp_ms,
            body,
        }
        .sign(&self.seed);
        let canonical = signed.message.canonical_bytes();
        let mut record = Vec::with_capacity(8 + canonical.len() + 64);
        let payload_len = u32::try_from(canonical.len() + 64).context("a record over 4 GiB")?;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&canonical);
        hasher.update(&signed.signature);
        record.extend_from_slice(&payload_len.to_le_bytes());
        record.extend_from_slice(&hasher.finalize().to_le_bytes());
        record.extend_from_slice(&canonical);
        record.extend_from_slice(&signed.signature);
        if self.active_len >= SEGMENT_BYTES {
            self.roll()?;
        }
        self.active
            .write_all(&record)
            .context("writing to the outbox")?;
        self.active_len += record.len() as u64;
        self.unsynced = true;
        self.pending.push_back(Pending {
            seq,
            timestamp_ms,
            canonical,
            signature: signed.signature,
            segment: self.active_segment,
            end: self.active_len,
        });
        self.next_seq = seq + 1;
        Ok(seq)
    }

    /// Makes every appended record durable (one fsync for all since the last).
    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            self.active.sync_data().context("syncing the outbox")?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Marks the oldest `count` pending messages resolved and moves the cursor past them;
    /// whole segments behind the cursor are deleted.
    pub fn resolve_front(&mut self, count: usize) -> Result<()> {
        let mut last = None;
        for _ in 0..count.min(self.pending.len()) {
            last = self.pending.pop_front();
        }
        let Some(last) = last else {
            return Ok(());
        };
        replace_file(
            &self.dir.join("cursor"),
            format!("{} {}\n", last.segment, last.end).as_bytes(),
            false,
        )?;
        self.forget_resolved_segments()
    }

    /// Resolves (drops) the oldest pending messages signed before `oldest_ms`: an oracle would
    /// refuse them as too old. Returns how many.
    pub fn drop_older_than(&mut self, oldest_ms: i64) -> Result<usize> {
        let count = self
            .pending
            .iter()
            .take_while(|pending| pending.timestamp_ms < oldest_ms)
            .count();
        self.resolve_front(count)?;
        Ok(count)
    }

    /// Moves the next seq up to at least `floor` (an oracle holds a later seq of this device
    /// than this directory knows: another client, or a directory restored from a backup).
    pub fn raise_next_seq(&mut self, floor: u64) {
        self.next_seq = self.next_seq.max(floor);
    }

    /// Writes the end of a new block of seqs starting at `from`, durably, before any is used.
    fn reserve(&mut self, from: u64) -> Result<()> {
        let until = from.checked_add(SEQ_BLOCK).context("seq overflow")?;
        replace_file(&self.dir.join("seq"), format!("{until}\n").as_bytes(), true)?;
        self.reserved_until = until;
        Ok(())
    }

    /// Closes the active segment (durably) and starts the next.
    fn roll(&mut self) -> Result<()> {
        self.sync()?;
        self.active_segment += 1;
        let path = segment_path(&self.dir, self.active_segment);
        self.active = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        self.active_len = 0;
        sync_directory(&self.dir.join("outbox"))
    }

    /// Deletes the segments every record of which is resolved.
    fn forget_resolved_segments(&mut self) -> Result<()> {
        let oldest_needed = self
            .pending
            .front()
            .map_or(self.active_segment, |pending| pending.segment);
        for segment in segment_numbers(&self.dir.join("outbox"))? {
            if segment < oldest_needed && segment < self.active_segment {
                std::fs::remove_file(segment_path(&self.dir, segment))?;
            }
        }
        Ok(())
    }
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join("outbox").join(format!("{segment:012}.log"))
}

/// The segments' numbers, oldest first.
fn segment_numbers(dir: &Path) -> Result<Vec<u64>> {
    let mut numbers: Vec<u64> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            name.to_str()?.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    numbers.sort_unstable();
    Ok(numbers)
}

/// The whole records of a segment from `start`, the length up to the last whole record, and
/// the file's length.
fn read_segment(path: &Path, start: u64, segment: u64) -> Result<(Vec<Pending>, u64, u64)> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let file_len = file.metadata()?.len();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let mut records = Vec::new();
    let mut offset = 0usize;
    while let Some(header) = bytes.get(offset..offset + 8) {
        let len = u32::from_le_bytes(header[..4].try_into()?) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into()?);
        if !(64..=MAX_RECORD).contains(&len) {
            break;
        }
        let Some(payload) = bytes.get(offset + 8..offset + 8 + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let (canonical, signature) = payload.split_at(len - 64);
        let Ok(message) = TelemetryV1::from_canonical_bytes(canonical) else {
            break;
        };
        let end = (offset + 8 + len) as u64;
        if end > start {
            records.push(Pending {
                seq: message.seq,
                timestamp_ms: message.timestamp_ms,
                canonical: canonical.to_vec(),
                signature: signature.try_into()?,
                segment,
                end,
            });
        }
        offset += 8 + len;
    }
    Ok((records, offset as u64, file_len))
}

fn read_number(path: &Path) -> Result<Option<u64>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().parse().with_context(|| {
            format!("{} does not hold a number", path.display())
        })?)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn read_cursor(path: &Path) -> Result<(u64, u64)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut parts = text.split_whitespace().map(str::parse::<u64>);
            match (parts.next(), parts.next()) {
                (Some(Ok(segment)), Some(Ok(offset))) => Ok((segment, offset)),
                _ => bail!("{} is not `segment offset`", path.display()),
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok((0, 0)),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Replaces `path` with `bytes` through a temporary file and a rename; with `durable`, the
/// file and the directory are fsync'd, so the new content survives a power cut.
fn replace_file(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let temporary = path.with_extension("new");
    let mut file =
        File::create(&temporary).with_context(|| format!("writing {}", temporary.display()))?;
    file.write_all(bytes)?;
    if durable {
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))?;
    if durable {
        sync_directory(path.parent().unwrap_or(Path::new(".")))?;
    }
    Ok(())
}

fn sync_directory(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|directory| directory.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat(uptime_s: u32) -> TelemetryBody {
        TelemetryBody::Heartbeat {
            lat_e7: 1,
            lon_e7: 2,
            uptime_s,
            firmware: 3,
        }
    }

    fn open(dir: &Path, floor: u64) -> Outbox {
        let seed = [9u8; 32];
        let (device, _) = groundwork_telemetry::sign_bytes(&seed, b"");
        Outbox::open(dir, seed, Key([1; 32]), device, floor).unwrap()
    }

    #[test]
    fn a_reopened_outbox_keeps_what_is_pending_and_never_reuses_a_seq() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = open(dir.path(), 100);
        let seqs: Vec<u64> = (0..5)
            .map(|index| {
                outbox
                    .append(1_000 + index, heartbeat(index as u32))
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, vec![100, 101, 102, 103, 104]);
        outbox.sync().unwrap();
        outbox.resolve_front(2).unwrap();
        drop(outbox);
        let mut reopened = open(dir.path(), 0);
        let pending: Vec<u64> = reopened.pending().iter().map(|p| p.seq).collect();
        assert_eq!(pending, vec![102, 103, 104]);
        // The next seq is past the reserved block, not merely past the journal: a message
        // signed and lost before its record reached the disk kept its seq.
        assert_eq!(reopened.next_seq(), 100 + SEQ_BLOCK);
        let seq = reopened.append(2_000, heartbeat(9)).unwrap();
        assert_eq!(seq, 100 + SEQ_BLOCK);
        // Every record carries a signature of its canonical bytes by the device.
        let record = &reopened.pending()[0];
        let message = TelemetryV1::from_canonical_bytes(&record.canonical).unwrap();
        assert!(groundwork_telemetry::verify_signature(
            &message.device,
            &record.canonical,
            &record.signature
        ));
    }

    #[test]
    fn a_torn_tail_is_cut_at_the_last_whole_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = open(dir.path(), 1);
        for index in 0..3 {
            outbox.append(1_000, heartbeat(index)).unwrap();
        }
        outbox.sync().unwrap();
        drop(outbox);
        let segment = segment_path(dir.path(), 1);
        let whole = std::fs::metadata(&segment).unwrap().len();
        // A power cut in the middle of a fourth record.
        let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
        file.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 5]).unwrap();
        drop(file);
        let reopened = open(dir.path(), 0);
        assert_eq!(reopened.pending().len(), 3);
        assert_eq!(reopened.torn_bytes_cut, 9);
        assert_eq!(std::fs::metadata(&segment).unwrap().len(), whole);
    }

    #[test]
    fn resolved_segments_are_deleted_and_old_messages_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = open(dir.path(), 1);
        // Enough records to fill more than one segment.
        let per_record = 8 + 64 + 100;
        let count = (SEGMENT_BYTES as usize / per_record) * 2;
        for index in 0..count {
            outbox
                .append(index as i64, heartbeat(index as u32))
                .unwrap();
        }
        outbox.sync().unwrap();
        assert!(segment_numbers(&dir.path().join("outbox")).unwrap().len() >= 2);
        let dropped = outbox.drop_older_than((count - 10) as i64).unwrap();
        assert_eq!(dropped, count - 10);
        assert_eq!(outbox.pending().len(), 10);
        assert_eq!(
            segment_numbers(&dir.path().join("outbox")).unwrap(),
            vec![outbox.active_segment]
        );
        drop(outbox);
        assert_eq!(open(dir.path(), 0).pending().len(), 10);
    }
}
