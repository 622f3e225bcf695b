//! `groundwork-oracle --config <file>`: the oracle's ingest service. Loads the configuration
//! (file + GROUNDWORK__ environment overrides), opens the store (migrations applied), loads
//! the onboarded devices from chain and keeps them fresh, and serves the HTTP API until
//! SIGTERM or Ctrl-C, finishing the requests in flight.

use anyhow::{bail, Context, Result};
use groundwork_oracle::config::OracleConfig;
use groundwork_oracle::service::serve;

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
    serve(config, shutdown_signal()).await
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
