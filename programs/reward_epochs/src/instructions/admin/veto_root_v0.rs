use anchor_lang::prelude::*;

use crate::errors::RewardError;
use crate::events::RootVetoed;
use crate::state::{seeds, EpochV0, RewardConfigV0, RootStatus};

/// Authority, before the pending root's activation time (fixed when it became pending):
/// rejects it; or, on an epoch still voting (its votes split with no quorum), clears them.
/// Either way the epoch's votes are cleared so the oracles can vote a corrected root.
#[event_cpi]
#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct VetoRootV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        seeds = [seeds::REWARD_CONFIG],
        bump = config.bump,
        has_one = authority @ RewardError::NotAuthority,
    )]
    pub config: Box<Account<'info, RewardConfigV0>>,
    #[account(mut, seeds = [seeds::EPOCH, &epoch.to_le_bytes()], bump = epoch_record.bump)]
    pub epoch_record: Box<Account<'info, EpochV0>>,
}

impl VetoRootV0<'_> {
    /// The epoch is voting, or has a pending root whose activation time has not come.
    pub fn validate(&self) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let record = &self.epoch_record;
        match record.status {
            RootStatus::Voting => Ok(()),
            RootStatus::Pending => {
                require!(now < record.activates_at, RewardError::ChallengePeriodOver);
                Ok(())
            }
            RootStatus::Active => err!(RewardError::RootAlreadyActive),
        }
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<VetoRootV0>, epoch: u64) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let record = &mut ctx.accounts.epoch_record;
    let status_before = record.status;
    let (root, cumulative_total) = match status_before {
        RootStatus::Pending => (record.pending_root, record.pending_cumulative_total),
        RootStatus::Voting | RootStatus::Active => ([0; 32], 0),
    };
    let votes_cleared = u8::try_from(record.votes.len()).map_err(|_| RewardError::MathOverflow)?;
    record.status = RootStatus::Voting;
    record.votes.clear();
    record.vetoes = record.vetoes.saturating_add(1);
    let event = RootVetoed {
        unix_timestamp,
        epoch,
        status_before,
        root,
        cumulative_total,
        votes_cleared,
        status: record.status,
        vetoes: record.vetoes,
    };
    emit_cpi!(event);
    Ok(())
}
