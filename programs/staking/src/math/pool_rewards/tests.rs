//! The pool device rewards' rule, against a model that pays every sweep's rewards to the
//! members earning in the epoch they are for, in exact fractions.

use anchor_lang::prelude::Pubkey;
use proptest::prelude::*;

use super::*;
use crate::state::LockupKind;

const OPERATOR: Pubkey = Pubkey::new_from_array([7; 32]);

fn pool_rewards() -> PoolRewardsV0 {
    PoolRewardsV0 {
        bump: 0,
        operator: OPERATOR,
        commission_bps: 1_000,
        pending_commission: None,
        earning_shares: 0,
        reward_per_share: 0,
        swept_claimed: 0,
        swept_claims: 0,
        last_swept_root_epoch: None,
        carried: 0,
        total_swept: 0,
        total_paid: 0,
        waiting: [WaitingCohort::default(); MAX_WAITING_COHORTS],
        waiting_count: 0,
    }
}

fn cohort(key_epoch: u64) -> PoolCohortV0 {
    PoolCohortV0 {
        bump: 0,
        operator: OPERATOR,
        key_epoch,
        activation_epoch: key_epoch,
        rent_payer: Pubkey::default(),
        shares: 0,
        members_waiting: 0,
        started: false,
        reward_per_share_at_start: 0,
    }
}

fn member(shares: u128) -> PositionV0 {
    PositionV0 {
        bump: 0,
        owner: Pubkey::default(),
        id: 0,
        kind: LockupKind::Flexible,
        duration_s: 0,
        end_ts: 0,
        withdrawable_epoch: None,
        multiplier_bps: 10_000,
        amount: 0,
        bonus_weight: 0,
        bonus_expiry_epoch: None,
        activation_epoch: 0,
        activated: true,
        operator: Some(OPERATOR),
        shares,
        bonus_slash_factor: 0,
        delegation_active_epoch: 0,
        pending_undelegation: None,
        reward_snapshot: 0,
        bonus_snapshot: 0,
        global_snapshot: 0,
        unclaimed_rewards: 0,
        claimed_rewards: 0,
        pool_cohort_epoch: None,
        pool_earning: false,
        pool_reward_snapshot: 0,
        unclaimed_pool_rewards: 0,
        claimed_pool_rewards: 0,
    }
}

/// A pool, its cohort records and its members, driven epoch by epoch as the instructions do.
struct World {
    pool: PoolRewardsV0,
    cohorts: std::collections::BTreeMap<u64, PoolCohortV0>,
    members: Vec<PositionV0>,
    /// Each member's first and (exclusive) last earning epoch.
    spans: Vec<(u64, Option<u64>)>,
    epoch: u64,
    claimed: u64,
    claims: u32,
}

impl World {
    fn new() -> Self {
        World {
            pool: pool_rewards(),
            cohorts: Default::default(),
            members: Vec::new(),
            spans: Vec::new(),
            epoch: 1,
            claimed: 0,
            claims: 0,
        }
    }

    fn join(&mut self, shares: u128) -> usize {
        let activation = self.epoch + 1;
        let key = self.pool.cohort_for(activation);
        let record = self.cohorts.entry(key).or_insert_with(|| cohort(key));
        let mut position = member(shares);
        join_cohort(&mut self.pool, record, &mut position, activation).unwrap();
        self.members.push(position);
        self.spans.push((activation, None));
        self.members.len() - 1
    }

    fn settle(&mut self, index: usize) {
        let position = &mut self.members[index];
        let record = position
            .pool_cohort_epoch
            .map(|key| self.cohorts.get_mut(&key).unwrap());
        settle_pool_rewards(position, &self.pool, record).unwrap();
    }

    fn leave(&mut self, index: usize) {
        let position = &mut self.members[index];
        if self.spans[index].1.is_some() {
            return;
        }
        let record = position
            .pool_cohort_epoch
            .map(|key| self.cohorts.get_mut(&key).unwrap());
        stop_earning(position, &mut self.pool, record).unwrap();
        self.spans[index].1 = Some(self.epoch);
    }

    /// The root of `root_epoch` activates and one claim pays `amount`; then a sweep.
    fn claim_and_sweep(&mut self, root_epoch: u64, amount: u64, claims: u32) -> Sweep {
        self.claimed += amount;
        self.claims += claims;
        let claim = PoolClaim {
            claimed: self.claimed,
            claims: self.claims,
            last_root_epoch: root_epoch,
        };
        let due: Vec<u64> = self
            .pool
            .waiting_cohorts()
            .iter()
            .filter(|waiting| waiting.activation_epoch <= root_epoch)
            .map(|waiting| waiting.key_epoch)
            .collect();
        let mut records: Vec<PoolCohortV0> =
            due.iter().map(|key| self.cohorts[key].clone()).collect();
        let mut refs: Vec<&mut PoolCohortV0> = records.iter_mut().collect();
        let swept = sweep(&mut self.pool, claim, &mut refs).unwrap();
        for record in records {
            self.cohorts.insert(record.key_epoch, record);
        }
        swept
    }

