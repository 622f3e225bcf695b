//! The accounts every authority instruction shares, and the two-step authority transfer (so
//! the authority, which sets prices and emissions, can move to a multisig or be rotated
//! without a redeploy, and a mistyped key never locks it out).

use anchor_lang::prelude::*;

use crate::errors::TokenomicsError;
use crate::events::{AuthorityTransferAccepted, AuthorityTransferProposed};
use crate::state::{seeds, TokenomicsConfigV0};

/// The accounts of every authority instruction that needs nothing but the config: the
/// authority signs, and the config must name it.
#[event_cpi]
#[derive(Accounts)]
pub struct AuthorityV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::CONFIG],
        bump = config.bump,
        has_one = authority @ TokenomicsError::NotAuthority,
    )]
    pub config: Box<Account<'info, TokenomicsConfigV0>>,
}

/// The business rules of an authority instruction taking `Args`. Several instructions share
/// [`AuthorityV0`], so each implements this for its own argument type and its handler's
/// `#[access_control(ctx.accounts.validate(&args))]` runs the rules of that instruction.
pub trait ValidateArgs<Args> {
    fn validate(&self, args: &Args) -> Result<()>;
}

/// Authority, step one of two: proposes `new_authority` (or cancels a proposal with `None`).
/// Nothing changes hands until the proposed key signs `accept_authority_v0`.
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

/// Step two of an authority transfer: the proposed key signs and becomes the authority.
#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAuthorityV0<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut, seeds = [seeds::CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, TokenomicsConfigV0>>,
}

impl AcceptAuthorityV0<'_> {
    /// A transfer is pending, and the signer is the key it proposed.
    pub fn validate(&self) -> Result<()> {
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

/// The proposed key takes over as the authority; the proposal is cleared.
#[access_control(ctx.accounts.validate())]
pub fn accept_authority_handler(ctx: Context<AcceptAuthorityV0>) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let new_authority = ctx.accounts.new_authority.key();
    let config = &mut ctx.accounts.config;
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
