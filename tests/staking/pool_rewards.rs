//! Delegation that pays: operator pools' device rewards reach the reward tree as one leaf per
//! pool, are claimed by the reward program into the pool's rewards account, swept into the
//! pool's per-share index in O(1), and paid to members through their positions' claims — on
//! the real reward program, with real roots, claims and token accounts.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use groundwork_client::reward_epochs as rewards;
use groundwork_client::staking as client;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, transaction_size, Landed, Outcome};
use groundwork_merkle::RewardTree;
use groundwork_tests::*;
use staking::errors::StakingError;
use staking::events::{CommissionSet, PoolRewardsSwept, StakeRewardsClaimed};
use staking::{PoolRewardsV0, PositionV0};

/// A cycle network with one registered operator whose pool is paid through the reward tree.
struct PoolNetwork {
    network: CycleNetwork,
    operator: Keypair,
    relayer: Keypair,
    /// The pool's cumulative leaf so far.
    pool_cumulative: u64,
}

impl std::ops::Deref for PoolNetwork {
    type Target = CycleNetwork;
    fn deref(&self) -> &CycleNetwork {
        &self.network
    }
}

impl std::ops::DerefMut for PoolNetwork {
    fn deref_mut(&mut self) -> &mut CycleNetwork {
        &mut self.network
    }
}

impl PoolNetwork {
    fn launch() -> Self {
        let mut network = CycleNetwork::launch();
        let operator = network.operator(0);
        let relayer = network.rt.funded_keypair();
        PoolNetwork {
            network,
            operator,
            relayer,
            pool_cumulative: 0,
        }
    }

    fn pool_rewards_address(&self) -> Pubkey {
        client::pool_rewards_address(&self.operator.pubkey())
    }

    fn pool_rewards(&self) -> PoolRewardsV0 {
        self.rt.anchor_account(&self.pool_rewards_address())
    }

    fn pool_token_balance(&self) -> u64 {
        let address =
            client::pool_reward_tokens_address(&self.operator.pubkey(), self.network_token);
        self.rt
            .account(&address)
            .map_or(0, |_| self.rt.token_balance(&address))
    }

    /// Ends the current epoch, closes it, and has 2 of 3 oracles vote and activate a root
    /// paying the pool `amount` more (plus a device recipient, so the tree is a real one).
    fn pay_pool(&mut self, amount: u64) -> (u64, RewardTree) {
        let epoch = self.end_and_close_epoch();
        let tree = self.pay_pool_for(epoch, amount);
        (epoch, tree)
    }

    /// 2 of 3 oracles vote and activate a root for `epoch` (closed) paying the pool `amount`
    /// more.
    fn pay_pool_for(&mut self, epoch: u64, amount: u64) -> RewardTree {
        self.pool_cumulative += amount;
        let host = Pubkey::new_from_array([9; 32]);
        let tree = tree_of(&[
            (self.pool_rewards_address(), self.pool_cumulative),
            (host, 1_000 * (epoch + 1)),
        ]);
        self.vote(0, epoch, &tree).unwrap();
        self.vote(1, epoch, &tree).unwrap();
        self.activate(epoch).unwrap();
        tree
    }

    /// The reward program's claim of the pool's leaf, sent directly (refused: only the
    /// sweep claims a pool's leaf).
    fn direct_claim_instruction(
        &self,
        tree: &RewardTree,
    ) -> anchor_lang::solana_program::instruction::Instruction {
        let pool = self.pool_rewards_address();
        let (leaf, proof) = tree.proof_for(&pool.to_bytes()).unwrap();
        rewards::claim(
            &self.relayer.pubkey(),
            &pool,
            self.network_token,
            leaf.cumulative_amount,
            proof,
        )
    }

    /// The sweep of root `root_epoch`: the pool's leaf in `tree` claimed and taken in.
    fn sweep_instruction(
        &self,
        root_epoch: u64,
        tree: &RewardTree,
    ) -> anchor_lang::solana_program::instruction::Instruction {
        self.sweep_instruction_with(root_epoch, tree, true)
    }

