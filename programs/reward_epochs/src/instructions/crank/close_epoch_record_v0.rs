use anchor_lang::prelude::*;

use crate::errors::RewardError;
use crate::events::EpochRecordClosed;
use crate::state::{seeds, EpochV0, RewardConfigV0};

/// Anyone: closes the record of a settled epoch — one older than the active root's epoch, so
/// no root of it can activate any more and claims never read it — and returns its rent to
/// whoever paid it at `close_epoch`. Epochs cannot be closed twice, so the record never comes
/// back.
#[event_cpi]
#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct CloseEpochRecordV0<'info> {
    #[account(
        mut,
        close = rent_payer,
        seeds = [seeds::EPOCH, &epoch.to_le_bytes()],
        bump = epoch_record.bump,
        has_one = rent_payer @ RewardError::RentPayerMismatch,
    )]
    pub epoch_record: Box<Account<'info, EpochV0>>,
    /// CHECK: the account that paid the record's rent (the record names it); receives it back.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
    #[account(seeds = [seeds::REWARD_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RewardConfigV0>>,
}

impl CloseEpochRecordV0<'_> {
    /// The epoch is older than the active root's epoch.
    pub fn validate(&self, epoch: u64) -> Result<()> {
        require!(
            self.config
                .active_root_epoch
                .is_some_and(|active| epoch < active),
            RewardError::EpochNotSettled
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(epoch))]
pub fn handler(ctx: Context<CloseEpochRecordV0>, epoch: u64) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let active_root_epoch = ctx
        .accounts
        .config
        .active_root_epoch
        .ok_or(RewardError::EpochNotSettled)?;
    let event = EpochRecordClosed {
        unix_timestamp,
        epoch,
        rent_payer: ctx.accounts.rent_payer.key(),
        lamports_returned: ctx.accounts.epoch_record.to_account_info().lamports(),
        active_root_epoch,
    };
    emit_cpi!(event);
    Ok(())
}
