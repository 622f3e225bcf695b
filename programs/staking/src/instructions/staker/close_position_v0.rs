use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::PositionClosed;
use crate::state::{seeds, PositionV0, StakingConfigV0};

/// The owner closes an emptied position (no tokens, no shares, no bonus, no unclaimed
/// rewards) and gets its rent back.
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

impl ClosePositionV0<'_> {
    /// Nothing is left in the position.
    pub fn validate(&self) -> Result<()> {
        let position = &self.position;
        require!(
            position.amount == 0
                && position.operator.is_none()
                && position.bonus_weight == 0
                && position.bonus_expiry_epoch.is_none()
                && position.unclaimed_rewards == 0
                && position.unclaimed_pool_rewards == 0,
            StakingError::PositionNotEmpty
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<ClosePositionV0>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.position_count = config
        .position_count
        .checked_sub(1)
        .ok_or(StakingError::MathOverflow)?;
    config.invariant()?;
    let event = PositionClosed {
        unix_timestamp: Clock::get()?.unix_timestamp,
        position: (**ctx.accounts.position).clone(),
        config: (**ctx.accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
