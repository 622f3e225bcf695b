//! The operator pools' device rewards as pure functions (the rule: `PoolRewardsV0`):
//! commission changes, cohorts of delegations waiting to earn, the O(1) sweep into the
//! per-share index, and members' settlement. Integers only, floors on everything paid out.

use anchor_lang::prelude::Pubkey;
use groundwork_program_math::{mul_div_floor, BPS};

use super::{MathResult, REWARD_PRECISION};
use crate::errors::StakingError;
use crate::state::{
    CommissionChange, CommissionTerms, PoolCohortV0, PoolRewardsV0, PositionV0, WaitingCohort,
    MAX_WAITING_COHORTS,
};

fn add(a: u128, b: u128) -> MathResult<u128> {
    a.checked_add(b).ok_or(StakingError::MathOverflow)
}

fn sub(a: u128, b: u128) -> MathResult<u128> {
    a.checked_sub(b).ok_or(StakingError::MathOverflow)
}

fn add_u64(a: u64, b: u64) -> MathResult<u64> {
    a.checked_add(b).ok_or(StakingError::MathOverflow)
}

impl PoolCohortV0 {
    /// Fills a cohort record an instruction just created (its operator still unset), keyed
    /// `key_epoch`, its rent paid by `rent_payer`; leaves an existing one as it is.
    pub fn init_if_new(&mut self, bump: u8, operator: Pubkey, key_epoch: u64, rent_payer: Pubkey) {
        if self.operator == operator {
            return;
        }
        self.bump = bump;
        self.operator = operator;
        self.key_epoch = key_epoch;
        self.activation_epoch = key_epoch;
        self.rent_payer = rent_payer;
    }
}

impl CommissionTerms {
    /// The commission in force in `epoch` (a pending change counts from its epoch on).
    pub fn commission_for(&self, epoch: u64) -> u16 {
        match self.pending_commission {
            Some(change) if change.effective_epoch <= epoch => change.bps,
            _ => self.commission_bps,
        }
    }
}

impl PoolRewardsV0 {
    /// A new pool rewards account of `operator` at commission `commission_bps`, nothing
    /// swept, nothing waiting.
    pub fn new(bump: u8, operator: Pubkey, commission_bps: u16) -> Self {
        PoolRewardsV0 {
            bump,
            operator,
            commission_bps,
            pending_commission: None,
            earning_shares: 0,
            reward_per_share: 0,
            swept_claimed: 0,
            last_swept_root_epoch: None,
            last_received: 0,
            total_swept: 0,
            total_distributed: 0,
            total_to_operator: 0,
            total_paid: 0,
            waiting: [WaitingCohort::default(); MAX_WAITING_COHORTS],
            waiting_count: 0,
        }
    }

    /// Its commission terms (what the oracle's chain view tracks).
    pub fn commission_terms(&self) -> CommissionTerms {
        CommissionTerms {
            commission_bps: self.commission_bps,
            pending_commission: self.pending_commission,
        }
    }

    /// The commission in force in `epoch` (a pending change counts from its epoch on).
    pub fn commission_for(&self, epoch: u64) -> u16 {
        self.commission_terms().commission_for(epoch)
    }

    /// Folds a pending change whose epoch has come into `commission_bps`.
    pub fn fold_commission(&mut self, current_epoch: u64) {
        if let Some(change) = self.pending_commission {
            if change.effective_epoch <= current_epoch {
                self.commission_bps = change.bps;
                self.pending_commission = None;
            }
        }
    }

    /// The operator asks for `bps` in `current_epoch`: refused above `max_bps`; in force from
    /// the next epoch (replacing a change not yet in force).
    pub fn set_commission(
        &mut self,
        bps: u16,
        max_bps: u16,
        current_epoch: u64,
    ) -> MathResult<CommissionChange> {
        if bps > max_bps || u64::from(bps) > BPS {
            return Err(StakingError::CommissionAboveMaximum);
        }
        self.fold_commission(current_epoch);
        let change = CommissionChange {
            bps,
            effective_epoch: current_epoch
                .checked_add(1)
                .ok_or(StakingError::MathOverflow)?,
        };
        self.pending_commission = Some(change);
        Ok(change)
    }

