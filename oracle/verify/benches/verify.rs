//! Verified work at network scale (a benchmark, not a test): for each size in
//! GROUNDWORK_BENCH_SIZES (default 10000,100000,1000000), devices spread over a city's cells,
//! each with 48 heartbeats, a data session (and credits paid on chain), a beacon and a witness
//! of a neighbour's beacon — 51 messages a device — fed to the computation a device at a
//! time, as the store streams a sealed epoch. Prints the time of each stage (score: every
//! device's rules, uptime, trust; finish: witnesses, density cap, split, leaves and tree) and
//! the peak memory, and the machine's ceiling: the haversine distances per second one core
//! computes (each heartbeat costs about three).
//!
//! Run: `cargo bench -p groundwork-oracle-verify --bench verify`

use groundwork_oracle_core::process::peak_memory_mib;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_chainview::model::EpochClose;
use groundwork_oracle_chainview::snapshot::{
    ChainSnapshot, ClassEntry, CreditPrice, DeviceEntry, LocationSpan, OperatorEntry, Standing,
    StandingSpan, SNAPSHOT_VERSION,
};
use groundwork_oracle_verify::geo::{cell_centre, distance_m, Point};
use groundwork_oracle_verify::{EpochComputation, Message, VerifyParams};
use groundwork_telemetry::{Key, TelemetryBody};

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

fn snapshot(devices: usize) -> ChainSnapshot {
    let operators = (devices / 10).max(1);
    let operator = |index: usize| {
        let mut bytes = [9u8; 32];
        bytes[..8].copy_from_slice(&((index % operators) as u64).to_be_bytes());
        Pubkey::new_from_array(bytes)
    };
    let mut entries: Vec<DeviceEntry> = (0..devices)
        .map(|index| DeviceEntry {
            device: Pubkey::new_from_array(key(index).0),
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
        credit_price: Some(CreditPrice {
            purchased_at: START,
            network_tokens_burned: 2_000_000,
            credits_minted: 100_000,
        }),
        classes: vec![ClassEntry {
            class_id: 0,
            reward_weight_bps: 10_000,
        }],
        operators: (0..operators)
            .map(|index| OperatorEntry {
                operator: operator(index),
                reward_recipient: Some(operator(index)),
                active_stake: 0,
            })
            .collect(),
        devices: entries,
    }
}

/// Device `index`'s 51 messages of the epoch.
fn messages_of(index: usize, devices: usize, centre: Point) -> Vec<Message> {
    let slot_ms = LENGTH * 1_000 / 48;
    let device = key(index);
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
            beacon_device: key(neighbour),
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

fn main() {
    let sizes: Vec<usize> = std::env::var("GROUNDWORK_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|size| size.trim().parse().ok())
        .collect();
    ceiling();
    let params = VerifyParams::default();
    for devices in sizes {
        let snapshot = snapshot(devices);
        let centres: Vec<Point> = (0..devices)
            .map(|index| cell_centre(cell_of(index, devices)).unwrap())
            .collect();
        let mut computation = EpochComputation::new(&snapshot, &params).unwrap();
        let mut scoring = Duration::ZERO;
        let mut generating = Duration::ZERO;
        for (index, centre) in centres.iter().enumerate() {
            let started = Instant::now();
            let messages = messages_of(index, devices, *centre);
            generating += started.elapsed();
            let started = Instant::now();
            computation.add_device(key(index), messages);
            scoring += started.elapsed();
        }
        let started = Instant::now();
        let rewards = computation
            .finish(&BTreeSet::new(), 0, &BTreeMap::new())
            .unwrap();
        let finishing = started.elapsed();
        let counts = rewards.device_counts();
        let (rewarded, zeroed) = (counts.rewarded, counts.zeroed);
        println!(
            "{devices} devices, {} messages: score {:.1} s, finish (witnesses, density, split, tree) {:.1} s, total {:.1} s (generating the messages, not counted: {:.1} s); {rewarded} rewarded, {zeroed} zeroed, {} recipients, dust {}; peak memory {:.0} MiB",
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
}
