//! The independent check of an epoch bundle (SPEC 4.6), without trusting any oracle: every
//! part against its digest ([`fetch`]), every record's signature, network and time, the
//! records' order and the manifest ([`recompute`]), the report computed again from the
//! telemetry, a chain snapshot and the bundle's parameters, and what differs, named per
//! device and rule ([`device_differences`], [`snapshot_differences`]); the base the epoch
//! adds to ([`base_of`]) and the chain's record ([`chain_findings`]) are compared too.
//!
//! Nothing here reads the chain: the caller rebuilds the snapshot (the chain view, as a
//! library) and reads the epoch's votes, and passes them in.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_chain::{ActiveRoot, EpochVotes};
use groundwork_oracle_rewards::report::{decode_report, EpochReport};
use groundwork_oracle_rewards::snapshot::ChainSnapshot;
use groundwork_oracle_rewards::union::{UnionComputation, UnionFilter};
use groundwork_oracle_rewards::{cumulative_tree, DeviceRow, EpochRewards, VerifyParams};
use groundwork_oracle_store::manifest::{EpochRecord, Manifest, ManifestBuilder, StreamDecoder};
use groundwork_telemetry::{verify_batch, Key, TelemetryV1};
use serde::Serialize;

use crate::{sha256_hex, BundleError, BundleIndex, BundleStore, PartName};

/// A fetched bundle: its index, the small parts decoded, the telemetry in a local file.
pub struct FetchedBundle {
    pub index: BundleIndex,
    pub index_digest: String,
    /// The telemetry part, streamed to a file (checked against its digest).
    pub telemetry: PathBuf,
    pub snapshot: ChainSnapshot,
    pub snapshot_digest: String,
    pub report: EpochReport,
    pub params: VerifyParams,
}

