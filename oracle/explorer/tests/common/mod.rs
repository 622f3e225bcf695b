//! A generated oracle state for the explorer's tests and its benchmark: `devices` devices of
//! `devices / 40` operators around 48 towns spread over the continents, over `epochs`
//! verified epochs, written where the oracle keeps them (reports, and the chain view's
//! snapshots). Their standings are mixed — earned, unverified coverage, no coverage, zeroed by
//! each fraud rule, not eligible — and every number is deterministic (a fixed generator).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_chain::{
    ActiveRoot, EpochTiming, EpochVotes, NetworkTotals, RootActivation, StaticChain,
};
use groundwork_oracle_chainview::EpochLedger;
use groundwork_oracle_rewards::report::{EpochReport, InputSet, Reports, REPORT_VERSION};
use groundwork_oracle_rewards::snapshot::{
    ChainSnapshot, ClassEntry, CreditPrice, DeviceEntry, EpochClose, LocationSpan, OperatorEntry,
    Standing as Onboarded, StandingSpan, SNAPSHOT_VERSION,
};
use groundwork_oracle_rewards::{
    cumulative_tree, DeviceRow, DroppedReports, EpochRewards, Fraud, VerifyParams,
};
use h3o::{LatLng, Resolution};

/// Epoch `n` starts here and lasts an hour.
pub const GENESIS: i64 = 1_800_000_000;
pub const EPOCH_LEN: i64 = 3_600;
/// Minted per epoch, and burned for credits.
pub const MINTED: u64 = 100_000_000_000;
pub const BURNED: u64 = 2_000_000_000;
/// The supply before epoch 0's mint, and what claims paid during each epoch after the first.
pub const SUPPLY: u64 = 1_000_000_000_000;
pub const CLAIMED_PER_EPOCH: u64 = 1_000_000;

/// A small deterministic generator (SplitMix64).
pub struct Draw(u64);

