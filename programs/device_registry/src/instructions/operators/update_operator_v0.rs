use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::OperatorUpdated;
use crate::state::{seeds, OperatorV0, MAX_METADATA_URI_LEN};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct UpdateOperatorArgsV0 {
    /// New reward recipient, or `None` to keep it.
    pub reward_recipient: Option<Pubkey>,
    /// New metadata URI (empty to clear), or `None` to keep it.
    pub metadata_uri: Option<String>,
}

/// An operator changes its reward recipient or metadata URI.
#[event_cpi]
#[derive(Accounts)]
pub struct UpdateOperatorV0<'info> {
    pub operator_authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::OPERATOR, operator_authority.key().as_ref()],
        bump = operator.bump,
        constraint = operator.authority == operator_authority.key()
            @ RegistryError::NotOperatorAuthority,
    )]
    pub operator: Box<Account<'info, OperatorV0>>,
}

impl UpdateOperatorV0<'_> {
    /// A new metadata URI is at most 200 bytes.
    pub fn validate(&self, args: &UpdateOperatorArgsV0) -> Result<()> {
        if let Some(metadata_uri) = &args.metadata_uri {
            require!(
                metadata_uri.len() <= MAX_METADATA_URI_LEN,
                RegistryError::MetadataUriTooLong
            );
        }
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<UpdateOperatorV0>, args: UpdateOperatorArgsV0) -> Result<()> {
    let operator = &mut ctx.accounts.operator;
    let reward_recipient_before = operator.reward_recipient;
    let metadata_uri_before = operator.metadata_uri.clone();
    if let Some(reward_recipient) = args.reward_recipient {
        operator.reward_recipient = reward_recipient;
    }
    if let Some(metadata_uri) = args.metadata_uri {
        operator.metadata_uri = metadata_uri;
    }
    let event = OperatorUpdated {
        unix_timestamp: Clock::get()?.unix_timestamp,
        reward_recipient_before,
        metadata_uri_before,
        operator: OperatorV0::clone(operator),
    };
    emit_cpi!(event);
    Ok(())
}
