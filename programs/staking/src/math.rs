//! The staking ledger as pure functions over the account structs: weights and lockup
//! bonuses, the reward index, operator pool shares and slashing. Integers only, u128
//! intermediates (256-bit where a product may not fit), floors on everything paid out;
//! instructions call these and move the tokens.
//!
//! The global active weight is, at all times, the sum of: the amount of every activated
//! undelegated position, the tokens of every operator pool, and the registered lockup bonus
//! of every activated position whose bonus has not expired. Each funded epoch raises the
//! global index by `rewards / active weight` (floored), so the positions' claims never add up
//! to more than was funded.

use groundwork_program_math::{bps_of, mul_div_floor, BPS, BPS_U128};

use crate::errors::StakingError;
use crate::state::{
    EpochStakeV0, LockupKind, OperatorPoolV0, PendingUndelegation, PositionV0, StakingConfigV0,
    StakingParams,
};

pub mod pool_rewards;

pub type MathResult<T> = core::result::Result<T, StakingError>;

/// Scale of the reward indexes and of a pool's slash factor.
pub const REWARD_PRECISION: u128 = 1_000_000_000_000_000_000;
/// A pool accepts new delegation only while a share is worth at least `1 /
/// MAX_SHARES_PER_TOKEN` token: below that a slash has driven it to (near) zero, and a
/// newcomer's deposit would mostly pay the members already in it.
pub const MAX_SHARES_PER_TOKEN: u128 = 1_000_000;

fn mul_div(a: u128, b: u128, divisor: u128) -> MathResult<u128> {
    mul_div_floor(a, b, divisor).ok_or(StakingError::MathOverflow)
}

fn add(a: u128, b: u128) -> MathResult<u128> {
    a.checked_add(b).ok_or(StakingError::MathOverflow)
}

fn sub(a: u128, b: u128) -> MathResult<u128> {
    a.checked_sub(b).ok_or(StakingError::MathOverflow)
}

fn to_u64(value: u128) -> MathResult<u64> {
    u64::try_from(value).map_err(|_| StakingError::MathOverflow)
}

fn add_u64(a: u64, b: u64) -> MathResult<u64> {
    a.checked_add(b).ok_or(StakingError::MathOverflow)
}

fn sub_u64(a: u64, b: u64) -> MathResult<u64> {
    a.checked_sub(b).ok_or(StakingError::MathOverflow)
}

fn add_reference(record: &mut EpochStakeV0) -> MathResult<()> {
    record.references = record
        .references
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    Ok(())
}

fn release_reference(record: &mut EpochStakeV0) -> MathResult<()> {
    record.references = record
        .references
        .checked_sub(1)
        .ok_or(StakingError::MathOverflow)?;
    Ok(())
}

/// Weight multiplier of a lockup of `duration_s`: `10,000 + max_bonus * min(d, sat) / sat`
/// basis points (floored); flexible positions weigh 1x.
pub fn multiplier_bps(
    params: &StakingParams,
    kind: LockupKind,
    duration_s: i64,
) -> MathResult<u32> {
    if kind == LockupKind::Flexible {
        return Ok(BPS as u32);
    }
    if duration_s <= 0 {
        return Err(StakingError::InvalidLockupDuration);
    }
    let counted = u128::try_from(duration_s.min(params.saturation_s))
        .map_err(|_| StakingError::InvalidLockupDuration)?;
    let saturation =
        u128::try_from(params.saturation_s).map_err(|_| StakingError::InvalidSaturation)?;
    let bonus = mul_div(u128::from(params.max_bonus_bps), counted, saturation)?;
    u32::try_from(add(BPS_U128, bonus)?).map_err(|_| StakingError::MathOverflow)
}

/// `amount * multiplier / 10,000`, floored.
pub fn weight_of(amount: u64, multiplier_bps: u32) -> u128 {
    u128::from(amount) * u128::from(multiplier_bps) / BPS_U128
}

/// The lockup bonus part of the weight of `amount` at `multiplier_bps` (the weight above the
/// amount itself; 0 for a 1x multiplier).
pub fn bonus_of(amount: u64, multiplier_bps: u32) -> u128 {
    weight_of(amount, multiplier_bps).saturating_sub(u128::from(amount))
}

