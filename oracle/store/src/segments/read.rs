//! Reading epochs: a sealed epoch through its index and memory-mapped segments, an open
//! epoch's durable frames, and single frames at an offset.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::frame::{self, Frame, FrameError, HEADER_LEN};
use crate::manifest::{hash_of, EpochRecord};
use crate::{io_error, StoreError};

use super::{epoch_dir, segment_path, SegmentExtent, INDEX_RECORD_LEN};

/// Reads a sealed epoch's index and the frames it points to.
pub(super) fn read_epoch(dir: &Path, epoch: u64) -> Result<Vec<EpochRecord>, StoreError> {
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

pub(super) fn visit_epoch(
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

/// Calls `visit` with every frame of the first `len` bytes of the segment at `path` and its
/// offset, reading through a buffer (memory does not grow with the segment).
pub(super) fn for_each_frame(
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

/// Every frame of the given segment prefixes, sorted into epoch records.
pub(super) fn read_open_epoch(extent: &[SegmentExtent]) -> Result<Vec<EpochRecord>, StoreError> {
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
pub(super) fn read_frame_at(file: &File, offset: u32) -> Result<Option<Frame>, StoreError> {
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
