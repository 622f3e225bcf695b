//! Every reward_epochs instruction's errors and the attacks of the security table.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use groundwork_client::reward_epochs as rewards;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, custom_error_code};
use groundwork_merkle::RewardTree;
use groundwork_tests::*;
use reward_epochs::errors::RewardError;
use reward_epochs::{EmissionSplit, RewardParamsV0, RootStatus};

/// A network with epoch 0 closed and a tree paying two recipients from its device share.
fn closed_epoch_with_tree() -> (CycleNetwork, RewardTree, Pubkey, Pubkey) {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    let share = network.epoch_record(epoch).device_share;
    let (first, second) = (Pubkey::new_unique(), Pubkey::new_unique());
    let tree = tree_of(&[(first, share / 2), (second, share / 4)]);
    (network, tree, first, second)
}

fn activated() -> (CycleNetwork, RewardTree, Pubkey, Pubkey) {
    let (mut network, tree, first, second) = closed_epoch_with_tree();
    network.vote(0, 0, &tree).unwrap();
    network.vote(1, 0, &tree).unwrap();
    network.activate(0).unwrap();
    (network, tree, first, second)
}

#[test]
fn close_epoch_waits_for_the_end_goes_in_order_and_runs_once() {
    let mut network = CycleNetwork::launch();
    assert_error(&network.close_epoch(0), RewardError::EpochNotEnded);
    network.next_epoch();
    network.next_epoch();
    assert_error(&network.close_epoch(1), RewardError::EpochNotNext);
    network.close_epoch(0).unwrap();
    let supply = network.supply();
    // The epoch record exists: the system program refuses to create it again.
    assert_eq!(custom_error_code(&network.close_epoch(0)), Some(0));
    assert_eq!(network.supply(), supply);
    network.close_epoch(1).unwrap();
    assert_eq!(network.reward_config().next_epoch_to_close, 2);
}

#[test]
fn close_epoch_refuses_fake_tokenomics_or_staking_programs() {
    let mut network = CycleNetwork::launch();
    network.next_epoch();
    let token = network.network_token;
    let treasury = network.dao_treasury;
    let payer = network.rt.payer.pubkey();
    for index in [10usize, 15] {
        let mut instruction = rewards::close_epoch(&payer, token, &treasury, 0);
        // Index 10: tokenomics program, 15: staking program; an impostor relay in their place.
        instruction.accounts[index].pubkey = groundwork_harness::IMPOSTOR_RELAY_ID;
        assert_error(
            &network.rt.send(&[instruction], &[]),
            AnchorError::InvalidProgramId,
        );
    }
    assert_eq!(network.reward_config().next_epoch_to_close, 0);
}

#[test]
fn a_vote_from_outside_the_set_is_refused() {
    let (mut network, tree, _, _) = closed_epoch_with_tree();
    let outsider = network.rt.funded_keypair();
    let args = reward_epochs::SubmitRootArgsV0 {
        root: tree.root(),
        cumulative_total: tree.total() as u64,
        leaf_count: 2,
    };
    let outcome = network.rt.send_paid_by(
        &outsider,
        &[rewards::submit_root(&outsider.pubkey(), 0, args)],
        &[],
    );
    assert_error(&outcome, RewardError::NotAnOracle);
    assert!(network.epoch_record(0).votes.is_empty());
}

#[test]
fn an_oracle_votes_once_per_epoch() {
    let (mut network, tree, _, _) = closed_epoch_with_tree();
    network.vote(0, 0, &tree).unwrap();
    assert_error(&network.vote(0, 0, &tree), RewardError::AlreadyVoted);
    let record = network.epoch_record(0);
    assert_eq!((record.votes.len(), record.status), (1, RootStatus::Voting));
}

#[test]
fn a_root_distributing_more_than_the_device_pool_is_refused() {
    let (mut network, _, _, _) = closed_epoch_with_tree();
    let pool = network.epoch_record(0).device_share;
    assert_error(
        &network.vote_raw(0, 0, [1; 32], pool + 1, 1),
        RewardError::TotalExceedsDevicePool,
    );
    network.vote_raw(0, 0, [1; 32], pool, 1).unwrap();
}

#[test]
fn a_vote_for_an_epoch_not_closed_is_refused() {
    let (mut network, tree, _, _) = closed_epoch_with_tree();
    assert_error(
        &network.vote(0, 1, &tree),
        AnchorError::AccountNotInitialized,
    );
}

#[test]
fn activation_waits_for_the_challenge_period() {
    let (mut network, tree, _, _) = closed_epoch_with_tree();
    network.set_challenge_period(3_600);
    network.vote(0, 0, &tree).unwrap();
    network.vote(1, 0, &tree).unwrap();
    assert_error(&network.activate(0), RewardError::ChallengePeriodNotOver);
    network.rt.advance_seconds(3_600);
    network.activate(0).unwrap();
    assert_eq!(network.reward_config().active_root_epoch, Some(0));
    assert_error(&network.activate(0), RewardError::NoPendingRoot);
}