impl OperatorPoolV0 {
    /// Brings both pool indexes up to the global index. Exact as long as the pool's tokens
    /// and slash factor have not changed since the last sync (every change syncs first).
    pub fn sync(&mut self, global_index: u128) -> MathResult<()> {
        let delta = sub(global_index, self.synced_reward_per_weight)?;
        if self.shares > 0 {
            let per_share = mul_div(delta, u128::from(self.tokens), self.shares)?;
            self.reward_per_share = add(self.reward_per_share, per_share)?;
            let bonus = mul_div(delta, self.slash_factor, REWARD_PRECISION)?;
            self.bonus_index = add(self.bonus_index, bonus)?;
        }
        self.synced_reward_per_weight = global_index;
        Ok(())
    }

    /// Tokens `shares` of this pool are worth now, floored.
    pub fn value_of(&self, shares: u128) -> MathResult<u64> {
        if self.shares == 0 {
            return Ok(0);
        }
        to_u64(mul_div(shares, u128::from(self.tokens), self.shares)?)
    }

    /// Whether a newcomer may buy shares: the pool is empty, or a share is still worth at
    /// least `1 / MAX_SHARES_PER_TOKEN` token.
    pub fn accepts_delegation(&self) -> bool {
        self.shares == 0 || u128::from(self.tokens) * MAX_SHARES_PER_TOKEN >= self.shares
    }
}

impl StakingConfigV0 {
    /// The epoch whose funding ends the bonus of a lockup ending at `end_ts`: the one after
    /// the epoch containing `end_ts`.
    pub fn bonus_expiry_epoch(&self, end_ts: i64) -> MathResult<u64> {
        self.epoch_at(end_ts)
            .checked_add(1)
            .ok_or(StakingError::MathOverflow)
    }
}

/// Marks a pending position active once its activation epoch has been funded (its snapshots
/// start at that epoch's checkpoint) and releases its reference on the record.
pub fn activate_if_funded(
    position: &mut PositionV0,
    activation_record: Option<&mut EpochStakeV0>,
) -> MathResult<()> {
    if position.activated {
        return Ok(());
    }
    if let Some(record) = activation_record.filter(|record| record.funded) {
        position.activated = true;
        position.reward_snapshot = record.reward_per_weight_at_activation;
        position.bonus_snapshot = record.reward_per_weight_at_activation;
        position.global_snapshot = record.reward_per_weight_at_activation;
        release_reference(record)?;
    }
    Ok(())
}

/// The bonus record given must be the one of the position's bonus expiry epoch; it is
/// required while the position has one.
fn bonus_record<'a>(
    position: &PositionV0,
    record: Option<&'a mut EpochStakeV0>,
) -> MathResult<Option<&'a mut EpochStakeV0>> {
    match (position.bonus_expiry_epoch, record) {
        (None, _) => Ok(None),
        (Some(epoch), Some(record)) if record.epoch == epoch => Ok(Some(record)),
        (Some(_), Some(_)) => Err(StakingError::WrongBonusRecord),
        (Some(_), None) => Err(StakingError::BonusRecordMissing),
    }
}