    /// The sweep, passing the operator's token account or not.
    fn sweep_instruction_with(
        &self,
        root_epoch: u64,
        tree: &RewardTree,
        operator_tokens: bool,
    ) -> anchor_lang::solana_program::instruction::Instruction {
        let pool = self.pool_rewards_address();
        let (leaf, proof) = tree.proof_for(&pool.to_bytes()).unwrap();
        client::sweep_pool_rewards(
            &self.relayer.pubkey(),
            &self.operator.pubkey(),
            &self.pool_rewards(),
            root_epoch,
            self.network_token,
            leaf.cumulative_amount,
            proof,
            operator_tokens,
        )
    }

    /// What the claim relayer does: the operator's token account (paid when no member earns)
    /// and the sweep, in one transaction.
    fn claim_and_sweep(&mut self, root_epoch: u64, tree: &RewardTree) -> PoolRewardsSwept {
        let instructions = [
            self.network_token
                .create_account_idempotent(&self.relayer.pubkey(), &self.operator.pubkey()),
            self.sweep_instruction(root_epoch, tree),
        ];
        let relayer = self.relayer.insecure_clone();
        self.rt
            .send_paid_by(&relayer, &instructions, &[])
            .unwrap_or_else(|refused| {
                panic!(
                    "claim and sweep: {:?}\n{}",
                    refused.err,
                    refused.logs.join("\n")
                )
            })
            .event(&staking::ID)
    }

    fn delegate_now(&mut self, staker: &Keypair) {
        let operator = self.operator.pubkey();
        self.delegate(staker, 0, &operator).unwrap();
    }

    fn undelegate(&mut self, staker: &Keypair) -> Landed {
        let position = self.position(&staker.pubkey(), 0);
        let instruction = client::undelegate(&position, self.current_epoch());
        self.rt.send_ok(&[instruction], &[staker])
    }

    fn claim_position(&mut self, staker: &Keypair) -> Outcome {
        let position = self.position(&staker.pubkey(), 0);
        let instruction = client::claim_stake_rewards(&position, self.network_token);
        self.rt.send(&[instruction], &[])
    }

    fn pool_claimable(&self, position: &PositionV0) -> u64 {
        client::pool_claimable_now(&self.rt, position).unwrap()
    }

    /// Two stakers holding active flexible positions (`a_tokens`, `b_tokens`), now in epoch 2.
    fn with_two_active_stakers(&mut self, a_tokens: u64, b_tokens: u64) -> (Keypair, Keypair) {
        let a = self.staker_with_position(a_tokens, flexible());
        let b = self.staker_with_position(b_tokens, flexible());
        // Created in epoch 0: active once epoch 1 is funded (at its close).
        self.end_and_close_epoch();
        self.end_and_close_epoch();
        (a, b)
    }
}

#[test]
fn delegators_earn_their_pool_share_from_their_first_epoch_until_they_ask_to_leave() {
    let mut world = PoolNetwork::launch();
    let (a, b) = world.with_two_active_stakers(gwk(1_000), gwk(3_000));
    // Epoch 2: a delegates (earns from epoch 3). Epoch 3: b delegates (earns from epoch 4).
    world.delegate_now(&a);
    world.end_and_close_epoch();
    world.delegate_now(&b);
    assert_eq!(
        world.position(&b.pubkey(), 0).pool_cohort_epoch,
        Some(4),
        "b waits in the cohort of epoch 4"
    );

    // Epoch 3's root pays the pool 1,000: a alone was delegated through epoch 3.
    let (e3, tree) = world.pay_pool(1_000);
    let swept = world.claim_and_sweep(e3, &tree);
    assert_eq!((swept.received, swept.distributed), (1_000, 1_000));
    assert!(swept.exact);
    assert_eq!((swept.started_before, swept.started_after), (1, 0));
    assert_eq!(world.pool_claimable(&world.position(&a.pubkey(), 0)), 1_000);
    assert_eq!(world.pool_claimable(&world.position(&b.pubkey(), 0)), 0);

    // Epoch 4's root pays 4,000: shares of 1,000 and 3,000 GWK (members earn: the operator's
    // token account is not needed).
    let (e4, tree) = world.pay_pool(4_000);
    let sweep = world.sweep_instruction_with(e4, &tree, false);
    let relayer = world.relayer.insecure_clone();
    world.rt.send_paid_by(&relayer, &[sweep], &[]).unwrap();
    assert_eq!(world.pool_claimable(&world.position(&a.pubkey(), 0)), 2_000);
    assert_eq!(world.pool_claimable(&world.position(&b.pubkey(), 0)), 3_000);

    // Epoch 5: a asks to leave, and stops earning at once; epoch 5's 900 go to b.
    world.undelegate(&a);
    let (e5, tree) = world.pay_pool(900);
    world.claim_and_sweep(e5, &tree);
    assert_eq!(world.pool_claimable(&world.position(&a.pubkey(), 0)), 2_000);
    assert_eq!(world.pool_claimable(&world.position(&b.pubkey(), 0)), 3_900);
    assert_eq!(world.pool_token_balance(), 5_900);

    // Claims pay staker rewards and pool rewards into the owners' token accounts.
    for (staker, pool_share) in [(&a, 2_000), (&b, 3_900)] {
        let before = world.network_balance(&staker.pubkey());
        let claimed: StakeRewardsClaimed =
            world.claim_position(staker).unwrap().event(&staking::ID);
        assert_eq!(claimed.pool_amount, pool_share);
        assert!(claimed.amount > 0, "staker rewards paid beside the pool's");
        assert_eq!(
            world.network_balance(&staker.pubkey()) - before,
            claimed.amount + claimed.pool_amount
        );
        assert_eq!(
            world.position(&staker.pubkey(), 0).claimed_pool_rewards,
            pool_share
        );
    }
    assert_eq!(world.pool_token_balance(), 0);
    let pool = world.pool_rewards();
    assert_eq!((pool.total_swept, pool.total_paid), (5_900, 5_900));
    assert_eq!(pool.earning_shares, u128::from(gwk(3_000)));
}

