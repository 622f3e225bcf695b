//! What every stage of the oracle shares: the clock, the epoch schedule and its seal, the
//! typed rejections of SPEC 4.2 (mapped to HTTP only at the API edge), the set of onboarded
//! devices, the metrics, secrets that never print, the process's peak memory, and durable
//! files (atomic writes, per-epoch listings). With the `service` feature: the supervisor, the
//! periodic ticker and stage health that the stages run under, and the API's shared replies.

#[cfg(feature = "service")]
pub mod api;
pub mod clock;
pub mod devices;
pub mod epochs;
pub mod files;
pub mod metrics;
pub mod peers;
pub mod process;
pub mod ratelimit;
pub mod rejection;
pub mod secret;
#[cfg(feature = "service")]
pub mod server;
#[cfg(feature = "service")]
pub mod tasks;

pub use rejection::{Rejection, Verdict};
