//! Steps shared by both initialize instructions.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{create_account, CreateAccount};
use anchor_spl::token_2022::spl_token_2022::extension::ExtensionType;
use anchor_spl::token_2022::spl_token_2022::state::Mint as SplMint;
use anchor_spl::token_2022::{
    initialize_mint2, initialize_non_transferable_mint, InitializeMint2,
    InitializeNonTransferableMint,
};

use crate::events::TokenomicsInitialized;
use crate::state::{
    seeds, validate_circuit_breaker, validate_net_emissions, validate_pricing, validate_schedule,
    CircuitBreaker, EmissionStep, NetEmissions, PriceSource, TokenomicsConfigV0, BREAKER_RING_LEN,
};

/// The network's economic parameters, fixed at initialize (the forward-looking ones can be
/// changed later by the authority).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitializeArgsV0 {
    /// The network authority (may be a multisig vault PDA); need not sign.
    pub authority: Pubkey,
    /// The reward_epochs program; its `["epoch_minter"]` PDA alone may mint epochs.
    pub reward_program: Pubkey,
    pub max_supply: u64,
    pub emission_schedule: Vec<EmissionStep>,
    pub net_emissions: NetEmissions,
    pub circuit_breaker: CircuitBreaker,
    pub price_source: PriceSource,
    pub usd_per_credit_e9: u64,
}

impl InitializeArgsV0 {
    pub fn validate(&self, initial_supply: u64) -> Result<()> {
        validate_schedule(&self.emission_schedule)?;
        validate_net_emissions(&self.net_emissions)?;
        validate_circuit_breaker(&self.circuit_breaker)?;
        validate_pricing(&self.price_source, self.usd_per_credit_e9)?;
        require!(
            initial_supply <= self.max_supply,
            crate::errors::TokenomicsError::SupplyAboveMax
        );
        Ok(())
    }
}

/// The PDA bumps `initialize` records.
pub struct ConfigBumps {
    pub config: u8,
    pub network_mint_authority: u8,
    pub credit_mint_authority: u8,
}

/// The mints a new config points at.
pub struct ConfigMints {
    pub network_mint: Pubkey,
    pub credit_mint: Pubkey,
    /// Network token supply when the program takes the mint over.
    pub initial_supply: u64,
    pub adopted_existing_mint: bool,
}

/// Fills a fresh config from the arguments, checks its invariant and returns the event that
/// announces it (the config as written, at the clock's time).
pub fn write_config(
    config: &mut TokenomicsConfigV0,
    args: InitializeArgsV0,
    bumps: ConfigBumps,
    mints: ConfigMints,
) -> Result<TokenomicsInitialized> {
    let ConfigMints {
        network_mint,
        credit_mint,
        initial_supply,
        adopted_existing_mint,
    } = mints;
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let (epoch_minter, _) =
        Pubkey::find_program_address(&[seeds::EPOCH_MINTER], &args.reward_program);
    *config = TokenomicsConfigV0 {
        bump: bumps.config,
        network_mint_authority_bump: bumps.network_mint_authority,
        credit_mint_authority_bump: bumps.credit_mint_authority,
        authority: args.authority,
        pending_authority: None,
        network_mint,
        credit_mint,
        reward_program: args.reward_program,
        epoch_minter,
        max_supply: args.max_supply,
        initial_supply,
        minted_total: 0,
        burned_total: 0,
        supply_at_last_mint: initial_supply,
        next_epoch_to_mint: 0,
        smoothed_burn: 0,
        net_emissions: args.net_emissions,
        circuit_breaker: args.circuit_breaker,
        recent_mints: [0; BREAKER_RING_LEN],
        price_source: args.price_source,
        usd_per_credit_e9: args.usd_per_credit_e9,
        emission_schedule: args.emission_schedule,
    };
    config.invariant()?;
    Ok(TokenomicsInitialized {
        unix_timestamp,
        authority: config.authority,
        network_mint,
        credit_mint,
        reward_program: config.reward_program,
        epoch_minter,
        max_supply: config.max_supply,
        initial_supply,
        adopted_existing_mint,
        emission_schedule: config.emission_schedule.clone(),
        net_emissions: config.net_emissions,
        circuit_breaker: config.circuit_breaker,
        price_source: config.price_source,
        usd_per_credit_e9: config.usd_per_credit_e9,
    })
}

/// Creates the service credit mint at its PDA: Token-2022, NonTransferable, 0 decimals,
/// mint authority the credit mint authority PDA, no freeze authority.
pub fn create_credit_mint<'info>(
    payer: &Signer<'info>,
    credit_mint: &AccountInfo<'info>,
    credit_mint_bump: u8,
    credit_mint_authority: &Pubkey,
    credit_token_program: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
) -> Result<()> {
    let space =
        ExtensionType::try_calculate_account_len::<SplMint>(&[ExtensionType::NonTransferable])?;
    let lamports = Rent::get()?.minimum_balance(space);
    let signer_seeds: &[&[&[u8]]] = &[&[seeds::CREDIT_MINT, &[credit_mint_bump]]];
    create_account(
        CpiContext::new_with_signer(
            system_program.key(),
            CreateAccount {
                from: payer.to_account_info(),
                to: credit_mint.clone(),
            },
            signer_seeds,
        ),
        lamports,
        u64::try_from(space).map_err(|_| crate::errors::TokenomicsError::MathOverflow)?,
        credit_token_program.key,
    )?;
    initialize_non_transferable_mint(CpiContext::new(
        credit_token_program.key(),
        InitializeNonTransferableMint {
            mint: credit_mint.clone(),
        },
    ))?;
    initialize_mint2(
        CpiContext::new(
            credit_token_program.key(),
            InitializeMint2 {
                mint: credit_mint.clone(),
            },
        ),
        0,
        credit_mint_authority,
        None,
    )
}
