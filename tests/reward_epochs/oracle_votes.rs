//! Audit finding 3: only votes of the current oracle set count toward quorum, a removed
//! oracle's vote never blocks a current one, and a vote is cast once (re-counted only when the
//! quorum was lowered after everybody voted).

use anchor_lang::prelude::Pubkey;
use groundwork_harness::assert_error;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;
use reward_epochs::errors::RewardError;
use reward_epochs::events::RootVoted;
use reward_epochs::RootStatus;

/// `count` funded keypairs, to serve as oracles.
fn funded_oracles(network: &mut CycleNetwork, count: usize) -> Vec<Keypair> {
    (0..count).map(|_| network.rt.funded_keypair()).collect()
}

fn keys(oracles: &[Keypair]) -> Vec<Pubkey> {
    oracles.iter().map(|oracle| oracle.pubkey()).collect()
}

#[test]
fn a_removed_oracles_vote_no_longer_counts_toward_quorum() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    let tree = tree_of(&[(Pubkey::new_unique(), 10)]);
    // Oracle A (index 0) votes X, then the authority replaces the set without A (quorum 2).
    network.vote(0, epoch, &tree).unwrap();
    let newcomers = funded_oracles(&mut network, 2);
    network.set_oracles(keys(&newcomers), 2).unwrap();
    assert_error(&network.vote(0, epoch, &tree), RewardError::NotAnOracle);

    // One new oracle votes X: with A's vote dropped, that is one vote of two.
    let landed = network
        .vote_by(&newcomers[0], epoch, tree.root(), 10, 1)
        .unwrap();
    let voted: RootVoted = landed.event(&reward_epochs::ID);
    assert_eq!(
        (voted.dropped_votes, voted.votes.len(), voted.matching_votes),
        (1, 1, 1)
    );
    assert_eq!(voted.votes, network.epoch_record(epoch).votes);
    assert!(!voted.reached_quorum);
    let record = network.epoch_record(epoch);
    assert_eq!(record.status, RootStatus::Voting);
    assert_eq!(
        record
            .votes
            .iter()
            .map(|vote| vote.oracle)
            .collect::<Vec<_>>(),
        vec![newcomers[0].pubkey()]
    );
    assert_error(&network.activate(epoch), RewardError::NoPendingRoot);

    // The second current member completes the quorum.
    network
        .vote_by(&newcomers[1], epoch, tree.root(), 10, 1)
        .unwrap();
    assert_eq!(network.epoch_record(epoch).status, RootStatus::Pending);
}

#[test]
fn a_new_full_oracle_set_can_vote_after_a_full_set_disagreed() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    let first_set = funded_oracles(&mut network, 16);
    network.set_oracles(keys(&first_set), 2).unwrap();
    // Sixteen different roots: no quorum, and the vote list is full.
    for (index, oracle) in first_set.iter().enumerate() {
        let root = [u8::try_from(index).unwrap() + 1; 32];
        network.vote_by(oracle, epoch, root, 1, 1).unwrap();
    }
    let record = network.epoch_record(epoch);
    assert_eq!(
        (record.status, record.votes.len()),
        (RootStatus::Voting, 16)
    );

    // Sixteen new oracles replace them; their votes fit and reach the quorum of nine.
    let second_set = funded_oracles(&mut network, 16);
    network.set_oracles(keys(&second_set), 9).unwrap();
    let agreed = [0xAB; 32];
    for (index, oracle) in second_set.iter().enumerate() {
        let voted: RootVoted = network
            .vote_by(oracle, epoch, agreed, 5, 3)
            .unwrap()
            .event(&reward_epochs::ID);
        let expected_dropped = if index == 0 { 16 } else { 0 };
        assert_eq!(voted.dropped_votes, expected_dropped);
        assert_eq!(voted.reached_quorum, index == 8);
    }
    let record = network.epoch_record(epoch);
    assert_eq!(record.status, RootStatus::Pending);
    assert_eq!(
        (record.pending_root, record.pending_cumulative_total),
        (agreed, 5)
    );
    assert_eq!(record.votes.len(), 16);
    assert!(record.votes.iter().all(|vote| second_set
        .iter()
        .any(|oracle| oracle.pubkey() == vote.oracle)));
    network.activate(epoch).unwrap();
    assert_eq!(network.reward_config().active_root, agreed);
}

#[test]
fn a_resubmitted_identical_vote_reaches_a_lowered_quorum() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    // Three oracles vote three different roots under the 2-of-3 quorum: no root is pending.
    let roots = [[1u8; 32], [2u8; 32], [3u8; 32]];
    for (index, root) in roots.iter().enumerate() {
        network.vote_raw(index, epoch, *root, 7, 1).unwrap();
    }
    assert_eq!(network.epoch_record(epoch).status, RootStatus::Voting);
    assert_error(
        &network.vote_raw(0, epoch, roots[0], 7, 1),
        RewardError::AlreadyVoted,
    );

    // The authority lowers the quorum to one: oracle 1 re-submits its identical vote.
    let set = keys(&network.oracles);
    network.set_oracles(set, 1).unwrap();
    // A changed vote is still refused: an oracle votes once.
    assert_error(
        &network.vote_raw(1, epoch, roots[0], 7, 1),
        RewardError::AlreadyVoted,
    );
    let voted: RootVoted = network
        .vote_raw(1, epoch, roots[1], 7, 1)
        .unwrap()
        .event(&reward_epochs::ID);
    assert!(voted.resubmitted && voted.reached_quorum);
    assert_eq!((voted.votes.len(), voted.matching_votes), (3, 1));
    assert_eq!(voted.status, RootStatus::Pending);
    let record = network.epoch_record(epoch);
    assert_eq!(
        (record.status, record.pending_root, record.votes.len()),
        (RootStatus::Pending, roots[1], 3)
    );
    assert_eq!(voted.activates_at, Some(record.activates_at));

    // Once pending, a re-submission is refused again.
    assert_error(
        &network.vote_raw(2, epoch, roots[2], 7, 1),
        RewardError::AlreadyVoted,
    );
}