#[test]
fn a_vetoed_root_cannot_be_activated_and_the_oracles_vote_again() {
    let (mut network, tree, first, _) = closed_epoch_with_tree();
    network.set_challenge_period(3_600);
    network.vote(0, 0, &tree).unwrap();
    network.vote(1, 0, &tree).unwrap();
    let authority = network.authority.insecure_clone();
    let intruder = network.rt.funded_keypair();
    let outcome = network
        .rt
        .send(&[rewards::veto_root(&intruder.pubkey(), 0)], &[&intruder]);
    assert_error(&outcome, RewardError::NotAuthority);
    network
        .rt
        .send_ok(&[rewards::veto_root(&authority.pubkey(), 0)], &[&authority]);
    let record = network.epoch_record(0);
    assert_eq!(
        (record.status, record.votes.len(), record.vetoes),
        (RootStatus::Voting, 0, 1)
    );
    network.rt.advance_seconds(3_600);
    assert_error(&network.activate(0), RewardError::NoPendingRoot);
    let relayer = network.rt.funded_keypair();
    assert_error(
        &network.claim_from(&relayer, &tree, &first),
        RewardError::NoActiveRoot,
    );

    // A corrected root goes through; once its challenge period is over it cannot be vetoed.
    let corrected = tree_of(&[(first, 10)]);
    network.vote(1, 0, &corrected).unwrap();
    network.vote(2, 0, &corrected).unwrap();
    network.rt.advance_seconds(3_600);
    let outcome = network
        .rt
        .send(&[rewards::veto_root(&authority.pubkey(), 0)], &[&authority]);
    assert_error(&outcome, RewardError::ChallengePeriodOver);
    network.activate(0).unwrap();
    network.claim_from(&relayer, &corrected, &first).unwrap();
    assert_eq!(network.network_balance(&first), 10);
}

#[test]
fn roots_activate_in_epoch_order() {
    let mut network = CycleNetwork::launch();
    network.end_and_close_epoch();
    network.end_and_close_epoch();
    let recipient = Pubkey::new_unique();
    let older = tree_of(&[(recipient, 5)]);
    let newer = tree_of(&[(recipient, 9)]);
    network.vote(0, 0, &older).unwrap();
    network.vote(1, 0, &older).unwrap();
    network.vote(0, 1, &newer).unwrap();
    network.vote(1, 1, &newer).unwrap();
    network.activate(1).unwrap();
    assert_error(&network.activate(0), RewardError::RootOutOfOrder);
    // And totals never go down once a root is active.
    network.end_and_close_epoch();
    assert_error(
        &network.vote_raw(0, 2, [7; 32], 8, 1),
        RewardError::TotalDecreased,
    );
}

#[test]
fn a_claim_pays_once_and_only_the_leaf_it_proves() {
    let (mut network, tree, first, second) = activated();
    let relayer = network.rt.funded_keypair();
    let (leaf, proof) = tree.proof_for(&first.to_bytes()).unwrap();
    // An inflated amount, and the proof of another recipient.
    assert_error(
        &network.claim_raw(&relayer, &first, leaf.cumulative_amount + 1, proof.clone()),
        RewardError::InvalidProof,
    );
    let (other_leaf, other_proof) = tree.proof_for(&second.to_bytes()).unwrap();
    assert_error(
        &network.claim_raw(&relayer, &first, other_leaf.cumulative_amount, other_proof),
        RewardError::InvalidProof,
    );
    assert_eq!(network.network_balance(&first), 0);

    network
        .claim_raw(&relayer, &first, leaf.cumulative_amount, proof.clone())
        .unwrap();
    assert_eq!(network.network_balance(&first), leaf.cumulative_amount);
    let record: reward_epochs::ClaimV0 = network.rt.anchor_account(&rewards::claim_address(&first));
    assert_eq!(
        (record.claimed, record.claims, record.last_root_epoch),
        (leaf.cumulative_amount, 1, 0)
    );
    // Replayed: nothing more.
    assert_error(
        &network.claim_raw(&relayer, &first, leaf.cumulative_amount, proof),
        RewardError::NothingDue,
    );
    assert_eq!(network.network_balance(&first), leaf.cumulative_amount);
    assert_eq!(
        network.reward_config().total_claimed,
        leaf.cumulative_amount
    );
}

