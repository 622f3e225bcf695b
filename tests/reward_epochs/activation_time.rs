//! Audit finding 4: the activation time is fixed when a root becomes pending, so shortening
//! the challenge period does not shorten a running window.

use anchor_lang::prelude::Pubkey;
use groundwork_harness::assert_error;
use groundwork_tests::*;
use reward_epochs::errors::RewardError;
use reward_epochs::RootStatus;

#[test]
fn shortening_the_challenge_period_does_not_shorten_a_pending_roots_window() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    network.set_challenge_period(3_600);
    let tree = tree_of(&[(Pubkey::new_unique(), 10)]);
    network.vote(0, epoch, &tree).unwrap();
    network.vote(1, epoch, &tree).unwrap();
    let record = network.epoch_record(epoch);
    assert_eq!(record.status, RootStatus::Pending);
    assert_eq!(record.activates_at, record.pending_since + 3_600);

    // The authority shortens the period to zero: the running window keeps its hour.
    network.set_challenge_period(0);
    assert_error(
        &network.activate(epoch),
        RewardError::ChallengePeriodNotOver,
    );
    network.rt.advance_seconds(3_599);
    assert_error(
        &network.activate(epoch),
        RewardError::ChallengePeriodNotOver,
    );
    // And the authority can still veto during that hour.
    network.veto(epoch).unwrap();
    let record = network.epoch_record(epoch);
    assert_eq!((record.status, record.vetoes), (RootStatus::Voting, 1));

    // A root that becomes pending now gets the new (zero) period.
    network.vote(1, epoch, &tree).unwrap();
    network.vote(2, epoch, &tree).unwrap();
    let record = network.epoch_record(epoch);
    assert_eq!(record.activates_at, record.pending_since);
    network.activate(epoch).unwrap();
    assert_eq!(network.reward_config().active_root_epoch, Some(epoch));
}

#[test]
fn a_pending_root_activates_at_its_fixed_time_even_after_the_period_grows() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    network.set_challenge_period(60);
    let tree = tree_of(&[(Pubkey::new_unique(), 10)]);
    network.vote(0, epoch, &tree).unwrap();
    network.vote(1, epoch, &tree).unwrap();
    network.set_challenge_period(86_400);
    network.rt.advance_seconds(59);
    assert_error(
        &network.activate(epoch),
        RewardError::ChallengePeriodNotOver,
    );
    network.rt.advance_seconds(1);
    // The window is over at the fixed time: no veto, and anyone activates.
    assert_error(&network.veto(epoch), RewardError::ChallengePeriodOver);
    network.activate(epoch).unwrap();
    assert_eq!(network.epoch_record(epoch).status, RootStatus::Active);
}
