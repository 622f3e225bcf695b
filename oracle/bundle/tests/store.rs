//! The bundle store on a local directory and on a real S3-compatible server (`s3s-fs`, a Rust
//! S3 server installed from crates.io by `.ci/run`; found on the PATH or at
//! `$GROUNDWORK_TEST_S3S_FS`): publishing parts then the index, reading each part back against
//! its digest, a tampered part refused with its name, a republish that changes nothing, and an
//! index replaced only with the old one kept.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use groundwork_oracle_bundle::store::{IndexOutcome, PartSource};
use groundwork_oracle_bundle::{
    index_path, BundleError, BundleIndex, BundleStore, PartName, PartRef, BUNDLE_FORMAT,
};

/// A bundle of `epoch` whose parts are made of `seed` (the telemetry part 9 MiB, so it goes
/// up in several chunks).
fn bundle(epoch: u64, seed: u8, dir: &Path) -> (BundleIndex, Vec<(PartName, PartSource)>) {
    let telemetry: Vec<u8> = (0..9 * 1024 * 1024u32)
        .map(|i| (i % 251) as u8 ^ seed)
        .collect();
    let telemetry_file = dir.join(format!("telemetry-{epoch}-{seed}"));
    std::fs::write(&telemetry_file, &telemetry).unwrap();
    let small = |name: &str| format!("{name} of epoch {epoch}, seed {seed}").into_bytes();
    let index = BundleIndex {
        format: BUNDLE_FORMAT.into(),
        epoch,
        root: "00".repeat(32),
        cumulative_total: 42,
        parts: vec![
            PartRef::of(PartName::Telemetry, &telemetry),
            PartRef::of(PartName::Snapshot, &small("snapshot")),
            PartRef::of(PartName::Report, &small("report")),
            PartRef::of(PartName::Params, &small("params")),
        ],
    };
    let parts = vec![
        (PartName::Telemetry, PartSource::File(telemetry_file)),
        (PartName::Snapshot, PartSource::Bytes(small("snapshot"))),
        (PartName::Report, PartSource::Bytes(small("report"))),
        (PartName::Params, PartSource::Bytes(small("params"))),
    ];
    (index, parts)
}

