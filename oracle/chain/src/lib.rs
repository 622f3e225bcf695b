//! What the oracle reads from the chain's current state, behind [`Chain`]: the epoch timing
//! and the newest active reward root. [`RpcChain`] reads over JSON-RPC (`solana-rpc-client`)
//! with failover across endpoints ([`first_answer`], shared with the chain view); [`StaticChain`]
//! is an in-process chain tests set directly. The device set comes from the chain view
//! (`groundwork-oracle-chainview`), which follows finalized history instead.

use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountDeserialize;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

/// A boxed future, so [`Chain`] can be used as `dyn Chain`.
pub type ChainFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ChainError>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("RPC {url}: {message}")]
    Rpc { url: String, message: String },
    #[error("no RPC endpoint answered: {0}")]
    AllEndpointsFailed(String),
    #[error("{what} is missing on chain: is the network bootstrapped?")]
    Missing { what: &'static str },
    #[error("{what} does not decode: {message}")]
    Decode { what: String, message: String },
}

/// The network's epoch timing as the staking program holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochTiming {
    pub genesis_unix_s: i64,
    pub epoch_len_s: i64,
}

/// The newest active reward root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveRoot {
    pub epoch: u64,
    pub root: [u8; 32],
    pub cumulative_total: u64,
}

/// An epoch record's votes, and the oracle set and quorum in force now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochVotes {
    /// (oracle, root, cumulative total) of each vote in the record.
    pub votes: Vec<(Pubkey, [u8; 32], u64)>,
    pub oracles: Vec<Pubkey>,
    pub quorum: u8,
    /// The record's root once a quorum agreed (pending or active): (root, cumulative total,
    /// active). After a veto the record is voting again and this is `None`.
    pub agreed: Option<([u8; 32], u64, bool)>,
    /// How often the authority vetoed a root of the epoch.
    pub vetoes: u8,
    /// When a quorum agreed on the record's root and when it activates (or activated), unix
    /// seconds; `None` while voting or when read from history.
    pub activation: Option<RootActivation>,
}

/// When an epoch's agreed root became pending and when its challenge period ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RootActivation {
    pub agreed_at: i64,
    pub activates_at: i64,
}

impl EpochVotes {
    /// Whether oracles of the current set voted (`root`, `cumulative_total`) at least
    /// `quorum` times (a removed oracle's vote does not count).
    pub fn has_quorum_for(&self, root: &[u8; 32], cumulative_total: u64) -> bool {
        let matching = self
            .votes
            .iter()
            .filter(|(oracle, voted_root, voted_total)| {
                self.oracles.contains(oracle)
                    && voted_root == root
                    && *voted_total == cumulative_total
            })
            .count();
        self.quorum > 0 && matching >= usize::from(self.quorum)
    }
}

/// The network token's totals as the programs hold them now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkTotals {
    /// The network mint's supply (base units) and decimals.
    pub supply: u64,
    pub decimals: u8,
    pub max_supply: u64,
    /// Minted by epoch emissions and burned (credit purchases) since genesis.
    pub minted_total: u64,
    pub burned_total: u64,
    /// Device shares of every closed epoch, and what claims paid out of them.
    pub device_pool_cumulative: u64,
    pub total_claimed: u64,
}

/// What the oracle reads from the chain.
pub trait Chain: Send + Sync + 'static {
    /// The epoch timing (staking's genesis and epoch length).
    fn epoch_timing(&self) -> ChainFuture<'_, EpochTiming>;
    /// The epoch of the newest active reward root, if any.
    fn active_root_epoch(&self) -> ChainFuture<'_, Option<u64>>;
    /// The newest active reward root, if any.
    fn active_root(&self) -> ChainFuture<'_, Option<ActiveRoot>>;
    /// What claims have paid `recipient` so far (0 before its first claim).
    fn claimed(&self, recipient: Pubkey) -> ChainFuture<'_, u64>;
    /// `epoch`'s record's votes with the current oracle set (`None`: the epoch is not closed,
    /// or its settled record was closed).
    fn epoch_votes(&self, epoch: u64) -> ChainFuture<'_, Option<EpochVotes>>;
    /// The current oracle set.
    fn oracle_set(&self) -> ChainFuture<'_, Vec<Pubkey>>;
    /// The network token's supply and the programs' running totals.
    fn network_totals(&self) -> ChainFuture<'_, NetworkTotals>;
}

/// The on-chain oracle set read at most every [`ORACLE_SET_FRESH`], for checking who may ask
/// for the oracles' sealed sets (`groundwork_oracle_core::peers`).
pub struct CachedOracleSet {
    chain: std::sync::Arc<dyn Chain>,
    cached: std::sync::Mutex<Option<(std::time::Instant, Vec<Pubkey>)>>,
}

