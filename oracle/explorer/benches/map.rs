//! The explorer at scale: 100,000 generated devices over 3 verified epochs
//! (`GROUNDWORK_EXPLORER_BENCH_DEVICES` sets another count), served by the explorer's routes
//! on 127.0.0.1.
//!
//! Prints: the index made on the first request (and the floor, the newest report decoded
//! alone), each map answer's time and size from the whole world down to one street, and an
//! HTTP round trip on loopback (a 304 revalidation) as that floor; then, where Debian's
//! Chromium and `npm ci` in oracle/explorer/web are there, the page in headless Chromium
//! (web/test/measure.mjs): time to the first map drawn, bytes transferred, frame times while
//! dragging, the answer after each pan and zoom, and the same requests fetched and parsed
//! without drawing as the browser's floor.
//!
//!   cargo bench -p groundwork-oracle-explorer --bench map

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use groundwork_oracle_explorer::Explorer;
use groundwork_oracle_rewards::report::Reports;
use groundwork_oracle_rewards::VerifyParams;

const EPOCHS: u64 = 3;

fn main() {
    let devices: usize = std::env::var("GROUNDWORK_EXPLORER_BENCH_DEVICES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let reports_dir = dir.path().join("reports");
    let view_dir = dir.path().join("chain-view");
    let started = Instant::now();
    let generated = common::generate(devices, EPOCHS, &reports_dir, &view_dir);
    println!(
        "generated {devices} devices over {EPOCHS} epochs in {:.1} s (reports {} MB each)",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(Reports::new(&reports_dir).path(generated.newest))
            .unwrap()
            .len()
            / 1_000_000
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(measure(devices, &generated, &reports_dir, &view_dir));
}

async fn measure(
    devices: usize,
    generated: &common::Generated,
    reports_dir: &Path,
    view_dir: &Path,
) {
    let chain = Arc::new(common::agreeing_chain(generated, [generated.root; 3]));
    let explorer = Explorer::new(
        Reports::new(reports_dir),
        view_dir.to_path_buf(),
        chain,
        VerifyParams::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, explorer.router()).await });
    // A browser's client (asks for gzip and decodes it) and one that asks for nothing.
    let client = reqwest::Client::new();
    let plain = reqwest::Client::builder().no_gzip().build().unwrap();

    // The index: made once, on the first request.
    let started = Instant::now();
    let network = client
        .get(format!("{url}/v1/explorer/network"))
        .send()
        .await
        .unwrap();
    assert_eq!(network.status(), 200);
    let network_bytes = network.bytes().await.unwrap().len();
    let index_s = started.elapsed().as_secs_f64();
    let reports = Reports::new(reports_dir);
    let started = Instant::now();
    let newest = reports.load(generated.newest).unwrap().unwrap();
    let decode_s = started.elapsed().as_secs_f64();
    drop(newest);
    println!(
        "index of {EPOCHS} epochs made on the first request: {index_s:.2} s (floor: the newest report read and decoded alone, {decode_s:.2} s; {EPOCHS} reports and snapshots are read); network page answer {network_bytes} bytes"
    );

    // The HTTP floor on loopback: a revalidation answered 304 with no body.
    let etag = client
        .get(format!("{url}/explorer/"))
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let floor = median_of(50, || async {
        let response = client
            .get(format!("{url}/explorer/"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304);
    })
    .await;
    println!(
        "HTTP round trip on loopback (304, the floor of any answer): {:.2} ms",
        floor.as_secs_f64() * 1e3
    );

    // Map answers from the whole world down to one street.
    let (lat, lng) = {
        let key = generated.zeroed.values().next().unwrap()[0];
        let device: serde_json::Value = client
            .get(format!("{url}/v1/explorer/devices/{key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            device["position"]["lat"].as_f64().unwrap(),
            device["position"]["lng"].as_f64().unwrap(),
        )
    };
    println!("map answers (median of 20; {devices} devices):");
    for (label, half_width, zoom) in [
        ("world, zoom 1.5", 360.0, 1.5),
        ("continent, zoom 4", 25.0, 4.0),
        ("region, zoom 7", 3.0, 7.0),
        ("town, zoom 10", 0.4, 10.0),
        ("street, zoom 14", 0.02, 14.0),
    ] {
        let view = format!(
            "{url}/v1/explorer/map?west={}&south={}&east={}&north={}&zoom={zoom}",
            (lng - half_width).max(-180.0),
            (lat - half_width / 2.0).max(-85.0),
            (lng + half_width).min(180.0),
            (lat + half_width / 2.0).min(85.0),
        );
        let answer: serde_json::Value = client
            .get(&view)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // As sent: plain to a client that does not ask for gzip, gzipped to one that does
        // (a browser); the times are whole answers received (and decoded, for gzip).
        let sent = |gzip: bool| {
            let request = plain.get(&view);
            let request = if gzip {
                request.header("accept-encoding", "gzip")
            } else {
                request
            };
            async move { request.send().await.unwrap().bytes().await.unwrap().len() }
        };
        let (bytes, gzipped_bytes) = (sent(false).await, sent(true).await);
        let answered_by = |client: &reqwest::Client| {
            let request = client.get(&view);
            async move {
                request.send().await.unwrap().bytes().await.unwrap();
            }
        };
        let time = median_of(20, || answered_by(&plain)).await;
        let gzipped_time = median_of(20, || answered_by(&client)).await;
        println!(
            "  {label:<18} {:>7.2} ms {:>9} bytes; gzipped {:>7.2} ms {:>8} bytes  {} {} ({} devices in view)",
            time.as_secs_f64() * 1e3,
            bytes,
            gzipped_time.as_secs_f64() * 1e3,
            gzipped_bytes,
            answer[if answer["mode"] == "clusters" {
                "clusters"
            } else {
                "devices"
            }]
            .as_array()
            .unwrap()
            .len(),
            answer["mode"].as_str().unwrap(),
            answer["in_view"]
        );
    }

    // The page in headless Chromium.
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let chromium =
        std::env::var("GROUNDWORK_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() || !web.join("node_modules/playwright-core").exists() {
        println!(
            "the page in headless Chromium: not measured (needs {chromium} and npm ci in {})",
            web.display()
        );
        return;
    }
    let output = tokio::process::Command::new("node")
        .current_dir(&web)
        .args(["test/measure.mjs", "--url", &url, "--chromium", &chromium])
        .output()
        .await
        .expect("node runs the measurement");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    println!("the page in headless Chromium (1280x800):");
    println!(
        "  first map drawn with its devices {} ms after navigation ({} ms measured outside), {} requests, {} bytes transferred",
        seen["first_render_ms"], seen["first_render_wall_ms"], seen["transferred"]["requests"], seen["transferred"]["bytes"]
    );
    for request in seen["transferred"]["by_request"].as_array().unwrap() {
        println!(
            "    {:<70} {:>8} bytes {:>5} ms",
            request["name"].as_str().unwrap(),
            request["bytes"],
            request["ms"]
        );
    }
    println!(
        "  first view: {}",
        seen["first_view"]["status"].as_str().unwrap_or("?")
    );
    println!(
        "  canvas redraws while dragging and zooming: {} draws, median {} ms, p95 {} ms, max {} ms",
        seen["draws"]["count"],
        seen["draws"]["median_ms"],
        seen["draws"]["p95_ms"],
        seen["draws"]["max_ms"]
    );
    for answer in seen["answers"].as_array().unwrap() {
        println!(
            "  {:<10} answered {:>4} ms after the gesture (120 ms of it the wait for the gesture's end): {} {} drawn, {} devices in view",
            answer["label"].as_str().unwrap(),
            answer["answered_ms"],
            answer["drawn"].as_str().unwrap_or("?"),
            answer["mode"].as_str().unwrap_or("?"),
            answer["devicesInView"].as_str().unwrap_or("?")
        );
    }
    println!(
        "  floor: the base map and the world view fetched and parsed without drawing: {} ms, {} bytes",
        seen["floor"]["fetch_and_parse_ms"], seen["floor"]["bytes"]
    );
    println!("  console errors: {}", seen["console_errors"]);
}

async fn median_of<F, Fut>(runs: usize, mut run: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        run().await;
        times.push(started.elapsed());
    }
    times.sort();
    times[runs / 2]
}
