use anchor_lang::prelude::*;

use super::authority_update::AuthorityUpdateV0;
use crate::errors::TokenomicsError;
use crate::events::EmissionStepsAppended;
use crate::state::{EmissionStep, TokenomicsConfigV0, MAX_EMISSION_STEPS};

/// New steps start at or after the next epoch to mint and after the last existing step.
fn validate_new_steps(config: &TokenomicsConfigV0, steps: &[EmissionStep]) -> Result<()> {
    require!(!steps.is_empty(), TokenomicsError::EmptySchedule);
    require!(
        config.emission_schedule.len() + steps.len() <= MAX_EMISSION_STEPS,
        TokenomicsError::ScheduleTooLong
    );
    let first_new = steps[0].start_epoch;
    let last_existing = config.emission_schedule.last().map(|step| step.start_epoch);
    require!(
        first_new >= config.next_epoch_to_mint && last_existing.is_none_or(|last| first_new > last),
        TokenomicsError::StepRewritesPast
    );
    Ok(())
}

/// Authority: appends future steps to the emission schedule. Past and current epochs are never
/// rewritten: each new step starts after the last existing step and at or after the next
/// epoch to be minted.
pub fn handler(ctx: Context<AuthorityUpdateV0>, steps: Vec<EmissionStep>) -> Result<()> {
    validate_new_steps(&ctx.accounts.config, &steps)?;
    let config = &mut ctx.accounts.config;
    config.emission_schedule.extend_from_slice(&steps);
    // Rejects steps that are not strictly increasing among themselves.
    config.invariant()?;
    let schedule_len_after = config.emission_schedule.len() as u32;
    emit_cpi!(EmissionStepsAppended {
        steps,
        schedule_len_after,
    });
    Ok(())
}