/// Fetches `epoch`'s bundle from `store`: the index, then each part checked against its
/// digest (a part whose bytes do not match is refused with its name), the telemetry streamed
/// into `work_dir` with `progress(received, total)`.
pub async fn fetch(
    store: &BundleStore,
    epoch: u64,
    work_dir: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<FetchedBundle, BundleError> {
    let (index, index_bytes) = store.index(epoch).await?;
    let decode_error = |part: PartName| {
        move |message: String| BundleError::PartDecode { part, message }
    };
    let snapshot_bytes = store.part(index.part(PartName::Snapshot)).await?;
    let snapshot =
        ChainSnapshot::decode(&snapshot_bytes).map_err(decode_error(PartName::Snapshot))?;
    if snapshot.epoch != epoch {
        return Err(decode_error(PartName::Snapshot)(format!(
            "it is epoch {}'s snapshot",
            snapshot.epoch
        )));
    }
    let report_bytes = store.part(index.part(PartName::Report)).await?;
    let report = decode_report(&report_bytes, epoch)
        .map_err(|error| decode_error(PartName::Report)(error.to_string()))?;
    let params_bytes = store.part(index.part(PartName::Params)).await?;
    let params =
        VerifyParams::from_canonical_bytes(&params_bytes).map_err(decode_error(PartName::Params))?;
    let telemetry_part = index.part(PartName::Telemetry).clone();
    let telemetry = work_dir.join(format!("epoch-{epoch}-{}.telemetry", telemetry_part.sha256));
    let total = telemetry_part.bytes;
    store
        .part_to_file(&telemetry_part, &telemetry, |received| {
            progress(received, total)
        })
        .await?;
    Ok(FetchedBundle {
        index_digest: sha256_hex(&index_bytes),
        index,
        telemetry,
        snapshot_digest: sha256_hex(&snapshot_bytes),
        snapshot,
        report,
        params,
    })
}

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
        let read = file.read(&mut buffer).map_err(BundleError::file(telemetry))?;
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

/// The cumulative totals an epoch's report adds to: its cumulative totals less its own
/// rewards, per recipient (an error when a recipient's epoch reward exceeds its total).
pub fn base_of(report: &EpochReport) -> Result<BTreeMap<Pubkey, u64>, String> {
    let rewards = &report.rewards;
    for recipient in rewards.rewards.keys() {
        if !rewards.cumulative.contains_key(recipient) {
            return Err(format!(
                "{recipient} is paid this epoch but has no cumulative total"
            ));
        }
    }
    rewards
        .cumulative
        .iter()
        .map(|(recipient, total)| {
            let this_epoch = rewards.rewards.get(recipient).copied().unwrap_or(0);
            total
                .checked_sub(this_epoch)
                .map(|base| (*recipient, base))
                .ok_or_else(|| {
                    format!("{recipient} is paid {this_epoch} this epoch, more than its cumulative {total}")
                })
        })
        .collect()
}

/// The base an epoch adds to, checked against the chain: what it sums to, the root it makes,
/// and whether the chain vouches for it.
#[derive(Clone, Debug, Serialize)]
pub struct BaseCheck {
    pub base_epoch: Option<u64>,
    pub base_total: u64,
    pub base_root: String,
    pub carried_dust_in: u64,
    /// What the chain paid to device pools before this epoch.
    pub paid_before: u64,
    pub problems: Vec<String>,
}

/// Checks `report`'s base: its total plus the dust carried in is what the chain paid to
/// device pools before the epoch (`snapshot`'s close), and its root is the one the chain
/// holds for the base epoch (`base_votes`: that epoch's record; `active`: the newest active
/// root).
pub fn check_base(
    report: &EpochReport,
    base: &BTreeMap<Pubkey, u64>,
    snapshot: &ChainSnapshot,
    base_votes: Option<&EpochVotes>,
    active: Option<&ActiveRoot>,
) -> BaseCheck {
    let mut problems = Vec::new();
    let paid_before = snapshot
        .params
        .device_pool_cumulative
        .saturating_sub(snapshot.params.device_share);
    let (base_total, base_root) = match cumulative_tree(base) {
        Ok((tree, total)) => (total, tree.root()),
        Err(error) => {
            problems.push(format!("the base's tree: {error}"));
            (0, [0; 32])
        }
    };
    let accounted = u128::from(base_total) + u128::from(report.carried_dust_in);
    if accounted != u128::from(paid_before) {
        problems.push(format!(
            "the base's total {base_total} plus the dust carried in {} is not the {paid_before} the chain paid to device pools before epoch {}",
            report.carried_dust_in, report.epoch
        ));
    }
    match report.base_epoch {
        None if base_total > 0 => problems.push(format!(
            "the report adds to no earlier epoch, yet its totals hold {base_total} from before"
        )),
        None => {}
        Some(base_epoch) => {
            let active_match = active.is_some_and(|active| {
                active.epoch == base_epoch
                    && active.root == base_root
                    && active.cumulative_total == base_total
            });
            let voted = base_votes.is_some_and(|votes| votes.has_quorum_for(&base_root, base_total));
            if !active_match && !voted {
                problems.push(format!(
                    "the totals it adds to (root {}, total {base_total}) are neither epoch {base_epoch}'s active root nor voted by a quorum in its record on chain",
                    hex::encode(base_root)
                ));
            }
        }
    }
    BaseCheck {
        base_epoch: report.base_epoch,
        base_total,
        base_root: hex::encode(base_root),
        carried_dust_in: report.carried_dust_in,
        paid_before,
        problems,
    }
}

/// A device whose reward the bundle's report and the check computed differently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceDifference {
    pub device: String,
    pub operator: String,
    /// In the report (`None`: the report has no row of it), and computed.
    pub reported: Option<u64>,
    pub computed: Option<u64>,
    /// What differs in the device's own numbers, rule by rule ("class weight 10000 -> 5000");
    /// empty when only its share of the pool moved (other devices changed).
    pub rules: Vec<String>,
    /// The one-line reasons of each side.
    pub reported_reason: Option<String>,
    pub computed_reason: Option<String>,
}

