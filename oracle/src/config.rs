//! Configuration: one TOML file plus environment overrides `GROUNDWORK__SECTION__KEY`
//! (e.g. `GROUNDWORK__STORE__URL=postgres://...`). Durations are humantime strings ("30s").

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use groundwork_oracle_core::secret::Secret;
pub use groundwork_oracle_ingest::LimitsConfig;
pub use groundwork_oracle_rewards::VerifyParams;
use groundwork_telemetry::Key;
use serde::{Deserialize, Serialize};

/// Everything the oracle is configured with.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OracleConfig {
    /// The network this oracle serves.
    pub network: NetworkConfig,
    pub http: HttpConfig,
    pub store: StoreConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Verified work's parameters: the same on every oracle of a network (or their roots
    /// differ and none reaches quorum).
    #[serde(default)]
    pub verify: VerifyParams,
    /// The other oracles whose sealed sets each epoch is computed over (SPEC 4.3).
    #[serde(default)]
    pub shared_input: SharedInputConfig,
    /// Voting each epoch's root (SPEC 4.4); without it the oracle computes and serves
    /// rewards but votes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit: Option<SubmitConfig>,
    /// Where each epoch's bundle is published (SPEC 4.6).
    #[serde(default)]
    pub publish: PublishConfig,
}

/// `[publish]`: the object store epoch bundles go to.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    /// `file:///srv/bundles` (or a directory), or `s3://bucket/prefix` (credentials, region
    /// and endpoint from the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`). Empty: `<data_dir>/bundles`.
    #[serde(default)]
    pub url: String,
    /// Where readers find the bundles, when not at `url` (an HTTPS address in front of the
    /// bucket, say): what `GET /v1/epochs/{n}/bundle` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

impl OracleConfig {
    /// The bundle store's URL: `[publish] url`, or the data directory's `bundles` folder.
    pub fn publish_url(&self) -> String {
        if self.publish.url.is_empty() {
            format!(
                "file://{}",
                absolute(&self.store.data_dir.join("bundles")).display()
            )
        } else {
            self.publish.url.clone()
        }
    }
}

/// `path` made absolute against the working directory (as it is when that cannot be read).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `[submit]`: the oracle's vote.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SubmitConfig {
    /// The oracle's key: a Solana CLI keypair file (never logged). It pays its votes' fees.
    pub keypair: PathBuf,
    /// Priority fee bounds, micro-lamports per compute unit: the fee follows recent fees of
    /// the accounts a vote writes and doubles at each re-signing, within these.
    #[serde(default = "default_priority_fee_floor")]
    pub priority_fee_floor: u64,
    #[serde(default = "default_priority_fee_ceiling")]
    pub priority_fee_ceiling: u64,
    /// Also activate roots whose challenge period has ended (the permissionless crank).
    #[serde(default)]
    pub activate_roots: bool,
    /// Recipients who opted in to have this oracle claim for them (they may hold no SOL):
    /// whenever the active root owes one of them more than it was paid, this oracle claims
    /// it, paying the fee and the claim account's rent the first time.
    #[serde(default)]
    pub relay_claims_for: Vec<Key>,
    /// Also sweep operators' delegation pools whose leaf grew (the sweep claims the leaf by
    /// CPI and takes it into the pool's index; one transaction per pool and root; nobody else
    /// would). Unset: on for a claim relayer (`activate_roots` or `relay_claims_for`), so one
    /// oracle of a network sweeps rather than all of them racing.
    #[serde(default)]
    pub relay_pools: Option<bool>,
    /// Lamports the oracle key keeps for its votes: below them it relays no claim (and says
    /// so in what it waits for).
    #[serde(default = "default_relay_reserve_lamports")]
    pub relay_reserve_lamports: u64,
}

