//! Burning credits: the one way fees and service are paid.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{burn, Burn, Mint, Token2022, TokenAccount};

/// Burns `amount` credits from `from` (whose owner `authority` signs); nothing when zero.
pub fn burn_credits<'info>(
    token_program: &Program<'info, Token2022>,
    credit_mint: &InterfaceAccount<'info, Mint>,
    from: &InterfaceAccount<'info, TokenAccount>,
    authority: &Signer<'info>,
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    burn(
        CpiContext::new(
            token_program.key(),
            Burn {
                mint: credit_mint.to_account_info(),
                from: from.to_account_info(),
                authority: authority.to_account_info(),
            },
        ),
        amount,
    )
}
