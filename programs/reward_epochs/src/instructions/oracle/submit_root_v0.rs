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

/// An oracle of the set votes for a closed epoch's root, once. When `quorum` oracles have
/// voted the identical root and total, it becomes pending. Every vote is kept; a vote that
/// differs from an earlier one is flagged in its event. A total above the device rewards
/// minted through the epoch, or below the active root's, is refused.
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

pub fn handler(ctx: Context<SubmitRootV0>, epoch: u64, args: SubmitRootArgsV0) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let config = &ctx.accounts.config;
    let oracle = ctx.accounts.oracle.key();
    let record = &mut ctx.accounts.epoch_record;
    require!(config.is_oracle(&oracle), RewardError::NotAnOracle);
    require!(
        record.status != RootStatus::Active,
        RewardError::RootAlreadyActive
    );
    require!(
        record.votes.iter().all(|vote| vote.oracle != oracle),
        RewardError::AlreadyVoted
    );
    require!(
        args.cumulative_total <= record.device_pool_cumulative,
        RewardError::TotalExceedsDevicePool
    );
    require!(
        args.cumulative_total >= config.active_cumulative_total,
        RewardError::TotalDecreased
    );
    let disagrees = record
        .votes
        .iter()
        .any(|vote| vote.root != args.root || vote.cumulative_total != args.cumulative_total);
    record.votes.push(RootVote {
        oracle,
        root: args.root,
        cumulative_total: args.cumulative_total,
        leaf_count: args.leaf_count,
    });
    let matching = record.matching_votes(&args.root, args.cumulative_total);
    let reached_quorum =
        record.status == RootStatus::Voting && matching >= usize::from(config.quorum);
    if reached_quorum {
        record.status = RootStatus::Pending;
        record.pending_root = args.root;
        record.pending_cumulative_total = args.cumulative_total;
        record.pending_leaf_count = args.leaf_count;
        record.pending_since = now;
    }
    let event = RootVoted {
        epoch,
        oracle,
        root: args.root,
        cumulative_total: args.cumulative_total,
        leaf_count: args.leaf_count,
        matching_votes: matching as u8,
        disagrees,
        reached_quorum,
    };
    emit_cpi!(event);
    Ok(())
}
