//! Verified work (SPEC 4.3): an epoch's rewards as a pure function of its telemetry (the union
//! of the sealed sets), its chain snapshot and the network's verify parameters; the snapshot
//! ([`snapshot`]) and report ([`report`]) formats beside it. The computation has no clock, no
//! I/O (only [`report::Reports`] reads and writes report files, with `std::fs`), no floating point whose result could differ between machines (see [`geo`]), every
//! collection ordered: two oracles given the same input produce the same rows, amounts and
//! root, whatever order the messages arrived in.

mod delegation;
mod density;
mod explain;
mod fraud;
pub mod geo;
mod pool;
pub mod report;
pub mod snapshot;
pub mod union;
mod witness;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anchor_lang::prelude::Pubkey;
use borsh::{BorshDeserialize, BorshSerialize};
use groundwork_merkle::{Leaf, RewardTree};
use groundwork_program_math::BPS;
use groundwork_telemetry::{Key, TelemetryBody};

use delegation::split_pool_shares;
pub use delegation::PoolPayout;
use density::{apply_density_cap, density_cell_of};
pub use fraud::Fraud;
use geo::{cell_centre, distance_m, Point};
pub use pool::CreditValue;
use pool::{lowest_credit_value, split_pool};
use snapshot::{ChainSnapshot, DeviceEntry, PoolEntry, Standing};
use witness::WitnessClaim;
pub use witness::{DroppedReports, WitnessParams};

/// The network's verify parameters: the oracle config's `[verify]` section (every field
/// optional, the SPEC's values by default), identical on every oracle of a network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerifyParams {
    /// Slots an epoch is cut into (a slot counts when it holds a valid heartbeat).
    pub slots_per_epoch: u32,
    /// Slots a device needs to earn coverage.
    pub min_uptime_slots: u32,
    /// Median distance to the asserted cell's centre for full trust, and for partial trust.
    pub full_trust_m: u64,
    pub partial_trust_m: u64,
    pub partial_trust_bps: u64,
    /// Devices that earn in full in one resolution-8 cell; more share that many's worth.
    pub density_k: u64,
    /// The coverage share of the device pool (the data share is the rest).
    pub coverage_share_bps: u64,
    /// A device's data reward is at most this share of the token value of the credits paid
    /// for it in the epoch.
    pub data_cap_bps: u64,
    /// The optional stake multiplier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stake_multiplier: Option<StakeMultiplier>,
    /// Implied speed between consecutive heartbeats above which movement is impossible.
    pub max_speed_kmh: u64,
    /// Two heartbeats in one slot farther apart than this are two places at once.
    pub two_places_m: u64,
    /// A witness report of a device asserted farther than this is dropped.
    pub witness_max_m: u64,
    /// Proof of coverage (`[verify.witnesses]`).
    pub witnesses: WitnessParams,
    /// Device keys the network refuses to reward.
    pub denylist: BTreeSet<Key>,
}

impl VerifyParams {
    /// The canonical form published in epoch bundles (SPEC 4.6): compact JSON, the fields in
    /// the order they are declared, every field present (the stake multiplier only when it is
    /// on), the denylist sorted. Two oracles with the same parameters write the same bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("the parameters serialise")
    }

    /// Parameters from their published bytes (an unknown field is refused; a field added
    /// after the bytes were written takes its default, so older bundles stay readable — the
    /// bundle's index binds the bytes by their digest).
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// Coverage × (1 + `max_bonus_bps` × min(stake per device, `full_bonus_stake_per_device`) /
/// `full_bonus_stake_per_device`): from 1.0 up to 1.0 + max bonus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StakeMultiplier {
    pub max_bonus_bps: u64,
    pub full_bonus_stake_per_device: u64,
}

