//! Replaying published epochs under changed `[verify]` parameters (SPEC 4.6): who would earn
//! what, per device and per operator, before any vote. Each epoch is computed again from its
//! bundle's telemetry and chain snapshot with the changed parameters; the cumulative totals
//! and dust are chained from one replayed epoch to the next, as the oracles would have
//! carried them.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_rewards::{EpochRewards, VerifyParams};
use groundwork_telemetry::Key;
use serde::Serialize;

use crate::check::{base_of, recompute, FetchedBundle};
use crate::BundleError;

/// `base` with the settings of `changes` laid over it: a TOML document holding a `[verify]`
/// section (as in the oracle's config) or the settings themselves. Settings it does not name
/// keep the bundle's value; tables (`[verify.witnesses]`) are merged key by key.
pub fn changed_params(base: &VerifyParams, changes: &str) -> Result<VerifyParams, BundleError> {
    let document: toml::Table = toml::from_str(changes)
        .map_err(|error| BundleError::Params(format!("it does not parse: {error}")))?;
    let changes = match document.get("verify") {
        Some(toml::Value::Table(verify)) => verify.clone(),
        Some(_) => return Err(BundleError::Params("`verify` is not a table".into())),
        None => document,
    };
    let changes =
        serde_json::to_value(changes).map_err(|error| BundleError::Params(error.to_string()))?;
    let mut merged =
        serde_json::to_value(base).map_err(|error| BundleError::Params(error.to_string()))?;
    overlay(&mut merged, changes);
    serde_json::from_value(merged).map_err(|error| BundleError::Params(error.to_string()))
}

fn overlay(base: &mut serde_json::Value, changes: serde_json::Value) {
    match (base, changes) {
        (serde_json::Value::Object(base), serde_json::Value::Object(changes)) => {
            for (key, value) in changes {
                match base.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        overlay(existing, value)
                    }
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, changes) => *base = changes,
    }
}

/// One device whose reward the changed parameters move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceChange {
    pub epoch: u64,
    pub device: String,
    pub operator: String,
    pub old: u64,
    pub new: u64,
    /// Paid before, nothing now; or nothing before, paid now.
    pub newly_zeroed: bool,
    pub restored: bool,
    pub old_reason: String,
    pub new_reason: String,
}

impl DeviceChange {
    /// `new - old`.
    pub fn change(&self) -> i128 {
        i128::from(self.new) - i128::from(self.old)
    }
}

/// One epoch replayed.
#[derive(Clone, Debug, Serialize)]
pub struct EpochReplay {
    pub epoch: u64,
    /// The parameters the epoch was replayed with (the bundle's, changed).
    pub params: VerifyParams,
    /// Paid to devices in the epoch (the sum of its rows), as reported and as replayed.
    pub old_paid: u64,
    pub new_paid: u64,
    /// Carried to the next epoch.
    pub old_dust: u64,
    pub new_dust: u64,
    /// Cumulative totals after the epoch (the replay's chained from the first replayed
    /// epoch's base).
    pub old_cumulative_total: u64,
    pub new_cumulative_total: u64,
    /// Per operator: (paid as reported, paid replayed).
    pub operators: BTreeMap<String, (u64, u64)>,
    /// Every device whose reward changed, largest change first.
    pub devices: Vec<DeviceChange>,
}

/// Where a replay stands between epochs: the cumulative totals and dust the next epoch adds
/// to, and the epoch they are of.
pub struct ReplayChain {
    last_epoch: Option<u64>,
    base: BTreeMap<Pubkey, u64>,
    dust: u64,
}

impl Default for ReplayChain {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayChain {
    pub fn new() -> Self {
        ReplayChain {
            last_epoch: None,
            base: BTreeMap::new(),
            dust: 0,
        }
    }

