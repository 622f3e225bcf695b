//! What every stage of the oracle shares: the clock, the epoch schedule and its seal, the
//! typed rejections of SPEC 4.2 (mapped to HTTP only at the API edge), the set of onboarded
//! devices, the metrics, secrets that never print, and the process's peak memory.

pub mod clock;
pub mod devices;
pub mod epochs;
pub mod metrics;
pub mod process;
pub mod rejection;
pub mod secret;

pub use rejection::{Rejection, Verdict};
