use anchor_lang::prelude::*;

use super::checks::{check_pool, record_mut, record_snapshots};
use crate::errors::StakingError;
use crate::events::Undelegated;
use crate::math;
use crate::state::{seeds, EpochStakeV0, OperatorPoolV0, PositionV0, StakingConfigV0};

/// Completes an undelegation once its unbonding epochs have passed: the position gets its
/// shares' value back as its own tokens (after every slash up to now). The pool device
/// rewards it earned until its request must have been claimed first.
#[event_cpi]
#[derive(Accounts)]
pub struct CompleteUndelegationV0<'info> {
    pub owner: Signer<'info>,
    #[account(mut, seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
        has_one = owner @ StakingError::NotPositionOwner,
    )]
    pub position: Box<Account<'info, PositionV0>>,
    #[account(mut, seeds = [seeds::OPERATOR_POOL, pool.operator.as_ref()], bump = pool.bump)]
    pub pool: Box<Account<'info, OperatorPoolV0>>,
    /// The record of the position's bonus expiry epoch (required while it has one).
    #[account(mut)]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
}

impl CompleteUndelegationV0<'_> {
    /// The pool is the position's, an undelegation was requested and its unbonding is over.
    pub fn validate(&self) -> Result<()> {
        check_pool(&self.position, Some(&self.pool))?;
        let pending = self
            .position
            .pending_undelegation
            .ok_or(StakingError::NoUndelegationRequested)?;
        let epoch = self.config.epoch_at(Clock::get()?.unix_timestamp);
        require!(
            epoch >= pending.completes_epoch,
            StakingError::UndelegationNotMatured
        );
        require!(
            self.position.unclaimed_pool_rewards == 0,
            StakingError::ClaimPoolRewardsFirst
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<CompleteUndelegationV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let operator = accounts.pool.operator;
    math::leave_pool(
        &mut accounts.position,
        &mut accounts.config,
        &mut accounts.pool,
        record_mut(&mut accounts.bonus_record),
    )?;
    accounts.config.invariant()?;
    let event = Undelegated {
        unix_timestamp: now,
        operator,
        amount: accounts.position.amount,
        position: (**accounts.position).clone(),
        pool: (**accounts.pool).clone(),
        records: record_snapshots(&[&accounts.bonus_record]),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