    fn claim(&mut self, index: usize) -> u64 {
        self.settle(index);
        take_pool_rewards(&mut self.members[index], &mut self.pool).unwrap()
    }
}

#[test]
fn a_delegation_earns_from_its_first_epoch_and_stops_at_its_request() {
    let mut world = World::new();
    // Epoch 1: a delegates (earns from 2). Epoch 2: b delegates (earns from 3).
    let a = world.join(100);
    world.epoch = 2;
    let b = world.join(300);
    // Epoch 3: epoch 2's root pays 1,000: a alone earned it.
    world.epoch = 3;
    let swept = world.claim_and_sweep(2, 1_000, 1);
    assert!(swept.exact);
    assert_eq!((swept.started_before, swept.started_after), (1, 0));
    assert_eq!(world.claim(a), 1_000);
    assert_eq!(world.claim(b), 0);
    // Epoch 4: epoch 3's root pays 400: a 100 of it, b 300.
    world.epoch = 4;
    world.claim_and_sweep(3, 400, 1);
    // a asks to leave in epoch 4: it stops at once, epoch 4's rewards go to b alone.
    world.leave(a);
    world.epoch = 5;
    world.claim_and_sweep(4, 600, 1);
    assert_eq!(world.claim(a), 100);
    assert_eq!(world.claim(b), 900);
    assert_eq!(world.pool.total_paid, world.pool.total_swept);
}

#[test]
fn a_delegation_left_before_its_cohort_started_never_earns() {
    let mut world = World::new();
    let a = world.join(100);
    let b = world.join(100);
    world.leave(b);
    world.epoch = 3;
    world.claim_and_sweep(2, 500, 1);
    assert_eq!(world.claim(b), 0);
    assert_eq!(world.claim(a), 500);
    assert_eq!(world.cohorts[&2].members_waiting, 0);
}

#[test]
fn rewards_swept_while_nobody_earns_are_carried_to_the_next_earners() {
    let mut world = World::new();
    // Epoch 1's root pays before anyone earns: carried.
    world.epoch = 2;
    let a = world.join(50);
    let swept = world.claim_and_sweep(1, 70, 1);
    assert_eq!((swept.distributed, swept.carried), (0, 70));
    world.epoch = 4;
    let swept = world.claim_and_sweep(3, 30, 1);
    assert_eq!((swept.distributed, swept.carried), (100, 0));
    assert_eq!(world.claim(a), 100);
}

#[test]
fn lumped_claims_start_only_the_cohorts_due_after_the_last_sweep() {
    let mut world = World::new();
    let a = world.join(100);
    world.epoch = 3;
    world.claim_and_sweep(2, 100, 1);
    assert_eq!(world.claim(a), 100);
    // b delegates in epoch 3: it earns from epoch 4.
    let b = world.join(100);
    world.epoch = 6;
    // Two claims (roots 4 and 5) before one sweep: the 600 may hold epoch 3's rewards, so b
    // starts after it and a takes it all.
    let swept = world.claim_and_sweep(5, 600, 2);
    assert!(!swept.exact);
    assert_eq!((swept.started_before, swept.started_after), (0, 1));
    assert_eq!(world.claim(a), 600);
    assert_eq!(world.claim(b), 0);
    world.epoch = 7;
    world.claim_and_sweep(6, 200, 1);
    assert_eq!(world.claim(a), 100);
    assert_eq!(world.claim(b), 100);
}

#[test]
fn a_full_waiting_list_postpones_the_newest_cohort_instead_of_paying_early() {
    let mut world = World::new();
    let mut members = Vec::new();
    for epoch in 1..=MAX_WAITING_COHORTS as u64 {
        world.epoch = epoch;
        members.push(world.join(10));
    }
    assert_eq!(usize::from(world.pool.waiting_count), MAX_WAITING_COHORTS);
    // A ninth epoch's delegation joins the newest cohort, which now starts one epoch later.
    world.epoch = MAX_WAITING_COHORTS as u64 + 1;
    let late = world.join(10);
    let newest = MAX_WAITING_COHORTS as u64 + 1;
    assert_eq!(world.members[late].pool_cohort_epoch, Some(newest));
    assert_eq!(world.cohorts[&newest].activation_epoch, newest + 1);
    // A sweep of root `newest` starts every cohort but the postponed one.
    world.epoch = newest + 1;
    world.claim_and_sweep(newest, 700, 1);
    assert_eq!(world.claim(late), 0);
    assert_eq!(world.claim(members[MAX_WAITING_COHORTS - 1]), 0);
    assert_eq!(world.pool.waiting_count, 1);
}

