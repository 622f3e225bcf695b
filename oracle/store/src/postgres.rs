//! The shared store: several ingest processes on one PostgreSQL server.
//!
//! The seq order is the database's: a commit locks the `device_seq` rows of its devices (in
//! key order, so two processes never deadlock), decides every candidate against them and the
//! stored rows, inserts, and updates the rows — one transaction. Two processes offered the same
//! (device, seq) with other content therefore agree: one stores it, the other records a
//! conflict. Telemetry is partitioned by epoch (a partition per epoch, dropped by a prune);
//! epochs are sealed by a watermark row every commit holds a shared lock on, so a seal waits
//! for the commits in flight and every later commit sees it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use groundwork_telemetry::Key;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;

use crate::frame::FrameKind;
use crate::manifest::{hash_of, EpochRecord, Manifest};
use crate::{Candidate, DeviceSummary, Outcome, Pruned, StoreError};

/// Connections for epoch streams at once (beyond, a stream waits for one).
const STREAM_CONNECTIONS: u32 = 4;

/// A PostgreSQL-backed store.
#[derive(Clone)]
pub struct PgStore {
    /// Commits and short queries.
    pool: PgPool,
    /// Epoch streams (peers' pulls, the verify stage): a stream holds its connection while a
    /// reader takes its records, so streams have their own connections and never take the
    /// ones commits need.
    streams: PgPool,
    /// Epoch partitions known to exist.
    partitions: Arc<Mutex<HashSet<u64>>>,
    max_conflicts_per_device_epoch: usize,
    /// Commits waiting to share one transaction.
    queue: tokio::sync::mpsc::Sender<Grouped>,
}

/// One request's candidates and where its outcomes go.
type Grouped = (
    Vec<Candidate>,
    tokio::sync::oneshot::Sender<Result<Vec<Outcome>, StoreError>>,
);

/// Most candidates grouped into one transaction.
const MAX_GROUP: usize = 20_000;

