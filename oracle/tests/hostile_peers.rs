//! Hostile peers against the oracle binary on a local network (surfpool), SPEC 4.3 "Shared
//! input": one peer trickles its stream a byte every 20 s (slower than no per-chunk timeout
//! catches), one announces a billion-record manifest and streams one device's records
//! without end, one streams records of devices the chain never onboarded without end. The
//! oracle computes and votes the epoch within `peer_wait` and a bound after the seal, writes
//! nothing of what they sent, and its report names how each peer failed.

mod local_chain;

use std::time::{Duration, Instant};

use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::store::frame::FrameKind;
use groundwork_oracle::store::manifest::{
    encode_stream_head, encode_stream_record, hash_of, EpochRecord, Manifest,
};
use groundwork_telemetry::{Key, TelemetryBody, TelemetryV1};
use groundwork_tests::*;
use local_chain::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EPOCH_S: i64 = 20;
const PEER_WAIT: Duration = Duration::from_secs(30);
/// Longer than the trickle's interval: only the pull's total deadline stops the trickler.
const PEER_TIMEOUT: Duration = Duration::from_secs(25);
const TRICKLE_EVERY: Duration = Duration::from_secs(20);
const ANNOUNCED: u64 = 1_000_000_000;

/// What a hostile peer streams after the response head.
#[derive(Clone, Copy)]
enum Hostility {
    /// The head of a one-record stream, one byte every [`TRICKLE_EVERY`].
    Trickle,
    /// A manifest of [`ANNOUNCED`] records, then the onboarded device's records, seq 1, 2, ...
    /// (signatures that do not hold), without end.
    BillionRecords,
    /// A manifest of [`ANNOUNCED`] records, then one record for each of ever new device keys
    /// the chain never onboarded, without end.
    UnknownDevices,
}

fn record_of(device: Key, seq: u64, timestamp_ms: i64) -> EpochRecord {
    let canonical = TelemetryV1 {
        network: Key(groundwork_client::device_registry::registry_config_address().to_bytes()),
        device,
        seq,
        timestamp_ms,
        body: TelemetryBody::Heartbeat {
            lat_e7: 1,
            lon_e7: 2,
            uptime_s: 3,
            firmware: 4,
        },
    }
    .canonical_bytes();
    EpochRecord {
        kind: FrameKind::Message,
        device,
        seq,
        hash: hash_of(&canonical),
        canonical,
        signature: [7; 64],
        received_at_ms: 0,
    }
}

/// Writes the hostile body to `socket` until the oracle hangs up.
async fn stream_hostile_body(
    socket: &mut tokio::net::TcpStream,
    hostility: Hostility,
    device: Key,
    timestamp_ms: i64,
) -> std::io::Result<()> {
    let head = |messages| {
        encode_stream_head(&Manifest {
            epoch: 0,
            messages,
            conflicts: 0,
            digest: "00".repeat(32),
        })
    };
    match hostility {
        Hostility::Trickle => {
            for byte in head(1) {
                socket.write_all(&[byte]).await?;
                tokio::time::sleep(TRICKLE_EVERY).await;
            }
            Ok(())
        }
        Hostility::BillionRecords | Hostility::UnknownDevices => {
            socket.write_all(&head(ANNOUNCED)).await?;
            let mut next = 1u64;
            loop {
                // 2,000 records every 100 ms: unbounded, without starving the machine.
                let mut batch = Vec::new();
                for _ in 0..2_000 {
                    let record = match hostility {
                        Hostility::BillionRecords => record_of(device, next, timestamp_ms),
                        _ => {
                            let mut key = [0xEE; 32];
                            key[24..].copy_from_slice(&next.to_be_bytes());
                            record_of(Key(key), 1, timestamp_ms)
                        }
                    };
                    encode_stream_record(&record, &mut batch);
                    next += 1;
                }
                socket.write_all(&batch).await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A peer that answers every request with a 200 epoch stream written by `hostility`: its URL.
async fn hostile_peer(hostility: Hostility, device: Key, timestamp_ms: i64) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1_024];
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.groundwork.epoch-telemetry-v1\r\nconnection: close\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_ok() {
                    let _ = stream_hostile_body(&mut socket, hostility, device, timestamp_ms).await;
                }
            });
        }
    });
    url
}

