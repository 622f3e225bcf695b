//! Ingest at a million devices (`cargo bench -p groundwork-oracle-ingest --bench ingest`; a number
//! printed, never a timed assertion). In one run it prints:
//!
//! - the machine's physical ceiling: ed25519 verifications per second per core, single and in
//!   batches (ZIP-215, the rule ingest uses), and the cores;
//! - the embedded store's commit latency per 1,000-message group at 0, 1M, 5M and 10M stored
//!   messages (filled directly through the store: it must stay flat), and the start time with
//!   10M stored (checkpoint + replay) and with the checkpoint removed (full replay);
//! - sustained ingest of binary 1,000-message batches over loopback HTTP from devices of a
//!   1,000,000-device set, p50/p99 per batch; single JSON posts at 64 in flight, p50/p99;
//! - the time (and memory) to seal epochs of 5,000,000 messages;
//! - honest devices' single JSON posts from 100 source addresses, alone and under a forged
//!   flood from 50 other addresses (binary batches of messages naming real devices, signed by
//!   another key, at each address's default source limit): the honest throughput and p99 in
//!   both runs, and how many forged signatures the flood made the oracle verify per second;
//! - the process's peak memory.
//!
//! Targets (issue 11, 2 cores): batches of at least 40,000 msg/s with p99 < 100 ms; single
//! posts of at least 10,000 msg/s with p99 < 50 ms; commit latency flat from 0 to 10M stored.
//! `GROUNDWORK_BENCH_STORED` (default 10,000,000) sets the largest fill;
//! `GROUNDWORK_BENCH_POSTGRES_URL` adds the HTTP phases on PostgreSQL.

use groundwork_oracle_core::process::peak_memory_mib;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use groundwork_oracle_core::clock::{Clock, SystemClock};
use groundwork_oracle_core::devices::{DeviceCache, DeviceInfo};
use groundwork_oracle_core::epochs::EpochSchedule;
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_ingest::api::router;
use groundwork_oracle_ingest::{Ingestor, LimitsConfig};
use groundwork_oracle_store::postgres::PgStore;
use groundwork_oracle_store::segments::{SegmentConfig, SegmentStore};
use groundwork_oracle_store::{Candidate, Store};
use groundwork_telemetry::{
    encode_binary_batch, verify_batch, verify_signature, Key, SignedTelemetry, TelemetryBody,
    TelemetryV1, BINARY_BATCH_MEDIA_TYPE,
};

const DEVICE_SET: usize = 1_000_000;
/// Devices that actually send (each a real key; the rest of the set are other devices).
const SENDERS: usize = 100_000;
const NETWORK: Key = Key([42; 32]);
const DAY_MS: i64 = 86_400_000;

fn seed_of(index: usize) -> [u8; 32] {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(index as u64).to_le_bytes());
    seed
}

fn key_of(seed: &[u8; 32]) -> Key {
    Key(ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes())
}

fn heartbeat(device: Key, seq: u64, now_ms: i64) -> TelemetryV1 {
    TelemetryV1 {
        network: NETWORK,
        device,
        seq,
        timestamp_ms: now_ms,
        body: TelemetryBody::Heartbeat {
            lat_e7: 377_749_000,
            lon_e7: -1_224_194_000,
            uptime_s: seq as u32,
            firmware: 1,
        },
    }
}

