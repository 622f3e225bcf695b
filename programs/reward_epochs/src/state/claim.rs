use anchor_lang::prelude::*;

/// What one recipient has been paid, at PDA `["claim", recipient]`. Leaves are cumulative, so
/// a claim pays `cumulative_amount - claimed`.
#[account]
#[derive(InitSpace)]
pub struct ClaimV0 {
    pub bump: u8,
    pub recipient: Pubkey,
    pub claimed: u64,
    pub claims: u32,
    /// Epoch of the root the last claim verified against.
    pub last_root_epoch: u64,
}
