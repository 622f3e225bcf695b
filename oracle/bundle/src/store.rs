//! Where bundles are kept: a local directory (`file:///srv/bundles`, or a plain path), any
//! S3-compatible store (`s3://bucket/prefix`, credentials and endpoint from the environment:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`,
//! `AWS_ALLOW_HTTP`; never logged) or, for reading, a bundle root served over HTTP(S).
//!
//! Publishing writes the parts first and the index last, so whoever finds an index finds
//! every part it names. A part is content-addressed and written only when absent. An index
//! already there with other bytes (the epoch was computed again after the authority vetoed
//! its root) is kept beside it as `superseded-<its digest>.json` before the new one replaces
//! it: nothing published is lost.

use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{index_path, sha256_hex, BundleError, BundleIndex, PartName, PartRef};

/// What is uploaded as a part: bytes in memory, or a file streamed in chunks.
pub enum PartSource {
    Bytes(Vec<u8>),
    File(std::path::PathBuf),
}

/// What publishing an index did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexOutcome {
    /// The index was written.
    Written,
    /// The same index was there already (a restart after publishing, or another honest oracle
    /// publishing to the same store).
    AlreadyThere,
    /// Another index of the epoch was there: it is kept at `kept_at` and this one replaced it.
    Superseded { kept_at: String },
}

/// The largest index read (a real one is under 1 KiB).
pub const MAX_INDEX_BYTES: u64 = 64 * 1024;

/// The size of each chunk a file part is uploaded in (S3's multipart minimum is 5 MiB).
const UPLOAD_CHUNK: usize = 8 * 1024 * 1024;

/// A bundle root in an object store.
#[derive(Clone)]
pub struct BundleStore {
    store: Arc<dyn ObjectStore>,
    /// The URL as given, without credentials (for messages).
    url: String,
}

impl std::fmt::Debug for BundleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BundleStore({})", self.url)
    }
}

