//! The accounts every authority instruction shares, and the two-step authority transfer (so
//! the authority, which may slash, can move to a multisig or be rotated without a redeploy).

use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::events::{AuthorityTransferAccepted, AuthorityTransferProposed};
use crate::state::{seeds, StakingConfigV0};

/// The authority signs and the config names it.
#[event_cpi]
#[derive(Accounts)]
pub struct AuthorityV0<'info> {
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
pub fn transfer_authority_handler(
    ctx: Context<AuthorityV0>,
    new_authority: Option<Pubkey>,
) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let event = AuthorityTransferProposed {
        unix_timestamp: Clock::get()?.unix_timestamp,
        authority: config.authority,
        pending_before: config.pending_authority,
        pending_after: new_authority,
    };
    config.pending_authority = new_authority;
    config.invariant()?;
    emit_cpi!(event);
    Ok(())
}

#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAuthorityV0<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut, seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
}

impl AcceptAuthorityV0<'_> {
    /// A transfer is pending and the signer is the proposed key.
    pub fn validate(&self) -> Result<()> {
        let pending = self
            .config
            .pending_authority
            .ok_or(StakingError::NoPendingAuthority)?;
        require_keys_eq!(
            pending,
            self.new_authority.key(),
            StakingError::NotPendingAuthority
        );
        Ok(())
    }
}

/// The proposed key signs and becomes the authority; the proposal is cleared.
#[access_control(ctx.accounts.validate())]
pub fn accept_authority_handler(ctx: Context<AcceptAuthorityV0>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let event = AuthorityTransferAccepted {
        unix_timestamp: Clock::get()?.unix_timestamp,
        authority_before: config.authority,
        authority_after: ctx.accounts.new_authority.key(),
    };
    config.authority = ctx.accounts.new_authority.key();
    config.pending_authority = None;
    config.invariant()?;
    emit_cpi!(event);
    Ok(())
}
