use anchor_lang::prelude::*;

use super::checks::{activate, check_pool};
use crate::errors::StakingError;
use crate::events::LockupExtended;
use crate::math;
use crate::state::{
    seeds, EpochStakeV0, LockupArgs, LockupKind, OperatorPoolV0, PositionV0, StakingConfigV0,
};

/// The owner locks longer: a cliff or constant lockup whose remaining time is no shorter than
/// now and whose multiplier is no lower. Rewards so far are counted at the old weight first.
#[event_cpi]
#[derive(Accounts)]
pub struct ExtendLockupV0<'info> {
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
    pub epoch_stake: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The pool the position is delegated to (required while delegated).
    #[account(mut)]
    pub pool: Option<Box<Account<'info, OperatorPoolV0>>>,
}

/// Seconds of lockup a position still has ahead of it.
fn remaining_s(position: &PositionV0, now: i64) -> i64 {
    match position.kind {
        LockupKind::Flexible => 0,
        LockupKind::Cliff => position.end_ts.saturating_sub(now).max(0),
        LockupKind::Constant => position.duration_s,
    }
}

pub fn handler(ctx: Context<ExtendLockupV0>, lockup: LockupArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let position = &mut accounts.position;
    activate(
        position,
        accounts.epoch_stake.as_deref().map(|record| &**record),
    )?;
    check_pool(position, accounts.pool.as_deref().map(|pool| &**pool))?;
    require!(
        lockup.kind != LockupKind::Flexible && lockup.duration_s >= remaining_s(position, now),
        StakingError::LockupNotLonger
    );
    let multiplier = math::multiplier_bps(&accounts.config.params, lockup.kind, lockup.duration_s)?;
    require!(
        multiplier >= position.multiplier_bps,
        StakingError::LockupNotLonger
    );

    let event = LockupExtended {
        position: position.key(),
        kind_before: position.kind,
        kind_after: lockup.kind,
        duration_before_s: position.duration_s,
        duration_after_s: lockup.duration_s,
        multiplier_before_bps: position.multiplier_bps,
        multiplier_after_bps: multiplier,
    };
    math::set_multiplier(
        position,
        &mut accounts.config,
        accounts
            .epoch_stake
            .as_deref_mut()
            .map(|record| &mut **record),
        accounts.pool.as_deref_mut().map(|pool| &mut **pool),
        multiplier,
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
    emit_cpi!(event);
    Ok(())
}
