//! Audit finding 9 (records): a settled epoch record — older than the active root's epoch —
//! can be closed by anyone, its rent going back to whoever paid it at `close_epoch`.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use groundwork_client::reward_epochs as rewards;
use groundwork_harness::assert_error;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;
use reward_epochs::errors::RewardError;
use reward_epochs::events::EpochRecordClosed;

fn lamports(network: &CycleNetwork, address: &Pubkey) -> u64 {
    network
        .rt
        .account(address)
        .map_or(0, |account| account.lamports)
}

#[test]
fn a_settled_epoch_record_closes_and_its_rent_goes_back_to_the_payer() {
    let mut network = CycleNetwork::launch();
    let (first, skipped, newest) = (
        network.end_and_close_epoch(),
        network.end_and_close_epoch(),
        network.end_and_close_epoch(),
    );
    let payer = network.rt.payer.pubkey();
    assert_eq!(network.epoch_record(first).rent_payer, payer);
    let anyone = network.rt.funded_keypair();
    let recipient = Pubkey::new_unique();
    let older = tree_of(&[(recipient, 10)]);
    let newer = tree_of(&[(recipient, 25)]);
    network.vote(0, first, &older).unwrap();
    network.vote(1, first, &older).unwrap();
    network.activate(first).unwrap();
    network.vote(0, newest, &newer).unwrap();
    network.vote(1, newest, &newer).unwrap();
    network.activate(newest).unwrap();

    // The record names who paid: nobody else gets the rent.
    let outcome = network.rt.send_paid_by(
        &anyone,
        &[rewards::close_epoch_record(&anyone.pubkey(), first)],
        &[],
    );
    assert_error(&outcome, RewardError::RentPayerMismatch);

    // Both older records close (the one whose root was active, and one never voted on).
    for epoch in [first, skipped] {
        let address = rewards::epoch_address(epoch);
        let rent = lamports(&network, &address);
        let payer_before = lamports(&network, &payer);
        let closed: EpochRecordClosed = network
            .close_epoch_record(&anyone, epoch)
            .unwrap()
            .event(&reward_epochs::ID);
        assert_eq!(lamports(&network, &payer), payer_before + rent);
        assert!(network.rt.account(&address).is_none());
        assert_eq!(
            (
                closed.epoch,
                closed.rent_payer,
                closed.lamports_returned,
                closed.active_root_epoch
            ),
            (epoch, payer, rent, newest)
        );
    }
    // Gone for good: a second close finds no record.
    assert_error(
        &network.close_epoch_record(&anyone, first),
        AnchorError::AccountNotInitialized,
    );
    // Claims never needed the closed records.
    network.claim_from(&anyone, &newer, &recipient).unwrap();
    assert_eq!(network.network_balance(&recipient), 25);
}

#[test]
fn the_active_epochs_record_and_later_ones_stay_open() {
    let mut network = CycleNetwork::launch();
    let anyone = network.rt.funded_keypair();
    let first = network.end_and_close_epoch();
    let later = network.end_and_close_epoch();
    // No root active yet: nothing is settled.
    assert_error(
        &network.close_epoch_record(&anyone, first),
        RewardError::EpochNotSettled,
    );
    let tree = tree_of(&[(Pubkey::new_unique(), 10)]);
    network.vote(0, first, &tree).unwrap();
    network.vote(1, first, &tree).unwrap();
    network.activate(first).unwrap();
    for epoch in [first, later] {
        assert_error(
            &network.close_epoch_record(&anyone, epoch),
            RewardError::EpochNotSettled,
        );
        assert_eq!(network.epoch_record(epoch).epoch, epoch);
    }
}
