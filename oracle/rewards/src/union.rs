//! The union an epoch is computed over (SPEC 4.3 "Shared input"), taken from records in
//! (device, seq) order, each once: only devices of the epoch's chain snapshot, and of each at
//! most the lowest [`MAX_MESSAGES_PER_DEVICE`] records. Every oracle — and anyone who checks
//! an epoch bundle — applies the same rule, so the same records make the same union and the
//! same rewards.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use groundwork_telemetry::{Key, TelemetryError, TelemetryV1};

use crate::snapshot::ChainSnapshot;
use crate::{EpochComputation, EpochRewards, Message, VerifyError, VerifyParams};

/// The most records of one device an epoch's union takes (in seq order): three a second for
/// a day.
pub const MAX_MESSAGES_PER_DEVICE: usize = 262_144;

/// Decides, record by record of a sorted and deduplicated stream, which records belong to the
/// union.
pub struct UnionFilter<'a> {
    snapshot: &'a ChainSnapshot,
    /// The device of the previous record and how many of its records came so far.
    position_of: Option<(Key, usize)>,
}

impl<'a> UnionFilter<'a> {
    pub fn new(snapshot: &'a ChainSnapshot) -> Self {
        UnionFilter {
            snapshot,
            position_of: None,
        }
    }

    /// Whether the next record, of `device`, is in the union: its device is in the snapshot
    /// and it is among the device's first [`MAX_MESSAGES_PER_DEVICE`] records.
    pub fn admits(&mut self, device: &Key) -> bool {
        let position = match &mut self.position_of {
            Some((previous, count)) if previous == device => {
                *count += 1;
                *count
            }
            _ => {
                self.position_of = Some((*device, 1));
                1
            }
        };
        position <= MAX_MESSAGES_PER_DEVICE && self.knows(device)
    }

    /// Whether `device` is in the epoch's snapshot.
    pub fn knows(&self, device: &Key) -> bool {
        self.snapshot
            .devices
            .binary_search_by(|entry| entry.device.to_bytes().cmp(&device.0))
            .is_ok()
    }
}

/// Feeds a union's records, in order, to the epoch's computation a device at a time (memory
/// holds one device's messages).
pub struct UnionComputation<'a> {
    computation: EpochComputation<'a>,
    current: Option<(Key, Vec<Message>)>,
}

impl<'a> UnionComputation<'a> {
    pub fn new(snapshot: &'a ChainSnapshot, params: &'a VerifyParams) -> Result<Self, VerifyError> {
        Ok(UnionComputation {
            computation: EpochComputation::new(snapshot, params)?,
            current: None,
        })
    }

    /// Adds the next record of the union by its canonical bytes. A conflicting copy is a
    /// message like any other: with its twin (another message under the same seq) it marks
    /// the seq conflicted; a record's kind is not trusted.
    pub fn add(&mut self, canonical: &[u8]) -> Result<(), TelemetryError> {
        let message = TelemetryV1::from_canonical_bytes(canonical)?;
        let message = Message {
            device: message.device,
            seq: message.seq,
            timestamp_ms: message.timestamp_ms,
            body: message.body,
        };
        match &mut self.current {
            Some((device, messages)) if *device == message.device => messages.push(message),
            _ => {
                if let Some((device, messages)) =
                    self.current.replace((message.device, vec![message]))
                {
                    self.computation.add_device(device, messages);
                }
            }
        }
        Ok(())
    }

    /// The epoch's rewards over every record added, on top of `base` and the dust carried in.
    pub fn finish(
        mut self,
        carried_dust_in: u64,
        base: &BTreeMap<Pubkey, u64>,
    ) -> Result<EpochRewards, VerifyError> {
        if let Some((device, messages)) = self.current.take() {
            self.computation.add_device(device, messages);
        }
        self.computation
            .finish(&Default::default(), carried_dust_in, base)
    }
}
