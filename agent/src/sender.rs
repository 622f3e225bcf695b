//! Sending journaled messages to the oracles: one binary batch per request to the first oracle
//! that answers (failing over in turn), each message's verdict read from the reply, and the
//! oracle's clock read from its `Date` header.

use std::time::Duration;

use anyhow::{Context as _, Result};
use groundwork_telemetry::BINARY_BATCH_MEDIA_TYPE;

use crate::outbox::Pending;

/// Longest a request may take, connection included.
/// Longest a request may take, connection included: above the oracle's own request and body
/// timeouts (30 s and 10 s by default), so an answer it would give is not abandoned.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(45);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What became of one message of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Duplicate,
    /// Refused for good (counted by code): sending it again cannot help.
    Refused(String),
    /// Refused for now (rate limits, the oracle's store, a device it does not know yet):
    /// the same bytes may succeed later.
    RetryLater(String),
}

/// Refusal codes after which the same message may still succeed (a message ahead of the
/// oracle's clock passes once the clock catches up, while it is inside the age window).
pub const RETRYABLE: [&str; 6] = [
    "rate_limited",
    "store_unavailable",
    "shutting_down",
    "unknown_device",
    "request_timeout",
    "timestamp_in_future",
];

impl Verdict {
    fn of(status: &str, code: Option<&str>) -> Self {
        match (status, code) {
            ("accepted", _) => Verdict::Accepted,
            ("duplicate", _) => Verdict::Duplicate,
            (_, Some(code)) if RETRYABLE.contains(&code) => Verdict::RetryLater(code.into()),
            (_, code) => Verdict::Refused(code.unwrap_or("unknown").into()),
        }
    }
}

/// An oracle's answer to a batch.
#[derive(Debug)]
pub struct BatchReply {
    pub oracle: String,
    /// One verdict per message, in order.
    pub verdicts: Vec<Verdict>,
    /// The oracle's clock minus ours, when its reply carried a `Date` (seconds resolution).
    pub clock_skew_ms: Option<i64>,
}

/// Why no oracle took a batch.
#[derive(Debug)]
pub struct Unreachable {
    /// Each oracle tried and what went wrong.
    pub tried: Vec<(String, String)>,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .tried
            .iter()
            .map(|(oracle, error)| format!("{oracle}: {error}"))
            .collect();
        write!(f, "no oracle took the batch ({})", parts.join("; "))
    }
}

