//! Two-step transfer of the registry authority: the current authority proposes, the proposed
//! key accepts by signing. Nothing changes hands on a typo.

use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::{RegistryAuthorityTransferAccepted, RegistryAuthorityTransferProposed};
use crate::state::{seeds, RegistryConfigV0};

#[event_cpi]
#[derive(Accounts)]
pub struct TransferRegistryAuthorityV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::REGISTRY_CONFIG],
        bump = config.bump,
        has_one = authority @ RegistryError::NotAuthority,
    )]
    pub config: Box<Account<'info, RegistryConfigV0>>,
}

/// Proposes `new_authority` (or cancels a proposal with `None`).
pub fn transfer_handler(
    ctx: Context<TransferRegistryAuthorityV0>,
    new_authority: Option<Pubkey>,
) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let event = RegistryAuthorityTransferProposed {
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
pub struct AcceptRegistryAuthorityV0<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut, seeds = [seeds::REGISTRY_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfigV0>>,
}

/// The proposed key signs and becomes the authority.
pub fn accept_handler(ctx: Context<AcceptRegistryAuthorityV0>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let pending = config
        .pending_authority
        .ok_or(RegistryError::NoPendingAuthority)?;
    require_keys_eq!(
        pending,
        ctx.accounts.new_authority.key(),
        RegistryError::NotPendingAuthority
    );
    let event = RegistryAuthorityTransferAccepted {
        authority_before: config.authority,
        authority_after: pending,
    };
    config.authority = pending;
    config.pending_authority = None;
    emit_cpi!(event);
    Ok(())
}