/// The rules on which two rows of one device differ, in words (old -> new).
pub fn rule_differences(old: &DeviceRow, new: &DeviceRow) -> Vec<String> {
    let mut rules = Vec::new();
    let mut compare = |rule: &str, old: String, new: String| {
        if old != new {
            rules.push(format!("{rule} {old} -> {new}"));
        }
    };
    let fraud = |row: &DeviceRow| {
        if row.fraud.is_empty() {
            "none".to_string()
        } else {
            row.fraud
                .iter()
                .map(|fraud| fraud.code())
                .collect::<Vec<_>>()
                .join("+")
        }
    };
    compare("fraud", fraud(old), fraud(new));
    compare(
        "class",
        old.class_id.to_string(),
        new.class_id.to_string(),
    );
    compare(
        "class weight (bps)",
        old.weight_bps.to_string(),
        new.weight_bps.to_string(),
    );
    compare(
        "uptime slots",
        old.uptime_slots.to_string(),
        new.uptime_slots.to_string(),
    );
    compare(
        "heartbeats",
        old.heartbeats.to_string(),
        new.heartbeats.to_string(),
    );
    compare(
        "location trust (bps)",
        old.trust_bps.to_string(),
        new.trust_bps.to_string(),
    );
    compare(
        "stake multiplier (bps)",
        old.stake_multiplier_bps.to_string(),
        new.stake_multiplier_bps.to_string(),
    );
    compare(
        "witnesses",
        old.witnesses.to_string(),
        new.witnesses.to_string(),
    );
    compare(
        "witness factor (bps)",
        old.witness_factor_bps.to_string(),
        new.witness_factor_bps.to_string(),
    );
    compare(
        "density (devices in its cell)",
        old.density_devices.to_string(),
        new.density_devices.to_string(),
    );
    compare(
        "coverage score",
        old.coverage_score.to_string(),
        new.coverage_score.to_string(),
    );
    compare(
        "credits paid",
        old.credits_paid.to_string(),
        new.credits_paid.to_string(),
    );
    compare(
        "data cap",
        old.data_cap.to_string(),
        new.data_cap.to_string(),
    );
    compare(
        "recipient",
        old.recipient.to_string(),
        new.recipient.to_string(),
    );
    rules
}

/// Every device whose amount or numbers differ between `reported` and `computed`, largest
/// change first; each device's operator from `snapshot`.
pub fn device_differences(
    reported: &EpochRewards,
    computed: &EpochRewards,
    snapshot: &ChainSnapshot,
    reported_params: &VerifyParams,
    computed_params: &VerifyParams,
) -> Vec<DeviceDifference> {
    let operator_of: BTreeMap<Pubkey, Pubkey> = snapshot
        .devices
        .iter()
        .map(|entry| (entry.device, entry.operator))
        .collect();
    let devices: BTreeSet<Pubkey> = reported
        .rows
        .iter()
        .chain(&computed.rows)
        .map(|row| row.device)
        .collect();
    let mut differences: Vec<DeviceDifference> = devices
        .into_iter()
        .filter_map(|device| {
            let old = reported.row_of(&device);
            let new = computed.row_of(&device);
            if old == new {
                return None;
            }
            let rules = match (old, new) {
                (Some(old), Some(new)) => rule_differences(old, new),
                (None, _) => vec!["the report has no row of it".into()],
                (_, None) => vec!["the chain snapshot does not hold it".into()],
            };
            Some(DeviceDifference {
                device: device.to_string(),
                operator: operator_of
                    .get(&device)
                    .map_or_else(|| "unknown".into(), |operator| operator.to_string()),
                reported: old.map(|row| row.amount),
                computed: new.map(|row| row.amount),
                rules,
                reported_reason: old.map(|row| row.headline(reported_params)),
                computed_reason: new.map(|row| row.headline(computed_params)),
            })
        })
        .collect();
    differences.sort_by_key(|difference| {
        let old = difference.reported.unwrap_or(0);
        let new = difference.computed.unwrap_or(0);
        std::cmp::Reverse(old.abs_diff(new))
    });
    differences
}

/// What differs between the bundle's snapshot and one rebuilt from the chain, field by field
/// (at most `limit` lines, then how many more).
pub fn snapshot_differences(
    bundle: &ChainSnapshot,
    chain: &ChainSnapshot,
    limit: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    if bundle.start_ts != chain.start_ts || bundle.end_ts != chain.end_ts {
        lines.push(format!(
            "epoch window: bundle {}..{}, chain {}..{}",
            bundle.start_ts, bundle.end_ts, chain.start_ts, chain.end_ts
        ));
    }
    if bundle.params != chain.params {
        lines.push(format!(
            "epoch close: bundle {:?}, chain {:?}",
            bundle.params, chain.params
        ));
    }
    if bundle.credit_prices != chain.credit_prices {
        lines.push(format!(
            "credit purchases: bundle {} purchases, chain {} (their prices or amounts differ)",
            bundle.credit_prices.len(),
            chain.credit_prices.len()
        ));
    }
    let classes = |snapshot: &ChainSnapshot| -> BTreeMap<u16, u16> {
        snapshot
            .classes
            .iter()
            .map(|class| (class.class_id, class.reward_weight_bps))
            .collect()
    };
    for (id, weight) in keyed_differences(&classes(bundle), &classes(chain)) {
        lines.push(format!("class {id}'s reward weight (bps): {weight}"));
    }
    let operators = |snapshot: &ChainSnapshot| -> BTreeMap<Pubkey, String> {
        snapshot
            .operators
            .iter()
            .map(|entry| (entry.operator, format!("{entry:?}")))
            .collect()
    };
    for (operator, entry) in keyed_differences(&operators(bundle), &operators(chain)) {
        lines.push(format!("operator {operator}: {entry}"));
    }
    let devices = |snapshot: &ChainSnapshot| -> BTreeMap<Pubkey, String> {
        snapshot
            .devices
            .iter()
            .map(|entry| (entry.device, format!("{entry:?}")))
            .collect()
    };
    for (device, entry) in keyed_differences(&devices(bundle), &devices(chain)) {
        lines.push(format!("device {device}: {entry}"));
    }
    if lines.len() > limit {
        let more = lines.len() - limit;
        lines.truncate(limit);
        lines.push(format!("and {more} more"));
    }
    lines
}

