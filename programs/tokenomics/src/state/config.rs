use anchor_lang::prelude::*;

use groundwork_program_math::BPS;

use crate::errors::TokenomicsError;

/// Capacity of the emission schedule (steps are appended, never rewritten).
pub const MAX_EMISSION_STEPS: usize = 32;
/// Length of the ring of past epoch mints that the circuit breaker's rolling window reads.
pub const BREAKER_RING_LEN: usize = 32;

/// One step of the emission schedule: from `start_epoch` on (until the next step),
/// `tokens_per_epoch` base units are emitted each epoch.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct EmissionStep {
    pub start_epoch: u64,
    pub tokens_per_epoch: u64,
}

/// Where `burn_for_credits` takes the network token's USD price from.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum PriceSource {
    /// A price set by the authority: USD per whole network token, 8 decimals.
    Fixed { price_usd_e8: u64 },
    /// A Pyth `PriceUpdateV2` account of the receiver program for `feed_id`, fully verified,
    /// at most `max_price_age_s` old; the price used is `ema_price - 2 * ema_conf`.
    Pyth {
        feed_id: [u8; 32],
        max_price_age_s: u32,
    },
}

/// The circuit breaker's limits: whatever the schedule says, no more than
/// `max_mint_per_window` base units are minted over any `window_epochs` consecutive epochs.
/// An epoch whose emission would pass the cap is minted clamped to what the window has left
/// (possibly nothing), so epochs keep closing while the authority looks.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct CircuitBreaker {
    pub window_epochs: u16,
    pub max_mint_per_window: u64,
}

/// Net-emission parameters of burn-and-mint equilibrium.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct NetEmissions {
    /// Each epoch re-emits at most this many base units of smoothed burn.
    pub cap_per_epoch: u64,
    /// Weight of the newest epoch's burn in the exponential moving average, in basis points
    /// (10,000 = no smoothing).
    pub smoothing_bps: u16,
}

/// The network's token economics: one per deployment, at PDA `["config"]`.
///
/// Invariant (checked by [`TokenomicsConfigV0::invariant`] at the end of every instruction
/// that changes it): the schedule is sorted by strictly increasing start epoch and fits its
/// capacity, the smoothing weight is a valid basis-point value, the circuit breaker window
/// fits the ring, the pricing is usable, and the supply recorded at the last epoch mint is
/// exactly `initial_supply + minted_total - burned_total` and at most `max_supply` (the epoch
/// mint records the mint's real supply there, so the token supply obeys the same equation
/// at every epoch mint).
#[account]
#[derive(InitSpace)]
pub struct TokenomicsConfigV0 {
    pub bump: u8,
    pub network_mint_authority_bump: u8,
    pub credit_mint_authority_bump: u8,
    /// The network authority (may be a multisig vault PDA).
    pub authority: Pubkey,
    /// Proposed new authority; it takes over only by signing `accept_authority`.
    pub pending_authority: Option<Pubkey>,
    pub network_mint: Pubkey,
    pub credit_mint: Pubkey,
    /// The reward_epochs program whose `["epoch_minter"]` PDA may mint epochs.
    pub reward_program: Pubkey,
    /// That PDA: the only signer `mint_epoch_emission` accepts.
    pub epoch_minter: Pubkey,
    /// The network token's supply never exceeds this (base units).
    pub max_supply: u64,
    /// Network token supply when the program took over the mint.
    pub initial_supply: u64,
    /// Everything `mint_epoch_emission` has minted (base units).
    pub minted_total: u64,
    /// Every burn measured at epoch mints (base units).
    pub burned_total: u64,
    /// Mint supply right after the last epoch mint (or at initialize): the burn of an epoch is
    /// measured against it.
    pub supply_at_last_mint: u64,
    /// The only epoch `mint_epoch_emission` accepts next; every epoch is minted once, in order.
    pub next_epoch_to_mint: u64,
    /// Exponential moving average of tokens burned per epoch (base units, floored).
    pub smoothed_burn: u64,
    pub net_emissions: NetEmissions,
    pub circuit_breaker: CircuitBreaker,
    /// Mint of epoch `e` at index `e % BREAKER_RING_LEN`, for the breaker's rolling window.
    pub recent_mints: [u64; BREAKER_RING_LEN],
    pub price_source: PriceSource,
    /// Price of one service credit in USD, 9 decimals (10,000 = $0.00001).
    pub usd_per_credit_e9: u64,
    #[max_len(MAX_EMISSION_STEPS)]
    pub emission_schedule: Vec<EmissionStep>,
}

impl TokenomicsConfigV0 {
    /// Checks everything that must hold between instructions.
    pub fn invariant(&self) -> Result<()> {
        validate_schedule(&self.emission_schedule)?;
        validate_net_emissions(&self.net_emissions)?;
        validate_circuit_breaker(&self.circuit_breaker)?;
        validate_pricing(&self.price_source, self.usd_per_credit_e9)?;
        require!(
            self.initial_supply <= self.max_supply,
            TokenomicsError::SupplyAboveMax
        );
        let issued = u128::from(self.initial_supply)
            .checked_add(u128::from(self.minted_total))
            .ok_or(TokenomicsError::MathOverflow)?;
        let accounted = u128::from(self.supply_at_last_mint)
            .checked_add(u128::from(self.burned_total))
            .ok_or(TokenomicsError::MathOverflow)?;
        require!(
            issued == accounted && self.supply_at_last_mint <= self.max_supply,
            TokenomicsError::SupplyBookkeepingMismatch
        );
        Ok(())
    }
}

/// A schedule is non-empty, sorted by strictly increasing start epoch and fits its capacity.
pub fn validate_schedule(schedule: &[EmissionStep]) -> Result<()> {
    require!(!schedule.is_empty(), TokenomicsError::EmptySchedule);
    require!(
        schedule.len() <= MAX_EMISSION_STEPS,
        TokenomicsError::ScheduleTooLong
    );
    require!(
        schedule
            .windows(2)
            .all(|pair| pair[0].start_epoch < pair[1].start_epoch),
        TokenomicsError::ScheduleNotIncreasing
    );
    Ok(())
}

/// The smoothing weight is between 1 and 10,000 basis points.
pub fn validate_net_emissions(net: &NetEmissions) -> Result<()> {
    require!(
        net.smoothing_bps > 0 && u64::from(net.smoothing_bps) <= BPS,
        TokenomicsError::InvalidSmoothing
    );
    Ok(())
}

/// The breaker's window spans 1 to `BREAKER_RING_LEN` epochs (the ring holds every mint it
/// reads).
pub fn validate_circuit_breaker(breaker: &CircuitBreaker) -> Result<()> {
    require!(
        breaker.window_epochs > 0 && usize::from(breaker.window_epochs) <= BREAKER_RING_LEN,
        TokenomicsError::InvalidBreakerWindow
    );
    Ok(())
}

/// The credit price is positive, and so is a fixed price or a Pyth feed's maximum age.
pub fn validate_pricing(source: &PriceSource, usd_per_credit_e9: u64) -> Result<()> {
    require!(usd_per_credit_e9 > 0, TokenomicsError::InvalidCreditPrice);
    match source {
        PriceSource::Fixed { price_usd_e8 } => {
            require!(*price_usd_e8 > 0, TokenomicsError::NonPositivePrice)
        }
        PriceSource::Pyth {
            max_price_age_s, ..
        } => require!(*max_price_age_s > 0, TokenomicsError::InvalidMaxPriceAge),
    }
    Ok(())
}
