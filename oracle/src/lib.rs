//! The Groundwork oracle (SPEC 4), composed from its crates in the order data flows:
//! `groundwork-oracle-ingest` (accepts signed telemetry) -> `-store` (persists it, seals each
//! epoch, prunes settled ones) -> `-chainview` (the programs' finalized history, each epoch's
//! chain snapshot) -> `-verify` (each sealed epoch's verified work, by the pure computation of
//! `-rewards`, over the oracles' shared input) -> `-submit` (votes each root exactly once).
//! `-core` holds what they share (clock, epochs, files, the supervisor) and `-chain` the chain
//! behind a trait. Stages talk only through the store and their files; each exports its tasks
//! and routes. This crate holds the configuration and the composition root ([`service`]).

pub mod config;
pub mod recompute;
pub mod service;

pub use groundwork_oracle_bundle as bundle;
pub use groundwork_oracle_chain as chain;
pub use groundwork_oracle_chainview as chainview;
pub use groundwork_oracle_core as core;
pub use groundwork_oracle_ingest as ingest;
pub use groundwork_oracle_rewards as rewards;
pub use groundwork_oracle_store as store;
pub use groundwork_oracle_submit as submit;
pub use groundwork_oracle_verify as verify;
