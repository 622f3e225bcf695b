//! `groundwork localnet` and the network commands, run as a user runs them: the binary, a real
//! JSON-RPC endpoint on 127.0.0.1, output read back as JSON.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::Value;

mod common;
use common::{free_port_pair, groundwork, groundwork_unconfigured};

/// Where a test's localnet writes its standard error: beside its data directory, which
/// `--reset` empties.
fn stderr_log(data_dir: &Path) -> std::path::PathBuf {
    data_dir.with_extension("stderr.log")
}

fn localnet(data_dir: &Path, port: u16, oracle_port: u16, extra: &[&str]) -> Child {
    let stderr = std::fs::File::create(stderr_log(data_dir)).expect("the localnet's stderr file");
    groundwork(&data_dir.with_extension("config.toml"))
        .args([
            "--output",
            "json-compact",
            "localnet",
            "--epoch-length",
            "10s",
            "--reset",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--port", &port.to_string()])
        .args(["--oracle-port", &oracle_port.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("groundwork localnet starts")
}

/// The localnet's stdout lines as they come, read on a thread of their own so a stuck
/// localnet fails the test instead of hanging it.
fn stdout_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = BufReader::new(child.stdout.take().expect("the localnet's stdout"));
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    received
}

/// How long a test waits for the localnet's next epoch line (the first comes after the setup
/// lead and the first epoch).
const LINE_LIMIT: std::time::Duration = std::time::Duration::from_secs(240);

/// The localnet's next stdout line, as JSON (`what` names it in failures).
fn next_line(lines: &std::sync::mpsc::Receiver<String>, what: &str) -> Value {
    let line = lines
        .recv_timeout(LINE_LIMIT)
        .unwrap_or_else(|error| match error {
            std::sync::mpsc::RecvTimeoutError::Timeout => {
                panic!("{what}: none within {LINE_LIMIT:?}")
            }
            std::sync::mpsc::RecvTimeoutError::Disconnected => {
                panic!("{what}: the localnet closed its output (it stopped)")
            }
        });
    serde_json::from_str(&line).unwrap_or_else(|error| panic!("{what} {line:?}: {error}"))
}

/// A localnet process (and its data directory) killed when the test ends, whatever happened;
/// when the test failed, the last lines of its standard error and of its oracles' log are
/// printed with the failure.
struct Killed(Child, std::path::PathBuf);

/// Lines of each log a failed test prints.
const LOG_LINES_ON_FAILURE: usize = 80;

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let stderr = stderr_log(&self.1);
        if std::thread::panicking() {
            for log in [stderr.clone(), self.1.join("oracle.log")] {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(LOG_LINES_ON_FAILURE)..];
                eprintln!("--- the last {} lines of {}:", tail.len(), log.display());
                for line in tail {
                    eprintln!("{line}");
                }
            }
        }
        let _ = std::fs::remove_file(stderr);
        let _ = std::fs::remove_file(self.1.with_extension("config.toml"));
    }
}

