//! `groundwork-agent` (the binary) against a real oracle (in this process, on its embedded
//! store) following a real local JSON-RPC endpoint with the four programs and an onboarded
//! device: killed with SIGKILL mid-batch again and again, and cut off from its oracle for a
//! while. What the oracle stored is read back from its store.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::config::OracleConfig;
use groundwork_oracle::store::frame::FrameKind;
use groundwork_telemetry::{Key, TelemetryBody, TelemetryV1};
use groundwork_tests::*;

const AGENT: &str = env!("CARGO_BIN_EXE_groundwork-agent");

/// A network with one onboarded device, served by a local RPC endpoint; epochs of an hour,
/// so none is sealed while a test runs.
struct Network {
    rpc: LocalRpc,
    device: Keypair,
}

fn network() -> Network {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut network = CycleNetwork::launch_with_epochs(now - 60, 3_600);
    let operator = network.operator(2 * HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let mut accounts = network.rt.svm.get_program_accounts(&device_registry::ID);
    accounts.extend(network.rt.svm.get_program_accounts(&staking::ID));
    accounts.extend(network.rt.svm.get_program_accounts(&reward_epochs::ID));
    let rpc = LocalRpc::start(accounts).expect("local RPC");
    Network { rpc, device }
}

fn registry() -> Key {
    Key(groundwork_client::device_registry::registry_config_address().to_bytes())
}

/// An oracle served from this process until stopped.
struct Oracle {
    url: String,
    data_dir: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Oracle {
    fn start(rpc_url: &str, port: u16, data_dir: &Path, device: &Key) -> Self {
        let mut config = OracleConfig::local(registry(), rpc_url, port, data_dir);
        // The agent may send what it buffered through a ten-minute outage, as fast as it can.
        config.limits.max_message_age = Some(Duration::from_secs(600));
        config.limits.device_rate_per_s = 10_000.0;
        config.limits.device_burst = 10_000;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(groundwork_oracle::service::serve(config, async move {
                while !flag.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }))
        });
        let url = format!("http://127.0.0.1:{port}");
        let oracle = Oracle {
            url: url.clone(),
            data_dir: data_dir.to_path_buf(),
            stop,
            thread: Some(thread),
        };
        wait_for(
            "the oracle to know the device",
            Duration::from_secs(60),
            || {
                get_json(&format!("{url}/v1/devices/{device}"))
                    .filter(|reply| reply["onboarded"] == true)
            },
        );
        oracle
    }

    /// Stops the oracle and waits until its port is closed.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap().unwrap();
        }
    }

    /// Every message its store holds, by seq: the heartbeat's `uptime_s` (the reading's id).
    fn stored(&self, device: &Key) -> BTreeMap<u64, u32> {
        let dir = self.data_dir.join("telemetry");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let config = groundwork_oracle::store::segments::SegmentConfig::new(&dir);
            let store = tokio::task::spawn_blocking(move || {
                groundwork_oracle::store::segments::SegmentStore::open(config)
            })
            .await
            .unwrap()
            .unwrap();
            let store = groundwork_oracle::store::Store::Segments(Arc::new(store));
            let mut stored = BTreeMap::new();
            for epoch in 0..3 {
                for record in store.epoch_records(epoch).await.unwrap() {
                    assert_eq!(
                        record.kind,
                        FrameKind::Message,
                        "a conflicting copy was kept: a seq was reused"
                    );
                    if record.device != *device {
                        continue;
                    }
                    let message = TelemetryV1::from_canonical_bytes(&record.canonical).unwrap();
                    let TelemetryBody::Heartbeat { uptime_s, .. } = message.body else {
                        panic!("only heartbeats were sent");
                    };
                    assert!(stored.insert(record.seq, uptime_s).is_none());
                }
            }
            stored
        })
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn get_json(url: &str) -> Option<serde_json::Value> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut stream, &mut reply).ok()?;
    serde_json::from_str(&reply[reply.find("\r\n\r\n")? + 4..]).ok()
}

/// POSTs a JSON body over plain HTTP/1.0 and reads the JSON reply.
fn post_json(url: &str, body: &str) -> Option<serde_json::Value> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut stream, &mut reply).ok()?;
    serde_json::from_str(&reply[reply.find("\r\n\r\n")? + 4..]).ok()
}

fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The agent process, its stdin, and the seqs it acknowledged (read from its stdout).
struct Agent {
    child: Child,
    acked: Arc<Mutex<Vec<u64>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Agent {
    fn start(device_file: &Path, data_dir: &Path, oracles: &[&str]) -> Self {
        let mut command = Command::new(AGENT);
        command
            .arg("--device-keypair")
            .arg(device_file)
            .args(["--network", &registry().to_string()])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--batch-size", "50", "--max-message-age", "10m"]);
        for oracle in oracles {
            command.args(["--oracle", oracle]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let into = acked.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let reply: serde_json::Value = serde_json::from_str(&line).unwrap();
                into.lock().unwrap().push(reply["seq"].as_u64().unwrap());
            }
        });
        Agent {
            child,
            acked,
            reader: Some(reader),
        }
    }

    /// Kills it with SIGKILL and returns every seq it acknowledged before dying (its output
    /// read to the end).
    fn kill_9(mut self) -> Vec<u64> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.acked()
    }

    /// Writes the heartbeat whose id is `id`; false once the agent is gone.
    fn write(&mut self, id: u32) -> bool {
        let line = format!(
            "{{\"heartbeat\":{{\"lat_e7\":377749000,\"lon_e7\":-1224194000,\"uptime_s\":{id},\"firmware\":1}}}}\n"
        );
        self.child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(line.as_bytes())
            .is_ok()
    }

    fn acked(&self) -> Vec<u64> {
        self.acked.lock().unwrap().clone()
    }

    /// Closes its input and waits for it to send what it holds and exit.
    fn finish(mut self, limit: Duration) -> Vec<u64> {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the agent exited with {status}");
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return self.acked();
            }
            assert!(
                Instant::now() < deadline,
                "the agent did not drain within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_keypair(device: &Keypair, path: &Path) {
    std::fs::write(
        path,
        serde_json::to_string(&device.to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
}

fn status(data_dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(data_dir.join("status.json")).unwrap_or_default())
        .unwrap_or_default()
}

#[test]
fn killed_twenty_times_mid_batch_the_agent_never_reuses_a_seq_nor_resends_a_reading_as_new() {
    let net = network();
    let device = Key(net.device.pubkey().to_bytes());
    let dir = tempfile::tempdir().unwrap();
    let mut oracle = Oracle::start(
        &net.rpc.url,
        free_port(),
        &dir.path().join("oracle"),
        &device,
    );
    let device_file = dir.path().join("device.json");
    write_keypair(&net.device, &device_file);
    let agent_dir = dir.path().join("agent");
    let mut acked = Vec::new();
    let mut next_id = 0u32;
    for round in 0..20u64 {
        let mut agent = Agent::start(&device_file, &agent_dir, &[&oracle.url]);
        // Readings keep coming; the kill lands at a different moment of each round, in the
        // middle of journaling and sending batches.
        let kill_at = Instant::now() + Duration::from_millis(150 + (round * 37) % 250);
        while Instant::now() < kill_at {
            if !agent.write(next_id) {
                break;
            }
            next_id += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        acked.extend(agent.kill_9());
    }
    // A last run sends what the killed ones journaled and exits once it is all resolved.
    let agent = Agent::start(&device_file, &agent_dir, &[&oracle.url]);
    let final_status = {
        acked.extend(agent.finish(Duration::from_secs(120)));
        status(&agent_dir)
    };
    assert_eq!(final_status["pending"], 0, "{final_status}");
    assert_eq!(
        final_status["refused"],
        serde_json::json!({}),
        "{final_status}"
    );
    oracle.stop();
    let stored = oracle.stored(&device);

    // Every seq the agent acknowledged was used once and is stored: nothing acknowledged was
    // lost.
    let distinct: BTreeSet<u64> = acked.iter().copied().collect();
    assert_eq!(distinct.len(), acked.len(), "a seq was acknowledged twice");
    let missing: Vec<&u64> = distinct
        .iter()
        .filter(|seq| !stored.contains_key(seq))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    // No reading was signed twice (as a new message under another seq).
    let ids: BTreeSet<u32> = stored.values().copied().collect();
    assert_eq!(
        ids.len(),
        stored.len(),
        "a reading was sent again as a new message"
    );
    // Seqs only increased across the kills, in the order the readings were written.
    let by_seq: Vec<u32> = stored.values().copied().collect();
    assert!(
        by_seq.windows(2).all(|pair| pair[0] < pair[1]),
        "{by_seq:?}"
    );
    assert!(stored.len() >= acked.len());
    assert!(
        acked.len() > 100,
        "only {} readings acknowledged",
        acked.len()
    );
    eprintln!(
        "20 kills: {} readings written, {} acknowledged, {} stored",
        next_id,
        acked.len(),
        stored.len()
    );
}

#[test]
fn readings_buffered_through_an_oracle_outage_are_accepted_when_it_returns() {
    let net = network();
    let device = Key(net.device.pubkey().to_bytes());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let oracle_dir = dir.path().join("oracle");
    let mut oracle = Oracle::start(&net.rpc.url, port, &oracle_dir, &device);
    let device_file = dir.path().join("device.json");
    write_keypair(&net.device, &device_file);
    let agent_dir = dir.path().join("agent");
    // The device sent before, with seqs far above the clock (another client): a fresh agent
    // starts above the oracle's last seq, or every message would be refused as stale.
    let earlier_seq = 9_000_000_000_000u64;
    let seed: [u8; 32] = net.device.to_bytes()[..32].try_into().unwrap();
    let earlier = TelemetryV1 {
        network: registry(),
        device,
        seq: earlier_seq,
        timestamp_ms: groundwork_agent::sender::now_ms(),
        body: TelemetryBody::Heartbeat {
            lat_e7: 377_749_000,
            lon_e7: -1_224_194_000,
            uptime_s: 999,
            firmware: 1,
        },
    }
    .sign(&seed);
    let posted = post_json(&format!("{}/v1/telemetry", oracle.url), &earlier.to_json()).unwrap();
    assert_eq!(posted["status"], "accepted", "{posted}");
    // The first oracle named is never there: the agent fails over to the second.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&device_file, &agent_dir, &[&dead, &oracle.url]);
    for id in 0..20 {
        assert!(agent.write(id));
    }
    wait_for("20 readings accepted", Duration::from_secs(30), || {
        (status(&agent_dir)["accepted"] == 20).then_some(())
    });
    // A second agent on the same directory would hand out the same seqs: it is refused.
    let second = Command::new(AGENT)
        .arg("--device-keypair")
        .arg(&device_file)
        .args([
            "--network",
            &registry().to_string(),
            "--oracle",
            &oracle.url,
        ])
        .arg("--data-dir")
        .arg(&agent_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("another groundwork-agent is running"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // The oracle goes away: readings are journaled, acknowledged and kept.
    oracle.stop();
    for id in 20..70 {
        assert!(agent.write(id));
        std::thread::sleep(Duration::from_millis(20));
    }
    let waiting = wait_for(
        "50 readings kept while no oracle answers",
        Duration::from_secs(30),
        || {
            let status = status(&agent_dir);
            (status["pending"] == 50
                && status["last_error"]
                    .as_str()
                    .is_some_and(|error| error.contains("no oracle took the batch")))
            .then_some(status)
        },
    );
    assert_eq!(waiting["journaled"], 70, "{waiting}");
    std::thread::sleep(Duration::from_secs(3));

    // It comes back on the same port and data: the agent's next try delivers everything.
    let mut oracle = Oracle::start(&net.rpc.url, port, &oracle_dir, &device);
    let acked = agent.finish(Duration::from_secs(120));
    assert_eq!(acked.len(), 70);
    assert!(acked.iter().all(|seq| *seq > earlier_seq), "{acked:?}");
    let last = status(&agent_dir);
    assert_eq!(
        (
            last["accepted"].as_u64(),
            last["pending"].as_u64(),
            last["dropped_too_old"].as_u64()
        ),
        (Some(70), Some(0), Some(0)),
        "{last}"
    );
    assert!(
        last["clock_skew_ms"]
            .as_i64()
            .is_some_and(|skew| skew.abs() < 2_000),
        "{last}"
    );
    let summary = get_json(&format!("{}/v1/devices/{device}", oracle.url)).unwrap();
    assert_eq!(summary["accepted"], 71, "{summary}");
    oracle.stop();
    let stored = oracle.stored(&device);
    assert_eq!(stored.len(), 71);
    assert_eq!(stored[&earlier_seq], 999);
    assert_eq!(
        stored
            .range(earlier_seq + 1..)
            .map(|(_, id)| *id)
            .collect::<Vec<_>>(),
        (0..70).collect::<Vec<_>>()
    );
}