/// Signs `count` messages on every core: message `i` is device `i % SENDERS`'s seq
/// `first_seq + i / SENDERS`.
fn sign_messages(
    seeds: &[[u8; 32]],
    keys: &[Key],
    count: usize,
    first_seq: u64,
    now_ms: i64,
) -> Vec<SignedTelemetry> {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    let chunk = count.div_ceil(cores);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|core| {
                scope.spawn(move || {
                    (core * chunk..((core + 1) * chunk).min(count))
                        .map(|i| {
                            let device = i % SENDERS;
                            heartbeat(keys[device], first_seq + (i / SENDERS) as u64, now_ms)
                                .sign(&seeds[device])
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("signer"))
            .collect()
    })
}

/// ed25519 verifications per second on one core: single, and in batches of 64.
fn physical_ceiling(messages: &[SignedTelemetry]) {
    let items: Vec<(Key, Vec<u8>, [u8; 64])> = messages
        .iter()
        .take(20_000)
        .map(|signed| {
            (
                signed.message.device,
                signed.message.canonical_bytes(),
                signed.signature,
            )
        })
        .collect();
    let started = Instant::now();
    for (key, message, signature) in &items {
        assert!(verify_signature(key, message, signature));
    }
    let single = items.len() as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for chunk in items.chunks(64) {
        let borrowed: Vec<(&Key, &[u8], &[u8; 64])> = chunk
            .iter()
            .map(|(key, message, signature)| (key, message.as_slice(), signature))
            .collect();
        assert!(verify_batch(&borrowed).iter().all(|valid| *valid));
    }
    let batched = items.len() as f64 / started.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    println!(
        "ceiling: ed25519 (ZIP-215) {single:.0} verifications/s per core single, {batched:.0}/s per core in batches of 64; {cores} cores => at most {:.0} msg/s of signatures",
        batched * cores as f64
    );
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 * fraction) as usize).min(sorted.len() - 1)]
}

/// A candidate as the store receives it (the store does not verify signatures).
fn synthetic(device: u64, seq: u64, epoch: u64) -> Candidate {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&device.to_le_bytes());
    let message = heartbeat(Key(key), seq, 1_790_000_000_000);
    Candidate {
        device: Key(key),
        seq,
        epoch,
        canonical: message.canonical_bytes(),
        signature: [3; 64],
        received_at_ms: 1,
    }
}

/// Fills a segment store to 10M messages (1M devices x 10 seqs, groups of 10,000) and prints
/// the commit latency of 1,000-message groups at each milestone, then the start times.
async fn commit_latency_and_start(dir: &std::path::Path, largest: u64) {
    let open = |dir: std::path::PathBuf| async move {
        tokio::task::spawn_blocking(move || SegmentStore::open(SegmentConfig::new(dir)))
            .await
            .expect("open")
            .expect("store")
    };
    let store = Store::Segments(Arc::new(open(dir.to_path_buf()).await));
    let devices = DEVICE_SET as u64;
    let mut stored = 0u64;
    let mut probe_seq = 1_000_000u64;
    for milestone in [0, 1_000_000, 5_000_000, 10_000_000] {
        let milestone = milestone.min(largest);
        let fill_started = Instant::now();
        while stored < milestone {
            let group: Vec<Candidate> = (stored..(stored + 10_000).min(milestone))
                .map(|n| synthetic(n % devices, 1 + n / devices, 1 + n / 5_000_000))
                .collect();
            stored += group.len() as u64;
            store.commit(group).await.expect("fill");
        }
        let fill = fill_started.elapsed();
        // 50 probe groups of 1,000 fresh messages from 1,000 devices each.
        let mut latencies = Vec::new();
        for _ in 0..50 {
            let group: Vec<Candidate> = (0..1_000u64)
                .map(|device| synthetic(devices + device, probe_seq, 3))
                .collect();
            probe_seq += 1;
            let started = Instant::now();
            store.commit(group).await.expect("probe");
            latencies.push(started.elapsed());
        }
        latencies.sort();
        println!(
            "commit of a 1,000-message group with {stored} stored: p50 {:?}, p99 {:?}{}",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            if milestone == 0 {
                String::new()
            } else {
                format!(
                    " (filled at {:.0} msg/s)",
                    milestone as f64 / fill.as_secs_f64().max(1e-9)
                )
            }
        );
        if milestone == largest {
            break;
        }
    }
    // Sealing: every filled epoch (5,000,000 messages each) sorted into its index and digested,
    // off the writer: commits to an open epoch go on meanwhile (their latency is printed).
    let newest_filled = stored.saturating_sub(1) / 5_000_000 + 1;
    let memory_before = peak_memory_mib();
    let started = Instant::now();
    let sealing = {
        let store = store.clone();
        tokio::spawn(async move { store.seal_through(newest_filled).await })
    };
    let mut during = Vec::new();
    while !sealing.is_finished() {
        let group: Vec<Candidate> = (0..1_000u64)
            .map(|device| synthetic(devices + device, probe_seq, newest_filled + 1))
            .collect();
        probe_seq += 1;
        let sent = Instant::now();
        store.commit(group).await.expect("commit during the seal");
        during.push(sent.elapsed());
    }
    let sealed = sealing.await.expect("seal task").expect("seal");
    during.sort();
    println!(
        "seal of {} epochs holding {} messages: {:?} (peak memory {:.0} MiB before, {:.0} MiB after); {} commits of 1,000 meanwhile: p50 {:?}, p99 {:?}",
        sealed.len(),
        sealed.iter().map(|manifest| manifest.messages).sum::<u64>(),
        started.elapsed(),
        memory_before,
        peak_memory_mib(),
        during.len(),
        percentile(&during, 0.5),
        percentile(&during, 0.99),
    );
    drop(store);
    let started = Instant::now();
    let store = open(dir.to_path_buf()).await;
    println!(
        "start with {stored} stored, from the checkpoint: {:?}",
        started.elapsed()
    );
    drop(store);
    std::fs::remove_file(dir.join("checkpoint")).expect("checkpoint");
    let started = Instant::now();
    let store = open(dir.to_path_buf()).await;
    println!(
        "start with {stored} stored, without a checkpoint (whole log replayed): {:?}",
        started.elapsed()
    );
    drop(store);
}

