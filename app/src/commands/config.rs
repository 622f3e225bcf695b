//! `groundwork config get/set/unset`: the CLI's settings (see [`crate::config`] for where
//! each is read from). A setting is written into the profile in force (`--profile`, or the
//! file's default profile), else at the file's top level, and the reply says which.

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use crate::config::{ConfigFile, KEYS};
use crate::output::{print, Output};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Every setting in force (or one) and where it comes from.
    Get {
        /// url, keypair, oracle, output, commitment or faucet_keypair.
        key: Option<String>,
    },
    /// Sets a setting (`profile NAME` chooses the default profile).
    Set { key: String, value: String },
    /// Removes a setting (`profile` clears the default profile).
    Unset { key: String },
}

/// One setting as `config get` shows it.
#[derive(Serialize)]
struct Setting {
    key: String,
    value: Option<String>,
    /// Where the value comes from: a profile, the config file, the Solana CLI config.
    source: Option<String>,
}

/// What `config get/set/unset` shows.
#[derive(Serialize)]
struct ConfigView {
    config_file: String,
    profile: Option<String>,
    /// Where a `set` or `unset` wrote (absent for `get`).
    #[serde(skip_serializing_if = "Option::is_none")]
    changed_in: Option<String>,
    settings: Vec<Setting>,
}

impl std::fmt::Display for ConfigView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(place) = &self.changed_in {
            writeln!(f, "written to {place} of {}", self.config_file)?;
        } else {
            writeln!(f, "config file: {}", self.config_file)?;
        }
        writeln!(
            f,
            "profile: {}",
            self.profile.as_deref().unwrap_or("(none: the top level)")
        )?;
        for setting in &self.settings {
            match (&setting.value, &setting.source) {
                (Some(value), Some(source)) => {
                    writeln!(f, "{:<15} {value}  ({source})", setting.key)?
                }
                _ => writeln!(f, "{:<15} (not set)", setting.key)?,
            }
        }
        Ok(())
    }
}

fn view(
    path: &Path,
    config: &ConfigFile,
    profile: Option<&str>,
    only: Option<&str>,
    changed_in: Option<String>,
) -> Result<ConfigView> {
    let resolved = config.resolve(profile)?;
    let settings = KEYS
        .iter()
        .filter(|key| only.is_none_or(|only| only == **key))
        .map(|key| Setting {
            key: key.to_string(),
            value: resolved.get(key).map(str::to_string),
            source: resolved.source(key).map(|source| source.to_string()),
        })
        .collect();
    Ok(ConfigView {
        config_file: path.display().to_string(),
        profile: resolved.profile,
        changed_in,
        settings,
    })
}

/// Sets (or with `None` removes) `key` where `config set/unset` writes it, saves the file and
/// shows the setting as it now stands.
fn change(
    path: &Path,
    file: &mut ConfigFile,
    profile: Option<&str>,
    key: &str,
    value: Option<&str>,
) -> Result<ConfigView> {
    let chooses_profile = key == "profile";
    file.set(if chooses_profile { None } else { profile }, key, value)?;
    file.save(path)?;
    let (profile, only, place) = if chooses_profile {
        (value, None, "the top level".to_string())
    } else {
        (
            profile,
            Some(key),
            profile.map_or("the top level".to_string(), |name| {
                format!("profile {name}")
            }),
        )
    };
    view(path, file, profile, only, Some(place))
}

pub fn config(
    path: &Path,
    mut file: ConfigFile,
    profile: Option<&str>,
    command: ConfigCommand,
    output: Output,
) -> Result<()> {
    let shown = match command {
        ConfigCommand::Get { key } => {
            if let Some(key) = &key {
                if !KEYS.contains(&key.as_str()) {
                    anyhow::bail!(
                        "unknown setting {key:?}: the settings are {}",
                        KEYS.join(", ")
                    );
                }
            }
            view(path, &file, profile, key.as_deref(), None)?
        }
        ConfigCommand::Set { key, value } => change(path, &mut file, profile, &key, Some(&value))?,
        ConfigCommand::Unset { key } => change(path, &mut file, profile, &key, None)?,
    };
    print(&shown, output)
}
