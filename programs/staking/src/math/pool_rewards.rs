//! The operator pools' device rewards as pure functions (the rule: `PoolRewardsV0`):
//! commission changes, cohorts of delegations waiting to earn, the O(1) sweep into the
//! per-share index, and members' settlement. Integers only, floors on everything paid out.

use groundwork_program_math::{mul_div_floor, BPS};

use super::{MathResult, REWARD_PRECISION};
use crate::errors::StakingError;
use crate::state::{
    CommissionChange, PoolCohortV0, PoolRewardsV0, PositionV0, WaitingCohort, MAX_WAITING_COHORTS,
};

fn add(a: u128, b: u128) -> MathResult<u128> {
    a.checked_add(b).ok_or(StakingError::MathOverflow)
}

fn sub(a: u128, b: u128) -> MathResult<u128> {
    a.checked_sub(b).ok_or(StakingError::MathOverflow)
}

fn add_u64(a: u64, b: u64) -> MathResult<u64> {
    a.checked_add(b).ok_or(StakingError::MathOverflow)
}

impl PoolRewardsV0 {
    /// The commission in force in `epoch` (a pending change counts from its epoch on).
    pub fn commission_for(&self, epoch: u64) -> u16 {
        match self.pending_commission {
            Some(change) if change.effective_epoch <= epoch => change.bps,
            _ => self.commission_bps,
        }
    }

    /// Folds a pending change whose epoch has come into `commission_bps`.
    pub fn fold_commission(&mut self, current_epoch: u64) {
        if let Some(change) = self.pending_commission {
            if change.effective_epoch <= current_epoch {
                self.commission_bps = change.bps;
                self.pending_commission = None;
            }
        }
    }

    /// The operator asks for `bps` in `current_epoch`: refused above `max_bps`; in force from
    /// the next epoch (replacing a change not yet in force).
    pub fn set_commission(
        &mut self,
        bps: u16,
        max_bps: u16,
        current_epoch: u64,
    ) -> MathResult<CommissionChange> {
        if bps > max_bps || u64::from(bps) > BPS {
            return Err(StakingError::CommissionAboveMaximum);
        }
        self.fold_commission(current_epoch);
        let change = CommissionChange {
            bps,
            effective_epoch: current_epoch
                .checked_add(1)
                .ok_or(StakingError::MathOverflow)?,
        };
        self.pending_commission = Some(change);
        Ok(change)
    }

    /// The cohorts waiting, oldest first.
    pub fn waiting_cohorts(&self) -> &[WaitingCohort] {
        &self.waiting[..usize::from(self.waiting_count).min(MAX_WAITING_COHORTS)]
    }

    /// The key epoch of the cohort a delegation whose first earning epoch is
    /// `activation_epoch` joins: its own, or the newest waiting one when no slot is free.
    pub fn cohort_for(&self, activation_epoch: u64) -> u64 {
        let waiting = self.waiting_cohorts();
        match waiting
            .iter()
            .find(|cohort| cohort.key_epoch == activation_epoch)
        {
            Some(cohort) => cohort.key_epoch,
            None if waiting.len() >= MAX_WAITING_COHORTS => waiting
                .last()
                .map_or(activation_epoch, |cohort| cohort.key_epoch),
            None => activation_epoch,
        }
    }
}

/// A delegation whose shares earn from `activation_epoch` joins `cohort` (the one
/// `cohort_for` names, created or found): registered as waiting, its shares counted there.
pub fn join_cohort(
    pool_rewards: &mut PoolRewardsV0,
    cohort: &mut PoolCohortV0,
    position: &mut PositionV0,
    activation_epoch: u64,
) -> MathResult<()> {
    let key_epoch = pool_rewards.cohort_for(activation_epoch);
    if cohort.key_epoch != key_epoch || cohort.operator != pool_rewards.operator {
        return Err(StakingError::WrongPoolCohort);
    }
    let count = usize::from(pool_rewards.waiting_count);
    match pool_rewards.waiting[..count]
        .iter()
        .position(|waiting| waiting.key_epoch == key_epoch)
    {
        Some(index) => {
            // Joining the newest cohort of a full list postpones its start to this
            // delegation's first epoch: nobody is paid for an epoch before its delegation.
            let slot = &mut pool_rewards.waiting[index];
            if activation_epoch > slot.activation_epoch {
                slot.activation_epoch = activation_epoch;
                cohort.activation_epoch = activation_epoch;
            }
        }
        None => {
            if count >= MAX_WAITING_COHORTS || cohort.started {
                return Err(StakingError::WrongPoolCohort);
            }
            pool_rewards.waiting[count] = WaitingCohort {
                key_epoch,
                activation_epoch,
            };
            pool_rewards.waiting_count += 1;
            cohort.activation_epoch = activation_epoch;
        }
    }
    cohort.shares = add(cohort.shares, position.shares)?;
    cohort.members_waiting = cohort
        .members_waiting
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    position.pool_cohort_epoch = Some(key_epoch);
    position.pool_earning = false;
    position.pool_reward_snapshot = pool_rewards.reward_per_share;
    Ok(())
}

