//! Every rule of SPEC 4.3, one test each: a cheater is zeroed with its reason while an honest
//! neighbour in the same cell keeps the score it has alone; the eligibility, trust and density
//! boundaries; the data cap; and, as properties over random networks, determinism whatever
//! the arrival order and conservation of the pool.

use std::collections::{BTreeMap, BTreeSet};

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_rewards::geo::{cell_centre, north_of, Point};
use groundwork_oracle_rewards::snapshot::{
    ChainSnapshot, ClassEntry, CreditPrice, DeviceEntry, EpochClose, LocationSpan, OperatorEntry,
    Standing, StandingSpan, SNAPSHOT_VERSION,
};
use groundwork_oracle_rewards::{
    compute, EpochComputation, EpochRewards, Fraud, Message, VerifyParams,
};
use groundwork_telemetry::{Key, TelemetryBody};
use proptest::prelude::*;

const START: i64 = 1_800_000_000;
const LENGTH: i64 = 86_400;
const SLOT_MS: i64 = LENGTH * 1_000 / 48;
const POOL: u64 = 70_000_000_000;

/// A resolution-12 cell at `lat`, `lon` (degrees).
fn cell_at(lat: f64, lon: f64) -> u64 {
    u64::from(
        h3o::LatLng::new(lat, lon)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve),
    )
}

fn home() -> u64 {
    cell_at(37.7749, -122.4194)
}

fn key(index: u8) -> Key {
    Key([index; 32])
}

fn pubkey(index: u8) -> Pubkey {
    Pubkey::new_from_array([index; 32])
}

fn device(index: u8, cell: u64) -> DeviceEntry {
    DeviceEntry {
        device: pubkey(index),
        operator: pubkey(200),
        class_id: 0,
        reward_recipient: Some(pubkey(index.wrapping_add(100))),
        onboarded_at: START - 1_000,
        standing: vec![StandingSpan {
            from_ts: START,
            standing: Standing::Active,
        }],
        locations: vec![LocationSpan {
            from_ts: START,
            cell,
        }],
        credits_paid: 0,
    }
}

fn snapshot(mut devices: Vec<DeviceEntry>) -> ChainSnapshot {
    devices.sort_by_key(|entry| entry.device);
    ChainSnapshot {
        version: SNAPSHOT_VERSION,
        epoch: 7,
        start_ts: START,
        end_ts: START + LENGTH,
        params: EpochClose {
            epoch: 7,
            closed_at: START + LENGTH + 5,
            minted: POOL * 10 / 7,
            device_share: POOL,
            staker_share: POOL * 2 / 7,
            treasury_share: POOL / 7,
            device_pool_cumulative: POOL * 8,
            devices_bps: 7_000,
            stakers_bps: 2_000,
            treasury_bps: 1_000,
        },
        credit_price: Some(CreditPrice {
            purchased_at: START + 60,
            network_tokens_burned: 2_000_000,
            credits_minted: 100_000,
        }),
        classes: vec![ClassEntry {
            class_id: 0,
            reward_weight_bps: 10_000,
        }],
        operators: vec![OperatorEntry {
            operator: pubkey(200),
            reward_recipient: Some(pubkey(201)),
            active_stake: 0,
        }],
        devices,
    }
}

/// Heartbeats of `device` at `point`, one a slot in slots `0..slots`, seq from `first_seq`.
fn heartbeats(device: u8, slots: u32, point: Point, first_seq: u64) -> Vec<Message> {
    (0..slots)
        .map(|slot| Message {
            device: key(device),
            seq: first_seq + u64::from(slot),
            timestamp_ms: START * 1_000 + i64::from(slot) * SLOT_MS + 60_000,
            body: TelemetryBody::Heartbeat {
                lat_e7: point.lat_e7,
                lon_e7: point.lon_e7,
                uptime_s: 60,
                firmware: 1,
            },
        })
        .collect()
}

fn run(snapshot: &ChainSnapshot, messages: &[Message], conflicted: &[u8]) -> EpochRewards {
    run_with(snapshot, messages, conflicted, &VerifyParams::default())
}

