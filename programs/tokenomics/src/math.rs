//! Pure emission, circuit-breaker and pricing math: integers only, u128 intermediates,
//! explicit rounding (floor what is paid out: credits and emissions).

use groundwork_program_math::BPS_U128;

use crate::errors::TokenomicsError;
use crate::state::{EmissionStep, BREAKER_RING_LEN};

pub type MathResult<T> = core::result::Result<T, TokenomicsError>;

/// Decimal exponent of `usd_per_credit_e9`.
pub const CREDIT_PRICE_DECIMALS: i32 = 9;

/// Tokens the schedule emits in `epoch`: the last step starting at or before it (binary
/// search), zero before the first step.
pub fn scheduled_emission(schedule: &[EmissionStep], epoch: u64) -> u64 {
    let steps_started = schedule.partition_point(|step| step.start_epoch <= epoch);
    match steps_started.checked_sub(1) {
        None => 0,
        Some(last_started) => schedule[last_started].tokens_per_epoch,
    }
}

/// Next value of the burn moving average: `floor((previous * (10,000 - w) + burn * w) / 10,000)`.
pub fn next_smoothed_burn(previous: u64, epoch_burn: u64, smoothing_bps: u16) -> MathResult<u64> {
    let weight = u128::from(smoothing_bps);
    let kept = BPS_U128
        .checked_sub(weight)
        .ok_or(TokenomicsError::InvalidSmoothing)?;
    let blended = u128::from(previous)
        .checked_mul(kept)
        .and_then(|old| u128::from(epoch_burn).checked_mul(weight)?.checked_add(old))
        .ok_or(TokenomicsError::MathOverflow)?;
    // The average of two u64 values always fits a u64.
    u64::try_from(blended / BPS_U128).map_err(|_| TokenomicsError::MathOverflow)
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
    /// What the circuit breaker still allows this epoch ([`circuit_breaker_headroom`]).
    pub window_headroom: u64,
}

/// The outcome of one epoch mint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEmission {
    /// The burn average after this epoch's burn: it follows the measured burn whatever is
    /// minted (a clamped epoch does not distort it).
    pub smoothed_burn_after: u64,
    /// `min(smoothed_burn_after, net_emissions_cap)`.
    pub net_emission: u64,
    /// `scheduled + net_emission` (u128: never overflows).
    pub uncapped: u128,
    /// `uncapped` reduced to what fits under max supply: what the epoch asks the breaker for.
    pub before_breaker: u64,
    /// What is minted: `before_breaker` reduced to the breaker's window headroom.
    pub minted: u64,
}

impl EpochEmission {
    /// True when max supply reduced the epoch's emission.
    pub fn clamped_by_max_supply(&self) -> bool {
        u128::from(self.before_breaker) < self.uncapped
    }

    /// True when the circuit breaker's window cap reduced the epoch's emission.
    pub fn clamped_by_circuit_breaker(&self) -> bool {
        self.minted < self.before_breaker
    }
}

