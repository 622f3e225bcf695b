//! The telemetry store on real disks and a real PostgreSQL: each candidate's outcome (stored,
//! duplicate, conflict kept as bounded evidence, stale, sealed), recovery after a reopen, a
//! torn tail and a replay from an older checkpoint, sealing with manifests identical whatever
//! the arrival order and whichever backend, and retention.

mod common;

use common::StoreSpec;
use groundwork_oracle::store::frame::FrameKind;
use groundwork_oracle::store::{Candidate, Outcome, Store};
use groundwork_telemetry::{Key, TelemetryBody, TelemetryV1};

const EPOCH: u64 = 40;

/// Device `seed`'s message `seq` in `epoch`; `variant` changes its content.
fn candidate(seed: u8, seq: u64, epoch: u64, variant: u32) -> Candidate {
    let secret = [seed; 32];
    let device = Key(ed25519_dalek::SigningKey::from_bytes(&secret)
        .verifying_key()
        .to_bytes());
    let signed = TelemetryV1 {
        network: Key([9; 32]),
        device,
        seq,
        timestamp_ms: 1_790_000_000_000 + seq as i64,
        body: TelemetryBody::Heartbeat {
            lat_e7: 1,
            lon_e7: 2,
            uptime_s: variant,
            firmware: 4,
        },
    }
    .sign(&secret);
    Candidate {
        device,
        seq,
        epoch,
        canonical: signed.message.canonical_bytes(),
        signature: signed.signature,
        received_at_ms: 42,
    }
}

fn stored(seed: u8, seq: u64) -> Candidate {
    candidate(seed, seq, EPOCH, 0)
}

