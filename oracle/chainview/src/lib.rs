//! The chain view's first part: the device set followed from the registry's finalized history
//! (SPEC 4.2: a device onboarded or suspended is known within seconds of finalization).
//!
//! At first start the view loads every `DeviceV0` account with `getProgramAccounts` at the
//! finalized commitment and records the context slot of that answer. From then on it follows
//! the registry program's finalized transactions (`getSignaturesForAddress`, oldest first,
//! `getTransaction`) and applies the `emit_cpi!` events they carry: every device event holds
//! the device record after the change, so an onboarding adds the device, a suspension or
//! reinstatement changes its status, a location or transfer updates it, a deactivation
//! removes it. Every read asks for a minimum context slot of the position already reached, so
//! a lagging endpoint can never move the view backwards; endpoints are tried in order. The
//! position and the device set are persisted after each poll that changed them, so a restart
//! resumes from there without a full reload. An event or transaction that does not decode is
//! logged and skipped, never fatal.
//!
//! (The rest of the chain view — snapshots of an epoch as of its end, staking and payments —
//! builds on this follower.)

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anchor_lang::{AnchorDeserialize, Discriminator};
use device_registry::events::{
    DeviceDeactivated, DeviceOnboarded, DeviceStatusChanged, DeviceTransferred, LocationAsserted,
    RewardRecipientSet,
};
use device_registry::{DeviceStatus, DeviceV0};
use groundwork_oracle_core::devices::DeviceInfo;
use groundwork_telemetry::Key;
use serde_json::{json, Value};
use solana_rpc_client::api::request::RpcRequest;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("RPC {url}: {message}")]
    Rpc { url: String, message: String },
    #[error("no RPC endpoint answered: {0}")]
    AllEndpointsFailed(String),
    #[error("the chain view file {path}: {message}")]
    State { path: String, message: String },
}

/// Where the view stands: every finalized registry transaction up to `slot` is applied, and of
/// those in `slot` itself, the ones listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub slot: u64,
    pub applied_in_slot: Vec<String>,
}

/// The device set and where it stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeviceView {
    pub position: Position,
    pub devices: HashMap<Key, DeviceInfo>,
}

/// What one poll did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// A full load from `getProgramAccounts` was needed (first start, nothing persisted).
    pub full_load: bool,
    pub transactions: usize,
    pub events_applied: usize,
    pub skipped: usize,
    /// The slot the view stands at after the poll.
    pub slot: u64,
    /// The endpoint's finalized slot during the poll (`finalized - slot` is the lag).
    pub finalized: u64,
    /// Each device changed by the events applied, with its new state (`None`: deactivated),
    /// in order. (After a full load, the whole set is in the view instead.)
    pub changes: Vec<(Key, Option<DeviceInfo>)>,
}

/// Most signatures asked for per `getSignaturesForAddress` page.
const PAGE: usize = 1_000;

/// The onboarded devices decoded from account data, and how many accounts were skipped as
/// undecodable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceSnapshot {
    pub devices: HashMap<Key, DeviceInfo>,
    pub skipped: usize,
}

/// Decodes `(address, data)` device accounts; undecodable ones are logged and counted, never
/// fatal.
pub fn decode_devices<'a>(
    accounts: impl IntoIterator<Item = (String, &'a [u8])>,
) -> DeviceSnapshot {
    let mut snapshot = DeviceSnapshot::default();
    for (address, data) in accounts {
        match <DeviceV0 as anchor_lang::AccountDeserialize>::try_deserialize(&mut &data[..]) {
            Ok(device) => {
                snapshot
                    .devices
                    .insert(Key(device.device_key.to_bytes()), info_of(&device));
            }
            Err(reason) => {
                tracing::warn!(%address, %reason, "skipping a device account that does not decode");
                snapshot.skipped += 1;
            }
        }
    }
    snapshot
}

fn info_of(device: &DeviceV0) -> DeviceInfo {
    DeviceInfo {
        suspended: device.status == DeviceStatus::Suspended,
        class_id: device.class_id,
        location: device.location,
    }
}

