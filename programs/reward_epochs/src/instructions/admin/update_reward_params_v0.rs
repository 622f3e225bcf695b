use anchor_lang::prelude::*;

use super::authority::RewardAuthorityV0;
use crate::errors::RewardError;
use crate::events::RewardParamsUpdated;
use crate::state::EmissionSplit;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RewardParamsV0 {
    /// Applies to epochs closed from now on.
    pub split: EmissionSplit,
    /// Applies to roots that become pending from now on.
    pub challenge_period_s: i64,
    /// Token account (of the network mint) receiving the treasury share from now on.
    pub treasury: Pubkey,
}

/// Authority: changes the split (future epochs only), the challenge period and the treasury.
pub fn handler(ctx: Context<RewardAuthorityV0>, params: RewardParamsV0) -> Result<()> {
    params.split.validate()?;
    require!(params.challenge_period_s >= 0, RewardError::InvalidTiming);
    let config = &mut ctx.accounts.config;
    let event = RewardParamsUpdated {
        split_before: config.split,
        split_after: params.split,
        challenge_period_before_s: config.challenge_period_s,
        challenge_period_after_s: params.challenge_period_s,
        treasury_before: config.treasury,
        treasury_after: params.treasury,
    };
    config.split = params.split;
    config.challenge_period_s = params.challenge_period_s;
    config.treasury = params.treasury;
    emit_cpi!(event);
    Ok(())
}
