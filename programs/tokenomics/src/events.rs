//! Events of the tokenomics program, emitted through self-CPI (`emit_cpi!`) so that indexers
//! (and the native test runtime) see them as inner instructions, never truncated like logs.
//!
//! Every event starts with the clock's `unix_timestamp` and carries the values after the
//! change: the `TokenomicsInitialized` event holds the whole config as created, and each later
//! event the fields its instruction changed, so an indexer rebuilds the config (and every
//! credit purchase) from finalized history without reading accounts.

use anchor_lang::prelude::*;

use crate::state::{CircuitBreaker, EmissionStep, NetEmissions, PriceSource};

/// The network was created (`initialize_v0` or `initialize_with_existing_mint_v0`): the
/// config as written.
#[event]
pub struct TokenomicsInitialized {
    pub unix_timestamp: i64,
    pub authority: Pubkey,
    pub network_mint: Pubkey,
    pub credit_mint: Pubkey,
    pub reward_program: Pubkey,
    pub epoch_minter: Pubkey,
    pub max_supply: u64,
    /// Network token supply when the program took the mint over (also the supply recorded at
    /// the last mint, until epoch 0 is minted).
    pub initial_supply: u64,
    /// True when an existing mint was adopted rather than created.
    pub adopted_existing_mint: bool,
    pub emission_schedule: Vec<EmissionStep>,
    pub net_emissions: NetEmissions,
    pub circuit_breaker: CircuitBreaker,
    pub price_source: PriceSource,
    pub usd_per_credit_e9: u64,
}

/// A payer burned network tokens and the recipient received credits.
#[event]
pub struct CreditsPurchased {
    pub unix_timestamp: i64,
    pub payer: Pubkey,
    pub recipient: Pubkey,
    /// The payer's network token base units burned.
    pub network_tokens_burned: u64,
    /// Credits minted to the recipient.
    pub credits_minted: u64,
    /// The recipient's credit balance after the purchase.
    pub recipient_credits_after: u64,
    /// Price mantissa used (USD per whole network token = price * 10^exponent).
    pub price: u64,
    pub exponent: i32,
    pub from_pyth: bool,
    /// The credit price in force (USD per credit, 9 decimals): with the two amounts above, an
    /// indexer derives the tokens paid per credit of this purchase.
    pub usd_per_credit_e9: u64,
    /// The network token's decimals: with `price`, `exponent` and `usd_per_credit_e9`, the
    /// exact tokens-per-credit rate the program used (base units per credit =
    /// usd_per_credit_e9 / (price * 10^(exponent + 9 - decimals))), free of the rounding of
    /// `credits_minted`.
    pub network_token_decimals: u8,
}

/// An epoch's emission was minted into the reward vault.
#[event]
pub struct EpochEmissionMinted {
    pub unix_timestamp: i64,
    pub epoch: u64,
    pub scheduled: u64,
    /// Burn measured since the previous epoch mint.
    pub epoch_burn: u64,
    pub smoothed_burn_before: u64,
    /// The config's smoothed burn after this epoch.
    pub smoothed_burn_after: u64,
    pub net_emission: u64,
    /// What the schedule plus net emissions asked for, after the max-supply clamp.
    pub before_breaker: u64,
    /// What the circuit breaker's window had left for this epoch.
    pub window_headroom: u64,
    /// What was minted: `before_breaker` reduced to `window_headroom`.
    pub minted: u64,
    pub clamped_by_max_supply: bool,
    /// True when the breaker's window cap reduced the mint: the authority should look.
    pub clamped_by_circuit_breaker: bool,
    pub supply_before: u64,
    /// The mint's supply after, also the config's `supply_at_last_mint`.
    pub supply_after: u64,
    pub minted_total: u64,
    pub burned_total: u64,
    /// The only epoch the next mint accepts (`epoch + 1`).
    pub next_epoch_to_mint: u64,
}

#[event]
pub struct PricingUpdated {
    pub unix_timestamp: i64,
    pub before: PriceSource,
    pub after: PriceSource,
    pub usd_per_credit_e9_before: u64,
    pub usd_per_credit_e9_after: u64,
}

#[event]
pub struct EmissionStepsAppended {
    pub unix_timestamp: i64,
    /// The steps appended, in order, at the end of the schedule.
    pub steps: Vec<EmissionStep>,
    pub schedule_len_after: u32,
}

#[event]
pub struct EmissionControlsUpdated {
    pub unix_timestamp: i64,
    pub net_emissions_before: NetEmissions,
    pub net_emissions_after: NetEmissions,
    pub circuit_breaker_before: CircuitBreaker,
    pub circuit_breaker_after: CircuitBreaker,
}

#[event]
pub struct AuthorityTransferProposed {
    pub unix_timestamp: i64,
    pub authority: Pubkey,
    pub pending_before: Option<Pubkey>,
    pub pending_after: Option<Pubkey>,
}

#[event]
pub struct AuthorityTransferAccepted {
    pub unix_timestamp: i64,
    pub authority_before: Pubkey,
    pub authority_after: Pubkey,
}
