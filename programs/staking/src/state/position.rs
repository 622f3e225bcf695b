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

/// An undelegation waiting out its unbonding period (still in the pool, still slashable).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct PendingUndelegation {
    /// Epoch in which the owner asked to leave.
    pub requested_epoch: u64,
    /// First epoch in which `complete_undelegation_v0` succeeds: `requested_epoch + 1 +
    /// unbonding_epochs`, fixed at the request (a later parameter change does not shorten it).
    pub completes_epoch: u64,
}

/// A staker's locked tokens, at PDA `["position", owner, id]`.
///
/// Its reward weight has two parts. The **base** is its tokens: `amount` while undelegated,
/// or the value of its `shares` of an operator pool (the pool counts them, and slashes lower
/// them). The **bonus** of its lockup, `bonus_weight = base * (multiplier - 1)` when the
/// bonus was registered, counts in the global active weight until the funding of
/// `bonus_expiry_epoch` removes it (the epoch after the one in which the lockup ends), so a
/// lockup bonus lasts exactly as long as the lockup, in O(1) per epoch.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
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
    /// The lockup bonus in weight units while it counts (0 once expired, or with no bonus).
    pub bonus_weight: u128,
    /// Epoch whose funding removes `bonus_weight` from the active weight (`None` while the
    /// lockup is not counting down: flexible, or constant before start_unlock).
    pub bonus_expiry_epoch: Option<u64>,
    /// Epoch from which the position earns.
    pub activation_epoch: u64,
    /// Whether its weight has joined the active weight (done when that epoch was funded).
    pub activated: bool,
    pub operator: Option<Pubkey>,
    pub shares: u128,
    /// The pool's slash factor when the bonus was last valued (delegated positions): the
    /// bonus earns `bonus_weight * slash_factor / bonus_slash_factor`, so a slash lowers it.
    pub bonus_slash_factor: u128,
    /// Epoch its delegation counts from (the one after it delegated).
    pub delegation_active_epoch: u64,
    pub pending_undelegation: Option<PendingUndelegation>,
    /// Index up to which the base has been counted: the global `reward_per_weight` while
    /// undelegated, the pool's `reward_per_share` while delegated.
    pub reward_snapshot: u128,
    /// Index up to which the bonus has been counted: the global `reward_per_weight` while
    /// undelegated, the pool's `bonus_index` while delegated.
    pub bonus_snapshot: u128,
    /// Global `reward_per_weight` at the last settlement (delegated positions: bounds the
    /// pool's bonus index at the bonus expiry).
    pub global_snapshot: u128,
    /// Rewards counted but not yet claimed.
    pub unclaimed_rewards: u64,
    pub claimed_rewards: u64,
    /// The pool cohort (its key epoch) the delegation waits in before it earns the pool's
    /// device rewards; `None` once started, or when not delegated.
    pub pool_cohort_epoch: Option<u64>,
    /// The pool cohort (its key epoch) an undelegation waits in before it stops earning
    /// them; `None` once ended.
    pub pool_exit_epoch: Option<u64>,
    /// Whether its shares count in the pool's earning shares.
    pub pool_earning: bool,
    /// The pool's `reward_per_share` up to which its device rewards have been counted.
    pub pool_reward_snapshot: u128,
    /// Pool device rewards counted but not yet claimed, and claimed.
    pub unclaimed_pool_rewards: u64,
    pub claimed_pool_rewards: u64,
}