impl Draw {
    pub fn new(seed: u64) -> Self {
        Draw(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn key(&mut self) -> Pubkey {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        Pubkey::new_from_array(bytes)
    }
}

/// What the generated devices became in the newest epoch, for the tests to compare with.
pub struct Generated {
    pub devices: Vec<Pubkey>,
    pub operators: Vec<Pubkey>,
    /// The newest epoch, its root and each recipient's cumulative total in it.
    pub newest: u64,
    pub root: [u8; 32],
    pub cumulative: BTreeMap<Pubkey, u64>,
    /// Devices of the newest epoch by fraud rule, and the count of each standing.
    pub zeroed: BTreeMap<&'static str, Vec<Pubkey>>,
    pub earned: u64,
}

const FRAUDS: [Fraud; 4] = [
    Fraud::ImpossibleMovement,
    Fraud::SeqConflict,
    Fraud::TwoPlacesInOneSlot,
    Fraud::SelfWitness,
];

/// Writes `epochs` epochs of `devices` devices into `reports_dir` and `chain_view_dir`.
pub fn generate(
    devices: usize,
    epochs: u64,
    reports_dir: &Path,
    chain_view_dir: &Path,
) -> Generated {
    let mut draw = Draw::new(7);
    let towns: Vec<(f64, f64)> = (0..48)
        .map(|_| (-50.0 + draw.unit() * 110.0, -170.0 + draw.unit() * 340.0))
        .collect();
    let operators: Vec<Pubkey> = (0..devices.div_ceil(40)).map(|_| draw.key()).collect();
    let mut entries: Vec<DeviceEntry> = (0..devices)
        .map(|index| {
            let (lat, lng) = towns[index % towns.len()];
            let spread = 0.6;
            let position = LatLng::new(
                lat + (draw.unit() - 0.5) * spread,
                lng + (draw.unit() - 0.5) * spread,
            )
            .expect("a position on Earth");
            DeviceEntry {
                device: draw.key(),
                operator: operators[index % operators.len()],
                class_id: (index % 2) as u16,
                reward_recipient: None,
                onboarded_at: GENESIS - 100,
                standing: vec![StandingSpan {
                    from_ts: GENESIS,
                    standing: Onboarded::Active,
                }],
                locations: vec![LocationSpan {
                    from_ts: GENESIS,
                    cell: u64::from(position.to_cell(Resolution::Ten)),
                }],
                credits_paid: 0,
            }
        })
        .collect();
    entries.sort_by_key(|entry| entry.device);
    let reports = Reports::new(reports_dir);
    std::fs::create_dir_all(chain_view_dir.join("snapshots")).unwrap();
    let mut cumulative: BTreeMap<Pubkey, u64> = BTreeMap::new();
    let mut generated = Generated {
        devices: entries.iter().map(|entry| entry.device).collect(),
        operators: operators.clone(),
        newest: epochs - 1,
        root: [0; 32],
        cumulative: BTreeMap::new(),
        zeroed: BTreeMap::new(),
        earned: 0,
    };
    let mut base_epoch = None;
    let mut carried_dust_in = 0;
    for epoch in 0..epochs {
        let start_ts = GENESIS + epoch as i64 * EPOCH_LEN;
        let device_share = MINTED * 7 / 10;
        let snapshot = ChainSnapshot {
            version: SNAPSHOT_VERSION,
            epoch,
            start_ts,
            end_ts: start_ts + EPOCH_LEN,
            params: EpochClose {
                epoch,
                closed_at: start_ts + EPOCH_LEN + 5,
                minted: MINTED,
                device_share,
                staker_share: MINTED * 2 / 10,
                treasury_share: MINTED / 10,
                device_pool_cumulative: device_share * (epoch + 1),
                devices_bps: 7_000,
                stakers_bps: 2_000,
                treasury_bps: 1_000,
            },
            credit_prices: vec![CreditPrice {
                purchased_at: start_ts + 60,
                network_tokens_burned: BURNED,
                credits_minted: 100_000_000,
                exact: None,
            }],
            classes: vec![
                ClassEntry {
                    class_id: 0,
                    reward_weight_bps: 10_000,
                },
                ClassEntry {
                    class_id: 1,
                    reward_weight_bps: 5_000,
                },
            ],
            operators: {
                let mut sorted: Vec<OperatorEntry> = operators
                    .iter()
                    .map(|operator| OperatorEntry {
                        operator: *operator,
                        reward_recipient: Some(*operator),
                        active_stake: 0,
                        pool: None,
                    })
                    .collect();
                sorted.sort_by_key(|operator| operator.operator);
                sorted
            },
            devices: entries.clone(),
        };
        std::fs::write(
            chain_view_dir
                .join("snapshots")
                .join(format!("{epoch}.snapshot")),
            snapshot.encode(),
        )
        .unwrap();
        // The books at its end, as the chain view stores them beside the snapshot.
        std::fs::write(
            chain_view_dir
                .join("snapshots")
                .join(format!("{epoch}.ledger")),
            EpochLedger {
                epoch,
                minted: Some(MINTED),
                supply_after_mint: Some(SUPPLY + MINTED * (epoch + 1) - BURNED * (epoch + 1)),
                minted_total: Some(MINTED * (epoch + 1)),
                burned_total: Some(BURNED * (epoch + 1)),
                total_claimed: Some(CLAIMED_PER_EPOCH * epoch),
            }
            .encode(),
        )
        .unwrap();
        // Shares: every earning device the same, the last one's dust carried.
        let pool = device_share + carried_dust_in;
        let kinds: Vec<u64> = entries.iter().map(|_| draw.next() % 100).collect();
        let earning = kinds.iter().filter(|kind| **kind < 80).count() as u64;
        let share = pool / earning.max(1);
        let mut rows = Vec::with_capacity(entries.len());
        let mut rewards: BTreeMap<Pubkey, u64> = BTreeMap::new();
        let mut zeroed: BTreeMap<&'static str, Vec<Pubkey>> = BTreeMap::new();
        // A device seen all epoch.
        let seen = VerifyParams::default().slots_per_epoch;
        for (entry, kind) in entries.iter().zip(&kinds) {
            let (amount, witness_factor_bps, uptime, fraud, weight_bps) = match kind {
                0..=69 => (share, 10_000, seen, vec![], 10_000),
                70..=79 => (share, 5_000, seen, vec![], 10_000),
                // Offline: unseen, and unheard by witnesses too.
                80..=87 => (0, 2_500, 0, vec![], 10_000),
                88..=96 => (
                    0,
                    10_000,
                    seen,
                    vec![FRAUDS[(*kind as usize) % FRAUDS.len()]],
                    10_000,
                ),
                _ => (0, 10_000, seen, vec![], 0),
            };
            if let Some(fraud) = fraud.first() {
                zeroed.entry(fraud.code()).or_default().push(entry.device);
            }
            let recipient = entry.operator;
            *rewards.entry(recipient).or_default() += amount;
            rows.push(DeviceRow {
                device: entry.device,
                recipient,
                class_id: entry.class_id,
                weight_bps,
                heartbeats: uptime,
                uptime_slots: uptime,
                median_distance_m: Some(12),
                trust_bps: 10_000,
                stake_multiplier_bps: 10_000,
                beacons: 2,
                witnesses: if witness_factor_bps == 10_000 { 3 } else { 1 },
                witness_factor_bps,
                witnessed_devices: 1,
                witness_reports_dropped: DroppedReports::default(),
                density_cell: None,
                density_seconds: 0,
                density_devices: 1,
                coverage_score: u128::from(amount),
                credits_paid: 0,
                data_sessions: 0,
                data_uncapped: 0,
                data_cap: 0,
                data_reward: 0,
                coverage_reward: amount,
                amount,
                multiplier_added: 0,
                pool_share: 0,
                fraud,
            });
        }
        let paid: u64 = rewards.values().sum();
        for (recipient, amount) in &rewards {
            *cumulative.entry(*recipient).or_default() += amount;
        }
        cumulative.retain(|_, amount| *amount > 0);
        let (tree, cumulative_total) = cumulative_tree(&cumulative).expect("a tree");
        let root = tree.root();
        let report = EpochReport {
            version: REPORT_VERSION,
            epoch,
            snapshot_digest: snapshot.digest(),
            inputs: vec![],
            union: InputSet {
                messages: 0,
                conflicts: 0,
                digest: String::new(),
            },
            missing_peer_sets: 0,
            carried_dust_in,
            base_epoch,
            rewards: EpochRewards {
                epoch,
                pool,
                coverage_pool: pool,
                data_pool: 0,
                data_to_coverage: 0,
                dust: pool - paid,
                credit_value: None,
                unknown_device_messages: 0,
                not_onboarded_messages: 0,
                rows,
                pools: Vec::new(),
                rewards: rewards
                    .into_iter()
                    .filter(|(_, amount)| *amount > 0)
                    .collect(),
                cumulative: cumulative.clone(),
                root,
                cumulative_total,
            },
        };
        reports.save(&report).unwrap();
        carried_dust_in = pool - paid;
        base_epoch = Some(epoch);
        generated.root = root;
        generated.zeroed = zeroed;
        generated.earned = kinds.iter().filter(|kind| **kind < 70).count() as u64;
    }
    generated.cumulative = cumulative;
    generated
}

/// The three oracles of the generated network.
pub fn oracles() -> Vec<Pubkey> {
    (0..3)
        .map(|i| Pubkey::new_from_array([i + 1; 32]))
        .collect()
}

/// A chain that agrees with the generated network: its three oracles, the newest epoch's
/// record with `votes` (the oracles' roots in order) agreed and active, its root the active
/// one, and the token's totals.
pub fn agreeing_chain(generated: &Generated, votes: [[u8; 32]; 3]) -> StaticChain {
    let chain = StaticChain::new(EpochTiming {
        genesis_unix_s: GENESIS,
        epoch_len_s: EPOCH_LEN,
    });
    let oracles = oracles();
    chain.set_oracles(oracles.clone());
    chain.set_epoch_votes(
        generated.newest,
        EpochVotes {
            votes: oracles
                .iter()
                .zip(votes)
                .map(|(oracle, root)| (*oracle, root, 1))
                .collect(),
            oracles,
            quorum: 2,
            agreed: Some((generated.root, 1, true)),
            vetoes: 0,
            activation: Some(RootActivation {
                agreed_at: ACTIVATED_AT - 60,
                activates_at: ACTIVATED_AT,
            }),
        },
    );
    chain.set_active_root(Some(ActiveRoot {
        epoch: generated.newest,
        root: generated.root,
        cumulative_total: generated.cumulative.values().sum(),
    }));
    let epochs = generated.newest + 1;
    chain.set_network_totals(NetworkTotals {
        supply: SUPPLY + (MINTED - BURNED) * epochs,
        decimals: 6,
        max_supply: SUPPLY * 10,
        minted_total: MINTED * epochs,
        burned_total: BURNED * epochs,
        device_pool_cumulative: MINTED * 7 / 10 * epochs,
        total_claimed: 0,
    });
    chain
}

/// When the newest epoch's root could be activated (its challenge period's end).
pub const ACTIVATED_AT: i64 = GENESIS + 3 * EPOCH_LEN + 120;
