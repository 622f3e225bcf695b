use anchor_lang::prelude::*;

use crate::errors::RewardError;
use crate::events::RootActivated;
use crate::state::{seeds, EpochV0, RewardConfigV0, RootStatus};

/// Anyone, after the challenge period: makes an epoch's pending root the one claims use.
/// Roots activate in epoch order: a root older than the active one can no longer activate
/// (the newer cumulative root already covers it).
#[event_cpi]
#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct ActivateRootV0<'info> {
    #[account(mut, seeds = [seeds::REWARD_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RewardConfigV0>>,
    #[account(mut, seeds = [seeds::EPOCH, &epoch.to_le_bytes()], bump = epoch_record.bump)]
    pub epoch_record: Box<Account<'info, EpochV0>>,
}

pub fn handler(ctx: Context<ActivateRootV0>, epoch: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    let record = &mut ctx.accounts.epoch_record;
    require!(
        record.status == RootStatus::Pending,
        RewardError::NoPendingRoot
    );
    require!(
        now >= record
            .pending_since
            .saturating_add(config.challenge_period_s),
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
    let previous_epoch = config.active_root_epoch;
    config.active_root = record.pending_root;
    config.active_root_epoch = Some(epoch);
    config.active_cumulative_total = record.pending_cumulative_total;
    record.status = RootStatus::Active;
    let event = RootActivated {
        epoch,
        root: record.pending_root,
        cumulative_total: record.pending_cumulative_total,
        previous_epoch,
    };
    emit_cpi!(event);
    Ok(())
}
