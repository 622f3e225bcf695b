use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::EpochStakeClosed;
use crate::state::{seeds, EpochStakeV0};

/// Anyone closes an epoch-stake record once its epoch has been funded and no position needs
/// it any more (every position it activated has activated, every bonus it ends has ended);
/// the rent goes back to whoever paid it.
#[event_cpi]
#[derive(Accounts)]
pub struct CloseEpochStakeV0<'info> {
    #[account(
        mut,
        close = rent_payer,
        seeds = [seeds::EPOCH_STAKE, &record.epoch.to_le_bytes()],
        bump = record.bump,
        has_one = rent_payer,
    )]
    pub record: Box<Account<'info, EpochStakeV0>>,
    /// CHECK: the wallet that paid the record's rent (checked by `has_one`); receives it.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
}

impl CloseEpochStakeV0<'_> {
    /// Funded, and no position refers to it.
    pub fn validate(&self) -> Result<()> {
        require!(
            self.record.funded && self.record.references == 0,
            StakingError::EpochStakeInUse
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<CloseEpochStakeV0>) -> Result<()> {
    emit_cpi!(EpochStakeClosed {
        unix_timestamp: Clock::get()?.unix_timestamp,
        epoch: ctx.accounts.record.epoch,
        rent_payer: ctx.accounts.rent_payer.key(),
    });
    Ok(())
}
