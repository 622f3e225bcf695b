//! The verify stage over a real store (segment files and PostgreSQL): an epoch that is sealed
//! and has its chain snapshot is computed from the store's telemetry and its report stored
//! with the digests of its inputs; an honest device earns and a cloned key (a conflicting copy
//! in the store) is zeroed for it; a restart computes the newest report again and finds it
//! equal; a stored report that differs from what its inputs give raises the determinism
//! alarm, and the stored report is kept.
//!
//! Shared input: two oracles that each saw part of the messages (in different orders) and
//! merge each other's sealed sets over HTTP store byte-identical reports, with the rewards
//! of one oracle that saw everything; a peer's forged, foreign or out-of-epoch messages are
//! refused, a set that does not match its manifest is not kept, a dead peer delays the epoch
//! until the wait ends and is then named in the report; an oracle that joins late adopts a
//! peer's report whose totals match the chain, and refuses one whose totals do not.

mod common;

use groundwork_oracle::chainview::model::EpochClose;
use groundwork_oracle::chainview::snapshot::{
    ChainSnapshot, ClassEntry, CreditPrice, DeviceEntry, LocationSpan, OperatorEntry, Standing,
    StandingSpan, SNAPSHOT_VERSION,
};
use groundwork_oracle::core::files::write_atomically;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use groundwork_oracle::chain::{ActiveRoot, EpochTiming, EpochVotes, StaticChain};
use groundwork_oracle::core::clock::FixedClock;
use groundwork_oracle::core::devices::DeviceCache;
use groundwork_oracle::core::epochs::EpochSchedule;
use groundwork_oracle::core::metrics::Metrics;
use groundwork_oracle::core::peers::{FixedOracleSet, PeerKey, PeerSigner};
use groundwork_oracle::ingest::{Ingestor, LimitsConfig};
use groundwork_oracle::rewards::geo::cell_centre;
use groundwork_oracle::rewards::report::{EpochReport, Reports};
use groundwork_oracle::rewards::{Fraud, VerifyParams};
use groundwork_oracle::store::manifest::{encode_stream_head, encode_stream_record, EpochRecord};
use groundwork_oracle::store::{Candidate, Store};
use groundwork_oracle::verify::shared::{PullOutcome, SharedInput, SharedInputError};
use groundwork_oracle::verify::stage::{input_set, load_peers, Verifier};
use groundwork_telemetry::{Key, TelemetryBody, TelemetryV1};

const EPOCH: u64 = 12;
const NETWORK: Key = Key([9; 32]);
/// Long after every seal of these tests.
const NOW_MS: i64 = 4_000_000_000_000;
const START: i64 = 1_790_000_000;
const LENGTH: i64 = 4_800;
const POOL: u64 = 7_000_000_000;
/// A resolution-12 cell in San Francisco.
const CELL: u64 = 0x8c283082a30e7ff;

fn device_key(seed: u8) -> Key {
    Key(ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
        .verifying_key()
        .to_bytes())
}

fn snapshot(epoch: u64, seeds: &[u8]) -> ChainSnapshot {
    let start = START + (epoch - EPOCH) as i64 * LENGTH;
    let operator = anchor_lang::prelude::Pubkey::new_from_array([200; 32]);
    let mut devices: Vec<DeviceEntry> = seeds
        .iter()
        .map(|seed| DeviceEntry {
            device: anchor_lang::prelude::Pubkey::new_from_array(device_key(*seed).0),
            operator,
            class_id: 0,
            reward_recipient: None,
            onboarded_at: start - 10,
            standing: vec![StandingSpan {
                from_ts: start,
                standing: Standing::Active,
            }],
            locations: vec![LocationSpan {
                from_ts: start,
                cell: CELL,
            }],
            credits_paid: 0,
        })
        .collect();
    devices.sort_by_key(|entry| entry.device);
    ChainSnapshot {
        version: SNAPSHOT_VERSION,
        epoch,
        start_ts: start,
        end_ts: start + LENGTH,
        params: EpochClose {
            epoch,
            closed_at: start + LENGTH + 1,
            minted: POOL * 10 / 7,
            device_share: POOL,
            staker_share: POOL * 2 / 7,
            treasury_share: POOL / 7,
            device_pool_cumulative: POOL,
            devices_bps: 7_000,
            stakers_bps: 2_000,
            treasury_bps: 1_000,
        },
        credit_prices: vec![CreditPrice {
            purchased_at: start,
            network_tokens_burned: 1_000,
            credits_minted: 50,
            exact: None,
        }],
        classes: vec![ClassEntry {
            class_id: 0,
            reward_weight_bps: 10_000,
        }],
        operators: vec![OperatorEntry {
            operator,
            reward_recipient: Some(operator),
            active_stake: 0,
            pool: None,
        }],
        devices,
    }
}

/// A heartbeat of device `seed` in slot `slot` of epoch [`EPOCH`] at the cell's centre
/// (`variant` moves its uptime counter: a different copy under the same seq).
fn heartbeat(seed: u8, slot: i64, variant: u32) -> Candidate {
    heartbeat_at(seed, slot, variant, NETWORK, START * 1_000)
}

/// [`heartbeat`] of another network, or in an epoch starting at `epoch_start_ms`.
fn heartbeat_at(seed: u8, slot: i64, variant: u32, network: Key, epoch_start_ms: i64) -> Candidate {
    let centre = cell_centre(CELL).unwrap();
    let signed = TelemetryV1 {
        network,
        device: device_key(seed),
        seq: slot as u64 + 1,
        timestamp_ms: epoch_start_ms + slot * LENGTH * 1_000 / 48 + 1_000,
        body: TelemetryBody::Heartbeat {
            lat_e7: centre.lat_e7,
            lon_e7: centre.lon_e7,
            uptime_s: 60 + variant,
            firmware: 1,
        },
    }
    .sign(&[seed; 32]);
    Candidate {
        device: signed.message.device,
        seq: signed.message.seq,
        epoch: schedule().epoch_of(signed.message.timestamp_ms).unwrap(),
        canonical: signed.message.canonical_bytes(),
        signature: signed.signature,
        received_at_ms: 7,
    }
}

fn write_snapshot(dir: &std::path::Path, snapshot: &ChainSnapshot) {
    write_atomically(
        &dir.join("snapshots")
            .join(format!("{}.snapshot", snapshot.epoch)),
        &snapshot.encode(),
    )
    .unwrap();
}