#[test]
fn a_commission_change_counts_from_the_next_epoch_and_never_above_the_maximum() {
    let mut pool = pool_rewards();
    assert_eq!(
        pool.set_commission(5_001, 5_000, 3),
        Err(StakingError::CommissionAboveMaximum)
    );
    let change = pool.set_commission(2_500, 5_000, 3).unwrap();
    assert_eq!(change.effective_epoch, 4);
    assert_eq!(pool.commission_for(3), 1_000);
    assert_eq!(pool.commission_for(4), 2_500);
    // A second change in epoch 5 folds the first.
    pool.set_commission(0, 5_000, 5).unwrap();
    assert_eq!(pool.commission_bps, 2_500);
    assert_eq!(pool.commission_for(5), 2_500);
    assert_eq!(pool.commission_for(6), 0);
}

#[derive(Clone, Debug)]
enum Step {
    Join(u128),
    Leave(usize),
    Claim(usize),
    /// Next epoch; the root of the epoch before the current one pays this much (one claim).
    NextEpoch(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1u128..1_000_000_000).prop_map(Step::Join),
        1 => (0usize..64).prop_map(Step::Leave),
        2 => (0usize..64).prop_map(Step::Claim),
        3 => (0u64..1_000_000_000_000).prop_map(Step::NextEpoch),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_024, .. ProptestConfig::default() })]

    /// Whatever the joins, leaves, claims and amounts: members are paid what the model pays
    /// them (each epoch's rewards to the shares earning in it, pro rata) within one base
    /// unit per sweep, never more in total than was swept, and the pool's account always
    /// covers every member's claimable.
    #[test]
    fn members_are_paid_pro_rata_for_the_epochs_they_earned_in(
        steps in proptest::collection::vec(step(), 1..80)
    ) {
        let mut world = World::new();
        let mut expected: Vec<f64> = Vec::new();
        let mut sweeps = 0u64;
        // Rewards of an epoch nobody earned in go to the next epoch's earners, as carried.
        let mut model_carried = 0u64;
        for step in steps {
            match step {
                Step::Join(shares) => {
                    world.join(shares);
                    expected.push(0.0);
                }
                Step::Leave(index) if index < world.members.len() => world.leave(index),
                Step::Claim(index) if index < world.members.len() => {
                    world.claim(index);
                }
                Step::NextEpoch(amount) => {
                    world.epoch += 1;
                    let root = world.epoch - 1;
                    // The model: the shares earning in epoch `root` (joined before, not left
                    // by then). A leave stops earning at once, so one in epoch `root + 1`
                    // before this sweep already counts as gone: as the program does.
                    let earning: Vec<usize> = (0..world.members.len())
                        .filter(|index| {
                            let (from, until) = world.spans[*index];
                            from <= root && until.is_none()
                        })
                        .collect();
                    let total: u128 = earning.iter().map(|index| world.members[*index].shares).sum();
                    world.claim_and_sweep(root, amount, 1);
                    sweeps += 1;
                    if total == 0 {
                        model_carried += amount;
                    } else {
                        let available = amount + model_carried;
                        model_carried = 0;
                        for index in earning {
                            expected[index] += available as f64
                                * world.members[index].shares as f64 / total as f64;
                        }
                    }
                }
                _ => {}
            }
            // Solvency: everything still owed fits in what the account holds.
            let owed: u128 = (0..world.members.len())
                .map(|index| {
                    let mut position = world.members[index].clone();
                    let record = position.pool_cohort_epoch.map(|key| world.cohorts[&key].clone());
                    let mut record = record;
                    settle_pool_rewards(&mut position, &world.pool, record.as_mut()).unwrap();
                    u128::from(position.unclaimed_pool_rewards)
                })
                .sum();
            let held = u128::from(world.pool.total_swept - world.pool.total_paid);
            prop_assert!(owed + u128::from(world.pool.carried) <= held, "owed {owed} carried {} held {held}", world.pool.carried);
        }
        // Everyone claims: each as the model pays it (rewards of an epoch nobody earned in
        // carried to the next earners), less at most one unit per sweep (floors), never more.
        prop_assert_eq!(world.pool.carried, model_carried);
        for (index, expected) in expected.iter().enumerate() {
            world.claim(index);
            let paid = world.members[index].claimed_pool_rewards as f64;
            prop_assert!(
                paid <= expected * (1.0 + 1e-12) + 1e-6
                    && paid + sweeps as f64 + 1.0 >= expected * (1.0 - 1e-12),
                "member {index} paid {paid} expected {expected}"
            );
        }
        prop_assert!(world.pool.total_paid <= world.pool.total_swept);
    }
}
