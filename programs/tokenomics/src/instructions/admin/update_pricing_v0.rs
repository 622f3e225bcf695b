use anchor_lang::prelude::*;

use super::authority::{AuthorityV0, ValidateArgs};
use crate::events::PricingUpdated;
use crate::state::{validate_pricing, PriceSource};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct UpdatePricingArgsV0 {
    /// The new price source (a fixed price, or a Pyth feed with its maximum age).
    pub price_source: PriceSource,
    /// The new price of one credit in USD, 9 decimals.
    pub usd_per_credit_e9: u64,
}

impl ValidateArgs<UpdatePricingArgsV0> for AuthorityV0<'_> {
    /// The credit price is positive, and so is a fixed price or a Pyth feed's maximum age.
    fn validate(&self, args: &UpdatePricingArgsV0) -> Result<()> {
        validate_pricing(&args.price_source, args.usd_per_credit_e9)
    }
}

/// Authority: switches the credit price source or sets a new fixed price or credit price.
#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<AuthorityV0>, args: UpdatePricingArgsV0) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    let event = PricingUpdated {
        unix_timestamp,
        before: config.price_source,
        after: args.price_source,
        usd_per_credit_e9_before: config.usd_per_credit_e9,
        usd_per_credit_e9_after: args.usd_per_credit_e9,
    };
    config.price_source = args.price_source;
    config.usd_per_credit_e9 = args.usd_per_credit_e9;
    config.invariant()?;
    emit_cpi!(event);
    Ok(())
}
