//! The chain view at network scale (a benchmark, not a test), in two parts.
//!
//! 1. Against a real local JSON-RPC endpoint (surfpool, in a child process so this process's
//!    memory is the view's) holding GROUNDWORK_BENCH_DEVICES onboarded devices (default
//!    50,000: surfpool's owner index is quadratic in the accounts of one program — 100,000
//!    devices take 380 s to load into it —, so a million cannot be served by it): the
//!    endpoint's own ceiling (every device account in one answer, read raw), the full load
//!    (time, bytes read, peak memory), the steady state of a network where 1% of the devices
//!    change in an epoch (time and bytes to follow those transactions, per change), and the
//!    snapshot of an epoch.
//! 2. The view's own side at GROUNDWORK_BENCH_SCALE_DEVICES (default 1,000,000): the full
//!    load's 256 `getProgramAccounts` answers (built in memory, in the endpoint's JSON) parsed
//!    and decoded by the view's code, then 1% of the devices changing, then the epoch's
//!    snapshot made, encoded and digested — time and peak memory of each.
//!
//! Run: `cargo bench -p groundwork-oracle --bench chain_view`

use groundwork_oracle::core::process::peak_memory_mib;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountSerialize, Space};
use device_registry::{DeviceStatus, DeviceV0};
use groundwork_harness::rpc::LocalRpc;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_oracle::chain::EpochTiming;
use groundwork_oracle::chainview::model::{self, Decoded, DeviceState, Entity, EpochClose, Value};
use groundwork_oracle::chainview::rpc::parse_program_accounts;
use groundwork_oracle::chainview::{snapshot, ChainState, ChainView};
use groundwork_tests::*;
use solana_account::Account;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::RpcClient;

const EPOCH_S: i64 = 3_600;
const OPERATORS: usize = 100;

fn device_key(index: usize) -> Pubkey {
    let mut bytes = [7u8; 32];
    bytes[..8].copy_from_slice(&(index as u64).to_le_bytes());
    // Spread the keys' first byte (the view pages by it) as real keys are spread.
    bytes[0] = (index % 251) as u8;
    bytes[8] = (index / 251 % 256) as u8;
    Pubkey::new_from_array(bytes)
}

/// The child: the network and its endpoint; commands on stdin, answers on stderr.
fn serve(devices: usize) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Epochs 0 and 1 have ended: the view's snapshot of epoch 1 follows their closes.
    let genesis = now - 2 * EPOCH_S;
    let mut network = CycleNetwork::launch_with_epochs(genesis, EPOCH_S);
    let operators: Vec<Keypair> = (0..OPERATORS).map(|_| network.operator(0)).collect();
    let authority = network.authority.insecure_clone();
    let payer = network.rt.payer.insecure_clone();
    let (token, treasury) = (network.network_token, network.dao_treasury);
    let mut accounts = network.rt.network_state();
    let started = Instant::now();
    for index in 0..devices {
        let (address, data) =
            device_account_data(index, operators[index % OPERATORS].pubkey(), genesis);
        accounts.push((
            address,
            Account {
                lamports: 2_039_280,
                data,
                owner: device_registry::ID,
                executable: false,
                rent_epoch: u64::MAX,
            },
        ));
    }
    let rpc = LocalRpc::start(accounts).expect("local RPC");
    eprintln!(
        "endpoint: {devices} device accounts made and loaded into the endpoint in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    answer(format!("ready {} {genesis} {EPOCH_S}", rpc.url));
    let client = RpcClient::new_with_commitment(rpc.url.clone(), CommitmentConfig::confirmed());
    let mut suspended = false;
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["change", count] => {
                let count: usize = count.parse().unwrap();
                suspended = !suspended;
                let started = Instant::now();
                let mut signatures = Vec::with_capacity(count);
                let mut blockhash = client.get_latest_blockhash().unwrap();
                for index in 0..count {
                    if index % 500 == 0 {
                        blockhash = client.get_latest_blockhash().unwrap();
                    }
                    let key = device_key(index * (devices / count.max(1)).max(1));
                    let instruction = if suspended {
                        groundwork_client::device_registry::suspend_device(
                            &authority.pubkey(),
                            &key,
                            3,
                        )
                    } else {
                        groundwork_client::device_registry::reinstate_device(
                            &authority.pubkey(),
                            &key,
                        )
                    };
                    let transaction = solana_transaction::Transaction::new_signed_with_payer(
                        &[instruction],
                        Some(&authority.pubkey()),
                        &[&authority],
                        blockhash,
                    );
                    signatures.push(client.send_transaction(&transaction).unwrap());
                }
                for chunk in signatures.chunks(256) {
                    loop {
                        let statuses = client.get_signature_statuses(chunk).unwrap().value;
                        if statuses.iter().all(|status| {
                            status.as_ref().is_some_and(|status| status.err.is_none())
                        }) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                answer(format!("changed {:.1}", started.elapsed().as_secs_f64()));
            }
            ["close", epoch] => {
                let instruction = groundwork_client::reward_epochs::close_epoch(
                    &payer.pubkey(),
                    token,
                    &treasury,
                    epoch.parse().unwrap(),
                );
                let transaction = solana_transaction::Transaction::new_signed_with_payer(
                    &[instruction],
                    Some(&payer.pubkey()),
                    &[&payer],
                    client.get_latest_blockhash().unwrap(),
                );
                client.send_and_confirm_transaction(&transaction).unwrap();
                answer("closed".into());
            }
            _ => break,
        }
    }
}

