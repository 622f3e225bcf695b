use anchor_lang::prelude::*;

use crate::errors::TokenomicsError;
use crate::events::AuthorityTransferAccepted;
use crate::state::{seeds, TokenomicsConfigV0};

/// Step two of an authority transfer: the proposed key signs and becomes the authority.
#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAuthorityV0<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut, seeds = [seeds::CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, TokenomicsConfigV0>>,
}

impl AcceptAuthorityV0<'_> {
    fn validate(&self) -> Result<()> {
        let pending = self
            .config
            .pending_authority
            .ok_or(TokenomicsError::NoPendingAuthority)?;
        require_keys_eq!(
            pending,
            self.new_authority.key(),
            TokenomicsError::NotPendingAuthority
        );
        Ok(())
    }
}

pub fn handler(ctx: Context<AcceptAuthorityV0>) -> Result<()> {
    ctx.accounts.validate()?;
    let config = &mut ctx.accounts.config;
    let event = AuthorityTransferAccepted {
        authority_before: config.authority,
        authority_after: ctx.accounts.new_authority.key(),
    };
    config.authority = ctx.accounts.new_authority.key();
    config.pending_authority = None;
    emit_cpi!(event);
    Ok(())
}
