use anchor_lang::prelude::*;

use super::authority::AuthorityV0;
use crate::events::OracleSetUpdated;
use crate::state::validate_oracle_set;

/// Authority: replaces the oracle set and quorum (1 to 16 distinct keys, 1 <= quorum <= their
/// number). From now on only votes of the new set's members count: an epoch record drops the
/// votes of removed oracles at its next vote, and a current member's identical vote that
/// reaches the new quorum can be re-submitted to make its root pending.
#[access_control(validate_oracle_set(&oracles, quorum))]
pub fn handler(ctx: Context<AuthorityV0>, oracles: Vec<Pubkey>, quorum: u8) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    let event = OracleSetUpdated {
        unix_timestamp,
        oracles_before: config.oracles.clone(),
        oracles_after: oracles.clone(),
        quorum_before: config.quorum,
        quorum_after: quorum,
    };
    config.oracles = oracles;
    config.quorum = quorum;
    config.invariant()?;
    emit_cpi!(event);
    Ok(())
}
