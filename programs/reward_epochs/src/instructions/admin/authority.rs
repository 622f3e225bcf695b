//! The accounts every authority instruction shares, and the two-step authority transfer.

use anchor_lang::prelude::*;

use crate::errors::RewardError;
use crate::events::{RewardAuthorityTransferAccepted, RewardAuthorityTransferProposed};
use crate::state::{seeds, RewardConfigV0};

/// The authority signs and the config names it.
#[event_cpi]
#[derive(Accounts)]
pub struct RewardAuthorityV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::REWARD_CONFIG],
        bump = config.bump,
        has_one = authority @ RewardError::NotAuthority,
    )]
    pub config: Box<Account<'info, RewardConfigV0>>,
}

/// Proposes `new_authority` (or cancels with `None`); it takes over by accepting.
pub fn transfer_handler(
    ctx: Context<RewardAuthorityV0>,
    new_authority: Option<Pubkey>,
) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let event = RewardAuthorityTransferProposed {
        authority: config.authority,
        pending_before: config.pending_authority,
        pending_after: new_authority,
    };
    config.pending_authority = new_authority;
    emit_cpi!(event);
    Ok(())
}

#[event_cpi]
#[derive(Accounts)]
pub struct AcceptRewardAuthorityV0<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut, seeds = [seeds::REWARD_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RewardConfigV0>>,
}

/// The proposed key signs and becomes the authority.
pub fn accept_handler(ctx: Context<AcceptRewardAuthorityV0>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let pending = config
        .pending_authority
        .ok_or(RewardError::NoPendingAuthority)?;
    require_keys_eq!(
        pending,
        ctx.accounts.new_authority.key(),
        RewardError::NotPendingAuthority
    );
    let event = RewardAuthorityTransferAccepted {
        authority_before: config.authority,
        authority_after: pending,
    };
    config.authority = pending;
    config.pending_authority = None;
    emit_cpi!(event);
    Ok(())
}
