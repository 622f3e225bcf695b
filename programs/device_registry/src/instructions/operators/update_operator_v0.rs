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
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::OPERATOR, authority.key().as_ref()],
        bump = operator.bump,
        has_one = authority @ RegistryError::NotOperatorAuthority,
    )]
    pub operator: Box<Account<'info, OperatorV0>>,
}

pub fn handler(ctx: Context<UpdateOperatorV0>, args: UpdateOperatorArgsV0) -> Result<()> {
    let operator = &mut ctx.accounts.operator;
    let reward_recipient_after = args.reward_recipient.unwrap_or(operator.reward_recipient);
    let metadata_uri_after = args
        .metadata_uri
        .unwrap_or_else(|| operator.metadata_uri.clone());
    require!(
        metadata_uri_after.len() <= MAX_METADATA_URI_LEN,
        RegistryError::MetadataUriTooLong
    );
    let event = OperatorUpdated {
        operator: operator.authority,
        reward_recipient_before: operator.reward_recipient,
        reward_recipient_after,
        metadata_uri_before: operator.metadata_uri.clone(),
        metadata_uri_after: metadata_uri_after.clone(),
    };
    operator.reward_recipient = reward_recipient_after;
    operator.metadata_uri = metadata_uri_after;
    emit_cpi!(event);
    Ok(())
}
