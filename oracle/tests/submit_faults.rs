//! The submit stage against RPC faults, on a local network (surfpool) behind two
//! fault-injecting proxies: sends that are taken but lost (the blockhash expires unseen: one
//! re-signed vote at a doubled fee, not two votes), a dead endpoint (the second takes over),
//! one that errors, one that lags behind the slots already read (its stale answers refused),
//! and slow answers. Every epoch gets exactly one vote of the oracle.

mod local_chain;

use std::time::{Duration, Instant};

use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::submit::{State, Step, SubmitRpc, SubmitSettings, Submitter, Vote};
use groundwork_tests::*;
use local_chain::*;
use solana_commitment_config::CommitmentConfig;

const EPOCH_S: i64 = 8;

/// A submit stage over `endpoints` (in order) voting with `oracle`, its files in `dir`.
fn stage(
    endpoints: &[&FaultyProxy],
    oracle: &groundwork_harness::solana_keypair::Keypair,
    dir: &std::path::Path,
) -> Submitter {
    let urls: Vec<String> = endpoints.iter().map(|proxy| proxy.url.clone()).collect();
    Submitter::new(
        SubmitRpc::new(&urls),
        oracle.insecure_clone(),
        dir,
        SubmitSettings {
            priority_fee_floor: 1_000,
            priority_fee_ceiling: 1_000_000,
            relay_reserve_lamports: 0,
        },
    )
}

/// A vote for `epoch` paying `amount` to one recipient.
fn vote_of(epoch: u64, amount: u64) -> Vote {
    let tree = tree_of(&[(anchor_lang::prelude::Pubkey::new_unique(), amount)]);
    Vote {
        epoch,
        root: tree.root(),
        cumulative_total: amount,
        leaf_count: 1,
        report_digest: [7; 32],
    }
}

