//! An epoch stream checked record by record — decodes, network, time in the epoch, the
//! device's signature, order, in the union — and the epoch computed again over the good
//! records.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_rewards::snapshot::ChainSnapshot;
use groundwork_oracle_rewards::union::{UnionComputation, UnionFilter};
use groundwork_oracle_rewards::{EpochRewards, VerifyParams};
use groundwork_oracle_store::manifest::{EpochRecord, Manifest, ManifestBuilder, StreamDecoder};
use groundwork_telemetry::{verify_batch, Key, TelemetryV1};

use crate::{BundleError, PartName};

/// Which of `records` pass the rules that do not depend on arrival, and the refusals by
/// reason: the canonical bytes decode, name `network` and the record's device and seq, carry
/// a timestamp `in_epoch`, and the device's signature holds (checked as one batch).
pub fn check_records(
    records: &[EpochRecord],
    network: Key,
    in_epoch: impl Fn(i64) -> bool,
) -> (Vec<bool>, BTreeMap<&'static str, u64>) {
    let mut refused = BTreeMap::new();
    let mut good: Vec<bool> = records
        .iter()
        .map(|record| {
            let reason = match TelemetryV1::from_canonical_bytes(&record.canonical) {
                Err(_) => Some("malformed"),
                Ok(message) if message.network != network => Some("wrong_network"),
                Ok(message) if message.device != record.device || message.seq != record.seq => {
                    Some("malformed")
                }
                Ok(message) => (!in_epoch(message.timestamp_ms)).then_some("outside_epoch"),
            };
            if let Some(reason) = reason {
                *refused.entry(reason).or_default() += 1;
            }
            reason.is_none()
        })
        .collect();
    let to_verify: Vec<usize> = (0..records.len()).filter(|index| good[*index]).collect();
    let items: Vec<(&Key, &[u8], &[u8; 64])> = to_verify
        .iter()
        .map(|index| {
            let record = &records[*index];
            (
                &record.device,
                record.canonical.as_slice(),
                &record.signature,
            )
        })
        .collect();
    for (index, valid) in to_verify.iter().zip(verify_batch(&items)) {
        if !valid {
            good[*index] = false;
            *refused.entry("bad_signature").or_default() += 1;
        }
    }
    (good, refused)
}

/// The telemetry part checked record by record, and the epoch computed over its good records.
#[derive(Clone, Debug)]
pub struct Recomputed {
    /// The manifest the stream announced, and the one its records make.
    pub announced: Manifest,
    pub streamed: Manifest,
    pub records: u64,
    /// Records refused, by reason: `bad_signature`, `wrong_network`, `outside_epoch`,
    /// `malformed`, `out_of_order` (not after the previous record in (device, seq, kind,
    /// hash) order, or the same record twice), `not_in_union` (a device the snapshot does not
    /// hold, or beyond one device's cap).
    pub refused: BTreeMap<String, u64>,
    pub rewards: EpochRewards,
}

/// Records read and checked at a time (signatures verified as batches across the cores).
const CHECK_CHUNK: usize = 8_192;

/// Reads the epoch stream in `telemetry`, checks every record (see [`Recomputed::refused`])
/// and computes the epoch over the good ones with `snapshot` and `params`, on top of `base`
/// and the dust carried in. `progress` is called with the bytes read so far.
pub fn recompute(
    telemetry: &Path,
    network: Key,
    snapshot: &ChainSnapshot,
    params: &VerifyParams,
    carried_dust_in: u64,
    base: &BTreeMap<Pubkey, u64>,
    mut progress: impl FnMut(u64),
) -> Result<Recomputed, BundleError> {
    let decode_error = |message: String| BundleError::PartDecode {
        part: PartName::Telemetry,
        message,
    };
    let mut file = std::fs::File::open(telemetry).map_err(BundleError::file(telemetry))?;
    let mut decoder = StreamDecoder::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut read_bytes = 0u64;
    let mut announced = None;
    let mut chunk = Vec::with_capacity(CHECK_CHUNK);
    let mut state = RecordChecks::new(network, snapshot, params)?;
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(BundleError::file(telemetry))?;
        if read == 0 {
            break;
        }
        read_bytes += read as u64;
        decoder.push(&buffer[..read]);
        if announced.is_none() {
            match decoder.head().map_err(decode_error)? {
                Some(manifest) => announced = Some(manifest),
                None => continue,
            }
        }
        while let Some(record) = decoder.next_record().map_err(decode_error)? {
            chunk.push(record);
            if chunk.len() == CHECK_CHUNK {
                state.take(std::mem::take(&mut chunk))?;
            }
        }
        progress(read_bytes);
    }
    decoder.finish().map_err(decode_error)?;
    state.take(chunk)?;
    let announced = announced.ok_or_else(|| decode_error("no manifest".into()))?;
    if announced.epoch != snapshot.epoch {
        return Err(decode_error(format!(
            "its manifest is epoch {}'s",
            announced.epoch
        )));
    }
    state.finish(announced, carried_dust_in, base)
}

