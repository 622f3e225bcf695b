//! The oracle against the local network: a real JSON-RPC endpoint (surfpool, offline, on
//! 127.0.0.1) serving the accounts the real programs wrote in the runtime harness. Reads the
//! chain over RPC (with failover), then runs the real binary under load and kills it with
//! SIGKILL several times: every acknowledged message must be stored, once — on the embedded
//! segment store and on PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::StoreSpec;
use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::chain::{Chain, RpcChain};
use groundwork_oracle::chainview::ChainView;
use groundwork_oracle::config::OracleConfig;
use groundwork_oracle::store::frame::FrameKind;
use groundwork_oracle::store::Store;
use groundwork_telemetry::{Key, SignedTelemetry, TelemetryBody, TelemetryV1};
use groundwork_tests::*;
use local_chain::OracleProcess;

/// A network of the four programs with `count` onboarded devices (and a suspended one),
/// served by a local RPC.
fn network_with_devices(count: usize) -> (LocalRpc, Vec<Keypair>, Keypair) {
    let mut network = CycleNetwork::launch();
    let operator = network.operator((count as u64 + 1) * HOTSPOT_ONBOARDING_FEE);
    let devices: Vec<Keypair> = (0..count)
        .map(|_| network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A))
        .collect();
    let suspended = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_B);
    network.suspend(&suspended.pubkey(), 1);
    let mut accounts = network.rt.svm.get_program_accounts(&device_registry::ID);
    accounts.extend(network.rt.svm.get_program_accounts(&staking::ID));
    accounts.extend(network.rt.svm.get_program_accounts(&reward_epochs::ID));
    let rpc = LocalRpc::start(accounts).expect("local RPC");
    (rpc, devices, suspended)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_is_read_from_the_local_network_with_failover() {
    let (rpc, devices, suspended) = network_with_devices(3);
    let urls = ["http://127.0.0.1:1".to_string(), rpc.url.clone()];
    let chain = RpcChain::new(&urls);
    let timing = chain.epoch_timing().await.unwrap();
    assert_eq!(timing.epoch_len_s, EPOCH_LEN_S);
    // The device set: one full load (through the chain view) behind the dead endpoint.
    let view_dir = tempfile::tempdir().unwrap();
    let mut view = ChainView::open(&urls, view_dir.path(), timing, 0).unwrap();
    assert!(view.poll().await.expect("devices over RPC").full_load);
    let loaded = view.devices();
    assert_eq!(loaded.len(), 4);
    for device in &devices {
        let info = loaded[&Key(device.pubkey().to_bytes())];
        assert!(!info.suspended);
        assert_eq!(info.location, CELL_A);
    }
    assert!(loaded[&Key(suspended.pubkey().to_bytes())].suspended);
    assert_eq!(chain.active_root_epoch().await.unwrap(), None);
    // Every endpoint down: a clear error naming each failure.
    let down = RpcChain::new(&["http://127.0.0.1:1".to_string()]);
    let error = down.epoch_timing().await.unwrap_err().to_string();
    assert!(error.contains("no RPC endpoint answered"), "{error}");
}

fn signed(device: &Keypair, seq: u64) -> SignedTelemetry {
    let seed: [u8; 32] = device.to_bytes()[..32].try_into().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    TelemetryV1 {
        network: Key(groundwork_client::device_registry::registry_config_address().to_bytes()),
        device: Key(device.pubkey().to_bytes()),
        seq,
        timestamp_ms: now_ms,
        body: TelemetryBody::Heartbeat {
            lat_e7: 1,
            lon_e7: 2,
            uptime_s: seq as u32,
            firmware: 3,
        },
    }
    .sign(&seed)
}

mod common;
mod local_chain;