/// The limits of the throughput phases: no per-source limit (one client sends everything).
fn unlimited_sources() -> LimitsConfig {
    LimitsConfig {
        device_burst: 1_000,
        source_rate_per_s: 1e9,
        source_burst: u32::MAX,
        ..LimitsConfig::default()
    }
}

/// An oracle over loopback HTTP with `limits`: the device set of `keys` (senders) plus random
/// keys up to `DEVICE_SET`, on `store`.
async fn serve(store: Store, keys: &[Key], limits: LimitsConfig) -> String {
    let mut devices: HashMap<Key, DeviceInfo> = HashMap::with_capacity(DEVICE_SET);
    let info = DeviceInfo {
        suspended: false,
        class_id: 0,
        location: 0,
    };
    for key in keys {
        devices.insert(*key, info);
    }
    for index in keys.len()..DEVICE_SET {
        let mut key = [9u8; 32];
        key[..8].copy_from_slice(&(index as u64).to_le_bytes());
        devices.insert(Key(key), info);
    }
    let ingestor = Ingestor::new(
        NETWORK,
        limits,
        EpochSchedule::new(0, DAY_MS, 3_600_000).expect("a schedule"),
        Arc::new(DeviceCache::new(devices)),
        Arc::new(SystemClock),
        store,
        Arc::new(Metrics::default()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = router(
        Arc::new(ingestor),
        Arc::new(groundwork_oracle_core::peers::FixedOracleSet(Vec::new())),
    )
    .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{address}/v1/telemetry")
}

/// Posts `bodies` with `concurrency` clients; every message must be accepted. Returns the
/// elapsed time and the sorted latencies.
async fn post_all(
    url: &str,
    content_type: &'static str,
    bodies: Vec<Vec<u8>>,
    concurrency: usize,
) -> (Duration, Vec<Duration>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    post_all_from(&[client], url, content_type, bodies, concurrency).await
}

/// A client sending from `127.0.<third>.<fourth>` (a loopback alias: its own source address).
fn client_from(third: u8, fourth: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, third, fourth]))
        .build()
        .expect("client")
}

