use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::StakingParamsUpdated;
use crate::state::{seeds, StakingConfigV0, StakingParams};

/// Authority: changes the forward-looking parameters (bonus, saturation, cooldown, maximum
/// slash). Lockups already chosen keep their multiplier; unlocks already started keep their
/// withdrawable epoch.
#[event_cpi]
#[derive(Accounts)]
pub struct UpdateStakingParamsV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::STAKING_CONFIG],
        bump = config.bump,
        has_one = authority @ StakingError::NotAuthority,
    )]
    pub config: Box<Account<'info, StakingConfigV0>>,
}

pub fn handler(ctx: Context<UpdateStakingParamsV0>, params: StakingParams) -> Result<()> {
    params.validate()?;
    let config = &mut ctx.accounts.config;
    let before = config.params;
    config.params = params;
    emit_cpi!(StakingParamsUpdated {
        before,
        after: params
    });
    Ok(())
}
