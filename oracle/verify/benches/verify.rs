//! Verified work at network scale (a benchmark, not a test), in two parts.
//!
//! 1. The computation: for each size in
//!    GROUNDWORK_BENCH_SIZES (default 10000,100000,1000000), devices spread over a city's cells,
//!    each with 48 heartbeats, a data session (and credits paid on chain), a beacon and a witness
//!    of a neighbour's beacon (a device of another operator: proof of coverage) — 51 messages a
//!    device — fed to the computation a device at a
//!    time, as the store streams a sealed epoch. Prints the time of each stage (score: every
//!    device's rules, uptime, trust; finish: witnesses, density cap, split, leaves and tree) and
//!    the peak memory, and the machine's ceiling: the haversine distances per second one core
//!    computes (each heartbeat costs about three).
//! 2. The stage end to end, for each size in GROUNDWORK_BENCH_STAGE_SIZES (default
//!    10000,100000; a million devices' epoch is 12 GB of segment files per oracle): two oracles'
//!    segment stores each hold half the devices' signed messages; oracle A pulls B's sealed set
//!    over HTTP (B served by the real ingest routes; every record A lacks is checked and its
//!    signature verified), then computes the epoch over both sets from its store and the pulled
//!    file and stores the report — the time of each step, the peak memory of the stage, and the
//!    ceiling of the signature checks: signatures one core verifies per second in batches.
//!
//! 3. The epoch bundle (SPEC 4.6) of the stage's epoch: published by the publisher into a
//!    local directory (the union written again from both sets), then checked as
//!    `groundwork rewards verify-epoch` checks it — fetched against every digest, every
//!    record's signature verified, the epoch computed again over it and compared row by row
//!    (the chain snapshot's rebuild from RPC is not part of it: it depends on the endpoint;
//!    `cargo bench -p groundwork-oracle --bench chain_view` measures the chain view) — with
//!    its time and memory beside the stage's own computation in the same run.
//!
//! Run: `cargo bench -p groundwork-oracle-verify --bench verify`

use groundwork_oracle_core::process::{peak_memory_mib, reset_peak_memory, AllocatedPeak};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use ed25519_dalek::{Signer, SigningKey};
use groundwork_oracle_chainview::model::EpochClose;
use groundwork_oracle_chainview::snapshot::{
    ChainSnapshot, ClassEntry, CreditPrice, DeviceEntry, LocationSpan, OperatorEntry, Standing,
    StandingSpan, SNAPSHOT_VERSION,
};
use groundwork_oracle_core::clock::FixedClock;
use groundwork_oracle_core::devices::DeviceCache;
use groundwork_oracle_core::epochs::EpochSchedule;
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_ingest::{Ingestor, LimitsConfig};
use groundwork_oracle_rewards::geo::{cell_centre, distance_m, Point};
use groundwork_oracle_rewards::{EpochComputation, Message, VerifyParams};
use groundwork_oracle_store::segments::{SegmentConfig, SegmentStore};
use groundwork_oracle_store::{Candidate, Store};
use groundwork_oracle_verify::shared::{PullOutcome, SharedInput};
use groundwork_oracle_verify::stage::Verifier;
use groundwork_telemetry::{Key, TelemetryBody, TelemetryV1};

const START: i64 = 1_800_000_000;
const LENGTH: i64 = 86_400;

fn key(index: usize) -> Key {
    let mut bytes = [3u8; 32];
    bytes[..8].copy_from_slice(&(index as u64).to_be_bytes());
    Key(bytes)
}

/// Device `index`'s cell: a grid over about 30 km × 30 km, several devices per cell.
fn cell_of(index: usize, devices: usize) -> u64 {
    let side = ((devices as f64).sqrt() as usize).max(1);
    let (row, column) = (index / side, index % side);
    let lat = 37.6 + 0.27 * row as f64 / side as f64;
    let lon = -122.5 + 0.34 * column as f64 / side as f64;
    u64::from(
        h3o::LatLng::new(lat, lon)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve),
    )
}

