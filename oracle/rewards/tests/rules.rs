//! Every rule of SPEC 4.3, one test each: a cheater is zeroed with its reason while an honest
//! neighbour in the same cell keeps the score it has alone; the eligibility, trust and density
//! boundaries; the data cap; and, as properties over random networks, determinism whatever
//! the arrival order and conservation of the pool.

use std::collections::{BTreeMap, BTreeSet};

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_rewards::geo::{cell_centre, north_of, Point};
use groundwork_oracle_rewards::snapshot::{
    ChainSnapshot, ClassEntry, CreditPrice, DeviceEntry, EpochClose, ExactPrice, LocationSpan,
    OperatorEntry, PoolEntry, Standing, StandingSpan, SNAPSHOT_VERSION,
};
use groundwork_oracle_rewards::{
    compute, CreditValue, DroppedReports, EpochComputation, EpochRewards, Fraud, Message,
    VerifyParams,
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
        credit_prices: vec![CreditPrice {
            purchased_at: START + 60,
            network_tokens_burned: 2_000_000,
            credits_minted: 100_000,
            exact: None,
        }],
        classes: vec![ClassEntry {
            class_id: 0,
            reward_weight_bps: 10_000,
        }],
        operators: vec![OperatorEntry {
            operator: pubkey(200),
            reward_recipient: Some(pubkey(201)),
            active_stake: 0,
            pool: None,
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
    assert_eq!(
        cheater_row.headline(params),
        format!("zeroed: {}", reason.code())
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
fn the_headline_names_what_held_each_device_down() {
    let centre = cell_centre(home()).unwrap();
    let params = VerifyParams::default();
    // Too few slots: nothing earned, and why.
    let network = snapshot(vec![device(1, home()), device(2, home())]);
    let mut messages = heartbeats(1, 11, centre, 1);
    messages.extend(heartbeats(2, 12, centre, 1));
    let rewards = run(&network, &messages, &[]);
    let short = row(&rewards, 1).headline(&params);
    assert!(
        short.starts_with("earned nothing: no coverage: seen in 11 of the 12 slots needed"),
        "{short}"
    );
    let earned = row(&rewards, 2).headline(&params);
    assert!(earned.starts_with("earned"), "{earned}");
    assert!(!earned.starts_with("earned nothing"), "{earned}");
    // Partial location trust, and a cell above the density cap.
    let far = snapshot(vec![device(1, home())]);
    let rewards = run(&far, &heartbeats(1, 48, north_of(centre, 350), 1), &[]);
    let partial = row(&rewards, 1).headline(&params);
    assert!(partial.contains("location trust 25%"), "{partial}");
    let crowded = snapshot((1..=5).map(|index| device(index, home())).collect());
    let messages: Vec<Message> = (1..=5)
        .flat_map(|index| heartbeats(index, 48, centre, 1))
        .collect();
    let rewards = run(&crowded, &messages, &[]);
    let capped = row(&rewards, 1).headline(&params);
    assert!(
        capped.contains("its cell holds 5 earning devices, 4 earn in full"),
        "{capped}"
    );
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
    messages.push(data_session(1, 1_000));
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
                entry.operator = pubkey(200 + (index % 2) * 10);
                entry.reward_recipient = Some(pubkey(100 + (index % 3)));
                entry.credits_paid = next(200_000);
                if next(3) == 0 {
                    // Moves during the epoch: the density cell is where it stood longest.
                    entry.locations.push(LocationSpan {
                        from_ts: START + next(LENGTH as u64) as i64,
                        cell: cell_north(next(6_000)),
                    });
                }
                devices.push(entry);
                let slots = next(49) as u32;
                let wander = north_of(spot, next(500));
                messages.extend(heartbeats(index, slots, wander, 1));
                if next(2) == 1 {
                    messages.push(beacon(index, 500));
                }
                for report in 0..next(3) {
                    let other = (next(u64::from(count)) + 1) as u8;
                    messages.push(witness(index, 501 + report, other, 500));
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
        // Two oracles each holding an overlapping part of the messages: the union of their
        // sets gives the same rewards.
        let split = (order % (messages.len() as u64 + 1)) as usize;
        let (mine, theirs) = (&messages[..split], &messages[split.saturating_sub(3)..]);
        let union: Vec<Message> = theirs.iter().chain(mine).cloned().collect();
        let merged = compute(&network, &union, &BTreeSet::new(), &params, dust, &base).unwrap();
        prop_assert_eq!(&first, &merged);
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

/// Operators 200 and 210 of [`random_network`] with active stake and a pool each.
fn with_pools(network: &mut ChainSnapshot, stakes: [u64; 2], commissions: [u16; 2]) {
    network.operators = [200u8, 210]
        .iter()
        .zip(stakes.iter().zip(commissions))
        .map(|(operator, (stake, commission))| OperatorEntry {
            operator: pubkey(*operator),
            reward_recipient: Some(pubkey(operator + 1)),
            active_stake: *stake,
            pool: Some(PoolEntry {
                rewards_account: pubkey(operator + 5),
                commission_bps: commission,
            }),
        })
        .collect();
}

fn multiplier_on() -> VerifyParams {
    VerifyParams {
        stake_multiplier: Some(groundwork_oracle_rewards::StakeMultiplier {
            max_bonus_bps: 5_000,
            full_bonus_stake_per_device: 1_000,
        }),
        ..VerifyParams::default()
    }
}

#[test]
fn the_multipliers_added_part_goes_to_the_pool_less_the_operators_commission() {
    // Two operators of one device each: no stake (1x), and 1,000 per device (1.5x) with a
    // 20% commission. The 1.5x device's coverage is a third multiplier.
    let spots = [home(), cell_north(2_000)];
    let devices = vec![device_of(1, spots[0], 200), device_of(2, spots[1], 210)];
    let mut network = snapshot(devices);
    with_pools(&mut network, [0, 1_000], [0, 2_000]);
    let messages: Vec<Message> = (1..=2u8)
        .flat_map(|index| online_at(index, spots[usize::from(index) - 1]))
        .collect();
    let rewards = run_with(&network, &messages, &[], &multiplier_on());
    let (plain, staked) = (row(&rewards, 1), row(&rewards, 2));
    assert_eq!((plain.multiplier_added, plain.pool_share), (0, 0));
    assert_eq!(staked.stake_multiplier_bps, 15_000);
    assert_eq!(staked.multiplier_added, staked.coverage_reward / 3);
    assert_eq!(staked.pool_share, staked.multiplier_added * 8 / 10);
    assert!(staked.pool_share > 0);
    // The device's recipient gets the rest; the pool its share, as one leaf.
    assert_eq!(
        rewards.rewards[&staked.recipient],
        staked.amount - staked.pool_share
    );
    assert_eq!(rewards.rewards[&pubkey(215)], staked.pool_share);
    assert_eq!(rewards.cumulative[&pubkey(215)], staked.pool_share);
    assert_eq!(
        rewards.pools,
        vec![groundwork_oracle_rewards::PoolPayout {
            operator: pubkey(210),
            rewards_account: pubkey(215),
            commission_bps: 2_000,
            active_stake: 1_000,
            multiplier_added: staked.multiplier_added,
            commission: staked.multiplier_added - staked.pool_share,
            pool_share: staked.pool_share,
        }]
    );
    assert!(staked.explain(&multiplier_on()).contains(&format!(
        "{} to its operator's delegators",
        staked.pool_share
    )));
    // Without a pool rewards account on chain, the device's recipient keeps it all (the
    // multiplier's part is still shown).
    network.operators[1].pool = None;
    let rewards = run_with(&network, &messages, &[], &multiplier_on());
    assert_eq!(row(&rewards, 2).pool_share, 0);
    assert_eq!(
        row(&rewards, 2).multiplier_added,
        row(&rewards, 2).coverage_reward / 3
    );
    assert!(rewards.pools.is_empty());
    assert_eq!(
        rewards.rewards[&row(&rewards, 2).recipient],
        row(&rewards, 2).amount
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Recipients' amounts plus pools' amounts are exactly what the device pool paid; each
    /// pool's share is the multiplier's added part less the commission, floored.
    #[test]
    fn recipients_and_pools_together_are_paid_exactly_the_device_pool(
        (mut network, messages, dust, base) in random_network(),
        stakes in (0u64..3_000, 0u64..3_000),
        commissions in (0u16..=10_000, 0u16..=10_000),
        without_pool in any::<bool>(),
    ) {
        with_pools(&mut network, [stakes.0, stakes.1], [commissions.0, commissions.1]);
        if without_pool {
            // The second operator's pool has no rewards account on chain.
            network.operators[1].pool = None;
        }
        let params = multiplier_on();
        let rewards = compute(&network, &messages, &BTreeSet::new(), &params, dust, &base).unwrap();
        let paid: u64 = rewards.rows.iter().map(|row| row.amount).sum();
        prop_assert_eq!(paid + rewards.dust, network.params.device_share + dust);
        let pools: BTreeMap<Pubkey, u64> = rewards
            .pools
            .iter()
            .map(|pool| (pool.rewards_account, pool.pool_share))
            .collect();
        let to_pools: u64 = pools.values().sum();
        let to_recipients: u64 = rewards
            .rewards
            .iter()
            .filter(|(recipient, _)| !pools.contains_key(*recipient))
            .map(|(_, amount)| amount)
            .sum();
        prop_assert_eq!(to_recipients + to_pools, paid);
        for row in &rewards.rows {
            let operator = network.devices.iter().find(|entry| entry.device == row.device).unwrap().operator;
            let pool = network.operators.iter().find(|entry| entry.operator == operator).unwrap().pool;
            let m = u128::from(row.stake_multiplier_bps);
            let added = (u128::from(row.coverage_reward) * (m - 10_000) / m) as u64;
            prop_assert_eq!(row.multiplier_added, added);
            let share = pool.map_or(0, |pool| {
                (u128::from(added) * u128::from(10_000 - pool.commission_bps) / 10_000) as u64
            });
            prop_assert_eq!(row.pool_share, share);
            prop_assert!(row.pool_share <= row.multiplier_added && row.multiplier_added <= row.amount);
        }
        for pool in &rewards.pools {
            let devices_share: u64 = rewards
                .rows
                .iter()
                .filter(|row| network.devices.iter().any(|entry| entry.device == row.device && entry.operator == pool.operator))
                .map(|row| row.pool_share)
                .sum();
            prop_assert_eq!(pool.pool_share, devices_share);
            prop_assert_eq!(rewards.rewards.get(&pool.rewards_account).copied().unwrap_or(0), pool.pool_share);
        }
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

/// The resolution-12 cell `metres` north of home's centre.
fn cell_north(metres: u64) -> u64 {
    let point = north_of(cell_centre(home()).unwrap(), metres);
    cell_at(f64::from(point.lat_e7) / 1e7, f64::from(point.lon_e7) / 1e7)
}

/// Device `index` at `cell`, of operator `operator` (devices of `device` are operator 200's).
fn device_of(index: u8, cell: u64, operator: u8) -> DeviceEntry {
    let mut entry = device(index, cell);
    entry.operator = pubkey(operator);
    entry
}

/// A beacon of `device` in the last slot, `order` seconds after [`beacon`]'s (after the
/// slot's heartbeat, before the witness reports).
fn beacon_in(device: u8, seq: u64, order: i64) -> Message {
    let mut message = beacon(device, seq);
    message.timestamp_ms += order * 1_000;
    message
}

/// 48 heartbeats at the centre of `cell` (seq 1 to 48).
fn online_at(index: u8, cell: u64) -> Vec<Message> {
    heartbeats(index, 48, cell_centre(cell).unwrap(), 1)
}

#[test]
fn a_beaconer_that_withholds_its_beacon_and_double_signs_cannot_zero_its_witnesses() {
    // Device 3 (operator 210, 2 km north) beacons seq 100 but never reports it, and signs two
    // different messages under seq 7. Devices 1 and 2 (operator 200, at home) heard the
    // beacon and report it.
    let far = cell_north(2_000);
    let network = snapshot(vec![
        device(1, home()),
        device(2, home()),
        device_of(3, far, 210),
    ]);
    let mut messages = honest_like(1);
    messages.extend(honest_like(2));
    messages.extend(online_at(3, far));
    let mut double = messages
        .iter()
        .find(|message| message.device == key(3) && message.seq == 7)
        .unwrap()
        .clone();
    double.timestamp_ms += 1;
    messages.push(double);
    let without_reports = run(&network, &messages, &[]);
    messages.push(witness(1, 100, 3, 100));
    messages.push(witness(2, 100, 3, 100));
    let rewards = run(&network, &messages, &[]);
    for honest in [1, 2] {
        let kept = row(&rewards, honest);
        assert!(kept.fraud.is_empty(), "{kept:?}");
        assert_eq!(
            kept.witness_reports_dropped,
            DroppedReports {
                beacon_not_in_input: 1,
                ..DroppedReports::default()
            }
        );
        let before = row(&without_reports, honest);
        assert_eq!(
            (kept.coverage_score, kept.amount),
            (before.coverage_score, before.amount)
        );
        assert!(kept.amount > 0);
        let explained = kept.explain(&VerifyParams::default());
        assert!(
            explained.contains("1 of a beacon that is not in the epoch's input"),
            "{explained}"
        );
    }
    let cheater = row(&rewards, 3);
    assert_eq!(cheater.fraud, [Fraud::SeqConflict]);
    assert_eq!(cheater.amount, 0);
}

/// Devices 1, 2 and 5 (operator 200) at home, each beaconing; device 3 (operator 210) and
/// device 4 (operator 200) 2 km north. `reports` are the witness reports filed.
fn witnessed(reports: &[Message], params: &VerifyParams, zeroed: &[u8]) -> EpochRewards {
    let north = cell_north(2_000);
    let network = snapshot(vec![
        device(1, home()),
        device(2, home()),
        device_of(3, north, 210),
        device(4, north),
        device(5, home()),
    ]);
    let mut messages = Vec::new();
    for index in [1, 2, 5] {
        messages.extend(honest_like(index));
        messages.push(beacon_in(index, 100, i64::from(index)));
    }
    messages.extend(online_at(3, north));
    messages.extend(online_at(4, north));
    messages.extend(reports.iter().cloned());
    run_with(&network, &messages, zeroed, params)
}

#[test]
fn a_device_heard_by_another_operators_device_earns_four_times_the_coverage() {
    // Device 3 (another operator) hears device 1; device 4 (device 2's own operator) hears
    // device 2; nobody hears device 5.
    let rewards = witnessed(
        &[witness(3, 200, 1, 100), witness(4, 200, 2, 100)],
        &VerifyParams::default(),
        &[],
    );
    let (heard, own, unheard) = (row(&rewards, 1), row(&rewards, 2), row(&rewards, 5));
    assert_eq!((heard.witnesses, heard.witness_factor_bps), (1, 10_000));
    assert_eq!((own.witnesses, own.witness_factor_bps), (0, 2_500));
    assert_eq!((unheard.witnesses, unheard.witness_factor_bps), (0, 2_500));
    assert_eq!(heard.coverage_score, 4 * own.coverage_score);
    assert_eq!(own.coverage_score, unheard.coverage_score);
    assert!(heard.amount > 3 * own.amount);
    // Device 3's report vouched for device 1; device 4's, of its own operator's device,
    // vouched for nobody; neither cost its sender anything.
    assert_eq!(row(&rewards, 3).witnessed_devices, 1);
    assert_eq!(row(&rewards, 4).witnessed_devices, 0);
    assert!(row(&rewards, 3).fraud.is_empty() && row(&rewards, 4).fraud.is_empty());
    let explained = heard.explain(&VerifyParams::default());
    assert!(
        explained.contains("heard by 1 devices of other operators: full coverage"),
        "{explained}"
    );
    let explained = own.explain(&VerifyParams::default());
    assert!(explained.contains("coverage x 25%"), "{explained}");
    let headline = own.headline(&VerifyParams::default());
    assert!(
        headline.contains("coverage unproven by other operators' witnesses: x25%"),
        "{headline}"
    );
    assert_eq!(
        heard.headline(&VerifyParams::default()),
        "earned: full coverage"
    );
}

#[test]
fn a_witness_that_is_zeroed_itself_vouches_for_nobody() {
    // Device 3 signs two messages under one seq: zeroed, its report of device 1 counts for
    // nothing.
    let rewards = witnessed(&[witness(3, 200, 1, 100)], &VerifyParams::default(), &[3]);
    assert_eq!(row(&rewards, 3).fraud, [Fraud::SeqConflict]);
    let heard = row(&rewards, 1);
    assert_eq!((heard.witnesses, heard.witness_factor_bps), (0, 2_500));
    assert_eq!(row(&rewards, 3).witnessed_devices, 0);
    // A witness that proves no coverage of its own (here: never online) vouches for nobody
    // either.
    let network = snapshot(vec![
        device(1, home()),
        device_of(3, cell_north(2_000), 210),
    ]);
    let mut messages = honest_like(1);
    messages.push(beacon_in(1, 100, 1));
    messages.push(witness(3, 200, 1, 100));
    let rewards = run(&network, &messages, &[]);
    assert_eq!(row(&rewards, 3).coverage_score, 0);
    assert_eq!(row(&rewards, 1).witness_factor_bps, 2_500);
}

#[test]
fn max_witnessed_caps_the_devices_one_witness_vouches_for() {
    // Device 3 (operator 210) hears devices 1, 2 and 5 (operator 200); it may vouch for two.
    // Which two is fixed by who they are, not by when they beaconed.
    let mut params = VerifyParams::default();
    params.witnesses.max_witnessed = 2;
    let reports = [
        witness(3, 200, 5, 100),
        witness(3, 201, 1, 100),
        witness(3, 202, 2, 100),
    ];
    let verified = |rewards: &EpochRewards| -> Vec<u8> {
        [1u8, 2, 5]
            .into_iter()
            .filter(|index| row(rewards, *index).witness_factor_bps == 10_000)
            .collect()
    };
    let rewards = witnessed(&reports, &params, &[]);
    let chosen = verified(&rewards);
    assert_eq!(chosen.len(), 2, "{chosen:?}");
    let witness_row = row(&rewards, 3);
    assert_eq!(witness_row.witnessed_devices, 2);
    assert_eq!(witness_row.witness_reports_dropped.over_max_witnessed, 1);
    assert!(witness_row.fraud.is_empty());
    // Beaconing in another order (the left-out device first) changes nothing.
    let left_out = [1u8, 2, 5]
        .into_iter()
        .find(|index| !chosen.contains(index))
        .unwrap();
    let north = cell_north(2_000);
    let network = snapshot(vec![
        device(1, home()),
        device(2, home()),
        device_of(3, north, 210),
        device(4, north),
        device(5, home()),
    ]);
    let mut messages = Vec::new();
    for index in [1u8, 2, 5] {
        messages.extend(honest_like(index));
        let order = if index == left_out {
            0
        } else {
            10 + i64::from(index)
        };
        messages.push(beacon_in(index, 100, order));
    }
    messages.extend(online_at(3, north));
    messages.extend(online_at(4, north));
    messages.extend(reports.iter().cloned());
    let reordered = run_with(&network, &messages, &[], &params);
    assert_eq!(verified(&reordered), chosen);
    // A witness counts once per beaconing device, however many of its beacons it reports;
    // reports of its own operator's devices take none of its places.
    let mut twice = reports.to_vec();
    twice.push(witness(3, 203, 1, 100));
    twice.push(witness(4, 200, 1, 100));
    twice.push(witness(4, 201, 2, 100));
    let rewards = witnessed(&twice, &VerifyParams::default(), &[]);
    assert_eq!(row(&rewards, 1).witnesses, 1);
    assert_eq!(row(&rewards, 3).witnessed_devices, 3);
    assert_eq!(row(&rewards, 4).witnessed_devices, 0);
    assert_eq!(
        row(&rewards, 4).witness_reports_dropped,
        DroppedReports::default()
    );
}

#[test]
fn min_witnesses_counts_distinct_devices_of_other_operators() {
    // Devices 3 (operator 210) and 6 (operator 220) both hear device 1; device 3 alone hears
    // device 2.
    let mut params = VerifyParams::default();
    params.witnesses.min_witnesses = 2;
    let north = cell_north(2_000);
    let network = snapshot(vec![
        device(1, home()),
        device(2, home()),
        device_of(3, north, 210),
        device_of(6, cell_north(4_000), 220),
    ]);
    let mut messages = Vec::new();
    for index in [1u8, 2] {
        messages.extend(honest_like(index));
        messages.push(beacon_in(index, 100, i64::from(index)));
    }
    messages.extend(online_at(3, north));
    messages.extend(online_at(6, cell_north(4_000)));
    messages.push(witness(3, 200, 1, 100));
    messages.push(witness(3, 201, 2, 100));
    messages.push(witness(6, 200, 1, 100));
    let rewards = run_with(&network, &messages, &[], &params);
    let factor = |index: u8| {
        let device = row(&rewards, index);
        (device.witnesses, device.witness_factor_bps)
    };
    assert_eq!(factor(1), (2, 10_000));
    assert_eq!(factor(2), (1, 2_500));
}

#[test]
fn a_ring_of_one_operators_devices_earns_like_devices_nobody_heard() {
    // Ten devices of one operator, 2 km apart, each beaconing and witnessing the next.
    let ring: Vec<DeviceEntry> = (1..=10u8)
        .map(|index| device(index, cell_north(u64::from(index) * 2_000)))
        .collect();
    let mut alone = Vec::new();
    for entry in &ring {
        let index = entry.device.to_bytes()[0];
        alone.extend(online_at(index, entry.locations[0].cell));
        alone.push(beacon_in(index, 100, 3));
    }
    let mut vouching = alone.clone();
    for index in 1..=10u8 {
        vouching.push(witness(index, 200, index % 10 + 1, 100));
    }
    let network = snapshot(ring);
    let unheard = run(&network, &alone, &[]);
    let ring = run(&network, &vouching, &[]);
    for index in 1..=10u8 {
        assert_eq!(row(&ring, index).witnessed_devices, 0);
        assert_eq!(row(&ring, index).witness_factor_bps, 2_500);
        assert_eq!(row(&ring, index).amount, row(&unheard, index).amount);
    }
}

#[test]
fn with_witnesses_disabled_every_device_keeps_full_coverage() {
    let mut params = VerifyParams::default();
    params.witnesses.enabled = false;
    let rewards = witnessed(&[witness(3, 200, 1, 100)], &params, &[]);
    let (heard, unheard) = (row(&rewards, 1), row(&rewards, 5));
    assert_eq!(heard.witness_factor_bps, 10_000);
    assert_eq!(unheard.witness_factor_bps, 10_000);
    assert_eq!(heard.coverage_score, unheard.coverage_score);
    // Today's score: weight x uptime x trust x stake multiplier, times 1.0.
    assert_eq!(
        unheard.coverage_score,
        10_000u128 * 48 * 10_000 * 10_000 * 10_000
    );
}

/// Device 2 files `report` (of device 1's or 3's beacon), and keeps exactly the score of an
/// identical device that filed nothing; its row counts the report as `dropped`.
fn assert_dropped(
    network: Vec<DeviceEntry>,
    messages: Vec<Message>,
    report: Message,
    dropped: DroppedReports,
) {
    let network = snapshot(network);
    let without = run(&network, &messages, &[]);
    let mut with = messages;
    with.push(report);
    let rewards = run(&network, &with, &[]);
    let witness_row = row(&rewards, 2);
    assert!(witness_row.fraud.is_empty(), "{witness_row:?}");
    assert_eq!(witness_row.witness_reports_dropped, dropped);
    assert_eq!(witness_row.witnessed_devices, 0);
    assert_eq!(witness_row.amount, row(&without, 2).amount);
    assert!(witness_row.amount > 0);
}

#[test]
fn reports_of_beacons_that_cannot_be_validated_are_dropped_never_punished() {
    let only = |reason: fn(&mut DroppedReports)| {
        let mut dropped = DroppedReports::default();
        reason(&mut dropped);
        dropped
    };
    let north = cell_north(2_000);
    // Inside the beaconer's resolution-11 cell.
    let mut messages = honest_like(1);
    messages.extend(honest_like(2));
    messages.push(beacon_in(1, 100, 3));
    assert_dropped(
        vec![device(1, home()), device_of(2, home(), 210)],
        messages,
        witness(2, 100, 1, 100),
        only(|dropped| dropped.too_close = 1),
    );
    // Over 100 km away (150 km); 50 km away holds.
    let mut messages = honest_like(2);
    messages.extend(online_at(3, cell_north(150_000)));
    messages.push(beacon_in(3, 100, 3));
    assert_dropped(
        vec![device(2, home()), device_of(3, cell_north(150_000), 210)],
        messages.clone(),
        witness(2, 100, 3, 100),
        only(|dropped| dropped.too_far = 1),
    );
    let fifty = cell_north(50_000);
    let mut near = honest_like(2);
    near.extend(online_at(3, fifty));
    near.push(beacon_in(3, 100, 3));
    near.push(witness(2, 100, 3, 100));
    let rewards = run(
        &snapshot(vec![device(2, home()), device_of(3, fifty, 210)]),
        &near,
        &[],
    );
    assert_eq!(row(&rewards, 2).witnessed_devices, 1);
    assert_eq!(row(&rewards, 3).witness_factor_bps, 10_000);
    // Timestamped before the beacon it reports.
    let mut messages = honest_like(2);
    messages.extend(online_at(3, fifty));
    messages.push(beacon_in(3, 100, 3));
    let mut early = witness(2, 100, 3, 100);
    early.timestamp_ms = beacon_in(3, 100, 3).timestamp_ms - 1;
    assert_dropped(
        vec![device(2, home()), device_of(3, fifty, 210)],
        messages,
        early,
        only(|dropped| dropped.before_beacon = 1),
    );
    // Of a device the chain does not know (device 9 is not in the snapshot).
    let mut messages = honest_like(2);
    messages.push(beacon_in(9, 100, 3));
    assert_dropped(
        vec![device(2, home())],
        messages,
        witness(2, 100, 9, 100),
        only(|dropped| dropped.beacon_not_in_input = 1),
    );
    // Of a device suspended when it beaconed.
    let mut suspended = device_of(3, north, 210);
    suspended.standing.push(StandingSpan {
        from_ts: START + 60,
        standing: Standing::Suspended { reason: 2 },
    });
    let mut messages = honest_like(2);
    messages.extend(online_at(3, north));
    messages.push(beacon_in(3, 100, 3));
    assert_dropped(
        vec![device(2, home()), suspended],
        messages,
        witness(2, 100, 3, 100),
        only(|dropped| dropped.beaconer_not_active = 1),
    );
}

#[test]
fn a_device_that_moves_into_an_empty_cell_for_the_epochs_end_stays_in_the_crowded_cell() {
    // Five devices at home (k = 4: they share four devices' worth); device 5 asserts a cell
    // 5 km away for the last tenth of the epoch, and moves there.
    let away = cell_north(5_000);
    let mut mover = device(5, home());
    mover.locations.push(LocationSpan {
        from_ts: START + LENGTH * 9 / 10,
        cell: away,
    });
    let mut network: Vec<DeviceEntry> = (1..=4).map(|index| device(index, home())).collect();
    network.push(mover);
    let mut messages: Vec<Message> = (1..=4).flat_map(honest_like).collect();
    let mut moving = honest_like(5);
    let away_centre = cell_centre(away).unwrap();
    for message in moving.iter_mut().skip(44) {
        message.body = TelemetryBody::Heartbeat {
            lat_e7: away_centre.lat_e7,
            lon_e7: away_centre.lon_e7,
            uptime_s: 60,
            firmware: 1,
        };
    }
    messages.extend(moving);
    let rewards = run(&snapshot(network), &messages, &[]);
    let home_cell = u64::from(
        h3o::CellIndex::try_from(home())
            .unwrap()
            .parent(h3o::Resolution::Eight)
            .unwrap(),
    );
    let moved = row(&rewards, 5);
    assert_eq!(moved.density_cell, Some(home_cell));
    assert_eq!(moved.density_seconds, (LENGTH * 9 / 10) as u64);
    assert_eq!(moved.density_devices, 5);
    assert_eq!(moved.coverage_score, row(&rewards, 1).coverage_score);
    let explained = moved.explain(&VerifyParams::default());
    assert!(explained.contains("stood longest"), "{explained}");
}

#[test]
fn a_dust_purchase_at_the_epochs_end_does_not_raise_the_data_cap() {
    // The operator bought 100,000 credits for 2,000,000 base units ($0.05 a token, 6
    // decimals, a credit 1,000e-9 USD: exactly 20 units a credit) and paid them all for its
    // own device; just before the end it bought one more credit for 39 units (1.95 credits'
    // worth, floored to 1: 39 units a credit by the amounts).
    let exact = ExactPrice {
        price: 5,
        exponent: -2,
        usd_per_credit_e9: 1_000,
        token_decimals: 6,
    };
    let centre = cell_centre(home()).unwrap();
    let mut paid = device(1, home());
    paid.credits_paid = 100_000;
    let mut network = snapshot(vec![paid, device(2, home())]);
    network.credit_prices = vec![
        CreditPrice {
            purchased_at: START + 60,
            network_tokens_burned: 2_000_000,
            credits_minted: 100_000,
            exact: Some(exact),
        },
        CreditPrice {
            purchased_at: START + LENGTH - 10,
            network_tokens_burned: 39,
            credits_minted: 1,
            exact: Some(exact),
        },
    ];
    let mut messages = heartbeats(1, 48, centre, 1);
    messages.extend(heartbeats(2, 48, centre, 1));
    messages.push(data_session(1, 1_000));
    let rewards = run(&network, &messages, &[]);
    // It gets back exactly what it burned for the credits it paid, not 1.95x.
    let data = row(&rewards, 1);
    assert!(data.data_uncapped > 2_000_000);
    assert_eq!((data.data_cap, data.data_reward), (2_000_000, 2_000_000));
    assert_eq!(
        rewards.credit_value,
        Some(CreditValue {
            purchased_at: START + 60,
            tokens: 1_000,
            per_credits: 50,
        })
    );
    // Events without the price (emitted before the program recorded the token's decimals):
    // the lowest of the amounts' rates, still the honest purchase's.
    for price in &mut network.credit_prices {
        price.exact = None;
    }
    let rewards = run(&network, &messages, &[]);
    assert_eq!(row(&rewards, 1).data_cap, 2_000_000);
    // The lowest rate wins wherever it stands: 40 units a credit first, 20 later.
    let dearer = ExactPrice {
        usd_per_credit_e9: 2_000,
        ..exact
    };
    network.credit_prices[0].exact = Some(dearer);
    network.credit_prices[0].credits_minted = 50_000;
    network.credit_prices[1].exact = Some(exact);
    let rewards = run(&network, &messages, &[]);
    assert_eq!(row(&rewards, 1).data_cap, 2_000_000);
    assert_eq!(
        rewards.credit_value.unwrap().purchased_at,
        START + LENGTH - 10
    );
    network.credit_prices[0].exact = Some(exact);
    // Alone, the dust purchase's exact price is still 20 units a credit.
    network.credit_prices.remove(0);
    network.credit_prices[0].exact = Some(exact);
    let rewards = run(&network, &messages, &[]);
    assert_eq!(row(&rewards, 1).data_cap, 2_000_000);
}

#[test]
fn the_stake_multiplier_runs_from_1_to_1_5_with_stake_per_device() {
    // Four operators of one device each, with 0, 500, 1,000 and 2,000 tokens of active
    // delegated stake; full bonus (+50%) at 1,000 per device.
    let params = VerifyParams {
        stake_multiplier: Some(groundwork_oracle_rewards::StakeMultiplier {
            max_bonus_bps: 5_000,
            full_bonus_stake_per_device: 1_000,
        }),
        ..VerifyParams::default()
    };
    let stakes = [0u64, 500, 1_000, 2_000];
    let spots: Vec<u64> = (0..4).map(|index| cell_north(index * 2_000)).collect();
    let devices = (1..=4u8)
        .map(|index| device_of(index, spots[usize::from(index) - 1], 210 + index))
        .collect();
    let mut network = snapshot(devices);
    network.operators = (1..=4u8)
        .map(|index| OperatorEntry {
            operator: pubkey(210 + index),
            reward_recipient: Some(pubkey(230 + index)),
            active_stake: stakes[usize::from(index) - 1],
            pool: None,
        })
        .collect();
    let messages: Vec<Message> = (1..=4u8)
        .flat_map(|index| online_at(index, spots[usize::from(index) - 1]))
        .collect();
    let rewards = run_with(&network, &messages, &[], &params);
    let multipliers: Vec<u64> = (1..=4)
        .map(|index| row(&rewards, index).stake_multiplier_bps)
        .collect();
    assert_eq!(multipliers, [10_000, 12_500, 15_000, 15_000]);
    let base = row(&rewards, 1).coverage_score;
    assert_eq!(row(&rewards, 2).coverage_score, base * 5 / 4);
    assert_eq!(row(&rewards, 3).coverage_score, base * 3 / 2);
    assert_eq!(row(&rewards, 4).coverage_score, base * 3 / 2);
    // Without the multiplier, stake changes nothing.
    let rewards = run(&network, &messages, &[]);
    assert!((1..=4).all(|index| row(&rewards, index).stake_multiplier_bps == 10_000));
}

#[test]
fn a_class_earns_by_its_weight() {
    let north = cell_north(2_000);
    let mut light = device(2, north);
    light.class_id = 1;
    let mut network = snapshot(vec![device(1, home()), light]);
    network.classes.push(ClassEntry {
        class_id: 1,
        reward_weight_bps: 5_000,
    });
    let mut messages = honest_like(1);
    messages.extend(online_at(2, north));
    let rewards = run(&network, &messages, &[]);
    let (full, half) = (row(&rewards, 1), row(&rewards, 2));
    assert_eq!((full.weight_bps, half.weight_bps), (10_000, 5_000));
    assert_eq!(full.coverage_score, 2 * half.coverage_score);
    // Nobody paid for data: its share joined coverage.
    let coverage = rewards.coverage_pool + rewards.data_to_coverage;
    assert_eq!(coverage, POOL);
    assert_eq!(full.coverage_reward, coverage * 2 / 3);
    assert_eq!(half.coverage_reward, coverage / 3);
}

#[test]
fn the_pool_splits_40_coverage_60_data() {
    // One device paid for and confirmed, one not: both shares paid, neither moved.
    let centre = cell_centre(home()).unwrap();
    let mut paid = device(1, home());
    paid.credits_paid = 1_000_000_000;
    let mut network = snapshot(vec![paid, device(2, cell_north(2_000))]);
    network.credit_prices[0].network_tokens_burned = 1_000_000_000_000;
    let mut messages = heartbeats(1, 48, centre, 1);
    messages.extend(online_at(2, cell_north(2_000)));
    messages.push(data_session(1, 1_000));
    let rewards = run(&network, &messages, &[]);
    assert_eq!(rewards.pool, POOL);
    assert_eq!(rewards.coverage_pool, POOL * 4 / 10);
    assert_eq!(rewards.data_pool, POOL * 6 / 10);
    assert_eq!(rewards.data_to_coverage, 0);
    assert_eq!(row(&rewards, 1).data_reward, POOL * 6 / 10);
    assert_eq!(
        row(&rewards, 1).coverage_reward + row(&rewards, 2).coverage_reward + rewards.dust,
        POOL * 4 / 10
    );
}

fn data_session(device: u8, seq: u64) -> Message {
    Message {
        device: key(device),
        seq,
        timestamp_ms: START * 1_000 + 47 * SLOT_MS + 200_000,
        body: TelemetryBody::DataSession {
            payer: key(99),
            bytes_up: 10,
            bytes_down: 20,
            session_id: 1,
        },
    }
}

#[test]
fn a_fraud_zeroes_the_data_reward_too() {
    let centre = cell_centre(home()).unwrap();
    let mut paid = device(1, home());
    paid.credits_paid = 100_000;
    paid.standing.push(StandingSpan {
        from_ts: START + 3_600,
        standing: Standing::Suspended { reason: 1 },
    });
    let network = snapshot(vec![paid, device(2, cell_north(2_000))]);
    let mut messages = heartbeats(1, 48, centre, 1);
    messages.extend(online_at(2, cell_north(2_000)));
    messages.push(data_session(1, 1_000));
    let rewards = run(&network, &messages, &[]);
    let zeroed = row(&rewards, 1);
    assert_eq!(zeroed.fraud, [Fraud::Suspended]);
    assert_eq!((zeroed.data_reward, zeroed.amount), (0, 0));
    assert_eq!(rewards.data_to_coverage, rewards.data_pool);
}

#[test]
fn density_groups_resolution_12_cells_of_one_resolution_8_cell() {
    // Five devices in five different resolution-12 cells of home's resolution-8 cell.
    let parent = h3o::CellIndex::try_from(home())
        .unwrap()
        .parent(h3o::Resolution::Eight)
        .unwrap();
    let cells: Vec<u64> = parent
        .children(h3o::Resolution::Twelve)
        .step_by(97)
        .take(5)
        .map(u64::from)
        .collect();
    assert_eq!(cells.iter().collect::<BTreeSet<_>>().len(), 5);
    let network = snapshot(
        (1..=5u8)
            .map(|index| device(index, cells[usize::from(index) - 1]))
            .collect(),
    );
    let messages: Vec<Message> = (1..=5u8)
        .flat_map(|index| online_at(index, cells[usize::from(index) - 1]))
        .collect();
    let rewards = run(&network, &messages, &[]);
    let alone = run(
        &snapshot(vec![device(1, cells[0])]),
        &online_at(1, cells[0]),
        &[],
    );
    for index in 1..=5u8 {
        let crowded = row(&rewards, index);
        assert_eq!(crowded.density_cell, Some(u64::from(parent)));
        assert_eq!(crowded.density_devices, 5);
        assert_eq!(
            crowded.coverage_score,
            row(&alone, 1).coverage_score * 4 / 5
        );
    }
}

#[test]
fn the_median_distance_is_to_the_cell_asserted_at_each_heartbeats_time() {
    // Cell A until mid-epoch, then cell B 2 km north. The first 24 heartbeats lie 0, 10, ...,
    // 230 m from A's centre, the last 24 lie 250 m from B's: the lower median is 230 m.
    let (a, b) = (home(), cell_north(2_000));
    let mut mover = device(1, a);
    mover.locations.push(LocationSpan {
        from_ts: START + LENGTH / 2,
        cell: b,
    });
    let (a_centre, b_centre) = (cell_centre(a).unwrap(), cell_centre(b).unwrap());
    let mut messages = Vec::new();
    for slot in 0..48u64 {
        let point = if slot < 24 {
            north_of(a_centre, slot * 10)
        } else {
            north_of(b_centre, 250)
        };
        messages.extend(
            heartbeats(1, 1, point, slot + 1)
                .into_iter()
                .map(|mut message| {
                    message.timestamp_ms += slot as i64 * SLOT_MS;
                    message
                }),
        );
    }
    let rewards = run(&snapshot(vec![mover]), &messages, &[]);
    let moved = row(&rewards, 1);
    assert!(moved.fraud.is_empty(), "{moved:?}");
    assert_eq!(moved.median_distance_m, Some(230));
    assert_eq!(moved.trust_bps, 10_000);
}

#[test]
fn the_speed_limit_is_300_km_h() {
    // Slot 10's heartbeat lies 30 minutes after slot 9's, at 149.5 km (299 km/h) or 150.5 km
    // (301 km/h), and the device stays there.
    let centre = cell_centre(home()).unwrap();
    let moved_at = |metres: u64| {
        let far = north_of(centre, metres);
        let mut messages = heartbeats(1, 10, centre, 1);
        let mut after = heartbeats(1, 48, far, 1);
        messages.extend(after.drain(10..));
        let rewards = run(&snapshot(vec![device(1, home())]), &messages, &[]);
        row(&rewards, 1).fraud.clone()
    };
    assert_eq!(moved_at(149_500), Vec::<Fraud>::new());
    assert_eq!(moved_at(150_500), [Fraud::ImpossibleMovement]);
}

#[test]
fn two_places_means_more_than_1_km_apart_within_one_slot() {
    let centre = cell_centre(home()).unwrap();
    let second_place = |metres: u64| {
        let mut messages = honest_like(1);
        let mut second = messages[5].clone();
        second.timestamp_ms += 20 * 60_000;
        let far = north_of(centre, metres);
        second.body = TelemetryBody::Heartbeat {
            lat_e7: far.lat_e7,
            lon_e7: far.lon_e7,
            uptime_s: 60,
            firmware: 1,
        };
        messages.push(second);
        messages.sort_by_key(|message| message.timestamp_ms);
        for (index, message) in messages.iter_mut().enumerate() {
            message.seq = index as u64 + 1;
        }
        let rewards = run(&snapshot(vec![device(1, home())]), &messages, &[]);
        row(&rewards, 1).fraud.clone()
    };
    assert_eq!(second_place(999), Vec::<Fraud>::new());
    assert_eq!(second_place(1_001), [Fraud::TwoPlacesInOneSlot]);
}

#[test]
fn a_witness_in_the_beacons_resolution_11_cell_but_another_resolution_12_cell_is_dropped() {
    let parent = h3o::CellIndex::try_from(home())
        .unwrap()
        .parent(h3o::Resolution::Eleven)
        .unwrap();
    let sibling = parent
        .children(h3o::Resolution::Twelve)
        .map(u64::from)
        .find(|cell| *cell != home())
        .unwrap();
    let mut messages = honest_like(1);
    messages.extend(online_at(2, sibling));
    messages.push(beacon_in(1, 100, 3));
    assert_dropped(
        vec![device(1, home()), device_of(2, sibling, 210)],
        messages,
        witness(2, 100, 1, 100),
        DroppedReports {
            too_close: 1,
            ..DroppedReports::default()
        },
    );
}
