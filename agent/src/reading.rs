//! A reading as the gateway's software writes it: one JSON object per line, either a telemetry
//! body as SPEC 4.1's JSON names it (`{"heartbeat": {"lat_e7": .., "lon_e7": .., "uptime_s":
//! .., "firmware": ..}}`, `{"data_session": {...}}`, `{"beacon": {...}}`, `{"witness": {...}}`),
//! or `{"timestamp_ms": T, "body": {...}}` when the reading happened at another time than its
//! arrival (a witness report of a beacon heard a moment ago).

use anyhow::{Context as _, Result};
use groundwork_telemetry::TelemetryBody;
use serde::Deserialize;

/// A reading to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// When it happened (unix ms); `None`: when the agent reads it.
    pub timestamp_ms: Option<i64>,
    pub body: TelemetryBody,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Timed {
    timestamp_ms: i64,
    body: TelemetryBody,
}

/// Reads one line; the error says what a line should look like.
pub fn parse_line(line: &str) -> Result<Reading> {
    let line = line.trim();
    if let Ok(body) = serde_json::from_str::<TelemetryBody>(line) {
        return Ok(Reading {
            timestamp_ms: None,
            body,
        });
    }
    let timed: Timed = serde_json::from_str(line).with_context(|| {
        "expected a telemetry body such as {\"heartbeat\": {\"lat_e7\": 377749000, \"lon_e7\": -1224194000, \"uptime_s\": 60, \"firmware\": 1}}, or {\"timestamp_ms\": T, \"body\": {...}}"
    })?;
    Ok(Reading {
        timestamp_ms: Some(timed.timestamp_ms),
        body: timed.body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_timed_bodies_are_read_and_anything_else_refused() {
        let heartbeat = parse_line(
            r#"{"heartbeat": {"lat_e7": 1, "lon_e7": 2, "uptime_s": 3, "firmware": 4}}"#,
        )
        .unwrap();
        assert_eq!(
            heartbeat,
            Reading {
                timestamp_ms: None,
                body: TelemetryBody::Heartbeat {
                    lat_e7: 1,
                    lon_e7: 2,
                    uptime_s: 3,
                    firmware: 4
                }
            }
        );
        let timed = parse_line(
            r#"{"timestamp_ms": 1796630400000, "body": {"beacon": {"frequency_hz": 868100000, "nonce": "000102030405060708090a0b0c0d0e0f"}}}"#,
        )
        .unwrap();
        assert_eq!(timed.timestamp_ms, Some(1_796_630_400_000));
        for bad in [
            "",
            "heartbeat",
            r#"{"heartbeat": {"lat_e7": 1}}"#,
            r#"{"teleport": {}}"#,
            r#"{"timestamp_ms": "soon", "body": {"heartbeat": {"lat_e7": 1, "lon_e7": 2, "uptime_s": 3, "firmware": 4}}}"#,
        ] {
            let error = format!("{:#}", parse_line(bad).unwrap_err());
            assert!(
                error.contains("expected a telemetry body"),
                "{bad}: {error}"
            );
        }
    }
}
