use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use staking::StakingConfigV0;
use tokenomics::TokenomicsConfigV0;

use crate::errors::RewardError;
use crate::events::RewardsInitialized;
use crate::state::{seeds, validate_oracle_set, EmissionSplit, RewardConfigV0};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitializeRewardsArgsV0 {
    pub authority: Pubkey,
    pub split: EmissionSplit,
    pub oracles: Vec<Pubkey>,
    pub quorum: u8,
    pub challenge_period_s: i64,
}

/// Creates the reward config and the device reward vault. Only the program's upgrade
/// authority may call it. Epoch timing has one source: genesis and epoch length are copied
/// from staking's config. Tokenomics and staking must already name this program as their
/// reward program (its `["epoch_minter"]` PDA mints and funds for it) and use the same
/// network mint, or initialize is refused.
#[event_cpi]
#[derive(Accounts)]
pub struct InitializeRewardsV0<'info> {
    #[account(mut)]
    pub deployer: Signer<'info>,
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(deployer.key())
            @ RewardError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    #[account(
        init,
        payer = deployer,
        space = 8 + RewardConfigV0::INIT_SPACE,
        seeds = [seeds::REWARD_CONFIG],
        bump,
    )]
    pub config: Box<Account<'info, RewardConfigV0>>,
    /// CHECK: the program's signing PDA; holds no data.
    #[account(seeds = [seeds::EPOCH_MINTER], bump)]
    pub epoch_minter: UncheckedAccount<'info>,
    #[account(mint::token_program = token_program)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = deployer,
        seeds = [seeds::REWARD_VAULT],
        bump,
        token::mint = network_mint,
        token::authority = epoch_minter,
        token::token_program = token_program,
    )]
    pub reward_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(token::mint = network_mint, token::token_program = token_program)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Staking's config: the source of genesis and epoch length; must name this program.
    #[account(
        seeds = [staking::state::seeds::STAKING_CONFIG],
        bump = staking_config.bump,
        seeds::program = staking::ID,
    )]
    pub staking_config: Box<Account<'info, StakingConfigV0>>,
    /// Tokenomics' config: must name this program as the one whose PDA mints epochs.
    #[account(
        seeds = [tokenomics::state::seeds::CONFIG],
        bump = tokenomics_config.bump,
        seeds::program = tokenomics::ID,
    )]
    pub tokenomics_config: Box<Account<'info, TokenomicsConfigV0>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

impl InitializeRewardsV0<'_> {
    /// The split adds up to 10,000 basis points, the oracle set is valid, the challenge period
    /// is not negative, staking's epochs have a positive length, and staking and tokenomics
    /// both name this program as their reward program and use this network mint.
    pub fn validate(&self, args: &InitializeRewardsArgsV0) -> Result<()> {
        args.split.validate()?;
        validate_oracle_set(&args.oracles, args.quorum)?;
        require!(
            args.challenge_period_s >= 0 && self.staking_config.epoch_len_s > 0,
            RewardError::InvalidTiming
        );
        let network_mint = self.network_mint.key();
        require!(
            self.staking_config.reward_program == crate::ID
                && self.staking_config.network_mint == network_mint,
            RewardError::StakingNotWired
        );
        require!(
            self.tokenomics_config.reward_program == crate::ID
                && self.tokenomics_config.network_mint == network_mint,
            RewardError::TokenomicsNotWired
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<InitializeRewardsV0>, args: InitializeRewardsArgsV0) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let genesis_ts = accounts.staking_config.genesis_ts;
    let epoch_len_s = accounts.staking_config.epoch_len_s;
    accounts.config.set_inner(RewardConfigV0 {
        bump: ctx.bumps.config,
        epoch_minter_bump: ctx.bumps.epoch_minter,
        authority: args.authority,
        pending_authority: None,
        network_mint: accounts.network_mint.key(),
        reward_vault: accounts.reward_vault.key(),
        treasury: accounts.treasury.key(),
        genesis_ts,
        epoch_len_s,
        split: args.split,
        oracles: args.oracles.clone(),
        quorum: args.quorum,
        challenge_period_s: args.challenge_period_s,
        next_epoch_to_close: 0,
        device_pool_cumulative: 0,
        active_root: [0; 32],
        active_root_epoch: None,
        active_cumulative_total: 0,
        total_claimed: 0,
        total_minted: 0,
        total_staker_funded: 0,
        total_treasury_paid: 0,
    });
    accounts.config.invariant()?;
    let event = RewardsInitialized {
        unix_timestamp,
        authority: args.authority,
        network_mint: accounts.network_mint.key(),
        reward_vault: accounts.reward_vault.key(),
        treasury: accounts.treasury.key(),
        genesis_ts,
        epoch_len_s,
        split: args.split,
        oracles: args.oracles,
        quorum: args.quorum,
        challenge_period_s: args.challenge_period_s,
    };
    emit_cpi!(event);
    Ok(())
}