impl SubmitConfig {
    /// Whether this oracle sweeps delegation pools: as configured, else when it relays
    /// claims or activates roots.
    pub fn sweeps_pools(&self) -> bool {
        self.relay_pools
            .unwrap_or(self.activate_roots || !self.relay_claims_for.is_empty())
    }
}

fn default_relay_reserve_lamports() -> u64 {
    10_000_000
}

impl SubmitConfig {
    /// Voting with the keypair file `keypair`, with the default fee bounds and no other role.
    pub fn with_keypair(keypair: PathBuf) -> Self {
        SubmitConfig {
            keypair,
            priority_fee_floor: default_priority_fee_floor(),
            priority_fee_ceiling: default_priority_fee_ceiling(),
            activate_roots: false,
            relay_claims_for: Vec::new(),
            relay_pools: None,
            relay_reserve_lamports: default_relay_reserve_lamports(),
        }
    }
}

fn default_priority_fee_floor() -> u64 {
    1_000
}

fn default_priority_fee_ceiling() -> u64 {
    2_000_000
}

/// `[shared_input]`: the network's other oracles.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SharedInputConfig {
    /// Their base URLs (`http://host:port`); empty: this oracle computes over its own set.
    #[serde(default)]
    pub peers: Vec<String>,
    /// How long after an epoch's seal a peer that has not delivered its set delays the
    /// epoch's computation; then the epoch is computed without it (and the report says so).
    #[serde(with = "humantime_serde", default = "default_peer_wait")]
    pub peer_wait: Duration,
    /// How often an undelivered set is asked for again.
    #[serde(with = "humantime_serde", default = "default_pull_every")]
    pub pull_every: Duration,
    /// Longest wait for a peer's answer or for the next piece of its stream.
    #[serde(with = "humantime_serde", default = "default_peer_timeout")]
    pub timeout: Duration,
    /// The key this oracle signs its pulls with (peers serve only the network's oracles): a
    /// Solana CLI keypair file of a key in the on-chain oracle set. Default: `[submit] keypair`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keypair: Option<PathBuf>,
}

impl OracleConfig {
    /// The keypair file this oracle signs its pulls from peers with, if it has one.
    pub fn peer_keypair(&self) -> Option<&Path> {
        self.shared_input
            .keypair
            .as_deref()
            .or(self.submit.as_ref().map(|submit| submit.keypair.as_path()))
    }
}

impl Default for SharedInputConfig {
    fn default() -> Self {
        SharedInputConfig {
            peers: Vec::new(),
            peer_wait: default_peer_wait(),
            pull_every: default_pull_every(),
            timeout: default_peer_timeout(),
            keypair: None,
        }
    }
}

fn default_peer_wait() -> Duration {
    Duration::from_secs(1_800)
}

fn default_pull_every() -> Duration {
    Duration::from_secs(10)
}

fn default_peer_timeout() -> Duration {
    Duration::from_secs(30)
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The registry config address: telemetry must name it.
    pub registry: Key,
    /// JSON-RPC endpoints, tried in order (failover).
    pub rpc_urls: Vec<String>,
    /// How often the chain view polls for newly finalized registry transactions.
    #[serde(with = "humantime_serde", default = "default_device_refresh")]
    pub device_refresh: Duration,
    /// How long after its end an epoch still takes messages (the same on every oracle).
    #[serde(with = "humantime_serde", default = "default_seal_grace")]
    pub seal_grace: Duration,
}

