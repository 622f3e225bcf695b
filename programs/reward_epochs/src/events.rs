//! Events of the reward_epochs program. Claims log theirs with `emit!` (a claim transaction
//! must fit a 20-hash proof: no room for the two accounts of `emit_cpi!`); everything else uses
//! `emit_cpi!`.

use anchor_lang::prelude::*;

use crate::state::EmissionSplit;

#[event]
pub struct RewardsInitialized {
    pub authority: Pubkey,
    pub network_mint: Pubkey,
    pub reward_vault: Pubkey,
    pub treasury: Pubkey,
    pub genesis_ts: i64,
    pub epoch_len_s: i64,
    pub split: EmissionSplit,
    pub oracles: Vec<Pubkey>,
    pub quorum: u8,
}

#[event]
pub struct OracleSetUpdated {
    pub oracles_before: Vec<Pubkey>,
    pub oracles_after: Vec<Pubkey>,
    pub quorum_before: u8,
    pub quorum_after: u8,
}

#[event]
pub struct RewardParamsUpdated {
    pub split_before: EmissionSplit,
    pub split_after: EmissionSplit,
    pub challenge_period_before_s: i64,
    pub challenge_period_after_s: i64,
    pub treasury_before: Pubkey,
    pub treasury_after: Pubkey,
}

#[event]
pub struct RewardAuthorityTransferProposed {
    pub authority: Pubkey,
    pub pending_before: Option<Pubkey>,
    pub pending_after: Option<Pubkey>,
}

#[event]
pub struct RewardAuthorityTransferAccepted {
    pub authority_before: Pubkey,
    pub authority_after: Pubkey,
}

#[event]
pub struct EpochClosed {
    pub epoch: u64,
    pub minted: u64,
    pub device_share: u64,
    pub staker_share: u64,
    pub treasury_share: u64,
    pub device_pool_cumulative: u64,
}

#[event]
pub struct RootVoted {
    pub epoch: u64,
    pub oracle: Pubkey,
    pub root: [u8; 32],
    pub cumulative_total: u64,
    pub leaf_count: u64,
    /// Votes (this one included) for exactly this root and total.
    pub matching_votes: u8,
    /// Whether an earlier vote of this epoch named another root or total.
    pub disagrees: bool,
    /// Whether this vote made the root pending.
    pub reached_quorum: bool,
}

#[event]
pub struct RootActivated {
    pub epoch: u64,
    pub root: [u8; 32],
    pub cumulative_total: u64,
    pub previous_epoch: Option<u64>,
}

#[event]
pub struct RootVetoed {
    pub epoch: u64,
    pub root: [u8; 32],
    pub cumulative_total: u64,
    pub vetoes: u8,
}

#[event]
pub struct RewardsClaimed {
    pub recipient: Pubkey,
    pub payer: Pubkey,
    pub amount: u64,
    pub cumulative_amount: u64,
    pub claimed_before: u64,
    pub root_epoch: u64,
}