fn as_db(value: u64) -> i64 {
    // Seqs are below 2^63 (checked at ingest) and epochs are far below it.
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn from_db(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// An epoch record from a row of (device, seq, kind, hash, canonical, signature, received).
fn record_of(row: &sqlx::postgres::PgRow) -> Result<EpochRecord, StoreError> {
    let kind: i16 = row.get(2);
    let hash: Vec<u8> = row.get(3);
    let signature: Vec<u8> = row.get(5);
    Ok(EpochRecord {
        kind: if kind == 0 {
            FrameKind::Message
        } else {
            FrameKind::Conflict
        },
        device: key_of(row.get(0))?,
        seq: from_db(row.get(1)),
        hash: hash
            .try_into()
            .map_err(|_| StoreError::Corrupt("a hash is not 32 bytes".into()))?,
        canonical: row.get(4),
        signature: signature
            .try_into()
            .map_err(|_| StoreError::Corrupt("a stored signature is not 64 bytes".into()))?,
        received_at_ms: row.get(6),
    })
}

fn key_of(bytes: Vec<u8>) -> Result<Key, StoreError> {
    bytes
        .try_into()
        .map(Key)
        .map_err(|_| StoreError::Corrupt("a stored device key is not 32 bytes".into()))
}

impl PgStore {
    /// Connects and migrates; concurrent commits arriving within `commit_window` share one
    /// transaction.
    pub async fn open(
        url: &str,
        max_conflicts_per_device_epoch: usize,
        commit_window: std::time::Duration,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let streams = PgPoolOptions::new()
            .max_connections(STREAM_CONNECTIONS)
            .connect(url)
            .await?;
        let (queue, requests) = tokio::sync::mpsc::channel(1_024);
        let store = PgStore {
            pool,
            streams,
            partitions: Arc::new(Mutex::new(HashSet::new())),
            max_conflicts_per_device_epoch,
            queue,
        };
        tokio::spawn(store.clone().group_commits(requests, commit_window));
        Ok(store)
    }

    /// Commits every request that arrives within `window` of the first in one transaction;
    /// ends when every sender is gone.
    async fn group_commits(
        self,
        mut requests: tokio::sync::mpsc::Receiver<Grouped>,
        window: std::time::Duration,
    ) {
        while let Some(first) = requests.recv().await {
            let mut count = first.0.len();
            let mut group = vec![first];
            let deadline = tokio::time::Instant::now() + window;
            while count < MAX_GROUP {
                match tokio::time::timeout_at(deadline, requests.recv()).await {
                    Ok(Some(next)) => {
                        count += next.0.len();
                        group.push(next);
                    }
                    _ => break,
                }
            }
            let sizes: Vec<usize> = group
                .iter()
                .map(|(candidates, _)| candidates.len())
                .collect();
            let (batches, replies): (Vec<Vec<Candidate>>, Vec<_>) = group.into_iter().unzip();
            match self
                .commit_now(batches.into_iter().flatten().collect())
                .await
            {
                Ok(outcomes) => {
                    let mut outcomes = outcomes.into_iter();
                    for (size, reply) in sizes.into_iter().zip(replies) {
                        let _ = reply.send(Ok(outcomes.by_ref().take(size).collect()));
                    }
                }
                Err(error) => {
                    tracing::error!(%error, candidates = count, "PostgreSQL commit failed");
                    let reason = error.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(StoreError::CommitFailed(reason.clone())));
                    }
                }
            }
        }
    }

    /// Creates the partition of `epoch` if it is missing (outside any commit: two processes
    /// racing to create it both end with it existing).
    async fn ensure_partition(&self, epoch: u64) -> Result<(), StoreError> {
        if self
            .partitions
            .lock()
            .expect("partitions lock")
            .contains(&epoch)
        {
            return Ok(());
        }
        let statement = format!(
            "CREATE TABLE IF NOT EXISTS telemetry_{epoch} PARTITION OF telemetry FOR VALUES IN ({epoch})"
        );
        if let Err(error) = sqlx::query(&statement).execute(&self.pool).await {
            // Another process created it between our check and our create.
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(format!("telemetry_{epoch}"))
                .fetch_one(&self.pool)
                .await?;
            if !exists {
                return Err(error.into());
            }
        }
        self.partitions
            .lock()
            .expect("partitions lock")
            .insert(epoch);
        Ok(())
    }

    /// Bytes the store's tables (every epoch's partition with its indexes and TOAST) take in
    /// the database.
    pub async fn bytes_on_disk(&self) -> Result<u64, StoreError> {
        let bytes: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relkind = 'r'
                AND (c.relname IN ('device_seq', 'telemetry', 'conflicts', 'seal_watermark', 'manifests')
                     OR c.relname LIKE 'telemetry\\_%')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// Whether commits can be taken: the task grouping them runs.
    pub fn health(&self) -> Result<(), String> {
        if self.queue.is_closed() {
            Err("the PostgreSQL commit task stopped".into())
        } else {
            Ok(())
        }
    }

    /// Commits `candidates` (grouped with concurrent requests into one transaction).
    pub async fn commit(&self, candidates: Vec<Candidate>) -> Result<Vec<Outcome>, StoreError> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send((candidates, reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// One transaction deciding and storing `candidates` in order.
    async fn commit_now(&self, candidates: Vec<Candidate>) -> Result<Vec<Outcome>, StoreError> {
        let epochs: BTreeSet<u64> = candidates.iter().map(|candidate| candidate.epoch).collect();
        for epoch in &epochs {
            self.ensure_partition(*epoch).await?;
        }
        let epoch_list: Vec<i64> = epochs.iter().map(|epoch| as_db(*epoch)).collect();
        let devices: BTreeSet<[u8; 32]> = candidates
            .iter()
            .map(|candidate| candidate.device.0)
            .collect();
        let device_list: Vec<Vec<u8>> = devices.iter().map(|device| device.to_vec()).collect();

        let mut transaction = self.pool.begin().await?;
        // The seal watermark, shared-locked: a seal waits for this commit, later ones see it.
        let sealed_through: Option<i64> =
            sqlx::query_scalar("SELECT sealed_through FROM seal_watermark WHERE id = 1 FOR SHARE")
                .fetch_one(&mut *transaction)
                .await?;
        let is_sealed = |epoch: u64| sealed_through.is_some_and(|sealed| as_db(epoch) <= sealed);
        // The devices' seq order, locked in key order.
        sqlx::query(
            "INSERT INTO device_seq (device, last_seq, accepted) SELECT unnest($1::bytea[]), -1, 0 ON CONFLICT DO NOTHING",
        )
        .bind(&device_list)
        .execute(&mut *transaction)
        .await?;
        let mut states: HashMap<Key, (i64, i64)> = HashMap::new();
        for row in sqlx::query(
            "SELECT device, last_seq, accepted FROM device_seq WHERE device = ANY($1) ORDER BY device FOR UPDATE",
        )
        .bind(&device_list)
        .fetch_all(&mut *transaction)
        .await?
        {
            states.insert(key_of(row.get(0))?, (row.get(1), row.get(2)));
        }
        // Stored copies of the old seqs offered, and the conflict copies already kept.
        let old: Vec<&Candidate> = candidates
            .iter()
            .filter(|candidate| {
                states
                    .get(&candidate.device)
                    .is_some_and(|(last, _)| as_db(candidate.seq) <= *last)
            })
            .collect();
        let mut stored: HashMap<(Key, u64), Vec<u8>> = HashMap::new();
        let mut kept: HashMap<(Key, u64), Vec<[u8; 32]>> = HashMap::new();
        if !old.is_empty() {
            let old_devices: Vec<Vec<u8>> = old.iter().map(|c| c.device.0.to_vec()).collect();
            let old_seqs: Vec<i64> = old.iter().map(|c| as_db(c.seq)).collect();
            for row in sqlx::query(
                "SELECT t.device, t.seq, t.canonical FROM telemetry t \
                 JOIN unnest($1::bytea[], $2::bigint[]) AS o(device, seq) \
                 ON t.device = o.device AND t.seq = o.seq",
            )
            .bind(&old_devices)
            .bind(&old_seqs)
            .fetch_all(&mut *transaction)
            .await?
            {
                stored.insert((key_of(row.get(0))?, from_db(row.get(1))), row.get(2));
            }
            for row in sqlx::query(
                "SELECT device, epoch, hash FROM conflicts WHERE device = ANY($1) AND epoch = ANY($2)",
            )
            .bind(&old_devices)
            .bind(&epoch_list)
            .fetch_all(&mut *transaction)
            .await?
            {
                let hash: Vec<u8> = row.get(2);
                kept.entry((key_of(row.get(0))?, from_db(row.get(1))))
                    .or_default()
                    .push(hash.try_into().map_err(|_| {
                        StoreError::Corrupt("a stored conflict hash is not 32 bytes".into())
                    })?);
            }
        }

        let mut outcomes = Vec::with_capacity(candidates.len());
        let mut inserts: Vec<&Candidate> = Vec::new();
        let mut conflict_inserts: Vec<(&Candidate, [u8; 32])> = Vec::new();
        for candidate in &candidates {
            if is_sealed(candidate.epoch) {
                outcomes.push(Outcome::EpochSealed);
                continue;
            }
            let state = states.entry(candidate.device).or_insert((-1, 0));
            if as_db(candidate.seq) > state.0 {
                state.0 = as_db(candidate.seq);
                state.1 += 1;
                stored.insert(
                    (candidate.device, candidate.seq),
                    candidate.canonical.clone(),
                );
                inserts.push(candidate);
                outcomes.push(Outcome::Stored);
                continue;
            }
            match stored.get(&(candidate.device, candidate.seq)) {
                None => outcomes.push(Outcome::Stale {
                    last_seq: from_db(state.0),
                }),
                Some(canonical) if *canonical == candidate.canonical => {
                    outcomes.push(Outcome::Duplicate)
                }
                Some(_) => {
                    let hash = hash_of(&candidate.canonical);
                    let copies = kept.entry((candidate.device, candidate.epoch)).or_default();
                    if copies.contains(&hash) {
                        outcomes.push(Outcome::Conflict {
                            evidence_kept: true,
                        });
                    } else if copies.len() >= self.max_conflicts_per_device_epoch {
                        outcomes.push(Outcome::Conflict {
                            evidence_kept: false,
                        });
                    } else {
                        copies.push(hash);
                        conflict_inserts.push((candidate, hash));
                        outcomes.push(Outcome::Conflict {
                            evidence_kept: true,
                        });
                    }
                }
            }
        }
        if !inserts.is_empty() {
            sqlx::query(
                "INSERT INTO telemetry (epoch, device, seq, canonical, signature, received_at_ms) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bigint[])",
            )
            .bind(inserts.iter().map(|c| as_db(c.epoch)).collect::<Vec<_>>())
            .bind(inserts.iter().map(|c| c.device.0.to_vec()).collect::<Vec<_>>())
            .bind(inserts.iter().map(|c| as_db(c.seq)).collect::<Vec<_>>())
            .bind(inserts.iter().map(|c| c.canonical.clone()).collect::<Vec<_>>())
            .bind(inserts.iter().map(|c| c.signature.to_vec()).collect::<Vec<_>>())
            .bind(inserts.iter().map(|c| c.received_at_ms).collect::<Vec<_>>())
            .execute(&mut *transaction)
            .await?;
        }
        if !conflict_inserts.is_empty() {
            sqlx::query(
                "INSERT INTO conflicts (epoch, device, seq, hash, canonical, signature, received_at_ms) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bigint[]) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(conflict_inserts.iter().map(|(c, _)| as_db(c.epoch)).collect::<Vec<_>>())
            .bind(conflict_inserts.iter().map(|(c, _)| c.device.0.to_vec()).collect::<Vec<_>>())
            .bind(conflict_inserts.iter().map(|(c, _)| as_db(c.seq)).collect::<Vec<_>>())
            .bind(conflict_inserts.iter().map(|(_, hash)| hash.to_vec()).collect::<Vec<_>>())
            .bind(conflict_inserts.iter().map(|(c, _)| c.canonical.clone()).collect::<Vec<_>>())
            .bind(conflict_inserts.iter().map(|(c, _)| c.signature.to_vec()).collect::<Vec<_>>())
            .bind(conflict_inserts.iter().map(|(c, _)| c.received_at_ms).collect::<Vec<_>>())
            .execute(&mut *transaction)
            .await?;
        }
        let changed: Vec<(&Key, &(i64, i64))> = states.iter().collect();
        sqlx::query(
            "UPDATE device_seq d SET last_seq = u.last_seq, accepted = u.accepted \
             FROM unnest($1::bytea[], $2::bigint[], $3::bigint[]) AS u(device, last_seq, accepted) \
             WHERE d.device = u.device",
        )
        .bind(
            changed
                .iter()
                .map(|(device, _)| device.0.to_vec())
                .collect::<Vec<_>>(),
        )
        .bind(changed.iter().map(|(_, state)| state.0).collect::<Vec<_>>())
        .bind(changed.iter().map(|(_, state)| state.1).collect::<Vec<_>>())
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(outcomes)
    }

    async fn sealed_through(&self) -> Result<Option<u64>, StoreError> {
        let sealed: Option<i64> =
            sqlx::query_scalar("SELECT sealed_through FROM seal_watermark WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(sealed.map(from_db))
    }

    pub async fn seal_through(&self, through: u64) -> Result<Vec<Manifest>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        // Waits for the commits holding their shared lock on the watermark.
        let previous: Option<i64> =
            sqlx::query_scalar("SELECT sealed_through FROM seal_watermark WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut *transaction)
                .await?;
        if previous.is_some_and(|previous| previous >= as_db(through)) {
            return Ok(Vec::new());
        }
        sqlx::query("UPDATE seal_watermark SET sealed_through = $1 WHERE id = 1")
            .bind(as_db(through))
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        let with_messages: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT epoch FROM telemetry WHERE epoch > $1 AND epoch <= $2 \
             UNION SELECT DISTINCT epoch FROM conflicts WHERE epoch > $1 AND epoch <= $2 ORDER BY 1",
        )
        .bind(previous.unwrap_or(-1))
        .bind(as_db(through))
        .fetch_all(&self.pool)
        .await?;
        let mut manifests = Vec::new();
        for epoch in with_messages {
            if let Some(manifest) = self.manifest(from_db(epoch)).await? {
                manifests.push(manifest);
            }
        }
        Ok(manifests)
    }

    /// A sealed epoch's manifest: stored, or computed from its rows (and stored) the first
    /// time it is asked for, so a process that sealed and crashed leaves nothing undefined.
    pub async fn manifest(&self, epoch: u64) -> Result<Option<Manifest>, StoreError> {
        let sealed_through = self.sealed_through().await?;
        if sealed_through.is_none_or(|sealed| epoch > sealed) {
            return Ok(None);
        }
        let stored: Option<String> =
            sqlx::query_scalar("SELECT manifest FROM manifests WHERE epoch = $1")
                .bind(as_db(epoch))
                .fetch_optional(&self.pool)
                .await?;
        if let Some(text) = stored {
            return serde_json::from_str(&text)
                .map(Some)
                .map_err(|error| StoreError::Corrupt(format!("epoch {epoch} manifest: {error}")));
        }
        let manifest = self.compute_manifest(epoch).await?;
        sqlx::query(
            "INSERT INTO manifests (epoch, manifest) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(as_db(epoch))
        .bind(serde_json::to_string(&manifest).expect("a manifest serialises"))
        .execute(&self.pool)
        .await?;
        Ok(Some(manifest))
    }

    /// The manifest of an epoch's rows, streamed in digest order (memory does not grow with
    /// the epoch; the hashes are computed by the database).
    async fn compute_manifest(&self, epoch: u64) -> Result<Manifest, StoreError> {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(
            "SELECT device, seq, 0::smallint AS kind, sha256(canonical) AS hash FROM telemetry WHERE epoch = $1 \
             UNION ALL SELECT device, seq, 1::smallint, hash FROM conflicts WHERE epoch = $1 ORDER BY 1, 2, 3, 4",
        )
        .bind(as_db(epoch))
        .fetch(&self.pool);
        let mut manifest = crate::manifest::ManifestBuilder::new(epoch);
        while let Some(row) = rows.try_next().await? {
            let kind: i16 = row.get(2);
            let hash: Vec<u8> = row.get(3);
            manifest.add(
                if kind == 0 {
                    FrameKind::Message
                } else {
                    FrameKind::Conflict
                },
                &key_of(row.get(0))?,
                from_db(row.get(1)),
                &hash
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("a hash is not 32 bytes".into()))?,
            );
        }
        Ok(manifest.finish())
    }

    async fn read_records(&self, epoch: u64) -> Result<Vec<EpochRecord>, StoreError> {
        let mut records = Vec::new();
        for (kind, query) in [
            (
                FrameKind::Message,
                "SELECT device, seq, canonical, signature, received_at_ms FROM telemetry WHERE epoch = $1",
            ),
            (
                FrameKind::Conflict,
                "SELECT device, seq, canonical, signature, received_at_ms FROM conflicts WHERE epoch = $1",
            ),
        ] {
            for row in sqlx::query(query)
                .bind(as_db(epoch))
                .fetch_all(&self.pool)
                .await?
            {
                let canonical: Vec<u8> = row.get(2);
                let signature: Vec<u8> = row.get(3);
                records.push(EpochRecord {
                    kind,
                    device: key_of(row.get(0))?,
                    seq: from_db(row.get(1)),
                    hash: hash_of(&canonical),
                    canonical,
                    signature: signature.try_into().map_err(|_| {
                        StoreError::Corrupt("a stored signature is not 64 bytes".into())
                    })?,
                    received_at_ms: row.get(4),
                });
            }
        }
        records.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Ok(records)
    }

    pub async fn epoch_records(&self, epoch: u64) -> Result<Vec<EpochRecord>, StoreError> {
        self.read_records(epoch).await
    }

    /// Sends an epoch's records in (device, seq, kind, hash) order to `sender`, in batches,
    /// streamed from the database (memory does not grow with the epoch); stops when the
    /// receiver is gone.
    pub async fn stream_epoch(
        &self,
        epoch: u64,
        sender: tokio::sync::mpsc::Sender<Result<Vec<EpochRecord>, StoreError>>,
    ) {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(
            "SELECT device, seq, 0::smallint AS kind, sha256(canonical) AS hash, canonical, signature, received_at_ms \
             FROM telemetry WHERE epoch = $1 \
             UNION ALL SELECT device, seq, 1::smallint, hash, canonical, signature, received_at_ms \
             FROM conflicts WHERE epoch = $1 ORDER BY 1, 2, 3, 4",
        )
        .bind(as_db(epoch))
        .fetch(&self.streams);
        let mut batch = Vec::with_capacity(crate::STREAM_BATCH);
        loop {
            let record = match rows.try_next().await {
                Ok(Some(row)) => record_of(&row),
                Ok(None) => break,
                Err(error) => Err(error.into()),
            };
            match record {
                Ok(record) => batch.push(record),
                Err(error) => {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            }
            if batch.len() >= crate::STREAM_BATCH
                && sender
                    .send(Ok(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(crate::STREAM_BATCH),
                    )))
                    .await
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = sender.send(Ok(batch)).await;
        }
    }

    pub async fn prune_through(&self, through: u64) -> Result<Pruned, StoreError> {
        let Some(sealed) = self.sealed_through().await? else {
            return Ok(Pruned::default());
        };
        let through = through.min(sealed);
        let epochs: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT epoch FROM telemetry WHERE epoch <= $1 \
             UNION SELECT DISTINCT epoch FROM conflicts WHERE epoch <= $1 ORDER BY 1",
        )
        .bind(as_db(through))
        .fetch_all(&self.pool)
        .await?;
        let mut pruned = Pruned::default();
        for epoch in epochs {
            let bytes: Option<i64> =
                sqlx::query_scalar("SELECT pg_total_relation_size(to_regclass($1))")
                    .bind(format!("telemetry_{epoch}"))
                    .fetch_one(&self.pool)
                    .await?;
            // Its manifest stays: what the epoch held remains on record.
            self.manifest(from_db(epoch)).await?;
            let bytes = bytes.unwrap_or(0);
            sqlx::query(&format!("DROP TABLE IF EXISTS telemetry_{epoch}"))
                .execute(&self.pool)
                .await?;
            sqlx::query("DELETE FROM conflicts WHERE epoch = $1")
                .bind(epoch)
                .execute(&self.pool)
                .await?;
            self.partitions
                .lock()
                .expect("partitions lock")
                .remove(&from_db(epoch));
            pruned.epochs.push(from_db(epoch));
            pruned.bytes += from_db(bytes);
        }
        Ok(pruned)
    }

    pub async fn device_summary(&self, device: &Key) -> Result<DeviceSummary, StoreError> {
        let Some(row) = sqlx::query("SELECT last_seq, accepted FROM device_seq WHERE device = $1")
            .bind(device.0.to_vec())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(DeviceSummary::default());
        };
        let last_seq: i64 = row.get(0);
        if last_seq < 0 {
            return Ok(DeviceSummary::default());
        }
        let latest = sqlx::query(
            "SELECT canonical, signature FROM telemetry WHERE device = $1 AND seq = $2",
        )
        .bind(device.0.to_vec())
        .bind(last_seq)
        .fetch_optional(&self.pool)
        .await?
        .and_then(|row| {
            let signature: Vec<u8> = row.get(1);
            Some((row.get::<Vec<u8>, _>(0), signature.try_into().ok()?))
        });
        let open_conflicts: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM conflicts WHERE device = $1 AND epoch > COALESCE((SELECT sealed_through FROM seal_watermark WHERE id = 1), -1)",
        )
        .bind(device.0.to_vec())
        .fetch_one(&self.pool)
        .await?;
        Ok(DeviceSummary {
            accepted: from_db(row.get(1)),
            open_conflicts: from_db(open_conflicts),
            latest_seq: Some(from_db(last_seq)),
            latest,
        })
    }
}
