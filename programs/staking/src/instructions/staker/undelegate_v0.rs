use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::UndelegationRequested;
use crate::state::{seeds, PositionV0, StakingConfigV0};

/// The owner asks to leave the operator's pool. The tokens stay in the pool — still exposed
/// to slashes — until the current epoch has ended; `complete_undelegation_v0` then takes them
/// out at the share value of that moment.
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

pub fn handler(ctx: Context<UndelegateV0>) -> Result<()> {
    let epoch = ctx.accounts.config.epoch_at(Clock::get()?.unix_timestamp);
    let position = &mut ctx.accounts.position;
    let operator = position
        .operator
        .ok_or(StakingError::PositionNotDelegated)?;
    require!(
        position.undelegation_requested_epoch.is_none(),
        StakingError::UndelegationPending
    );
    position.undelegation_requested_epoch = Some(epoch);
    let event = UndelegationRequested {
        position: position.key(),
        operator,
        epoch,
    };
    emit_cpi!(event);
    Ok(())
}
