//! `groundwork-oracle --config <file>`: the oracle. Loads the configuration (file +
//! GROUNDWORK__ environment overrides) and runs every stage (see `service`) until SIGTERM or
//! Ctrl-C, finishing the requests in flight.
//!
//! `groundwork-oracle --config <file> recompute --from-epoch N`: after the authority vetoed
//! epoch N's root, with the oracle stopped, moves epoch N's report and later ones aside (see
//! `recompute`); started again with the corrected configuration, the oracle computes and
//! votes them anew.

use anyhow::{bail, Context, Result};
use groundwork_oracle::config::OracleConfig;
use groundwork_oracle::recompute::recompute_from;
use groundwork_oracle::service::serve;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (path, command) = match args.as_slice() {
        ["--config", path] => (*path, None),
        ["--config", path, "recompute", "--from-epoch", epoch] => (
            *path,
            Some(
                epoch
                    .parse::<u64>()
                    .with_context(|| format!("--from-epoch {epoch:?} is not an epoch number"))?,
            ),
        ),
        _ => bail!(
            "usage: groundwork-oracle --config <file.toml> [recompute --from-epoch <N>]\n  recompute: after the authority vetoed epoch N's root, with the oracle stopped, moves epoch N's report and later ones aside; the oracle, started again with the corrected configuration, computes and votes them anew (the vetoed root is refused)"
        ),
    };
    let config = OracleConfig::load(path.as_ref(), std::env::vars())
        .with_context(|| format!("loading the configuration {path}"))?;
    if let Some(from) = command {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            });
        let recomputed = recompute_from(&config.store.data_dir, from, now_ms)?;
        println!(
            "moved the reports of epochs {:?} aside to {}; refused roots for epoch {from}: {:?}. Start the oracle with the corrected configuration: it computes and votes these epochs again.",
            recomputed.epochs,
            recomputed.moved_to.display(),
            recomputed.vetoed_roots
        );
        return Ok(());
    }
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
