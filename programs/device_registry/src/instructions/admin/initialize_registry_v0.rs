use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_spl::token_interface::{Mint, Token2022};
use tokenomics::TokenomicsConfigV0;

use crate::errors::RegistryError;
use crate::events::RegistryInitialized;
use crate::state::{seeds, RegistryConfigV0};

/// Creates the registry of a network: its authority and the service credit mint that pays for
/// onboarding, locations and service, which must be the credit mint of the network's
/// tokenomics config (so fees burn the credits users actually buy). Only the program's upgrade
/// authority may call it.
#[event_cpi]
#[derive(Accounts)]
pub struct InitializeRegistryV0<'info> {
    #[account(mut)]
    pub deployer: Signer<'info>,
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(deployer.key())
            @ RegistryError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    #[account(
        init,
        payer = deployer,
        space = 8 + RegistryConfigV0::INIT_SPACE,
        seeds = [seeds::REGISTRY_CONFIG],
        bump,
    )]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(mint::token_program = credit_token_program)]
    pub credit_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The tokenomics config (owned by the tokenomics program, at its `["config"]` PDA), whose
    /// credit mint this registry must use.
    #[account(
        seeds = [tokenomics::state::seeds::CONFIG],
        bump = tokenomics_config.bump,
        seeds::program = tokenomics::ID,
        constraint = tokenomics_config.credit_mint == credit_mint.key()
            @ RegistryError::CreditMintMismatch,
    )]
    pub tokenomics_config: Box<Account<'info, TokenomicsConfigV0>>,
    pub credit_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitializeRegistryV0>, authority: Pubkey) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.set_inner(RegistryConfigV0 {
        bump: ctx.bumps.config,
        authority,
        pending_authority: None,
        credit_mint: ctx.accounts.credit_mint.key(),
        device_class_count: 0,
        operator_count: 0,
        device_count: 0,
    });
    let event = RegistryInitialized {
        unix_timestamp: Clock::get()?.unix_timestamp,
        deployer: ctx.accounts.deployer.key(),
        registry: RegistryConfigV0::clone(config),
    };
    emit_cpi!(event);
    Ok(())
}
