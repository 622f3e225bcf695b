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
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(mut, seeds = [seeds::REGISTRY_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(
        init,
        payer = authority,
        space = 8 + OperatorV0::INIT_SPACE,
        seeds = [seeds::OPERATOR, authority.key().as_ref()],
        bump,
    )]
    pub operator: Box<Account<'info, OperatorV0>>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<RegisterOperatorV0>, args: RegisterOperatorArgsV0) -> Result<()> {
    require!(
        args.metadata_uri.len() <= MAX_METADATA_URI_LEN,
        RegistryError::MetadataUriTooLong
    );
    let config = &mut ctx.accounts.config;
    config.operator_count = config
        .operator_count
        .checked_add(1)
        .ok_or(RegistryError::MathOverflow)?;
    ctx.accounts.operator.set_inner(OperatorV0 {
        bump: ctx.bumps.operator,
        authority: ctx.accounts.authority.key(),
        reward_recipient: args.reward_recipient,
        metadata_uri: args.metadata_uri.clone(),
        device_count: 0,
        registered_at: Clock::get()?.unix_timestamp,
    });
    emit_cpi!(OperatorRegistered {
        operator: ctx.accounts.authority.key(),
        reward_recipient: args.reward_recipient,
        metadata_uri: args.metadata_uri,
    });
    Ok(())
}
