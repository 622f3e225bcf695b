//! The submit stage's duties beyond its first vote, against a local network (surfpool): the
//! claim relayer (a recipient that closes the token account the relayer created for it costs
//! the relayer that rent once, never again across restarts; below its SOL reserve it relays
//! nothing and says so), and votes that reach a quorum the authority lowered after they were
//! cast (submitted again, so the root goes pending), and claims and pool sweeps too long for
//! a legacy transaction (sent as v0 through the relayer's own lookup table, created once and
//! kept across restarts), and a pool sweep the chain refuses in simulation (its operator
//! closed the token account the relayer created once: nothing sent or spent, the leaf owed
//! until the operator opens its account again).

mod local_chain;

use std::time::{Duration, Instant};

use anchor_spl::token_2022::spl_token_2022;
use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_merkle::RewardTree;
use groundwork_oracle::submit::{Relayed, State, Step, SubmitRpc, SubmitSettings, Submitter, Vote};
use groundwork_tests::*;
use local_chain::*;

const EPOCH_S: i64 = 6;

fn submitter(rpc: &LocalRpc, oracle: &Keypair, dir: &std::path::Path, reserve: u64) -> Submitter {
    Submitter::new(
        SubmitRpc::new(std::slice::from_ref(&rpc.url)),
        oracle.insecure_clone(),
        dir,
        SubmitSettings {
            priority_fee_floor: 1_000,
            priority_fee_ceiling: 1_000_000,
            relay_reserve_lamports: reserve,
        },
    )
}