/// Steps `vote` every 500 ms until its state is final; the final state. A failed step is
/// retried as the stage would, but at most `max_failed_steps` may fail: the faults each case
/// injects are meant to be carried by the other endpoint, not to fail the stage.
async fn until_final(
    submitter: &Submitter,
    vote: &Vote,
    limit: Duration,
    max_failed_steps: usize,
) -> State {
    let started = Instant::now();
    let mut failures = Vec::new();
    loop {
        match submitter.step(vote).await {
            Ok(Step::Now(state)) if state.is_final() => return state,
            Ok(_) => {}
            Err(error) => failures.push(error.to_string()),
        }
        assert!(
            failures.len() <= max_failed_steps,
            "more than {max_failed_steps} steps failed: {failures:?}"
        );
        assert!(
            started.elapsed() < limit,
            "the vote was not settled in time (failed steps: {failures:?})"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_vote_per_epoch_through_lost_sends_dead_lagging_and_slow_endpoints() {
    let now = now_unix();
    let genesis = now + 1;
    let network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let payer = network.rt.payer.insecure_clone();
    let authority = network.authority.insecure_clone();
    let oracle = network.oracles[0].insecure_clone();
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    let close = |epoch: u64| close_epoch(&rpc, &network, &payer, epoch);
    wait_for_time(&rpc, genesis + 2 * EPOCH_S).await;
    close(0);
    close(1);
    wait_for_finality(&rpc).await;
    let (first, second) = (
        FaultyProxy::start(&rpc.url).await,
        FaultyProxy::start(&rpc.url).await,
    );
    let dir = tempfile::tempdir().unwrap();
    let submitter = stage(&[&first, &second], &oracle, dir.path());

    // Epoch 0: both endpoints take the vote and lose it. It stays sent until its blockhash
    // expires unseen; then it is signed once more, at twice the fee, and lands.
    first.set(Fault::DropSends);
    second.set(Fault::DropSends);
    let vote = vote_of(0, 1_000);
    let vote_0 = vote.clone();
    assert!(matches!(
        submitter.step(&vote).await.unwrap(),
        Step::Now(State::Sent)
    ));
    let lost = submitter.submissions().load(0).unwrap().unwrap().attempts[0].clone();
    // Until the blockhash expires, the same bytes are sent again (never a second signature).
    for _ in 0..3 {
        submitter.step(&vote).await.unwrap();
        let attempts = submitter.submissions().load(0).unwrap().unwrap().attempts;
        assert_eq!(attempts, std::slice::from_ref(&lost));
    }
    // Once the blockhash has expired with the vote nowhere, it is signed again (the new
    // attempt on disk before it goes out) — and that one gets through.
    let started = Instant::now();
    while submitter
        .submissions()
        .load(0)
        .unwrap()
        .unwrap()
        .attempts
        .len()
        < 2
    {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the lost vote's blockhash never expired"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        submitter.step(&vote).await.unwrap();
    }
    // It was signed again only once the lost attempt could never land: the finalized block
    // height is past the last one its blockhash was valid for.
    let finalized_height = client(&rpc)
        .get_block_height_with_commitment(CommitmentConfig::finalized())
        .unwrap();
    assert!(
        finalized_height > lost.last_valid_block_height,
        "re-signed at finalized height {finalized_height}, while the lost attempt was valid through {}",
        lost.last_valid_block_height
    );
    first.set(Fault::None);
    second.set(Fault::None);
    let state = until_final(&submitter, &vote, Duration::from_secs(120), 2).await;
    assert!(matches!(state, State::Confirmed { .. }), "{state:?}");
    let submission = submitter.submissions().load(0).unwrap().unwrap();
    assert_eq!(
        submission.attempts.len(),
        2,
        "one re-signed vote: {submission:?}"
    );
    assert_eq!(
        submission.attempts[1].priority_fee_micro_lamports,
        2 * lost.priority_fee_micro_lamports
    );
    assert_ne!(submission.attempts[1].signature, lost.signature);
    let votes: Vec<_> = epoch_record(&rpc, 0)
        .votes
        .into_iter()
        .filter(|cast| cast.oracle == oracle.pubkey())
        .collect();
    assert_eq!(votes.len(), 1);
    assert_eq!(votes[0].root, vote.root);

    // Epoch 1: the first endpoint is dead, then erroring, the second slow: the second
    // carries every read and the send.
    first.set(Fault::Dead);
    second.delay(Duration::from_millis(300));
    let vote = vote_of(1, 2_000);
    let state = until_final(&submitter, &vote, Duration::from_secs(120), 2).await;
    assert!(matches!(state, State::Confirmed { .. }), "{state:?}");
    first.set(Fault::Errors);
    // A restart (a new stage on the same files) finds the epoch settled and sends nothing.
    let restarted = stage(&[&first, &second], &oracle, dir.path());
    assert!(matches!(
        restarted.step(&vote).await.unwrap(),
        Step::Now(State::Confirmed { .. })
    ));
    assert_eq!(
        epoch_record(&rpc, 1)
            .votes
            .iter()
            .filter(|cast| cast.oracle == oracle.pubkey())
            .count(),
        1
    );

    // A lagging endpoint (standing at a slot before the reads already made) cannot answer
    // for the chain: its stale answers are refused and the other endpoint's taken. The
    // epoch-1 submission lost, the vote is found on chain, nothing is signed again.
    second.delay(Duration::ZERO);
    first.lag_at(1);
    std::fs::remove_file(dir.path().join("1.json")).unwrap();
    let lagging_first = stage(&[&first, &second], &oracle, dir.path());
    // The first read sets the minimum context slot (the reward config, via the healthy
    // endpoint when the lagging one refuses) — then the epoch's state.
    lagging_first.reward_config().await.unwrap();
    let state = until_final(&lagging_first, &vote, Duration::from_secs(60), 2).await;
    assert_eq!(
        state,
        State::Confirmed {
            signature: None,
            how: "this oracle's vote is in the epoch record".into(),
        }
    );
    assert!(lagging_first
        .submissions()
        .load(1)
        .unwrap()
        .unwrap()
        .attempts
        .is_empty());

    // The authority vetoes epoch 0's root while it is voting: the votes are cleared, and a
    // veto is final for that root (SPEC 4.4). The stage sees the veto and never votes that
    // root again — it says why and how to recompute.
    first.set(Fault::None);
    send(
        &rpc,
        &[groundwork_client::reward_epochs::veto_root(
            &authority.pubkey(),
            0,
        )],
        &[&authority],
    );
    wait_for_finality(&rpc).await;
    let vote = vote_0;
    let state = until_final(&submitter, &vote, Duration::from_secs(60), 2).await;
    let State::Vetoed { reason } = &state else {
        panic!("not vetoed: {state:?}");
    };
    assert!(reason.contains("recompute --from-epoch 0"), "{reason}");
    for _ in 0..3 {
        assert_eq!(
            submitter.step(&vote).await.unwrap(),
            Step::Now(state.clone())
        );
    }
    assert_eq!(
        submitter
            .submissions()
            .load(0)
            .unwrap()
            .unwrap()
            .attempts
            .len(),
        2,
        "nothing signed after the veto"
    );
    let record = epoch_record(&rpc, 0);
    assert_eq!(record.vetoes, 1);
    assert!(
        record
            .votes
            .iter()
            .all(|cast| cast.oracle != oracle.pubkey()),
        "the vetoed root was voted again: {:?}",
        record.votes
    );
}
