//! The oracle's store: an embedded SQLite database (WAL, fsync on every commit) or a shared
//! PostgreSQL server — the same schema and behaviour, migrations applied at open.

use std::collections::HashMap;
use std::str::FromStr;

use groundwork_telemetry::{Key, SignedTelemetry, TelemetryBody};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;

/// A message ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    pub device: Key,
    pub seq: i64,
    pub timestamp_ms: i64,
    pub kind: &'static str,
    pub canonical: Vec<u8>,
    pub signature: [u8; 64],
    pub received_at_ms: i64,
}

impl StoredMessage {
    /// The stored form of a verified message. `seq` must fit an i64 (checked at ingest).
    pub fn new(signed: &SignedTelemetry, received_at_ms: i64) -> Self {
        Self::with_canonical(signed, signed.message.canonical_bytes(), received_at_ms)
    }

    /// The same, reusing canonical bytes the caller already built (to verify them).
    pub fn with_canonical(
        signed: &SignedTelemetry,
        canonical: Vec<u8>,
        received_at_ms: i64,
    ) -> Self {
        StoredMessage {
            device: signed.message.device,
            seq: signed.message.seq as i64,
            timestamp_ms: signed.message.timestamp_ms,
            kind: kind_of(&signed.message.body),
            canonical,
            signature: signed.signature,
            received_at_ms,
        }
    }
}

/// The body's kind, as stored and reported.
pub fn kind_of(body: &TelemetryBody) -> &'static str {
    match body {
        TelemetryBody::Heartbeat { .. } => "heartbeat",
        TelemetryBody::DataSession { .. } => "data_session",
        TelemetryBody::Beacon { .. } => "beacon",
        TelemetryBody::Witness { .. } => "witness",
    }
}