fn run_with(
    snapshot: &ChainSnapshot,
    messages: &[Message],
    conflicted: &[u8],
    params: &VerifyParams,
) -> EpochRewards {
    let conflicted: BTreeSet<Key> = conflicted.iter().map(|index| key(*index)).collect();
    compute(snapshot, messages, &conflicted, params, 0, &BTreeMap::new()).unwrap()
}

fn row(rewards: &EpochRewards, index: u8) -> &groundwork_oracle_rewards::DeviceRow {
    rewards
        .rows
        .iter()
        .find(|row| row.device == pubkey(index))
        .unwrap()
}

/// The honest device 1 alone, and with cheater 2 (whose own messages are `cheat`) in its
/// cell: the cheater is zeroed for `reason` only, the honest device keeps its score.
fn assert_zeroed(
    reason: Fraud,
    mut cheater: DeviceEntry,
    cheat: Vec<Message>,
    conflicted: &[u8],
    params: &VerifyParams,
) {
    let centre = cell_centre(home()).unwrap();
    let honest = heartbeats(1, 48, centre, 1);
    let alone = run_with(&snapshot(vec![device(1, home())]), &honest, &[], params);
    cheater.device = pubkey(2);
    let network = snapshot(vec![device(1, home()), cheater]);
    let mut messages = honest.clone();
    messages.extend(cheat);
    let rewards = run_with(&network, &messages, conflicted, params);
    let cheater_row = row(&rewards, 2);
    assert_eq!(cheater_row.fraud, [reason], "{cheater_row:?}");
    let explained = cheater_row.explain(params);
    assert!(
        explained.starts_with(&format!("earned nothing: zeroed for {}", reason.code())),
        "{explained}"
    );
    assert_eq!((cheater_row.amount, cheater_row.coverage_score), (0, 0));
    let honest_row = row(&rewards, 1);
    assert!(honest_row.fraud.is_empty());
    assert_eq!(honest_row.coverage_score, row(&alone, 1).coverage_score);
    assert!(honest_row.amount > 0);
    assert_eq!(
        rewards.rows.iter().map(|row| row.amount).sum::<u64>() + rewards.dust,
        rewards.pool
    );
}

fn honest_like(index: u8) -> Vec<Message> {
    heartbeats(index, 48, cell_centre(home()).unwrap(), 1)
}

#[test]
fn a_suspended_device_earns_nothing() {
    let mut cheater = device(2, home());
    cheater.standing.push(StandingSpan {
        from_ts: START + 3_600,
        standing: Standing::Suspended { reason: 4 },
    });
    assert_zeroed(
        Fraud::Suspended,
        cheater,
        honest_like(2),
        &[],
        &VerifyParams::default(),
    );
}

#[test]
fn a_denylisted_device_earns_nothing() {
    let mut params = VerifyParams::default();
    params.denylist.insert(key(2));
    assert_zeroed(
        Fraud::Denylisted,
        device(2, home()),
        honest_like(2),
        &[],
        &params,
    );
}

#[test]
fn a_seq_conflict_zeroes_the_cloned_key() {
    assert_zeroed(
        Fraud::SeqConflict,
        device(2, home()),
        honest_like(2),
        &[2],
        &VerifyParams::default(),
    );
}

#[test]
fn a_clock_going_backwards_is_caught() {
    let mut cheat = honest_like(2);
    cheat[20].timestamp_ms = cheat[19].timestamp_ms - 1_000;
    assert_zeroed(
        Fraud::ClockBackwards,
        device(2, home()),
        cheat,
        &[],
        &VerifyParams::default(),
    );
}

#[test]
fn impossible_movement_is_caught() {
    // 200 km away and back between heartbeats 30 minutes apart: 400 km/h.
    let centre = cell_centre(home()).unwrap();
    let mut cheat = honest_like(2);
    if let TelemetryBody::Heartbeat { lat_e7, .. } = &mut cheat[10].body {
        *lat_e7 = north_of(centre, 200_000).lat_e7;
    }
    assert_zeroed(
        Fraud::ImpossibleMovement,
        device(2, home()),
        cheat,
        &[],
        &VerifyParams::default(),
    );
}

