//! The local network's keypairs, kept in the data directory's `keys/` across runs: the
//! network's own wallets (deployer, authority, oracles, the token mint's address) and its
//! participants' (operators, the dApp, stakers, a reward recipient without SOL). A missing
//! keypair is created and saved.

use std::path::Path;

use anyhow::{Context, Result};
use solana_keypair::{read_keypair_file, write_keypair_file, Keypair};

/// Oracles of the local network's set.
pub(super) const LOCAL_ORACLES: usize = 3;

/// The local network's wallets, kept in its data directory across runs.
pub(super) struct Wallets {
    pub(super) deployer: Keypair,
    pub(super) authority: Keypair,
    pub(super) oracles: Vec<Keypair>,
    /// The network token mint's address keypair.
    pub(super) mint: Keypair,
}

/// Reads the keypair at `path`, or creates and saves a new one there.
pub fn load_or_create(path: &Path) -> Result<Keypair> {
    if path.exists() {
        return read_keypair_file(path)
            .map_err(|error| anyhow::anyhow!("reading {}: {error}", path.display()));
    }
    let keypair = Keypair::new();
    write_keypair_file(&keypair, path)
        .map_err(|error| anyhow::anyhow!("writing {}: {error}", path.display()))?;
    Ok(keypair)
}

impl Wallets {
    pub(super) fn load_or_create(dir: &Path) -> Result<Self> {
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys).with_context(|| format!("creating {}", keys.display()))?;
        Ok(Wallets {
            deployer: load_or_create(&keys.join("deployer.json"))?,
            authority: load_or_create(&keys.join("authority.json"))?,
            oracles: (1..=LOCAL_ORACLES)
                .map(|index| load_or_create(&keys.join(format!("oracle-{index}.json"))))
                .collect::<Result<_>>()?,
            mint: load_or_create(&keys.join("mint.json"))?,
        })
    }
}

/// The localnet's participants.
pub struct Actors {
    pub operators: Vec<Keypair>,
    pub dapp: Keypair,
    pub stakers: Vec<Keypair>,
    /// The reward recipient of one of the second operator's devices: it holds no SOL, so an
    /// oracle claims for it (it opted in to the relayer).
    pub recipient_without_sol: Keypair,
}

impl Actors {
    pub fn load_or_create(keys: &Path) -> Result<Self> {
        Ok(Actors {
            operators: (1..=3)
                .map(|index| load_or_create(&keys.join(format!("operator-{index}.json"))))
                .collect::<Result<_>>()?,
            dapp: load_or_create(&keys.join("dapp.json"))?,
            stakers: (1..=2)
                .map(|index| load_or_create(&keys.join(format!("staker-{index}.json"))))
                .collect::<Result<_>>()?,
            recipient_without_sol: load_or_create(&keys.join("recipient-without-sol.json"))?,
        })
    }

    /// Every wallet that needs SOL.
    pub fn wallets(&self) -> impl Iterator<Item = &Keypair> {
        self.operators
            .iter()
            .chain(std::iter::once(&self.dapp))
            .chain(self.stakers.iter())
    }
}
