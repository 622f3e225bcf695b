//! The chain view's device follower against a real JSON-RPC endpoint (surfpool, offline):
//! a network built by the real programs is served as accounts; then onboardings, suspensions
//! and deactivations are sent through the endpoint as transactions, and the follower — behind
//! a dead first endpoint — sees each from the finalized history, without reloading every
//! device, and resumes from its file after a restart.

use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID};
use groundwork_oracle::chainview::DeviceFollower;
use groundwork_telemetry::Key;
use groundwork_tests::*;
use solana_account::{Account, ReadableAccount};

/// The accounts a network needs to take transactions: wallets, token accounts and mints, and
/// the four programs' state (not the programs or sysvars the endpoint brings itself).
fn snapshot(network: &CycleNetwork) -> Vec<(Pubkey, Account)> {
    let owners = [
        anchor_lang::solana_program::system_program::ID,
        TOKEN_PROGRAM_ID,
        TOKEN_2022_PROGRAM_ID,
        tokenomics::ID,
        device_registry::ID,
        staking::ID,
        reward_epochs::ID,
    ];
    network
        .rt
        .svm
        .accounts_db()
        .inner
        .iter()
        .filter(|(_, account)| !account.executable() && owners.contains(account.owner()))
        .map(|(address, account)| (*address, Account::from(account.clone())))
        .collect()
}

fn send(
    rpc: &LocalRpc,
    instruction: anchor_lang::solana_program::instruction::Instruction,
    signers: &[&Keypair],
) {
    let client = solana_rpc_client::rpc_client::RpcClient::new_with_commitment(
        rpc.url.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let transaction = solana_transaction::Transaction::new_signed_with_payer(
        &[instruction],
        Some(&signers[0].pubkey()),
        signers,
        client.get_latest_blockhash().unwrap(),
    );
    client
        .send_and_confirm_transaction(&transaction)
        .expect("the transaction lands");
}

/// Polls until `done` holds for the view; returns how long it took.
async fn until(
    follower: &mut DeviceFollower,
    what: &str,
    done: impl Fn(&std::collections::HashMap<Key, groundwork_oracle::core::devices::DeviceInfo>) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let report = follower.poll().await.expect("poll");
        assert!(!report.full_load, "{what}: a poll reloaded every device");
        if done(&follower.view().unwrap().devices) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{what}: not seen within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_set_follows_finalized_registry_events_and_resumes_after_a_restart() {
    let mut network = CycleNetwork::launch();
    let operator = network.operator(3 * HOTSPOT_ONBOARDING_FEE);
    let first = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let authority = network.authority.insecure_clone();
    let rpc = LocalRpc::start(snapshot(&network)).expect("local RPC");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("devices.view");
    let urls = ["http://127.0.0.1:1".to_string(), rpc.url.clone()];

    // First start: one full load, pinned to a context slot.
    let mut follower = DeviceFollower::open(&urls, &file).unwrap();
    let report = follower.poll().await.unwrap();
    assert!(report.full_load);
    let key = |keypair: &Keypair| Key(keypair.pubkey().to_bytes());
    let devices = &follower.view().unwrap().devices;
    assert_eq!(devices.len(), 1);
    assert!(!devices[&key(&first)].suspended);

    // An onboarding through the endpoint is seen from the finalized history.
    let second = Keypair::new();
    send(
        &rpc,
        onboarding(
            operator.pubkey(),
            operator.pubkey(),
            second.pubkey(),
            HOTSPOT_CLASS,
            None,
            CELL_B,
        ),
        &[&operator, &second],
    );
    let onboarded = until(&mut follower, "onboarding", |devices| {
        devices
            .get(&key(&second))
            .is_some_and(|info| info.location == CELL_B)
    })
    .await;
    // A suspension, then a deactivation.
    send(
        &rpc,
        groundwork_client::device_registry::suspend_device(&authority.pubkey(), &first.pubkey(), 4),
        &[&authority],
    );
    let suspended = until(&mut follower, "suspension", |devices| {
        devices.get(&key(&first)).is_some_and(|info| info.suspended)
    })
    .await;
    send(
        &rpc,
        groundwork_client::device_registry::deactivate_device(
            &operator.pubkey(),
            &second.pubkey(),
            HOTSPOT_CLASS,
        ),
        &[&operator],
    );
    until(&mut follower, "deactivation", |devices| {
        !devices.contains_key(&key(&second))
    })
    .await;
    eprintln!("seen after: onboarding {onboarded:?}, suspension {suspended:?}");

    // A restart resumes from the file: no full load, the same view, and later events apply.
    let before = follower.view().unwrap().clone();
    drop(follower);
    let mut follower = DeviceFollower::open(&urls, &file).unwrap();
    assert_eq!(follower.view(), Some(&before));
    let report = follower.poll().await.unwrap();
    assert!(!report.full_load);
    assert!(report.slot >= before.position.slot, "never backwards");
    assert!(report.finalized >= report.slot);
    send(
        &rpc,
        groundwork_client::device_registry::reinstate_device(&authority.pubkey(), &first.pubkey()),
        &[&authority],
    );
    until(&mut follower, "reinstatement after a restart", |devices| {
        devices
            .get(&key(&first))
            .is_some_and(|info| !info.suspended)
    })
    .await;
}
