//! The claim relayer: claims for opted-in recipients (who may hold no SOL) and sweeps of
//! operators' delegation pools, paid by the oracle key within its reserve for votes.

use anchor_lang::prelude::Pubkey;
use groundwork_client::staking as staking_client;
use groundwork_client::tokenomics::NetworkToken;
use reward_epochs::state::RewardConfigV0;
use solana_signer::Signer;

use solana_message::AddressLookupTableAccount;

use crate::lookup_table::{fixed_relay_accounts, v0_transaction_bytes, TableState};
use crate::{Relayed, SubmitError, Submitter, RELAY_SETTLE};

impl Submitter {
    /// What claims have paid `recipient` so far (0 before its first claim).
    pub async fn claimed(&self, recipient: &Pubkey) -> Result<u64, SubmitError> {
        Ok(self
            .rpc
            .account::<reward_epochs::state::ClaimV0>(
                &groundwork_client::reward_epochs::claim_address(recipient),
            )
            .await
            .map_err(SubmitError::Rpc)?
            .map_or(0, |claim| claim.claimed))
    }

    /// The network token the reward config names (its token program: the mint's owner).
    async fn network_token(&self, config: &RewardConfigV0) -> Result<NetworkToken, SubmitError> {
        let token_program = self
            .rpc
            .owner_of(&config.network_mint)
            .await
            .map_err(SubmitError::Rpc)?
            .ok_or_else(|| SubmitError::Rpc("the network mint is not on chain".into()))?;
        Ok(NetworkToken {
            mint: config.network_mint,
            token_program,
        })
    }

    /// Whether an account exists at `address` now.
    async fn exists(&self, address: &Pubkey) -> Result<bool, SubmitError> {
        Ok(self
            .rpc
            .lamports_now(address)
            .await
            .map_err(SubmitError::Rpc)?
            .is_some())
    }

    /// `BelowReserve` when sending something that may cost `cost` could take the oracle key
    /// below the reserve kept for votes, counting what relays sent before it may still cost
    /// (their cost may not show in the balance yet).
    pub(crate) async fn below_reserve(&self, cost: u64) -> Result<Option<Relayed>, SubmitError> {
        let reserve = self.settings.relay_reserve_lamports;
        let balance = self
            .rpc
            .lamports_now(&self.oracle.pubkey())
            .await
            .map_err(SubmitError::Rpc)?
            .unwrap_or(0);
        let unsettled = self.unsettled_relay_spending();
        Ok(
            (balance < reserve.saturating_add(cost).saturating_add(unsettled)).then_some(
                Relayed::BelowReserve {
                    balance,
                    reserve,
                    claim_cost: cost,
                    unsettled,
                },
            ),
        )
    }

    /// Remembers what a relay just sent may cost, until it settles.
    pub(crate) fn note_relay_spending(&self, cost: u64) {
        self.relay_spending
            .lock()
            .expect("relay spending lock")
            .push_back((std::time::Instant::now(), cost));
    }

    /// Claims `recipient`'s `cumulative_amount` with `proof` against the active root, this
    /// oracle paying the fee (and the claim account's rent, the first time): the relayer for
    /// recipients who hold no SOL. The signature when sent.
    pub async fn relay_claim(
        &self,
        recipient: &Pubkey,
        cumulative_amount: u64,
        proof: Vec<[u8; 32]>,
    ) -> Result<Relayed, SubmitError> {
        let config = self.reward_config().await?;
        let token = self.network_token(&config).await?;
        let account = groundwork_client::reward_epochs::recipient_token_account(recipient, token);
        let account_exists = self.exists(&account).await?;
        let claim_record_exists = self
            .exists(&groundwork_client::reward_epochs::claim_address(recipient))
            .await?;
        let claim_cost = self.claim_cost_at_most(claim_record_exists, account_exists);
        if let Some(below) = self.below_reserve(claim_cost).await? {
            return Ok(below);
        }
        // Created by this relayer before and gone: the recipient closed it (a claim landed:
        // the claim record says so). A creating claim that never landed created nothing.
        if !account_exists
            && self.relay_ledger.created_for(recipient)?
            && self.claimed(recipient).await? > 0
        {
            return Ok(Relayed::RecipientClosedItsAccount);
        }
        let claim = groundwork_client::reward_epochs::claim(
            &self.oracle.pubkey(),
            recipient,
            token,
            cumulative_amount,
            proof,
        );
        let sent = match self.send_relay(vec![claim], token, "relayed claim").await? {
            Ok(sent) => sent,
            Err(waiting) => return Ok(waiting),
        };
        match sent {
            Some(signature) => {
                if !account_exists {
                    self.relay_ledger.record(recipient)?;
                }
                self.note_relay_spending(claim_cost);
                Ok(Relayed::Sent(signature))
            }
            None => Ok(Relayed::Refused),
        }
    }

