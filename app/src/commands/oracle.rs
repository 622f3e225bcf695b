//! `groundwork oracle status --oracle URL`: what an oracle is doing and waiting for — its
//! health, its chain view, and each epoch's vote (state, transactions, what it waits for) —
//! for an oracle operator woken by a stuck epoch.

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;
use serde_json::Value;

use crate::oracle_api::oracle_reply;

#[derive(Subcommand)]
pub enum OracleCommand {
    /// Health, chain view and each epoch's vote, with what the oracle waits for.
    Status {
        /// The oracle's HTTP API (e.g. http://127.0.0.1:8080; default: the config's `oracle`).
        #[arg(long)]
        oracle: Option<String>,
    },
}

/// What `oracle status` shows.
#[derive(Serialize)]
pub struct OracleStatus {
    pub oracle: String,
    pub health: Value,
    /// `GET /v1/submissions`, when the oracle votes.
    pub submissions: Option<Value>,
}

impl std::fmt::Display for OracleStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let health = &self.health;
        writeln!(
            f,
            "oracle {}: {}",
            self.oracle,
            health["status"].as_str().unwrap_or("unknown")
        )?;
        for problem in health["problems"].as_array().into_iter().flatten() {
            writeln!(f, "  problem: {}", problem.as_str().unwrap_or_default())?;
        }
        writeln!(
            f,
            "  devices known: {}; chain view at slot {} ({} slots behind finalized); newest chain snapshot: epoch {}",
            health["devices"],
            health["chain_view"]["slot"],
            health["chain_view"]["lag_slots"],
            health["chain_view"]["newest_snapshot_epoch"]
        )?;
        let Some(submissions) = &self.submissions else {
            return writeln!(f, "  votes: nothing (no [submit] section)");
        };
        writeln!(
            f,
            "  votes as {}: {}",
            submissions["oracle"].as_str().unwrap_or_default(),
            match submissions["in_oracle_set"].as_bool() {
                Some(true) => "in the on-chain oracle set",
                Some(false) => "NOT in the on-chain oracle set: it votes nothing",
                None => "oracle set not read yet",
            }
        )?;
        writeln!(
            f,
            "  waiting for: {}",
            submissions["waiting_for"].as_str().unwrap_or_default()
        )?;
        for epoch in submissions["epochs"].as_array().into_iter().flatten() {
            let attempts = epoch["attempts"].as_array().map_or(0, Vec::len);
            let detail = epoch["how"]
                .as_str()
                .or(epoch["reason"].as_str())
                .unwrap_or_default();
            write!(
                f,
                "  epoch {}: {}, root {}…, {} transaction{}",
                epoch["epoch"],
                epoch["state"].as_str().unwrap_or_default(),
                epoch["root"]
                    .as_str()
                    .unwrap_or_default()
                    .get(..8)
                    .unwrap_or_default(),
                attempts,
                if attempts == 1 { "" } else { "s" },
            )?;
            if let Some(newest) = epoch["attempts"].as_array().and_then(|all| all.last()) {
                write!(
                    f,
                    ", newest {} (valid to block {}, fee {} µlamports/CU)",
                    newest["signature"].as_str().unwrap_or_default(),
                    newest["last_valid_block_height"],
                    newest["priority_fee_micro_lamports"]
                )?;
            }
            if !detail.is_empty() {
                write!(f, " — {detail}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

pub fn status(oracle: &str) -> Result<OracleStatus> {
    let (_, health) = oracle_reply(oracle, "/healthz")?;
    let (code, submissions) = oracle_reply(oracle, "/v1/submissions")?;
    Ok(OracleStatus {
        oracle: oracle.to_string(),
        health,
        submissions: (code == 200).then_some(submissions),
    })
}