impl BundleStore {
    /// The bundle root at `url` (see the module documentation). A local directory is created
    /// when `create` is set, else it must exist.
    pub fn open(url: &str, create: bool) -> Result<Self, BundleError> {
        let shown = groundwork_oracle_core::secret::redact_url(url);
        let url_error = |message: String| BundleError::Url {
            url: shown.clone(),
            message,
        };
        let store: Arc<dyn ObjectStore> = if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(url_error("no bucket: s3://BUCKET[/PREFIX]".into()));
            }
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|error| url_error(error.to_string()))?;
            let prefix = prefix.trim_matches('/');
            if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
            }
        } else if url.starts_with("http://") || url.starts_with("https://") {
            if create {
                return Err(url_error(
                    "bundles are read over HTTP(S), not published: publish to file:// or s3://, and set [publish] public_url to the HTTPS address readers use".into(),
                ));
            }
            let http = object_store::http::HttpBuilder::new()
                .with_url(url.trim_end_matches('/'))
                .build()
                .map_err(|error| url_error(error.to_string()))?;
            Arc::new(http)
        } else {
            let path = match url.strip_prefix("file://") {
                Some(path) => path,
                None if url.contains("://") => {
                    return Err(url_error(
                        "unknown scheme: use file://PATH, s3://BUCKET/PREFIX, https://HOST/PATH or a directory".into(),
                    ))
                }
                None => url,
            };
            if path.is_empty() {
                return Err(url_error("no directory".into()));
            }
            let directory = Path::new(path);
            if create {
                std::fs::create_dir_all(directory).map_err(BundleError::file(directory))?;
            } else if !directory.is_dir() {
                return Err(url_error("no such directory".into()));
            }
            let local = object_store::local::LocalFileSystem::new_with_prefix(directory)
                .map_err(|error| url_error(error.to_string()))?;
            Arc::new(local)
        };
        Ok(BundleStore { store, url: shown })
    }

    /// The root's URL, without credentials.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn error(&self, error: impl std::fmt::Display) -> BundleError {
        BundleError::Store {
            url: self.url.clone(),
            message: error.to_string(),
        }
    }

    /// The object at `path` (`None` when there is none).
    pub async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, BundleError> {
        match self.store.get(&StorePath::from(path)).await {
            Ok(found) => Ok(Some(
                found
                    .bytes()
                    .await
                    .map_err(|error| self.error(error))?
                    .to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.error(error)),
        }
    }

    /// The object at `path`, read as it streams and cut off past `limit` bytes: `None` when
    /// there is none, `Err(bytes read)` when it holds more than `limit` (a store that
    /// announces a small object and sends a large one cannot fill memory).
    async fn read_capped(
        &self,
        path: &str,
        limit: u64,
    ) -> Result<Option<Result<Vec<u8>, u64>>, BundleError> {
        let found = match self.store.get(&StorePath::from(path)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(self.error(error)),
        };
        let mut bytes = Vec::new();
        let mut chunks = found.into_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|error| self.error(error))?;
            let read = (bytes.len() + chunk.len()) as u64;
            if read > limit {
                return Ok(Some(Err(read)));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(Ok(bytes)))
    }

    /// The size of the object at `path` (`None` when there is none).
    pub async fn size(&self, path: &str) -> Result<Option<u64>, BundleError> {
        match self.store.head(&StorePath::from(path)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.error(error)),
        }
    }

    /// `epoch`'s index, decoded and checked, with its bytes (one larger than
    /// [`MAX_INDEX_BYTES`] is refused before it is read).
    pub async fn index(&self, epoch: u64) -> Result<(BundleIndex, Vec<u8>), BundleError> {
        let path = index_path(epoch);
        let no_bundle = || BundleError::NoBundle {
            epoch,
            url: self.url.clone(),
            path: path.clone(),
        };
        let size = self.size(&path).await?.ok_or_else(no_bundle)?;
        if size > MAX_INDEX_BYTES {
            return Err(BundleError::Index(format!(
                "{path} is {size} bytes; an index is at most {MAX_INDEX_BYTES}"
            )));
        }
        let bytes = self
            .read_capped(&path, MAX_INDEX_BYTES)
            .await?
            .ok_or_else(no_bundle)?
            .map_err(|read| {
                BundleError::Index(format!(
                    "{path} sent more than {MAX_INDEX_BYTES} bytes ({read} so far)"
                ))
            })?;
        Ok((BundleIndex::decode(&bytes, epoch)?, bytes))
    }

    /// The size of the part's object, refused (with the part's name) when it is missing or
    /// not the size the index names: nothing larger than announced is ever read.
    async fn checked_size(&self, part: &PartRef) -> Result<(), BundleError> {
        let missing = || BundleError::Store {
            url: self.url.clone(),
            message: format!("the {} part ({}) is missing", part.name, part.path()),
        };
        let size = self.size(&part.path()).await?.ok_or_else(missing)?;
        if size != part.bytes {
            return Err(BundleError::PartSize {
                part: part.name,
                expected: part.bytes,
                actual: size,
            });
        }
        Ok(())
    }

    /// A part's bytes (read whole: the snapshot, report and parameters), refused (with the
    /// part's name) unless they are the size and hash to the digest the index names.
    pub async fn part(&self, part: &PartRef) -> Result<Vec<u8>, BundleError> {
        self.checked_size(part).await?;
        let bytes = self
            .read_capped(&part.path(), part.bytes)
            .await?
            .ok_or_else(|| BundleError::Store {
                url: self.url.clone(),
                message: format!("the {} part ({}) is missing", part.name, part.path()),
            })?
            .map_err(|actual| BundleError::PartSize {
                part: part.name,
                expected: part.bytes,
                actual,
            })?;
        let actual = sha256_hex(&bytes);
        if actual != part.sha256 {
            return Err(BundleError::PartDigest {
                part: part.name,
                expected: part.sha256.clone(),
                actual,
                bytes: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// Streams a part into the file `destination` while hashing it (memory holds one chunk),
    /// calling `progress` with the bytes received so far; refused (with the part's name)
    /// unless the bytes hash to its digest.
    pub async fn part_to_file(
        &self,
        part: &PartRef,
        destination: &Path,
        mut progress: impl FnMut(u64),
    ) -> Result<(), BundleError> {
        self.checked_size(part).await?;
        let found = match self.store.get(&StorePath::from(part.path())).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(BundleError::Store {
                    url: self.url.clone(),
                    message: format!("the {} part ({}) is missing", part.name, part.path()),
                })
            }
            Err(error) => return Err(self.error(error)),
        };
        let mut file = tokio::fs::File::create(destination)
            .await
            .map_err(BundleError::file(destination))?;
        let mut hasher = Sha256::new();
        let mut received = 0u64;
        let mut chunks = found.into_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|error| self.error(error))?;
            received += chunk.len() as u64;
            // A store that sends more than it announced is cut off at the announced size.
            if received > part.bytes {
                return Err(BundleError::PartSize {
                    part: part.name,
                    expected: part.bytes,
                    actual: received,
                });
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(BundleError::file(destination))?;
            progress(received);
        }
        file.flush().await.map_err(BundleError::file(destination))?;
        let actual = hex::encode(hasher.finalize());
        if actual != part.sha256 {
            return Err(BundleError::PartDigest {
                part: part.name,
                expected: part.sha256.clone(),
                actual,
                bytes: received,
            });
        }
        Ok(())
    }

    /// Publishes a bundle: each part absent from the store (by its digest), then the index.
    pub async fn publish(
        &self,
        index: &BundleIndex,
        parts: Vec<(PartName, PartSource)>,
    ) -> Result<IndexOutcome, BundleError> {
        for (name, source) in parts {
            let part = index.part(name);
            if self.size(&part.path()).await? == Some(part.bytes) {
                continue;
            }
            let path = StorePath::from(part.path());
            match source {
                PartSource::Bytes(bytes) => {
                    self.store
                        .put(&path, PutPayload::from(bytes))
                        .await
                        .map_err(|error| self.error(error))?;
                }
                PartSource::File(file) => self.upload_file(&path, &file).await?,
            }
        }
        let path = index_path(index.epoch);
        let bytes = index.encode();
        let mut outcome = IndexOutcome::Written;
        if let Some(existing) = self.get(&path).await? {
            if existing == bytes {
                return Ok(IndexOutcome::AlreadyThere);
            }
            let kept_at = format!(
                "epochs/{}/superseded-{}.json",
                index.epoch,
                sha256_hex(&existing)
            );
            self.store
                .put(
                    &StorePath::from(kept_at.as_str()),
                    PutPayload::from(existing),
                )
                .await
                .map_err(|error| self.error(error))?;
            outcome = IndexOutcome::Superseded { kept_at };
        }
        self.store
            .put(&StorePath::from(path), PutPayload::from(bytes))
            .await
            .map_err(|error| self.error(error))?;
        Ok(outcome)
    }

    /// Uploads `file` to `path` in chunks (a multipart upload; aborted on failure).
    async fn upload_file(&self, path: &StorePath, file: &Path) -> Result<(), BundleError> {
        let upload = self
            .store
            .put_multipart(path)
            .await
            .map_err(|error| self.error(error))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, UPLOAD_CHUNK);
        let mut reader = tokio::fs::File::open(file)
            .await
            .map_err(BundleError::file(file))?;
        let mut buffer = vec![0u8; UPLOAD_CHUNK];
        loop {
            let read = match reader.read(&mut buffer).await {
                Ok(read) => read,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(BundleError::file(file)(error));
                }
            };
            if read == 0 {
                break;
            }
            if let Err(error) = writer.wait_for_capacity(4).await {
                let _ = writer.abort().await;
                return Err(self.error(error));
            }
            writer.write(&buffer[..read]);
        }
        writer.finish().await.map_err(|error| self.error(error))?;
        Ok(())
    }
}
