pub mod claim_v0;

pub use claim_v0::*;
