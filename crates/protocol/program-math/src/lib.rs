//! Integer math shared by the four Groundwork programs (and the off-chain code that mirrors
//! them): the basis-point scale, and `a * b / d` over u128 with a 256-bit intermediate, so a
//! product that overflows u128 still divides exactly. Pure, `no_std`, no floats: safe for SBF.
#![no_std]

/// 100% in basis points: the one scale every Groundwork share, split, cap and multiplier uses.
pub const BPS: u64 = 10_000;

/// `BPS` as u128, for u128 intermediates.
pub const BPS_U128: u128 = BPS as u128;

/// The full 256-bit product of two u128 values, as (high, low) halves.
pub fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    const HALF: u32 = 64;
    const MASK: u128 = u64::MAX as u128;
    let (a_hi, a_lo) = (a >> HALF, a & MASK);
    let (b_hi, b_lo) = (b >> HALF, b & MASK);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    // Middle column: each term < 2^128, their sum with the carry from lo_lo fits in 130 bits.
    let middle = (lo_lo >> HALF) + (hi_lo & MASK) + (lo_hi & MASK);
    let low = (middle << HALF) | (lo_lo & MASK);
    let high = hi_hi + (hi_lo >> HALF) + (lo_hi >> HALF) + (middle >> HALF);
    (high, low)
}

/// Divides the 256-bit value `(high, low)` by `divisor`: `Some((quotient, remainder))` when the
/// quotient fits a u128, `None` when it does not or `divisor` is zero.
fn wide_div(high: u128, low: u128, divisor: u128) -> Option<(u128, u128)> {
    if divisor == 0 || high >= divisor {
        return None;
    }
    if high == 0 {
        return Some((low / divisor, low % divisor));
    }
    // Restoring long division, one bit of `low` at a time; the remainder stays below the
    // divisor, and the bit shifted out of it is carried (the shifted value is then >= 2^128 >
    // divisor, so it is always subtracted).
    let mut remainder = high;
    let mut quotient = 0u128;
    for bit in (0..128).rev() {
        let carry = remainder >> 127;
        remainder = (remainder << 1) | ((low >> bit) & 1);
        quotient <<= 1;
        if carry == 1 || remainder >= divisor {
            remainder = remainder.wrapping_sub(divisor);
            quotient |= 1;
        }
    }
    Some((quotient, remainder))
}

/// `floor(a * b / divisor)`, exact for any u128 inputs; `None` when `divisor` is zero or the
/// quotient does not fit a u128.
pub fn mul_div_floor(a: u128, b: u128, divisor: u128) -> Option<u128> {
    if divisor == 0 {
        return None;
    }
    match a.checked_mul(b) {
        Some(product) => Some(product / divisor),
        None => {
            let (high, low) = wide_mul(a, b);
            wide_div(high, low, divisor).map(|(quotient, _)| quotient)
        }
    }
}

/// `ceil(a * b / divisor)`, for amounts charged; `None` as for [`mul_div_floor`].
pub fn mul_div_ceil(a: u128, b: u128, divisor: u128) -> Option<u128> {
    if divisor == 0 {
        return None;
    }
    let (high, low) = wide_mul(a, b);
    let (quotient, remainder) = wide_div(high, low, divisor)?;
    if remainder == 0 {
        Some(quotient)
    } else {
        quotient.checked_add(1)
    }
}

/// `floor(amount * bps / 10,000)`: the part of `amount` a basis-point share pays out. Fits a
/// u64 whenever `bps <= 10,000`; `None` above that if the result does not fit.
pub fn bps_of(amount: u64, bps: u16) -> Option<u64> {
    let part = u128::from(amount) * u128::from(bps) / BPS_U128;
    u64::try_from(part).ok()
}
