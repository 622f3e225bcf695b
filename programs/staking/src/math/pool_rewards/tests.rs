//! The pool device rewards' rule, against a model that pays every sweep's rewards to the
//! members earning in the epoch they are for, in exact fractions.

use anchor_lang::prelude::Pubkey;
use proptest::prelude::*;

use super::*;
use crate::state::{LockupKind, PendingUndelegation};

const OPERATOR: Pubkey = Pubkey::new_from_array([7; 32]);

fn pool_rewards() -> PoolRewardsV0 {
    PoolRewardsV0::new(0, OPERATOR, 1_000)
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
        exit_shares: 0,
        exit_members_waiting: 0,
        exited: false,
        reward_per_share_at_exit: 0,
    }
}

fn member(shares: u128) -> PositionV0 {
    let mut position = crate::math::tests::empty_position(LockupKind::Flexible, 10_000);
    position.activated = true;
    position.operator = Some(OPERATOR);
    position.shares = shares;
    position
}

/// A pool, its cohort records and its members, driven epoch by epoch as the instructions do.
struct World {
    pool: PoolRewardsV0,
    cohorts: std::collections::BTreeMap<u64, PoolCohortV0>,
    members: Vec<PositionV0>,
    epoch: u64,
    claimed: u64,
}

impl World {
    fn new() -> Self {
        World {
            pool: pool_rewards(),
            cohorts: Default::default(),
            members: Vec::new(),
            epoch: 1,
            claimed: 0,
        }
    }

    fn join(&mut self, shares: u128) -> usize {
        let activation = self.epoch + 1;
        let key = self.pool.cohort_for(activation);
        let record = self.cohorts.entry(key).or_insert_with(|| cohort(key));
        let mut position = member(shares);
        join_cohort(&mut self.pool, record, &mut position, activation).unwrap();
        self.members.push(position);
        self.members.len() - 1
    }

    /// The record `position` waits in, taken out of the map (put back by `put_back`).
    fn take_waiting(&mut self, index: usize) -> Option<PoolCohortV0> {
        let position = &self.members[index];
        position
            .pool_cohort_epoch
            .or(position.pool_exit_epoch)
            .map(|key| self.cohorts.remove(&key).unwrap())
    }

    fn put_back(&mut self, record: Option<PoolCohortV0>) {
        if let Some(record) = record {
            self.cohorts.insert(record.key_epoch, record);
        }
    }

    fn settle(&mut self, index: usize) {
        let mut record = self.take_waiting(index);
        settle_pool_rewards(&mut self.members[index], &self.pool, record.as_mut()).unwrap();
        self.put_back(record);
    }

    /// The member asks to leave in the current epoch.
    fn leave(&mut self, index: usize) {
        let epoch = self.epoch;
        let mut exit = self.cohorts.remove(&epoch).unwrap_or_else(|| cohort(epoch));
        // The record it waits in, unless it is the exit record itself (passed once).
        let mut waiting = if self.members[index].pool_cohort_epoch == Some(epoch) {
            None
        } else {
            self.take_waiting(index)
        };
        request_exit(
            &mut self.members[index],
            &mut self.pool,
            waiting.as_mut(),
            &mut exit,
            epoch,
        )
        .unwrap();
        self.put_back(waiting);
        self.put_back(Some(exit));
    }

    /// The member's undelegation completes: it leaves for good and is paid.
    fn complete(&mut self, index: usize) -> u64 {
        let mut record = self.take_waiting(index);
        leave_pool_rewards(&mut self.members[index], &mut self.pool, record.as_mut()).unwrap();
        self.put_back(record);
        let paid = take_pool_rewards(&mut self.members[index], &mut self.pool).unwrap();
        self.members[index].operator = None;
        paid
    }