/// `[http]`: where the oracle listens and the bounds of every route (SPEC 4.5).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Longest a request's headers may take to arrive.
    #[serde(with = "humantime_serde", default = "default_header_read_timeout")]
    pub header_read_timeout: Duration,
    /// Connections open at once (beyond, a new one is closed at once).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Requests served at once per route class; beyond, `503 busy` at once. Ingest
    /// (`POST /v1/telemetry`), the peers' stream (`GET /v1/epochs/{n}/telemetry`) and the
    /// reads (every other route) each have their own, so one saturated class never takes
    /// another's capacity.
    #[serde(default = "default_max_ingest_requests")]
    pub max_ingest_requests: usize,
    #[serde(default = "default_max_peer_streams")]
    pub max_peer_streams: usize,
    #[serde(default = "default_max_read_requests")]
    pub max_read_requests: usize,
    /// Requests of one class one source address may have in flight at once (beyond, `503
    /// busy`): an address holding slow requests open takes at most this share of a class.
    #[serde(default = "default_max_requests_per_source")]
    pub max_requests_per_source: usize,
    /// Read requests a second per source address, and their burst.
    #[serde(default = "default_read_rate_per_s")]
    pub read_rate_per_s: f64,
    #[serde(default = "default_read_burst")]
    pub read_burst: u32,
    /// Longest a read (or the start of the peers' stream) may take to be answered.
    #[serde(with = "humantime_serde", default = "default_read_timeout")]
    pub read_timeout: Duration,
}

impl HttpConfig {
    /// Listening on `listen` with the default bounds.
    pub fn on(listen: SocketAddr) -> Self {
        HttpConfig {
            listen,
            header_read_timeout: default_header_read_timeout(),
            max_connections: default_max_connections(),
            max_ingest_requests: default_max_ingest_requests(),
            max_peer_streams: default_max_peer_streams(),
            max_read_requests: default_max_read_requests(),
            max_requests_per_source: default_max_requests_per_source(),
            read_rate_per_s: default_read_rate_per_s(),
            read_burst: default_read_burst(),
            read_timeout: default_read_timeout(),
        }
    }
}

fn default_header_read_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_max_connections() -> usize {
    4_096
}

fn default_max_ingest_requests() -> usize {
    512
}

fn default_max_peer_streams() -> usize {
    8
}

fn default_max_read_requests() -> usize {
    64
}

fn default_max_requests_per_source() -> usize {
    32
}

fn default_read_rate_per_s() -> f64 {
    20.0
}

fn default_read_burst() -> u32 {
    100
}

fn default_read_timeout() -> Duration {
    Duration::from_secs(10)
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Empty: the embedded store (segment files) in `data_dir`; or
    /// `postgres://user:password@host/db` (never printed: it may hold a password).
    #[serde(default = "empty_secret", skip_serializing)]
    pub url: Secret<String>,
    /// Where the embedded store lives.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Longest a commit waits to group more messages (durability is never traded away).
    #[serde(with = "humantime_serde", default = "default_commit_window")]
    pub commit_window: Duration,
    /// How often the embedded store checkpoints its device state.
    #[serde(with = "humantime_serde", default = "default_checkpoint_every")]
    pub checkpoint_every: Duration,
    /// Distinct conflicting copies kept per device and epoch.
    #[serde(default = "default_max_conflicts")]
    pub max_conflicts_per_device_epoch: usize,
    /// Raw messages of an epoch are deleted this many epochs after a root covering it is
    /// active on chain.
    #[serde(default = "default_retention_epochs")]
    pub retention_epochs: u64,
}

fn empty_secret() -> Secret<String> {
    Secret::new(String::new())
}

fn default_seal_grace() -> Duration {
    Duration::from_secs(3_600)
}

fn default_checkpoint_every() -> Duration {
    Duration::from_secs(60)
}

fn default_max_conflicts() -> usize {
    8
}

fn default_retention_epochs() -> u64 {
    7
}