impl Default for VerifyParams {
    fn default() -> Self {
        VerifyParams {
            slots_per_epoch: 48,
            min_uptime_slots: 12,
            full_trust_m: 300,
            partial_trust_m: 400,
            partial_trust_bps: 2_500,
            density_k: 4,
            coverage_share_bps: 4_000,
            data_cap_bps: 10_000,
            stake_multiplier: None,
            max_speed_kmh: 300,
            two_places_m: 1_000,
            witness_max_m: 100_000,
            witnesses: WitnessParams::default(),
            denylist: BTreeSet::new(),
        }
    }
}

/// One accepted telemetry message (signature checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub device: Key,
    pub seq: u64,
    pub timestamp_ms: i64,
    pub body: TelemetryBody,
}

/// What one device did and earned in the epoch, with every number that decided it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeviceRow {
    pub device: Pubkey,
    pub recipient: Pubkey,
    pub class_id: u16,
    pub weight_bps: u16,
    /// Valid heartbeats (in the epoch, at a position on Earth).
    pub heartbeats: u32,
    pub uptime_slots: u32,
    /// Median distance of the heartbeats to the asserted cell's centre.
    pub median_distance_m: Option<u64>,
    pub trust_bps: u64,
    pub stake_multiplier_bps: u64,
    /// Its beacons in the epoch's input, the distinct devices of other operators (not zeroed
    /// themselves) whose valid reports of them counted, and the witness factor that follows.
    pub beacons: u32,
    pub witnesses: u32,
    pub witness_factor_bps: u64,
    /// Beaconing devices of other operators its own valid reports vouched for (none while it
    /// is zeroed or earns no coverage itself), and its reports dropped.
    pub witnessed_devices: u32,
    pub witness_reports_dropped: DroppedReports,
    /// The resolution-8 cell the density cap counted it in (where its asserted location
    /// stood longest during the epoch), for how many seconds, and how many earning devices
    /// that cell held.
    pub density_cell: Option<u64>,
    pub density_seconds: u64,
    pub density_devices: u64,
    /// Weight × uptime × trust × stake multiplier × witness factor, after the density cap.
    pub coverage_score: u128,
    /// Credits paid for its service in the epoch (on chain), and whether DataSession
    /// telemetry confirmed them.
    pub credits_paid: u64,
    pub data_sessions: u32,
    /// Its data share before the cap, and the cap (token value of the credits paid).
    pub data_uncapped: u64,
    pub data_cap: u64,
    pub data_reward: u64,
    pub coverage_reward: u64,
    /// What it earned: data plus coverage.
    pub amount: u64,
    /// The part of its coverage reward the stake multiplier added (`coverage_reward *
    /// (m - 1) / m`, floored), and of it what its operator's delegation pool receives (the
    /// rest after the operator's commission, floored). Its recipient is paid
    /// `amount - pool_share`.
    pub multiplier_added: u64,
    pub pool_share: u64,
    /// Every fraud rule it broke (its score is then 0).
    pub fraud: Vec<Fraud>,
}

/// How an epoch's devices fared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceCounts {
    pub rewarded: u64,
    /// Devices zeroed by a fraud rule.
    pub zeroed: u64,
    /// Each fraud rule and the devices it zeroed (a device may break several).
    pub zeroed_by_reason: BTreeMap<&'static str, u64>,
    /// Devices with no fraud that earned nothing (too few slots, no trust, nobody paid).
    pub earned_nothing_without_fraud: u64,
    /// Rewarded devices whose coverage was proven by other operators' witnesses (factor
    /// 1.0), and those paid the unverified factor.
    pub coverage_verified: u64,
    pub coverage_unverified: u64,
}

impl EpochRewards {
    /// `device`'s row (rows are sorted by device).
    pub fn row_of(&self, device: &Pubkey) -> Option<&DeviceRow> {
        self.rows
            .binary_search_by(|row| row.device.cmp(device))
            .ok()
            .map(|index| &self.rows[index])
    }

