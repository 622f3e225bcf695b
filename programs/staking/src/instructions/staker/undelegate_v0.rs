use anchor_lang::prelude::*;

use super::checks::{check_pool_rewards, cohort_mut, cohort_snapshot};
use crate::errors::StakingError;
use crate::events::UndelegationRequested;
use crate::math;
use crate::math::pool_rewards::stop_earning;
use crate::state::{seeds, PoolCohortV0, PoolRewardsV0, PositionV0, StakingConfigV0};

/// The owner asks to leave the operator's pool. The tokens stay in the pool — still exposed
/// to slashes, still earning staker rewards — for the rest of this epoch and
/// `unbonding_epochs` full epochs after it (fixed now); `complete_undelegation_v0` then takes
/// them out at the share value of that moment. The pool's device rewards stop at once: what
/// the position earned up to the last sweep is counted (claimable), and the rewards of epochs
/// not yet swept stay with the members who stay.
#[event_cpi]
#[derive(Accounts)]
pub struct UndelegateV0<'info> {
    pub owner: Signer<'info>,
    #[account(seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
        has_one = owner @ StakingError::NotPositionOwner,
    )]
    pub position: Box<Account<'info, PositionV0>>,
    /// The pool's device rewards (required: the position is delegated).
    #[account(mut)]
    pub pool_rewards: Option<Box<Account<'info, PoolRewardsV0>>>,
    /// The pool cohort the position waits in (required while it waits).
    #[account(mut)]
    pub pool_cohort: Option<Box<Account<'info, PoolCohortV0>>>,
}

impl UndelegateV0<'_> {
    /// The position is delegated and not already leaving.
    pub fn validate(&self) -> Result<()> {
        require!(
            self.position.operator.is_some(),
            StakingError::PositionNotDelegated
        );
        require!(
            self.position.pending_undelegation.is_none(),
            StakingError::UndelegationPending
        );
        check_pool_rewards(
            &self.position,
            self.pool_rewards.as_deref().map(|account| &**account),
        )?;
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<UndelegateV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let epoch = ctx.accounts.config.epoch_at(now);
    let params = ctx.accounts.config.params;
    let accounts = &mut *ctx.accounts;
    let position = &mut accounts.position;
    let pending = math::request_undelegation(position, &params, epoch)?;
    let pool_rewards = accounts
        .pool_rewards
        .as_deref_mut()
        .ok_or(StakingError::PoolRewardsMissing)?;
    stop_earning(
        position,
        pool_rewards,
        cohort_mut(&mut accounts.pool_cohort),
    )?;
    let event = UndelegationRequested {
        unix_timestamp: now,
        operator: position
            .operator
            .ok_or(StakingError::PositionNotDelegated)?,
        requested_epoch: pending.requested_epoch,
        completes_epoch: pending.completes_epoch,
        position: (***position).clone(),
        pool_rewards: (**pool_rewards).clone(),
        cohort: cohort_snapshot(&accounts.pool_cohort),
    };
    emit_cpi!(event);
    Ok(())
}
