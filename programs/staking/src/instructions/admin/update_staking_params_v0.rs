use anchor_lang::prelude::*;

use super::authority::AuthorityV0;
use crate::events::StakingParamsUpdated;
use crate::state::StakingParams;

/// Authority: changes the forward-looking parameters (bonus, saturation, cooldown, maximum
/// slash, unbonding). Lockups already chosen keep their multiplier; unlocks and
/// undelegations already started keep their epochs.
pub fn handler(ctx: Context<AuthorityV0>, params: StakingParams) -> Result<()> {
    params.validate()?;
    let config = &mut ctx.accounts.config;
    let before = config.params;
    config.params = params;
    config.invariant()?;
    emit_cpi!(StakingParamsUpdated {
        unix_timestamp: Clock::get()?.unix_timestamp,
        before,
        after: params
    });
    Ok(())
}
