//! Pure emission and pricing math: integers only, u128 intermediates, explicit rounding
//! (floor what is paid out: credits and emissions).

use crate::errors::TokenomicsError;
use crate::state::{EmissionStep, BREAKER_RING_LEN};

pub type MathResult<T> = core::result::Result<T, TokenomicsError>;

pub const BPS_DENOMINATOR: u64 = 10_000;
/// Decimal exponent of `usd_per_credit_e9`.
pub const CREDIT_PRICE_DECIMALS: i32 = 9;

/// Tokens the schedule emits in `epoch`: the last step starting at or before it (binary
/// search), zero before the first step.
pub fn scheduled_emission(schedule: &[EmissionStep], epoch: u64) -> u64 {
    let steps_started = schedule.partition_point(|step| step.start_epoch <= epoch);
    match steps_started {
        0 => 0,
        n => schedule[n - 1].tokens_per_epoch,
    }
}

/// Next value of the burn moving average: `floor((previous * (10,000 - w) + burn * w) / 10,000)`.
pub fn next_smoothed_burn(previous: u64, epoch_burn: u64, smoothing_bps: u16) -> MathResult<u64> {
    let weight = u128::from(smoothing_bps);
    let denominator = u128::from(BPS_DENOMINATOR);
    let kept = denominator
        .checked_sub(weight)
        .ok_or(TokenomicsError::InvalidSmoothing)?;
    let blended = u128::from(previous)
        .checked_mul(kept)
        .and_then(|old| u128::from(epoch_burn).checked_mul(weight)?.checked_add(old))
        .ok_or(TokenomicsError::MathOverflow)?;
    // The average of two u64 values always fits a u64.
    u64::try_from(blended / denominator).map_err(|_| TokenomicsError::MathOverflow)
}

/// What one epoch mint needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmissionInput {
    pub scheduled: u64,
    pub smoothed_burn_before: u64,
    pub epoch_burn: u64,
    pub smoothing_bps: u16,
    pub net_emissions_cap: u64,
    pub supply_now: u64,
    pub max_supply: u64,
}

/// The outcome of one epoch mint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEmission {
    pub smoothed_burn_after: u64,
    /// `min(smoothed_burn_after, net_emissions_cap)`.
    pub net_emission: u64,
    /// `scheduled + net_emission`: the most the epoch may mint (u128: never overflows).
    pub uncapped: u128,
    /// What is minted: `uncapped`, reduced to what fits under max supply.
    pub minted: u64,
}

impl EpochEmission {
    pub fn clamped_by_max_supply(&self) -> bool {
        u128::from(self.minted) < self.uncapped
    }
}

/// Computes an epoch's emission: schedule plus net emissions, never past max supply.
pub fn epoch_emission(input: EmissionInput) -> MathResult<EpochEmission> {
    let smoothed_burn_after = next_smoothed_burn(
        input.smoothed_burn_before,
        input.epoch_burn,
        input.smoothing_bps,
    )?;
    let net_emission = smoothed_burn_after.min(input.net_emissions_cap);
    let uncapped = u128::from(input.scheduled) + u128::from(net_emission);
    let headroom = input.max_supply.saturating_sub(input.supply_now);
    // The minimum of a u128 and a u64 fits a u64.
    let minted = u64::try_from(uncapped.min(u128::from(headroom)))
        .map_err(|_| TokenomicsError::MathOverflow)?;
    Ok(EpochEmission {
        smoothed_burn_after,
        net_emission,
        uncapped,
        minted,
    })
}

/// Burn measured since the last epoch mint: `supply_at_last_mint - supply_now` (only this
/// program mints the network token, so supply can only have gone down meanwhile).
pub fn burn_since_last_mint(supply_at_last_mint: u64, supply_now: u64) -> MathResult<u64> {
    supply_at_last_mint
        .checked_sub(supply_now)
        .ok_or(TokenomicsError::SupplyIncreasedOutsideProgram)
}

/// Sum of the mints of the `window_epochs - 1` epochs before `epoch` (read from the ring,
/// where epoch `e` sits at `e % BREAKER_RING_LEN`) plus `amount` for `epoch` itself.
/// Epochs are minted consecutively, so every ring slot of the window is current.
pub fn rolling_window_total(
    recent_mints: &[u64; BREAKER_RING_LEN],
    epoch: u64,
    window_epochs: u16,
    amount: u64,
) -> MathResult<u128> {
    let previous_epochs = u64::from(window_epochs).saturating_sub(1).min(epoch);
    let mut total = u128::from(amount);
    for back in 1..=previous_epochs {
        let slot = ((epoch - back) % BREAKER_RING_LEN as u64) as usize;
        total = total
            .checked_add(u128::from(recent_mints[slot]))
            .ok_or(TokenomicsError::MathOverflow)?;
    }
    Ok(total)
}

