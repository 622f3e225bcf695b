use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_spl::token_interface::{Mint, Token2022, TokenInterface};

use super::setup::{create_credit_mint, write_config, ConfigBumps, ConfigMints, InitializeArgsV0};
use crate::errors::TokenomicsError;
use crate::state::{seeds, TokenomicsConfigV0};

/// Decimals of a network token mint created by `initialize_v0`.
pub const NETWORK_TOKEN_DECIMALS: u8 = 6;

/// Creates the network: config, a new network token mint (6 decimals, at its PDA, owned by the
/// given token program) and the service credit mint. Only the program's upgrade authority may
/// call it, so nobody can front-run the deployer with their own parameters.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: InitializeArgsV0)]
pub struct InitializeV0<'info> {
    /// The program's upgrade authority; pays for every account created.
    #[account(mut)]
    pub deployer: Signer<'info>,
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(deployer.key())
            @ TokenomicsError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    #[account(
        init,
        payer = deployer,
        space = 8 + TokenomicsConfigV0::INIT_SPACE,
        seeds = [seeds::CONFIG],
        bump,
    )]
    pub config: Box<Account<'info, TokenomicsConfigV0>>,
    #[account(
        init,
        payer = deployer,
        seeds = [seeds::NETWORK_MINT],
        bump,
        mint::decimals = NETWORK_TOKEN_DECIMALS,
        mint::authority = network_mint_authority,
        mint::token_program = network_token_program,
    )]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: PDA that signs network token mints; holds no data.
    #[account(seeds = [seeds::NETWORK_MINT_AUTHORITY], bump)]
    pub network_mint_authority: UncheckedAccount<'info>,
    /// CHECK: created here as a Token-2022 NonTransferable mint at this PDA.
    #[account(mut, seeds = [seeds::CREDIT_MINT], bump)]
    pub credit_mint: UncheckedAccount<'info>,
    /// CHECK: PDA that signs credit mints; holds no data.
    #[account(seeds = [seeds::CREDIT_MINT_AUTHORITY], bump)]
    pub credit_mint_authority: UncheckedAccount<'info>,
    pub network_token_program: Interface<'info, TokenInterface>,
    pub credit_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

impl InitializeV0<'_> {
    /// The economic parameters are valid for a mint that starts at zero supply.
    pub fn validate(&self, args: &InitializeArgsV0) -> Result<()> {
        args.validate(0)
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<InitializeV0>, args: InitializeArgsV0) -> Result<()> {
    create_credit_mint(
        &ctx.accounts.deployer,
        &ctx.accounts.credit_mint.to_account_info(),
        ctx.bumps.credit_mint,
        &ctx.accounts.credit_mint_authority.key(),
        &ctx.accounts.credit_token_program.to_account_info(),
        &ctx.accounts.system_program.to_account_info(),
    )?;
    let mints = ConfigMints {
        network_mint: ctx.accounts.network_mint.key(),
        credit_mint: ctx.accounts.credit_mint.key(),
        initial_supply: 0,
        adopted_existing_mint: false,
    };
    let bumps = ConfigBumps {
        config: ctx.bumps.config,
        network_mint_authority: ctx.bumps.network_mint_authority,
        credit_mint_authority: ctx.bumps.credit_mint_authority,
    };
    let event = write_config(&mut ctx.accounts.config, args, bumps, mints)?;
    emit_cpi!(event);
    Ok(())
}
