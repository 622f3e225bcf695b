//! The submit stage's JSON-RPC endpoints: reads fail over in order and carry the highest
//! context slot seen so far as their minimum (a lagging endpoint errors instead of answering
//! from the past); a transaction's bytes go to every endpoint.

use std::sync::atomic::{AtomicU64, Ordering};

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountDeserialize;
use groundwork_oracle_chain::first_answer;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::api::config::{
    RpcAccountInfoConfig, RpcSendTransactionConfig, RpcSimulateTransactionConfig,
};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client::rpc_client::SerializableTransaction;
use solana_signature::Signature;
use solana_transaction_error::TransactionError;

/// What an endpoint knows of a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Landing {
    /// Finalized; `Some` when the transaction failed.
    Finalized(Option<TransactionError>),
    /// Seen, not finalized yet; `Some` when it failed.
    Pending(Option<TransactionError>),
    /// Not found, and the finalized block height is past its blockhash's last valid one: it
    /// can never land.
    Dropped,
    /// Not found yet, still able to land.
    Unknown,
}

/// Longest wait for one endpoint's answer: a hung endpoint costs a round this much, not the
/// library's 30 s, before the next endpoint is asked.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

pub struct SubmitRpc {
    clients: Vec<RpcClient>,
    /// The highest context slot any read answered from.
    highest_slot: AtomicU64,
}

impl SubmitRpc {
    pub fn new(urls: &[String]) -> Self {
        SubmitRpc {
            clients: urls
                .iter()
                .map(|url| {
                    RpcClient::new_with_timeout_and_commitment(
                        url.clone(),
                        REQUEST_TIMEOUT,
                        CommitmentConfig::finalized(),
                    )
                })
                .collect(),
            highest_slot: AtomicU64::new(0),
        }
    }

    fn saw_slot(&self, slot: u64) {
        self.highest_slot.fetch_max(slot, Ordering::Relaxed);
    }

    /// The account at `address` (finalized, no older than the highest context slot seen):
    /// its owner and its data (`None` when the encoding does not decode), with `data_slice`
    /// when only part of the data is needed.
    async fn owner_and_data(
        &self,
        address: &Pubkey,
        data_slice: Option<solana_rpc_client::api::config::UiDataSliceConfig>,
    ) -> Result<Option<(String, Option<Vec<u8>>)>, String> {
        let min_context_slot = self.highest_slot.load(Ordering::Relaxed);
        let answer = first_answer(&self.clients, |client| async move {
            client
                .get_ui_account_with_config(
                    address,
                    RpcAccountInfoConfig {
                        encoding: Some(solana_rpc_client::api::config::UiAccountEncoding::Base64),
                        commitment: Some(CommitmentConfig::finalized()),
                        min_context_slot: (min_context_slot > 0).then_some(min_context_slot),
                        data_slice,
                    },
                )
                .await
                .map_err(|error| format!("{}: {error}", client.url()))
        })
        .await?;
        self.saw_slot(answer.context.slot);
        Ok(answer
            .value
            .map(|account| (account.owner, account.data.decode())))
    }

    /// The account at `address` (finalized), decoded; `None` when it does not exist.
    pub async fn account<T: AccountDeserialize>(
        &self,
        address: &Pubkey,
    ) -> Result<Option<T>, String> {
        self.owner_and_data(address, None)
            .await?
            .map(|(_, data)| {
                let data = data
                    .ok_or_else(|| format!("{address}: the endpoint's encoding does not decode"))?;
                T::try_deserialize(&mut data.as_slice())
                    .map_err(|error| format!("{address} does not decode: {error}"))
            })
            .transpose()
    }

    /// The lamports of the account at `address` as of the confirmed commitment (what a
    /// transaction sent now would see); `None` when no account is there.
    pub async fn lamports_now(&self, address: &Pubkey) -> Result<Option<u64>, String> {
        first_answer(&self.clients, |client| async move {
            client
                .get_account_with_commitment(address, CommitmentConfig::confirmed())
                .await
                .map(|answer| answer.value.map(|account| account.lamports))
                .map_err(|error| format!("{}: {error}", client.url()))
        })
        .await
    }

    /// The data of the account at `address` as of the confirmed commitment (what a
    /// transaction sent now is simulated against), with the slot of that answer; `None` when
    /// no account is there.
    pub async fn data_now(&self, address: &Pubkey) -> Result<(u64, Option<Vec<u8>>), String> {
        first_answer(&self.clients, |client| async move {
            client
                .get_account_with_commitment(address, CommitmentConfig::confirmed())
                .await
                .map(|answer| {
                    (
                        answer.context.slot,
                        answer.value.map(|account| account.data),
                    )
                })
                .map_err(|error| format!("{}: {error}", client.url()))
        })
        .await
    }

    /// The finalized slot.
    pub async fn finalized_slot(&self) -> Result<u64, String> {
        first_answer(&self.clients, |client| async move {
            client
                .get_slot_with_commitment(CommitmentConfig::finalized())
                .await
                .map_err(|error| format!("{}: {error}", client.url()))
        })
        .await
    }