fn snapshot(keys: &[Key]) -> ChainSnapshot {
    let devices = keys.len();
    let operators = (devices / 10).max(1);
    let operator = |index: usize| {
        let mut bytes = [9u8; 32];
        bytes[..8].copy_from_slice(&((index % operators) as u64).to_be_bytes());
        Pubkey::new_from_array(bytes)
    };
    let mut entries: Vec<DeviceEntry> = (0..devices)
        .map(|index| DeviceEntry {
            device: Pubkey::new_from_array(keys[index].0),
            operator: operator(index),
            class_id: 0,
            reward_recipient: None,
            onboarded_at: START - 86_400,
            standing: vec![StandingSpan {
                from_ts: START,
                standing: Standing::Active,
            }],
            locations: vec![LocationSpan {
                from_ts: START,
                cell: cell_of(index, devices),
            }],
            credits_paid: 1_000 + (index as u64 % 100),
        })
        .collect();
    entries.sort_by_key(|entry| entry.device);
    ChainSnapshot {
        version: SNAPSHOT_VERSION,
        epoch: 3,
        start_ts: START,
        end_ts: START + LENGTH,
        params: EpochClose {
            epoch: 3,
            closed_at: START + LENGTH + 10,
            minted: 100_000_000_000,
            device_share: 70_000_000_000,
            staker_share: 20_000_000_000,
            treasury_share: 10_000_000_000,
            device_pool_cumulative: 280_000_000_000,
            devices_bps: 7_000,
            stakers_bps: 2_000,
            treasury_bps: 1_000,
        },
        credit_prices: vec![CreditPrice {
            purchased_at: START,
            network_tokens_burned: 2_000_000,
            credits_minted: 100_000,
            exact: None,
        }],
        classes: vec![ClassEntry {
            class_id: 0,
            reward_weight_bps: 10_000,
        }],
        operators: (0..operators)
            .map(|index| OperatorEntry {
                operator: operator(index),
                reward_recipient: Some(operator(index)),
                active_stake: 0,
                pool: None,
            })
            .collect(),
        devices: entries,
    }
}

/// Device `index`'s 51 messages of the epoch.
fn messages_of(index: usize, keys: &[Key], centre: Point) -> Vec<Message> {
    let devices = keys.len();
    let slot_ms = LENGTH * 1_000 / 48;
    let device = keys[index];
    let mut messages: Vec<Message> = (0..48)
        .map(|slot| Message {
            device,
            seq: slot as u64 + 1,
            timestamp_ms: START * 1_000 + slot * slot_ms + 1_000,
            body: TelemetryBody::Heartbeat {
                lat_e7: centre.lat_e7 + (index as i32 % 50),
                lon_e7: centre.lon_e7,
                uptime_s: 1_800,
                firmware: 1,
            },
        })
        .collect();
    let late = START * 1_000 + 47 * slot_ms + 60_000;
    messages.push(Message {
        device,
        seq: 100,
        timestamp_ms: late,
        body: TelemetryBody::Beacon {
            frequency_hz: 868_100_000,
            nonce: [7; 16],
        },
    });
    let neighbour = (index + 7) % devices;
    messages.push(Message {
        device,
        seq: 101,
        timestamp_ms: late + 1_000,
        body: TelemetryBody::Witness {
            beacon_device: keys[neighbour],
            beacon_seq: 100,
            rssi_dbm: -100,
            snr_db_e1: 40,
            frequency_hz: 868_100_000,
        },
    });
    messages.push(Message {
        device,
        seq: 102,
        timestamp_ms: late + 2_000,
        body: TelemetryBody::DataSession {
            payer: Key([5; 32]),
            bytes_up: 1_000,
            bytes_down: 50_000,
            session_id: index as u64,
        },
    });
    messages
}

/// Haversine distances one core computes per second.
fn ceiling() {
    let a = Point::new(377_749_000, -1_224_194_000).unwrap();
    let started = Instant::now();
    let mut total = 0u64;
    for step in 0..2_000_000i32 {
        let b = Point::new(377_749_000 + step % 10_000, -1_224_194_000).unwrap();
        total = total.wrapping_add(distance_m(a, b));
    }
    let per_second = 2_000_000.0 / started.elapsed().as_secs_f64();
    println!("ceiling: {per_second:.0} haversine distances/s on one core (checksum {total})");
}

fn sizes(variable: &str, default: &str) -> Vec<usize> {
    std::env::var(variable)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|size| size.trim().parse().ok())
        .collect()
}

