//! The 256-bit mul-div against the u128 one wherever the product fits, and against the
//! defining inequality `q * d <= a * b < (q + 1) * d` (checked in 256 bits) everywhere else.

use groundwork_program_math::{bps_of, mul_div_ceil, mul_div_floor, wide_mul, BPS};
use proptest::prelude::*;

/// `(high, low)` as a comparable pair.
fn wide(a: u128, b: u128) -> (u128, u128) {
    wide_mul(a, b)
}

fn wide_add(x: (u128, u128), y: (u128, u128)) -> (u128, u128) {
    let (low, carry) = x.1.overflowing_add(y.1);
    (x.0 + y.0 + u128::from(carry), low)
}

#[test]
fn wide_mul_of_maxima() {
    // (2^128 - 1)^2 = 2^256 - 2^129 + 1.
    assert_eq!(wide_mul(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
    assert_eq!(wide_mul(1 << 64, 1 << 64), (1, 0));
    assert_eq!(wide_mul(0, u128::MAX), (0, 0));
}

#[test]
fn overflowing_products_divide_exactly() {
    assert_eq!(
        mul_div_floor(u128::MAX, u128::MAX, u128::MAX),
        Some(u128::MAX)
    );
    assert_eq!(mul_div_floor(u128::MAX, 3, 4), Some(u128::MAX / 4 * 3 + 2));
    assert_eq!(mul_div_floor(u128::MAX, 2, 1), None);
    assert_eq!(mul_div_floor(5, 5, 0), None);
    assert_eq!(mul_div_ceil(7, 3, 2), Some(11));
    assert_eq!(
        mul_div_ceil(u128::MAX, u128::MAX, u128::MAX),
        Some(u128::MAX)
    );
}

#[test]
fn basis_points() {
    assert_eq!(bps_of(1_000, 2_500), Some(250));
    assert_eq!(bps_of(999, 1), Some(0));
    assert_eq!(bps_of(u64::MAX, BPS as u16), Some(u64::MAX));
}

proptest! {
    #[test]
    fn agrees_with_u128_when_the_product_fits(a in any::<u64>(), b in any::<u64>(), d in 1u128..) {
        let exact = u128::from(a) * u128::from(b);
        prop_assert_eq!(mul_div_floor(a.into(), b.into(), d), Some(exact / d));
        prop_assert_eq!(mul_div_ceil(a.into(), b.into(), d), Some(exact.div_ceil(d)));
    }

    #[test]
    fn quotient_brackets_the_product(a in any::<u128>(), b in any::<u128>(), d in 1u128..) {
        match mul_div_floor(a, b, d) {
            Some(q) => {
                let product = wide(a, b);
                let below = wide(q, d);
                prop_assert!(below <= product);
                let above = wide_add(below, (0, d));
                prop_assert!(product < above);
                let ceil = mul_div_ceil(a, b, d);
                prop_assert!(ceil == Some(q) || ceil == q.checked_add(1));
            }
            // Only when the quotient needs more than 128 bits: a * b >= 2^128 * d.
            None => prop_assert!(wide(a, b).0 >= d),
        }
    }
}
