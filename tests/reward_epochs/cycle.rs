//! The whole on-chain cycle in one test: four programs, credits, operators, devices, stake and
//! delegation, three epochs closed, 2-of-3 oracle roots built with the merkle crate (one
//! oracle disagrees once), activation, relayed claims for recipients without SOL, stakers'
//! claims — and everything reconciled against the real token program.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountDeserialize;
use groundwork_client::device_registry as registry;
use groundwork_harness::assert_error;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;
use reward_epochs::errors::RewardError;
use reward_epochs::events::RootVoted;
use reward_epochs::RootStatus;

#[test]
fn closing_an_epoch_mints_and_splits() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    let record = network.epoch_record(epoch);
    assert_eq!(record.minted, FIRST_STEP_EMISSION);
    assert_eq!(
        (
            record.device_share,
            record.staker_share,
            record.treasury_share
        ),
        (
            FIRST_STEP_EMISSION * 7 / 10,
            FIRST_STEP_EMISSION / 5,
            FIRST_STEP_EMISSION / 10
        )
    );
    assert_eq!(network.device_vault_balance(), record.device_share);
    assert_eq!(
        network.rt.token_balance(&network.dao_treasury),
        record.treasury_share
    );
    // No stake was active: the staker share waits in staking's reward vault, carried.
    assert_eq!(network.reward_vault_balance(), record.staker_share);
    assert_eq!(
        network.staking_config().carried_rewards,
        record.staker_share
    );
    assert_eq!(
        network.reward_config().device_pool_cumulative,
        record.device_share
    );
}

/// Sum of every token account of the network mint.
fn sum_of_all_balances(network: &CycleNetwork) -> u128 {
    let token = network.network_token;
    network
        .rt
        .svm
        .get_program_accounts(&token.token_program)
        .into_iter()
        .filter_map(|(_, account)| {
            anchor_spl::token_interface::TokenAccount::try_deserialize(&mut account.data.as_slice())
                .ok()
        })
        .filter(|account| account.mint == token.mint)
        .map(|account| u128::from(account.amount))
        .sum()
}

