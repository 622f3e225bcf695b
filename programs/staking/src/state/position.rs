use anchor_lang::prelude::*;

/// How a position's tokens are locked.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum LockupKind {
    /// No lockup (1x weight): withdraw `cooldown_epochs` after start_unlock.
    Flexible,
    /// Locked until a fixed time (`end_ts`).
    Cliff,
    /// Locked for `duration_s` that does not count down until start_unlock turns it into a
    /// cliff ending `duration_s` later.
    Constant,
}

/// The lockup a staker asks for.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct LockupArgs {
    pub kind: LockupKind,
    /// Seconds (ignored for flexible).
    pub duration_s: i64,
}

/// A staker's locked tokens, at PDA `["position", owner, id]`.
#[account]
#[derive(InitSpace)]
pub struct PositionV0 {
    pub bump: u8,
    pub owner: Pubkey,
    pub id: u64,
    pub kind: LockupKind,
    /// Lockup length the multiplier was fixed on (seconds).
    pub duration_s: i64,
    /// Cliff end (cliff positions).
    pub end_ts: i64,
    /// Epoch from which a flexible position may withdraw (set by start_unlock).
    pub withdrawable_epoch: Option<u64>,
    /// Weight multiplier in basis points, fixed when the lockup was chosen or extended.
    pub multiplier_bps: u32,
    /// Tokens held directly (0 while delegated: they are then shares of the pool).
    pub amount: u64,
    /// `amount * multiplier_bps / 10,000` (0 while delegated).
    pub weight: u128,
    /// Epoch from which the position earns.
    pub activation_epoch: u64,
    /// Whether its weight has joined the active weight (done when that epoch was funded).
    pub activated: bool,
    pub operator: Option<Pubkey>,
    pub shares: u128,
    pub weighted_shares: u128,
    /// Epoch its delegation counts from (the one after it delegated).
    pub delegation_active_epoch: u64,
    /// Epoch in which undelegation was requested; it completes once that epoch ended.
    pub undelegation_requested_epoch: Option<u64>,
    /// Reward index (global, or the pool's while delegated) up to which rewards are counted.
    pub reward_snapshot: u128,
    /// Rewards counted but not yet claimed.
    pub unclaimed_rewards: u64,
    pub claimed_rewards: u64,
}
