//! The submit stage on a local network (surfpool) through the oracle binary. The oracle is
//! killed (a failpoint aborts the process, as kill -9 does) before signing its vote, after
//! signing it before sending, after sending it before confirmation, and after confirming it —
//! restarted on the same data each time: exactly one vote of this oracle on chain, carried
//! by the one transaction it signed, its report unchanged. Its submission file lost, it finds
//! its vote on chain and signs nothing again. A key outside the oracle set says so and votes
//! nothing.
//!
//! Three oracle processes (2 of 3), each hearing one device: they compute the same root over
//! each other's sets, vote it, the first activates it; the operator claims its leaf with the
//! proof an oracle serves, and the first oracle claims for a recipient without SOL; a second
//! epoch is activated and the first one's record closed; the three publish byte-identical
//! bundles, and with every oracle killed the bundles and the RPC endpoint alone check both
//! roots (the first one's votes read from history).

mod local_chain;

use std::sync::Arc;
use std::time::{Duration, Instant};

use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::chain::Chain;
use groundwork_telemetry::Key;
use groundwork_tests::*;
use local_chain::*;

const EPOCH_S: i64 = 20;

async fn get_json(http: &reqwest::Client, url: String) -> serde_json::Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_is_cast_exactly_once_whatever_the_oracle_is_killed_at() {
    let now = now_unix();
    let genesis = now + 2;
    let network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
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
    close_epoch(&rpc, &network, &payer, 0);
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
    // The one transaction it signed carried the vote (when the endpoint still knows its
    // status, the submission names it).
    assert_eq!(state["attempts"].as_array().unwrap().len(), 1, "{state}");
    assert!(
        state["signature"].is_null() || state["signature"] == signature.as_str(),
        "{state}"
    );

    // Restarted for good: once a round has run and found every vote settled, nothing more
    // was sent. One vote of this oracle, its report's root.
    oracle.restart(None);
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let listed: serde_json::Value =
            get_json(&http, format!("{}/v1/submissions", oracle.url)).await;
        if listed["waiting_for"]
            .as_str()
            .is_some_and(|waiting| waiting.contains("every vote from epoch 0 is settled"))
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no idle round after the restart: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let record = epoch_record(&rpc, 0);
    let mine: Vec<_> = record
        .votes
        .iter()
        .filter(|vote| vote.oracle == voter.pubkey())
        .collect();
    assert_eq!(mine.len(), 1, "exactly one vote: {:?}", record.votes);
    let stored = groundwork_oracle::rewards::report::decode_report(&report, 0).unwrap();
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
    let started = Instant::now();
    let listed = loop {
        let listed: serde_json::Value =
            get_json(&http, format!("{}/v1/submissions", oracle.url)).await;
        if listed["epochs"][0]["state"] == "confirmed" {
            break listed;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the lost submission was not found on chain: {listed}"
        );
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
    let outside: serde_json::Value =
        get_json(&http, format!("{}/v1/submissions", stranger.url)).await;
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

/// Signs and posts one heartbeat of `device` at the centre of `cell` to `oracle`.
async fn heartbeat(
    http: &reqwest::Client,
    oracle: &str,
    device: &Keypair,
    seq: u64,
    cell: u64,
) -> reqwest::StatusCode {
    let centre = groundwork_oracle::rewards::geo::cell_centre(cell).unwrap();
    let registry = groundwork_client::device_registry::registry_config_address();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let secret: [u8; 32] = device.to_bytes()[..32].try_into().unwrap();
    let signed = groundwork_telemetry::TelemetryV1 {
        network: groundwork_telemetry::Key(registry.to_bytes()),
        device: groundwork_telemetry::Key(device.pubkey().to_bytes()),
        seq,
        timestamp_ms: now_ms,
        body: groundwork_telemetry::TelemetryBody::Heartbeat {
            lat_e7: centre.lat_e7,
            lon_e7: centre.lon_e7,
            uptime_s: 600,
            firmware: 1,
        },
    }
    .sign(&secret);
    http.post(format!("{oracle}/v1/telemetry"))
        .header("content-type", "application/json")
        .body(signed.to_json())
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_oracle_processes_agree_vote_activate_and_pay() {
    let now = now_unix();
    // Epoch 0 starts once the three oracles are up.
    let genesis = now + 25;
    let mut network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let operator = network.operator(2 * HOTSPOT_ONBOARDING_FEE);
    let first = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let second = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    // The second device pays its rewards to a recipient that holds no SOL and opted in to
    // the first oracle's relayer.
    let without_sol = Keypair::new();
    network.rt.send_ok(
        &[groundwork_client::device_registry::set_reward_recipient(
            &operator.pubkey(),
            &second.pubkey(),
            Some(without_sol.pubkey()),
        )],
        &[&operator],
    );
    let token = network.network_token;
    let payer = network.rt.payer.insecure_clone();
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    let dir = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let urls: Vec<String> = ports
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}"))
        .collect();
    let mut oracles = Vec::new();
    for (index, port) in ports.iter().enumerate() {
        let key = dir.path().join(format!("oracle-{index}.json"));
        write_keypair(&network.oracles[index], &key);
        let peers: Vec<&String> = urls
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != index)
            .map(|(_, url)| url)
            .collect();
        let peers: Vec<String> = peers.into_iter().cloned().collect();
        let relay_for = Key(without_sol.pubkey().to_bytes());
        oracles.push(OracleProcess::start_voting_on(
            &rpc.url,
            *port,
            &dir.path().join(format!("oracle-{index}")),
            &key,
            None,
            |config| {
                if index == 0 {
                    let submit = config.submit.as_mut().expect("a voting oracle");
                    submit.activate_roots = true;
                    submit.relay_claims_for = vec![relay_for];
                }
                config.shared_input.peers = peers;
                config.shared_input.pull_every = Duration::from_secs(1);
                config.shared_input.peer_wait = Duration::from_secs(30);
            },
        ));
    }

    // During epoch 0 the first device reports to the first oracle only, the second to the
    // second only: each oracle alone knows half the work.
    wait_for_time(&rpc, genesis).await;
    let http = reqwest::Client::new();
    let mut seq = 0;
    while chain_time(&rpc) < genesis + EPOCH_S - 1 {
        seq += 1;
        assert!(heartbeat(&http, &urls[0], &first, seq, CELL_A)
            .await
            .is_success());
        assert!(heartbeat(&http, &urls[1], &second, seq, CELL_A)
            .await
            .is_success());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wait_for_time(&rpc, genesis + EPOCH_S).await;
    close_epoch(&rpc, &network, &payer, 0);

    // The three compute the same root over the union, two votes make it pending, the first
    // oracle activates it.
    let started = Instant::now();
    let record = loop {
        let record = epoch_record(&rpc, 0);
        if record.status == reward_epochs::state::RootStatus::Active {
            break record;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "epoch 0's root was not activated: {:?}\n{}",
            record.votes,
            oracles[0].log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut roots = Vec::new();
    for url in &urls {
        let rewards: serde_json::Value =
            get_json(&http, format!("{url}/v1/epochs/0/rewards")).await;
        assert_eq!(rewards["devices"]["rewarded"], 2, "{rewards}");
        roots.push(rewards["root"].as_str().unwrap().to_string());
    }
    assert!(roots.iter().all(|root| *root == roots[0]), "{roots:?}");
    assert!(record.votes.len() >= 2);
    // The oracles read the same votes through the chain trait (what adoption checks).
    let votes = groundwork_oracle::chain::RpcChain::new(std::slice::from_ref(&rpc.url))
        .epoch_votes(0)
        .await
        .unwrap()
        .expect("epoch 0 is closed");
    assert_eq!(votes.quorum, 2);
    assert!(votes.has_quorum_for(&record.pending_root, record.pending_cumulative_total));
    let active_root = hex::encode(record.pending_root);
    assert_eq!(active_root, roots[0]);

    // The operator claims its leaf with the proof an oracle serves.
    let leaf: serde_json::Value = get_json(
        &http,
        format!("{}/v1/rewards/{}", urls[2], operator.pubkey()),
    )
    .await;
    let cumulative = leaf["cumulative_amount"].as_u64().unwrap();
    assert!(cumulative > 0, "{leaf}");
    let proof: Vec<[u8; 32]> = leaf["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hash| {
            let text = hash.as_str().unwrap();
            let bytes: Vec<u8> = (0..text.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
                .collect();
            bytes.try_into().unwrap()
        })
        .collect();
    send(
        &rpc,
        &[groundwork_client::reward_epochs::claim(
            &operator.pubkey(),
            &operator.pubkey(),
            token,
            cumulative,
            proof,
        )],
        &[&operator],
    );
    let claimed = |recipient: &anchor_lang::prelude::Pubkey| {
        use anchor_lang::AccountDeserialize;
        client(&rpc)
            .get_account(&groundwork_client::reward_epochs::claim_address(recipient))
            .ok()
            .map_or(0, |account| {
                reward_epochs::state::ClaimV0::try_deserialize(&mut account.data.as_slice())
                    .unwrap()
                    .claimed
            })
    };
    assert_eq!(claimed(&operator.pubkey()), cumulative);

    // The recipient without SOL is paid by the relaying oracle.
    let owed: serde_json::Value = get_json(
        &http,
        format!("{}/v1/rewards/{}", urls[0], without_sol.pubkey()),
    )
    .await;
    let owed = owed["cumulative_amount"].as_u64().unwrap();
    assert!(owed > 0);
    let started = Instant::now();
    while claimed(&without_sol.pubkey()) != owed {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the relayer did not claim: {}",
            oracles[0].log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        client(&rpc).get_balance(&without_sol.pubkey()).unwrap(),
        0,
        "it still holds no SOL"
    );

    // Epoch 1: both devices report to the third oracle; its root is voted and activated
    // too, and then epoch 0's settled record is closed on chain (anyone may): its votes are
    // left only in finalized history.
    while chain_time(&rpc) < genesis + 2 * EPOCH_S - 1 {
        seq += 1;
        for device in [&first, &second] {
            assert!(heartbeat(&http, &urls[2], device, seq, CELL_A)
                .await
                .is_success());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wait_for_time(&rpc, genesis + 2 * EPOCH_S).await;
    close_epoch(&rpc, &network, &payer, 1);
    let started = Instant::now();
    while epoch_record(&rpc, 1).status != reward_epochs::state::RootStatus::Active {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "epoch 1's root was not activated: {}",
            oracles[0].log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    send(
        &rpc,
        &[groundwork_client::reward_epochs::close_epoch_record(
            &payer.pubkey(),
            0,
        )],
        &[&payer],
    );
    assert!(client(&rpc)
        .get_account(&groundwork_client::reward_epochs::epoch_address(0))
        .is_err());

    // Each oracle published epochs 0 and 1's bundles, byte for byte the same. With every
    // oracle process gone, the bundle and the RPC endpoint alone check each root (SPEC 4.6):
    // epoch 0's votes read from history, epoch 1's base vouched for by them.
    let bundle_dir = |index: usize| dir.path().join(format!("oracle-{index}/bundles"));
    let index_of =
        |index: usize, epoch: u64| bundle_dir(index).join(format!("epochs/{epoch}/index.json"));
    let started = Instant::now();
    while !(0..3).all(|index| index_of(index, 1).exists()) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "epoch 1's bundles were not published: {}",
            oracles[0].log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for epoch in [0, 1] {
        let index = std::fs::read(index_of(0, epoch)).unwrap();
        assert_eq!(std::fs::read(index_of(1, epoch)).unwrap(), index);
        assert_eq!(std::fs::read(index_of(2, epoch)).unwrap(), index);
    }
    for oracle in &mut oracles {
        oracle.kill_9();
    }
    let store = groundwork_oracle::bundle::BundleStore::open(
        &format!("file://{}", bundle_dir(1).display()),
        false,
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let settings = groundwork_oracle::bundle::verify::CheckSettings {
        rpc_urls: vec![rpc.url.clone()],
        network: Key(groundwork_client::device_registry::registry_config_address().to_bytes()),
        oracles: votes.oracles.clone(),
        quorum: votes.quorum,
        expected_params: Some(groundwork_oracle::rewards::VerifyParams::default()),
    };
    let check = |epoch: u64| {
        groundwork_oracle::bundle::verify::verify_epoch(
            &store,
            epoch,
            work.path(),
            &settings,
            Arc::new(|_| {}),
        )
    };
    let zero = check(0).await.unwrap();
    assert!(zero.ok, "{:?}", zero.problems);
    assert_eq!(zero.computed_root, active_root);
    assert_eq!(zero.chain.source, "history");
    assert_eq!(zero.chain.status, "active");
    assert_eq!(zero.chain.votes_for_computed, record.votes.len());
    assert!(zero.records > 0);
    let one = check(1).await.unwrap();
    assert!(one.ok, "{:?}", one.problems);
    assert_eq!(one.chain.source, "record");
    assert_eq!(one.chain.status, "active");
    assert_eq!(one.base.base_epoch, Some(0));
    assert_eq!(one.base.base_root, active_root);
}

/// The `groundwork_*` metric names `text` (a dashboard, alert rules) mentions, each once; a
/// histogram's series (`_bucket`, `_sum`, `_count`) by its own name.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("groundwork_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        names.insert(name.to_string());
        rest = &tail[end..];
    }
    names
}

/// deploy/: every metric the Grafana dashboard and the Prometheus alert rules name exists in a
/// running voting oracle's /metrics from its start; the rules pass `promtool check rules`
/// (Debian's prometheus package; `.ci/run` installs it); the production configuration parses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_alerts_name_only_metrics_a_running_oracle_serves() {
    let dashboard = include_str!("../../deploy/grafana/groundwork-oracle.json");
    let rules_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/prometheus/groundwork-oracle-alerts.yml");
    let rules = std::fs::read_to_string(&rules_path).unwrap();
    let dashboard_json: serde_json::Value = serde_json::from_str(dashboard).unwrap();
    assert!(dashboard_json["panels"].as_array().unwrap().len() >= 10);
    let mut named = metric_names(dashboard);
    named.extend(metric_names(&rules));
    assert!(named.len() >= 20, "{named:?}");

    let network = CycleNetwork::launch();
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("oracle.json");
    write_keypair(&network.oracles[0], &key);
    let oracle = OracleProcess::start_voting(&rpc.url, &dir.path().join("oracle"), &key, None);
    let http = reqwest::Client::new();
    let started = Instant::now();
    let missing = loop {
        let served = http
            .get(format!("{}/metrics", oracle.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The name that starts each sample line and each HELP line.
        let served: std::collections::BTreeSet<String> = served
            .lines()
            .flat_map(|line| {
                let line = line.strip_prefix("# HELP ").unwrap_or(line);
                let name: String = line
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                metric_names(&name)
            })
            .collect();
        let missing: Vec<&String> = named.difference(&served).collect();
        if missing.is_empty() || started.elapsed() > Duration::from_secs(60) {
            break missing.into_iter().cloned().collect::<Vec<_>>();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        missing.is_empty(),
        "named in deploy/ but not served: {missing:?}\n{}",
        oracle.log_tail()
    );

    // The rules are valid Prometheus rules.
    let promtool = std::env::var("GROUNDWORK_TEST_PROMTOOL").unwrap_or_else(|_| "promtool".into());
    match std::process::Command::new(&promtool)
        .args(["check", "rules"])
        .arg(&rules_path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must check the alert rules: .ci/run installs Debian's prometheus (promtool)"
            );
            eprintln!("promtool is not installed (apt-get install prometheus): the alert rules' syntax was not checked here");
        }
    }

    // The production configuration parses (its placeholder registry filled in).
    let production = include_str!("../../deploy/oracle.production.toml").replace(
        "REPLACE_WITH_REGISTRY_CONFIG_ADDRESS",
        &groundwork_client::device_registry::registry_config_address().to_string(),
    );
    let config = groundwork_oracle::config::OracleConfig::parse(&production, []).unwrap();
    assert_eq!(config.publish.url, "s3://groundwork-bundles/mainnet");
    assert!(config.submit.is_some());
}
