//! The oracle's ingest service as one call: open the store, load the onboarded devices from
//! chain and keep them fresh, and serve the HTTP API until `shutdown` resolves, finishing the
//! requests in flight. The `groundwork-oracle` binary runs it until SIGTERM; `groundwork
//! localnet` runs it in-process beside the local network.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::api::router;
use crate::chain::ChainReader;
use crate::clock::SystemClock;
use crate::commit::CommitQueue;
use crate::config::OracleConfig;
use crate::devices::DeviceCache;
use crate::ingest::Ingestor;
use crate::metrics::Metrics;
use crate::store::Store;

/// Runs the service with `config` until `shutdown` resolves.
pub async fn serve(
    config: OracleConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
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
    .with_graceful_shutdown(shutdown)
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

/// A store URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}