/// How long a read oracle set is used before it is read again.
pub const ORACLE_SET_FRESH: std::time::Duration = std::time::Duration::from_secs(30);

impl CachedOracleSet {
    pub fn new(chain: std::sync::Arc<dyn Chain>) -> Self {
        CachedOracleSet {
            chain,
            cached: std::sync::Mutex::new(None),
        }
    }
}

impl groundwork_oracle_core::peers::OracleSet for CachedOracleSet {
    fn contains(
        &self,
        key: groundwork_telemetry::Key,
    ) -> groundwork_oracle_core::peers::MembershipFuture<'_> {
        Box::pin(async move {
            let key = Pubkey::new_from_array(key.0);
            if let Some((read_at, oracles)) = self.cached.lock().expect("oracle set lock").as_ref()
            {
                if read_at.elapsed() < ORACLE_SET_FRESH {
                    return Ok(oracles.contains(&key));
                }
            }
            let oracles = self
                .chain
                .oracle_set()
                .await
                .map_err(|error| error.to_string())?;
            let member = oracles.contains(&key);
            *self.cached.lock().expect("oracle set lock") =
                Some((std::time::Instant::now(), oracles));
            Ok(member)
        })
    }
}

/// Runs `read` against each of `clients` in turn and returns the first answer; when none
/// answers, every failure, in order, in one line (what `AllEndpointsFailed` errors carry).
pub async fn first_answer<'a, C, T, E, F, Fut>(clients: &'a [C], read: F) -> Result<T, String>
where
    E: std::fmt::Display,
    F: Fn(&'a C) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut failures = Vec::new();
    for client in clients {
        match read(client).await {
            Ok(answer) => return Ok(answer),
            Err(error) => {
                tracing::warn!(%error, "chain read failed; trying the next endpoint");
                failures.push(error.to_string());
            }
        }
    }
    Err(failures.join("; "))
}

/// JSON-RPC endpoints, tried in order until one answers.
pub struct RpcChain {
    clients: Vec<RpcClient>,
}

impl RpcChain {
    pub fn new(urls: &[String]) -> Self {
        RpcChain {
            clients: urls
                .iter()
                .map(|url| {
                    RpcClient::new_with_commitment(url.clone(), CommitmentConfig::confirmed())
                })
                .collect(),
        }
    }

    /// The first endpoint's answer to `read` (failover in order).
    async fn first_answer<'a, T, F, Fut>(&'a self, read: F) -> Result<T, ChainError>
    where
        F: Fn(&'a RpcClient) -> Fut,
        Fut: Future<Output = Result<T, ChainError>>,
    {
        first_answer(&self.clients, read)
            .await
            .map_err(ChainError::AllEndpointsFailed)
    }

    /// The reward program's config (the oracle set, the active root).
    async fn reward_config(
        client: &RpcClient,
    ) -> Result<reward_epochs::RewardConfigV0, ChainError> {
        let (address, _) = Pubkey::find_program_address(
            &[reward_epochs::state::seeds::REWARD_CONFIG],
            &reward_epochs::ID,
        );
        Self::account(client, &address, "the reward config").await
    }

    /// The data of the account at `address` (`what` names it in errors).
    async fn account_data(
        client: &RpcClient,
        address: &Pubkey,
        what: &'static str,
    ) -> Result<Vec<u8>, ChainError> {
        Ok(client
            .get_account_with_commitment(address, client.commitment())
            .await
            .map_err(|error| ChainError::Rpc {
                url: client.url(),
                message: error.to_string(),
            })?
            .value
            .ok_or(ChainError::Missing { what })?
            .data)
    }

    async fn account<T: AccountDeserialize>(
        client: &RpcClient,
        address: &Pubkey,
        what: &'static str,
    ) -> Result<T, ChainError> {
        let data = Self::account_data(client, address, what).await?;
        T::try_deserialize(&mut data.as_slice()).map_err(|error| ChainError::Decode {
            what: what.to_string(),
            message: error.to_string(),
        })
    }
}

