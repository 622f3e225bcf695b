//! The claim relayer against a local network (surfpool): a recipient that closes the token
//! account the relayer created for it costs the relayer that rent once, never again (across
//! restarts), and below its SOL reserve the relayer relays nothing and says so.

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
    let started = Instant::now();
    while tokens_of(account) != Some(1_000) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the relayed claim did not land"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
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
    let frugal = submitter(&rpc, &oracle, dir.path(), before + 1);
    assert_eq!(
        frugal
            .relay_claim(&recipient.pubkey(), 2_000, proof.clone())
            .await
            .unwrap(),
        Relayed::BelowReserve {
            balance: before,
            reserve: before + 1
        }
    );

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
    let started = Instant::now();
    while tokens_of(account) != Some(1_000) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the relayed claim did not land"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
