//! The emission split as pure integer math: what devices, stakers and the treasury receive of
//! an epoch's mint.

use groundwork_program_math::{bps_of, BPS};

use crate::state::EmissionSplit;

/// One epoch's mint, split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmissionShares {
    pub devices: u64,
    pub stakers: u64,
    pub treasury: u64,
}

/// Splits `minted` by `split`: the stakers' and the treasury's shares are floored (never more
/// than their exact proportion), the devices get the rest (their proportion plus the rounding
/// dust, under 2 base units), so the three always add up to `minted`. `None` when the split
/// does not add up to 10,000 basis points.
pub fn split_emission(minted: u64, split: &EmissionSplit) -> Option<EmissionShares> {
    let sum = u64::from(split.devices_bps)
        .checked_add(u64::from(split.stakers_bps))?
        .checked_add(u64::from(split.treasury_bps))?;
    if sum != BPS {
        return None;
    }
    let stakers = bps_of(minted, split.stakers_bps)?;
    let treasury = bps_of(minted, split.treasury_bps)?;
    let devices = minted.checked_sub(stakers)?.checked_sub(treasury)?;
    Some(EmissionShares {
        devices,
        stakers,
        treasury,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_program_math::BPS_U128;
    use proptest::prelude::*;

    fn split(devices_bps: u16, stakers_bps: u16, treasury_bps: u16) -> EmissionSplit {
        EmissionSplit {
            devices_bps,
            stakers_bps,
            treasury_bps,
        }
    }

    /// Any split summing to 10,000: two cut points in `0..=10_000`.
    fn whole_split() -> impl Strategy<Value = EmissionSplit> {
        (0u16..=10_000, 0u16..=10_000).prop_map(|(a, b)| {
            let (low, high) = (a.min(b), a.max(b));
            split(10_000 - high, low, high - low)
        })
    }

    #[test]
    fn the_default_split_of_a_round_mint_is_exact() {
        let shares = split_emission(1_000_000, &split(7_000, 2_000, 1_000)).unwrap();
        assert_eq!(
            shares,
            EmissionShares {
                devices: 700_000,
                stakers: 200_000,
                treasury: 100_000,
            }
        );
    }

    #[test]
    fn the_rounding_dust_goes_to_the_devices() {
        let shares = split_emission(1, &split(3_333, 3_333, 3_334)).unwrap();
        assert_eq!((shares.devices, shares.stakers, shares.treasury), (1, 0, 0));
        let shares = split_emission(u64::MAX, &split(0, 5_000, 5_000)).unwrap();
        assert_eq!(shares.devices, 1);
    }

    #[test]
    fn a_split_not_adding_up_to_ten_thousand_is_refused() {
        assert_eq!(split_emission(100, &split(7_000, 2_000, 999)), None);
        assert_eq!(
            split_emission(100, &split(u16::MAX, u16::MAX, u16::MAX)),
            None
        );
    }

    proptest! {
        #[test]
        fn the_three_shares_always_add_up_to_the_mint(minted in any::<u64>(), split in whole_split()) {
            let shares = split_emission(minted, &split).unwrap();
            let sum = u128::from(shares.devices) + u128::from(shares.stakers) + u128::from(shares.treasury);
            prop_assert_eq!(sum, u128::from(minted));
        }

        #[test]
        fn stakers_and_treasury_never_get_more_than_their_proportion(minted in any::<u64>(), split in whole_split()) {
            let shares = split_emission(minted, &split).unwrap();
            let minted = u128::from(minted);
            prop_assert!(u128::from(shares.stakers) * BPS_U128 <= minted * u128::from(split.stakers_bps));
            prop_assert!(u128::from(shares.treasury) * BPS_U128 <= minted * u128::from(split.treasury_bps));
            // Each floored share is less than one base unit below its proportion.
            prop_assert!((u128::from(shares.stakers) + 1) * BPS_U128 > minted * u128::from(split.stakers_bps));
            prop_assert!((u128::from(shares.treasury) + 1) * BPS_U128 > minted * u128::from(split.treasury_bps));
        }

        #[test]
        fn devices_get_their_proportion_plus_under_two_units_of_dust(minted in any::<u64>(), split in whole_split()) {
            let shares = split_emission(minted, &split).unwrap();
            let minted_u128 = u128::from(minted);
            let exact = minted_u128 * u128::from(split.devices_bps);
            let devices = u128::from(shares.devices) * BPS_U128;
            prop_assert!(devices >= exact);
            prop_assert!(devices < exact + 2 * BPS_U128);
            prop_assert_eq!(
                u128::from(shares.devices),
                minted_u128 - u128::from(shares.stakers) - u128::from(shares.treasury)
            );
        }

        #[test]
        fn only_whole_splits_are_accepted(minted in any::<u64>(), devices in any::<u16>(), stakers in any::<u16>(), treasury in any::<u16>()) {
            let whole = u32::from(devices) + u32::from(stakers) + u32::from(treasury) == 10_000;
            prop_assert_eq!(split_emission(minted, &split(devices, stakers, treasury)).is_some(), whole);
        }
    }
}
