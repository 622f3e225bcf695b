//! The whole network: tokenomics, registry, staking and reward_epochs wired together (the
//! real reward program mints epochs and funds staking), with three oracles in a 2-of-3 set.

use anchor_lang::prelude::Pubkey;
use groundwork_client::reward_epochs as rewards;
use groundwork_client::tokenomics::NetworkToken;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{Outcome, TOKEN_PROGRAM_ID};
use groundwork_merkle::{Leaf, RewardTree};
use reward_epochs::{
    EmissionSplit, EpochV0, InitializeRewardsArgsV0, RewardConfigV0, RewardParamsV0,
    SubmitRootArgsV0,
};

use crate::registry_fixture::RegistryNetwork;
use crate::staking_fixture::StakingNetwork;
use crate::tokenomics_fixture::TokenomicsNetwork;

pub fn default_split() -> EmissionSplit {
    EmissionSplit {
        devices_bps: 7_000,
        stakers_bps: 2_000,
        treasury_bps: 1_000,
    }
}

/// Tokenomics, a registry and staking, ready for reward_epochs to be initialized: tokenomics
/// names `tokenomics_reward_program` and staking `staking_reward_program` as their reward
/// program (both `reward_epochs::ID` in a correctly wired network).
pub fn network_before_rewards(
    tokenomics_reward_program: Pubkey,
    staking_reward_program: Pubkey,
) -> StakingNetwork {
    let registry = registry_before_rewards(tokenomics_reward_program);
    StakingNetwork::on(registry, staking_reward_program)
}

fn registry_before_rewards(tokenomics_reward_program: Pubkey) -> RegistryNetwork {
    let tokenomics = TokenomicsNetwork::launch_adopting(TOKEN_PROGRAM_ID, |mut args| {
        args.reward_program = tokenomics_reward_program;
        args
    });
    RegistryNetwork::on(tokenomics)
}

/// The reward parameters the cycle network launches with: the default split, `oracles` in a
/// 2-of-N set, no challenge period.
pub fn rewards_args(authority: Pubkey, oracles: &[Pubkey]) -> InitializeRewardsArgsV0 {
    InitializeRewardsArgsV0 {
        authority,
        split: default_split(),
        oracles: oracles.to_vec(),
        quorum: 2,
        challenge_period_s: 0,
    }
}

/// Sends `initialize_rewards_v0` (signed by the deployer) on `network` for `network_token`,
/// paying the treasury share to `treasury`.
pub fn initialize_rewards(
    network: &mut StakingNetwork,
    network_token: NetworkToken,
    treasury: &Pubkey,
    args: InitializeRewardsArgsV0,
) -> Outcome {
    let deployer = network.rt.deployer.insecure_clone();
    network.rt.send(
        &[rewards::initialize_rewards(
            &deployer.pubkey(),
            network_token,
            treasury,
            args,
        )],
        &[&deployer],
    )
}

/// All four programs, 2-of-3 oracles, no challenge period.
pub struct CycleNetwork {
    pub staking: StakingNetwork,
    pub oracles: [Keypair; 3],
    /// Owner of the treasury token account.
    pub dao: Keypair,
    pub dao_treasury: Pubkey,
}

impl std::ops::Deref for CycleNetwork {
    type Target = StakingNetwork;
    fn deref(&self) -> &StakingNetwork {
        &self.staking
    }
}

impl std::ops::DerefMut for CycleNetwork {
    fn deref_mut(&mut self) -> &mut StakingNetwork {
        &mut self.staking
    }
}

impl CycleNetwork {
    pub fn launch() -> Self {
        Self::wire(network_before_rewards(reward_epochs::ID, reward_epochs::ID))
    }

    /// Like [`CycleNetwork::launch`], with epoch 0 starting at `genesis_ts` and lasting
    /// `epoch_len_s` (a network copied into a local RPC endpoint, whose clock is the wall
    /// clock, starts its epochs at a chosen moment).
    pub fn launch_with_epochs(genesis_ts: i64, epoch_len_s: i64) -> Self {
        let registry = registry_before_rewards(reward_epochs::ID);
        Self::wire(StakingNetwork::on_with_epochs(
            registry,
            reward_epochs::ID,
            genesis_ts,
            epoch_len_s,
        ))
    }

    fn wire(mut staking: StakingNetwork) -> Self {
        let oracles = [Keypair::new(), Keypair::new(), Keypair::new()];
        for oracle in &oracles {
            staking.rt.fund(&oracle.pubkey(), 1_000_000_000);
        }
        let dao = staking.rt.funded_keypair();
        let token = staking.network_token;
        let dao_treasury =
            staking
                .rt
                .token_account(&dao.pubkey(), &token.mint, &token.token_program);
        let oracle_keys: Vec<Pubkey> = oracles.iter().map(|oracle| oracle.pubkey()).collect();
        let args = rewards_args(staking.authority.pubkey(), &oracle_keys);
        initialize_rewards(&mut staking, token, &dao_treasury, args).unwrap_or_else(|refused| {
            panic!(
                "initialize_rewards: {:?}\n{}",
                refused.err,
                refused.logs.join("\n")
            )
        });
        CycleNetwork {
            staking,
            oracles,
            dao,
            dao_treasury,
        }
    }

    pub fn reward_config(&self) -> RewardConfigV0 {
        self.rt.anchor_account(&rewards::config_address())
    }

    pub fn epoch_record(&self, epoch: u64) -> EpochV0 {
        self.rt.anchor_account(&rewards::epoch_address(epoch))
    }