#[test]
fn a_leaver_keeps_the_epochs_before_its_request_and_completion_pays_them() {
    let mut world = PoolNetwork::launch();
    let (a, b) = world.with_two_active_stakers(gwk(10), gwk(10));
    // Epoch 2: both delegate (they earn from epoch 3); epoch 3's root pays 600.
    world.delegate_now(&a);
    world.delegate_now(&b);
    world.end_and_close_epoch();
    let (e3, tree) = world.pay_pool(600);
    world.claim_and_sweep(e3, &tree);
    // Epoch 4 ends; in epoch 5, before epoch 4's root, a asks to leave: it keeps epoch 4.
    let e4 = world.end_and_close_epoch();
    world.undelegate(&a);
    assert_eq!(world.position(&a.pubkey(), 0).pool_exit_epoch, Some(5));
    let tree = world.pay_pool_for(e4, 400);
    let swept = world.claim_and_sweep(e4, &tree);
    assert_eq!(swept.exited, 0);
    assert_eq!(world.pool_claimable(&world.position(&a.pubkey(), 0)), 500);
    // Epoch 5's 100 are b's alone: a's exit left before them.
    let (e5, tree) = world.pay_pool(100);
    let swept = world.claim_and_sweep(e5, &tree);
    assert_eq!(swept.exited, 1);
    assert_eq!(world.pool_claimable(&world.position(&a.pubkey(), 0)), 500);
    assert_eq!(world.pool_claimable(&world.position(&b.pubkey(), 0)), 600);
    // Epoch 6: b leaves too; epoch 6's 90 find no member earning: the operator's.
    world.undelegate(&b);
    let operator = world.operator.pubkey();
    let before = world.network_balance(&operator);
    let (e6, tree) = world.pay_pool(90);
    // Paying the operator needs its token account: a sweep without it is refused then.
    let without = world.sweep_instruction_with(e6, &tree, false);
    let relayer = world.relayer.insecure_clone();
    assert_error(
        &world.rt.send_paid_by(&relayer, &[without], &[]),
        StakingError::OperatorTokensMissing,
    );
    let swept = world.claim_and_sweep(e6, &tree);
    assert_eq!((swept.distributed, swept.to_operator), (0, 90));
    assert_eq!(world.network_balance(&operator) - before, 90);
    // a's unbonding ends with epoch 8: completing it pays its 500 with its tokens.
    while world.current_epoch() < 8 {
        world.end_and_close_epoch();
    }
    let before = world.network_balance(&a.pubkey());
    let position = world.position(&a.pubkey(), 0);
    let token = world.network_token;
    let done: staking::events::Undelegated = world
        .rt
        .send_ok(&[client::complete_undelegation(&position, token)], &[&a])
        .event(&staking::ID);
    assert_eq!(done.pool_amount, 500);
    assert_eq!(world.network_balance(&a.pubkey()) - before, 500);
    let position = world.position(&a.pubkey(), 0);
    assert_eq!(
        (position.operator, position.claimed_pool_rewards),
        (None, 500)
    );
    // a's exit cohort is no longer needed: its rent goes back to a, who paid it.
    let payer = a.pubkey();
    world
        .rt
        .send_ok(&[client::close_pool_cohort(&operator, 5, &payer)], &[]);
    assert!(world
        .rt
        .account(&client::pool_cohort_address(&operator, 5))
        .is_none());
    // b's exit cohort still holds b, who has not taken its end yet.
    let rent_payer = b.pubkey();
    assert_error(
        &world
            .rt
            .send(&[client::close_pool_cohort(&operator, 6, &rent_payer)], &[]),
        StakingError::PoolCohortInUse,
    );
}