    /// The root of `root_epoch` activates and a claim pays `amount`; then a sweep.
    fn claim_and_sweep(&mut self, root_epoch: u64, amount: u64) -> Sweep {
        self.claimed += amount;
        let claim = PoolClaim {
            claimed: self.claimed,
            last_root_epoch: root_epoch,
        };
        let due: Vec<u64> = self
            .pool
            .waiting_cohorts()
            .iter()
            .filter(|waiting| waiting.key_epoch <= root_epoch)
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
fn a_delegation_earns_from_its_first_epoch_to_the_epoch_before_its_request() {
    let mut world = World::new();
    // Epoch 1: a delegates (earns from 2). Epoch 2: b delegates (earns from 3).
    let a = world.join(100);
    world.epoch = 2;
    let b = world.join(300);
    // Epoch 3: epoch 2's root pays 1,000: a alone earned it.
    world.epoch = 3;
    let swept = world.claim_and_sweep(2, 1_000);
    assert!(swept.exact);
    assert_eq!((swept.started_before, swept.started_after), (1, 0));
    assert_eq!(world.claim(a), 1_000);
    assert_eq!(world.claim(b), 0);
    // Epoch 4: a asks to leave before epoch 3's root is swept: it keeps epoch 3.
    world.epoch = 4;
    world.leave(a);
    world.claim_and_sweep(3, 400);
    assert_eq!(world.claim(a), 100);
    // Epoch 5: epoch 4's 600 go to b alone (a's exit of epoch 4 left first).
    world.epoch = 5;
    let swept = world.claim_and_sweep(4, 600);
    assert_eq!(swept.exited, 1);
    assert_eq!(world.claim(a), 0);
    assert_eq!(world.claim(b), 900);
    assert!(!world.members[a].pool_earning);
    assert_eq!(world.pool.earning_shares, 300);
    assert_eq!(world.pool.total_paid, world.pool.total_distributed);
}

#[test]
fn a_delegation_left_before_its_cohort_started_never_earns() {
    let mut world = World::new();
    let a = world.join(100);
    let b = world.join(100);
    world.leave(b);
    world.epoch = 3;
    world.claim_and_sweep(2, 500);
    assert_eq!(world.claim(b), 0);
    assert_eq!(world.claim(a), 500);
    assert_eq!(world.cohorts[&2].members_waiting, 0);
}

#[test]
fn rewards_swept_while_nobody_earns_go_to_the_operator_not_to_later_joiners() {
    let mut world = World::new();
    let a = world.join(50);
    // Epoch 1's root pays before anyone earns (a counts from epoch 2): the operator's.
    world.epoch = 2;
    let swept = world.claim_and_sweep(1, 70);
    assert_eq!((swept.distributed, swept.to_operator), (0, 70));
    world.epoch = 3;
    let swept = world.claim_and_sweep(2, 30);
    assert_eq!((swept.distributed, swept.to_operator), (30, 0));
    assert_eq!(world.claim(a), 30);
    // Everyone leaves: what follows is the operator's again.
    world.leave(a);
    world.epoch = 4;
    let swept = world.claim_and_sweep(3, 11);
    assert_eq!((swept.distributed, swept.to_operator), (0, 11));
    assert_eq!(world.pool.total_to_operator, 81);
}

#[test]
fn a_lump_of_epochs_starts_only_the_joins_of_its_first_epoch_before_it() {
    let mut world = World::new();
    let a = world.join(100);
    world.epoch = 3;
    world.claim_and_sweep(2, 100);
    assert_eq!(world.claim(a), 100);
    // b delegates in epoch 3: it earns from epoch 4.
    let b = world.join(100);
    world.epoch = 6;
    // Roots 3 to 5 swept at once: the 600 may be epoch 3's, so b starts after it.
    let swept = world.claim_and_sweep(5, 600);
    assert!(!swept.exact);
    assert_eq!((swept.started_before, swept.started_after), (0, 1));
    assert_eq!(world.claim(a), 600);
    assert_eq!(world.claim(b), 0);
    world.epoch = 7;
    world.claim_and_sweep(6, 200);
    assert_eq!(world.claim(a), 100);
    assert_eq!(world.claim(b), 100);
}

#[test]
fn a_first_sweep_of_many_epochs_pays_only_the_first_cohort() {
    // The attack the conservative rule stops: a big delegation made just before a backlog
    // of unswept rewards is claimed takes none of it.
    let mut world = World::new();
    let early = world.join(100);
    world.epoch = 4;
    let late = world.join(1_000_000);
    world.epoch = 6;
    let swept = world.claim_and_sweep(5, 1_000);
    assert_eq!((swept.started_before, swept.started_after), (1, 1));
    assert_eq!(world.claim(early), 1_000);
    assert_eq!(world.claim(late), 0);
}

#[test]
fn a_completed_undelegation_whose_exit_was_not_swept_keeps_what_was_swept_and_stops() {
    let mut world = World::new();
    let a = world.join(100);
    let b = world.join(100);
    world.epoch = 3;
    world.claim_and_sweep(2, 200);
    world.leave(a);
    // No root for a while; a completes: paid what was swept, out of the earning shares.
    world.epoch = 6;
    assert_eq!(world.complete(a), 100);
    assert_eq!(world.pool.earning_shares, 100);
    assert_eq!(world.cohorts[&3].exit_members_waiting, 0);
    world.claim_and_sweep(5, 300);
    assert_eq!(world.claim(b), 400);
}

#[test]
fn an_exit_after_a_join_in_the_same_epoch_is_listed_before_it() {
    let mut world = World::new();
    let a = world.join(100);
    world.epoch = 3;
    world.claim_and_sweep(2, 100);
    // Epoch 3: b joins (cohort 4), then a asks to leave (cohort 3, listed before 4).
    let b = world.join(100);
    world.leave(a);
    assert_eq!(world.members[a].pool_exit_epoch, Some(3));
    let keys: Vec<u64> = world
        .pool
        .waiting_cohorts()
        .iter()
        .map(|waiting| waiting.key_epoch)
        .collect();
    assert_eq!(keys, [3, 4]);
    // Epoch 3's root: a's exit leaves first; b counts from epoch 4: the operator's.
    world.epoch = 4;
    let swept = world.claim_and_sweep(3, 50);
    assert_eq!((swept.exited, swept.to_operator), (1, 50));
    world.epoch = 5;
    world.claim_and_sweep(4, 70);
    assert_eq!(world.claim(a), 100);
    assert_eq!(world.claim(b), 70);
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
    // An exit while the list is full stops at once.
    world.leave(members[0]);
    assert_eq!(world.members[members[0]].pool_exit_epoch, None);
    // A sweep of root `newest` starts every cohort but the postponed one.
    world.epoch = newest + 1;
    world.claim_and_sweep(newest, 700);
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
    Complete(usize),
    Claim(usize),
    /// Next epoch; the root of the epoch before the current one pays this much.
    NextEpoch(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1u128..1_000_000_000_000_000).prop_map(Step::Join),
        1 => (0usize..64).prop_map(Step::Leave),
        1 => (0usize..64).prop_map(Step::Complete),
        2 => (0usize..64).prop_map(Step::Claim),
        3 => (0u64..1_000_000_000_000).prop_map(Step::NextEpoch),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_024, .. ProptestConfig::default() })]

    /// Whatever the joins, exits, completions, claims and amounts, with every root swept in
    /// turn: each epoch's rewards go to the shares that counted in it, pro rata (to the
    /// operator when none did), less at most a few base units of flooring per sweep, never
    /// more; and the pool's account always covers every member's claimable.
    #[test]
    fn members_are_paid_pro_rata_for_the_epochs_they_counted_in(
        steps in proptest::collection::vec(step(), 1..80)
    ) {
        let mut world = World::new();
        // Per member: first earning epoch, first epoch not earned (its exit), and the sweeps
        // done when it completed (none after count).
        let mut spans: Vec<(u64, Option<u64>, Option<usize>)> = Vec::new();
        let mut expected: Vec<f64> = Vec::new();
        let mut to_operator = 0f64;
        let mut sweeps = 0usize;
        for step in steps {
            match step {
                Step::Join(shares) => {
                    world.join(shares);
                    spans.push((world.epoch + 1, None, None));
                    expected.push(0.0);
                }
                Step::Leave(index) if index < world.members.len() && spans[index].1.is_none() => {
                    world.leave(index);
                    world.members[index].pending_undelegation = Some(PendingUndelegation {
                        requested_epoch: world.epoch,
                        completes_epoch: world.epoch + 3,
                    });
                    // A full list (or a join not started yet) stops it now: it earns nothing
                    // swept from here on.
                    let stopped_now = !world.members[index].pool_earning
                        && world.members[index].pool_exit_epoch.is_none();
                    spans[index].1 = Some(world.epoch);
                    if stopped_now {
                        spans[index].2 = Some(sweeps);
                    }
                }
                Step::Complete(index) if index < world.members.len()
                    && spans[index].1.is_some()
                    && world.members[index].operator.is_some() => {
                    world.complete(index);
                    spans[index].2.get_or_insert(sweeps);
                }
                Step::Claim(index) if index < world.members.len()
                    && world.members[index].operator.is_some() => {
                    world.claim(index);
                }
                Step::NextEpoch(amount) => {
                    world.epoch += 1;
                    let root = world.epoch - 1;
                    let earning: Vec<usize> = (0..world.members.len())
                        .filter(|index| {
                            let (from, until, stopped) = spans[*index];
                            from <= root
                                && until.is_none_or(|until| root < until)
                                && stopped.is_none_or(|stopped| sweeps < stopped)
                        })
                        .collect();
                    let total: u128 = earning.iter().map(|index| world.members[*index].shares).sum();
                    if amount > 0 || world.pool.waiting_cohorts().iter().any(|waiting| waiting.key_epoch <= root) {
                        world.claim_and_sweep(root, amount);
                        sweeps += 1;
                        if total == 0 {
                            to_operator += amount as f64;
                        } else {
                            for index in earning {
                                expected[index] += amount as f64
                                    * world.members[index].shares as f64 / total as f64;
                            }
                        }
                    }
                }
                _ => {}
            }
            // Solvency: everything still owed fits in what the account holds.
            let owed: u128 = (0..world.members.len())
                .map(|index| {
                    let mut position = world.members[index].clone();
                    let mut record = position
                        .pool_cohort_epoch
                        .or(position.pool_exit_epoch)
                        .map(|key| world.cohorts[&key].clone());
                    settle_pool_rewards(&mut position, &world.pool, record.as_mut()).unwrap();
                    u128::from(position.unclaimed_pool_rewards)
                })
                .sum();
            let held = u128::from(
                world.pool.total_swept - world.pool.total_paid - world.pool.total_to_operator,
            );
            prop_assert!(owed <= held, "owed {owed} held {held}");
        }
        let slack = 2.0 * sweeps as f64 + 2.0;
        prop_assert!((world.pool.total_to_operator as f64 - to_operator).abs() <= slack);
        for (index, expected) in expected.iter().enumerate() {
            if world.members[index].operator.is_some() {
                world.claim(index);
            }
            let paid = world.members[index].claimed_pool_rewards as f64;
            prop_assert!(
                paid <= expected * (1.0 + 1e-12) + slack && paid + slack >= expected * (1.0 - 1e-12),
                "member {index} paid {paid} expected {expected}"
            );
        }
        prop_assert!(world.pool.total_paid <= world.pool.total_distributed);
    }
}
