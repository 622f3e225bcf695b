//! On-chain validation of H3 cell indexes (bit layout of the H3 v4 spec), integers only, and
//! of device locations: valid cells of resolution 8 to 15 (SPEC 3.2).

/// Number of H3 base cells.
const BASE_CELL_COUNT: u64 = 122;
/// Base cells that are pentagons: their leading non-zero digit can never be 1 (the deleted
/// K axis).
const PENTAGON_BASE_CELLS: [u64; 12] = [4, 14, 24, 38, 49, 58, 63, 72, 83, 97, 107, 117];
const CELL_MODE: u64 = 1;
const MAX_RESOLUTION: u64 = 15;
const UNUSED_DIGIT: u64 = 7;
/// The coarsest resolution a device location may have: the density cap of SPEC 4.3 groups
/// devices by their resolution-8 parent, which a coarser cell does not have. (The finest,
/// 15, is the largest value the 4-bit resolution field of a valid cell can hold.)
pub const MIN_LOCATION_RESOLUTION: u64 = 8;

/// Why an index is not a valid H3 cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidCell {
    ReservedBitSet,
    NotCellMode,
    ModeBitsSet,
    BaseCellOutOfRange,
    DigitOutOfRange,
    UnusedDigitNotSeven,
    DeletedPentagonSubsequence,
}

/// Why an index is not an acceptable device location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidLocation {
    /// Not a valid H3 cell index at all.
    NotACell(InvalidCell),
    /// A valid cell coarser than [`MIN_LOCATION_RESOLUTION`].
    ResolutionTooCoarse,
}

/// Resolution of a valid cell index (bits 52..56).
pub fn resolution(cell: u64) -> u64 {
    (cell >> 52) & 0xF
}

fn digit(cell: u64, position: u64) -> u64 {
    (cell >> ((MAX_RESOLUTION - position) * 3)) & 0x7
}

/// Checks every bit of an H3 cell index: reserved bit clear, mode 1 (cell), mode-dependent bits
/// clear, base cell < 122, digits 1..=resolution in 0..=6, digits past the resolution all 7,
/// and no pentagon cell in the deleted K subsequence.
pub fn validate_cell(cell: u64) -> Result<(), InvalidCell> {
    if cell >> 63 != 0 {
        return Err(InvalidCell::ReservedBitSet);
    }
    if (cell >> 59) & 0xF != CELL_MODE {
        return Err(InvalidCell::NotCellMode);
    }
    if (cell >> 56) & 0x7 != 0 {
        return Err(InvalidCell::ModeBitsSet);
    }
    let base_cell = (cell >> 45) & 0x7F;
    if base_cell >= BASE_CELL_COUNT {
        return Err(InvalidCell::BaseCellOutOfRange);
    }
    let resolution = resolution(cell);
    let mut leading_non_zero = None;
    for position in 1..=MAX_RESOLUTION {
        let digit = digit(cell, position);
        if position <= resolution {
            if digit == UNUSED_DIGIT {
                return Err(InvalidCell::DigitOutOfRange);
            }
            if leading_non_zero.is_none() && digit != 0 {
                leading_non_zero = Some(digit);
            }
        } else if digit != UNUSED_DIGIT {
            return Err(InvalidCell::UnusedDigitNotSeven);
        }
    }
    if PENTAGON_BASE_CELLS.contains(&base_cell) && leading_non_zero == Some(1) {
        return Err(InvalidCell::DeletedPentagonSubsequence);
    }
    Ok(())
}

