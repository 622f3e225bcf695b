//! Every `emit_cpi!` event starts with the clock's unix time and carries the values after the
//! change: an indexer rebuilds the reward config and the epoch records from the events alone.
//! The claim logs its event with `emit!` (a `Program data:` line: the room `emit_cpi!`'s two
//! accounts would take is left to the proof), which the harness writes to the transaction's
//! logs as the runtime does on chain.

use anchor_lang::prelude::Pubkey;
use groundwork_client::reward_epochs as rewards;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;
use reward_epochs::events::{
    AuthorityTransferAccepted, AuthorityTransferProposed, EpochClosed, OracleSetUpdated,
    RewardParamsUpdated, RewardsClaimed, RootActivated, RootVetoed, RootVoted,
};
use reward_epochs::{RewardParamsV0, RootStatus};

#[test]
fn epoch_closed_carries_the_new_record_and_the_config_totals() {
    let mut network = CycleNetwork::launch();
    network.next_epoch();
    let closed: EpochClosed = network.close_epoch(0).unwrap().event(&reward_epochs::ID);
    let record = network.epoch_record(0);
    let config = network.reward_config();
    assert_eq!(closed.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(
        (
            closed.epoch,
            closed.unix_timestamp,
            closed.rent_payer,
            closed.minted,
            closed.device_share,
            closed.staker_share,
            closed.treasury_share,
            closed.device_pool_cumulative,
        ),
        (
            record.epoch,
            record.closed_at,
            record.rent_payer,
            record.minted,
            record.device_share,
            record.staker_share,
            record.treasury_share,
            record.device_pool_cumulative,
        )
    );
    assert_eq!(
        (
            closed.split,
            closed.treasury,
            closed.device_pool_cumulative,
            closed.next_epoch_to_close,
            closed.total_minted,
            closed.total_staker_funded,
            closed.total_treasury_paid,
        ),
        (
            config.split,
            config.treasury,
            config.device_pool_cumulative,
            config.next_epoch_to_close,
            config.total_minted,
            config.total_staker_funded,
            config.total_treasury_paid,
        )
    );
    assert_eq!(
        (record.status, record.votes.len(), record.vetoes),
        (RootStatus::Voting, 0, 0)
    );
}

#[test]
fn root_events_carry_the_status_and_the_active_root_after() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    network.set_challenge_period(600);
    let recipient = Pubkey::new_unique();
    let vetoed = tree_of(&[(recipient, 4)]);
    network.vote(0, epoch, &vetoed).unwrap();
    let voted: RootVoted = network
        .vote(1, epoch, &vetoed)
        .unwrap()
        .event(&reward_epochs::ID);
    let now = network.rt.clock().unix_timestamp;
    assert_eq!(voted.unix_timestamp, now);
    assert_eq!(
        (
            voted.status,
            voted.votes.len(),
            voted.matching_votes,
            voted.activates_at
        ),
        (RootStatus::Pending, 2, 2, Some(now + 600))
    );
    assert!(voted.reached_quorum && !voted.resubmitted && voted.dropped_votes == 0);

    let veto: RootVetoed = network.veto(epoch).unwrap().event(&reward_epochs::ID);
    assert_eq!(
        (
            veto.epoch,
            veto.root,
            veto.cumulative_total,
            veto.status,
            veto.vetoes
        ),
        (epoch, vetoed.root(), 4, RootStatus::Voting, 1)
    );

    let corrected = tree_of(&[(recipient, 3), (Pubkey::new_unique(), 2)]);
    network.vote(1, epoch, &corrected).unwrap();
    network.vote(2, epoch, &corrected).unwrap();
    network.rt.advance_seconds(600);
    let activated: RootActivated = network.activate(epoch).unwrap().event(&reward_epochs::ID);
    let config = network.reward_config();
    assert_eq!(activated.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(
        (
            Some(activated.epoch),
            activated.active_root,
            activated.active_cumulative_total,
            activated.leaf_count,
            activated.previous_root_epoch,
            activated.status,
        ),
        (
            config.active_root_epoch,
            config.active_root,
            config.active_cumulative_total,
            2,
            None,
            RootStatus::Active,
        )
    );
}

#[test]
fn admin_events_carry_the_time_and_the_values_after() {
    let mut network = CycleNetwork::launch();
    let authority = network.authority.insecure_clone();
    let new_oracles = vec![Pubkey::new_unique(), Pubkey::new_unique()];
    let updated: OracleSetUpdated = network
        .set_oracles(new_oracles.clone(), 1)
        .unwrap()
        .event(&reward_epochs::ID);
    assert_eq!(updated.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(
        (
            updated.oracles_after,
            updated.quorum_after,
            updated.quorum_before
        ),
        (new_oracles, 1, 2)
    );

    let params = RewardParamsV0 {
        split: default_split(),
        challenge_period_s: 90,
    };
    let treasury = network.dao_treasury;
    let changed: RewardParamsUpdated = network
        .update_reward_params(params, &treasury)
        .unwrap()
        .event(&reward_epochs::ID);
    assert_eq!(
        (
            changed.challenge_period_before_s,
            changed.challenge_period_after_s,
            changed.treasury_after
        ),
        (0, 90, treasury)
    );

    let successor = network.rt.funded_keypair();
    let proposed: AuthorityTransferProposed = network
        .rt
        .send_ok(
            &[rewards::transfer_authority(
                &authority.pubkey(),
                Some(successor.pubkey()),
            )],
            &[&authority],
        )
        .event(&reward_epochs::ID);
    assert_eq!(
        (
            proposed.authority,
            proposed.pending_before,
            proposed.pending_after
        ),
        (authority.pubkey(), None, Some(successor.pubkey()))
    );
    let accepted: AuthorityTransferAccepted = network
        .rt
        .send_ok(
            &[rewards::accept_authority(&successor.pubkey())],
            &[&successor],
        )
        .event(&reward_epochs::ID);
    assert_eq!(accepted.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(
        (accepted.authority_before, accepted.authority_after),
        (authority.pubkey(), successor.pubkey())
    );
    let config = network.reward_config();
    assert_eq!(
        (config.authority, config.pending_authority),
        (successor.pubkey(), None)
    );
}

#[test]
fn a_claim_logs_what_it_paid_and_the_running_total_in_the_reward_programs_invocation() {
    use anchor_lang::{AnchorDeserialize, Discriminator};
    use base64::Engine;
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    let (first, second) = (Pubkey::new_unique(), Pubkey::new_unique());
    let tree = tree_of(&[(first, 300), (second, 200)]);
    network.vote(0, epoch, &tree).unwrap();
    network.vote(1, epoch, &tree).unwrap();
    network.activate(epoch).unwrap();
    let payer = network.rt.funded_keypair();
    network.claim_from(&payer, &tree, &first).unwrap();
    let landed = network.claim_from(&payer, &tree, &second).unwrap();

    // One `Program data:` line, inside the reward program's own invocation (after its
    // `invoke [1]` and before its `success`), decoding to the claim.
    let logs = &landed.meta.logs;
    let data_lines: Vec<usize> = logs
        .iter()
        .enumerate()
        .filter(|(_, line)| line.starts_with("Program data: "))
        .map(|(index, _)| index)
        .collect();
    let [line] = data_lines[..] else {
        panic!("one Program data line: {logs:#?}")
    };
    let rewards_id = reward_epochs::ID.to_string();
    let invoked = logs
        .iter()
        .position(|entry| *entry == format!("Program {rewards_id} invoke [1]"))
        .expect("the reward program's invocation");
    let succeeded = logs
        .iter()
        .rposition(|entry| *entry == format!("Program {rewards_id} success"))
        .expect("the reward program's success");
    assert!(invoked < line && line < succeeded, "{logs:#?}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(logs[line].trim_start_matches("Program data: "))
        .unwrap();
    assert_eq!(&bytes[..8], RewardsClaimed::DISCRIMINATOR);
    let claimed = RewardsClaimed::try_from_slice(&bytes[8..]).unwrap();
    assert_eq!(
        (
            claimed.recipient,
            claimed.payer,
            claimed.amount,
            claimed.cumulative_amount,
            claimed.claimed_before,
            claimed.claims,
            claimed.root_epoch,
            claimed.total_claimed,
        ),
        (second, payer.pubkey(), 200, 200, 0, 1, epoch, 500)
    );
    assert_eq!(claimed.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(network.reward_config().total_claimed, 500);
}