/// Counts the rewards an active position earned since its snapshots into
/// `unclaimed_rewards`: its base at the global index (or its pool's per-share index), its
/// bonus until the checkpoint of its expiry epoch once that epoch has been funded (the bonus
/// then ends here). A delegated position needs its pool (synced first); a position with a
/// bonus expiry needs that epoch's record. A delegated bonus is revalued down to its pool's
/// slash factor, so a slash lowers it as it lowers the tokens.
pub fn settle(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    pool: Option<&mut OperatorPoolV0>,
    bonus_record_account: Option<&mut EpochStakeV0>,
) -> MathResult<()> {
    if !position.activated {
        return Ok(());
    }
    let record = bonus_record(position, bonus_record_account)?;
    let index = config.reward_per_weight;
    let expired_at = match (position.bonus_expiry_epoch, record.as_deref()) {
        (Some(epoch), Some(record)) if epoch < config.next_epoch_to_fund => {
            Some(record.reward_per_weight_at_activation)
        }
        _ => None,
    };
    let (earned, slash_factor) = match (position.operator, pool) {
        (None, _) => {
            let base = mul_div(
                u128::from(position.amount),
                sub(index, position.reward_snapshot)?,
                REWARD_PRECISION,
            )?;
            let bonus_end = expired_at.unwrap_or(index);
            let bonus = mul_div(
                position.bonus_weight,
                sub(bonus_end, position.bonus_snapshot)?,
                REWARD_PRECISION,
            )?;
            position.reward_snapshot = index;
            position.bonus_snapshot = index;
            (add(base, bonus)?, None)
        }
        (Some(operator), Some(pool)) => {
            if pool.operator != operator {
                return Err(StakingError::WrongOperatorPool);
            }
            pool.sync(index)?;
            let base = mul_div(
                position.shares,
                sub(pool.reward_per_share, position.reward_snapshot)?,
                REWARD_PRECISION,
            )?;
            let bonus_end = match expired_at {
                None => pool.bonus_index,
                // The pool's bonus index at the expiry checkpoint: exact when no slash came
                // since the last settlement, else a lower bound (the factor only falls).
                Some(index_at_expiry) => {
                    let since = sub(index_at_expiry, position.global_snapshot)?;
                    add(
                        position.bonus_snapshot,
                        mul_div(since, pool.slash_factor, REWARD_PRECISION)?,
                    )?
                    .min(pool.bonus_index)
                }
            };
            let bonus = if position.bonus_slash_factor == 0 {
                0
            } else {
                mul_div(
                    position.bonus_weight,
                    sub(bonus_end, position.bonus_snapshot)?,
                    position.bonus_slash_factor,
                )?
            };
            position.reward_snapshot = pool.reward_per_share;
            position.bonus_snapshot = pool.bonus_index;
            (add(base, bonus)?, Some(pool.slash_factor))
        }
        (Some(_), None) => return Err(StakingError::OperatorPoolMissing),
    };
    position.global_snapshot = index;
    position.unclaimed_rewards = add_u64(position.unclaimed_rewards, to_u64(earned)?)?;

    match (expired_at, record) {
        (Some(_), Some(record)) => {
            // The funding of the expiry epoch already took the bonus out of the active weight.
            position.bonus_weight = 0;
            position.bonus_expiry_epoch = None;
            release_reference(record)?;
        }
        (_, record) => {
            if let Some(factor) = slash_factor {
                if factor < position.bonus_slash_factor {
                    let revalued =
                        mul_div(position.bonus_weight, factor, position.bonus_slash_factor)?;
                    let released = sub(position.bonus_weight, revalued)?;
                    config.active_weight = sub(config.active_weight, released)?;
                    if let Some(record) = record {
                        record.expiring_weight = sub(record.expiring_weight, released)?;
                    }
                    position.bonus_weight = revalued;
                    position.bonus_slash_factor = factor;
                }
            }
        }
    }
    Ok(())
}

/// Rewards a position could claim now, computed from account data without changing it
/// (the records are those of its activation epoch and of its bonus expiry epoch).
pub fn claimable(
    position: &PositionV0,
    config: &StakingConfigV0,
    pool: Option<&OperatorPoolV0>,
    activation_record: Option<&EpochStakeV0>,
    bonus_expiry_record: Option<&EpochStakeV0>,
) -> MathResult<u64> {
    let mut position = position.clone();
    let mut config = config.clone();
    let mut pool = pool.cloned();
    let mut activation_record = activation_record.cloned();
    let mut bonus_expiry_record = bonus_expiry_record.cloned();
    activate_if_funded(&mut position, activation_record.as_mut())?;
    settle(
        &mut position,
        &mut config,
        pool.as_mut(),
        bonus_expiry_record.as_mut(),
    )?;
    Ok(position.unclaimed_rewards)
}

/// Whether a weight joins or leaves where it counts.
#[derive(Clone, Copy)]
enum WeightChange {
    Add,
    Remove,
}

