use anchor_lang::prelude::*;

use super::checks::{check_pool_rewards, cohort_mut, cohort_snapshot};
use crate::errors::StakingError;
use crate::events::UndelegationRequested;
use crate::math;
use crate::math::pool_rewards::request_exit;
use crate::state::{seeds, PoolCohortV0, PoolRewardsV0, PositionV0, StakingConfigV0};

/// The owner asks to leave the operator's pool. The tokens stay in the pool — still exposed
/// to slashes, still earning staker rewards — for the rest of this epoch and
/// `unbonding_epochs` full epochs after it (fixed now); `complete_undelegation_v0` then takes
/// them out at the share value of that moment. The pool's device rewards stop with this
/// epoch: the position keeps those of the epochs before it (it waits in the exit cohort
/// `exit_epoch`, this epoch, created at the owner's expense if needed); a delegation whose
/// join cohort has not started yet (no sweep reached its first epoch) never earns.
#[event_cpi]
#[derive(Accounts)]
#[instruction(exit_epoch: u64)]
pub struct UndelegateV0<'info> {
    #[account(mut)]
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
    /// The pool cohort the position waits in to start earning, when not `exit_epoch`'s.
    #[account(mut)]
    pub pool_cohort: Option<Box<Account<'info, PoolCohortV0>>>,
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + PoolCohortV0::INIT_SPACE,
        seeds = [
            seeds::POOL_COHORT,
            position.operator.unwrap_or_default().as_ref(),
            &exit_epoch.to_le_bytes(),
        ],
        bump,
    )]
    pub exit_cohort: Box<Account<'info, PoolCohortV0>>,
    pub system_program: Program<'info, System>,
}

impl UndelegateV0<'_> {
    /// The position is delegated and not already leaving, and `exit_epoch` is this epoch.
    pub fn validate(&self, exit_epoch: u64) -> Result<()> {
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
        require!(
            exit_epoch == self.config.epoch_at(Clock::get()?.unix_timestamp),
            StakingError::WrongPoolCohort
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(exit_epoch))]
pub fn handler(ctx: Context<UndelegateV0>, exit_epoch: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let params = ctx.accounts.config.params;
    let accounts = &mut *ctx.accounts;
    let operator = accounts
        .position
        .operator
        .ok_or(StakingError::PositionNotDelegated)?;
    accounts.exit_cohort.init_if_new(
        ctx.bumps.exit_cohort,
        operator,
        exit_epoch,
        accounts.owner.key(),
    );
    let position = &mut accounts.position;
    let pending = math::request_undelegation(position, &params, exit_epoch)?;
    let pool_rewards = accounts
        .pool_rewards
        .as_deref_mut()
        .ok_or(StakingError::PoolRewardsMissing)?;
    request_exit(
        position,
        pool_rewards,
        cohort_mut(&mut accounts.pool_cohort),
        &mut accounts.exit_cohort,
        exit_epoch,
    )?;
    let event = UndelegationRequested {
        unix_timestamp: now,
        operator,
        requested_epoch: pending.requested_epoch,
        completes_epoch: pending.completes_epoch,
        position: (***position).clone(),
        pool_rewards: (**pool_rewards).clone(),
        cohort: (**accounts.exit_cohort).clone(),
        join_cohort: cohort_snapshot(&accounts.pool_cohort),
    };
    emit_cpi!(event);
    Ok(())
}