/// [`post_all`] with worker `i` sending through `clients[i % clients.len()]`.
async fn post_all_from(
    clients: &[reqwest::Client],
    url: &str,
    content_type: &'static str,
    bodies: Vec<Vec<u8>>,
    concurrency: usize,
) -> (Duration, Vec<Duration>) {
    let bodies = Arc::new(tokio::sync::Mutex::new(bodies.into_iter()));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (bodies, client, url) = (
                bodies.clone(),
                clients[worker % clients.len()].clone(),
                url.to_string(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let Some(body) = bodies.lock().await.next() else {
                        break;
                    };
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .header("content-type", content_type)
                        .body(body)
                        .send()
                        .await
                        .expect("post");
                    let status = response.status();
                    let text = response.text().await.expect("reply");
                    assert!(
                        status == 200 && !text.contains("\"rejected\",\"error\""),
                        "{status}: {}",
                        &text[..text.len().min(300)]
                    );
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (elapsed, latencies)
}

fn report(label: &str, messages: usize, elapsed: Duration, latencies: &[Duration]) {
    println!(
        "{label}: {:.0} msg/s, p50 {:?}, p99 {:?} per request ({} requests in {:?})",
        messages as f64 / elapsed.as_secs_f64(),
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        latencies.len(),
        elapsed
    );
}

async fn http_phases(label: &str, store: Store, seeds: &[[u8; 32]], keys: &[Key]) {
    let url = serve(store, keys, unlimited_sources()).await;
    let now = SystemClock.now_ms();
    for (concurrency, first_seq) in [(1usize, 1u64), (2, 3), (4, 5)] {
        // Two rounds of every sender: 200 batches of 1,000.
        let messages = sign_messages(seeds, keys, 2 * SENDERS, first_seq, now);
        let bodies: Vec<Vec<u8>> = messages.chunks(1_000).map(encode_binary_batch).collect();
        let (elapsed, latencies) =
            post_all(&url, BINARY_BATCH_MEDIA_TYPE, bodies, concurrency).await;
        report(
            &format!("{label}: binary batches of 1,000, {concurrency} in flight"),
            messages.len(),
            elapsed,
            &latencies,
        );
    }
    let messages = sign_messages(seeds, keys, 40_000, 7, now);
    let bodies: Vec<Vec<u8>> = messages
        .iter()
        .map(|signed| signed.to_json().into_bytes())
        .collect();
    let (elapsed, latencies) = post_all(&url, "application/json", bodies, 64).await;
    report(
        &format!("{label}: single JSON messages, 64 in flight"),
        messages.len(),
        elapsed,
        &latencies,
    );
}

/// Honest single posts from 100 addresses, alone and under a forged flood from 50 others
/// (SPEC 4.2: before signatures only the per-source limit and a shared bound on signature
/// work; a forged message costs no device anything).
async fn forged_flood_phase(store: Store, seeds: &[[u8; 32]], keys: &[Key]) {
    const HONEST_SOURCES: u8 = 100;
    const FLOOD_SOURCES: u8 = 50;
    const HONEST_MESSAGES: usize = 40_000;
    /// Honest posts in flight: many devices, each posting its own message.
    const HONEST_IN_FLIGHT: usize = 256;
    let limits = LimitsConfig {
        device_burst: 1_000,
        ..LimitsConfig::default()
    };
    let url = serve(store, keys, limits).await;
    let honest: Vec<reqwest::Client> = (0..HONEST_SOURCES).map(|n| client_from(2, n)).collect();
    let now = SystemClock.now_ms();
    let json_bodies = |messages: Vec<SignedTelemetry>| -> Vec<Vec<u8>> {
        messages
            .iter()
            .map(|signed| signed.to_json().into_bytes())
            .collect()
    };
    let alone = json_bodies(sign_messages(seeds, keys, HONEST_MESSAGES, 20, now));
    let (elapsed, latencies) =
        post_all_from(&honest, &url, "application/json", alone, HONEST_IN_FLIGHT).await;
    report(
        &format!("forged flood: honest single JSON posts from {HONEST_SOURCES} addresses, {HONEST_IN_FLIGHT} in flight, no flood"),
        HONEST_MESSAGES,
        elapsed,
        &latencies,
    );

    // The flood: real devices' messages signed by another key, in batches of 1,000, each of
    // 50 addresses sending 2 at a time as fast as it is answered.
    let forger = ed25519_dalek::SigningKey::from_bytes(&[0xF0; 32]);
    let forged: Vec<Vec<u8>> = sign_messages(seeds, keys, 20_000, 30, now)
        .into_iter()
        .map(|signed| {
            use ed25519_dalek::Signer;
            let signature = forger.sign(&signed.message.canonical_bytes()).to_bytes();
            SignedTelemetry {
                message: signed.message,
                signature,
            }
        })
        .collect::<Vec<_>>()
        .chunks(1_000)
        .map(encode_binary_batch)
        .collect();
    let forged = Arc::new(forged);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = tokio::task::JoinSet::new();
    for source in 0..FLOOD_SOURCES {
        for in_flight in 0..2usize {
            let (client, url, forged, stop) = (
                client_from(3, source),
                url.clone(),
                forged.clone(),
                stop.clone(),
            );
            flood.spawn(async move {
                // (requests, forged messages verified, requests refused at the source limit)
                let (mut requests, mut verified, mut refused) = (0u64, 0u64, 0u64);
                let mut next = in_flight;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = forged[next % forged.len()].clone();
                    next += 2;
                    let Ok(response) = client
                        .post(&url)
                        .header("content-type", BINARY_BATCH_MEDIA_TYPE)
                        .body(body)
                        .send()
                        .await
                    else {
                        continue;
                    };
                    requests += 1;
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    match status {
                        429 => refused += 1,
                        _ => verified += text.matches("bad_signature").count() as u64,
                    }
                }
                (requests, verified, refused)
            });
        }
    }
    // Past every flood address's burst before the honest devices are measured.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let flood_started = Instant::now();
    let loaded = json_bodies(sign_messages(seeds, keys, HONEST_MESSAGES, 40, now));
    let (elapsed, latencies) =
        post_all_from(&honest, &url, "application/json", loaded, HONEST_IN_FLIGHT).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut requests, mut verified, mut refused) = (0u64, 0u64, 0u64);
    while let Some(counts) = flood.join_next().await {
        let counts = counts.expect("flood task");
        requests += counts.0;
        verified += counts.1;
        refused += counts.2;
    }
    let flood_seconds = (flood_started.elapsed() + Duration::from_secs(12)).as_secs_f64();
    report(
        "forged flood: the same under the flood",
        HONEST_MESSAGES,
        elapsed,
        &latencies,
    );
    println!(
        "forged flood: {FLOOD_SOURCES} addresses sent {requests} batches of 1,000 forged messages in {flood_seconds:.0} s: {:.0} forged signatures/s verified and refused, {refused} batches refused at the source limit before any signature",
        verified as f64 / flood_seconds
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let largest: u64 = std::env::var("GROUNDWORK_BENCH_STORED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10_000_000);
    runtime.block_on(async {
        let started = Instant::now();
        let seeds: Vec<[u8; 32]> = (0..SENDERS).map(seed_of).collect();
        let keys: Vec<Key> = seeds.iter().map(key_of).collect();
        println!("{SENDERS} sender keys made in {:?}", started.elapsed());
        physical_ceiling(&sign_messages(
            &seeds,
            &keys,
            20_000,
            1,
            SystemClock.now_ms(),
        ));

        let dir = std::env::temp_dir().join(format!("groundwork-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        commit_latency_and_start(&dir.join("fill"), largest).await;
        let _ = std::fs::remove_dir_all(dir.join("fill"));

        let segments = Store::Segments(Arc::new(
            SegmentStore::open(SegmentConfig::new(dir.join("http"))).expect("store"),
        ));
        http_phases("segments", segments.clone(), &seeds, &keys).await;
        forged_flood_phase(segments, &seeds, &keys).await;
        match std::env::var("GROUNDWORK_BENCH_POSTGRES_URL") {
            Ok(url) => {
                let store = Store::Postgres(
                    PgStore::open(&url, 8, Duration::from_millis(2))
                        .await
                        .expect("store"),
                );
                http_phases("postgres", store, &seeds, &keys).await;
            }
            Err(_) => println!(
                "postgres: set GROUNDWORK_BENCH_POSTGRES_URL to a fresh database to measure it"
            ),
        }
        println!("peak memory: {:.0} MiB", peak_memory_mib());
        let _ = std::fs::remove_dir_all(&dir);
    });
}
