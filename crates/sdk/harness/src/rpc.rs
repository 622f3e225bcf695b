//! A real JSON-RPC endpoint on 127.0.0.1 (surfpool), backed by a LiteSVM holding the Groundwork
//! programs (native builtins, as in [`crate::Runtime`]) and any accounts the caller copies in —
//! typically the state a test built in a [`crate::Runtime`]. Always offline: it never reaches
//! out to another cluster.

use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anchor_lang::solana_program::pubkey::Pubkey;
use crossbeam_channel::{unbounded, Sender};
use solana_account::Account;
use surfpool_core::surfnet::svm::{SurfnetSvm, SurfnetSvmConfig};
use surfpool_types::{RpcConfig, SimnetCommand, SimnetConfig, SimnetEvent, SurfpoolConfig};

/// A running local JSON-RPC endpoint; stopped when dropped.
pub struct LocalRpc {
    pub url: String,
    commands: Sender<SimnetCommand>,
    thread: Option<JoinHandle<()>>,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl LocalRpc {
    /// Starts the endpoint on free ports with the Groundwork programs and `accounts`, and
    /// waits until it serves.
    pub fn start(accounts: Vec<(Pubkey, Account)>) -> Result<Self, String> {
        Self::start_on(None, accounts)
    }

    /// Like [`LocalRpc::start`], on `rpc_port` when given (its WebSocket on the next port, as
    /// `solana-test-validator` serves it and `@solana/web3.js` expects).
    pub fn start_on(
        rpc_port: Option<u16>,
        accounts: Vec<(Pubkey, Account)>,
    ) -> Result<Self, String> {
        crate::bridge::install();
        let (mut svm, events, geyser_events) = SurfnetSvm::new(SurfnetSvmConfig::default())
            .map_err(|error| format!("surfnet: {error:?}"))?;
        crate::programs::add_all(&mut svm.inner.svm);
        for (address, account) in accounts {
            svm.set_account(&address, account)
                .map_err(|error| format!("account {address}: {error:?}"))?;
        }
        let (bind_port, ws_port) = match rpc_port {
            Some(port) => (port, port.checked_add(1).ok_or("no port after 65535")?),
            None => (
                free_port().map_err(|error| error.to_string())?,
                free_port().map_err(|error| error.to_string())?,
            ),
        };
        let config = SurfpoolConfig {
            simnets: vec![SimnetConfig {
                offline_mode: true,
                remote_rpc_url: None,
                ..SimnetConfig::default()
            }],
            rpc: RpcConfig {
                bind_host: "127.0.0.1".to_string(),
                bind_port,
                ws_port,
                ..RpcConfig::default()
            },
            ..SurfpoolConfig::default()
        };
        let (commands, commands_rx) = unbounded();
        let runloop_commands = commands.clone();
        let thread = std::thread::Builder::new()
            .name("groundwork-local-rpc".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the local RPC");
                if let Err(error) = runtime.block_on(surfpool_core::start_local_surfnet(
                    svm,
                    config,
                    runloop_commands,
                    commands_rx,
                    geyser_events,
                )) {
                    eprintln!("local RPC stopped: {error}");
                }
            })
            .map_err(|error| error.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match events.recv_timeout(remaining) {
                Ok(SimnetEvent::CoreStarted(_)) => break,
                Ok(_) => {}
                Err(error) => return Err(format!("the local RPC did not start: {error}")),
            }
        }
        // Keep draining events so the runloop never blocks on a full channel.
        std::thread::spawn(move || while events.recv().is_ok() {});
        Ok(LocalRpc {
            url: format!("http://127.0.0.1:{bind_port}"),
            commands,
            thread: Some(thread),
        })
    }
}

impl Drop for LocalRpc {
    fn drop(&mut self) {
        let _ = self.commands.send(SimnetCommand::Terminate(None));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
