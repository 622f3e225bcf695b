use anchor_lang::prelude::*;

/// Stake delegated to one operator, at PDA `["operator_pool", operator]`, held as shares so
/// a slash is O(1): it lowers `tokens`, and every member's `shares * tokens / shares_total`
/// falls by the same fraction.
///
/// Rewards: the pool earns as one weight in the global index; members earn per weighted share
/// (`shares * multiplier`) through `reward_per_weighted_share`, synced lazily from the global
/// index whenever the pool is touched (its weight only changes when it is touched).
#[account]
#[derive(InitSpace)]
pub struct OperatorPoolV0 {
    pub bump: u8,
    /// The operator's authority (wallet), as in the device registry.
    pub operator: Pubkey,
    /// Principal held for members (lowered by slashes).
    pub tokens: u64,
    pub shares: u128,
    /// Sum over members of `shares * multiplier_bps / 10,000`.
    pub weighted_shares: u128,
    /// `weighted_shares * tokens / shares`: the pool's part of the global active weight.
    pub weight: u128,
    /// Reward index per weighted share (scaled by `REWARD_PRECISION`).
    pub reward_per_weighted_share: u128,
    /// Global `reward_per_weight` when the pool was last synced.
    pub synced_reward_per_weight: u128,
    pub members: u32,
    pub total_slashed: u64,
}
