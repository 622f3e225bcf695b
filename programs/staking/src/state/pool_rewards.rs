use anchor_lang::prelude::*;

/// Most cohorts a pool keeps waiting at once (distinct first epochs of delegations whose
/// pool rewards have not been swept yet). Sweeps normally trail by one or two epochs; when
/// more are waiting, a new delegation joins the newest cohort and postpones its start (see
/// `PoolRewardsV0`).
pub const MAX_WAITING_COHORTS: usize = 8;

/// A commission change an operator asked for, in force from `effective_epoch` on.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct CommissionChange {
    pub bps: u16,
    pub effective_epoch: u64,
}

/// An operator's commission terms: in force, and a change waiting for its epoch.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct CommissionTerms {
    pub commission_bps: u16,
    pub pending_commission: Option<CommissionChange>,
}

/// A cohort of delegations waiting to earn the pool's device rewards.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct WaitingCohort {
    /// The epoch in the cohort record's address.
    pub key_epoch: u64,
    /// The first epoch whose rewards its members earn.
    pub activation_epoch: u64,
}

/// What an operator's delegators earn from its devices, at PDA `["pool_rewards", operator]`.
/// This address is the pool's recipient in the reward tree: the oracle pays it the part of
/// the operator's device coverage rewards that the stake multiplier added, minus the
/// operator's commission; the reward program's claim pays it into this address's associated
/// token account, which holds it until members claim.
///
/// The rule (the SPEC is silent; this follows Livepeer's reward cut and Helium's delegated
/// rewards):
/// - Commission: the operator sets `commission_bps`, at most the staking params'
///   `max_commission_bps` when set; a change takes effect from the next epoch (so delegators
///   can ask to leave first: an exit requested in epoch `c` keeps everything earned through
///   epoch `c - 1`). The oracle uses the commission in force at each epoch's start.
/// - Who earns: the shares of members whose delegation counts. A delegation made in epoch
///   `c` earns the rewards of epochs `c + 1` on (a join cohort keyed `c + 1`); an undelegation
///   requested in epoch `c` earns those of epochs before `c` only (an exit cohort keyed `c`).
///   A delegation that asks to leave before its join cohort has started (no sweep has yet
///   reached its first epoch) earns nothing: it waits for one cohort only.
/// - Sweep: `sweep_pool_rewards_v0` claims this address's leaf from the reward program (by
///   CPI, this PDA signing: the reward program pays a staking-owned recipient only so, and
///   nobody can claim it apart from a sweep) — the rewards of the epochs after the last swept
///   root up to the active root `R` — and adds it to `reward_per_share` over the earning
///   shares, in O(1). First the exits keyed at most `R` leave, and the joins whose first
///   epoch is at most the first epoch of those rewards start; then the rewards are added;
///   then the other joins due by `R` start. When the rewards cover one epoch (the relayer
///   sweeps every root that pays the pool) this is exact; when they cover several (a root
///   that paid the pool nothing, or a sweep missed), a member never receives a reward of an
///   epoch in which it did not count (a joiner may miss some, a leaver its last ones).
/// - Rewards swept while no share earns go to the operator (its devices earned them and no
///   delegator was there to share them).
/// - Claims: a member's `shares * (index at its end or now - index at its start)`, floored,
///   paid from the token account through its position's claim (and at the completion of its
///   undelegation). The sum of members' claims never exceeds what was distributed.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct PoolRewardsV0 {
    pub bump: u8,
    /// The operator's authority (wallet), as in `OperatorPoolV0`.
    pub operator: Pubkey,
    /// Commission in force (basis points of the multiplier's added part kept by the
    /// operator's devices' recipients).
    pub commission_bps: u16,
    /// A change waiting for its epoch.
    pub pending_commission: Option<CommissionChange>,
    /// Pool shares earning device rewards now.
    pub earning_shares: u128,
    /// Device rewards per earning share (scaled by `REWARD_PRECISION`).
    pub reward_per_share: u128,
    /// The claim record's `claimed` at the last sweep: what has been taken in.
    pub swept_claimed: u64,
    /// Root epoch of the last sweep, and what it received (the pool's rewards of that root's
    /// epoch when sweeps follow every root).
    pub last_swept_root_epoch: Option<u64>,
    pub last_received: u64,
    /// Everything received, what members were given of it (through the index: their claims,
    /// each floored, never add up to more), what went to the operator (no member earning),
    /// and what members were paid.
    pub total_swept: u64,
    pub total_distributed: u64,
    pub total_to_operator: u64,
    pub total_paid: u64,
    /// Cohorts waiting for a sweep, by key epoch ascending (`waiting_count` used).
    pub waiting: [WaitingCohort; MAX_WAITING_COHORTS],
    pub waiting_count: u8,
}

/// Delegations starting or ending their share of a pool's device rewards at one epoch, at
/// PDA `["pool_cohort", operator, key_epoch]`. Its exits (undelegations requested in epoch
/// `key_epoch`) leave the earning shares at the first sweep of a root at or after
/// `key_epoch`; its joins (delegations made in epoch `key_epoch - 1`) start at a sweep as
/// `PoolRewardsV0` says. Each member takes the index of its start or end when it next
/// settles. Closable (rent to its payer) once done and no member still needs it.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct PoolCohortV0 {
    pub bump: u8,
    pub operator: Pubkey,
    pub key_epoch: u64,
    /// First epoch whose rewards its joiners earn (above `key_epoch` only when more than
    /// `MAX_WAITING_COHORTS` cohorts were waiting: a later delegation postponed it).
    pub activation_epoch: u64,
    pub rent_payer: Pubkey,
    /// Shares joining, and joiners that have not yet taken their start.
    pub shares: u128,
    pub members_waiting: u32,
    pub started: bool,
    /// The pool's `reward_per_share` when its joiners started.
    pub reward_per_share_at_start: u128,
    /// Shares leaving, and leavers that have not yet taken their end.
    pub exit_shares: u128,
    pub exit_members_waiting: u32,
    pub exited: bool,
    /// The pool's `reward_per_share` when its leavers left.
    pub reward_per_share_at_exit: u128,
}
