//! The Groundwork oracle (SPEC 4) composed from its crates: `groundwork-oracle-core` (shared
//! domain), `-store` (telemetry store), `-chain` (the chain behind a trait), `-chainview` (the
//! programs' finalized history, epoch chain snapshots), `-ingest` (the ingest stage and its
//! API) and `-verify` (verified work). Stages talk only through the store and their files;
//! this crate holds the configuration, the supervisor and the service that runs them. (The
//! submit stage comes as its own crate.)

pub mod config;
pub mod service;
pub mod supervisor;

pub use groundwork_oracle_chain as chain;
pub use groundwork_oracle_chainview as chainview;
pub use groundwork_oracle_core as core;
pub use groundwork_oracle_ingest as ingest;
pub use groundwork_oracle_store as store;
pub use groundwork_oracle_submit as submit;
pub use groundwork_oracle_verify as verify;