/// Part 1: the computation alone, fed a device at a time.
fn computation(devices: usize, params: &VerifyParams) {
    let keys: Vec<Key> = (0..devices).map(key).collect();
    let snapshot = snapshot(&keys);
    let centres: Vec<Point> = (0..devices)
        .map(|index| cell_centre(cell_of(index, devices)).unwrap())
        .collect();
    reset_peak_memory();
    let mut computation = EpochComputation::new(&snapshot, params).unwrap();
    let mut scoring = Duration::ZERO;
    let mut generating = Duration::ZERO;
    for (index, centre) in centres.iter().enumerate() {
        let started = Instant::now();
        let messages = messages_of(index, &keys, *centre);
        generating += started.elapsed();
        let started = Instant::now();
        computation.add_device(keys[index], messages);
        scoring += started.elapsed();
    }
    let started = Instant::now();
    let rewards = computation
        .finish(&BTreeSet::new(), 0, &BTreeMap::new())
        .unwrap();
    let finishing = started.elapsed();
    let counts = rewards.device_counts();
    let (rewarded, zeroed) = (counts.rewarded, counts.zeroed);
    let verified = rewards
        .rows
        .iter()
        .filter(|row| row.witnesses >= params.witnesses.min_witnesses)
        .count();
    println!(
        "{devices} devices, {} messages: score {:.1} s, finish (witnesses, density, split, tree) {:.1} s, total {:.1} s (generating the messages, not counted: {:.1} s); {rewarded} rewarded ({verified} with their beacons witnessed by another operator's device), {zeroed} zeroed, {} recipients, dust {}; peak memory {:.0} MiB",
        devices * 51,
        scoring.as_secs_f64(),
        finishing.as_secs_f64(),
        (scoring + finishing).as_secs_f64(),
        generating.as_secs_f64(),
        rewards.cumulative.len(),
        rewards.dust,
        peak_memory_mib(),
    );
}

const NETWORK: Key = Key([9; 32]);
const EPOCH: u64 = 3;

fn schedule() -> EpochSchedule {
    EpochSchedule::new(
        (START - EPOCH as i64 * LENGTH) * 1_000,
        LENGTH * 1_000,
        60_000,
    )
    .unwrap()
}

/// Signatures one core verifies per second, in batches as the pull checks them.
fn signature_ceiling() -> f64 {
    let signing = SigningKey::from_bytes(&[4; 32]);
    let key = Key(signing.verifying_key().to_bytes());
    let messages: Vec<(Vec<u8>, [u8; 64])> = (0..4_096u32)
        .map(|index| {
            let bytes = index.to_be_bytes().repeat(30);
            let signature = signing.sign(&bytes).to_bytes();
            (bytes, signature)
        })
        .collect();
    let items: Vec<(&Key, &[u8], &[u8; 64])> = messages
        .iter()
        .map(|(bytes, signature)| (&key, bytes.as_slice(), signature))
        .collect();
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(2) {
        assert!(groundwork_telemetry::verify_batch(&items)
            .iter()
            .all(|ok| *ok));
        rounds += 1;
    }
    (rounds * items.len()) as f64 / started.elapsed().as_secs_f64()
}

async fn open_store(dir: &std::path::Path) -> Store {
    let config = SegmentConfig::new(dir.join("telemetry"));
    let store = tokio::task::spawn_blocking(move || SegmentStore::open(config))
        .await
        .unwrap()
        .unwrap();
    Store::Segments(std::sync::Arc::new(store))
}

