use anchor_lang::prelude::*;
use anchor_spl::token_interface::{burn, Burn, Mint, TokenAccount, TokenInterface};

use crate::errors::StakingError;
use crate::events::OperatorSlashed;
use crate::math;
use crate::state::{seeds, OperatorPoolV0, StakingConfigV0};

/// Authority: slashes `bps` (at most the per-call maximum) of everything delegated to an
/// operator, in one O(1) instruction whatever the number of delegators, and burns it.
/// Positions that asked to undelegate stay in the pool through their unbonding epochs, so
/// undelegating does not escape a slash decided after the oracle's grace and challenge
/// periods. A slash takes at most `max_slash_bps` (< 100%) and lowers every member's bonus
/// in the same proportion.
#[event_cpi]
#[derive(Accounts)]
pub struct SlashV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::STAKING_CONFIG],
        bump = config.bump,
        has_one = authority @ StakingError::NotAuthority,
        has_one = network_mint,
        has_one = stake_vault,
    )]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(mut, seeds = [seeds::OPERATOR_POOL, pool.operator.as_ref()], bump = pool.bump)]
    pub pool: Box<Account<'info, OperatorPoolV0>>,
    #[account(mut)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub stake_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: PDA owning the vaults; signs the burn.
    #[account(seeds = [seeds::VAULT_AUTHORITY], bump = config.vault_authority_bump)]
    pub vault_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

impl SlashV0<'_> {
    /// Between 1 basis point and the per-call maximum (itself below 100%).
    pub fn validate(&self, bps: u16) -> Result<()> {
        require!(
            bps > 0 && bps <= self.config.params.max_slash_bps,
            StakingError::InvalidSlash
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(bps))]
pub fn handler(ctx: Context<SlashV0>, bps: u16, reason: u16) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let tokens_before = accounts.pool.tokens;
    let burned = math::slash(&mut accounts.config, &mut accounts.pool, bps)?;
    accounts.config.invariant()?;
    let signer_seeds: &[&[&[u8]]] = &[&[
        seeds::VAULT_AUTHORITY,
        &[accounts.config.vault_authority_bump],
    ]];
    burn(
        CpiContext::new_with_signer(
            accounts.token_program.key(),
            Burn {
                mint: accounts.network_mint.to_account_info(),
                from: accounts.stake_vault.to_account_info(),
                authority: accounts.vault_authority.to_account_info(),
            },
            signer_seeds,
        ),
        burned,
    )?;
    let event = OperatorSlashed {
        unix_timestamp: Clock::get()?.unix_timestamp,
        operator: accounts.pool.operator,
        bps,
        reason,
        pool_tokens_before: tokens_before,
        burned,
        pool: (**accounts.pool).clone(),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
