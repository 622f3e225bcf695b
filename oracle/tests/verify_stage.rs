//! The verify stage over a real store (segment files and PostgreSQL): an epoch that is sealed
//! and has its chain snapshot is computed from the store's telemetry and its report stored
//! with the digests of its inputs; an honest device earns and a cloned key (a conflicting copy
//! in the store) is zeroed for it; a restart computes the newest report again and finds it
//! equal; a stored report that differs from what its inputs give raises the determinism
//! alarm, and the stored report is kept.

mod common;

use groundwork_oracle::chainview::files::write_atomically;
use groundwork_oracle::chainview::model::EpochClose;
use groundwork_oracle::chainview::snapshot::{
    ChainSnapshot, ClassEntry, CreditPrice, DeviceEntry, LocationSpan, OperatorEntry, Standing,
    StandingSpan, SNAPSHOT_VERSION,
};
use groundwork_oracle::store::{Candidate, Store};
use groundwork_oracle::verify::geo::cell_centre;
use groundwork_oracle::verify::stage::{Reports, Verifier};
use groundwork_oracle::verify::{Fraud, VerifyParams};
use groundwork_telemetry::{Key, TelemetryBody, TelemetryV1};

const EPOCH: u64 = 12;
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
        credit_price: Some(CreditPrice {
            purchased_at: start,
            network_tokens_burned: 1_000,
            credits_minted: 50,
        }),
        classes: vec![ClassEntry {
            class_id: 0,
            reward_weight_bps: 10_000,
        }],
        operators: vec![OperatorEntry {
            operator,
            reward_recipient: Some(operator),
            active_stake: 0,
        }],
        devices,
    }
}

/// A heartbeat of device `seed` in slot `slot` of epoch [`EPOCH`] at the cell's centre
/// (`variant` moves its uptime counter: a different copy under the same seq).
fn heartbeat(seed: u8, slot: i64, variant: u32) -> Candidate {
    let centre = cell_centre(CELL).unwrap();
    let signed = TelemetryV1 {
        network: Key([9; 32]),
        device: device_key(seed),
        seq: slot as u64 + 1,
        timestamp_ms: START * 1_000 + slot * LENGTH * 1_000 / 48 + 1_000,
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
        epoch: EPOCH,
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
        let pass = verifier.pass().await.unwrap();
        assert!(pass.stored.is_empty(), "{label}");
        assert!(pass.waiting.unwrap().contains("seal"), "{label}");

        store.seal_through(EPOCH).await.unwrap();
        let pass = verifier.pass().await.unwrap();
        assert_eq!(pass.stored.len(), 1, "{label}");
        let report = &pass.stored[0];
        let manifest = store.manifest(EPOCH).await.unwrap().unwrap();
        assert_eq!(report.telemetry_digest, manifest.digest);
        assert_eq!(
            (report.telemetry_messages, report.telemetry_conflicts),
            (96, 1),
            "{label}"
        );
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
        let pass = restarted.pass().await.unwrap();
        assert_eq!(pass.determinism_alarm, None, "{label}");
        assert!(pass.stored.is_empty());

        // The next epoch holds no telemetry at all: sealed by the watermark alone, it is
        // verified too, adding to the previous report (its dust carried, its totals kept).
        store.seal_through(EPOCH + 1).await.unwrap();
        let pass = restarted.pass().await.unwrap();
        assert_eq!(pass.stored.len(), 1, "{label}");
        let next = &pass.stored[0];
        assert_eq!(next.telemetry_messages, 0);
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
        let pass = alarmed.pass().await.unwrap();
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
