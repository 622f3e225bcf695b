//! The chain snapshot of an epoch as of its end (SPEC 4.3 "Inputs"): what verified work reads
//! from chain. The chain view (`groundwork-oracle-chainview`) builds it only from the state at
//! the epoch's start and the events of the epoch, so every oracle — whenever it reads,
//! whichever endpoint it reads from — produces the same bytes and the same digest. The types
//! live here, beside the computation that reads them, so the computation links no RPC client.

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, AnchorSerialize};
use sha2::{Digest, Sha256};

/// The format version written first in every snapshot.
pub const SNAPSHOT_VERSION: u8 = 3;

/// A device's standing from a moment on.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Not onboarded (before its onboarding, or after its deactivation).
    Absent,
    Active,
    Suspended {
        reason: u16,
    },
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct StandingSpan {
    /// In force from this unix time (the epoch's start for the first span) until the next
    /// span or the epoch's end.
    pub from_ts: i64,
    pub standing: Standing,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocationSpan {
    /// Asserted at this unix time (the epoch's start for a location asserted before it).
    pub from_ts: i64,
    /// H3 cell.
    pub cell: u64,
}

/// One device that was onboarded at some moment of the epoch.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct DeviceEntry {
    pub device: Pubkey,
    /// Its operator's authority as of the epoch's end (or when it was deactivated).
    pub operator: Pubkey,
    pub class_id: u16,
    /// Its own reward recipient as of the end; `None`: its operator's.
    pub reward_recipient: Option<Pubkey>,
    pub onboarded_at: i64,
    /// In time order, the first at the epoch's start.
    pub standing: Vec<StandingSpan>,
    /// In time order; empty only for a device absent all epoch (never listed).
    pub locations: Vec<LocationSpan>,
    /// Credits paid for its service during the epoch (`pay_for_service`).
    pub credits_paid: u64,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorEntry {
    pub operator: Pubkey,
    /// As of the end; `None` for a staking pool's operator that is not registered.
    pub reward_recipient: Option<Pubkey>,
    /// Its active delegated stake as of the end: the tokens its pool held at the epoch's
    /// start, less what left the pool since (an undelegation is taken from them first) and
    /// their share of every slash since. A delegation made during the epoch is active from the
    /// next one, as on chain.
    pub active_stake: u64,
    /// Its delegation pool's device rewards, when it has a pool rewards account on chain.
    pub pool: Option<PoolEntry>,
}

/// An operator pool as verified work pays it (the staking program's `PoolRewardsV0`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolEntry {
    /// The pool rewards account: the pool's recipient in the reward tree.
    pub rewards_account: Pubkey,
    /// The operator's commission in force at the epoch's start (basis points).
    pub commission_bps: u16,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassEntry {
    pub class_id: u16,
    pub reward_weight_bps: u16,
}

/// One credit purchase (`CreditsPurchased`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditPrice {
    /// When that purchase was made.
    pub purchased_at: i64,
    pub network_tokens_burned: u64,
    /// Floored by the program: `network_tokens_burned / credits_minted` overstates the price
    /// paid (see [`CreditPrice::tokens_per_credit`]).
    pub credits_minted: u64,
    /// The price the program used; `None` for a purchase whose event predates the token's
    /// decimals in it.
    pub exact: Option<ExactPrice>,
}

/// The price a purchase was made at, as the program used it.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExactPrice {
    /// USD per whole network token = price * 10^exponent.
    pub price: u64,
    pub exponent: i32,
    /// USD per credit, 9 decimals.
    pub usd_per_credit_e9: u64,
    pub token_decimals: u8,
}

impl CreditPrice {
    /// Network token base units per credit as an exact fraction `(numerator, denominator)`:
    /// `usd_per_credit_e9 / (price * 10^(exponent + 9 - decimals))` from the price the
    /// program used (the inverse of its `credits_for_burn`, without the flooring of the
    /// credits minted); `burned / minted` when the event did not carry the price. `None`
    /// when it cannot be expressed (a zero, or a power of ten beyond 10^38).
    pub fn tokens_per_credit(&self) -> Option<(u128, u128)> {
        let Some(exact) = self.exact else {
            return (self.credits_minted > 0).then(|| {
                (
                    u128::from(self.network_tokens_burned),
                    u128::from(self.credits_minted),
                )
            });
        };
        let scale = exact
            .exponent
            .checked_add(9)?
            .checked_sub(i32::from(exact.token_decimals))?;
        let power = 10u128.checked_pow(scale.unsigned_abs())?;
        let (numerator, denominator) = if scale >= 0 {
            (
                u128::from(exact.usd_per_credit_e9),
                u128::from(exact.price).checked_mul(power)?,
            )
        } else {
            (
                u128::from(exact.usd_per_credit_e9).checked_mul(power)?,
                u128::from(exact.price),
            )
        };
        (numerator > 0 && denominator > 0).then_some((numerator, denominator))
    }
}

/// An epoch closed on chain (`EpochClosed`): what it minted and split.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochClose {
    pub epoch: u64,
    pub closed_at: i64,
    pub minted: u64,
    pub device_share: u64,
    pub staker_share: u64,
    pub treasury_share: u64,
    pub device_pool_cumulative: u64,
    pub devices_bps: u16,
    pub stakers_bps: u16,
    pub treasury_bps: u16,
}

/// The chain input of epoch `epoch`'s verified work.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChainSnapshot {
    pub version: u8,
    pub epoch: u64,
    pub start_ts: i64,
    pub end_ts: i64,
    /// The epoch's `close_epoch`: what it minted and split.
    pub params: EpochClose,
    /// The epoch's credit purchases in chain order; with none in the epoch, the last one
    /// before it (empty when credits were never bought). Data rewards are capped at the
    /// lowest tokens-per-credit rate among them.
    pub credit_prices: Vec<CreditPrice>,
    /// Sorted by id; as of the end.
    pub classes: Vec<ClassEntry>,
    /// Sorted by key: registered operators and operators with a staking pool.
    pub operators: Vec<OperatorEntry>,
    /// Sorted by key: every device onboarded at some moment of the epoch.
    pub devices: Vec<DeviceEntry>,
}

impl ChainSnapshot {
    /// The canonical bytes (borsh).
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding into memory")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let snapshot = Self::try_from_slice(bytes).map_err(|error| error.to_string())?;
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(format!("snapshot version {} unknown", snapshot.version));
        }
        Ok(snapshot)
    }

    /// SHA-256 of the canonical bytes.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }

    /// The digest in lowercase hex.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest())
    }
}
