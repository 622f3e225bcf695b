use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::PositionClosed;
use crate::state::{seeds, PositionV0, StakingConfigV0};

/// The owner closes an emptied position (no tokens, no shares, no unclaimed rewards) and gets
/// its rent back.
#[event_cpi]
#[derive(Accounts)]
pub struct ClosePositionV0<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        close = owner,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
        has_one = owner @ StakingError::NotPositionOwner,
    )]
    pub position: Box<Account<'info, PositionV0>>,
}

pub fn handler(ctx: Context<ClosePositionV0>) -> Result<()> {
    let position = &ctx.accounts.position;
    require!(
        position.amount == 0 && position.operator.is_none() && position.unclaimed_rewards == 0,
        StakingError::PositionNotEmpty
    );
    let config = &mut ctx.accounts.config;
    config.position_count = config
        .position_count
        .checked_sub(1)
        .ok_or(StakingError::MathOverflow)?;
    let event = PositionClosed {
        position: position.key(),
        owner: position.owner,
    };
    emit_cpi!(event);
    Ok(())
}
