//! The ingest rules over real HTTP: every kind of bad input gets its documented status and
//! error code, and the store holds exactly the accepted messages — on the embedded segment
//! store and on PostgreSQL.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use common::StoreSpec;
use groundwork_oracle::core::clock::FixedClock;
use groundwork_oracle::core::devices::{DeviceCache, DeviceInfo};
use groundwork_oracle::core::epochs::EpochSchedule;
use groundwork_oracle::core::metrics::Metrics;
use groundwork_oracle::core::peers::{FixedOracleSet, PeerKey};
use groundwork_oracle::ingest::api::router;
use groundwork_oracle::ingest::{Ingestor, LimitsConfig};
use groundwork_oracle::store::frame::FrameKind;
use groundwork_oracle::store::Store;
use groundwork_telemetry::{Key, SignedTelemetry, TelemetryBody, TelemetryV1};
use serde_json::{json, Value};

const NOW_MS: i64 = 1_790_000_000_000;
const NETWORK: Key = Key([42; 32]);
const HOUR_MS: i64 = 3_600_000;

/// Hour-long epochs from 100 hours ago, sealed 10 minutes after their end: a message of
/// NOW_MS - 1 s is in the open epoch 99, one of two hours ago in the sealed epoch 97.
fn schedule() -> EpochSchedule {
    EpochSchedule::new(NOW_MS - 100 * HOUR_MS, HOUR_MS, 600_000).unwrap()
}

/// A device with its secret seed.
struct Device {
    seed: [u8; 32],
    key: Key,
}

impl Device {
    fn new(byte: u8) -> Self {
        Device::from_seed([byte; 32])
    }

    /// One of many devices: the seed holds `number` (distinct from every `new` seed).
    fn numbered(number: u32) -> Self {
        let mut seed = [0xEE; 32];
        seed[..4].copy_from_slice(&number.to_le_bytes());
        Device::from_seed(seed)
    }

    fn from_seed(seed: [u8; 32]) -> Self {
        let key = Key(ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes());
        Device { seed, key }
    }

    fn message(&self, seq: u64) -> TelemetryV1 {
        TelemetryV1 {
            network: NETWORK,
            device: self.key,
            seq,
            timestamp_ms: NOW_MS - 1_000,
            body: TelemetryBody::Heartbeat {
                lat_e7: 377_749_000,
                lon_e7: -1_224_194_000,
                uptime_s: seq as u32,
                firmware: 1,
            },
        }
    }

    fn signed(&self, seq: u64) -> SignedTelemetry {
        self.message(seq).sign(&self.seed)
    }
}

/// The key of the one peer oracle the test oracles know.
fn peer_key() -> PeerKey {
    PeerKey::from_seed([77; 32])
}

struct TestOracle {
    url: String,
    store: Store,
    metrics: Arc<Metrics>,
    client: reqwest::Client,
}

