//! Events are complete enough to rebuild state (issue 9): a scripted history of the registry,
//! staking and credit purchases runs through the runtime, then every record is rebuilt from
//! the decoded `emit_cpi!` events alone (what the oracle's chain view follows) and compared,
//! field by field, with the accounts on chain.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use device_registry::events as registry_events;
use device_registry::{
    DeviceClassParams, DeviceClassV0, DeviceV0, MakerV0, OperatorV0, RegistryConfigV0,
};
use groundwork_client::device_registry as registry;
use groundwork_client::staking as staking_client;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::EmittedEvent;
use groundwork_tests::*;
use staking::events as staking_events;
use staking::{EpochStakeV0, OperatorPoolV0, PositionV0, StakingConfigV0};
use tokenomics::events::CreditsPurchased;

/// The state an indexer rebuilds from events alone.
#[derive(Default)]
struct Rebuilt {
    registry: Option<RegistryConfigV0>,
    classes: BTreeMap<u16, DeviceClassV0>,
    makers: BTreeMap<Pubkey, MakerV0>,
    operators: BTreeMap<Pubkey, OperatorV0>,
    devices: BTreeMap<Pubkey, DeviceV0>,
    /// Credits paid for each device's service, summed from the payments.
    credits_paid: BTreeMap<Pubkey, u64>,
    /// Every wallet's credit balance: purchases minus fees and payments.
    credit_balances: BTreeMap<Pubkey, i128>,
    /// Network tokens burned and credits minted by the last purchase (the credit price).
    last_purchase: Option<(u64, u64)>,
    staking: Option<StakingConfigV0>,
    positions: BTreeMap<(Pubkey, u64), PositionV0>,
    pools: BTreeMap<Pubkey, OperatorPoolV0>,
    records: BTreeMap<u64, EpochStakeV0>,
    /// Every event's clock time, in order (they never go backwards).
    times: Vec<i64>,
}

impl Rebuilt {
    fn device(&mut self, device: DeviceV0) {
        self.devices.insert(device.device_key, device);
    }

    fn operator(&mut self, operator: OperatorV0) {
        self.operators.insert(operator.authority, operator);
    }

    fn class(&mut self, class: DeviceClassV0) {
        self.classes.insert(class.class_id, class);
    }

    fn credits(&mut self, wallet: Pubkey, delta: i128) {
        *self.credit_balances.entry(wallet).or_default() += delta;
    }

    fn position(&mut self, position: PositionV0) {
        self.positions
            .insert((position.owner, position.id), position);
    }

    fn records(&mut self, records: Vec<EpochStakeV0>) {
        for record in records {
            self.records.insert(record.epoch, record);
        }
    }

    /// A staking event's after-state: the position, the pool and the records it changed,
    /// and the config.
    fn staked(
        &mut self,
        position: PositionV0,
        pool: Option<OperatorPoolV0>,
        records: Vec<EpochStakeV0>,
        config: StakingConfigV0,
    ) {
        self.position(position);
        if let Some(pool) = pool {
            self.pools.insert(pool.operator, pool);
        }
        self.records(records);
        self.staking = Some(config);
    }

    fn apply(&mut self, event: &EmittedEvent) {
        if event.program == device_registry::ID {
            self.apply_registry(event);
        } else if event.program == staking::ID {
            self.apply_staking(event);
        } else if let Some(purchase) = event.decode::<CreditsPurchased>() {
            self.times.push(purchase.unix_timestamp);
            self.credits(purchase.recipient, i128::from(purchase.credits_minted));
            self.last_purchase = Some((purchase.network_tokens_burned, purchase.credits_minted));
        }
    }