/// The child's answers go to stderr behind a marker (the programs log to stdout).
fn answer(line: String) {
    eprintln!("{ANSWER}{line}");
}

const ANSWER: &str = "@@ ";

/// Reads the child's stderr on a thread (so it never blocks on a full pipe): answers go to
/// the channel, other lines are passed through.
fn read_answers(stderr: std::process::ChildStderr) -> std::sync::mpsc::Receiver<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            match line.strip_prefix(ANSWER) {
                Some(answer) => {
                    let _ = sender.send(answer.to_string());
                }
                None => eprintln!("{line}"),
            }
        }
    });
    receiver
}

fn next_answer(answers: &std::sync::mpsc::Receiver<String>) -> String {
    answers.recv().expect("the endpoint process ended")
}

/// Polls `view` until it stands at or past the endpoint's finalized slot as of now.
async fn catch_up(view: &mut ChainView, url: &str) -> (Duration, usize) {
    let client = RpcClient::new_with_commitment(url.to_string(), CommitmentConfig::confirmed());
    let confirmed = client.get_slot().unwrap();
    while client
        .get_slot_with_commitment(CommitmentConfig::finalized())
        .unwrap()
        < confirmed
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let started = Instant::now();
    let mut transactions = 0;
    loop {
        let report = view.poll().await.expect("poll");
        transactions += report.transactions;
        if report.slot >= confirmed {
            return (started.elapsed(), transactions);
        }
    }
}

/// A device account as the program writes it (full size).
fn device_account_data(index: usize, operator: Pubkey, onboarded_at: i64) -> (Pubkey, Vec<u8>) {
    let key = device_key(index);
    let (address, bump) =
        Pubkey::find_program_address(&[b"device", key.as_ref()], &device_registry::ID);
    let device = DeviceV0 {
        bump,
        status: DeviceStatus::Active,
        suspension_reason: 0,
        class_id: HOTSPOT_CLASS,
        device_key: key,
        operator,
        reward_recipient: None,
        location: CELL_A,
        location_assertions: 1,
        credits_spent: 0,
        onboarded_at,
    };
    let mut data = Vec::with_capacity(8 + DeviceV0::INIT_SPACE);
    device.try_serialize(&mut data).unwrap();
    data.resize(8 + DeviceV0::INIT_SPACE, 0);
    (address, data)
}

