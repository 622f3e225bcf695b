//! What the oracle reads from the chain, behind [`Chain`]: the onboarded devices, the epoch
//! timing, and the newest active reward root. [`RpcChain`] reads over JSON-RPC
//! (`solana-rpc-client`) with failover across endpoints; [`StaticChain`] is an in-process chain
//! tests set directly.
//!
//! A device account that does not decode is logged and skipped, never fatal. (The chain view
//! of the next issue replaces the device reload with finalized history; this trait is where it
//! plugs in.)

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, Discriminator};
use device_registry::{DeviceStatus, DeviceV0};
use groundwork_oracle_core::devices::DeviceInfo;
use groundwork_telemetry::Key;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

/// A boxed future, so [`Chain`] can be used as `dyn Chain`.
pub type ChainFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ChainError>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("RPC {url}: {message}")]
    Rpc { url: String, message: String },
    #[error("no RPC endpoint answered: {0}")]
    AllEndpointsFailed(String),
    #[error("{what} is missing on chain: is the network bootstrapped?")]
    Missing { what: &'static str },
    #[error("{what} does not decode: {message}")]
    Decode { what: String, message: String },
}

/// The network's epoch timing as the staking program holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochTiming {
    pub genesis_unix_s: i64,
    pub epoch_len_s: i64,
}

/// The onboarded devices, and how many device accounts were skipped as undecodable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceSnapshot {
    pub devices: HashMap<Key, DeviceInfo>,
    pub skipped: usize,
}

/// What the oracle reads from the chain.
pub trait Chain: Send + Sync + 'static {
    /// Every onboarded device.
    fn devices(&self) -> ChainFuture<'_, DeviceSnapshot>;
    /// The epoch timing (staking's genesis and epoch length).
    fn epoch_timing(&self) -> ChainFuture<'_, EpochTiming>;
    /// The epoch of the newest active reward root, if any.
    fn active_root_epoch(&self) -> ChainFuture<'_, Option<u64>>;
}

/// Decodes one `DeviceV0` account's data into what ingest needs, keyed by the device key.
pub fn decode_device(data: &[u8]) -> Result<(Key, DeviceInfo), String> {
    let device = DeviceV0::try_deserialize(&mut &data[..]).map_err(|error| error.to_string())?;
    Ok((
        Key(device.device_key.to_bytes()),
        DeviceInfo {
            suspended: device.status == DeviceStatus::Suspended,
            class_id: device.class_id,
            location: device.location,
        },
    ))
}

/// Decodes `(address, data)` device accounts; undecodable ones are logged and counted.
pub fn decode_devices<'a>(
    accounts: impl IntoIterator<Item = (String, &'a [u8])>,
) -> DeviceSnapshot {
    let mut snapshot = DeviceSnapshot::default();
    for (address, data) in accounts {
        match decode_device(data) {
            Ok((key, info)) => {
                snapshot.devices.insert(key, info);
            }
            Err(reason) => {
                tracing::warn!(%address, %reason, "skipping a device account that does not decode");
                snapshot.skipped += 1;
            }
        }
    }
    snapshot
}

/// JSON-RPC endpoints, tried in order until one answers.
pub struct RpcChain {
    clients: Vec<RpcClient>,
}

impl RpcChain {
    pub fn new(urls: &[String]) -> Self {
        RpcChain {
            clients: urls
                .iter()
                .map(|url| {
                    RpcClient::new_with_commitment(url.clone(), CommitmentConfig::confirmed())
                })
                .collect(),
        }
    }

    /// Runs `read` against each endpoint in turn; the first answer wins.
    async fn first_answer<'a, T, F, Fut>(&'a self, read: F) -> Result<T, ChainError>
    where
        F: Fn(&'a RpcClient) -> Fut,
        Fut: Future<Output = Result<T, ChainError>>,
    {
        let mut failures = Vec::new();
        for client in &self.clients {
            match read(client).await {
                Ok(answer) => return Ok(answer),
                Err(error) => {
                    tracing::warn!(%error, "chain read failed; trying the next endpoint");
                    failures.push(error.to_string());
                }
            }
        }
        Err(ChainError::AllEndpointsFailed(failures.join("; ")))
    }

    async fn account<T: AccountDeserialize>(
        client: &RpcClient,
        address: &Pubkey,
        what: &'static str,
    ) -> Result<T, ChainError> {
        let account = client
            .get_account_with_commitment(address, client.commitment())
            .await
            .map_err(|error| ChainError::Rpc {
                url: client.url(),
                message: error.to_string(),
            })?
            .value
            .ok_or(ChainError::Missing { what })?;
        T::try_deserialize(&mut account.data.as_slice()).map_err(|error| ChainError::Decode {
            what: what.to_string(),
            message: error.to_string(),
        })
    }
}

