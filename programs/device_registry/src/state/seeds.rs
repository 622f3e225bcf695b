//! Every PDA seed of the device_registry program.

/// The registry config (its address is the network id devices sign into telemetry):
/// `["registry_config"]`.
pub const REGISTRY_CONFIG: &[u8] = b"registry_config";
/// A device class: `["device_class", class_id (u16 LE)]`.
pub const DEVICE_CLASS: &[u8] = b"device_class";
/// An approved (or revoked) maker: `["maker", maker_key]`.
pub const MAKER: &[u8] = b"maker";
/// An operator: `["operator", operator_authority]`.
pub const OPERATOR: &[u8] = b"operator";
/// A device: `["device", device_key]` — one per key in the whole network.
pub const DEVICE: &[u8] = b"device";
