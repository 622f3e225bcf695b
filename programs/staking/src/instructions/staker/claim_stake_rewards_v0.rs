use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::checks::{bring_up_to_date, record_snapshots};
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
    /// The position's activation record (required until it is active).
    #[account(mut)]
    pub activation_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The record of the position's bonus expiry epoch (required while it has one).
    #[account(mut)]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The pool the position is delegated to (required while delegated).
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
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    bring_up_to_date(
        &mut accounts.position,
        &mut accounts.config,
        &mut accounts.activation_record,
        &mut accounts.bonus_record,
        &mut accounts.pool,
    )?;
    let amount = math::take_rewards(&mut accounts.position, &mut accounts.config)?;
    require!(amount > 0, StakingError::NothingToClaim);
    accounts.config.invariant()?;
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
        unix_timestamp: now,
        amount,
        position: (**accounts.position).clone(),
        pool: accounts.pool.as_deref().map(|pool| (**pool).clone()),
        records: record_snapshots(&[&accounts.activation_record, &accounts.bonus_record]),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