    /// The cohorts waiting, oldest first.
    pub fn waiting_cohorts(&self) -> &[WaitingCohort] {
        &self.waiting[..usize::from(self.waiting_count).min(MAX_WAITING_COHORTS)]
    }

    /// The key epoch of the cohort a delegation whose first earning epoch is
    /// `activation_epoch` joins: its own, or the newest waiting one when no slot is free.
    pub fn cohort_for(&self, activation_epoch: u64) -> u64 {
        let waiting = self.waiting_cohorts();
        match waiting
            .iter()
            .find(|cohort| cohort.key_epoch == activation_epoch)
        {
            Some(cohort) => cohort.key_epoch,
            None if waiting.len() >= MAX_WAITING_COHORTS => waiting
                .last()
                .map_or(activation_epoch, |cohort| cohort.key_epoch),
            None => activation_epoch,
        }
    }
}

/// A delegation whose shares earn from `activation_epoch` joins `cohort` (the one
/// `cohort_for` names, created or found): registered as waiting, its shares counted there.
pub fn join_cohort(
    pool_rewards: &mut PoolRewardsV0,
    cohort: &mut PoolCohortV0,
    position: &mut PositionV0,
    activation_epoch: u64,
) -> MathResult<()> {
    let key_epoch = pool_rewards.cohort_for(activation_epoch);
    if cohort.key_epoch != key_epoch || cohort.operator != pool_rewards.operator {
        return Err(StakingError::WrongPoolCohort);
    }
    match waiting_slot(pool_rewards, key_epoch) {
        Some(index) => {
            // Joining the newest cohort of a full list postpones its joiners' start to this
            // delegation's first epoch: nobody is paid for an epoch before its delegation.
            if cohort.started {
                return Err(StakingError::WrongPoolCohort);
            }
            let slot = &mut pool_rewards.waiting[index];
            if activation_epoch > slot.activation_epoch {
                slot.activation_epoch = activation_epoch;
                cohort.activation_epoch = activation_epoch;
            }
        }
        None => {
            if cohort.started {
                return Err(StakingError::WrongPoolCohort);
            }
            register_waiting(pool_rewards, key_epoch, activation_epoch)
                .ok_or(StakingError::WrongPoolCohort)?;
            cohort.activation_epoch = activation_epoch;
        }
    }
    cohort.shares = add(cohort.shares, position.shares)?;
    cohort.members_waiting = cohort
        .members_waiting
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    position.pool_cohort_epoch = Some(key_epoch);
    position.pool_exit_epoch = None;
    position.pool_earning = false;
    position.pool_reward_snapshot = pool_rewards.reward_per_share;
    Ok(())
}

/// The waiting list's slot of `key_epoch`, if listed.
fn waiting_slot(pool_rewards: &PoolRewardsV0, key_epoch: u64) -> Option<usize> {
    pool_rewards
        .waiting_cohorts()
        .iter()
        .position(|waiting| waiting.key_epoch == key_epoch)
}

/// Lists `key_epoch` in key order (an exit of epoch `c` may come after a join keyed `c + 1`
/// was listed in the same epoch) if a slot is free and it is not listed yet.
fn register_waiting(
    pool_rewards: &mut PoolRewardsV0,
    key_epoch: u64,
    activation_epoch: u64,
) -> Option<()> {
    let count = usize::from(pool_rewards.waiting_count);
    if count >= MAX_WAITING_COHORTS {
        return None;
    }
    let at = pool_rewards
        .waiting_cohorts()
        .iter()
        .position(|waiting| waiting.key_epoch >= key_epoch)
        .unwrap_or(count);
    if pool_rewards.waiting[..count]
        .get(at)
        .is_some_and(|waiting| waiting.key_epoch == key_epoch)
    {
        return None;
    }
    pool_rewards.waiting.copy_within(at..count, at + 1);
    pool_rewards.waiting[at] = WaitingCohort {
        key_epoch,
        activation_epoch,
    };
    pool_rewards.waiting_count += 1;
    Some(())
}

