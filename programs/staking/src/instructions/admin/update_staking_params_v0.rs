use anchor_lang::prelude::*;

use super::authority::StakingAuthorityV0;
use crate::events::StakingParamsUpdated;
use crate::state::StakingParams;

/// Authority: changes the forward-looking parameters (bonus, saturation, cooldown, maximum
/// slash). Lockups already chosen keep their multiplier; unlocks already started keep their
/// withdrawable epoch.
pub fn handler(ctx: Context<StakingAuthorityV0>, params: StakingParams) -> Result<()> {
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
