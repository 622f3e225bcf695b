//! The accounts every authority instruction that needs only the registry config shares, and
//! the two-step transfer of the registry authority: the current authority proposes, the
//! proposed key takes over only by signing, so nothing changes hands on a typo.

use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::{AuthorityTransferAccepted, AuthorityTransferProposed};
use crate::state::{seeds, RegistryConfigV0};

/// The registry authority signs and the registry config names it.
#[event_cpi]
#[derive(Accounts)]
pub struct AuthorityV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::REGISTRY_CONFIG],
        bump = config.bump,
        has_one = authority @ RegistryError::NotAuthority,
    )]
    pub config: Box<Account<'info, RegistryConfigV0>>,
}

/// Proposes `new_authority` (or cancels a proposal with `None`); the authority does not
/// change until the proposed key accepts.
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
    emit_cpi!(event);
    Ok(())
}

/// The proposed authority signs to take over.
#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAuthorityV0<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut, seeds = [seeds::REGISTRY_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfigV0>>,
}

impl AcceptAuthorityV0<'_> {
    /// A transfer is pending and the signer is the key it proposed.
    pub fn validate(&self) -> Result<()> {
        let pending = self
            .config
            .pending_authority
            .ok_or(RegistryError::NoPendingAuthority)?;
        require_keys_eq!(
            pending,
            self.new_authority.key(),
            RegistryError::NotPendingAuthority
        );
        Ok(())
    }
}

/// The proposed key becomes the authority; the proposal is cleared.
#[access_control(ctx.accounts.validate())]
pub fn accept_authority_handler(ctx: Context<AcceptAuthorityV0>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let authority_after = ctx.accounts.new_authority.key();
    let event = AuthorityTransferAccepted {
        unix_timestamp: Clock::get()?.unix_timestamp,
        authority_before: config.authority,
        authority_after,
    };
    config.authority = authority_after;
    config.pending_authority = None;
    emit_cpi!(event);
    Ok(())
}
