//! The device_registry program: PDAs and one builder per instruction. Fees and payments are
//! made in the network's credits (the tokenomics credit mint), from the payer's credit ATA.

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anchor_lang::solana_program::system_program;
use anchor_lang::{InstructionData, ToAccountMetas};
use anchor_spl::token_2022::spl_token_2022;
use device_registry::state::seeds;
use device_registry::{DeviceClassParams, DeviceV0, RegisterOperatorArgsV0, UpdateOperatorArgsV0};

use crate::ledger::{accounts_of_type, Ledger, LedgerError};
use crate::tokenomics::{
    config_address as tokenomics_config_address, credit_account_address, credit_mint_address,
};
use crate::{event_authority_address, program_data_address};

pub use device_registry::ID as PROGRAM_ID;

/// The registry config; its address is the network id in telemetry.
pub fn registry_config_address() -> Pubkey {
    Pubkey::find_program_address(&[seeds::REGISTRY_CONFIG], &PROGRAM_ID).0
}

pub fn device_class_address(class_id: u16) -> Pubkey {
    Pubkey::find_program_address(&[seeds::DEVICE_CLASS, &class_id.to_le_bytes()], &PROGRAM_ID).0
}

pub fn maker_address(maker: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::MAKER, maker.as_ref()], &PROGRAM_ID).0
}

/// The operator record of the wallet `operator_authority`.
pub fn operator_address(operator_authority: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::OPERATOR, operator_authority.as_ref()], &PROGRAM_ID).0
}

pub fn device_address(device_key: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::DEVICE, device_key.as_ref()], &PROGRAM_ID).0
}

fn instruction(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    crate::anchor_instruction(PROGRAM_ID, accounts, data)
}

fn event_authority() -> Pubkey {
    event_authority_address(&PROGRAM_ID)
}

