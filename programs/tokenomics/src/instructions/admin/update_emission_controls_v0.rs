use anchor_lang::prelude::*;

use super::authority::{AuthorityV0, ValidateArgs};
use crate::events::EmissionControlsUpdated;
use crate::state::{
    validate_circuit_breaker, validate_net_emissions, CircuitBreaker, NetEmissions,
};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct UpdateEmissionControlsArgsV0 {
    pub net_emissions: NetEmissions,
    pub circuit_breaker: CircuitBreaker,
}

impl ValidateArgs<UpdateEmissionControlsArgsV0> for AuthorityV0<'_> {
    /// The smoothing weight is a valid basis-point value and the breaker's window fits the
    /// ring of past mints.
    fn validate(&self, args: &UpdateEmissionControlsArgsV0) -> Result<()> {
        validate_net_emissions(&args.net_emissions)?;
        validate_circuit_breaker(&args.circuit_breaker)
    }
}

/// Authority: changes the net-emission cap and smoothing, and the circuit breaker. Takes
/// effect at the next epoch mint; the smoothed burn measured so far and the ring of past mints
/// are kept, so a lowered window cap counts the mints already made.
#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<AuthorityV0>, args: UpdateEmissionControlsArgsV0) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    let event = EmissionControlsUpdated {
        unix_timestamp,
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