    pub fn device_counts(&self) -> DeviceCounts {
        let mut counts = DeviceCounts::default();
        for row in &self.rows {
            if row.amount > 0 {
                counts.rewarded += 1;
                if row.witness_factor_bps == BPS {
                    counts.coverage_verified += 1;
                } else {
                    counts.coverage_unverified += 1;
                }
            } else if row.fraud.is_empty() {
                counts.earned_nothing_without_fraud += 1;
            } else {
                counts.zeroed += 1;
            }
            for fraud in &row.fraud {
                *counts.zeroed_by_reason.entry(fraud.code()).or_default() += 1;
            }
        }
        counts
    }
}

/// The epoch's verified work.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EpochRewards {
    pub epoch: u64,
    /// The epoch's device share plus the dust carried in.
    pub pool: u64,
    pub coverage_pool: u64,
    pub data_pool: u64,
    /// What the data share did not use (nobody paid, or the cap) and coverage received.
    pub data_to_coverage: u64,
    /// Left by flooring (or with no one to pay): carried to the next epoch.
    pub dust: u64,
    /// The token value of a credit the data cap used: the lowest rate of the epoch's
    /// purchases (`None`: credits were never bought, or no rate could be expressed).
    pub credit_value: Option<CreditValue>,
    /// Messages of devices the snapshot does not know (not rewarded).
    pub unknown_device_messages: u64,
    /// Messages of known devices timestamped while they were not onboarded (before their
    /// onboarding or after their deactivation): not counted.
    pub not_onboarded_messages: u64,
    /// Sorted by device.
    pub rows: Vec<DeviceRow>,
    /// What each operator's delegation pool received (operators whose devices' stake
    /// multiplier added something), by operator.
    pub pools: Vec<PoolPayout>,
    /// This epoch's rewards per recipient (a pool's under its rewards account).
    pub rewards: BTreeMap<Pubkey, u64>,
    /// Cumulative per recipient: the base plus this epoch (the tree's leaves).
    pub cumulative: BTreeMap<Pubkey, u64>,
    pub root: [u8; 32],
    pub cumulative_total: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the parameters: {0}")]
    Params(String),
    #[error("an amount overflows: {0}")]
    Overflow(&'static str),
    #[error("the reward tree: {0}")]
    Tree(String),
}

/// The epoch's verified work from its telemetry, its chain snapshot and the parameters (all
/// messages at once; [`EpochComputation`] takes them a device at a time). `conflicted` are the
/// devices with a seq conflict in the epoch (a copy of a stored seq with different bytes, on
/// any oracle); `carried_dust` the dust of the previous epoch; `base_cumulative` the
/// cumulative totals the epoch adds to (the newest active root's leaves, plus the epochs
/// computed since that never activated).
pub fn compute(
    snapshot: &ChainSnapshot,
    messages: &[Message],
    conflicted: &BTreeSet<Key>,
    params: &VerifyParams,
    carried_dust: u64,
    base_cumulative: &BTreeMap<Pubkey, u64>,
) -> Result<EpochRewards, VerifyError> {
    let mut computation = EpochComputation::new(snapshot, params)?;
    let mut by_device: BTreeMap<Key, Vec<Message>> = BTreeMap::new();
    for message in messages {
        by_device
            .entry(message.device)
            .or_default()
            .push(message.clone());
    }
    for (device, messages) in by_device {
        computation.add_device(device, messages);
    }
    computation.finish(conflicted, carried_dust, base_cumulative)
}

/// An epoch's verified work, fed one device's messages at a time (in any device order), so
/// memory holds one device's messages, the rows and the beacons — not the epoch.
pub struct EpochComputation<'a> {
    snapshot: &'a ChainSnapshot,
    params: &'a VerifyParams,
    start_ms: i64,
    end_ms: i64,
    devices: BTreeMap<Key, &'a DeviceEntry>,
    weights: BTreeMap<u16, u16>,
    /// Each operator's recipient, active stake and pool.
    operators: BTreeMap<Pubkey, (Option<Pubkey>, u64, Option<PoolEntry>)>,
    devices_per_operator: BTreeMap<Pubkey, u64>,
    rows: BTreeMap<Key, DeviceRow>,
    /// Every beacon in the input, with its timestamp.
    beacons: HashMap<(Key, u64), i64>,
    /// Witness reports, settled once every device's beacons are known.
    witness_claims: Vec<WitnessClaim>,
    /// Devices with two different messages under one seq in the union.
    seen_conflicts: BTreeSet<Key>,
    unknown_device_messages: u64,
    not_onboarded_messages: u64,
}