    /// Claims `operator`'s delegation pool leaf (`cumulative_amount` with `proof` against the
    /// active root) when more is due, through the staking program's sweep, which takes it into
    /// the pool's per-share index in the same instruction (the reward program pays a pool's
    /// leaf only that way, so each root's rewards are swept on their own). The operator's
    /// token account (paid when no member earns) is created once if missing: an operator that
    /// closes the one this relayer created, to take its rent back, gets no other; its pool is
    /// then swept without it, which the program refuses only when no member earns. Nobody
    /// else claims a pool's leaf: the relaying oracle does.
    pub async fn relay_pool(
        &self,
        operator: &Pubkey,
        cumulative_amount: u64,
        proof: Vec<[u8; 32]>,
    ) -> Result<Relayed, SubmitError> {
        let config = self.reward_config().await?;
        let Some(active_root_epoch) = config.active_root_epoch else {
            return Ok(Relayed::Refused);
        };
        let pool_address = staking_client::pool_rewards_address(operator);
        let Some(pool) = self
            .rpc
            .account::<staking::PoolRewardsV0>(&pool_address)
            .await
            .map_err(SubmitError::Rpc)?
        else {
            // No pool rewards account: nothing could sweep the leaf.
            return Ok(Relayed::Refused);
        };
        let record = self
            .rpc
            .account::<reward_epochs::state::ClaimV0>(
                &groundwork_client::reward_epochs::claim_address(&pool_address),
            )
            .await
            .map_err(SubmitError::Rpc)?;
        if cumulative_amount <= record.as_ref().map_or(0, |record| record.claimed) {
            return Ok(Relayed::Refused);
        }
        let token = self.network_token(&config).await?;
        let payer = self.oracle.pubkey();
        let pool_tokens_exist = self
            .exists(&staking_client::pool_reward_tokens_address(operator, token))
            .await?;
        let operator_tokens_exist = self.exists(&token.account_of(operator)).await?;
        let create_operator_tokens =
            !operator_tokens_exist && !self.relay_ledger.created_for(operator)?;
        let mut instructions = Vec::new();
        if create_operator_tokens {
            instructions.push(token.create_account_idempotent(&payer, operator));
        }
        instructions.push(staking_client::sweep_pool_rewards(
            &payer,
            operator,
            &pool,
            active_root_epoch,
            token,
            cumulative_amount,
            proof,
            operator_tokens_exist || create_operator_tokens,
        ));
        let cost = self
            .claim_cost_at_most(record.is_some(), pool_tokens_exist)
            .saturating_add(self.claim_cost_at_most(true, !create_operator_tokens));
        if let Some(below) = self.below_reserve(cost).await? {
            return Ok(below);
        }
        let sent = match self
            .send_relay(instructions, token, "relayed pool sweep")
            .await?
        {
            Ok(sent) => sent,
            Err(waiting) => return Ok(waiting),
        };
        match sent {
            Some(signature) => {
                if create_operator_tokens {
                    self.relay_ledger.record(operator)?;
                }
                self.note_relay_spending(cost);
                Ok(Relayed::Sent(signature))
            }
            None => Ok(Relayed::Refused),
        }
    }

    /// Sends `instructions` (a relay, `what`) once as [`Submitter::send_all_once`] does: in a
    /// legacy transaction when it fits one, else in a v0 transaction that looks up the
    /// network's fixed accounts in the relayer's table. `Err` when it is not sent: the table is
    /// not ready (being created or extended now, or that would take the key below its
    /// reserve), or the relay is too long even for the table.
    async fn send_relay(
        &self,
        instructions: Vec<anchor_lang::solana_program::instruction::Instruction>,
        token: NetworkToken,
        what: &str,
    ) -> Result<Result<Option<String>, Relayed>, SubmitError> {
        let payer = self.oracle.pubkey();
        let bytes = groundwork_client::legacy_transaction_bytes(&payer, &instructions);
        if bytes <= groundwork_client::PACKET_DATA_SIZE {
            return self.send_all_once(instructions, what).await.map(Ok);
        }
        // Too long even with the table (its address does not change the size): no table for it.
        let wanted = fixed_relay_accounts(token);
        let with_table = v0_transaction_bytes(
            &payer,
            &instructions,
            &AddressLookupTableAccount {
                key: Pubkey::default(),
                addresses: wanted.clone(),
            },
        )?;
        if with_table > groundwork_client::PACKET_DATA_SIZE {
            return Ok(Err(Relayed::TooLong { bytes: with_table }));
        }
        match self.relay_table(&wanted).await? {
            TableState::Ready(table) => self
                .send_compiled_once(instructions, Some(&table), what)
                .await
                .map(Ok),
            TableState::Preparing(waits_for) | TableState::Unaffordable(waits_for) => {
                Ok(Err(Relayed::WaitingForLookupTable(waits_for)))
            }
        }
    }

    /// The most a relayed claim may cost this key: the fee at the priority floor for the most
    /// compute a transaction may use, and the rent of the claim record and the recipient's
    /// token account when the claim creates them (the larger Token-2022 account with its
    /// immutable-owner extension).
    pub(crate) fn claim_cost_at_most(
        &self,
        claim_record_exists: bool,
        account_exists: bool,
    ) -> u64 {
        use anchor_lang::Space;
        const SIGNATURE_FEE: u64 = 5_000;
        const UNITS_AT_MOST: u64 = 1_400_000;
        const TOKEN_ACCOUNT_LEN: usize = 170;
        let rent = anchor_lang::solana_program::rent::Rent::default();
        let priority = self
            .settings
            .priority_fee_floor
            .saturating_mul(UNITS_AT_MOST)
            .div_ceil(1_000_000);
        let claim_record = if claim_record_exists {
            0
        } else {
            rent.minimum_balance(8 + reward_epochs::state::ClaimV0::INIT_SPACE)
        };
        let token_account = if account_exists {
            0
        } else {
            rent.minimum_balance(TOKEN_ACCOUNT_LEN)
        };
        SIGNATURE_FEE + priority + claim_record + token_account
    }

    /// What relayed claims sent within [`RELAY_SETTLE`] may cost (older ones are forgotten:
    /// by then they landed, and show in the balance, or expired).
    fn unsettled_relay_spending(&self) -> u64 {
        let mut spending = self.relay_spending.lock().expect("relay spending lock");
        while spending
            .front()
            .is_some_and(|(sent, _)| sent.elapsed() > RELAY_SETTLE)
        {
            spending.pop_front();
        }
        spending.iter().map(|(_, cost)| cost).sum()
    }
}
