use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::checks::{activate, record_mut, record_snapshots};
use crate::errors::StakingError;
use crate::events::Withdrawn;
use crate::instructions::tokens::pay_from_vault;
use crate::math;
use crate::state::{seeds, EpochStakeV0, LockupKind, PositionV0, StakingConfigV0};

/// The owner takes all the position's tokens back once its lockup or cooldown is over (an
/// undelegated position only); its weight and any bonus registration go. Rewards earned so
/// far stay claimable.
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
    /// The position's activation record (required until it is active).
    #[account(mut)]
    pub activation_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The record of the position's bonus expiry epoch (required while it has one).
    #[account(mut)]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
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

impl WithdrawV0<'_> {
    /// The position is undelegated and its lockup or cooldown is over.
    pub fn validate(&self) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let position = &self.position;
        require!(position.operator.is_none(), StakingError::PositionDelegated);
        let unlocked = match position.kind {
            LockupKind::Flexible => position
                .withdrawable_epoch
                .is_some_and(|epoch| self.config.epoch_at(now) >= epoch),
            LockupKind::Cliff => now >= position.end_ts,
            LockupKind::Constant => false,
        };
        require!(unlocked, StakingError::StillLocked);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<WithdrawV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let position = &mut accounts.position;
    activate(position, record_mut(&mut accounts.activation_record))?;
    let amount = math::withdraw_all(
        position,
        &mut accounts.config,
        record_mut(&mut accounts.activation_record),
        record_mut(&mut accounts.bonus_record),
    )?;
    accounts.config.invariant()?;
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
        unix_timestamp: now,
        amount,
        position: (**accounts.position).clone(),
        records: record_snapshots(&[&accounts.activation_record, &accounts.bonus_record]),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