/// Part 2: oracle A pulls oracle B's half over HTTP and computes the epoch over both.
async fn stage(devices: usize, params: &VerifyParams) {
    let root = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (root.path().join("a"), root.path().join("b"));
    let started = Instant::now();
    let signing: Vec<SigningKey> = (0..devices)
        .map(|index| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(index as u64).to_be_bytes());
            SigningKey::from_bytes(&seed)
        })
        .collect();
    let keys: Vec<Key> = signing
        .iter()
        .map(|signing| Key(signing.verifying_key().to_bytes()))
        .collect();
    let snapshot = snapshot(&keys);
    for dir in [&a_dir, &b_dir] {
        let path = dir.join("chain-view/snapshots/3.snapshot");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, snapshot.encode()).unwrap();
    }
    let (a_store, b_store) = (open_store(&a_dir).await, open_store(&b_dir).await);
    let mut committing = Duration::ZERO;
    let mut group: Vec<Candidate> = Vec::new();
    let half = devices / 2;
    for (index, signing) in signing.iter().enumerate() {
        let centre = cell_centre(cell_of(index, devices)).unwrap();
        for message in messages_of(index, &keys, centre) {
            let message = TelemetryV1 {
                network: NETWORK,
                device: message.device,
                seq: message.seq,
                timestamp_ms: message.timestamp_ms,
                body: message.body,
            };
            let canonical = message.canonical_bytes();
            group.push(Candidate {
                device: message.device,
                seq: message.seq,
                epoch: EPOCH,
                signature: signing.sign(&canonical).to_bytes(),
                canonical,
                received_at_ms: 0,
            });
        }
        if group.len() >= 50_000 || index + 1 == half || index + 1 == devices {
            let store = if index < half { &a_store } else { &b_store };
            let committed = Instant::now();
            store.commit(std::mem::take(&mut group)).await.unwrap();
            committing += committed.elapsed();
        }
    }
    let preparing = started.elapsed() - committing;
    for store in [&a_store, &b_store] {
        store.seal_through(EPOCH).await.unwrap();
    }
    let ingestor = Ingestor::new(
        NETWORK,
        LimitsConfig::default(),
        schedule(),
        std::sync::Arc::new(DeviceCache::new(HashMap::new())),
        std::sync::Arc::new(FixedClock::new(0)),
        b_store.clone(),
        std::sync::Arc::new(Metrics::default()),
    );
    // The pulling oracle signs with its key; the peer serves only that key.
    let key_seed = [77; 32];
    let oracles = std::sync::Arc::new(groundwork_oracle_core::peers::FixedOracleSet(vec![
        groundwork_oracle_core::peers::PeerKey::from_seed(key_seed).public(),
    ]));
    let app = groundwork_oracle_ingest::api::router(std::sync::Arc::new(ingestor), oracles)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    reset_peak_memory();
    let shared = std::sync::Arc::new(
        SharedInput::new(
            a_dir.join("peers"),
            std::slice::from_ref(&peer),
            NETWORK,
            schedule(),
            Duration::from_secs(600),
            Duration::from_secs(60),
            Some(groundwork_oracle_core::peers::PeerSigner::new(
                groundwork_oracle_core::peers::PeerKey::from_seed(key_seed),
                std::sync::Arc::new(FixedClock::new(0)),
            )),
        )
        .unwrap(),
    );
    let allocated = AllocatedPeak::start();
    let started = Instant::now();
    let outcomes = shared.pull_epoch(&a_store, EPOCH).await;
    let pulling = started.elapsed();
    let Ok(PullOutcome::Pulled(set)) = &outcomes[0].1 else {
        panic!("the pull failed: {:?}", outcomes[0].1)
    };
    let pull_peak = peak_memory_mib();
    let pull_allocated = allocated.stop();
    // The read alone: A's sealed set from its store, and the pulled set from its file.
    let started = Instant::now();
    let mut own = a_store.stream_epoch(EPOCH);
    let mut own_records = 0u64;
    while let Some(record) = own.next().await {
        record.unwrap();
        own_records += 1;
    }
    let reading_own = started.elapsed();
    let started = Instant::now();
    let pulled_records = shared.records(set).unwrap().map(Result::unwrap).count();
    let reading_pulled = started.elapsed();
    reset_peak_memory();
    let mut verifier = Verifier::new(
        a_store.clone(),
        a_dir.join("chain-view"),
        a_dir.join("reports"),
        params.clone(),
    )
    .with_shared_input(shared.clone());
    let allocated = AllocatedPeak::start();
    let started = Instant::now();
    let pass = verifier.pass(i64::MAX).await.unwrap();
    let computing = started.elapsed();
    let stage_allocated = allocated.stop();
    let report = &pass.stored[0];
    println!(
        "stage, {devices} devices ({} messages, half on each oracle; preparing and signing them, not counted: {:.1} s; committing them to the two stores: {:.1} s): pull of the peer's half {:.1} s ({} records, {} new to A, {:.0} records/s, signatures verified on {} cores; peak {:.0} MiB resident, {:.0} MiB allocated); reading alone: A's store {:.1} s ({own_records} records), the pulled set {:.1} s ({pulled_records} records); sealed to report stored (read A's store and the pulled set, merge, score, finish, store) {:.1} s, peak {:.0} MiB resident (with the store's mapped segment pages), {:.0} MiB allocated; union {} messages, {} rewarded",
        devices * 51,
        preparing.as_secs_f64(),
        committing.as_secs_f64(),
        pulling.as_secs_f64(),
        set.manifest.messages,
        set.kept,
        set.manifest.messages as f64 / pulling.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |cores| cores.get()),
        pull_peak,
        pull_allocated,
        reading_own.as_secs_f64(),
        reading_pulled.as_secs_f64(),
        computing.as_secs_f64(),
        peak_memory_mib(),
        stage_allocated,
        report.union.messages,
        report.rewards.device_counts().rewarded,
    );
    bundle(
        root.path(),
        &a_dir,
        a_store,
        shared,
        params,
        report,
        computing,
    )
    .await;
}

