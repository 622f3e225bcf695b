use anchor_lang::prelude::*;

pub const MAX_METADATA_URI_LEN: usize = 200;

/// An operator, at PDA `["operator", authority]`: owns devices and receives their rewards.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct OperatorV0 {
    pub bump: u8,
    /// The operator's wallet: signs for the operator and its devices.
    pub authority: Pubkey,
    /// Where the rewards of the operator's devices go (unless a device names its own).
    pub reward_recipient: Pubkey,
    #[max_len(MAX_METADATA_URI_LEN)]
    pub metadata_uri: String,
    /// Devices the operator holds now.
    pub device_count: u64,
    pub registered_at: i64,
}