/// Adds or removes `weight` where a position's weight counts: the global active weight once
/// activated, its activation record before.
fn change_weight(
    position: &PositionV0,
    config: &mut StakingConfigV0,
    activation_record: Option<&mut EpochStakeV0>,
    change: WeightChange,
    weight: u128,
) -> MathResult<()> {
    let apply = |total: u128| match change {
        WeightChange::Add => add(total, weight),
        WeightChange::Remove => sub(total, weight),
    };
    if position.activated {
        config.active_weight = apply(config.active_weight)?;
    } else {
        let record = activation_record.ok_or(StakingError::EpochStakeMissing)?;
        record.activating_weight = apply(record.activating_weight)?;
    }
    Ok(())
}

/// Gives a position a bonus of `bonus` that ends with `expiry_epoch` (`None`: it does not
/// count down yet), counted where its weight counts and registered for removal in the
/// expiry record (required then). A bonus that would end by the activation epoch of a
/// position not yet active is never counted.
fn grant_bonus(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    activation_record: Option<&mut EpochStakeV0>,
    expiry_epoch: Option<u64>,
    expiry_record: Option<&mut EpochStakeV0>,
    bonus: u128,
) -> MathResult<()> {
    position.bonus_weight = 0;
    position.bonus_expiry_epoch = None;
    let ends_before_earning =
        !position.activated && expiry_epoch.is_some_and(|epoch| epoch <= position.activation_epoch);
    if bonus == 0 || ends_before_earning {
        return Ok(());
    }
    if let Some(epoch) = expiry_epoch {
        let record = expiry_record.ok_or(StakingError::BonusRecordMissing)?;
        if record.epoch != epoch || record.funded {
            return Err(StakingError::WrongBonusRecord);
        }
        record.expiring_weight = add(record.expiring_weight, bonus)?;
        add_reference(record)?;
    }
    change_weight(
        position,
        config,
        activation_record,
        WeightChange::Add,
        bonus,
    )?;
    position.bonus_weight = bonus;
    position.bonus_expiry_epoch = expiry_epoch;
    Ok(())
}

/// Takes a position's (unexpired) bonus out of the weights and out of its expiry record.
fn revoke_bonus(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    activation_record: Option<&mut EpochStakeV0>,
    bonus_record_account: Option<&mut EpochStakeV0>,
) -> MathResult<()> {
    let record = bonus_record(position, bonus_record_account)?;
    if position.bonus_weight > 0 {
        change_weight(
            position,
            config,
            activation_record,
            WeightChange::Remove,
            position.bonus_weight,
        )?;
    }
    if let Some(record) = record {
        record.expiring_weight = sub(record.expiring_weight, position.bonus_weight)?;
        release_reference(record)?;
    }
    position.bonus_weight = 0;
    position.bonus_expiry_epoch = None;
    Ok(())
}

/// A new position's stake: its weight (amount plus lockup bonus) waits in the activation
/// record of its first epoch; a counting-down bonus is registered in its expiry record.
pub fn open(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    activation_record: &mut EpochStakeV0,
    bonus_expiry_epoch: Option<u64>,
    bonus_expiry_record: Option<&mut EpochStakeV0>,
    amount: u64,
) -> MathResult<()> {
    position.amount = amount;
    position.activated = false;
    position.bonus_weight = 0;
    position.bonus_expiry_epoch = None;
    activation_record.activating_weight =
        add(activation_record.activating_weight, u128::from(amount))?;
    add_reference(activation_record)?;
    let bonus = bonus_of(amount, position.multiplier_bps);
    grant_bonus(
        position,
        config,
        Some(activation_record),
        bonus_expiry_epoch,
        bonus_expiry_record,
        bonus,
    )?;
    config.total_principal = add_u64(config.total_principal, amount)?;
    Ok(())
}

/// The tokens a position's weight is based on now: its amount, or its shares' value.
pub fn base_value(position: &PositionV0, pool: Option<&OperatorPoolV0>) -> MathResult<u64> {
    match (position.operator, pool) {
        (None, _) => Ok(position.amount),
        (Some(_), Some(pool)) => pool.value_of(position.shares),
        (Some(_), None) => Err(StakingError::OperatorPoolMissing),
    }
}

