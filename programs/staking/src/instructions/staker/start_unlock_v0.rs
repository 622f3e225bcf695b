use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::UnlockStarted;
use crate::state::{seeds, LockupKind, PositionV0, StakingConfigV0};

/// The owner starts the clock: a constant lockup becomes a cliff ending its duration from
/// now; a flexible position may withdraw after the cooldown. The weight does not change.
#[event_cpi]
#[derive(Accounts)]
pub struct StartUnlockV0<'info> {
    pub owner: Signer<'info>,
    #[account(seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
        has_one = owner @ StakingError::NotPositionOwner,
    )]
    pub position: Box<Account<'info, PositionV0>>,
}

pub fn handler(ctx: Context<StartUnlockV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let config = &ctx.accounts.config;
    let position = &mut ctx.accounts.position;
    let kind_before = position.kind;
    match position.kind {
        LockupKind::Constant => {
            position.kind = LockupKind::Cliff;
            position.end_ts = now
                .checked_add(position.duration_s)
                .ok_or(StakingError::MathOverflow)?;
        }
        LockupKind::Flexible => {
            require!(
                position.withdrawable_epoch.is_none(),
                StakingError::AlreadyUnlocking
            );
            let epoch = config
                .epoch_at(now)
                .checked_add(u64::from(config.params.cooldown_epochs))
                .ok_or(StakingError::MathOverflow)?;
            position.withdrawable_epoch = Some(epoch);
        }
        LockupKind::Cliff => return err!(StakingError::CannotStartUnlock),
    }
    let event = UnlockStarted {
        position: position.key(),
        kind_before,
        end_ts: position.end_ts,
        withdrawable_epoch: position.withdrawable_epoch,
    };
    emit_cpi!(event);
    Ok(())
}
