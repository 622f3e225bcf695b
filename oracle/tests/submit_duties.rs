//! The submit stage's duties beyond its first vote, against a local network (surfpool): the
//! claim relayer (a recipient that closes the token account the relayer created for it costs
//! the relayer that rent once, never again across restarts; below its SOL reserve it relays
//! nothing and says so), and votes that reach a quorum the authority lowered after they were
//! cast (submitted again, so the root goes pending).

mod local_chain;

use std::time::{Duration, Instant};

use anchor_spl::token_2022::spl_token_2022;
use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_merkle::RewardTree;
use groundwork_oracle::submit::{Relayed, State, Step, SubmitRpc, SubmitSettings, Submitter, Vote};
use groundwork_tests::*;
use local_chain::*;

const EPOCH_S: i64 = 6;

fn submitter(rpc: &LocalRpc, oracle: &Keypair, dir: &std::path::Path, reserve: u64) -> Submitter {
    Submitter::new(
        SubmitRpc::new(std::slice::from_ref(&rpc.url)),
        oracle.insecure_clone(),
        dir,
        SubmitSettings {
            priority_fee_floor: 1_000,
            priority_fee_ceiling: 1_000_000,
            relay_reserve_lamports: reserve,
        },
    )
}

/// Votes `tree` for `epoch` (the only oracle of the set: its vote makes the root pending),
/// then activates it.
async fn activate(
    submitter: &Submitter,
    rpc: &LocalRpc,
    epoch: u64,
    tree: &RewardTree,
    total: u64,
) {
    let vote = Vote {
        epoch,
        root: tree.root(),
        cumulative_total: total,
        leaf_count: 1,
        report_digest: [epoch as u8; 32],
    };
    let started = Instant::now();
    loop {
        if let Ok(Step::Now(State::Confirmed { .. })) = submitter.step(&vote).await {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "epoch {epoch}'s vote did not land"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let started = Instant::now();
    while epoch_record(rpc, epoch).status != reward_epochs::state::RootStatus::Active {
        let _ = submitter.activate_if_due(epoch, now_unix()).await;
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "epoch {epoch}'s root was not activated"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until `account` holds `amount` (a relayed claim landed), at most 30 s.
async fn wait_for_tokens(
    tokens_of: &impl Fn(anchor_lang::prelude::Pubkey) -> Option<u64>,
    account: anchor_lang::prelude::Pubkey,
    amount: u64,
) {
    let started = Instant::now();
    while tokens_of(account) != Some(amount) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the relayed claim did not land"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_closing_its_account_costs_the_relayer_rent_once() {
    let genesis = now_unix() + 1;
    let mut network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let oracle = network.oracles[0].insecure_clone();
    network
        .set_oracles(vec![oracle.pubkey()], 1)
        .expect("the authority sets a one-oracle set");
    let payer = network.rt.payer.insecure_clone();
    let token = network.network_token;
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    wait_for_time(&rpc, genesis + 2 * EPOCH_S).await;
    close_epoch(&rpc, &network, &payer, 0);
    close_epoch(&rpc, &network, &payer, 1);
    wait_for_finality(&rpc).await;
    let dir = tempfile::tempdir().unwrap();
    let relayer = submitter(&rpc, &oracle, dir.path(), 0);
    let recipient = Keypair::new();
    let account =
        groundwork_client::reward_epochs::recipient_token_account(&recipient.pubkey(), token);
    let balance = |key: &anchor_lang::prelude::Pubkey| client(&rpc).get_balance(key).unwrap();
    let tokens_of = |account| {
        client(&rpc)
            .get_token_account_balance(&account)
            .map(|amount| amount.amount.parse::<u64>().unwrap())
            .ok()
    };

    // Epoch 0 owes the recipient 1,000: the relayer claims it, creating its token account.
    let tree = tree_of(&[(recipient.pubkey(), 1_000)]);
    activate(&relayer, &rpc, 0, &tree, 1_000).await;
    let before = balance(&oracle.pubkey());
    let (_, proof) = tree.proof_for(&recipient.pubkey().to_bytes()).unwrap();
    assert!(matches!(
        relayer
            .relay_claim(&recipient.pubkey(), 1_000, proof)
            .await
            .unwrap(),
        Relayed::Sent(_)
    ));
    wait_for_tokens(&tokens_of, account, 1_000).await;
    let account_rent = client(&rpc).get_account(&account).unwrap().lamports;
    assert!(before - balance(&oracle.pubkey()) >= account_rent);

    // The recipient empties and closes its token account (its rent goes to itself).
    send(
        &rpc,
        &[
            spl_token_2022::instruction::burn(
                &token.token_program,
                &account,
                &token.mint,
                &recipient.pubkey(),
                &[],
                1_000,
            )
            .unwrap(),
            spl_token_2022::instruction::close_account(
                &token.token_program,
                &account,
                &recipient.pubkey(),
                &recipient.pubkey(),
                &[],
            )
            .unwrap(),
        ],
        &[&payer, &recipient],
    );
    assert_eq!(tokens_of(account), None);

    // Epoch 1 owes it 2,000 in all: the relayer does not pay that account's rent again — not
    // now, and not after a restart on the same files.
    let tree = tree_of(&[(recipient.pubkey(), 2_000)]);
    activate(&relayer, &rpc, 1, &tree, 2_000).await;
    let (_, proof) = tree.proof_for(&recipient.pubkey().to_bytes()).unwrap();
    let before = balance(&oracle.pubkey());
    assert_eq!(
        relayer
            .relay_claim(&recipient.pubkey(), 2_000, proof.clone())
            .await
            .unwrap(),
        Relayed::RecipientClosedItsAccount
    );
    let restarted = submitter(&rpc, &oracle, dir.path(), 0);
    assert_eq!(
        restarted
            .relay_claim(&recipient.pubkey(), 2_000, proof.clone())
            .await
            .unwrap(),
        Relayed::RecipientClosedItsAccount
    );
    assert_eq!(balance(&oracle.pubkey()), before, "nothing was paid");
    assert_eq!(tokens_of(account), None);

    // Below its reserve the relayer relays nothing, and says how much it holds.
    let below = |reserve| {
        let frugal = submitter(&rpc, &oracle, dir.path(), reserve);
        let proof = proof.clone();
        let recipient = recipient.pubkey();
        async move { frugal.relay_claim(&recipient, 2_000, proof).await.unwrap() }
    };
    let Relayed::BelowReserve {
        balance: held,
        reserve,
        claim_cost,
        unsettled,
    } = below(before + 1).await
    else {
        panic!("relayed below the reserve")
    };
    assert_eq!((held, reserve, unsettled), (before, before + 1, 0));
    // The most this claim may cost: the fee and the rent of the token account it would
    // create again.
    let token_account_rent = client(&rpc)
        .get_minimum_balance_for_rent_exemption(170)
        .unwrap();
    assert!(
        claim_cost > token_account_rent && claim_cost < token_account_rent + 20_000,
        "{claim_cost}"
    );
    // Above the reserve but not by the claim's cost: nothing sent either.
    assert!(matches!(
        below(before - claim_cost + 1).await,
        Relayed::BelowReserve { .. }
    ));
    // By the claim's cost: the reserve allows it (and the closed account refuses it).
    assert_eq!(
        below(before - claim_cost).await,
        Relayed::RecipientClosedItsAccount
    );
    assert_eq!(balance(&oracle.pubkey()), before, "nothing was paid");

    // Once the recipient recreates its account, its claims are relayed again.
    send(
        &rpc,
        &[anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            &payer.pubkey(),
            &recipient.pubkey(),
            &token.mint,
            &token.token_program,
        )],
        &[&payer],
    );
    assert!(matches!(
        restarted
            .relay_claim(&recipient.pubkey(), 2_000, proof)
            .await
            .unwrap(),
        Relayed::Sent(_)
    ));
    wait_for_tokens(&tokens_of, account, 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_that_reach_a_lowered_quorum_are_submitted_again_and_the_root_goes_pending() {
    let genesis = now_unix() + 1;
    let network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let oracle = network.oracles[0].insecure_clone();
    let authority = network.authority.insecure_clone();
    let oracles: Vec<anchor_lang::prelude::Pubkey> = network
        .oracles
        .iter()
        .map(|oracle| oracle.pubkey())
        .collect();
    let payer = network.rt.payer.insecure_clone();
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    wait_for_time(&rpc, genesis + EPOCH_S).await;
    close_epoch(&rpc, &network, &payer, 0);
    wait_for_finality(&rpc).await;
    let dir = tempfile::tempdir().unwrap();
    let voter = submitter(&rpc, &oracle, dir.path(), 0);
    let tree = tree_of(&[(Keypair::new().pubkey(), 1_000)]);
    let vote = Vote {
        epoch: 0,
        root: tree.root(),
        cumulative_total: 1_000,
        leaf_count: 1,
        report_digest: [0; 32],
    };
    // One vote of a quorum of two: the epoch keeps voting.
    let started = Instant::now();
    loop {
        if let Ok(Step::Now(State::Confirmed { .. })) = voter.step(&vote).await {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the vote did not land"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let record = epoch_record(&rpc, 0);
    assert_eq!(record.status, reward_epochs::state::RootStatus::Voting);
    assert_eq!(record.votes.len(), 1);

    // The authority lowers the quorum to one: the vote already cast reaches it, and the
    // stage submits it again so the root goes pending.
    send(
        &rpc,
        &[groundwork_client::reward_epochs::set_oracles(
            &authority.pubkey(),
            oracles,
            1,
        )],
        &[&authority],
    );
    wait_for_finality(&rpc).await;
    let started = Instant::now();
    while epoch_record(&rpc, 0).status != reward_epochs::state::RootStatus::Pending {
        assert!(
            matches!(
                voter.step(&vote).await.unwrap(),
                Step::Now(State::Confirmed { .. })
            ),
            "the vote stays confirmed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the root did not go pending"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let record = epoch_record(&rpc, 0);
    assert_eq!(record.pending_root, tree.root());
    assert_eq!(record.votes.len(), 1, "the same vote, not a second one");
}
