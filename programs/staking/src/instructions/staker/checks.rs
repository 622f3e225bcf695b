//! Checks of the optional accounts a position instruction takes, the activation step every
//! one of them starts with, and the snapshots their events carry.

use anchor_lang::prelude::*;
use anchor_lang::Discriminator;

use crate::errors::StakingError;
use crate::math;
use crate::math::pool_rewards::settle_pool_rewards;
use crate::state::{
    EpochStakeV0, OperatorPoolV0, PoolCohortV0, PoolRewardsV0, PositionV0, StakingConfigV0,
};

/// An optional epoch-stake account as the record it holds.
pub fn record_mut<'a>(
    account: &'a mut Option<Box<Account<'_, EpochStakeV0>>>,
) -> Option<&'a mut EpochStakeV0> {
    account.as_deref_mut().map(|record| &mut **record)
}

/// An optional pool account as the pool it holds.
pub fn pool_mut<'a>(
    account: &'a mut Option<Box<Account<'_, OperatorPoolV0>>>,
) -> Option<&'a mut OperatorPoolV0> {
    account.as_deref_mut().map(|pool| &mut **pool)
}

/// The epoch-stake records an instruction was given, as they are now (for its event).
pub fn record_snapshots(accounts: &[&Option<Box<Account<'_, EpochStakeV0>>>]) -> Vec<EpochStakeV0> {
    accounts
        .iter()
        .filter_map(|account| account.as_deref().map(|record| (**record).clone()))
        .collect()
}

/// The activation record given must be the position's; it is required while the position has
/// not joined the active weight. Activates the position if its epoch has been funded.
pub fn activate(position: &mut PositionV0, record: Option<&mut EpochStakeV0>) -> Result<()> {
    if let Some(record) = record.as_deref() {
        require!(
            record.epoch == position.activation_epoch,
            StakingError::WrongEpochStake
        );
    }
    if !position.activated {
        require!(record.is_some(), StakingError::EpochStakeMissing);
    }
    math::activate_if_funded(position, record)?;
    Ok(())
}

/// Brings a position up to date from the optional accounts an instruction was given:
/// activates it, checks its pool, and counts its rewards (ending an expired bonus, revaluing
/// a slashed one).
pub fn bring_up_to_date(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    activation_record: &mut Option<Box<Account<'_, EpochStakeV0>>>,
    bonus_record: &mut Option<Box<Account<'_, EpochStakeV0>>>,
    pool: &mut Option<Box<Account<'_, OperatorPoolV0>>>,
) -> Result<()> {
    activate(position, record_mut(activation_record))?;
    check_pool(position, pool.as_deref().map(|pool| &**pool))?;
    math::settle(position, config, pool_mut(pool), record_mut(bonus_record))?;
    Ok(())
}

/// The pool given must be the one the position is delegated to; required while delegated.
pub fn check_pool(position: &PositionV0, pool: Option<&OperatorPoolV0>) -> Result<()> {
    match (position.operator, pool) {
        (Some(operator), Some(pool)) => {
            require_keys_eq!(pool.operator, operator, StakingError::WrongOperatorPool)
        }
        (Some(_), None) => return err!(StakingError::OperatorPoolMissing),
        (None, _) => {}
    }
    Ok(())
}

/// `operator` (read raw at the registry's operator PDA, so the staking IDL does not embed the
/// registry's types) holds a registered operator's record.
pub fn require_registered_operator(operator: &AccountInfo) -> Result<()> {
    require!(
        operator
            .try_borrow_data()?
            .starts_with(device_registry::OperatorV0::DISCRIMINATOR),
        StakingError::NotARegisteredOperator
    );
    Ok(())
}

/// An optional pool cohort account as the cohort it holds.
pub fn cohort_mut<'a>(
    account: &'a mut Option<Box<Account<'_, PoolCohortV0>>>,
) -> Option<&'a mut PoolCohortV0> {
    account.as_deref_mut().map(|cohort| &mut **cohort)
}

/// The pool rewards account given must be the one of the pool the position is delegated to;
/// required while delegated.
pub fn check_pool_rewards(
    position: &PositionV0,
    pool_rewards: Option<&PoolRewardsV0>,
) -> Result<()> {
    match (position.operator, pool_rewards) {
        (Some(operator), Some(pool_rewards)) => {
            require_keys_eq!(
                pool_rewards.operator,
                operator,
                StakingError::WrongPoolRewards
            )
        }
        (Some(_), None) => return err!(StakingError::PoolRewardsMissing),
        (None, _) => {}
    }
    Ok(())
}

/// Brings a delegated position's pool device rewards up to date (takes its cohort's start
/// once started, counts what it earned); nothing for an undelegated one.
pub fn settle_pool(
    position: &mut PositionV0,
    pool_rewards: &mut Option<Box<Account<'_, PoolRewardsV0>>>,
    cohort: &mut Option<Box<Account<'_, PoolCohortV0>>>,
) -> Result<()> {
    check_pool_rewards(position, pool_rewards.as_deref().map(|account| &**account))?;
    if let (Some(_), Some(pool_rewards)) = (position.operator, pool_rewards.as_deref()) {
        settle_pool_rewards(position, pool_rewards, cohort_mut(cohort))?;
    }
    Ok(())
}

/// An optional pool rewards account as it is now (for events).
pub fn pool_rewards_snapshot(
    account: &Option<Box<Account<'_, PoolRewardsV0>>>,
) -> Option<PoolRewardsV0> {
    account
        .as_deref()
        .map(|pool_rewards| (**pool_rewards).clone())
}

/// An optional pool cohort account as it is now (for events).
pub fn cohort_snapshot(account: &Option<Box<Account<'_, PoolCohortV0>>>) -> Option<PoolCohortV0> {
    account.as_deref().map(|cohort| (**cohort).clone())
}
