//! `groundwork-oracle --config <file>`: loads and checks the configuration.
//!
//! The ingest service (HTTP, store, device cache) is being built under issue #6; until it is,
//! this binary validates a configuration and says what it would serve.

use anyhow::{bail, Context, Result};
use groundwork_oracle::config::OracleConfig;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let path = match (args.next().as_deref(), args.next()) {
        (Some("--config"), Some(path)) => path,
        _ => bail!("usage: groundwork-oracle --config <file.toml>"),
    };
    let config = OracleConfig::load(path.as_ref(), std::env::vars())
        .with_context(|| format!("loading the configuration {path}"))?;
    println!(
        "configuration valid: network {}, store {}, listen {}",
        config.network.registry,
        config.store.effective_url(),
        config.http.listen
    );
    Ok(())
}
