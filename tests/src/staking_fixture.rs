//! A network with tokenomics, a registry and staking (1-minute epochs from the runtime's
//! start), the epoch-minter relay standing in for the reward program.

use anchor_lang::prelude::Pubkey;
use groundwork_client::staking as client;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{through_relay, Outcome, EPOCH_MINTER_RELAY_ID};
use staking::{
    CreatePositionArgsV0, InitializeStakingArgsV0, LockupArgs, LockupKind, OperatorPoolV0,
    PositionV0, StakingConfigV0, StakingParams,
};

use crate::registry_fixture::RegistryNetwork;
use crate::tokenomics_fixture::GWK;

pub const EPOCH_LEN_S: i64 = 60;
/// Positions per transaction when creating, delegating and claiming in bulk.
pub const BULK_BATCH: usize = 10;
pub const FOUR_YEARS_S: i64 = 4 * 365 * 86_400;

pub fn default_params() -> StakingParams {
    StakingParams::RECOMMENDED
}

pub fn flexible() -> LockupArgs {
    LockupArgs {
        kind: LockupKind::Flexible,
        duration_s: 0,
    }
}

pub fn cliff(duration_s: i64) -> LockupArgs {
    LockupArgs {
        kind: LockupKind::Cliff,
        duration_s,
    }
}

pub fn constant(duration_s: i64) -> LockupArgs {
    LockupArgs {
        kind: LockupKind::Constant,
        duration_s,
    }
}

/// A launched network with staking.
pub struct StakingNetwork {
    pub registry: RegistryNetwork,
    pub genesis_ts: i64,
    pub epoch_len_s: i64,
}

impl std::ops::Deref for StakingNetwork {
    type Target = RegistryNetwork;
    fn deref(&self) -> &RegistryNetwork {
        &self.registry
    }
}

impl std::ops::DerefMut for StakingNetwork {
    fn deref_mut(&mut self) -> &mut RegistryNetwork {
        &mut self.registry
    }
}

impl StakingNetwork {
    /// Tokenomics, registry and staking, the epoch-minter relay as reward program.
    pub fn launch() -> Self {
        Self::on(RegistryNetwork::launch(), EPOCH_MINTER_RELAY_ID)
    }

    /// Adds staking (genesis now, 1-minute epochs) to a launched registry network, funded by
    /// `reward_program`'s PDA.
    pub fn on(registry: RegistryNetwork, reward_program: Pubkey) -> Self {
        let genesis_ts = registry.rt.clock().unix_timestamp;
        Self::on_with_epochs(registry, reward_program, genesis_ts, EPOCH_LEN_S)
    }

    /// Like [`StakingNetwork::on`], with epoch 0 starting at `genesis_ts` and lasting
    /// `epoch_len_s`.
    pub fn on_with_epochs(
        mut registry: RegistryNetwork,
        reward_program: Pubkey,
        genesis_ts: i64,
        epoch_len_s: i64,
    ) -> Self {
        let deployer = registry.rt.deployer.insecure_clone();
        let args = InitializeStakingArgsV0 {
            authority: registry.authority.pubkey(),
            reward_program,
            genesis_ts,
            epoch_len_s,
            params: default_params(),
        };
        let token = registry.network_token;
        registry.rt.send_ok(
            &[client::initialize_staking(&deployer.pubkey(), token, args)],
            &[&deployer],
        );
        StakingNetwork {
            registry,
            genesis_ts,
            epoch_len_s,
        }
    }

    pub fn staking_config(&self) -> StakingConfigV0 {
        self.rt.anchor_account(&client::config_address())
    }

    pub fn position(&self, owner: &Pubkey, id: u64) -> PositionV0 {
        self.rt.anchor_account(&client::position_address(owner, id))
    }

    pub fn pool(&self, operator: &Pubkey) -> OperatorPoolV0 {
        self.rt
            .anchor_account(&client::operator_pool_address(operator))
    }

    pub fn current_epoch(&self) -> u64 {
        self.staking_config()
            .epoch_at(self.rt.clock().unix_timestamp)
    }

