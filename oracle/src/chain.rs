//! Reading the chain over JSON-RPC: the onboarded devices (device_registry's `DeviceV0`
//! accounts, found with `getProgramAccounts` filtered by discriminator and size), with
//! failover across the configured endpoints.

use std::collections::HashMap;
use std::time::Duration;

use anchor_lang::{AccountDeserialize, Discriminator, Space};
use base64::Engine;
use device_registry::{DeviceStatus, DeviceV0};
use groundwork_telemetry::Key;
use serde_json::{json, Value};

use crate::devices::DeviceInfo;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("RPC {url}: {message}")]
    Rpc { url: String, message: String },
    #[error("no RPC endpoint answered: {0}")]
    AllEndpointsFailed(String),
    #[error("account {address} is not a device record: {message}")]
    Decode { address: String, message: String },
}

/// Decodes one `DeviceV0` account's data into what ingest needs, keyed by the device key.
pub fn decode_device(address: &str, data: &[u8]) -> Result<(Key, DeviceInfo), ChainError> {
    let device = DeviceV0::try_deserialize(&mut &data[..]).map_err(|error| ChainError::Decode {
        address: address.to_string(),
        message: error.to_string(),
    })?;
    Ok((
        Key(device.device_key.to_bytes()),
        DeviceInfo {
            suspended: device.status == DeviceStatus::Suspended,
            class_id: device.class_id,
            location: device.location,
        },
    ))
}

/// A JSON-RPC client over several endpoints, tried in order.
pub struct ChainReader {
    client: reqwest::Client,
    urls: Vec<String>,
}

impl ChainReader {
    pub fn new(urls: Vec<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        ChainReader { client, urls }
    }

    async fn call(&self, url: &str, method: &str, params: Value) -> Result<Value, ChainError> {
        let rpc_error = |message: String| ChainError::Rpc {
            url: url.to_string(),
            message,
        };
        let response: Value = self
            .client
            .post(url)
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
            .send()
            .await
            .map_err(|error| rpc_error(error.to_string()))?
            .json()
            .await
            .map_err(|error| rpc_error(error.to_string()))?;
        if let Some(error) = response.get("error") {
            return Err(rpc_error(error.to_string()));
        }
        response
            .get("result")
            .cloned()
            .ok_or_else(|| rpc_error("no result".into()))
    }

    /// Every onboarded device of the registry program, from the first endpoint that answers.
    pub async fn load_devices(&self) -> Result<HashMap<Key, DeviceInfo>, ChainError> {
        let params = json!([
            device_registry::ID.to_string(),
            {
                "encoding": "base64",
                "commitment": "confirmed",
                "filters": [
                    { "dataSize": 8 + DeviceV0::INIT_SPACE },
                    { "memcmp": { "offset": 0, "bytes": bs58::encode(DeviceV0::DISCRIMINATOR).into_string() } }
                ]
            }
        ]);
        let mut failures = Vec::new();
        for url in &self.urls {
            match self.call(url, "getProgramAccounts", params.clone()).await {
                Ok(result) => return parse_program_accounts(&result),
                Err(error) => {
                    tracing::warn!(%error, "device load failed; trying the next endpoint");
                    failures.push(error.to_string());
                }
            }
        }
        Err(ChainError::AllEndpointsFailed(failures.join("; ")))
    }
}

/// Parses a `getProgramAccounts` result (base64 encoding).
pub fn parse_program_accounts(result: &Value) -> Result<HashMap<Key, DeviceInfo>, ChainError> {
    let entries = result.as_array().ok_or_else(|| ChainError::Decode {
        address: "getProgramAccounts".into(),
        message: "result is not an array".into(),
    })?;
    entries
        .iter()
        .map(|entry| {
            let address = entry["pubkey"].as_str().unwrap_or_default();
            let encoded = entry["account"]["data"][0].as_str().unwrap_or_default();
            let data = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|error| ChainError::Decode {
                    address: address.to_string(),
                    message: error.to_string(),
                })?;
            decode_device(address, &data)
        })
        .collect()
}