fn u64_of(line: &Value, key: &str) -> u64 {
    line[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {line}"))
}

/// Epochs the bounded run closes.
const EPOCHS: usize = 4;

/// Runs `command` (the CLI against the localnet at `url`) and returns its JSON output, or
/// `None` when it failed (for polls, which ask again).
fn cli_json_if_ok(url: &str, args: &[&str]) -> Option<Value> {
    let output = groundwork_unconfigured()
        .args(["-u", url, "--output", "json-compact"])
        .args(args)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

/// Runs `command` (the CLI against the localnet at `url`) and returns its JSON output.
fn cli_json(url: &str, args: &[&str]) -> Value {
    let output = groundwork_unconfigured()
        .args(["-u", url, "--output", "json-compact"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Polls `check` every half second until it returns `Some`, or panics with `what` after
/// `limit`.
fn wait_for<T>(what: &str, limit: std::time::Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited {limit:?} for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

#[test]
fn a_bounded_localnet_run_reconciles_with_the_chain() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port_pair();
    let oracle_port = free_port_pair();
    // The network closes EPOCHS epochs, then keeps serving (its oracles keep voting,
    // activating and relaying) until this test has seen what it waits for.
    let mut child = Killed(
        localnet(
            data_dir.path(),
            port,
            oracle_port,
            &["--epochs", &EPOCHS.to_string()],
        ),
        data_dir.path().to_path_buf(),
    );
    let stdout = stdout_lines(&mut child.0);
    let lines: Vec<Value> = (0..EPOCHS)
        .map(|epoch| next_line(&stdout, &format!("epoch {epoch}'s line")))
        .collect();
    let mut minted_sum = 0;
    for (epoch, line) in lines.iter().enumerate() {
        assert_eq!(u64_of(line, "epoch"), epoch as u64);
        let minted = u64_of(line, "minted");
        // At least the schedule's 100,000 GWK an epoch (net emissions re-emit burns).
        assert!(minted >= 100_000_000_000, "{line}");
        assert_eq!(
            u64_of(line, "device_share")
                + u64_of(line, "staker_share")
                + u64_of(line, "treasury_share"),
            minted
        );
        minted_sum += minted;
        assert_eq!(u64_of(line, "minted_total"), minted_sum);
        // supply = initial + minted - burned, as the chain reports it.
        assert_eq!(
            u64_of(line, "supply"),
            u64_of(line, "initial_supply") + u64_of(line, "minted_total")
                - u64_of(line, "burned_total")
        );
        // Stakers never claim more than was funded to them, nor delegators more than their
        // pools received.
        assert!(u64_of(line, "staker_claimed") <= u64_of(line, "staker_funded"));
        assert!(
            u64_of(line, "delegation_rewards_claimed") <= u64_of(line, "pool_rewards_received"),
            "{line}"
        );
        // Credits bought - spent = credits held.
        assert_eq!(
            u64_of(line, "credits_bought") - u64_of(line, "credits_spent"),
            u64_of(line, "credits_held"),
            "{line}"
        );
    }
    let last = &lines[EPOCHS - 1];
    // Burns (credit purchases) were measured; the devices were heard; the cheaters were
    // caught at ingest (a cloned key's conflicting copies, a suspended device); stakers were
    // paid.
    assert!(u64_of(last, "burned_total") > 0);
    let most_heard = lines
        .iter()
        .map(|line| u64_of(line, "devices_heard"))
        .max()
        .unwrap();
    assert!(most_heard >= 6, "{lines:?}");
    let rejected = |code: &str| -> u64 {
        lines
            .iter()
            .map(|line| line["rejected_by_reason"][code].as_u64().unwrap_or(0))
            .sum()
    };
    assert!(rejected("seq_conflict") > 0, "{lines:?}");
    assert!(rejected("device_suspended") > 0, "{lines:?}");
    assert!(u64_of(last, "staker_claimed") > 0, "{last}");
    // The oracle verified the epochs a few seconds after their close: by the last line an
    // earlier epoch's verified work is in, honest devices rewarded, the cloned key zeroed,
    // and nothing more paid than the epoch's pool.
    let verified = &last["verified"];
    assert!(verified.is_object(), "{last}");
    let verified_epoch = u64_of(verified, "epoch");
    assert!(verified_epoch < EPOCHS as u64, "{last}");
    assert!(u64_of(verified, "devices_rewarded") > 0, "{last}");
    // Proof of coverage: devices whose beacons another operator's honest device heard earn
    // full coverage; those heard only by the third operator's cheaters (zeroed, they vouch
    // for nobody) are paid the unverified factor.
    assert!(u64_of(verified, "coverage_verified") > 0, "{last}");
    assert!(u64_of(verified, "coverage_unverified") > 0, "{last}");
    assert!(
        verified["zeroed_by_reason"]["seq_conflict"].as_u64() > Some(0),
        "{last}"
    );
    // The pool — the epoch's device share on chain plus the dust the epoch before carried —
    // is paid out to the last unit but dust, never beyond: what the epoch paid (how far its
    // cumulative total grew over its base's) plus its dust is its pool.
    let pool = u64_of(verified, "pool");
    assert_eq!(
        pool,
        u64_of(&lines[verified_epoch as usize], "device_share")
            + u64_of(verified, "carried_dust_in"),
        "{last}"
    );
    assert_eq!(
        u64_of(verified, "paid") + u64_of(verified, "dust"),
        pool,
        "{last}"
    );
    assert!(u64_of(verified, "paid") <= pool, "{last}");
    // Three oracles, each hearing a third of the devices, merged each other's sets: none
    // computed another root (that all three computed the same is awaited below).
    for line in &lines {
        if line["verified"].is_object() {
            assert_eq!(
                u64_of(&line["verified"], "oracles_disagreeing"),
                0,
                "{line}"
            );
        }
    }
    assert_eq!(u64_of(&last["root"], "epoch"), verified_epoch, "{last}");
    // The epoch line says when the root's epoch bundle is published.
    assert!(
        lines
            .iter()
            .any(|line| line["root"]["bundle_published"] == true),
        "{lines:?}"
    );
    // The device rewards' books balance at every line: the reward vault holds the device
    // pools minted less what claims paid; nothing is paid beyond the active root.
    let mut device_pools = 0;
    for line in &lines {
        device_pools += u64_of(line, "device_share");
        assert_eq!(
            u64_of(line, "reward_vault") + u64_of(line, "rewards_claimed_total"),
            device_pools,
            "{line}"
        );
        assert!(
            u64_of(line, "rewards_claimed_total") <= u64_of(line, "active_cumulative_total"),
            "{line}"
        );
    }
    // The oracles vote each root when it is verified, a while after the epoch closed: two
    // votes of three make one pending, the first oracle activates it (challenge period 0)
    // and relays the claim of the recipient without SOL, paying it its whole leaf. The run
    // closes no epoch after its last line, so once the last closed epoch's root is active
    // the chain's roots stop changing: what follows is checked against that root.
    let url = format!("http://127.0.0.1:{port}");
    let limit = std::time::Duration::from_secs(120);
    let last_epoch = EPOCHS as u64 - 1;
    let status = wait_for(
        "the last closed epoch's root to be activated",
        limit,
        || {
            let status = cli_json_if_ok(&url, &["network", "status"])?;
            (status["active_root_epoch"].as_u64() == Some(last_epoch)).then_some(status)
        },
    );
    assert_eq!(status["quorum"], 2, "{status}");
    assert!(u64_of(&status, "active_cumulative_total") > 0, "{status}");
    let keys = data_dir.path().join("keys");
    let relayed = key_of(&keys.join("recipient-without-sol.json"));
    // The operators keep claiming with the oracle's proofs while the network serves on (the
    // relayer claims only for opted-in recipients: the operators' payments are their own
    // claims), and the relaying oracle claims for the recipient without SOL: every recipient
    // the last root owes is paid exactly its leaf (the oracle's answer: claimed on chain =
    // leaf).
    let recipients: Vec<String> = (1..=3)
        .map(|index| key_of(&keys.join(format!("operator-{index}.json"))))
        .chain(std::iter::once(relayed))
        .collect();
    let leaves = wait_for("every recipient to be paid its leaf", limit, || {
        recipients
            .iter()
            .map(|recipient| {
                let rewards = format!("http://127.0.0.1:{oracle_port}/v1/rewards/{recipient}");
                let reply: Value = http_get_json(&rewards)?;
                if reply["epoch"].as_u64()? != last_epoch {
                    return None;
                }
                let paid = reply["claimed"].as_u64()?;
                (paid > 0 && Some(paid) == reply["cumulative_amount"].as_u64()).then_some(reply)
            })
            .collect::<Option<Vec<Value>>>()
    });
    for leaf in &leaves {
        assert_eq!(leaf["claimable"], 0, "{leaf}");
    }
    // Each of the three oracles computed the last epoch's root, the one active on chain.
    let active_root = leaves[0]["root"].as_str().unwrap().to_string();
    for index in 1..=3 {
        let config = data_dir.path().join(format!("oracle-{index}/oracle.toml"));
        let config: toml::Value =
            toml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        let listen = config["http"]["listen"].as_str().unwrap().to_string();
        let rewards = format!("http://{listen}/v1/epochs/{last_epoch}/rewards");
        wait_for(
            &format!("oracle {index}'s root of the last epoch"),
            limit,
            || {
                let work = http_get_json(&rewards)?;
                let root = work["root"].as_str()?.to_string();
                assert_eq!(root, active_root, "oracle {index}: {work}");
                Some(())
            },
        );
    }
    delegation_pays_the_delegator_and_the_commission_the_operator(
        &url,
        &keys,
        oracle_port,
        last_epoch,
    );
    fleets_history_adds_up_to_each_epochs_report(&url, &keys, oracle_port);
    bundles_check_out_and_lies_are_named(&url, data_dir.path(), oracle_port);
    the_explorer_shows_what_the_oracle_and_chain_say(oracle_port, &lines);
    assert!(data_dir.path().join("keys/authority.json").exists());
    assert!(data_dir.path().join("programs.log").exists());
    drop(child);
}

/// The first staker delegated to the first operator in epoch 1, under the stake multiplier:
/// the relaying oracle claims the pool's leaf and sweeps it; the staker's `stake list` shows
/// its delegation earning and `stake claim` pays it; `network status` shows the pool's
/// commission and stake; the operator's devices' rows split the multiplier's part between
/// the pool and the operator's recipient (its commission). Checked once `last_epoch`'s root,
/// the last, is active.
fn delegation_pays_the_delegator_and_the_commission_the_operator(
    url: &str,
    keys: &Path,
    oracle_port: u16,
    last_epoch: u64,
) {
    let limit = std::time::Duration::from_secs(120);
    let staker = keys.join("staker-1.json");
    let staker = staker.to_str().unwrap();
    let position = wait_for("the delegation's pool rewards to arrive", limit, || {
        let list = cli_json_if_ok(url, &["-k", staker, "stake", "list"])?;
        let position = list.as_array()?.first()?.clone();
        (position["pool_claimable"].as_u64()? > 0).then_some(position)
    });
    assert!(position["operator"].is_string(), "{position}");
    let owed = u64_of(&position, "pool_claimable");
    let claimed = cli_json(url, &["-k", staker, "stake", "claim", "0"]);
    assert!(
        u64_of(&claimed["effect"], "pool_claimed_base_units") >= owed,
        "{claimed}"
    );
    let list = cli_json(url, &["-k", staker, "stake", "list"]);
    assert!(u64_of(&list[0], "pool_claimed") >= owed, "{list}");
    // The pool as the chain holds it: the commission set at setup, the stake delegated, what
    // its last sweep received.
    let status = cli_json(url, &["network", "status"]);
    let pool = &status["pools"][0];
    assert_eq!(pool["commission_bps"], 2_000, "{status}");
    assert_eq!(u64_of(pool, "delegated"), 25_000_000_000, "{status}");
    assert!(u64_of(pool, "total_received") >= owed, "{status}");
    // The operator changes its commission: from the next epoch, shown as waiting; above the
    // authority's maximum it is refused before anything is sent.
    let operator = keys.join("operator-1.json");
    let operator = operator.to_str().unwrap();
    let epoch_before = u64_of(&status, "current_epoch");
    let set = cli_json(url, &["-k", operator, "operator", "set-commission", "1500"]);
    assert_eq!(set["effect"]["commission_bps"], 1_500, "{set}");
    let status = cli_json(url, &["network", "status"]);
    let effective_epoch = u64_of(&set["effect"], "effective_epoch");
    assert!(effective_epoch > epoch_before, "{set}");
    // (The chain's clock runs on: once that epoch began, the change is in force instead.)
    if u64_of(&status, "current_epoch") < effective_epoch {
        assert_eq!(
            status["pools"][0]["pending_commission_bps"], 1_500,
            "{status}"
        );
        assert_eq!(
            status["pools"][0]["pending_commission_epoch"], effective_epoch,
            "{status}"
        );
        assert_eq!(status["pools"][0]["commission_bps"], 2_000, "{status}");
    } else {
        assert_eq!(status["pools"][0]["commission_bps"], 1_500, "{status}");
        assert!(
            status["pools"][0]["pending_commission_bps"].is_null(),
            "{status}"
        );
    }
    let refused = groundwork_unconfigured()
        .args([
            "-u",
            url,
            "-k",
            operator,
            "operator",
            "set-commission",
            "5001",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("above the maximum"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // Anyone may sweep a pool (roles.rs sweeps one with this command). Here the relaying
    // oracle sweeps every root that pays the pool: once it swept the last root, the command
    // finds nothing to sweep and sends nothing.
    let operator_key = key_of(&keys.join("operator-1.json"));
    let pool_rewards = format!(
        "http://127.0.0.1:{oracle_port}/v1/rewards/{}",
        groundwork_client::staking::pool_rewards_address(&operator_key.parse().unwrap())
    );
    wait_for(
        "the relayer to sweep the pool's leaf in the last root",
        limit,
        || {
            let leaf = http_get_json(&pool_rewards)?;
            (leaf["epoch"].as_u64()? == last_epoch && leaf["claimable"].as_u64()? == 0)
                .then_some(())
        },
    );
    let staker_key = keys.join("staker-2.json");
    let sweep = groundwork_unconfigured()
        .args(["-u", url, "--output", "json-compact"])
        .args(["-k", staker_key.to_str().unwrap()])
        .args(["crank", "sweep-pool", &operator_key, "--oracle"])
        .arg(format!("http://127.0.0.1:{oracle_port}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&sweep.stderr);
    assert!(!sweep.status.success(), "{stderr}");
    assert!(stderr.contains("nothing to sweep"), "{stderr}");
    // The operator's devices' rows: the multiplier added a part, the pool took 80% of it
    // (floored) and the operator's recipient kept the rest, the commission.
    let oracle = format!("http://127.0.0.1:{oracle_port}");
    let mut commissions = 0;
    for slot in 1..=3 {
        let device = key_of(&keys.join(format!("devices/operator-1-device-{slot}.json")));
        let Some(reply) = http_get_json(&format!("{oracle}/v1/devices/{device}/rewards")) else {
            continue;
        };
        for row in reply["epochs"].as_array().into_iter().flatten() {
            let (added, share, amount) = (
                u64_of(row, "multiplier_added"),
                u64_of(row, "pool_share"),
                u64_of(row, "amount"),
            );
            assert_eq!(share, added * 8_000 / 10_000, "{row}");
            assert_eq!(u64_of(row, "paid_to_recipient"), amount - share, "{row}");
            if share > 0 {
                assert!(u64_of(row, "stake_multiplier_bps") > 10_000, "{row}");
                commissions += added - share;
            }
        }
    }
    assert!(
        commissions > 0,
        "the operator's recipient kept a commission"
    );
}

/// The base58 public key of a keypair file.
fn key_of(path: &Path) -> String {
    let key: Vec<u8> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    bs58::encode(&key[32..]).into_string()
}

/// `rewards history` of the three operators' fleets: each epoch's rows add up to what the
/// oracle's report of that epoch paid, every device has a reason, the cheating devices'
/// reasons name their fraud, and --csv gives every row.
fn fleets_history_adds_up_to_each_epochs_report(url: &str, keys: &Path, oracle_port: u16) {
    let oracle = format!("http://127.0.0.1:{oracle_port}");
    let mut earned_by_epoch: std::collections::BTreeMap<u64, u64> = Default::default();
    // The oracles may verify another epoch between the three calls: only the epochs every
    // call covered are compared.
    let mut common_epochs: Option<std::collections::BTreeSet<u64>> = None;
    let mut reasons = Vec::new();
    let mut zeroed_device = None;
    for index in 1..=3 {
        let operator = key_of(&keys.join(format!("operator-{index}.json")));
        let history = cli_json(
            url,
            &[
                "rewards",
                "history",
                "--operator",
                &operator,
                "--epochs",
                "3",
                "--oracle",
                &oracle,
            ],
        );
        let epochs: std::collections::BTreeSet<u64> = history["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|epoch| epoch.as_u64().unwrap())
            .collect();
        common_epochs = Some(match common_epochs {
            Some(common) => common.intersection(&epochs).copied().collect(),
            None => epochs,
        });
        assert!(
            !history["epochs"].as_array().unwrap().is_empty(),
            "{history}"
        );
        for total in history["totals"].as_array().unwrap() {
            *earned_by_epoch.entry(u64_of(total, "epoch")).or_default() +=
                u64_of(total, "earned_base_units");
        }
        for row in history["rows"].as_array().unwrap() {
            let reason = row["reason"].as_str().unwrap().to_string();
            if reason.starts_with("zeroed: ") {
                zeroed_device = Some(row["device"].as_str().unwrap().to_string());
            }
            reasons.push(reason);
        }
    }
    let common_epochs = common_epochs.unwrap();
    assert!(!common_epochs.is_empty());
    for (epoch, earned) in earned_by_epoch
        .iter()
        .filter(|(epoch, _)| common_epochs.contains(epoch))
    {
        let report = http_get_json(&format!("{oracle}/v1/epochs/{epoch}/rewards")).unwrap();
        assert_eq!(*earned, u64_of(&report, "paid"), "epoch {epoch}: {report}");
    }
    assert!(
        reasons.iter().any(|reason| reason.starts_with("earned")),
        "{reasons:?}"
    );
    let zeroed = zeroed_device.expect("a cheating device's row says it was zeroed");
    let one = cli_json(
        url,
        &[
            "rewards", "history", "--device", &zeroed, "--epochs", "3", "--oracle", &oracle,
        ],
    );
    assert!(
        one["rows"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("zeroed: "),
        "{one}"
    );
    // As many epochs as the JSON answer had: another epoch verified in between changes which
    // epochs are the newest, not how many.
    let newest = one["rows"].as_array().unwrap().len().to_string();
    let csv = groundwork_unconfigured()
        .args([
            "-u", url, "rewards", "history", "--device", &zeroed, "--csv", "--epochs", &newest,
            "--oracle", &oracle,
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.starts_with("epoch,device,recipient,amount,amount_base_units"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + one["rows"].as_array().unwrap().len(),
        "{csv}"
    );
    assert!(csv.contains(&format!(",{zeroed},")), "{csv}");
}

/// `GET url` as JSON over plain HTTP/1.0 (`None` when it cannot be had).
fn http_get_json(url: &str) -> Option<Value> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let body = &reply[reply.find("\r\n\r\n")? + 4..];
    serde_json::from_str(body).ok()
}

#[test]
fn the_network_commands_work_against_a_running_localnet() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port_pair();
    let oracle_port = free_port_pair();
    let mut child = Killed(
        localnet(data_dir.path(), port, oracle_port, &["--epochs", "1"]),
        data_dir.path().to_path_buf(),
    );
    // Wait for the first epoch's line: the network is bootstrapped and serving.
    let stdout = stdout_lines(&mut child.0);
    let first = next_line(&stdout, "the first epoch's line");
    assert_eq!(u64_of(&first, "epoch"), 0);

    let url = format!("http://127.0.0.1:{port}");
    let keys = data_dir.path().join("keys");
    let groundwork = |args: &[&str]| {
        let output = groundwork_unconfigured()
            .args(["-u", &url, "--output", "json-compact"])
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };

    let (ok, stdout_text, stderr) = groundwork(&["network", "status"]);
    assert!(ok, "{stderr}");
    let status: Value = serde_json::from_str(&stdout_text).unwrap();
    assert_eq!(status["oracles"].as_array().unwrap().len(), 3);
    assert_eq!(status["quorum"], 2);
    assert_eq!(status["device_classes"], 2);
    assert_eq!(status["epoch_length_s"], 10);
    assert_eq!(status["operators"], 3);
    assert_eq!(status["devices"], 9);
    assert_eq!(status["minted_total"], first["minted_total"]);

    // The localnet's own network, written as a file: bootstrapping it again changes nothing.
    let pubkey = |name: &str| key_of(&keys.join(name));
    let authority = pubkey("authority.json");
    let oracles: Vec<String> = (1..=3)
        .map(|i| pubkey(&format!("oracle-{i}.json")))
        .collect();
    let network = include_str!("../../migrations/localnet.toml")
        .replacen(
            "authority = \"11111111111111111111111111111111\"",
            &format!("authority = \"{authority}\""),
            1,
        )
        .replace(
            "treasury_owner = \"11111111111111111111111111111111\"",
            &format!("treasury_owner = \"{authority}\""),
        )
        .replace(
            "oracles = [\"11111111111111111111111111111111\"]",
            &format!("oracles = {oracles:?}"),
        )
        .replace(
            "genesis_unix = 0",
            &format!("genesis_unix = {}", status["genesis_unix"]),
        )
        .replace("length = \"60s\"", "length = \"10s\"")
        .replace("quorum = 1", "quorum = 2")
        .replacen(
            "token_program = \"spl-token\"",
            &format!(
                "existing_mint = \"{}\"\ntoken_program = \"spl-token\"",
                pubkey("mint.json")
            ),
            1,
        );
    let file = data_dir.path().join("network.toml");
    std::fs::write(&file, &network).unwrap();
    let authority_key = keys.join("authority.json");
    let deployer_key = keys.join("deployer.json");
    let bootstrap = |network: &Path| {
        groundwork(&[
            "-k",
            authority_key.to_str().unwrap(),
            "bootstrap",
            "--network",
            network.to_str().unwrap(),
            "--deployer",
            deployer_key.to_str().unwrap(),
        ])
    };
    let (ok, report, stderr) = bootstrap(&file);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(&report).unwrap();
    let items = report["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|item| item["change"]["change"] == "unchanged"),
        "{report}"
    );

    // A changed parameter is reported and applied.
    let quorum_three = network.replace("quorum = 2", "quorum = 3");
    std::fs::write(&file, quorum_three).unwrap();
    let (ok, report, stderr) = bootstrap(&file);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(&report).unwrap();
    let updated: Vec<&Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["change"]["change"] == "updated")
        .collect();
    assert_eq!(updated.len(), 1, "{report}");
    assert_eq!(updated[0]["what"], "oracle set and quorum");
    let (_, status, _) = groundwork(&["network", "status"]);
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["quorum"], 3);

    // The first oracle says what it is doing and waiting for.
    let (ok, oracle_text, stderr) = groundwork(&[
        "oracle",
        "status",
        "--oracle",
        &format!("http://127.0.0.1:{oracle_port}"),
    ]);
    assert!(ok, "{stderr}");
    let oracle: Value = serde_json::from_str(&oracle_text).unwrap();
    assert_eq!(oracle["health"]["status"], "ok", "{oracle}");
    assert_eq!(
        oracle["submissions"]["oracle"],
        oracles[0].as_str(),
        "{oracle}"
    );
    assert_eq!(oracle["submissions"]["in_oracle_set"], true, "{oracle}");
    assert!(
        oracle["submissions"]["waiting_for"].as_str().is_some(),
        "{oracle}"
    );

    // A wrong cluster is said clearly, and nothing runs.
    let output = groundwork_unconfigured()
        .args(["-u", "http://127.0.0.1:1", "network", "status"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("cannot reach the cluster at http://127.0.0.1:1"));

    // SIGTERM stops the local network cleanly.
    let pid = i32::try_from(child.0.id()).unwrap();
    // SAFETY: signalling a child process this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = child.0.wait().unwrap();
    assert!(status.success(), "localnet exited with {status}");
}

#[test]
fn reset_refuses_a_directory_that_is_not_a_localnets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), "precious").unwrap();
    let output = groundwork_unconfigured()
        .args(["localnet", "--reset", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("refusing to --reset it"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("thesis.tex")).unwrap(),
        "precious"
    );
}

/// Runs `groundwork` with no config (no oracle named anywhere) and returns (exit success,
/// stdout as JSON when it parses, stderr).
fn unconfigured(args: &[&str]) -> (bool, Value, String) {
    let out = groundwork_unconfigured()
        .args(["--output", "json-compact"])
        .args(args)
        .output()
        .expect("groundwork runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string() + &stdout,
    )
}

/// The bundle store `root` copied to `to` (the parts and indexes), to be tampered with.
fn copy_store(root: &Path, to: &Path) {
    for entry in walk(root) {
        let target = to.join(entry.strip_prefix(root).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Replaces part `name` of `epoch`'s bundle in the store at `root` with `bytes`: the new part
/// stored under its digest and the index naming it (a consistent, lying bundle).
fn replace_part(root: &Path, epoch: u64, name: &str, bytes: &[u8]) {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(bytes));
    std::fs::write(root.join("parts").join(&digest), bytes).unwrap();
    let index_path = root.join(format!("epochs/{epoch}/index.json"));
    let mut index: Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let part = index["parts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|part| part["name"] == name)
        .unwrap();
    part["sha256"] = Value::String(digest);
    part["bytes"] = Value::from(bytes.len() as u64);
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

/// The index of `epoch`'s bundle at `root` made to name `report`'s root and total.
fn fix_index_root(root: &Path, epoch: u64, report: &[u8]) {
    let report = groundwork_oracle_rewards::report::decode_report(report, epoch).unwrap();
    let index_path = root.join(format!("epochs/{epoch}/index.json"));
    let mut index: Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    index["root"] = Value::String(hex::encode(report.rewards.root));
    index["cumulative_total"] = Value::from(report.rewards.cumulative_total);
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

/// The bytes of part `name` of `epoch`'s bundle in the store at `root`.
fn part_bytes(root: &Path, epoch: u64, name: &str) -> Vec<u8> {
    let index: Value = serde_json::from_slice(
        &std::fs::read(root.join(format!("epochs/{epoch}/index.json"))).unwrap(),
    )
    .unwrap();
    let part = index["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|part| part["name"] == name)
        .unwrap();
    std::fs::read(root.join("parts").join(part["sha256"].as_str().unwrap())).unwrap()
}

/// A report of `epoch` recomputed from the bundle at `root` with `snapshot` and `params` (the
/// rest as the bundle's report has it): what a lying oracle would publish.
fn lying_report(
    root: &Path,
    epoch: u64,
    snapshot: &groundwork_oracle_rewards::snapshot::ChainSnapshot,
    params: &groundwork_oracle_rewards::VerifyParams,
) -> Vec<u8> {
    use groundwork_oracle_bundle::check::{base_of, recompute};
    let mut report =
        groundwork_oracle_rewards::report::decode_report(&part_bytes(root, epoch, "report"), epoch)
            .unwrap();
    let telemetry = root.join("lying.telemetry");
    std::fs::write(&telemetry, part_bytes(root, epoch, "telemetry")).unwrap();
    let network = groundwork_telemetry::Key(
        groundwork_client::device_registry::registry_config_address().to_bytes(),
    );
    let base = base_of(&report).unwrap();
    let recomputed = recompute(
        &telemetry,
        network,
        snapshot,
        params,
        report.carried_dust_in,
        &base,
        |_| {},
    )
    .unwrap();
    std::fs::remove_file(&telemetry).unwrap();
    report.rewards = recomputed.rewards;
    report.snapshot_digest = snapshot.digest();
    report.encode()
}

/// SPEC 4.6 on a running localnet: each oracle publishes byte-identical bundles; a published
/// epoch checks out from its bundle and the RPC endpoint alone (no oracle named anywhere);
/// lying bundles — a report computed with another density_k, a message removed from the
/// set, a snapshot with a class weight altered, a part whose bytes do not match its digest —
/// fail and are named; a replay of three epochs under other rules conserves what was paid.
fn bundles_check_out_and_lies_are_named(url: &str, data_dir: &Path, oracle_port: u16) {
    let bundles = data_dir.join("bundles");
    let store = bundles.join("oracle-1");
    let limit = std::time::Duration::from_secs(90);
    wait_for("epoch 2's bundle", limit, || {
        (1..=3)
            .all(|oracle| {
                bundles
                    .join(format!("oracle-{oracle}/epochs/2/index.json"))
                    .exists()
            })
            .then_some(())
    });
    // Honest oracles publish byte-identical bundles: the same index, the same parts.
    for epoch in 0..=2u64 {
        let index = std::fs::read(store.join(format!("epochs/{epoch}/index.json"))).unwrap();
        for oracle in 2..=3 {
            let other = bundles.join(format!("oracle-{oracle}"));
            assert_eq!(
                std::fs::read(other.join(format!("epochs/{epoch}/index.json"))).unwrap(),
                index,
                "epoch {epoch}: oracle {oracle}'s index differs"
            );
            for part in ["telemetry", "snapshot", "report", "params"] {
                assert_eq!(
                    part_bytes(&other, epoch, part),
                    part_bytes(&store, epoch, part)
                );
            }
        }
    }
    let store_arg = store.display().to_string();
    let verify = |epoch: &str| {
        unconfigured(&[
            "-u",
            url,
            "rewards",
            "verify-epoch",
            epoch,
            "--bundle",
            &store_arg,
        ])
    };
    // Epoch 2 checks out once the chain agreed on its root (a quorum voted it).
    wait_for("epoch 2's root to be agreed on chain", limit, || {
        verify("2").0.then_some(())
    });
    for epoch in ["0", "1", "2"] {
        let (ok, check, output) = verify(epoch);
        assert!(ok, "epoch {epoch}: {output}");
        assert_eq!(check["ok"], true, "{output}");
        assert_eq!(check["problems"], serde_json::json!([]), "{output}");
        assert_eq!(check["computed_root"], check["reported_root"], "{output}");
        assert_eq!(
            check["snapshot_chain"], check["snapshot_bundle"],
            "{output}"
        );
        assert!(u64_of(&check, "records") > 0, "{output}");
        assert!(
            u64_of(&check["chain"], "votes_for_computed") >= 2,
            "{output}"
        );
        assert_ne!(check["chain"]["status"], "voting", "{output}");
    }
    // Pinned to the network's parameters (the [verify] section of the localnet's first
    // oracle's configuration file): still OK.
    let network_params = data_dir.join("oracle-1/oracle.toml");
    let bundle_params: Value = serde_json::from_slice(&part_bytes(&store, 1, "params")).unwrap();
    let pinned_arg = network_params.display().to_string();
    let (ok, _, output) = unconfigured(&[
        "-u",
        url,
        "rewards",
        "verify-epoch",
        "1",
        "--bundle",
        &store_arg,
        "--params",
        &pinned_arg,
    ]);
    assert!(ok, "{output}");
    // An oracle that publishes the bundle locates it.
    let oracle = format!("http://127.0.0.1:{oracle_port}");
    let (ok, check, output) = unconfigured(&[
        "-u",
        url,
        "rewards",
        "verify-epoch",
        "2",
        "--oracle",
        &oracle,
    ]);
    assert!(ok, "{output}");
    assert_eq!(check["ok"], true, "{output}");
    assert!(
        check["bundle"]
            .as_str()
            .unwrap()
            .ends_with("oracle-1/epochs/2/index.json"),
        "{output}"
    );
    // The human form says OK.
    let out = groundwork_unconfigured()
        .args([
            "-u",
            url,
            "rewards",
            "verify-epoch",
            "1",
            "--bundle",
            &store_arg,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("epoch 1: OK"));

    let epoch = 1u64;
    let snapshot = groundwork_oracle_rewards::snapshot::ChainSnapshot::decode(&part_bytes(
        &store, epoch, "snapshot",
    ))
    .unwrap();
    let params = groundwork_oracle_rewards::VerifyParams::from_canonical_bytes(&part_bytes(
        &store, epoch, "params",
    ))
    .unwrap();
    let verify_lie = |lie: &Path| {
        let lie = lie.display().to_string();
        unconfigured(&["-u", url, "rewards", "verify-epoch", "1", "--bundle", &lie])
    };

    // A report computed with density_k 1 under the bundle's parameters (density_k 4).
    let lie = tempfile::tempdir().unwrap();
    copy_store(&store, lie.path());
    let mut other_params = params.clone();
    other_params.density_k = 1;
    let report = lying_report(lie.path(), epoch, &snapshot, &other_params);
    replace_part(lie.path(), epoch, "report", &report);
    fix_index_root(lie.path(), epoch, &report);
    let (ok, check, output) = verify_lie(lie.path());
    assert!(!ok, "{output}");
    assert_eq!(check["ok"], false, "{output}");
    let differing = check["devices_differing"].as_array().unwrap();
    assert!(!differing.is_empty(), "{output}");
    assert!(
        differing.iter().any(|device| device["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|rule| rule.as_str().unwrap().starts_with("coverage score"))),
        "{output}"
    );
    assert_ne!(check["computed_root"], check["reported_root"], "{output}");

    // A consistent lie: parameters the network does not use (density_k 1) and the report
    // they give, published together. Only the chain tells: every vote is for another root.
    let lie = tempfile::tempdir().unwrap();
    copy_store(&store, lie.path());
    let report = lying_report(lie.path(), epoch, &snapshot, &other_params);
    replace_part(lie.path(), epoch, "report", &report);
    replace_part(lie.path(), epoch, "params", &other_params.canonical_bytes());
    fix_index_root(lie.path(), epoch, &report);
    let (ok, check, output) = verify_lie(lie.path());
    assert!(!ok, "{output}");
    assert_eq!(check["computed_root"], check["reported_root"], "{output}");
    assert_eq!(
        check["devices_differing"],
        serde_json::json!([]),
        "{output}"
    );
    let votes = check["chain"]["votes"].as_array().unwrap();
    assert!(votes.len() >= 2, "{output}");
    assert!(
        votes.iter().all(|vote| vote["matches"] == "neither"),
        "{output}"
    );
    assert!(
        check["problems"]
            .to_string()
            .contains("not the computed root"),
        "{output}"
    );
    // ... and pinned to the network's parameters, the bundle's are named as not theirs.
    let lie_arg = lie.path().display().to_string();
    let (ok, check, output) = unconfigured(&[
        "-u",
        url,
        "rewards",
        "verify-epoch",
        "1",
        "--bundle",
        &lie_arg,
        "--params",
        &pinned_arg,
    ]);
    assert!(!ok, "{output}");
    assert!(
        check["problems"]
            .to_string()
            .contains("are not the network's"),
        "{output}"
    );

    // A message removed from the set (a beacon; the manifest left as it was).
    let lie = tempfile::tempdir().unwrap();
    copy_store(&store, lie.path());
    let stream = part_bytes(lie.path(), epoch, "telemetry");
    let (manifest, mut records) =
        groundwork_oracle_store::manifest::decode_stream(&stream).unwrap();
    let beacon = records
        .iter()
        .position(|record| {
            matches!(
                groundwork_telemetry::TelemetryV1::from_canonical_bytes(&record.canonical)
                    .unwrap()
                    .body,
                groundwork_telemetry::TelemetryBody::Beacon { .. }
            )
        })
        .expect("the localnet's devices beacon");
    let removed = records.remove(beacon);
    let mut cut = groundwork_oracle_store::manifest::encode_stream_head(&manifest);
    for record in &records {
        groundwork_oracle_store::manifest::encode_stream_record(record, &mut cut);
    }
    replace_part(lie.path(), epoch, "telemetry", &cut);
    let (ok, check, output) = verify_lie(lie.path());
    assert!(!ok, "{output}");
    assert_eq!(u64_of(&check, "records"), records.len() as u64, "{output}");
    let problems = check["problems"].to_string();
    assert!(problems.contains("make manifest"), "{output}");
    assert!(
        problems.contains("the report was computed over union"),
        "{output}"
    );
    let removed_device = bs58::encode(removed.device.0).into_string();
    let differing = check["devices_differing"].as_array().unwrap();
    let named = differing
        .iter()
        .find(|device| device["device"] == removed_device.as_str())
        .unwrap_or_else(|| panic!("{removed_device} is not named: {output}"));
    assert!(named["rules"].to_string().contains("beacons"), "{output}");

    // A snapshot with a class's weight doubled, and the report computed over it.
    let lie = tempfile::tempdir().unwrap();
    copy_store(&store, lie.path());
    let mut altered = snapshot.clone();
    let class = altered.devices[0].class_id;
    let entry = altered
        .classes
        .iter_mut()
        .find(|entry| entry.class_id == class)
        .unwrap();
    entry.reward_weight_bps = entry.reward_weight_bps.saturating_mul(2);
    let report = lying_report(lie.path(), epoch, &altered, &params);
    replace_part(lie.path(), epoch, "snapshot", &altered.encode());
    replace_part(lie.path(), epoch, "report", &report);
    fix_index_root(lie.path(), epoch, &report);
    let (ok, check, output) = verify_lie(lie.path());
    assert!(!ok, "{output}");
    assert!(
        check["snapshot_differences"]
            .to_string()
            .contains(&format!("class {class}'s reward weight")),
        "{output}"
    );
    let differing = check["devices_differing"].as_array().unwrap();
    assert!(
        differing
            .iter()
            .any(|device| device["rules"].to_string().contains("class weight (bps)")),
        "{output}"
    );

    // A part whose bytes do not match its digest is refused, with the part's name.
    let lie = tempfile::tempdir().unwrap();
    copy_store(&store, lie.path());
    let index: Value = serde_json::from_slice(
        &std::fs::read(lie.path().join(format!("epochs/{epoch}/index.json"))).unwrap(),
    )
    .unwrap();
    let report_part = index["parts"][2]["sha256"].as_str().unwrap();
    assert_eq!(index["parts"][2]["name"], "report");
    let path = lie.path().join("parts").join(report_part);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let (ok, _, output) = verify_lie(lie.path());
    assert!(!ok, "{output}");
    assert!(
        output.contains("the report part's bytes do not match its digest"),
        "{output}"
    );

    // An index naming another root than its report's is refused.
    let lie = tempfile::tempdir().unwrap();
    copy_store(&store, lie.path());
    let index_path = lie.path().join(format!("epochs/{epoch}/index.json"));
    let mut index: Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    index["cumulative_total"] = Value::from(u64_of(&index, "cumulative_total") + 1);
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    let (ok, _, output) = verify_lie(lie.path());
    assert!(!ok, "{output}");
    assert!(
        output.contains("the bundle's index: it names root"),
        "{output}"
    );

    // Replay of three epochs with density_k = 1 and the witness factor off: each operator's
    // difference adds up to the difference of the totals, per epoch and overall.
    let changes = data_dir.join("replay.toml");
    std::fs::write(
        &changes,
        "[verify]\ndensity_k = 1\n[verify.witnesses]\nenabled = false\n",
    )
    .unwrap();
    let csv = data_dir.join("replay.csv");
    let (ok, replay, output) = unconfigured(&[
        "rewards",
        "replay",
        "--bundle",
        &store_arg,
        "--epochs",
        "0..2",
        "--params",
        changes.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(ok, "{output}");
    for epoch in replay["epochs"].as_array().unwrap() {
        // The changes, laid over the bundle's parameters (the rest kept).
        assert_eq!(epoch["params"]["density_k"], 1, "{output}");
        assert_eq!(epoch["params"]["witnesses"]["enabled"], false, "{output}");
        assert_eq!(
            epoch["params"]["slots_per_epoch"], bundle_params["slots_per_epoch"],
            "{output}"
        );
    }
    let epochs = replay["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 3, "{output}");
    let signed = |value: &Value| value.as_u64().unwrap() as i128;
    let mut moved = 0;
    // The dust carried into the first replayed epoch is the same under both rules.
    let mut dust_in = (0i128, 0i128);
    for epoch in epochs {
        let operators = epoch["operators"].as_object().unwrap();
        let by_operators: i128 = operators
            .values()
            .map(|pair| signed(&pair[1]) - signed(&pair[0]))
            .sum();
        assert_eq!(
            by_operators,
            signed(&epoch["new_paid"]) - signed(&epoch["old_paid"]),
            "{epoch}"
        );
        let by_devices: i128 = epoch["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|device| signed(&device["new"]) - signed(&device["old"]))
            .sum();
        assert_eq!(by_devices, by_operators, "{epoch}");
        moved += epoch["devices"].as_array().unwrap().len();
        // Paid plus dust is the epoch's device share plus the dust carried in, under either
        // rules (each replayed epoch carries the replay's dust to the next).
        assert_eq!(
            signed(&epoch["new_paid"]) + signed(&epoch["new_dust"]) - dust_in.1,
            signed(&epoch["old_paid"]) + signed(&epoch["old_dust"]) - dust_in.0,
            "{epoch}"
        );
        dust_in = (signed(&epoch["old_dust"]), signed(&epoch["new_dust"]));
    }
    assert!(moved > 0, "the changed rules moved no device: {output}");
    let overall: i128 = replay["operators"]
        .as_object()
        .unwrap()
        .values()
        .map(|pair| signed(&pair[1]) - signed(&pair[0]))
        .sum();
    assert_eq!(
        overall,
        signed(&replay["new_paid"]) - signed(&replay["old_paid"]),
        "{output}"
    );
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(rows.lines().count(), moved + 1, "{rows}");
}

/// Where the explorer's browser test finds Chromium: `$GROUNDWORK_TEST_CHROMIUM`, else Debian's
/// `/usr/bin/chromium`; and its Node.js packages (playwright-core, `npm ci` in
/// oracle/explorer/web). `None` when either is missing.
fn explorer_browser() -> Option<(String, std::path::PathBuf)> {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../oracle/explorer/web");
    let chromium = std::env::var("GROUNDWORK_TEST_CHROMIUM")
        .unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    (Path::new(&chromium).exists() && web.join("node_modules/playwright-core").exists())
        .then_some((chromium, web))
}

/// The explorer of the first oracle, as a person sees it in headless Chromium
/// (oracle/explorer/web/test/explorer.mjs reports what each page shows): the map shows every
/// device of the newest verified epoch, the epoch table shows each root with its votes as the
/// chain holds them, a zeroed device's page says why in words, the search box finds a device,
/// the pages fit a phone's width, and no page logs an error or fails a request. Screenshots
/// go to the folder this prints.
fn the_explorer_shows_what_the_oracle_and_chain_say(oracle_port: u16, lines: &[Value]) {
    let oracle = format!("http://127.0.0.1:{oracle_port}");
    let limit = std::time::Duration::from_secs(60);
    // The explorer's own answers, read first: what the browser must then show.
    let network = wait_for("the explorer's network page", limit, || {
        let network = http_get_json(&format!("{oracle}/v1/explorer/network"))?;
        let voted = network["epochs"].as_array()?.iter().any(|epoch| {
            epoch["votes"]
                .as_array()
                .is_some_and(|votes| votes.len() >= 2)
        });
        voted.then_some(network)
    });
    let newest = network["newest_verified_epoch"].as_u64().unwrap();
    // Each epoch's books, from the chain view's ledger, are the chain's: the mint totals the
    // localnet printed as it closed each epoch, and claims (where known) that only grow.
    let mut claimed_before = 0;
    for epoch in network["epochs"].as_array().unwrap().iter().rev() {
        let n = epoch["epoch"].as_u64().unwrap() as usize;
        let books = &epoch["chain"];
        if let Some(line) = lines.get(n) {
            assert_eq!(
                books["minted_total"], line["minted_total"],
                "epoch {n}: {books}"
            );
            assert_eq!(books["minted"], line["minted"], "epoch {n}: {books}");
        }
        assert!(
            books["supply_after_mint"].as_u64().is_some(),
            "epoch {n}: {books}"
        );
        if let Some(claimed) = books["total_claimed"].as_u64() {
            assert!(claimed >= claimed_before, "epoch {n}: {books}");
            claimed_before = claimed;
        }
    }
    // Claims (logged by the reward program, read from the transactions' logs) reached the
    // books: some epoch's ledger counts what claims had paid by its end, never more than the
    // chain's total now.
    let claimed_now = network["totals"]["total_claimed"].as_u64().unwrap();
    assert!(claimed_before > 0, "{network}");
    assert!(claimed_before <= claimed_now, "{network}");
    let work = http_get_json(&format!("{oracle}/v1/epochs/{newest}/rewards")).unwrap();
    let devices = work["devices"]["total"].as_u64().unwrap();
    assert_eq!(network["devices"], devices, "{network}");
    let world = http_get_json(&format!(
        "{oracle}/v1/explorer/map?west=-180&south=-85&east=180&north=85&zoom=1"
    ))
    .unwrap();
    let drawn = world["devices"].as_array().unwrap();
    assert_eq!(drawn.len() as u64, devices, "{world}");
    let zeroed = drawn
        .iter()
        .find(|device| device["reason"] == "impossible_movement")
        .or_else(|| drawn.iter().find(|device| device["reason"].is_string()))
        .expect("the localnet's cheaters are zeroed");
    let zeroed_key = zeroed["device"].as_str().unwrap();
    let reason = zeroed["reason"].as_str().unwrap();
    let honest_key = drawn
        .iter()
        .find(|device| device["reason"].is_null())
        .expect("an honest device")["device"]
        .as_str()
        .unwrap();

    let Some((chromium, web)) = explorer_browser() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the explorer in headless Chromium: install Debian's chromium and run npm ci in oracle/explorer/web (.ci/run does both)"
        );
        eprintln!("the explorer's browser test needs /usr/bin/chromium (or GROUNDWORK_TEST_CHROMIUM) and npm ci in oracle/explorer/web: only its JSON routes were checked");
        return;
    };
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explorer-screenshots");
    let output = std::process::Command::new("node")
        .current_dir(&web)
        .arg("test/explorer.mjs")
        .args([
            "--url", &oracle, "--zeroed", zeroed_key, "--device", honest_key,
        ])
        .args(["--chromium", &chromium])
        .arg("--screenshots")
        .arg(&screenshots)
        .output()
        .expect("node runs the explorer's browser test");
    assert!(
        output.status.success(),
        "the browser test failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    eprintln!(
        "the explorer's screenshots are in {}",
        screenshots.display()
    );
    assert_eq!(seen["console_errors"], Value::Array(vec![]), "{seen}");
    assert_eq!(seen["failed_requests"], Value::Array(vec![]), "{seen}");
    assert_eq!(seen["screenshots"].as_array().unwrap().len(), 9, "{seen}");

    // The epoch table: each root as this oracle computed it, with the chain's votes.
    let rows = seen["network"]["epoch_rows"].as_array().unwrap();
    let mut with_votes = 0;
    for row in rows {
        let epoch = row["epoch"].as_u64().unwrap();
        if let Some(work) = http_get_json(&format!("{oracle}/v1/epochs/{epoch}/rewards")) {
            assert_eq!(row["root"], work["root"], "{row}");
        }
        let votes = row["votes"].as_array().unwrap();
        for vote in votes {
            let title = vote["title"].as_str().unwrap();
            let same = title.ends_with(row["root"].as_str().unwrap());
            assert_eq!(
                vote["text"].as_str().unwrap().ends_with("✓ same root"),
                same,
                "{vote}"
            );
        }
        if votes.len() >= 2 {
            with_votes += 1;
        }
    }
    assert!(
        with_votes >= 1,
        "no epoch row shows a quorum's votes: {rows:?}"
    );
    assert_eq!(seen["network"]["oracle_rows"], 3, "{seen}");
    assert_eq!(seen["network"]["charts"].as_array().unwrap().len(), 6);

    // The map: every device in view, honest ones in an honest colour (earned, or coverage
    // not yet proven by witnesses, as the epoch went), the cheater in its rule's colour.
    let map = &seen["map"];
    assert!(map["devices_in_view"].as_u64().unwrap() >= devices, "{map}");
    assert_eq!(map["mode"], "devices", "{map}");
    assert!(
        map["status"]
            .as_str()
            .unwrap()
            .contains(&format!("{devices} devices")),
        "{map}"
    );
    let honest_pixels = map["pixels"]["earned"].as_u64().unwrap()
        + map["pixels"]["unverified_coverage"].as_u64().unwrap();
    assert!(honest_pixels > 0, "{map}");
    assert!(map["pixels"][reason].as_u64().unwrap() > 0, "{map}");
    assert!(
        seen["map_after_pan"]["drawn"].as_u64().unwrap() > 0,
        "{seen}"
    );

    // The zeroed device's page: its rule and what the rule means, in words.
    let page = &seen["zeroed_device"];
    assert_eq!(page["key"], zeroed_key);
    assert_eq!(
        page["badge"],
        format!("zeroed: {}", reason.replace('_', " "))
    );
    let reasons = page["reasons"].as_array().unwrap();
    assert!(!reasons.is_empty(), "{page}");
    let words = reasons[0].as_str().unwrap();
    assert!(
        words.starts_with(&format!("Zeroed for {}:", reason.replace('_', " "))),
        "{words}"
    );
    let rows = http_get_json(&format!("{oracle}/v1/devices/{zeroed_key}/rewards")).unwrap();
    let meaning = rows["epochs"][0]["fraud_meanings"][0]["meaning"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(words.contains(&meaning), "{words} / {meaning}");
    assert!(page["explanations"][0]
        .as_str()
        .unwrap()
        .contains(&format!("zeroed for {reason}")));
    assert!(
        seen["operator"]["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|device| device == zeroed_key),
        "{seen}"
    );

    // The search box: a prefix lists the device; the whole key opens its page.
    let search = &seen["search"];
    assert!(
        search["prefix_results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|key| key == honest_key),
        "{search}"
    );
    assert_eq!(search["whole_key_opened"], format!("#/device/{honest_key}"));
    assert_eq!(search["page_key"], honest_key);
    assert_eq!(seen["oracle"]["health"], "ok", "{seen}");
    let headings = seen["oracle"]["headings"].as_array().unwrap();
    for heading in ["Stages", "Epochs in this oracle's store", "Submissions"] {
        assert!(
            headings.iter().any(|seen| seen == heading),
            "{heading}: {headings:?}"
        );
    }

    // A phone's width: nothing wider than the screen.
    for page in ["network", "map", "device"] {
        let phone = &seen["phone"][page];
        assert!(
            phone["scroll_width"].as_u64() <= phone["width"].as_u64(),
            "{page}: {phone}"
        );
    }
}
