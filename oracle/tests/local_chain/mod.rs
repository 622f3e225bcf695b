//! A network served by a real local JSON-RPC endpoint (surfpool, offline), and what tests do
//! with it: copy a runtime-built network in, send transactions, read its clock, wait for
//! finality — and put a fault-injecting proxy in front of it.

#![allow(dead_code)]

use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::config::{OracleConfig, SubmitConfig};
use groundwork_telemetry::Key;
use groundwork_tests::CycleNetwork;
use serde_json::{json, Value};
use solana_account::Account;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::RpcClient;

/// The accounts a network needs to take transactions (see `Runtime::network_state`).
pub fn accounts_of(network: &CycleNetwork) -> Vec<(Pubkey, Account)> {
    network.rt.network_state()
}

pub fn client(rpc: &LocalRpc) -> RpcClient {
    RpcClient::new_with_commitment(rpc.url.clone(), CommitmentConfig::confirmed())
}

/// Sends one transaction (fee paid by the first signer) and waits until it is confirmed.
pub fn send(rpc: &LocalRpc, instructions: &[Instruction], signers: &[&Keypair]) {
    let client = client(rpc);
    let transaction = solana_transaction::Transaction::new_signed_with_payer(
        instructions,
        Some(&signers[0].pubkey()),
        signers,
        client.get_latest_blockhash().unwrap(),
    );
    client
        .send_and_confirm_transaction(&transaction)
        .expect("the transaction lands");
}

/// The wall clock, unix seconds (a local endpoint's clock follows it).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Closes `epoch` on the endpoint (anyone may), `payer` paying, the treasury share to
/// `network`'s DAO treasury.
pub fn close_epoch(rpc: &LocalRpc, network: &CycleNetwork, payer: &Keypair, epoch: u64) {
    send(
        rpc,
        &[groundwork_client::reward_epochs::close_epoch(
            &payer.pubkey(),
            network.network_token,
            &network.dao_treasury,
            epoch,
        )],
        &[payer],
    );
}

/// Epoch `epoch`'s record on the endpoint (it must exist).
pub fn epoch_record(rpc: &LocalRpc, epoch: u64) -> reward_epochs::state::EpochV0 {
    use anchor_lang::AccountDeserialize;
    let account = client(rpc)
        .get_account(&groundwork_client::reward_epochs::epoch_address(epoch))
        .unwrap();
    reward_epochs::state::EpochV0::try_deserialize(&mut account.data.as_slice()).unwrap()
}

/// The endpoint's clock (the time its next transactions carry): the Clock sysvar's
/// `unix_timestamp` (after slot, epoch start, epoch and leader schedule epoch).
pub fn chain_time(rpc: &LocalRpc) -> i64 {
    let clock = client(rpc)
        .get_account(
            &"SysvarC1ock11111111111111111111111111111111"
                .parse()
                .unwrap(),
        )
        .unwrap();
    i64::from_le_bytes(clock.data[32..40].try_into().unwrap())
}

