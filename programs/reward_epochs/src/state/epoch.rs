use anchor_lang::prelude::*;

use crate::state::MAX_ORACLES;

/// Where an epoch's root stands.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum RootStatus {
    /// Closed; oracles are voting (again, after a veto).
    Voting,
    /// A quorum agreed; it activates after the challenge period unless vetoed.
    Pending,
    /// Activated: claims use it until a newer epoch's root activates.
    Active,
}

/// One oracle's vote.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct RootVote {
    pub oracle: Pubkey,
    pub root: [u8; 32],
    pub cumulative_total: u64,
    pub leaf_count: u64,
}

/// A closed epoch, at PDA `["epoch", epoch]`: what it minted and how it was split, and the
/// oracles' votes on its root (every vote is kept, so disagreement is visible).
#[account]
#[derive(InitSpace)]
pub struct EpochV0 {
    pub bump: u8,
    pub epoch: u64,
    pub closed_at: i64,
    pub minted: u64,
    pub device_share: u64,
    pub staker_share: u64,
    pub treasury_share: u64,
    /// Device shares of all epochs up to and including this one.
    pub device_pool_cumulative: u64,
    pub status: RootStatus,
    #[max_len(MAX_ORACLES)]
    pub votes: Vec<RootVote>,
    /// The root a quorum agreed on (valid when pending or active).
    pub pending_root: [u8; 32],
    pub pending_cumulative_total: u64,
    pub pending_leaf_count: u64,
    pub pending_since: i64,
    pub vetoes: u8,
}

impl EpochV0 {
    /// Votes identical to (`root`, `cumulative_total`).
    pub fn matching_votes(&self, root: &[u8; 32], cumulative_total: u64) -> usize {
        self.votes
            .iter()
            .filter(|vote| &vote.root == root && vote.cumulative_total == cumulative_total)
            .count()
    }
}
