pub mod pay_for_service_v0;

pub use pay_for_service_v0::*;
