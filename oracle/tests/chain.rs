//! Decoding the device set from real device_registry accounts (written by the real program in
//! the runtime harness): a suspended device is marked, and an account that does not decode is
//! skipped and counted, never fatal.

use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::chainview::decode_devices;
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
    // An account of another type, and a truncated device account.
    let class = network
        .rt
        .account(&groundwork_client::device_registry::device_class_address(0))
        .unwrap()
        .data;
    let truncated = device_accounts[0].1[..50].to_vec();
    let mut accounts = device_accounts.clone();
    accounts.push(("a class".into(), class));
    accounts.push(("a truncated device".into(), truncated));

    let snapshot = decode_devices(
        accounts
            .iter()
            .map(|(address, data)| (address.clone(), data.as_slice())),
    );
    assert_eq!((snapshot.devices.len(), snapshot.skipped), (2, 2));
    let active_info = snapshot.devices[&Key(active.pubkey().to_bytes())];
    assert_eq!(
        (
            active_info.suspended,
            active_info.location,
            active_info.class_id
        ),
        (false, CELL_A, HOTSPOT_CLASS)
    );
    assert!(snapshot.devices[&Key(suspended.pubkey().to_bytes())].suspended);
}
