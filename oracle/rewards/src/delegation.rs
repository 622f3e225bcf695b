//! Delegation that pays: the part of each device's coverage reward that the stake multiplier
//! added, split between the device's recipient (the operator's commission) and the
//! operator's delegation pool (one leaf per pool, recipient its pool rewards account).

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use borsh::{BorshDeserialize, BorshSerialize};
use groundwork_program_math::{mul_div_floor, BPS};

use crate::snapshot::PoolEntry;
use crate::{DeviceRow, VerifyError};

/// What one operator's delegation pool received in an epoch: the stake multiplier's added
/// part of its devices' coverage rewards, less the operator's commission (left with the
/// devices' recipients).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PoolPayout {
    pub operator: Pubkey,
    pub rewards_account: Pubkey,
    pub commission_bps: u16,
    /// The operator's active delegated stake the multiplier was computed from.
    pub active_stake: u64,
    pub multiplier_added: u64,
    /// `multiplier_added - pool_share`: kept by the devices' recipients.
    pub commission: u64,
    pub pool_share: u64,
}

/// Records each device's multiplier-added part and splits it between its recipient (the
/// commission) and its operator's pool (the rest), in place; returns each pool's totals, by
/// operator. A device whose operator has no pool rewards account on chain keeps the whole
/// reward.
pub(crate) fn split_pool_shares(
    rows: &mut [DeviceRow],
    operator_of: impl Fn(&DeviceRow) -> Option<Pubkey>,
    operators: &BTreeMap<Pubkey, (Option<Pubkey>, u64, Option<PoolEntry>)>,
) -> Result<Vec<PoolPayout>, VerifyError> {
    let mut pools: BTreeMap<Pubkey, PoolPayout> = BTreeMap::new();
    for row in rows.iter_mut() {
        if row.coverage_reward == 0 || row.stake_multiplier_bps <= BPS {
            continue;
        }
        let added = mul_div_floor(
            u128::from(row.coverage_reward),
            u128::from(row.stake_multiplier_bps - BPS),
            u128::from(row.stake_multiplier_bps),
        )
        .ok_or(VerifyError::Overflow("a multiplier's added part"))? as u64;
        row.multiplier_added = added;
        let Some(operator) = operator_of(row) else {
            continue;
        };
        let Some((_, active_stake, Some(pool))) = operators.get(&operator) else {
            continue;
        };
        let share = mul_div_floor(
            u128::from(added),
            u128::from(BPS.saturating_sub(u64::from(pool.commission_bps))),
            u128::from(BPS),
        )
        .ok_or(VerifyError::Overflow("a pool's share"))? as u64;
        row.pool_share = share;
        let payout = pools.entry(operator).or_insert(PoolPayout {
            operator,
            rewards_account: pool.rewards_account,
            commission_bps: pool.commission_bps,
            active_stake: *active_stake,
            multiplier_added: 0,
            commission: 0,
            pool_share: 0,
        });
        let overflow = || VerifyError::Overflow("a pool's epoch totals");
        payout.multiplier_added = payout
            .multiplier_added
            .checked_add(added)
            .ok_or_else(overflow)?;
        payout.commission = payout
            .commission
            .checked_add(added - share)
            .ok_or_else(overflow)?;
        payout.pool_share = payout.pool_share.checked_add(share).ok_or_else(overflow)?;
    }
    Ok(pools
        .into_values()
        .filter(|payout| payout.pool_share > 0 || payout.multiplier_added > 0)
        .collect())
}
