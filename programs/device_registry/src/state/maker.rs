use anchor_lang::prelude::*;

/// A hardware maker the authority approved, at PDA `["maker", maker_key]`. Revoking keeps the
/// record (with `approved = false`) so history stays readable.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct MakerV0 {
    pub bump: u8,
    pub maker: Pubkey,
    pub approved: bool,
    /// Devices onboarded with this maker's attestation.
    pub devices_attested: u64,
}
