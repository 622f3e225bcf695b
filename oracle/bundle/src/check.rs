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
use groundwork_oracle_chainview::model::RootFact;
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
    let decode_error =
        |part: PartName| move |message: String| BundleError::PartDecode { part, message };
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
    let reported = (
        hex::encode(report.rewards.root),
        report.rewards.cumulative_total,
    );
    if (index.root.clone(), index.cumulative_total) != reported {
        return Err(BundleError::Index(format!(
            "it names root {} (total {}), its report root {} (total {})",
            index.root, index.cumulative_total, reported.0, reported.1
        )));
    }
    let params_bytes = store.part(index.part(PartName::Params)).await?;
    let params = VerifyParams::from_canonical_bytes(&params_bytes)
        .map_err(decode_error(PartName::Params))?;
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
    let mut base = BTreeMap::new();
    for (recipient, total) in &rewards.cumulative {
        let this_epoch = rewards.rewards.get(recipient).copied().unwrap_or(0);
        let before = total.checked_sub(this_epoch).ok_or_else(|| {
            format!("{recipient} is paid {this_epoch} this epoch, more than its cumulative {total}")
        })?;
        // A recipient first paid this epoch had no leaf before (trees hold no zero leaves).
        if before > 0 {
            base.insert(*recipient, before);
        }
    }
    Ok(base)
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

