//! The explorer's routes over a generated oracle state (3,000 devices, 3 verified epochs) and a
//! chain whose votes, active root, claims and totals the test sets: what each page reads, the
//! map's clusters and devices, the search box, bad input refused with its reason, the page's
//! embedded files, a recomputed report picked up; and a chain that hangs, which costs the
//! network page one read timeout.

mod common;

use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_chain::{ActiveRoot, EpochTiming, EpochVotes, NetworkTotals, StaticChain};
use groundwork_oracle_chain::{Chain, ChainFuture};
use groundwork_oracle_explorer::{Explorer, CHAIN_READ_TIMEOUT, INDEX_FRESH};
use groundwork_oracle_rewards::report::Reports;
use groundwork_oracle_rewards::VerifyParams;
use serde_json::Value;

const DEVICES: usize = 3_000;
const EPOCHS: u64 = 3;

struct Served {
    url: String,
    client: reqwest::Client,
}

impl Served {
    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }
}

async fn serve(explorer: Explorer) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, explorer.router()).await });
    Served {
        url,
        client: reqwest::Client::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_answers_every_page_from_the_oracles_state() {
    let dir = tempfile::tempdir().unwrap();
    let reports_dir = dir.path().join("reports");
    let view_dir = dir.path().join("chain-view");
    let generated = common::generate(DEVICES, EPOCHS, &reports_dir, &view_dir);
    let newest = generated.newest;

    let chain = Arc::new(common::agreeing_chain(
        &generated,
        [generated.root, generated.root, [9; 32]],
    ));
    let oracles = common::oracles();
    let operator = generated.operators[0];
    let operator_cumulative = generated.cumulative[&operator];
    chain.set_claimed(operator, operator_cumulative / 3);
    chain.set_network_totals(NetworkTotals {
        supply: 1_000_000_000_000,
        decimals: 6,
        max_supply: 10_000_000_000_000,
        minted_total: common::MINTED * EPOCHS,
        burned_total: common::BURNED * EPOCHS,
        device_pool_cumulative: common::MINTED * 7 / 10 * EPOCHS,
        total_claimed: operator_cumulative / 3,
    });
    let served = serve(Explorer::new(
        Reports::new(&reports_dir),
        view_dir.clone(),
        chain.clone(),
        VerifyParams::default(),
    ))
    .await;

    // The network: every epoch newest first, the chain's numbers, the votes and agreement.
    let network = served.ok("/v1/explorer/network").await;
    assert_eq!(network["newest_verified_epoch"], newest);
    assert_eq!(network["devices"], DEVICES);
    let epochs = network["epochs"].as_array().unwrap();
    assert_eq!(
        epochs
            .iter()
            .map(|e| e["epoch"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        (0..EPOCHS).rev().collect::<Vec<_>>()
    );
    for epoch in epochs {
        assert_eq!(epoch["chain"]["minted"], common::MINTED);
        let n = epoch["epoch"].as_u64().unwrap();
        assert_eq!(
            epoch["chain"]["supply_after_mint"],
            common::SUPPLY + (common::MINTED - common::BURNED) * (n + 1)
        );
        assert_eq!(
            epoch["chain"]["total_claimed"],
            common::CLAIMED_PER_EPOCH * n
        );
        assert_eq!(epoch["chain"]["burned_for_credits"], common::BURNED);
        let standings: u64 = epoch["standings"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(standings, DEVICES as u64, "{epoch}");
        assert_eq!(
            epoch["paid"].as_u64().unwrap() + epoch["dust"].as_u64().unwrap(),
            epoch["pool"].as_u64().unwrap()
        );
    }
    let newest_row = &epochs[0];
    assert_eq!(newest_row["root"], hex::encode(generated.root));
    assert_eq!(newest_row["status"], "active");
    assert_eq!(newest_row["activates_at"], common::ACTIVATED_AT);
    assert_eq!(newest_row["standings"]["earned"], generated.earned);
    let matches: Vec<bool> = newest_row["votes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|vote| vote["matches_this_oracle"].as_bool().unwrap())
        .collect();
    assert_eq!(matches, [true, true, false]);
    // Older epochs' records are gone (settled) on this chain: no votes, the status says so.
    assert!(epochs[1]["votes"].is_null());
    assert_eq!(
        epochs[1]["status"],
        "settled: its record was closed on chain"
    );
    let agreement: Vec<(String, u64, u64)> = network["oracles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["oracle"].as_str().unwrap().to_string(),
                o["agrees"].as_u64().unwrap(),
                o["differs"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        agreement.contains(&(oracles[2].to_string(), 0, 1)),
        "{agreement:?}"
    );
    assert!(
        agreement.contains(&(oracles[0].to_string(), 1, 0)),
        "{agreement:?}"
    );
    assert_eq!(network["totals"]["decimals"], 6);
    assert_eq!(
        network["totals"]["unclaimed"],
        common::MINTED * 7 / 10 * EPOCHS - operator_cumulative / 3
    );

    // The map: the whole world clustered (every device counted once), one town's devices one
    // by one with their hexagons.
    let world = served
        .ok("/v1/explorer/map?west=-180&south=-85&east=180&north=85&zoom=1.5")
        .await;
    assert_eq!(world["mode"], "clusters");
    let clusters = world["clusters"].as_array().unwrap();
    assert!(clusters.len() <= groundwork_oracle_explorer::index::MAX_MAP_CLUSTERS);
    let clustered: u64 = clusters
        .iter()
        .map(|c| c["devices"].as_u64().unwrap())
        .sum();
    assert_eq!(clustered, DEVICES as u64);
    assert_eq!(world["in_view"], DEVICES);
    let by_standing: u64 = clusters
        .iter()
        .flat_map(|c| c["standings"].as_array().unwrap().clone())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_standing, DEVICES as u64);
    let zeroed_key = generated.zeroed["impossible_movement"][0];
    let zeroed = served
        .ok(&format!("/v1/explorer/devices/{zeroed_key}"))
        .await;
    let (lat, lng) = (
        zeroed["position"]["lat"].as_f64().unwrap(),
        zeroed["position"]["lng"].as_f64().unwrap(),
    );
    let town = served
        .ok(&format!(
            "/v1/explorer/map?west={}&south={}&east={}&north={}&zoom=15",
            lng - 0.01,
            lat - 0.01,
            lng + 0.01,
            lat + 0.01
        ))
        .await;
    assert_eq!(town["mode"], "devices");
    let drawn = town["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == zeroed_key.to_string())
        .expect("the zeroed device is drawn in its town");
    assert_eq!(drawn["standing"], "zeroed");
    assert_eq!(drawn["reason"], "impossible_movement");
    assert_eq!(drawn["boundary"].as_array().unwrap().len(), 6);
    // Zoomed out to where a hexagon is under a few pixels, devices come as dots, no corners.
    let dots = served
        .ok(&format!(
            "/v1/explorer/map?west={}&south={}&east={}&north={}&zoom=9",
            lng - 0.01,
            lat - 0.01,
            lng + 0.01,
            lat + 0.01
        ))
        .await;
    assert_eq!(dots["mode"], "devices");
    assert!(dots["devices"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["boundary"].as_array().unwrap().is_empty()));
    for bad in [
        "/v1/explorer/map?west=-10&south=10&east=10&north=-10&zoom=3",
        "/v1/explorer/map?west=-10&south=-10&east=10&north=10&zoom=NaN",
        "/v1/explorer/map?west=-190&south=-10&east=10&north=10&zoom=3",
        "/v1/explorer/map?west=-10&south=-10&east=10&north=10",
    ] {
        let (status, body) = served.get(bad).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("bad_view")),
            "{bad}: {body}"
        );
    }

    // A device's page: its standing, operator, recipient and what its recipient may claim.
    assert_eq!(zeroed["standing"], "zeroed");
    assert_eq!(zeroed["reason"], "impossible_movement");
    assert_eq!(zeroed["epoch"], newest);
    assert_eq!(zeroed["amount"], 0);
    let recipient: Pubkey = zeroed["recipient"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        zeroed["claim"]["cumulative"],
        generated.cumulative.get(&recipient).copied().unwrap_or(0)
    );
    let (status, body) = served
        .get(&format!("/v1/explorer/devices/{}", Pubkey::new_unique()))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("device_not_found"))
    );
    let (status, body) = served.get("/v1/explorer/devices/not-a-key").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_key")));

    // An operator's page: its devices, its totals per epoch, its claim.
    let page = served
        .ok(&format!("/v1/explorer/operators/{operator}"))
        .await;
    assert_eq!(page["device_count"], DEVICES / generated.operators.len());
    let earned: u64 = page["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_u64().unwrap())
        .sum();
    assert_eq!(earned, operator_cumulative);
    assert_eq!(
        page["claim"]["claimable"],
        operator_cumulative - operator_cumulative / 3
    );
    assert_eq!(page["claim"]["claimed"], operator_cumulative / 3);
    let listed: Vec<u64> = page["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["amount"].as_u64().unwrap())
        .collect();
    assert!(
        listed.windows(2).all(|pair| pair[0] >= pair[1]),
        "highest earners first"
    );
    let recipient_page = served
        .ok(&format!("/v1/explorer/recipients/{operator}"))
        .await;
    assert_eq!(recipient_page["cumulative"], operator_cumulative);
    assert_eq!(recipient_page["device_count"], page["device_count"]);
    let (status, _) = served
        .get(&format!("/v1/explorer/operators/{}", Pubkey::new_unique()))
        .await;
    assert_eq!(status, 404);

    // Search: a whole key, a prefix, too short, too long.
    let key = generated.devices[17].to_string();
    let found = served.ok(&format!("/v1/explorer/search?q={key}")).await;
    assert_eq!(found["results"][0]["key"], key.as_str());
    assert_eq!(found["results"][0]["kind"], "device");
    let prefix = served
        .ok(&format!("/v1/explorer/search?q={}", &key[..6]))
        .await;
    assert!(prefix["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["key"] == key.as_str()));
    let operator_found = served
        .ok(&format!("/v1/explorer/search?q={operator}"))
        .await;
    let kinds: Vec<&str> = operator_found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["operator", "recipient"]);
    assert_eq!(
        served.ok("/v1/explorer/search?q=ab").await["results"],
        Value::Array(vec![])
    );
    let (status, body) = served
        .get(&format!("/v1/explorer/search?q={}", "x".repeat(65)))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("query_too_long"))
    );

    // The page's files: served from the binary, with their type, a policy that loads nothing
    // from elsewhere, and revalidated by ETag.
    let client = &served.client;
    let index = client
        .get(format!("{}/explorer/", served.url))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    let policy = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
    let etag = index.headers()["etag"].to_str().unwrap().to_string();
    assert!(index
        .text()
        .await
        .unwrap()
        .contains("src=\"/explorer/app.js\""));
    let again = client
        .get(format!("{}/explorer/", served.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["vary"], "accept-encoding");
    // Weak comparison: the tag's strong form, a list holding it, and `*` match too; another
    // tag does not.
    assert!(etag.starts_with("W/\""), "{etag}");
    let strong = etag.trim_start_matches("W/").to_string();
    for (if_none_match, status) in [
        (strong.clone(), 304),
        (format!("\"other\", {strong}"), 304),
        ("*".to_string(), 304),
        ("\"other\"".to_string(), 200),
    ] {
        let answer = client
            .get(format!("{}/explorer/", served.url))
            .header("if-none-match", &if_none_match)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "If-None-Match: {if_none_match}");
    }
    for asset in groundwork_oracle_explorer::assets::ASSETS {
        let response = client
            .get(format!("{}/explorer/{}", served.url, asset.name))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", asset.name);
        assert_eq!(response.headers()["content-type"], asset.content_type);
        assert_eq!(response.bytes().await.unwrap().len(), asset.bytes.len());
    }
    // Gzipped for a client that accepts it: the country outlines travel in a fraction of their
    // size and decode to the same bytes; a client that does not ask gets them as they are.
    let outlines = groundwork_oracle_explorer::assets::ASSETS
        .iter()
        .find(|asset| asset.name == "countries-110m.json")
        .unwrap();
    let url = format!("{}/explorer/{}", served.url, outlines.name);
    let plain = reqwest::Client::builder().no_gzip().build().unwrap();
    let identity = plain.get(&url).send().await.unwrap();
    assert!(identity.headers().get("content-encoding").is_none());
    assert_eq!(identity.bytes().await.unwrap().as_ref(), outlines.bytes);
    let gzipped = plain
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert!(gzipped.headers()["vary"]
        .to_str()
        .unwrap()
        .contains("accept-encoding"));
    let gzipped_len = gzipped.bytes().await.unwrap().len();
    assert!(
        gzipped_len * 2 < outlines.bytes.len(),
        "{gzipped_len} bytes gzipped of {}",
        outlines.bytes.len()
    );
    let decoded = client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(decoded.as_ref(), outlines.bytes);
    let (status, body) = served.get("/explorer/secrets.toml").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("no_such_file"))
    );

    // Offline devices (unseen, so unheard too) are "no coverage", not "coverage unverified".
    let standings = &network["epochs"][0]["standings"];
    assert!(
        standings["no_coverage"].as_u64().unwrap() > 0,
        "{standings}"
    );
    assert!(
        standings["unverified_coverage"].as_u64().unwrap() > 0,
        "{standings}"
    );

    // A report computed again (a veto, a recompute) is picked up, and so is a new epoch.
    let reports = Reports::new(&reports_dir);
    let mut recomputed = reports.load(newest).unwrap().unwrap();
    recomputed.rewards.root = [5; 32];
    let zeroed_row = recomputed
        .rewards
        .rows
        .iter_mut()
        .find(|row| row.device == zeroed_key)
        .unwrap();
    zeroed_row.fraud.clear();
    zeroed_row.amount = 1;
    // As `groundwork-oracle recompute` does: the old report moved aside, the new one stored.
    std::fs::remove_file(reports.path(newest)).unwrap();
    reports.save(&recomputed).unwrap();
    tokio::time::sleep(INDEX_FRESH + std::time::Duration::from_millis(100)).await;
    let network = served.ok("/v1/explorer/network").await;
    assert_eq!(network["epochs"][0]["root"], hex::encode([5u8; 32]));
    assert_eq!(network["epochs"][0]["epoch"], newest);
    let device_now = served
        .ok(&format!("/v1/explorer/devices/{zeroed_key}"))
        .await;
    assert_eq!(device_now["standing"], "earned", "{device_now}");
    // The active root (the first computation's) is no longer this oracle's report's root: the
    // claim says so instead of serving the recomputed report's leaves.
    let claim = served
        .ok(&format!("/v1/explorer/operators/{operator}"))
        .await["claim"]
        .clone();
    assert!(claim["claimable"].is_null(), "{claim}");
    assert!(
        claim["message"]
            .as_str()
            .unwrap()
            .contains("ask another oracle"),
        "{claim}"
    );
    let mut next = reports.load(newest).unwrap().unwrap();
    next.epoch = newest + 1;
    next.rewards.epoch = newest + 1;
    next.rewards.root = [7; 32];
    reports.save(&next).unwrap();
    std::fs::copy(
        view_dir.join(format!("snapshots/{newest}.snapshot")),
        view_dir.join(format!("snapshots/{}.snapshot", newest + 1)),
    )
    .unwrap();
    tokio::time::sleep(INDEX_FRESH + std::time::Duration::from_millis(100)).await;
    let network = served.ok("/v1/explorer/network").await;
    assert_eq!(network["newest_verified_epoch"], newest + 1);
    assert_eq!(network["epochs"][0]["root"], hex::encode([7u8; 32]));
    assert_eq!(
        network["epochs"].as_array().unwrap().len() as u64,
        EPOCHS + 1
    );
    assert_eq!(network["epochs"][0]["status"], "no record on chain");
    // Each epoch's votes were read concurrently and the chain errors are none.
    assert_eq!(network["chain_errors"], Value::Array(vec![]));
}

/// A chain whose epoch records and totals never answer (an endpoint that hangs).
struct HangingChain(StaticChain);

impl Chain for HangingChain {
    fn epoch_timing(&self) -> ChainFuture<'_, EpochTiming> {
        self.0.epoch_timing()
    }
    fn active_root_epoch(&self) -> ChainFuture<'_, Option<u64>> {
        self.0.active_root_epoch()
    }
    fn active_root(&self) -> ChainFuture<'_, Option<ActiveRoot>> {
        self.0.active_root()
    }
    fn claimed(&self, recipient: Pubkey) -> ChainFuture<'_, u64> {
        self.0.claimed(recipient)
    }
    fn epoch_votes(&self, _epoch: u64) -> ChainFuture<'_, Option<EpochVotes>> {
        Box::pin(std::future::pending())
    }
    fn oracle_set(&self) -> ChainFuture<'_, Vec<Pubkey>> {
        self.0.oracle_set()
    }
    fn network_totals(&self) -> ChainFuture<'_, NetworkTotals> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_chain_costs_the_network_page_one_timeout_not_one_per_read() {
    let dir = tempfile::tempdir().unwrap();
    let reports_dir = dir.path().join("reports");
    let view_dir = dir.path().join("chain-view");
    // Eight epochs: eight records read, each of which hangs.
    common::generate(200, 8, &reports_dir, &view_dir);
    let chain = Arc::new(HangingChain(StaticChain::new(EpochTiming {
        genesis_unix_s: common::GENESIS,
        epoch_len_s: common::EPOCH_LEN,
    })));
    let served = serve(Explorer::new(
        Reports::new(&reports_dir),
        view_dir,
        chain,
        VerifyParams::default(),
    ))
    .await;
    // Read one after another, the nine hanging reads would take 9 timeouts; the page must
    // answer well before two.
    let client = reqwest::Client::builder()
        .timeout(CHAIN_READ_TIMEOUT * 2)
        .build()
        .unwrap();
    let network: Value = client
        .get(format!("{}/v1/explorer/network", served.url))
        .send()
        .await
        .expect("the page answers despite the hanging chain")
        .json()
        .await
        .unwrap();
    assert_eq!(network["epochs"].as_array().unwrap().len(), 8);
    assert!(network["totals"].is_null());
    let errors = network["chain_errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e
            .as_str()
            .unwrap()
            .contains("the token's totals: no answer within")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e
            .as_str()
            .unwrap()
            .starts_with("an epoch record: no answer within")),
        "{errors:?}"
    );
    // The epochs are still listed from this oracle's reports, without votes.
    assert!(network["epochs"][0]["votes"].is_null());
}