/// The conservative Pyth price `ema_price - 2 * ema_conf`, refused when zero or negative.
pub fn conservative_price(ema_price: i64, ema_conf: u64) -> MathResult<u64> {
    let price = i128::from(ema_price) - 2 * i128::from(ema_conf);
    if price <= 0 {
        return Err(TokenomicsError::NonPositivePrice);
    }
    u64::try_from(price).map_err(|_| TokenomicsError::MathOverflow)
}

fn pow10(exponent: u32) -> MathResult<u128> {
    10u128
        .checked_pow(exponent)
        .ok_or(TokenomicsError::PriceExponentOutOfRange)
}

/// Credits bought by burning `amount_base_units` of a token with `token_decimals` decimals
/// at `price * 10^exponent` USD per whole token, when one credit costs
/// `usd_per_credit_e9 / 10^9` USD. Floored: the buyer never receives a fraction of a credit
/// that was not paid for.
pub fn credits_for_burn(
    amount_base_units: u64,
    price: u64,
    exponent: i32,
    token_decimals: u8,
    usd_per_credit_e9: u64,
) -> MathResult<u64> {
    if usd_per_credit_e9 == 0 {
        return Err(TokenomicsError::InvalidCreditPrice);
    }
    if price == 0 {
        return Err(TokenomicsError::NonPositivePrice);
    }
    // credits = amount * price * 10^(exponent + 9 - decimals) / usd_per_credit_e9
    let scale = exponent
        .checked_add(CREDIT_PRICE_DECIMALS)
        .and_then(|e| e.checked_sub(i32::from(token_decimals)))
        .ok_or(TokenomicsError::PriceExponentOutOfRange)?;
    let value = u128::from(amount_base_units) * u128::from(price);
    let (numerator, denominator) = if scale >= 0 {
        let numerator = value
            .checked_mul(pow10(scale.unsigned_abs())?)
            .ok_or(TokenomicsError::MathOverflow)?;
        (numerator, u128::from(usd_per_credit_e9))
    } else {
        let denominator = u128::from(usd_per_credit_e9)
            .checked_mul(pow10(scale.unsigned_abs())?)
            .ok_or(TokenomicsError::MathOverflow)?;
        (value, denominator)
    };
    u64::try_from(numerator / denominator).map_err(|_| TokenomicsError::MathOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn step(start_epoch: u64, tokens_per_epoch: u64) -> EmissionStep {
        EmissionStep {
            start_epoch,
            tokens_per_epoch,
        }
    }

    #[test]
    fn schedule_lookup_uses_the_last_started_step() {
        let schedule = [step(2, 100), step(5, 50), step(9, 0)];
        let expected = [0, 0, 100, 100, 100, 50, 50, 50, 50, 0, 0];
        for (epoch, want) in expected.iter().enumerate() {
            assert_eq!(
                scheduled_emission(&schedule, epoch as u64),
                *want,
                "epoch {epoch}"
            );
        }
        assert_eq!(scheduled_emission(&[], 7), 0);
    }

    #[test]
    fn smoothing_of_full_weight_follows_the_burn() {
        assert_eq!(next_smoothed_burn(500, 80, 10_000).unwrap(), 80);
        assert_eq!(next_smoothed_burn(1_000, 0, 5_000).unwrap(), 500);
        assert_eq!(next_smoothed_burn(u64::MAX, u64::MAX, 1).unwrap(), u64::MAX);
    }

    #[test]
    fn extreme_emissions_clamp_to_max_supply_without_overflow() {
        let outcome = epoch_emission(EmissionInput {
            scheduled: u64::MAX,
            smoothed_burn_before: u64::MAX,
            epoch_burn: u64::MAX,
            smoothing_bps: 10_000,
            net_emissions_cap: u64::MAX,
            supply_now: 5,
            max_supply: u64::MAX,
        })
        .unwrap();
        assert_eq!(outcome.uncapped, 2 * u128::from(u64::MAX));
        assert_eq!(outcome.minted, u64::MAX - 5);
        assert!(outcome.clamped_by_max_supply());
    }

    #[test]
    fn credits_at_one_dollar_and_default_credit_price() {
        // 1 GWK (6 decimals) at $1.00000000 buys $1 / $0.00001 = 100,000 credits.
        assert_eq!(
            credits_for_burn(1_000_000, 100_000_000, -8, 6, 10_000).unwrap(),
            100_000
        );
        // A tenth of a credit's worth buys nothing.
        assert_eq!(credits_for_burn(1, 100_000_000, -8, 6, 10_000).unwrap(), 0);
        // Positive exponents and tiny exponents are handled or refused, never wrapped.
        assert_eq!(credits_for_burn(1, 1, 3, 0, 1).unwrap(), 1_000_000_000_000);
        assert_eq!(
            credits_for_burn(u64::MAX, u64::MAX, 20, 0, 1),
            Err(TokenomicsError::MathOverflow)
        );
        assert_eq!(
            credits_for_burn(1, 1, -60, 6, 1),
            Err(TokenomicsError::PriceExponentOutOfRange)
        );
    }

    #[test]
    fn conservative_price_refuses_wide_confidence() {
        assert_eq!(conservative_price(1_000, 100).unwrap(), 800);
        assert_eq!(
            conservative_price(1_000, 500),
            Err(TokenomicsError::NonPositivePrice)
        );
        assert_eq!(
            conservative_price(-5, 0),
            Err(TokenomicsError::NonPositivePrice)
        );
        assert_eq!(
            conservative_price(i64::MAX, u64::MAX),
            Err(TokenomicsError::NonPositivePrice)
        );
    }

    #[test]
    fn rolling_window_reads_only_the_window() {
        let mut ring = [0u64; BREAKER_RING_LEN];
        for epoch in 0..40u64 {
            ring[(epoch % BREAKER_RING_LEN as u64) as usize] = epoch;
        }
        // epoch 40 with a window of 3: epochs 38, 39 and the new amount.
        assert_eq!(rolling_window_total(&ring, 40, 3, 5).unwrap(), 38 + 39 + 5);
        // near genesis the window is shorter
        assert_eq!(
            rolling_window_total(&ring, 1, 32, 5).unwrap(),
            u128::from(ring[0]) + 5
        );
    }

    fn arb_schedule() -> impl Strategy<Value = Vec<EmissionStep>> {
        proptest::collection::vec((1u64..6, 0u64..=1_000_000_000), 1..8).prop_map(|gaps| {
            let mut start = 0;
            gaps.into_iter()
                .map(|(gap, tokens)| {
                    let s = step(start, tokens);
                    start += gap;
                    s
                })
                .collect()
        })
    }

    proptest! {
        /// Over any schedule and any burn history, supply never passes max supply, each
        /// epoch mints schedule + min(smoothed burn, cap) unless clamped to the headroom, and
        /// supply == initial + minted - burned after every epoch.
        #[test]
        fn emissions_never_pass_max_supply_and_follow_the_formula(
            schedule in arb_schedule(),
            burns in proptest::collection::vec(0u64..=2_000_000_000, 1..40),
            initial_supply in 0u64..=5_000_000_000,
            extra_headroom in 0u64..=20_000_000_000,
            cap in 0u64..=1_000_000_000,
            smoothing_bps in 1u16..=10_000,
        ) {
            let max_supply = initial_supply + extra_headroom;
            let mut supply = initial_supply;
            let mut smoothed = 0u64;
            let (mut minted_total, mut burned_total) = (0u64, 0u64);
            for (epoch, wanted_burn) in burns.iter().enumerate() {
                let epoch_burn = (*wanted_burn).min(supply);
                supply -= epoch_burn;
                burned_total += epoch_burn;
                let scheduled = scheduled_emission(&schedule, epoch as u64);
                let outcome = epoch_emission(EmissionInput {
                    scheduled,
                    smoothed_burn_before: smoothed,
                    epoch_burn,
                    smoothing_bps,
                    net_emissions_cap: cap,
                    supply_now: supply,
                    max_supply,
                }).unwrap();
                let expected_net = next_smoothed_burn(smoothed, epoch_burn, smoothing_bps).unwrap().min(cap);
                prop_assert_eq!(outcome.net_emission, expected_net);
                prop_assert_eq!(outcome.uncapped, u128::from(scheduled) + u128::from(expected_net));
                prop_assert_eq!(outcome.minted, (scheduled + expected_net).min(max_supply - supply));
                smoothed = outcome.smoothed_burn_after;
                supply += outcome.minted;
                minted_total += outcome.minted;
                prop_assert!(supply <= max_supply);
                prop_assert_eq!(supply, initial_supply + minted_total - burned_total);
            }
        }

        /// The moving average always stays between the previous value and the new burn.
        #[test]
        fn smoothed_burn_stays_between_old_and_new(previous: u64, burn: u64, weight in 1u16..=10_000) {
            let next = next_smoothed_burn(previous, burn, weight).unwrap();
            prop_assert!(next >= previous.min(burn) && next <= previous.max(burn));
        }

        /// Credits are floored: paying for one more credit than received always costs more
        /// than what was burned.
        #[test]
        fn credits_are_never_over_paid(
            amount in 1u64..=u64::MAX / 4,
            price in 1u64..=1_000_000_000_000,
            exponent in -12i32..=0,
            decimals in 0u8..=9,
            credit_price in 1u64..=1_000_000_000,
        ) {
            if let Ok(credits) = credits_for_burn(amount, price, exponent, decimals, credit_price) {
                // value(amount) >= credits * credit_price and < (credits + 1) * credit_price,
                // compared exactly in u128/scaled integers.
                let scale = exponent + CREDIT_PRICE_DECIMALS - i32::from(decimals);
                let value = u128::from(amount) * u128::from(price);
                let (lhs, unit) = if scale >= 0 {
                    (value * 10u128.pow(scale as u32), u128::from(credit_price))
                } else {
                    (value, u128::from(credit_price) * 10u128.pow((-scale) as u32))
                };
                prop_assert!(u128::from(credits) * unit <= lhs);
                prop_assert!((u128::from(credits) + 1) * unit > lhs);
            }
        }
    }
}
