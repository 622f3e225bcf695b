use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::errors::RewardError;
use crate::events::RewardParamsUpdated;
use crate::state::{seeds, EmissionSplit, RewardConfigV0};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RewardParamsV0 {
    /// Applies to epochs closed from now on.
    pub split: EmissionSplit,
    /// Applies to roots that become pending from now on (a pending root keeps the activation
    /// time fixed when it became pending).
    pub challenge_period_s: i64,
}

/// Authority: changes the split (future epochs only), the challenge period (future pending
/// roots only) and the treasury, which must be a token account of the network mint (so a
/// wrong address cannot halt `close_epoch`).
#[event_cpi]
#[derive(Accounts)]
pub struct UpdateRewardParamsV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::REWARD_CONFIG],
        bump = config.bump,
        has_one = authority @ RewardError::NotAuthority,
        has_one = network_mint,
    )]
    pub config: Box<Account<'info, RewardConfigV0>>,
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    /// Receives the treasury share from now on.
    #[account(token::mint = network_mint)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
}

impl UpdateRewardParamsV0<'_> {
    /// The split adds up to 10,000 basis points and the challenge period is not negative.
    pub fn validate(&self, params: &RewardParamsV0) -> Result<()> {
        params.split.validate()?;
        require!(params.challenge_period_s >= 0, RewardError::InvalidTiming);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&params))]
pub fn handler(ctx: Context<UpdateRewardParamsV0>, params: RewardParamsV0) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let treasury = ctx.accounts.treasury.key();
    let config = &mut ctx.accounts.config;
    let event = RewardParamsUpdated {
        unix_timestamp,
        split_before: config.split,
        split_after: params.split,
        challenge_period_before_s: config.challenge_period_s,
        challenge_period_after_s: params.challenge_period_s,
        treasury_before: config.treasury,
        treasury_after: treasury,
    };
    config.split = params.split;
    config.challenge_period_s = params.challenge_period_s;
    config.treasury = treasury;
    config.invariant()?;
    emit_cpi!(event);
    Ok(())
}