/// The cohort given must be the one the position waits in; it is required while it waits.
fn waiting_cohort<'a>(
    position: &PositionV0,
    cohort: Option<&'a mut PoolCohortV0>,
) -> MathResult<Option<&'a mut PoolCohortV0>> {
    match (position.pool_cohort_epoch, cohort) {
        (None, _) => Ok(None),
        (Some(key), Some(cohort)) if cohort.key_epoch == key => Ok(Some(cohort)),
        (Some(_), Some(_)) => Err(StakingError::WrongPoolCohort),
        (Some(_), None) => Err(StakingError::PoolCohortMissing),
    }
}

/// Brings a delegated position's pool device rewards up to date: takes its cohort's start
/// once the cohort has started, then counts `shares * (reward_per_share - snapshot)` into
/// `unclaimed_pool_rewards`.
pub fn settle_pool_rewards(
    position: &mut PositionV0,
    pool_rewards: &PoolRewardsV0,
    cohort: Option<&mut PoolCohortV0>,
) -> MathResult<()> {
    if let Some(cohort) = waiting_cohort(position, cohort)? {
        if cohort.operator != pool_rewards.operator {
            return Err(StakingError::WrongPoolCohort);
        }
        if cohort.started {
            position.pool_earning = true;
            position.pool_reward_snapshot = cohort.reward_per_share_at_start;
            position.pool_cohort_epoch = None;
            cohort.members_waiting = cohort
                .members_waiting
                .checked_sub(1)
                .ok_or(StakingError::MathOverflow)?;
        }
    }
    if position.pool_earning {
        let earned = mul_div_floor(
            position.shares,
            sub(pool_rewards.reward_per_share, position.pool_reward_snapshot)?,
            REWARD_PRECISION,
        )
        .ok_or(StakingError::MathOverflow)?;
        let earned = u64::try_from(earned).map_err(|_| StakingError::MathOverflow)?;
        position.unclaimed_pool_rewards = add_u64(position.unclaimed_pool_rewards, earned)?;
        position.pool_reward_snapshot = pool_rewards.reward_per_share;
    }
    Ok(())
}

/// A position leaving (an undelegation request): settled, then out of the earning shares,
/// or out of the cohort it still waits in.
pub fn stop_earning(
    position: &mut PositionV0,
    pool_rewards: &mut PoolRewardsV0,
    mut cohort: Option<&mut PoolCohortV0>,
) -> MathResult<()> {
    settle_pool_rewards(position, pool_rewards, cohort.as_deref_mut())?;
    if position.pool_earning {
        pool_rewards.earning_shares = sub(pool_rewards.earning_shares, position.shares)?;
        position.pool_earning = false;
    }
    if let Some(cohort) = waiting_cohort(position, cohort)? {
        // Still waiting (the cohort has not started): it never earned.
        cohort.shares = sub(cohort.shares, position.shares)?;
        cohort.members_waiting = cohort
            .members_waiting
            .checked_sub(1)
            .ok_or(StakingError::MathOverflow)?;
        position.pool_cohort_epoch = None;
    }
    Ok(())
}

/// Takes a position's counted pool rewards for payment.
pub fn take_pool_rewards(
    position: &mut PositionV0,
    pool_rewards: &mut PoolRewardsV0,
) -> MathResult<u64> {
    let amount = position.unclaimed_pool_rewards;
    position.unclaimed_pool_rewards = 0;
    position.claimed_pool_rewards = add_u64(position.claimed_pool_rewards, amount)?;
    pool_rewards.total_paid = add_u64(pool_rewards.total_paid, amount)?;
    if pool_rewards.total_paid > pool_rewards.total_swept {
        return Err(StakingError::LedgerInvariantViolated);
    }
    Ok(amount)
}