/// Waits until the endpoint's clock reaches `unix_s`.
pub async fn wait_for_time(rpc: &LocalRpc, unix_s: i64) {
    while chain_time(rpc) < unix_s {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until everything confirmed so far is finalized; returns that finalized slot.
pub async fn wait_for_finality(rpc: &LocalRpc) -> u64 {
    let client = client(rpc);
    let confirmed = client.get_slot().unwrap();
    let started = Instant::now();
    loop {
        let finalized = client
            .get_slot_with_commitment(CommitmentConfig::finalized())
            .unwrap();
        if finalized >= confirmed {
            return finalized;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "not finalized");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// How the proxy misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// Forwards every request as it is.
    None,
    /// Answers every request with 503.
    Dead,
    /// Stands at the slot it had when the fault began: its finalized slot is that one, and a
    /// read asking for a newer minimum context slot is refused (-32016), as a real node that
    /// fell behind answers.
    Lagging,
    /// Replaces every account's data in `getProgramAccounts` answers with bytes that decode as
    /// nothing, and every inner instruction's data in `getTransaction` answers likewise.
    Malformed,
    /// Takes every `sendTransaction` and answers with its signature, as a node does, but
    /// never forwards it: the transaction is lost (everything else is forwarded).
    DropSends,
    /// Answers every request with a JSON-RPC error (a node that is unhealthy).
    Errors,
}

/// A JSON-RPC proxy in front of an endpoint, injecting a [`Fault`].
pub struct FaultyProxy {
    pub url: String,
    fault: Arc<AtomicU8>,
    frozen_slot: Arc<AtomicU64>,
    delay_ms: Arc<AtomicU64>,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    fault: Arc<AtomicU8>,
    frozen_slot: Arc<AtomicU64>,
    delay_ms: Arc<AtomicU64>,
    http: reqwest::Client,
}

impl FaultyProxy {
    pub async fn start(upstream: &str) -> Self {
        let fault = Arc::new(AtomicU8::new(Fault::None as u8));
        let frozen_slot = Arc::new(AtomicU64::new(0));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let state = ProxyState {
            upstream: upstream.to_string(),
            fault: fault.clone(),
            frozen_slot: frozen_slot.clone(),
            delay_ms: delay_ms.clone(),
            http: reqwest::Client::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/", axum::routing::post(proxy))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        FaultyProxy {
            url,
            fault,
            frozen_slot,
            delay_ms,
        }
    }

    /// Delays every answer by `delay` (on top of any fault).
    pub fn delay(&self, delay: Duration) {
        self.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    /// Starts misbehaving (see [`FaultyProxy::lag_at`] for lagging).
    pub fn set(&self, fault: Fault) {
        assert_ne!(fault, Fault::Lagging, "lag_at says where it stands");
        self.fault.store(fault as u8, Ordering::SeqCst);
    }

    /// Lags: stands at `slot` from now on.
    pub fn lag_at(&self, slot: u64) {
        self.frozen_slot.store(slot, Ordering::SeqCst);
        self.fault.store(Fault::Lagging as u8, Ordering::SeqCst);
    }
}

fn min_context_slot(request: &Value) -> Option<u64> {
    request["params"]
        .as_array()?
        .iter()
        .find_map(|param| param["minContextSlot"].as_u64())
}

async fn proxy(State(state): State<ProxyState>, body: Bytes) -> Response {
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let fault = state.fault.load(Ordering::SeqCst);
    if fault == Fault::Dead as u8 {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for the test").into_response();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let method = request["method"].as_str().unwrap_or_default().to_string();
    if fault == Fault::Errors as u8 {
        return axum::Json(json!({
            "jsonrpc": "2.0",
            "id": request["id"],
            "error": { "code": -32005, "message": "Node is unhealthy (a test fault)" },
        }))
        .into_response();
    }
    if fault == Fault::DropSends as u8 && method == "sendTransaction" {
        use base64::Engine;
        let encoded = request["params"][0].as_str().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_default();
        // A transaction's first signature follows its one-byte signature count.
        let signature = bs58::encode(bytes.get(1..65).unwrap_or_default()).into_string();
        return axum::Json(json!({ "jsonrpc": "2.0", "id": request["id"], "result": signature }))
            .into_response();
    }
    if fault == Fault::Lagging as u8 {
        let frozen = state.frozen_slot.load(Ordering::SeqCst);
        if min_context_slot(&request).is_some_and(|wanted| wanted > frozen) {
            return axum::Json(json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {
                    "code": -32016,
                    "message": "Minimum context slot has not been reached",
                    "data": { "contextSlot": frozen },
                },
            }))
            .into_response();
        }
        if method == "getSlot" {
            return axum::Json(json!({ "jsonrpc": "2.0", "id": request["id"], "result": frozen }))
                .into_response();
        }
    }
    let answer = match state.http.post(&state.upstream).json(&request).send().await {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let Ok(mut answer) = answer.json::<Value>().await else {
        return (StatusCode::BAD_GATEWAY, "upstream answered non-JSON").into_response();
    };
    if fault == Fault::Malformed as u8 {
        use base64::Engine;
        let garbage = base64::engine::general_purpose::STANDARD.encode([0xEE_u8; 40]);
        if method == "getProgramAccounts" {
            for entry in answer["result"]["value"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                entry["account"]["data"] = json!([garbage, "base64"]);
            }
        }
        if method == "getTransaction" {
            let tag = anchor_lang::event::EVENT_IX_TAG_LE;
            let bad_event = bs58::encode([tag, &[0xEE_u8; 12][..]].concat()).into_string();
            for group in answer["result"]["meta"]["innerInstructions"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                for instruction in group["instructions"].as_array_mut().into_iter().flatten() {
                    instruction["data"] = json!(bad_event);
                }
            }
        }
    }
    axum::Json(answer).into_response()
}

/// The oracle's local configuration (`OracleConfig::local`) with device limits no test's
/// burst reaches and an hour's message window.
fn local_config(rpc_url: &str, port: u16, data_dir: &std::path::Path) -> OracleConfig {
    let registry = groundwork_client::device_registry::registry_config_address();
    let mut config = OracleConfig::local(Key(registry.to_bytes()), rpc_url, port, data_dir);
    config.limits.device_rate_per_s = 100_000.0;
    config.limits.device_burst = 100_000;
    // These tests post messages long after signing them (across restarts and retries); the
    // default window, one slot of verified work, has tests of its own.
    config.limits.max_message_age = Some(Duration::from_secs(3_600));
    config
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `groundwork-oracle` binary running on a config written beside its data directory.
pub struct OracleProcess {
    pub url: String,
    config: std::path::PathBuf,
    /// `GROUNDWORK__STORE__URL` (empty: the embedded store).
    store_url: String,
    pub child: Option<Child>,
    /// `GROUNDWORK_FAILPOINT` for the next spawn.
    failpoint: Option<String>,
}

impl OracleProcess {
    /// Starts the binary; `store_url` empty means the embedded store in `data_dir`.
    pub fn start(rpc_url: &str, data_dir: &std::path::Path, store_url: &str) -> Self {
        Self::start_with(rpc_url, data_dir, store_url, "30s")
    }

    /// Starts the binary reloading devices every `device_refresh`.
    pub fn start_with(
        rpc_url: &str,
        data_dir: &std::path::Path,
        store_url: &str,
        device_refresh: &str,
    ) -> Self {
        Self::start_sealing_after(rpc_url, data_dir, store_url, device_refresh, "1h")
    }

    /// Like [`OracleProcess::start_with`], sealing each epoch `seal_grace` after its end.
    pub fn start_sealing_after(
        rpc_url: &str,
        data_dir: &std::path::Path,
        store_url: &str,
        device_refresh: &str,
        seal_grace: &str,
    ) -> Self {
        let port = free_port();
        let mut config = local_config(rpc_url, port, data_dir);
        config.network.device_refresh = humantime::parse_duration(device_refresh).unwrap();
        config.network.seal_grace = humantime::parse_duration(seal_grace).unwrap();
        Self::start_configured(&config, store_url, None)
    }

    /// An oracle that votes with the keypair file `keypair` (sealing 2 s after each epoch,
    /// following the chain every second); `failpoint` (`submit:<point>`) makes it abort
    /// there, as a kill -9 would.
    pub fn start_voting(
        rpc_url: &str,
        data_dir: &std::path::Path,
        keypair: &std::path::Path,
        failpoint: Option<&str>,
    ) -> Self {
        Self::start_voting_on(rpc_url, free_port(), data_dir, keypair, failpoint, |_| {})
    }

    /// [`OracleProcess::start_voting`] on `port`, its configuration changed by `configure`.
    pub fn start_voting_on(
        rpc_url: &str,
        port: u16,
        data_dir: &std::path::Path,
        keypair: &std::path::Path,
        failpoint: Option<&str>,
        configure: impl FnOnce(&mut OracleConfig),
    ) -> Self {
        let mut config = local_config(rpc_url, port, data_dir);
        config.network.seal_grace = Duration::from_secs(2);
        config.submit = Some(SubmitConfig::with_keypair(keypair.to_path_buf()));
        configure(&mut config);
        Self::start_configured(&config, "", failpoint)
    }

    /// The binary on the local configuration of the tests changed by `configure` (embedded
    /// store in `data_dir`).
    pub fn start_configured_by(
        rpc_url: &str,
        data_dir: &std::path::Path,
        configure: impl FnOnce(&mut OracleConfig),
    ) -> Self {
        let mut config = local_config(rpc_url, free_port(), data_dir);
        configure(&mut config);
        Self::start_configured(&config, "", None)
    }

    /// The binary on `config` (written beside its data directory); `store_url` reaches it
    /// through the environment, never the file.
    fn start_configured(config: &OracleConfig, store_url: &str, failpoint: Option<&str>) -> Self {
        let path = config.store.data_dir.with_extension("toml");
        std::fs::write(&path, config.to_toml().unwrap()).unwrap();
        let mut process = OracleProcess {
            config: path,
            store_url: store_url.to_string(),
            url: format!("http://{}", config.http.listen),
            child: None,
            failpoint: failpoint.map(str::to_string),
        };
        process.spawn();
        process
    }

    /// Restarts the process (after it exited or was killed), with `failpoint` or none.
    pub fn restart(&mut self, failpoint: Option<&str>) {
        self.kill_9();
        self.failpoint = failpoint.map(str::to_string);
        self.spawn();
    }

    /// Waits until the process exits by itself (a failpoint aborted it); panics after
    /// `limit`.
    pub fn wait_for_exit(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let child = self.child.as_mut().expect("running");
            if child.try_wait().expect("wait").is_some() {
                self.child = None;
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the oracle did not stop at its failpoint within {limit:?}:\n{}",
            self.log_tail()
        );
    }

    pub fn spawn(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_groundwork-oracle"));
        if !self.store_url.is_empty() {
            command.env("GROUNDWORK__STORE__URL", &self.store_url);
        }
        if let Some(failpoint) = &self.failpoint {
            command.env("GROUNDWORK_FAILPOINT", failpoint);
        }
        let child = command
            .arg("--config")
            .arg(&self.config)
            .env(
                "RUST_LOG",
                std::env::var("GROUNDWORK_TEST_ORACLE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(self.log_file())
            .stderr(self.log_file())
            .spawn()
            .expect("start groundwork-oracle");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if probe::blocking_get_ok(&format!("{}/healthz", self.url)) {
                return;
            }
            // Stopped at its failpoint before it answered: the caller waits for that.
            let exited = self
                .child
                .as_mut()
                .is_some_and(|child| child.try_wait().ok().flatten().is_some());
            if exited && self.failpoint.is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("groundwork-oracle did not come up:\n{}", self.log_tail());
    }

    /// Where the process's warnings and errors go: beside its config, appended across
    /// restarts.
    fn log_file(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.config.with_extension("log"))
            .expect("the oracle's log file")
    }

    /// The last lines of the process's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.config.with_extension("log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }
}

impl Drop for OracleProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// A blocking health probe over a plain TCP connection (no async runtime needed).
mod probe {
    pub fn blocking_get_ok(url: &str) -> bool {
        use std::io::{Read, Write};
        let address = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let path = format!(
            "/{}",
            url.trim_start_matches("http://")
                .split_once('/')
                .map(|(_, p)| p)
                .unwrap_or("")
        );
        let Ok(mut stream) = std::net::TcpStream::connect(&address) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        if stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .is_err()
        {
            return false;
        }
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        reply.starts_with("HTTP/1.1 200")
    }
}