#[test]
fn the_whole_on_chain_cycle_reconciles() {
    let mut network = CycleNetwork::launch();
    let supply_at_start = network.supply();

    // A dApp buys credits; two operators with reward recipients that hold no SOL.
    let dapp = network.wallet_with_credits(100_000);
    let operator_a = network.operator(3 * HOTSPOT_ONBOARDING_FEE);
    let operator_b = network.operator(2 * SENSOR_ONBOARDING_FEE);
    let (recipient_a, recipient_b, host) = (
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
    );
    for (operator, recipient) in [(&operator_a, recipient_a), (&operator_b, recipient_b)] {
        let update = reward_epochs_update(recipient);
        network.rt.send_ok(
            &[registry::update_operator(&operator.pubkey(), update)],
            &[operator],
        );
    }
    let hotspots: Vec<Keypair> = (0..3)
        .map(|_| network.onboard_ok(&operator_a, HOTSPOT_CLASS, CELL_A))
        .collect();
    let sensors: Vec<Keypair> = (0..2)
        .map(|_| network.onboard_ok(&operator_b, SENSOR_CLASS, CELL_B))
        .collect();
    network.rt.send_ok(
        &[registry::set_reward_recipient(
            &operator_a.pubkey(),
            &hotspots[2].pubkey(),
            Some(host),
        )],
        &[&operator_a],
    );
    network.rt.send_ok(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &hotspots[0].pubkey(),
            5_000,
        )],
        &[&dapp],
    );
    network.rt.send_ok(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &sensors[1].pubkey(),
            2_000,
        )],
        &[&dapp],
    );

    // Stakers: 1,000 GWK locked 4 years (4x) and 500 GWK flexible (1x).
    let locked = network.staker_with_position(gwk(1_000), cliff(FOUR_YEARS_S));
    let flexible_staker = network.staker_with_position(gwk(500), flexible());

    // Epoch 0 closes (no stake active yet: the staker share carries).
    let e0 = network.end_and_close_epoch();
    // Epoch 1 closes: both positions active; then the locked staker delegates to operator A.
    let e1 = network.end_and_close_epoch();
    let position = network.position(&locked.pubkey(), 0);
    let delegation = network.delegate_instruction(&position, &operator_a.pubkey());
    network.rt.send_ok(&[delegation], &[&locked]);
    let e2 = network.end_and_close_epoch();
    let records: Vec<_> = [e0, e1, e2]
        .iter()
        .map(|e| network.epoch_record(*e))
        .collect();
    for record in &records {
        assert_eq!(
            record.device_share + record.staker_share + record.treasury_share,
            record.minted
        );
    }

    // The oracles' verified work: device shares split 3:1:1 between A, B and the host
    // (floored; the dust stays in the pool), accumulated per recipient.
    let mut cumulative = [0u64; 3];
    let mut trees = Vec::new();
    for record in &records {
        let share = record.device_share / 5;
        cumulative[0] += 3 * share;
        cumulative[1] += share;
        cumulative[2] += share;
        trees.push(tree_of(&[
            (recipient_a, cumulative[0]),
            (recipient_b, cumulative[1]),
            (host, cumulative[2]),
        ]));
    }

    // Epoch 0: oracles 0 and 1 agree (pending), oracle 2 disagrees (kept, flagged).
    network.vote(0, e0, &trees[0]).unwrap();
    let voted: RootVoted = network
        .vote(1, e0, &trees[0])
        .unwrap()
        .event(&reward_epochs::ID);
    assert!(voted.reached_quorum && !voted.disagrees);
    let epoch0_a = records[0].device_share / 5 * 3;
    let wrong = tree_of(&[(recipient_a, epoch0_a), (recipient_b, 1)]);
    let dissent: RootVoted = network
        .vote(2, e0, &wrong)
        .unwrap()
        .event(&reward_epochs::ID);
    assert!(dissent.disagrees && !dissent.reached_quorum);
    let record = network.epoch_record(e0);
    assert_eq!(
        (record.status, record.votes.len(), record.pending_root),
        (RootStatus::Pending, 3, trees[0].root())
    );
    network.activate(e0).unwrap();

    // A relayer claims recipient B's epoch-0 reward (B holds no SOL).
    let relayer = network.rt.funded_keypair();
    network
        .claim_from(&relayer, &trees[0], &recipient_b)
        .unwrap();
    assert_eq!(
        network.network_balance(&recipient_b),
        records[0].device_share / 5
    );

    // Epochs 1 and 2: different pairs of oracles agree.
    network.vote(1, e1, &trees[1]).unwrap();
    network.vote(2, e1, &trees[1]).unwrap();
    network.activate(e1).unwrap();
    network.vote(0, e2, &trees[2]).unwrap();
    network.vote(2, e2, &trees[2]).unwrap();
    network.activate(e2).unwrap();
    assert_eq!(network.reward_config().active_root, trees[2].root());

    // One claim each covers every epoch; B gets what epochs 1 and 2 added.
    for recipient in [recipient_a, recipient_b, host] {
        network.claim_from(&relayer, &trees[2], &recipient).unwrap();
    }
    assert_eq!(network.network_balance(&recipient_a), cumulative[0]);
    assert_eq!(network.network_balance(&recipient_b), cumulative[1]);
    assert_eq!(network.network_balance(&host), cumulative[2]);
    for recipient in [recipient_a, recipient_b, host] {
        assert!(
            network.rt.account(&recipient).is_none(),
            "recipients never needed SOL"
        );
    }
    // A replay pays nothing.
    assert_error(
        &network.claim_from(&relayer, &trees[2], &recipient_a),
        RewardError::NothingDue,
    );
    assert_eq!(network.network_balance(&recipient_a), cumulative[0]);

    // Stakers: epoch 0's share carried into epoch 1; weights 4,000 : 500.
    let staked_rewards =
        records[0].staker_share + records[1].staker_share + records[2].staker_share;
    network.claim(&locked.pubkey(), 0).unwrap();
    network.claim(&flexible_staker.pubkey(), 0).unwrap();
    let locked_paid = network.network_balance(&locked.pubkey());
    let flexible_paid = network.network_balance(&flexible_staker.pubkey());
    let expected_locked = (records[0].staker_share + records[1].staker_share) * 8 / 9
        + records[2].staker_share * 8 / 9;
    assert!(
        locked_paid <= expected_locked && locked_paid + 3 >= expected_locked,
        "locked {locked_paid} vs {expected_locked}"
    );
    assert!(
        locked_paid + flexible_paid <= staked_rewards
            && locked_paid + flexible_paid + 4 >= staked_rewards
    );

    // Reconciliation.
    let config = network.reward_config();
    let minted: u64 = records.iter().map(|r| r.minted).sum();
    let device_pool: u64 = records.iter().map(|r| r.device_share).sum();
    let paid_to_devices = cumulative.iter().sum::<u64>();
    assert_eq!(config.total_minted, minted);
    assert_eq!(config.device_pool_cumulative, device_pool);
    assert_eq!(config.total_claimed, paid_to_devices);
    assert_eq!(
        network.device_vault_balance(),
        device_pool - paid_to_devices
    );
    assert_eq!(
        network.rt.token_balance(&network.dao_treasury),
        records.iter().map(|r| r.treasury_share).sum::<u64>()
    );
    assert_eq!(
        network.reward_vault_balance(),
        staked_rewards - locked_paid - flexible_paid
    );
    assert_eq!(network.stake_vault_balance(), gwk(1_500));
    let tokenomics = network.config();
    assert_eq!(tokenomics.minted_total, minted);
    let burned_for_credits = network.config().burned_total;
    assert_eq!(
        network.supply(),
        supply_at_start + minted - burned_for_credits
    );
    assert_eq!(
        u128::from(network.supply()),
        u128::from(tokenomics.initial_supply) + u128::from(tokenomics.minted_total)
            - u128::from(tokenomics.burned_total)
    );
    assert_eq!(sum_of_all_balances(&network), u128::from(network.supply()));
}

fn reward_epochs_update(recipient: Pubkey) -> device_registry::UpdateOperatorArgsV0 {
    device_registry::UpdateOperatorArgsV0 {
        reward_recipient: Some(recipient),
        metadata_uri: None,
    }
}
