//! Geometry that gives the same answer on every machine: positions in integer 1e-7 degrees,
//! distances rounded to whole metres before any comparison, and every transcendental function
//! from the pure-Rust `libm` crate (the standard library's calls the platform's libm, whose
//! last bit may differ). H3 cell centres come from `h3o` built without its `std` feature (the
//! workspace pins that), so h3o's own trigonometry is `libm`'s too.

use h3o::{CellIndex, LatLng, Resolution};

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A position in 1e-7 degrees, as heartbeats carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Point {
    pub lat_e7: i32,
    pub lon_e7: i32,
}

impl Point {
    /// A position on Earth (latitude within ±90°, longitude within ±180°).
    pub fn new(lat_e7: i32, lon_e7: i32) -> Option<Self> {
        ((-900_000_000..=900_000_000).contains(&lat_e7)
            && (-1_800_000_000..=1_800_000_000).contains(&lon_e7))
        .then_some(Point { lat_e7, lon_e7 })
    }
}

fn round_e7(degrees: f64) -> i32 {
    libm::round(degrees * 1e7) as i32
}

/// The centre of H3 cell `cell`, rounded to 1e-7 degrees.
pub fn cell_centre(cell: u64) -> Option<Point> {
    let index = CellIndex::try_from(cell).ok()?;
    let centre = LatLng::from(index);
    Point::new(round_e7(centre.lat()), round_e7(centre.lng()))
}

/// The parent of `cell` at `resolution` (the cell itself at its own resolution).
pub fn parent(cell: u64, resolution: Resolution) -> Option<u64> {
    let index = CellIndex::try_from(cell).ok()?;
    index.parent(resolution).map(u64::from)
}

/// The great-circle distance between `a` and `b` in whole metres (haversine on the mean
/// Earth radius), rounded half away from zero.
pub fn distance_m(a: Point, b: Point) -> u64 {
    let radians_per_e7 = core::f64::consts::PI / 180.0 / 1e7;
    let lat_a = f64::from(a.lat_e7) * radians_per_e7;
    let lat_b = f64::from(b.lat_e7) * radians_per_e7;
    let half_dlat = (lat_b - lat_a) / 2.0;
    let half_dlon = (f64::from(b.lon_e7) - f64::from(a.lon_e7)) * radians_per_e7 / 2.0;
    let sin_dlat = libm::sin(half_dlat);
    let sin_dlon = libm::sin(half_dlon);
    let h = sin_dlat * sin_dlat + libm::cos(lat_a) * libm::cos(lat_b) * sin_dlon * sin_dlon;
    let central = 2.0 * libm::asin(libm::sqrt(h.clamp(0.0, 1.0)));
    libm::round(EARTH_RADIUS_M * central) as u64
}

/// The point `metres` north of `from` (tests and simulators place devices with it).
pub fn north_of(from: Point, metres: u64) -> Point {
    let degrees = metres as f64 / EARTH_RADIUS_M * 180.0 / core::f64::consts::PI;
    Point {
        lat_e7: from.lat_e7 + round_e7(degrees),
        lon_e7: from.lon_e7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values these functions give, pinned: a change of the math library or of h3o's
    /// features (its `std` feature switches it to the platform's libm) fails here.
    #[test]
    fn geometry_is_pinned_to_integers() {
        let cell = 0x8c283082a30e7ff; // resolution 12, San Francisco
        let centre = cell_centre(cell).unwrap();
        assert_eq!(
            centre,
            Point {
                lat_e7: 377_900_052,
                lon_e7: -1_224_021_114
            }
        );
        assert_eq!(parent(cell, Resolution::Eight), Some(0x88283082a3fffff));
        let paris = Point::new(488_566_000, 23_522_000).unwrap();
        let london = Point::new(515_074_000, -1_278_000).unwrap();
        assert_eq!(distance_m(paris, london), 343_557);
        assert_eq!(distance_m(centre, north_of(centre, 300)), 300);
        assert_eq!(distance_m(centre, centre), 0);
        assert_eq!(Point::new(900_000_001, 0), None);
    }
}
