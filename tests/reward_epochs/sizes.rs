//! What the protocol costs on-chain: the claim transaction for a 1,000,000-leaf tree, the
//! transactions per epoch, and the accounts each instruction touches.

use anchor_lang::prelude::Pubkey;
use groundwork_client::reward_epochs as rewards;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::transaction_size;
use groundwork_merkle::{Leaf, RewardTree};
use groundwork_tests::*;
use reward_epochs::RootStatus;

#[test]
fn a_claim_with_a_million_leaf_proof_fits_one_transaction_and_pays() {
    let mut network = CycleNetwork::launch();
    network.end_and_close_epoch();
    let pool = network.epoch_record(0).device_share;
    // 1,000,000 recipients sharing the epoch's device pool.
    let per_leaf = pool / 1_000_000;
    let leaves: Vec<Leaf> = (0..1_000_000u32)
        .map(|i| {
            let mut recipient = [7u8; 32];
            recipient[..4].copy_from_slice(&i.to_be_bytes());
            Leaf {
                recipient,
                cumulative_amount: per_leaf,
            }
        })
        .collect();
    let tree = RewardTree::new(leaves).unwrap();
    network.vote(0, 0, &tree).unwrap();
    network.vote(2, 0, &tree).unwrap();
    network.activate(0).unwrap();

    let recipient_bytes = tree.leaves()[654_321].recipient;
    let recipient = Pubkey::new_from_array(recipient_bytes);
    let (leaf, proof) = tree.proof_for(&recipient_bytes).unwrap();
    assert_eq!(proof.len(), 20);
    let relayer = network.rt.funded_keypair();
    let claim = rewards::claim(
        &relayer.pubkey(),
        &recipient,
        network.network_token,
        leaf.cumulative_amount,
        proof.clone(),
    );
    let mut instructions =
        groundwork_harness::compute_budget_instructions(400_000, 10_000).to_vec();
    instructions.push(claim.clone());
    let (bytes, accounts) = transaction_size(&instructions, &relayer.pubkey());
    println!("claim with a 20-hash proof: {} instruction accounts, {accounts} transaction accounts, {bytes} bytes with compute-budget instructions (limit 1,232)", claim.accounts.len());
    assert!(bytes <= 1_232, "claim transaction is {bytes} bytes");
    network
        .rt
        .send_paid_by(&relayer, &instructions, &[])
        .unwrap();
    assert_eq!(network.network_balance(&recipient), per_leaf);
}

#[test]
fn transactions_per_epoch_do_not_grow_with_recipients_on_the_oracle_side() {
    let mut network = CycleNetwork::launch();
    let token = network.network_token;
    let payer = network.rt.payer.pubkey();
    let oracle = network.oracles[0].pubkey();
    let treasury = network.dao_treasury;
    let sizes = [
        (
            "close_epoch_v0",
            rewards::close_epoch(&payer, token, &treasury, 0),
        ),
        (
            "submit_root_v0",
            rewards::submit_root(
                &oracle,
                0,
                reward_epochs::SubmitRootArgsV0 {
                    root: [0; 32],
                    cumulative_total: 0,
                    leaf_count: 0,
                },
            ),
        ),
        ("activate_root_v0", rewards::activate_root(0)),
        ("veto_root_v0", rewards::veto_root(&payer, 0)),
        (
            "close_epoch_record_v0",
            rewards::close_epoch_record(&payer, 0),
        ),
        (
            "claim_v0 (20-hash proof)",
            rewards::claim(&payer, &Pubkey::new_unique(), token, 1, vec![[0; 32]; 20]),
        ),
    ];
    for (name, instruction) in sizes {
        let (bytes, accounts) = transaction_size(std::slice::from_ref(&instruction), &payer);
        println!(
            "{name}: {} instruction accounts, {bytes} bytes alone",
            instruction.accounts.len()
        );
        assert!(bytes <= 1_232 && accounts <= 64);
    }
    // The protocol's transactions from an ended epoch to its active root, counted by sending
    // them until the root is active (close, votes until the record leaves voting, the
    // activation), for a tree of 10 leaves and one of 100,000: the same number. Claims come
    // after, one per recipient that wants to be paid, whenever it likes (they are cumulative).
    let mut counts = Vec::new();
    for leaves in [10u64, 100_000] {
        let epoch = network.end_and_close_epoch();
        let mut sent = 1;
        let pool = network.reward_config().device_pool_cumulative;
        let entries: Vec<(Pubkey, u64)> = (0..leaves)
            .map(|_| (Pubkey::new_unique(), pool / leaves))
            .collect();
        let tree = tree_of(&entries);
        for oracle in 0..network.oracles.len() {
            if network.epoch_record(epoch).status != RootStatus::Voting {
                break;
            }
            network.vote(oracle, epoch, &tree).unwrap();
            sent += 1;
        }
        network.activate(epoch).unwrap();
        sent += 1;
        assert_eq!(network.reward_config().active_root, tree.root());
        println!(
            "{leaves} leaves: {sent} protocol transactions from the epoch's end to its active root"
        );
        counts.push(sent);
    }
    assert_eq!(counts[0], counts[1], "{counts:?}");
    // One close, a quorum of votes (2 of 3), one activation.
    assert_eq!(counts[0], 1 + 2 + 1);
}
