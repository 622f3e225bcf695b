//! The Groundwork oracle (SPEC 4) composed from its crates: `groundwork-oracle-core` (shared
//! domain), `-store` (telemetry store), `-chain` (the chain behind a trait) and `-ingest` (the
//! ingest stage and its API). Stages talk only through the store; this crate holds the
//! configuration, the supervisor and the service that runs them. (The verify and submit stages
//! come as their own crates.)

pub mod config;
pub mod service;
pub mod supervisor;

pub use groundwork_oracle_chain as chain;
pub use groundwork_oracle_chainview as chainview;
pub use groundwork_oracle_core as core;
pub use groundwork_oracle_ingest as ingest;
pub use groundwork_oracle_store as store;
