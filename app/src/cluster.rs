//! Reaching a cluster the way the Solana CLI does: `-u` monikers, the keypair named by the
//! Solana CLI config, a commitment level, and a [`Ledger`] over JSON-RPC.

use std::path::{Path, PathBuf};

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anyhow::{Context, Result};
use groundwork_client::ledger::{DataFilter, Ledger, LedgerError};
use solana_account::Account;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::{read_keypair_file, Keypair};
use solana_message::Message;
use solana_rpc_client::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// The JSON-RPC URL for a `-u` value: a moniker (`localhost`, `devnet`, `testnet`,
/// `mainnet-beta`, or their first letters) or a URL.
pub fn rpc_url(value: &str) -> String {
    match value {
        "localhost" | "l" => "http://127.0.0.1:8899".into(),
        "devnet" | "d" => "https://api.devnet.solana.com".into(),
        "testnet" | "t" => "https://api.testnet.solana.com".into(),
        "mainnet-beta" | "m" => "https://api.mainnet-beta.solana.com".into(),
        url => url.into(),
    }
}

/// The commitment for a `--commitment` value.
pub fn commitment(value: &str) -> Result<CommitmentConfig> {
    match value {
        "processed" => Ok(CommitmentConfig::processed()),
        "confirmed" => Ok(CommitmentConfig::confirmed()),
        "finalized" => Ok(CommitmentConfig::finalized()),
        other => {
            anyhow::bail!("unknown commitment {other:?}: use processed, confirmed or finalized")
        }
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The JSON-RPC URL the Solana CLI uses (`json_rpc_url` of its config), if it names one.
pub fn default_url() -> Option<String> {
    let config = home().join(".config/solana/cli/config.yml");
    let text = std::fs::read_to_string(config).ok()?;
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix("json_rpc_url:")?.trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The keypair the Solana CLI uses: `keypair_path` of `~/.config/solana/cli/config.yml`, or
/// `~/.config/solana/id.json` when that file or key is absent.
pub fn default_keypair_path() -> PathBuf {
    let config = home().join(".config/solana/cli/config.yml");
    std::fs::read_to_string(config)
        .ok()
        .and_then(|text| keypair_path_in(&text))
        .unwrap_or_else(|| home().join(".config/solana/id.json"))
}

/// `keypair_path` of a Solana CLI config file (flat YAML: `key: value` lines).
fn keypair_path_in(config_yaml: &str) -> Option<PathBuf> {
    config_yaml.lines().find_map(|line| {
        let value = line.trim().strip_prefix("keypair_path:")?.trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| PathBuf::from(value))
    })
}

/// Reads a keypair file (Solana CLI JSON: 64 numbers), naming the file when it cannot.
pub fn load_keypair(path: &Path) -> Result<Keypair> {
    read_keypair_file(path).map_err(|error| {
        anyhow::anyhow!(
            "cannot read keypair {}: {error} (create one with `groundwork keygen --outfile {}`, or pass --keypair)",
            path.display(),
            path.display()
        )
    })
}

/// A cluster over JSON-RPC.
pub struct RpcLedger {
    pub client: RpcClient,
}

impl RpcLedger {
    pub fn new(url: &str, commitment: CommitmentConfig) -> Self {
        RpcLedger {
            client: RpcClient::new_with_commitment(url.to_string(), commitment),
        }
    }

    /// A token account's balance (0 when it does not exist).
    pub fn token_balance(&self, account: &Pubkey) -> u64 {
        self.client
            .get_token_account_balance(account)
            .ok()
            .and_then(|balance| balance.amount.parse().ok())
            .unwrap_or(0)
    }

    /// Checks the cluster answers, with an error that names the URL.
    pub fn check_reachable(&self) -> Result<()> {
        self.client
            .get_version()
            .map(|_| ())
            .with_context(|| format!("cannot reach the cluster at {}", self.client.url()))
    }
}

/// The program logs of a failed send or simulation, when the RPC returned them.
fn logs_of(error: &solana_rpc_client::api::client_error::Error) -> Vec<String> {
    use solana_rpc_client::api::request::{RpcError, RpcResponseErrorData};
    match error.kind() {
        solana_rpc_client::api::client_error::ErrorKind::RpcError(RpcError::RpcResponseError {
            data: RpcResponseErrorData::SendTransactionPreflightFailure(result),
            ..
        }) => result.logs.clone().unwrap_or_default(),
        _ => Vec::new(),
    }
}

impl Ledger for RpcLedger {
    fn account(&self, address: &Pubkey) -> Result<Option<Account>, LedgerError> {
        self.client
            .get_account_with_commitment(address, self.client.commitment())
            .map(|response| response.value)
            .map_err(|error| LedgerError::Cluster(error.to_string()))
    }

    fn accounts_at_once(&self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>, LedgerError> {
        self.client
            .get_multiple_accounts_with_commitment(addresses, self.client.commitment())
            .map(|response| response.value)
            .map_err(|error| LedgerError::Cluster(error.to_string()))
    }

    fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<String, LedgerError> {
        let payer = signers
            .first()
            .ok_or_else(|| LedgerError::Cluster("a transaction needs a fee payer".into()))?;
        let blockhash = self
            .client
            .get_latest_blockhash()
            .map_err(|error| LedgerError::Cluster(error.to_string()))?;
        let message = Message::new(instructions, Some(&payer.pubkey()));
        let transaction = Transaction::new(signers, message, blockhash);
        self.client
            .send_and_confirm_transaction(&transaction)
            .map(|signature| signature.to_string())
            .map_err(|error| LedgerError::Refused {
                logs: logs_of(&error),
                message: error.to_string(),
            })
    }

    fn program_accounts(
        &self,
        program: &Pubkey,
        filters: &[DataFilter],
    ) -> Result<Vec<(Pubkey, Account)>, LedgerError> {
        use solana_rpc_client::api::config::{
            RpcAccountInfoConfig, RpcProgramAccountsConfig, UiAccountEncoding,
        };
        use solana_rpc_client::api::filter::{Memcmp, RpcFilterType};
        let config = RpcProgramAccountsConfig {
            filters: Some(
                filters
                    .iter()
                    .map(|filter| {
                        RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                            filter.offset,
                            filter.bytes.clone(),
                        ))
                    })
                    .collect(),
            ),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.client.commitment()),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        let accounts = self
            .client
            .get_program_ui_accounts_with_config(program, config)
            .map_err(|error| {
                LedgerError::Cluster(format!("listing the accounts of {program}: {error}"))
            })?;
        // An account whose base64 does not decode is a broken endpoint's, skipped.
        Ok(accounts
            .into_iter()
            .filter_map(|(address, account)| {
                Some((address, Account::from(account.to_account_shared_data()?)))
            })
            .collect())
    }

    fn unix_timestamp(&self) -> Result<i64, LedgerError> {
        let account = self
            .account(&solana_clock::sysvar::ID)?
            .ok_or_else(|| LedgerError::Cluster("the clock sysvar is missing".into()))?;
        let clock: solana_clock::Clock = bincode_clock(&account.data)
            .ok_or_else(|| LedgerError::Cluster("the clock sysvar does not decode".into()))?;
        Ok(clock.unix_timestamp)
    }
}

/// Decodes the Clock sysvar (five little-endian 8-byte fields).
fn bincode_clock(data: &[u8]) -> Option<solana_clock::Clock> {
    let field =
        |index: usize| -> Option<[u8; 8]> { data.get(index * 8..index * 8 + 8)?.try_into().ok() };
    Some(solana_clock::Clock {
        slot: u64::from_le_bytes(field(0)?),
        epoch_start_timestamp: i64::from_le_bytes(field(1)?),
        epoch: u64::from_le_bytes(field(2)?),
        leader_schedule_epoch: u64::from_le_bytes(field(3)?),
        unix_timestamp: i64::from_le_bytes(field(4)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers_name_the_clusters_and_urls_pass_through() {
        assert_eq!(rpc_url("localhost"), "http://127.0.0.1:8899");
        assert_eq!(rpc_url("d"), "https://api.devnet.solana.com");
        assert_eq!(
            rpc_url("mainnet-beta"),
            "https://api.mainnet-beta.solana.com"
        );
        assert_eq!(rpc_url("http://10.0.0.2:8899"), "http://10.0.0.2:8899");
    }

    #[test]
    fn the_solana_cli_config_names_the_keypair() {
        let yaml = "---\njson_rpc_url: \"https://api.devnet.solana.com\"\nkeypair_path: /home/op/.config/solana/op.json\ncommitment: confirmed\n";
        assert_eq!(
            keypair_path_in(yaml),
            Some(PathBuf::from("/home/op/.config/solana/op.json"))
        );
        assert_eq!(keypair_path_in("json_rpc_url: x\n"), None);
    }

    #[test]
    fn an_unknown_commitment_is_refused_with_the_choices() {
        let error = commitment("final").unwrap_err().to_string();
        assert!(error.contains("finalized"), "{error}");
    }
}