#[test]
fn a_commission_change_is_refused_above_the_maximum_and_counts_from_the_next_epoch() {
    let mut world = PoolNetwork::launch();
    let operator = world.operator.insecure_clone();
    let max = default_params().max_commission_bps;
    assert_error(
        &world.rt.send(
            &[client::set_commission(&operator.pubkey(), max + 1)],
            &[&operator],
        ),
        StakingError::CommissionAboveMaximum,
    );
    let epoch = world.current_epoch();
    let set: CommissionSet = world
        .rt
        .send_ok(
            &[client::set_commission(&operator.pubkey(), 1_500)],
            &[&operator],
        )
        .event(&staking::ID);
    // A new pool's commission is the maximum until the operator's change counts.
    assert_eq!(
        (set.in_force_bps, set.bps, set.effective_epoch),
        (max, 1_500, epoch + 1)
    );
    let pool = world.pool_rewards();
    assert_eq!(pool.commission_for(epoch), max);
    assert_eq!(pool.commission_for(epoch + 1), 1_500);
    // Only a registered operator sets a commission, and only its own pool's.
    let stranger = world.rt.funded_keypair();
    assert!(world
        .rt
        .send(
            &[client::set_commission(&stranger.pubkey(), 0)],
            &[&stranger]
        )
        .is_err());
    assert_eq!(world.pool_rewards().pending_commission.unwrap().bps, 1_500);
    // The authority lowers the maximum: a commission above it is refused from then on.
    let mut params = default_params();
    params.max_commission_bps = 1_000;
    world.set_params(params).unwrap();
    assert_error(
        &world.rt.send(
            &[client::set_commission(&operator.pubkey(), 1_001)],
            &[&operator],
        ),
        StakingError::CommissionAboveMaximum,
    );
}

#[test]
fn a_slash_lowers_members_pro_rata_and_the_pool_account_covers_every_claimable() {
    let mut world = PoolNetwork::launch();
    let (a, b) = world.with_two_active_stakers(gwk(2_000), gwk(6_000));
    world.delegate_now(&a);
    world.delegate_now(&b);
    world.end_and_close_epoch();
    let operator = world.operator.pubkey();
    world.slash(&operator, 2_500).unwrap();
    let tokens = |world: &PoolNetwork, staker: &Keypair| {
        client::tokens_now(&world.rt, &world.position(&staker.pubkey(), 0)).unwrap()
    };
    assert_eq!(tokens(&world, &a), gwk(1_500));
    assert_eq!(tokens(&world, &b), gwk(4_500));
    let (e4, tree) = world.pay_pool(1_001);
    world.claim_and_sweep(e4, &tree);
    let owed = |world: &PoolNetwork| -> u64 {
        [&a, &b]
            .iter()
            .map(|staker| world.pool_claimable(&world.position(&staker.pubkey(), 0)))
            .sum()
    };
    // Shares are untouched by the slash: 1:3 of 1,001, floored.
    assert_eq!(world.pool_claimable(&world.position(&a.pubkey(), 0)), 250);
    assert_eq!(world.pool_claimable(&world.position(&b.pubkey(), 0)), 750);
    assert!(owed(&world) <= world.pool_token_balance());
    world.claim_position(&a).unwrap();
    assert!(owed(&world) <= world.pool_token_balance());
    world.slash(&operator, 1_000).unwrap();
    let (e5, tree) = world.pay_pool(3);
    world.claim_and_sweep(e5, &tree);
    assert!(owed(&world) <= world.pool_token_balance());
    world.claim_position(&b).unwrap();
    world.claim_position(&a).unwrap();
    assert!(world.pool_token_balance() <= 2, "only floors' dust is left");
}

