//! The staking ledger as pure functions over the account structs: weights, the reward index,
//! operator pool shares and slashing. Integers only, u128 intermediates, floors on everything
//! paid out; instructions call these and move the tokens.

use crate::errors::StakingError;
use crate::state::{
    EpochStakeV0, LockupKind, OperatorPoolV0, PositionV0, StakingConfigV0, StakingParams,
};

pub type MathResult<T> = core::result::Result<T, StakingError>;

/// Scale of the reward indexes.
pub const REWARD_PRECISION: u128 = 1_000_000_000_000_000_000;
pub const BPS: u128 = 10_000;

/// Weight multiplier of a lockup of `duration_s`: `10,000 + max_bonus * min(d, sat) / sat`
/// basis points (floored); flexible positions weigh 1x.
pub fn multiplier_bps(
    params: &StakingParams,
    kind: LockupKind,
    duration_s: i64,
) -> MathResult<u32> {
    if kind == LockupKind::Flexible {
        return Ok(BPS as u32);
    }
    if duration_s <= 0 {
        return Err(StakingError::InvalidLockupDuration);
    }
    let counted = duration_s.min(params.saturation_s) as u128;
    let bonus = u128::from(params.max_bonus_bps) * counted / params.saturation_s as u128;
    u32::try_from(BPS + bonus).map_err(|_| StakingError::MathOverflow)
}

/// `amount * multiplier / 10,000`, floored.
pub fn weight_of(amount: u64, multiplier_bps: u32) -> u128 {
    u128::from(amount) * u128::from(multiplier_bps) / BPS
}

fn checked_mul_div(a: u128, b: u128, divisor: u128) -> MathResult<u128> {
    a.checked_mul(b)
        .map(|product| product / divisor)
        .ok_or(StakingError::MathOverflow)
}

/// Rewards `weight` earned while an index went from `snapshot` to `index`, floored.
fn earned(weight: u128, index: u128, snapshot: u128) -> MathResult<u64> {
    let delta = index
        .checked_sub(snapshot)
        .ok_or(StakingError::MathOverflow)?;
    u64::try_from(checked_mul_div(weight, delta, REWARD_PRECISION)?)
        .map_err(|_| StakingError::MathOverflow)
}

fn add(a: u128, b: u128) -> MathResult<u128> {
    a.checked_add(b).ok_or(StakingError::MathOverflow)
}

fn sub(a: u128, b: u128) -> MathResult<u128> {
    a.checked_sub(b).ok_or(StakingError::MathOverflow)
}

impl OperatorPoolV0 {
    /// Brings the pool's per-weighted-share index up to the global index. Exact as long as the
    /// pool's weight has not changed since the last sync (every change syncs first).
    pub fn sync(&mut self, global_index: u128) -> MathResult<()> {
        if self.weighted_shares > 0 {
            let delta = sub(global_index, self.synced_reward_per_weight)?;
            let per_share = checked_mul_div(delta, self.weight, self.weighted_shares)?;
            self.reward_per_weighted_share = add(self.reward_per_weighted_share, per_share)?;
        }
        self.synced_reward_per_weight = global_index;
        Ok(())
    }

    /// Tokens `shares` of this pool are worth now, floored.
    pub fn value_of(&self, shares: u128) -> MathResult<u64> {
        if self.shares == 0 {
            return Ok(0);
        }
        u64::try_from(checked_mul_div(
            shares,
            u128::from(self.tokens),
            self.shares,
        )?)
        .map_err(|_| StakingError::MathOverflow)
    }

    /// Recomputes the pool weight and moves the global active weight by the difference.
    fn reweigh(&mut self, config: &mut StakingConfigV0) -> MathResult<()> {
        let weight = if self.shares == 0 {
            0
        } else {
            checked_mul_div(self.weighted_shares, u128::from(self.tokens), self.shares)?
        };
        config.active_weight = add(sub(config.active_weight, self.weight)?, weight)?;
        self.weight = weight;
        Ok(())
    }
}