async fn commit(store: &Store, candidates: &[Candidate]) -> Vec<Outcome> {
    store.commit(candidates.to_vec()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_follow_the_seq_order_and_survive_a_reopen() {
    for spec in common::fresh_stores("store_outcomes").await {
        outcomes_and_reopen(&spec).await;
    }
}

async fn outcomes_and_reopen(spec: &StoreSpec) {
    let label = spec.label();
    let store = spec.open().await;
    let first = [stored(1, 1), stored(1, 2), stored(1, 3), stored(2, 7)];
    assert_eq!(
        commit(&store, &first).await,
        vec![Outcome::Stored; 4],
        "{label}"
    );
    // Identical bytes: a duplicate. Other bytes under a stored seq: a conflict, kept once per
    // distinct copy and at most 3 per device and epoch (the test stores' bound).
    let kept = Outcome::Conflict {
        evidence_kept: true,
    };
    let outcomes = commit(
        &store,
        &[
            stored(1, 2),
            candidate(1, 2, EPOCH, 1),
            candidate(1, 2, EPOCH, 1),
            candidate(1, 1, EPOCH, 2),
            candidate(1, 3, EPOCH, 3),
            candidate(1, 3, EPOCH, 4),
            stored(1, 0),
            stored(1, 4),
            stored(1, 4),
        ],
    )
    .await;
    assert_eq!(
        outcomes,
        vec![
            Outcome::Duplicate,
            kept.clone(),
            kept.clone(),
            kept.clone(),
            kept.clone(),
            Outcome::Conflict {
                evidence_kept: false
            },
            Outcome::Stale { last_seq: 3 },
            Outcome::Stored,
            Outcome::Duplicate,
        ],
        "{label}"
    );
    drop(store);

    // A reopened store knows every device's order and every stored message.
    let store = spec.open().await;
    let outcomes = commit(
        &store,
        &[
            stored(1, 3),
            stored(1, 5),
            candidate(1, 1, EPOCH, 9),
            stored(2, 6),
            stored(2, 7),
        ],
    )
    .await;
    assert_eq!(
        outcomes,
        vec![
            Outcome::Duplicate,
            Outcome::Stored,
            Outcome::Conflict {
                evidence_kept: false
            },
            Outcome::Stale { last_seq: 7 },
            Outcome::Duplicate,
        ],
        "{label}"
    );
    let summary = store.device_summary(&stored(1, 1).device).await.unwrap();
    assert_eq!(
        (summary.accepted, summary.latest_seq, summary.open_conflicts),
        (5, Some(5), 3),
        "{label}"
    );
    assert_eq!(summary.latest.unwrap().0, stored(1, 5).canonical, "{label}");
    let records = store.epoch_records(EPOCH).await.unwrap();
    let messages = records
        .iter()
        .filter(|record| record.kind == FrameKind::Message)
        .count();
    assert_eq!((messages, records.len() - messages), (6, 3), "{label}");
}

/// One epoch's messages from six devices, and two conflicting copies (cloned keys) that
/// arrive after the messages they conflict with.
fn epoch_input(epoch: u64) -> (Vec<Candidate>, Vec<Candidate>) {
    let mut messages = Vec::new();
    for seed in 10..16u8 {
        for seq in 1..=5 {
            messages.push(candidate(seed, seq, epoch, 0));
        }
    }
    let conflicts = vec![candidate(10, 3, epoch, 7), candidate(11, 5, epoch, 8)];
    (messages, conflicts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_epoch_is_frozen_and_its_manifest_does_not_depend_on_arrival_order() {
    let mut digests = Vec::new();
    for (index, order) in ["forward", "shuffled"].into_iter().enumerate() {
        for spec in common::fresh_stores(&format!("store_seal_{index}")).await {
            let label = format!("{} {order}", spec.label());
            let store = spec.open().await;
            let (mut messages, mut conflicts) = epoch_input(EPOCH);
            let group = if order == "shuffled" {
                // Each device's messages stay in seq order; devices interleave otherwise and
                // arrive in groups of another size.
                messages
                    .sort_by_key(|candidate| (candidate.seq, std::cmp::Reverse(candidate.device)));
                conflicts.reverse();
                7
            } else {
                64
            };
            for chunk in messages.chunks(group) {
                commit(&store, chunk).await;
            }
            commit(&store, &conflicts).await;
            // Epoch 41 holds one message; 42 nothing; 43 stays open.
            commit(&store, &[candidate(10, 6, EPOCH + 1, 0)]).await;
            let sealed = store.seal_through(EPOCH + 2).await.unwrap();
            assert_eq!(
                sealed
                    .iter()
                    .map(|manifest| manifest.epoch)
                    .collect::<Vec<_>>(),
                vec![EPOCH, EPOCH + 1],
                "{label}"
            );
            let manifest = store.manifest(EPOCH).await.unwrap().unwrap();
            assert_eq!((manifest.messages, manifest.conflicts), (30, 2), "{label}");
            let empty = store.manifest(EPOCH + 2).await.unwrap().unwrap();
            assert_eq!((empty.messages, empty.conflicts), (0, 0), "{label}");
            assert_eq!(store.manifest(EPOCH + 3).await.unwrap(), None, "{label}");
            // Frozen: nothing more enters a sealed epoch; the open one still takes messages.
            assert_eq!(
                commit(
                    &store,
                    &[candidate(12, 9, EPOCH, 0), candidate(12, 10, EPOCH + 3, 0)]
                )
                .await,
                vec![Outcome::EpochSealed, Outcome::Stored],
                "{label}"
            );
            assert_eq!(
                store.seal_through(EPOCH + 2).await.unwrap(),
                vec![],
                "{label}"
            );
            let records = store.epoch_records(EPOCH).await.unwrap();
            assert!(
                records
                    .windows(2)
                    .all(|pair| pair[0].sort_key() <= pair[1].sort_key()),
                "{label}: records in (device, seq) order"
            );
            assert_eq!(
                groundwork_oracle::store::Manifest::of_sorted(EPOCH, &records),
                manifest,
                "{label}: the manifest describes the records served"
            );
            drop(store);
            // A segment store that lost a sealed epoch's manifest and index rebuilds them.
            if let StoreSpec::Segments(dir) = &spec {
                let epoch_dir = dir.join("epochs").join(format!("{EPOCH:020}"));
                std::fs::remove_file(epoch_dir.join("manifest.json")).unwrap();
                std::fs::remove_file(epoch_dir.join("index")).unwrap();
            }
            // A reopened store keeps its seals.
            let store = spec.open().await;
            assert_eq!(store.manifest(EPOCH).await.unwrap(), Some(manifest.clone()));
            assert_eq!(
                commit(&store, &[candidate(13, 9, EPOCH + 1, 0)]).await,
                vec![Outcome::EpochSealed],
                "{label}"
            );
            digests.push((label, manifest.digest));
        }
    }
    let first = &digests[0].1;
    assert!(
        digests.iter().all(|(_, digest)| digest == first),
        "every backend and order gives one digest: {digests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_sealed_epochs_and_keeps_their_manifests() {
    for spec in common::fresh_stores("store_prune").await {
        let label = spec.label();
        let store = spec.open().await;
        for epoch in [1, 2, 3] {
            commit(&store, &[candidate(20, epoch, epoch, 0)]).await;
        }
        // Only sealed epochs are pruned.
        assert!(
            store.prune_through(3).await.unwrap().epochs.is_empty(),
            "{label}"
        );
        store.seal_through(2).await.unwrap();
        let manifest = store.manifest(1).await.unwrap().unwrap();
        // What the store holds on disk (the dashboard's store size) counts what it wrote...
        let before = store.bytes_on_disk().await.unwrap();
        assert!(before > 0, "{label}");
        let pruned = store.prune_through(3).await.unwrap();
        assert_eq!(pruned.epochs, vec![1, 2], "{label}");
        assert!(pruned.bytes > 0, "{label}");
        // ... and, for segment files, no longer what retention removed.
        let after = store.bytes_on_disk().await.unwrap();
        if matches!(store, Store::Segments(_)) {
            assert!(after < before, "{label}: {before} -> {after}");
        } else {
            assert!(after > 0, "{label}");
        }
        assert_eq!(store.manifest(1).await.unwrap(), Some(manifest), "{label}");
        assert_eq!(store.epoch_records(3).await.unwrap().len(), 1, "{label}");
        // The device's order survives the prune of its older messages.
        assert_eq!(
            commit(&store, &[candidate(20, 2, 3, 0), candidate(20, 4, 3, 0)]).await,
            vec![Outcome::Stale { last_seq: 3 }, Outcome::Stored],
            "{label}"
        );
    }
}

fn segment_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for epoch in std::fs::read_dir(dir.join("epochs")).unwrap() {
        for file in std::fs::read_dir(epoch.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "seg") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_is_cut_and_damage_before_it_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Segments(dir.path().to_path_buf());
    let store = spec.open().await;
    commit(&store, &[stored(30, 1), stored(30, 2), stored(31, 1)]).await;
    drop(store);
    let segment = segment_files(dir.path()).remove(0);
    let intact = std::fs::read(&segment).unwrap();

    // A crash in the middle of a write leaves part of a frame at the end.
    let mut torn = intact.clone();
    let mut next_frame = Vec::new();
    groundwork_oracle::store::frame::Frame {
        kind: FrameKind::Message,
        previous: None,
        received_at_ms: 1,
        signature: [1; 64],
        canonical: stored(30, 3).canonical,
    }
    .encode_into(&mut next_frame);
    torn.extend_from_slice(&next_frame[..next_frame.len() / 2]);
    std::fs::write(&segment, &torn).unwrap();
    let store = spec.open().await;
    assert_eq!(
        std::fs::read(&segment).unwrap(),
        intact,
        "the torn tail is cut"
    );
    assert_eq!(
        commit(&store, &[stored(30, 2), stored(30, 3)]).await,
        vec![Outcome::Duplicate, Outcome::Stored]
    );
    drop(store);

    // Damage inside a frame followed by valid frames is not a torn tail: the start refuses.
    let mut damaged = std::fs::read(&segment).unwrap();
    damaged[40] ^= 0xFF;
    std::fs::write(&segment, &damaged).unwrap();
    std::fs::remove_file(dir.path().join("checkpoint")).unwrap();
    let mut config =
        groundwork_oracle::store::segments::SegmentConfig::new(dir.path().to_path_buf());
    config.max_conflicts_per_device_epoch = 3;
    let error = groundwork_oracle::store::segments::SegmentStore::open(config)
        .err()
        .expect("a damaged segment stops the start");
    assert!(error.to_string().contains("damaged"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_replays_only_what_was_written_after_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Segments(dir.path().to_path_buf());
    let store = spec.open().await;
    commit(&store, &[stored(40, 1), stored(40, 2), stored(41, 1)]).await;
    let Store::Segments(segments) = &store else {
        unreachable!()
    };
    segments.checkpoint().await.unwrap();
    let older_checkpoint = std::fs::read(dir.path().join("checkpoint")).unwrap();
    commit(
        &store,
        &[stored(40, 3), stored(42, 1), candidate(40, 1, EPOCH, 5)],
    )
    .await;
    drop(store);

    // As after a crash: the checkpoint on disk predates the last writes.
    std::fs::write(dir.path().join("checkpoint"), &older_checkpoint).unwrap();
    let store = spec.open().await;
    assert_eq!(
        commit(
            &store,
            &[
                stored(40, 3),
                stored(42, 1),
                stored(40, 4),
                candidate(40, 1, EPOCH, 5)
            ]
        )
        .await,
        vec![
            Outcome::Duplicate,
            Outcome::Duplicate,
            Outcome::Stored,
            Outcome::Conflict {
                evidence_kept: true
            }
        ]
    );
    let summary = store.device_summary(&stored(40, 1).device).await.unwrap();
    assert_eq!((summary.accepted, summary.open_conflicts), (4, 1));
    drop(store);

    // Without any checkpoint, the whole log is replayed to the same state.
    std::fs::remove_file(dir.path().join("checkpoint")).unwrap();
    let store = spec.open().await;
    let summary = store.device_summary(&stored(40, 1).device).await.unwrap();
    assert_eq!(
        (summary.accepted, summary.latest_seq, summary.open_conflicts),
        (4, Some(4), 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Segments(dir.path().to_path_buf());
    let store = spec.open().await;
    let second = groundwork_oracle::store::segments::SegmentStore::open(
        groundwork_oracle::store::segments::SegmentConfig::new(dir.path().to_path_buf()),
    );
    let error = second.err().expect("the directory is locked");
    assert!(
        error
            .to_string()
            .contains("another process holds the store"),
        "{error}"
    );
    drop(store);
    // Released at close.
    let _reopened = spec.open().await;
}