#[test]
fn sweeps_refuse_direct_claims_forged_records_skipped_or_repeated_cohorts_and_repeats() {
    let mut world = PoolNetwork::launch();
    let (a, _) = world.with_two_active_stakers(gwk(10), gwk(10));
    world.delegate_now(&a);
    world.end_and_close_epoch();
    let (e3, tree) = world.pay_pool(700);
    let relayer = world.relayer.insecure_clone();
    let operator = world.operator.pubkey();
    let create = world
        .network_token
        .create_account_idempotent(&relayer.pubkey(), &operator);
    world.rt.send_paid_by(&relayer, &[create], &[]).unwrap();
    // Nobody claims a pool's leaf apart from its sweep (it would let one sweep cover
    // several epochs).
    let direct = world.direct_claim_instruction(&tree);
    assert_error(
        &world.rt.send_paid_by(&relayer, &[direct], &[]),
        reward_epochs::errors::RewardError::PoolClaimedOnlyBySweep,
    );
    // Another recipient's claim record: the reward program refuses it for this recipient.
    let host = Pubkey::new_from_array([9; 32]);
    world.claim_from(&relayer, &tree, &host).unwrap();
    let mut forged = world.sweep_instruction(e3, &tree);
    forged.accounts[4].pubkey = rewards::claim_address(&host);
    assert_error(
        &world.rt.send_paid_by(&relayer, &[forged], &[]),
        AnchorError::ConstraintSeeds,
    );
    // Another program in the reward program's place.
    let mut forged = world.sweep_instruction(e3, &tree);
    forged.accounts[3].pubkey = tokenomics::ID;
    assert_error(
        &world.rt.send_paid_by(&relayer, &[forged], &[]),
        AnchorError::ConstraintAddress,
    );
    // Leaving out the cohort due would let its members miss the rewards they earned; passing
    // it twice would write its old state back over the new.
    let mut skipping = world.sweep_instruction(e3, &tree);
    skipping.accounts.pop();
    assert_error(
        &world.rt.send_paid_by(&relayer, &[skipping], &[]),
        StakingError::CohortsMissing,
    );
    let mut twice = world.sweep_instruction(e3, &tree);
    let cohort = twice.accounts.last().unwrap().clone();
    twice.accounts.push(cohort);
    assert_error(
        &world.rt.send_paid_by(&relayer, &[twice], &[]),
        StakingError::CohortsMissing,
    );

    let sweep = world.sweep_instruction(e3, &tree);
    world.rt.send_paid_by(&relayer, &[sweep], &[]).unwrap();
    let again = world.sweep_instruction(e3, &tree);
    assert_error(
        &world.rt.send_paid_by(&relayer, &[again], &[]),
        reward_epochs::errors::RewardError::NothingDue,
    );
    assert_eq!(world.pool_claimable(&world.position(&a.pubkey(), 0)), 700);
    // The cohort, swept and taken by its member, is off the list: its rent goes back.
    world.claim_position(&a).unwrap();
    let payer = a.pubkey();
    world
        .rt
        .send_ok(&[client::close_pool_cohort(&operator, 3, &payer)], &[]);
}

