use anchor_lang::prelude::*;

use super::authority::{AuthorityV0, ValidateArgs};
use crate::errors::TokenomicsError;
use crate::events::EmissionStepsAppended;
use crate::state::{EmissionStep, MAX_EMISSION_STEPS};

impl ValidateArgs<Vec<EmissionStep>> for AuthorityV0<'_> {
    /// At least one step, the schedule's capacity is not exceeded, and the first new step
    /// starts after the last existing step and at or after the next epoch to mint (the order
    /// among the new steps is checked by the config's invariant once appended).
    fn validate(&self, steps: &Vec<EmissionStep>) -> Result<()> {
        let config = &self.config;
        require!(!steps.is_empty(), TokenomicsError::EmptySchedule);
        let len_after = config
            .emission_schedule
            .len()
            .checked_add(steps.len())
            .ok_or(TokenomicsError::MathOverflow)?;
        require!(
            len_after <= MAX_EMISSION_STEPS,
            TokenomicsError::ScheduleTooLong
        );
        let first_new = steps[0].start_epoch;
        let last_existing = config.emission_schedule.last().map(|step| step.start_epoch);
        require!(
            first_new >= config.next_epoch_to_mint
                && last_existing.is_none_or(|last| first_new > last),
            TokenomicsError::StepRewritesPast
        );
        Ok(())
    }
}

/// Authority: appends future steps to the emission schedule. Past and current epochs are never
/// rewritten: each new step starts after the last existing step and at or after the next
/// epoch to be minted.
#[access_control(ctx.accounts.validate(&steps))]
pub fn handler(ctx: Context<AuthorityV0>, steps: Vec<EmissionStep>) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    config.emission_schedule.extend_from_slice(&steps);
    // Rejects steps that are not strictly increasing among themselves.
    config.invariant()?;
    let schedule_len_after =
        u32::try_from(config.emission_schedule.len()).map_err(|_| TokenomicsError::MathOverflow)?;
    emit_cpi!(EmissionStepsAppended {
        unix_timestamp,
        steps,
        schedule_len_after,
    });
    Ok(())
}