/// Votes `tree` for `epoch` (the only oracle of the set: its vote makes the root pending),
/// then activates it.
async fn activate(submitter: &Submitter, rpc: &LocalRpc, epoch: u64, tree: &RewardTree) {
    let total = u64::try_from(tree.total()).expect("a tree's total fits a u64");
    let vote = Vote {
        epoch,
        root: tree.root(),
        cumulative_total: total,
        leaf_count: 1,
        report_digest: [epoch as u8; 32],
    };
    let started = Instant::now();
    loop {
        if let Ok(Step::Now(State::Confirmed { .. })) = submitter.step(&vote).await {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "epoch {epoch}'s vote did not land"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let started = Instant::now();
    while epoch_record(rpc, epoch).status != reward_epochs::state::RootStatus::Active {
        let _ = submitter.activate_if_due(epoch, now_unix()).await;
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "epoch {epoch}'s root was not activated"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `owner` burns the `held` tokens of its token `account` and closes it, taking its rent.
fn empty_and_close(
    rpc: &LocalRpc,
    token: groundwork_client::tokenomics::NetworkToken,
    account: anchor_lang::prelude::Pubkey,
    owner: &Keypair,
    payer: &Keypair,
    held: u64,
) {
    send(
        rpc,
        &[
            spl_token_2022::instruction::burn(
                &token.token_program,
                &account,
                &token.mint,
                &owner.pubkey(),
                &[],
                held,
            )
            .unwrap(),
            spl_token_2022::instruction::close_account(
                &token.token_program,
                &account,
                &owner.pubkey(),
                &owner.pubkey(),
                &[],
            )
            .unwrap(),
        ],
        &[payer, owner],
    );
    assert_eq!(tokens_in(rpc, account), None);
}

/// Waits until `account` holds `amount` (a relayed claim landed), at most 30 s.
async fn wait_for_tokens(rpc: &LocalRpc, account: anchor_lang::prelude::Pubkey, amount: u64) {
    let started = Instant::now();
    while tokens_in(rpc, account) != Some(amount) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the relayed claim did not land"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A network whose only oracle is `oracle` (its vote alone makes a root pending), with an
/// operator whose delegation pool has no member (what the pool takes in goes to the
/// operator's own token account), served over a local RPC once its first `closed` epochs are
/// closed on chain.
struct OneOracleNetwork {
    network: CycleNetwork,
    genesis: i64,
    oracle: Keypair,
    operator: Keypair,
    payer: Keypair,
    token: groundwork_client::tokenomics::NetworkToken,
    rpc: LocalRpc,
}

impl OneOracleNetwork {
    async fn launch(closed: u64) -> Self {
        let genesis = now_unix() + 1;
        let mut network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
        let oracle = network.oracles[0].insecure_clone();
        network
            .set_oracles(vec![oracle.pubkey()], 1)
            .expect("the authority sets a one-oracle set");
        let operator = network.operator(0);
        network.rt.send_ok(
            &[groundwork_client::staking::set_commission(
                &operator.pubkey(),
                1_000,
            )],
            &[&operator],
        );
        let payer = network.rt.payer.insecure_clone();
        let token = network.network_token;
        let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
        wait_for_time(&rpc, genesis + i64::try_from(closed).unwrap() * EPOCH_S).await;
        for epoch in 0..closed {
            close_epoch(&rpc, &network, &payer, epoch);
        }
        wait_for_finality(&rpc).await;
        OneOracleNetwork {
            network,
            genesis,
            oracle,
            operator,
            payer,
            token,
            rpc,
        }
    }
}

/// What token `account` holds; `None` when it does not exist.
fn tokens_in(rpc: &LocalRpc, account: anchor_lang::prelude::Pubkey) -> Option<u64> {
    client(rpc)
        .get_token_account_balance(&account)
        .map(|amount| amount.amount.parse::<u64>().unwrap())
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_closing_its_account_costs_the_relayer_rent_once() {
    let OneOracleNetwork {
        oracle,
        payer,
        token,
        rpc,
        ..
    } = OneOracleNetwork::launch(2).await;
    let dir = tempfile::tempdir().unwrap();
    let relayer = submitter(&rpc, &oracle, dir.path(), 0);
    let recipient = Keypair::new();
    let account =
        groundwork_client::reward_epochs::recipient_token_account(&recipient.pubkey(), token);
    let balance = |key: &anchor_lang::prelude::Pubkey| client(&rpc).get_balance(key).unwrap();

    // Epoch 0 owes the recipient 1,000: the relayer claims it, creating its token account.
    let tree = tree_of(&[(recipient.pubkey(), 1_000)]);
    activate(&relayer, &rpc, 0, &tree).await;
    let before = balance(&oracle.pubkey());
    let (_, proof) = tree.proof_for(&recipient.pubkey().to_bytes()).unwrap();
    assert!(matches!(
        relayer
            .relay_claim(&recipient.pubkey(), 1_000, proof)
            .await
            .unwrap(),
        Relayed::Sent(_)
    ));
    wait_for_tokens(&rpc, account, 1_000).await;
    let account_rent = client(&rpc).get_account(&account).unwrap().lamports;
    assert!(before - balance(&oracle.pubkey()) >= account_rent);

    // The recipient empties and closes its token account (its rent goes to itself).
    empty_and_close(&rpc, token, account, &recipient, &payer, 1_000);

    // Epoch 1 owes it 2,000 in all: the relayer does not pay that account's rent again — not
    // now, and not after a restart on the same files.
    let tree = tree_of(&[(recipient.pubkey(), 2_000)]);
    activate(&relayer, &rpc, 1, &tree).await;
    let (_, proof) = tree.proof_for(&recipient.pubkey().to_bytes()).unwrap();
    let before = balance(&oracle.pubkey());
    assert_eq!(
        relayer
            .relay_claim(&recipient.pubkey(), 2_000, proof.clone())
            .await
            .unwrap(),
        Relayed::RecipientClosedItsAccount
    );
    let restarted = submitter(&rpc, &oracle, dir.path(), 0);
    assert_eq!(
        restarted
            .relay_claim(&recipient.pubkey(), 2_000, proof.clone())
            .await
            .unwrap(),
        Relayed::RecipientClosedItsAccount
    );
    assert_eq!(balance(&oracle.pubkey()), before, "nothing was paid");
    assert_eq!(tokens_in(&rpc, account), None);

    // Below its reserve the relayer relays nothing, and says how much it holds.
    let below = |reserve| {
        let frugal = submitter(&rpc, &oracle, dir.path(), reserve);
        let proof = proof.clone();
        let recipient = recipient.pubkey();
        async move { frugal.relay_claim(&recipient, 2_000, proof).await.unwrap() }
    };
    let Relayed::BelowReserve {
        balance: held,
        reserve,
        claim_cost,
        unsettled,
    } = below(before + 1).await
    else {
        panic!("relayed below the reserve")
    };
    assert_eq!((held, reserve, unsettled), (before, before + 1, 0));
    // The most this claim may cost: the fee and the rent of the token account it would
    // create again.
    let token_account_rent = client(&rpc)
        .get_minimum_balance_for_rent_exemption(170)
        .unwrap();
    assert!(
        claim_cost > token_account_rent && claim_cost < token_account_rent + 20_000,
        "{claim_cost}"
    );
    // Above the reserve but not by the claim's cost: nothing sent either.
    assert!(matches!(
        below(before - claim_cost + 1).await,
        Relayed::BelowReserve { .. }
    ));
    // By the claim's cost: the reserve allows it (and the closed account refuses it).
    assert_eq!(
        below(before - claim_cost).await,
        Relayed::RecipientClosedItsAccount
    );
    assert_eq!(balance(&oracle.pubkey()), before, "nothing was paid");

    // Once the recipient recreates its account, its claims are relayed again.
    send(
        &rpc,
        &[anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            &payer.pubkey(),
            &recipient.pubkey(),
            &token.mint,
            &token.token_program,
        )],
        &[&payer],
    );
    assert!(matches!(
        restarted
            .relay_claim(&recipient.pubkey(), 2_000, proof)
            .await
            .unwrap(),
        Relayed::Sent(_)
    ));
    wait_for_tokens(&rpc, account, 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_that_reach_a_lowered_quorum_are_submitted_again_and_the_root_goes_pending() {
    let genesis = now_unix() + 1;
    let network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let oracle = network.oracles[0].insecure_clone();
    let authority = network.authority.insecure_clone();
    let oracles: Vec<anchor_lang::prelude::Pubkey> = network
        .oracles
        .iter()
        .map(|oracle| oracle.pubkey())
        .collect();
    let payer = network.rt.payer.insecure_clone();
    let rpc = LocalRpc::start(accounts_of(&network)).expect("local RPC");
    wait_for_time(&rpc, genesis + EPOCH_S).await;
    close_epoch(&rpc, &network, &payer, 0);
    wait_for_finality(&rpc).await;
    let dir = tempfile::tempdir().unwrap();
    let voter = submitter(&rpc, &oracle, dir.path(), 0);
    let tree = tree_of(&[(Keypair::new().pubkey(), 1_000)]);
    let vote = Vote {
        epoch: 0,
        root: tree.root(),
        cumulative_total: 1_000,
        leaf_count: 1,
        report_digest: [0; 32],
    };
    // One vote of a quorum of two: the epoch keeps voting.
    let started = Instant::now();
    loop {
        if let Ok(Step::Now(State::Confirmed { .. })) = voter.step(&vote).await {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the vote did not land"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let record = epoch_record(&rpc, 0);
    assert_eq!(record.status, reward_epochs::state::RootStatus::Voting);
    assert_eq!(record.votes.len(), 1);

    // The authority lowers the quorum to one: the vote already cast reaches it, and the
    // stage submits it again so the root goes pending.
    send(
        &rpc,
        &[groundwork_client::reward_epochs::set_oracles(
            &authority.pubkey(),
            oracles,
            1,
        )],
        &[&authority],
    );
    wait_for_finality(&rpc).await;
    let started = Instant::now();
    while epoch_record(&rpc, 0).status != reward_epochs::state::RootStatus::Pending {
        assert!(
            matches!(
                voter.step(&vote).await.unwrap(),
                Step::Now(State::Confirmed { .. })
            ),
            "the vote stays confirmed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the root did not go pending"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let record = epoch_record(&rpc, 0);
    assert_eq!(record.pending_root, tree.root());
    assert_eq!(record.votes.len(), 1, "the same vote, not a second one");
}

/// A tree where `recipients` have proofs of `depth + 1` hashes: `2^depth + 2` leaves, the
/// recipients among the first `2^depth` (two larger keys close the list, so no odd level
/// carries a recipient up with a shorter proof).
fn deep_tree(depth: u32, recipients: &[(anchor_lang::prelude::Pubkey, u64)]) -> RewardTree {
    use groundwork_merkle::Leaf;
    let fillers = (1u32 << depth) - recipients.len() as u32;
    let mut leaves: Vec<Leaf> = (0..fillers)
        .map(|index| {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&index.to_be_bytes());
            Leaf {
                recipient: key,
                cumulative_amount: 1,
            }
        })
        .collect();
    for last in [0xFE, 0xFF] {
        let mut key = [0xFF; 32];
        key[31] = last;
        leaves.push(Leaf {
            recipient: key,
            cumulative_amount: 1,
        });
    }
    leaves.extend(recipients.iter().map(|(recipient, amount)| Leaf {
        recipient: recipient.to_bytes(),
        cumulative_amount: *amount,
    }));
    RewardTree::new(leaves).expect("distinct recipients")
}

/// The relay lookup tables `oracle` holds authority over, with their addresses.
fn tables_of(
    rpc: &LocalRpc,
    oracle: &anchor_lang::prelude::Pubkey,
) -> Vec<(
    anchor_lang::prelude::Pubkey,
    Vec<anchor_lang::prelude::Pubkey>,
)> {
    use solana_address_lookup_table_interface::state::AddressLookupTable;
    let accounts = client(rpc)
        .get_program_accounts(&solana_address_lookup_table_interface::program::ID)
        .unwrap();
    accounts
        .into_iter()
        .filter_map(|(address, account)| {
            let table = AddressLookupTable::deserialize(&account.data).ok()?;
            (table.meta.authority == Some(*oracle)).then(|| (address, table.addresses.to_vec()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_and_pool_sweeps_too_long_for_a_legacy_transaction_go_through_the_relayers_lookup_table(
) {
    // An operator with a delegation pool (no member yet: what it takes in goes to the operator).
    let OneOracleNetwork {
        network,
        genesis,
        oracle,
        operator,
        payer,
        token,
        rpc,
    } = OneOracleNetwork::launch(1).await;
    let dir = tempfile::tempdir().unwrap();
    let relayer = submitter(&rpc, &oracle, dir.path(), 0);

    // Proofs of 21 hashes: a legacy transaction holds neither the claim nor the sweep.
    let recipient = Keypair::new().pubkey();
    let pool = groundwork_client::staking::pool_rewards_address(&operator.pubkey());
    let tree = deep_tree(20, &[(recipient, 4_000), (pool, 3_000)]);
    let (_, proof) = tree.proof_for(&recipient.to_bytes()).unwrap();
    let (_, pool_proof) = tree.proof_for(&pool.to_bytes()).unwrap();
    assert_eq!((proof.len(), pool_proof.len()), (21, 21));
    let pool_account: staking::PoolRewardsV0 = {
        use anchor_lang::AccountDeserialize;
        let data = client(&rpc).get_account_data(&pool).unwrap();
        staking::PoolRewardsV0::try_deserialize(&mut data.as_slice()).unwrap()
    };
    let legacy_claim = groundwork_client::legacy_transaction_bytes(
        &oracle.pubkey(),
        &[groundwork_client::reward_epochs::claim(
            &oracle.pubkey(),
            &recipient,
            token,
            4_000,
            proof.clone(),
        )],
    );
    let legacy_sweep = groundwork_client::legacy_transaction_bytes(
        &oracle.pubkey(),
        &[groundwork_client::staking::sweep_pool_rewards(
            &oracle.pubkey(),
            &operator.pubkey(),
            &pool_account,
            0,
            token,
            3_000,
            pool_proof.clone(),
            true,
        )],
    );
    println!("legacy transactions with 21-hash proofs: claim {legacy_claim} bytes, sweep {legacy_sweep} bytes (limit {})", groundwork_client::PACKET_DATA_SIZE);
    assert!(legacy_claim > groundwork_client::PACKET_DATA_SIZE);
    assert!(legacy_sweep > groundwork_client::PACKET_DATA_SIZE);
    activate(&relayer, &rpc, 0, &tree).await;

    // With just enough above its reserve for the claim itself, the relayer does not create
    // the table (its rent is more), says so, and sends nothing.
    let held = client(&rpc).get_balance(&oracle.pubkey()).unwrap();
    let Relayed::BelowReserve { claim_cost, .. } = submitter(&rpc, &oracle, dir.path(), held)
        .relay_claim(&recipient, 4_000, proof.clone())
        .await
        .unwrap()
    else {
        panic!("relayed below the reserve")
    };
    let short = submitter(&rpc, &oracle, dir.path(), held - claim_cost)
        .relay_claim(&recipient, 4_000, proof.clone())
        .await
        .unwrap();
    assert!(
        matches!(&short, Relayed::WaitingForLookupTable(words) if words.contains("creating the relay lookup table may cost")),
        "{short:?}"
    );
    assert!(tables_of(&rpc, &oracle.pubkey()).is_empty());
    assert!(!dir.path().join("relay-lookup-table.json").exists());
    assert_eq!(client(&rpc).get_balance(&oracle.pubkey()).unwrap(), held);

    // The first claim creates the table and waits for it; a later round sends the claim.
    let first = relayer
        .relay_claim(&recipient, 4_000, proof.clone())
        .await
        .unwrap();
    assert!(
        matches!(&first, Relayed::WaitingForLookupTable(waits) if waits.contains("being created")),
        "{first:?}"
    );
    let started = Instant::now();
    loop {
        match relayer
            .relay_claim(&recipient, 4_000, proof.clone())
            .await
            .unwrap()
        {
            Relayed::Sent(_) => break,
            Relayed::WaitingForLookupTable(_) => {}
            other => panic!("the long claim was not relayed: {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the lookup table never served"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let recipient_tokens =
        groundwork_client::reward_epochs::recipient_token_account(&recipient, token);
    wait_for_tokens(&rpc, recipient_tokens, 4_000).await;
    let tables = tables_of(&rpc, &oracle.pubkey());
    assert_eq!(tables.len(), 1);
    assert_eq!(
        tables[0].1,
        groundwork_oracle::submit::fixed_relay_accounts(token)
    );

    // The pool's sweep uses the same table at once; the operator is paid (no member earns).
    let operator_tokens = token.account_of(&operator.pubkey());
    let operator_held = tokens_in(&rpc, operator_tokens).unwrap_or(0);
    assert!(matches!(
        relayer
            .relay_pool(&operator.pubkey(), 3_000, pool_proof)
            .await
            .unwrap(),
        Relayed::Sent(_)
    ));
    wait_for_tokens(&rpc, operator_tokens, operator_held + 3_000).await;

    // Epoch 1 owes the recipient more: a relayer restarted on the same files sends it at once
    // through the same table.
    wait_for_time(&rpc, genesis + 2 * EPOCH_S).await;
    close_epoch(&rpc, &network, &payer, 1);
    wait_for_finality(&rpc).await;
    let tree = deep_tree(20, &[(recipient, 9_000), (pool, 3_000)]);
    let restarted = submitter(&rpc, &oracle, dir.path(), 0);
    activate(&restarted, &rpc, 1, &tree).await;
    let (_, proof) = tree.proof_for(&recipient.to_bytes()).unwrap();
    assert!(matches!(
        restarted
            .relay_claim(&recipient, 9_000, proof)
            .await
            .unwrap(),
        Relayed::Sent(_)
    ));
    wait_for_tokens(&rpc, recipient_tokens, 9_000).await;
    assert_eq!(tables_of(&rpc, &oracle.pubkey()), tables, "one table, kept");
}

/// The relayer's sweep of `operator`'s pool leaf of `tree` (whose amount is `cumulative`).
async fn sweep_pool(
    relayer: &Submitter,
    operator: anchor_lang::prelude::Pubkey,
    tree: &RewardTree,
    cumulative: u64,
) -> Relayed {
    let pool = groundwork_client::staking::pool_rewards_address(&operator);
    let (_, proof) = tree.proof_for(&pool.to_bytes()).unwrap();
    relayer
        .relay_pool(&operator, cumulative, proof)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_sweep_the_chain_refuses_costs_the_relayer_nothing_and_goes_through_once_it_can() {
    // An operator with a delegation pool and no member: what the pool takes in goes to the
    // operator's token account, and the sweep is refused without it.
    let OneOracleNetwork {
        oracle,
        operator,
        payer,
        token,
        rpc,
        ..
    } = OneOracleNetwork::launch(3).await;
    let dir = tempfile::tempdir().unwrap();
    let relayer = submitter(&rpc, &oracle, dir.path(), 0);
    let balance = |key: &anchor_lang::prelude::Pubkey| client(&rpc).get_balance(key).unwrap();
    let pool = groundwork_client::staking::pool_rewards_address(&operator.pubkey());
    let pool_claimed = || {
        use anchor_lang::AccountDeserialize;
        client(&rpc)
            .get_account_data(&groundwork_client::reward_epochs::claim_address(&pool))
            .map(|data| {
                reward_epochs::state::ClaimV0::try_deserialize(&mut data.as_slice())
                    .unwrap()
                    .claimed
            })
            .unwrap_or(0)
    };
    let operator_tokens = token.account_of(&operator.pubkey());
    let other = Keypair::new().pubkey();
    // The operator empties its token account and closes it, taking its rent.
    let close_operator_tokens =
        |held: u64| empty_and_close(&rpc, token, operator_tokens, &operator, &payer, held);
    let paying = |cumulative: u64, filler: u64| tree_of(&[(pool, cumulative), (other, filler)]);
    let operator_key = operator.pubkey();

    // Epoch 0 pays the pool 3,000: the relayer sweeps it to the account the operator opened
    // (it bought credits with it).
    let held = tokens_in(&rpc, operator_tokens).expect("the operator's own token account");
    let tree = paying(3_000, 1);
    activate(&relayer, &rpc, 0, &tree).await;
    assert!(matches!(
        sweep_pool(&relayer, operator_key, &tree, 3_000).await,
        Relayed::Sent(_)
    ));
    wait_for_tokens(&rpc, operator_tokens, held + 3_000).await;
    close_operator_tokens(held + 3_000);

    // Epoch 1 pays it 5,000 in all: the relayer creates the closed account, once, and sweeps.
    let tree = paying(5_000, 2);
    activate(&relayer, &rpc, 1, &tree).await;
    assert!(matches!(
        sweep_pool(&relayer, operator_key, &tree, 5_000).await,
        Relayed::Sent(_)
    ));
    wait_for_tokens(&rpc, operator_tokens, 2_000).await;
    close_operator_tokens(2_000);

    // Epoch 2 pays it 6,000 in all. Nobody earns in the pool, so the sweep needs the
    // operator's account, which the relayer does not create twice: the chain refuses the
    // sweep in simulation. Nothing is sent or spent and the leaf stays owed — now and after a
    // restart on the same files.
    let tree = paying(6_000, 3);
    activate(&relayer, &rpc, 2, &tree).await;
    let before = balance(&oracle.pubkey());
    assert_eq!(
        sweep_pool(&relayer, operator_key, &tree, 6_000).await,
        Relayed::Refused
    );
    let restarted = submitter(&rpc, &oracle, dir.path(), 0);
    assert_eq!(
        sweep_pool(&restarted, operator_key, &tree, 6_000).await,
        Relayed::Refused
    );
    assert_eq!(balance(&oracle.pubkey()), before, "nothing was paid");
    assert_eq!(pool_claimed(), 5_000, "epoch 2's part stays owed");
    assert_eq!(tokens_in(&rpc, operator_tokens), None);

    // Once the operator opens its account again, the sweep goes through: the 1,000 epoch 2
    // added, nothing lost to the refusals.
    send(
        &rpc,
        &[token.create_account_idempotent(&payer.pubkey(), &operator.pubkey())],
        &[&payer],
    );
    assert!(matches!(
        sweep_pool(&restarted, operator_key, &tree, 6_000).await,
        Relayed::Sent(_)
    ));
    wait_for_tokens(&rpc, operator_tokens, 1_000).await;
    assert_eq!(pool_claimed(), 6_000);
}
