//! Requests between the network's oracles (SPEC 4.3): `GET /v1/epochs/{n}/telemetry` answers
//! only the network's oracles. The requesting oracle signs, with its oracle key, the method,
//! the path and the time (unix ms); the answering oracle checks the signature, that the time
//! is within [`MAX_AGE_MS`] of its own, and that the key is in the on-chain oracle set.
//!
//! Headers: [`ORACLE_HEADER`] (base58 key), [`TIMESTAMP_HEADER`] (unix ms),
//! [`SIGNATURE_HEADER`] (base58 signature of [`signed_bytes`]).

use groundwork_telemetry::{sign_bytes, verify_signature, Key};

pub const ORACLE_HEADER: &str = "x-groundwork-oracle";
pub const TIMESTAMP_HEADER: &str = "x-groundwork-timestamp";
pub const SIGNATURE_HEADER: &str = "x-groundwork-signature";

/// How far a signed request's time may be from the answering oracle's clock: a request seen
/// later (a replay) is refused.
pub const MAX_AGE_MS: i64 = 60_000;

/// What an oracle signs for a request: a domain, the method, the path and the time.
pub fn signed_bytes(method: &str, path: &str, timestamp_ms: i64) -> Vec<u8> {
    format!("GROUNDWORK-PEER-1\n{method}\n{path}\n{timestamp_ms}").into_bytes()
}

/// What a membership check answers: whether the key is an oracle of the network, or why that
/// cannot be told now.
pub type MembershipFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, String>> + Send + 'a>>;

/// The network's oracles (the on-chain set), as the answering oracle knows them.
pub trait OracleSet: Send + Sync {
    fn contains(&self, key: Key) -> MembershipFuture<'_>;
}

/// A fixed set of oracles (tools and tests that know the set).
pub struct FixedOracleSet(pub Vec<Key>);

impl OracleSet for FixedOracleSet {
    fn contains(&self, key: Key) -> MembershipFuture<'_> {
        let member = self.0.contains(&key);
        Box::pin(async move { Ok(member) })
    }
}

/// An oracle's key for signing its requests to peers (the secret never prints).
pub struct PeerKey {
    seed: [u8; 32],
    public: Key,
}

impl std::fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerKey({})", self.public)
    }
}

impl PeerKey {
    /// The key whose ed25519 secret is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let (public, _) = sign_bytes(&seed, b"");
        PeerKey { seed, public }
    }

    pub fn public(&self) -> Key {
        self.public
    }

    /// The three headers that sign `method path` at `now_ms`.
    pub fn headers(&self, method: &str, path: &str, now_ms: i64) -> [(&'static str, String); 3] {
        let (_, signature) = sign_bytes(&self.seed, &signed_bytes(method, path, now_ms));
        [
            (ORACLE_HEADER, self.public.to_string()),
            (TIMESTAMP_HEADER, now_ms.to_string()),
            (SIGNATURE_HEADER, bs58::encode(signature).into_string()),
        ]
    }
}

/// An oracle's key with the clock its signatures are dated by: what signs its pulls.
pub struct PeerSigner {
    key: PeerKey,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl PeerSigner {
    pub fn new(key: PeerKey, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Self {
        PeerSigner { key, clock }
    }

    /// The headers that sign `method path` now.
    pub fn headers(&self, method: &str, path: &str) -> [(&'static str, String); 3] {
        self.key.headers(method, path, self.clock.now_ms())
    }
}

/// Why a request between oracles is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerAuthError {
    #[error("the request is not signed by an oracle (headers {ORACLE_HEADER}, {TIMESTAMP_HEADER}, {SIGNATURE_HEADER})")]
    Unsigned,
    #[error("the request's {0} header does not parse")]
    Malformed(&'static str),
    #[error("the request was signed at unix ms {timestamp_ms}, more than {MAX_AGE_MS} ms from now ({now_ms}): a replay or a wrong clock")]
    Stale { timestamp_ms: i64, now_ms: i64 },
    #[error("the request's signature is not {0}'s")]
    BadSignature(Key),
    #[error("{0} is not in the network's oracle set")]
    NotAnOracle(Key),
}

/// The signer of a request, read from its headers (`header` returns a header's value):
/// signed over `method path`, within [`MAX_AGE_MS`] of `now_ms`. Whether the signer is an
/// oracle of the network is the caller's next check.
pub fn signer_of<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
    method: &str,
    path: &str,
    now_ms: i64,
) -> Result<Key, PeerAuthError> {
    let (Some(oracle), Some(timestamp), Some(signature)) = (
        header(ORACLE_HEADER),
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
    ) else {
        return Err(PeerAuthError::Unsigned);
    };
    let oracle: Key = oracle
        .parse()
        .map_err(|_| PeerAuthError::Malformed(ORACLE_HEADER))?;
    let timestamp_ms: i64 = timestamp
        .parse()
        .map_err(|_| PeerAuthError::Malformed(TIMESTAMP_HEADER))?;
    let signature: [u8; 64] = bs58::decode(signature)
        .into_vec()
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(PeerAuthError::Malformed(SIGNATURE_HEADER))?;
    if timestamp_ms.abs_diff(now_ms) > MAX_AGE_MS.unsigned_abs() {
        return Err(PeerAuthError::Stale {
            timestamp_ms,
            now_ms,
        });
    }
    if !verify_signature(
        &oracle,
        &signed_bytes(method, path, timestamp_ms),
        &signature,
    ) {
        return Err(PeerAuthError::BadSignature(oracle));
    }
    Ok(oracle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_request_names_its_signer_and_nothing_else_passes() {
        let key = PeerKey::from_seed([5; 32]);
        let path = "/v1/epochs/3/telemetry";
        let headers: std::collections::HashMap<&str, String> =
            key.headers("GET", path, 1_000_000).into_iter().collect();
        let header = |name: &str| headers.get(name).map(String::as_str);
        assert_eq!(signer_of(header, "GET", path, 1_030_000), Ok(key.public()));
        // Another path, a replay after a minute, nothing signed.
        assert_eq!(
            signer_of(header, "GET", "/v1/epochs/4/telemetry", 1_000_000),
            Err(PeerAuthError::BadSignature(key.public()))
        );
        assert_eq!(
            signer_of(header, "GET", path, 1_060_001),
            Err(PeerAuthError::Stale {
                timestamp_ms: 1_000_000,
                now_ms: 1_060_001
            })
        );
        assert_eq!(
            signer_of(|_| None, "GET", path, 1_000_000),
            Err(PeerAuthError::Unsigned)
        );
    }
}