/// Checks `report`'s base, the way the verify stage forms it: its total plus the dust carried
/// in is what the chain paid to device pools before the epoch (`snapshot`'s close); it is the
/// previous epoch's cumulative totals, vouched for by the chain (`previous`: that epoch's
/// record, or its votes from history once the record is closed; `active`: the newest active
/// root); or, only when no root was ever agreed before the epoch, nothing (every earlier
/// pool carried as dust).
pub fn check_base(
    report: &EpochReport,
    base: &BTreeMap<Pubkey, u64>,
    snapshot: &ChainSnapshot,
    previous: Option<&EpochVotes>,
    active: Option<&ActiveRoot>,
) -> BaseCheck {
    let mut problems = Vec::new();
    let epoch = report.epoch;
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
            "the base's total {base_total} plus the dust carried in {} is not the {paid_before} the chain paid to device pools before epoch {epoch}",
            report.carried_dust_in
        ));
    }
    let previous_epoch = epoch.checked_sub(1);
    let previous_agreed = previous.is_some_and(|votes| {
        votes.agreed.is_some()
            || votes
                .votes
                .iter()
                .any(|(_, root, total)| votes.has_quorum_for(root, *total))
    });
    match (report.base_epoch, previous_epoch) {
        (None, _) if base_total > 0 => problems.push(format!(
            "the report adds to no earlier epoch, yet its totals hold {base_total} from before"
        )),
        (None, None) => {}
        (None, Some(previous_epoch)) => {
            if paid_before > 0 {
                if let Some(active) = active.filter(|active| active.epoch < epoch) {
                    problems.push(format!(
                        "the report adds to nothing, yet epoch {}'s root was active before epoch {epoch}: the earlier totals are dropped",
                        active.epoch
                    ));
                } else if previous_agreed {
                    problems.push(format!(
                        "the report adds to nothing, yet the oracles agreed on epoch {previous_epoch}'s root: the earlier totals are dropped"
                    ));
                }
            }
        }
        (Some(base_epoch), _) if Some(base_epoch) != previous_epoch => problems.push(format!(
            "the report adds to epoch {base_epoch}'s totals, not to the previous epoch's"
        )),
        (Some(base_epoch), _) => {
            let active_match = active.is_some_and(|active| {
                active.epoch == base_epoch
                    && active.root == base_root
                    && active.cumulative_total == base_total
            });
            let voted = previous.is_some_and(|votes| {
                votes
                    .agreed
                    .is_some_and(|(root, total, _)| (root, total) == (base_root, base_total))
                    || votes.has_quorum_for(&base_root, base_total)
            });
            if !active_match && !voted {
                problems.push(match previous {
                    None => format!(
                        "the totals it adds to (root {}, total {base_total}) cannot be checked: the chain holds no record or vote of epoch {base_epoch}",
                        hex::encode(base_root)
                    ),
                    Some(_) => format!(
                        "the totals it adds to (root {}, total {base_total}) are neither epoch {base_epoch}'s active root nor agreed by a quorum of its votes on chain",
                        hex::encode(base_root)
                    ),
                });
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

/// `epoch`'s votes as finalized history holds them (`facts`, in chain order: the votes after
/// the last veto, the activation), counted against the current oracle set and quorum; `None`
/// when history holds no vote of it. What stands in for the record once it is closed.
pub fn votes_from_history(
    epoch: u64,
    facts: &[RootFact],
    oracles: &[Pubkey],
    quorum: u8,
) -> Option<EpochVotes> {
    let mut votes: BTreeMap<Pubkey, ([u8; 32], u64)> = BTreeMap::new();
    let mut activated = None;
    let mut vetoes = 0u8;
    let mut seen = false;
    for fact in facts {
        match *fact {
            RootFact::Voted {
                epoch: of,
                oracle,
                root,
                cumulative_total,
            } if of == epoch => {
                seen = true;
                votes.insert(oracle, (root, cumulative_total));
            }
            RootFact::Vetoed { epoch: of } if of == epoch => {
                votes.clear();
                vetoes = vetoes.saturating_add(1);
            }
            RootFact::Activated {
                epoch: of,
                root,
                cumulative_total,
            } if of == epoch => {
                seen = true;
                activated = Some((root, cumulative_total, true));
            }
            _ => {}
        }
    }
    seen.then(|| EpochVotes {
        votes: votes
            .into_iter()
            .map(|(oracle, (root, total))| (oracle, root, total))
            .collect(),
        oracles: oracles.to_vec(),
        quorum,
        agreed: activated,
        vetoes,
    })
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
    compare("class", old.class_id.to_string(), new.class_id.to_string());
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
    compare(
        "median distance to its cell (m)",
        format!("{:?}", old.median_distance_m),
        format!("{:?}", new.median_distance_m),
    );
    compare("beacons", old.beacons.to_string(), new.beacons.to_string());
    compare(
        "devices it witnessed",
        old.witnessed_devices.to_string(),
        new.witnessed_devices.to_string(),
    );
    compare(
        "witness reports dropped",
        format!("{:?}", old.witness_reports_dropped),
        format!("{:?}", new.witness_reports_dropped),
    );
    compare(
        "density cell",
        format!("{:?} for {} s", old.density_cell, old.density_seconds),
        format!("{:?} for {} s", new.density_cell, new.density_seconds),
    );
    compare(
        "data sessions",
        old.data_sessions.to_string(),
        new.data_sessions.to_string(),
    );
    compare(
        "data share before the cap",
        old.data_uncapped.to_string(),
        new.data_uncapped.to_string(),
    );
    // Its own numbers agree but what it was paid from them does not: the split of the pool.
    if rules.is_empty()
        && (old.coverage_reward, old.data_reward) != (new.coverage_reward, new.data_reward)
    {
        rules.push(format!(
            "its share of the pool: coverage {} -> {}, data {} -> {}",
            old.coverage_reward, new.coverage_reward, old.data_reward, new.data_reward
        ));
    }
    rules
}

/// The epoch-wide numbers on which two computations differ (pool, split, dust, credit value,
/// message counts), in words.
pub fn epoch_differences(reported: &EpochRewards, computed: &EpochRewards) -> Vec<String> {
    let mut lines = Vec::new();
    let mut compare = |what: &str, old: String, new: String| {
        if old != new {
            lines.push(format!("{what}: the report {old}, computed {new}"));
        }
    };
    compare("pool", reported.pool.to_string(), computed.pool.to_string());
    compare(
        "coverage pool",
        reported.coverage_pool.to_string(),
        computed.coverage_pool.to_string(),
    );
    compare(
        "data pool",
        reported.data_pool.to_string(),
        computed.data_pool.to_string(),
    );
    compare(
        "data share moved to coverage",
        reported.data_to_coverage.to_string(),
        computed.data_to_coverage.to_string(),
    );
    compare("dust", reported.dust.to_string(), computed.dust.to_string());
    compare(
        "credit value",
        format!("{:?}", reported.credit_value),
        format!("{:?}", computed.credit_value),
    );
    compare(
        "messages of unknown devices",
        reported.unknown_device_messages.to_string(),
        computed.unknown_device_messages.to_string(),
    );
    compare(
        "messages while not onboarded",
        reported.not_onboarded_messages.to_string(),
        computed.not_onboarded_messages.to_string(),
    );
    if reported.rewards != computed.rewards {
        lines.push("the rewards per recipient differ".into());
    }
    if reported.cumulative != computed.cumulative {
        lines.push("the cumulative totals per recipient differ".into());
    }
    lines
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
                let show =
                    |value: Option<&V>| value.map_or("absent".to_string(), |v| format!("{v:?}"));
                (
                    key.clone(),
                    format!("bundle {}, chain {}", show(old), show(new)),
                )
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
    /// "voting", "pending" or "active" (the record's, or from history once it is closed).
    pub status: String,
    /// The root the record holds as agreed (pending or active), if any.
    pub agreed_root: Option<String>,
    /// Where the votes were read: "record" or "history" (the record was closed).
    pub source: &'static str,
    pub vetoes: u8,
    pub problems: Vec<String>,
}

/// Compares the chain's record of `epoch` (`votes`, from the record or from history; `active`:
/// the newest active root) with the computed root and total and the report's. It matches
/// only when the root the record agreed on (pending or active) is the computed one, or a
/// quorum of the current oracles voted it, and no oracle voted another.
pub fn chain_findings(
    epoch: u64,
    computed: (&[u8; 32], u64),
    reported: (&[u8; 32], u64),
    votes: Option<&EpochVotes>,
    source: &'static str,
    active: Option<&ActiveRoot>,
) -> ChainFindings {
    let mut problems = Vec::new();
    let mut findings = Vec::new();
    let (mut quorum, mut votes_for_computed, mut vetoes) = (0, 0, 0);
    let mut status = "none".to_string();
    let mut agreed_root = None;
    match votes {
        None => problems.push(format!(
            "the chain holds no record of epoch {epoch} and history no vote of it (not closed yet?)"
        )),
        Some(record) => {
            quorum = record.quorum;
            vetoes = record.vetoes;
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
            // A vote of a key no longer in the oracle set counts for nothing on chain: listed,
            // not a problem.
            for vote in findings
                .iter()
                .filter(|vote| vote.matches != "computed" && vote.in_oracle_set)
            {
                problems.push(format!(
                    "oracle {} voted root {} (total {}), which is not the computed root ({})",
                    vote.oracle,
                    vote.root,
                    vote.cumulative_total,
                    if vote.matches == "report" {
                        "it is the bundle's report's"
                    } else {
                        "nor the bundle's report's"
                    }
                ));
            }
            let agreed_matches = match record.agreed {
                Some((root, total, active)) => {
                    status = if active { "active" } else { "pending" }.to_string();
                    agreed_root = Some(hex::encode(root));
                    if (&root, total) != (computed.0, computed.1) {
                        problems.push(format!(
                            "the chain's {status} root of epoch {epoch} is {} (total {total}), not the computed root",
                            hex::encode(root)
                        ));
                        false
                    } else {
                        true
                    }
                }
                None => {
                    status = "voting".to_string();
                    false
                }
            };
            let quorum_met = quorum > 0 && votes_for_computed >= usize::from(quorum);
            if !agreed_matches && !quorum_met {
                problems.push(format!(
                    "the chain has not agreed on the computed root yet: {votes_for_computed} of the current oracles' votes for it, quorum {quorum}"
                ));
            }
        }
    }
    if let Some(active) = active.filter(|active| active.epoch == epoch) {
        status = "active".to_string();
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
        status,
        agreed_root,
        source,
        vetoes,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_oracle_rewards::report::{InputSet, REPORT_VERSION};
    use groundwork_oracle_rewards::snapshot::{EpochClose, SNAPSHOT_VERSION};

    const EPOCH: u64 = 5;
    const SHARE: u64 = 1_000;

    fn key(byte: u8) -> Pubkey {
        Pubkey::new_from_array([byte; 32])
    }

    fn snapshot(paid_before: u64) -> ChainSnapshot {
        ChainSnapshot {
            version: SNAPSHOT_VERSION,
            epoch: EPOCH,
            start_ts: 0,
            end_ts: 60,
            params: EpochClose {
                epoch: EPOCH,
                closed_at: 61,
                minted: SHARE,
                device_share: SHARE,
                staker_share: 0,
                treasury_share: 0,
                device_pool_cumulative: paid_before + SHARE,
                devices_bps: 10_000,
                stakers_bps: 0,
                treasury_bps: 0,
            },
            credit_prices: Vec::new(),
            classes: Vec::new(),
            operators: Vec::new(),
            devices: Vec::new(),
        }
    }

    /// A report of EPOCH adding `paid` to `base` (recipient by recipient) on `base_epoch`.
    fn report(
        base: &[(u8, u64)],
        paid: &[(u8, u64)],
        base_epoch: Option<u64>,
        dust_in: u64,
    ) -> EpochReport {
        let mut cumulative: BTreeMap<Pubkey, u64> = base
            .iter()
            .map(|(who, amount)| (key(*who), *amount))
            .collect();
        let rewards: BTreeMap<Pubkey, u64> = paid
            .iter()
            .map(|(who, amount)| (key(*who), *amount))
            .collect();
        for (who, amount) in &rewards {
            *cumulative.entry(*who).or_default() += amount;
        }
        let (tree, total) = cumulative_tree(&cumulative).unwrap();
        EpochReport {
            version: REPORT_VERSION,
            epoch: EPOCH,
            snapshot_digest: [0; 32],
            inputs: Vec::new(),
            union: InputSet {
                messages: 0,
                conflicts: 0,
                digest: String::new(),
            },
            missing_peer_sets: 0,
            carried_dust_in: dust_in,
            base_epoch,
            rewards: EpochRewards {
                epoch: EPOCH,
                pool: SHARE + dust_in,
                coverage_pool: 0,
                data_pool: 0,
                data_to_coverage: 0,
                dust: 0,
                credit_value: None,
                unknown_device_messages: 0,
                not_onboarded_messages: 0,
                rows: Vec::new(),
                rewards,
                cumulative,
                root: tree.root(),
                cumulative_total: total,
            },
        }
    }

    fn agreed(root: [u8; 32], total: u64) -> EpochVotes {
        EpochVotes {
            votes: Vec::new(),
            oracles: vec![key(90), key(91), key(92)],
            quorum: 2,
            agreed: Some((root, total, false)),
            vetoes: 0,
        }
    }

    #[test]
    fn a_recipient_first_paid_this_epoch_has_no_leaf_in_the_base() {
        let report = report(&[(1, 700)], &[(1, 100), (2, 200)], Some(EPOCH - 1), 300);
        let base = base_of(&report).unwrap();
        assert_eq!(base, BTreeMap::from([(key(1), 700)]));
        // The base is the previous epoch's tree: the chain agreed on it.
        let (tree, total) = cumulative_tree(&base).unwrap();
        let previous = agreed(tree.root(), total);
        let check = check_base(&report, &base, &snapshot(1_000), Some(&previous), None);
        assert_eq!(check.problems, Vec::<String>::new());
        assert_eq!((check.base_total, check.paid_before), (700, 1_000));
    }

    #[test]
    fn a_base_the_chain_does_not_vouch_for_is_named() {
        let honest = report(&[(1, 700)], &[(1, 100)], Some(EPOCH - 1), 300);
        let base = base_of(&honest).unwrap();
        let (tree, total) = cumulative_tree(&base).unwrap();
        let previous = agreed(tree.root(), total);
        // Another epoch's totals than the previous one's.
        let skipped = report(&[(1, 700)], &[(1, 100)], Some(EPOCH - 2), 300);
        let check = check_base(&skipped, &base, &snapshot(1_000), Some(&previous), None);
        assert!(
            check.problems[0].contains("not to the previous epoch's"),
            "{:?}",
            check.problems
        );
        // Totals moved between recipients: the sums hold, the root is not the agreed one.
        let moved = report(&[(1, 600), (3, 100)], &[(1, 100)], Some(EPOCH - 1), 300);
        let moved_base = base_of(&moved).unwrap();
        let check = check_base(&moved, &moved_base, &snapshot(1_000), Some(&previous), None);
        assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
        assert!(
            check.problems[0].contains("neither"),
            "{:?}",
            check.problems
        );
        // Dust that does not account for what was paid before.
        let short = report(&[(1, 700)], &[(1, 100)], Some(EPOCH - 1), 200);
        let check = check_base(&short, &base, &snapshot(1_000), Some(&previous), None);
        assert!(
            check.problems[0].contains("is not the 1000"),
            "{:?}",
            check.problems
        );
        // The previous epoch's record is gone and history holds no vote: it cannot be checked.
        let check = check_base(&honest, &base, &snapshot(1_000), None, None);
        assert!(
            check.problems[0].contains("cannot be checked"),
            "{:?}",
            check.problems
        );
    }

    #[test]
    fn a_report_that_drops_the_earlier_totals_is_named() {
        // Everything paid before carried as dust, no base: only when no root was agreed.
        let fresh = report(&[], &[(1, 2_000)], None, 1_000);
        assert!(
            check_base(&fresh, &BTreeMap::new(), &snapshot(1_000), None, None)
                .problems
                .is_empty()
        );
        let active = ActiveRoot {
            epoch: EPOCH - 2,
            root: [1; 32],
            cumulative_total: 500,
        };
        let check = check_base(
            &fresh,
            &BTreeMap::new(),
            &snapshot(1_000),
            None,
            Some(&active),
        );
        assert!(
            check.problems[0].contains("was active before"),
            "{:?}",
            check.problems
        );
        let previous = agreed([2; 32], 1_000);
        let check = check_base(
            &fresh,
            &BTreeMap::new(),
            &snapshot(1_000),
            Some(&previous),
            None,
        );
        assert!(
            check.problems[0].contains("agreed on epoch 4's root"),
            "{:?}",
            check.problems
        );
    }

    #[test]
    fn history_stands_in_for_a_closed_record_and_a_veto_clears_votes() {
        let facts = [
            RootFact::Voted {
                epoch: EPOCH,
                oracle: key(90),
                root: [7; 32],
                cumulative_total: 9,
            },
            RootFact::Voted {
                epoch: EPOCH + 1,
                oracle: key(90),
                root: [8; 32],
                cumulative_total: 9,
            },
            RootFact::Vetoed { epoch: EPOCH },
            RootFact::Voted {
                epoch: EPOCH,
                oracle: key(91),
                root: [3; 32],
                cumulative_total: 4,
            },
            RootFact::Voted {
                epoch: EPOCH,
                oracle: key(92),
                root: [3; 32],
                cumulative_total: 4,
            },
            RootFact::Activated {
                epoch: EPOCH,
                root: [3; 32],
                cumulative_total: 4,
            },
        ];
        let oracles = [key(90), key(91), key(92)];
        let votes = votes_from_history(EPOCH, &facts, &oracles, 2).unwrap();
        assert_eq!(
            votes.votes,
            vec![(key(91), [3; 32], 4), (key(92), [3; 32], 4)]
        );
        assert_eq!(votes.vetoes, 1);
        assert_eq!(votes.agreed, Some(([3; 32], 4, true)));
        assert!(votes_from_history(EPOCH + 7, &facts, &oracles, 2).is_none());
    }

    #[test]
    fn the_chain_matches_only_with_a_quorum_or_its_agreed_root() {
        let computed = ([3; 32], 4);
        let mut record = EpochVotes {
            votes: vec![(key(90), [3; 32], 4)],
            oracles: vec![key(90), key(91), key(92)],
            quorum: 2,
            agreed: None,
            vetoes: 0,
        };
        let check = |record: &EpochVotes| {
            chain_findings(
                EPOCH,
                (&computed.0, computed.1),
                (&computed.0, computed.1),
                Some(record),
                "record",
                None,
            )
        };
        let one_vote = check(&record);
        assert!(one_vote.problems[0].contains("1 of the current oracles' votes"));
        record.votes.push((key(91), [3; 32], 4));
        assert!(check(&record).problems.is_empty());
        // A third oracle voted something else: named.
        record.votes.push((key(92), [6; 32], 4));
        let split = check(&record);
        assert_eq!(split.votes[2].matches, "neither");
        assert_eq!(split.problems.len(), 1, "{:?}", split.problems);
        // The record agreed on another root (pending): named even with a quorum for ours.
        record.votes.pop();
        record.agreed = Some(([6; 32], 4, false));
        let pending = check(&record);
        assert_eq!(pending.status, "pending");
        assert!(
            pending.problems[0].contains("pending root"),
            "{:?}",
            pending.problems
        );
        // A key no longer in the oracle set voted another root: listed, counts for nothing.
        record.agreed = None;
        record.votes.push((key(77), [6; 32], 4));
        let outsider = check(&record);
        assert_eq!(outsider.votes[2].matches, "neither");
        assert!(!outsider.votes[2].in_oracle_set);
        assert!(outsider.problems.is_empty(), "{:?}", outsider.problems);
        // No record and no history.
        let none = chain_findings(
            EPOCH,
            (&computed.0, 4),
            (&computed.0, 4),
            None,
            "history",
            None,
        );
        assert!(none.problems[0].contains("no record"));
    }
}
