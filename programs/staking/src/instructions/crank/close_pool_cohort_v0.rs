use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::PoolCohortClosed;
use crate::state::{seeds, PoolCohortV0};

/// Anyone closes a pool cohort once a sweep has done it (its exits left, its joins started)
/// and every member has taken its start or end; the rent goes back to whoever paid it.
#[event_cpi]
#[derive(Accounts)]
pub struct ClosePoolCohortV0<'info> {
    #[account(
        mut,
        close = rent_payer,
        seeds = [seeds::POOL_COHORT, cohort.operator.as_ref(), &cohort.key_epoch.to_le_bytes()],
        bump = cohort.bump,
        has_one = rent_payer,
    )]
    pub cohort: Box<Account<'info, PoolCohortV0>>,
    /// CHECK: the wallet that paid the cohort's rent (checked by `has_one`); receives it.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
}

impl ClosePoolCohortV0<'_> {
    /// Done, and no member still needs it.
    pub fn validate(&self) -> Result<()> {
        let cohort = &self.cohort;
        require!(
            cohort.started
                && cohort.exited
                && cohort.members_waiting == 0
                && cohort.exit_members_waiting == 0,
            StakingError::PoolCohortInUse
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<ClosePoolCohortV0>) -> Result<()> {
    emit_cpi!(PoolCohortClosed {
        unix_timestamp: Clock::get()?.unix_timestamp,
        operator: ctx.accounts.cohort.operator,
        key_epoch: ctx.accounts.cohort.key_epoch,
        rent_payer: ctx.accounts.rent_payer.key(),
    });
    Ok(())
}