impl<'a> EpochComputation<'a> {
    pub fn new(snapshot: &'a ChainSnapshot, params: &'a VerifyParams) -> Result<Self, VerifyError> {
        check(params)?;
        let start_ms = snapshot
            .start_ts
            .checked_mul(1_000)
            .ok_or(VerifyError::Overflow("epoch start"))?;
        let end_ms = snapshot
            .end_ts
            .checked_mul(1_000)
            .ok_or(VerifyError::Overflow("epoch end"))?;
        let mut devices_per_operator = BTreeMap::<Pubkey, u64>::new();
        for entry in &snapshot.devices {
            *devices_per_operator.entry(entry.operator).or_default() += 1;
        }
        Ok(EpochComputation {
            snapshot,
            params,
            start_ms,
            end_ms,
            devices: snapshot
                .devices
                .iter()
                .map(|entry| (Key(entry.device.to_bytes()), entry))
                .collect(),
            weights: snapshot
                .classes
                .iter()
                .map(|class| (class.class_id, class.reward_weight_bps))
                .collect(),
            operators: snapshot
                .operators
                .iter()
                .map(|entry| {
                    (
                        entry.operator,
                        (entry.reward_recipient, entry.active_stake, entry.pool),
                    )
                })
                .collect(),
            devices_per_operator,
            rows: BTreeMap::new(),
            beacons: HashMap::new(),
            witness_claims: Vec::new(),
            seen_conflicts: BTreeSet::new(),
            unknown_device_messages: 0,
            not_onboarded_messages: 0,
        })
    }

    /// Adds `device`'s messages of the epoch (any order, duplicates merged; messages of
    /// another device or outside the epoch are ignored). Each device is added once.
    pub fn add_device(&mut self, device: Key, mut messages: Vec<Message>) {
        messages.retain(|message| {
            message.device == device && (self.start_ms..self.end_ms).contains(&message.timestamp_ms)
        });
        messages.sort_by(|a, b| {
            (a.seq, a.timestamp_ms)
                .cmp(&(b.seq, b.timestamp_ms))
                .then_with(|| body_bytes(&a.body).cmp(&body_bytes(&b.body)))
        });
        messages.dedup();
        // Two different messages under one seq — from two peers, or a stored conflicting
        // copy — are a seq conflict even when no single oracle saw both. No copy of a
        // conflicting seq counts: which one an oracle stored first depends on arrival.
        let conflicting: BTreeSet<u64> = messages
            .windows(2)
            .filter(|pair| pair[0].seq == pair[1].seq)
            .map(|pair| pair[0].seq)
            .collect();
        if !conflicting.is_empty() {
            self.seen_conflicts.insert(device);
            messages.retain(|message| !conflicting.contains(&message.seq));
        }
        let Some(entry) = self.devices.get(&device).copied() else {
            self.unknown_device_messages += messages.len() as u64;
            return;
        };
        // A device is known from its onboarding to its deactivation: what it signed outside
        // that time does not count (ingest refuses it on arrival; a peer's set is held to
        // the same rule here).
        let before = messages.len();
        messages.retain(|message| standing_at(entry, message.timestamp_ms) != Standing::Absent);
        self.not_onboarded_messages += (before - messages.len()) as u64;
        // Only beacons of devices the chain knows exist for witnesses.
        for message in &messages {
            if matches!(message.body, TelemetryBody::Beacon { .. }) {
                self.beacons
                    .insert((device, message.seq), message.timestamp_ms);
            }
        }
        let row = self.evaluate(entry, &messages);
        self.rows.insert(device, row);
    }