/// The oracles, the one that answered last first.
pub struct Sender {
    oracles: Vec<String>,
    current: usize,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Sender {
    pub fn new(oracles: Vec<String>) -> Result<Self> {
        anyhow::ensure!(
            !oracles.is_empty(),
            "name at least one oracle (--oracle URL)"
        );
        Ok(Sender {
            oracles: oracles
                .into_iter()
                .map(|url| url.trim_end_matches('/').to_string())
                .collect(),
            current: 0,
            client: reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .build()
                .context("building the HTTP client")?,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        })
    }

    /// Makes the next oracle the first to be asked (the current one refused for now what
    /// another may take: a lagging chain view, store trouble).
    pub fn prefer_next(&mut self) {
        self.current = (self.current + 1) % self.oracles.len();
    }

    /// The last seq an oracle accepted from `device` (`GET /v1/devices/{key}`): `Ok(None)` when
    /// an oracle answered that it holds none, an error when none answered.
    pub fn last_accepted_seq(&self, device: &groundwork_telemetry::Key) -> Result<Option<u64>> {
        let mut errors = Vec::new();
        for oracle in &self.oracles {
            let url = format!("{oracle}/v1/devices/{device}");
            let answer: Result<Option<u64>> = self.runtime.block_on(async {
                let reply = self.client.get(&url).send().await?;
                let status = reply.status().as_u16();
                let json: serde_json::Value = reply.json().await?;
                match status {
                    200 => Ok(json["latest"]["seq"].as_u64()),
                    404 => Ok(None),
                    _ => anyhow::bail!("answered {status}"),
                }
            });
            match answer {
                Ok(seq) => return Ok(seq),
                Err(error) => errors.push(format!("{url}: {error:#}")),
            }
        }
        anyhow::bail!("no oracle answered: {}", errors.join("; "))
    }

    /// Sends `batch` to the current oracle, then to the others in turn while one fails to
    /// answer with verdicts (connection errors, timeouts, whole-request refusals).
    pub fn send(&mut self, batch: &[&Pending]) -> Result<BatchReply, Unreachable> {
        let body = binary_batch(batch);
        let mut tried = Vec::new();
        for attempt in 0..self.oracles.len() {
            let index = (self.current + attempt) % self.oracles.len();
            let oracle = self.oracles[index].clone();
            match self.post(&oracle, body.clone(), batch.len()) {
                Ok(reply) => {
                    self.current = index;
                    return Ok(reply);
                }
                Err(error) => tried.push((oracle, format!("{error:#}"))),
            }
        }
        self.current = (self.current + 1) % self.oracles.len();
        Err(Unreachable { tried })
    }

    fn post(&self, oracle: &str, body: Vec<u8>, count: usize) -> Result<BatchReply> {
        let url = format!("{oracle}/v1/telemetry");
        self.runtime.block_on(async {
            let reply = self
                .client
                .post(&url)
                .header("content-type", BINARY_BATCH_MEDIA_TYPE)
                .body(body)
                .send()
                .await
                .with_context(|| format!("posting to {url}"))?;
            let status = reply.status().as_u16();
            let clock_skew_ms = reply
                .headers()
                .get("date")
                .and_then(|date| date.to_str().ok())
                .and_then(httpdate_ms)
                .map(|oracle_ms| oracle_ms - now_ms());
            let json: serde_json::Value = reply
                .json()
                .await
                .with_context(|| format!("reading the reply of {url}"))?;
            let results = json["results"].as_array();
            let Some(results) = results.filter(|results| results.len() == count) else {
                anyhow::bail!(
                    "answered {status}: {}",
                    json["message"].as_str().unwrap_or("no verdicts")
                );
            };
            let verdicts = results
                .iter()
                .map(|result| {
                    Verdict::of(
                        result["status"].as_str().unwrap_or_default(),
                        result["error"].as_str(),
                    )
                })
                .collect();
            Ok(BatchReply {
                oracle: oracle.to_string(),
                verdicts,
                clock_skew_ms,
            })
        })
    }
}

/// The binary batch of SPEC 4.1: a u32 LE count, then each message's canonical bytes and its
/// signature.
pub fn binary_batch(batch: &[&Pending]) -> Vec<u8> {
    let mut body = Vec::with_capacity(4 + batch.len() * 200);
    body.extend_from_slice(&(batch.len() as u32).to_le_bytes());
    for pending in batch {
        body.extend_from_slice(&pending.canonical);
        body.extend_from_slice(&pending.signature);
    }
    body
}

/// This machine's clock, unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// An HTTP date (RFC 7231 IMF-fixdate, as servers send it) as unix ms.
fn httpdate_ms(date: &str) -> Option<i64> {
    humantime::parse_rfc3339(&imf_to_rfc3339(date)?)
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|elapsed| elapsed.as_millis() as i64)
}

/// "Sun, 06 Nov 1994 08:49:37 GMT" as "1994-11-06T08:49:37Z".
fn imf_to_rfc3339(date: &str) -> Option<String> {
    let mut parts = date.split_whitespace().skip(1);
    let (day, month, year, time) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|name| *name == month)? + 1;
    Some(format!("{year}-{month:02}-{day:0>2}T{time}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_tell_what_may_succeed_later() {
        assert_eq!(Verdict::of("accepted", None), Verdict::Accepted);
        assert_eq!(Verdict::of("duplicate", None), Verdict::Duplicate);
        assert_eq!(
            Verdict::of("rejected", Some("rate_limited")),
            Verdict::RetryLater("rate_limited".into())
        );
        assert_eq!(
            Verdict::of("rejected", Some("timestamp_too_old")),
            Verdict::Refused("timestamp_too_old".into())
        );
        assert_eq!(
            Verdict::of("rejected", Some("seq_conflict")),
            Verdict::Refused("seq_conflict".into())
        );
    }

    #[test]
    fn http_dates_read_as_unix_time() {
        assert_eq!(
            httpdate_ms("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(httpdate_ms("yesterday"), None);
    }
}
