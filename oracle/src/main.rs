//! `groundwork-oracle --config <file>`: the oracle's ingest service. Loads the configuration
//! (file + GROUNDWORK__ environment overrides), opens the store (migrations applied), loads
//! the onboarded devices from chain and keeps them fresh, and serves the HTTP API until
//! SIGTERM or Ctrl-C, finishing the requests in flight.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use groundwork_oracle::api::router;
use groundwork_oracle::chain::ChainReader;
use groundwork_oracle::clock::SystemClock;
use groundwork_oracle::commit::CommitQueue;
use groundwork_oracle::config::OracleConfig;
use groundwork_oracle::devices::DeviceCache;
use groundwork_oracle::ingest::Ingestor;
use groundwork_oracle::metrics::Metrics;
use groundwork_oracle::store::Store;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let path = match (args.next().as_deref(), args.next()) {
        (Some("--config"), Some(path)) => path,
        _ => bail!("usage: groundwork-oracle --config <file.toml>"),
    };
    let config = OracleConfig::load(path.as_ref(), std::env::vars())
        .with_context(|| format!("loading the configuration {path}"))?;

    let store_url = config.store.effective_url();
    let store = Store::open(&store_url)
        .await
        .with_context(|| format!("opening the store {}", redact(&store_url)))?;

    let chain = ChainReader::new(config.network.rpc_urls.clone());
    let devices = chain
        .load_devices()
        .await
        .context("loading onboarded devices from chain (is network.rpc_urls reachable?)")?;
    tracing::info!(devices = devices.len(), "device cache loaded");
    let cache = Arc::new(DeviceCache::new(devices));
    tokio::spawn(refresh_devices(
        chain,
        cache.clone(),
        config.network.device_refresh,
    ));

    let committer = CommitQueue::start(store.clone(), config.store.commit_window);
    let ingestor = Ingestor::new(
        config.network.registry,
        config.limits.clone(),
        cache,
        Arc::new(SystemClock),
        store,
        committer,
        Arc::new(Metrics::default()),
    )
    .await
    .context("reading the seq order from the store")?;

    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("listening on {}", config.http.listen))?;
    tracing::info!(listen = %config.http.listen, network = %config.network.registry, "serving");
    axum::serve(
        listener,
        router(Arc::new(ingestor)).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP")?;
    tracing::info!("stopped: in-flight requests finished");
    Ok(())
}

/// Reloads the device set every `period`; on failure keeps the last set and says so.
async fn refresh_devices(chain: ChainReader, cache: Arc<DeviceCache>, period: std::time::Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        match chain.load_devices().await {
            Ok(devices) => {
                tracing::debug!(devices = devices.len(), "device cache refreshed");
                cache.replace(devices);
            }
            Err(error) => tracing::warn!(%error, "device refresh failed; keeping the previous set"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested");
}

/// A store URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}
