//! What differs between a bundle's report and the epoch computed again, in words: each
//! device with the rules that moved it, the epoch-wide numbers, and the snapshot's fields.

use std::collections::{BTreeMap, BTreeSet};

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_rewards::snapshot::ChainSnapshot;
use groundwork_oracle_rewards::{DeviceRow, EpochRewards, VerifyParams};
use serde::Serialize;

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