    /// Moves the clock to the start of the next epoch.
    pub fn next_epoch(&mut self) {
        let next = self.current_epoch() + 1;
        let (genesis, epoch_len_s) = (self.genesis_ts, self.epoch_len_s);
        self.rt.warp_to_epoch(genesis, epoch_len_s, next);
    }

    /// Creates position `id` of `owner` holding `amount` with `lockup`.
    pub fn create_position(
        &mut self,
        owner: &Keypair,
        id: u64,
        amount: u64,
        lockup: LockupArgs,
    ) -> Outcome {
        let instruction = self.create_position_instruction(&owner.pubkey(), id, amount, lockup);
        self.rt.send(&[instruction], &[owner])
    }

    pub fn create_position_instruction(
        &self,
        owner: &Pubkey,
        id: u64,
        amount: u64,
        lockup: LockupArgs,
    ) -> anchor_lang::solana_program::instruction::Instruction {
        let config = self.staking_config();
        let now = self.rt.clock().unix_timestamp;
        client::create_position(
            owner,
            self.network_token,
            CreatePositionArgsV0 {
                id,
                amount,
                lockup,
                activation_epoch: config.activation_epoch_at(now),
                bonus_expiry_epoch: client::bonus_expiry_epoch(&config, lockup, now),
            },
        )
    }

    /// A funded staker holding `amount` network tokens, with position 0 of `amount` locked.
    pub fn staker_with_position(&mut self, amount: u64, lockup: LockupArgs) -> Keypair {
        let staker = self.holder(amount);
        self.create_position(&staker, 0, amount, lockup).unwrap();
        staker
    }

    /// Opens positions `0..per_owner` of every owner, flexible, position `id` holding
    /// `amount_of(id)`, [`BULK_BATCH`] to a transaction.
    pub fn open_flexible_positions(
        &mut self,
        owners: &[Keypair],
        per_owner: u64,
        amount_of: impl Fn(u64) -> u64,
    ) {
        for owner in owners {
            for ids in (0..per_owner).collect::<Vec<_>>().chunks(BULK_BATCH) {
                let instructions: Vec<_> = ids
                    .iter()
                    .map(|id| {
                        self.create_position_instruction(
                            &owner.pubkey(),
                            *id,
                            amount_of(*id),
                            flexible(),
                        )
                    })
                    .collect();
                self.rt.send_ok(&instructions, &[owner]);
            }
        }
    }

    /// Delegates positions `0..per_owner` of every owner to `operator`, [`BULK_BATCH`] to a
    /// transaction.
    pub fn delegate_positions(&mut self, owners: &[Keypair], per_owner: u64, operator: &Pubkey) {
        for owner in owners {
            for ids in (0..per_owner).collect::<Vec<_>>().chunks(BULK_BATCH) {
                let instructions: Vec<_> = ids
                    .iter()
                    .map(|id| {
                        self.delegate_instruction(&self.position(&owner.pubkey(), *id), operator)
                    })
                    .collect();
                self.rt.send_ok(&instructions, &[owner]);
            }
        }
    }

    /// Funds `epoch` with `amount` as the reward program would (relay PDA signs; the tokens
    /// are sent to it from the treasury first).
    pub fn fund(&mut self, epoch: u64, amount: u64) -> Outcome {
        let funder = client::reward_funder_address(&EPOCH_MINTER_RELAY_ID);
        self.give(&funder, amount);
        let funder_tokens = self.network_token.account_of(&funder);
        let inner =
            client::fund_epoch_rewards(&funder, &funder_tokens, self.network_token, epoch, amount);
        self.rt
            .send(&[through_relay(EPOCH_MINTER_RELAY_ID, inner)], &[])
    }

    /// Ends the current epoch and funds it (and any earlier unfunded ones with 0); returns
    /// the funding transaction of the epoch that ended.
    pub fn end_epoch_and_fund(&mut self, amount: u64) -> groundwork_harness::Landed {
        let epoch = self.current_epoch();
        self.next_epoch();
        let next = self.staking_config().next_epoch_to_fund;
        for skipped in next..epoch {
            self.fund(skipped, 0).unwrap();
        }
        self.fund(epoch, amount).unwrap()
    }