/// Checks a device location: a valid H3 cell ([`validate_cell`]) of resolution
/// [`MIN_LOCATION_RESOLUTION`] (8) to 15.
pub fn validate_location(cell: u64) -> Result<(), InvalidLocation> {
    validate_cell(cell).map_err(InvalidLocation::NotACell)?;
    if resolution(cell) < MIN_LOCATION_RESOLUTION {
        return Err(InvalidLocation::ResolutionTooCoarse);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// San Francisco at resolution 12, from the H3 reference implementation.
    const SF_RES12: u64 = 0x8c283082a30e7ff;

    #[test]
    fn known_cells_are_valid() {
        assert_eq!(validate_cell(SF_RES12), Ok(()));
        assert_eq!(resolution(SF_RES12), 12);
        // Resolution-0 base cell 0.
        assert_eq!(validate_cell(0x8001fffffffffff), Ok(()));
    }

    #[test]
    fn every_broken_field_is_named() {
        assert_eq!(
            validate_cell(SF_RES12 | 1 << 63),
            Err(InvalidCell::ReservedBitSet)
        );
        assert_eq!(
            validate_cell((SF_RES12 & !(0xF << 59)) | 2 << 59),
            Err(InvalidCell::NotCellMode)
        );
        assert_eq!(
            validate_cell(SF_RES12 | 1 << 56),
            Err(InvalidCell::ModeBitsSet)
        );
        assert_eq!(
            validate_cell((SF_RES12 & !(0x7F << 45)) | 122 << 45),
            Err(InvalidCell::BaseCellOutOfRange)
        );
        // Digit 12 (the last used one, bits 9..11) set to 7.
        assert_eq!(
            validate_cell(SF_RES12 | 0x7 << 9),
            Err(InvalidCell::DigitOutOfRange)
        );
        // Digit 13 (unused, bits 6..8) cleared.
        assert_eq!(
            validate_cell(SF_RES12 & !(0x7 << 6)),
            Err(InvalidCell::UnusedDigitNotSeven)
        );
        assert_eq!(validate_cell(0), Err(InvalidCell::NotCellMode));
        assert_eq!(validate_cell(u64::MAX), Err(InvalidCell::ReservedBitSet));
    }

    #[test]
    fn pentagon_cells_refuse_the_deleted_k_axis() {
        // Base cell 4 (a pentagon) at resolution 1 with digit 1.
        let base = 1u64 << 59 | 1 << 52 | 4 << 45 | ((1u64 << 42) - 1);
        let with_digit = |d: u64| (base & !(0x7 << 42)) | d << 42;
        assert_eq!(validate_cell(with_digit(0)), Ok(()));
        assert_eq!(
            validate_cell(with_digit(1)),
            Err(InvalidCell::DeletedPentagonSubsequence)
        );
        assert_eq!(validate_cell(with_digit(2)), Ok(()));
    }

    /// The San Francisco cell at every resolution, by h3o (parents, then center children).
    fn sf_at(resolution: u8) -> u64 {
        let cell = h3o::CellIndex::try_from(SF_RES12).expect("a valid cell");
        let target = h3o::Resolution::try_from(resolution).expect("a resolution");
        let moved = if resolution <= 12 {
            cell.parent(target)
        } else {
            cell.center_child(target)
        };
        u64::from(moved.expect("a parent or child"))
    }

    #[test]
    fn locations_are_cells_of_resolution_8_to_15() {
        for resolution in 0..=15u8 {
            let cell = sf_at(resolution);
            assert_eq!(validate_cell(cell), Ok(()), "resolution {resolution}");
            let expected = if resolution >= 8 {
                Ok(())
            } else {
                Err(InvalidLocation::ResolutionTooCoarse)
            };
            assert_eq!(validate_location(cell), expected, "resolution {resolution}");
        }
        // The cells the integration tests use (tests/src/registry_fixture.rs).
        assert_eq!(sf_at(7), 0x87283082affffff);
        assert_eq!(sf_at(8), 0x88283082a3fffff);
        assert_eq!(sf_at(15), 0x8f283082a30e600);
        assert_eq!(
            validate_location(SF_RES12 | 1 << 63),
            Err(InvalidLocation::NotACell(InvalidCell::ReservedBitSet))
        );
    }

    fn cell_shaped() -> impl Strategy<Value = u64> {
        // Mostly well-formed indexes with random digits, so that the interesting branches run.
        (0u64..16, 0u64..130, any::<u64>(), 0u64..4).prop_map(
            |(resolution, base_cell, digits, noise)| {
                let mut cell = 1u64 << 59 | resolution << 52 | base_cell << 45;
                for position in 1..=15u64 {
                    let digit = if position <= resolution {
                        (digits >> (position * 3)) & 0x7
                    } else {
                        7
                    };
                    cell |= digit << ((15 - position) * 3);
                }
                match noise {
                    0 => cell ^ (1 << (digits % 64)),
                    _ => cell,
                }
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4_096, .. ProptestConfig::default() })]

        /// The on-chain validator agrees with the h3o library on arbitrary and cell-shaped
        /// integers.
        #[test]
        fn agrees_with_h3o(raw in any::<u64>(), shaped in cell_shaped()) {
            for value in [raw, shaped] {
                prop_assert_eq!(
                    validate_cell(value).is_ok(),
                    h3o::CellIndex::try_from(value).is_ok(),
                    "index {:#x}", value
                );
            }
        }

        /// A location is accepted exactly when h3o reads a cell of resolution 8 or finer.
        #[test]
        fn locations_agree_with_h3o(raw in any::<u64>(), shaped in cell_shaped()) {
            for value in [raw, shaped] {
                let h3o_accepts = h3o::CellIndex::try_from(value)
                    .is_ok_and(|cell| u8::from(cell.resolution()) >= 8);
                prop_assert_eq!(validate_location(value).is_ok(), h3o_accepts, "index {:#x}", value);
            }
        }
    }
}