    fn evaluate(&mut self, entry: &DeviceEntry, messages: &[Message]) -> DeviceRow {
        let (recipient_of_operator, stake, _) = self
            .operators
            .get(&entry.operator)
            .copied()
            .unwrap_or((None, 0, None));
        let stake_per_device = stake
            / self
                .devices_per_operator
                .get(&entry.operator)
                .copied()
                .unwrap_or(1)
                .max(1);
        let epoch = Epoch {
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            params: self.params,
        };
        let (mut row, claims) = epoch.evaluate(
            entry,
            messages,
            self.weights.get(&entry.class_id).copied().unwrap_or(0),
            stake_per_device,
        );
        self.witness_claims.extend(claims);
        row.recipient = entry
            .reward_recipient
            .or(recipient_of_operator)
            .unwrap_or(entry.operator);
        row
    }

    /// The epoch's rewards (see [`compute`] for the arguments).
    pub fn finish(
        mut self,
        conflicted: &BTreeSet<Key>,
        carried_dust: u64,
        base_cumulative: &BTreeMap<Pubkey, u64>,
    ) -> Result<EpochRewards, VerifyError> {
        // Devices that sent nothing.
        let silent: Vec<(Key, &DeviceEntry)> = self
            .devices
            .iter()
            .filter(|(key, _)| !self.rows.contains_key(*key))
            .map(|(key, entry)| (*key, *entry))
            .collect();
        for (key, entry) in silent {
            let row = self.evaluate(entry, &[]);
            self.rows.insert(key, row);
        }
        let params = self.params;
        for (key, row) in self.rows.iter_mut() {
            if conflicted.contains(key) || self.seen_conflicts.contains(key) {
                row.fraud.push(Fraud::SeqConflict);
            }
            if params.denylist.contains(key) {
                row.fraud.push(Fraud::Denylisted);
            }
            row.fraud.sort();
            row.fraud.dedup();
        }
        // Every fraud is known: witness reports are settled (a zeroed witness vouches for
        // nobody), and each device's coverage takes its witness factor.
        witness::settle(
            self.snapshot.epoch,
            &mut self.rows,
            &self.devices,
            &self.witness_claims,
            &self.beacons,
            params,
        );
        let mut rows: Vec<DeviceRow> = Vec::with_capacity(self.rows.len());
        for (_, mut row) in self.rows {
            if row.fraud.is_empty() {
                row.coverage_score = row
                    .coverage_score
                    .checked_mul(u128::from(row.witness_factor_bps))
                    .ok_or(VerifyError::Overflow("a coverage score"))?;
            } else {
                // A fraud zeroes the epoch: no coverage, and no data (see `split_pool`).
                row.coverage_score = 0;
            }
            rows.push(row);
        }
        apply_density_cap(&mut rows, params.density_k);
        let snapshot = self.snapshot;
        let credit_value = lowest_credit_value(&snapshot.credit_prices);
        let split = split_pool(
            &mut rows,
            snapshot.params.device_share,
            carried_dust,
            credit_value,
            params,
        )?;
        let devices = &self.devices;
        let pools = split_pool_shares(
            &mut rows,
            |row| {
                devices
                    .get(&Key(row.device.to_bytes()))
                    .map(|entry| entry.operator)
            },
            &self.operators,
        )?;
        // Each device's recipient is paid its amount less its pool's share; each pool its
        // shares. Together: exactly what the split paid.
        let mut rewards: BTreeMap<Pubkey, u64> = BTreeMap::new();
        let payments = rows
            .iter()
            .map(|row| (row.recipient, row.amount - row.pool_share))
            .chain(
                pools
                    .iter()
                    .map(|pool| (pool.rewards_account, pool.pool_share)),
            );
        for (recipient, amount) in payments {
            if amount > 0 {
                let total = rewards.entry(recipient).or_default();
                *total = total
                    .checked_add(amount)
                    .ok_or(VerifyError::Overflow("a recipient's epoch reward"))?;
            }
        }
        let mut cumulative = base_cumulative.clone();
        for (recipient, amount) in &rewards {
            let total = cumulative.entry(*recipient).or_default();
            *total = total
                .checked_add(*amount)
                .ok_or(VerifyError::Overflow("a recipient's cumulative reward"))?;
        }
        cumulative.retain(|_, amount| *amount > 0);
        let (tree, cumulative_total) = cumulative_tree(&cumulative)?;
        Ok(EpochRewards {
            epoch: snapshot.epoch,
            pool: split.pool,
            coverage_pool: split.coverage_pool,
            data_pool: split.data_pool,
            data_to_coverage: split.data_to_coverage,
            dust: split.dust,
            credit_value,
            unknown_device_messages: self.unknown_device_messages,
            not_onboarded_messages: self.not_onboarded_messages,
            rows,
            pools,
            rewards,
            cumulative,
            root: tree.root(),
            cumulative_total,
        })
    }
}