fn default_device_refresh() -> Duration {
    Duration::from_secs(2)
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
    /// An oracle on this machine beside a local network: `groundwork localnet`'s oracles and
    /// the oracle's tests start from this one configuration and change what they need. It
    /// follows `rpc_url` every second, listens on 127.0.0.1:`port`, keeps the embedded store in
    /// `data_dir`, and otherwise has the defaults of a production oracle (votes nothing, no
    /// peers).
    pub fn local(registry: Key, rpc_url: &str, port: u16, data_dir: &Path) -> Self {
        OracleConfig {
            network: NetworkConfig {
                registry,
                rpc_urls: vec![rpc_url.to_string()],
                device_refresh: Duration::from_secs(1),
                seal_grace: default_seal_grace(),
            },
            http: HttpConfig::on(SocketAddr::from(([127, 0, 0, 1], port))),
            store: StoreConfig {
                url: empty_secret(),
                data_dir: data_dir.to_path_buf(),
                commit_window: default_commit_window(),
                checkpoint_every: default_checkpoint_every(),
                max_conflicts_per_device_epoch: default_max_conflicts(),
                retention_epochs: default_retention_epochs(),
            },
            limits: LimitsConfig::default(),
            verify: VerifyParams::default(),
            shared_input: SharedInputConfig::default(),
            submit: None,
            publish: PublishConfig::default(),
        }
    }

    /// This configuration as a TOML file the binary reads back identically (tested), for an
    /// oracle started as a process. `store.url` is never written: it may hold a password;
    /// pass it in the environment as `GROUNDWORK__STORE__URL`. Refused when a value has no
    /// TOML form (an integer above 2^63 - 1, a path that is not UTF-8).
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|error| ConfigError::Invalid(error.to_string()))
    }

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
        let http = &self.http;
        if [
            http.max_connections,
            http.max_ingest_requests,
            http.max_peer_streams,
            http.max_read_requests,
            http.max_requests_per_source,
        ]
        .contains(&0)
            || http.read_burst == 0
            || http.read_rate_per_s.is_nan()
            || http.read_rate_per_s <= 0.0
            || http.header_read_timeout.is_zero()
            || http.read_timeout.is_zero()
        {
            return invalid("http bounds must be positive");
        }
        if !(self.limits.device_rate_per_s > 0.0 && self.limits.source_rate_per_s > 0.0) {
            return invalid("rates must be positive");
        }
        let url = self.store.url.expose();
        if !(url.is_empty() || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return invalid(
                "store.url must be empty (the embedded store in store.data_dir) or postgres://",
            );
        }
        if self.store.max_conflicts_per_device_epoch == 0 {
            return invalid("store.max_conflicts_per_device_epoch must be at least 1");
        }
        for peer in &self.shared_input.peers {
            if !(peer.starts_with("http://") || peer.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "shared_input.peers: {peer:?} is not an http:// or https:// URL"
                )));
            }
        }
        if !self.shared_input.peers.is_empty() && self.peer_keypair().is_none() {
            return invalid(
                "shared_input.peers needs this oracle's key to sign its pulls (peers serve only the network's oracles): set shared_input.keypair or [submit] keypair",
            );
        }
        if let Some(submit) = &self.submit {
            if submit.priority_fee_floor > submit.priority_fee_ceiling {
                return invalid("submit.priority_fee_floor is above submit.priority_fee_ceiling");
            }
        }
        if self.shared_input.pull_every.is_zero() || self.shared_input.timeout.is_zero() {
            return invalid("shared_input.pull_every and shared_input.timeout must be positive");
        }
        self.verify
            .check()
            .map_err(|error| ConfigError::Invalid(format!("verify: {error}")))
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
    fn a_local_oracles_file_reads_back_as_the_same_configuration_without_its_secret() {
        let mut config = OracleConfig::local(
            Key([7; 32]),
            "http://127.0.0.1:8899",
            18_080,
            Path::new("/tmp/oracle-a"),
        );
        config.network.seal_grace = Duration::from_millis(1_500);
        config.limits.device_rate_per_s = 100_000.0;
        config.verify.stake_multiplier = Some(groundwork_oracle_rewards::StakeMultiplier {
            max_bonus_bps: 5_000,
            full_bonus_stake_per_device: 1_000,
        });
        config.verify.denylist.insert(Key([9; 32]));
        config.shared_input.peers = vec!["http://127.0.0.1:18081".into()];
        config.submit = Some(SubmitConfig {
            keypair: PathBuf::from("/tmp/oracle-a.json"),
            priority_fee_floor: 0,
            priority_fee_ceiling: 100_000,
            activate_roots: true,
            relay_claims_for: vec![Key([3; 32])],
            relay_pools: Some(false),
            relay_reserve_lamports: 5_000_000,
        });
        config.store.url = Secret::new("postgres://u:hunter2@db/groundwork".into());
        let file = config.to_toml().unwrap();
        assert!(!file.contains("hunter2"), "{file}");
        let read = OracleConfig::parse(&file, []).unwrap();
        assert_eq!(read.store.url.expose(), "");
        let with_url = OracleConfig::parse(
            &file,
            [(
                "GROUNDWORK__STORE__URL".to_string(),
                "postgres://u:hunter2@db/groundwork".to_string(),
            )],
        )
        .unwrap();
        assert_eq!(with_url, config);
    }

    #[test]
    fn the_annotated_example_parses() {
        let config = OracleConfig::parse(EXAMPLE, []).unwrap();
        assert_eq!(config.http.listen.port(), 8080);
        assert_eq!(config.http, HttpConfig::on(config.http.listen));
        assert_eq!(config.limits, LimitsConfig::default());
        assert_eq!(config.store.url.expose(), "");
        assert_eq!(config.store.data_dir, PathBuf::from("./oracle-data"));
        assert_eq!(config.network.device_refresh, Duration::from_secs(2));
        assert_eq!(config.network.seal_grace, Duration::from_secs(3_600));
        assert_eq!(config.store.retention_epochs, 7);
        assert_eq!(config.verify, VerifyParams::default());
        assert_eq!(config.shared_input, SharedInputConfig::default());
        assert_eq!(config.submit, None);
        let voting = EXAMPLE.replace(
            "# [submit]\n# keypair = \"/etc/groundwork/oracle-keypair.json\"",
            "[submit]\nkeypair = \"/etc/groundwork/oracle-keypair.json\"",
        );
        let submit = OracleConfig::parse(&voting, []).unwrap().submit.unwrap();
        assert_eq!(
            submit.keypair,
            PathBuf::from("/etc/groundwork/oracle-keypair.json")
        );
        assert_eq!(
            (submit.priority_fee_floor, submit.priority_fee_ceiling),
            (1_000, 2_000_000)
        );
        assert!(!submit.activate_roots);
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
            config.store.url.expose(),
            "postgres://oracle@127.0.0.1/oracle"
        );
        assert!(
            !format!("{config:?}").contains("127.0.0.1/oracle"),
            "the URL is a secret"
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
        let impossible = EXAMPLE.replace("min_uptime_slots = 12", "min_uptime_slots = 49");
        assert!(OracleConfig::parse(&impossible, [])
            .unwrap_err()
            .to_string()
            .contains("verify"));
        let bad_peer = EXAMPLE.replace("peers = []", "peers = [\"oracle-b:8080\"]");
        assert!(OracleConfig::parse(&bad_peer, [])
            .unwrap_err()
            .to_string()
            .contains("oracle-b:8080"));
        let keyless = EXAMPLE.replace("peers = []", "peers = [\"http://oracle-b:8080\"]");
        assert!(OracleConfig::parse(&keyless, [])
            .unwrap_err()
            .to_string()
            .contains("sign its pulls"));
        let bad_key = EXAMPLE.replace("8ELs4A8hWvVhvyAnxLsktDC7Sssc8YBx1BZrw5E7ixjx", "not-a-key");
        assert!(OracleConfig::parse(&bad_key, []).is_err());
        let environment = [(
            "GROUNDWORK__STORE__URL".to_string(),
            "sqlite://./old.db".to_string(),
        )];
        assert!(OracleConfig::parse(EXAMPLE, environment)
            .unwrap_err()
            .to_string()
            .contains("store.url"));
    }
}