/// Computes an epoch's emission: schedule plus net emissions, never past max supply, then
/// clamped to the circuit breaker's headroom. Guarantees
/// `minted <= before_breaker <= scheduled + net_emission`, `minted <= window_headroom` and
/// `supply_now + minted <= max_supply` whenever `supply_now <= max_supply`.
pub fn epoch_emission(input: EmissionInput) -> MathResult<EpochEmission> {
    let smoothed_burn_after = next_smoothed_burn(
        input.smoothed_burn_before,
        input.epoch_burn,
        input.smoothing_bps,
    )?;
    let net_emission = smoothed_burn_after.min(input.net_emissions_cap);
    let uncapped = u128::from(input.scheduled)
        .checked_add(u128::from(net_emission))
        .ok_or(TokenomicsError::MathOverflow)?;
    let supply_headroom = input.max_supply.saturating_sub(input.supply_now);
    // The minimum of a u128 and a u64 fits a u64.
    let before_breaker = u64::try_from(uncapped.min(u128::from(supply_headroom)))
        .map_err(|_| TokenomicsError::MathOverflow)?;
    let minted = before_breaker.min(input.window_headroom);
    Ok(EpochEmission {
        smoothed_burn_after,
        net_emission,
        uncapped,
        before_breaker,
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

/// The ring slot that holds `epoch`'s mint: `epoch % BREAKER_RING_LEN`.
pub fn ring_slot(epoch: u64) -> MathResult<usize> {
    let ring_len = u64::try_from(BREAKER_RING_LEN).map_err(|_| TokenomicsError::MathOverflow)?;
    usize::try_from(epoch % ring_len).map_err(|_| TokenomicsError::MathOverflow)
}

/// Sum of the mints of the `window_epochs - 1` epochs before `epoch` (fewer near genesis),
/// read from the ring where epoch `e` sits at `e % BREAKER_RING_LEN`. Epochs are minted
/// consecutively and a window spans at most `BREAKER_RING_LEN` epochs, so every slot read is
/// current and none is `epoch`'s own.
pub fn previous_window_total(
    recent_mints: &[u64; BREAKER_RING_LEN],
    epoch: u64,
    window_epochs: u16,
) -> MathResult<u128> {
    let previous_epochs = u64::from(window_epochs).saturating_sub(1).min(epoch);
    let mut total = 0u128;
    for back in 1..=previous_epochs {
        let earlier_epoch = epoch
            .checked_sub(back)
            .ok_or(TokenomicsError::MathOverflow)?;
        total = total
            .checked_add(u128::from(recent_mints[ring_slot(earlier_epoch)?]))
            .ok_or(TokenomicsError::MathOverflow)?;
    }
    Ok(total)
}

/// The mints of the window ending at `epoch` if `epoch` mints `amount`:
/// [`previous_window_total`] plus `amount`.
pub fn rolling_window_total(
    recent_mints: &[u64; BREAKER_RING_LEN],
    epoch: u64,
    window_epochs: u16,
    amount: u64,
) -> MathResult<u128> {
    previous_window_total(recent_mints, epoch, window_epochs)?
        .checked_add(u128::from(amount))
        .ok_or(TokenomicsError::MathOverflow)
}

/// What `epoch` may still mint under the circuit breaker:
/// `max_mint_per_window - previous_window_total`, never below zero (the cap may have been
/// lowered under what the previous epochs already minted). Minting at most this keeps the
/// window total at or under `max_mint_per_window` whenever the previous epochs left room.
pub fn circuit_breaker_headroom(
    recent_mints: &[u64; BREAKER_RING_LEN],
    epoch: u64,
    window_epochs: u16,
    max_mint_per_window: u64,
) -> MathResult<u64> {
    let previous = previous_window_total(recent_mints, epoch, window_epochs)?;
    let headroom = u128::from(max_mint_per_window).saturating_sub(previous);
    // At most max_mint_per_window, a u64.
    u64::try_from(headroom).map_err(|_| TokenomicsError::MathOverflow)
}

/// Accepts a Pyth price published at `publish_time` when read at `now` only if
/// `|now - publish_time| <= max_price_age_s`. The past side bounds staleness; the future side
/// tolerates Solana's clock lagging Pyth's by up to the same bound, but refuses an update
/// dated further ahead, which no honest publisher produces and which would otherwise count as
/// fresh for as long as its date lies in the future.
pub fn check_price_age(now: i64, publish_time: i64, max_price_age_s: u32) -> MathResult<()> {
    let age_s = i128::from(now)
        .checked_sub(i128::from(publish_time))
        .ok_or(TokenomicsError::MathOverflow)?;
    let max_age_s = i128::from(max_price_age_s);
    if age_s > max_age_s {
        return Err(TokenomicsError::StalePrice);
    }
    if age_s < -max_age_s {
        return Err(TokenomicsError::PriceFromTheFuture);
    }
    Ok(())
}

/// The conservative Pyth price `ema_price - 2 * ema_conf`, refused when zero or negative.
pub fn conservative_price(ema_price: i64, ema_conf: u64) -> MathResult<u64> {
    // i64 - 2 * u64 always fits an i128.
    let price = i128::from(ema_conf)
        .checked_mul(2)
        .and_then(|margin| i128::from(ema_price).checked_sub(margin))
        .ok_or(TokenomicsError::MathOverflow)?;
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
    let value = u128::from(amount_base_units)
        .checked_mul(u128::from(price))
        .ok_or(TokenomicsError::MathOverflow)?;
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

    /// A ring in which each epoch of `0..epochs` minted `mint_of(epoch)`.
    fn ring_after(epochs: u64, mint_of: impl Fn(u64) -> u64) -> [u64; BREAKER_RING_LEN] {
        let mut ring = [0u64; BREAKER_RING_LEN];
        for epoch in 0..epochs {
            ring[ring_slot(epoch).unwrap()] = mint_of(epoch);
        }
        ring
    }

    #[test]
    fn schedule_lookup_uses_the_last_started_step() {
        let schedule = [step(2, 100), step(5, 50), step(9, 0)];
        let expected = [0, 0, 100, 100, 100, 50, 50, 50, 50, 0, 0];
        for (epoch, want) in (0u64..).zip(expected) {
            assert_eq!(scheduled_emission(&schedule, epoch), want, "epoch {epoch}");
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
            window_headroom: u64::MAX,
        })
        .unwrap();
        assert_eq!(outcome.uncapped, 2 * u128::from(u64::MAX));
        assert_eq!(outcome.before_breaker, u64::MAX - 5);
        assert_eq!(outcome.minted, u64::MAX - 5);
        assert!(outcome.clamped_by_max_supply());
        assert!(!outcome.clamped_by_circuit_breaker());
    }

    #[test]
    fn the_breaker_clamps_after_max_supply_and_keeps_the_burn_average() {
        let outcome = epoch_emission(EmissionInput {
            scheduled: 1_000,
            smoothed_burn_before: 0,
            epoch_burn: 400,
            smoothing_bps: 5_000,
            net_emissions_cap: 150,
            supply_now: 10_000,
            max_supply: 11_100,
            window_headroom: 700,
        })
        .unwrap();
        // 1,000 + min(200, 150) = 1,150 asked, 1,100 fits under max supply, 700 in the window.
        assert_eq!(outcome.smoothed_burn_after, 200);
        assert_eq!(outcome.net_emission, 150);
        assert_eq!(outcome.uncapped, 1_150);
        assert_eq!(outcome.before_breaker, 1_100);
        assert_eq!(outcome.minted, 700);
        assert!(outcome.clamped_by_max_supply());
        assert!(outcome.clamped_by_circuit_breaker());
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
        assert_eq!(
            conservative_price(i64::MAX, 0).unwrap(),
            i64::MAX.unsigned_abs()
        );
    }

    #[test]
    fn a_price_is_accepted_within_the_max_age_on_either_side_of_now() {
        assert_eq!(check_price_age(1_000, 940, 60), Ok(()));
        assert_eq!(check_price_age(1_000, 1_000, 60), Ok(()));
        assert_eq!(check_price_age(1_000, 1_060, 60), Ok(()));
        assert_eq!(
            check_price_age(1_000, 939, 60),
            Err(TokenomicsError::StalePrice)
        );
        assert_eq!(
            check_price_age(1_000, 1_061, 60),
            Err(TokenomicsError::PriceFromTheFuture)
        );
        assert_eq!(
            check_price_age(i64::MIN, i64::MAX, u32::MAX),
            Err(TokenomicsError::PriceFromTheFuture)
        );
        assert_eq!(
            check_price_age(i64::MAX, i64::MIN, u32::MAX),
            Err(TokenomicsError::StalePrice)
        );
    }

    #[test]
    fn rolling_window_reads_only_the_window() {
        let ring = ring_after(40, |epoch| epoch);
        // epoch 40 with a window of 3: epochs 38, 39 and the new amount.
        assert_eq!(previous_window_total(&ring, 40, 3).unwrap(), 38 + 39);
        assert_eq!(rolling_window_total(&ring, 40, 3, 5).unwrap(), 38 + 39 + 5);
        // A window of one epoch reads nothing from the ring.
        assert_eq!(previous_window_total(&ring, 40, 1).unwrap(), 0);
        // The widest window reads the 31 epochs before, never the slot epoch 40 will take.
        assert_eq!(
            previous_window_total(&ring, 40, 32).unwrap(),
            (9u64..40).map(u128::from).sum::<u128>()
        );
        // Near genesis the window is shorter.
        assert_eq!(
            rolling_window_total(&ring, 1, 32, 5).unwrap(),
            u128::from(ring[0]) + 5
        );
        assert_eq!(previous_window_total(&ring, 0, 32).unwrap(), 0);
    }

    #[test]
    fn circuit_breaker_headroom_is_the_cap_minus_the_previous_epochs() {
        let ring = ring_after(10, |_| 1_000);
        // Window of 3: epochs 8 and 9 minted 2,000 of a 2,500 cap.
        assert_eq!(circuit_breaker_headroom(&ring, 10, 3, 2_500).unwrap(), 500);
        // Near genesis only the epochs that exist count.
        assert_eq!(circuit_breaker_headroom(&ring, 1, 3, 2_500).unwrap(), 1_500);
        assert_eq!(circuit_breaker_headroom(&ring, 0, 3, 2_500).unwrap(), 2_500);
        // A cap lowered under what the window already minted leaves nothing, never less.
        assert_eq!(circuit_breaker_headroom(&ring, 10, 3, 1_500).unwrap(), 0);
        assert_eq!(circuit_breaker_headroom(&ring, 10, 3, 0).unwrap(), 0);
        // Full u64 mints in every slot do not overflow.
        let full = [u64::MAX; BREAKER_RING_LEN];
        assert_eq!(
            circuit_breaker_headroom(&full, 100, 32, u64::MAX).unwrap(),
            0
        );
        assert_eq!(
            circuit_breaker_headroom(&full, 100, 1, u64::MAX).unwrap(),
            u64::MAX
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
        /// Over any schedule, burn history and circuit breaker, supply never passes max
        /// supply, each epoch mints schedule + min(smoothed burn, cap), clamped first to the
        /// max-supply headroom and then to the breaker's headroom, no window of
        /// `window_epochs` consecutive epochs mints more than the breaker's cap, the burn
        /// average follows the measured burns whether or not an epoch was clamped, and
        /// supply == initial + minted - burned after every epoch.
        #[test]
        fn emissions_never_pass_max_supply_nor_the_breaker_and_follow_the_formula(
            schedule in arb_schedule(),
            burns in proptest::collection::vec(0u64..=2_000_000_000, 1..40),
            initial_supply in 0u64..=5_000_000_000,
            extra_headroom in 0u64..=20_000_000_000,
            cap in 0u64..=1_000_000_000,
            smoothing_bps in 1u16..=10_000,
            window_epochs in 1u16..=32,
            max_mint_per_window in 0u64..=8_000_000_000,
        ) {
            let max_supply = initial_supply + extra_headroom;
            let mut supply = initial_supply;
            let mut smoothed = 0u64;
            let (mut minted_total, mut burned_total) = (0u64, 0u64);
            let mut ring = [0u64; BREAKER_RING_LEN];
            let mut history: Vec<u64> = Vec::new();
            for (epoch, wanted_burn) in (0u64..).zip(burns) {
                let epoch_burn = wanted_burn.min(supply);
                supply -= epoch_burn;
                burned_total += epoch_burn;
                let scheduled = scheduled_emission(&schedule, epoch);
                let window_headroom =
                    circuit_breaker_headroom(&ring, epoch, window_epochs, max_mint_per_window).unwrap();
                let outcome = epoch_emission(EmissionInput {
                    scheduled,
                    smoothed_burn_before: smoothed,
                    epoch_burn,
                    smoothing_bps,
                    net_emissions_cap: cap,
                    supply_now: supply,
                    max_supply,
                    window_headroom,
                }).unwrap();
                let expected_smoothed = next_smoothed_burn(smoothed, epoch_burn, smoothing_bps).unwrap();
                let expected_net = expected_smoothed.min(cap);
                let expected_before_breaker = (scheduled + expected_net).min(max_supply - supply);
                prop_assert_eq!(outcome.smoothed_burn_after, expected_smoothed);
                prop_assert_eq!(outcome.net_emission, expected_net);
                prop_assert_eq!(outcome.uncapped, u128::from(scheduled) + u128::from(expected_net));
                prop_assert_eq!(outcome.before_breaker, expected_before_breaker);
                prop_assert_eq!(outcome.minted, expected_before_breaker.min(window_headroom));
                prop_assert_eq!(
                    outcome.clamped_by_circuit_breaker(),
                    window_headroom < expected_before_breaker
                );
                smoothed = outcome.smoothed_burn_after;
                supply += outcome.minted;
                minted_total += outcome.minted;
                ring[ring_slot(epoch).unwrap()] = outcome.minted;
                history.push(outcome.minted);
                let window_len = usize::from(window_epochs).min(history.len());
                let window_sum: u128 = history[history.len() - window_len..]
                    .iter()
                    .map(|mint| u128::from(*mint))
                    .sum();
                prop_assert!(window_sum <= u128::from(max_mint_per_window));
                prop_assert!(supply <= max_supply);
                prop_assert_eq!(supply, initial_supply + minted_total - burned_total);
            }
        }

        /// The clamped mint never exceeds the headroom nor the request, fills the window
        /// exactly when it clamps, and the window total after it never exceeds the cap unless
        /// the previous epochs alone already did (a lowered cap), in which case nothing is
        /// minted.
        #[test]
        fn a_mint_clamped_to_the_headroom_keeps_the_window_under_its_cap(
            mints in proptest::collection::vec(any::<u64>(), BREAKER_RING_LEN),
            epoch in any::<u64>(),
            window_epochs in 1u16..=32,
            max_mint_per_window in any::<u64>(),
            request in any::<u64>(),
        ) {
            let mut ring = [0u64; BREAKER_RING_LEN];
            ring.copy_from_slice(&mints);
            let headroom =
                circuit_breaker_headroom(&ring, epoch, window_epochs, max_mint_per_window).unwrap();
            let minted = request.min(headroom);
            prop_assert!(minted <= headroom && minted <= request);
            prop_assert!(headroom <= max_mint_per_window);
            let previous = previous_window_total(&ring, epoch, window_epochs).unwrap();
            let total_after = rolling_window_total(&ring, epoch, window_epochs, minted).unwrap();
            prop_assert_eq!(total_after, previous + u128::from(minted));
            if previous <= u128::from(max_mint_per_window) {
                prop_assert!(total_after <= u128::from(max_mint_per_window));
                if minted < request {
                    prop_assert_eq!(total_after, u128::from(max_mint_per_window));
                }
            } else {
                prop_assert_eq!(minted, 0);
            }
        }

        /// A price is accepted exactly when it is at most the max age away from now, on either
        /// side.
        #[test]
        fn price_age_is_bounded_on_both_sides(
            now in -5_000_000_000i64..=5_000_000_000,
            offset in -10_000i64..=10_000,
            max_age in 0u32..=5_000,
        ) {
            let publish_time = now + offset;
            let distance = i128::from(now) - i128::from(publish_time);
            let verdict = check_price_age(now, publish_time, max_age);
            if distance.abs() <= i128::from(max_age) {
                prop_assert_eq!(verdict, Ok(()));
            } else if distance > 0 {
                prop_assert_eq!(verdict, Err(TokenomicsError::StalePrice));
            } else {
                prop_assert_eq!(verdict, Err(TokenomicsError::PriceFromTheFuture));
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
                    (value * 10u128.pow(scale.unsigned_abs()), u128::from(credit_price))
                } else {
                    (value, u128::from(credit_price) * 10u128.pow(scale.unsigned_abs()))
                };
                prop_assert!(u128::from(credits) * unit <= lhs);
                prop_assert!((u128::from(credits) + 1) * unit > lhs);
            }
        }
    }
}
