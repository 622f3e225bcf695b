use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::errors::StakingError;
use crate::events::StakingInitialized;
use crate::state::{seeds, StakingConfigV0, StakingParams};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitializeStakingArgsV0 {
    pub authority: Pubkey,
    /// The reward_epochs program; its `["epoch_minter"]` PDA alone funds epochs.
    pub reward_program: Pubkey,
    /// Epoch timing: the network's one source of it (reward_epochs copies it at initialize).
    pub genesis_ts: i64,
    pub epoch_len_s: i64,
    pub params: StakingParams,
}

/// Creates the staking config and its two vaults (principal and rewards) for the network
/// token. Only the program's upgrade authority may call it.
#[event_cpi]
#[derive(Accounts)]
pub struct InitializeStakingV0<'info> {
    #[account(mut)]
    pub deployer: Signer<'info>,
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(deployer.key())
            @ StakingError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    #[account(
        init,
        payer = deployer,
        space = 8 + StakingConfigV0::INIT_SPACE,
        seeds = [seeds::STAKING_CONFIG],
        bump,
    )]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(mint::token_program = token_program)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: PDA owning both vaults; holds no data.
    #[account(seeds = [seeds::VAULT_AUTHORITY], bump)]
    pub vault_authority: UncheckedAccount<'info>,
    #[account(
        init,
        payer = deployer,
        seeds = [seeds::STAKE_VAULT],
        bump,
        token::mint = network_mint,
        token::authority = vault_authority,
        token::token_program = token_program,
    )]
    pub stake_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        init,
        payer = deployer,
        seeds = [seeds::REWARD_VAULT],
        bump,
        token::mint = network_mint,
        token::authority = vault_authority,
        token::token_program = token_program,
    )]
    pub reward_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

impl InitializeStakingV0<'_> {
    /// Valid parameters and a positive epoch length.
    pub fn validate(&self, args: &InitializeStakingArgsV0) -> Result<()> {
        args.params.validate()?;
        require!(args.epoch_len_s > 0, StakingError::InvalidEpochLength);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<InitializeStakingV0>, args: InitializeStakingArgsV0) -> Result<()> {
    let (reward_funder, _) =
        Pubkey::find_program_address(&[seeds::REWARD_FUNDER], &args.reward_program);
    ctx.accounts.config.set_inner(StakingConfigV0 {
        bump: ctx.bumps.config,
        vault_authority_bump: ctx.bumps.vault_authority,
        authority: args.authority,
        network_mint: ctx.accounts.network_mint.key(),
        stake_vault: ctx.accounts.stake_vault.key(),
        reward_vault: ctx.accounts.reward_vault.key(),
        reward_program: args.reward_program,
        reward_funder,
        genesis_ts: args.genesis_ts,
        epoch_len_s: args.epoch_len_s,
        params: args.params,
        total_principal: 0,
        active_weight: 0,
        reward_per_weight: 0,
        next_epoch_to_fund: 0,
        carried_rewards: 0,
        total_funded: 0,
        total_claimed: 0,
        total_slashed: 0,
        position_count: 0,
        pending_authority: None,
    });
    ctx.accounts.config.invariant()?;
    emit_cpi!(StakingInitialized {
        unix_timestamp: Clock::get()?.unix_timestamp,
        config: (**ctx.accounts.config).clone(),
    });
    Ok(())
}
