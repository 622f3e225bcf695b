use groundwork_tests::*;

#[test]
fn closing_an_epoch_mints_and_splits() {
    let mut network = CycleNetwork::launch();
    let epoch = network.end_and_close_epoch();
    let record = network.epoch_record(epoch);
    assert_eq!(record.minted, FIRST_STEP_EMISSION);
    assert_eq!(record.device_share + record.staker_share + record.treasury_share, FIRST_STEP_EMISSION);
    assert_eq!(network.device_vault_balance(), record.device_share);
    assert_eq!(network.rt.token_balance(&network.dao_treasury), record.treasury_share);
}