/// The running checks of [`recompute`].
struct RecordChecks<'a> {
    network: Key,
    start_ms: i64,
    end_ms: i64,
    filter: UnionFilter<'a>,
    computation: UnionComputation<'a>,
    streamed: ManifestBuilder,
    previous: Option<([u8; 32], u64, u8, [u8; 32])>,
    records: u64,
    refused: BTreeMap<String, u64>,
}

impl<'a> RecordChecks<'a> {
    fn new(
        network: Key,
        snapshot: &'a ChainSnapshot,
        params: &'a VerifyParams,
    ) -> Result<Self, BundleError> {
        Ok(RecordChecks {
            network,
            start_ms: snapshot.start_ts.saturating_mul(1_000),
            end_ms: snapshot.end_ts.saturating_mul(1_000),
            filter: UnionFilter::new(snapshot),
            computation: UnionComputation::new(snapshot, params)?,
            streamed: ManifestBuilder::new(snapshot.epoch),
            previous: None,
            records: 0,
            refused: BTreeMap::new(),
        })
    }

    fn refuse(&mut self, reason: &str) {
        *self.refused.entry(reason.to_string()).or_default() += 1;
    }

    /// Checks a chunk of records (signatures across the cores) and feeds the good ones.
    fn take(&mut self, records: Vec<EpochRecord>) -> Result<(), BundleError> {
        let (start_ms, end_ms) = (self.start_ms, self.end_ms);
        let network = self.network;
        let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        let share = records.len().div_ceil(cores).max(1);
        let checked: Vec<(Vec<bool>, BTreeMap<&'static str, u64>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = records
                .chunks(share)
                .map(|part| {
                    scope.spawn(move || {
                        check_records(part, network, |timestamp| {
                            (start_ms..end_ms).contains(&timestamp)
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a check thread"))
                .collect()
        });
        let mut good = Vec::with_capacity(records.len());
        for (part_good, part_refused) in checked {
            good.extend(part_good);
            for (reason, count) in part_refused {
                *self.refused.entry(reason.to_string()).or_default() += count;
            }
        }
        for (record, good) in records.into_iter().zip(good) {
            self.records += 1;
            self.streamed
                .add(record.kind, &record.device, record.seq, &record.hash);
            let key = (record.device.0, record.seq, record.kind as u8, record.hash);
            if self.previous.is_some_and(|previous| previous >= key) {
                self.refuse("out_of_order");
                continue;
            }
            self.previous = Some(key);
            if !self.filter.admits(&record.device) {
                self.refuse("not_in_union");
                continue;
            }
            if !good {
                continue;
            }
            self.computation
                .add(&record.canonical)
                .map_err(|error| BundleError::PartDecode {
                    part: PartName::Telemetry,
                    message: error.to_string(),
                })?;
        }
        Ok(())
    }

    fn finish(
        self,
        announced: Manifest,
        carried_dust_in: u64,
        base: &BTreeMap<Pubkey, u64>,
    ) -> Result<Recomputed, BundleError> {
        let rewards = self.computation.finish(carried_dust_in, base)?;
        Ok(Recomputed {
            announced,
            streamed: self.streamed.finish(),
            records: self.records,
            refused: self.refused,
            rewards,
        })
    }
}