/// What is stored for one (device, seq).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCopy {
    pub canonical: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Per-device counts and the newest accepted message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSummary {
    pub accepted: i64,
    pub conflicts: i64,
    pub latest_seq: Option<i64>,
    pub latest_timestamp_ms: Option<i64>,
    pub latest_canonical: Option<Vec<u8>>,
    pub latest_signature: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Database(#[from] sqlx::Error),
    #[error("store migrations: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("store: cannot create the data directory: {0}")]
    DataDir(std::io::Error),
    #[error("store URL must be sqlite:// or postgres://, not {0:?}")]
    UnsupportedUrl(String),
}

/// The store behind every stage.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Rows per multi-row SQLite INSERT: 7 bound values each, well under SQLite's 32,766 limit.
const SQLITE_ROWS_PER_INSERT: usize = 1_000;

impl Store {
    /// Opens (creating an SQLite file and its directory if needed) and migrates.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if let Some(parent) = std::path::Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(StoreError::DataDir)?;
            }
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // fsync at every commit: a 2xx means on disk, even across power loss.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(std::time::Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            Ok(Store::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Ok(Store::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_string()))
        }
    }

    /// Inserts `messages` in one transaction; a (device, seq) already present is left as it
    /// is (the caller decided it was a duplicate or lost a race it then reports).
    pub async fn commit(&self, messages: &[StoredMessage]) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => {
                // One transaction (one fsync); multi-row statements, since every statement is a
                // round trip to sqlx's SQLite worker thread.
                let mut transaction = pool.begin().await?;
                for chunk in messages.chunks(SQLITE_ROWS_PER_INSERT) {
                    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                        "INSERT INTO telemetry (device, seq, timestamp_ms, kind, canonical, signature, received_at_ms) ",
                    );
                    insert.push_values(chunk, |mut row, message| {
                        row.push_bind(&message.device.0[..])
                            .push_bind(message.seq)
                            .push_bind(message.timestamp_ms)
                            .push_bind(message.kind)
                            .push_bind(&message.canonical[..])
                            .push_bind(&message.signature[..])
                            .push_bind(message.received_at_ms);
                    });
                    insert.push(" ON CONFLICT (device, seq) DO NOTHING");
                    insert.build().execute(&mut *transaction).await?;
                }
                transaction.commit().await?;
            }
            Store::Postgres(pool) => {
                // Over the network: the whole group in one statement (arrays unnested).
                const INSERT_MANY: &str = "INSERT INTO telemetry (device, seq, timestamp_ms, kind, canonical, signature, received_at_ms) \
                     SELECT * FROM UNNEST($1::bytea[], $2::bigint[], $3::bigint[], $4::text[], $5::bytea[], $6::bytea[], $7::bigint[]) \
                     ON CONFLICT (device, seq) DO NOTHING";
                sqlx::query(INSERT_MANY)
                    .bind(
                        messages
                            .iter()
                            .map(|m| m.device.0.to_vec())
                            .collect::<Vec<_>>(),
                    )
                    .bind(messages.iter().map(|m| m.seq).collect::<Vec<_>>())
                    .bind(messages.iter().map(|m| m.timestamp_ms).collect::<Vec<_>>())
                    .bind(
                        messages
                            .iter()
                            .map(|m| m.kind.to_string())
                            .collect::<Vec<_>>(),
                    )
                    .bind(
                        messages
                            .iter()
                            .map(|m| m.canonical.clone())
                            .collect::<Vec<_>>(),
                    )
                    .bind(
                        messages
                            .iter()
                            .map(|m| m.signature.to_vec())
                            .collect::<Vec<_>>(),
                    )
                    .bind(
                        messages
                            .iter()
                            .map(|m| m.received_at_ms)
                            .collect::<Vec<_>>(),
                    )
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Records a conflicting copy of an existing (device, seq).
    pub async fn record_conflict(&self, message: &StoredMessage) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO conflicts (device, seq, canonical, signature, received_at_ms) VALUES ($1, $2, $3, $4, $5)";
        macro_rules! run {
            ($pool:expr) => {{
                sqlx::query(INSERT)
                    .bind(&message.device.0[..])
                    .bind(message.seq)
                    .bind(&message.canonical)
                    .bind(&message.signature[..])
                    .bind(message.received_at_ms)
                    .execute($pool)
                    .await?;
            }};
        }
        match self {
            Store::Sqlite(pool) => run!(pool),
            Store::Postgres(pool) => run!(pool),
        }
        Ok(())
    }

    /// The stored copy of (device, seq), if any.
    pub async fn find(&self, device: &Key, seq: i64) -> Result<Option<StoredCopy>, StoreError> {
        const SELECT: &str =
            "SELECT canonical, signature FROM telemetry WHERE device = $1 AND seq = $2";
        macro_rules! run {
            ($pool:expr) => {
                sqlx::query(SELECT)
                    .bind(&device.0[..])
                    .bind(seq)
                    .fetch_optional($pool)
                    .await?
                    .map(|row| StoredCopy {
                        canonical: row.get(0),
                        signature: row.get(1),
                    })
            };
        }
        Ok(match self {
            Store::Sqlite(pool) => run!(pool),
            Store::Postgres(pool) => run!(pool),
        })
    }

    /// Highest stored seq of every device (loaded at start: seq order survives restarts).
    pub async fn latest_seqs(&self) -> Result<HashMap<Key, i64>, StoreError> {
        const SELECT: &str = "SELECT device, MAX(seq) FROM telemetry GROUP BY device";
        let rows = match self {
            Store::Sqlite(pool) => sqlx::query(SELECT)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| (row.get::<Vec<u8>, _>(0), row.get::<i64, _>(1)))
                .collect::<Vec<_>>(),
            Store::Postgres(pool) => sqlx::query(SELECT)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| (row.get::<Vec<u8>, _>(0), row.get::<i64, _>(1)))
                .collect(),
        };
        Ok(rows
            .into_iter()
            .filter_map(|(device, seq)| Some((Key(device.try_into().ok()?), seq)))
            .collect())
    }

    /// Highest stored seq of one device.
    pub async fn latest_seq(&self, device: &Key) -> Result<Option<i64>, StoreError> {
        const SELECT: &str = "SELECT MAX(seq) FROM telemetry WHERE device = $1";
        Ok(match self {
            Store::Sqlite(pool) => sqlx::query(SELECT)
                .bind(&device.0[..])
                .fetch_one(pool)
                .await?
                .get(0),
            Store::Postgres(pool) => sqlx::query(SELECT)
                .bind(&device.0[..])
                .fetch_one(pool)
                .await?
                .get(0),
        })
    }

    /// Counts and the newest message of one device.
    pub async fn device_summary(&self, device: &Key) -> Result<DeviceSummary, StoreError> {
        const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM telemetry WHERE device = $1), (SELECT COUNT(*) FROM conflicts WHERE device = $1)";
        const LATEST: &str = "SELECT seq, timestamp_ms, canonical, signature FROM telemetry WHERE device = $1 ORDER BY seq DESC LIMIT 1";
        macro_rules! run {
            ($pool:expr) => {{
                let counts = sqlx::query(COUNTS)
                    .bind(&device.0[..])
                    .fetch_one($pool)
                    .await?;
                let latest = sqlx::query(LATEST)
                    .bind(&device.0[..])
                    .fetch_optional($pool)
                    .await?;
                DeviceSummary {
                    accepted: counts.get(0),
                    conflicts: counts.get(1),
                    latest_seq: latest.as_ref().map(|row| row.get(0)),
                    latest_timestamp_ms: latest.as_ref().map(|row| row.get(1)),
                    latest_canonical: latest.as_ref().map(|row| row.get(2)),
                    latest_signature: latest.as_ref().map(|row| row.get(3)),
                }
            }};
        }
        Ok(match self {
            Store::Sqlite(pool) => run!(pool),
            Store::Postgres(pool) => run!(pool),
        })
    }

    /// Every stored (device, seq, signature): what the crash test compares against.
    pub async fn all_keys(&self) -> Result<Vec<(Key, i64, Vec<u8>)>, StoreError> {
        const SELECT: &str = "SELECT device, seq, signature FROM telemetry ORDER BY device, seq";
        macro_rules! run {
            ($pool:expr) => {
                sqlx::query(SELECT)
                    .fetch_all($pool)
                    .await?
                    .into_iter()
                    .filter_map(|row| {
                        let device: Vec<u8> = row.get(0);
                        Some((
                            Key(device.try_into().ok()?),
                            row.get::<i64, _>(1),
                            row.get::<Vec<u8>, _>(2),
                        ))
                    })
                    .collect()
            };
        }
        Ok(match self {
            Store::Sqlite(pool) => run!(pool),
            Store::Postgres(pool) => run!(pool),
        })
    }
}