/// The cohort given must be the one of `key` (the position waits in it); required then.
fn cohort_of<'a>(
    key: Option<u64>,
    operator: &Pubkey,
    cohort: Option<&'a mut PoolCohortV0>,
) -> MathResult<Option<&'a mut PoolCohortV0>> {
    match (key, cohort) {
        (None, _) => Ok(None),
        (Some(key), Some(cohort)) if cohort.key_epoch == key && cohort.operator == *operator => {
            Ok(Some(cohort))
        }
        (Some(_), Some(_)) => Err(StakingError::WrongPoolCohort),
        (Some(_), None) => Err(StakingError::PoolCohortMissing),
    }
}

fn earned(shares: u128, from: u128, to: u128) -> MathResult<u64> {
    let earned = mul_div_floor(shares, sub(to, from)?, REWARD_PRECISION)
        .ok_or(StakingError::MathOverflow)?;
    u64::try_from(earned).map_err(|_| StakingError::MathOverflow)
}

/// Brings a delegated position's pool device rewards up to date: takes its join cohort's
/// start once started; counts `shares * (index - snapshot)` into `unclaimed_pool_rewards`,
/// up to its exit cohort's end once that has left (the position then stops earning). `cohort`
/// is the record the position waits in (join or exit), required while it waits.
pub fn settle_pool_rewards(
    position: &mut PositionV0,
    pool_rewards: &PoolRewardsV0,
    cohort: Option<&mut PoolCohortV0>,
) -> MathResult<()> {
    let waiting = position.pool_cohort_epoch.or(position.pool_exit_epoch);
    let mut cohort = cohort_of(waiting, &pool_rewards.operator, cohort)?;
    if position.pool_cohort_epoch.is_some() {
        if let Some(cohort) = cohort.as_deref_mut().filter(|cohort| cohort.started) {
            position.pool_earning = true;
            position.pool_reward_snapshot = cohort.reward_per_share_at_start;
            position.pool_cohort_epoch = None;
            cohort.members_waiting = cohort
                .members_waiting
                .checked_sub(1)
                .ok_or(StakingError::MathOverflow)?;
        }
    }
    if !position.pool_earning {
        return Ok(());
    }
    let exited = match (position.pool_exit_epoch, cohort) {
        (Some(_), Some(cohort)) if cohort.exited => {
            cohort.exit_members_waiting = cohort
                .exit_members_waiting
                .checked_sub(1)
                .ok_or(StakingError::MathOverflow)?;
            Some(cohort.reward_per_share_at_exit)
        }
        _ => None,
    };
    let until = exited.unwrap_or(pool_rewards.reward_per_share);
    let amount = earned(position.shares, position.pool_reward_snapshot, until)?;
    position.unclaimed_pool_rewards = add_u64(position.unclaimed_pool_rewards, amount)?;
    position.pool_reward_snapshot = until;
    if exited.is_some() {
        position.pool_earning = false;
        position.pool_exit_epoch = None;
    }
    Ok(())
}

/// An undelegation requested in `current_epoch` (after settling, with `waiting` the record the
/// position waits in and `exit` the record keyed `current_epoch`, which may be the same
/// account: then `waiting` is `None`). A delegation still waiting to start leaves its cohort
/// and never earns; an earning one joins the exit cohort and earns until that leaves (or
/// stops now when the waiting list is full).
pub fn request_exit(
    position: &mut PositionV0,
    pool_rewards: &mut PoolRewardsV0,
    waiting: Option<&mut PoolCohortV0>,
    exit: &mut PoolCohortV0,
    current_epoch: u64,
) -> MathResult<()> {
    if position.pool_exit_epoch.is_some() {
        return Err(StakingError::UndelegationPending);
    }
    let same = position.pool_cohort_epoch == Some(current_epoch);
    // The record it waits in (a join not started yet: an exit is refused above).
    let mut waiting = if same { Some(&mut *exit) } else { waiting };
    settle_pool_rewards(position, pool_rewards, waiting.as_deref_mut())?;
    if let Some(key) = position.pool_cohort_epoch {
        // Still waiting to start: it never earned.
        let cohort = cohort_of(Some(key), &pool_rewards.operator, waiting)?
            .ok_or(StakingError::PoolCohortMissing)?;
        cohort.shares = sub(cohort.shares, position.shares)?;
        cohort.members_waiting = cohort
            .members_waiting
            .checked_sub(1)
            .ok_or(StakingError::MathOverflow)?;
        position.pool_cohort_epoch = None;
        return Ok(());
    }
    if !position.pool_earning {
        return Ok(());
    }
    if exit.key_epoch != current_epoch || exit.operator != pool_rewards.operator || exit.exited {
        return Err(StakingError::WrongPoolCohort);
    }
    let listed = waiting_slot(pool_rewards, current_epoch).is_some()
        || register_waiting(pool_rewards, current_epoch, current_epoch).is_some();
    if !listed {
        // No free slot (sweeps far behind): it stops now, keeping what was swept so far.
        pool_rewards.earning_shares = sub(pool_rewards.earning_shares, position.shares)?;
        position.pool_earning = false;
        return Ok(());
    }
    if exit.activation_epoch < current_epoch {
        exit.activation_epoch = current_epoch;
    }
    exit.exit_shares = add(exit.exit_shares, position.shares)?;
    exit.exit_members_waiting = exit
        .exit_members_waiting
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    position.pool_exit_epoch = Some(current_epoch);
    Ok(())
}

