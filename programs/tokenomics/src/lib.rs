//! Groundwork tokenomics: the network token and service credit mints, the emission schedule
//! with burn-and-mint net emissions, credit purchases at an oracle or fixed price, and the
//! once-per-epoch mint that only the reward_epochs program can trigger.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod errors;
pub mod events;
pub mod instructions;
pub mod math;
pub mod state;

pub use instructions::*;
pub use state::*;

declare_id!("F1TGAAdEZJRWdf9Y67NHSH3Z2hbcqHooZ7yThD1ccFEf");

#[program]
pub mod tokenomics {
    use super::*;

    /// Creates the network config, a new network token mint and the service credit mint.
    pub fn initialize_v0(ctx: Context<InitializeV0>, args: InitializeArgsV0) -> Result<()> {
        instructions::admin::initialize_v0::handler(ctx, args)
    }

    /// Creates the network config around an existing network token mint handed over by its
    /// mint authority, and the service credit mint.
    pub fn initialize_with_existing_mint_v0(
        ctx: Context<InitializeWithExistingMintV0>,
        args: InitializeArgsV0,
    ) -> Result<()> {
        instructions::admin::initialize_with_existing_mint_v0::handler(ctx, args)
    }

    /// Burns the payer's network tokens for service credits at the conservative price.
    pub fn burn_for_credits_v0(
        ctx: Context<BurnForCreditsV0>,
        args: BurnForCreditsArgsV0,
    ) -> Result<()> {
        instructions::user::burn_for_credits_v0::handler(ctx, args)
    }

    /// Mints an epoch's emission into the reward vault (reward program PDA only, once each),
    /// clamped to the circuit breaker's window headroom.
    pub fn mint_epoch_emission_v0(ctx: Context<MintEpochEmissionV0>, epoch: u64) -> Result<()> {
        instructions::crank::mint_epoch_emission_v0::handler(ctx, epoch)
    }

    /// Authority: sets the price source, fixed price and credit price.
    pub fn update_pricing_v0(ctx: Context<AuthorityV0>, args: UpdatePricingArgsV0) -> Result<()> {
        instructions::admin::update_pricing_v0::handler(ctx, args)
    }

    /// Authority: appends future emission steps (the past is never rewritten).
    pub fn append_emission_steps_v0(
        ctx: Context<AuthorityV0>,
        steps: Vec<EmissionStep>,
    ) -> Result<()> {
        instructions::admin::append_emission_steps_v0::handler(ctx, steps)
    }

    /// Authority: sets the net-emission cap and smoothing and the circuit breaker.
    pub fn update_emission_controls_v0(
        ctx: Context<AuthorityV0>,
        args: UpdateEmissionControlsArgsV0,
    ) -> Result<()> {
        instructions::admin::update_emission_controls_v0::handler(ctx, args)
    }

    /// Authority: proposes a new authority (step one of two), or cancels with `None`.
    pub fn transfer_authority_v0(
        ctx: Context<AuthorityV0>,
        new_authority: Option<Pubkey>,
    ) -> Result<()> {
        instructions::admin::authority::transfer_authority_handler(ctx, new_authority)
    }

    /// The proposed authority accepts (step two of two).
    pub fn accept_authority_v0(ctx: Context<AcceptAuthorityV0>) -> Result<()> {
        instructions::admin::authority::accept_authority_handler(ctx)
    }
}
