use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::MakerApprovalChanged;
use crate::state::{seeds, MakerV0, RegistryConfigV0};

/// Authority: revokes a maker; its attestations no longer onboard devices. Devices it
/// attested before stay onboarded.
#[event_cpi]
#[derive(Accounts)]
pub struct RevokeMakerV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        seeds = [seeds::REGISTRY_CONFIG],
        bump = config.bump,
        has_one = authority @ RegistryError::NotAuthority,
    )]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(mut, seeds = [seeds::MAKER, maker_record.maker.as_ref()], bump = maker_record.bump)]
    pub maker_record: Box<Account<'info, MakerV0>>,
}

pub fn handler(ctx: Context<RevokeMakerV0>) -> Result<()> {
    let record = &mut ctx.accounts.maker_record;
    let approved_before = record.approved;
    record.approved = false;
    let event = MakerApprovalChanged {
        unix_timestamp: Clock::get()?.unix_timestamp,
        approved_before,
        maker: MakerV0::clone(record),
    };
    emit_cpi!(event);
    Ok(())
}