/// The device's standing at `timestamp_ms` (its spans cover the whole epoch, the first from
/// the epoch's start).
pub(crate) fn standing_at(entry: &DeviceEntry, timestamp_ms: i64) -> Standing {
    entry
        .standing
        .iter()
        .take_while(|span| span.from_ts.saturating_mul(1_000) <= timestamp_ms)
        .last()
        .or(entry.standing.first())
        .map(|span| span.standing)
        .unwrap_or(Standing::Active)
}

/// The SPEC 3.4 tree over cumulative totals (every amount positive), and their sum.
pub fn cumulative_tree(
    cumulative: &BTreeMap<Pubkey, u64>,
) -> Result<(RewardTree, u64), VerifyError> {
    let total = cumulative
        .values()
        .try_fold(0u64, |sum, amount| sum.checked_add(*amount))
        .ok_or(VerifyError::Overflow("the cumulative total"))?;
    let tree = RewardTree::new(
        cumulative
            .iter()
            .map(|(recipient, amount)| Leaf {
                recipient: recipient.to_bytes(),
                cumulative_amount: *amount,
            })
            .collect(),
    )
    .map_err(|error| VerifyError::Tree(error.to_string()))?;
    Ok((tree, total))
}

fn body_bytes(body: &TelemetryBody) -> Vec<u8> {
    borsh::to_vec(body).expect("encoding into memory")
}

impl VerifyParams {
    /// Refuses parameters verified work cannot run with (checked when the config loads).
    pub fn check(&self) -> Result<(), VerifyError> {
        check(self)
    }
}

fn check(params: &VerifyParams) -> Result<(), VerifyError> {
    let refuse = |message: &str| Err(VerifyError::Params(message.to_string()));
    if params.slots_per_epoch == 0 || params.min_uptime_slots > params.slots_per_epoch {
        return refuse("slots_per_epoch must be positive and at least min_uptime_slots");
    }
    if params.coverage_share_bps > BPS || params.partial_trust_bps > BPS {
        return refuse("shares are basis points (at most 10,000)");
    }
    if params.full_trust_m > params.partial_trust_m || params.density_k == 0 {
        return refuse("full_trust_m <= partial_trust_m and density_k >= 1");
    }
    if params.witnesses.unverified_bps > BPS {
        return refuse("witnesses.unverified_bps is basis points (at most 10,000)");
    }
    if params.slots_per_epoch > 100_000 || params.density_k > 1_000_000 {
        return refuse("slots_per_epoch at most 100,000 and density_k at most 1,000,000");
    }
    if params.stake_multiplier.is_some_and(|multiplier| {
        multiplier.full_bonus_stake_per_device == 0 || multiplier.max_bonus_bps > 5_000
    }) {
        return refuse(
            "the stake multiplier needs a positive full_bonus_stake_per_device and a bonus of at most 5,000 bps (SPEC 4.3: up to 1.5)",
        );
    }
    Ok(())
}

/// What evaluating one device needs of the epoch.
struct Epoch<'a> {
    start_ms: i64,
    end_ms: i64,
    params: &'a VerifyParams,
}