impl Chain for RpcChain {
    fn epoch_timing(&self) -> ChainFuture<'_, EpochTiming> {
        Box::pin(self.first_answer(|client| async move {
            let (address, _) = Pubkey::find_program_address(
                &[staking::state::seeds::STAKING_CONFIG],
                &staking::ID,
            );
            let config: staking::StakingConfigV0 =
                Self::account(client, &address, "the staking config").await?;
            Ok(EpochTiming {
                genesis_unix_s: config.genesis_ts,
                epoch_len_s: config.epoch_len_s,
            })
        }))
    }

    fn active_root_epoch(&self) -> ChainFuture<'_, Option<u64>> {
        Box::pin(async move { Ok(self.active_root().await?.map(|root| root.epoch)) })
    }

    fn active_root(&self) -> ChainFuture<'_, Option<ActiveRoot>> {
        Box::pin(self.first_answer(|client| async move {
            let config = Self::reward_config(client).await?;
            Ok(config.active_root_epoch.map(|epoch| ActiveRoot {
                epoch,
                root: config.active_root,
                cumulative_total: config.active_cumulative_total,
            }))
        }))
    }

    fn oracle_set(&self) -> ChainFuture<'_, Vec<Pubkey>> {
        Box::pin(self.first_answer(|client| async move {
            let config = Self::reward_config(client).await?;
            Ok(config.oracles)
        }))
    }

    fn epoch_votes(&self, epoch: u64) -> ChainFuture<'_, Option<EpochVotes>> {
        Box::pin(self.first_answer(move |client| async move {
            let config = Self::reward_config(client).await?;
            let (address, _) = Pubkey::find_program_address(
                &[reward_epochs::state::seeds::EPOCH, &epoch.to_le_bytes()],
                &reward_epochs::ID,
            );
            match Self::account::<reward_epochs::EpochV0>(client, &address, "an epoch record").await
            {
                Ok(record) => Ok(Some(EpochVotes {
                    votes: record
                        .votes
                        .iter()
                        .map(|vote| (vote.oracle, vote.root, vote.cumulative_total))
                        .collect(),
                    oracles: config.oracles,
                    quorum: config.quorum,
                    agreed: match record.status {
                        reward_epochs::state::RootStatus::Voting => None,
                        status => Some((
                            record.pending_root,
                            record.pending_cumulative_total,
                            status == reward_epochs::state::RootStatus::Active,
                        )),
                    },
                    vetoes: record.vetoes,
                    activation: (record.status != reward_epochs::state::RootStatus::Voting)
                        .then_some(RootActivation {
                            agreed_at: record.pending_since,
                            activates_at: record.activates_at,
                        }),
                })),
                Err(ChainError::Missing { .. }) => Ok(None),
                Err(error) => Err(error),
            }
        }))
    }

    fn network_totals(&self) -> ChainFuture<'_, NetworkTotals> {
        Box::pin(self.first_answer(|client| async move {
            let rewards = Self::reward_config(client).await?;
            let (address, _) =
                Pubkey::find_program_address(&[tokenomics::state::seeds::CONFIG], &tokenomics::ID);
            let config: tokenomics::TokenomicsConfigV0 =
                Self::account(client, &address, "the tokenomics config").await?;
            let mint = Self::account_data(client, &config.network_mint, "the network mint").await?;
            let (supply, decimals) = mint_supply(&mint).ok_or_else(|| ChainError::Decode {
                what: "the network mint".to_string(),
                message: format!("{} bytes are not an SPL mint", mint.len()),
            })?;
            Ok(NetworkTotals {
                supply,
                decimals,
                max_supply: config.max_supply,
                minted_total: config.minted_total,
                burned_total: config.burned_total,
                device_pool_cumulative: rewards.device_pool_cumulative,
                total_claimed: rewards.total_claimed,
            })
        }))
    }

    fn claimed(&self, recipient: Pubkey) -> ChainFuture<'_, u64> {
        Box::pin(self.first_answer(move |client| async move {
            let (address, _) = Pubkey::find_program_address(
                &[reward_epochs::state::seeds::CLAIM, recipient.as_ref()],
                &reward_epochs::ID,
            );
            match Self::account::<reward_epochs::ClaimV0>(client, &address, "a claim record").await
            {
                Ok(claim) => Ok(claim.claimed),
                Err(ChainError::Missing { .. }) => Ok(0),
                Err(error) => Err(error),
            }
        }))
    }
}

/// The supply and decimals of an SPL Token or Token-2022 mint: both lay the base mint out the
/// same way (a 36-byte mint authority option, the supply as a little-endian u64, then the
/// decimals).
fn mint_supply(data: &[u8]) -> Option<(u64, u8)> {
    const SUPPLY_AT: usize = 36;
    const DECIMALS_AT: usize = 44;
    let bytes = data.get(SUPPLY_AT..SUPPLY_AT + 8)?;
    let supply = u64::from_le_bytes(bytes.try_into().ok()?);
    Some((supply, *data.get(DECIMALS_AT)?))
}