/// What a lockup change touches: the position's activation record (until active), the
/// record of its current bonus expiry (if any) and the one of the new expiry (if any, and
/// when it is another epoch).
pub struct LockupRecords<'a> {
    pub activation: Option<&'a mut EpochStakeV0>,
    pub current_expiry: Option<&'a mut EpochStakeV0>,
    pub new_expiry: Option<&'a mut EpochStakeV0>,
}

/// Re-fixes a position's lockup bonus (after settling at the old one): the old bonus and its
/// registration go, the bonus of `multiplier_bps` on its current base value comes, ending
/// with `new_expiry_epoch` (`None` while the lockup does not count down).
pub fn relock(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    mut pool: Option<&mut OperatorPoolV0>,
    records: LockupRecords<'_>,
    multiplier_bps: u32,
    new_expiry_epoch: Option<u64>,
) -> MathResult<()> {
    let LockupRecords {
        mut activation,
        mut current_expiry,
        new_expiry,
    } = records;
    settle(
        position,
        config,
        pool.as_deref_mut(),
        current_expiry.as_deref_mut(),
    )?;
    let same_record = new_expiry_epoch.is_some() && new_expiry_epoch == position.bonus_expiry_epoch;
    revoke_bonus(
        position,
        config,
        activation.as_deref_mut(),
        current_expiry.as_deref_mut(),
    )?;
    position.multiplier_bps = multiplier_bps;
    let value = base_value(position, pool.as_deref())?;
    if let Some(pool) = pool.as_deref() {
        position.bonus_slash_factor = pool.slash_factor;
    }
    let expiry_record = if same_record {
        current_expiry
    } else {
        new_expiry
    };
    grant_bonus(
        position,
        config,
        activation,
        new_expiry_epoch,
        expiry_record,
        bonus_of(value, multiplier_bps),
    )
}

/// Starts the countdown of a constant lockup's bonus: registers it for removal with
/// `expiry_epoch` (a bonus that would end by the activation epoch is dropped now).
pub fn schedule_bonus_expiry(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    mut activation_record: Option<&mut EpochStakeV0>,
    expiry_epoch: u64,
    expiry_record: Option<&mut EpochStakeV0>,
) -> MathResult<()> {
    if position.bonus_expiry_epoch.is_some() {
        return Err(StakingError::CannotStartUnlock);
    }
    let bonus = position.bonus_weight;
    if bonus == 0 {
        return Ok(());
    }
    // Take the untimed bonus out, then grant it again with its end.
    change_weight(
        position,
        config,
        activation_record.as_deref_mut(),
        WeightChange::Remove,
        bonus,
    )?;
    grant_bonus(
        position,
        config,
        activation_record,
        Some(expiry_epoch),
        expiry_record,
        bonus,
    )
}

/// Moves an active, undelegated position's tokens into `pool` as shares (its bonus keeps
/// its registration and now earns through the pool's bonus index).
pub fn delegate(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    pool: &mut OperatorPoolV0,
    bonus_record_account: Option<&mut EpochStakeV0>,
    current_epoch: u64,
) -> MathResult<()> {
    if position.operator.is_some() {
        return Err(StakingError::PositionDelegated);
    }
    if !position.activated {
        return Err(StakingError::PositionNotActive);
    }
    settle(position, config, None, bonus_record_account)?;
    pool.sync(config.reward_per_weight)?;
    if !pool.accepts_delegation() {
        return Err(StakingError::PoolShareValueTooLow);
    }
    if pool.shares == 0 {
        // An empty pool starts over: one share per token, no slash behind it.
        pool.slash_factor = REWARD_PRECISION;
    }
    let amount = u128::from(position.amount);
    let shares = if pool.shares == 0 {
        amount
    } else {
        mul_div(amount, pool.shares, u128::from(pool.tokens))?
    };
    if shares == 0 {
        return Err(StakingError::DelegationTooSmall);
    }
    // The tokens leave the position's own weight and join the pool's: the total is unchanged.
    pool.tokens = add_u64(pool.tokens, position.amount)?;
    pool.shares = add(pool.shares, shares)?;
    pool.members = pool
        .members
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    position.operator = Some(pool.operator);
    position.shares = shares;
    position.amount = 0;
    position.bonus_slash_factor = pool.slash_factor;
    position.delegation_active_epoch = current_epoch
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    position.pending_undelegation = None;
    position.reward_snapshot = pool.reward_per_share;
    position.bonus_snapshot = pool.bonus_index;
    position.global_snapshot = config.reward_per_weight;
    Ok(())
}