/// Part 2: the view's own cost at `devices` devices.
fn view_side_at_scale(devices: usize) {
    use base64::Engine;
    let genesis = 1_800_000_000;
    let operator = Pubkey::new_unique();
    // The 256 pages' JSON, as an endpoint sends it (built page by page, not all held at once).
    let mut state = ChainState::default();
    let mut parse = Duration::ZERO;
    let mut json_bytes = 0usize;
    let mut pages: Vec<Vec<usize>> = vec![Vec::new(); 256];
    for index in 0..devices {
        pages[usize::from(device_key(index).to_bytes()[0])].push(index);
    }
    let memory_before = peak_memory_mib();
    for page in pages {
        let entries: Vec<serde_json::Value> = page
            .into_iter()
            .map(|index| {
                let (address, data) = device_account_data(index, operator, genesis);
                serde_json::json!({
                    "pubkey": address.to_string(),
                    "account": {
                        "data": [base64::engine::general_purpose::STANDARD.encode(&data), "base64"],
                        "executable": false,
                        "lamports": 2_039_280u64,
                        "owner": device_registry::ID.to_string(),
                        "rentEpoch": u64::MAX,
                        "space": data.len(),
                    },
                })
            })
            .collect();
        let body = serde_json::to_string(&serde_json::json!({
            "context": { "slot": 1_000 }, "value": entries,
        }))
        .unwrap();
        drop(entries);
        json_bytes += body.len();
        let started = Instant::now();
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        let (_, accounts, _) = parse_program_accounts(&answer).unwrap();
        drop(answer);
        for (_, data) in accounts {
            state.load_account(&data).unwrap();
        }
        parse += started.elapsed();
    }
    println!(
        "at {devices} devices, the view's side: the full load's {:.0} MB of JSON parsed and decoded in {:.1} s; the state holds {} devices; peak memory {:.0} MiB (before {:.0} MiB)",
        json_bytes as f64 / 1e6,
        parse.as_secs_f64(),
        state.devices.len(),
        peak_memory_mib(),
        memory_before,
    );
    // 1% of the devices change during the epoch: a suspension each.
    let start = genesis + EPOCH_S;
    let end = start + EPOCH_S;
    let changes = devices / 100;
    let events: Vec<Decoded> = (0..changes)
        .map(|change| {
            let key = device_key(change * 100);
            let before = state.devices[&key];
            let after = DeviceState {
                suspension: Some(3),
                ..before
            };
            Decoded {
                unix_timestamp: start + (change as i64 % EPOCH_S),
                writes: vec![model::Write {
                    entity: Entity::Device(key),
                    before: Some(Value::Device(before)),
                    after: Some(Value::Device(after)),
                }],
                facts: Vec::new(),
            }
        })
        .collect();
    let mut events_sorted = events;
    events_sorted.sort_by_key(|event| event.unix_timestamp);
    let mut current = state.clone();
    let started = Instant::now();
    for event in &events_sorted {
        current.apply(event);
    }
    println!(
        "at {devices} devices, following {changes} changes in memory: {:.1} ms ({:.2} µs per change)",
        started.elapsed().as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e6 / changes.max(1) as f64,
    );
    drop(current);
    let close = EpochClose {
        epoch: 1,
        closed_at: end + 5,
        minted: 100_000_000_000,
        device_share: 70_000_000_000,
        staker_share: 20_000_000_000,
        treasury_share: 10_000_000_000,
        device_pool_cumulative: 140_000_000_000,
        devices_bps: 7_000,
        stakers_bps: 2_000,
        treasury_bps: 1_000,
    };
    let started = Instant::now();
    let made = snapshot::build(start, end, &state, None, events_sorted.iter(), &close).unwrap();
    let built = started.elapsed();
    let started = Instant::now();
    let bytes = made.encode();
    let digest = made.digest_hex();
    println!(
        "at {devices} devices, the snapshot of an epoch: built in {:.1} s, encoded and digested in {:.1} s, {:.1} MB, digest {}; peak memory {:.0} MiB",
        built.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        bytes.len() as f64 / 1e6,
        &digest[..16],
        peak_memory_mib(),
    );
}

