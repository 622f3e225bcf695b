//! Where a device is, as a command names it: an H3 cell, or a point and a resolution,
//! checked as the registry checks it.

use anyhow::{bail, Context as _, Result};
use clap::Args;

/// Where a device is: an H3 cell, or a point and a resolution.
#[derive(Args, Clone, Debug)]
pub struct LocationArgs {
    /// H3 cell index, hex (e.g. 8c283082a30e7ff).
    #[arg(long, conflicts_with_all = ["lat", "lon"])]
    pub cell: Option<String>,
    #[arg(long, requires = "lon", allow_negative_numbers = true)]
    pub lat: Option<f64>,
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    pub lon: Option<f64>,
    /// H3 resolution for --lat/--lon (8 to 15).
    #[arg(long, default_value_t = 12)]
    pub resolution: u8,
}

/// The H3 cell a location names, checked as the registry checks it.
pub fn cell_of(location: &LocationArgs) -> Result<u64> {
    let cell = match (&location.cell, location.lat, location.lon) {
        (Some(hex), _, _) => u64::from_str_radix(hex.trim_start_matches("0x"), 16)
            .with_context(|| format!("cell {hex:?} is not a hex H3 index"))?,
        (None, Some(lat), Some(lon)) => {
            let resolution = h3o::Resolution::try_from(location.resolution).map_err(|_| {
                anyhow::anyhow!(
                    "resolution {} is not an H3 resolution; use 8 to 15",
                    location.resolution
                )
            })?;
            if !(-90.0..=90.0).contains(&lat) {
                bail!("--lat {lat} is not a latitude: use degrees from -90 to 90 (north positive), e.g. --lat 37.7749");
            }
            if !(-180.0..=180.0).contains(&lon) {
                bail!("--lon {lon} is not a longitude: use degrees from -180 to 180 (east positive), e.g. --lon -122.4194");
            }
            let point = h3o::LatLng::new(lat, lon)
                .map_err(|_| anyhow::anyhow!("({lat}, {lon}) is not a latitude and longitude"))?;
            u64::from(point.to_cell(resolution))
        }
        _ => bail!("say where: --cell HEX, or --lat and --lon"),
    };
    if device_registry::h3::validate_cell(cell).is_err() {
        bail!("cell {cell:#x} is not a valid H3 cell index");
    }
    let resolution = (cell >> 52) & 0xf;
    if resolution < device_registry::h3::MIN_LOCATION_RESOLUTION {
        bail!("cell {cell:#x} is resolution {resolution}; use 8 to 15");
    }
    Ok(cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_checked_as_the_registry_checks_them() {
        let at = |cell: &str| LocationArgs {
            cell: Some(cell.into()),
            lat: None,
            lon: None,
            resolution: 12,
        };
        assert_eq!(cell_of(&at("8c283082a30e7ff")).unwrap(), 0x8c283082a30e7ff);
        let coarse = cell_of(&at("85283083fffffff")).unwrap_err().to_string();
        assert!(coarse.contains("resolution 5; use 8 to 15"), "{coarse}");
        assert!(cell_of(&at("1234")).is_err());
        let point = LocationArgs {
            cell: None,
            lat: Some(37.7749),
            lon: Some(-122.4194),
            resolution: 12,
        };
        assert_eq!((cell_of(&point).unwrap() >> 52) & 0xf, 12);
        // Out-of-range degrees are refused before anything is sent, with the fix (137.7 is
        // not wrapped to Kazakhstan).
        for (lat, lon, word) in [
            (137.7, -122.4, "--lat 137.7 is not a latitude"),
            (-90.5, 0.0, "--lat -90.5 is not a latitude"),
            (37.7, 400.0, "--lon 400 is not a longitude"),
            (37.7, -180.01, "--lon -180.01 is not a longitude"),
            (f64::NAN, 0.0, "is not a latitude"),
        ] {
            let bad = LocationArgs {
                cell: None,
                lat: Some(lat),
                lon: Some(lon),
                resolution: 12,
            };
            let refused = cell_of(&bad).unwrap_err().to_string();
            assert!(refused.contains(word), "{refused}");
            assert!(refused.contains("use degrees"), "{refused}");
        }
        for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0)] {
            let edge = LocationArgs {
                cell: None,
                lat: Some(lat),
                lon: Some(lon),
                resolution: 12,
            };
            assert!(cell_of(&edge).is_ok());
        }
    }
}