/// Part 3: the stage's epoch published as a bundle, then checked from the bundle alone.
async fn bundle(
    root: &std::path::Path,
    a_dir: &std::path::Path,
    store: Store,
    shared: std::sync::Arc<SharedInput>,
    params: &VerifyParams,
    report: &groundwork_oracle_rewards::report::EpochReport,
    computing: Duration,
) {
    use groundwork_oracle_bundle::check::{base_of, device_differences, fetch, recompute};
    use groundwork_oracle_bundle::{BundleStore, PartName};
    use groundwork_oracle_verify::publish::{PublishStatus, Publisher};
    let bundles =
        BundleStore::open(&format!("file://{}", root.join("bundles").display()), true).unwrap();
    let status = std::sync::Arc::new(PublishStatus::new(
        bundles.url(),
        a_dir.join("bundles-work"),
        std::sync::Arc::new(Metrics::default()),
    ));
    let publisher = Publisher {
        store,
        shared: Some(shared),
        chain_view_dir: a_dir.join("chain-view"),
        reports: groundwork_oracle_rewards::report::Reports::new(a_dir.join("reports")),
        bundles: bundles.clone(),
        work_dir: a_dir.join("bundles-work"),
        status,
    };
    let started = Instant::now();
    let published = publisher.publish_pending().await.unwrap();
    let publishing = started.elapsed();
    let telemetry_bytes = published[0].index.part(PartName::Telemetry).bytes;

    reset_peak_memory();
    let allocated = AllocatedPeak::start();
    let work = tempfile::tempdir_in(root).unwrap();
    let started = Instant::now();
    let fetched = fetch(&bundles, EPOCH, work.path(), |_, _| {})
        .await
        .unwrap();
    let fetching = started.elapsed();
    let started = Instant::now();
    let base = base_of(&fetched.report).unwrap();
    let recomputed = recompute(
        &fetched.telemetry,
        NETWORK,
        &fetched.snapshot,
        &fetched.params,
        fetched.report.carried_dust_in,
        &base,
        |_| {},
    )
    .unwrap();
    let checking = started.elapsed();
    let started = Instant::now();
    let differing = device_differences(
        &fetched.report.rewards,
        &recomputed.rewards,
        &fetched.snapshot,
        params,
        params,
    );
    let comparing = started.elapsed();
    let check_allocated = allocated.stop();
    assert!(recomputed.refused.is_empty(), "{:?}", recomputed.refused);
    assert_eq!(recomputed.rewards.root, report.rewards.root);
    assert!(differing.is_empty());
    let total = fetching + checking + comparing;
    println!(
        "bundle, {} devices: published in {:.1} s (the union written again from both sets, {:.0} MB of telemetry, copied into the bundle directory); verify-epoch without the chain snapshot's rebuild {:.1} s: fetch against every digest {:.1} s, {} records' signatures checked and the epoch computed again {:.1} s ({:.0} records/s on {} cores), rows compared {:.2} s; peak {:.0} MiB resident, {:.0} MiB allocated; the stage's own computation of the same epoch (sealed to report stored, above) {:.1} s",
        fetched.snapshot.devices.len(),
        publishing.as_secs_f64(),
        telemetry_bytes as f64 / 1e6,
        total.as_secs_f64(),
        fetching.as_secs_f64(),
        recomputed.records,
        checking.as_secs_f64(),
        recomputed.records as f64 / checking.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |cores| cores.get()),
        comparing.as_secs_f64(),
        peak_memory_mib(),
        check_allocated,
        computing.as_secs_f64(),
    );
}

fn main() {
    ceiling();
    println!(
        "ceiling: {:.0} signatures/s verified on one core (batches of 4,096)",
        signature_ceiling()
    );
    let params = VerifyParams::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for devices in sizes("GROUNDWORK_BENCH_STAGE_SIZES", "10000,100000") {
        runtime.block_on(stage(devices, &params));
    }
    for devices in sizes("GROUNDWORK_BENCH_SIZES", "10000,100000,1000000") {
        computation(devices, &params);
    }
}