/// Marks a pending position active once its activation epoch has been funded.
pub fn activate_if_funded(position: &mut PositionV0, epoch_stake: Option<&EpochStakeV0>) {
    if position.activated {
        return;
    }
    if let Some(record) = epoch_stake.filter(|record| record.funded) {
        position.activated = true;
        position.reward_snapshot = record.reward_per_weight_at_activation;
    }
}

/// Counts the rewards an active position earned since its snapshot into `unclaimed_rewards`.
/// A delegated position needs its pool, which is synced first.
pub fn settle(
    position: &mut PositionV0,
    config: &StakingConfigV0,
    pool: Option<&mut OperatorPoolV0>,
) -> MathResult<()> {
    if !position.activated {
        return Ok(());
    }
    let (weight, index) = match (position.operator, pool) {
        (Some(_), Some(pool)) => {
            pool.sync(config.reward_per_weight)?;
            (position.weighted_shares, pool.reward_per_weighted_share)
        }
        (Some(_), None) => return Err(StakingError::OperatorPoolMissing),
        (None, _) => (position.weight, config.reward_per_weight),
    };
    let reward = earned(weight, index, position.reward_snapshot)?;
    position.unclaimed_rewards = position
        .unclaimed_rewards
        .checked_add(reward)
        .ok_or(StakingError::MathOverflow)?;
    position.reward_snapshot = index;
    Ok(())
}

/// Rewards a position could claim now, computed from account data without changing it.
pub fn claimable(
    position: &PositionV0,
    config: &StakingConfigV0,
    pool: Option<&OperatorPoolV0>,
    activation_epoch_stake: Option<&EpochStakeV0>,
) -> MathResult<u64> {
    let mut position = position.clone();
    let mut pool = pool.cloned();
    activate_if_funded(&mut position, activation_epoch_stake);
    settle(&mut position, config, pool.as_mut())?;
    Ok(position.unclaimed_rewards)
}

/// Changes the weight of a position by moving it from `old` to `new` wherever it counts:
/// the activation record while pending, the global active weight while active.
fn reweigh_undelegated(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    epoch_stake: Option<&mut EpochStakeV0>,
    new_weight: u128,
) -> MathResult<()> {
    if position.activated {
        config.active_weight = add(sub(config.active_weight, position.weight)?, new_weight)?;
    } else {
        let record = epoch_stake.ok_or(StakingError::EpochStakeMissing)?;
        record.activating_weight =
            add(sub(record.activating_weight, position.weight)?, new_weight)?;
    }
    position.weight = new_weight;
    Ok(())
}

/// A new position's stake: its weight waits in the activation record of the next epoch.
pub fn open(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    epoch_stake: &mut EpochStakeV0,
    amount: u64,
) -> MathResult<()> {
    position.amount = amount;
    position.weight = 0;
    position.activated = false;
    reweigh_undelegated(
        position,
        config,
        Some(epoch_stake),
        weight_of(amount, position.multiplier_bps),
    )?;
    config.total_principal = config
        .total_principal
        .checked_add(amount)
        .ok_or(StakingError::MathOverflow)?;
    Ok(())
}

/// Applies a new multiplier (after settling rewards at the old weight).
pub fn set_multiplier(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    epoch_stake: Option<&mut EpochStakeV0>,
    mut pool: Option<&mut OperatorPoolV0>,
    multiplier_bps: u32,
) -> MathResult<()> {
    settle(position, config, pool.as_deref_mut())?;
    position.multiplier_bps = multiplier_bps;
    match (position.operator, pool) {
        (Some(_), Some(pool)) => {
            let weighted = checked_mul_div(position.shares, u128::from(multiplier_bps), BPS)?;
            pool.weighted_shares = add(
                sub(pool.weighted_shares, position.weighted_shares)?,
                weighted,
            )?;
            position.weighted_shares = weighted;
            pool.reweigh(config)
        }
        (Some(_), None) => Err(StakingError::OperatorPoolMissing),
        (None, _) => {
            let weight = weight_of(position.amount, multiplier_bps);
            reweigh_undelegated(position, config, epoch_stake, weight)
        }
    }
}

