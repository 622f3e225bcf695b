//! `groundwork-idl [--check]`: builds each program's IDL natively (Anchor's `idl-build`
//! feature, no SBF toolchain needed) and writes it to `idl/<program>.json`, or with `--check`
//! fails when a committed IDL differs from the freshly built one.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The programs, by directory under `programs/`.
const PROGRAMS: [&str; 4] = ["tokenomics", "device_registry", "staking", "reward_epochs"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
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
    let mut json = serde_json::to_string_pretty(&idl)?;
    json.push('\n');
    Ok(json)
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
