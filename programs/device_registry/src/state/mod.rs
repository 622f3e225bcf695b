pub mod device;
pub mod device_class;
pub mod maker;
pub mod operator;
pub mod registry_config;
pub mod seeds;

pub use device::*;
pub use device_class::*;
pub use maker::*;
pub use operator::*;
pub use registry_config::*;
