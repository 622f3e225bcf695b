use anchor_lang::prelude::*;

use crate::h3::{InvalidCell, InvalidLocation};

#[error_code]
#[derive(PartialEq, Eq)]
pub enum RegistryError {
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("The signer is not the network authority")]
    NotAuthority,
    #[msg("No authority transfer is pending")]
    NoPendingAuthority,
    #[msg("The signer is not the pending authority")]
    NotPendingAuthority,
    #[msg("The signer is not the program's upgrade authority")]
    NotUpgradeAuthority,
    #[msg("The credit mint must be a Token-2022 mint")]
    InvalidCreditMint,
    #[msg("A class name must be 1 to 32 bytes")]
    InvalidClassName,
    #[msg("A class reward weight must be positive")]
    InvalidRewardWeight,
    #[msg("The metadata URI is longer than 200 bytes")]
    MetadataUriTooLong,
    #[msg("The signer is not this operator's authority")]
    NotOperatorAuthority,
    #[msg("The device belongs to another operator")]
    NotDeviceOperator,
    #[msg("This device class requires an approved maker's co-signature")]
    MakerAttestationRequired,
    #[msg("The maker record is not the co-signing maker's")]
    MakerMismatch,
    #[msg("The maker is not approved (or its approval was revoked)")]
    MakerNotApproved,
    #[msg("The device is suspended")]
    DeviceSuspended,
    #[msg("The device is not suspended")]
    DeviceNotSuspended,
    #[msg("Payment must be at least one credit")]
    ZeroPayment,
    #[msg("Location: reserved bit set; not an H3 cell index")]
    LocationReservedBitSet,
    #[msg("Location: H3 mode is not 1 (cell); not an H3 cell index")]
    LocationNotCellMode,
    #[msg("Location: H3 mode-dependent bits must be zero for a cell")]
    LocationModeBitsSet,
    #[msg("Location: H3 base cell must be below 122")]
    LocationBaseCellOutOfRange,
    #[msg("Location: an H3 digit within the resolution is 7")]
    LocationDigitOutOfRange,
    #[msg("Location: H3 digits past the resolution must all be 7")]
    LocationUnusedDigitNotSeven,
    #[msg("Location: pentagon cell in the deleted K subsequence")]
    LocationDeletedPentagonSubsequence,
    #[msg("Location: the H3 cell is coarser than resolution 8")]
    LocationResolutionTooCoarse,
    #[msg("The credit mint is not the tokenomics credit mint")]
    CreditMintMismatch,
    #[msg("A device cannot be transferred to the operator that holds it")]
    TransferToSelf,
    #[msg("A suspension needs a non-zero reason code")]
    ZeroSuspensionReason,
    #[msg("A device's suspension reason must be non-zero exactly while it is suspended")]
    SuspensionReasonMismatch,
}

impl From<InvalidCell> for RegistryError {
    fn from(invalid: InvalidCell) -> Self {
        match invalid {
            InvalidCell::ReservedBitSet => RegistryError::LocationReservedBitSet,
            InvalidCell::NotCellMode => RegistryError::LocationNotCellMode,
            InvalidCell::ModeBitsSet => RegistryError::LocationModeBitsSet,
            InvalidCell::BaseCellOutOfRange => RegistryError::LocationBaseCellOutOfRange,
            InvalidCell::DigitOutOfRange => RegistryError::LocationDigitOutOfRange,
            InvalidCell::UnusedDigitNotSeven => RegistryError::LocationUnusedDigitNotSeven,
            InvalidCell::DeletedPentagonSubsequence => {
                RegistryError::LocationDeletedPentagonSubsequence
            }
        }
    }
}

impl From<InvalidLocation> for RegistryError {
    fn from(invalid: InvalidLocation) -> Self {
        match invalid {
            InvalidLocation::NotACell(cell) => RegistryError::from(cell),
            InvalidLocation::ResolutionTooCoarse => RegistryError::LocationResolutionTooCoarse,
        }
    }
}
