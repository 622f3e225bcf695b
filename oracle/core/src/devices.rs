//! The set of onboarded devices the ingest checks against, refreshed from chain.

use std::collections::HashMap;
use std::sync::RwLock;

use groundwork_telemetry::Key;

/// What ingest needs to know of a device record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub suspended: bool,
    pub class_id: u16,
    /// Asserted H3 cell.
    pub location: u64,
}

/// The device cache: replaced whole at each refresh, read by every request.
#[derive(Default)]
pub struct DeviceCache {
    devices: RwLock<HashMap<Key, DeviceInfo>>,
}

impl DeviceCache {
    pub fn new(devices: HashMap<Key, DeviceInfo>) -> Self {
        DeviceCache {
            devices: RwLock::new(devices),
        }
    }

    pub fn get(&self, device: &Key) -> Option<DeviceInfo> {
        self.devices
            .read()
            .expect("device cache lock")
            .get(device)
            .copied()
    }

    /// Applies changes in order: a new state, or `None` for a device gone.
    pub fn apply(&self, changes: &[(Key, Option<DeviceInfo>)]) {
        let mut devices = self.devices.write().expect("device cache lock");
        for (key, info) in changes {
            match info {
                Some(info) => devices.insert(*key, *info),
                None => devices.remove(key),
            };
        }
    }

    pub fn replace(&self, devices: HashMap<Key, DeviceInfo>) {
        *self.devices.write().expect("device cache lock") = devices;
    }

    pub fn len(&self) -> usize {
        self.devices.read().expect("device cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
