//! The CLI's own config file, read like the Solana CLI's: `url`, `keypair`, `oracle`,
//! `output`, `commitment` and, for a local network, `faucet_keypair`, at the top level and in
//! named profiles (`groundwork localnet` writes the `localnet` profile for itself).
//!
//! Where a setting comes from, first match wins: the command-line flag; the profile named by
//! `--profile` (or `$GROUNDWORK_PROFILE`, or the file's `profile` key); the file's top level;
//! the Solana CLI config (`json_rpc_url`, `keypair_path`); the built-in default. The file is
//! `--config PATH`, else `$GROUNDWORK_CONFIG`, else `~/.config/groundwork/config.toml`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::cluster;
use crate::output::Output;

/// One set of settings: the file's top level, or one profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// JSON-RPC URL or moniker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The signing keypair file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keypair: Option<PathBuf>,
    /// The oracle's HTTP API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oracle: Option<String>,
    /// display, json or json-compact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// processed, confirmed or finalized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    /// A local network's treasury keypair: `groundwork airdrop` gives network tokens from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faucet_keypair: Option<PathBuf>,
}

/// The settings a user may set, in the order `config get` lists them.
pub const KEYS: [&str; 6] = [
    "url",
    "keypair",
    "oracle",
    "output",
    "commitment",
    "faucet_keypair",
];

impl Settings {
    fn get(&self, key: &str) -> Option<String> {
        match key {
            "url" => self.url.clone(),
            "keypair" => self.keypair.as_ref().map(|path| path.display().to_string()),
            "oracle" => self.oracle.clone(),
            "output" => self.output.clone(),
            "commitment" => self.commitment.clone(),
            "faucet_keypair" => self
                .faucet_keypair
                .as_ref()
                .map(|path| path.display().to_string()),
            _ => None,
        }
    }

    /// Sets (or with `None` removes) `key`, after checking the value means something.
    fn set(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        if let Some(value) = value {
            check_value(key, value)?;
        }
        let text = value.map(str::to_string);
        let path = value.map(PathBuf::from);
        match key {
            "url" => self.url = text,
            "keypair" => self.keypair = path,
            "oracle" => self.oracle = text.map(|url| url.trim_end_matches('/').to_string()),
            "output" => self.output = text,
            "commitment" => self.commitment = text,
            "faucet_keypair" => self.faucet_keypair = path,
            other => bail!(
                "unknown setting {other:?}: the settings are {}, and `profile` (the default profile)",
                KEYS.join(", ")
            ),
        }
        Ok(())
    }
}

/// Refuses a value a command would refuse later, with what it should look like.
fn check_value(key: &str, value: &str) -> Result<()> {
    let is_http = |url: &str| url.starts_with("http://") || url.starts_with("https://");
    match key {
        "url" if !is_http(&cluster::rpc_url(value)) => bail!(
            "url {value:?} is neither a moniker (localhost, devnet, testnet, mainnet-beta) nor an http(s) URL"
        ),
        "oracle" if !is_http(value) => {
            bail!("oracle {value:?} is not an http(s) URL, e.g. http://127.0.0.1:8080")
        }
        "output" => parse_output(value).map(drop),
        "commitment" => cluster::commitment(value).map(drop),
        "keypair" | "faucet_keypair" if value.is_empty() => bail!("{key} needs a file path"),
        _ => Ok(()),
    }
}

/// An `output` setting as the `--output` flag reads it.
pub fn parse_output(value: &str) -> Result<Output> {
    use clap::ValueEnum;
    Output::from_str(value, false)
        .map_err(|_| anyhow::anyhow!("output {value:?}: use display, json or json-compact"))
}

/// The config file's contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when neither `--profile` nor `$GROUNDWORK_PROFILE` names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(flatten)]
    pub top: Settings,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, Settings>,
}

/// The config file's default place.
pub fn default_path() -> PathBuf {
    if let Some(path) = std::env::var_os("GROUNDWORK_CONFIG") {
        return PathBuf::from(path);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("groundwork/config.toml")
}

impl ConfigFile {
    /// Reads `path`; a missing file is an empty config, a malformed one an error naming it.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).with_context(|| {
                format!(
                    "the config file {} does not parse (fix it, or move it away)",
                    path.display()
                )
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the config to `path` whole: a temporary file beside it, then renamed over it,
    /// so a crash leaves the old file or the new one.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let text = toml::to_string(self).context("writing the config as TOML")?;
        let temporary = path.with_extension("toml.new");
        std::fs::write(&temporary, text)
            .with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))
    }

    /// The profile in force: `chosen` (the flag or the environment), else the file's default.
    pub fn active_profile(&self, chosen: Option<&str>) -> Option<String> {
        chosen.map(str::to_string).or_else(|| self.profile.clone())
    }

    /// Sets `key` to `value` (or removes it) at the top level or in `profile`. The key
    /// `profile` sets the default profile.
    pub fn set(&mut self, profile: Option<&str>, key: &str, value: Option<&str>) -> Result<()> {
        if key == "profile" {
            if let Some(name) = value {
                if !self.profiles.contains_key(name) {
                    bail!(
                        "no profile {name:?} in the config (profiles: {}); create it with `groundwork config set --profile {name} url ...`",
                        self.profile_names()
                    );
                }
            }
            self.profile = value.map(str::to_string);
            return Ok(());
        }
        match profile {
            Some(name) => self
                .profiles
                .entry(name.to_string())
                .or_default()
                .set(key, value),
            None => self.top.set(key, value),
        }
    }

    fn profile_names(&self) -> String {
        if self.profiles.is_empty() {
            "none".into()
        } else {
            self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }

    /// Each setting in force under `profile`, with where it comes from.
    pub fn resolve(&self, profile: Option<&str>) -> Result<Resolved> {
        let chosen = match profile {
            Some(name) => Some((
                name.to_string(),
                self.profiles.get(name).with_context(|| {
                    format!(
                        "no profile {name:?} in the config (profiles: {})",
                        self.profile_names()
                    )
                })?,
            )),
            None => None,
        };
        let mut values = BTreeMap::new();
        for key in KEYS {
            let from_profile = chosen.as_ref().and_then(|(name, settings)| {
                Some((settings.get(key)?, Source::Profile(name.clone())))
            });
            let value = from_profile
                .or_else(|| Some((self.top.get(key)?, Source::File)))
                .or_else(|| match key {
                    "url" => Some((cluster::default_url()?, Source::SolanaCli)),
                    "keypair" => Some((
                        cluster::default_keypair_path().display().to_string(),
                        Source::SolanaCli,
                    )),
                    _ => None,
                });
            if let Some(value) = value {
                values.insert(key, value);
            }
        }
        Ok(Resolved {
            profile: chosen.map(|(name, _)| name),
            values,
        })
    }
}