/// An in-process chain the tests set directly.
pub struct StaticChain {
    timing: EpochTiming,
    active_root: RwLock<Option<ActiveRoot>>,
    claimed: RwLock<std::collections::HashMap<Pubkey, u64>>,
    votes: RwLock<std::collections::HashMap<u64, EpochVotes>>,
    oracles: RwLock<Vec<Pubkey>>,
    totals: RwLock<NetworkTotals>,
    /// While set, reading the active root fails as an endpoint that does not answer.
    active_root_unreadable: std::sync::atomic::AtomicBool,
    /// While set, reading the active root never ends (an endpoint that hangs).
    active_root_hangs: std::sync::atomic::AtomicBool,
    /// Reads of the active root so far.
    active_root_reads: std::sync::atomic::AtomicU64,
}

impl StaticChain {
    pub fn new(timing: EpochTiming) -> Self {
        StaticChain {
            timing,
            active_root_unreadable: std::sync::atomic::AtomicBool::new(false),
            active_root_hangs: std::sync::atomic::AtomicBool::new(false),
            active_root_reads: std::sync::atomic::AtomicU64::new(0),
            active_root: RwLock::new(None),
            claimed: RwLock::new(std::collections::HashMap::new()),
            votes: RwLock::new(std::collections::HashMap::new()),
            oracles: RwLock::new(Vec::new()),
            totals: RwLock::new(NetworkTotals::default()),
        }
    }

    pub fn set_network_totals(&self, totals: NetworkTotals) {
        *self.totals.write().expect("totals lock") = totals;
    }

    pub fn set_oracles(&self, oracles: Vec<Pubkey>) {
        *self.oracles.write().expect("oracles lock") = oracles;
    }

    pub fn set_epoch_votes(&self, epoch: u64, votes: EpochVotes) {
        self.votes.write().expect("votes lock").insert(epoch, votes);
    }

    /// Sets the active root's epoch (root and total zero).
    pub fn set_active_root_epoch(&self, epoch: Option<u64>) {
        self.set_active_root(epoch.map(|epoch| ActiveRoot {
            epoch,
            root: [0; 32],
            cumulative_total: 0,
        }));
    }

    pub fn set_active_root(&self, root: Option<ActiveRoot>) {
        *self.active_root.write().expect("root lock") = root;
    }

    /// Makes reading the active root fail (`true`) or answer again (`false`).
    pub fn set_active_root_unreadable(&self, unreadable: bool) {
        self.active_root_unreadable
            .store(unreadable, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes reading the active root hang (`true`) or answer again (`false`).
    pub fn set_active_root_hangs(&self, hangs: bool) {
        self.active_root_hangs
            .store(hangs, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many times the active root was read.
    pub fn active_root_reads(&self) -> u64 {
        self.active_root_reads
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn set_claimed(&self, recipient: Pubkey, amount: u64) {
        self.claimed
            .write()
            .expect("claims lock")
            .insert(recipient, amount);
    }
}

impl Chain for StaticChain {
    fn epoch_timing(&self) -> ChainFuture<'_, EpochTiming> {
        let timing = self.timing;
        Box::pin(async move { Ok(timing) })
    }

    fn active_root_epoch(&self) -> ChainFuture<'_, Option<u64>> {
        let epoch = self
            .active_root
            .read()
            .expect("root lock")
            .map(|root| root.epoch);
        Box::pin(async move { Ok(epoch) })
    }

    fn active_root(&self) -> ChainFuture<'_, Option<ActiveRoot>> {
        let root = *self.active_root.read().expect("root lock");
        let unreadable = self
            .active_root_unreadable
            .load(std::sync::atomic::Ordering::SeqCst);
        let hangs = self
            .active_root_hangs
            .load(std::sync::atomic::Ordering::SeqCst);
        self.active_root_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            if hangs {
                std::future::pending::<()>().await;
            }
            if unreadable {
                return Err(ChainError::AllEndpointsFailed(
                    "the active root cannot be read (test fault)".into(),
                ));
            }
            Ok(root)
        })
    }

    fn claimed(&self, recipient: Pubkey) -> ChainFuture<'_, u64> {
        let claimed = self
            .claimed
            .read()
            .expect("claims lock")
            .get(&recipient)
            .copied()
            .unwrap_or(0);
        Box::pin(async move { Ok(claimed) })
    }

    fn epoch_votes(&self, epoch: u64) -> ChainFuture<'_, Option<EpochVotes>> {
        let votes = self.votes.read().expect("votes lock").get(&epoch).cloned();
        Box::pin(async move { Ok(votes) })
    }

    fn oracle_set(&self) -> ChainFuture<'_, Vec<Pubkey>> {
        let oracles = self.oracles.read().expect("oracles lock").clone();
        Box::pin(async move { Ok(oracles) })
    }

    fn network_totals(&self) -> ChainFuture<'_, NetworkTotals> {
        let totals = *self.totals.read().expect("totals lock");
        Box::pin(async move { Ok(totals) })
    }
}