    /// The program owning the account at `address` (finalized), if it exists.
    pub async fn owner_of(&self, address: &Pubkey) -> Result<Option<Pubkey>, String> {
        let no_data = solana_rpc_client::api::config::UiDataSliceConfig {
            offset: 0,
            length: 0,
        };
        self.owner_and_data(address, Some(no_data))
            .await?
            .map(|(owner, _)| {
                owner
                    .parse()
                    .map_err(|_| format!("{address}: an owner that does not parse"))
            })
            .transpose()
    }

    /// Where `signature` stands, asking each endpoint in turn until one knows it. An endpoint
    /// reads the finalized block height before the signature, so "not found" after a height
    /// past `last_valid_block_height` means it cannot land (had it landed, it would have been
    /// at a lower height, already there when the status was read).
    pub async fn landing(
        &self,
        signature: &Signature,
        last_valid_block_height: u64,
    ) -> Result<Landing, String> {
        let mut failures = Vec::new();
        let mut landing = None;
        for client in &self.clients {
            let height = match client
                .get_block_height_with_commitment(CommitmentConfig::finalized())
                .await
            {
                Ok(height) => height,
                Err(error) => {
                    failures.push(format!("{}: {error}", client.url()));
                    continue;
                }
            };
            let status = match client
                .get_signature_statuses_with_history(&[*signature])
                .await
            {
                Ok(statuses) => statuses.value.into_iter().next().flatten(),
                Err(error) => {
                    failures.push(format!("{}: {error}", client.url()));
                    continue;
                }
            };
            let here = match status {
                Some(status) if status.satisfies_commitment(CommitmentConfig::finalized()) => {
                    Landing::Finalized(status.err)
                }
                Some(status) => Landing::Pending(status.err),
                None if height > last_valid_block_height => Landing::Dropped,
                None => Landing::Unknown,
            };
            match here {
                Landing::Finalized(_) | Landing::Pending(_) => return Ok(here),
                // One endpoint past the height without it is enough to call it dropped;
                // another may still know it, so keep asking.
                Landing::Dropped => landing = Some(Landing::Dropped),
                Landing::Unknown => {
                    landing.get_or_insert(Landing::Unknown);
                }
            }
        }
        landing.ok_or_else(|| failures.join("; "))
    }

    /// A recent blockhash and the last block height it is valid at.
    pub async fn latest_blockhash(&self) -> Result<(solana_message::Hash, u64), String> {
        first_answer(&self.clients, |client| async move {
            client
                .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
                .await
                .map_err(|error| format!("{}: {error}", client.url()))
        })
        .await
    }

    /// Simulates `transaction` (its signature is not checked, its blockhash replaced): the
    /// units it used, or the error it would fail with.
    pub async fn simulate(
        &self,
        transaction: &(impl SerializableTransaction + Sync),
    ) -> Result<Result<u64, (TransactionError, Vec<String>)>, String> {
        let simulation = first_answer(&self.clients, |client| async move {
            client
                .simulate_transaction_with_config(
                    transaction,
                    RpcSimulateTransactionConfig {
                        sig_verify: false,
                        replace_recent_blockhash: true,
                        commitment: Some(CommitmentConfig::confirmed()),
                        ..RpcSimulateTransactionConfig::default()
                    },
                )
                .await
                .map_err(|error| format!("{}: {error}", client.url()))
        })
        .await?
        .value;
        Ok(match simulation.err {
            Some(error) => Err((
                TransactionError::from(error),
                simulation.logs.unwrap_or_default(),
            )),
            None => Ok(simulation.units_consumed.unwrap_or(0)),
        })
    }

    /// Recent priority fees paid for writing `accounts` (empty when no endpoint answers).
    pub async fn recent_fees(&self, accounts: &[Pubkey]) -> Vec<u64> {
        first_answer(&self.clients, |client| async move {
            client
                .get_recent_prioritization_fees(accounts)
                .await
                .map_err(|error| format!("{}: {error}", client.url()))
        })
        .await
        .map(|fees| fees.iter().map(|fee| fee.prioritization_fee).collect())
        .unwrap_or_default()
    }

    /// Sends the same bytes to every endpoint; how many took them, and each refusal.
    pub async fn broadcast(
        &self,
        transaction: &(impl SerializableTransaction + Sync),
    ) -> (usize, Vec<String>) {
        let sends = self.clients.iter().map(|client| async move {
            client
                .send_transaction_with_config(
                    transaction,
                    RpcSendTransactionConfig {
                        // Simulated before signing; every endpoint gets the bytes as they are.
                        skip_preflight: true,
                        ..RpcSendTransactionConfig::default()
                    },
                )
                .await
                .map_err(|error| format!("{}: {error}", client.url()))
        });
        let mut accepted = 0;
        let mut refusals = Vec::new();
        for outcome in futures_util::future::join_all(sends).await {
            match outcome {
                Ok(_) => accepted += 1,
                // The same bytes already reached this node through another endpoint.
                Err(refusal) if refusal.contains("already been processed") => accepted += 1,
                Err(refusal) => refusals.push(refusal),
            }
        }
        (accepted, refusals)
    }
}
