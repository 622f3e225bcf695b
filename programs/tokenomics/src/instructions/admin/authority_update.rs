use anchor_lang::prelude::*;

use crate::errors::TokenomicsError;
use crate::state::{seeds, TokenomicsConfigV0};

/// The accounts of every instruction by which the network authority changes the config:
/// the authority signs, and the config must name it.
#[event_cpi]
#[derive(Accounts)]
pub struct AuthorityUpdateV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::CONFIG],
        bump = config.bump,
        has_one = authority @ TokenomicsError::NotAuthority,
    )]
    pub config: Box<Account<'info, TokenomicsConfigV0>>,
}