/// Applies one event's data (discriminator + borsh) to `devices`; returns the device it
/// changed and its new state (`None` once deactivated), or `None` for an event of another
/// type. A device event that does not decode is an error.
#[allow(clippy::type_complexity)]
pub fn apply_event(
    devices: &mut HashMap<Key, DeviceInfo>,
    data: &[u8],
) -> Result<Option<(Key, Option<DeviceInfo>)>, String> {
    fn decode<E: AnchorDeserialize>(data: &[u8]) -> Result<E, String> {
        E::deserialize(&mut &data[8..]).map_err(|error| error.to_string())
    }
    let Some(discriminator) = data.get(..8) else {
        return Err("an event shorter than its discriminator".into());
    };
    let device = if discriminator == DeviceOnboarded::DISCRIMINATOR {
        decode::<DeviceOnboarded>(data)?.device
    } else if discriminator == LocationAsserted::DISCRIMINATOR {
        decode::<LocationAsserted>(data)?.device
    } else if discriminator == RewardRecipientSet::DISCRIMINATOR {
        decode::<RewardRecipientSet>(data)?.device
    } else if discriminator == DeviceTransferred::DISCRIMINATOR {
        decode::<DeviceTransferred>(data)?.device
    } else if discriminator == DeviceStatusChanged::DISCRIMINATOR {
        decode::<DeviceStatusChanged>(data)?.device
    } else if discriminator == DeviceDeactivated::DISCRIMINATOR {
        let key = Key(decode::<DeviceDeactivated>(data)?
            .device
            .device_key
            .to_bytes());
        devices.remove(&key);
        return Ok(Some((key, None)));
    } else {
        return Ok(None);
    };
    let key = Key(device.device_key.to_bytes());
    let info = info_of(&device);
    devices.insert(key, info);
    Ok(Some((key, Some(info))))
}

/// The registry program's `emit_cpi!` event payloads in a `getTransaction` answer (JSON
/// encoding), in order.
pub fn registry_events(transaction: &Value) -> Result<Vec<Vec<u8>>, String> {
    let mut keys: Vec<&str> = transaction["transaction"]["message"]["accountKeys"]
        .as_array()
        .ok_or("no account keys")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for table in ["writable", "readonly"] {
        if let Some(loaded) = transaction["meta"]["loadedAddresses"][table].as_array() {
            keys.extend(loaded.iter().filter_map(Value::as_str));
        }
    }
    let registry = device_registry::ID.to_string();
    let tag = anchor_lang::event::EVENT_IX_TAG_LE;
    let mut events = Vec::new();
    for group in transaction["meta"]["innerInstructions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for instruction in group["instructions"].as_array().into_iter().flatten() {
            let program = instruction["programIdIndex"]
                .as_u64()
                .and_then(|index| keys.get(index as usize))
                .ok_or("an inner instruction without its program")?;
            if *program != registry {
                continue;
            }
            let data = bs58::decode(instruction["data"].as_str().unwrap_or_default())
                .into_vec()
                .map_err(|error| format!("inner instruction data: {error}"))?;
            if let Some(event) = data.strip_prefix(tag) {
                events.push(event.to_vec());
            }
        }
    }
    Ok(events)
}

/// Follows the registry over JSON-RPC (see the module documentation).
pub struct DeviceFollower {
    clients: Vec<RpcClient>,
    path: PathBuf,
    view: Option<DeviceView>,
}

impl DeviceFollower {
    /// A follower over `urls` (tried in order) persisting to `path`; resumes from `path` when
    /// it holds a view.
    pub fn open(urls: &[String], path: impl Into<PathBuf>) -> Result<Self, ViewError> {
        let path = path.into();
        let view = load(&path)?;
        Ok(DeviceFollower {
            clients: urls
                .iter()
                .map(|url| {
                    RpcClient::new_with_commitment(
                        url.clone(),
                        solana_commitment_config::CommitmentConfig::finalized(),
                    )
                })
                .collect(),
            path,
            view,
        })
    }

