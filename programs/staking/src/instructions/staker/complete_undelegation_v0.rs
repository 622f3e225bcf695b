use anchor_lang::prelude::*;

use super::checks::check_pool;
use crate::errors::StakingError;
use crate::events::Undelegated;
use crate::math;
use crate::state::{seeds, OperatorPoolV0, PositionV0, StakingConfigV0};

/// Completes an undelegation once the epoch it was requested in has ended: the position gets
/// its shares' value back as its own tokens (after every slash up to now).
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
}

pub fn handler(ctx: Context<CompleteUndelegationV0>) -> Result<()> {
    let epoch = ctx.accounts.config.epoch_at(Clock::get()?.unix_timestamp);
    let accounts = &mut *ctx.accounts;
    let position = &mut accounts.position;
    check_pool(position, Some(&accounts.pool))?;
    let requested = position
        .undelegation_requested_epoch
        .ok_or(StakingError::NoUndelegationRequested)?;
    require!(epoch > requested, StakingError::UndelegationNotMatured);
    let operator = accounts.pool.operator;
    math::leave_pool(position, &mut accounts.config, &mut accounts.pool)?;
    let event = Undelegated {
        position: position.key(),
        operator,
        amount: position.amount,
        pool_tokens_after: accounts.pool.tokens,
    };
    emit_cpi!(event);
    Ok(())
}