/// Bytes of every file under `dir`.
fn disk_use(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => disk_use(&entry.path()),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_delay_an_epoch_by_peer_wait_at_most_and_fill_no_disk() {
    let genesis = now_unix() + 3;
    let mut network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let payer = network.rt.payer.insecure_clone();
    let voter = network.oracles[0].insecure_clone();
    let operator = network.operator(2 * HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let device_key = Key(device.pubkey().to_bytes());
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    let dir = tempfile::tempdir().unwrap();
    let keypair = dir.path().join("voter.json");
    std::fs::write(
        &keypair,
        serde_json::to_string(&voter.to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
    let inside_epoch_ms = (genesis + EPOCH_S / 2) * 1_000;
    let peers = [
        hostile_peer(Hostility::Trickle, device_key, inside_epoch_ms).await,
        hostile_peer(Hostility::BillionRecords, device_key, inside_epoch_ms).await,
        hostile_peer(Hostility::UnknownDevices, device_key, inside_epoch_ms).await,
    ];
    let data = dir.path().join("data");
    let oracle =
        OracleProcess::start_voting_on(&rpc.url, free_port(), &data, &keypair, None, |config| {
            config.shared_input.peers = peers.to_vec();
            config.shared_input.peer_wait = PEER_WAIT;
            config.shared_input.timeout = PEER_TIMEOUT;
            config.shared_input.pull_every = Duration::from_secs(1);
        });

    // The device is heard all epoch by this oracle.
    wait_for_time(&rpc, genesis).await;
    let http = reqwest::Client::new();
    let mut seq = 0;
    while now_unix() < genesis + EPOCH_S - 1 {
        seq += 1;
        let heartbeat = TelemetryV1 {
            network: Key(groundwork_client::device_registry::registry_config_address().to_bytes()),
            device: device_key,
            seq,
            timestamp_ms: now_unix() * 1_000,
            body: TelemetryBody::Heartbeat {
                lat_e7: 1,
                lon_e7: 2,
                uptime_s: seq as u32,
                firmware: 4,
            },
        }
        .sign(&device.to_bytes()[..32].try_into().unwrap());
        let reply = http
            .post(format!("{}/v1/telemetry", oracle.url))
            .json(&heartbeat)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "{}", reply.text().await.unwrap());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wait_for_time(&rpc, genesis + EPOCH_S).await;
    close_epoch(&rpc, &network, &payer, 0);
    let epoch_end = Instant::now();

    // The vote lands within the seal's grace, the peer wait and a bound.
    let bound = Duration::from_secs(2) + PEER_WAIT + Duration::from_secs(45);
    let vote = loop {
        let record = epoch_record(&rpc, 0);
        if let Some(vote) = record
            .votes
            .iter()
            .find(|vote| vote.oracle == voter.pubkey())
        {
            break *vote;
        }
        assert!(
            epoch_end.elapsed() < bound,
            "no vote {bound:?} after the epoch's end"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!(
        "voted {:.1} s after the epoch's end (seal grace 2 s, peer wait {} s)",
        epoch_end.elapsed().as_secs_f64(),
        PEER_WAIT.as_secs()
    );
    let get_json = |path: String| {
        let request = http.get(format!("{}{path}", oracle.url));
        async move {
            let reply = request.send().await.unwrap();
            reply.json::<serde_json::Value>().await.unwrap()
        }
    };
    let report = get_json("/v1/epochs/0/rewards".into()).await;
    assert_eq!(report["root"], hex::encode(vote.root), "{report}");
    let inputs = &report["inputs"];
    assert_eq!(inputs["missing_peer_sets"], 3, "{report}");
    assert!(inputs["peers_merged"].as_array().unwrap().is_empty());
    // The report names how each peer failed.
    let failure_of = |peer: &str| {
        inputs["peers_missing"]
            .as_array()
            .unwrap()
            .iter()
            .find(|missing| missing["peer"] == peer)
            .unwrap_or_else(|| panic!("{peer} is not named: {report}"))["last_failure"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let trickler = failure_of(&peers[0]);
    assert!(trickler.contains("no whole manifest yet"), "{trickler}");
    let billion = failure_of(&peers[1]);
    assert!(
        billion.contains(&format!(
            "of the {ANNOUNCED} records its manifest announced"
        )),
        "{billion}"
    );
    let unknown = failure_of(&peers[2]);
    assert!(
        unknown.contains("of devices the chain does not know") && !unknown.contains("(0 of"),
        "{unknown}"
    );
    eprintln!("peers missing: {trickler}; {billion}; {unknown}");
    // The own device's heartbeats counted; the hostile streams left nothing on disk.
    let row = get_json(format!("/v1/devices/{}/rewards?epoch=0", device.pubkey())).await;
    assert!(
        row["epochs"][0]["uptime_slots"].as_u64().unwrap() > 0,
        "{row}"
    );
    let peers_disk = disk_use(&data.join("peers"));
    eprintln!("the peers' folder holds {peers_disk} bytes");
    assert!(peers_disk < 64 * 1_024, "{peers_disk} bytes under peers/");
}