    pub fn stake_vault_balance(&self) -> u64 {
        self.rt.token_balance(&client::stake_vault_address())
    }

    pub fn reward_vault_balance(&self) -> u64 {
        self.rt.token_balance(&client::reward_vault_address())
    }

    /// The epoch-stake record of `epoch`, if it exists.
    pub fn epoch_stake(&self, epoch: u64) -> Option<staking::EpochStakeV0> {
        let address = client::epoch_stake_address(epoch);
        self.rt
            .account(&address)
            .map(|_| self.rt.anchor_account(&address))
    }

    /// What the position can claim now (the CLI's view).
    pub fn claimable(&self, owner: &Pubkey, id: u64) -> u64 {
        let position = self.position(owner, id);
        let pool = position.operator.map(|operator| self.pool(&operator));
        let activation = (!position.activated)
            .then(|| self.epoch_stake(position.activation_epoch))
            .flatten();
        let bonus = position
            .bonus_expiry_epoch
            .and_then(|epoch| self.epoch_stake(epoch));
        client::claimable_rewards(
            &position,
            &self.staking_config(),
            pool.as_ref(),
            activation.as_ref(),
            bonus.as_ref(),
        )
        .unwrap()
    }

    /// Extends position `id` of `owner` to `lockup` from now.
    pub fn extend(&mut self, owner: &Keypair, id: u64, lockup: LockupArgs) -> Outcome {
        let position = self.position(&owner.pubkey(), id);
        let now = self.rt.clock().unix_timestamp;
        let expiry = client::bonus_expiry_epoch(&self.staking_config(), lockup, now);
        let instruction = client::extend_lockup(&position, lockup, expiry);
        self.rt.send(&[instruction], &[owner])
    }

    /// Starts the unlock of position `id` of `owner` (a constant lockup's countdown, or a
    /// flexible position's cooldown).
    pub fn start_unlock(&mut self, owner: &Keypair, id: u64) -> Outcome {
        let position = self.position(&owner.pubkey(), id);
        let now = self.rt.clock().unix_timestamp;
        let expiry = (position.kind == LockupKind::Constant)
            .then(|| {
                client::bonus_expiry_epoch(&self.staking_config(), cliff(position.duration_s), now)
            })
            .flatten();
        self.rt
            .send(&[client::start_unlock(&position, expiry)], &[owner])
    }

    /// Delegates position `id` of `staker` to the operator whose wallet is `operator`.
    pub fn delegate(&mut self, staker: &Keypair, id: u64, operator: &Pubkey) -> Outcome {
        let position = self.position(&staker.pubkey(), id);
        let instruction = self.delegate_instruction(&position, operator);
        self.rt.send(&[instruction], &[staker])
    }

    /// `delegate_v0` of `position` to `operator`, into the pool cohort a delegation sent now
    /// joins.
    pub fn delegate_instruction(
        &self,
        position: &PositionV0,
        operator: &Pubkey,
    ) -> anchor_lang::solana_program::instruction::Instruction {
        let cohort = client::delegation_cohort_now(&self.rt, operator).unwrap();
        client::delegate(position, operator, cohort)
    }

    /// The authority slashes `operator`'s pool by `bps` (reason code 11).
    pub fn slash(&mut self, operator: &Pubkey, bps: u16) -> Outcome {
        let authority = self.authority.insecure_clone();
        let token = self.network_token;
        self.rt.send(
            &[client::slash(&authority.pubkey(), operator, token, bps, 11)],
            &[&authority],
        )
    }

    /// The authority sets the staking parameters.
    pub fn set_params(&mut self, params: StakingParams) -> Outcome {
        let authority = self.authority.insecure_clone();
        self.rt.send(
            &[client::update_staking_params(&authority.pubkey(), params)],
            &[&authority],
        )
    }

    pub fn claim(&mut self, owner: &Pubkey, id: u64) -> Outcome {
        let position = self.position(owner, id);
        let instruction = client::claim_stake_rewards(&position, self.network_token);
        self.rt.send(&[instruction], &[])
    }
}

/// Tokens of a whole number of GWK, for readability.
pub const fn gwk(amount: u64) -> u64 {
    amount * GWK
}