/// Moves an active, undelegated position's tokens into `pool` as shares.
pub fn delegate(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    pool: &mut OperatorPoolV0,
    current_epoch: u64,
) -> MathResult<()> {
    if position.operator.is_some() {
        return Err(StakingError::PositionDelegated);
    }
    if !position.activated {
        return Err(StakingError::PositionNotActive);
    }
    settle(position, config, None)?;
    pool.sync(config.reward_per_weight)?;
    let amount = u128::from(position.amount);
    let shares = if pool.shares == 0 || pool.tokens == 0 {
        amount
    } else {
        checked_mul_div(amount, pool.shares, u128::from(pool.tokens))?
    };
    if shares == 0 {
        return Err(StakingError::DelegationTooSmall);
    }
    let weighted = checked_mul_div(shares, u128::from(position.multiplier_bps), BPS)?;
    config.active_weight = sub(config.active_weight, position.weight)?;
    pool.tokens = pool
        .tokens
        .checked_add(position.amount)
        .ok_or(StakingError::MathOverflow)?;
    pool.shares = add(pool.shares, shares)?;
    pool.weighted_shares = add(pool.weighted_shares, weighted)?;
    pool.members = pool
        .members
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    pool.reweigh(config)?;
    position.operator = Some(pool.operator);
    position.shares = shares;
    position.weighted_shares = weighted;
    position.amount = 0;
    position.weight = 0;
    position.delegation_active_epoch = current_epoch
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    position.undelegation_requested_epoch = None;
    position.reward_snapshot = pool.reward_per_weighted_share;
    Ok(())
}

/// Takes a delegated position's tokens out of its pool at the current share value (after
/// every slash up to now), back into the position.
pub fn leave_pool(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    pool: &mut OperatorPoolV0,
) -> MathResult<()> {
    if position.operator != Some(pool.operator) {
        return Err(StakingError::WrongOperatorPool);
    }
    settle(position, config, Some(&mut *pool))?;
    let amount = pool.value_of(position.shares)?;
    pool.tokens = pool
        .tokens
        .checked_sub(amount)
        .ok_or(StakingError::MathOverflow)?;
    pool.shares = sub(pool.shares, position.shares)?;
    pool.weighted_shares = sub(pool.weighted_shares, position.weighted_shares)?;
    pool.members = pool
        .members
        .checked_sub(1)
        .ok_or(StakingError::MathOverflow)?;
    if pool.shares == 0 {
        // Rounding left-overs of an emptied pool stay owed to nobody: return them to the
        // last member rather than strand them.
        let dust = pool.tokens;
        pool.tokens = 0;
        position.amount = amount.checked_add(dust).ok_or(StakingError::MathOverflow)?;
    } else {
        position.amount = amount;
    }
    pool.reweigh(config)?;
    position.operator = None;
    position.shares = 0;
    position.weighted_shares = 0;
    position.undelegation_requested_epoch = None;
    let weight = weight_of(position.amount, position.multiplier_bps);
    config.active_weight = add(config.active_weight, weight)?;
    position.weight = weight;
    position.reward_snapshot = config.reward_per_weight;
    Ok(())
}