/// Publishes and reads back through `store`; `corrupt` replaces a stored object's bytes
/// behind the store's back.
async fn round_trip(store: &BundleStore, work: &Path, corrupt: impl Fn(&str, &[u8])) {
    let (index, parts) = bundle(7, 1, work);
    assert_eq!(
        store.publish(&index, parts).await.unwrap(),
        IndexOutcome::Written
    );
    let (read, bytes) = store.index(7).await.unwrap();
    assert_eq!(read, index);
    assert_eq!(bytes, index.encode());
    for name in [PartName::Snapshot, PartName::Report, PartName::Params] {
        let part = store.part(index.part(name)).await.unwrap();
        assert_eq!(part.len() as u64, index.part(name).bytes);
    }
    let telemetry = work.join("fetched");
    let mut seen = 0;
    store
        .part_to_file(index.part(PartName::Telemetry), &telemetry, |received| {
            seen = received
        })
        .await
        .unwrap();
    assert_eq!(seen, 9 * 1024 * 1024);
    assert_eq!(
        std::fs::metadata(&telemetry).unwrap().len(),
        index.part(PartName::Telemetry).bytes
    );

    // Publishing the same bundle again changes nothing.
    let (_, parts) = bundle(7, 1, work);
    assert_eq!(
        store.publish(&index, parts).await.unwrap(),
        IndexOutcome::AlreadyThere
    );

    // Another bundle of the epoch (computed again after a veto) keeps the old index beside.
    let (other, parts) = bundle(7, 2, work);
    let outcome = store.publish(&other, parts).await.unwrap();
    let IndexOutcome::Superseded { kept_at } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(store.get(&kept_at).await.unwrap().unwrap(), index.encode());
    assert_eq!(store.index(7).await.unwrap().0, other);

    // A part whose bytes are not what the index names is refused, with the part's name.
    let report = other.part(PartName::Report);
    corrupt(&report.path(), b"report of epoch 7, seed 3");
    match store.part(report).await {
        Err(BundleError::PartDigest { part, expected, .. }) => {
            assert_eq!(part, PartName::Report);
            assert_eq!(expected, report.sha256);
        }
        other => panic!("{other:?}"),
    }
    // One whose size is not the index's is refused before it is read.
    let telemetry_part = other.part(PartName::Telemetry);
    corrupt(&telemetry_part.path(), b"not the telemetry");
    let error = store
        .part_to_file(telemetry_part, &telemetry, |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the telemetry part is 17 bytes, not the 9437184 the index names"
    );
    let params = other.part(PartName::Params);
    corrupt(&params.path(), &vec![b'x'; 1 << 20]);
    assert!(matches!(
        store.part(params).await,
        Err(BundleError::PartSize {
            part: PartName::Params,
            actual: 1_048_576,
            ..
        })
    ));

    // An epoch never published says so, naming the path.
    let error = store.index(8).await.unwrap_err();
    assert!(error.to_string().contains(&index_path(8)), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_directory_holds_bundles_and_refuses_tampered_parts() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let url = format!("file://{}", root.path().join("bundles").display());
    let store = BundleStore::open(&url, true).unwrap();
    round_trip(&store, work.path(), |path, bytes| {
        std::fs::write(root.path().join("bundles").join(path), bytes).unwrap()
    })
    .await;
    // A reader never creates the directory it is pointed at.
    let missing = format!("file://{}", root.path().join("nothing").display());
    assert!(BundleStore::open(&missing, false).is_err());
    // Bundles are read over HTTPS, never published there.
    assert!(BundleStore::open("https://bundles.example.org/net", true)
        .unwrap_err()
        .to_string()
        .contains("not published"));
    assert!(BundleStore::open("https://bundles.example.org/net", false).is_ok());
    // An index announcing a part larger than that part may be is refused as it is read.
    let (mut index, _) = bundle(9, 3, work.path());
    index.parts[3].bytes = 2 << 20;
    let error = BundleIndex::decode(&index.encode(), 9).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the params part is announced at 2097152 bytes"),
        "{error}"
    );
    assert!(BundleStore::open("ftp://host/x", false)
        .unwrap_err()
        .to_string()
        .contains("unknown scheme"));
}

/// `s3s-fs` serving `root` on a free port until dropped.
struct S3Server(Child);

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn s3s_fs() -> Option<String> {
    if let Ok(path) = std::env::var("GROUNDWORK_TEST_S3S_FS") {
        return Some(path);
    }
    let found = Command::new("s3s-fs")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    found.then(|| "s3s-fs".to_string())
}

#[test]
fn an_s3_compatible_server_holds_bundles_and_refuses_tampered_parts() {
    let Some(binary) = s3s_fs() else {
        // Like the store tests without PostgreSQL: the S3 path needs its server; CI has it.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must test the S3 path: .ci/run installs s3s-fs"
        );
        eprintln!("s3s-fs is not installed (cargo install s3s-fs --version 0.14.1 --features binary): the S3 path was not tested here, only the local directory");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("groundwork")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = S3Server(
        Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--access-key",
                "groundwork",
                "--secret-key",
                "groundwork-secret",
            ])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The store's credentials and endpoint come from the environment, as in production (set
    // before any runtime thread starts).
    for (name, value) in [
        ("AWS_ACCESS_KEY_ID", "groundwork".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "groundwork-secret".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ] {
        std::env::set_var(name, value);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = BundleStore::open("s3://groundwork/network-a", false).unwrap();
    assert_eq!(store.url(), "s3://groundwork/network-a");
    let objects = root.path().join("groundwork/network-a");
    runtime.block_on(round_trip(&store, work.path(), |path, bytes| {
        std::fs::write(objects.join(path), bytes).unwrap()
    }));
    // What the server holds is what was published, under the prefix.
    assert!(objects.join(index_path(7)).exists());
}