/// Records an undelegation request in `current_epoch`; it completes after
/// `unbonding_epochs` full epochs.
pub fn request_undelegation(
    position: &mut PositionV0,
    params: &StakingParams,
    current_epoch: u64,
) -> MathResult<PendingUndelegation> {
    if position.operator.is_none() {
        return Err(StakingError::PositionNotDelegated);
    }
    if position.pending_undelegation.is_some() {
        return Err(StakingError::UndelegationPending);
    }
    let completes_epoch = current_epoch
        .checked_add(1)
        .and_then(|epoch| epoch.checked_add(u64::from(params.unbonding_epochs)))
        .ok_or(StakingError::MathOverflow)?;
    let pending = PendingUndelegation {
        requested_epoch: current_epoch,
        completes_epoch,
    };
    position.pending_undelegation = Some(pending);
    Ok(pending)
}

/// Takes a delegated position's tokens out of its pool at the current share value (after
/// every slash up to now), back into the position.
pub fn leave_pool(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    pool: &mut OperatorPoolV0,
    bonus_record_account: Option<&mut EpochStakeV0>,
) -> MathResult<()> {
    if position.operator != Some(pool.operator) {
        return Err(StakingError::WrongOperatorPool);
    }
    settle(position, config, Some(&mut *pool), bonus_record_account)?;
    let amount = pool.value_of(position.shares)?;
    pool.tokens = sub_u64(pool.tokens, amount)?;
    pool.shares = sub(pool.shares, position.shares)?;
    pool.members = pool
        .members
        .checked_sub(1)
        .ok_or(StakingError::MathOverflow)?;
    // The tokens leave the pool's weight and join the position's own: the total is unchanged.
    if pool.shares == 0 {
        // Rounding left-overs of an emptied pool stay owed to nobody: return them to the
        // last member rather than strand them.
        position.amount = add_u64(amount, pool.tokens)?;
        pool.tokens = 0;
        pool.slash_factor = REWARD_PRECISION;
    } else {
        position.amount = amount;
    }
    position.operator = None;
    position.shares = 0;
    position.pending_undelegation = None;
    position.reward_snapshot = config.reward_per_weight;
    position.bonus_snapshot = config.reward_per_weight;
    position.global_snapshot = config.reward_per_weight;
    Ok(())
}

/// Burns `bps` of a pool's tokens (floored): every member loses the same fraction of its
/// tokens and of its bonus. Returns the tokens to burn from the stake vault.
pub fn slash(config: &mut StakingConfigV0, pool: &mut OperatorPoolV0, bps: u16) -> MathResult<u64> {
    if bps == 0 || bps > config.params.max_slash_bps || u64::from(bps) >= BPS {
        return Err(StakingError::InvalidSlash);
    }
    pool.sync(config.reward_per_weight)?;
    let burned = bps_of(pool.tokens, bps).ok_or(StakingError::MathOverflow)?;
    if burned == 0 {
        return Err(StakingError::NothingToSlash);
    }
    pool.tokens = sub_u64(pool.tokens, burned)?;
    let kept_bps = sub(BPS_U128, u128::from(bps))?;
    pool.slash_factor = mul_div(pool.slash_factor, kept_bps, BPS_U128)?;
    pool.total_slashed = add_u64(pool.total_slashed, burned)?;
    config.active_weight = sub(config.active_weight, u128::from(burned))?;
    config.total_principal = sub_u64(config.total_principal, burned)?;
    config.total_slashed = add_u64(config.total_slashed, burned)?;
    Ok(burned)
}