/// `initialize_registry_v0` with the tokenomics credit mint (checked against the tokenomics
/// config, which must exist).
pub fn initialize_registry(deployer: &Pubkey, authority: Pubkey) -> Instruction {
    instruction(
        device_registry::accounts::InitializeRegistryV0 {
            deployer: *deployer,
            program_data: program_data_address(&PROGRAM_ID),
            config: registry_config_address(),
            credit_mint: credit_mint_address(),
            tokenomics_config: tokenomics_config_address(),
            credit_token_program: spl_token_2022::ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::InitializeRegistryV0 { authority },
    )
}

/// Adds class `class_id`, which must be the registry's `device_class_count`.
pub fn add_device_class(
    authority: &Pubkey,
    class_id: u16,
    params: DeviceClassParams,
) -> Instruction {
    instruction(
        device_registry::accounts::AddDeviceClassV0 {
            authority: *authority,
            config: registry_config_address(),
            device_class: device_class_address(class_id),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::AddDeviceClassV0 { params },
    )
}

pub fn update_device_class(
    authority: &Pubkey,
    class_id: u16,
    params: DeviceClassParams,
) -> Instruction {
    instruction(
        device_registry::accounts::UpdateDeviceClassV0 {
            authority: *authority,
            config: registry_config_address(),
            device_class: device_class_address(class_id),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::UpdateDeviceClassV0 { params },
    )
}

pub fn approve_maker(authority: &Pubkey, maker: Pubkey) -> Instruction {
    instruction(
        device_registry::accounts::ApproveMakerV0 {
            authority: *authority,
            config: registry_config_address(),
            maker_record: maker_address(&maker),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::ApproveMakerV0 { maker },
    )
}

pub fn revoke_maker(authority: &Pubkey, maker: &Pubkey) -> Instruction {
    instruction(
        device_registry::accounts::RevokeMakerV0 {
            authority: *authority,
            config: registry_config_address(),
            maker_record: maker_address(maker),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::RevokeMakerV0 {},
    )
}

/// `suspend_device_v0`: `reason` must be non-zero.
pub fn suspend_device(authority: &Pubkey, device_key: &Pubkey, reason: u16) -> Instruction {
    instruction(
        device_registry::accounts::SuspendDeviceV0 {
            authority: *authority,
            config: registry_config_address(),
            device: device_address(device_key),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::SuspendDeviceV0 { reason },
    )
}

pub fn reinstate_device(authority: &Pubkey, device_key: &Pubkey) -> Instruction {
    instruction(
        device_registry::accounts::ReinstateDeviceV0 {
            authority: *authority,
            config: registry_config_address(),
            device: device_address(device_key),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::ReinstateDeviceV0 {},
    )
}

pub fn register_operator(operator_authority: &Pubkey, args: RegisterOperatorArgsV0) -> Instruction {
    instruction(
        device_registry::accounts::RegisterOperatorV0 {
            operator_authority: *operator_authority,
            config: registry_config_address(),
            operator: operator_address(operator_authority),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::RegisterOperatorV0 { args },
    )
}

pub fn update_operator(operator_authority: &Pubkey, args: UpdateOperatorArgsV0) -> Instruction {
    instruction(
        device_registry::accounts::UpdateOperatorV0 {
            operator_authority: *operator_authority,
            operator: operator_address(operator_authority),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::UpdateOperatorV0 { args },
    )
}

/// Everything `onboard_device_v0` needs; the payer pays rent and the fee from its credit ATA.
#[derive(Clone, Copy, Debug)]
pub struct Onboarding {
    pub payer: Pubkey,
    pub operator_authority: Pubkey,
    pub device_key: Pubkey,
    pub class_id: u16,
    /// The attesting maker, for classes that require one.
    pub maker: Option<Pubkey>,
    /// H3 cell index.
    pub location: u64,
}

pub fn onboard_device(onboarding: Onboarding) -> Instruction {
    instruction(
        device_registry::accounts::OnboardDeviceV0 {
            payer: onboarding.payer,
            operator_authority: onboarding.operator_authority,
            operator: operator_address(&onboarding.operator_authority),
            device_key: onboarding.device_key,
            device: device_address(&onboarding.device_key),
            device_class: device_class_address(onboarding.class_id),
            maker: onboarding.maker,
            maker_record: onboarding.maker.as_ref().map(maker_address),
            config: registry_config_address(),
            credit_mint: credit_mint_address(),
            payer_credits: credit_account_address(&onboarding.payer),
            credit_token_program: spl_token_2022::ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::OnboardDeviceV0 {
            location: onboarding.location,
        },
    )
}

/// `assert_location_v0` for a device of class `class_id`.
pub fn assert_location(
    payer: &Pubkey,
    operator_authority: &Pubkey,
    device_key: &Pubkey,
    class_id: u16,
    location: u64,
) -> Instruction {
    instruction(
        device_registry::accounts::AssertLocationV0 {
            payer: *payer,
            operator_authority: *operator_authority,
            device: device_address(device_key),
            device_class: device_class_address(class_id),
            config: registry_config_address(),
            credit_mint: credit_mint_address(),
            payer_credits: credit_account_address(payer),
            credit_token_program: spl_token_2022::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::AssertLocationV0 { location },
    )
}

pub fn set_reward_recipient(
    operator_authority: &Pubkey,
    device_key: &Pubkey,
    recipient: Option<Pubkey>,
) -> Instruction {
    instruction(
        device_registry::accounts::SetRewardRecipientV0 {
            operator_authority: *operator_authority,
            device: device_address(device_key),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::SetRewardRecipientV0 { recipient },
    )
}

/// `transfer_device_v0`: both `operator_authority` (the holder) and `new_operator_authority`
/// (the receiver, consenting) sign.
pub fn transfer_device(
    operator_authority: &Pubkey,
    new_operator_authority: &Pubkey,
    device_key: &Pubkey,
) -> Instruction {
    instruction(
        device_registry::accounts::TransferDeviceV0 {
            operator_authority: *operator_authority,
            operator: operator_address(operator_authority),
            new_operator_authority: *new_operator_authority,
            new_operator: operator_address(new_operator_authority),
            device: device_address(device_key),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::TransferDeviceV0 {},
    )
}

/// `deactivate_device_v0` for a device of class `class_id`.
pub fn deactivate_device(
    operator_authority: &Pubkey,
    device_key: &Pubkey,
    class_id: u16,
) -> Instruction {
    instruction(
        device_registry::accounts::DeactivateDeviceV0 {
            operator_authority: *operator_authority,
            operator: operator_address(operator_authority),
            device: device_address(device_key),
            device_class: device_class_address(class_id),
            config: registry_config_address(),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::DeactivateDeviceV0 {},
    )
}

pub fn pay_for_service(payer: &Pubkey, device_key: &Pubkey, credits: u64) -> Instruction {
    instruction(
        device_registry::accounts::PayForServiceV0 {
            payer: *payer,
            device: device_address(device_key),
            config: registry_config_address(),
            credit_mint: credit_mint_address(),
            payer_credits: credit_account_address(payer),
            credit_token_program: spl_token_2022::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::PayForServiceV0 { credits },
    )
}

/// `transfer_authority_v0`: proposes `new_authority` as the registry authority, or cancels a
/// proposal with `None`.
pub fn transfer_authority(authority: &Pubkey, new_authority: Option<Pubkey>) -> Instruction {
    instruction(
        device_registry::accounts::AuthorityV0 {
            authority: *authority,
            config: registry_config_address(),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::TransferAuthorityV0 { new_authority },
    )
}

/// `accept_authority_v0`: the proposed registry authority takes over.
pub fn accept_authority(new_authority: &Pubkey) -> Instruction {
    instruction(
        device_registry::accounts::AcceptAuthorityV0 {
            new_authority: *new_authority,
            config: registry_config_address(),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        device_registry::instruction::AcceptAuthorityV0 {},
    )
}

/// Offset of `DeviceV0.operator`: discriminator 8, bump 1, status 1, reason 2, class 2, key 32.
pub const DEVICE_OPERATOR_OFFSET: usize = 8 + 1 + 1 + 2 + 2 + 32;

/// Every device `operator` holds, oldest onboarding first.
pub fn devices_of_operator(
    ledger: &dyn Ledger,
    operator: &Pubkey,
) -> Result<Vec<DeviceV0>, LedgerError> {
    let mut devices: Vec<DeviceV0> = accounts_of_type::<DeviceV0>(
        ledger,
        &PROGRAM_ID,
        Some((DEVICE_OPERATOR_OFFSET, operator)),
    )?
    .into_iter()
    .map(|(_, device)| device)
    .collect();
    devices.sort_by_key(|device| (device.onboarded_at, device.device_key));
    Ok(devices)
}

/// The suspension reason codes this kit names (the program stores any non-zero `u16`; a
/// network may use others, which read as their number): code, name, meaning.
pub const SUSPENSION_REASONS: [(u16, &str, &str); 6] = [
    (1, "cloned-key", "its key was heard from two places at once"),
    (
        2,
        "location-spoofing",
        "what it reports cannot come from the cell it asserts",
    ),
    (
        3,
        "tampered-hardware",
        "its hardware or firmware was altered",
    ),
    (4, "maker-recall", "its maker recalled the model or batch"),
    (5, "abuse", "it abused the network's service or terms"),
    (
        6,
        "operator-request",
        "its operator asked for the suspension",
    ),
];

/// A suspension reason code from its name or its number ("location-spoofing", "2").
pub fn suspension_reason_code(text: &str) -> Option<u16> {
    SUSPENSION_REASONS
        .iter()
        .find(|(_, name, _)| name.eq_ignore_ascii_case(text))
        .map(|(code, _, _)| *code)
        .or_else(|| text.parse().ok())
}

/// A suspension reason in words: "location-spoofing (reason 2: what it reports ...)", or
/// "reason 42" for a code this kit does not name.
pub fn suspension_reason_words(code: u16) -> String {
    match SUSPENSION_REASONS
        .iter()
        .find(|(known, _, _)| *known == code)
    {
        Some((_, name, meaning)) => format!("{name}, reason {code}: {meaning}"),
        None => format!("reason {code}, a code this CLI does not name"),
    }
}

#[cfg(test)]
mod reader_tests {
    use super::*;
    use anchor_lang::{AccountSerialize, Space};

    #[test]
    fn the_operator_offset_points_at_the_operator() {
        let operator = Pubkey::new_unique();
        let device = DeviceV0 {
            bump: 1,
            status: device_registry::DeviceStatus::Active,
            suspension_reason: 0,
            class_id: 3,
            device_key: Pubkey::new_unique(),
            operator,
            reward_recipient: None,
            location: 0,
            location_assertions: 0,
            credits_spent: 0,
            onboarded_at: 0,
        };
        let mut data = Vec::with_capacity(8 + DeviceV0::INIT_SPACE);
        device.try_serialize(&mut data).unwrap();
        assert_eq!(
            &data[DEVICE_OPERATOR_OFFSET..DEVICE_OPERATOR_OFFSET + 32],
            operator.as_ref()
        );
    }

    #[test]
    fn suspension_reasons_read_by_name_and_number() {
        assert_eq!(suspension_reason_code("location-spoofing"), Some(2));
        assert_eq!(suspension_reason_code("Cloned-Key"), Some(1));
        assert_eq!(suspension_reason_code("42"), Some(42));
        assert_eq!(suspension_reason_code("spoofing"), None);
        assert!(suspension_reason_words(2).starts_with("location-spoofing, reason 2: "));
        assert_eq!(
            suspension_reason_words(42),
            "reason 42, a code this CLI does not name"
        );
        let mut codes: Vec<u16> = SUSPENSION_REASONS
            .iter()
            .map(|(code, _, _)| *code)
            .collect();
        codes.dedup();
        assert_eq!(codes.len(), SUSPENSION_REASONS.len());
        assert!(!codes.contains(&0), "0 means not suspended");
    }
}
