//! The chain view against a real JSON-RPC endpoint (surfpool, offline): a network built by the
//! real programs is served as accounts, then transactions are sent through the endpoint.
//!
//! - The device set follows finalized history — behind a dead first endpoint — without
//!   reloading every device, and resumes from its files after a restart.
//! - An epoch's snapshot is the state as of its end: changes during the epoch are in it at
//!   their time, changes after it are not, and views started before and after the changes
//!   (one going back at its first start, one going back on demand) produce the same bytes.

mod local_chain;

use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::chain::EpochTiming;
use groundwork_oracle::chainview::snapshot::{LocationSpan, PoolEntry, Standing, StandingSpan};
use groundwork_oracle::chainview::ChainView;
use groundwork_telemetry::Key;
use groundwork_tests::*;
use local_chain::*;
use solana_commitment_config::CommitmentConfig;

/// Polls until `done` holds for the view; returns how long it took.
async fn until(view: &mut ChainView, what: &str, done: impl Fn(&ChainView) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let report = view.poll().await.expect("poll");
        assert!(!report.full_load, "{what}: a poll reloaded the chain");
        if done(view) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{what}: not seen within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn key(keypair: &Keypair) -> Key {
    Key(keypair.pubkey().to_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_set_follows_finalized_events_and_resumes_after_a_restart() {
    let mut network = CycleNetwork::launch();
    let operator = network.operator(3 * HOTSPOT_ONBOARDING_FEE);
    let first = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let authority = network.authority.insecure_clone();
    let timing = EpochTiming {
        genesis_unix_s: network.genesis_ts,
        epoch_len_s: network.epoch_len_s,
    };
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    let dir = tempfile::tempdir().unwrap();
    let urls = ["http://127.0.0.1:1".to_string(), rpc.url.clone()];
    let current_epoch = ((chain_time(&rpc) - timing.genesis_unix_s) / timing.epoch_len_s) as u64;

    // First start: one full load, in pages at rising context slots.
    let mut view = ChainView::open(&urls, dir.path(), timing, current_epoch).unwrap();
    let report = view.poll().await.unwrap();
    assert!(report.full_load);
    let load = view.last_load().unwrap().clone();
    assert!(load.last_slot >= load.first_slot);
    let devices = view.devices();
    assert_eq!(devices.len(), 1);
    assert!(!devices[&key(&first)].suspended);

    // An onboarding through the endpoint is seen from the finalized history.
    let second = Keypair::new();
    send(
        &rpc,
        &[onboarding(
            operator.pubkey(),
            operator.pubkey(),
            second.pubkey(),
            HOTSPOT_CLASS,
            None,
            CELL_B,
        )],
        &[&operator, &second],
    );
    let onboarded = until(&mut view, "onboarding", |view| {
        view.devices()
            .get(&key(&second))
            .is_some_and(|info| info.location == CELL_B)
    })
    .await;
    // A suspension, then a deactivation.
    send(
        &rpc,
        &[groundwork_client::device_registry::suspend_device(
            &authority.pubkey(),
            &first.pubkey(),
            4,
        )],
        &[&authority],
    );
    let suspended = until(&mut view, "suspension", |view| {
        view.devices()
            .get(&key(&first))
            .is_some_and(|info| info.suspended)
    })
    .await;
    send(
        &rpc,
        &[groundwork_client::device_registry::deactivate_device(
            &operator.pubkey(),
            &second.pubkey(),
            HOTSPOT_CLASS,
        )],
        &[&operator],
    );
    until(&mut view, "deactivation", |view| {
        !view.devices().contains_key(&key(&second))
    })
    .await;
    eprintln!("seen after: onboarding {onboarded:?}, suspension {suspended:?}");

    // A restart resumes from the files: no full load, the same state, and later events apply.
    let before = view.current().unwrap().clone();
    let position = view.position().unwrap().clone();
    drop(view);
    let mut view = ChainView::open(&urls, dir.path(), timing, current_epoch).unwrap();
    assert_eq!(view.current(), Some(&before));
    assert_eq!(view.position(), Some(&position));
    let report = view.poll().await.unwrap();
    assert!(!report.full_load);
    assert!(report.slot >= position.slot, "never backwards");
    assert!(report.finalized >= report.slot);
    send(
        &rpc,
        &[groundwork_client::device_registry::reinstate_device(
            &authority.pubkey(),
            &first.pubkey(),
        )],
        &[&authority],
    );
    until(&mut view, "reinstatement after a restart", |view| {
        view.devices()
            .get(&key(&first))
            .is_some_and(|info| !info.suspended)
    })
    .await;
}

/// Long enough for the setup (the oracle binary's start, a view's full load) to fit in
/// epoch 0 and the ten changes "during" epoch 1 to fit in it on a slow, busy machine.
const EPOCH_S: i64 = 30;

/// What the scenario changes, during epoch 1 and after its end.
struct People {
    operator: Keypair,
    d1: Keypair,
    d2: Keypair,
    d3: Keypair,
    dapp: Keypair,
    buyer: Keypair,
    stakers: [Keypair; 3],
    recipients: [Pubkey; 3],
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epochs_snapshot_is_its_state_at_its_end_whoever_makes_it_and_whenever() {
    // Epoch 0 starts in 2 s of wall time; the runtime closes it ahead (its clock is ours to
    // move), so positions are active; the endpoint then serves epoch 1 in real time.
    let now = now_unix();
    let genesis = now + 2;
    let mut network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    // Credits for three onboardings (d3 during epoch 1) and two location changes.
    let operator = network.operator(3 * HOTSPOT_ONBOARDING_FEE + 2 * HOTSPOT_LOCATION_FEE);
    let d1 = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let d2 = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let dapp = network.wallet_with_credits(2_000);
    let buyer = network.holder(20 * GWK);
    let stake = 1_000 * GWK;
    let stakers = [
        network.staker_with_position(stake, flexible()),
        network.staker_with_position(stake, flexible()),
        network.staker_with_position(stake, flexible()),
    ];
    network.rt.warp_to_epoch(genesis, EPOCH_S, 1);
    network.close_epoch(0).unwrap();
    network
        .delegate(&stakers[0], 0, &operator.pubkey())
        .unwrap();
    let people = People {
        operator,
        d1,
        d2,
        d3: Keypair::new(),
        dapp,
        buyer,
        stakers,
        recipients: [
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        ],
    };
    let positions: Vec<_> = people
        .stakers
        .iter()
        .map(|staker| network.position(&staker.pubkey(), 0))
        .collect();
    let authority = network.authority.insecure_clone();
    let token = network.network_token;
    let payer = network.rt.payer.insecure_clone();
    let timing = EpochTiming {
        genesis_unix_s: genesis,
        epoch_len_s: EPOCH_S,
    };
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    let urls = ["http://127.0.0.1:1".to_string(), rpc.url.clone()];
    let epoch_1 = genesis + EPOCH_S;
    let epoch_2 = genesis + 2 * EPOCH_S;

    // The oracle binary starts too, before any change: its chain view makes the snapshot of
    // every epoch closed on chain and serves it.
    let oracle_dir = tempfile::tempdir().unwrap();
    let oracle = OracleProcess::start_sealing_after(
        &rpc.url,
        &oracle_dir.path().join("data"),
        "",
        "1s",
        "2s",
    );

    // View A starts in epoch 0, before any change, and follows.
    let dir_a = tempfile::tempdir().unwrap();
    let mut view_a = ChainView::open(&urls, dir_a.path(), timing, 1).unwrap();
    assert!(view_a.poll().await.unwrap().full_load);
    assert!(
        chain_time(&rpc) < epoch_1,
        "the setup outlasted epoch 0: the scenario needs its changes inside epoch 1"
    );

    use groundwork_client::device_registry as registry;
    use groundwork_client::staking as staking_client;
    use groundwork_client::tokenomics as tokenomics_client;
    let purchase = |amount: u64| {
        tokenomics_client::burn_for_credits(
            &people.buyer.pubkey(),
            &people.buyer.pubkey(),
            token,
            None,
            tokenomics::BurnForCreditsArgsV0 {
                amount,
                min_credits_out: 0,
            },
        )
    };
    let class_weight = |weight: u16| {
        registry::update_device_class(
            &authority.pubkey(),
            HOTSPOT_CLASS,
            device_registry::DeviceClassParams {
                reward_weight_bps: weight,
                ..hotspot_class()
            },
        )
    };
    let operator_key = people.operator.pubkey();

    // During epoch 1: every kind of change.
    wait_for_time(&rpc, epoch_1).await;
    let during = [
        (
            vec![registry::assert_location(
                &operator_key,
                &operator_key,
                &people.d1.pubkey(),
                HOTSPOT_CLASS,
                CELL_B,
            )],
            vec![&people.operator],
        ),
        (
            vec![registry::set_reward_recipient(
                &operator_key,
                &people.d1.pubkey(),
                Some(people.recipients[0]),
            )],
            vec![&people.operator],
        ),
        (
            vec![registry::suspend_device(
                &authority.pubkey(),
                &people.d2.pubkey(),
                5,
            )],
            vec![&authority],
        ),
        (
            vec![registry::pay_for_service(
                &people.dapp.pubkey(),
                &people.d1.pubkey(),
                700,
            )],
            vec![&people.dapp],
        ),
        (
            vec![onboarding(
                operator_key,
                operator_key,
                people.d3.pubkey(),
                HOTSPOT_CLASS,
                None,
                CELL_B,
            )],
            vec![&people.operator, &people.d3],
        ),
        (
            // Made in epoch 1: it earns from epoch 2.
            vec![staking_client::delegate(&positions[1], &operator_key, 2)],
            vec![&people.stakers[1]],
        ),
        // A commission change during epoch 1 counts from epoch 2: epoch 1 keeps the maximum.
        (
            vec![staking_client::set_commission(&operator_key, 1_200)],
            vec![&people.operator],
        ),
        (
            vec![staking_client::slash(
                &authority.pubkey(),
                &operator_key,
                token,
                1_000,
                9,
            )],
            vec![&authority],
        ),
        (vec![class_weight(7_000)], vec![&authority]),
        (vec![purchase(3 * GWK)], vec![&people.buyer]),
    ];
    for (instructions, signers) in &during {
        send(&rpc, instructions, signers);
    }
    assert!(
        chain_time(&rpc) < epoch_2,
        "epoch 1's changes outlasted it: the scenario needs a longer epoch here"
    );

    // After its end: close it, then change everything again.
    wait_for_time(&rpc, epoch_2).await;
    close_epoch(&rpc, &network, &payer, 1);
    let after = [
        (
            vec![registry::assert_location(
                &operator_key,
                &operator_key,
                &people.d1.pubkey(),
                HOTSPOT_CLASS,
                CELL_A,
            )],
            vec![&people.operator],
        ),
        (
            vec![registry::set_reward_recipient(
                &operator_key,
                &people.d1.pubkey(),
                Some(people.recipients[1]),
            )],
            vec![&people.operator],
        ),
        (
            vec![registry::update_operator(
                &operator_key,
                device_registry::UpdateOperatorArgsV0 {
                    reward_recipient: Some(people.recipients[2]),
                    metadata_uri: None,
                },
            )],
            vec![&people.operator],
        ),
        (
            vec![registry::pay_for_service(
                &people.dapp.pubkey(),
                &people.d1.pubkey(),
                300,
            )],
            vec![&people.dapp],
        ),
        (
            vec![registry::suspend_device(
                &authority.pubkey(),
                &people.d1.pubkey(),
                6,
            )],
            vec![&authority],
        ),
        (
            vec![registry::deactivate_device(
                &operator_key,
                &people.d3.pubkey(),
                HOTSPOT_CLASS,
            )],
            vec![&people.operator],
        ),
        (
            // Made in epoch 2: it earns from epoch 3.
            vec![staking_client::delegate(&positions[2], &operator_key, 3)],
            vec![&people.stakers[2]],
        ),
        (
            vec![staking_client::set_commission(&operator_key, 300)],
            vec![&people.operator],
        ),
        (
            vec![staking_client::slash(
                &authority.pubkey(),
                &operator_key,
                token,
                2_000,
                9,
            )],
            vec![&authority],
        ),
        (vec![class_weight(5_000)], vec![&authority]),
        (vec![purchase(5 * GWK)], vec![&people.buyer]),
    ];
    for (instructions, signers) in &after {
        send(&rpc, instructions, signers);
    }
    wait_for_finality(&rpc).await;

    // View A has followed everything, the changes after the end included.
    let target = client(&rpc)
        .get_slot_with_commitment(CommitmentConfig::finalized())
        .unwrap();
    until(&mut view_a, "the changes after epoch 1", |view| {
        view.position()
            .is_some_and(|position| position.slot >= target)
    })
    .await;
    assert!(view_a.closed_epochs().contains(&1));
    assert_eq!(
        view_a.snapshot(2).await.unwrap(),
        None,
        "epoch 2 is not closed"
    );
    let from_a = view_a
        .snapshot(1)
        .await
        .unwrap()
        .expect("epoch 1 is closed");
    assert_eq!(
        view_a.base_epoch(),
        Some(2),
        "the base moved past the snapshot"
    );

    // What epoch 1 looked like at its end.
    assert_eq!(from_a.epoch, 1);
    assert_eq!((from_a.start_ts, from_a.end_ts), (epoch_1, epoch_2));
    assert!(from_a.params.device_share > 0);
    assert_eq!(from_a.params.devices_bps, 7_000);
    assert!(from_a.params.closed_at >= epoch_2);
    let [price] = from_a.credit_prices[..] else {
        panic!("one purchase in epoch 1: {:?}", from_a.credit_prices)
    };
    assert_eq!(price.network_tokens_burned, 3 * GWK);
    assert!((epoch_1..epoch_2).contains(&price.purchased_at));
    // The price the program used, exactly: it bought the credits minted (floored).
    let exact = price.exact.expect("the event carries the price");
    let (tokens, per_credits) = price.tokens_per_credit().unwrap();
    assert_eq!(
        u128::from(price.network_tokens_burned) * per_credits / tokens,
        u128::from(price.credits_minted)
    );
    assert!(exact.price > 0);
    let hotspot = from_a
        .classes
        .iter()
        .find(|class| class.class_id == HOTSPOT_CLASS)
        .unwrap();
    assert_eq!(hotspot.reward_weight_bps, 7_000);
    let operator_entry = from_a
        .operators
        .iter()
        .find(|entry| entry.operator == operator_key)
        .unwrap();
    assert_eq!(operator_entry.reward_recipient, Some(operator_key));
    // Staker 0's stake was delegated all epoch, less the 10% slashed during it; staker 1's
    // delegation during the epoch and everything after its end do not count.
    assert_eq!(operator_entry.active_stake, stake - stake / 10);
    // Its pool's commission as of the epoch's start: the maximum it was created with.
    assert_eq!(
        operator_entry.pool,
        Some(PoolEntry {
            rewards_account: staking_client::pool_rewards_address(&operator_key),
            commission_bps: staking::StakingParams::RECOMMENDED.max_commission_bps,
        })
    );
    // Now: epoch 1's change in force, epoch 2's waiting for epoch 3.
    let terms = view_a.current().unwrap().pool_commissions[&operator_key];
    assert_eq!(terms.commission_for(2), 1_200);
    assert_eq!(terms.commission_for(3), 300);
    let device = |keypair: &Keypair| {
        from_a
            .devices
            .iter()
            .find(|entry| entry.device == keypair.pubkey())
            .unwrap_or_else(|| panic!("device {} in the snapshot", keypair.pubkey()))
    };
    let d1 = device(&people.d1);
    assert_eq!(d1.reward_recipient, Some(people.recipients[0]));
    assert_eq!(d1.credits_paid, 700);
    assert_eq!(
        d1.standing,
        [StandingSpan {
            from_ts: epoch_1,
            standing: Standing::Active
        }]
    );
    assert_eq!(d1.locations.len(), 2);
    assert_eq!(
        d1.locations[0],
        LocationSpan {
            from_ts: epoch_1,
            cell: CELL_A
        }
    );
    assert_eq!(d1.locations[1].cell, CELL_B);
    assert!((epoch_1..epoch_2).contains(&d1.locations[1].from_ts));
    let d2 = device(&people.d2);
    assert_eq!(d2.credits_paid, 0);
    assert_eq!(d2.standing.len(), 2);
    assert_eq!(d2.standing[1].standing, Standing::Suspended { reason: 5 });
    assert!((epoch_1..epoch_2).contains(&d2.standing[1].from_ts));
    let d3 = device(&people.d3);
    assert_eq!(d3.standing[0].standing, Standing::Absent);
    assert_eq!(d3.standing[1].standing, Standing::Active);
    assert_eq!(d3.locations[0].cell, CELL_B);
    assert_eq!(from_a.devices.len(), 3);

    // View B starts now, after all of it, and goes back to epoch 1 at its first start; view C
    // starts at epoch 2 and goes back when asked for epoch 1. Same bytes, same digest.
    let dir_b = tempfile::tempdir().unwrap();
    let mut view_b = ChainView::open(&urls, dir_b.path(), timing, 1).unwrap();
    assert!(view_b.poll().await.unwrap().full_load);
    let from_b = view_b
        .snapshot(1)
        .await
        .unwrap()
        .expect("epoch 1 is closed");
    assert_eq!(from_b.encode(), from_a.encode());
    let dir_c = tempfile::tempdir().unwrap();
    let mut view_c = ChainView::open(&urls, dir_c.path(), timing, 2).unwrap();
    assert!(view_c.poll().await.unwrap().full_load);
    assert_eq!(view_c.base_epoch(), Some(2));
    let from_c = view_c
        .snapshot(1)
        .await
        .unwrap()
        .expect("epoch 1 is closed");
    assert_eq!(from_c.digest(), from_a.digest());
    // The current state of all three agrees too, and a restart serves the stored snapshot.
    assert_eq!(view_b.current(), view_a.current());
    assert_eq!(view_c.current(), view_a.current());
    drop(view_c);
    let view_c = ChainView::open(&urls, dir_c.path(), timing, 2).unwrap();
    assert_eq!(view_c.stored_snapshot(1).unwrap().as_ref(), Some(&from_a));

    // The oracle made the same snapshot and serves it: a summary with the digest, and the
    // canonical bytes.
    let http = reqwest::Client::new();
    let url = format!("{}/v1/epochs/1/chain", oracle.url);
    let started = Instant::now();
    let summary: serde_json::Value = loop {
        let reply = http.get(&url).send().await.unwrap();
        if reply.status() == 200 {
            break reply.json().await.unwrap();
        }
        assert_eq!(reply.status(), 404, "before it is made");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the oracle made no snapshot"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(summary["digest"], from_a.digest_hex());
    assert_eq!(summary["devices"], 3);
    assert_eq!(summary["devices_suspended_during_epoch"], 1);
    assert_eq!(summary["credits_paid"], "700");
    let bytes = http
        .get(&url)
        .header("accept", "application/octet-stream")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), from_a.encode().as_slice());
    let health: serde_json::Value = http
        .get(format!("{}/healthz", oracle.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["chain_view"]["newest_snapshot_epoch"], 1, "{health}");
    let missing = http
        .get(format!("{}/v1/epochs/9/chain", oracle.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let error: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(error["error"], "snapshot_not_made");

    // Its verify stage computed epoch 1 over that snapshot and its sealed telemetry (none was
    // sent): nothing earned, the whole pool carried as dust, the suspended device zeroed
    // with its reason. Epoch 0 closed before the oracle started and no root was ever active:
    // its device pool is carried in whole.
    let url = format!("{}/v1/epochs/1/rewards", oracle.url);
    let started = Instant::now();
    let verified: serde_json::Value = loop {
        let reply = http.get(&url).send().await.unwrap();
        if reply.status() == 200 {
            break reply.json().await.unwrap();
        }
        assert_eq!(reply.status(), 404, "before it is verified");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the oracle verified nothing"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        verified["inputs"]["chain_snapshot_digest"],
        from_a.digest_hex()
    );
    assert_eq!(verified["devices"]["total"], 3);
    assert_eq!(verified["devices"]["zeroed_by_reason"]["suspended"], 1);
    assert_eq!(verified["pool"], from_a.params.device_pool_cumulative);
    assert_eq!(
        verified["carried_dust_in"],
        from_a.params.device_pool_cumulative - from_a.params.device_share
    );
    assert!(verified["carried_dust_in"].as_u64().unwrap() > 0);
    assert_eq!(verified["dust"], verified["pool"]);
    assert_eq!(verified["paid"], 0);

    // The suspended device's row says why, in numbers and in words.
    let report: serde_json::Value = http
        .get(format!(
            "{}/v1/devices/{}/rewards",
            oracle.url,
            people.d2.pubkey()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = &report["epochs"][0];
    assert_eq!(row["epoch"], 1, "{report}");
    assert_eq!(row["fraud"], serde_json::json!(["suspended"]));
    assert_eq!(row["amount"], 0);
    assert!(row["explanation"]
        .as_str()
        .unwrap()
        .starts_with("earned nothing: zeroed for suspended"));

    // No root is active on chain yet: a recipient's proof is not served, with the reason.
    let reply = http
        .get(format!(
            "{}/v1/rewards/{}",
            oracle.url, people.recipients[0]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);
    let refusal: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(refusal["error"], "no_active_root", "{refusal}");
    let reply = http
        .get(format!("{}/v1/rewards/not-a-key", oracle.url))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    // Epoch 2's snapshot carries the commission in force at its start: the change made during
    // epoch 1 (1,200), not the one made during epoch 2 (300, from epoch 3).
    let epoch_3 = genesis + 3 * EPOCH_S;
    wait_for_time(&rpc, epoch_3).await;
    close_epoch(&rpc, &network, &payer, 2);
    wait_for_finality(&rpc).await;
    until(&mut view_a, "epoch 2's close", |view| {
        view.closed_epochs().contains(&2)
    })
    .await;
    let epoch_2_snapshot = view_a
        .snapshot(2)
        .await
        .unwrap()
        .expect("epoch 2 is closed");
    let pool_in_epoch_2 = epoch_2_snapshot
        .operators
        .iter()
        .find(|entry| entry.operator == operator_key)
        .and_then(|entry| entry.pool);
    assert_eq!(
        pool_in_epoch_2,
        Some(PoolEntry {
            rewards_account: staking_client::pool_rewards_address(&operator_key),
            commission_bps: 1_200,
        })
    );
}