impl TestOracle {
    async fn start(spec: &StoreSpec, devices: &[(&Device, bool)], limits: LimitsConfig) -> Self {
        let store = spec.open().await;
        let cache: HashMap<Key, DeviceInfo> = devices
            .iter()
            .map(|(device, suspended)| {
                (
                    device.key,
                    DeviceInfo {
                        suspended: *suspended,
                        class_id: 0,
                        location: 0x8c283082a30e7ff,
                    },
                )
            })
            .collect();
        let metrics = Arc::new(Metrics::default());
        let ingestor = Ingestor::new(
            NETWORK,
            limits,
            schedule(),
            Arc::new(DeviceCache::new(cache)),
            Arc::new(FixedClock::new(NOW_MS)),
            store.clone(),
            metrics.clone(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let oracles = Arc::new(FixedOracleSet(vec![peer_key().public()]));
        let app =
            router(Arc::new(ingestor), oracles).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestOracle {
            url: format!("http://{address}"),
            store,
            metrics,
            client: reqwest::Client::new(),
        }
    }

    async fn post_raw(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/v1/telemetry", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Sends `head` (request line and headers) and then `body` over a bare TCP connection and
    /// reads the reply. An HTTP client library cannot be used for an oversized body: the server
    /// answers 413 and closes while the client is still uploading, and the client then reports
    /// the reset instead of the reply. Here the body sent never exceeds what the server reads.
    async fn exchange_raw(&self, head: &str, body: &[u8]) -> (u16, Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut reply = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut reply),
        )
        .await
        .expect("the oracle answers an oversized body at once")
        .unwrap();
        let reply = String::from_utf8(reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    async fn post_binary(&self, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/v1/telemetry", self.url))
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, value: &Value) -> (u16, Value) {
        self.post_raw(value.to_string()).await
    }

    async fn post_signed(&self, signed: &SignedTelemetry) -> (u16, Value) {
        self.post(&serde_json::to_value(signed).unwrap()).await
    }

    /// Posts `signed` as forwarded for `source` (the oracle trusts 127.0.0.1 as a proxy in the
    /// tests that use this).
    async fn post_signed_from(&self, source: &str, signed: &SignedTelemetry) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/v1/telemetry", self.url))
            .header("content-type", "application/json")
            .header("x-forwarded-for", source)
            .body(serde_json::to_string(signed).unwrap())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` signed by `key` at `timestamp_ms` (as a peer oracle asks).
    async fn get_signed(&self, path: &str, key: &PeerKey, timestamp_ms: i64) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.url));
        for (name, value) in key.headers("GET", path, timestamp_ms) {
            request = request.header(name, value);
        }
        request.send().await.unwrap()
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// The (device, seq) of every message stored in the open epoch.
    async fn stored(&self) -> BTreeSet<(Key, i64)> {
        self.store
            .epoch_records(schedule().epoch_of(NOW_MS - 1_000).unwrap())
            .await
            .unwrap()
            .into_iter()
            .filter(|record| record.kind == FrameKind::Message)
            .map(|record| (record.device, record.seq as i64))
            .collect()
    }
}

fn assert_rejected(reply: &(u16, Value), status: u16, code: &str) {
    assert_eq!(reply.0, status, "reply {:?}", reply.1);
    assert_eq!(reply.1["error"], code, "reply {:?}", reply.1);
    assert!(reply.1["message"]
        .as_str()
        .is_some_and(|text| !text.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_its_status_and_code_and_only_good_ones_are_stored() {
    for spec in common::fresh_stores("http_matrix").await {
        eprintln!("bad-input matrix on {}", spec.label());
        bad_input_matrix(&spec).await;
    }
}

async fn bad_input_matrix(spec: &StoreSpec) {
    let device = Device::new(1);
    let suspended = Device::new(2);
    let stranger = Device::new(3);
    let other = Device::new(4);
    // A day's window, so a message of two hours ago meets the seal, not the age limit (the
    // default window, one slot, has a test of its own).
    let limits = LimitsConfig {
        max_message_age: Some(std::time::Duration::from_secs(24 * 3_600)),
        ..LimitsConfig::default()
    };
    let oracle = TestOracle::start(
        spec,
        &[(&device, false), (&suspended, true), (&other, false)],
        limits,
    )
    .await;
    let mut accepted = BTreeSet::new();

    // The good path.
    let reply = oracle.post_signed(&device.signed(10)).await;
    assert_eq!((reply.0, &reply.1["status"]), (200, &json!("accepted")));
    accepted.insert((device.key, 10));

    // Malformed JSON, wrong types, not an object.
    assert_rejected(
        &oracle.post_raw("{\"network\": ").await,
        400,
        "malformed_json",
    );
    let mut wrong_type = serde_json::to_value(device.signed(11)).unwrap();
    wrong_type["seq"] = json!("eleven");
    assert_rejected(&oracle.post(&wrong_type).await, 422, "invalid_message");
    assert_rejected(&oracle.post(&json!(17)).await, 400, "malformed_json");
    // Oversized body: declared by Content-Length (refused before the body is read), and sent
    // chunked without a length (refused once it passes the limit).
    let limit = LimitsConfig::default().max_body_bytes;
    let declared = format!(
        "POST /v1/telemetry HTTP/1.1\r\nhost: oracle\r\nconnection: close\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        limit + 1
    );
    assert_rejected(
        &oracle.exchange_raw(&declared, b"").await,
        413,
        "body_too_large",
    );
    let chunked_head = "POST /v1/telemetry HTTP/1.1\r\nhost: oracle\r\nconnection: close\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    let mut chunk = format!("{:x}\r\n", limit + 1).into_bytes();
    chunk.extend(std::iter::repeat_n(b' ', limit + 1));
    assert_rejected(
        &oracle.exchange_raw(chunked_head, &chunk).await,
        413,
        "body_too_large",
    );
    // Too many messages.
    let many = Value::Array(vec![json!({}); 1_001]);
    assert_rejected(&oracle.post(&many).await, 413, "too_many_messages");
    // Unknown, suspended, wrong network.
    assert_rejected(
        &oracle.post_signed(&stranger.signed(1)).await,
        403,
        "unknown_device",
    );
    assert_rejected(
        &oracle.post_signed(&suspended.signed(1)).await,
        403,
        "device_suspended",
    );
    let mut elsewhere = device.message(12);
    elsewhere.network = Key([7; 32]);
    assert_rejected(
        &oracle.post_signed(&elsewhere.sign(&device.seed)).await,
        422,
        "wrong_network",
    );
    // A bad signature, and another device's signature.
    let mut flipped = device.signed(13);
    flipped.signature[0] ^= 1;
    assert_rejected(&oracle.post_signed(&flipped).await, 401, "bad_signature");
    let forged = device.message(13).sign(&other.seed);
    assert_rejected(&oracle.post_signed(&forged).await, 401, "bad_signature");
    // Timestamps outside [now - 24 h, now + 60 s].
    let mut future = device.message(14);
    future.timestamp_ms = NOW_MS + 61_000;
    assert_rejected(
        &oracle.post_signed(&future.sign(&device.seed)).await,
        422,
        "timestamp_in_future",
    );
    let mut old = device.message(14);
    old.timestamp_ms = NOW_MS - 24 * 3_600_000 - 1;
    assert_rejected(
        &oracle.post_signed(&old.sign(&device.seed)).await,
        422,
        "timestamp_too_old",
    );
    // Inside the window but in an epoch sealed at its end plus the grace.
    let mut late = device.message(14);
    late.timestamp_ms = NOW_MS - 2 * HOUR_MS;
    assert_rejected(
        &oracle.post_signed(&late.sign(&device.seed)).await,
        422,
        "epoch_sealed",
    );
    // Replay: acknowledged as a duplicate, stored once.
    let replay = oracle.post_signed(&device.signed(10)).await;
    assert_eq!((replay.0, &replay.1["status"]), (200, &json!("duplicate")));
    // A lower seq never seen, and the same seq with other content.
    assert_rejected(
        &oracle.post_signed(&device.signed(5)).await,
        409,
        "stale_seq",
    );
    let mut clone = device.message(10);
    clone.body = TelemetryBody::Beacon {
        frequency_hz: 1,
        nonce: [9; 16],
    };
    assert_rejected(
        &oracle.post_signed(&clone.sign(&device.seed)).await,
        409,
        "seq_conflict",
    );

    // A batch: per-message statuses; 207 since not every message was accepted.
    let batch = json!([serde_json::to_value(device.signed(20)).unwrap(), serde_json::to_value(stranger.signed(2)).unwrap(), serde_json::to_value(device.signed(20)).unwrap(), {"seq": 1}]);
    let (status, reply) = oracle.post(&batch).await;
    assert_eq!(status, 207);
    assert_eq!(
        (
            reply["accepted"].as_u64(),
            reply["duplicates"].as_u64(),
            reply["rejected"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
    assert_eq!(reply["results"][0]["status"], "accepted");
    assert_eq!(reply["results"][1]["error"], "unknown_device");
    assert_eq!(reply["results"][2]["status"], "duplicate");
    assert_eq!(reply["results"][3]["error"], "invalid_message");
    accepted.insert((device.key, 20));

    // Flood: the device's burst is 60 (two accepted already); the rest are rate limited.
    let flood: Vec<Value> = (100..170)
        .map(|seq| serde_json::to_value(other.signed(seq)).unwrap())
        .collect();
    let (status, reply) = oracle.post(&Value::Array(flood)).await;
    assert_eq!(status, 207);
    assert_eq!(reply["accepted"].as_u64(), Some(60));
    assert_eq!(reply["results"][60]["error"], "rate_limited");
    for seq in 100..160 {
        accepted.insert((other.key, seq));
    }

    assert_eq!(oracle.stored().await, accepted);

    // The device view and the metrics.
    let (status, body) = oracle.get(&format!("/v1/devices/{}", device.key)).await;
    assert_eq!(status, 200);
    let view: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            view["accepted"].as_i64(),
            view["conflicts"].as_i64(),
            view["latest_seq"].as_i64()
        ),
        (Some(2), Some(1), Some(20))
    );
    assert_eq!(view["latest"]["seq"], 20);
    assert_eq!(
        oracle.get(&format!("/v1/devices/{}", stranger.key)).await.0,
        404
    );
    assert_eq!(oracle.get("/v1/devices/not-a-key").await.0, 400);
    // An all-good batch is a plain 200.
    let good = json!([serde_json::to_value(device.signed(21)).unwrap()]);
    assert_eq!(oracle.post(&good).await.0, 200);
    accepted.insert((device.key, 21));
    assert_eq!(oracle.stored().await, accepted);
    let metrics = oracle.metrics.render();
    assert!(
        metrics.contains("groundwork_telemetry_accepted_total 63"),
        "{metrics}"
    );
    assert!(metrics.contains("groundwork_telemetry_duplicate_total 2"));
    assert!(metrics.contains("groundwork_telemetry_rejected_total{reason=\"seq_conflict\"} 1"));
    assert!(metrics.contains("groundwork_telemetry_rejected_total{reason=\"rate_limited\"} 10"));
    assert!(metrics.contains("groundwork_ingest_latency_seconds_count"));
    // Requests refused as a whole are counted too.
    assert!(
        metrics.contains("groundwork_requests_refused_total{reason=\"body_too_large\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("groundwork_requests_refused_total{reason=\"malformed_json\"} 2"));
    assert!(metrics.contains("groundwork_requests_refused_total{reason=\"too_many_messages\"} 1"));
}

/// A body that does not arrive in time is refused (408) and the connection freed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_refused() {
    let device = Device::new(50);
    let limits = LimitsConfig {
        body_timeout: std::time::Duration::from_millis(300),
        ..LimitsConfig::default()
    };
    let spec = common::fresh_stores("http_slow_body").await.remove(0);
    let oracle = TestOracle::start(&spec, &[(&device, false)], limits).await;
    let head = "POST /v1/telemetry HTTP/1.1\r\nhost: oracle\r\nconnection: close\r\n\
                content-type: application/json\r\ncontent-length: 400\r\n\r\n";
    let started = std::time::Instant::now();
    let reply = oracle.exchange_raw(head, b"{\"network\": ").await;
    assert_rejected(&reply, 408, "body_timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(oracle.stored().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_address_beyond_its_rate_limit_is_refused() {
    let devices: Vec<Device> = (10..20).map(Device::new).collect();
    let registered: Vec<(&Device, bool)> = devices.iter().map(|device| (device, false)).collect();
    let limits = LimitsConfig {
        source_burst: 5,
        source_rate_per_s: 0.001,
        ..LimitsConfig::default()
    };
    let spec = common::fresh_stores("http_source_limit").await.remove(0);
    let oracle = TestOracle::start(&spec, &registered, limits).await;
    let mut statuses = Vec::new();
    for device in &devices {
        statuses.push(oracle.post_signed(&device.signed(1)).await);
    }
    assert!(statuses[..5].iter().all(|(status, _)| *status == 200));
    for reply in &statuses[5..] {
        assert_rejected(reply, 429, "rate_limited");
    }
    assert_eq!(oracle.stored().await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timestamp_window_and_the_seq_range_have_exact_edges() {
    let device = Device::new(21);
    let spec = common::fresh_stores("http_edges").await.remove(0);
    // By default the oldest accepted timestamp is one slot of verified work: an hour-long
    // epoch of 48 slots gives 75 s.
    let oracle = TestOracle::start(&spec, &[(&device, false)], LimitsConfig::default()).await;
    let at = |seq: u64, timestamp_ms: i64| {
        let mut message = device.message(seq);
        message.timestamp_ms = timestamp_ms;
        message.sign(&device.seed)
    };
    assert_rejected(
        &oracle.post_signed(&at(1, NOW_MS + 60_001)).await,
        422,
        "timestamp_in_future",
    );
    assert_eq!(oracle.post_signed(&at(2, NOW_MS + 60_000)).await.0, 200);
    assert_rejected(
        &oracle.post_signed(&at(3, NOW_MS - 75_001)).await,
        422,
        "timestamp_too_old",
    );
    assert_eq!(oracle.post_signed(&at(4, NOW_MS - 75_000)).await.0, 200);
    // A seq must stay below 2^63 (it is stored as a signed 64-bit number).
    assert_rejected(
        &oracle.post_signed(&device.signed(1 << 63)).await,
        422,
        "seq_out_of_range",
    );
    assert_eq!(
        oracle.post_signed(&device.signed((1 << 63) - 1)).await.0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_messages_spend_their_sources_budget_never_the_devices() {
    let device = Device::new(31);
    let impostor = Device::new(32);
    let bystander = Device::new(33);
    let limits = LimitsConfig {
        device_burst: 3,
        device_rate_per_s: 0.001,
        source_burst: 5,
        source_rate_per_s: 0.001,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..LimitsConfig::default()
    };
    let spec = common::fresh_stores("http_forged_flood").await.remove(0);
    let oracle = TestOracle::start(&spec, &[(&device, false), (&bystander, false)], limits).await;
    // Forty sources forge messages naming the device, more than its whole burst: each is
    // refused for its signature, none for the device's rate.
    for source in 0..40 {
        let forged = device.message(100 + source).sign(&impostor.seed);
        let source = format!("198.51.100.{source}");
        assert_rejected(
            &oracle.post_signed_from(&source, &forged).await,
            401,
            "bad_signature",
        );
    }
    // A source's own limit comes before any signature work: its sixth message is refused for
    // its rate, whatever it holds.
    let flooder = "203.0.113.7";
    for seq in 0..5 {
        let forged = device.message(200 + seq).sign(&impostor.seed);
        assert_rejected(
            &oracle.post_signed_from(flooder, &forged).await,
            401,
            "bad_signature",
        );
    }
    let reply = oracle.post_signed_from(flooder, &bystander.signed(1)).await;
    assert_rejected(&reply, 429, "rate_limited");
    assert!(
        reply.1["message"].as_str().unwrap().contains("source"),
        "{:?}",
        reply.1
    );
    // The device's whole burst is still there for its real messages (counted once verified),
    // replays of a message it sent (anyone can read the newest back) cost it nothing, and
    // only its own new messages beyond the burst are limited.
    let reply = oracle
        .post_signed_from("192.0.2.1", &device.signed(1))
        .await;
    assert_eq!(reply.0, 200, "{:?}", reply.1);
    for source in 0..50 {
        let reply = oracle
            .post_signed_from(&format!("198.51.100.{}", 100 + source), &device.signed(1))
            .await;
        assert_eq!(
            (reply.0, &reply.1["status"]),
            (200, &json!("duplicate")),
            "{:?}",
            reply.1
        );
    }
    for seq in 2..=3 {
        let reply = oracle
            .post_signed_from("192.0.2.1", &device.signed(seq))
            .await;
        assert_eq!(reply.0, 200, "{:?}", reply.1);
    }
    let reply = oracle
        .post_signed_from("192.0.2.1", &device.signed(4))
        .await;
    assert_rejected(&reply, 429, "rate_limited");
    assert!(
        reply.1["message"].as_str().unwrap().contains("device"),
        "{:?}",
        reply.1
    );
    let stored: Vec<i64> = oracle
        .stored()
        .await
        .into_iter()
        .map(|(_, seq)| seq)
        .collect();
    assert_eq!(stored, [1, 2, 3]);
}

/// A batch large enough to be checked in chunks across threads: every message's verdict is
/// reported at its own index, the seq order runs across chunk boundaries, and the store holds
/// exactly the accepted messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_checked_across_cores_keeps_each_verdict_at_its_index() {
    let devices: Vec<Device> = (30..34).map(Device::new).collect();
    let stranger = Device::new(99);
    let registered: Vec<(&Device, bool)> = devices.iter().map(|device| (device, false)).collect();
    let spec = common::fresh_stores("http_large_batch").await.remove(0);
    let oracle = TestOracle::start(&spec, &registered, LimitsConfig::default()).await;

    let mut batch = Vec::new();
    let mut expected = Vec::new();
    let mut accepted = BTreeSet::new();
    for index in 0..240u64 {
        let device = &devices[(index % 4) as usize];
        let seq = 1 + index / 4;
        let (signed, verdict) = match index {
            // A bad signature, an unknown device, a seq going back across chunks, a replay.
            _ if index % 37 == 5 => {
                let mut signed = device.signed(seq);
                signed.signature[0] ^= 1;
                (signed, "bad_signature")
            }
            _ if index % 41 == 7 => (stranger.signed(seq), "unknown_device"),
            // Device 0's seq 30 was refused at index 116 (bad signature): never stored.
            200 => (device.signed(30), "stale_seq"),
            201 => (device.signed(1), "duplicate"),
            202 => {
                let mut other_content = device.message(1);
                other_content.timestamp_ms -= 1;
                (other_content.sign(&device.seed), "seq_conflict")
            }
            _ => {
                accepted.insert((device.key, seq as i64));
                (device.signed(seq), "accepted")
            }
        };
        batch.push(serde_json::to_value(&signed).unwrap());
        expected.push(verdict);
    }
    assert_eq!(
        (expected[116], expected[201]),
        ("bad_signature", "duplicate")
    );
    let (status, reply) = oracle.post(&Value::Array(batch)).await;
    assert_eq!(status, 207);
    let observed: Vec<&str> = reply["results"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(index, result)| {
            assert_eq!(result["index"], index);
            result["error"]
                .as_str()
                .or(result["status"].as_str())
                .unwrap()
        })
        .collect();
    assert_eq!(observed, expected);
    assert_eq!(
        reply["accepted"].as_u64(),
        Some(accepted.len() as u64),
        "{reply}"
    );
    assert_eq!(oracle.stored().await, accepted);
}

/// The binary batch form: 1,000 messages fit the default 256 KiB body (their JSON does not),
/// each entry gets its own verdict, a message is the same whichever form carried it, and a
/// framing error refuses the whole batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_batch_of_a_thousand_messages_fits_the_default_limit() {
    use groundwork_telemetry::{encode_binary_batch, BINARY_BATCH_MEDIA_TYPE};
    let devices: Vec<Device> = (0..1_000).map(Device::numbered).collect();
    let stranger = Device::new(98);
    let registered: Vec<(&Device, bool)> = devices.iter().map(|device| (device, false)).collect();
    let spec = common::fresh_stores("http_binary").await.remove(0);
    let oracle = TestOracle::start(&spec, &registered, LimitsConfig::default()).await;

    let batch: Vec<SignedTelemetry> = devices.iter().map(|device| device.signed(1)).collect();
    let json = Value::Array(
        batch
            .iter()
            .map(|signed| serde_json::to_value(signed).unwrap())
            .collect(),
    );
    assert_rejected(&oracle.post(&json).await, 413, "body_too_large");
    let bytes = encode_binary_batch(&batch);
    assert!(bytes.len() < LimitsConfig::default().max_body_bytes);
    let (status, reply) = oracle
        .post_binary(BINARY_BATCH_MEDIA_TYPE, bytes.clone())
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 1_000);
    let every_first_message: BTreeSet<(Key, i64)> =
        devices.iter().map(|device| (device.key, 1)).collect();
    assert_eq!(oracle.stored().await, every_first_message);

    // The same batch again (with a media-type parameter), and one message in JSON: duplicates.
    let (status, reply) = oracle
        .post_binary(&format!("{BINARY_BATCH_MEDIA_TYPE}; v=1"), bytes.clone())
        .await;
    assert_eq!((status, &reply["duplicates"]), (200, &json!(1_000)));
    let again = oracle.post_signed(&devices[7].signed(1)).await;
    assert_eq!((again.0, &again.1["status"]), (200, &json!("duplicate")));

    // Per-entry verdicts: a bad signature, an unknown device, a good one (octet-stream).
    let mut forged = devices[1].signed(2);
    forged.signature[10] ^= 1;
    let mixed = encode_binary_batch(&[forged, stranger.signed(1), devices[2].signed(2)]);
    let (status, reply) = oracle
        .post_binary("application/octet-stream", mixed.clone())
        .await;
    assert_eq!(status, 207);
    assert_eq!(reply["results"][0]["error"], "bad_signature");
    assert_eq!(reply["results"][1]["error"], "unknown_device");
    assert_eq!(reply["results"][2]["status"], "accepted");

    // Framing errors refuse the whole batch; nothing of it is stored.
    let mut cut = encode_binary_batch(&[devices[3].signed(2), devices[4].signed(2)]);
    cut.truncate(cut.len() - 1);
    assert_rejected(
        &oracle.post_binary(BINARY_BATCH_MEDIA_TYPE, cut).await,
        400,
        "malformed_batch",
    );
    assert_rejected(
        &oracle
            .post_binary(BINARY_BATCH_MEDIA_TYPE, 1_001u32.to_le_bytes().to_vec())
            .await,
        413,
        "too_many_messages",
    );
    assert_rejected(
        &oracle
            .post_binary(BINARY_BATCH_MEDIA_TYPE, 0u32.to_le_bytes().to_vec())
            .await,
        400,
        "empty_batch",
    );
    // Binary bytes under a JSON media type are read as JSON.
    assert_rejected(
        &oracle.post_binary("application/json", mixed).await,
        400,
        "malformed_json",
    );
    let mut expected = every_first_message;
    expected.insert((devices[2].key, 2));
    assert_eq!(oracle.stored().await, expected);
}

/// A sealed epoch is served to peers: its state and manifest, then its frames and conflicting
/// copies in (device, seq) order; an open epoch is not served yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_epoch_is_served_to_peers_with_its_manifest() {
    for spec in common::fresh_stores("http_epoch_stream").await {
        let devices: Vec<Device> = (60..63).map(Device::new).collect();
        let registered: Vec<(&Device, bool)> =
            devices.iter().map(|device| (device, false)).collect();
        let oracle = TestOracle::start(&spec, &registered, LimitsConfig::default()).await;
        let epoch = schedule().epoch_of(NOW_MS - 1_000).unwrap();
        let mut batch = Vec::new();
        for device in &devices {
            for seq in 1..=4 {
                batch.push(serde_json::to_value(device.signed(seq)).unwrap());
            }
        }
        assert_eq!(oracle.post(&Value::Array(batch)).await.0, 200);
        let mut clone = devices[1].message(2);
        clone.body = TelemetryBody::Beacon {
            frequency_hz: 2,
            nonce: [1; 16],
        };
        assert_rejected(
            &oracle.post_signed(&clone.sign(&devices[1].seed)).await,
            409,
            "seq_conflict",
        );

        let (status, body) = oracle.get(&format!("/v1/epochs/{epoch}")).await;
        let state: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, &state["status"]), (200, &json!("open")));
        let telemetry = format!("/v1/epochs/{epoch}/telemetry");
        let reply = oracle.get_signed(&telemetry, &peer_key(), NOW_MS).await;
        assert_eq!(reply.status(), 409, "{:?}", reply.text().await);

        let sealed = oracle.store.seal_through(epoch).await.unwrap();
        let manifest = sealed
            .into_iter()
            .find(|manifest| manifest.epoch == epoch)
            .unwrap();
        let (status, body) = oracle.get(&format!("/v1/epochs/{epoch}")).await;
        let state: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, &state["status"]), (200, &json!("sealed")));
        assert_eq!(state["manifest"]["digest"], manifest.digest);
        // Only the network's oracles are served: an unsigned request, one signed by a key
        // outside the oracle set, and a signed request replayed after a minute are refused.
        let (status, body) = oracle.get(&telemetry).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "unsigned"
        );
        let stranger = PeerKey::from_seed([78; 32]);
        let reply = oracle.get_signed(&telemetry, &stranger, NOW_MS).await;
        assert_eq!(reply.status(), 403);
        assert_eq!(
            reply.json::<Value>().await.unwrap()["error"],
            "not_an_oracle"
        );
        let replayed = oracle
            .get_signed(&telemetry, &peer_key(), NOW_MS - 60_001)
            .await;
        assert_eq!(replayed.status(), 401);
        assert_eq!(
            replayed.json::<Value>().await.unwrap()["error"],
            "stale_signature"
        );
        let response = oracle.get_signed(&telemetry, &peer_key(), NOW_MS).await;
        assert_eq!(response.status(), 200);
        let bytes = response.bytes().await.unwrap();
        let (served, records) = groundwork_oracle::store::manifest::decode_stream(&bytes).unwrap();
        assert_eq!(served, manifest);
        assert_eq!((manifest.messages, manifest.conflicts), (12, 1));
        assert_eq!(records.len(), 13);
        // A peer recomputes the digest from what it received, and checks every signature.
        assert_eq!(
            groundwork_oracle::store::Manifest::of_sorted(epoch, &records).digest,
            manifest.digest
        );
        for record in &records {
            let message = TelemetryV1::from_canonical_bytes(&record.canonical).unwrap();
            assert!(groundwork_telemetry::verify_signature(
                &message.device,
                &record.canonical,
                &record.signature
            ));
        }
        assert_rejected(
            &oracle.post_signed(&devices[0].signed(5)).await,
            422,
            "epoch_sealed",
        );
    }
}
