use anchor_lang::prelude::*;

use crate::state::MAX_ORACLES;

/// Where an epoch's root stands.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum RootStatus {
    /// Closed; oracles are voting (again, after a veto).
    Voting,
    /// A quorum agreed; it activates at `activates_at` unless vetoed before.
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
/// votes of the current oracle set on its root (disagreement stays visible). Every vote in
/// `votes` is of a distinct oracle; votes of oracles removed from the set are dropped at the
/// next vote, so the list never holds more than the set (16).
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
    /// The root a quorum agreed on (valid when pending or active; after a veto, the vetoed
    /// root).
    pub pending_root: [u8; 32],
    pub pending_cumulative_total: u64,
    pub pending_leaf_count: u64,
    pub pending_since: i64,
    /// When the pending root may be activated (and until when it may be vetoed):
    /// `pending_since` plus the challenge period in force when the root became pending.
    pub activates_at: i64,
    pub vetoes: u8,
    /// Who paid the record's rent at `close_epoch`; the rent goes back to it when the settled
    /// record is closed.
    pub rent_payer: Pubkey,
}

impl EpochV0 {
    /// The vote `oracle` cast, if any.
    pub fn vote_of(&self, oracle: &Pubkey) -> Option<&RootVote> {
        self.votes.iter().find(|vote| &vote.oracle == oracle)
    }

    /// Votes of members of `oracles` identical to (`root`, `cumulative_total`).
    pub fn matching_votes(
        &self,
        root: &[u8; 32],
        cumulative_total: u64,
        oracles: &[Pubkey],
    ) -> usize {
        self.votes
            .iter()
            .filter(|vote| {
                &vote.root == root
                    && vote.cumulative_total == cumulative_total
                    && oracles.contains(&vote.oracle)
            })
            .count()
    }

    /// Drops the votes of keys that are not in `oracles`; returns how many were dropped.
    pub fn drop_votes_outside(&mut self, oracles: &[Pubkey]) -> usize {
        let before = self.votes.len();
        self.votes.retain(|vote| oracles.contains(&vote.oracle));
        before.saturating_sub(self.votes.len())
    }
}
