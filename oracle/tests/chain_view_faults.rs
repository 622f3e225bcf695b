//! The chain view under RPC faults: two proxies in front of one local endpoint (surfpool)
//! inject them. An endpoint that serves malformed accounts or events is failed over (nothing
//! is lost or skipped while a sound endpoint answers); one that lags is refused by the
//! minimum context slot; when every endpoint is down a poll fails cleanly, the view keeps its
//! state and position, and it goes on when one comes back. The position never moves backwards.

mod local_chain;

use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::chain::EpochTiming;
use groundwork_oracle::chainview::ChainView;
use groundwork_telemetry::Key;
use groundwork_tests::*;
use local_chain::*;

fn key(keypair: &Keypair) -> Key {
    Key(keypair.pubkey().to_bytes())
}

/// Onboards a new device at `cell` through the endpoint and waits until it is finalized.
async fn onboard(rpc: &LocalRpc, operator: &Keypair, cell: u64) -> Keypair {
    let device = Keypair::new();
    send(
        rpc,
        &[onboarding(
            operator.pubkey(),
            operator.pubkey(),
            device.pubkey(),
            HOTSPOT_CLASS,
            None,
            cell,
        )],
        &[operator, &device],
    );
    wait_for_finality(rpc).await;
    device
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_fails_over_never_goes_backwards_and_never_crashes() {
    let mut network = CycleNetwork::launch();
    let operator = network.operator(5 * HOTSPOT_ONBOARDING_FEE);
    let first = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let timing = EpochTiming {
        genesis_unix_s: network.genesis_ts,
        epoch_len_s: network.epoch_len_s,
    };
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    let current_epoch = ((chain_time(&rpc) - timing.genesis_unix_s) / timing.epoch_len_s) as u64;
    let flaky = FaultyProxy::start(&rpc.url).await;
    let spare = FaultyProxy::start(&rpc.url).await;
    let urls = [flaky.url.clone(), spare.url.clone()];
    let dir = tempfile::tempdir().unwrap();

    // The first endpoint garbles every account: the full load fails over, page by page, and
    // skips nothing.
    flaky.set(Fault::Malformed);
    let mut view = ChainView::open(&urls, dir.path(), timing, current_epoch)
        .unwrap()
        .with_unpaged_devices();
    assert!(view.poll().await.unwrap().full_load);
    let load = view.last_load().unwrap().clone();
    assert_eq!(load.skipped, 0, "{load:?}");
    assert!(view.devices()[&key(&first)].location == CELL_A);

    // It garbles every event too: the onboarding is read from the sound endpoint.
    let second = onboard(&rpc, &operator, CELL_B).await;
    let report = view.poll().await.unwrap();
    assert_eq!(report.skipped, 0);
    assert_eq!(view.devices()[&key(&second)].location, CELL_B);
    let mut position = view.position().unwrap().slot;

    // The sound one dies and the other lags behind the view: nothing answers at the view's
    // position, so the poll fails — the state and the position stay.
    spare.set(Fault::Dead);
    flaky.lag_at(position.saturating_sub(5));
    let third = onboard(&rpc, &operator, CELL_A).await;
    let error = view.poll().await.unwrap_err().to_string();
    assert!(error.contains("no RPC endpoint answered"), "{error}");
    assert_eq!(view.position().unwrap().slot, position, "never backwards");
    assert_eq!(view.devices().len(), 2);
    assert!(!view.devices().contains_key(&key(&third)));

    // Every endpoint down: the same.
    flaky.set(Fault::Dead);
    assert!(view.poll().await.is_err());
    assert_eq!(view.position().unwrap().slot, position);

    // One comes back: the view goes on from where it stood and sees what it missed.
    flaky.set(Fault::None);
    let report = view.poll().await.unwrap();
    assert!(report.slot >= position);
    position = report.slot;
    assert_eq!(view.devices()[&key(&third)].location, CELL_A);
    assert_eq!(view.devices().len(), 3);

    // A restart on a lagging endpoint (the other still dead) resumes from the files, refuses the
    // stale answers, and does not move backwards.
    flaky.lag_at(position.saturating_sub(5));
    drop(view);
    let mut view = ChainView::open(&urls, dir.path(), timing, current_epoch).unwrap();
    assert_eq!(view.position().unwrap().slot, position);
    let fourth = onboard(&rpc, &operator, CELL_B).await;
    assert!(view.poll().await.is_err());
    assert_eq!(view.position().unwrap().slot, position);
    spare.set(Fault::None);
    let report = view.poll().await.unwrap();
    assert!(!report.full_load);
    assert!(report.slot >= position);
    assert_eq!(view.devices()[&key(&fourth)].location, CELL_B);
}