fn main() {
    let devices: usize = std::env::var("GROUNDWORK_BENCH_DEVICES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(50_000);
    if std::env::var("GROUNDWORK_BENCH_SERVE").is_ok() {
        serve(devices);
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("GROUNDWORK_BENCH_SERVE", "1")
        .env("GROUNDWORK_BENCH_DEVICES", devices.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut commands = child.stdin.take().unwrap();
    let answers = read_answers(child.stderr.take().unwrap());
    let ready = next_answer(&answers);
    let fields: Vec<&str> = ready.split_whitespace().collect();
    let url = fields[1].to_string();
    let timing = EpochTiming {
        genesis_unix_s: fields[2].parse().unwrap(),
        epoch_len_s: fields[3].parse().unwrap(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The endpoint's own ceiling: every device account in one answer, read raw.
        let started = Instant::now();
        let body = reqwest::Client::new()
            .post(&url)
            .json(&serde_json::json!({
                "jsonrpc": "2.0", "id": 1, "method": "getProgramAccounts",
                "params": [device_registry::ID.to_string(), {
                    "encoding": "base64",
                    "filters": [{ "dataSize": 8 + DeviceV0::INIT_SPACE }],
                }],
            }))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        println!(
            "ceiling: the endpoint serves every device account in one answer: {:.1} MB in {:.1} s",
            body.len() as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        drop(body);

        let dir = tempfile::tempdir().unwrap();
        let memory_before = peak_memory_mib();
        let started = Instant::now();
        let mut view = ChainView::open(std::slice::from_ref(&url), dir.path(), timing, 1).unwrap();
        assert!(view.poll().await.unwrap().full_load);
        let load = view.last_load().unwrap().clone();
        println!(
            "full load: {} devices ({} accounts, {} skipped) in {:.1} s, {:.1} MB read, peak memory {:.0} MiB (before {:.0} MiB)",
            view.devices().len(),
            load.accounts,
            load.skipped,
            started.elapsed().as_secs_f64(),
            view.bytes_read() as f64 / 1e6,
            peak_memory_mib(),
            memory_before,
        );

        // Steady state: 1% of the devices change (a suspension each) in the epoch.
        let changes = (devices / 100).max(1);
        writeln!(commands, "change {changes}").unwrap();
        let sent = next_answer(&answers);
        let bytes_before = view.bytes_read();
        let (took, transactions) = catch_up(&mut view, &url).await;
        let bytes = view.bytes_read() - bytes_before;
        let suspended = view.devices().values().filter(|info| info.suspended).count();
        println!(
            "steady state: {changes} changes (endpoint took {} s to land them) followed in {:.1} s ({transactions} transactions, {:.2} ms and {:.1} KB per change), {suspended} devices suspended",
            sent.trim_start_matches("changed "),
            took.as_secs_f64(),
            took.as_secs_f64() * 1e3 / changes as f64,
            bytes as f64 / 1e3 / changes as f64,
        );

        // The snapshot of epoch 1 once closed on chain.
        for epoch in [0, 1] {
            writeln!(commands, "close {epoch}").unwrap();
            next_answer(&answers);
        }
        catch_up(&mut view, &url).await;
        let started = Instant::now();
        let snapshot = view.snapshot(1).await.unwrap().expect("epoch 1 closed");
        println!(
            "snapshot of epoch 1: {} devices, {:.1} MB, digest {}, in {:.1} s; peak memory {:.0} MiB",
            snapshot.devices.len(),
            snapshot.encode().len() as f64 / 1e6,
            &snapshot.digest_hex()[..16],
            started.elapsed().as_secs_f64(),
            peak_memory_mib(),
        );
    });
    writeln!(commands, "quit").unwrap();
    let _ = child.wait();
    let scale: usize = std::env::var("GROUNDWORK_BENCH_SCALE_DEVICES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000_000);
    view_side_at_scale(scale);
}
