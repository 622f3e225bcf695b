//! The oracle's durable files, written whole and atomically, and listed per epoch. The
//! store's checkpoint and manifests, the chain view's base, snapshots and timing, the peers'
//! set summaries and the submit stage's submissions are written through [`write_atomically`],
//! so a crash leaves the old file or the new one, never a torn one. (A stored report is
//! linked into place instead, so it is never replaced; a peer's records file is renamed into
//! place once its digest is known.)

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename over
/// `path`, then an fsync of the folder so the rename itself is durable. Creates the folder
/// when missing. After it returns, a crash at any moment leaves `path` whole with `bytes`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let temporary = path.with_extension("tmp");
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    sync_dir(parent)
}

/// Makes the folder's entries (a created, renamed or removed file) durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The epochs `n` with a file `<n><suffix>` in `dir`, ascending (none when `dir` does not
/// exist): how the oracle's per-epoch files (snapshots, reports, submissions) are listed.
pub fn epoch_files(dir: &Path, suffix: &str) -> std::io::Result<Vec<u64>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut epochs: Vec<u64> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(suffix)?.parse().ok()
        })
        .collect();
    epochs.sort_unstable();
    Ok(epochs)
}

/// The name of the lock file an oracle holds in its data directory while it runs.
pub const DATA_LOCK: &str = "LOCK";

/// An exclusive lock on `<dir>/LOCK`, held as long as the returned file is open: one process
/// per data directory (reports, submissions and peers' sets are written by one oracle only;
/// offline commands refuse to run beside it). `Ok(None)`: another process holds it.
pub fn lock_directory(dir: &Path) -> std::io::Result<Option<File>> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(DATA_LOCK))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(error)) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("7.report");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["7.report"]);
    }

    #[test]
    fn epoch_files_lists_epochs_with_the_suffix_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "10.report",
            "2.report",
            "3.peers.json",
            "x.report",
            "4.report.tmp",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        assert_eq!(epoch_files(dir.path(), ".report").unwrap(), [2, 10]);
        assert!(epoch_files(&dir.path().join("absent"), ".report")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_data_directory_is_locked_by_one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_directory(dir.path()).unwrap().expect("free");
        assert!(lock_directory(dir.path()).unwrap().is_none());
        drop(first);
        assert!(lock_directory(dir.path()).unwrap().is_some());
    }
}