#[test]
fn two_places_in_one_slot_are_caught() {
    // A second heartbeat 2 km away, 20 minutes later in the same slot: 6 km/h, but two places.
    let centre = cell_centre(home()).unwrap();
    let mut cheat = honest_like(2);
    let far = north_of(centre, 2_000);
    let mut second = cheat[5].clone();
    second.timestamp_ms += 20 * 60_000;
    second.body = TelemetryBody::Heartbeat {
        lat_e7: far.lat_e7,
        lon_e7: far.lon_e7,
        uptime_s: 60,
        firmware: 1,
    };
    cheat.push(second);
    // Keep seq order equal to time order.
    cheat.sort_by_key(|message| message.timestamp_ms);
    for (index, message) in cheat.iter_mut().enumerate() {
        message.seq = index as u64 + 1;
    }
    assert_zeroed(
        Fraud::TwoPlacesInOneSlot,
        device(2, home()),
        cheat,
        &[],
        &VerifyParams::default(),
    );
}

fn witness(device: u8, seq: u64, of: u8, beacon_seq: u64) -> Message {
    Message {
        device: key(device),
        seq,
        timestamp_ms: START * 1_000 + 47 * SLOT_MS + 120_000,
        body: TelemetryBody::Witness {
            beacon_device: key(of),
            beacon_seq,
            rssi_dbm: -90,
            snr_db_e1: 50,
            frequency_hz: 868_100_000,
        },
    }
}

fn beacon(device: u8, seq: u64) -> Message {
    Message {
        device: key(device),
        seq,
        timestamp_ms: START * 1_000 + 47 * SLOT_MS + 100_000,
        body: TelemetryBody::Beacon {
            frequency_hz: 868_100_000,
            nonce: [device; 16],
        },
    }
}

#[test]
fn a_self_witness_is_caught() {
    let mut cheat = honest_like(2);
    cheat.push(beacon(2, 100));
    cheat.push(witness(2, 101, 2, 100));
    assert_zeroed(
        Fraud::SelfWitness,
        device(2, home()),
        cheat,
        &[],
        &VerifyParams::default(),
    );
}

#[test]
fn a_witness_of_a_beacon_that_does_not_exist_is_caught() {
    let mut cheat = honest_like(2);
    cheat.push(witness(2, 100, 1, 999));
    assert_zeroed(
        Fraud::WitnessOfMissingBeacon,
        device(2, home()),
        cheat,
        &[],
        &VerifyParams::default(),
    );
}

#[test]
fn a_witness_inside_the_beacons_resolution_11_cell_is_caught() {
    // The honest neighbour beacons; the cheater, in the same cell, witnesses it.
    let mut cheat = honest_like(2);
    cheat.push(beacon(1, 100));
    cheat.push(witness(2, 100, 1, 100));
    assert_zeroed(
        Fraud::WitnessTooClose,
        device(2, home()),
        cheat,
        &[],
        &VerifyParams::default(),
    );
}

#[test]
fn a_witness_over_100_km_away_is_caught() {
    // Device 3, 150 km north, beacons; the cheater at home witnesses it.
    let centre = cell_centre(home()).unwrap();
    let far = north_of(centre, 150_000);
    let far_cell = u64::from(
        h3o::LatLng::new(f64::from(far.lat_e7) / 1e7, f64::from(far.lon_e7) / 1e7)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve),
    );
    let mut cheat = honest_like(2);
    cheat.push(witness(2, 100, 3, 5));
    cheat.push(beacon(3, 5));
    let mut network = vec![device(1, home()), device(2, home()), device(3, far_cell)];
    let mut messages = honest_like(1);
    messages.extend(cheat);
    network.sort_by_key(|entry| entry.device);
    let rewards = run(&snapshot(network), &messages, &[]);
    assert_eq!(row(&rewards, 2).fraud, [Fraud::WitnessTooFar]);
    assert_eq!(row(&rewards, 2).amount, 0);
    assert!(row(&rewards, 1).fraud.is_empty() && row(&rewards, 1).amount > 0);
    // A witness 50 km away is fine.
    let near = north_of(centre, 50_000);
    let near_cell = u64::from(
        h3o::LatLng::new(f64::from(near.lat_e7) / 1e7, f64::from(near.lon_e7) / 1e7)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve),
    );
    let network = vec![device(1, home()), device(2, home()), device(3, near_cell)];
    let rewards = run(&snapshot(network), &messages, &[]);
    assert!(row(&rewards, 2).fraud.is_empty());
}

