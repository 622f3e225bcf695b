//! What every stage of the oracle shares: the clock, the epoch schedule and its seal, the
//! typed rejections of SPEC 4.2 (mapped to HTTP only at the API edge), the set of onboarded
//! devices, the metrics, and secrets that never print.

pub mod clock;
pub mod devices;
pub mod epochs;
pub mod metrics;
pub mod rejection;
pub mod secret;

pub use rejection::{Rejection, Verdict};
