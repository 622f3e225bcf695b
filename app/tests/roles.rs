//! The operator's and the dApp's commands through the binary against a running localnet:
//! what a user does, and every bad input refused with a clear message and nothing changed on
//! chain.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use serde_json::Value;

mod common;
use common::{free_port_pair, groundwork, groundwork_unconfigured};

const CELL: &str = "8c283082a30e7ff";

struct Localnet {
    child: Child,
    url: String,
    oracle_url: String,
    dir: tempfile::TempDir,
}

impl Drop for Localnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A localnet that has closed its first epoch (the treasury, the authority, holds tokens).
fn localnet() -> Localnet {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port_pair();
    let oracle_port = free_port_pair();
    let mut child = groundwork(&dir.path().join("config.toml"))
        .args([
            "--output",
            "json-compact",
            "localnet",
            "--epoch-length",
            "3s",
            "--epochs",
            "1",
            // These tests vote roots by hand.
            "--without-votes",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--port", &port.to_string()])
        .args(["--oracle-port", &oracle_port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"epoch\":0"), "{first}");
    Localnet {
        child,
        url: format!("http://127.0.0.1:{port}"),
        oracle_url: format!("http://127.0.0.1:{oracle_port}"),
        dir,
    }
}

/// The result of one command: success, stdout, stderr.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json(&self) -> Value {
        assert!(self.ok, "command failed: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|_| panic!("not JSON: {}", self.stdout))
    }

    #[track_caller]
    fn refused_with(&self, message: &str) {
        assert!(!self.ok, "expected a refusal, got: {}", self.stdout);
        assert!(
            self.stderr.contains(message),
            "expected {message:?} in: {}",
            self.stderr
        );
    }
}

impl Localnet {
    /// The config file the localnet wrote its profile into.
    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn key(&self, name: &str) -> PathBuf {
        self.dir.path().join("keys").join(name)
    }

    fn run(&self, keypair: &Path, args: &[&str]) -> Ran {
        // Everything explicit: the localnet's profile is left to the tests of the config.
        let output = groundwork_unconfigured()
            .args(["-u", &self.url, "--output", "json-compact", "-k"])
            .arg(keypair)
            .args(args)
            .output()
            .unwrap();
        Ran {
            ok: output.status.success(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    fn credits(&self, owner: &Path) -> u64 {
        self.run(owner, &["credits", "balance"]).json()["credits"]
            .as_u64()
            .unwrap()
    }

    /// A new keypair file holding SOL, from the local faucet.
    fn funded_wallet(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let made = self
            .run(
                &path,
                &["device", "keygen", "--outfile", path.to_str().unwrap()],
            )
            .json();
        let pubkey = made["pubkey"].as_str().unwrap().to_string();
        let funded = self.run(&path, &["airdrop", "10", &pubkey]).json();
        assert_eq!(funded["balance_lamports"], 10_000_000_000u64);
        path
    }
}

#[test]
fn an_operator_and_a_dapp_use_the_network_and_bad_input_changes_nothing() {
    let net = localnet();
    let authority = net.key("authority.json");

    // The dApp (here the authority, which holds the treasury's tokens) buys credits.
    // What the purchase did is said: the credits received for the tokens burned.
    let bought = net
        .run(&authority, &["credits", "buy", "--amount", "100"])
        .json();
    assert_eq!(
        (
            bought["effect"]["credits_received"].as_u64(),
            bought["effect"]["tokens_burned_base_units"].as_u64(),
            bought["effect"]["credits_held"].as_u64()
        ),
        (Some(5_000_000), Some(100_000_000), Some(5_000_000))
    );
    assert!(
        bought["effect"]["summary"].as_str().unwrap().contains(
            "burned 100 network tokens for 5000000 credits (0.020000 tokens per 1,000 credits)"
        ),
        "{bought}"
    );
    assert_eq!(net.credits(&authority), 5_000_000);
    for (amount, slippage, refusal) in [
        (
            "1000000000",
            "100",
            "network tokens, buying needs 1000000000",
        ),
        ("0", "100", "--amount 0 is zero"),
        ("1", "20000", "--slippage-bps 20000 is more than 10000"),
        ("1.0000001", "100", "more than 6 decimals"),
    ] {
        net.run(
            &authority,
            &[
                "credits",
                "buy",
                "--amount",
                amount,
                "--slippage-bps",
                slippage,
            ],
        )
        .refused_with(refusal);
    }
    assert_eq!(net.credits(&authority), 5_000_000);

    // The operator registers and onboards a device.
    net.run(&authority, &["operator", "register"]).json();
    let shown = net.run(&authority, &["operator", "show"]).json();
    assert_eq!(shown["devices"], 0);
    net.run(&authority, &["operator", "register"])
        .refused_with("already a registered operator");
    let devices_dir = net.dir.path().join("devices");
    std::fs::create_dir_all(&devices_dir).unwrap();
    let device_key = devices_dir.join("device-1.json");
    let made = net
        .run(
            &authority,
            &[
                "device",
                "keygen",
                "--outfile",
                device_key.to_str().unwrap(),
            ],
        )
        .json();
    let device = made["pubkey"].as_str().unwrap().to_string();
    net.run(
        &authority,
        &[
            "device",
            "keygen",
            "--outfile",
            device_key.to_str().unwrap(),
        ],
    )
    .refused_with("refusing to overwrite");
    let onboard = |keypair: &Path, cell: &str| {
        net.run(
            keypair,
            &[
                "device",
                "onboard",
                "--device-keypair",
                device_key.to_str().unwrap(),
                "--class",
                "0",
                "--cell",
                cell,
            ],
        )
    };
    onboard(&authority, "85283083fffffff").refused_with("resolution 5; use 8 to 15");
    // Degrees out of range are refused before anything is simulated (137.7 is not wrapped
    // to Kazakhstan), --dry-run included: no credit is burned.
    let credits_before = net.credits(&authority);
    let onboard_at = |global: &[&str], lat: &str, lon: &str| {
        let mut args: Vec<&str> = global.to_vec();
        args.extend([
            "device",
            "onboard",
            "--device-keypair",
            device_key.to_str().unwrap(),
            "--class",
            "0",
            "--lat",
            lat,
            "--lon",
            lon,
        ]);
        net.run(&authority, &args)
    };
    onboard_at(&[], "137.7", "-122.4").refused_with("--lat 137.7 is not a latitude");
    onboard_at(&["--dry-run"], "37.7", "400").refused_with("--lon 400 is not a longitude");
    assert_eq!(net.credits(&authority), credits_before);
    net.run(&authority, &["device", "show", &device])
        .refused_with("is not onboarded");
    // A key without SOL is told so, and how to get some, before anything is simulated.
    let broke = net.dir.path().join("broke.json");
    net.run(
        &broke,
        &["device", "keygen", "--outfile", broke.to_str().unwrap()],
    )
    .json();
    net.run(&broke, &["operator", "register"])
        .refused_with("no SOL: ");
    net.run(&broke, &["operator", "register"])
        .refused_with("run `groundwork airdrop`");
    // What a key holds, in one command; the broke key's balance says how to get SOL.
    let held = net.run(&broke, &["balance"]).json();
    assert_eq!(
        (
            held["sol_lamports"].as_u64(),
            held["credits"].as_u64(),
            held["positions"].as_u64(),
            held["network_token_decimals"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(6))
    );
    let shown = groundwork_unconfigured()
        .args(["-u", &net.url, "-k", broke.to_str().unwrap(), "balance"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout)
        .contains("no SOL for fees: run `groundwork airdrop 1`"));
    let authority_holds = net.run(&authority, &["balance"]).json();
    assert_eq!(
        authority_holds["credits"].as_u64(),
        Some(net.credits(&authority))
    );
    assert!(authority_holds["sol_lamports"].as_u64() > Some(0));
    // A key is made offline (no cluster reachable).
    let offline = net.dir.path().join("offline.json");
    let made = groundwork_unconfigured()
        .args([
            "-u",
            "http://127.0.0.1:1",
            "--output",
            "json-compact",
            "keygen",
            "--outfile",
            offline.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(offline.exists());
    net.run(&authority, &["device", "show", &device])
        .refused_with("is not onboarded");
    let onboarded = onboard(&authority, CELL).json();
    assert_eq!(
        (
            onboarded["effect"]["fee_credits"].as_u64(),
            onboarded["effect"]["credits_left"].as_u64()
        ),
        (Some(400_000), Some(5_000_000 - 400_000))
    );
    assert_eq!(net.credits(&authority), 5_000_000 - 400_000);
    let record = net.run(&authority, &["device", "show", &device]).json();
    assert_eq!(
        (record["class_id"].as_u64(), record["location"].as_str()),
        (Some(0), Some(CELL))
    );
    onboard(&authority, CELL).refused_with("is already onboarded by operator");
    // Suspensions are given and shown by name.
    net.run(
        &authority,
        &["authority", "suspend", &device, "--reason", "spoofing"],
    )
    .refused_with("is neither a reason this CLI names (cloned-key, location-spoofing");
    net.run(
        &authority,
        &[
            "authority",
            "suspend",
            &device,
            "--reason",
            "location-spoofing",
        ],
    )
    .json();
    let record = net.run(&authority, &["device", "show", &device]).json();
    assert!(
        record["status"]
            .as_str()
            .unwrap()
            .starts_with("suspended (location-spoofing, reason 2: "),
        "{record}"
    );
    net.run(
        &authority,
        &[
            "device",
            "assert-location",
            &device,
            "--cell",
            "8c283082a30e1ff",
        ],
    )
    .refused_with("is suspended (location-spoofing, reason 2");
    net.run(&authority, &["authority", "reinstate", &device])
        .json();
    assert_eq!(net.credits(&authority), 5_000_000 - 400_000);

    // A stranger's keypair is not the device's operator; an operator without credits cannot
    // onboard; nothing is sent either time.
    let stranger = net.funded_wallet("stranger.json");
    net.run(
        &stranger,
        &[
            "device",
            "assert-location",
            &device,
            "--cell",
            "8c283082a30e1ff",
        ],
    )
    .refused_with("is not the operator of device");
    net.run(&stranger, &["operator", "register"]).json();
    let other_key = devices_dir.join("device-2.json");
    net.run(
        &stranger,
        &["device", "keygen", "--outfile", other_key.to_str().unwrap()],
    )
    .json();
    net.run(
        &stranger,
        &[
            "device",
            "onboard",
            "--device-keypair",
            other_key.to_str().unwrap(),
            "--class",
            "0",
            "--cell",
            CELL,
        ],
    )
    .refused_with("you hold 0 credits, onboarding a outdoor-hotspot needs 400000");
    net.run(
        &stranger,
        &[
            "device",
            "onboard",
            "--device-keypair",
            other_key.to_str().unwrap(),
            "--class",
            "9",
            "--cell",
            CELL,
        ],
    )
    .refused_with("device class 9 does not exist");

    // The device moves (from a point), is paid for service, and is listed.
    net.run(
        &authority,
        &[
            "device",
            "assert-location",
            &device,
            "--lat",
            "37.7749",
            "--lon",
            "-122.4194",
        ],
    )
    .json();
    assert_eq!(net.credits(&authority), 5_000_000 - 400_000 - 100_000);
    net.run(
        &authority,
        &["credits", "pay", &device, "--credits", "1000"],
    )
    .json();
    let record = net.run(&authority, &["device", "show", &device]).json();
    assert_eq!(record["credits_spent"], 1_000);
    assert_eq!(record["location_assertions"], 2);
    let listed = net.run(&authority, &["device", "list"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // The device streams signed telemetry to the localnet's oracle (the key that is not
    // onboarded is skipped).
    let streamed = net
        .run(
            &authority,
            &[
                "simulate",
                "--oracle",
                &net.oracle_url,
                "--device-keypairs",
                devices_dir.to_str().unwrap(),
                "--rate",
                "1",
                // Long enough for the device's onboarding to be finalized and seen (~10 s).
                "--duration",
                "15s",
                "--binary",
            ],
        )
        .json();
    assert!(streamed["accepted"].as_u64().unwrap() > 0, "{streamed}");
    assert_eq!(streamed["duplicates"], 0);

    // The oracle verified epoch 0 (the one epoch this localnet closes): `device report` says
    // why one of its simulated devices earned what it earned.
    let simulated = std::fs::read_dir(net.dir.path().join("keys").join("devices"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .expect("a simulated device's keypair");
    let simulated_key = {
        let bytes: Vec<u8> =
            serde_json::from_str(&std::fs::read_to_string(&simulated).unwrap()).unwrap();
        bs58::encode(&bytes[32..]).into_string()
    };
    let started = std::time::Instant::now();
    let report = loop {
        let ran = net.run(
            &authority,
            &[
                "device",
                "report",
                &simulated_key,
                "--oracle",
                &net.oracle_url,
            ],
        );
        if ran.ok {
            break ran.json();
        }
        assert!(ran.stderr.contains("has no row"), "{}", ran.stderr);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "epoch 0 was not verified: {}",
            ran.stderr
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    let row = &report["epochs"][0];
    assert_eq!(row["epoch"], 0, "{report}");
    // (The localnet's 3-second epochs have one slot per telemetry round.)
    assert!(row["explanation"].as_str().unwrap().contains(&format!(
        "seen in {} of 1 slots ({} heartbeats)",
        row["uptime_slots"], row["heartbeats"]
    )));
    // A device the oracle has no row for is refused with the reason.
    net.run(
        &authority,
        &["device", "report", &device, "--oracle", &net.oracle_url],
    )
    .refused_with("has no row");

    // Generated devices: keys written, onboarded around a cell under the keypair, streamed
    // (the oracle accepts them once their onboarding is finalized).
    let generated_dir = net.dir.path().join("generated");
    let generate = |keypair: &Path, count: &str| {
        net.run(
            keypair,
            &[
                "simulate",
                "--oracle",
                &net.oracle_url,
                "--device-keypairs",
                generated_dir.to_str().unwrap(),
                "--generate",
                count,
                "--cell",
                CELL,
                "--rate",
                "1",
                // The oracle learns of new devices from finalized events (~10 s here).
                "--duration",
                "20s",
            ],
        )
    };
    let credits_before = net.credits(&authority);
    generate(&authority, "10000").refused_with("you hold");
    let stranger_wallet = net.funded_wallet("simulating-stranger.json");
    generate(&stranger_wallet, "2").refused_with("is not a registered operator");
    assert_eq!(net.credits(&authority), credits_before);
    let generated = generate(&authority, "3").json();
    assert!(generated["accepted"].as_u64().unwrap() > 0, "{generated}");
    // It waited for the oracle to know its new devices: none was refused as unknown.
    assert_eq!(
        generated["rejected"].get("unknown_device"),
        None,
        "{generated}"
    );
    assert_eq!(std::fs::read_dir(&generated_dir).unwrap().count(), 3);
    let listed = net.run(&authority, &["device", "list"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 4);
    assert_eq!(net.credits(&authority), credits_before - 3 * 400_000);

    // --dry-run simulates, --dump-transaction-message prints the message: neither sends.
    let dry = net
        .run(
            &authority,
            &["--dry-run", "credits", "pay", &device, "--credits", "7"],
        )
        .json();
    assert_eq!(dry["outcome"], "simulated");
    let dump = net
        .run(
            &authority,
            &[
                "--dump-transaction-message",
                "credits",
                "pay",
                &device,
                "--credits",
                "7",
            ],
        )
        .json();
    assert_eq!(dump["outcome"], "message");
    assert!(!dump["message_base64"].as_str().unwrap().is_empty());
    assert_eq!(
        net.run(&authority, &["device", "show", &device]).json()["credits_spent"],
        1_000
    );
    net.run(&stranger, &["credits", "pay", &device, "--credits", "5"])
        .refused_with("you hold 0 credits, this payment needs 5");

    // A transfer needs the receiver's signature, made on its own machine: the operator signs
    // with --sign-only naming the receiver by its key; the receiver sends with the
    // operator's signature. A signature over another blockhash is refused; the receiver then
    // retires the device.
    let stranger_key = net.run(&stranger, &["operator", "show"]).json()["operator"]
        .as_str()
        .unwrap()
        .to_string();
    let authority_key = net.run(&authority, &["operator", "show"]).json()["operator"]
        .as_str()
        .unwrap()
        .to_string();
    let blockhash = net.run(&authority, &["blockhash"]).json()["blockhash"]
        .as_str()
        .unwrap()
        .to_string();
    let transfer = |signer: &Path, extra: &[&str], to: &str| {
        let mut args = vec!["--blockhash", blockhash.as_str()];
        args.extend_from_slice(extra);
        args.extend(["device", "transfer", device.as_str(), "--to-keypair", to]);
        net.run(signer, &args)
    };
    let signed = transfer(&authority, &["--sign-only"], &stranger_key).json();
    assert_eq!(signed["outcome"], "signed_only");
    assert_eq!(signed["absent"], serde_json::json!([stranger_key]));
    let signature = signed["signers"][0].as_str().unwrap().to_string();
    assert!(
        signature.starts_with(&format!("{authority_key}=")),
        "{signed}"
    );
    // Nothing moved yet.
    assert_eq!(
        net.run(&authority, &["device", "show", &device]).json()["operator"],
        authority_key.as_str()
    );
    // Without the operator's signature, or with one over another message, nothing is sent.
    transfer(Path::new(&authority_key), &[], stranger.to_str().unwrap())
        .refused_with(&format!("{authority_key} must sign"));
    let forged = format!("{authority_key}={}", bs58::encode([7u8; 64]).into_string());
    transfer(
        Path::new(&authority_key),
        &["--signer", &forged],
        stranger.to_str().unwrap(),
    )
    .refused_with("is not over this transaction");
    let sent = transfer(
        Path::new(&authority_key),
        &["--signer", &signature],
        stranger.to_str().unwrap(),
    )
    .json();
    assert_eq!(sent["outcome"], "confirmed", "{sent}");
    assert_eq!(
        net.run(&authority, &["device", "show", &device]).json()["operator"],
        net.run(&stranger, &["operator", "show"]).json()["operator"]
    );
    net.run(&authority, &["device", "deactivate", &device])
        .refused_with("is not the operator of device");
    net.run(&stranger, &["device", "deactivate", &device])
        .json();
    net.run(&authority, &["device", "show", &device])
        .refused_with("is not onboarded");
    a_new_wallet_starts_from_the_localnet_profile(&net);
}

/// A new user's first steps with nothing but the CLI: the localnet's profile names the
/// cluster, the oracle and the token faucet, so `keygen`, `airdrop` (SOL and network tokens),
/// `balance` and `token transfer` need no flag; bad transfers change nothing.
fn a_new_wallet_starts_from_the_localnet_profile(net: &Localnet) {
    let bare = |args: &[&str]| {
        let output = groundwork(&net.config())
            .args(["--output", "json-compact"])
            .args(args)
            .output()
            .unwrap();
        Ran {
            ok: output.status.success(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    };
    let settings = bare(&["config", "get"]).json();
    let setting = |key: &str| {
        settings["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|setting| setting["key"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(settings["profile"], "localnet");
    assert_eq!(setting("url")["value"].as_str(), Some(net.url.as_str()));
    assert_eq!(setting("url")["source"], "profile localnet");
    assert_eq!(
        setting("oracle")["value"].as_str(),
        Some(net.oracle_url.as_str())
    );
    // Values are checked when set; a setting goes to the profile named, and comes back out.
    bare(&["config", "set", "output", "yaml"]).refused_with("use display, json or json-compact");
    let set = bare(&[
        "--profile",
        "lab",
        "config",
        "set",
        "oracle",
        "http://10.0.0.2:8080/",
    ])
    .json();
    assert_eq!(set["changed_in"], "profile lab", "{set}");
    assert_eq!(set["settings"][0]["value"], "http://10.0.0.2:8080", "{set}");
    let unset = bare(&["--profile", "lab", "config", "unset", "oracle"]).json();
    assert!(unset["settings"][0]["value"].is_null(), "{unset}");
    assert_eq!(bare(&["config", "get"]).json()["profile"], "localnet");
    let me = net.dir.path().join("me.json");
    let my_key = bare(&["keygen", "--outfile", me.to_str().unwrap()]).json()["pubkey"]
        .as_str()
        .unwrap()
        .to_string();
    let me_flag = me.to_str().unwrap();
    let dropped = bare(&["-k", me_flag, "airdrop", "5"]).json();
    assert_eq!(dropped["balance_lamports"], 5_000_000_000u64);
    assert_eq!(dropped["tokens_given_base_units"], 1_000_000_000u64);
    let held = bare(&["-k", me_flag, "balance"]).json();
    assert_eq!(held["network_token_base_units"], 1_000_000_000u64, "{held}");
    // The profile's oracle answers for claimable rewards (none yet).
    assert_eq!(held["claimable_base_units"], 0, "{held}");

    let friend = net.dir.path().join("friend.json");
    let friend_key = bare(&["keygen", "--outfile", friend.to_str().unwrap()]).json()["pubkey"]
        .as_str()
        .unwrap()
        .to_string();
    for (amount, recipient, refusal) in [
        ("0", friend_key.as_str(), "is zero: nothing to send"),
        (
            "1000.000001",
            friend_key.as_str(),
            "fewer than the 1000.000001 to send",
        ),
        ("1.0000001", friend_key.as_str(), "more than 6 decimals"),
        ("5", my_key.as_str(), "is your own key"),
        (
            "5",
            "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
            "not a wallet",
        ),
    ] {
        bare(&["-k", me_flag, "token", "transfer", amount, recipient]).refused_with(refusal);
    }
    let held = bare(&["-k", me_flag, "balance"]).json();
    assert_eq!(held["network_token_base_units"], 1_000_000_000u64);
    let sent = bare(&["-k", me_flag, "token", "transfer", "12.5", &friend_key]).json();
    assert_eq!(sent["outcome"], "confirmed");
    assert_eq!(
        (
            sent["effect"]["amount_base_units"].as_u64(),
            sent["effect"]["created_token_account"].as_bool(),
            sent["effect"]["sender_balance_base_units"].as_u64(),
            sent["effect"]["recipient_balance_base_units"].as_u64()
        ),
        (
            Some(12_500_000),
            Some(true),
            Some(987_500_000),
            Some(12_500_000)
        )
    );
    let shown = groundwork(&net.config())
        .args(["-k", me_flag, "token", "transfer", "0.5", &friend_key])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("sent 0.500000 network tokens to")
            && shown.contains("you now hold 987.000000; the recipient holds 13.000000"),
        "{shown}"
    );
    // Without a configured oracle, the commands that need one say how to name one.
    groundwork_unconfigured()
        .args(["-u", &net.url, "oracle", "status"])
        .output()
        .map(|output| {
            assert!(!output.status.success());
            assert!(String::from_utf8_lossy(&output.stderr)
                .contains("no oracle named: pass --oracle URL"));
        })
        .unwrap();
}

impl Localnet {
    /// The authority adds a class with fees of 1 credit and `weight_bps`; returns its id.
    fn add_class(&self, name: &str, weight_bps: &str, extra: &[&str]) -> String {
        let authority = self.key("authority.json");
        let class = self.run(&authority, &["network", "status"]).json()["device_classes"]
            .as_u64()
            .unwrap()
            .to_string();
        let mut args = vec![
            "authority",
            "add-class",
            "--name",
            name,
            "--onboarding-fee-credits",
            "1",
            "--location-fee-credits",
            "1",
            "--reward-weight-bps",
            weight_bps,
        ];
        args.extend_from_slice(extra);
        self.run(&authority, &args).json();
        class
    }

    /// Closes the next epoch once it has ended (the localnet only closed its first one).
    fn close_next_epoch(&self, keypair: &Path) {
        for _ in 0..40 {
            let ran = self.run(keypair, &["crank", "close-epoch"]);
            if ran.ok {
                return;
            }
            assert!(
                ran.stderr.contains("nothing to close yet"),
                "{}",
                ran.stderr
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!("no epoch ended within 20 s");
    }
}

#[test]
fn a_staker_and_the_authority_use_the_network_and_bad_input_changes_nothing() {
    let net = localnet();
    let authority = net.key("authority.json");
    let authority_key = net.run(&authority, &["credits", "balance"]).json()["owner"]
        .as_str()
        .unwrap()
        .to_string();

    // Positions: flexible and a short cliff; too much, or a locked withdrawal, is refused.
    net.run(
        &authority,
        &["stake", "create", "--amount", "100", "--lockup", "flexible"],
    )
    .json();
    let created = net
        .run(
            &authority,
            &[
                "stake",
                "create",
                "--amount",
                "50",
                "--lockup",
                "cliff",
                "--duration",
                "600s",
            ],
        )
        .json();
    assert_eq!(created["effect"]["amount_base_units"], 50_000_000);
    assert_eq!(created["effect"]["multiplier_bps"], 40_000);
    let summary = created["effect"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("50 network tokens locked (Cliff, weight 4x)")
            && summary.contains("unlocks at 20"),
        "{summary}"
    );
    net.run(
        &authority,
        &[
            "stake",
            "create",
            "--amount",
            "1000000000",
            "--lockup",
            "flexible",
        ],
    )
    .refused_with("this position needs 1000000000");
    net.run(
        &authority,
        &["stake", "create", "--amount", "1", "--lockup", "cliff"],
    )
    .refused_with("needs --duration");
    // Amounts and durations out of the program's bounds are refused before simulation.
    for (args, refusal) in [
        (
            &["--amount", "0", "--lockup", "flexible"][..],
            "--amount 0 is zero",
        ),
        (
            &["--amount", "1", "--lockup", "flexible", "--duration", "30d"][..],
            "a flexible position has no lockup --duration",
        ),
        (
            &["--amount", "1", "--lockup", "cliff", "--duration", "601s"][..],
            "a longer lockup earns nothing more (at most --duration 600s)",
        ),
        (
            &["--amount", "1", "--lockup", "constant", "--duration", "0s"][..],
            "--duration must be at least a second",
        ),
    ] {
        let mut command = vec!["stake", "create"];
        command.extend_from_slice(args);
        net.run(&authority, &command).refused_with(refusal);
    }
    assert_eq!(
        net.run(&authority, &["stake", "list"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    net.run(&authority, &["stake", "withdraw", "1"])
        .refused_with("is locked for");
    net.run(&authority, &["stake", "withdraw", "0"])
        .refused_with("start its cooldown");
    net.run(&authority, &["stake", "claim", "0"])
        .refused_with("has nothing to claim yet");
    let listed = net.run(&authority, &["stake", "list"]).json();
    let positions = listed.as_array().unwrap();
    assert_eq!(positions.len(), 2);
    assert_eq!(
        positions[1]["multiplier_bps"], 40_000,
        "600 s saturates the localnet bonus"
    );

    // Once their first epoch is funded the view shows what they earned; a claim pays it.
    // Close epochs until the ones both positions activate in have been funded (the second
    // may have been created an epoch after the first: the localnet's epochs are 3 s, and a
    // delegation of a position not active yet is refused).
    // (As many closes as epochs passed since the localnet started: bounded by time.)
    let mut listed = net.run(&authority, &["stake", "list"]).json();
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(180) {
        if listed[0]["claimable"].as_u64().unwrap() > 0
            && listed[1]["claimable"].as_u64().unwrap() > 0
        {
            break;
        }
        net.close_next_epoch(&authority);
        listed = net.run(&authority, &["stake", "list"]).json();
    }
    let claimable = listed[0]["claimable"].as_u64().unwrap();
    assert!(claimable > 0, "{listed}");
    assert!(listed[1]["claimable"].as_u64().unwrap() > 0, "{listed}");
    let paid = net.run(&authority, &["stake", "claim", "0"]).json();
    assert_eq!(
        paid["effect"]["claimed_base_units"].as_u64(),
        Some(claimable)
    );
    let listed = net.run(&authority, &["stake", "list"]).json();
    assert_eq!(listed[0]["claimed"].as_u64().unwrap(), claimable);
    assert_eq!(listed[0]["claimable"], 0);

    // Delegation to a registered operator, and an unbonding that is not over yet.
    net.run(
        &authority,
        &["stake", "delegate", "0", "--operator", &authority_key],
    )
    .refused_with("is not a registered operator");
    net.run(&authority, &["operator", "register"]).json();
    net.run(
        &authority,
        &["stake", "delegate", "0", "--operator", &authority_key],
    )
    .json();
    let unbonding = net.run(&authority, &["stake", "undelegate", "0"]).json();
    let completes = unbonding["effect"]["undelegation_completes_epoch"]
        .as_u64()
        .unwrap();
    assert!(
        unbonding["effect"]["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("back from the pool from epoch {completes}")),
        "{unbonding}"
    );
    // (Checked first: the unbonding ends 2 to 3 epochs of 3 s after the request.)
    net.run(&authority, &["stake", "complete-undelegation", "0"])
        .refused_with("undelegation completes in epoch");
    net.run(&authority, &["stake", "undelegate", "0"])
        .refused_with("is already unbonding");

    // A slash of the operator halves its pool and, synced at once, the delegated bonus.
    net.run(
        &authority,
        &["stake", "delegate", "1", "--operator", &authority_key],
    )
    .json();
    let before = net.run(&authority, &["stake", "list"]).json();
    let bonus_before: u128 = before[1]["bonus_weight"].as_str().unwrap().parse().unwrap();
    let slashed = net.run(
        &authority,
        &[
            "authority",
            "slash",
            &authority_key,
            "--bps",
            "5000",
            "--reason",
            "2",
        ],
    );
    assert!(slashed.ok, "{}", slashed.stderr);
    assert!(
        slashed.stderr.contains("1 delegated position(s) synced"),
        "{}",
        slashed.stderr
    );
    let after = net.run(&authority, &["stake", "list"]).json();
    let bonus_after: u128 = after[1]["bonus_weight"].as_str().unwrap().parse().unwrap();
    assert_eq!(bonus_after, bonus_before / 2);
    // A delegated position shows the tokens its pool shares are worth, halved by the slash.
    let delegated_before = before[1]["amount"].as_u64().unwrap();
    assert!(delegated_before > 0, "{before}");
    assert_eq!(after[1]["amount"].as_u64(), Some(delegated_before / 2));
    let synced = net
        .run(&authority, &["crank", "sync-pool", &authority_key])
        .json();
    assert_eq!(synced["positions"], 0);

    // The authority adds a class; a multisig gets the unsigned message instead; a stranger
    // is refused.
    net.run(
        &authority,
        &[
            "authority",
            "add-class",
            "--name",
            "gateway",
            "--onboarding-fee-credits",
            "1",
            "--location-fee-credits",
            "1",
            "--reward-weight-bps",
            "5000",
        ],
    )
    .json();
    let status = net.run(&authority, &["network", "status"]).json();
    assert_eq!(status["device_classes"], 3);
    let stranger = net.dir.path().join("stranger.json");
    net.run(
        &stranger,
        &["device", "keygen", "--outfile", stranger.to_str().unwrap()],
    )
    .json();
    let dumped = net
        .run(
            &stranger,
            &[
                "--dump-transaction-message",
                "authority",
                "--authority",
                &authority_key,
                "approve-maker",
                &authority_key,
            ],
        )
        .json();
    assert_eq!(dumped["fee_payer"], authority_key.as_str());
    let refused = net.run(&stranger, &["authority", "approve-maker", &authority_key]);
    refused.refused_with("is not the network authority");
    // The hint's flags work where it puts them: after the command.
    assert!(refused
        .stderr
        .contains("the same command with --dump-transaction-message --authority"));
    let hinted = net
        .run(
            &stranger,
            &[
                "authority",
                "approve-maker",
                &authority_key,
                "--dump-transaction-message",
                "--authority",
                &authority_key,
            ],
        )
        .json();
    assert_eq!(hinted["fee_payer"], authority_key.as_str());
    net.run(
        &authority,
        &["authority", "suspend", &authority_key, "--reason", "3"],
    )
    .refused_with("is not onboarded");
    net.run(&authority, &["crank", "activate-root", "0"])
        .refused_with("has no pending root");
    let status = net.run(&authority, &["network", "status"]).json();
    assert_eq!(status["device_classes"], 3);

    // Parameters: each change shows in the status; a bad value is refused and changes nothing.
    let parameters =
        |net: &Localnet| net.run(&authority, &["network", "status"]).json()["parameters"].clone();
    let before = parameters(&net);
    net.run(
        &authority,
        &["authority", "set-reward-params", "--devices-bps", "9000"],
    )
    .refused_with("must add up to 10,000 bps");
    net.run(
        &authority,
        &[
            "authority",
            "set-reward-params",
            "--treasury",
            &authority_key,
        ],
    )
    .refused_with("is not a token account");
    net.run(
        &authority,
        &[
            "authority",
            "set-emission-controls",
            "--breaker-window-epochs",
            "99",
        ],
    )
    .refused_with("must be 1 to 32");
    net.run(
        &authority,
        &["authority", "append-emission-steps", "--step", "0:5"],
    )
    .refused_with("does not come after");
    // A value the CLI does not check, refused by the program in the multisig message's
    // simulation: nothing is printed to propose.
    net.run(
        &stranger,
        &[
            "--dump-transaction-message",
            "authority",
            "--authority",
            &authority_key,
            "update-class",
            "0",
            "--reward-weight-bps",
            "0",
        ],
    )
    .refused_with("the transaction would fail: device_registry refused it: InvalidRewardWeight — ");
    assert_eq!(parameters(&net), before);
    // A two-step transfer to a vault that holds no SOL: its acceptance is dumped for the vault
    // to propose, simulated with the CLI's keypair standing in as fee payer.
    let vault = net.dir.path().join("vault.json");
    let vault_key = net
        .run(
            &vault,
            &["device", "keygen", "--outfile", vault.to_str().unwrap()],
        )
        .json()["pubkey"]
        .as_str()
        .unwrap()
        .to_string();
    net.run(
        &authority,
        &[
            "authority",
            "transfer-authority",
            "--program",
            "device-registry",
            "--new-authority",
            &vault_key,
        ],
    )
    .json();
    let accept = [
        "--dump-transaction-message",
        "authority",
        "--authority",
        &vault_key,
        "accept-authority",
        "--program",
        "device-registry",
    ];
    let dumped = net.run(&authority, &accept);
    assert_eq!(dumped.json()["fee_payer"], vault_key.as_str());
    assert!(
        !dumped.stderr.contains("not simulated"),
        "{}",
        dumped.stderr
    );
    let unchecked = net.run(&vault, &accept);
    assert_eq!(unchecked.json()["fee_payer"], vault_key.as_str());
    assert!(
        unchecked.stderr.contains("were not simulated"),
        "{}",
        unchecked.stderr
    );
    net.run(
        &authority,
        &[
            "authority",
            "transfer-authority",
            "--program",
            "device-registry",
        ],
    )
    .json();
    net.run(&authority, &accept)
        .refused_with("no authority transfer of DeviceRegistry is pending");
    net.run(
        &authority,
        &[
            "authority",
            "set-reward-params",
            "--devices-bps",
            "7000",
            "--stakers-bps",
            "2000",
            "--treasury-bps",
            "1000",
            "--challenge-period",
            "5s",
        ],
    )
    .json();
    net.run(
        &authority,
        &[
            "authority",
            "set-emission-controls",
            "--net-emissions-cap",
            "12.5",
            "--smoothing-bps",
            "5000",
        ],
    )
    .json();
    net.run(
        &authority,
        &["authority", "append-emission-steps", "--step", "100000:3"],
    )
    .json();
    let after = parameters(&net);
    assert_eq!(
        (
            &after["split_devices_bps"],
            &after["split_stakers_bps"],
            &after["split_treasury_bps"],
            &after["challenge_period_s"],
            &after["net_emissions_cap_per_epoch"],
            &after["net_emissions_smoothing_bps"],
        ),
        (
            &Value::from(7000),
            &Value::from(2000),
            &Value::from(1000),
            &Value::from(5),
            &Value::from(12_500_000),
            &Value::from(5000),
        )
    );
    assert_eq!(
        after["breaker_window_epochs"],
        before["breaker_window_epochs"]
    );

    // A Pyth price source: a purchase without a price update on this cluster is refused
    // before anything is sent; back to a fixed price, purchases work again.
    let feed = "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d";
    net.run(
        &authority,
        &[
            "authority",
            "set-pricing",
            "--pyth-feed",
            feed,
            "--max-price-age",
            "60s",
        ],
    )
    .json();
    let status = net.run(&authority, &["network", "status"]).json();
    assert!(status["price"].as_str().unwrap().contains(feed), "{status}");
    net.run(&authority, &["credits", "buy", "--amount", "1"])
        .refused_with("does not exist on this cluster; pass --price-update");
    net.run(
        &authority,
        &[
            "credits",
            "buy",
            "--amount",
            "1",
            "--price-update",
            &authority_key,
        ],
    )
    .refused_with("not the Pyth receiver program");
    net.run(
        &authority,
        &[
            "authority",
            "set-pricing",
            "--fixed-price-usd-e8",
            "50000000",
        ],
    )
    .json();
    let credits = net.credits(&authority);
    net.run(&authority, &["credits", "buy", "--amount", "1"])
        .json();
    assert!(net.credits(&authority) > credits);

    // Vetoes: an epoch that is not closed has no root; a voting epoch can be vetoed.
    net.run(&authority, &["authority", "veto-root", "999999"])
        .refused_with("is not closed");
    let vetoed = net.run(&authority, &["authority", "veto-root", "0"]).json();
    assert_eq!(vetoed["outcome"], "confirmed");
}

/// Votes `tree` as `epoch`'s root with the localnet's first oracle (its quorum is 1).
fn vote_root(net: &Localnet, epoch: u64, tree: &groundwork_merkle::RewardTree) {
    use groundwork_client::reward_epochs as rewards;
    use solana_signer::Signer;
    let client = solana_rpc_client::rpc_client::RpcClient::new_with_commitment(
        net.url.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    // The localnet's quorum: two of its three oracles.
    for name in ["oracle-1.json", "oracle-2.json"] {
        let oracle = solana_keypair::read_keypair_file(net.key(name)).unwrap();
        let vote = rewards::submit_root(
            &oracle.pubkey(),
            epoch,
            reward_epochs::SubmitRootArgsV0 {
                root: tree.root(),
                cumulative_total: u64::try_from(tree.total()).unwrap(),
                leaf_count: tree.len() as u64,
            },
        );
        let transaction = solana_transaction::Transaction::new_signed_with_payer(
            &[vote],
            Some(&oracle.pubkey()),
            &[&oracle],
            client.get_latest_blockhash().unwrap(),
        );
        client.send_and_confirm_transaction(&transaction).unwrap();
    }
}

#[test]
fn a_relayer_claims_a_recipients_rewards_even_when_the_proof_needs_a_lookup_table() {
    use groundwork_merkle::{Leaf, RewardTree};
    let net = localnet();
    let authority = net.key("authority.json");
    // The authority is also an operator with a delegation pool, whose leaf the tree holds.
    net.run(&authority, &["operator", "register"]).json();
    net.run(&authority, &["operator", "set-commission", "1000"])
        .json();
    let operator = solana_keypair::read_keypair_file(&authority).unwrap();
    let operator_key = solana_signer::Signer::pubkey(&operator);
    let pool = groundwork_client::staking::pool_rewards_address(&operator_key);
    // 2^20 + 2 recipients: a proof of 21 hashes, too long for a legacy transaction. The
    // recipient and the pool sort within the first 2^20 leaves (the two largest keys close the
    // list), where no odd level carries a leaf up with a shorter proof.
    let mut recipient = [8u8; 32];
    recipient[..4].copy_from_slice(&5u32.to_be_bytes());
    let mut leaves: Vec<Leaf> = (0..(1u32 << 20) - 2)
        .map(|index| {
            let mut key = [7u8; 32];
            key[..4].copy_from_slice(&index.to_be_bytes());
            Leaf {
                recipient: key,
                cumulative_amount: 1,
            }
        })
        .collect();
    let mut largest = [0xFF; 32];
    leaves.push(Leaf {
        recipient: largest,
        cumulative_amount: 1,
    });
    largest[31] = 0xFE;
    leaves.push(Leaf {
        recipient: largest,
        cumulative_amount: 1,
    });
    leaves.push(Leaf {
        recipient,
        cumulative_amount: 5_000_000,
    });
    leaves.push(Leaf {
        recipient: pool.to_bytes(),
        cumulative_amount: 3_000_000,
    });
    let tree = RewardTree::new(leaves).unwrap();
    let (leaf, proof) = tree.proof_for(&recipient).unwrap();
    assert_eq!(proof.len(), 21);
    let (pool_leaf, pool_proof) = tree.proof_for(&pool.to_bytes()).unwrap();
    assert_eq!(pool_proof.len(), 21);
    let recipient_key = bs58::encode(recipient).into_string();
    let proof_file = net.dir.path().join("proof.json");
    let write_proof = |proof: &[[u8; 32]]| {
        let hashes: Vec<String> = proof.iter().map(hex::encode).collect();
        let json =
            serde_json::json!({ "cumulative_amount": leaf.cumulative_amount, "proof": hashes });
        std::fs::write(&proof_file, json.to_string()).unwrap();
    };
    write_proof(&proof);
    let claim = || {
        net.run(
            &authority,
            &[
                "rewards",
                "claim",
                "--recipient",
                &recipient_key,
                "--proof-file",
                proof_file.to_str().unwrap(),
            ],
        )
    };
    claim().refused_with("no reward root is active yet");

    vote_root(&net, 0, &tree);
    net.run(&authority, &["crank", "activate-root", "0"]).json();
    // A tampered proof is refused before anything is sent.
    let mut tampered = proof.clone();
    tampered[3][0] ^= 1;
    write_proof(&tampered);
    claim().refused_with("does not verify against the active root");
    write_proof(&proof);

    // The relayer (the authority here) pays the fees; the recipient, who holds no SOL, is paid.
    let tables = || {
        net.run(&authority, &["rewards", "close-lookup-tables"])
            .json()
    };
    assert_eq!(tables()["active"], 0);
    let sent = claim();
    assert_eq!(sent.json()["outcome"], "confirmed");
    assert_eq!(
        sent.json()["effect"]["claimed_base_units"].as_u64(),
        Some(leaf.cumulative_amount)
    );
    assert_eq!(
        sent.json()["effect"]["recipient_holds_base_units"].as_u64(),
        Some(leaf.cumulative_amount)
    );
    assert!(sent.stderr.contains("deactivated"), "{}", sent.stderr);
    // Its lookup table served the one claim and is deactivated: it cools down before its rent
    // can come back.
    let after = tables();
    assert_eq!(
        (
            after["active"].as_u64(),
            after["closed"].as_array().map(Vec::len),
            after["cooling_down"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0), Some(1)),
        "{after}"
    );
    let shown = net
        .run(&authority, &["rewards", "show", &recipient_key])
        .json();
    assert_eq!(
        (shown["claimed"].as_u64(), shown["claims"].as_u64()),
        (Some(5_000_000), Some(1))
    );
    assert_eq!(shown["active_root_epoch"], 0);
    claim().refused_with("nothing is due");

    // Anyone sweeps the pool's leaf with the same kind of table. No member earns yet, so the
    // pool passes what it took in to the operator.
    let pool_proof_file = net.dir.path().join("pool-proof.json");
    let hashes: Vec<String> = pool_proof.iter().map(hex::encode).collect();
    std::fs::write(
        &pool_proof_file,
        serde_json::json!({ "cumulative_amount": pool_leaf.cumulative_amount, "proof": hashes })
            .to_string(),
    )
    .unwrap();
    let operator_tokens = || {
        net.run(&authority, &["balance"]).json()["network_token_base_units"]
            .as_u64()
            .unwrap()
    };
    let held_before = operator_tokens();
    let sweep = || {
        net.run(
            &authority,
            &[
                "crank",
                "sweep-pool",
                &operator_key.to_string(),
                "--proof-file",
                pool_proof_file.to_str().unwrap(),
            ],
        )
    };
    let swept = sweep();
    assert_eq!(swept.json()["outcome"], "confirmed", "{}", swept.stderr);
    assert_eq!(
        swept.json()["effect"]["received_base_units"].as_u64(),
        Some(pool_leaf.cumulative_amount)
    );
    assert!(swept.stderr.contains("deactivated"), "{}", swept.stderr);
    assert_eq!(operator_tokens(), held_before + pool_leaf.cumulative_amount);
    sweep().refused_with("nothing to sweep");

    // Once epoch 1's root is active, epoch 0's record is settled: anyone closes it, and its
    // rent goes back to whoever paid it.
    let rpc = solana_rpc_client::rpc_client::RpcClient::new_with_commitment(
        net.url.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let record_0 = groundwork_client::reward_epochs::epoch_address(0);
    let nothing = net.run(&authority, &["crank", "close-settled"]).json();
    assert_eq!(nothing["epoch_records"], serde_json::json!([]));
    net.close_next_epoch(&authority);
    vote_root(&net, 1, &tree);
    net.run(&authority, &["crank", "activate-root", "1"]).json();
    assert!(rpc.get_account(&record_0).is_ok());
    let closed = net.run(&authority, &["crank", "close-settled"]).json();
    assert_eq!(closed["epoch_records"], serde_json::json!([0]));
    assert!(
        rpc.get_account(&record_0).is_err(),
        "epoch 0's record is still open"
    );
    for epoch in closed["staking_epoch_records"].as_array().unwrap() {
        let address = groundwork_client::staking::epoch_stake_address(epoch.as_u64().unwrap());
        assert!(rpc.get_account(&address).is_err());
    }
    let again = net.run(&authority, &["crank", "close-settled"]).json();
    assert_eq!(
        (&again["epoch_records"], &again["staking_epoch_records"]),
        (&serde_json::json!([]), &serde_json::json!([]))
    );
}

/// Writes `count` new device keypair files into `dir` and returns their public keys.
fn device_keys(dir: &Path, count: usize) -> Vec<String> {
    use solana_signer::Signer;
    std::fs::create_dir_all(dir).unwrap();
    (0..count)
        .map(|index| {
            let keypair = solana_keypair::Keypair::new();
            solana_keypair::write_keypair_file(&keypair, dir.join(format!("d{index}.json")))
                .unwrap();
            keypair.pubkey().to_string()
        })
        .collect()
}

/// Rows of the result file with `outcome`.
fn result_rows(path: &Path, outcome: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.split(',').nth(2) == Some(outcome))
        .count()
}

#[test]
fn a_thousand_devices_are_onboarded_from_a_file_and_an_interrupted_run_resumes() {
    const DEVICES: usize = 1_000;
    let net = localnet();
    let authority = net.key("authority.json");
    net.run(&authority, &["operator", "register"]).json();
    let class = net.add_class("sensor", "1000", &[]);
    let classes = net.run(&authority, &["class", "list"]).json();
    let sensor = classes
        .as_array()
        .unwrap()
        .iter()
        .find(|listed| listed["name"] == "sensor")
        .unwrap();
    assert_eq!(sensor["class_id"].as_u64().unwrap().to_string(), class);
    assert_eq!(sensor["onboarding_fee_credits"], 1);
    net.run(&authority, &["credits", "buy", "--amount", "1"])
        .json();
    let credits_before = net.credits(&authority);

    let folder = net.dir.path().join("fleet");
    let keys = device_keys(&folder.join("keys"), DEVICES);
    let csv = folder.join("devices.csv");
    let mut text = String::from("device,lat,lon,class\n# the first fleet\n");
    for index in 0..DEVICES {
        let lat = 37.70 + (index / 40) as f64 * 0.002;
        let lon = -122.50 + (index % 40) as f64 * 0.002;
        text.push_str(&format!("keys/d{index}.json,{lat:.4},{lon:.4},{class}\n"));
    }
    std::fs::write(&csv, &text).unwrap();

    // A file with bad rows sends nothing and names every bad line.
    let bad = folder.join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "device,lat,lon,class\nkeys/d0.json,137.7,-122.4,{class}\nkeys/d1.json,37.7,-122.4,{class}\nkeys/d1.json,37.7,-122.4,{class}\nkeys/nowhere.json,37.7,-122.4,{class}\n{},37.7,-122.4,{class}\nkeys/d3.json,37.7,-122.4,99\n",
            keys[2]
        ),
    )
    .unwrap();
    let refused = net.run(
        &authority,
        &["device", "onboard", "--from-file", bad.to_str().unwrap()],
    );
    refused.refused_with("bad.csv: 3 bad rows, nothing was sent:");
    for line in [
        "line 2: --lat 137.7 is not a latitude",
        "line 4: device",
        "is also on line 3",
        "line 5: device \"keys/nowhere.json\" is neither a keypair file",
    ] {
        assert!(refused.stderr.contains(line), "{line}: {}", refused.stderr);
    }
    std::fs::write(
        &bad,
        format!(
            "device,lat,lon,class\n{},37.7,-122.4,{class}\nkeys/d3.json,37.7,-122.4,99\n",
            keys[2]
        ),
    )
    .unwrap();
    let refused = net.run(
        &authority,
        &["device", "onboard", "--from-file", bad.to_str().unwrap()],
    );
    refused.refused_with("2 rows that cannot be done, nothing was sent:");
    assert!(refused
        .stderr
        .contains("line 2: onboarding needs the device's keypair file"));
    assert!(refused
        .stderr
        .contains("line 3: device class 99 does not exist"));
    assert_eq!(net.credits(&authority), credits_before);

    // The run is killed (SIGKILL) half way; the second run skips what the first did.
    let result = folder.join("devices.result.csv");
    let started = std::time::Instant::now();
    let mut first = groundwork_unconfigured()
        .args(["-u", &net.url, "--output", "json-compact", "-k"])
        .arg(&authority)
        .args(["device", "onboard", "--from-file"])
        .arg(&csv)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while result_rows(&result, "done") < DEVICES / 2 {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before it was killed"
        );
        assert!(
            started.elapsed().as_secs() < 600,
            "half the fleet took over 10 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let first_seconds = started.elapsed().as_secs_f64();
    let done_before_kill = result_rows(&result, "done");
    let resumed_at = std::time::Instant::now();
    let resumed = net
        .run(
            &authority,
            &["device", "onboard", "--from-file", csv.to_str().unwrap()],
        )
        .json();
    let resume_seconds = resumed_at.elapsed().as_secs_f64();
    let (done, skipped) = (
        resumed["done"].as_u64().unwrap() as usize,
        resumed["skipped"].as_u64().unwrap() as usize,
    );
    // Transactions in flight at the kill may have landed unrecorded: skipped, not resent.
    assert!(skipped >= done_before_kill, "{resumed}");
    // (At most the transactions in flight and the outcomes not yet written: 2 x concurrency.)
    assert!(skipped <= done_before_kill + 16, "{resumed}");
    assert_eq!(
        (done + skipped, resumed["failed"].as_u64()),
        (DEVICES, Some(0))
    );
    // Every skip is a device this operator onboarded (some may have landed while the second
    // run was starting: they say so).
    let reasons = resumed["skipped_because"].as_array().unwrap();
    assert!(
        reasons.iter().all(|reason| reason[0]
            .as_str()
            .unwrap()
            .starts_with("already onboarded by you")),
        "{resumed}"
    );
    assert_eq!(
        reasons
            .iter()
            .map(|reason| reason[1].as_u64().unwrap())
            .sum::<u64>(),
        skipped as u64
    );
    // Each device paid its fee once: nothing was onboarded twice.
    assert_eq!(net.credits(&authority), credits_before - DEVICES as u64);
    let operator = net.run(&authority, &["operator", "show"]).json();
    assert_eq!(operator["devices"].as_u64(), Some(DEVICES as u64));
    eprintln!(
        "{DEVICES} devices from a CSV on a localnet: killed after {done_before_kill} in {first_seconds:.1} s, the rest ({done}) in {resume_seconds:.1} s ({:.1} devices/s)",
        done as f64 / resume_seconds
    );
    // A third run has nothing left to do.
    let again = net
        .run(
            &authority,
            &["device", "onboard", "--from-file", csv.to_str().unwrap()],
        )
        .json();
    assert_eq!(
        (again["done"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(DEVICES as u64))
    );

    // Bulk moves and recipients, the same way: the second run skips every row.
    let recipient = keys[999].clone();
    let moves = folder.join("moves.csv");
    let mut text = String::from("device,cell,recipient\n");
    for key in &keys[..10] {
        text.push_str(&format!("{key},8c283082a30e1ff,{recipient}\n"));
    }
    std::fs::write(&moves, text).unwrap();
    let credits = net.credits(&authority);
    for command in ["assert-location", "set-recipient"] {
        let first = net
            .run(
                &authority,
                &["device", command, "--from-file", moves.to_str().unwrap()],
            )
            .json();
        assert_eq!(
            (first["done"].as_u64(), first["skipped"].as_u64()),
            (Some(10), Some(0)),
            "{first}"
        );
        let second = net
            .run(
                &authority,
                &["device", command, "--from-file", moves.to_str().unwrap()],
            )
            .json();
        assert_eq!(
            (second["done"].as_u64(), second["skipped"].as_u64()),
            (Some(0), Some(10)),
            "{second}"
        );
    }
    assert_eq!(net.credits(&authority), credits - 10);
    let moved = net.run(&authority, &["device", "show", &keys[3]]).json();
    assert_eq!(
        (
            moved["location"].as_str(),
            moved["reward_recipient"].as_str()
        ),
        (Some("8c283082a30e1ff"), Some(recipient.as_str()))
    );
    a_maker_co_signs_an_onboarding_on_its_own_machine(&net);
}

/// A class whose devices need an approved maker's signature: the operator signs with
/// --sign-only (the maker named by its key), the maker adds its signature and sends.
fn a_maker_co_signs_an_onboarding_on_its_own_machine(net: &Localnet) {
    let authority = net.key("authority.json");
    let authority_key = net.run(&authority, &["operator", "show"]).json()["operator"]
        .as_str()
        .unwrap()
        .to_string();
    let class = net.add_class("certified", "10000", &["--maker-attestation-required"]);
    let maker = net.funded_wallet("maker.json");
    let maker_key = net.run(&maker, &["balance"]).json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    net.run(&authority, &["authority", "approve-maker", &maker_key])
        .json();
    let device = net.dir.path().join("certified-device.json");
    let device_key = net
        .run(
            &authority,
            &["device", "keygen", "--outfile", device.to_str().unwrap()],
        )
        .json()["pubkey"]
        .as_str()
        .unwrap()
        .to_string();
    let blockhash = net.run(&authority, &["blockhash"]).json()["blockhash"]
        .as_str()
        .unwrap()
        .to_string();
    let onboard = |signer: &Path, extra: &[&str], device: &str, maker: &str| {
        let mut args = vec!["--blockhash", blockhash.as_str()];
        args.extend_from_slice(extra);
        args.extend([
            "device",
            "onboard",
            "--device-keypair",
            device,
            "--class",
            class.as_str(),
            "--cell",
            CELL,
            "--maker-keypair",
            maker,
        ]);
        net.run(signer, &args)
    };
    // The operator and the device sign on the operator's machine; the maker is absent.
    let signed = onboard(
        &authority,
        &["--sign-only"],
        device.to_str().unwrap(),
        &maker_key,
    )
    .json();
    assert_eq!(signed["absent"], serde_json::json!([maker_key]), "{signed}");
    let signatures: Vec<String> = signed["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|signer| signer.as_str().unwrap().to_string())
        .collect();
    assert_eq!(signatures.len(), 2, "{signed}");
    // The maker adds its own signature and sends; the operator pays the fee.
    let mut extra = Vec::new();
    for signature in &signatures {
        extra.extend(["--signer", signature.as_str()]);
    }
    let sent = onboard(
        Path::new(&authority_key),
        &extra,
        &device_key,
        maker.to_str().unwrap(),
    )
    .json();
    assert_eq!(sent["outcome"], "confirmed", "{sent}");
    let record = net.run(&authority, &["device", "show", &device_key]).json();
    assert_eq!(record["class_id"].as_u64().unwrap().to_string(), class);
    assert_eq!(record["operator"], authority_key.as_str());
}