#[test]
fn eligibility_starts_at_12_slots() {
    let centre = cell_centre(home()).unwrap();
    let network = snapshot(vec![device(1, home()), device(2, home())]);
    let mut messages = heartbeats(1, 11, centre, 1);
    messages.extend(heartbeats(2, 12, centre, 1));
    let rewards = run(&network, &messages, &[]);
    assert_eq!(
        (row(&rewards, 1).uptime_slots, row(&rewards, 1).amount),
        (11, 0)
    );
    assert_eq!(row(&rewards, 2).uptime_slots, 12);
    assert!(row(&rewards, 2).amount > 0);
}

#[test]
fn location_trust_steps_at_300_and_400_metres() {
    let centre = cell_centre(home()).unwrap();
    let expected = [(299, 10_000), (301, 2_500), (399, 2_500), (401, 0)];
    for (metres, trust) in expected {
        let network = snapshot(vec![device(1, home())]);
        let messages = heartbeats(1, 48, north_of(centre, metres), 1);
        let rewards = run(&network, &messages, &[]);
        let row = row(&rewards, 1);
        assert_eq!(row.median_distance_m, Some(metres));
        assert_eq!(row.trust_bps, trust, "{metres} m");
        assert_eq!(row.amount > 0, trust > 0, "{metres} m");
    }
}

#[test]
fn the_density_cap_shares_k_devices_worth_above_k() {
    let centre = cell_centre(home()).unwrap();
    let scores = |count: u8| {
        let network = snapshot((1..=count).map(|index| device(index, home())).collect());
        let messages: Vec<Message> = (1..=count)
            .flat_map(|index| heartbeats(index, 48, centre, 1))
            .collect();
        let rewards = run(&network, &messages, &[]);
        rewards
            .rows
            .iter()
            .map(|row| (row.coverage_score, row.density_devices))
            .collect::<Vec<_>>()
    };
    let full = scores(1)[0].0;
    let four = scores(4);
    assert!(four
        .iter()
        .all(|(score, devices)| *score == full && *devices == 4));
    let five = scores(5);
    assert!(five
        .iter()
        .all(|(score, devices)| *score == full * 4 / 5 && *devices == 5));
}

#[test]
fn an_operator_paying_its_own_device_gets_back_at_most_what_it_burned() {
    // 100,000 credits paid (bought for 2,000,000 token units); the data share is far larger.
    let centre = cell_centre(home()).unwrap();
    let mut paid = device(1, home());
    paid.credits_paid = 100_000;
    let network = snapshot(vec![paid, device(2, home())]);
    let mut messages = heartbeats(1, 48, centre, 1);
    messages.extend(heartbeats(2, 48, centre, 1));
    messages.push(Message {
        device: key(1),
        seq: 1_000,
        timestamp_ms: START * 1_000 + 47 * SLOT_MS + 200_000,
        body: TelemetryBody::DataSession {
            payer: key(1),
            bytes_up: 10,
            bytes_down: 20,
            session_id: 1,
        },
    });
    let rewards = run(&network, &messages, &[]);
    let data = row(&rewards, 1);
    assert_eq!(data.data_cap, 2_000_000);
    assert_eq!(data.data_reward, 2_000_000);
    assert!(data.data_uncapped > data.data_cap);
    // What the cap removed went to coverage: both devices share it equally.
    assert_eq!(rewards.data_to_coverage, rewards.data_pool - 2_000_000);
    assert_eq!(
        row(&rewards, 1).coverage_reward,
        row(&rewards, 2).coverage_reward
    );
    // Without DataSession telemetry the payment is not confirmed: no data reward.
    messages.pop();
    let rewards = run(&network, &messages, &[]);
    assert_eq!(row(&rewards, 1).data_reward, 0);
    assert_eq!(rewards.data_to_coverage, rewards.data_pool);
}