/// Empties an unlocked, undelegated position (after settling): its weight and any bonus
/// registration go. Returns the tokens to pay out.
pub fn withdraw_all(
    position: &mut PositionV0,
    config: &mut StakingConfigV0,
    mut activation_record: Option<&mut EpochStakeV0>,
    mut bonus_record_account: Option<&mut EpochStakeV0>,
) -> MathResult<u64> {
    if position.operator.is_some() {
        return Err(StakingError::PositionDelegated);
    }
    settle(position, config, None, bonus_record_account.as_deref_mut())?;
    revoke_bonus(
        position,
        config,
        activation_record.as_deref_mut(),
        bonus_record_account,
    )?;
    let amount = position.amount;
    let never_activated = !position.activated;
    change_weight(
        position,
        config,
        activation_record.as_deref_mut(),
        WeightChange::Remove,
        u128::from(amount),
    )?;
    if never_activated {
        // Withdrawn before its first epoch was funded: empty, it has nothing left to
        // activate and will never need that record.
        if let Some(record) = activation_record {
            release_reference(record)?;
        }
        position.activated = true;
        position.reward_snapshot = config.reward_per_weight;
        position.bonus_snapshot = config.reward_per_weight;
        position.global_snapshot = config.reward_per_weight;
    }
    position.amount = 0;
    config.total_principal = sub_u64(config.total_principal, amount)?;
    Ok(amount)
}

/// What funding one epoch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Funding {
    pub activated_weight: u128,
    pub expired_weight: u128,
    pub active_weight: u128,
    /// Rewards handed to the index (funded + carried), 0 when nothing was active.
    pub distributed: u64,
    pub carried: u64,
}

/// Funds epoch `next_epoch_to_fund` with `amount`: activates the weight waiting for it and
/// ends the bonuses expiring with it, then raises the index by `(amount + carried) / active
/// weight`; with no active weight the rewards carry to the next epoch.
pub fn fund_epoch(
    config: &mut StakingConfigV0,
    epoch_stake: Option<&mut EpochStakeV0>,
    amount: u64,
) -> MathResult<Funding> {
    let (activated_weight, expired_weight) = match epoch_stake {
        Some(record) => {
            record.reward_per_weight_at_activation = config.reward_per_weight;
            record.funded = true;
            record.rewards_funded = amount;
            config.active_weight = sub(
                add(config.active_weight, record.activating_weight)?,
                record.expiring_weight,
            )?;
            record.active_weight = config.active_weight;
            (record.activating_weight, record.expiring_weight)
        }
        None => (0, 0),
    };
    let available = add_u64(config.carried_rewards, amount)?;
    let mut distributed = 0;
    if config.active_weight > 0 {
        let increase = mul_div(
            u128::from(available),
            REWARD_PRECISION,
            config.active_weight,
        )?;
        config.reward_per_weight = add(config.reward_per_weight, increase)?;
        // The index rose by the floor of available / weight, so positions can never claim
        // more than `available` in total. The fraction lost (< weight / REWARD_PRECISION base
        // units) stays in the vault and is not carried: positions take their own floors later,
        // over several epochs at once, and may already be owed part of it.
        distributed = available;
    }
    config.carried_rewards = sub_u64(available, distributed)?;
    config.total_funded = add_u64(config.total_funded, amount)?;
    config.next_epoch_to_fund = config
        .next_epoch_to_fund
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    Ok(Funding {
        activated_weight,
        expired_weight,
        active_weight: config.active_weight,
        distributed,
        carried: config.carried_rewards,
    })
}

/// Takes a position's counted rewards for payment.
pub fn take_rewards(position: &mut PositionV0, config: &mut StakingConfigV0) -> MathResult<u64> {
    let amount = position.unclaimed_rewards;
    position.unclaimed_rewards = 0;
    position.claimed_rewards = add_u64(position.claimed_rewards, amount)?;
    config.total_claimed = add_u64(config.total_claimed, amount)?;
    Ok(amount)
}

#[cfg(test)]
pub(crate) mod tests;
