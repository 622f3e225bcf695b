//! Decoding the chain view's state from real device_registry accounts (written by the real
//! program in the runtime harness): a suspended device is marked, a class is read, and an
//! account that does not decode is refused with a reason (the view logs and skips it).

use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::chainview::ChainState;
use groundwork_telemetry::Key;
use groundwork_tests::*;

#[test]
fn devices_decode_from_real_registry_accounts_and_bad_ones_are_skipped() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(2 * HOTSPOT_ONBOARDING_FEE);
    let active = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let suspended = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_B);
    network.suspend(&suspended.pubkey(), 3);

    let device_accounts: Vec<(String, Vec<u8>)> = [&active, &suspended]
        .iter()
        .map(|device| {
            let address = groundwork_client::device_registry::device_address(&device.pubkey());
            (
                address.to_string(),
                network.rt.account(&address).unwrap().data,
            )
        })
        .collect();
    // A class, a truncated device account, and an account of a type the view does not read.
    let class = network
        .rt
        .account(&groundwork_client::device_registry::device_class_address(0))
        .unwrap()
        .data;
    let registry_config = network
        .rt
        .account(&groundwork_client::device_registry::registry_config_address())
        .unwrap()
        .data;
    let truncated = device_accounts[0].1[..50].to_vec();
    let mut accounts = device_accounts.clone();
    accounts.push(("a class".into(), class));
    accounts.push(("a truncated device".into(), truncated));
    accounts.push(("the registry config".into(), registry_config));

    let mut state = ChainState::default();
    let refused: Vec<String> = accounts
        .iter()
        .filter_map(|(address, data)| {
            state
                .load_account(data)
                .err()
                .map(|reason| format!("{address}: {reason}"))
        })
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].starts_with("a truncated device"), "{refused:?}");
    assert!(refused[1].contains("does not read"), "{refused:?}");
    assert_eq!(state.classes[&0], network.device_class(0).reward_weight_bps);
    let devices = state.device_infos();
    assert_eq!(devices.len(), 2);
    let active_info = devices[&Key(active.pubkey().to_bytes())];
    assert_eq!(
        (
            active_info.suspended,
            active_info.location,
            active_info.class_id
        ),
        (false, CELL_A, HOTSPOT_CLASS)
    );
    assert!(devices[&Key(suspended.pubkey().to_bytes())].suspended);
}
