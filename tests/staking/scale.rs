use groundwork_client::staking as client;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;
use staking::events::StakeRewardsClaimed;

#[test]
fn one_claim_pays_one_hundred_epochs() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(10), constant(FOUR_YEARS_S));
    let other = network.staker_with_position(gwk(30), flexible());
    network.end_epoch_and_fund(0);
    // 100 epochs of 1,000 + epoch index each.
    let mut funded = 0;
    for epoch in 1..=100u64 {
        network.next_epoch();
        network.fund(epoch, 1_000 + epoch).unwrap();
        funded += 1_000 + epoch;
    }
    // Weights 40 and 30 GWK: the staker is owed 4/7 of everything, within 1 per epoch.
    let expected = funded * 4 / 7;
    let landed = network.claim(&staker.pubkey(), 0).unwrap();
    let event: StakeRewardsClaimed = landed.event(&staking::ID);
    assert!(
        event.amount <= expected && event.amount + 100 >= expected,
        "claimed {} of {}",
        event.amount,
        expected
    );
    assert_eq!(network.network_balance(&staker.pubkey()), event.amount);
    network.claim(&other.pubkey(), 0).unwrap();
    let paid = network.network_balance(&staker.pubkey()) + network.network_balance(&other.pubkey());
    assert!(paid <= funded && paid + 200 >= funded);
    assert_eq!(network.reward_vault_balance(), funded - paid);
}

#[test]
fn one_slash_reduces_ten_thousand_delegators() {
    const OWNERS: usize = 10;
    const POSITIONS_PER_OWNER: u64 = 1_000;
    let mut network = StakingNetwork::launch();
    let operator = network.operator(0);
    let owners: Vec<Keypair> = (0..OWNERS)
        .map(|_| network.holder(gwk(POSITIONS_PER_OWNER * 4)))
        .collect();

    // 10,000 flexible positions of 1 + (id % 7) GWK.
    let amount_of = |id: u64| gwk(1 + id % 7);
    network.open_flexible_positions(&owners, POSITIONS_PER_OWNER, amount_of);
    // Created in epoch 0: active once epoch 1 is funded.
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(0);
    network.delegate_positions(&owners, POSITIONS_PER_OWNER, &operator.pubkey());
    let pool = network.pool(&operator.pubkey());
    assert_eq!(pool.members, 10_000);
    let total: u64 = (0..POSITIONS_PER_OWNER).map(amount_of).sum::<u64>() * OWNERS as u64;
    assert_eq!(pool.tokens, total);

    // One transaction slashes all of them by 30%.
    let authority = network.authority.insecure_clone();
    let token = network.network_token;
    let supply = network.supply();
    network.rt.send_ok(
        &[client::slash(
            &authority.pubkey(),
            &operator.pubkey(),
            token,
            3_000,
            2,
        )],
        &[&authority],
    );
    assert_eq!(network.supply(), supply - total * 3 / 10);

    // A sample leaves and withdraws exactly 70% of what it delegated.
    let sample: Vec<(usize, u64)> = (0..OWNERS)
        .map(|owner| (owner, (owner as u64 * 97) % POSITIONS_PER_OWNER))
        .collect();
    for (owner, id) in &sample {
        let position = network.position(&owners[*owner].pubkey(), *id);
        let exit_epoch = network.current_epoch();
        network.rt.send_ok(
            &[client::undelegate(&position, exit_epoch)],
            &[&owners[*owner]],
        );
    }
    for _ in 0..=default_params().unbonding_epochs {
        network.next_epoch();
    }
    for (owner, id) in &sample {
        let signer = &owners[*owner];
        let position = network.position(&signer.pubkey(), *id);
        let token = network.network_token;
        network.rt.send_ok(
            &[
                client::complete_undelegation(&position, token),
                client::start_unlock(&position, None),
            ],
            &[signer],
        );
    }
    network.next_epoch();
    network.next_epoch();
    for (owner, id) in &sample {
        let signer = &owners[*owner];
        let before = network.network_balance(&signer.pubkey());
        let position = network.position(&signer.pubkey(), *id);
        network
            .rt
            .send_ok(&[client::withdraw(&position, token)], &[signer]);
        let withdrawn = network.network_balance(&signer.pubkey()) - before;
        assert_eq!(
            withdrawn,
            amount_of(*id) * 7 / 10,
            "position {id} of owner {owner}"
        );
    }
}
