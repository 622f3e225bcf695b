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
/// the operator's device rewards that the stake multiplier added, minus the operator's
/// commission; the reward program's claim pays it into this address's associated token
/// account, which holds it until members claim.
///
/// The rule (the SPEC is silent; this follows Livepeer's reward cut and Helium's delegated
/// rewards):
/// - Commission: the operator sets `commission_bps`, at most the staking params'
///   `max_commission_bps` when set; a change takes effect from the next epoch (so delegators
///   can leave first). The oracle uses the commission in force at each epoch's start.
/// - Who earns: the shares of members whose delegation is active. A delegation made in epoch
///   `c` earns the rewards of epochs `c + 1` on; a requested undelegation stops earning at
///   once (its unswept rewards stay with the members who stay).
/// - Sweep: `sweep_pool_rewards_v0` reads what the reward program's claim record says this
///   address was paid since the last sweep and adds it to `reward_per_share` over the earning
///   shares, in O(1). A delegation waits in a cohort keyed by its first epoch; a sweep of
///   the rewards of root epoch `E` first starts every cohort whose first epoch is at most `E`
///   (exact when one claim came since the last sweep: the relayer sends claim and sweep in
///   one transaction), otherwise (several claims lumped) only those whose first epoch follows
///   the previous sweep's root, so a member is never paid for an epoch before its
///   delegation counted. Cohorts started later join the earning shares after the sweep.
/// - Claims: a member's `shares * (reward_per_share - snapshot)`, floored, paid from the
///   token account through its position's claim. The sum of members' claims never exceeds
///   what was swept (`total_swept`).
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
    /// The claim record's `claimed` at the last sweep: what has been taken into the index.
    pub swept_claimed: u64,
    /// The claim record's `claims` at the last sweep.
    pub swept_claims: u32,
    /// Root epoch of the last sweep.
    pub last_swept_root_epoch: Option<u64>,
    /// Swept while no share was earning; added to the next sweep.
    pub carried: u64,
    /// Everything swept (received), and what members were paid of it.
    pub total_swept: u64,
    pub total_paid: u64,
    /// Cohorts waiting to start, oldest first (`waiting_count` used).
    pub waiting: [WaitingCohort; MAX_WAITING_COHORTS],
    pub waiting_count: u8,
}

/// Delegations waiting to earn a pool's device rewards, at PDA `["pool_cohort", operator,
/// key_epoch]`: their shares join the pool's earning shares at the first sweep of a root
/// epoch at or after `activation_epoch`, and each member takes `reward_per_share_at_start`
/// as its starting point when it next settles. Closable (rent to its payer) once started and
/// no member still needs it.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct PoolCohortV0 {
    pub bump: u8,
    pub operator: Pubkey,
    pub key_epoch: u64,
    /// First epoch whose rewards its members earn (above `key_epoch` only when more than
    /// `MAX_WAITING_COHORTS` cohorts were waiting: a later delegation postponed it).
    pub activation_epoch: u64,
    pub rent_payer: Pubkey,
    /// Shares waiting in it.
    pub shares: u128,
    /// Members that have not yet taken their starting point.
    pub members_waiting: u32,
    pub started: bool,
    /// The pool's `reward_per_share` when it started.
    pub reward_per_share_at_start: u128,
}