    /// Replays `bundle` with `params`. The epoch adds to the previous replayed epoch's totals
    /// when it follows it; otherwise (the first, or after a gap) to the totals its own report
    /// added to.
    pub fn replay(
        &mut self,
        bundle: &FetchedBundle,
        network: Key,
        params: &VerifyParams,
        progress: impl FnMut(u64),
    ) -> Result<EpochReplay, BundleError> {
        let epoch = bundle.report.epoch;
        if bundle.snapshot_digest != hex::encode(bundle.report.snapshot_digest) {
            return Err(BundleError::Index(format!(
                "epoch {epoch}'s snapshot part is not the snapshot its report was computed over"
            )));
        }
        let follows = self
            .last_epoch
            .is_some_and(|last| last.checked_add(1) == Some(epoch));
        if !follows {
            self.base = base_of(&bundle.report).map_err(BundleError::Index)?;
            self.dust = bundle.report.carried_dust_in;
        }
        let recomputed = recompute(
            &bundle.telemetry,
            network,
            &bundle.snapshot,
            params,
            self.dust,
            &self.base,
            progress,
        )?;
        let replayed = compare(bundle, &recomputed.rewards, params);
        self.last_epoch = Some(epoch);
        self.dust = recomputed.rewards.dust;
        self.base = recomputed.rewards.cumulative;
        Ok(replayed)
    }
}

/// The replayed epoch against its report.
fn compare(bundle: &FetchedBundle, new: &EpochRewards, params: &VerifyParams) -> EpochReplay {
    let old = &bundle.report.rewards;
    let operator_of: BTreeMap<Pubkey, Pubkey> = bundle
        .snapshot
        .devices
        .iter()
        .map(|entry| (entry.device, entry.operator))
        .collect();
    let operator_name = |device: &Pubkey| {
        operator_of
            .get(device)
            .map_or_else(|| "unknown".to_string(), |operator| operator.to_string())
    };
    let mut operators: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in &old.rows {
        operators.entry(operator_name(&row.device)).or_default().0 += row.amount;
    }
    for row in &new.rows {
        operators.entry(operator_name(&row.device)).or_default().1 += row.amount;
    }
    let mut devices: Vec<DeviceChange> = old
        .rows
        .iter()
        .filter_map(|old_row| {
            let new_row = new.row_of(&old_row.device)?;
            (old_row.amount != new_row.amount).then(|| DeviceChange {
                epoch: old.epoch,
                device: old_row.device.to_string(),
                operator: operator_name(&old_row.device),
                old: old_row.amount,
                new: new_row.amount,
                newly_zeroed: old_row.amount > 0 && new_row.amount == 0,
                restored: old_row.amount == 0 && new_row.amount > 0,
                old_reason: old_row.headline(&bundle.params),
                new_reason: new_row.headline(params),
            })
        })
        .collect();
    devices.sort_by_key(|change| std::cmp::Reverse(change.change().unsigned_abs()));
    EpochReplay {
        epoch: old.epoch,
        params: params.clone(),
        old_paid: old.rows.iter().map(|row| row.amount).sum(),
        new_paid: new.rows.iter().map(|row| row.amount).sum(),
        old_dust: old.dust,
        new_dust: new.dust,
        old_cumulative_total: old.cumulative_total,
        new_cumulative_total: new.cumulative_total,
        operators,
        devices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_laid_over_the_bundles_parameters() {
        let mut base = VerifyParams {
            slots_per_epoch: 5,
            ..VerifyParams::default()
        };
        base.witnesses.min_witnesses = 3;
        let changed = changed_params(
            &base,
            "[verify]\ndensity_k = 1\n[verify.witnesses]\nenabled = false\n",
        )
        .unwrap();
        assert_eq!(changed.density_k, 1);
        assert!(!changed.witnesses.enabled);
        // What the file does not name keeps the bundle's value, in tables too.
        assert_eq!(changed.slots_per_epoch, 5);
        assert_eq!(changed.witnesses.min_witnesses, 3);
        // The settings alone, without [verify], do the same.
        assert_eq!(
            changed_params(&base, "density_k = 1\n").unwrap().density_k,
            1
        );
        // An unknown setting is refused.
        assert!(changed_params(&base, "density = 1\n").is_err());
    }
}