fn random_network(
) -> impl Strategy<Value = (ChainSnapshot, Vec<Message>, u64, BTreeMap<Pubkey, u64>)> {
    let device_count = 1u8..12;
    (
        device_count,
        any::<u64>(),
        0u64..1_000_000,
        proptest::collection::vec(0u64..5_000_000, 0..4),
    )
        .prop_map(|(count, seed, dust, base)| {
            let mut state = seed;
            let mut next = move |bound: u64| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 33) % bound.max(1)
            };
            let centre = cell_centre(home()).unwrap();
            let mut devices = Vec::new();
            let mut messages = Vec::new();
            for index in 1..=count {
                let spot = north_of(centre, next(3_000));
                let cell = u64::from(
                    h3o::LatLng::new(f64::from(spot.lat_e7) / 1e7, f64::from(spot.lon_e7) / 1e7)
                        .unwrap()
                        .to_cell(h3o::Resolution::Twelve),
                );
                let mut entry = device(index, cell);
                entry.reward_recipient = Some(pubkey(100 + (index % 3)));
                entry.credits_paid = next(200_000);
                devices.push(entry);
                let slots = next(49) as u32;
                let wander = north_of(spot, next(500));
                messages.extend(heartbeats(index, slots, wander, 1));
                if next(2) == 1 {
                    messages.push(beacon(index, 500));
                    let other = (next(u64::from(count)) + 1) as u8;
                    messages.push(witness(index, 501, other, 500));
                }
                if next(2) == 1 {
                    messages.push(Message {
                        device: key(index),
                        seq: 600,
                        timestamp_ms: START * 1_000 + LENGTH * 1_000 - 1,
                        body: TelemetryBody::DataSession {
                            payer: key(99),
                            bytes_up: 1,
                            bytes_down: 1,
                            session_id: 1,
                        },
                    });
                }
            }
            let base = base
                .into_iter()
                .enumerate()
                .map(|(index, amount)| (pubkey(100 + index as u8), amount))
                .collect();
            (snapshot(devices), messages, dust, base)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_same_input_in_any_order_gives_the_same_rewards(
        (network, messages, dust, base) in random_network(),
        order in any::<u64>(),
    ) {
        let params = VerifyParams::default();
        let first = compute(&network, &messages, &BTreeSet::new(), &params, dust, &base).unwrap();
        let mut shuffled = messages.clone();
        // A deterministic shuffle of the arrival order, with duplicates (a message from two peers).
        let mut state = order;
        for index in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            shuffled.swap(index, (state >> 33) as usize % (index + 1));
        }
        shuffled.extend(messages.iter().take(5).cloned());
        let second = compute(&network, &shuffled, &BTreeSet::new(), &params, dust, &base).unwrap();
        prop_assert_eq!(&first, &second);
        // Fed a device at a time, in another device order (as a store streams it).
        let mut by_device: BTreeMap<Key, Vec<Message>> = BTreeMap::new();
        for message in shuffled {
            by_device.entry(message.device).or_default().push(message);
        }
        let mut computation = EpochComputation::new(&network, &params).unwrap();
        for (device, messages) in by_device.into_iter().rev() {
            computation.add_device(device, messages);
        }
        let third = computation.finish(&BTreeSet::new(), dust, &base).unwrap();
        prop_assert_eq!(&first, &third);
    }

    #[test]
    fn the_pool_is_conserved_and_cumulative_totals_only_grow(
        (network, messages, dust, base) in random_network(),
    ) {
        let rewards = compute(&network, &messages, &BTreeSet::new(), &VerifyParams::default(), dust, &base).unwrap();
        let paid: u64 = rewards.rows.iter().map(|row| row.amount).sum();
        prop_assert_eq!(paid + rewards.dust, network.params.device_share + dust);
        prop_assert_eq!(rewards.rewards.values().sum::<u64>(), paid);
        for (recipient, amount) in &base {
            prop_assert!(rewards.cumulative.get(recipient).copied().unwrap_or(0) >= *amount);
        }
        let base_total: u64 = base.values().sum();
        prop_assert_eq!(rewards.cumulative_total, base_total + paid);
        prop_assert!(rewards.cumulative_total <= base_total + rewards.pool);
    }
}

