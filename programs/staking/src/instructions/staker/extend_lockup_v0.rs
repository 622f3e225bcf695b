use anchor_lang::prelude::*;

use super::checks::{activate, check_pool, pool_mut, record_mut, record_snapshots};
use super::create_position_v0::init_record;
use crate::errors::StakingError;
use crate::events::LockupExtended;
use crate::math::{self, LockupRecords};
use crate::state::{
    seeds, EpochStakeV0, LockupArgs, LockupKind, OperatorPoolV0, PositionV0, StakingConfigV0,
};

/// The owner locks longer: a cliff or constant lockup whose remaining time is no shorter than
/// now and whose multiplier is no lower. Rewards so far are counted at the old weight first;
/// the new bonus is valued on the position's tokens now and, for a cliff, ends the epoch
/// after the new cliff ends.
#[event_cpi]
#[derive(Accounts)]
#[instruction(lockup: LockupArgs, new_bonus_expiry_epoch: Option<u64>)]
pub struct ExtendLockupV0<'info> {
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
    /// The record of the position's current bonus expiry epoch (required while it has one).
    #[account(mut)]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The record of the new bonus expiry epoch, when it is another epoch than the current
    /// one's (created if needed).
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + EpochStakeV0::INIT_SPACE,
        seeds = [seeds::EPOCH_STAKE, &new_bonus_expiry_epoch.unwrap_or_default().to_le_bytes()],
        bump,
    )]
    pub new_bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The pool the position is delegated to (required while delegated).
    #[account(mut)]
    pub pool: Option<Box<Account<'info, OperatorPoolV0>>>,
    pub system_program: Program<'info, System>,
}

/// Seconds of lockup a position still has ahead of it.
fn remaining_s(position: &PositionV0, now: i64) -> i64 {
    match position.kind {
        LockupKind::Flexible => 0,
        LockupKind::Cliff => position.end_ts.saturating_sub(now).max(0),
        LockupKind::Constant => position.duration_s,
    }
}

impl ExtendLockupV0<'_> {
    /// The new lockup is a cliff or constant one, no shorter than what remains, and for a
    /// cliff `new_bonus_expiry_epoch` names the epoch after the one it ends in.
    pub fn validate(
        &self,
        lockup: &LockupArgs,
        new_bonus_expiry_epoch: &Option<u64>,
    ) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        require!(
            lockup.kind != LockupKind::Flexible
                && lockup.duration_s > 0
                && lockup.duration_s >= remaining_s(&self.position, now),
            StakingError::LockupNotLonger
        );
        let expected = match lockup.kind {
            LockupKind::Cliff => {
                let end_ts = now
                    .checked_add(lockup.duration_s)
                    .ok_or(StakingError::InvalidLockupDuration)?;
                Some(self.config.bonus_expiry_epoch(end_ts)?)
            }
            LockupKind::Flexible | LockupKind::Constant => None,
        };
        require!(
            *new_bonus_expiry_epoch == expected,
            StakingError::WrongBonusRecord
        );
        require!(
            new_bonus_expiry_epoch.is_some() || self.new_bonus_record.is_none(),
            StakingError::WrongBonusRecord
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&lockup, &new_bonus_expiry_epoch))]
pub fn handler(
    ctx: Context<ExtendLockupV0>,
    lockup: LockupArgs,
    new_bonus_expiry_epoch: Option<u64>,
) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let owner = ctx.accounts.owner.key();
    let accounts = &mut *ctx.accounts;
    if let (Some(record), Some(epoch)) = (
        record_mut(&mut accounts.new_bonus_record),
        new_bonus_expiry_epoch,
    ) {
        init_record(
            record,
            ctx.bumps.new_bonus_record.unwrap_or_default(),
            epoch,
            owner,
        );
    }
    let position = &mut accounts.position;
    activate(position, record_mut(&mut accounts.activation_record))?;
    check_pool(position, accounts.pool.as_deref().map(|pool| &**pool))?;
    let multiplier = math::multiplier_bps(&accounts.config.params, lockup.kind, lockup.duration_s)?;
    require!(
        multiplier >= position.multiplier_bps,
        StakingError::LockupNotLonger
    );
    let (kind_before, duration_before_s, multiplier_before_bps) =
        (position.kind, position.duration_s, position.multiplier_bps);
    math::relock(
        position,
        &mut accounts.config,
        pool_mut(&mut accounts.pool),
        LockupRecords {
            activation: record_mut(&mut accounts.activation_record),
            current_expiry: record_mut(&mut accounts.bonus_record),
            new_expiry: record_mut(&mut accounts.new_bonus_record),
        },
        multiplier,
        new_bonus_expiry_epoch,
    )?;
    position.kind = lockup.kind;
    position.duration_s = lockup.duration_s;
    position.withdrawable_epoch = None;
    position.end_ts = match lockup.kind {
        LockupKind::Cliff => now
            .checked_add(lockup.duration_s)
            .ok_or(StakingError::MathOverflow)?,
        _ => 0,
    };
    accounts.config.invariant()?;
    let event = LockupExtended {
        unix_timestamp: now,
        kind_before,
        duration_before_s,
        multiplier_before_bps,
        position: (**accounts.position).clone(),
        pool: accounts.pool.as_deref().map(|pool| (**pool).clone()),
        records: record_snapshots(&[
            &accounts.activation_record,
            &accounts.bonus_record,
            &accounts.new_bonus_record,
        ]),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
