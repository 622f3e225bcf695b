use groundwork_merkle::{verify, Leaf, RewardTree, TreeError, EMPTY_ROOT};
use proptest::prelude::*;

proptest! {
    /// Every leaf of any tree proves against its root; a changed amount or recipient does not.
    #[test]
    fn every_leaf_proves_and_tampering_fails(
        recipients in proptest::collection::btree_set(any::<[u8; 32]>(), 1..200),
        amount_seed in any::<u64>(),
    ) {
        let leaves: Vec<Leaf> = recipients
            .iter()
            .enumerate()
            .map(|(i, recipient)| Leaf { recipient: *recipient, cumulative_amount: amount_seed.wrapping_mul(i as u64 + 1) })
            .collect();
        let tree = RewardTree::new(leaves.clone()).unwrap();
        let root = tree.root();
        let depth_bound = (usize::BITS - leaves.len().leading_zeros()) as usize;
        for leaf in &leaves {
            let (_, proof) = tree.proof_for(&leaf.recipient).unwrap();
            prop_assert!(proof.len() <= depth_bound);
            prop_assert!(verify(&root, &leaf.recipient, leaf.cumulative_amount, &proof));
            prop_assert!(!verify(&root, &leaf.recipient, leaf.cumulative_amount.wrapping_add(1), &proof));
            let mut other = leaf.recipient;
            other[0] ^= 1;
            prop_assert!(!verify(&root, &other, leaf.cumulative_amount, &proof));
        }
    }
}

#[test]
fn the_empty_tree_has_the_zero_root() {
    let tree = RewardTree::new(vec![]).unwrap();
    assert_eq!(tree.root(), EMPTY_ROOT);
    assert!(tree.is_empty());
}

#[test]
fn a_recipient_appears_once() {
    let leaf = Leaf {
        recipient: [3; 32],
        cumulative_amount: 1,
    };
    assert_eq!(
        RewardTree::new(vec![leaf, leaf]).unwrap_err(),
        TreeError::DuplicateRecipient([3; 32])
    );
}

#[test]
fn a_million_leaves_give_twenty_hash_proofs() {
    let leaves: Vec<Leaf> = (0..1_000_000u32)
        .map(|i| {
            let mut recipient = [0u8; 32];
            recipient[..4].copy_from_slice(&i.to_be_bytes());
            recipient[4] = 1;
            Leaf {
                recipient,
                cumulative_amount: u64::from(i),
            }
        })
        .collect();
    let tree = RewardTree::new(leaves).unwrap();
    let (leaf, proof) = tree
        .proof_for(&{
            let mut r = [0u8; 32];
            r[..4].copy_from_slice(&123_456u32.to_be_bytes());
            r[4] = 1;
            r
        })
        .unwrap();
    assert_eq!(proof.len(), 20);
    assert!(verify(
        &tree.root(),
        &leaf.recipient,
        leaf.cumulative_amount,
        &proof
    ));
}