impl Chain for RpcChain {
    fn devices(&self) -> ChainFuture<'_, DeviceSnapshot> {
        Box::pin(self.first_answer(|client| async move {
            use solana_rpc_client::api::config::{
                RpcAccountInfoConfig, RpcProgramAccountsConfig, UiAccountEncoding,
            };
            use solana_rpc_client::api::filter::{Memcmp, RpcFilterType};
            let config = RpcProgramAccountsConfig {
                filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                    0,
                    DeviceV0::DISCRIMINATOR.to_vec(),
                ))]),
                account_config: RpcAccountInfoConfig {
                    encoding: Some(UiAccountEncoding::Base64),
                    commitment: Some(client.commitment()),
                    ..RpcAccountInfoConfig::default()
                },
                ..RpcProgramAccountsConfig::default()
            };
            let accounts = client
                .get_program_ui_accounts_with_config(&device_registry::ID, config)
                .await
                .map_err(|error| ChainError::Rpc {
                    url: client.url(),
                    message: error.to_string(),
                })?;
            let decoded: Vec<(String, Vec<u8>)> = accounts
                .into_iter()
                .map(|(address, account)| {
                    (
                        address.to_string(),
                        account.data.decode().unwrap_or_default(),
                    )
                })
                .collect();
            Ok(decode_devices(
                decoded
                    .iter()
                    .map(|(address, data)| (address.clone(), data.as_slice())),
            ))
        }))
    }

    fn epoch_timing(&self) -> ChainFuture<'_, EpochTiming> {
        Box::pin(self.first_answer(|client| async move {
            let (address, _) = Pubkey::find_program_address(
                &[staking::state::seeds::STAKING_CONFIG],
                &staking::ID,
            );
            let config: staking::StakingConfigV0 =
                Self::account(client, &address, "the staking config").await?;
            Ok(EpochTiming {
                genesis_unix_s: config.genesis_ts,
                epoch_len_s: config.epoch_len_s,
            })
        }))
    }

    fn active_root_epoch(&self) -> ChainFuture<'_, Option<u64>> {
        Box::pin(self.first_answer(|client| async move {
            let (address, _) = Pubkey::find_program_address(
                &[reward_epochs::state::seeds::REWARD_CONFIG],
                &reward_epochs::ID,
            );
            let config: reward_epochs::RewardConfigV0 =
                Self::account(client, &address, "the reward config").await?;
            Ok(config.active_root_epoch)
        }))
    }
}

/// An in-process chain the tests set directly.
pub struct StaticChain {
    devices: RwLock<HashMap<Key, DeviceInfo>>,
    timing: EpochTiming,
    active_root_epoch: RwLock<Option<u64>>,
}

impl StaticChain {
    pub fn new(devices: HashMap<Key, DeviceInfo>, timing: EpochTiming) -> Self {
        StaticChain {
            devices: RwLock::new(devices),
            timing,
            active_root_epoch: RwLock::new(None),
        }
    }

    pub fn set_device(&self, device: Key, info: Option<DeviceInfo>) {
        let mut devices = self.devices.write().expect("devices lock");
        match info {
            Some(info) => devices.insert(device, info),
            None => devices.remove(&device),
        };
    }

    pub fn set_active_root_epoch(&self, epoch: Option<u64>) {
        *self.active_root_epoch.write().expect("root lock") = epoch;
    }
}

impl Chain for StaticChain {
    fn devices(&self) -> ChainFuture<'_, DeviceSnapshot> {
        let devices = self.devices.read().expect("devices lock").clone();
        Box::pin(async move {
            Ok(DeviceSnapshot {
                devices,
                skipped: 0,
            })
        })
    }

    fn epoch_timing(&self) -> ChainFuture<'_, EpochTiming> {
        let timing = self.timing;
        Box::pin(async move { Ok(timing) })
    }

    fn active_root_epoch(&self) -> ChainFuture<'_, Option<u64>> {
        let epoch = *self.active_root_epoch.read().expect("root lock");
        Box::pin(async move { Ok(epoch) })
    }
}