/// A position leaving its pool for good (undelegation completed): settled, and, if its exit
/// has not been swept yet, out of the earning shares now with what was swept so far (every
/// sweep so far was of epochs before its exit) and out of its exit cohort.
pub fn leave_pool_rewards(
    position: &mut PositionV0,
    pool_rewards: &mut PoolRewardsV0,
    mut cohort: Option<&mut PoolCohortV0>,
) -> MathResult<()> {
    settle_pool_rewards(position, pool_rewards, cohort.as_deref_mut())?;
    if position.pool_earning {
        pool_rewards.earning_shares = sub(pool_rewards.earning_shares, position.shares)?;
        position.pool_earning = false;
    }
    if let Some(cohort) = cohort_of(position.pool_exit_epoch, &pool_rewards.operator, cohort)? {
        cohort.exit_shares = sub(cohort.exit_shares, position.shares)?;
        cohort.exit_members_waiting = cohort
            .exit_members_waiting
            .checked_sub(1)
            .ok_or(StakingError::MathOverflow)?;
    }
    position.pool_exit_epoch = None;
    position.pool_cohort_epoch = None;
    Ok(())
}

/// Takes a position's counted pool rewards for payment.
pub fn take_pool_rewards(
    position: &mut PositionV0,
    pool_rewards: &mut PoolRewardsV0,
) -> MathResult<u64> {
    let amount = position.unclaimed_pool_rewards;
    position.unclaimed_pool_rewards = 0;
    position.claimed_pool_rewards = add_u64(position.claimed_pool_rewards, amount)?;
    pool_rewards.total_paid = add_u64(pool_rewards.total_paid, amount)?;
    if pool_rewards.total_paid > pool_rewards.total_distributed {
        return Err(StakingError::LedgerInvariantViolated);
    }
    Ok(amount)
}

/// What the reward program's claim record of the pool says (read by the sweep).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolClaim {
    /// Everything the pool was paid so far.
    pub claimed: u64,
    /// Root epoch of the newest claim.
    pub last_root_epoch: u64,
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sweep {
    /// Paid to the pool since the last sweep.
    pub received: u64,
    /// Added to the index for members.
    pub distributed: u64,
    /// Paid to the operator: nobody was earning.
    pub to_operator: u64,
    /// Whether the rewards were of exactly one epoch (the root after the last swept one):
    /// then every join and exit took effect exactly.
    pub exact: bool,
    /// Exit cohorts that left, and join cohorts started before the rewards were added
    /// (they earn them) and after.
    pub exited: u8,
    pub started_before: u8,
    pub started_after: u8,
}

