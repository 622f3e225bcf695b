//! Every case of merkle-vectors.json (copied from shared/), including the negative one.

use groundwork_merkle::{leaf_hash, verify, Hash32, Leaf, RewardTree};
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("data/merkle-vectors.json");
    serde_json::from_str(text).expect("valid JSON")
}

fn hash(value: &Value) -> Hash32 {
    hex::decode(value.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn proof(value: &Value) -> Vec<Hash32> {
    value.as_array().unwrap().iter().map(hash).collect()
}

#[test]
fn every_case_builds_the_same_root_leaves_and_proofs() {
    let vectors = vectors();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let leaves: Vec<Leaf> = case["leaves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|leaf| {
                let recipient: [u8; 32] = bs58::decode(leaf["recipient"].as_str().unwrap())
                    .into_vec()
                    .unwrap()
                    .try_into()
                    .unwrap();
                assert_eq!(
                    recipient,
                    hash(&leaf["recipient_hex"]),
                    "{name}: base58 and hex agree"
                );
                Leaf {
                    recipient,
                    cumulative_amount: leaf["cumulative_amount"].as_u64().unwrap(),
                }
            })
            .collect();
        let tree = RewardTree::new(leaves.clone()).unwrap();
        let root = hash(&case["root_hex"]);
        assert_eq!(tree.root(), root, "{name}: root");
        for (leaf, expected) in leaves.iter().zip(case["leaves"].as_array().unwrap()) {
            assert_eq!(
                leaf_hash(&leaf.recipient, leaf.cumulative_amount),
                hash(&expected["leaf_hex"]),
                "{name}: leaf"
            );
            let (found, generated) = tree.proof_for(&leaf.recipient).unwrap();
            assert_eq!(found, *leaf);
            assert_eq!(generated, proof(&expected["proof_hex"]), "{name}: proof");
            assert!(
                verify(&root, &leaf.recipient, leaf.cumulative_amount, &generated),
                "{name}: verifies"
            );
        }
    }
}

#[test]
fn the_negative_case_does_not_verify() {
    let vectors = vectors();
    let negatives = vectors["negative"].as_array().unwrap();
    assert!(!negatives.is_empty());
    for negative in negatives {
        let case = vectors["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|case| case["name"] == negative["case"])
            .unwrap();
        let root = hash(&case["root_hex"]);
        let recipient = hash(&negative["recipient_hex"]);
        let amount = negative["cumulative_amount"].as_u64().unwrap();
        assert!(!verify(
            &root,
            &recipient,
            amount,
            &proof(&negative["proof_hex"])
        ));
        // The same proof with the true amount does verify: only the amount is wrong.
        assert!(verify(
            &root,
            &recipient,
            amount - 1,
            &proof(&negative["proof_hex"])
        ));
    }
}