async fn fill(store: &Store) {
    let mut candidates = Vec::new();
    for slot in 0..48 {
        candidates.push(heartbeat(1, slot, 0));
        candidates.push(heartbeat(2, slot, 0));
    }
    store.commit(candidates).await.unwrap();
    // A clone of device 2's key sends another copy under a stored seq.
    store.commit(vec![heartbeat(2, 5, 1)]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_epochs_are_verified_from_the_store_once_and_checked_at_restart() {
    for spec in common::fresh_stores("verify_stage").await {
        let label = spec.label();
        let store = spec.open().await;
        let dir = tempfile::tempdir().unwrap();
        let (view_dir, reports_dir) = (dir.path().join("chain-view"), dir.path().join("reports"));
        fill(&store).await;
        write_snapshot(&view_dir, &snapshot(EPOCH, &[1, 2]));
        write_snapshot(&view_dir, &snapshot(EPOCH + 1, &[1, 2]));

        // Not sealed yet: nothing is computed, and the stage says what it waits for.
        let mut verifier = Verifier::new(
            store.clone(),
            &view_dir,
            &reports_dir,
            VerifyParams::default(),
        );
        let pass = verifier.pass(NOW_MS).await.unwrap();
        assert!(pass.stored.is_empty(), "{label}");
        assert!(pass.waiting.unwrap().contains("seal"), "{label}");

        store.seal_through(EPOCH).await.unwrap();
        let pass = verifier.pass(NOW_MS).await.unwrap();
        assert_eq!(pass.stored.len(), 1, "{label}");
        let report = &pass.stored[0];
        let manifest = store.manifest(EPOCH).await.unwrap().unwrap();
        assert_eq!(report.inputs, [input_set(&manifest)], "{label}");
        assert_eq!(report.union, input_set(&manifest), "{label}");
        assert_eq!((manifest.messages, manifest.conflicts), (96, 1), "{label}");
        assert_eq!(report.missing_peer_sets, 0);
        assert_eq!(report.snapshot_digest, snapshot(EPOCH, &[1, 2]).digest());
        let rows = &report.rewards.rows;
        let row = |seed: u8| {
            rows.iter()
                .find(|row| row.device.to_bytes() == device_key(seed).0)
                .unwrap()
        };
        assert_eq!(row(1).uptime_slots, 48, "{label}");
        assert!(row(1).fraud.is_empty() && row(1).amount > 0, "{label}");
        assert_eq!(row(2).fraud, [Fraud::SeqConflict], "{label}");
        assert_eq!(row(2).amount, 0);
        assert_eq!(
            report.rewards.pool,
            row(1).amount + report.rewards.dust,
            "{label}: conserved"
        );
        assert!(pass
            .waiting
            .unwrap()
            .contains(&format!("epoch {}", EPOCH + 1)));
        let stored = Reports::new(&reports_dir).load(EPOCH).unwrap().unwrap();
        assert_eq!(&stored, report);

        // A restart computes the newest report again: the same.
        let mut restarted = Verifier::new(
            store.clone(),
            &view_dir,
            &reports_dir,
            VerifyParams::default(),
        );
        let pass = restarted.pass(NOW_MS).await.unwrap();
        assert_eq!(pass.determinism_alarm, None, "{label}");
        assert!(pass.stored.is_empty());

        // The next epoch holds no telemetry at all: sealed by the watermark alone, it is
        // verified too, adding to the previous report (its dust carried, its totals kept).
        store.seal_through(EPOCH + 1).await.unwrap();
        let pass = restarted.pass(NOW_MS).await.unwrap();
        assert_eq!(pass.stored.len(), 1, "{label}");
        let next = &pass.stored[0];
        assert_eq!(next.union.messages, 0);
        assert_eq!(next.base_epoch, Some(EPOCH));
        assert_eq!(next.carried_dust_in, stored.rewards.dust);
        assert_eq!(next.rewards.pool, POOL + stored.rewards.dust);
        assert_eq!(next.rewards.dust, next.rewards.pool, "nobody earned");
        assert_eq!(next.rewards.cumulative, stored.rewards.cumulative);
        assert_eq!(next.rewards.root, stored.rewards.root);

        // A stored report its inputs do not give: the alarm, and the stored report stays.
        let stored = next.clone();
        let mut tampered = stored.clone();
        tampered.rewards.dust += 1;
        std::fs::write(
            reports_dir.join(format!("{}.report", EPOCH + 1)),
            tampered.encode(),
        )
        .unwrap();
        let mut alarmed = Verifier::new(
            store.clone(),
            &view_dir,
            &reports_dir,
            VerifyParams::default(),
        );
        let pass = alarmed.pass(NOW_MS).await.unwrap();
        let (epoch, kept, recomputed) = pass.determinism_alarm.expect("the alarm");
        assert_eq!(epoch, EPOCH + 1);
        assert_eq!(kept, tampered.digest());
        assert_eq!(recomputed, stored.digest());
        assert_eq!(
            Reports::new(&reports_dir).load(EPOCH + 1).unwrap().unwrap(),
            tampered
        );
    }
}

fn schedule() -> EpochSchedule {
    EpochSchedule::new(
        (START - EPOCH as i64 * LENGTH) * 1_000,
        LENGTH * 1_000,
        60_000,
    )
    .unwrap()
}

/// Serves `store`'s sealed epochs as an oracle does (the ingest routes): its URL.
async fn serve_telemetry(store: Store) -> String {
    let ingestor = Ingestor::new(
        NETWORK,
        LimitsConfig::default(),
        schedule(),
        Arc::new(DeviceCache::new(HashMap::new())),
        Arc::new(FixedClock::new(NOW_MS)),
        store,
        Arc::new(Metrics::default()),
    );
    let oracles = Arc::new(FixedOracleSet(vec![peer_key().public()]));
    let app = groundwork_oracle::ingest::api::router(Arc::new(ingestor), oracles)
        .into_make_service_with_connect_info::<SocketAddr>();
    serve(app).await
}

async fn serve(
    app: axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// A peer that serves fixed bytes for every epoch's telemetry and reports.
async fn serve_bytes(telemetry: Vec<u8>, report: Vec<u8>) -> String {
    let app = axum::Router::new()
        .route(
            "/v1/epochs/{epoch}/telemetry",
            axum::routing::get(move || async move { telemetry }),
        )
        .route(
            "/v1/epochs/{epoch}/rewards",
            axum::routing::get(move || async move { report }),
        )
        .into_make_service_with_connect_info::<SocketAddr>();
    serve(app).await
}

fn shared_input(dir: &std::path::Path, peers: &[String]) -> Arc<SharedInput> {
    Arc::new(
        SharedInput::new(
            dir.join("peers"),
            peers,
            NETWORK,
            schedule(),
            Duration::from_secs(600),
            Duration::from_secs(5),
            Some(PeerSigner::new(
                peer_key(),
                Arc::new(FixedClock::new(NOW_MS)),
            )),
        )
        .unwrap(),
    )
}

/// Oracle A's report of EPOCH (computed from its own store), and EPOCH + 1's snapshot, which
/// says the chain paid one device pool before it. A's folder lives as long as the first.
async fn a_computed_report() -> (tempfile::TempDir, EpochReport, ChainSnapshot) {
    let a_dir = tempfile::tempdir().unwrap();
    let a_store = segment_store(a_dir.path()).await;
    fill(&a_store).await;
    a_store.seal_through(EPOCH).await.unwrap();
    write_snapshot(&a_dir.path().join("chain-view"), &snapshot(EPOCH, &[1, 2]));
    let mut a_verifier = Verifier::new(
        a_store,
        a_dir.path().join("chain-view"),
        a_dir.path().join("reports"),
        VerifyParams::default(),
    );
    let a_report = a_verifier.pass(NOW_MS).await.unwrap().stored.remove(0);
    let mut next_snapshot = snapshot(EPOCH + 1, &[1, 2]);
    next_snapshot.params.device_pool_cumulative = 2 * POOL;
    (a_dir, a_report, next_snapshot)
}

/// The key the test oracles sign their pulls with (the one oracle the peers know).
fn peer_key() -> PeerKey {
    PeerKey::from_seed([77; 32])
}

/// The late oracle's stage: its store, chain view and reports in `dir`, reading `chain`.
fn late_verifier(store: &Store, dir: &std::path::Path, chain: &Arc<StaticChain>) -> Verifier {
    Verifier::new(
        store.clone(),
        dir.join("chain-view"),
        dir.join("reports"),
        VerifyParams::default(),
    )
    .with_chain(chain.clone())
}

/// `shared` after one pull round of epoch 13 (the late oracle's first), so a peer that
/// serves no set counts as tried.
async fn tried(store: &Store, shared: Arc<SharedInput>) -> Arc<SharedInput> {
    shared.pull_epoch(store, EPOCH + 1).await;
    shared
}

async fn segment_store(dir: &std::path::Path) -> Store {
    common::StoreSpec::Segments(dir.join("telemetry"))
        .open()
        .await
}

/// Every message of the determinism scenario: four devices' 48 heartbeats.
fn all_heartbeats() -> Vec<Candidate> {
    (1..=4u8)
        .flat_map(|seed| (0..48).map(move |slot| heartbeat(seed, slot, 0)))
        .collect()
}

async fn commit_one_by_one(store: &Store, candidates: Vec<Candidate>) {
    for chunk in candidates.chunks(7) {
        store.commit(chunk.to_vec()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oracles_merging_each_others_sets_store_identical_reports() {
    for spec in common::fresh_stores("shared_input").await {
        let label = spec.label();
        let (a_dir, b_dir, c_dir) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let all = all_heartbeats();
        let slot_of = |candidate: &Candidate| candidate.seq as i64 - 1;
        let seed_of = |candidate: &Candidate| {
            (1..=4u8)
                .find(|seed| device_key(*seed) == candidate.device)
                .unwrap()
        };
        // Oracle A saw devices 1 and 2 and the first half of device 3, newest first; oracle B
        // the second half of device 3 (overlapping A's), device 4 and a few of device 1's
        // messages, in an interleaved order. A also holds a copy of device 4's seq 8 with
        // other bytes (a cloned key seen by A alone): only the union shows the conflict.
        let a_store = spec.open().await;
        let mut a_messages: Vec<Candidate> = all
            .iter()
            .filter(|m| seed_of(m) <= 2 || (seed_of(m) == 3 && slot_of(m) < 24))
            .cloned()
            .collect();
        a_messages.reverse();
        a_messages.push(heartbeat(4, 7, 1));
        // Device 5's key is cloned too: A stored copy 0 of seq 4 then copy 1 (a conflicting
        // copy), B the other way round.
        a_messages.extend((0..48).map(|slot| heartbeat(5, slot, 0)));
        let b_store = segment_store(b_dir.path()).await;
        let mut b_messages: Vec<Candidate> = all
            .iter()
            .filter(|m| {
                (seed_of(m) == 3 && slot_of(m) >= 20)
                    || seed_of(m) == 4
                    || (seed_of(m) == 1 && slot_of(m) % 5 == 0)
            })
            .cloned()
            .collect();
        b_messages.sort_by_key(|m| (slot_of(m) % 7, m.seq, m.device.0));
        // Per device, seqs must arrive in order for the store to keep them (arrival rules):
        // commit in slot order within each device but devices interleaved.
        b_messages.sort_by_key(|m| (m.seq, std::cmp::Reverse(m.device.0)));
        commit_one_by_one(&a_store, {
            let mut ordered = a_messages.clone();
            ordered.sort_by_key(|m| (m.seq, m.device.0));
            ordered
        })
        .await;
        commit_one_by_one(&b_store, b_messages).await;
        a_store.commit(vec![heartbeat(5, 3, 1)]).await.unwrap();
        b_store
            .commit(vec![heartbeat(5, 3, 1), heartbeat(5, 3, 0)])
            .await
            .unwrap();
        // Oracle C saw everything itself.
        let c_store = segment_store(c_dir.path()).await;
        let mut c_messages = all.clone();
        c_messages.push(heartbeat(4, 7, 1));
        c_messages.extend((0..48).map(|slot| heartbeat(5, slot, 0)));
        commit_one_by_one(&c_store, c_messages).await;
        c_store.commit(vec![heartbeat(5, 3, 1)]).await.unwrap();
        for store in [&a_store, &b_store, &c_store] {
            store.seal_through(EPOCH).await.unwrap();
        }
        let seeds = [1, 2, 3, 4, 5];
        for dir in [a_dir.path(), b_dir.path(), c_dir.path()] {
            write_snapshot(&dir.join("chain-view"), &snapshot(EPOCH, &seeds));
        }
        let (a_url, b_url) = (
            serve_telemetry(a_store.clone()).await,
            serve_telemetry(b_store.clone()).await,
        );
        let a_shared = shared_input(a_dir.path(), std::slice::from_ref(&b_url));
        let b_shared = shared_input(b_dir.path(), std::slice::from_ref(&a_url));

        // Before the pull, A waits for B's set (the wait has not ended) and says so.
        let mut a_verifier = Verifier::new(
            a_store.clone(),
            a_dir.path().join("chain-view"),
            a_dir.path().join("reports"),
            VerifyParams::default(),
        )
        .with_shared_input(a_shared.clone());
        let just_sealed = schedule().seal_ms(EPOCH) + 1;
        let pass = a_verifier.pass(just_sealed).await.unwrap();
        assert!(pass.stored.is_empty(), "{label}");
        assert!(pass.waiting.unwrap().contains(&b_url), "{label}");

        for (shared, store, peer) in [(&a_shared, &a_store, &b_url), (&b_shared, &b_store, &a_url)]
        {
            let outcomes = shared.pull_epoch(store, EPOCH).await;
            assert_eq!(outcomes.len(), 1);
            let (pulled_from, outcome) = &outcomes[0];
            assert_eq!(pulled_from, peer);
            let Ok(PullOutcome::Pulled(set)) = outcome else {
                panic!("{label}: {outcome:?}")
            };
            assert!(set.refused.is_empty(), "{label}: {:?}", set.refused);
            assert!(
                set.kept > 0 && set.kept < set.manifest.messages,
                "{label}: only what it lacked"
            );
            // Pulled once: the next round asks for nothing.
            assert!(shared.pull_epoch(store, EPOCH).await.is_empty());
        }
        let a_report = a_verifier.pass(just_sealed).await.unwrap().stored.remove(0);
        let mut b_verifier = Verifier::new(
            b_store.clone(),
            b_dir.path().join("chain-view"),
            b_dir.path().join("reports"),
            VerifyParams::default(),
        )
        .with_shared_input(b_shared.clone());
        let b_report = b_verifier.pass(just_sealed).await.unwrap().stored.remove(0);
        let mut c_verifier = Verifier::new(
            c_store.clone(),
            c_dir.path().join("chain-view"),
            c_dir.path().join("reports"),
            VerifyParams::default(),
        );
        let c_report = c_verifier.pass(just_sealed).await.unwrap().stored.remove(0);

        assert_eq!(
            a_report.encode(),
            b_report.encode(),
            "{label}: byte-identical reports"
        );
        assert_eq!(a_report.inputs.len(), 2, "{label}: both sets recorded");
        // Every message once (device 4's other copy and device 5's two copies as messages
        // from one oracle or the other) and both conflicting copies.
        assert_eq!(a_report.union.messages, 5 * 48 + 2, "{label}");
        assert_eq!(a_report.union.conflicts, 2, "{label}");
        assert_eq!(
            a_report.rewards, c_report.rewards,
            "{label}: as if one oracle saw all"
        );
        let row = |seed: u8| {
            a_report
                .rewards
                .rows
                .iter()
                .find(|row| row.device.to_bytes() == device_key(seed).0)
                .unwrap()
                .clone()
        };
        for seed in 1..=3 {
            assert_eq!(row(seed).uptime_slots, 48, "{label}: device {seed}");
            assert!(row(seed).amount > 0);
        }
        assert_eq!(
            row(4).fraud,
            [Fraud::SeqConflict],
            "{label}: the conflict across oracles"
        );
        assert_eq!(row(5).fraud, [Fraud::SeqConflict], "{label}");
        assert_eq!(
            row(5).heartbeats,
            47,
            "{label}: no copy of the cloned seq counts"
        );

        // A restart computes A's report again from the same sets: no alarm.
        let mut restarted = Verifier::new(
            a_store.clone(),
            a_dir.path().join("chain-view"),
            a_dir.path().join("reports"),
            VerifyParams::default(),
        )
        .with_shared_input(a_shared.clone());
        let pass = restarted.pass(NOW_MS).await.unwrap();
        assert_eq!(pass.determinism_alarm, None, "{label}");
        assert_eq!(pass.unchecked, None, "{label}: computed again with B's set");

        // A report those sets do not give raises the alarm; the stored report stays.
        let mut tampered = a_report.clone();
        tampered.rewards.dust += 1;
        let path = a_dir.path().join(format!("reports/{EPOCH}.report"));
        std::fs::write(&path, tampered.encode()).unwrap();
        let mut alarmed = Verifier::new(
            a_store.clone(),
            a_dir.path().join("chain-view"),
            a_dir.path().join("reports"),
            VerifyParams::default(),
        )
        .with_shared_input(a_shared.clone());
        let pass = alarmed.pass(NOW_MS).await.unwrap();
        assert_eq!(
            pass.determinism_alarm,
            Some((EPOCH, tampered.digest(), a_report.digest())),
            "{label}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), tampered.encode());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peers_bad_messages_are_refused_and_a_dead_peer_is_waited_for_then_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = segment_store(dir.path()).await;
    store
        .commit((0..48).map(|slot| heartbeat(1, slot, 0)).collect())
        .await
        .unwrap();
    store.seal_through(EPOCH).await.unwrap();
    write_snapshot(&dir.path().join("chain-view"), &snapshot(EPOCH, &[1, 2, 3]));

    // The peer's set: device 2's good heartbeats, one of device 3's with a forged signature,
    // one of another network and one timestamped in the next epoch (signed, and otherwise
    // fine) — with a manifest that matches what it serves.
    let record_of = |candidate: &Candidate, kind| EpochRecord {
        kind,
        device: candidate.device,
        seq: candidate.seq,
        hash: groundwork_oracle::store::manifest::hash_of(&candidate.canonical),
        canonical: candidate.canonical.clone(),
        signature: candidate.signature,
        received_at_ms: 0,
    };
    let message = groundwork_oracle::store::frame::FrameKind::Message;
    let mut forged = heartbeat(3, 1, 0);
    forged.signature[0] ^= 1;
    let mut records: Vec<EpochRecord> = (0..48)
        .map(|slot| record_of(&heartbeat(2, slot, 0), message))
        .collect();
    records.push(record_of(&forged, message));
    // Device 2's genuine heartbeat served again, marked as a conflicting copy: it is the
    // same message, not evidence of a cloned key.
    records.push(record_of(
        &heartbeat(2, 9, 0),
        groundwork_oracle::store::frame::FrameKind::Conflict,
    ));
    records.push(record_of(
        &heartbeat_at(3, 2, 0, Key([8; 32]), START * 1_000),
        message,
    ));
    records.push(record_of(
        &heartbeat_at(3, 3, 0, NETWORK, (START + LENGTH) * 1_000),
        message,
    ));
    records.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let stream = |records: &[EpochRecord], manifest_of: &[EpochRecord]| {
        let manifest = groundwork_oracle::store::manifest::Manifest::of_sorted(EPOCH, manifest_of);
        let mut bytes = encode_stream_head(&manifest);
        for record in records {
            encode_stream_record(record, &mut bytes);
        }
        bytes
    };
    let honest = serve_bytes(stream(&records, &records), Vec::new()).await;
    // A peer whose stream lacks a record its manifest counts.
    let short = serve_bytes(stream(&records[1..], &records), Vec::new()).await;
    // Nobody listens here.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let shared = shared_input(dir.path(), &[honest.clone(), short.clone(), dead.clone()]);
    let outcomes = shared.pull_epoch(&store, EPOCH).await;
    let outcome = |url: &str| &outcomes.iter().find(|(peer, _)| peer == url).unwrap().1;
    let Ok(PullOutcome::Pulled(set)) = outcome(&honest) else {
        panic!("{:?}", outcome(&honest))
    };
    assert_eq!(set.kept, 49, "device 2's heartbeats and the re-marked copy");
    assert_eq!(
        set.refused,
        [
            ("bad_signature".to_string(), 1),
            ("outside_epoch".to_string(), 1),
            ("wrong_network".to_string(), 1)
        ]
        .into_iter()
        .collect()
    );
    assert!(
        matches!(
            outcome(&short),
            Err(SharedInputError::ManifestMismatch { .. })
        ),
        "{:?}",
        outcome(&short)
    );
    assert!(matches!(outcome(&dead), Err(SharedInputError::Peer { .. })));

    // An oracle back from downtime long after the deadline still asks before it computes
    // without anyone: a peer never tried in this process is waited for.
    let restarted_shared = shared_input(dir.path(), &[honest.clone(), dead.clone()]);
    let mut restarted = Verifier::new(
        store.clone(),
        dir.path().join("chain-view"),
        dir.path().join("restarted-reports"),
        VerifyParams::default(),
    )
    .with_shared_input(restarted_shared);
    let pass = restarted.pass(NOW_MS).await.unwrap();
    assert!(pass.stored.is_empty());
    let waiting = pass.waiting.unwrap();
    assert!(
        waiting.contains(&format!("{dead} (not pulled yet)")),
        "{waiting}"
    );

    // Until the wait ends, the epoch waits for the two missing sets and names them.
    let mut verifier = Verifier::new(
        store.clone(),
        dir.path().join("chain-view"),
        dir.path().join("reports"),
        VerifyParams::default(),
    )
    .with_shared_input(shared.clone());
    let waiting_until = schedule().seal_ms(EPOCH) + 600_000;
    let pass = verifier.pass(waiting_until - 1).await.unwrap();
    let waiting = pass.waiting.unwrap();
    assert!(pass.stored.is_empty());
    assert!(
        waiting.contains(&short) && waiting.contains(&dead),
        "{waiting}"
    );
    assert!(!waiting.contains(&honest), "{waiting}");
    assert!(waiting.contains("does not match its manifest"), "{waiting}");

    // Then it is computed without them, and the report says so.
    let report = verifier.pass(waiting_until).await.unwrap().stored.remove(0);
    assert_eq!(report.missing_peer_sets, 2);
    let peers = load_peers(&Reports::new(dir.path().join("reports")), EPOCH).unwrap();
    let missing: Vec<&str> = peers
        .missing
        .iter()
        .map(|(peer, _)| peer.as_str())
        .collect();
    assert_eq!(missing, [short.as_str(), dead.as_str()]);
    assert!(peers.missing[0].1.contains("does not match its manifest"));
    assert_eq!(peers.merged.len(), 1);
    assert_eq!(peers.merged[0].peer, honest);
    assert_eq!(report.inputs.len(), 2, "its own set and the honest peer's");
    assert_eq!(report.union.messages, 96);
    let earning: Vec<_> = report
        .rewards
        .rows
        .iter()
        .filter(|row| row.amount > 0)
        .map(|row| row.device.to_bytes())
        .collect();
    assert_eq!(earning, {
        let mut keys = vec![device_key(1).0, device_key(2).0];
        keys.sort();
        keys
    });
    let row3 = report
        .rewards
        .rows
        .iter()
        .find(|row| row.device.to_bytes() == device_key(3).0)
        .unwrap();
    assert_eq!(row3.heartbeats, 0, "none of the refused messages counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oracle_joining_late_adopts_a_peers_report_that_matches_the_chain() {
    // Oracle A computed epoch 12; epoch 13's snapshot says the chain paid one device pool
    // before it.
    let (_a_dir, a_report, next_snapshot) = a_computed_report().await;

    // A peer whose report does not add up to what the chain paid is refused, and so is one
    // that serves no report at all; the late oracle waits and says why.
    let mut inflated = a_report.clone();
    let first = *inflated.rewards.cumulative.keys().next().unwrap();
    *inflated.rewards.cumulative.get_mut(&first).unwrap() += 1;
    let liar = serve_bytes(Vec::new(), inflated.encode()).await;
    let late_dir = tempfile::tempdir().unwrap();
    let late_store = segment_store(late_dir.path()).await;
    late_store
        .commit(
            (0..48)
                .map(|slot| heartbeat_at(1, slot, 0, NETWORK, (START + LENGTH) * 1_000))
                .collect(),
        )
        .await
        .unwrap();
    late_store.seal_through(EPOCH + 1).await.unwrap();
    write_snapshot(&late_dir.path().join("chain-view"), &next_snapshot);
    // Epoch 12's root is active on chain (as A computed it).
    let chain = Arc::new(StaticChain::new(EpochTiming {
        genesis_unix_s: START - EPOCH as i64 * LENGTH,
        epoch_len_s: LENGTH,
    }));
    chain.set_active_root(Some(ActiveRoot {
        epoch: EPOCH,
        root: a_report.rewards.root,
        cumulative_total: a_report.rewards.cumulative_total,
    }));
    let mut late = late_verifier(&late_store, late_dir.path(), &chain).with_shared_input(
        tried(
            &late_store,
            shared_input(late_dir.path(), std::slice::from_ref(&liar)),
        )
        .await,
    );
    let pass = late.pass(NOW_MS).await.unwrap();
    assert!(pass.stored.is_empty());
    let waiting = pass.waiting.unwrap();
    assert!(
        waiting.contains("no peer served one that matches the chain"),
        "{waiting}"
    );
    assert!(waiting.contains("leaves sum to"), "{waiting}");
    // A report that adds up but whose root is not the active one is refused too.
    let mut other_root = a_report.clone();
    other_root.rewards.root[0] ^= 1;
    let forger = serve_bytes(Vec::new(), other_root.encode()).await;
    let mut late = late_verifier(&late_store, late_dir.path(), &chain).with_shared_input(
        tried(
            &late_store,
            shared_input(late_dir.path(), std::slice::from_ref(&forger)),
        )
        .await,
    );
    let waiting = late.pass(NOW_MS).await.unwrap().waiting.unwrap();
    assert!(
        waiting.contains("not the root active on chain"),
        "{waiting}"
    );

    // With no root ever active and no peer to adopt from, nothing before could be claimed:
    // the earlier pool is carried whole as dust.
    let carried_dir = tempfile::tempdir().unwrap();
    let carried_store = segment_store(carried_dir.path()).await;
    carried_store.seal_through(EPOCH + 1).await.unwrap();
    write_snapshot(&carried_dir.path().join("chain-view"), &next_snapshot);
    let no_root = Arc::new(StaticChain::new(EpochTiming {
        genesis_unix_s: 0,
        epoch_len_s: LENGTH,
    }));
    // Not while a peer cannot be reached: it may hold a report (then it is waited for).
    let unreachable = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut waiting_for_peer = Verifier::new(
        carried_store.clone(),
        carried_dir.path().join("chain-view"),
        carried_dir.path().join("reports"),
        VerifyParams::default(),
    )
    .with_chain(no_root.clone())
    .with_shared_input(
        tried(
            &carried_store,
            shared_input(carried_dir.path(), std::slice::from_ref(&unreachable)),
        )
        .await,
    );
    let pass = waiting_for_peer.pass(NOW_MS).await.unwrap();
    assert!(pass.stored.is_empty());
    assert!(pass.waiting.unwrap().contains(&unreachable));
    let mut carried = Verifier::new(
        carried_store,
        carried_dir.path().join("chain-view"),
        carried_dir.path().join("reports"),
        VerifyParams::default(),
    )
    .with_chain(no_root);
    let report = carried.pass(NOW_MS).await.unwrap().stored.remove(0);
    assert_eq!(report.carried_dust_in, POOL);
    assert_eq!(report.base_epoch, None);
    assert_eq!(report.rewards.pool, 2 * POOL);

    // An honest peer's report is adopted (stored as the oracle's own), and the next epoch
    // adds to it.
    let honest = serve_bytes(Vec::new(), a_report.encode()).await;
    let mut late = late_verifier(&late_store, late_dir.path(), &chain).with_shared_input(
        tried(
            &late_store,
            shared_input(late_dir.path(), &[liar, honest.clone()]),
        )
        .await,
    );
    let pass = late.pass(NOW_MS).await.unwrap();
    assert_eq!(pass.adopted, Some((EPOCH, honest)));
    assert_eq!(
        Reports::new(late_dir.path().join("reports"))
            .load(EPOCH)
            .unwrap()
            .unwrap(),
        a_report
    );
    let report = &pass.stored[0];
    assert_eq!(report.epoch, EPOCH + 1);
    assert_eq!(report.base_epoch, Some(EPOCH));
    assert_eq!(report.carried_dust_in, a_report.rewards.dust);
    assert_eq!(
        report.rewards.cumulative_total,
        a_report.rewards.cumulative_total + (report.rewards.pool - report.rewards.dust)
    );

    // The network then activates another root for epoch 12 than the one adopted: this
    // oracle's totals are not the network's, it says so and computes nothing more on them.
    let mut other = a_report.rewards.root;
    other[0] ^= 1;
    chain.set_active_root(Some(ActiveRoot {
        epoch: EPOCH,
        root: other,
        cumulative_total: a_report.rewards.cumulative_total,
    }));
    let mut late = late_verifier(&late_store, late_dir.path(), &chain);
    let pass = late.pass(NOW_MS).await.unwrap();
    assert_eq!(pass.diverged, Some((EPOCH, a_report.rewards.root, other)));
    assert!(pass.stored.is_empty());
    assert!(pass.waiting.unwrap().contains("not the network's"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_moves_totals_is_refused_and_the_one_the_oracles_voted_is_adopted() {
    // Oracle A computed epoch 12; no root is active yet, but two of the three oracles of the
    // current set voted A's root (a quorum of two): it is pending on chain.
    let (_a_dir, a_report, next_snapshot) = a_computed_report().await;
    let oracles: Vec<Pubkey> = (1..=3)
        .map(|byte| Pubkey::new_from_array([byte; 32]))
        .collect();
    let chain = Arc::new(StaticChain::new(EpochTiming {
        genesis_unix_s: START - EPOCH as i64 * LENGTH,
        epoch_len_s: LENGTH,
    }));
    let total = a_report.rewards.cumulative_total;
    chain.set_epoch_votes(
        EPOCH,
        EpochVotes {
            votes: vec![
                (oracles[0], a_report.rewards.root, total),
                (oracles[1], a_report.rewards.root, total),
                // A removed oracle's vote for anything never counts.
                (Pubkey::new_from_array([9; 32]), [7; 32], total),
            ],
            oracles: oracles.clone(),
            quorum: 2,
            ..EpochVotes::default()
        },
    );
    // A hostile peer moves half of the operator's total to itself: every sum still matches
    // what the chain paid, and its root is the root of its own leaves.
    let mut moved = a_report.clone();
    let operator = *moved.rewards.cumulative.keys().next().unwrap();
    let half = moved.rewards.cumulative[&operator] / 2;
    assert!(half > 0, "the epoch pays the operator");
    *moved.rewards.cumulative.get_mut(&operator).unwrap() -= half;
    moved
        .rewards
        .cumulative
        .insert(Pubkey::new_from_array([66; 32]), half);
    moved.rewards.root = groundwork_oracle::rewards::cumulative_tree(&moved.rewards.cumulative)
        .unwrap()
        .0
        .root();
    let hostile = serve_bytes(Vec::new(), moved.encode()).await;
    let late_dir = tempfile::tempdir().unwrap();
    let late_store = segment_store(late_dir.path()).await;
    late_store.seal_through(EPOCH + 1).await.unwrap();
    write_snapshot(&late_dir.path().join("chain-view"), &next_snapshot);
    let mut late = late_verifier(&late_store, late_dir.path(), &chain).with_shared_input(
        tried(
            &late_store,
            shared_input(late_dir.path(), std::slice::from_ref(&hostile)),
        )
        .await,
    );
    let pass = late.pass(NOW_MS).await.unwrap();
    assert!(pass.stored.is_empty());
    assert_eq!(pass.adopted, None);
    let waiting = pass.waiting.unwrap();
    assert!(
        waiting.contains("neither active on chain nor voted by a quorum"),
        "{waiting}"
    );
    assert!(Reports::new(late_dir.path().join("reports"))
        .load(EPOCH)
        .unwrap()
        .is_none());

    // Beside it, the peer serving the report the oracles voted is adopted.
    let honest = serve_bytes(Vec::new(), a_report.encode()).await;
    let mut late = late_verifier(&late_store, late_dir.path(), &chain).with_shared_input(
        tried(
            &late_store,
            shared_input(late_dir.path(), &[hostile, honest.clone()]),
        )
        .await,
    );
    let pass = late.pass(NOW_MS).await.unwrap();
    assert_eq!(pass.adopted, Some((EPOCH, honest)));
    assert_eq!(
        Reports::new(late_dir.path().join("reports"))
            .load(EPOCH)
            .unwrap()
            .unwrap(),
        a_report
    );
    assert_eq!(pass.stored[0].base_epoch, Some(EPOCH));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vetoed_epoch_is_recomputed_only_to_another_root() {
    let dir = tempfile::tempdir().unwrap();
    let (view_dir, reports_dir) = (dir.path().join("chain-view"), dir.path().join("reports"));
    let store = segment_store(dir.path()).await;
    fill(&store).await;
    store.seal_through(EPOCH).await.unwrap();
    write_snapshot(&view_dir, &snapshot(EPOCH, &[1, 2]));
    let mut verifier = Verifier::new(
        store.clone(),
        &view_dir,
        &reports_dir,
        VerifyParams::default(),
    );
    let vetoed = verifier.pass(NOW_MS).await.unwrap().stored.remove(0);
    let submission = dir.path().join("submit").join(format!("{EPOCH}.json"));
    std::fs::create_dir_all(submission.parent().unwrap()).unwrap();
    std::fs::write(&submission, b"{}").unwrap();

    // The authority vetoed the root. While an oracle runs on the data directory (it holds
    // its lock, whichever store it uses), the command refuses.
    let running = groundwork_oracle::core::files::lock_directory(dir.path())
        .unwrap()
        .expect("nobody holds it yet");
    let refused = groundwork_oracle::recompute::recompute_from(dir.path(), EPOCH, 1_234)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("stop it first"), "{refused}");
    drop(running);
    drop(verifier);
    drop(store);
    let recomputed =
        groundwork_oracle::recompute::recompute_from(dir.path(), EPOCH, 1_234).unwrap();
    assert_eq!(recomputed.epochs, [EPOCH]);
    assert_eq!(recomputed.vetoed_roots, [hex::encode(vetoed.rewards.root)]);
    assert!(!reports_dir.join(format!("{EPOCH}.report")).exists());
    assert!(!submission.exists());
    let moved = dir.path().join("recomputed").join("1234");
    assert_eq!(
        std::fs::read(moved.join("reports").join(format!("{EPOCH}.report"))).unwrap(),
        vetoed.encode()
    );
    assert!(moved.join("submit").join(format!("{EPOCH}.json")).exists());

    // Started again with the same configuration, it computes the vetoed root: refused, not
    // stored (so never voted).
    let store = segment_store(dir.path()).await;
    let mut same = Verifier::new(
        store.clone(),
        &view_dir,
        &reports_dir,
        VerifyParams::default(),
    );
    let pass = same.pass(NOW_MS).await.unwrap();
    assert!(pass.stored.is_empty());
    assert!(
        pass.waiting
            .unwrap()
            .contains("the root the authority vetoed"),
        "the vetoed root was computed again and not refused"
    );
    assert!(!reports_dir.join(format!("{EPOCH}.report")).exists());

    // With the corrected configuration (the device the authority judged wrong denylisted)
    // another root is computed and stored, ready to be voted.
    let corrected = VerifyParams {
        denylist: [device_key(1)].into_iter().collect(),
        ..VerifyParams::default()
    };
    let mut fixed = Verifier::new(store, &view_dir, &reports_dir, corrected);
    let recomputed = fixed.pass(NOW_MS).await.unwrap().stored.remove(0);
    assert_eq!(recomputed.epoch, EPOCH);
    assert_ne!(recomputed.rewards.root, vetoed.rewards.root);
    assert_eq!(
        Reports::new(&reports_dir).load(EPOCH).unwrap().unwrap(),
        recomputed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peers_records_of_devices_the_chain_does_not_know_are_dropped_as_they_stream() {
    // Peer B holds device 1's heartbeats and those of a throw-away key (seed 9) that the
    // chain never onboarded.
    let b_dir = tempfile::tempdir().unwrap();
    let b_store = segment_store(b_dir.path()).await;
    let mut candidates = Vec::new();
    for slot in 0..48 {
        candidates.push(heartbeat(1, slot, 0));
        candidates.push(heartbeat(9, slot, 0));
    }
    b_store.commit(candidates).await.unwrap();
    b_store.seal_through(EPOCH).await.unwrap();
    let peer = serve_telemetry(b_store).await;
    let a_dir = tempfile::tempdir().unwrap();
    let a_store = segment_store(a_dir.path()).await;
    a_store.seal_through(EPOCH).await.unwrap();
    let view_dir = a_dir.path().join("chain-view");
    let shared = |dir: &std::path::Path| {
        SharedInput::new(
            dir.join("peers"),
            std::slice::from_ref(&peer),
            NETWORK,
            schedule(),
            Duration::from_secs(600),
            Duration::from_secs(5),
            Some(PeerSigner::new(
                peer_key(),
                Arc::new(FixedClock::new(NOW_MS)),
            )),
        )
        .unwrap()
        .with_chain_view(&view_dir)
    };
    // Without the epoch's chain snapshot it cannot tell which devices exist: it waits.
    let outcomes = shared(a_dir.path()).pull_epoch(&a_store, EPOCH).await;
    assert!(
        matches!(outcomes[0].1, Ok(PullOutcome::NoSnapshot)),
        "{outcomes:?}"
    );
    // With it, the unknown key's records are dropped as they stream: never checked, never
    // written.
    write_snapshot(&view_dir, &snapshot(EPOCH, &[1, 2]));
    let outcomes = shared(a_dir.path()).pull_epoch(&a_store, EPOCH).await;
    let Ok(PullOutcome::Pulled(set)) = &outcomes[0].1 else {
        panic!("{outcomes:?}")
    };
    assert_eq!(set.manifest.messages, 96);
    assert_eq!(set.kept, 48);
    assert_eq!(set.refused.get("unknown_device"), Some(&48));
    // The computation's union holds only the known device's messages.
    let mut verifier = Verifier::new(
        a_store,
        &view_dir,
        a_dir.path().join("reports"),
        VerifyParams::default(),
    )
    .with_shared_input(Arc::new(shared(a_dir.path())));
    let report = verifier.pass(NOW_MS).await.unwrap().stored.remove(0);
    assert_eq!(report.union.messages, 48);
}

/// Epoch bundles (SPEC 4.6): a stored report's bundle is published once, from the inputs the
/// report names; while the bundle store refuses writes the epoch stays in the backlog (and
/// retention keeps its inputs), then it is published; the bundle checks out (every record,
/// the union's manifest, the same root computed again); a restart publishes nothing more; an
/// epoch computed again is published again, its old index kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_stored_report_is_published_once_and_an_outage_is_retried() {
    use groundwork_oracle::bundle::check::{base_of, fetch, recompute};
    use groundwork_oracle::bundle::store::IndexOutcome;
    use groundwork_oracle::bundle::BundleStore;
    use groundwork_oracle::store::tasks::KeepsInputs;
    use groundwork_oracle::verify::publish::{PublishStatus, Publisher};

    for spec in common::fresh_stores("publish").await {
        let label = spec.label();
        let store = spec.open().await;
        let dir = tempfile::tempdir().unwrap();
        let view_dir = dir.path().join("chain-view");
        let reports_dir = dir.path().join("reports");
        fill(&store).await;
        store.seal_through(EPOCH).await.unwrap();
        write_snapshot(&view_dir, &snapshot(EPOCH, &[1, 2]));
        let mut verifier = Verifier::new(
            store.clone(),
            &view_dir,
            &reports_dir,
            VerifyParams::default(),
        );
        let report = verifier.pass(NOW_MS).await.unwrap().stored.remove(0);

        let root = dir.path().join("bundles");
        let bundles = BundleStore::open(&format!("file://{}", root.display()), true).unwrap();
        let metrics = Arc::new(Metrics::default());
        let publisher = |status: Arc<PublishStatus>| Publisher {
            store: store.clone(),
            shared: None,
            chain_view_dir: view_dir.clone(),
            reports: Reports::new(&reports_dir),
            bundles: bundles.clone(),
            work_dir: dir.path().join("bundles-work"),
            status,
        };
        let status = Arc::new(PublishStatus::new(
            bundles.url(),
            dir.path().join("bundles-work"),
            metrics.clone(),
        ));
        let first = publisher(status.clone());
        // Before its first scan the publisher holds every epoch's inputs.
        assert_eq!(status.oldest_needed(), Some(0), "{label}");
        assert_eq!(first.pending().unwrap(), [EPOCH], "{label}");

        // The store refuses writes (a file where its parts folder goes): nothing is marked
        // published, the epoch is the backlog, and retention must keep its inputs.
        std::fs::write(root.join("parts"), b"in the way").unwrap();
        let error = first.publish_pending().await.unwrap_err();
        assert!(
            format!("{error:#}").contains("bundle store"),
            "{label}: {error:#}"
        );
        assert_eq!(status.backlog(), 1, "{label}");
        assert_eq!(status.oldest_needed(), Some(EPOCH), "{label}");
        assert_eq!(status.newest_published(), None, "{label}");
        assert!(!root.join(format!("epochs/{EPOCH}/index.json")).exists());

        // The store is back: published, and nothing is held any more.
        std::fs::remove_file(root.join("parts")).unwrap();
        let published = first.publish_pending().await.unwrap();
        assert_eq!(published.len(), 1, "{label}");
        assert_eq!(published[0].outcome, IndexOutcome::Written, "{label}");
        assert_eq!(status.backlog(), 0, "{label}");
        assert_eq!(status.oldest_needed(), None, "{label}");
        assert_eq!(status.newest_published(), Some(EPOCH), "{label}");
        let index = &published[0].index;
        assert_eq!(index.root, hex::encode(report.rewards.root));
        // No staging file is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("bundles-work"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{label}: {leftovers:?}");

        // The bundle checks out: its telemetry is the report's union, every record holds,
        // and the computation over it gives the report's rewards.
        let work = tempfile::tempdir().unwrap();
        let fetched = fetch(&bundles, EPOCH, work.path(), |_, _| {})
            .await
            .unwrap();
        assert_eq!(fetched.report, report, "{label}");
        assert_eq!(fetched.params, VerifyParams::default());
        let again = recompute(
            &fetched.telemetry,
            NETWORK,
            &fetched.snapshot,
            &fetched.params,
            report.carried_dust_in,
            &base_of(&report).unwrap(),
            |_| {},
        )
        .unwrap();
        assert!(again.refused.is_empty(), "{label}: {:?}", again.refused);
        assert_eq!(again.streamed, again.announced, "{label}");
        assert_eq!(input_set(&again.streamed), report.union, "{label}");
        assert_eq!(
            again.records, 97,
            "{label}: 96 messages and a conflicting copy"
        );
        assert_eq!(again.rewards, report.rewards, "{label}");

        // A restart finds nothing to publish.
        let status = Arc::new(PublishStatus::new(
            bundles.url(),
            dir.path().join("bundles-work"),
            metrics.clone(),
        ));
        let restarted = publisher(status.clone());
        assert!(restarted.pending().unwrap().is_empty(), "{label}");
        assert!(restarted.publish_pending().await.unwrap().is_empty());

        // The next epoch's inputs are gone (its chain snapshot deleted): it fails, and after
        // three failures in a row it is set aside, named, and holds nothing any more.
        store.seal_through(EPOCH + 1).await.unwrap();
        write_snapshot(&view_dir, &snapshot(EPOCH + 1, &[1, 2]));
        assert_eq!(restarted.pending().unwrap().len(), 0, "{label}");
        let mut next_verifier = Verifier::new(
            store.clone(),
            &view_dir,
            &reports_dir,
            VerifyParams::default(),
        );
        assert_eq!(next_verifier.pass(NOW_MS).await.unwrap().stored.len(), 1);
        std::fs::remove_file(view_dir.join(format!("snapshots/{}.snapshot", EPOCH + 1))).unwrap();
        for _ in 0..2 {
            let error = restarted.publish_pending().await.unwrap_err();
            assert!(
                format!("{error:#}").contains("chain snapshot is gone"),
                "{label}: {error:#}"
            );
            assert_eq!(status.oldest_needed(), Some(EPOCH + 1), "{label}");
        }
        assert!(
            restarted.publish_pending().await.unwrap().is_empty(),
            "{label}"
        );
        assert!(status
            .unpublishable(EPOCH + 1)
            .unwrap()
            .contains("chain snapshot is gone"));
        assert_eq!(status.oldest_needed(), None, "{label}");
        assert_eq!(status.backlog(), 0, "{label}");
        write_snapshot(&view_dir, &snapshot(EPOCH + 1, &[1, 2]));

        // The epoch computed again (after a veto, with another denylist, the oracle stopped
        // meanwhile): published again at restart, the old index kept beside the new one.
        std::fs::remove_file(reports_dir.join(format!("{EPOCH}.report"))).unwrap();
        std::fs::remove_file(reports_dir.join(format!("{}.report", EPOCH + 1))).unwrap();
        // (`groundwork-oracle recompute` moves the set-aside mark with the reports.)
        std::fs::remove_file(
            dir.path()
                .join(format!("bundles-work/{}.unpublishable", EPOCH + 1)),
        )
        .unwrap();
        let mut params = VerifyParams::default();
        params.denylist.insert(device_key(1));
        let mut recomputing = Verifier::new(store.clone(), &view_dir, &reports_dir, params);
        let recomputed = recomputing.pass(NOW_MS).await.unwrap().stored.remove(0);
        assert_ne!(recomputed.rewards.root, report.rewards.root);
        let status = Arc::new(PublishStatus::new(
            bundles.url(),
            dir.path().join("bundles-work"),
            metrics.clone(),
        ));
        let after_recompute = publisher(status.clone());
        let published = after_recompute.publish_pending().await.unwrap();
        let IndexOutcome::Superseded { kept_at } = &published[0].outcome else {
            panic!("{label}: {:?}", published[0].outcome)
        };
        assert!(root.join(kept_at).exists(), "{label}");
        assert!(status.is_published(EPOCH), "{label}");
        assert!(status.is_published(EPOCH + 1), "{label}");
        let fetched = fetch(&bundles, EPOCH, work.path(), |_, _| {})
            .await
            .unwrap();
        assert_eq!(fetched.report, recomputed, "{label}");
        assert!(fetched.params.denylist.contains(&device_key(1)), "{label}");
    }
}
