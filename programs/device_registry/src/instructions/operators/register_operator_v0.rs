use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::OperatorRegistered;
use crate::state::{seeds, OperatorV0, RegistryConfigV0, MAX_METADATA_URI_LEN};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct RegisterOperatorArgsV0 {
    pub reward_recipient: Pubkey,
    /// Optional public description of the operator (empty for none), at most 200 bytes.
    pub metadata_uri: String,
}

/// A wallet registers as an operator (once); it pays for its record.
#[event_cpi]
#[derive(Accounts)]
pub struct RegisterOperatorV0<'info> {
    /// The operator's wallet: signs for the operator and its devices from now on.
    #[account(mut)]
    pub operator_authority: Signer<'info>,
    #[account(mut, seeds = [seeds::REGISTRY_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(
        init,
        payer = operator_authority,
        space = 8 + OperatorV0::INIT_SPACE,
        seeds = [seeds::OPERATOR, operator_authority.key().as_ref()],
        bump,
    )]
    pub operator: Box<Account<'info, OperatorV0>>,
    pub system_program: Program<'info, System>,
}

impl RegisterOperatorV0<'_> {
    /// The metadata URI is at most 200 bytes.
    pub fn validate(&self, args: &RegisterOperatorArgsV0) -> Result<()> {
        require!(
            args.metadata_uri.len() <= MAX_METADATA_URI_LEN,
            RegistryError::MetadataUriTooLong
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<RegisterOperatorV0>, args: RegisterOperatorArgsV0) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    accounts.config.operator_count = accounts
        .config
        .operator_count
        .checked_add(1)
        .ok_or(RegistryError::MathOverflow)?;
    let unix_timestamp = Clock::get()?.unix_timestamp;
    accounts.operator.set_inner(OperatorV0 {
        bump: ctx.bumps.operator,
        authority: accounts.operator_authority.key(),
        reward_recipient: args.reward_recipient,
        metadata_uri: args.metadata_uri,
        device_count: 0,
        registered_at: unix_timestamp,
    });
    let event = OperatorRegistered {
        unix_timestamp,
        operator: OperatorV0::clone(&accounts.operator),
        registry: RegistryConfigV0::clone(&accounts.config),
    };
    emit_cpi!(event);
    Ok(())
}