#[test]
fn an_oracle_cannot_vote_twice_once_the_root_is_pending() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    let tree = tree_of(&[(Pubkey::new_unique(), 3)]);
    network.vote(0, epoch, &tree).unwrap();
    network.vote(1, epoch, &tree).unwrap();
    assert_eq!(network.epoch_record(epoch).status, RootStatus::Pending);
    assert_error(&network.vote(0, epoch, &tree), RewardError::AlreadyVoted);
    // A late vote of the third oracle is kept (and flagged when it disagrees).
    let dissent: RootVoted = network
        .vote_raw(2, epoch, [9; 32], 3, 1)
        .unwrap()
        .event(&reward_epochs::ID);
    assert!(dissent.disagrees && !dissent.reached_quorum && dissent.activates_at.is_none());
    assert_eq!(network.epoch_record(epoch).votes.len(), 3);
}

#[test]
fn a_pending_root_whose_voters_were_removed_goes_back_to_voting() {
    let mut network = CycleNetwork::launch();
    network.set_challenge_period(600);
    let epoch = network.end_and_close_epoch();
    let tree = tree_of(&[(Pubkey::new_unique(), 10)]);
    network.vote(0, epoch, &tree).unwrap();
    network.vote(1, epoch, &tree).unwrap();
    assert_eq!(network.epoch_record(epoch).status, RootStatus::Pending);
    // Both voters are removed (say, their keys leaked) before the root activates.
    let kept = network.oracles[2].pubkey();
    let newcomer = network.rt.funded_keypair();
    network
        .set_oracles(vec![kept, newcomer.pubkey()], 2)
        .unwrap();
    network.rt.advance_seconds(600);
    let landed = network.activate(epoch).unwrap();
    let lapsed: reward_epochs::events::RootQuorumLapsed = landed.event(&reward_epochs::ID);
    assert_eq!(
        (lapsed.matching_votes, lapsed.quorum, lapsed.status),
        (0, 2, RootStatus::Voting)
    );
    let record = network.epoch_record(epoch);
    assert_eq!((record.status, record.votes.len()), (RootStatus::Voting, 0));
    assert_eq!(network.reward_config().active_root_epoch, None);
    // The current set can vote it again.
    network.vote(2, epoch, &tree).unwrap();
    network
        .vote_by(&newcomer, epoch, tree.root(), 10, 1)
        .unwrap();
    assert_eq!(network.epoch_record(epoch).status, RootStatus::Pending);
}

#[test]
fn the_authority_clears_split_votes_so_the_oracles_can_vote_again() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    // Three different roots from three oracles (quorum 2): no root can ever be pending.
    for index in 0..3 {
        let root = [u8::try_from(index).unwrap() + 1; 32];
        network.vote_raw(index, epoch, root, 1, 1).unwrap();
    }
    assert_error(
        &network.vote(0, epoch, &tree_of(&[])),
        RewardError::AlreadyVoted,
    );
    let landed = network.veto(epoch).unwrap();
    let veto: reward_epochs::events::RootVetoed = landed.event(&reward_epochs::ID);
    assert_eq!(
        (veto.status_before, veto.votes_cleared, veto.status),
        (RootStatus::Voting, 3, RootStatus::Voting)
    );
    assert!(network.epoch_record(epoch).votes.is_empty());
    let tree = tree_of(&[(Pubkey::new_unique(), 10)]);
    network.vote(0, epoch, &tree).unwrap();
    network.vote(1, epoch, &tree).unwrap();
    network.activate(epoch).unwrap();
    assert_eq!(network.reward_config().active_root_epoch, Some(epoch));
    // An active root can no longer be vetoed.
    assert_error(&network.veto(epoch), RewardError::RootAlreadyActive);
}

#[test]
fn two_votes_of_one_root_with_different_cumulative_totals_make_no_quorum() {
    // Quorum 2: oracles 0 and 1 vote the same root, but with different cumulative totals (a
    // total is what the program checks against the device pool and what the root's leaves
    // must add up to; a root is agreed only with its total).
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    let tree = tree_of(&[(Pubkey::new_unique(), 10)]);
    let first = network.oracles[0].insecure_clone();
    let second = network.oracles[1].insecure_clone();
    network.vote_by(&first, epoch, tree.root(), 10, 1).unwrap();
    let voted: RootVoted = network
        .vote_by(&second, epoch, tree.root(), 9, 1)
        .unwrap()
        .event(&reward_epochs::ID);
    assert_eq!(voted.matching_votes, 1);
    assert!(!voted.reached_quorum);
    let record = network.epoch_record(epoch);
    assert_eq!((record.status, record.votes.len()), (RootStatus::Voting, 2));
    assert_error(&network.activate(epoch), RewardError::NoPendingRoot);
    // The third oracle agreeing with the first, total included, makes the quorum.
    let third = network.oracles[2].insecure_clone();
    network.vote_by(&third, epoch, tree.root(), 10, 1).unwrap();
    let record = network.epoch_record(epoch);
    assert_eq!(record.status, RootStatus::Pending);
    assert_eq!(
        (record.pending_root, record.pending_cumulative_total),
        (tree.root(), 10)
    );
}