/// Where a setting's value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Profile(String),
    File,
    SolanaCli,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Profile(name) => write!(f, "profile {name}"),
            Source::File => write!(f, "config file"),
            Source::SolanaCli => write!(f, "Solana CLI config or its default"),
        }
    }
}

/// The settings in force, with their sources (command-line flags aside).
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    pub profile: Option<String>,
    values: BTreeMap<&'static str, (String, Source)>,
}

impl Resolved {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(value, _)| value.as_str())
    }

    pub fn source(&self, key: &str) -> Option<&Source> {
        self.values.get(key).map(|(_, source)| source)
    }
}

/// The profile a local network writes for itself, and whether it became the default (only
/// when the file had none: a user's own default is never taken over).
pub fn write_localnet_profile(
    path: &Path,
    rpc_url: &str,
    oracle_url: &str,
    faucet_keypair: &Path,
) -> Result<bool> {
    let mut config = ConfigFile::load(path)?;
    let profile = config.profiles.entry(LOCALNET_PROFILE.into()).or_default();
    profile.url = Some(rpc_url.to_string());
    profile.oracle = Some(oracle_url.to_string());
    profile.faucet_keypair = Some(faucet_keypair.to_path_buf());
    let made_default = config.profile.is_none();
    if made_default {
        config.profile = Some(LOCALNET_PROFILE.into());
    }
    config.save(path)?;
    Ok(made_default)
}

/// The profile `groundwork localnet` writes.
pub const LOCALNET_PROFILE: &str = "localnet";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_overrides_the_top_level_and_the_top_level_the_solana_cli() {
        let text = r#"
url = "devnet"
oracle = "http://oracle.example:8080"

[profiles.localnet]
url = "http://127.0.0.1:48899"
"#;
        let config: ConfigFile = toml::from_str(text).unwrap();
        let plain = config.resolve(None).unwrap();
        assert_eq!(plain.get("url"), Some("devnet"));
        assert_eq!(plain.source("url"), Some(&Source::File));
        let local = config.resolve(Some("localnet")).unwrap();
        assert_eq!(local.get("url"), Some("http://127.0.0.1:48899"));
        assert_eq!(
            local.source("url"),
            Some(&Source::Profile("localnet".into()))
        );
        assert_eq!(local.get("oracle"), Some("http://oracle.example:8080"));
        assert!(config.resolve(Some("mainnet")).is_err());
    }

    #[test]
    fn values_are_checked_when_set_and_unknown_keys_refused() {
        let mut config = ConfigFile::default();
        assert!(config.set(None, "output", Some("yaml")).is_err());
        assert!(config.set(None, "commitment", Some("final")).is_err());
        assert!(config.set(None, "oracle", Some("127.0.0.1:8080")).is_err());
        assert!(config.set(None, "url", Some("ftp://x")).is_err());
        assert!(config.set(None, "colour", Some("blue")).is_err());
        assert!(config.set(None, "profile", Some("nowhere")).is_err());
        config
            .set(Some("lab"), "oracle", Some("http://10.0.0.2:8080/"))
            .unwrap();
        config.set(None, "profile", Some("lab")).unwrap();
        assert_eq!(
            config.profiles["lab"].oracle.as_deref(),
            Some("http://10.0.0.2:8080")
        );
        config.set(Some("lab"), "oracle", None).unwrap();
        assert_eq!(config.profiles["lab"].oracle, None);
    }

    #[test]
    fn the_file_round_trips_and_a_broken_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        assert_eq!(ConfigFile::load(&path).unwrap(), ConfigFile::default());
        let made_default = write_localnet_profile(
            &path,
            "http://127.0.0.1:48899",
            "http://127.0.0.1:48080",
            Path::new("/tmp/keys/authority.json"),
        )
        .unwrap();
        assert!(made_default);
        let config = ConfigFile::load(&path).unwrap();
        assert_eq!(config.profile.as_deref(), Some(LOCALNET_PROFILE));
        // A second localnet does not take the default over from a user's own choice.
        let mut changed = config.clone();
        changed.set(Some("devnet"), "url", Some("devnet")).unwrap();
        changed.set(None, "profile", Some("devnet")).unwrap();
        changed.save(&path).unwrap();
        assert!(!write_localnet_profile(&path, "u", "o", Path::new("k")).is_ok_and(|d| d));
        assert_eq!(
            ConfigFile::load(&path).unwrap().profile.as_deref(),
            Some("devnet")
        );
        std::fs::write(&path, "url = [").unwrap();
        let error = format!("{:#}", ConfigFile::load(&path).unwrap_err());
        assert!(error.contains("config.toml"), "{error}");
    }
}
