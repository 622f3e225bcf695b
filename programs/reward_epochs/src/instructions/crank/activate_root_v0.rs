use anchor_lang::prelude::*;

use crate::errors::RewardError;
use crate::events::{RootActivated, RootQuorumLapsed};
use crate::state::{seeds, EpochV0, RewardConfigV0, RootStatus};

/// Anyone, from the pending root's activation time on (fixed when it became pending, so a
/// later change of the challenge period does not shorten it): makes an epoch's pending root
/// the one claims use. Roots activate in epoch order: a root older than the active one can no
/// longer activate (the newer cumulative root already covers it). Only the current oracle
/// set's votes count: a root whose voters were removed since it became pending, leaving it
/// short of the quorum, goes back to voting instead (with the current oracles' votes kept).
#[event_cpi]
#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct ActivateRootV0<'info> {
    #[account(mut, seeds = [seeds::REWARD_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RewardConfigV0>>,
    #[account(mut, seeds = [seeds::EPOCH, &epoch.to_le_bytes()], bump = epoch_record.bump)]
    pub epoch_record: Box<Account<'info, EpochV0>>,
}

impl ActivateRootV0<'_> {
    /// The root is pending, its activation time has come, it is newer than the active root
    /// and its total does not decrease.
    pub fn validate(&self, epoch: u64) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let config = &self.config;
        let record = &self.epoch_record;
        require!(
            record.status == RootStatus::Pending,
            RewardError::NoPendingRoot
        );
        require!(
            now >= record.activates_at,
            RewardError::ChallengePeriodNotOver
        );
        require!(
            config.active_root_epoch.is_none_or(|active| epoch > active),
            RewardError::RootOutOfOrder
        );
        require!(
            record.pending_cumulative_total >= config.active_cumulative_total,
            RewardError::TotalDecreased
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(epoch))]
pub fn handler(ctx: Context<ActivateRootV0>, epoch: u64) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    let record = &mut ctx.accounts.epoch_record;
    let matching = record.matching_votes(
        &record.pending_root,
        record.pending_cumulative_total,
        &config.oracles,
    );
    if matching < usize::from(config.quorum) {
        record.drop_votes_outside(&config.oracles);
        record.status = RootStatus::Voting;
        let event = RootQuorumLapsed {
            unix_timestamp,
            epoch,
            root: record.pending_root,
            cumulative_total: record.pending_cumulative_total,
            matching_votes: u8::try_from(matching).map_err(|_| RewardError::MathOverflow)?,
            quorum: config.quorum,
            votes: record.votes.clone(),
            status: record.status,
        };
        emit_cpi!(event);
        return Ok(());
    }
    let previous_root_epoch = config.active_root_epoch;
    config.active_root = record.pending_root;
    config.active_root_epoch = Some(epoch);
    config.active_cumulative_total = record.pending_cumulative_total;
    record.status = RootStatus::Active;
    config.invariant()?;
    let event = RootActivated {
        unix_timestamp,
        epoch,
        active_root: config.active_root,
        active_cumulative_total: config.active_cumulative_total,
        leaf_count: record.pending_leaf_count,
        previous_root_epoch,
        status: record.status,
    };
    emit_cpi!(event);
    Ok(())
}
