use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::checks::{activate, check_pool};
use crate::errors::StakingError;
use crate::events::StakeRewardsClaimed;
use crate::instructions::tokens::pay_from_vault;
use crate::math;
use crate::state::{seeds, EpochStakeV0, OperatorPoolV0, PositionV0, StakingConfigV0};

/// Pays a position everything it earned, over any number of epochs, in one O(1) instruction,
/// into the owner's token account. Anyone may send it (a crank can claim for stakers).
#[event_cpi]
#[derive(Accounts)]
pub struct ClaimStakeRewardsV0<'info> {
    #[account(
        mut,
        seeds = [seeds::STAKING_CONFIG],
        bump = config.bump,
        has_one = network_mint,
        has_one = reward_vault,
    )]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
    )]
    pub position: Box<Account<'info, PositionV0>>,
    #[account(mut)]
    pub epoch_stake: Option<Box<Account<'info, EpochStakeV0>>>,
    #[account(mut)]
    pub pool: Option<Box<Account<'info, OperatorPoolV0>>>,
    #[account(mut, token::mint = network_mint, token::authority = position.owner)]
    pub owner_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub reward_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: PDA owning the vaults; signs the payment.
    #[account(seeds = [seeds::VAULT_AUTHORITY], bump = config.vault_authority_bump)]
    pub vault_authority: UncheckedAccount<'info>,
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn handler(ctx: Context<ClaimStakeRewardsV0>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let position = &mut accounts.position;
    activate(
        position,
        accounts.epoch_stake.as_deref().map(|record| &**record),
    )?;
    check_pool(position, accounts.pool.as_deref().map(|pool| &**pool))?;
    math::settle(
        position,
        &accounts.config,
        accounts.pool.as_deref_mut().map(|pool| &mut **pool),
    )?;
    let amount = math::take_rewards(position, &mut accounts.config)?;
    require!(amount > 0, StakingError::NothingToClaim);
    pay_from_vault(
        &accounts.config,
        &accounts.reward_vault,
        &accounts.owner_tokens,
        &accounts.vault_authority,
        &accounts.network_mint,
        &accounts.token_program,
        amount,
    )?;
    let event = StakeRewardsClaimed {
        position: accounts.position.key(),
        owner: accounts.position.owner,
        amount,
        claimed_total: accounts.position.claimed_rewards,
    };
    emit_cpi!(event);
    Ok(())
}
