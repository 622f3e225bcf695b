//! The device pool split (SPEC 4.3 "Data score" and the 40/60 split): data rewards capped at
//! the token value of the credits paid, coverage paid in proportion to the scores, every
//! payment floored and the rest carried as dust.

use borsh::{BorshDeserialize, BorshSerialize};
use groundwork_program_math::{mul_div_floor, wide_mul, BPS};

use crate::{snapshot, DeviceRow, VerifyError, VerifyParams};

pub(crate) struct Split {
    pub pool: u64,
    pub coverage_pool: u64,
    pub data_pool: u64,
    pub data_to_coverage: u64,
    pub dust: u64,
}

/// The value of a credit in network token base units, as an exact fraction, and the
/// purchase it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CreditValue {
    pub purchased_at: i64,
    pub tokens: u128,
    pub per_credits: u128,
}

/// The lowest tokens-per-credit rate among `prices` (ties: the earliest), compared exactly
/// (256-bit cross products): a dust purchase whose floored credits overstate its price, at
/// any moment of the epoch, cannot raise the cap (SPEC 4.3 "Data score").
pub(crate) fn lowest_credit_value(prices: &[snapshot::CreditPrice]) -> Option<CreditValue> {
    let mut lowest: Option<CreditValue> = None;
    for price in prices {
        let Some((tokens, per_credits)) = price.tokens_per_credit() else {
            continue;
        };
        let lower = lowest.is_none_or(|current| {
            wide_mul(tokens, current.per_credits) < wide_mul(current.tokens, per_credits)
        });
        if lower {
            lowest = Some(CreditValue {
                purchased_at: price.purchased_at,
                tokens,
                per_credits,
            });
        }
    }
    lowest
}

/// `a * b / c` floored, in u128 (c > 0).
fn mul_div(a: u128, b: u128, c: u128) -> Result<u128, VerifyError> {
    mul_div_floor(a, b, c).ok_or(VerifyError::Overflow("a reward share"))
}

/// Splits the pool (the epoch's device share plus the carried dust): the data share pays each
/// confirmed device in proportion to the credits paid for it, capped at their token value
/// (the lowest tokens-per-credit rate of the epoch's purchases, see [`lowest_credit_value`]); what data
/// does not use joins the coverage share, paid in proportion to the coverage scores; every
/// payment floored, the rest is dust.
pub(crate) fn split_pool(
    rows: &mut [DeviceRow],
    device_share: u64,
    carried_dust: u64,
    credit_value: Option<CreditValue>,
    params: &VerifyParams,
) -> Result<Split, VerifyError> {
    let pool = device_share
        .checked_add(carried_dust)
        .ok_or(VerifyError::Overflow("the device pool"))?;
    let coverage_pool =
        (u128::from(pool) * u128::from(params.coverage_share_bps) / u128::from(BPS)) as u64;
    let data_pool = pool - coverage_pool;
    let confirmed = |row: &DeviceRow| {
        if row.fraud.is_empty() && row.data_sessions > 0 {
            row.credits_paid
        } else {
            0
        }
    };
    let total_credits: u128 = rows.iter().map(|row| u128::from(confirmed(row))).sum();
    let mut data_paid: u64 = 0;
    if total_credits > 0 {
        for row in rows.iter_mut() {
            let credits = confirmed(row);
            if credits == 0 {
                continue;
            }
            row.data_uncapped =
                mul_div(u128::from(data_pool), u128::from(credits), total_credits)? as u64;
            row.data_cap = match credit_value {
                Some(value) => {
                    let value = mul_div(u128::from(credits), value.tokens, value.per_credits)?;
                    u64::try_from(mul_div(
                        value,
                        u128::from(params.data_cap_bps),
                        u128::from(BPS),
                    )?)
                    .unwrap_or(u64::MAX)
                }
                None => 0,
            };
            row.data_reward = row.data_uncapped.min(row.data_cap);
            data_paid = data_paid
                .checked_add(row.data_reward)
                .ok_or(VerifyError::Overflow("the data payments"))?;
        }
    }
    let data_to_coverage = data_pool - data_paid;
    let coverage_total = coverage_pool + data_to_coverage;
    let total_score: u128 = rows.iter().map(|row| row.coverage_score).sum();
    let mut paid = data_paid;
    for row in rows.iter_mut() {
        if total_score > 0 && row.coverage_score > 0 {
            row.coverage_reward =
                mul_div(u128::from(coverage_total), row.coverage_score, total_score)? as u64;
        }
        row.amount = row.data_reward + row.coverage_reward;
        paid = paid
            .checked_add(row.coverage_reward)
            .ok_or(VerifyError::Overflow("the epoch's payments"))?;
    }
    let dust = pool
        .checked_sub(paid)
        .ok_or(VerifyError::Overflow("payments above the pool"))?;
    Ok(Split {
        pool,
        coverage_pool,
        data_pool,
        data_to_coverage,
        dust,
    })
}
