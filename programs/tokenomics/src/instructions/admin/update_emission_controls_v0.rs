use anchor_lang::prelude::*;

use super::authority_update::AuthorityUpdateV0;
use crate::events::EmissionControlsUpdated;
use crate::state::{
    validate_circuit_breaker, validate_net_emissions, CircuitBreaker, NetEmissions,
};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct UpdateEmissionControlsArgsV0 {
    pub net_emissions: NetEmissions,
    pub circuit_breaker: CircuitBreaker,
}

/// Authority: changes the net-emission cap and smoothing, and the circuit breaker. Takes
/// effect at the next epoch mint; the smoothed burn measured so far is kept.
pub fn handler(ctx: Context<AuthorityUpdateV0>, args: UpdateEmissionControlsArgsV0) -> Result<()> {
    validate_net_emissions(&args.net_emissions)?;
    validate_circuit_breaker(&args.circuit_breaker)?;
    let config = &mut ctx.accounts.config;
    let event = EmissionControlsUpdated {
        net_emissions_before: config.net_emissions,
        net_emissions_after: args.net_emissions,
        circuit_breaker_before: config.circuit_breaker,
        circuit_breaker_after: args.circuit_breaker,
    };
    config.net_emissions = args.net_emissions;
    config.circuit_breaker = args.circuit_breaker;
    config.invariant()?;
    emit_cpi!(event);
    Ok(())
}
