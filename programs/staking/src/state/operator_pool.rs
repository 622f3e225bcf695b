use anchor_lang::prelude::*;

/// Stake delegated to one operator, at PDA `["operator_pool", operator]`, held as shares so
/// a slash is O(1): it lowers `tokens`, and every member's `shares * tokens / shares_total`
/// falls by the same fraction.
///
/// Rewards: the pool's tokens count as one weight in the global index (members' lockup
/// bonuses count there on their own, see `PositionV0`). Two pool indexes, synced lazily from
/// the global one whenever the pool is touched (its tokens only change when it is):
/// `reward_per_share` grows by `delta * tokens / shares` and pays the members' base;
/// `bonus_index` grows by `delta * slash_factor` and pays their bonuses, lowered by every
/// slash since they were valued.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct OperatorPoolV0 {
    pub bump: u8,
    /// The operator's authority (wallet), as in the device registry.
    pub operator: Pubkey,
    /// Principal held for members (lowered by slashes).
    pub tokens: u64,
    pub shares: u128,
    /// Reward index per share (scaled by `REWARD_PRECISION`).
    pub reward_per_share: u128,
    /// Integral of `slash_factor` over the global index (scaled by `REWARD_PRECISION`).
    pub bonus_index: u128,
    /// Product of `(1 - bps)` over the slashes since the pool was last empty, scaled by
    /// `REWARD_PRECISION` (starts at `REWARD_PRECISION`).
    pub slash_factor: u128,
    /// Global `reward_per_weight` when the pool was last synced.
    pub synced_reward_per_weight: u128,
    pub members: u32,
    pub total_slashed: u64,
}