/// What the reward program's claim record of the pool says (read by the sweep).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolClaim {
    /// Everything the pool was paid so far.
    pub claimed: u64,
    /// How many claims paid it.
    pub claims: u32,
    /// Root epoch of the newest claim.
    pub last_root_epoch: u64,
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sweep {
    /// Paid to the pool since the last sweep.
    pub received: u64,
    /// Added to the index (received + carried), 0 when nothing was earning.
    pub distributed: u64,
    pub carried: u64,
    /// Whether the rewards were attributed to `claim.last_root_epoch` exactly (one claim
    /// since the last sweep) rather than conservatively.
    pub exact: bool,
    /// Cohorts started before the rewards were added (they earn them), and after.
    pub started_before: u8,
    pub started_after: u8,
}

/// Sweeps what the pool was paid since the last sweep into its per-share index. `cohorts`
/// are the records of the waiting cohorts, oldest first, at least every one this sweep
/// starts (those with `activation_epoch <= claim.last_root_epoch`).
pub fn sweep(
    pool_rewards: &mut PoolRewardsV0,
    claim: PoolClaim,
    cohorts: &mut [&mut PoolCohortV0],
) -> MathResult<Sweep> {
    let received = claim
        .claimed
        .checked_sub(pool_rewards.swept_claimed)
        .ok_or(StakingError::LedgerInvariantViolated)?;
    let new_claims = claim
        .claims
        .checked_sub(pool_rewards.swept_claims)
        .ok_or(StakingError::LedgerInvariantViolated)?;
    let root_epoch = claim.last_root_epoch;
    if pool_rewards
        .last_swept_root_epoch
        .is_some_and(|last| root_epoch < last)
    {
        return Err(StakingError::LedgerInvariantViolated);
    }
    // One claim since the last sweep pays exactly the rewards up to its root: members whose
    // first epoch is at most that root earn them. Several claims lumped together may hold
    // earlier roots' rewards: then only cohorts due by the root after the last sweep do.
    let exact = new_claims <= 1;
    let earns_through = if exact {
        Some(root_epoch)
    } else {
        pool_rewards.last_swept_root_epoch.map(|last| last + 1)
    };
    let due = pool_rewards
        .waiting_cohorts()
        .iter()
        .take_while(|waiting| waiting.activation_epoch <= root_epoch)
        .count();
    if received == 0 && due == 0 {
        return Err(StakingError::NothingToSweep);
    }
    if cohorts.len() < due {
        return Err(StakingError::CohortsMissing);
    }
    let mut started_before = 0u8;
    let mut started = 0usize;
    let mut start_due = |pool_rewards: &mut PoolRewardsV0,
                         through: Option<u64>,
                         cohorts: &mut [&mut PoolCohortV0]|
     -> MathResult<u8> {
        let mut count = 0;
        while started < due {
            let waiting = pool_rewards.waiting[started];
            if through.is_none_or(|through| waiting.activation_epoch > through) {
                break;
            }
            let cohort = &mut *cohorts[started];
            if cohort.key_epoch != waiting.key_epoch
                || cohort.operator != pool_rewards.operator
                || cohort.started
            {
                return Err(StakingError::CohortsMissing);
            }
            cohort.started = true;
            cohort.reward_per_share_at_start = pool_rewards.reward_per_share;
            pool_rewards.earning_shares = add(pool_rewards.earning_shares, cohort.shares)?;
            started += 1;
            count += 1;
        }
        Ok(count)
    };
    started_before += start_due(pool_rewards, earns_through, cohorts)?;
    let available = add_u64(pool_rewards.carried, received)?;
    let distributed = if pool_rewards.earning_shares > 0 && available > 0 {
        let increase = mul_div_floor(
            u128::from(available),
            REWARD_PRECISION,
            pool_rewards.earning_shares,
        )
        .ok_or(StakingError::MathOverflow)?;
        pool_rewards.reward_per_share = add(pool_rewards.reward_per_share, increase)?;
        available
    } else {
        0
    };
    pool_rewards.carried = available - distributed;
    let started_after = start_due(pool_rewards, Some(root_epoch), cohorts)?;
    // Drop the started cohorts from the waiting list.
    let count = usize::from(pool_rewards.waiting_count);
    pool_rewards.waiting.copy_within(started..count, 0);
    for slot in &mut pool_rewards.waiting[count - started..count] {
        *slot = WaitingCohort::default();
    }
    pool_rewards.waiting_count -= started as u8;
    pool_rewards.swept_claimed = claim.claimed;
    pool_rewards.swept_claims = claim.claims;
    pool_rewards.last_swept_root_epoch = Some(root_epoch);
    pool_rewards.total_swept = add_u64(pool_rewards.total_swept, received)?;
    Ok(Sweep {
        received,
        distributed,
        carried: pool_rewards.carried,
        exact,
        started_before,
        started_after,
    })
}

#[cfg(test)]
mod tests;
