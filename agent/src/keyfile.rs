//! The device key, from a Solana CLI keypair file (a JSON array of 64 numbers: the 32-byte
//! seed, then the public key), checked to be one keypair.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use groundwork_telemetry::{sign_bytes, Key};

/// A device's signing seed and its public key.
pub struct DeviceKey {
    pub seed: [u8; 32],
    pub key: Key,
}

impl DeviceKey {
    /// Reads `path`; refuses a file that is not 64 numbers or whose public half does not
    /// belong to its seed.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the device keypair {}", path.display()))?;
        let bytes: Vec<u8> = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a keypair file (a JSON array of 64 numbers, as `groundwork device keygen` writes)",
                path.display()
            )
        })?;
        let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
            bail!(
                "{} holds {} numbers, a keypair file holds 64",
                path.display(),
                bytes.len()
            );
        };
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&bytes[..32]);
        let (key, _) = sign_bytes(&seed, b"");
        if key.0[..] != bytes[32..] {
            bail!(
                "{}: its public key does not belong to its secret key (a damaged file?)",
                path.display()
            );
        }
        Ok(DeviceKey { seed, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keypair_file_is_read_and_a_damaged_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let seed = [7u8; 32];
        let (key, _) = sign_bytes(&seed, b"");
        let mut bytes = seed.to_vec();
        bytes.extend_from_slice(&key.0);
        let path = dir.path().join("device.json");
        std::fs::write(&path, serde_json::to_string(&bytes).unwrap()).unwrap();
        let read = DeviceKey::read(&path).unwrap();
        assert_eq!((read.seed, read.key), (seed, key));
        bytes[40] ^= 1;
        std::fs::write(&path, serde_json::to_string(&bytes).unwrap()).unwrap();
        let error = DeviceKey::read(&path).err().unwrap().to_string();
        assert!(error.contains("does not belong"), "{error}");
        std::fs::write(&path, "[1,2,3]").unwrap();
        assert!(DeviceKey::read(&path).is_err());
    }
}
