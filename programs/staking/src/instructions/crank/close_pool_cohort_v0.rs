use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::PoolCohortClosed;
use crate::state::{seeds, PoolCohortV0, PoolRewardsV0};

/// Anyone closes a pool cohort that is no longer on its pool's waiting list (a sweep did it,
/// or it was never listed) once no member needs it (every member took its start or end); the
/// rent goes back to whoever paid it.
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
    #[account(
        seeds = [seeds::POOL_REWARDS, cohort.operator.as_ref()],
        bump = pool_rewards.bump,
    )]
    pub pool_rewards: Box<Account<'info, PoolRewardsV0>>,
}

impl ClosePoolCohortV0<'_> {
    /// Not waiting for a sweep, and no member still needs it.
    pub fn validate(&self) -> Result<()> {
        let cohort = &self.cohort;
        let listed = self
            .pool_rewards
            .waiting_cohorts()
            .iter()
            .any(|waiting| waiting.key_epoch == cohort.key_epoch);
        require!(
            !listed && cohort.members_waiting == 0 && cohort.exit_members_waiting == 0,
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
