//! The accounts every authority instruction shares, and the two-step authority transfer (so
//! the authority, which may slash, can move to a multisig or be rotated without a redeploy).

use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::{StakingAuthorityTransferAccepted, StakingAuthorityTransferProposed};
use crate::state::{seeds, StakingConfigV0};

/// The authority signs and the config names it.
#[event_cpi]
#[derive(Accounts)]
pub struct StakingAuthorityV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::STAKING_CONFIG],
        bump = config.bump,
        has_one = authority @ StakingError::NotAuthority,
    )]
    pub config: Box<Account<'info, StakingConfigV0>>,
}

/// Proposes `new_authority` (or cancels with `None`); it takes over only by accepting, so a
/// mistyped key never locks the authority out.
pub fn transfer_handler(
    ctx: Context<StakingAuthorityV0>,
    new_authority: Option<Pubkey>,
) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let event = StakingAuthorityTransferProposed {
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
pub struct AcceptStakingAuthorityV0<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut, seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
}

/// The proposed key signs and becomes the authority; the proposal is cleared.
pub fn accept_handler(ctx: Context<AcceptStakingAuthorityV0>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let pending = config
        .pending_authority
        .ok_or(StakingError::NoPendingAuthority)?;
    require_keys_eq!(
        pending,
        ctx.accounts.new_authority.key(),
        StakingError::NotPendingAuthority
    );
    let event = StakingAuthorityTransferAccepted {
        authority_before: config.authority,
        authority_after: pending,
    };
    config.authority = pending;
    config.pending_authority = None;
    emit_cpi!(event);
    Ok(())
}