/// Sweeps what the pool was paid since the last sweep into its per-share index (the rule:
/// `PoolRewardsV0`). `cohorts` are the records of the waiting cohorts keyed at most
/// `claim.last_root_epoch`, exactly those, in the waiting list's order.
pub fn sweep(
    pool_rewards: &mut PoolRewardsV0,
    claim: PoolClaim,
    cohorts: &mut [&mut PoolCohortV0],
) -> MathResult<Sweep> {
    let received = claim
        .claimed
        .checked_sub(pool_rewards.swept_claimed)
        .ok_or(StakingError::LedgerInvariantViolated)?;
    let root = claim.last_root_epoch;
    if pool_rewards
        .last_swept_root_epoch
        .is_some_and(|last| root < last)
    {
        return Err(StakingError::LedgerInvariantViolated);
    }
    let due = pool_rewards
        .waiting_cohorts()
        .iter()
        .take_while(|waiting| waiting.key_epoch <= root)
        .count();
    if received == 0 && due == 0 {
        return Err(StakingError::NothingToSweep);
    }
    // Exactly the cohorts due, each once: an extra copy would be written back over the
    // changed one.
    if cohorts.len() != due {
        return Err(StakingError::CohortsMissing);
    }
    for (cohort, waiting) in cohorts.iter().zip(pool_rewards.waiting_cohorts()).take(due) {
        if cohort.key_epoch != waiting.key_epoch || cohort.operator != pool_rewards.operator {
            return Err(StakingError::CohortsMissing);
        }
    }
    // The first epoch the received rewards can be of: the one after the last swept root, or
    // for a first sweep the first epoch any delegation counted (the oldest join).
    let first_epoch = match pool_rewards.last_swept_root_epoch {
        Some(last) => last + 1,
        None => pool_rewards
            .waiting_cohorts()
            .iter()
            .map(|waiting| waiting.activation_epoch)
            .min()
            .unwrap_or(root),
    };
    let exact = first_epoch == root;
    let index = pool_rewards.reward_per_share;
    let mut exited = 0u8;
    let mut started_before = 0u8;
    for cohort in cohorts.iter_mut().take(due) {
        // Exits of epochs up to the root leave before the rewards (at worst they miss part
        // of a lump of several epochs).
        if !cohort.exited {
            cohort.exited = true;
            cohort.reward_per_share_at_exit = index;
            pool_rewards.earning_shares = sub(pool_rewards.earning_shares, cohort.exit_shares)?;
            exited += 1;
        }
        // Joins whose first epoch is the rewards' first start before them.
        if !cohort.started && cohort.activation_epoch <= first_epoch {
            cohort.started = true;
            cohort.reward_per_share_at_start = index;
            pool_rewards.earning_shares = add(pool_rewards.earning_shares, cohort.shares)?;
            started_before += 1;
        }
    }
    let (distributed, to_operator) = if pool_rewards.earning_shares == 0 {
        (0, received)
    } else {
        // The index rises by the floor of received / shares, so members' claims (each
        // floored again) never add up to more than was received. The fraction flooring
        // leaves (below one base unit per 10^18 / shares) stays in the account: members may
        // already be owed part of it through the index, so it is not carried.
        let increase = mul_div_floor(
            u128::from(received),
            REWARD_PRECISION,
            pool_rewards.earning_shares,
        )
        .ok_or(StakingError::MathOverflow)?;
        pool_rewards.reward_per_share = add(pool_rewards.reward_per_share, increase)?;
        (received, 0)
    };
    let mut started_after = 0u8;
    let mut done = 0usize;
    for cohort in cohorts.iter_mut().take(due) {
        if !cohort.started && cohort.activation_epoch <= root {
            cohort.started = true;
            cohort.reward_per_share_at_start = pool_rewards.reward_per_share;
            pool_rewards.earning_shares = add(pool_rewards.earning_shares, cohort.shares)?;
            started_after += 1;
        }
        if cohort.started {
            done += 1;
        } else {
            break;
        }
    }
    // Drop the cohorts done (exited and started) from the front of the waiting list.
    let count = usize::from(pool_rewards.waiting_count);
    pool_rewards.waiting.copy_within(done..count, 0);
    for slot in &mut pool_rewards.waiting[count - done..count] {
        *slot = WaitingCohort::default();
    }
    pool_rewards.waiting_count -= done as u8;
    pool_rewards.swept_claimed = claim.claimed;
    pool_rewards.last_swept_root_epoch = Some(root);
    pool_rewards.last_received = received;
    pool_rewards.total_swept = add_u64(pool_rewards.total_swept, received)?;
    pool_rewards.total_distributed = add_u64(pool_rewards.total_distributed, distributed)?;
    pool_rewards.total_to_operator = add_u64(pool_rewards.total_to_operator, to_operator)?;
    Ok(Sweep {
        received,
        distributed,
        to_operator,
        exact,
        exited,
        started_before,
        started_after,
    })
}

#[cfg(test)]
mod tests;
