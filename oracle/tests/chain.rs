//! Decoding the device set from real device_registry accounts (written by the real program in
//! the runtime harness), in the shape `getProgramAccounts` returns them.

use base64::Engine;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::chain::parse_program_accounts;
use groundwork_telemetry::Key;
use groundwork_tests::*;
use serde_json::json;

#[test]
fn devices_decode_from_real_registry_accounts() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(2 * HOTSPOT_ONBOARDING_FEE);
    let active = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let suspended = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_B);
    network.suspend(&suspended.pubkey(), 3);

    // Every account of the registry program, as getProgramAccounts would list them after its
    // filters (DeviceV0 discriminator and size).
    let device_size = network
        .rt
        .account(&groundwork_client::device_registry::device_address(
            &active.pubkey(),
        ))
        .unwrap()
        .data
        .len();
    let result: Vec<_> = network
        .rt
        .svm
        .get_program_accounts(&device_registry::ID)
        .into_iter()
        .filter(|(_, account)| account.data.len() == device_size)
        .map(|(address, account)| {
            json!({
                "pubkey": address.to_string(),
                "account": { "data": [base64::engine::general_purpose::STANDARD.encode(&account.data), "base64"], "owner": device_registry::ID.to_string() }
            })
        })
        .collect();
    let devices = parse_program_accounts(&json!(result)).unwrap();
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

    // An account of another type is refused, not misread.
    let class = network
        .rt
        .account(&groundwork_client::device_registry::device_class_address(0))
        .unwrap();
    let wrong = json!([{ "pubkey": "x", "account": { "data": [base64::engine::general_purpose::STANDARD.encode(&class.data), "base64"] } }]);
    assert!(parse_program_accounts(&wrong).is_err());
}
