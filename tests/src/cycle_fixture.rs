//! The whole network: tokenomics, registry, staking and reward_epochs wired together (the
//! real reward program mints epochs and funds staking), with three oracles in a 2-of-3 set.

use anchor_lang::prelude::Pubkey;
use groundwork_client::reward_epochs as rewards;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{Outcome, TOKEN_PROGRAM_ID};
use groundwork_merkle::{Leaf, RewardTree};
use reward_epochs::{
    EmissionSplit, EpochV0, InitializeRewardsArgsV0, RewardConfigV0, SubmitRootArgsV0,
};

use crate::registry_fixture::RegistryNetwork;
use crate::staking_fixture::{StakingNetwork, EPOCH_LEN_S};
use crate::tokenomics_fixture::TokenomicsNetwork;

pub fn default_split() -> EmissionSplit {
    EmissionSplit {
        devices_bps: 7_000,
        stakers_bps: 2_000,
        treasury_bps: 1_000,
    }
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
        let tokenomics = TokenomicsNetwork::launch_adopting(TOKEN_PROGRAM_ID, |mut args| {
            args.reward_program = reward_epochs::ID;
            args
        });
        let registry = RegistryNetwork::on(tokenomics);
        let mut staking = StakingNetwork::on(registry, reward_epochs::ID);
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
        let deployer = staking.rt.deployer.insecure_clone();
        let args = InitializeRewardsArgsV0 {
            authority: staking.authority.pubkey(),
            genesis_ts: staking.genesis_ts,
            epoch_len_s: EPOCH_LEN_S,
            split: default_split(),
            oracles: oracles.iter().map(|oracle| oracle.pubkey()).collect(),
            quorum: 2,
            challenge_period_s: 0,
        };
        staking.rt.send_ok(
            &[rewards::initialize_rewards(
                &deployer.pubkey(),
                token,
                &dao_treasury,
                args,
            )],
            &[&deployer],
        );
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
        let args = SubmitRootArgsV0 {
            root,
            cumulative_total,
            leaf_count,
        };
        self.rt.send_paid_by(
            &oracle,
            &[rewards::submit_root(&oracle.pubkey(), epoch, args)],
            &[],
        )
    }

    pub fn activate(&mut self, epoch: u64) -> Outcome {
        self.rt.send(&[rewards::activate_root(epoch)], &[])
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
