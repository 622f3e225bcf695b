//! Events of the tokenomics program, emitted through self-CPI (`emit_cpi!`) so that indexers
//! (and the native test runtime) see them as inner instructions, never truncated like logs.

use anchor_lang::prelude::*;

use crate::state::{CircuitBreaker, EmissionStep, NetEmissions, PriceSource};

#[event]
pub struct TokenomicsInitialized {
    pub authority: Pubkey,
    pub network_mint: Pubkey,
    pub credit_mint: Pubkey,
    pub reward_program: Pubkey,
    pub epoch_minter: Pubkey,
    pub max_supply: u64,
    pub initial_supply: u64,
    /// True when an existing mint was adopted rather than created.
    pub adopted_existing_mint: bool,
}

#[event]
pub struct CreditsPurchased {
    pub payer: Pubkey,
    pub recipient: Pubkey,
    pub network_tokens_burned: u64,
    pub credits_minted: u64,
    /// Price mantissa used (USD per whole network token = price * 10^exponent).
    pub price: u64,
    pub exponent: i32,
    pub from_pyth: bool,
}

#[event]
pub struct EpochEmissionMinted {
    pub epoch: u64,
    pub scheduled: u64,
    /// Burn measured since the previous epoch mint.
    pub epoch_burn: u64,
    pub smoothed_burn_before: u64,
    pub smoothed_burn_after: u64,
    pub net_emission: u64,
    /// What was minted: scheduled + net emission, reduced to the max-supply headroom.
    pub minted: u64,
    pub clamped_by_max_supply: bool,
    pub supply_before: u64,
    pub supply_after: u64,
    pub minted_total: u64,
    pub burned_total: u64,
}

#[event]
pub struct PricingUpdated {
    pub before: PriceSource,
    pub after: PriceSource,
    pub usd_per_credit_e9_before: u64,
    pub usd_per_credit_e9_after: u64,
}

#[event]
pub struct EmissionStepsAppended {
    pub steps: Vec<EmissionStep>,
    pub schedule_len_after: u32,
}

#[event]
pub struct EmissionControlsUpdated {
    pub net_emissions_before: NetEmissions,
    pub net_emissions_after: NetEmissions,
    pub circuit_breaker_before: CircuitBreaker,
    pub circuit_breaker_after: CircuitBreaker,
}

#[event]
pub struct AuthorityTransferProposed {
    pub authority: Pubkey,
    pub pending_before: Option<Pubkey>,
    pub pending_after: Option<Pubkey>,
}

#[event]
pub struct AuthorityTransferAccepted {
    pub authority_before: Pubkey,
    pub authority_after: Pubkey,
}
