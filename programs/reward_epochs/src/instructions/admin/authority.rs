//! The accounts every authority instruction that needs only the config shares, and the
//! two-step authority transfer.

use anchor_lang::prelude::*;

use crate::errors::RewardError;
use crate::events::{AuthorityTransferAccepted, AuthorityTransferProposed};
use crate::state::{seeds, RewardConfigV0};

/// The authority signs and the config names it.
#[event_cpi]
#[derive(Accounts)]
pub struct AuthorityV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::REWARD_CONFIG],
        bump = config.bump,
        has_one = authority @ RewardError::NotAuthority,
    )]
    pub config: Box<Account<'info, RewardConfigV0>>,
}

/// Proposes `new_authority` (or cancels with `None`); it takes over only by accepting.
pub fn transfer_authority_handler(
    ctx: Context<AuthorityV0>,
    new_authority: Option<Pubkey>,
) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    let event = AuthorityTransferProposed {
        unix_timestamp,
        authority: config.authority,
        pending_before: config.pending_authority,
        pending_after: new_authority,
    };
    config.pending_authority = new_authority;
    config.invariant()?;
    emit_cpi!(event);
    Ok(())
}

/// The proposed key signs to become the authority.
#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAuthorityV0<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut, seeds = [seeds::REWARD_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RewardConfigV0>>,
}

impl AcceptAuthorityV0<'_> {
    /// A transfer is pending and the signer is the proposed authority.
    pub fn validate(&self) -> Result<()> {
        let pending = self
            .config
            .pending_authority
            .ok_or(RewardError::NoPendingAuthority)?;
        require_keys_eq!(
            pending,
            self.new_authority.key(),
            RewardError::NotPendingAuthority
        );
        Ok(())
    }
}

/// The proposed key becomes the authority; nothing stays pending.
#[access_control(ctx.accounts.validate())]
pub fn accept_authority_handler(ctx: Context<AcceptAuthorityV0>) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    let new_authority = ctx.accounts.new_authority.key();
    let event = AuthorityTransferAccepted {
        unix_timestamp,
        authority_before: config.authority,
        authority_after: new_authority,
    };
    config.authority = new_authority;
    config.pending_authority = None;
    config.invariant()?;
    emit_cpi!(event);
    Ok(())
}
