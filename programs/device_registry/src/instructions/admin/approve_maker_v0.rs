use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::MakerApprovalChanged;
use crate::state::{seeds, MakerV0, RegistryConfigV0};

/// Authority: approves a maker (creating its record, or re-approving a revoked one). The
/// count of devices it attested is kept across revocations.
#[event_cpi]
#[derive(Accounts)]
#[instruction(maker: Pubkey)]
pub struct ApproveMakerV0<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(
        seeds = [seeds::REGISTRY_CONFIG],
        bump = config.bump,
        has_one = authority @ RegistryError::NotAuthority,
    )]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(
        init_if_needed,
        payer = authority,
        space = 8 + MakerV0::INIT_SPACE,
        seeds = [seeds::MAKER, maker.as_ref()],
        bump,
    )]
    pub maker_record: Box<Account<'info, MakerV0>>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<ApproveMakerV0>, maker: Pubkey) -> Result<()> {
    let record = &mut ctx.accounts.maker_record;
    let approved_before = record.approved;
    record.bump = ctx.bumps.maker_record;
    record.maker = maker;
    record.approved = true;
    let event = MakerApprovalChanged {
        unix_timestamp: Clock::get()?.unix_timestamp,
        approved_before,
        maker: MakerV0::clone(record),
    };
    emit_cpi!(event);
    Ok(())
}