    /// The current device set, if loaded.
    pub fn view(&self) -> Option<&DeviceView> {
        self.view.as_ref()
    }

    /// Brings the view up to the newest finalized transaction (a full load first if there is
    /// no view yet), persists it if it changed, and reports what it did.
    pub async fn poll(&mut self) -> Result<PollReport, ViewError> {
        let mut report = PollReport::default();
        if self.view.is_none() {
            self.view = Some(self.full_load().await?);
            report.full_load = true;
        }
        // A failure after something was applied still reports (and keeps) what was applied:
        // the caller must see every change exactly once.
        if let Err(error) = self.follow(&mut report).await {
            if !report.full_load && report.transactions == 0 {
                return Err(error);
            }
            tracing::warn!(%error, "chain view poll stopped early; it goes on from there next time");
        }
        let view = self.view.as_mut().expect("loaded");
        report.slot = view.position.slot;
        if report.full_load || report.transactions > 0 {
            save(&self.path, view)?;
        }
        Ok(report)
    }

    /// Applies the finalized transactions after the position to the view, recording them in
    /// `report`; stops at the first one it cannot read (the error is returned after the
    /// position is moved past what was applied).
    async fn follow(&mut self, report: &mut PollReport) -> Result<(), ViewError> {
        let view = self.view.as_mut().expect("loaded");
        let since = view.position.clone();
        // Only what is finalized: some endpoints list confirmed signatures even when asked for
        // finalized ones (surfpool does), so the finalized slot bounds the list.
        let finalized = first_answer(&self.clients, |client| async move {
            client
                .send::<u64>(
                    RpcRequest::GetSlot,
                    json!([{ "commitment": "finalized", "minContextSlot": since.slot }]),
                )
                .await
                .map_err(|error| rpc_error(client, error))
        })
        .await?;
        report.finalized = finalized;
        let since = view.position.clone();
        let signatures = first_answer(&self.clients, |client| {
            newer_signatures(client, since.clone(), finalized)
        })
        .await?;
        let mut caught_up = true;
        let mut failure = None;
        for (signature, slot) in signatures {
            let transaction = first_answer(&self.clients, |client| {
                fetch_transaction(client, signature.clone(), slot)
            })
            .await;
            let transaction = match transaction {
                Ok(transaction) => transaction,
                Err(error) => {
                    caught_up = false;
                    failure = Some(error);
                    break;
                }
            };
            let Some(transaction) = transaction else {
                // Not served as finalized yet: the next poll takes it up from here.
                caught_up = false;
                break;
            };
            report.transactions += 1;
            match registry_events(&transaction) {
                Ok(events) => {
                    for event in events {
                        match apply_event(&mut view.devices, &event) {
                            Ok(Some(change)) => {
                                report.events_applied += 1;
                                report.changes.push(change);
                            }
                            Ok(None) => {}
                            Err(reason) => {
                                tracing::warn!(%signature, %reason, "skipping an event that does not decode");
                                report.skipped += 1;
                            }
                        }
                    }
                }
                Err(reason) => {
                    tracing::warn!(%signature, %reason, "skipping a transaction that does not decode");
                    report.skipped += 1;
                }
            }
            if slot > view.position.slot {
                view.position = Position {
                    slot,
                    applied_in_slot: Vec::new(),
                };
            }
            view.position.applied_in_slot.push(signature);
        }
        // Every registry transaction up to the finalized slot is applied: the view stands there
        // (a restart then lists only what came after it).
        if caught_up && finalized > view.position.slot {
            view.position = Position {
                slot: finalized,
                applied_in_slot: Vec::new(),
            };
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Every device account, and the context slot of that answer.
    async fn full_load(&self) -> Result<DeviceView, ViewError> {
        first_answer(&self.clients, |client| async move {
            let answer: Value = client
                .send(
                    RpcRequest::GetProgramAccounts,
                    json!([
                        device_registry::ID.to_string(),
                        {
                            "encoding": "base64",
                            "commitment": "finalized",
                            "withContext": true,
                            "filters": [{ "memcmp": {
                                "offset": 0,
                                "bytes": bs58::encode(DeviceV0::DISCRIMINATOR).into_string(),
                            }}],
                        }
                    ]),
                )
                .await
                .map_err(|error| rpc_error(client, error))?;
            let slot = answer["context"]["slot"]
                .as_u64()
                .ok_or_else(|| ViewError::Rpc {
                    url: client.url(),
                    message: "getProgramAccounts answered without a context slot".into(),
                })?;
            use base64::Engine;
            let accounts: Vec<(String, Vec<u8>)> = answer["value"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|entry| {
                    let data = entry["account"]["data"][0]
                        .as_str()
                        .and_then(|text| {
                            base64::engine::general_purpose::STANDARD.decode(text).ok()
                        })
                        .unwrap_or_default();
                    (entry["pubkey"].to_string(), data)
                })
                .collect();
            let devices = decode_devices(
                accounts
                    .iter()
                    .map(|(address, data)| (address.clone(), data.as_slice())),
            )
            .devices;
            Ok(DeviceView {
                position: Position {
                    slot,
                    applied_in_slot: Vec::new(),
                },
                devices,
            })
        })
        .await
    }
}

fn rpc_error(client: &RpcClient, error: impl std::fmt::Display) -> ViewError {
    ViewError::Rpc {
        url: client.url(),
        message: error.to_string(),
    }
}

/// The first endpoint's answer to `read` (failover in order).
async fn first_answer<'a, T, F, Fut>(clients: &'a [RpcClient], read: F) -> Result<T, ViewError>
where
    F: Fn(&'a RpcClient) -> Fut,
    Fut: std::future::Future<Output = Result<T, ViewError>>,
{
    groundwork_oracle_chain::first_answer(clients, read)
        .await
        .map_err(ViewError::AllEndpointsFailed)
}

/// The registry's successful transactions after `since` up to slot `finalized`, oldest first,
/// with their slots. Read with a minimum context slot of `since.slot`.
async fn newer_signatures(
    client: &RpcClient,
    since: Position,
    finalized: u64,
) -> Result<Vec<(String, u64)>, ViewError> {
    let mut newest_first: Vec<(String, u64)> = Vec::new();
    let mut before: Option<String> = None;
    'pages: loop {
        let mut config = json!({
            "limit": PAGE,
            "commitment": "finalized",
            "minContextSlot": since.slot,
        });
        if let Some(before) = &before {
            config["before"] = json!(before);
        }
        let page: Vec<Value> = client
            .send(
                RpcRequest::GetSignaturesForAddress,
                json!([device_registry::ID.to_string(), config]),
            )
            .await
            .map_err(|error| rpc_error(client, error))?;
        let full = page.len() == PAGE;
        for entry in &page {
            let signature = entry["signature"].as_str().unwrap_or_default().to_string();
            let slot = entry["slot"].as_u64().unwrap_or(0);
            before = Some(signature.clone());
            if slot < since.slot {
                break 'pages;
            }
            let already = slot == since.slot && since.applied_in_slot.contains(&signature);
            if already || slot > finalized || !entry["err"].is_null() {
                continue;
            }
            newest_first.push((signature, slot));
        }
        if !full {
            break;
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// A finalized transaction, or `None` when the endpoint does not serve it as finalized yet.
async fn fetch_transaction(
    client: &RpcClient,
    signature: String,
    slot: u64,
) -> Result<Option<Value>, ViewError> {
    let transaction: Value = client
        .send(
            RpcRequest::GetTransaction,
            json!([
                signature,
                {
                    "encoding": "json",
                    "commitment": "finalized",
                    "maxSupportedTransactionVersion": 0,
                    "minContextSlot": slot,
                }
            ]),
        )
        .await
        .map_err(|error| rpc_error(client, error))?;
    Ok((!transaction.is_null()).then_some(transaction))
}

const VIEW_MAGIC: &[u8; 8] = b"GWVIEW01";

/// Persists `view` atomically: magic, slot, the signatures applied in that slot, the devices.
fn save(path: &Path, view: &DeviceView) -> Result<(), ViewError> {
    let state_error = |message: String| ViewError::State {
        path: path.display().to_string(),
        message,
    };
    let mut out = Vec::with_capacity(64 + view.devices.len() * 43);
    out.extend_from_slice(VIEW_MAGIC);
    out.extend_from_slice(&view.position.slot.to_le_bytes());
    out.extend_from_slice(&(view.position.applied_in_slot.len() as u32).to_le_bytes());
    for signature in &view.position.applied_in_slot {
        out.push(signature.len() as u8);
        out.extend_from_slice(signature.as_bytes());
    }
    // Sorted, so the same view is the same file.
    let sorted: BTreeMap<&Key, &DeviceInfo> = view.devices.iter().collect();
    out.extend_from_slice(&(sorted.len() as u64).to_le_bytes());
    for (key, info) in sorted {
        out.extend_from_slice(&key.0);
        out.push(u8::from(info.suspended));
        out.extend_from_slice(&info.class_id.to_le_bytes());
        out.extend_from_slice(&info.location.to_le_bytes());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|error| state_error(error.to_string()))?;
    }
    let temporary = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&out)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|error| state_error(error.to_string()))
}

/// The persisted view, if there is one.
fn load(path: &Path) -> Result<Option<DeviceView>, ViewError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ViewError::State {
                path: path.display().to_string(),
                message: error.to_string(),
            })
        }
    };
    let corrupt = || ViewError::State {
        path: path.display().to_string(),
        message: "not a chain view file (delete it to load the chain again)".into(),
    };
    let mut rest = bytes
        .strip_prefix(VIEW_MAGIC.as_slice())
        .ok_or_else(corrupt)?;
    let mut take = |count: usize| -> Result<&[u8], ViewError> {
        if rest.len() < count {
            return Err(corrupt());
        }
        let (head, tail) = rest.split_at(count);
        rest = tail;
        Ok(head)
    };
    let slot = u64::from_le_bytes(take(8)?.try_into().expect("8"));
    let signatures = u32::from_le_bytes(take(4)?.try_into().expect("4"));
    let mut applied_in_slot = Vec::new();
    for _ in 0..signatures {
        let length = usize::from(take(1)?[0]);
        applied_in_slot.push(String::from_utf8(take(length)?.to_vec()).map_err(|_| corrupt())?);
    }
    let count = u64::from_le_bytes(take(8)?.try_into().expect("8"));
    let mut devices = HashMap::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        let key = Key(take(32)?.try_into().expect("32"));
        let suspended = take(1)?[0] == 1;
        let class_id = u16::from_le_bytes(take(2)?.try_into().expect("2"));
        let location = u64::from_le_bytes(take(8)?.try_into().expect("8"));
        devices.insert(
            key,
            DeviceInfo {
                suspended,
                class_id,
                location,
            },
        );
    }
    Ok(Some(DeviceView {
        position: Position {
            slot,
            applied_in_slot,
        },
        devices,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_round_trips_through_its_file() {
        let dir = std::env::temp_dir().join(format!("groundwork-view-{}", std::process::id()));
        let path = dir.join("devices.view");
        let mut devices = HashMap::new();
        devices.insert(
            Key([4; 32]),
            DeviceInfo {
                suspended: true,
                class_id: 3,
                location: 0x8c283082a30e7ff,
            },
        );
        let view = DeviceView {
            position: Position {
                slot: 99,
                applied_in_slot: vec!["5sig".into(), "6sig".into()],
            },
            devices,
        };
        save(&path, &view).unwrap();
        assert_eq!(load(&path).unwrap(), Some(view));
        std::fs::write(&path, b"garbage").unwrap();
        assert!(load(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