    pub fn device_vault_balance(&self) -> u64 {
        self.rt.token_balance(&rewards::reward_vault_address())
    }

    pub fn close_epoch(&mut self, epoch: u64) -> Outcome {
        let token = self.network_token;
        let treasury = self.dao_treasury;
        let payer = self.rt.payer.pubkey();
        self.rt.send(
            &[rewards::close_epoch(&payer, token, &treasury, epoch)],
            &[],
        )
    }

    /// Moves to the next epoch and closes the one that ended.
    pub fn end_and_close_epoch(&mut self) -> u64 {
        let epoch = self.current_epoch();
        self.next_epoch();
        self.close_epoch(epoch).unwrap_or_else(|refused| {
            panic!(
                "close_epoch({epoch}): {:?}\n{}",
                refused.err,
                refused.logs.join("\n")
            )
        });
        epoch
    }

    /// Oracle `index` votes `tree`'s root for `epoch`.
    pub fn vote(&mut self, index: usize, epoch: u64, tree: &RewardTree) -> Outcome {
        self.vote_raw(
            index,
            epoch,
            tree.root(),
            tree.total() as u64,
            tree.len() as u64,
        )
    }

    pub fn vote_raw(
        &mut self,
        index: usize,
        epoch: u64,
        root: [u8; 32],
        cumulative_total: u64,
        leaf_count: u64,
    ) -> Outcome {
        let oracle = self.oracles[index].insecure_clone();
        self.vote_by(&oracle, epoch, root, cumulative_total, leaf_count)
    }

    /// `oracle` (any key, in the set or not) votes for `epoch`; it pays its own fee.
    pub fn vote_by(
        &mut self,
        oracle: &Keypair,
        epoch: u64,
        root: [u8; 32],
        cumulative_total: u64,
        leaf_count: u64,
    ) -> Outcome {
        let args = SubmitRootArgsV0 {
            root,
            cumulative_total,
            leaf_count,
        };
        self.rt.send_paid_by(
            oracle,
            &[rewards::submit_root(&oracle.pubkey(), epoch, args)],
            &[],
        )
    }

    pub fn activate(&mut self, epoch: u64) -> Outcome {
        self.rt.send(&[rewards::activate_root(epoch)], &[])
    }

    /// The authority vetoes `epoch`'s pending root.
    pub fn veto(&mut self, epoch: u64) -> Outcome {
        let authority = self.authority.insecure_clone();
        self.rt.send(
            &[rewards::veto_root(&authority.pubkey(), epoch)],
            &[&authority],
        )
    }

    /// The authority installs `oracles` with `quorum`.
    pub fn set_oracles(&mut self, oracles: Vec<Pubkey>, quorum: u8) -> Outcome {
        let authority = self.authority.insecure_clone();
        self.rt.send(
            &[rewards::set_oracles(&authority.pubkey(), oracles, quorum)],
            &[&authority],
        )
    }

    /// The authority updates the reward parameters, the treasury share going to `treasury`.
    pub fn update_reward_params(&mut self, params: RewardParamsV0, treasury: &Pubkey) -> Outcome {
        let authority = self.authority.insecure_clone();
        let mint = self.network_token.mint;
        self.rt.send(
            &[rewards::update_reward_params(
                &authority.pubkey(),
                &mint,
                treasury,
                params,
            )],
            &[&authority],
        )
    }

    /// The authority sets the challenge period, keeping the split and the treasury.
    pub fn set_challenge_period(&mut self, challenge_period_s: i64) {
        let params = RewardParamsV0 {
            split: self.reward_config().split,
            challenge_period_s,
        };
        let treasury = self.reward_config().treasury;
        self.update_reward_params(params, &treasury)
            .unwrap_or_else(|refused| panic!("update_reward_params: {:?}", refused.err));
    }

    /// `paid_by` (any wallet) closes `epoch`'s settled record; the rent goes to the wallet that
    /// paid `close_epoch` (the runtime's payer in this fixture).
    pub fn close_epoch_record(&mut self, paid_by: &Keypair, epoch: u64) -> Outcome {
        let rent_payer = self.rt.payer.pubkey();
        self.rt.send_paid_by(
            paid_by,
            &[rewards::close_epoch_record(&rent_payer, epoch)],
            &[],
        )
    }

    /// `payer` claims `recipient`'s leaf of `tree`.
    pub fn claim_from(
        &mut self,
        payer: &Keypair,
        tree: &RewardTree,
        recipient: &Pubkey,
    ) -> Outcome {
        let (leaf, proof) = tree
            .proof_for(&recipient.to_bytes())
            .expect("recipient in the tree");
        self.claim_raw(payer, recipient, leaf.cumulative_amount, proof)
    }

    pub fn claim_raw(
        &mut self,
        payer: &Keypair,
        recipient: &Pubkey,
        cumulative_amount: u64,
        proof: Vec<[u8; 32]>,
    ) -> Outcome {
        let token = self.network_token;
        let instruction =
            rewards::claim(&payer.pubkey(), recipient, token, cumulative_amount, proof);
        self.rt.send_paid_by(payer, &[instruction], &[])
    }
}

/// A tree of `(recipient, cumulative amount)` pairs.
pub fn tree_of(entries: &[(Pubkey, u64)]) -> RewardTree {
    RewardTree::new(
        entries
            .iter()
            .map(|(recipient, amount)| Leaf {
                recipient: recipient.to_bytes(),
                cumulative_amount: *amount,
            })
            .collect(),
    )
    .expect("distinct recipients")
}