#[test]
fn hundreds_of_places_in_one_slot_are_judged_without_quadratic_work() {
    // 300 distinct positions within 300 m in slot 3: one place. One more 2 km away: two.
    let centre = cell_centre(home()).unwrap();
    let crowd = |extra: Option<u64>| {
        let mut messages = honest_like(2);
        let base = messages[3].timestamp_ms;
        let mut positions: Vec<Point> = (0..300).map(|step| north_of(centre, step)).collect();
        if let Some(metres) = extra {
            positions.push(north_of(centre, metres));
        }
        // Five seconds apart (the far one a minute after the crowd): plausible speeds.
        for (index, point) in positions.into_iter().enumerate() {
            let offset_ms = if index < 300 {
                index as i64 * 5_000
            } else {
                1_560_000
            };
            messages.push(Message {
                device: key(2),
                seq: 0,
                timestamp_ms: base + offset_ms + 1,
                body: TelemetryBody::Heartbeat {
                    lat_e7: point.lat_e7,
                    lon_e7: point.lon_e7,
                    uptime_s: 1,
                    firmware: 1,
                },
            });
        }
        messages.sort_by_key(|message| message.timestamp_ms);
        for (index, message) in messages.iter_mut().enumerate() {
            message.seq = index as u64 + 1;
        }
        let network = snapshot(vec![device(2, home())]);
        run(&network, &messages, &[])
    };
    let calm = crowd(None);
    assert!(row(&calm, 2).fraud.is_empty(), "{:?}", row(&calm, 2).fraud);
    assert_eq!(
        row(&crowd(Some(2_000)), 2).fraud,
        [Fraud::TwoPlacesInOneSlot]
    );
}

#[test]
fn a_witness_of_a_device_the_chain_does_not_know_is_a_witness_of_nothing() {
    // Device 9 is not in the snapshot: its beacon does not count.
    let mut cheat = honest_like(2);
    cheat.push(beacon(9, 100));
    cheat.push(witness(2, 100, 9, 100));
    assert_zeroed(
        Fraud::WitnessOfMissingBeacon,
        device(2, home()),
        cheat,
        &[],
        &VerifyParams::default(),
    );
}

#[test]
fn what_a_device_signed_while_not_onboarded_does_not_count() {
    // Onboarded a quarter into the epoch and deactivated at three quarters: only the
    // heartbeats in between count (a peer's set is held to what ingest enforces on arrival).
    let mut late = device(2, home());
    late.standing = vec![
        StandingSpan {
            from_ts: START,
            standing: Standing::Absent,
        },
        StandingSpan {
            from_ts: START + LENGTH / 4,
            standing: Standing::Active,
        },
        StandingSpan {
            from_ts: START + LENGTH * 3 / 4,
            standing: Standing::Absent,
        },
    ];
    let mut messages = honest_like(1);
    messages.extend(honest_like(2));
    let rewards = run(&snapshot(vec![device(1, home()), late]), &messages, &[]);
    assert_eq!(row(&rewards, 1).uptime_slots, 48);
    assert_eq!(row(&rewards, 2).uptime_slots, 24);
    assert_eq!(row(&rewards, 2).heartbeats, 24);
    assert_eq!(rewards.not_onboarded_messages, 24);
    assert!(row(&rewards, 2).amount > 0 && row(&rewards, 2).amount < row(&rewards, 1).amount);
}

#[test]
fn a_conflicting_seq_counts_no_copy_whichever_oracle_saw_which() {
    // The union holds both copies (each oracle saw one): the device is zeroed and neither
    // copy counts as a heartbeat, exactly as when one oracle stored one copy and the other
    // as a conflicting copy.
    let mut messages = honest_like(2);
    let mut copy = messages[5].clone();
    if let TelemetryBody::Heartbeat { uptime_s, .. } = &mut copy.body {
        *uptime_s += 1;
    }
    messages.push(copy);
    let rewards = run(&snapshot(vec![device(2, home())]), &messages, &[]);
    assert_eq!(row(&rewards, 2).fraud, [Fraud::SeqConflict]);
    assert_eq!(row(&rewards, 2).heartbeats, 47);
    assert_eq!(row(&rewards, 2).amount, 0);
}
