use anchor_lang::prelude::*;

use crate::errors::RewardError;
use crate::events::RootVoted;
use crate::state::{seeds, EpochV0, RewardConfigV0, RootStatus, RootVote};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubmitRootArgsV0 {
    pub root: [u8; 32],
    /// Sum of every leaf's cumulative amount.
    pub cumulative_total: u64,
    pub leaf_count: u64,
}

/// A member of the current oracle set votes for a closed epoch's root, once. Votes of keys
/// removed from the set are dropped first, so only current members' votes count and the
/// record never holds more votes than the set. When `quorum` current members have voted the
/// identical root and total, it becomes pending and may be activated after the challenge
/// period in force at that moment. Every vote is kept; a vote that differs from another is
/// flagged in its event. A total above the device rewards minted through the epoch, or below
/// the active root's, is refused.
///
/// A second vote by the same oracle is refused (`AlreadyVoted`), with one exception: while the
/// epoch is Voting, re-submitting the identical vote re-counts it, and makes the root pending
/// if it now has a quorum (after the authority lowered the quorum once everybody had voted).
#[event_cpi]
#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct SubmitRootV0<'info> {
    pub oracle: Signer<'info>,
    #[account(seeds = [seeds::REWARD_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RewardConfigV0>>,
    #[account(mut, seeds = [seeds::EPOCH, &epoch.to_le_bytes()], bump = epoch_record.bump)]
    pub epoch_record: Box<Account<'info, EpochV0>>,
}

impl SubmitRootV0<'_> {
    /// The signer is in the oracle set, the root is not active yet, the signer has not voted
    /// (or re-submits its identical vote, which now reaches the quorum while Voting), and the
    /// total neither exceeds the device pool through this epoch nor falls below the active
    /// root's.
    pub fn validate(&self, args: &SubmitRootArgsV0) -> Result<()> {
        let config = &self.config;
        let record = &self.epoch_record;
        let oracle = self.oracle.key();
        require!(config.is_oracle(&oracle), RewardError::NotAnOracle);
        require!(
            record.status != RootStatus::Active,
            RewardError::RootAlreadyActive
        );
        if let Some(earlier) = record.vote_of(&oracle) {
            let identical = earlier.root == args.root
                && earlier.cumulative_total == args.cumulative_total
                && earlier.leaf_count == args.leaf_count;
            let reaches_quorum =
                record.matching_votes(&args.root, args.cumulative_total, &config.oracles)
                    >= usize::from(config.quorum);
            require!(
                record.status == RootStatus::Voting && identical && reaches_quorum,
                RewardError::AlreadyVoted
            );
        }
        require!(
            args.cumulative_total <= record.device_pool_cumulative,
            RewardError::TotalExceedsDevicePool
        );
        require!(
            args.cumulative_total >= config.active_cumulative_total,
            RewardError::TotalDecreased
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<SubmitRootV0>, epoch: u64, args: SubmitRootArgsV0) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let config = &ctx.accounts.config;
    let oracle = ctx.accounts.oracle.key();
    let record = &mut ctx.accounts.epoch_record;

    let dropped_votes = record.drop_votes_outside(&config.oracles);
    let resubmitted = record.vote_of(&oracle).is_some();
    let disagrees = record
        .votes
        .iter()
        .any(|vote| vote.root != args.root || vote.cumulative_total != args.cumulative_total);
    if !resubmitted {
        record.votes.push(RootVote {
            oracle,
            root: args.root,
            cumulative_total: args.cumulative_total,
            leaf_count: args.leaf_count,
        });
    }
    let matching = record.matching_votes(&args.root, args.cumulative_total, &config.oracles);
    let reached_quorum =
        record.status == RootStatus::Voting && matching >= usize::from(config.quorum);
    let mut activates_at = None;
    if reached_quorum {
        let activation = now
            .checked_add(config.challenge_period_s)
            .ok_or(RewardError::MathOverflow)?;
        record.status = RootStatus::Pending;
        record.pending_root = args.root;
        record.pending_cumulative_total = args.cumulative_total;
        record.pending_leaf_count = args.leaf_count;
        record.pending_since = now;
        record.activates_at = activation;
        activates_at = Some(activation);
    }
    let count = |n: usize| u8::try_from(n).map_err(|_| RewardError::MathOverflow);
    let event = RootVoted {
        unix_timestamp: now,
        epoch,
        oracle,
        root: args.root,
        cumulative_total: args.cumulative_total,
        leaf_count: args.leaf_count,
        dropped_votes: count(dropped_votes)?,
        resubmitted,
        votes: record.votes.clone(),
        matching_votes: count(matching)?,
        disagrees,
        reached_quorum,
        status: record.status,
        activates_at,
    };
    emit_cpi!(event);
    Ok(())
}
