use anchor_lang::prelude::*;

use super::authority_update::AuthorityUpdateV0;
use crate::events::AuthorityTransferProposed;

/// Authority, step one of two: proposes `new_authority` (or cancels a proposal with `None`).
/// Nothing changes hands until the proposed key signs `accept_authority_v0`.
pub fn handler(ctx: Context<AuthorityUpdateV0>, new_authority: Option<Pubkey>) -> Result<()> {
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
