//! The agent's throughput on one core: readings signed, journaled (fsync'd once per round of
//! 1,000), sent in batches and resolved, all on this one thread — and, measured in the same
//! run, the ceilings of that core: ed25519 signing alone, and signing plus journaling without
//! sending.
//!
//! The batches go to a receiver on another thread that reads each binary batch whole and
//! answers every message accepted: a real oracle holds one device to 1 message a second
//! (SPEC 4.2), so it would measure its limit, not the agent. Run with
//! `cargo bench -p groundwork-agent --bench agent`.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use axum::{Json, Router};
use groundwork_agent::outbox::Outbox;
use groundwork_agent::sender::{Sender, Verdict};
use groundwork_telemetry::{sign_bytes, Key, TelemetryBody, TelemetryV1};

const MESSAGES: usize = 200_000;
const ROUND: usize = 1_000;

fn heartbeat(id: usize) -> TelemetryBody {
    TelemetryBody::Heartbeat {
        lat_e7: 377_749_000,
        lon_e7: -1_224_194_000,
        uptime_s: id as u32,
        firmware: 1,
    }
}

/// Answers every message of a binary batch accepted, after reading the batch whole.
async fn accept_all(body: Bytes) -> Json<serde_json::Value> {
    let count = u32::from_le_bytes(body[..4].try_into().unwrap_or_default()) as usize;
    let results: Vec<serde_json::Value> = (0..count)
        .map(|index| serde_json::json!({ "status": "accepted", "index": index }))
        .collect();
    Json(
        serde_json::json!({ "accepted": count, "duplicates": 0, "rejected": 0, "results": results }),
    )
}

fn main() {
    let seed = [42u8; 32];
    let (device, _) = sign_bytes(&seed, b"");
    let network = Key([7u8; 32]);

    // Ceiling 1: signing alone.
    let started = Instant::now();
    for id in 0..MESSAGES {
        let message = TelemetryV1 {
            network,
            device,
            seq: id as u64 + 1,
            timestamp_ms: 1_796_630_400_000,
            body: heartbeat(id),
        };
        std::hint::black_box(message.sign(&seed));
    }
    let signing = MESSAGES as f64 / started.elapsed().as_secs_f64();

    // Ceiling 2: signing and journaling (one fsync per round), nothing sent.
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(&dir.path().join("journal"), seed, network, device, 1).unwrap();
    let started = Instant::now();
    for round in 0..MESSAGES / ROUND {
        for id in 0..ROUND {
            outbox
                .append(1_796_630_400_000, heartbeat(round * ROUND + id))
                .unwrap();
        }
        outbox.sync().unwrap();
        outbox.resolve_front(ROUND).unwrap();
    }
    let journaling = MESSAGES as f64 / started.elapsed().as_secs_f64();

    // The agent's work: sign, journal, send in batches of 1,000, resolve.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let app = Router::new()
            .route("/v1/telemetry", post(accept_all))
            .layer(axum::extract::DefaultBodyLimit::max(1 << 20));
        axum::serve(listener, app).await.unwrap();
    });
    let mut sender = Sender::new(vec![format!("http://{address}")]).unwrap();
    let mut outbox = Outbox::open(&dir.path().join("agent"), seed, network, device, 1).unwrap();
    let started = Instant::now();
    let mut accepted = 0usize;
    for round in 0..MESSAGES / ROUND {
        for id in 0..ROUND {
            outbox
                .append(1_796_630_400_000, heartbeat(round * ROUND + id))
                .unwrap();
        }
        outbox.sync().unwrap();
        let batch: Vec<_> = outbox.pending().iter().collect();
        let reply = sender.send(&batch).unwrap();
        accepted += reply
            .verdicts
            .iter()
            .filter(|verdict| **verdict == Verdict::Accepted)
            .count();
        outbox.resolve_front(reply.verdicts.len()).unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(accepted, MESSAGES);
    let agent = MESSAGES as f64 / elapsed.as_secs_f64();
    println!("groundwork-agent on one core, {MESSAGES} heartbeats in batches of {ROUND}:");
    println!("  ceiling: ed25519 signing alone       {signing:>10.0} messages/s");
    println!("  ceiling: signing + journal (fsync)   {journaling:>10.0} messages/s");
    println!(
        "  signed, journaled, sent and resolved {agent:>10.0} messages/s ({:.1} s)",
        elapsed.as_secs_f64()
    );
    std::thread::sleep(Duration::from_millis(10));
}
