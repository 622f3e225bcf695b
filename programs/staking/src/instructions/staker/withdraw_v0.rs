use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::checks::activate;
use crate::errors::StakingError;
use crate::events::Withdrawn;
use crate::instructions::tokens::pay_from_vault;
use crate::math;
use crate::state::{seeds, EpochStakeV0, LockupKind, PositionV0, StakingConfigV0};

/// The owner takes all the position's tokens back once its lockup or cooldown is over (an
/// undelegated position only). Rewards earned so far stay claimable.
#[event_cpi]
#[derive(Accounts)]
pub struct WithdrawV0<'info> {
    pub owner: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::STAKING_CONFIG],
        bump = config.bump,
        has_one = network_mint,
        has_one = stake_vault,
    )]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
        has_one = owner @ StakingError::NotPositionOwner,
    )]
    pub position: Box<Account<'info, PositionV0>>,
    #[account(mut)]
    pub epoch_stake: Option<Box<Account<'info, EpochStakeV0>>>,
    #[account(mut, token::mint = network_mint, token::authority = owner)]
    pub owner_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub stake_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: PDA owning the vaults; signs the payment.
    #[account(seeds = [seeds::VAULT_AUTHORITY], bump = config.vault_authority_bump)]
    pub vault_authority: UncheckedAccount<'info>,
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn handler(ctx: Context<WithdrawV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let position = &mut accounts.position;
    require!(position.operator.is_none(), StakingError::PositionDelegated);
    let unlocked = match position.kind {
        LockupKind::Flexible => position
            .withdrawable_epoch
            .is_some_and(|epoch| accounts.config.epoch_at(now) >= epoch),
        LockupKind::Cliff => now >= position.end_ts,
        LockupKind::Constant => false,
    };
    require!(unlocked, StakingError::StillLocked);
    activate(
        position,
        accounts.epoch_stake.as_deref().map(|record| &**record),
    )?;
    let amount = math::withdraw_all(
        position,
        &mut accounts.config,
        accounts
            .epoch_stake
            .as_deref_mut()
            .map(|record| &mut **record),
    )?;
    pay_from_vault(
        &accounts.config,
        &accounts.stake_vault,
        &accounts.owner_tokens,
        &accounts.vault_authority,
        &accounts.network_mint,
        &accounts.token_program,
        amount,
    )?;
    let event = Withdrawn {
        position: accounts.position.key(),
        owner: accounts.owner.key(),
        amount,
    };
    emit_cpi!(event);
    Ok(())
}
