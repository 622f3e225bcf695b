//! The chain snapshot of an epoch as of its end (SPEC 4.3 "Inputs"): what verified work reads
//! from chain. The chain view (`groundwork-oracle-chainview`) builds it only from the state at
//! the epoch's start and the events of the epoch, so every oracle — whenever it reads,
//! whichever endpoint it reads from — produces the same bytes and the same digest. The types
//! live here, beside the computation that reads them, so the computation links no RPC client.

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, AnchorSerialize};
use sha2::{Digest, Sha256};

/// The format version written first in every snapshot.
pub const SNAPSHOT_VERSION: u8 = 1;

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
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassEntry {
    pub class_id: u16,
    pub reward_weight_bps: u16,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditPrice {
    /// When that purchase was made.
    pub purchased_at: i64,
    pub network_tokens_burned: u64,
    pub credits_minted: u64,
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
    /// The last credit purchase before the epoch's end (the price data rewards are capped at);
    /// `None` when credits were never bought.
    pub credit_price: Option<CreditPrice>,
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
