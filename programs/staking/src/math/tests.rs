//! Property tests of the staking ledger: random sequences of positions, delegations,
//! fundings, claims, slashes and withdrawals against an exact pro-rata model.

use super::*;
use crate::state::{LockupKind, StakingParams};
use anchor_lang::prelude::Pubkey;
use proptest::prelude::*;

const POSITIONS: usize = 6;
const POOLS: usize = 2;

fn params() -> StakingParams {
    StakingParams {
        max_bonus_bps: 30_000,
        saturation_s: 4 * 365 * 86_400,
        cooldown_epochs: 1,
        max_slash_bps: 5_000,
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
        epoch_len_s: 1,
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

fn empty_position(multiplier_bps: u32) -> PositionV0 {
    PositionV0 {
        bump: 0,
        owner: Pubkey::default(),
        id: 0,
        kind: LockupKind::Flexible,
        duration_s: 0,
        end_ts: 0,
        withdrawable_epoch: None,
        multiplier_bps,
        amount: 0,
        weight: 0,
        activation_epoch: 0,
        activated: false,
        operator: None,
        shares: 0,
        weighted_shares: 0,
        delegation_active_epoch: 0,
        undelegation_requested_epoch: None,
        reward_snapshot: 0,
        unclaimed_rewards: 0,
        claimed_rewards: 0,
    }
}

fn pool(operator: u8) -> OperatorPoolV0 {
    OperatorPoolV0 {
        bump: 0,
        operator: Pubkey::new_from_array([operator + 1; 32]),
        tokens: 0,
        shares: 0,
        weighted_shares: 0,
        weight: 0,
        reward_per_weighted_share: 0,
        synced_reward_per_weight: 0,
        members: 0,
        total_slashed: 0,
    }
}

fn record(epoch: u64) -> EpochStakeV0 {
    EpochStakeV0 {
        bump: 0,
        epoch,
        activating_weight: 0,
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
        lockup_days: u16,
    },
    Fund {
        amount: u64,
    },
    Delegate {
        slot: usize,
        pool: usize,
    },
    Undelegate {
        slot: usize,
    },
    Slash {
        pool: usize,
        bps: u16,
    },
    Claim {
        slot: usize,
    },
    Withdraw {
        slot: usize,
    },
    Extend {
        slot: usize,
        lockup_days: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..POSITIONS;
    prop_oneof![
        3 => (slot.clone(), 1u64..=1_000_000_000_000, 0u16..=2_000)
            .prop_map(|(slot, amount, lockup_days)| Op::Create { slot, amount, lockup_days }),
        4 => (0u64..=5_000_000_000).prop_map(|amount| Op::Fund { amount }),
        2 => (slot.clone(), 0..POOLS).prop_map(|(slot, pool)| Op::Delegate { slot, pool }),
        1 => slot.clone().prop_map(|slot| Op::Undelegate { slot }),
        1 => (0..POOLS, 1u16..=5_000).prop_map(|(pool, bps)| Op::Slash { pool, bps }),
        2 => slot.clone().prop_map(|slot| Op::Claim { slot }),
        1 => slot.clone().prop_map(|slot| Op::Withdraw { slot }),
        1 => (slot, 0u16..=2_000).prop_map(|(slot, lockup_days)| Op::Extend { slot, lockup_days }),
    ]
}

/// The ledger under test plus an exact model of what each position is owed.
struct World {
    config: StakingConfigV0,
    pools: Vec<OperatorPoolV0>,
    records: std::collections::BTreeMap<u64, EpochStakeV0>,
    positions: Vec<Option<PositionV0>>,
    /// Pro-rata rewards owed to each slot: the sum over its fundings of
    /// floor(available * its weight / active weight).
    owed_model: Vec<u128>,
    /// Fundings each slot took part in (its rounding allowance).
    epochs_in: Vec<u64>,
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
            claimed: vec![0; POSITIONS],
            epoch: 0,
            principal_vault: 0,
            reward_vault: 0,
        }
    }

    fn pool_index(&self, operator: Pubkey) -> usize {
        self.pools
            .iter()
            .position(|p| p.operator == operator)
            .unwrap()
    }

    /// Activates the position if its epoch was funded (as every instruction does first).
    fn activate(&mut self, slot: usize) {
        let position = self.positions[slot].as_mut().unwrap();
        let record = self.records.get(&position.activation_epoch);
        activate_if_funded(position, record);
    }

    /// Weight a slot has in the split of the next funding, as a fraction of `active_weight`.
    fn effective_weight(&self, position: &PositionV0) -> (u128, u128) {
        match position.operator {
            None => (position.weight, 1),
            Some(operator) => {
                let pool = &self.pools[self.pool_index(operator)];
                (
                    pool.weight * position.weighted_shares,
                    pool.weighted_shares.max(1),
                )
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
        match op {
            Op::Create {
                slot,
                amount,
                lockup_days,
            } => {
                if self.positions[slot].is_some() {
                    return;
                }
                let kind = if lockup_days == 0 {
                    LockupKind::Flexible
                } else {
                    LockupKind::Cliff
                };
                let multiplier =
                    multiplier_bps(&params(), kind, i64::from(lockup_days) * 86_400).unwrap();
                let mut position = empty_position(multiplier);
                position.activation_epoch = self.epoch + 1;
                let record = self
                    .records
                    .entry(self.epoch + 1)
                    .or_insert_with(|| record(self.epoch + 1));
                open(&mut position, &mut self.config, record, amount).unwrap();
                self.positions[slot] = Some(position);
                self.owed_model[slot] = 0;
                self.epochs_in[slot] = 0;
                self.claimed[slot] = 0;
                self.principal_vault += amount;
            }
            Op::Fund { amount } => {
                // The current epoch ends and is funded.
                let funded_epoch = self.epoch;
                self.epoch += 1;
                let available = u128::from(self.config.carried_rewards + amount);
                // Activation happens inside fund_epoch; the model needs the weights after it.
                let mut record = self.records.remove(&funded_epoch);
                let before = self.config.clone();
                let mut probe = before.clone();
                if let Some(r) = record.as_ref() {
                    probe.active_weight += r.activating_weight;
                }
                let total_weight = probe.active_weight;
                let funding = fund_epoch(&mut self.config, record.as_mut(), amount).unwrap();
                if let Some(r) = record {
                    self.records.insert(funded_epoch, r);
                }
                self.reward_vault += amount;
                assert_eq!(funding.active_weight, total_weight);
                if total_weight == 0 {
                    return;
                }
                for slot in 0..POSITIONS {
                    self.activate_model(slot, funded_epoch);
                    let Some(position) = self.positions[slot].as_ref() else {
                        continue;
                    };
                    if !position.activated && position.activation_epoch != funded_epoch {
                        continue;
                    }
                    let (numerator, denominator) = self.effective_weight(position);
                    self.owed_model[slot] += available * numerator / denominator / total_weight;
                    self.epochs_in[slot] += 1;
                }
            }
            Op::Delegate { slot, pool } => {
                let Some(_) = self.positions[slot] else {
                    return;
                };
                self.activate(slot);
                let epoch = self.epoch;
                let position = self.positions[slot].as_mut().unwrap();
                if position.operator.is_some() || !position.activated || position.amount == 0 {
                    return;
                }
                delegate(position, &mut self.config, &mut self.pools[pool], epoch).unwrap();
            }
            Op::Undelegate { slot } => {
                let Some(position) = self.positions[slot].as_ref() else {
                    return;
                };
                let Some(operator) = position.operator else {
                    return;
                };
                let index = self.pool_index(operator);
                let position = self.positions[slot].as_mut().unwrap();
                leave_pool(position, &mut self.config, &mut self.pools[index]).unwrap();
            }
            Op::Slash { pool, bps } => {
                let members: Vec<(usize, u64)> = (0..POSITIONS)
                    .filter_map(|slot| {
                        let position = self.positions[slot].as_ref()?;
                        (position.operator == Some(self.pools[pool].operator))
                            .then(|| (slot, self.withdrawable(position)))
                    })
                    .collect();
                let Ok(burned) = slash(&mut self.config, &mut self.pools[pool], bps) else {
                    return;
                };
                self.principal_vault -= burned;
                for (slot, before) in members {
                    let after = self.withdrawable(self.positions[slot].as_ref().unwrap());
                    let exact_after = u128::from(before) * u128::from(10_000 - bps) / 10_000;
                    assert!(
                        (i128::from(after as i64) - exact_after as i128).abs() <= 2,
                        "slash of {bps} bps: {before} -> {after}, expected {exact_after}"
                    );
                }
            }
            Op::Claim { slot } => {
                let Some(_) = self.positions[slot] else {
                    return;
                };
                self.activate(slot);
                let position = self.positions[slot].as_mut().unwrap();
                let pool = position.operator.map(|operator| {
                    self.pools
                        .iter()
                        .position(|p| p.operator == operator)
                        .unwrap()
                });
                settle(
                    position,
                    &self.config,
                    pool.map(|index| &mut self.pools[index]),
                )
                .unwrap();
                let amount = take_rewards(position, &mut self.config).unwrap();
                self.claimed[slot] += amount;
                self.reward_vault -= amount;
            }
            Op::Withdraw { slot } => {
                let Some(_) = self.positions[slot] else {
                    return;
                };
                self.activate(slot);
                let position = self.positions[slot].as_mut().unwrap();
                if position.operator.is_some() {
                    return;
                }
                let record = self.records.get_mut(&position.activation_epoch);
                let amount = withdraw_all(position, &mut self.config, record).unwrap();
                self.principal_vault -= amount;
            }
            Op::Extend { slot, lockup_days } => {
                let Some(_) = self.positions[slot] else {
                    return;
                };
                self.activate(slot);
                let position = self.positions[slot].as_mut().unwrap();
                let multiplier = multiplier_bps(
                    &params(),
                    LockupKind::Constant,
                    i64::from(lockup_days.max(1)) * 86_400,
                )
                .unwrap();
                if multiplier < position.multiplier_bps {
                    return;
                }
                let pool = position.operator.map(|operator| {
                    self.pools
                        .iter()
                        .position(|p| p.operator == operator)
                        .unwrap()
                });
                let record = self.records.get_mut(&position.activation_epoch);
                set_multiplier(
                    position,
                    &mut self.config,
                    record,
                    pool.map(|index| &mut self.pools[index]),
                    multiplier,
                )
                .unwrap();
            }
        }
    }

    /// In the model, a position whose activation epoch is being funded takes part in it.
    fn activate_model(&mut self, slot: usize, funded_epoch: u64) {
        if let Some(position) = self.positions[slot].as_ref() {
            if !position.activated && position.activation_epoch == funded_epoch {
                self.activate(slot);
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
        let claimable_total: u64 = self
            .positions
            .iter()
            .flatten()
            .map(|p| {
                let pool = p
                    .operator
                    .map(|operator| &self.pools[self.pool_index(operator)]);
                claimable(p, &self.config, pool, self.records.get(&p.activation_epoch)).unwrap()
            })
            .sum();
        assert!(
            self.reward_vault >= claimable_total,
            "reward vault {} < claimable {}",
            self.reward_vault,
            claimable_total
        );
        // Active weight is exactly what earns: active undelegated positions plus pools.
        let direct: u128 = self
            .positions
            .iter()
            .flatten()
            .filter(|p| p.activated && p.operator.is_none())
            .map(|p| p.weight)
            .sum();
        let pooled: u128 = self.pools.iter().map(|p| p.weight).sum();
        assert_eq!(self.config.active_weight, direct + pooled);
        // Each position's rewards match its pro-rata share within 2 base units per epoch.
        for slot in 0..POSITIONS {
            let Some(position) = self.positions[slot].as_ref() else {
                continue;
            };
            let pool = position
                .operator
                .map(|operator| &self.pools[self.pool_index(operator)]);
            let paid = u128::from(self.claimed[slot])
                + u128::from(
                    claimable(
                        position,
                        &self.config,
                        pool,
                        self.records.get(&position.activation_epoch),
                    )
                    .unwrap(),
                );
            let owed = self.owed_model[slot];
            let allowance = 2 * u128::from(self.epochs_in[slot]) + 2;
            assert!(
                paid <= owed + allowance,
                "slot {slot}: paid {paid} > owed {owed}"
            );
            assert!(
                paid + allowance >= owed,
                "slot {slot}: paid {paid} << owed {owed}"
            );
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
        lockup_days: 0,
    });
    world.apply(Op::Fund { amount: 10 });
    assert_eq!(world.config.carried_rewards, 1_010);
    world.apply(Op::Fund { amount: 90 });
    assert_eq!(world.config.carried_rewards, 0);
    world.apply(Op::Claim { slot: 0 });
    assert_eq!(world.claimed[0], 1_100);
}

#[test]
fn weight_follows_the_lockup_formula() {
    let p = params();
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
    assert_eq!(
        weight_of(u64::MAX, u32::MAX),
        u128::from(u64::MAX) * u128::from(u32::MAX) / 10_000
    );
}

#[test]
fn extreme_rewards_overflow_cleanly_instead_of_wrapping() {
    let mut world = World::new();
    world.apply(Op::Create {
        slot: 0,
        amount: 1,
        lockup_days: 0,
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
