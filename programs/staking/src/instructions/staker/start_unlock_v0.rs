use anchor_lang::prelude::*;

use super::checks::{activate, record_mut, record_snapshots};
use super::create_position_v0::init_record;
use crate::errors::StakingError;
use crate::events::UnlockStarted;
use crate::math;
use crate::state::{seeds, EpochStakeV0, LockupKind, PositionV0, StakingConfigV0};

/// The owner starts the clock: a constant lockup becomes a cliff ending its duration from
/// now, and its bonus is registered to end the epoch after that; a flexible position may
/// withdraw after the cooldown.
#[event_cpi]
#[derive(Accounts)]
#[instruction(bonus_expiry_epoch: Option<u64>)]
pub struct StartUnlockV0<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
        has_one = owner @ StakingError::NotPositionOwner,
    )]
    pub position: Box<Account<'info, PositionV0>>,
    /// The position's activation record (required until it is active).
    #[account(mut)]
    pub activation_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The record of the bonus expiry epoch of a constant lockup starting to unlock (created
    /// if needed; omitted when the bonus would end by the activation epoch).
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + EpochStakeV0::INIT_SPACE,
        seeds = [seeds::EPOCH_STAKE, &bonus_expiry_epoch.unwrap_or_default().to_le_bytes()],
        bump,
    )]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
    pub system_program: Program<'info, System>,
}

impl StartUnlockV0<'_> {
    /// Only a constant lockup or a flexible position that is not unlocking yet can start;
    /// for a constant lockup `bonus_expiry_epoch` names the epoch after its new end.
    pub fn validate(&self, bonus_expiry_epoch: &Option<u64>) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let expected = match self.position.kind {
            LockupKind::Constant => {
                let end_ts = now
                    .checked_add(self.position.duration_s)
                    .ok_or(StakingError::MathOverflow)?;
                Some(self.config.bonus_expiry_epoch(end_ts)?)
            }
            LockupKind::Flexible => {
                require!(
                    self.position.withdrawable_epoch.is_none(),
                    StakingError::AlreadyUnlocking
                );
                None
            }
            LockupKind::Cliff => return err!(StakingError::CannotStartUnlock),
        };
        require!(
            *bonus_expiry_epoch == expected,
            StakingError::WrongBonusRecord
        );
        require!(
            bonus_expiry_epoch.is_some() || self.bonus_record.is_none(),
            StakingError::WrongBonusRecord
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&bonus_expiry_epoch))]
pub fn handler(ctx: Context<StartUnlockV0>, bonus_expiry_epoch: Option<u64>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let owner = ctx.accounts.owner.key();
    let accounts = &mut *ctx.accounts;
    if let (Some(record), Some(epoch)) =
        (record_mut(&mut accounts.bonus_record), bonus_expiry_epoch)
    {
        init_record(
            record,
            ctx.bumps.bonus_record.unwrap_or_default(),
            epoch,
            owner,
        );
    }
    let position = &mut accounts.position;
    let kind_before = position.kind;
    activate(position, record_mut(&mut accounts.activation_record))?;
    match (position.kind, bonus_expiry_epoch) {
        (LockupKind::Constant, Some(expiry_epoch)) => {
            position.kind = LockupKind::Cliff;
            position.end_ts = now
                .checked_add(position.duration_s)
                .ok_or(StakingError::MathOverflow)?;
            math::schedule_bonus_expiry(
                position,
                &mut accounts.config,
                record_mut(&mut accounts.activation_record),
                expiry_epoch,
                record_mut(&mut accounts.bonus_record),
            )?;
        }
        _ => {
            let epoch = accounts
                .config
                .epoch_at(now)
                .checked_add(u64::from(accounts.config.params.cooldown_epochs))
                .ok_or(StakingError::MathOverflow)?;
            position.withdrawable_epoch = Some(epoch);
        }
    }
    accounts.config.invariant()?;
    let event = UnlockStarted {
        unix_timestamp: now,
        kind_before,
        position: (**accounts.position).clone(),
        records: record_snapshots(&[&accounts.activation_record, &accounts.bonus_record]),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