/// The cell `entry` had asserted at `timestamp_ms`.
pub(crate) fn cell_at(entry: &DeviceEntry, timestamp_ms: i64) -> Option<u64> {
    entry
        .locations
        .iter()
        .rev()
        .find(|span| span.from_ts.saturating_mul(1_000) <= timestamp_ms)
        .or(entry.locations.first())
        .map(|span| span.cell)
}

impl Epoch<'_> {
    fn slot_of(&self, timestamp_ms: i64) -> u32 {
        let offset = i128::from(timestamp_ms - self.start_ms);
        let length = i128::from(self.end_ms - self.start_ms);
        (offset * i128::from(self.params.slots_per_epoch) / length) as u32
    }

    /// The device's row, and the witnesses whose beacons must exist (checked once every
    /// device's beacons are known).
    fn evaluate(
        &self,
        entry: &DeviceEntry,
        messages: &[Message],
        weight_bps: u16,
        stake_per_device: u64,
    ) -> (DeviceRow, Vec<WitnessClaim>) {
        let params = self.params;
        let mut fraud = Vec::new();
        let mut claims = Vec::new();
        if entry
            .standing
            .iter()
            .any(|span| matches!(span.standing, Standing::Suspended { .. }))
        {
            fraud.push(Fraud::Suspended);
        }
        // Messages are in seq order: a timestamp going back is a clock going backwards.
        if messages
            .windows(2)
            .any(|pair| pair[1].timestamp_ms < pair[0].timestamp_ms)
        {
            fraud.push(Fraud::ClockBackwards);
        }
        let mut heartbeats: Vec<(i64, Point)> = Vec::new();
        let mut data_sessions = 0u32;
        let mut beacons = 0u32;
        for message in messages {
            match &message.body {
                TelemetryBody::Heartbeat { lat_e7, lon_e7, .. } => {
                    if let Some(point) = Point::new(*lat_e7, *lon_e7) {
                        heartbeats.push((message.timestamp_ms, point));
                    }
                }
                TelemetryBody::DataSession {
                    bytes_up,
                    bytes_down,
                    ..
                } => {
                    if bytes_up.saturating_add(*bytes_down) > 0 {
                        data_sessions = data_sessions.saturating_add(1);
                    }
                }
                TelemetryBody::Witness {
                    beacon_device,
                    beacon_seq,
                    ..
                } => {
                    if *beacon_device == message.device {
                        fraud.push(Fraud::SelfWitness);
                    } else {
                        claims.push(WitnessClaim {
                            witness: message.device,
                            reported_at: message.timestamp_ms,
                            beacon_device: *beacon_device,
                            beacon_seq: *beacon_seq,
                        });
                    }
                }
                TelemetryBody::Beacon { .. } => beacons = beacons.saturating_add(1),
            }
        }
        // Movement: consecutive heartbeats (seq order, which is time order unless the clock
        // went backwards, itself a fraud).
        let limit_m_per_hour = params.max_speed_kmh.saturating_mul(1_000);
        for pair in heartbeats.windows(2) {
            let ((t0, a), (t1, b)) = (pair[0], pair[1]);
            let metres = distance_m(a, b);
            let elapsed_ms = u128::try_from(t1.saturating_sub(t0)).unwrap_or(0);
            if u128::from(metres) * 3_600_000 > u128::from(limit_m_per_hour) * elapsed_ms {
                fraud.push(Fraud::ImpossibleMovement);
                break;
            }
        }
        // Two places in one slot: every pair of distinct positions within a slot.
        let mut slots: BTreeMap<u32, BTreeSet<Point>> = BTreeMap::new();
        for (timestamp_ms, point) in &heartbeats {
            slots
                .entry(self.slot_of(*timestamp_ms))
                .or_default()
                .insert(*point);
        }
        if slots
            .values()
            .any(|points| two_places(points, params.two_places_m))
        {
            fraud.push(Fraud::TwoPlacesInOneSlot);
        }
        let uptime_slots = slots.len() as u32;
        // Location trust: the median distance to the cell asserted at each heartbeat's time.
        // Each asserted cell's centre once (a device asserts few cells, sends many heartbeats).
        let centres: Vec<(i64, Option<Point>)> = entry
            .locations
            .iter()
            .map(|span| (span.from_ts.saturating_mul(1_000), cell_centre(span.cell)))
            .collect();
        let centre_at = |timestamp_ms: i64| {
            centres
                .iter()
                .rev()
                .find(|(from_ms, _)| *from_ms <= timestamp_ms)
                .or(centres.first())
                .and_then(|(_, centre)| *centre)
        };
        let mut distances: Vec<u64> = heartbeats
            .iter()
            .filter_map(|(timestamp_ms, point)| Some(distance_m(*point, centre_at(*timestamp_ms)?)))
            .collect();
        distances.sort_unstable();
        // The lower median (for an even count, the lower of the two middle values): one rule
        // every oracle applies.
        let median_distance_m =
            (!distances.is_empty()).then(|| distances[(distances.len() - 1) / 2]);
        let trust_bps = match median_distance_m {
            Some(metres) if metres <= params.full_trust_m => BPS,
            Some(metres) if metres <= params.partial_trust_m => params.partial_trust_bps,
            _ => 0,
        };
        let stake_multiplier_bps = match params.stake_multiplier {
            Some(multiplier) => {
                let stake = stake_per_device.min(multiplier.full_bonus_stake_per_device);
                BPS + (u128::from(multiplier.max_bonus_bps) * u128::from(stake)
                    / u128::from(multiplier.full_bonus_stake_per_device))
                    as u64
            }
            None => BPS,
        };
        let eligible = uptime_slots >= params.min_uptime_slots;
        let coverage_score = if eligible && fraud.is_empty() {
            u128::from(weight_bps)
                * u128::from(uptime_slots)
                * u128::from(trust_bps)
                * u128::from(stake_multiplier_bps)
        } else {
            0
        };
        let (density_cell, density_seconds) =
            density_cell_of(entry, self.start_ms / 1_000, self.end_ms / 1_000)
                .map_or((None, 0), |(cell, seconds)| (Some(cell), seconds));
        let row = DeviceRow {
            device: entry.device,
            recipient: entry.operator,
            class_id: entry.class_id,
            weight_bps,
            heartbeats: heartbeats.len() as u32,
            uptime_slots,
            median_distance_m,
            trust_bps,
            stake_multiplier_bps,
            beacons,
            witnesses: 0,
            witness_factor_bps: BPS,
            witnessed_devices: 0,
            witness_reports_dropped: DroppedReports::default(),
            density_cell,
            density_seconds,
            density_devices: 0,
            coverage_score,
            credits_paid: entry.credits_paid,
            data_sessions,
            data_uncapped: 0,
            data_cap: 0,
            data_reward: 0,
            coverage_reward: 0,
            amount: 0,
            multiplier_added: 0,
            pool_share: 0,
            fraud,
        };
        (row, claims)
    }
}

/// Distinct positions of one slot compared pair by pair up to this many; beyond it (a device
/// reporting hundreds of places in one slot), against the extreme positions only, so a
/// hostile device cannot make the check quadratic.
const PAIRWISE_POSITIONS: usize = 256;

/// Whether two of `points` (one slot's distinct positions) lie more than `limit_m` apart.
fn two_places(points: &BTreeSet<Point>, limit_m: u64) -> bool {
    let points: Vec<Point> = points.iter().copied().collect();
    if points.len() <= PAIRWISE_POSITIONS {
        return points.iter().enumerate().any(|(index, a)| {
            points[index + 1..]
                .iter()
                .any(|b| distance_m(*a, *b) > limit_m)
        });
    }
    let extremes = [
        points.iter().min_by_key(|point| point.lat_e7),
        points.iter().max_by_key(|point| point.lat_e7),
        points.iter().min_by_key(|point| point.lon_e7),
        points.iter().max_by_key(|point| point.lon_e7),
    ];
    let apart = extremes.into_iter().flatten().any(|anchor| {
        points
            .iter()
            .any(|point| distance_m(*anchor, *point) > limit_m)
    });
    apart
}
