//! Configuration: one TOML file plus environment overrides `GROUNDWORK__SECTION__KEY`
//! (e.g. `GROUNDWORK__STORE__URL=postgres://...`). Durations are humantime strings ("30s").

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use groundwork_telemetry::Key;
use serde::Deserialize;

/// Everything the oracle is configured with.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OracleConfig {
    /// The network this oracle serves.
    pub network: NetworkConfig,
    pub http: HttpConfig,
    pub store: StoreConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The registry config address: telemetry must name it.
    pub registry: Key,
    /// JSON-RPC endpoints, tried in order (failover).
    pub rpc_urls: Vec<String>,
    /// How often the device cache is reloaded from chain.
    #[serde(with = "humantime_serde", default = "default_device_refresh")]
    pub device_refresh: Duration,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://path/to/db` (created if missing), or `postgres://user:pass@host/db`.
    /// Empty: an SQLite database in `data_dir`.
    #[serde(default)]
    pub url: String,
    /// Where the embedded store lives.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Longest a commit waits to group more messages (durability is never traded away).
    #[serde(with = "humantime_serde", default = "default_commit_window")]
    pub commit_window: Duration,
}

impl StoreConfig {
    /// The store URL to open: the configured one, or SQLite in the data directory.
    pub fn effective_url(&self) -> String {
        if self.url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("oracle.db").display())
        } else {
            self.url.clone()
        }
    }
}

/// Ingest limits (SPEC 4.2 defaults).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_body_bytes: usize,
    pub max_batch_messages: usize,
    /// Oldest accepted device timestamp, relative to now.
    #[serde(with = "humantime_serde")]
    pub max_message_age: Duration,
    /// Furthest a device clock may run ahead.
    #[serde(with = "humantime_serde")]
    pub max_clock_skew: Duration,
    /// Per-device rate: sustained messages per second and burst.
    pub device_rate_per_s: f64,
    pub device_burst: u32,
    /// Per-source-address rate.
    pub source_rate_per_s: f64,
    pub source_burst: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 256 * 1024,
            max_batch_messages: 1_000,
            max_message_age: Duration::from_secs(24 * 3_600),
            max_clock_skew: Duration::from_secs(60),
            device_rate_per_s: 1.0,
            device_burst: 60,
            source_rate_per_s: 2_000.0,
            source_burst: 20_000,
        }
    }
}

fn default_device_refresh() -> Duration {
    Duration::from_secs(30)
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./oracle-data")
}

fn default_commit_window() -> Duration {
    Duration::from_millis(2)
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl OracleConfig {
    /// Reads `path`, then applies `GROUNDWORK__SECTION__KEY` overrides from `environment`.
    pub fn load(
        path: &Path,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, environment)
    }

    /// Parses TOML text with environment overrides.
    pub fn parse(
        text: &str,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut document: toml::Table = text
            .parse()
            .map_err(|error: toml::de::Error| ConfigError::Invalid(error.to_string()))?;
        for (name, value) in environment {
            let Some(path) = name.strip_prefix("GROUNDWORK__") else {
                continue;
            };
            let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            apply_override(&mut document, &keys, &value)?;
        }
        let config: OracleConfig = toml::Value::Table(document)
            .try_into()
            .map_err(|error: toml::de::Error| ConfigError::Invalid(error.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_string()));
        if self.network.rpc_urls.is_empty() {
            return invalid("network.rpc_urls needs at least one endpoint");
        }
        if self.limits.max_batch_messages == 0 || self.limits.max_body_bytes == 0 {
            return invalid("limits must be positive");
        }
        if !(self.limits.device_rate_per_s > 0.0 && self.limits.source_rate_per_s > 0.0) {
            return invalid("rates must be positive");
        }
        let url = self.store.effective_url();
        if !(url.starts_with("sqlite://")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return invalid("store.url must be sqlite:// or postgres://");
        }
        Ok(())
    }
}

/// Sets `keys` (a path of table names ending in a key) to `value`, parsed as a TOML value
/// when it is one (numbers, booleans, arrays) and as a string otherwise.
fn apply_override(
    table: &mut toml::Table,
    keys: &[String],
    value: &str,
) -> Result<(), ConfigError> {
    let (last, parents) = keys
        .split_last()
        .ok_or_else(|| ConfigError::Invalid("empty override name".into()))?;
    let mut current = table;
    for key in parents {
        current = current
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError::Invalid(format!("override of {key}: not a table")))?;
    }
    let parsed = format!("value = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut wrapper| wrapper.remove("value"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    current.insert(last.clone(), parsed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../groundwork-oracle.example.toml");

    #[test]
    fn the_annotated_example_parses() {
        let config = OracleConfig::parse(EXAMPLE, []).unwrap();
        assert_eq!(config.http.listen.port(), 8080);
        assert_eq!(config.limits, LimitsConfig::default());
        assert_eq!(
            config.store.effective_url(),
            "sqlite://./oracle-data/oracle.db"
        );
        assert_eq!(config.network.device_refresh, Duration::from_secs(30));
    }

    #[test]
    fn environment_overrides_win() {
        let environment = [
            (
                "GROUNDWORK__STORE__URL".to_string(),
                "postgres://oracle@127.0.0.1/oracle".to_string(),
            ),
            (
                "GROUNDWORK__LIMITS__DEVICE_BURST".to_string(),
                "5".to_string(),
            ),
            (
                "GROUNDWORK__HTTP__LISTEN".to_string(),
                "127.0.0.1:9000".to_string(),
            ),
            ("UNRELATED".to_string(), "x".to_string()),
        ];
        let config = OracleConfig::parse(EXAMPLE, environment).unwrap();
        assert_eq!(
            config.store.effective_url(),
            "postgres://oracle@127.0.0.1/oracle"
        );
        assert_eq!(config.limits.device_burst, 5);
        assert_eq!(config.http.listen.port(), 9000);
    }

    #[test]
    fn bad_configurations_are_refused_with_a_reason() {
        let unknown = EXAMPLE.replace("[http]", "[http]\ncolour = \"blue\"");
        assert!(OracleConfig::parse(&unknown, [])
            .unwrap_err()
            .to_string()
            .contains("colour"));
        let bad_key = EXAMPLE.replace("8ELs4A8hWvVhvyAnxLsktDC7Sssc8YBx1BZrw5E7ixjx", "not-a-key");
        assert!(OracleConfig::parse(&bad_key, []).is_err());
        let environment = [(
            "GROUNDWORK__STORE__URL".to_string(),
            "mysql://x".to_string(),
        )];
        assert!(OracleConfig::parse(EXAMPLE, environment)
            .unwrap_err()
            .to_string()
            .contains("store.url"));
    }
}
