use anchor_lang::prelude::*;

use super::authority::RewardAuthorityV0;
use crate::events::OracleSetUpdated;
use crate::state::validate_oracle_set;

/// Authority: replaces the oracle set and quorum. Votes already cast stay counted; only
/// later votes need the new set.
pub fn handler(ctx: Context<RewardAuthorityV0>, oracles: Vec<Pubkey>, quorum: u8) -> Result<()> {
    validate_oracle_set(&oracles, quorum)?;
    let config = &mut ctx.accounts.config;
    let event = OracleSetUpdated {
        oracles_before: config.oracles.clone(),
        oracles_after: oracles.clone(),
        quorum_before: config.quorum,
        quorum_after: quorum,
    };
    config.oracles = oracles;
    config.quorum = quorum;
    emit_cpi!(event);
    Ok(())
}