#[test]
fn members_cannot_join_an_earlier_cohort_or_claim_through_another_pool() {
    let mut world = PoolNetwork::launch();
    let (a, b) = world.with_two_active_stakers(gwk(10), gwk(10));
    world.delegate_now(&a);
    world.end_and_close_epoch();
    // Epoch 3: b tries the cohort of epoch 3 (a's), which would pay it epoch 3.
    let operator = world.operator.pubkey();
    let position = world.position(&b.pubkey(), 0);
    assert_error(
        &world
            .rt
            .send(&[client::delegate(&position, &operator, 3)], &[&b]),
        StakingError::WrongPoolCohort,
    );
    world.delegate_now(&b);

    // A second operator's pool, paid too: a claims naming it instead of its own.
    let other = world.network.operator(0);
    let (e3, tree) = world.pay_pool(100);
    world.claim_and_sweep(e3, &tree);
    let position = world.position(&a.pubkey(), 0);
    let mut claim = client::claim_stake_rewards(&position, world.network_token);
    let pool_rewards_index = claim
        .accounts
        .iter()
        .position(|meta| meta.pubkey == client::pool_rewards_address(&operator))
        .unwrap();
    // The other operator's pool rewards account exists once it sets a commission.
    world
        .rt
        .send_ok(&[client::set_commission(&other.pubkey(), 100)], &[&other]);
    claim.accounts[pool_rewards_index].pubkey = client::pool_rewards_address(&other.pubkey());
    assert_error(
        &world.rt.send(&[claim], &[]),
        StakingError::WrongPoolRewards,
    );
    // Paying from another account than the pool's own is refused before any transfer.
    let mut claim = client::claim_stake_rewards(&position, world.network_token);
    let tokens_index = claim
        .accounts
        .iter()
        .position(|meta| {
            meta.pubkey == client::pool_reward_tokens_address(&operator, world.network_token)
        })
        .unwrap();
    // (b's token account: a's own is the destination, and Anchor refuses it twice as
    // writable.)
    claim.accounts[tokens_index].pubkey = world.network_token.account_of(&b.pubkey());
    assert_error(
        &world.rt.send(&[claim], &[]),
        StakingError::PoolRewardTokensMissing,
    );
    world.claim_position(&a).unwrap();
    assert_eq!(world.position(&a.pubkey(), 0).claimed_pool_rewards, 100);
    assert_eq!(world.pool_claimable(&world.position(&b.pubkey(), 0)), 0);
}

