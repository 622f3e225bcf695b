//! `groundwork-idl [--check]`: builds each program's IDL natively (Anchor's `idl-build`
//! feature, no SBF toolchain needed), completes its `#[event_cpi]` accounts (the
//! `event_authority` seeds and the self-CPI program address Anchor leaves out, see
//! [`event_cpi`]) and writes it to `idl/<program>.json`, or with `--check` fails when a
//! committed IDL differs from the freshly built and completed one.

use std::path::{Path, PathBuf};

use anchor_lang_idl::types::Idl;
use anyhow::{bail, Context, Result};

mod event_cpi;

/// The programs, by directory under `programs/`.
const PROGRAMS: [&str; 4] = ["tokenomics", "device_registry", "staking", "reward_epochs"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../..")
        .canonicalize()
        .expect("the workspace root exists")
}

fn build_idl(root: &Path, program: &str) -> Result<String> {
    // A target directory of its own: the IDL build compiles with other features and flags,
    // and must not invalidate the test build's artifacts.
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"))
        .join("idl-build");
    let idl = anchor_lang_idl::build::IdlBuilder::new()
        .program_path(root.join("programs").join(program))
        .cargo_args(vec![
            "--target-dir".to_string(),
            target_dir.display().to_string(),
        ])
        .build()
        .with_context(|| format!("building the IDL of {program}"))?;
    let mut json = serde_json::to_string_pretty(&complete(&idl)?)?;
    json.push('\n');
    Ok(json)
}

/// `idl` with its `#[event_cpi]` accounts completed. The edit is made on the JSON value and
/// read back into the typed IDL, so the output keeps Anchor's field order (a `serde_json`
/// object without `preserve_order` would sort every key).
fn complete(idl: &Idl) -> Result<Idl> {
    let mut value = serde_json::to_value(idl)?;
    event_cpi::complete_event_cpi_accounts(&mut value)?;
    serde_json::from_value(value).context("reading the completed IDL back")
}

fn main() -> Result<()> {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(other) => bail!("unknown argument {other:?}; usage: groundwork-idl [--check]"),
    };
    // anchor-lang-idl 0.1.4 runs `rustup toolchain install $RUSTUP_TOOLCHAIN` when the variable
    // is set (as it is under `cargo run`), which can update the machine's toolchain, and then
    // passes the literal `+{toolchain}` to cargo. Build with whatever `cargo` resolves to.
    // SAFETY: single-threaded at this point; nothing else reads the environment concurrently.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let root = workspace_root();
    let mut stale = Vec::new();
    for program in PROGRAMS {
        let fresh = build_idl(&root, program)?;
        let path = root.join("idl").join(format!("{program}.json"));
        if check {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != fresh {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(path.parent().expect("idl/ has a parent"))?;
            std::fs::write(&path, fresh).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        bail!(
            "stale IDL: {} (run `cargo run -p groundwork-idl` and commit the result)",
            stale.join(", ")
        );
    }
    if check {
        println!("IDL of {} programs is fresh", PROGRAMS.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every committed IDL reads back into the typed IDL and prints the same, so completing an
    /// IDL through its JSON value and back changes nothing but the completed accounts.
    #[test]
    fn committed_idls_round_trip_through_the_typed_idl() {
        let root = workspace_root();
        for program in PROGRAMS {
            let path = root.join("idl").join(format!("{program}.json"));
            let committed = std::fs::read_to_string(&path).unwrap();
            let idl: Idl = serde_json::from_str(&committed).unwrap();
            let mut printed = serde_json::to_string_pretty(&idl).unwrap();
            printed.push('\n');
            assert_eq!(printed, committed, "{}", path.display());
        }
    }

    /// Completing a committed IDL gives every event CPI its seeds and program address, and a
    /// completed IDL is a fixed point (so `--check` compares like with like).
    #[test]
    fn completing_a_committed_idl_fills_every_event_cpi() {
        let root = workspace_root();
        for program in PROGRAMS {
            let path = root.join("idl").join(format!("{program}.json"));
            let idl: Idl = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let completed = complete(&idl).unwrap();
            assert_eq!(complete(&completed).unwrap(), completed);
            let value = serde_json::to_value(&completed).unwrap();
            for instruction in value["instructions"].as_array().unwrap() {
                let accounts = instruction["accounts"].as_array().unwrap();
                for pair in accounts.windows(2) {
                    if pair[0]["name"] == "event_authority" {
                        assert_eq!(
                            pair[0]["pda"]["seeds"][0]["value"],
                            serde_json::json!(event_cpi::EVENT_AUTHORITY_SEED),
                            "{program}: {}",
                            instruction["name"]
                        );
                        assert_eq!(pair[1]["name"], "program");
                        assert_eq!(pair[1]["address"], value["address"]);
                    }
                }
            }
        }
    }
}
