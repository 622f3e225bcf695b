//! device_registry program tests in the runtime harness: every instruction's happy path and
//! errors, the attacks of the security table, and an end-to-end onboarding of 100 devices.

mod admin;
mod devices;
mod end_to_end;
mod operators;
mod substitution;
