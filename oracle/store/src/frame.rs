//! Frames: how a signed message (or a conflicting copy kept as evidence) is written in a
//! segment file. Each frame carries its own length and CRC-32 so a torn tail (a crash in the
//! middle of a write) is found and cut at recovery, and a pointer to the device's previous
//! frame so a device's history can be walked back without any index.
//!
//! Layout (little endian): `0xF7`, kind (u8), payload length (u32), CRC-32 of kind and payload
//! (u32), then the payload: previous frame of the device (u64, [`Location::NONE`] for none),
//! received at (i64 unix ms), signature (64 bytes), canonical bytes (the rest).

use groundwork_telemetry::Key;

/// First byte of every frame.
pub const FRAME_MAGIC: u8 = 0xF7;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 1 + 1 + 4 + 4;
/// Payload bytes before the canonical bytes.
const FIXED_PAYLOAD_LEN: usize = 8 + 8 + 64;
/// Largest canonical message accepted into a frame (SPEC 4.1 messages are a few hundred bytes).
pub const MAX_CANONICAL_LEN: usize = 64 * 1024;

/// What a frame holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum FrameKind {
    /// An accepted message.
    Message = 0,
    /// A copy of an accepted (device, seq) with other content: evidence of a cloned key.
    Conflict = 1,
}

impl FrameKind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(FrameKind::Message),
            1 => Some(FrameKind::Conflict),
            _ => None,
        }
    }
}

/// Where a frame starts: a segment (numbered across the whole store) and a byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub segment: u32,
    pub offset: u32,
}

impl Location {
    /// "No previous frame".
    pub const NONE: u64 = u64::MAX;

    pub fn pack(self) -> u64 {
        (u64::from(self.segment) << 32) | u64::from(self.offset)
    }

    pub fn unpack(packed: u64) -> Option<Self> {
        (packed != Self::NONE).then_some(Location {
            segment: (packed >> 32) as u32,
            offset: packed as u32,
        })
    }
}

/// One frame, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: FrameKind,
    pub previous: Option<Location>,
    pub received_at_ms: i64,
    pub signature: [u8; 64],
    pub canonical: Vec<u8>,
}

impl Frame {
    /// Appends the encoded frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let payload_len = FIXED_PAYLOAD_LEN + self.canonical.len();
        let start = out.len();
        out.push(FRAME_MAGIC);
        out.push(self.kind as u8);
        out.extend_from_slice(&(payload_len as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        let payload_start = out.len();
        out.extend_from_slice(
            &self
                .previous
                .map_or(Location::NONE, Location::pack)
                .to_le_bytes(),
        );
        out.extend_from_slice(&self.received_at_ms.to_le_bytes());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.canonical);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[self.kind as u8]);
        crc.update(&out[payload_start..]);
        out[start + 6..start + 10].copy_from_slice(&crc.finalize().to_le_bytes());
    }

    /// The encoded length of a frame with `canonical_len` canonical bytes.
    pub fn encoded_len(canonical_len: usize) -> usize {
        HEADER_LEN + FIXED_PAYLOAD_LEN + canonical_len
    }

    /// The device and seq of the canonical bytes (domain 16, network 32, device 32, seq 8).
    pub fn device_and_seq(&self) -> Option<(Key, u64)> {
        device_and_seq(&self.canonical)
    }
}

/// The device and seq at their fixed offsets in canonical bytes.
pub fn device_and_seq(canonical: &[u8]) -> Option<(Key, u64)> {
    let device: [u8; 32] = canonical.get(48..80)?.try_into().ok()?;
    let seq = u64::from_le_bytes(canonical.get(80..88)?.try_into().ok()?);
    Some((Key(device), seq))
}

/// Why bytes are not a whole, valid frame.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes end inside the frame (a torn tail, or more to read).
    Truncated { needed: usize },
    /// Not a frame: wrong magic, kind, length or checksum.
    Corrupt(&'static str),
}

/// Decodes the frame at the start of `bytes`; returns it and its encoded length.
pub fn decode(bytes: &[u8]) -> Result<(Frame, usize), FrameError> {
    if bytes.len() < HEADER_LEN {
        return Err(FrameError::Truncated { needed: HEADER_LEN });
    }
    if bytes[0] != FRAME_MAGIC {
        return Err(FrameError::Corrupt("bad magic"));
    }
    let kind = FrameKind::from_byte(bytes[1]).ok_or(FrameError::Corrupt("bad kind"))?;
    let payload_len = u32::from_le_bytes(bytes[2..6].try_into().expect("4 bytes")) as usize;
    if !(FIXED_PAYLOAD_LEN..=FIXED_PAYLOAD_LEN + MAX_CANONICAL_LEN).contains(&payload_len) {
        return Err(FrameError::Corrupt("bad length"));
    }
    let total = HEADER_LEN + payload_len;
    if bytes.len() < total {
        return Err(FrameError::Truncated { needed: total });
    }
    let stored_crc = u32::from_le_bytes(bytes[6..10].try_into().expect("4 bytes"));
    let payload = &bytes[HEADER_LEN..total];
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[bytes[1]]);
    crc.update(payload);
    if crc.finalize() != stored_crc {
        return Err(FrameError::Corrupt("checksum mismatch"));
    }
    let previous = Location::unpack(u64::from_le_bytes(payload[0..8].try_into().expect("8")));
    let received_at_ms = i64::from_le_bytes(payload[8..16].try_into().expect("8"));
    let signature: [u8; 64] = payload[16..80].try_into().expect("64");
    Ok((
        Frame {
            kind,
            previous,
            received_at_ms,
            signature,
            canonical: payload[80..].to_vec(),
        },
        total,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: FrameKind, canonical_len: usize) -> Frame {
        Frame {
            kind,
            previous: Some(Location {
                segment: 7,
                offset: 4_096,
            }),
            received_at_ms: 1_790_000_000_000,
            signature: [9; 64],
            canonical: (0..canonical_len).map(|index| index as u8).collect(),
        }
    }

    #[test]
    fn frames_round_trip_and_report_their_length() {
        let mut bytes = Vec::new();
        let first = frame(FrameKind::Message, 150);
        let second = Frame {
            previous: None,
            ..frame(FrameKind::Conflict, 97)
        };
        first.encode_into(&mut bytes);
        second.encode_into(&mut bytes);
        let (decoded, length) = decode(&bytes).unwrap();
        assert_eq!((decoded, length), (first, Frame::encoded_len(150)));
        let (decoded, rest) = decode(&bytes[length..]).unwrap();
        assert_eq!((decoded, rest), (second, Frame::encoded_len(97)));
    }

    #[test]
    fn a_torn_or_damaged_frame_is_never_decoded() {
        let mut bytes = Vec::new();
        frame(FrameKind::Message, 120).encode_into(&mut bytes);
        for cut in 0..bytes.len() {
            assert!(
                matches!(decode(&bytes[..cut]), Err(FrameError::Truncated { .. })),
                "cut at {cut}"
            );
        }
        for position in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x40;
            assert!(decode(&damaged).is_err(), "flip at {position}");
        }
    }
}
