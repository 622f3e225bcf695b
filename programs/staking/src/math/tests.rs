//! Property tests of the staking ledger: random sequences of positions (flexible, cliff,
//! constant), delegations, fundings, claims, slashes, lockup changes and withdrawals against
//! an exact pro-rata model in which every lockup bonus ends the epoch after its lockup.

use std::collections::BTreeMap;

use super::*;
use crate::state::{LockupKind, StakingParams};
use anchor_lang::prelude::Pubkey;
use groundwork_program_math::mul_div_floor;
use proptest::prelude::*;

const POSITIONS: usize = 6;
const POOLS: usize = 2;
const DAY_S: i64 = 86_400;

fn params() -> StakingParams {
    StakingParams {
        max_bonus_bps: 30_000,
        // Short saturation so that lockups of a few epochs carry a large bonus.
        saturation_s: 20 * DAY_S,
        cooldown_epochs: 1,
        max_slash_bps: 5_000,
        unbonding_epochs: 2,
        max_commission_bps: 5_000,
    }
}

fn config() -> StakingConfigV0 {
    StakingConfigV0 {
        bump: 0,
        vault_authority_bump: 0,
        authority: Pubkey::default(),
        network_mint: Pubkey::default(),
        stake_vault: Pubkey::default(),
        reward_vault: Pubkey::default(),
        reward_program: Pubkey::default(),
        reward_funder: Pubkey::default(),
        genesis_ts: 0,
        epoch_len_s: DAY_S,
        params: params(),
        total_principal: 0,
        active_weight: 0,
        reward_per_weight: 0,
        next_epoch_to_fund: 0,
        carried_rewards: 0,
        total_funded: 0,
        total_claimed: 0,
        total_slashed: 0,
        position_count: 0,
        pending_authority: None,
    }
}

pub(crate) fn empty_position(kind: LockupKind, multiplier_bps: u32) -> PositionV0 {
    PositionV0 {
        bump: 0,
        owner: Pubkey::default(),
        id: 0,
        kind,
        duration_s: 0,
        end_ts: 0,
        withdrawable_epoch: None,
        multiplier_bps,
        amount: 0,
        bonus_weight: 0,
        bonus_expiry_epoch: None,
        activation_epoch: 0,
        activated: false,
        operator: None,
        shares: 0,
        bonus_slash_factor: 0,
        delegation_active_epoch: 0,
        pending_undelegation: None,
        reward_snapshot: 0,
        bonus_snapshot: 0,
        global_snapshot: 0,
        unclaimed_rewards: 0,
        claimed_rewards: 0,
        pool_cohort_epoch: None,
        pool_exit_epoch: None,
        pool_earning: false,
        pool_reward_snapshot: 0,
        unclaimed_pool_rewards: 0,
        claimed_pool_rewards: 0,
    }
}

fn pool(operator: u8) -> OperatorPoolV0 {
    OperatorPoolV0 {
        bump: 0,
        operator: Pubkey::new_from_array([operator + 1; 32]),
        tokens: 0,
        shares: 0,
        reward_per_share: 0,
        bonus_index: 0,
        slash_factor: REWARD_PRECISION,
        synced_reward_per_weight: 0,
        members: 0,
        total_slashed: 0,
    }
}

fn record(epoch: u64) -> EpochStakeV0 {
    EpochStakeV0 {
        bump: 0,
        epoch,
        rent_payer: Pubkey::new_unique(),
        activating_weight: 0,
        expiring_weight: 0,
        references: 0,
        reward_per_weight_at_activation: 0,
        funded: false,
        rewards_funded: 0,
        active_weight: 0,
    }
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        slot: usize,
        amount: u64,
        kind: LockupKind,
        lockup_days: u8,
    },
    Fund {
        amount: u64,
    },
    Delegate {
        slot: usize,
        pool: usize,
    },
    Leave {
        slot: usize,
    },
    Slash {
        pool: usize,
        bps: u16,
    },
    Claim {
        slot: usize,
    },
    StartUnlock {
        slot: usize,
    },
    Withdraw {
        slot: usize,
    },
    Extend {
        slot: usize,
        kind: LockupKind,
        lockup_days: u8,
    },
}