#[test]
fn ten_thousand_delegators_take_one_sweep_and_one_o1_claim_each() {
    const OWNERS: usize = 10;
    const POSITIONS_PER_OWNER: u64 = 1_000;
    let mut world = PoolNetwork::launch();
    let operator = world.operator.pubkey();
    let owners: Vec<Keypair> = (0..OWNERS)
        .map(|_| world.holder(gwk(POSITIONS_PER_OWNER * 4)))
        .collect();
    let amount_of = |id: u64| gwk(1 + id % 7);
    world.open_flexible_positions(&owners, POSITIONS_PER_OWNER, amount_of);
    world.end_and_close_epoch();
    world.end_and_close_epoch();
    // Epoch 2: all 10,000 delegate (one cohort, earning from epoch 3).
    world.delegate_positions(&owners, POSITIONS_PER_OWNER, &operator);
    assert_eq!(world.pool(&operator).members, 10_000);
    world.end_and_close_epoch();
    let reward = 1_234_567_891;
    let (e3, tree) = world.pay_pool(reward);

    // One transaction: the pool's claim and its sweep, whatever the number of members.
    let instructions = [
        world
            .network_token
            .create_account_idempotent(&world.relayer.pubkey(), &operator),
        world.sweep_instruction(e3, &tree),
    ];
    let (bytes, accounts) = transaction_size(&instructions, &world.relayer.pubkey());
    println!(
        "operator account + sweep (the pool's claim by CPI) for 10,000 members: {} + {} instruction accounts, {accounts} transaction accounts, {bytes} bytes (limit 1,232)",
        instructions[0].accounts.len(),
        instructions[1].accounts.len()
    );
    assert!(bytes <= 1_232);
    // The longest proof a legacy sweep transaction holds (compute-budget instructions
    // included; the operator's token account already made): a tree of 2^hashes leaves.
    let relayer_key = world.relayer.pubkey();
    let pool_now = world.pool_rewards();
    let fits = |hashes: usize| {
        let mut all = groundwork_harness::compute_budget_instructions(400_000, 10_000).to_vec();
        all.push(client::sweep_pool_rewards(
            &relayer_key,
            &operator,
            &pool_now,
            e3,
            world.network_token,
            reward,
            vec![[7u8; 32]; hashes],
            true,
        ));
        transaction_size(&all, &relayer_key).0 <= 1_232
    };
    let most = (1..=32)
        .take_while(|hashes| fits(*hashes))
        .last()
        .unwrap_or(0);
    println!(
        "a legacy sweep transaction holds a proof of up to {most} hashes (trees of up to 2^{most} recipients)"
    );
    // Beyond that, a v0 transaction with an address lookup table is needed: the CLI's
    // `crank sweep-pool` and the relayer send one (app/tests/roles.rs,
    // oracle/tests/submit_duties.rs).
    assert!(most >= 15, "{most}");
    let relayer = world.relayer.insecure_clone();
    let swept: PoolRewardsSwept = world
        .rt
        .send_paid_by(&relayer, &instructions, &[])
        .unwrap()
        .event(&staking::ID);
    assert_eq!((swept.received, swept.started_before), (reward, 1));

    // One claim per delegator, each with the same accounts: O(1).
    let first = world.position(&owners[0].pubkey(), 0);
    let one_claim = client::claim_stake_rewards(&first, world.network_token);
    let (bytes, accounts) = transaction_size(std::slice::from_ref(&one_claim), &owners[0].pubkey());
    println!(
        "a member's claim: {} instruction accounts, {accounts} transaction accounts, {bytes} bytes",
        one_claim.accounts.len()
    );
    let total_tokens: u128 = (0..POSITIONS_PER_OWNER)
        .map(|id| u128::from(amount_of(id)))
        .sum::<u128>()
        * OWNERS as u128;
    let mut paid = 0u64;
    for owner in &owners {
        for ids in (0..POSITIONS_PER_OWNER)
            .collect::<Vec<_>>()
            .chunks(BULK_BATCH)
        {
            let instructions: Vec<_> = ids
                .iter()
                .map(|id| {
                    let claim = client::claim_stake_rewards(
                        &world.position(&owner.pubkey(), *id),
                        world.network_token,
                    );
                    assert_eq!(claim.accounts.len(), one_claim.accounts.len());
                    claim
                })
                .collect();
            let landed = world.rt.send_ok(&instructions, &[]);
            let claims: Vec<StakeRewardsClaimed> = landed.events(&staking::ID);
            assert_eq!(claims.len(), ids.len());
            for (claim, id) in claims.iter().zip(ids) {
                // Each member's share, floored: reward * its tokens / all tokens.
                let expected = u128::from(reward) * u128::from(amount_of(*id)) / total_tokens;
                assert!(
                    u128::from(claim.pool_amount) <= expected
                        && u128::from(claim.pool_amount) + 1 >= expected
                );
                paid += claim.pool_amount;
            }
        }
    }
    assert!(
        paid <= reward && reward - paid <= 10_000,
        "paid {paid} of {reward}"
    );
    assert_eq!(world.pool_token_balance(), reward - paid);
}

#[test]
fn the_sweep_reads_the_reward_programs_claim_records_by_their_real_layout() {
    use anchor_lang::Discriminator;
    assert_eq!(
        staking::instructions::REWARD_CLAIM_DISCRIMINATOR,
        reward_epochs::ClaimV0::DISCRIMINATOR
    );
    assert_eq!(
        staking::instructions::REWARD_CLAIM_INSTRUCTION,
        reward_epochs::instruction::ClaimV0::DISCRIMINATOR
    );
    let record = reward_epochs::ClaimV0 {
        bump: 254,
        recipient: Pubkey::new_from_array([3; 32]),
        claimed: 0x0102_0304_0506_0708,
        claims: 0x0a0b_0c0d,
        last_root_epoch: 77,
    };
    let mut data = Vec::new();
    anchor_lang::AccountSerialize::try_serialize(&record, &mut data).unwrap();
    let recipient = record.recipient;
    let (key, _) =
        Pubkey::find_program_address(&[b"claim", recipient.as_ref()], &reward_epochs::ID);
    let mut lamports = 0;
    let owner = reward_epochs::ID;
    let info = anchor_lang::prelude::AccountInfo::new(
        &key,
        false,
        false,
        &mut lamports,
        &mut data,
        &owner,
        false,
    );
    let read =
        staking::instructions::read_reward_claim(&info, &reward_epochs::ID, &recipient).unwrap();
    assert_eq!(
        (read.claimed, read.last_root_epoch),
        (record.claimed, record.last_root_epoch)
    );
}
