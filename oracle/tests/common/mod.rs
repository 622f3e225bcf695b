//! Stores the oracle tests run against: the embedded segment store always, and PostgreSQL
//! when GROUNDWORK_TEST_POSTGRES_URL names a server whose role may create databases
//! (`.ci/run` starts one; under CI=true its absence is an error, not a skip).

#![allow(dead_code)]

use std::sync::Arc;

use groundwork_oracle::store::postgres::PgStore;
use groundwork_oracle::store::segments::{SegmentConfig, SegmentStore};
use groundwork_oracle::store::Store;
use sqlx::Connection;

/// Where a test store lives: a fresh directory for the segment store, a fresh database.
#[derive(Clone, Debug)]
pub enum StoreSpec {
    Segments(std::path::PathBuf),
    Postgres(String),
}

impl StoreSpec {
    pub fn label(&self) -> &'static str {
        match self {
            StoreSpec::Segments(_) => "segments",
            StoreSpec::Postgres(_) => "postgres",
        }
    }

    /// Opens the store (again: a reopen recovers what the last one wrote).
    pub async fn open(&self) -> Store {
        match self {
            StoreSpec::Segments(dir) => {
                let mut config = SegmentConfig::new(dir);
                config.max_conflicts_per_device_epoch = 3;
                let store = tokio::task::spawn_blocking(move || SegmentStore::open(config))
                    .await
                    .unwrap()
                    .unwrap();
                Store::Segments(Arc::new(store))
            }
            StoreSpec::Postgres(url) => Store::Postgres(
                PgStore::open(url, 3, std::time::Duration::from_millis(2))
                    .await
                    .unwrap(),
            ),
        }
    }
}

/// One fresh store of each kind available, named after `test`.
pub async fn fresh_stores(test: &str) -> Vec<StoreSpec> {
    let dir = std::env::temp_dir().join(format!("groundwork-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut specs = vec![StoreSpec::Segments(dir)];
    match std::env::var("GROUNDWORK_TEST_POSTGRES_URL") {
        Ok(admin_url) => specs.push(StoreSpec::Postgres(
            fresh_postgres_database(&admin_url, test).await,
        )),
        Err(_) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!(
                "CI must set GROUNDWORK_TEST_POSTGRES_URL: the store is tested on PostgreSQL too"
            )
        }
        Err(_) => {
            eprintln!("GROUNDWORK_TEST_POSTGRES_URL is not set: {test} runs on segments only")
        }
    }
    specs
}

/// Creates (or recreates) database `groundwork_<test>_<pid>` and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str, test: &str) -> String {
    let name = format!(
        "groundwork_{}_{}",
        test.replace('-', "_"),
        std::process::id()
    );
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to the PostgreSQL admin URL");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop test database");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("a database in the URL");
    format!("{base}/{name}")
}