fn lockup_kind() -> impl Strategy<Value = LockupKind> {
    prop_oneof![
        Just(LockupKind::Flexible),
        Just(LockupKind::Cliff),
        Just(LockupKind::Constant)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..POSITIONS;
    prop_oneof![
        3 => (slot.clone(), 1u64..=1_000_000_000_000, lockup_kind(), 1u8..=30)
            .prop_map(|(slot, amount, kind, lockup_days)| Op::Create { slot, amount, kind, lockup_days }),
        5 => (0u64..=5_000_000_000).prop_map(|amount| Op::Fund { amount }),
        2 => (slot.clone(), 0..POOLS).prop_map(|(slot, pool)| Op::Delegate { slot, pool }),
        1 => slot.clone().prop_map(|slot| Op::Leave { slot }),
        1 => (0..POOLS, 1u16..=5_000).prop_map(|(pool, bps)| Op::Slash { pool, bps }),
        2 => slot.clone().prop_map(|slot| Op::Claim { slot }),
        1 => slot.clone().prop_map(|slot| Op::StartUnlock { slot }),
        1 => slot.clone().prop_map(|slot| Op::Withdraw { slot }),
        1 => (slot, lockup_kind(), 1u8..=30)
            .prop_map(|(slot, kind, lockup_days)| Op::Extend { slot, kind, lockup_days }),
    ]
}

/// The ledger under test plus an exact model of what each position is owed.
struct World {
    config: StakingConfigV0,
    pools: Vec<OperatorPoolV0>,
    records: BTreeMap<u64, EpochStakeV0>,
    positions: Vec<Option<PositionV0>>,
    /// Pro-rata rewards owed to each slot: the sum over its fundings of
    /// floor(available * its effective weight / active weight).
    owed_model: Vec<u128>,
    /// Fundings each slot took part in (its rounding allowance).
    epochs_in: Vec<u64>,
    /// Slots whose pool was slashed after their last settlement while their bonus was about
    /// to expire: the ledger then pays their bonus on a lower bound (never more than owed).
    bounded: Vec<bool>,
    claimed: Vec<u64>,
    epoch: u64,
    principal_vault: u64,
    reward_vault: u64,
}

impl World {
    fn new() -> Self {
        World {
            config: config(),
            pools: (0..POOLS as u8).map(pool).collect(),
            records: Default::default(),
            positions: vec![None; POSITIONS],
            owed_model: vec![0; POSITIONS],
            epochs_in: vec![0; POSITIONS],
            bounded: vec![false; POSITIONS],
            claimed: vec![0; POSITIONS],
            epoch: 0,
            principal_vault: 0,
            reward_vault: 0,
        }
    }

    /// The middle of the current epoch.
    fn now(&self) -> i64 {
        i64::try_from(self.epoch).unwrap() * DAY_S + DAY_S / 2
    }

    fn pool_index(&self, operator: Pubkey) -> usize {
        self.pools
            .iter()
            .position(|p| p.operator == operator)
            .unwrap()
    }

    fn take_record(&mut self, epoch: Option<u64>) -> Option<EpochStakeV0> {
        epoch.and_then(|epoch| self.records.remove(&epoch))
    }

    fn put_record(&mut self, record: Option<EpochStakeV0>) {
        if let Some(record) = record {
            self.records.insert(record.epoch, record);
        }
    }

    /// Runs `action` on a slot's position with its activation record (while pending), its
    /// bonus record and its pool, as an instruction would be given them; activates first.
    fn with_position<T>(
        &mut self,
        slot: usize,
        action: impl FnOnce(
            &mut PositionV0,
            &mut StakingConfigV0,
            Option<&mut OperatorPoolV0>,
            Option<&mut EpochStakeV0>,
            Option<&mut EpochStakeV0>,
        ) -> T,
    ) -> Option<T> {
        let mut position = self.positions[slot].take()?;
        let mut activation = if position.activated {
            None
        } else {
            self.take_record(Some(position.activation_epoch))
        };
        activate_if_funded(&mut position, activation.as_mut()).unwrap();
        let mut bonus = self.take_record(position.bonus_expiry_epoch);
        let pool = position.operator.map(|operator| self.pool_index(operator));
        let result = action(
            &mut position,
            &mut self.config,
            pool.map(|index| &mut self.pools[index]),
            activation.as_mut(),
            bonus.as_mut(),
        );
        self.put_record(activation);
        self.put_record(bonus);
        self.positions[slot] = Some(position);
        Some(result)
    }

    fn ensure_record(&mut self, epoch: u64) {
        self.records.entry(epoch).or_insert_with(|| record(epoch));
    }

    /// The weight a position earns the epoch being funded with (scaled by
    /// `REWARD_PRECISION`, so that fractions of a base unit count), and whether it is in it.
    fn effective_weight(&self, position: &PositionV0, funded_epoch: u64) -> Option<u128> {
        if !position.activated && position.activation_epoch > funded_epoch {
            return None;
        }
        let bonus_counts = position
            .bonus_expiry_epoch
            .is_none_or(|epoch| epoch > funded_epoch);
        let bonus = if bonus_counts {
            position.bonus_weight
        } else {
            0
        };
        match position.operator {
            None => Some((u128::from(position.amount) + bonus) * REWARD_PRECISION),
            Some(operator) => {
                let pool = &self.pools[self.pool_index(operator)];
                let base = mul_div_floor(
                    position.shares,
                    u128::from(pool.tokens) * REWARD_PRECISION,
                    pool.shares,
                )
                .unwrap();
                let ratio = (pool.slash_factor * REWARD_PRECISION)
                    .checked_div(position.bonus_slash_factor)
                    .unwrap_or(0);
                let bonus = bonus * ratio;
                Some(base + bonus)
            }
        }
    }

    fn withdrawable(&self, position: &PositionV0) -> u64 {
        match position.operator {
            None => position.amount,
            Some(operator) => self.pools[self.pool_index(operator)]
                .value_of(position.shares)
                .unwrap(),
        }
    }

    fn apply(&mut self, op: Op) {
        let now = self.now();
        match op {
            Op::Create {
                slot,
                amount,
                kind,
                lockup_days,
            } => {
                if self.positions[slot].is_some() {
                    return;
                }
                let duration_s = i64::from(lockup_days) * DAY_S;
                let multiplier = multiplier_bps(&params(), kind, duration_s).unwrap();
                let mut position = empty_position(kind, multiplier);
                position.duration_s = duration_s;
                let activation_epoch = self.epoch + 1;
                position.activation_epoch = activation_epoch;
                let expiry = (kind == LockupKind::Cliff).then(|| {
                    position.end_ts = now + duration_s;
                    self.config.bonus_expiry_epoch(now + duration_s).unwrap()
                });
                self.ensure_record(activation_epoch);
                let mut activation = self.records.remove(&activation_epoch).unwrap();
                let mut bonus = expiry
                    .filter(|epoch| *epoch > activation_epoch)
                    .map(|epoch| {
                        self.ensure_record(epoch);
                        self.records.remove(&epoch).unwrap()
                    });
                open(
                    &mut position,
                    &mut self.config,
                    &mut activation,
                    expiry,
                    bonus.as_mut(),
                    amount,
                )
                .unwrap();
                self.put_record(Some(activation));
                self.put_record(bonus);
                self.positions[slot] = Some(position);
                self.owed_model[slot] = 0;
                self.epochs_in[slot] = 0;
                self.bounded[slot] = false;
                self.claimed[slot] = 0;
                self.principal_vault += amount;
            }
            Op::Fund { amount } => {
                // The current epoch ends and is funded.
                let funded_epoch = self.epoch;
                self.epoch += 1;
                let available = u128::from(self.config.carried_rewards + amount);
                let mut record = self.records.remove(&funded_epoch);
                let funding = fund_epoch(&mut self.config, record.as_mut(), amount).unwrap();
                self.put_record(record);
                self.reward_vault += amount;
                let total_weight = funding.active_weight;
                if total_weight == 0 {
                    return;
                }
                let mut sum = 0;
                for slot in 0..POSITIONS {
                    let Some(position) = self.positions[slot].as_ref() else {
                        continue;
                    };
                    let Some(weight) = self.effective_weight(position, funded_epoch) else {
                        continue;
                    };
                    sum += weight;
                    self.owed_model[slot] +=
                        mul_div_floor(available, weight, total_weight * REWARD_PRECISION).unwrap();
                    self.epochs_in[slot] += 1;
                }
                // What earns never exceeds the active weight (a slash may leave a part of a
                // bonus registered but earning nothing until its owner is touched).
                assert!(
                    sum <= total_weight * REWARD_PRECISION,
                    "earning {sum} > active {total_weight}"
                );
            }
            Op::Delegate { slot, pool } => {
                let epoch = self.epoch;
                let Some(mut position) = self.positions[slot].take() else {
                    return;
                };
                let mut activation = if position.activated {
                    None
                } else {
                    self.take_record(Some(position.activation_epoch))
                };
                activate_if_funded(&mut position, activation.as_mut()).unwrap();
                let mut bonus = self.take_record(position.bonus_expiry_epoch);
                if position.operator.is_none() && position.activated && position.amount > 0 {
                    match delegate(
                        &mut position,
                        &mut self.config,
                        &mut self.pools[pool],
                        bonus.as_mut(),
                        epoch,
                    ) {
                        Ok(()) | Err(StakingError::PoolShareValueTooLow) => {}
                        Err(other) => panic!("delegate: {other:?}"),
                    }
                }
                self.put_record(activation);
                self.put_record(bonus);
                self.positions[slot] = Some(position);
            }
            Op::Leave { slot } => {
                self.with_position(slot, |position, config, pool, _, bonus| {
                    if let Some(pool) = pool {
                        leave_pool(position, config, pool, bonus).unwrap();
                    }
                });
            }
            Op::Slash { pool, bps } => {
                let operator = self.pools[pool].operator;
                let members: Vec<(usize, u64)> = (0..POSITIONS)
                    .filter_map(|slot| {
                        let position = self.positions[slot].as_ref()?;
                        (position.operator == Some(operator))
                            .then(|| (slot, self.withdrawable(position)))
                    })
                    .collect();
                let Ok(burned) = slash(&mut self.config, &mut self.pools[pool], bps) else {
                    return;
                };
                self.principal_vault -= burned;
                for (slot, before) in members {
                    let position = self.positions[slot].as_ref().unwrap();
                    // Its bonus will end at a checkpoint the ledger bounds from below when no
                    // settlement came between this slash and the expiry.
                    if position.bonus_weight > 0 {
                        self.bounded[slot] = true;
                    }
                    let after = self.withdrawable(position);
                    let exact_after = u128::from(before) * u128::from(10_000 - bps) / 10_000;
                    assert!(
                        (i128::from(after) - exact_after as i128).abs() <= 2,
                        "slash of {bps} bps: {before} -> {after}, expected {exact_after}"
                    );
                }
            }
            Op::Claim { slot } => {
                let Some(amount) = self.with_position(slot, |position, config, pool, _, bonus| {
                    settle(position, config, pool, bonus).unwrap();
                    take_rewards(position, config).unwrap()
                }) else {
                    return;
                };
                self.claimed[slot] += amount;
                self.reward_vault -= amount;
            }
            Op::StartUnlock { slot } => {
                let epoch = self.epoch;
                let Some((kind, duration_s, withdrawable_epoch)) = self.positions[slot]
                    .as_ref()
                    .map(|p| (p.kind, p.duration_s, p.withdrawable_epoch))
                else {
                    return;
                };
                match kind {
                    LockupKind::Constant => {
                        let end_ts = now + duration_s;
                        let expiry = self.config.bonus_expiry_epoch(end_ts).unwrap();
                        let mut position = self.positions[slot].take().unwrap();
                        let mut activation = if position.activated {
                            None
                        } else {
                            self.take_record(Some(position.activation_epoch))
                        };
                        activate_if_funded(&mut position, activation.as_mut()).unwrap();
                        // The expiry record is a separate account unless it is the pending
                        // activation record itself (the bonus is then dropped).
                        let separate = position.activated || expiry != position.activation_epoch;
                        let mut expiry_record = separate.then(|| {
                            self.ensure_record(expiry);
                            self.records.remove(&expiry).unwrap()
                        });
                        position.kind = LockupKind::Cliff;
                        position.end_ts = end_ts;
                        schedule_bonus_expiry(
                            &mut position,
                            &mut self.config,
                            activation.as_mut(),
                            expiry,
                            expiry_record.as_mut(),
                        )
                        .unwrap();
                        self.put_record(activation);
                        self.put_record(expiry_record);
                        self.positions[slot] = Some(position);
                    }
                    LockupKind::Flexible if withdrawable_epoch.is_none() => {
                        let cooldown = u64::from(params().cooldown_epochs);
                        self.positions[slot].as_mut().unwrap().withdrawable_epoch =
                            Some(epoch + cooldown);
                    }
                    _ => {}
                }
            }
            Op::Withdraw { slot } => {
                let epoch = self.epoch;
                let Some(amount) =
                    self.with_position(slot, |position, config, _, activation, bonus| {
                        let unlocked = match position.kind {
                            LockupKind::Flexible => {
                                position.withdrawable_epoch.is_some_and(|e| epoch >= e)
                            }
                            LockupKind::Cliff => now >= position.end_ts,
                            LockupKind::Constant => false,
                        };
                        if position.operator.is_some() || !unlocked {
                            return 0;
                        }
                        withdraw_all(position, config, activation, bonus).unwrap()
                    })
                else {
                    return;
                };
                self.principal_vault -= amount;
            }
            Op::Extend {
                slot,
                kind,
                lockup_days,
            } => {
                if kind == LockupKind::Flexible {
                    return;
                }
                let Some(position) = self.positions[slot].as_ref() else {
                    return;
                };
                let duration_s = i64::from(lockup_days) * DAY_S;
                let remaining = match position.kind {
                    LockupKind::Flexible => 0,
                    LockupKind::Cliff => (position.end_ts - now).max(0),
                    LockupKind::Constant => position.duration_s,
                };
                let multiplier = multiplier_bps(&params(), kind, duration_s).unwrap();
                if duration_s < remaining || multiplier < position.multiplier_bps {
                    return;
                }
                let new_expiry = (kind == LockupKind::Cliff)
                    .then(|| self.config.bonus_expiry_epoch(now + duration_s).unwrap());
                let current = position.bonus_expiry_epoch;
                let pending_activation = (!position.activated).then_some(position.activation_epoch);
                let separate = new_expiry
                    .filter(|epoch| Some(*epoch) != current && Some(*epoch) != pending_activation);
                let mut new_record = separate.map(|epoch| {
                    self.ensure_record(epoch);
                    self.records.remove(&epoch).unwrap()
                });
                self.with_position(slot, |position, config, pool, activation, bonus| {
                    relock(
                        position,
                        config,
                        pool,
                        LockupRecords {
                            activation,
                            current_expiry: bonus,
                            new_expiry: new_record.as_mut(),
                        },
                        multiplier,
                        new_expiry,
                    )
                    .unwrap();
                    position.kind = kind;
                    position.duration_s = duration_s;
                    position.withdrawable_epoch = None;
                    position.end_ts = if kind == LockupKind::Cliff {
                        now + duration_s
                    } else {
                        0
                    };
                });
                self.put_record(new_record);
            }
        }
    }

    fn check_invariants(&self) {
        // Principal: the vault holds at least what every position can withdraw.
        let withdrawable: u64 = self
            .positions
            .iter()
            .flatten()
            .map(|p| self.withdrawable(p))
            .sum();
        assert_eq!(self.config.total_principal, self.principal_vault);
        assert!(
            self.principal_vault >= withdrawable,
            "vault {} < withdrawable {}",
            self.principal_vault,
            withdrawable
        );
        // Rewards: never more claimed than funded; the vault covers every claimable amount.
        assert!(self.config.total_claimed <= self.config.total_funded);
        let claimable_of = |p: &PositionV0| {
            let pool = p
                .operator
                .map(|operator| &self.pools[self.pool_index(operator)]);
            let activation = (!p.activated)
                .then(|| self.records.get(&p.activation_epoch))
                .flatten();
            let bonus = p
                .bonus_expiry_epoch
                .and_then(|epoch| self.records.get(&epoch));
            claimable(p, &self.config, pool, activation, bonus).unwrap()
        };
        let claimable_total: u64 = self.positions.iter().flatten().map(claimable_of).sum();
        assert!(
            self.reward_vault >= claimable_total,
            "reward vault {} < claimable {}",
            self.reward_vault,
            claimable_total
        );
        // Active weight is exactly what is registered: active undelegated amounts, pool
        // tokens, and the bonuses of active positions whose expiry has not been funded.
        // A position is active once its activation epoch was funded, even before an
        // instruction touches it and sets its flag.
        let active = |p: &&PositionV0| {
            p.activated
                || self
                    .records
                    .get(&p.activation_epoch)
                    .is_some_and(|record| record.funded)
        };
        let direct: u128 = self
            .positions
            .iter()
            .flatten()
            .filter(active)
            .filter(|p| p.operator.is_none())
            .map(|p| u128::from(p.amount))
            .sum();
        let pooled: u128 = self.pools.iter().map(|p| u128::from(p.tokens)).sum();
        let bonuses: u128 = self
            .positions
            .iter()
            .flatten()
            .filter(active)
            .filter(|p| {
                p.bonus_expiry_epoch
                    .is_none_or(|epoch| epoch >= self.config.next_epoch_to_fund)
            })
            .map(|p| p.bonus_weight)
            .sum();
        assert_eq!(self.config.active_weight, direct + pooled + bonuses);
        // Every unfunded record holds exactly what its positions registered, and every record
        // counts the positions that still need it.
        for (epoch, record) in &self.records {
            let pending: Vec<&PositionV0> = self
                .positions
                .iter()
                .flatten()
                .filter(|p| !p.activated && p.activation_epoch == *epoch)
                .collect();
            let expiring: Vec<&PositionV0> = self
                .positions
                .iter()
                .flatten()
                .filter(|p| p.bonus_expiry_epoch == Some(*epoch))
                .collect();
            assert_eq!(
                record.references as usize,
                pending.len() + expiring.len(),
                "references of record {epoch}"
            );
            if !record.funded {
                let activating: u128 = pending
                    .iter()
                    .map(|p| {
                        u128::from(p.amount)
                            + if p.bonus_expiry_epoch.is_none_or(|e| e > *epoch) {
                                p.bonus_weight
                            } else {
                                0
                            }
                    })
                    .sum();
                assert_eq!(record.activating_weight, activating, "record {epoch}");
                let registered: u128 = expiring.iter().map(|p| p.bonus_weight).sum();
                assert_eq!(record.expiring_weight, registered, "record {epoch}");
            }
        }
        // Each position's rewards match its pro-rata share within 2 base units per epoch, and
        // never exceed it.
        for slot in 0..POSITIONS {
            let Some(position) = self.positions[slot].as_ref() else {
                continue;
            };
            let paid = u128::from(self.claimed[slot]) + u128::from(claimable_of(position));
            let owed = self.owed_model[slot];
            let allowance = 2 * u128::from(self.epochs_in[slot]) + 2;
            assert!(
                paid <= owed + allowance,
                "slot {slot}: paid {paid} > owed {owed}"
            );
            if !self.bounded[slot] {
                assert!(
                    paid + allowance >= owed,
                    "slot {slot}: paid {paid} << owed {owed}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_048, .. ProptestConfig::default() })]

    #[test]
    fn the_ledger_never_over_pays_and_pays_pro_rata(ops in proptest::collection::vec(op(), 1..60)) {
        let mut world = World::new();
        for op in ops {
            world.apply(op);
            world.check_invariants();
        }
    }
}

#[test]
fn an_epoch_without_active_weight_carries_its_rewards() {
    let mut world = World::new();
    world.apply(Op::Fund { amount: 1_000 });
    assert_eq!(world.config.carried_rewards, 1_000);
    // Created during epoch 1, the position earns from epoch 2: epoch 1 has no weight either.
    world.apply(Op::Create {
        slot: 0,
        amount: 500,
        kind: LockupKind::Flexible,
        lockup_days: 1,
    });
    world.apply(Op::Fund { amount: 10 });
    assert_eq!(world.config.carried_rewards, 1_010);
    world.apply(Op::Fund { amount: 90 });
    assert_eq!(world.config.carried_rewards, 0);
    world.apply(Op::Claim { slot: 0 });
    assert_eq!(world.claimed[0], 1_100);
}

#[test]
fn a_cliff_bonus_ends_the_epoch_after_the_cliff() {
    let mut world = World::new();
    // Epoch 0: a 2-day cliff (ends in epoch 2, bonus gone from epoch 3) beside a flexible
    // position of the same amount.
    world.apply(Op::Create {
        slot: 0,
        amount: 1_000_000,
        kind: LockupKind::Cliff,
        lockup_days: 2,
    });
    world.apply(Op::Create {
        slot: 1,
        amount: 1_000_000,
        kind: LockupKind::Flexible,
        lockup_days: 1,
    });
    let multiplier = world.positions[0].as_ref().unwrap().multiplier_bps;
    assert_eq!(multiplier, 13_000, "2 of 20 saturating days: +0.3x");
    assert_eq!(
        world.positions[0].as_ref().unwrap().bonus_expiry_epoch,
        Some(3)
    );
    world.apply(Op::Fund { amount: 0 }); // epoch 0: nothing active yet
    for _ in 1..=2 {
        world.apply(Op::Fund { amount: 2_300_000 }); // epochs 1, 2: 1.3 : 1.0
    }
    assert_eq!(world.config.active_weight, 2_300_000);
    world.apply(Op::Fund { amount: 2_000_000 }); // epoch 3: the bonus is gone, 1 : 1
    assert_eq!(world.config.active_weight, 2_000_000);
    world.apply(Op::Claim { slot: 0 });
    world.apply(Op::Claim { slot: 1 });
    assert_eq!(world.claimed[0], 2 * 1_300_000 + 1_000_000);
    assert_eq!(world.claimed[1], 2 * 1_000_000 + 1_000_000);
    assert_eq!(world.positions[0].as_ref().unwrap().bonus_weight, 0);
    assert_eq!(
        world.records[&3].references, 0,
        "nobody needs the expiry record any more"
    );
}

#[test]
fn weight_follows_the_lockup_formula() {
    let p = StakingParams {
        saturation_s: 4 * 365 * DAY_S,
        ..params()
    };
    assert_eq!(multiplier_bps(&p, LockupKind::Flexible, 0).unwrap(), 10_000);
    assert_eq!(
        multiplier_bps(&p, LockupKind::Cliff, p.saturation_s).unwrap(),
        40_000
    );
    assert_eq!(
        multiplier_bps(&p, LockupKind::Constant, 2 * p.saturation_s).unwrap(),
        40_000
    );
    assert_eq!(
        multiplier_bps(&p, LockupKind::Cliff, p.saturation_s / 2).unwrap(),
        25_000
    );
    assert_eq!(
        multiplier_bps(&p, LockupKind::Cliff, 0),
        Err(StakingError::InvalidLockupDuration)
    );
    assert_eq!(weight_of(1_000, 25_000), 2_500);
    assert_eq!(bonus_of(1_000, 25_000), 1_500);
    assert_eq!(bonus_of(1_000, 10_000), 0);
    assert_eq!(
        weight_of(u64::MAX, u32::MAX),
        u128::from(u64::MAX) * u128::from(u32::MAX) / 10_000
    );
}

#[test]
fn many_maximal_slashes_never_overflow_or_lock_the_pool() {
    let mut world = World::new();
    world.apply(Op::Create {
        slot: 0,
        amount: 1_000_000_000_000,
        kind: LockupKind::Constant,
        lockup_days: 30,
    });
    world.apply(Op::Fund { amount: 0 });
    world.apply(Op::Fund { amount: 1_000 });
    world.apply(Op::Delegate { slot: 0, pool: 0 });
    assert!(world.positions[0].as_ref().unwrap().operator.is_some());
    for _ in 0..200 {
        world.apply(Op::Slash {
            pool: 0,
            bps: 5_000,
        });
        world.apply(Op::Fund { amount: 1_000_000 });
        world.check_invariants();
    }
    // The pool is worth (almost) nothing: a newcomer is refused rather than paying for it.
    assert!(!world.pools[0].accepts_delegation());
    world.apply(Op::Create {
        slot: 1,
        amount: 5_000_000,
        kind: LockupKind::Flexible,
        lockup_days: 1,
    });
    world.apply(Op::Fund { amount: 0 });
    world.apply(Op::Fund { amount: 0 });
    world.apply(Op::Delegate { slot: 1, pool: 0 });
    let refused = world.positions[1].as_ref().unwrap();
    assert!(refused.activated && refused.operator.is_none());
    // The member can still claim and leave; the emptied pool then starts over at 1:1.
    world.apply(Op::Claim { slot: 0 });
    world.apply(Op::Leave { slot: 0 });
    world.check_invariants();
    assert_eq!(world.pools[0].shares, 0);
    world.apply(Op::Delegate { slot: 1, pool: 0 });
    let newcomer = world.positions[1].as_ref().unwrap();
    assert_eq!(newcomer.shares, 5_000_000);
    assert_eq!(world.pools[0].value_of(newcomer.shares).unwrap(), 5_000_000);
    world.check_invariants();
}

#[test]
fn extreme_rewards_overflow_cleanly_instead_of_wrapping() {
    let mut world = World::new();
    world.apply(Op::Create {
        slot: 0,
        amount: 1,
        kind: LockupKind::Flexible,
        lockup_days: 1,
    });
    world.apply(Op::Fund { amount: 0 });
    // Weight 1 and u64::MAX rewards, several times: the index grows by ~1.8e37 each time and
    // must refuse to wrap.
    let mut refused = false;
    for _ in 0..40 {
        world.config.carried_rewards = 0;
        if fund_epoch(&mut world.config, None, u64::MAX).is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the reward index must refuse to overflow");
}
