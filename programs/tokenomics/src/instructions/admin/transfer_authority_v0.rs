use anchor_lang::prelude::*;

use crate::errors::TokenomicsError;
use crate::events::AuthorityTransferProposed;
use crate::state::{seeds, TokenomicsConfigV0};

/// Authority, step one of two: proposes `new_authority` (or cancels a proposal with `None`).
/// Nothing changes hands until the proposed key signs `accept_authority_v0`.
#[event_cpi]
#[derive(Accounts)]
pub struct TransferAuthorityV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::CONFIG],
        bump = config.bump,
        has_one = authority @ TokenomicsError::NotAuthority,
    )]
    pub config: Box<Account<'info, TokenomicsConfigV0>>,
}

pub fn handler(ctx: Context<TransferAuthorityV0>, new_authority: Option<Pubkey>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let event = AuthorityTransferProposed {
        authority: config.authority,
        pending_before: config.pending_authority,
        pending_after: new_authority,
    };
    config.pending_authority = new_authority;
    emit_cpi!(event);
    Ok(())
}
