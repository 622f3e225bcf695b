//! The store against real SQLite and PostgreSQL databases.

mod common;

use groundwork_oracle::store::{Store, StoredMessage};
use groundwork_telemetry::{Key, TelemetryBody, TelemetryV1};

fn message(device_seed: u8, seq: u64) -> StoredMessage {
    let seed = [device_seed; 32];
    let device = Key(ed25519_public(&seed));
    let signed = TelemetryV1 {
        network: Key([9; 32]),
        device,
        seq,
        timestamp_ms: 1_790_000_000_000 + seq as i64,
        body: TelemetryBody::Heartbeat {
            lat_e7: 1,
            lon_e7: 2,
            uptime_s: 3,
            firmware: 4,
        },
    }
    .sign(&seed);
    StoredMessage::new(&signed, 42)
}

fn ed25519_public(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

#[tokio::test]
async fn the_store_commits_finds_and_survives_reopening() {
    for (label, url) in common::fresh_store_urls("store_reopen").await {
        commits_finds_and_survives_reopening(label, &url).await;
    }
}

async fn commits_finds_and_survives_reopening(label: &str, url: &str) {
    let store = Store::open(url).await.unwrap();
    let batch: Vec<_> = (1..=5)
        .map(|seq| message(1, seq))
        .chain([message(2, 7)])
        .collect();
    store.commit(&batch).await.unwrap();
    // A (device, seq) committed twice is stored once.
    store.commit(&batch[..2]).await.unwrap();
    store.record_conflict(&message(1, 3)).await.unwrap();
    drop(store);

    let store = Store::open(url).await.unwrap();
    let keys = store.all_keys().await.unwrap();
    assert_eq!(keys.len(), 6, "{label}");
    let latest = store.latest_seqs().await.unwrap();
    assert_eq!(latest[&batch[0].device], 5, "{label}");
    assert_eq!(latest[&batch[5].device], 7, "{label}");
    let found = store.find(&batch[2].device, 3).await.unwrap().unwrap();
    assert_eq!(
        (found.canonical, found.signature),
        (batch[2].canonical.clone(), batch[2].signature.to_vec())
    );
    assert!(store.find(&batch[2].device, 99).await.unwrap().is_none());
    let summary = store.device_summary(&batch[0].device).await.unwrap();
    assert_eq!(
        (summary.accepted, summary.conflicts, summary.latest_seq),
        (5, 1, Some(5)),
        "{label}"
    );
    assert_eq!(
        store.latest_seq(&batch[0].device).await.unwrap(),
        Some(5),
        "{label}"
    );
}

#[tokio::test]
async fn an_unsupported_store_url_is_refused() {
    assert!(Store::open("mysql://localhost/x").await.is_err());
}