/// A message naming `device`, signed by `forger`: what anyone can send, since device keys,
/// the network id and valid timestamps are public.
fn forged(device: &Keypair, forger: &Keypair, seq: u64) -> SignedTelemetry {
    let real = signed(device, seq);
    let seed: [u8; 32] = forger.to_bytes()[..32].try_into().unwrap();
    real.message.sign(&seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holding_slow_posts_takes_only_its_share_of_ingest() {
    const HELD: usize = 40;
    let (rpc, devices, _) = network_with_devices(1);
    let data_dir = tempfile::tempdir().unwrap();
    let oracle =
        OracleProcess::start_configured_by(&rpc.url, &data_dir.path().join("oracle"), |config| {
            config.http.max_ingest_requests = HELD;
        });
    let per_source = OracleConfig::local(Key([0; 32]), "", 0, data_dir.path())
        .http
        .max_requests_per_source;
    // One address opens as many posts as the whole ingest class serves, announcing bodies it
    // never sends.
    let address: std::net::SocketAddr = oracle.url.trim_start_matches("http://").parse().unwrap();
    let mut held = Vec::new();
    for _ in 0..HELD {
        use tokio::io::AsyncWriteExt;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.7:0".parse().unwrap()).unwrap();
        let mut stream = socket.connect(address).await.unwrap();
        stream
            .write_all(b"POST /v1/telemetry HTTP/1.1\r\nhost: oracle\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    // Beyond its share it was refused at once, saying why; the rest wait for their bodies.
    // (Replies are counted as they come, for 3 s or until all came, at most 8 s: a busy
    // machine may be slow, and the held posts time out at 10 s.)
    let mut replied = [false; HELD];
    let counting = Instant::now();
    while counting.elapsed() < Duration::from_secs(3)
        || replied.iter().filter(|replied| **replied).count() < HELD - per_source
            && counting.elapsed() < Duration::from_secs(8)
    {
        for (stream, replied) in held.iter().zip(replied.iter_mut()) {
            let mut reply = [0u8; 1_024];
            if *replied {
                continue;
            }
            if let Ok(read) = stream.try_read(&mut reply) {
                let reply = String::from_utf8_lossy(&reply[..read]);
                assert!(
                    reply.starts_with("HTTP/1.1 503") && reply.contains("in flight"),
                    "{reply}"
                );
                *replied = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        replied.iter().filter(|replied| **replied).count(),
        HELD - per_source
    );
    // Meanwhile a device's heartbeats from another address are accepted.
    let client = reqwest::Client::new();
    for seq in 1..=5 {
        assert_eq!(
            post_from(&client, &oracle.url, &signed(&devices[0], seq)).await,
            200
        );
    }
    drop(held);
}

/// Posts `message` from `client`; the reply's status.
async fn post_from(client: &reqwest::Client, url: &str, message: &SignedTelemetry) -> u16 {
    client
        .post(format!("{url}/v1/telemetry"))
        .json(message)
        .send()
        .await
        .map_or(0, |reply| reply.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_flood_from_fifty_addresses_costs_the_named_device_nothing() {
    const SOURCES: u8 = 50;
    const FORGED_PER_SOURCE_PER_S: u64 = 10;
    const SECONDS: u64 = 5;
    let (rpc, devices, _) = network_with_devices(2);
    let data_dir = tempfile::tempdir().unwrap();
    // The oracle's default device limits: 1 message/s sustained, bursts of 60.
    let oracle =
        OracleProcess::start_configured_by(&rpc.url, &data_dir.path().join("oracle"), |config| {
            let window = config.limits.max_message_age;
            config.limits = groundwork_oracle::ingest::LimitsConfig::default();
            config.limits.max_message_age = window;
        });
    let (victim, bystander) = (&devices[0], &devices[1]);
    let forger = Keypair::new();
    let started = Instant::now();
    // Fifty source addresses (127.0.0.2 to .51 all reach the loopback) each forge ten
    // messages a second naming the victim.
    let mut flood = tokio::task::JoinSet::new();
    for source in 0..SOURCES {
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 2 + source]))
            .build()
            .unwrap();
        let (url, victim, forger) = (
            oracle.url.clone(),
            victim.insecure_clone(),
            forger.insecure_clone(),
        );
        flood.spawn(async move {
            let mut statuses = BTreeMap::<u16, u64>::new();
            let mut ticker =
                tokio::time::interval(Duration::from_millis(1_000 / FORGED_PER_SOURCE_PER_S));
            for round in 0..FORGED_PER_SOURCE_PER_S * SECONDS {
                ticker.tick().await;
                let seq = 1_000_000 + u64::from(source) * 1_000 + round;
                *statuses
                    .entry(post_from(&client, &url, &forged(&victim, &forger, seq)).await)
                    .or_default() += 1;
            }
            statuses
        });
    }
    // Meanwhile the victim and a bystander send their real heartbeats, two a second each.
    let client = reqwest::Client::new();
    let mut real = Vec::new();
    for seq in 1..=2 * SECONDS {
        real.push((
            victim.pubkey(),
            seq,
            post_from(&client, &oracle.url, &signed(victim, seq)).await,
        ));
        real.push((
            bystander.pubkey(),
            seq,
            post_from(&client, &oracle.url, &signed(bystander, seq)).await,
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut forged_statuses = BTreeMap::<u16, u64>::new();
    while let Some(statuses) = flood.join_next().await {
        for (status, count) in statuses.unwrap() {
            *forged_statuses.entry(status).or_default() += count;
        }
    }
    let elapsed = started.elapsed();
    let accepted = real.iter().filter(|(.., status)| *status == 200).count();
    eprintln!(
        "forged flood: {} forged messages from {SOURCES} addresses in {elapsed:?} ({forged_statuses:?}); {accepted} of {} real heartbeats accepted",
        forged_statuses.values().sum::<u64>(),
        real.len()
    );
    for (device, seq, status) in &real {
        assert_eq!(*status, 200, "device {device} seq {seq}: {real:?}");
    }
    // Every forged message was refused for its signature (none slipped in, none was charged
    // to the victim).
    assert_eq!(
        forged_statuses,
        BTreeMap::from([(401, u64::from(SOURCES) * FORGED_PER_SOURCE_PER_S * SECONDS)])
    );
}

/// Every message the store holds, from the epochs of the last `minutes` of real time.
async fn stored_messages(
    store: &Store,
    rpc_url: &str,
    minutes: i64,
) -> BTreeMap<(Key, i64), Vec<u8>> {
    let timing = RpcChain::new(&[rpc_url.to_string()])
        .epoch_timing()
        .await
        .unwrap();
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let epoch_of = |unix_s: i64| ((unix_s - timing.genesis_unix_s) / timing.epoch_len_s) as u64;
    let mut stored = BTreeMap::new();
    for epoch in epoch_of(now_s - minutes * 60)..=epoch_of(now_s) + 1 {
        for record in store.epoch_records(epoch).await.unwrap() {
            if record.kind == FrameKind::Message {
                stored.insert(
                    (record.device, record.seq as i64),
                    record.signature.to_vec(),
                );
            }
        }
    }
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_message_survives_kill_9() {
    for spec in common::fresh_stores("crash").await {
        survives_kill_9(&spec).await;
    }
}

async fn survives_kill_9(spec: &StoreSpec) {
    let label = spec.label();
    let (rpc, devices, _) = network_with_devices(8);
    let data_dir =
        std::env::temp_dir().join(format!("groundwork-crash-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let store_url = match spec {
        StoreSpec::Segments(_) => String::new(),
        StoreSpec::Postgres(url) => url.clone(),
    };
    let store_url = store_url.as_str();
    let oracle = Arc::new(std::sync::Mutex::new(OracleProcess::start(
        &rpc.url, &data_dir, store_url,
    )));
    let url = oracle.lock().unwrap().url.clone();
    let acknowledged = Arc::new(std::sync::Mutex::new(BTreeMap::<(Key, i64), Vec<u8>>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));

    // One client task per device, each sending its messages in seq order, retrying each
    // until it is acknowledged (accepted or duplicate).
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for device in devices {
        let (client, url, acknowledged, stop) = (
            client.clone(),
            url.clone(),
            acknowledged.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut seq = 1u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let message = signed(&device, seq);
                let reply = client
                    .post(format!("{url}/v1/telemetry"))
                    .header("content-type", "application/json")
                    .body(message.to_json())
                    .send()
                    .await;
                match reply {
                    Ok(response) if response.status().is_success() => {
                        acknowledged.lock().unwrap().insert(
                            (message.message.device, seq as i64),
                            message.signature.to_vec(),
                        );
                        seq += 1;
                    }
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }));
    }

    // Kill -9 five times at varying moments, restarting on the same data directory.
    let mut kills = 0;
    for pause_ms in [700u64, 1_300, 400, 1_000, 900] {
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
        let oracle = oracle.clone();
        tokio::task::spawn_blocking(move || {
            let mut process = oracle.lock().unwrap();
            process.kill_9();
            process.spawn();
        })
        .await
        .unwrap();
        kills += 1;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    oracle.lock().unwrap().kill_9();

    let store = match spec {
        StoreSpec::Segments(_) => StoreSpec::Segments(data_dir.join("telemetry")).open().await,
        StoreSpec::Postgres(_) => spec.open().await,
    };
    let stored = stored_messages(&store, &rpc.url, 10).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(kills, 5);
    assert!(
        acknowledged.len() > 100,
        "the load was too light to mean anything: {}",
        acknowledged.len()
    );
    for (key, signature) in &acknowledged {
        assert_eq!(
            stored.get(key),
            Some(signature),
            "acknowledged {key:?} is not stored"
        );
    }
    // Each device retries a message until it is acknowledged, so a message stored without an
    // acknowledgement can only be the last one in flight when the load stopped: one per device.
    let acknowledged_keys: BTreeSet<_> = acknowledged.keys().collect();
    let unacknowledged = stored
        .keys()
        .filter(|key| !acknowledged_keys.contains(key))
        .count();
    assert!(
        unacknowledged <= 8,
        "{unacknowledged} stored messages were never acknowledged"
    );
    eprintln!(
        "{label}: {} messages acknowledged across {kills} kill -9 restarts, all stored",
        acknowledged.len()
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_cleanly() {
    for spec in common::fresh_stores("sigterm").await {
        sigterm_on(&spec).await;
    }
}

async fn sigterm_on(spec: &StoreSpec) {
    let (rpc, devices, _) = network_with_devices(4);
    let data_dir = std::env::temp_dir().join(format!(
        "groundwork-sigterm-{}-{}",
        spec.label(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&data_dir);
    let store_url = match spec {
        StoreSpec::Segments(_) => String::new(),
        StoreSpec::Postgres(url) => url.clone(),
    };
    let mut oracle = OracleProcess::start(&rpc.url, &data_dir, &store_url);
    let url = oracle.url.clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for device in devices {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for seq in 1..=10_000u64 {
                let message = signed(&device, seq);
                match client
                    .post(format!("{url}/v1/telemetry"))
                    .header("content-type", "application/json")
                    .body(message.to_json())
                    .send()
                    .await
                {
                    Ok(response) if response.status().is_success() => {
                        acknowledged.push((message.message.device, seq as i64))
                    }
                    _ => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut child = oracle.child.take().expect("running");
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .expect("exit status");
    assert!(
        exit.success(),
        "groundwork-oracle exited with {exit:?} after SIGTERM"
    );
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    assert!(!acknowledged.is_empty());
    let store = match spec {
        StoreSpec::Segments(_) => StoreSpec::Segments(data_dir.join("telemetry")).open().await,
        StoreSpec::Postgres(_) => spec.open().await,
    };
    let stored: BTreeSet<(Key, i64)> = stored_messages(&store, &rpc.url, 10)
        .await
        .into_keys()
        .collect();
    for key in &acknowledged {
        assert!(stored.contains(key), "acknowledged {key:?} is not stored");
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// `GET /healthz` and its JSON body, over a plain TCP connection.
fn health_of(url: &str) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap())
}

#[test]
fn health_turns_unhealthy_when_the_chain_goes_stale() {
    let (rpc, _, _) = network_with_devices(2);
    let data_dir = std::env::temp_dir().join(format!("groundwork-health-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let oracle = OracleProcess::start_with(&rpc.url, &data_dir, "", "1s");
    let (status, body) = health_of(&oracle.url);
    assert_eq!(
        (status, &body["status"]),
        (200, &serde_json::json!("ok")),
        "{body}"
    );
    assert_eq!(body["devices"], 3);
    // The RPC endpoint goes away: after three missed reloads the oracle says so.
    drop(rpc);
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let (status, body) = health_of(&oracle.url);
        if status == 503 {
            break body;
        }
        assert!(Instant::now() < deadline, "still healthy: {body}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(body["status"], "unhealthy");
    let problems = body["problems"].to_string();
    assert!(
        problems.contains("the device set was last loaded"),
        "{problems}"
    );
    drop(oracle);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The message `seq` of `device` with heartbeat content `variant` (a cloned key's copy).
fn signed_variant(device: &Keypair, seq: u64, variant: u32) -> SignedTelemetry {
    let mut message = signed(device, seq).message;
    message.body = TelemetryBody::Heartbeat {
        lat_e7: 1,
        lon_e7: 2,
        uptime_s: variant,
        firmware: 3,
    };
    let seed: [u8; 32] = device.to_bytes()[..32].try_into().unwrap();
    message.sign(&seed)
}

/// Two oracle processes on one PostgreSQL: a cloned key sends each of them the same seq with
/// other content at the same moment. The database orders them: one copy is accepted, the other
/// is a conflict (kept as evidence) — never both accepted — and every acknowledged message is
/// stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_oracles_on_one_postgres_agree_on_a_cloned_key() {
    let Some(spec) = common::fresh_stores("two_oracles")
        .await
        .into_iter()
        .find(|spec| matches!(spec, StoreSpec::Postgres(_)))
    else {
        eprintln!("two_oracles needs PostgreSQL (GROUNDWORK_TEST_POSTGRES_URL)");
        return;
    };
    let StoreSpec::Postgres(url) = &spec else {
        unreachable!()
    };
    let (rpc, devices, _) = network_with_devices(4);
    let base = std::env::temp_dir().join(format!("groundwork-two-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let first = OracleProcess::start(&rpc.url, &base.join("a"), url);
    let second = OracleProcess::start(&rpc.url, &base.join("b"), url);
    let client = reqwest::Client::new();
    let post = |oracle_url: String, message: SignedTelemetry| {
        let client = client.clone();
        async move {
            let response = client
                .post(format!("{oracle_url}/v1/telemetry"))
                .header("content-type", "application/json")
                .body(message.to_json())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body["error"].as_str().map(str::to_string))
        }
    };
    let clone = &devices[0];
    let mut acknowledged = BTreeSet::new();
    let mut conflicts = 0;
    for seq in 1..=40u64 {
        let (a, b) = tokio::join!(
            post(first.url.clone(), signed_variant(clone, seq, 1)),
            post(second.url.clone(), signed_variant(clone, seq, 2)),
        );
        let outcomes = [a, b];
        let accepted = outcomes.iter().filter(|(status, _)| *status == 200).count();
        let conflicted = outcomes
            .iter()
            .filter(|(status, error)| *status == 409 && error.as_deref() == Some("seq_conflict"))
            .count();
        assert_eq!((accepted, conflicted), (1, 1), "seq {seq}: {outcomes:?}");
        acknowledged.insert((Key(clone.pubkey().to_bytes()), seq as i64));
        conflicts += conflicted;
        // Honest devices alternate between the two oracles: every message is accepted once.
        for (index, device) in devices[1..].iter().enumerate() {
            let oracle = if (seq as usize + index).is_multiple_of(2) {
                &first.url
            } else {
                &second.url
            };
            let (status, error) = post(oracle.clone(), signed(device, seq)).await;
            assert_eq!(status, 200, "{error:?}");
            acknowledged.insert((Key(device.pubkey().to_bytes()), seq as i64));
        }
    }
    drop((first, second));
    let store = spec.open().await;
    let stored = stored_messages(&store, &rpc.url, 10).await;
    assert_eq!(
        stored.keys().cloned().collect::<BTreeSet<_>>(),
        acknowledged,
        "exactly the acknowledged messages, each once"
    );
    let summary = store
        .device_summary(&Key(clone.pubkey().to_bytes()))
        .await
        .unwrap();
    assert_eq!(summary.accepted, 40);
    assert!(conflicts == 40 && summary.open_conflicts > 0);
    let _ = std::fs::remove_dir_all(&base);
}

/// After a first start, the oracle starts again while every RPC endpoint is down: the epoch
/// timing and the device set come from its data directory, it accepts a known device's
/// telemetry, and says the chain is stale once its polls keep failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oracle_restarts_while_the_chain_is_down() {
    let (rpc, devices, _) = network_with_devices(2);
    let data_dir = std::env::temp_dir().join(format!("groundwork-offline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut oracle = OracleProcess::start_with(&rpc.url, &data_dir, "", "1s");
    oracle.kill_9();
    drop(rpc);
    let oracle_url = oracle.url.clone();
    let oracle = tokio::task::spawn_blocking(move || {
        oracle.spawn();
        oracle
    })
    .await
    .unwrap();
    let reply = reqwest::Client::new()
        .post(format!("{oracle_url}/v1/telemetry"))
        .header("content-type", "application/json")
        .body(signed(&devices[0], 1).to_json())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "{}", reply.text().await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = health_of(&oracle_url);
        if status == 503 {
            assert!(
                body["problems"].to_string().contains("device set"),
                "{body}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "still healthy: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(oracle);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The p50 and p99 of `latencies`, in milliseconds.
fn percentiles_ms(latencies: &mut [Duration]) -> (f64, f64) {
    latencies.sort_unstable();
    let at = |fraction: f64| {
        let index = ((latencies.len() as f64 * fraction).ceil() as usize).clamp(1, latencies.len());
        latencies[index - 1].as_secs_f64() * 1_000.0
    };
    (at(0.50), at(0.99))
}

/// Posts `rounds` heartbeats of each device one after another, from `first_seq`; returns how
/// many were accepted and each post's latency (its reply means it is durably committed).
async fn honest_ingest(
    url: &str,
    devices: &[Keypair],
    first_seq: u64,
    rounds: u64,
) -> (usize, Vec<Duration>) {
    let client = reqwest::Client::new();
    let mut accepted = 0;
    let mut latencies = Vec::new();
    for round in 0..rounds {
        for device in devices {
            let started = Instant::now();
            if post_from(&client, url, &signed(device, first_seq + round)).await == 200 {
                accepted += 1;
            }
            latencies.push(started.elapsed());
        }
    }
    (accepted, latencies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_stream_readers_and_a_read_flood_do_not_hold_up_ingest() {
    const EPOCH_S: i64 = 20;
    const STALLED_READERS: usize = 500;
    const READS_PER_S: u64 = 1_000;
    let genesis = local_chain::now_unix() - 14;
    let mut network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let operator = network.operator(10 * HOTSPOT_ONBOARDING_FEE);
    let devices: Vec<Keypair> = (0..8)
        .map(|_| network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A))
        .collect();
    let rpc = LocalRpc::start(local_chain::accounts_of(&network)).expect("local RPC");
    let data_dir = tempfile::tempdir().unwrap();
    let oracle =
        OracleProcess::start_configured_by(&rpc.url, &data_dir.path().join("oracle"), |config| {
            config.network.seal_grace = Duration::from_secs(2);
        });
    // Epoch 0 gets some telemetry, then is sealed: its stream is what the readers open.
    let (accepted, _) = honest_ingest(&oracle.url, &devices, 1, 20).await;
    assert_eq!(accepted, devices.len() * 20);
    let sealed_at = genesis + EPOCH_S + 3;
    while local_chain::now_unix() < sealed_at {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (accepted, mut unloaded) = honest_ingest(&oracle.url, &devices, 100, 25).await;
    assert_eq!(accepted, unloaded.len(), "unloaded ingest refused messages");
    let (unloaded_p50, unloaded_p99) = percentiles_ms(&mut unloaded);

    // 500 readers ask for the sealed epoch's stream and never read a byte of it.
    let address = oracle.url.trim_start_matches("http://").to_string();
    let mut stalled = Vec::new();
    for _ in 0..STALLED_READERS {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /v1/epochs/0/telemetry HTTP/1.1\r\nhost: oracle\r\n\r\n")
            .await
            .unwrap();
        stalled.push(stream);
    }
    // A thousand reads a second of a recipient's rewards, from twenty addresses.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = tokio::task::JoinSet::new();
    for source in 0..20u8 {
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 1, 2 + source]))
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let url = format!("{}/v1/rewards/{}", oracle.url, devices[0].pubkey());
        let stop = stop.clone();
        readers.spawn(async move {
            let mut statuses = BTreeMap::<u16, u64>::new();
            let mut ticker =
                tokio::time::interval(Duration::from_micros(1_000_000 * 20 / READS_PER_S));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                ticker.tick().await;
                let status = client
                    .get(&url)
                    .send()
                    .await
                    .map_or(0, |reply| reply.status().as_u16());
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        });
    }
    // Past each source's burst of reads before ingest is measured.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (accepted, mut loaded) = honest_ingest(&oracle.url, &devices, 200, 25).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut read_statuses = BTreeMap::<u16, u64>::new();
    while let Some(statuses) = readers.join_next().await {
        for (status, count) in statuses.unwrap() {
            *read_statuses.entry(status).or_default() += count;
        }
    }
    let (loaded_p50, loaded_p99) = percentiles_ms(&mut loaded);
    eprintln!(
        "ingest unloaded: p50 {unloaded_p50:.1} ms, p99 {unloaded_p99:.1} ms; with {STALLED_READERS} stalled stream readers and ~{READS_PER_S} reads/s: p50 {loaded_p50:.1} ms, p99 {loaded_p99:.1} ms; {accepted} of {} accepted; read replies {read_statuses:?}",
        loaded.len()
    );
    // Every honest message is still accepted, and the readers were refused, not served
    // without bound: the read class answers its rate and capacity refusals at once.
    assert_eq!(accepted, loaded.len(), "ingest refused messages under load");
    assert!(
        read_statuses
            .keys()
            .any(|status| *status == 429 || *status == 503),
        "{read_statuses:?}"
    );
    // The oracle still serves a reader that reads.
    let reply = reqwest::get(format!("{}/healthz", oracle.url))
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    drop(stalled);
}

/// A heartbeat of `device` at the centre of `cell`, signed with `timestamp_ms`.
fn heartbeat_at(device: &Keypair, seq: u64, cell: u64, timestamp_ms: i64) -> SignedTelemetry {
    let centre = groundwork_oracle::rewards::geo::cell_centre(cell).unwrap();
    let seed: [u8; 32] = device.to_bytes()[..32].try_into().unwrap();
    TelemetryV1 {
        network: Key(groundwork_client::device_registry::registry_config_address().to_bytes()),
        device: Key(device.pubkey().to_bytes()),
        seq,
        timestamp_ms,
        body: TelemetryBody::Heartbeat {
            lat_e7: centre.lat_e7,
            lon_e7: centre.lon_e7,
            uptime_s: seq as u32,
            firmware: 1,
        },
    }
    .sign(&seed)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_devices_backdated_burst_earns_it_no_uptime() {
    const EPOCH_S: i64 = 24;
    const SLOTS: i64 = 48;
    let genesis = local_chain::now_unix() + 3;
    let mut network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let payer = network.rt.payer.insecure_clone();
    let operator = network.operator(3 * HOTSPOT_ONBOARDING_FEE);
    let honest = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let silent = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_B);
    let rpc = LocalRpc::start(local_chain::accounts_of(&network)).expect("local RPC");
    let data_dir = tempfile::tempdir().unwrap();
    // The default window: one slot of verified work (24 s / 48 slots = 500 ms).
    let oracle =
        OracleProcess::start_configured_by(&rpc.url, &data_dir.path().join("oracle"), |config| {
            config.network.seal_grace = Duration::from_secs(2);
            config.limits.max_message_age = None;
        });
    let http = reqwest::Client::new();
    let slot_ms = EPOCH_S * 1_000 / SLOTS;
    let epoch_end_ms = (genesis + EPOCH_S) * 1_000;
    // The honest device is online all epoch: a heartbeat every slot.
    local_chain::wait_for_time(&rpc, genesis).await;
    let mut seq = 0;
    while now_ms() < epoch_end_ms - 2 * slot_ms {
        seq += 1;
        let reply = post_from(
            &http,
            &oracle.url,
            &heartbeat_at(&honest, seq, CELL_A, now_ms()),
        )
        .await;
        assert_eq!(reply, 200);
        tokio::time::sleep(Duration::from_millis(slot_ms as u64)).await;
    }
    // The silent device wakes at the very end and signs a heartbeat for every slot of the
    // epoch: only those of the last slot are young enough to be accepted.
    let start_ms = genesis * 1_000;
    let mut accepted = Vec::new();
    for slot in 0..SLOTS {
        let timestamp_ms = (start_ms + slot * slot_ms + slot_ms / 2).min(now_ms());
        let signed = heartbeat_at(&silent, slot as u64 + 1, CELL_B, timestamp_ms);
        let reply = http
            .post(format!("{}/v1/telemetry", oracle.url))
            .json(&signed)
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        let body: serde_json::Value = reply.json().await.unwrap();
        match status {
            200 => accepted.push(slot),
            422 => assert_eq!(body["error"], "timestamp_too_old", "slot {slot}: {body}"),
            other => panic!("slot {slot}: {other} {body}"),
        }
    }
    assert!(
        !accepted.is_empty() && accepted.iter().all(|slot| *slot >= SLOTS - 3),
        "accepted slots {accepted:?}"
    );
    // Once the epoch is closed on chain and verified, the backdated burst earned the silent
    // device no uptime for the slots it was not online for.
    local_chain::wait_for_time(&rpc, genesis + EPOCH_S).await;
    local_chain::close_epoch(&rpc, &network, &payer, 0);
    let row = |device: &Keypair| {
        let url = format!(
            "{}/v1/devices/{}/rewards?epoch=0",
            oracle.url,
            device.pubkey()
        );
        let http = http.clone();
        async move {
            let started = Instant::now();
            loop {
                let reply = http.get(&url).send().await.unwrap();
                if reply.status() == 200 {
                    let body: serde_json::Value = reply.json().await.unwrap();
                    return body["epochs"][0].clone();
                }
                assert!(
                    started.elapsed() < Duration::from_secs(90),
                    "epoch 0 was not verified"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    let silent_row = row(&silent).await;
    let honest_row = row(&honest).await;
    assert!(
        silent_row["uptime_slots"].as_u64().unwrap() <= 3,
        "{silent_row}"
    );
    assert_eq!(silent_row["amount"], 0, "{silent_row}");
    assert!(
        honest_row["uptime_slots"].as_u64().unwrap() >= 12,
        "{honest_row}"
    );
    assert!(honest_row["amount"].as_u64().unwrap() > 0, "{honest_row}");
    // Every row says how its coverage was proven and where its density was counted: no
    // beacon, no witness (the unverified factor); one asserted cell all epoch.
    assert_eq!(honest_row["beacons"], 0, "{honest_row}");
    assert_eq!(honest_row["witnesses"], 0, "{honest_row}");
    assert_eq!(honest_row["witness_factor_bps"], 2_500, "{honest_row}");
    assert_eq!(honest_row["witness_reports_dropped"]["too_close"], 0);
    assert_eq!(honest_row["density_seconds"], EPOCH_S, "{honest_row}");
    let explanation = honest_row["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("heard by 0 devices of other operators (1 needed): coverage x 25%"),
        "{explanation}"
    );
}