    fn apply_registry(&mut self, event: &EmittedEvent) {
        use registry_events::*;
        if let Some(e) = event.decode::<RegistryInitialized>() {
            self.times.push(e.unix_timestamp);
            self.registry = Some(e.registry);
        } else if let Some(e) = event.decode::<DeviceClassAdded>() {
            self.times.push(e.unix_timestamp);
            self.class(e.device_class);
            self.registry = Some(e.registry);
        } else if let Some(e) = event.decode::<DeviceClassUpdated>() {
            self.times.push(e.unix_timestamp);
            self.class(e.device_class);
        } else if let Some(e) = event.decode::<MakerApprovalChanged>() {
            self.times.push(e.unix_timestamp);
            self.makers.insert(e.maker.maker, e.maker);
        } else if let Some(e) = event.decode::<OperatorRegistered>() {
            self.times.push(e.unix_timestamp);
            self.operator(e.operator);
            self.registry = Some(e.registry);
        } else if let Some(e) = event.decode::<OperatorUpdated>() {
            self.times.push(e.unix_timestamp);
            self.operator(e.operator);
        } else if let Some(e) = event.decode::<DeviceOnboarded>() {
            self.times.push(e.unix_timestamp);
            self.credits(e.payer, -i128::from(e.fee_burned_credits));
            assert_eq!(e.device.onboarded_at, e.unix_timestamp);
            self.device(e.device);
            self.operator(e.operator);
            self.class(e.device_class);
            self.registry = Some(e.registry);
            if let Some(maker) = e.maker {
                self.makers.insert(maker.maker, maker);
            }
        } else if let Some(e) = event.decode::<LocationAsserted>() {
            self.times.push(e.unix_timestamp);
            self.credits(e.payer, -i128::from(e.fee_burned_credits));
            self.device(e.device);
        } else if let Some(e) = event.decode::<RewardRecipientSet>() {
            self.times.push(e.unix_timestamp);
            self.device(e.device);
        } else if let Some(e) = event.decode::<DeviceTransferred>() {
            self.times.push(e.unix_timestamp);
            self.device(e.device);
            self.operator(e.operator);
            self.operator(e.new_operator);
        } else if let Some(e) = event.decode::<DeviceDeactivated>() {
            self.times.push(e.unix_timestamp);
            self.devices.remove(&e.device.device_key);
            self.operator(e.operator);
            self.class(e.device_class);
            self.registry = Some(e.registry);
        } else if let Some(e) = event.decode::<DeviceStatusChanged>() {
            self.times.push(e.unix_timestamp);
            self.device(e.device);
        } else if let Some(e) = event.decode::<ServicePaid>() {
            self.times.push(e.unix_timestamp);
            self.credits(e.payer, -i128::from(e.credits));
            *self.credits_paid.entry(e.device.device_key).or_default() += e.credits;
            assert_eq!(e.credits_spent_before + e.credits, e.device.credits_spent);
            self.device(e.device);
        } else if let Some(e) = event.decode::<AuthorityTransferProposed>() {
            self.times.push(e.unix_timestamp);
            self.registry.as_mut().unwrap().pending_authority = e.pending_after;
        } else if let Some(e) = event.decode::<AuthorityTransferAccepted>() {
            self.times.push(e.unix_timestamp);
            let registry = self.registry.as_mut().unwrap();
            registry.authority = e.authority_after;
            registry.pending_authority = None;
        } else {
            panic!("a registry event this indexer does not know: {event:?}");
        }
    }

    fn apply_staking(&mut self, event: &EmittedEvent) {
        use staking_events::*;
        if let Some(e) = event.decode::<StakingInitialized>() {
            self.times.push(e.unix_timestamp);
            self.staking = Some(e.config);
        } else if let Some(e) = event.decode::<StakingParamsUpdated>() {
            self.times.push(e.unix_timestamp);
            self.staking.as_mut().unwrap().params = e.after;
        } else if let Some(e) = event.decode::<PositionCreated>() {
            self.times.push(e.unix_timestamp);
            self.staked(e.position, None, e.records, e.config);
        } else if let Some(e) = event.decode::<LockupExtended>() {
            self.times.push(e.unix_timestamp);
            self.staked(e.position, e.pool, e.records, e.config);
        } else if let Some(e) = event.decode::<UnlockStarted>() {
            self.times.push(e.unix_timestamp);
            self.staked(e.position, None, e.records, e.config);
        } else if let Some(e) = event.decode::<Withdrawn>() {
            self.times.push(e.unix_timestamp);
            self.staked(e.position, None, e.records, e.config);
        } else if let Some(e) = event.decode::<PositionClosed>() {
            self.times.push(e.unix_timestamp);
            self.positions.remove(&(e.position.owner, e.position.id));
            self.staking = Some(e.config);
        } else if let Some(e) = event.decode::<Delegated>() {
            self.times.push(e.unix_timestamp);
            self.staked(e.position, Some(e.pool), e.records, e.config);
        } else if let Some(e) = event.decode::<UndelegationRequested>() {
            self.times.push(e.unix_timestamp);
            self.position(e.position);
        } else if let Some(e) = event.decode::<Undelegated>() {
            self.times.push(e.unix_timestamp);
            self.staked(e.position, Some(e.pool), e.records, e.config);
        } else if let Some(e) = event.decode::<OperatorSlashed>() {
            self.times.push(e.unix_timestamp);
            self.pools.insert(e.pool.operator, e.pool);
            self.staking = Some(e.config);
        } else if let Some(e) = event.decode::<EpochRewardsFunded>() {
            self.times.push(e.unix_timestamp);
            self.records(e.record.into_iter().collect());
            self.staking = Some(e.config);
        } else if let Some(e) = event.decode::<StakeRewardsClaimed>() {
            self.times.push(e.unix_timestamp);
            self.staked(e.position, e.pool, e.records, e.config);
        } else if let Some(e) = event.decode::<PositionSynced>() {
            self.times.push(e.unix_timestamp);
            self.staked(e.position, e.pool, e.records, e.config);
        } else if let Some(e) = event.decode::<EpochStakeClosed>() {
            self.times.push(e.unix_timestamp);
            self.records.remove(&e.epoch);
        } else if let Some(e) = event.decode::<AuthorityTransferProposed>() {
            self.times.push(e.unix_timestamp);
            self.staking.as_mut().unwrap().pending_authority = e.pending_after;
        } else if let Some(e) = event.decode::<AuthorityTransferAccepted>() {
            self.times.push(e.unix_timestamp);
            let config = self.staking.as_mut().unwrap();
            config.authority = e.authority_after;
            config.pending_authority = None;
        } else {
            panic!("a staking event this indexer does not know: {event:?}");
        }
    }
}