/// Burns `bps` of a pool's tokens (floored): every member loses the same fraction.
/// Returns the tokens to burn from the stake vault.
pub fn slash(config: &mut StakingConfigV0, pool: &mut OperatorPoolV0, bps: u16) -> MathResult<u64> {
    if bps == 0 || bps > config.params.max_slash_bps {
        return Err(StakingError::InvalidSlash);
    }
    pool.sync(config.reward_per_weight)?;
    let burned = u64::try_from(checked_mul_div(
        u128::from(pool.tokens),
        u128::from(bps),
        BPS,
    )?)
    .map_err(|_| StakingError::MathOverflow)?;
    if burned == 0 {
        return Err(StakingError::NothingToSlash);
    }
    pool.tokens -= burned;
    pool.total_slashed = pool
        .total_slashed
        .checked_add(burned)
        .ok_or(StakingError::MathOverflow)?;
    pool.reweigh(config)?;
    config.total_principal = config
        .total_principal
        .checked_sub(burned)
        .ok_or(StakingError::MathOverflow)?;
    config.total_slashed = config
        .total_slashed
        .checked_add(burned)
        .ok_or(StakingError::MathOverflow)?;
    Ok(burned)
}

/// Empties an undelegated position (after settling): returns the tokens to pay out.
pub fn withdraw_all(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    epoch_stake: Option<&mut EpochStakeV0>,
) -> MathResult<u64> {
    if position.operator.is_some() {
        return Err(StakingError::PositionDelegated);
    }
    settle(position, config, None)?;
    reweigh_undelegated(position, config, epoch_stake, 0)?;
    let amount = position.amount;
    position.amount = 0;
    config.total_principal = config
        .total_principal
        .checked_sub(amount)
        .ok_or(StakingError::MathOverflow)?;
    Ok(amount)
}

/// What funding one epoch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Funding {
    pub activated_weight: u128,
    pub active_weight: u128,
    /// Rewards handed to the index (funded + carried), 0 when nothing was active.
    pub distributed: u64,
    pub carried: u64,
}

/// Funds epoch `next_epoch_to_fund` with `amount`: activates the weight waiting for it, then
/// raises the index by `(amount + carried) / active weight`; with no active weight the rewards
/// carry to the next epoch.
pub fn fund_epoch(
    config: &mut StakingConfigV0,
    epoch_stake: Option<&mut EpochStakeV0>,
    amount: u64,
) -> MathResult<Funding> {
    let activated_weight = match epoch_stake {
        Some(record) => {
            record.reward_per_weight_at_activation = config.reward_per_weight;
            record.funded = true;
            record.rewards_funded = amount;
            config.active_weight = add(config.active_weight, record.activating_weight)?;
            record.active_weight = config.active_weight;
            record.activating_weight
        }
        None => 0,
    };
    let available = config
        .carried_rewards
        .checked_add(amount)
        .ok_or(StakingError::MathOverflow)?;
    let mut distributed = 0;
    if config.active_weight > 0 {
        let increase = checked_mul_div(
            u128::from(available),
            REWARD_PRECISION,
            config.active_weight,
        )?;
        config.reward_per_weight = add(config.reward_per_weight, increase)?;
        // The index rose by the floor of available / weight, so positions can never claim
        // more than `available` in total. The fraction lost (< weight / REWARD_PRECISION base
        // units) stays in the vault and is not carried: positions take their own floors later,
        // over several epochs at once, and may already be owed part of it.
        distributed = available;
    }
    config.carried_rewards = available - distributed;
    config.total_funded = config
        .total_funded
        .checked_add(amount)
        .ok_or(StakingError::MathOverflow)?;
    config.next_epoch_to_fund = config
        .next_epoch_to_fund
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    Ok(Funding {
        activated_weight,
        active_weight: config.active_weight,
        distributed,
        carried: config.carried_rewards,
    })
}

/// Takes a position's counted rewards for payment.
pub fn take_rewards(position: &mut PositionV0, config: &mut StakingConfigV0) -> MathResult<u64> {
    let amount = position.unclaimed_rewards;
    position.unclaimed_rewards = 0;
    position.claimed_rewards = position
        .claimed_rewards
        .checked_add(amount)
        .ok_or(StakingError::MathOverflow)?;
    config.total_claimed = config
        .total_claimed
        .checked_add(amount)
        .ok_or(StakingError::MathOverflow)?;
    Ok(amount)
}

#[cfg(test)]
mod tests;
