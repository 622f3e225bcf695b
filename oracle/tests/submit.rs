//! The submit stage on a local network (surfpool) through the oracle binary. The oracle is
//! killed (a failpoint aborts the process, as kill -9 does) before signing its vote, after
//! signing it before sending, after sending it before confirmation, and after confirming it —
//! restarted on the same data each time: exactly one vote of this oracle on chain, carried
//! by the one transaction it signed, its report unchanged. Its submission file lost, it finds
//! its vote on chain and signs nothing again. A key outside the oracle set says so and votes
//! nothing.

mod local_chain;

use std::time::Duration;

use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;
use local_chain::*;

const EPOCH_S: i64 = 20;

fn write_keypair(keypair: &Keypair, path: &std::path::Path) {
    std::fs::write(
        path,
        serde_json::to_string(&keypair.to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
}

fn submission(data: &std::path::Path, epoch: u64) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(data.join(format!("submit/{epoch}.json"))).unwrap())
        .unwrap()
}

fn epoch_record(rpc: &LocalRpc, epoch: u64) -> reward_epochs::state::EpochV0 {
    use anchor_lang::AccountDeserialize;
    let account = client(rpc)
        .get_account(&groundwork_client::reward_epochs::epoch_address(epoch))
        .unwrap();
    reward_epochs::state::EpochV0::try_deserialize(&mut account.data.as_slice()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_is_cast_exactly_once_whatever_the_oracle_is_killed_at() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let genesis = now + 2;
    let network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let (token, treasury) = (network.network_token, network.dao_treasury);
    let payer = network.rt.payer.insecure_clone();
    let voter = network.oracles[0].insecure_clone();
    let outsider = Keypair::new();
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    let dir = tempfile::tempdir().unwrap();
    let (voter_key, outsider_key) = (
        dir.path().join("voter.json"),
        dir.path().join("outsider.json"),
    );
    write_keypair(&voter, &voter_key);
    write_keypair(&outsider, &outsider_key);
    let data = dir.path().join("data");
    let mut oracle =
        OracleProcess::start_voting(&rpc.url, &data, &voter_key, Some("submit:before_sign"));
    let stranger =
        OracleProcess::start_voting(&rpc.url, &dir.path().join("outsider"), &outsider_key, None);

    // Epoch 0 ends and is closed; the oracle verifies it and dies before signing its vote.
    wait_for_time(&rpc, genesis + EPOCH_S).await;
    send(
        &rpc,
        &[groundwork_client::reward_epochs::close_epoch(
            &payer.pubkey(),
            token,
            &treasury,
            0,
        )],
        &[&payer],
    );
    oracle.wait_for_exit(Duration::from_secs(120));
    let report = std::fs::read(data.join("reports/0.report")).unwrap();
    let state = submission(&data, 0);
    assert_eq!(state["state"], "computed", "{state}");
    assert_eq!(state["attempts"].as_array().unwrap().len(), 0);
    assert!(epoch_record(&rpc, 0).votes.is_empty());

    // Restarted: it signs and records the attempt, and dies before sending it.
    oracle.restart(Some("submit:after_sign"));
    oracle.wait_for_exit(Duration::from_secs(60));
    let state = submission(&data, 0);
    assert_eq!(state["state"], "signed", "{state}");
    let attempts = state["attempts"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), 1);
    let signature = attempts[0]["signature"].as_str().unwrap().to_string();
    assert!(epoch_record(&rpc, 0).votes.is_empty(), "nothing was sent");

    // Restarted: it sends those same bytes and dies before they are confirmed.
    oracle.restart(Some("submit:after_send"));
    oracle.wait_for_exit(Duration::from_secs(60));
    let state = submission(&data, 0);
    assert_eq!(state["state"], "sent", "{state}");
    assert_eq!(state["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(state["attempts"][0]["signature"], signature.as_str());

    // Restarted: it finds its transaction finalized, records it, and dies right after.
    oracle.restart(Some("submit:after_confirm"));
    oracle.wait_for_exit(Duration::from_secs(90));
    let state = submission(&data, 0);
    assert_eq!(state["state"], "confirmed", "{state}");
    assert_eq!(
        state["signature"],
        signature.as_str(),
        "{state}\n{}",
        oracle.log_tail()
    );

    // Restarted for good: nothing more is sent. One vote of this oracle, its report's root.
    oracle.restart(None);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let record = epoch_record(&rpc, 0);
    let mine: Vec<_> = record
        .votes
        .iter()
        .filter(|vote| vote.oracle == voter.pubkey())
        .collect();
    assert_eq!(mine.len(), 1, "exactly one vote: {:?}", record.votes);
    let stored = groundwork_oracle::verify::stage::decode_report(&report, 0).unwrap();
    assert_eq!(mine[0].root, stored.rewards.root);
    assert_eq!(mine[0].cumulative_total, stored.rewards.cumulative_total);
    assert_eq!(
        std::fs::read(data.join("reports/0.report")).unwrap(),
        report
    );
    assert_eq!(
        submission(&data, 0)["attempts"].as_array().unwrap().len(),
        1
    );

    // Its submission lost: the vote is found on chain before anything is signed again.
    oracle.kill_9();
    std::fs::remove_file(data.join("submit/0.json")).unwrap();
    oracle.restart(None);
    let http = reqwest::Client::new();
    let listed = loop {
        let listed: serde_json::Value = http
            .get(format!("{}/v1/submissions", oracle.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if listed["epochs"][0]["state"] == "confirmed" {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(listed["oracle"], voter.pubkey().to_string());
    assert_eq!(listed["in_oracle_set"], true);
    assert_eq!(
        listed["epochs"][0]["how"],
        "this oracle's vote is in the epoch record"
    );
    assert_eq!(listed["epochs"][0]["attempts"].as_array().unwrap().len(), 0);
    assert_eq!(epoch_record(&rpc, 0).votes.len(), 1);

    // The oracle whose key is not in the set says so, and voted nothing.
    let outside: serde_json::Value = http
        .get(format!("{}/v1/submissions", stranger.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outside["in_oracle_set"], false, "{outside}");
    assert!(outside["waiting_for"]
        .as_str()
        .unwrap()
        .contains("added to the on-chain oracle set"));
    assert!(outside["epochs"].as_array().unwrap().is_empty());
    assert!(epoch_record(&rpc, 0)
        .votes
        .iter()
        .all(|vote| vote.oracle != outsider.pubkey()));
}