#[test]
fn every_record_is_rebuilt_from_events_alone() {
    let mut network = StakingNetwork::launch();
    let wallets = run_history(&mut network);

    let mut rebuilt = Rebuilt::default();
    for event in &network.rt.event_log {
        rebuilt.apply(event);
    }
    assert!(rebuilt.times.windows(2).all(|pair| pair[0] <= pair[1]));

    // The registry: config, classes, makers, operators, devices (and only those that exist).
    assert_eq!(rebuilt.registry, Some(network.registry()));
    for (class_id, class) in &rebuilt.classes {
        assert_eq!(*class, network.device_class(*class_id), "class {class_id}");
    }
    assert_eq!(rebuilt.classes.len(), 2);
    let maker = network.maker.pubkey();
    assert_eq!(
        rebuilt.makers[&maker],
        network
            .rt
            .anchor_account::<MakerV0>(&registry::maker_address(&maker))
    );
    for (authority, operator) in &rebuilt.operators {
        assert_eq!(
            *operator,
            network.operator_record(authority),
            "operator {authority}"
        );
    }
    assert_eq!(
        rebuilt.operators.len() as u64,
        network.registry().operator_count
    );
    for (key, device) in &rebuilt.devices {
        assert_eq!(*device, network.device(key), "device {key}");
        assert!(rebuilt.credits_paid.get(key).copied().unwrap_or(0) >= device.credits_spent);
    }
    assert_eq!(
        rebuilt.devices.len() as u64,
        network.registry().device_count
    );
    // The re-onboarded key started over: only the payment after it counts on its record.
    let third = wallets[6];
    assert_eq!(network.device(&third).credits_spent, 40);
    assert_eq!(rebuilt.credits_paid[&third], 1_000 + 2_500 + 40);
    // Every credit minted, burned for a fee or paid for service is in an event.
    for wallet in &wallets {
        let expected = rebuilt.credit_balances.get(wallet).copied().unwrap_or(0);
        assert_eq!(
            i128::from(network.credits(wallet)),
            expected,
            "credits of {wallet}"
        );
    }
    let (tokens, credits) = rebuilt.last_purchase.unwrap();
    assert_eq!(credits, tokens / GWK * CREDITS_PER_GWK);

    // Staking: config, pools, positions (closed ones gone), epoch-stake records.
    assert_eq!(rebuilt.staking, Some(network.staking_config()));
    for (operator, pool) in &rebuilt.pools {
        assert_eq!(*pool, network.pool(operator), "pool of {operator}");
    }
    assert_eq!(rebuilt.pools.len(), 1);
    for ((owner, id), position) in &rebuilt.positions {
        assert_eq!(
            *position,
            network.position(owner, *id),
            "position {id} of {owner}"
        );
    }
    assert_eq!(
        rebuilt.positions.len() as u64,
        network.staking_config().position_count
    );
    assert!(network
        .rt
        .account(&staking_client::position_address(&wallets[7], 0))
        .is_none());
    for (epoch, record) in &rebuilt.records {
        assert_eq!(
            Some(record.clone()),
            network.epoch_stake(*epoch),
            "epoch-stake record {epoch}"
        );
    }
    let on_chain_records = (0..=network.current_epoch() + 10)
        .filter(|epoch| network.epoch_stake(*epoch).is_some())
        .count();
    assert_eq!(rebuilt.records.len(), on_chain_records);
}

/// A class added after launch appears in the rebuilt registry with its counters.
#[test]
fn a_class_added_later_is_rebuilt_with_its_counters() {
    let mut network = StakingNetwork::launch();
    let authority = network.authority.insecure_clone();
    let params = DeviceClassParams {
        name: "indoor-sensor".into(),
        ..sensor_class()
    };
    network.rt.send_ok(
        &[registry::add_device_class(&authority.pubkey(), 2, params)],
        &[&authority],
    );
    let mut rebuilt = Rebuilt::default();
    for event in &network.rt.event_log {
        rebuilt.apply(event);
    }
    assert_eq!(rebuilt.classes[&2], network.device_class(2));
    assert_eq!(rebuilt.registry, Some(network.registry()));
}
