//! The oracle's chain view: the four programs' finalized history followed over JSON-RPC.
//!
//! - [`ChainView`] loads every tracked account once at first start (devices in pages, each
//!   page at a rising minimum context slot, made consistent by the transactions between
//!   them), then follows the programs' finalized transactions (`getSignaturesForAddress`
//!   bounded by the finalized slot, `getTransaction`) and their `emit_cpi!` events, with
//!   failover across endpoints and a minimum context slot on every read so a lagging endpoint
//!   never moves it backwards. Its position, base and journal are persisted: a restart resumes
//!   without a reload. An account, transaction or event that does not decode is logged and
//!   skipped, never fatal.
//! - It keeps the current device set for ingest (a device onboarded is accepted, a suspended
//!   one refused, a deactivated one forgotten, within seconds of finalization).
//! - It makes the [`ChainSnapshot`] of a closed epoch as of its end (SPEC 4.3 "Inputs"),
//!   stored with its digest, identical whenever and wherever it is made.

pub mod files;
pub mod model;
pub mod rpc;
pub mod snapshot;
pub mod stage;
pub mod view;

pub use model::{ChainState, DeviceState, EpochLedger};
pub use rpc::Position;
pub use snapshot::ChainSnapshot;
pub use stage::{epoch_schedule, epoch_timing, ChainViewHealth, ChainViewStage, Freshness};
pub use view::{stored_ledger, stored_snapshot, ChainView, LoadReport, PollReport};

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("RPC {url}: {message}")]
    Rpc { url: String, message: String },
    #[error("no RPC endpoint answered: {0}")]
    AllEndpointsFailed(String),
    #[error("the chain view file {path}: {message}")]
    State { path: String, message: String },
}
