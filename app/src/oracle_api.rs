//! Reading an oracle's HTTP API: `GET`s of its JSON endpoints (health, votes, rewards,
//! proofs, device reports), for the commands and `groundwork localnet` alike.

use anyhow::{bail, Context as _, Result};

/// GETs `path` from the oracle at `oracle`; a refusal names the oracle's reason.
pub fn oracle_get(oracle: &str, path: &str) -> Result<serde_json::Value> {
    let (status, body) = oracle_reply(oracle, path)?;
    if !(200..300).contains(&status) {
        bail!(
            "{}{path} answered {status}: {}",
            oracle.trim_end_matches('/'),
            body["message"].as_str().unwrap_or("no reason given")
        );
    }
    Ok(body)
}

/// Longest the CLI waits for an oracle to accept a connection, and for its whole reply: an
/// oracle that hangs or trickles fails the command instead of holding it forever.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// GETs `path` from the oracle at `oracle`: the HTTP status and the JSON body, whatever the
/// status (a 503 from `/healthz` still says why), within [`REPLY_TIMEOUT`].
pub fn oracle_reply(oracle: &str, path: &str) -> Result<(u16, serde_json::Value)> {
    exchange(oracle, path, None)
}

/// POSTs the JSON `body` to `path` of the oracle at `oracle`; a refusal names the oracle's
/// reason.
pub fn oracle_post(
    oracle: &str,
    path: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value> {
    let (status, reply) = exchange(oracle, path, Some(body))?;
    if !(200..300).contains(&status) {
        bail!(
            "{}{path} answered {status}: {}",
            oracle.trim_end_matches('/'),
            reply["message"].as_str().unwrap_or("no reason given")
        );
    }
    Ok(reply)
}

/// One request to the oracle (a GET, or a POST of `body`) and its status and JSON reply.
fn exchange(
    oracle: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, serde_json::Value)> {
    let url = format!("{}{path}", oracle.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REPLY_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    runtime.block_on(async {
        let request = match body {
            Some(body) => client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string()),
            None => client.get(&url),
        };
        let reply = request
            .send()
            .await
            .with_context(|| format!("asking {url}"))?;
        let status = reply.status().as_u16();
        let body: serde_json::Value = reply
            .json()
            .await
            .with_context(|| format!("reading the reply of {url}"))?;
        Ok((status, body))
    })
}
