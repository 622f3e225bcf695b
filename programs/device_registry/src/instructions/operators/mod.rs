// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod assert_location_v0;
pub mod deactivate_device_v0;
pub mod onboard_device_v0;
pub mod register_operator_v0;
pub mod set_reward_recipient_v0;
pub mod transfer_device_v0;
pub mod update_operator_v0;

pub use assert_location_v0::*;
pub use deactivate_device_v0::*;
pub use onboard_device_v0::*;
pub use register_operator_v0::*;
pub use set_reward_recipient_v0::*;
pub use transfer_device_v0::*;
pub use update_operator_v0::*;
