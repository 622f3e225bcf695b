use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::UndelegationRequested;
use crate::math;
use crate::state::{seeds, PositionV0, StakingConfigV0};

/// The owner asks to leave the operator's pool. The tokens stay in the pool — still exposed
/// to slashes, still earning — for the rest of this epoch and `unbonding_epochs` full epochs
/// after it (fixed now); `complete_undelegation_v0` then takes them out at the share value of
/// that moment.
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
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<UndelegateV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let epoch = ctx.accounts.config.epoch_at(now);
    let params = ctx.accounts.config.params;
    let position = &mut ctx.accounts.position;
    let pending = math::request_undelegation(position, &params, epoch)?;
    let event = UndelegationRequested {
        unix_timestamp: now,
        operator: position
            .operator
            .ok_or(StakingError::PositionNotDelegated)?,
        requested_epoch: pending.requested_epoch,
        completes_epoch: pending.completes_epoch,
        position: (***position).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