#[test]
fn oracle_set_and_quorum_are_the_authoritys_and_validated() {
    let mut network = CycleNetwork::launch();
    let authority = network.authority.insecure_clone();
    let keys: Vec<Pubkey> = (0..17).map(|_| Pubkey::new_unique()).collect();
    let intruder = network.rt.funded_keypair();
    let outcome = network.rt.send(
        &[rewards::set_oracles(
            &intruder.pubkey(),
            keys[..3].to_vec(),
            2,
        )],
        &[&intruder],
    );
    assert_error(&outcome, RewardError::NotAuthority);
    for (oracles, quorum, expected) in [
        (keys.clone(), 2, RewardError::InvalidOracleSet),
        (vec![], 1, RewardError::InvalidOracleSet),
        (vec![keys[0], keys[0]], 1, RewardError::InvalidOracleSet),
        (keys[..3].to_vec(), 0, RewardError::InvalidQuorum),
        (keys[..3].to_vec(), 4, RewardError::InvalidQuorum),
    ] {
        let outcome = network.rt.send(
            &[rewards::set_oracles(&authority.pubkey(), oracles, quorum)],
            &[&authority],
        );
        assert_error(&outcome, expected);
    }
    network.rt.send_ok(
        &[rewards::set_oracles(
            &authority.pubkey(),
            keys[..16].to_vec(),
            11,
        )],
        &[&authority],
    );
    let config = network.reward_config();
    assert_eq!((config.oracles.len(), config.quorum), (16, 11));
}

#[test]
fn the_split_must_add_up_and_applies_to_later_epochs() {
    let mut network = CycleNetwork::launch();
    let treasury = network.dao_treasury;
    let bad = RewardParamsV0 {
        split: EmissionSplit {
            devices_bps: 7_000,
            stakers_bps: 2_000,
            treasury_bps: 999,
        },
        challenge_period_s: 0,
    };
    assert_error(
        &network.update_reward_params(bad, &treasury),
        RewardError::SplitNotTenThousand,
    );
    let negative_period = RewardParamsV0 {
        split: default_split(),
        challenge_period_s: -1,
    };
    assert_error(
        &network.update_reward_params(negative_period, &treasury),
        RewardError::InvalidTiming,
    );
    network.end_and_close_epoch();
    let all_to_devices = RewardParamsV0 {
        split: EmissionSplit {
            devices_bps: 10_000,
            stakers_bps: 0,
            treasury_bps: 0,
        },
        challenge_period_s: 0,
    };
    network
        .update_reward_params(all_to_devices, &treasury)
        .unwrap();
    network.end_and_close_epoch();
    assert_eq!(
        network.epoch_record(0).device_share,
        FIRST_STEP_EMISSION * 7 / 10
    );
    let record = network.epoch_record(1);
    assert_eq!(
        (
            record.device_share,
            record.staker_share,
            record.treasury_share
        ),
        (record.minted, 0, 0)
    );
}

#[test]
fn the_reward_authority_moves_in_two_steps() {
    let mut network = CycleNetwork::launch();
    let authority = network.authority.insecure_clone();
    // A root pending in its challenge period: what a veto could still stop.
    network.set_challenge_period(3_600);
    let epoch = network.end_and_close_epoch();
    let share = network.epoch_record(epoch).device_share;
    let tree = tree_of(&[(Pubkey::new_unique(), share)]);
    network.vote(0, epoch, &tree).unwrap();
    network.vote(1, epoch, &tree).unwrap();
    assert_eq!(network.epoch_record(epoch).status, RootStatus::Pending);

    let successor = Keypair::new();
    network.rt.fund(&successor.pubkey(), 1_000_000_000);
    assert_error(
        &network.rt.send(
            &[rewards::accept_authority(&successor.pubkey())],
            &[&successor],
        ),
        RewardError::NoPendingAuthority,
    );
    network.rt.send_ok(
        &[rewards::transfer_authority(
            &authority.pubkey(),
            Some(successor.pubkey()),
        )],
        &[&authority],
    );
    let stranger = network.rt.funded_keypair();
    assert_error(
        &network.rt.send(
            &[rewards::accept_authority(&stranger.pubkey())],
            &[&stranger],
        ),
        RewardError::NotPendingAuthority,
    );
    network.rt.send_ok(
        &[rewards::accept_authority(&successor.pubkey())],
        &[&successor],
    );
    assert_eq!(network.reward_config().authority, successor.pubkey());
    // The old authority can no longer veto the pending root; the new one can.
    assert_error(
        &network.rt.send(
            &[rewards::veto_root(&authority.pubkey(), epoch)],
            &[&authority],
        ),
        RewardError::NotAuthority,
    );
    assert_eq!(network.epoch_record(epoch).status, RootStatus::Pending);
    network.rt.send_ok(
        &[rewards::veto_root(&successor.pubkey(), epoch)],
        &[&successor],
    );
    let record = network.epoch_record(epoch);
    assert_eq!((record.status, record.vetoes), (RootStatus::Voting, 1));
}