/// Keys whose values differ between `bundle` and `chain`, with "bundle X, chain Y" (a side
/// without the key reads "absent").
fn keyed_differences<K: Ord + Clone, V: PartialEq + std::fmt::Debug>(
    bundle: &BTreeMap<K, V>,
    chain: &BTreeMap<K, V>,
) -> Vec<(K, String)> {
    let keys: BTreeSet<&K> = bundle.keys().chain(chain.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (old, new) = (bundle.get(key), chain.get(key));
            (old != new).then(|| {
                let show = |value: Option<&V>| value.map_or("absent".to_string(), |v| format!("{v:?}"));
                (key.clone(), format!("bundle {}, chain {}", show(old), show(new)))
            })
        })
        .collect()
}

/// One vote in the epoch's record on chain, and which root it matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoteFinding {
    pub oracle: String,
    pub root: String,
    pub cumulative_total: u64,
    /// "computed" (the root this check computed), "report" (the bundle's report only) or
    /// "neither".
    pub matches: &'static str,
    /// Whether the oracle is in the current oracle set.
    pub in_oracle_set: bool,
}

/// The epoch's record on chain against the computed root and the report's.
#[derive(Clone, Debug, Serialize)]
pub struct ChainFindings {
    pub votes: Vec<VoteFinding>,
    pub quorum: u8,
    /// Votes of current oracles for the computed root and total.
    pub votes_for_computed: usize,
    /// The epoch's root is the chain's newest active root.
    pub active: bool,
    pub problems: Vec<String>,
}

/// Compares the chain's record of `epoch` (`votes`; `active`: the newest active root) with the
/// computed root and total and the report's.
pub fn chain_findings(
    epoch: u64,
    computed: (&[u8; 32], u64),
    reported: (&[u8; 32], u64),
    votes: Option<&EpochVotes>,
    active: Option<&ActiveRoot>,
) -> ChainFindings {
    let mut problems = Vec::new();
    let mut findings = Vec::new();
    let (mut quorum, mut votes_for_computed) = (0, 0);
    match votes {
        None => problems.push(format!(
            "the chain holds no record of epoch {epoch} (not closed, or its record was closed)"
        )),
        Some(record) => {
            quorum = record.quorum;
            for (oracle, root, total) in &record.votes {
                let matches = if (root, *total) == (computed.0, computed.1) {
                    "computed"
                } else if (root, *total) == (reported.0, reported.1) {
                    "report"
                } else {
                    "neither"
                };
                let in_oracle_set = record.oracles.contains(oracle);
                if matches == "computed" && in_oracle_set {
                    votes_for_computed += 1;
                }
                findings.push(VoteFinding {
                    oracle: oracle.to_string(),
                    root: hex::encode(root),
                    cumulative_total: *total,
                    matches,
                    in_oracle_set,
                });
            }
            for vote in findings.iter().filter(|vote| vote.matches != "computed") {
                problems.push(format!(
                    "oracle {} voted root {} (total {}), which is not the computed root",
                    vote.oracle, vote.root, vote.cumulative_total
                ));
            }
            if votes_for_computed == 0 {
                problems.push(format!(
                    "no oracle of the current set voted the computed root in epoch {epoch}'s record"
                ));
            }
        }
    }
    let active_here = active.filter(|active| active.epoch == epoch);
    if let Some(active) = active_here {
        if (&active.root, active.cumulative_total) != (computed.0, computed.1) {
            problems.push(format!(
                "the chain's active root for epoch {epoch} is {} (total {}), not the computed root",
                hex::encode(active.root),
                active.cumulative_total
            ));
        }
    }
    ChainFindings {
        votes: findings,
        quorum,
        votes_for_computed,
        active: active_here.is_some_and(|active| &active.root == computed.0),
        problems,
    }
}
