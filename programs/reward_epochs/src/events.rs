//! Events of the reward_epochs program. Every event starts with the clock's unix time and
//! carries the values after the change, so an indexer rebuilds the config and every epoch
//! record from events alone. Claims log theirs with [`log_event`], i.e. `emit!` (a claim
//! transaction must fit a 20-hash proof: no room for the two accounts of `emit_cpi!`);
//! everything else uses `emit_cpi!`.

use anchor_lang::prelude::*;

use crate::state::{EmissionSplit, RootStatus, RootVote};

/// Logs `event` as Anchor's `emit!` does on chain: one `sol_log_data` field holding its
/// discriminator and borsh body (a `Program data:` line). Anchor's off-chain `sol_log_data`
/// does nothing, so a natively run program (the tests, the local network) would log nothing;
/// off chain this calls the runtime's syscall stubs instead, which put the line in the
/// transaction's logs as the syscall does.
pub fn log_event<E: anchor_lang::Event>(event: &E) {
    let data = event.data();
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::log::sol_log_data(&[&data]);
    #[cfg(not(target_os = "solana"))]
    anchor_lang::compat::solana_sysvar::program_stubs::sol_log_data(&[&data]);
}

/// The reward config was created (every field it starts with; totals start at zero and no
/// root is active).
#[event]
pub struct RewardsInitialized {
    pub unix_timestamp: i64,
    pub authority: Pubkey,
    pub network_mint: Pubkey,
    pub reward_vault: Pubkey,
    pub treasury: Pubkey,
    /// Copied from staking's config.
    pub genesis_ts: i64,
    pub epoch_len_s: i64,
    pub split: EmissionSplit,
    pub oracles: Vec<Pubkey>,
    pub quorum: u8,
    pub challenge_period_s: i64,
}

/// The authority replaced the oracle set and quorum. Votes of removed oracles stop counting
/// (they are dropped from an epoch record at its next vote).
#[event]
pub struct OracleSetUpdated {
    pub unix_timestamp: i64,
    pub oracles_before: Vec<Pubkey>,
    pub oracles_after: Vec<Pubkey>,
    pub quorum_before: u8,
    pub quorum_after: u8,
}

#[event]
pub struct RewardParamsUpdated {
    pub unix_timestamp: i64,
    pub split_before: EmissionSplit,
    pub split_after: EmissionSplit,
    pub challenge_period_before_s: i64,
    pub challenge_period_after_s: i64,
    pub treasury_before: Pubkey,
    pub treasury_after: Pubkey,
}

#[event]
pub struct AuthorityTransferProposed {
    pub unix_timestamp: i64,
    pub authority: Pubkey,
    pub pending_before: Option<Pubkey>,
    pub pending_after: Option<Pubkey>,
}

#[event]
pub struct AuthorityTransferAccepted {
    pub unix_timestamp: i64,
    pub authority_before: Pubkey,
    pub authority_after: Pubkey,
}

/// An epoch was closed. The new epoch record holds exactly these values (closed at
/// `unix_timestamp`, status Voting, no votes, no pending root, no vetoes); the config totals
/// are the values after the close.
#[event]
pub struct EpochClosed {
    pub unix_timestamp: i64,
    pub epoch: u64,
    pub rent_payer: Pubkey,
    /// The split in force, which produced the three shares.
    pub split: EmissionSplit,
    pub minted: u64,
    pub device_share: u64,
    pub staker_share: u64,
    pub treasury_share: u64,
    /// The token account the treasury share went to.
    pub treasury: Pubkey,
    /// Device shares of all epochs up to and including this one (record and config alike).
    pub device_pool_cumulative: u64,
    pub next_epoch_to_close: u64,
    pub total_minted: u64,
    pub total_staker_funded: u64,
    pub total_treasury_paid: u64,
}

/// An oracle voted an epoch's root. The record's votes after this vote are the votes before,
/// minus `dropped_votes` votes of oracles no longer in the set, plus this one (unless
/// `resubmitted`).
#[event]
pub struct RootVoted {
    pub unix_timestamp: i64,
    pub epoch: u64,
    pub oracle: Pubkey,
    pub root: [u8; 32],
    pub cumulative_total: u64,
    pub leaf_count: u64,
    /// Votes of keys removed from the oracle set, dropped from the record before counting.
    pub dropped_votes: u8,
    /// The oracle had already cast this identical vote; it was counted again (the quorum was
    /// lowered since) instead of being added twice.
    pub resubmitted: bool,
    /// The record's votes after this one (removed oracles' dropped).
    pub votes: Vec<RootVote>,
    /// Votes (this one included) of current oracles for exactly this root and total.
    pub matching_votes: u8,
    /// Whether another recorded vote of this epoch names another root or total.
    pub disagrees: bool,
    /// Whether this vote made the root pending: the record's pending root, total and leaf
    /// count are then this vote's, pending since `unix_timestamp`.
    pub reached_quorum: bool,
    /// The record's status after the vote.
    pub status: RootStatus,
    /// When this vote made the root pending: when it may be activated.
    pub activates_at: Option<i64>,
}

/// A pending root reached its activation time without a quorum of the current oracle set
/// (its voters were removed since): it went back to voting, with the votes of current
/// oracles kept.
#[event]
pub struct RootQuorumLapsed {
    pub unix_timestamp: i64,
    pub epoch: u64,
    pub root: [u8; 32],
    pub cumulative_total: u64,
    /// Current oracles' votes for it, and the quorum it needed.
    pub matching_votes: u8,
    pub quorum: u8,
    /// The record's votes after the removed oracles' were dropped.
    pub votes: Vec<RootVote>,
    pub status: RootStatus,
}

/// A pending root was activated: the config's active root, total and epoch are these.
#[event]
pub struct RootActivated {
    pub unix_timestamp: i64,
    pub epoch: u64,
    pub active_root: [u8; 32],
    pub active_cumulative_total: u64,
    pub leaf_count: u64,
    /// The epoch whose root claims used before.
    pub previous_root_epoch: Option<u64>,
    /// The record's status after activation (Active).
    pub status: RootStatus,
}

/// The authority vetoed a pending root: the record is back to Voting with no votes.
#[event]
pub struct RootVetoed {
    pub unix_timestamp: i64,
    pub epoch: u64,
    /// Pending (a root was rejected in its challenge period) or Voting (split votes cleared).
    pub status_before: RootStatus,
    /// The rejected pending root and total (zero when the epoch was still voting).
    pub root: [u8; 32],
    pub cumulative_total: u64,
    /// Votes cleared.
    pub votes_cleared: u8,
    /// The record's status after the veto (Voting).
    pub status: RootStatus,
    /// Vetoes of this epoch so far.
    pub vetoes: u8,
}

/// A settled epoch record was closed and its rent returned.
#[event]
pub struct EpochRecordClosed {
    pub unix_timestamp: i64,
    pub epoch: u64,
    pub rent_payer: Pubkey,
    pub lamports_returned: u64,
    /// The active root's epoch, newer than the closed one.
    pub active_root_epoch: u64,
}

/// A recipient was paid (logged as `emit!` logs: a `Program data:` line). The claim record
/// after holds `claimed = cumulative_amount`, `claims`, `last_root_epoch = root_epoch`.
#[event]
pub struct RewardsClaimed {
    pub unix_timestamp: i64,
    pub recipient: Pubkey,
    pub payer: Pubkey,
    pub amount: u64,
    pub cumulative_amount: u64,
    pub claimed_before: u64,
    pub claims: u32,
    pub root_epoch: u64,
    /// The config's total paid to all recipients after this claim.
    pub total_claimed: u64,
}
