//! The verify stage (SPEC 4.3): each sealed epoch computed once over the union of this
//! oracle's and its peers' sealed sets with the epoch's chain snapshot, by the pure
//! computation of `groundwork-oracle-rewards`, and its report stored as the commit point.
//!
//! - [`stage`]: the [`Verifier`](stage::Verifier) — which epoch is ready, the base it adds to
//!   (its own previous report, or a peer's adopted), the merge and the stored report;
//! - [`shared`]: pulling and checking the peers' sealed sets;
//! - [`publish`]: the "publisher" task — each stored report's epoch bundle (SPEC 4.6);
//! - [`tasks`]: the stage's long-lived tasks, "verifier" and "peer-puller";
//! - [`api`]: its routes — `GET /v1/epochs/{n}/rewards`, `GET /v1/devices/{key}/rewards`,
//!   `GET /v1/rewards/{recipient}` — with their cache of decoded reports.

pub mod api;
pub mod publish;
pub mod shared;
pub mod stage;
pub mod tasks;

pub use groundwork_oracle_rewards as rewards;
