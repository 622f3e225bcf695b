//! Every case of merkle-vectors.json through the program's verify path: each case's root is
//! voted and activated on-chain, each leaf is claimed with its vector proof, and the negative
//! case is refused.

use anchor_lang::prelude::Pubkey;
use groundwork_tests::*;
use reward_epochs::errors::RewardError;
use serde_json::Value;

fn hash(value: &Value) -> [u8; 32] {
    hex::decode(value.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn proof(value: &Value) -> Vec<[u8; 32]> {
    value.as_array().unwrap().iter().map(hash).collect()
}

/// A network whose active root is `root`, voted with a total the device pool can cover.
fn network_with_root(root: [u8; 32], leaves_total: u128) -> CycleNetwork {
    let mut network = CycleNetwork::launch();
    network.end_and_close_epoch();
    let pool = network.epoch_record(0).device_share;
    let total = leaves_total.min(u128::from(pool)) as u64;
    network.vote_raw(0, 0, root, total, 0).unwrap();
    network.vote_raw(1, 0, root, total, 0).unwrap();
    network.activate(0).unwrap();
    network
}

#[test]
fn every_vector_verifies_on_chain_and_the_negative_one_does_not() {
    let vectors: Value = serde_json::from_str(include_str!(
        "../../crates/protocol/merkle/tests/data/merkle-vectors.json"
    ))
    .unwrap();
    for case in vectors["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let leaves = case["leaves"].as_array().unwrap();
        let total: u128 = leaves
            .iter()
            .map(|leaf| u128::from(leaf["cumulative_amount"].as_u64().unwrap()))
            .sum();
        let mut network = network_with_root(hash(&case["root_hex"]), total);
        let pool = network.reward_config().active_cumulative_total;
        let relayer = network.rt.funded_keypair();
        for leaf in leaves {
            let recipient = Pubkey::new_from_array(hash(&leaf["recipient_hex"]));
            let amount = leaf["cumulative_amount"].as_u64().unwrap();
            let claimed_before = network.reward_config().total_claimed;
            let outcome =
                network.claim_raw(&relayer, &recipient, amount, proof(&leaf["proof_hex"]));
            if amount == 0 {
                // The proof verified; a zero leaf has nothing to pay.
                groundwork_harness::assert_error(&outcome, RewardError::NothingDue);
            } else if u128::from(amount) + u128::from(claimed_before) <= u128::from(pool) {
                outcome.unwrap_or_else(|refused| panic!("{name}: {:?}", refused.err));
                assert_eq!(network.network_balance(&recipient), amount, "{name}");
            } else {
                // The proof verified; only the amount is beyond what this test network minted.
                groundwork_harness::assert_error(&outcome, RewardError::ClaimExceedsRootTotal);
            }
        }
    }
    for negative in vectors["negative"].as_array().unwrap() {
        let case = vectors["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|case| case["name"] == negative["case"])
            .unwrap();
        let mut network = network_with_root(hash(&case["root_hex"]), u128::MAX);
        let relayer = network.rt.funded_keypair();
        let recipient = Pubkey::new_from_array(hash(&negative["recipient_hex"]));
        let outcome = network.claim_raw(
            &relayer,
            &recipient,
            negative["cumulative_amount"].as_u64().unwrap(),
            proof(&negative["proof_hex"]),
        );
        groundwork_harness::assert_error(&outcome, RewardError::InvalidProof);
    }
}
