use anchor_lang::prelude::*;

use crate::events::PositionSynced;
use crate::instructions::staker::checks::{
    bring_up_to_date, cohort_snapshot, pool_rewards_snapshot, record_snapshots, settle_pool,
};
use crate::state::{
    seeds, EpochStakeV0, OperatorPoolV0, PoolCohortV0, PoolRewardsV0, PositionV0, StakingConfigV0,
};

/// Anyone brings a position up to date without paying it: activates it, counts its rewards
/// (staker rewards, and its pool's device rewards while delegated),
/// ends an expired bonus, and revalues a delegated bonus after a slash of its pool (so the
/// slashed part stops counting in the active weight at once). Whoever slashes an operator
/// cranks this for the pool's members.
#[event_cpi]
#[derive(Accounts)]
pub struct SyncPositionV0<'info> {
    #[account(mut, seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
    )]
    pub position: Box<Account<'info, PositionV0>>,
    /// The position's activation record (required until it is active).
    #[account(mut)]
    pub activation_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The record of the position's bonus expiry epoch (required while it has one).
    #[account(mut)]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The pool the position is delegated to (required while delegated).
    #[account(mut)]
    pub pool: Option<Box<Account<'info, OperatorPoolV0>>>,
    /// The pool's device rewards (required while delegated).
    #[account(mut)]
    pub pool_rewards: Option<Box<Account<'info, PoolRewardsV0>>>,
    /// The pool cohort the position waits in (required while it waits).
    #[account(mut)]
    pub pool_cohort: Option<Box<Account<'info, PoolCohortV0>>>,
}

pub fn handler(ctx: Context<SyncPositionV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    bring_up_to_date(
        &mut accounts.position,
        &mut accounts.config,
        &mut accounts.activation_record,
        &mut accounts.bonus_record,
        &mut accounts.pool,
    )?;
    settle_pool(
        &mut accounts.position,
        &mut accounts.pool_rewards,
        &mut accounts.pool_cohort,
    )?;
    accounts.config.invariant()?;
    let event = PositionSynced {
        unix_timestamp: now,
        position: (**accounts.position).clone(),
        pool: accounts.pool.as_deref().map(|pool| (**pool).clone()),
        pool_rewards: pool_rewards_snapshot(&accounts.pool_rewards),
        cohort: cohort_snapshot(&accounts.pool_cohort),
        records: record_snapshots(&[&accounts.activation_record, &accounts.bonus_record]),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
