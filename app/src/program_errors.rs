//! The four programs' errors in words: a refused transaction's `custom program error: 0x1781`
//! becomes `staking refused it: PositionNotActive — The position is not active`, with what to
//! do where the CLI knows it. Names and messages come from the programs' IDLs (embedded; the
//! CI keeps them fresh), so every error of every program is covered.

use std::collections::HashMap;
use std::sync::OnceLock;

use anchor_lang::prelude::Pubkey;

/// One program error as its IDL describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramError {
    pub program: &'static str,
    pub name: String,
    pub message: String,
}

/// The IDLs of the four programs, with the program each belongs to.
const IDLS: [(&str, &str); 4] = [
    (
        "device_registry",
        include_str!("../../idl/device_registry.json"),
    ),
    ("staking", include_str!("../../idl/staking.json")),
    ("tokenomics", include_str!("../../idl/tokenomics.json")),
    (
        "reward_epochs",
        include_str!("../../idl/reward_epochs.json"),
    ),
];

/// Every error of the four programs, by (program address, code).
fn table() -> &'static HashMap<(Pubkey, u32), ProgramError> {
    static TABLE: OnceLock<HashMap<(Pubkey, u32), ProgramError>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for (program, idl) in IDLS {
            let idl: serde_json::Value = serde_json::from_str(idl).expect("an embedded IDL parses");
            let address: Pubkey = idl["address"]
                .as_str()
                .and_then(|address| address.parse().ok())
                .expect("an embedded IDL names its program");
            for error in idl["errors"].as_array().into_iter().flatten() {
                let (Some(code), Some(name)) = (error["code"].as_u64(), error["name"].as_str())
                else {
                    continue;
                };
                table.insert(
                    (address, u32::try_from(code).unwrap_or(u32::MAX)),
                    ProgramError {
                        program,
                        name: name.to_string(),
                        message: error["msg"].as_str().unwrap_or(name).to_string(),
                    },
                );
            }
        }
        table
    })
}

/// The error `code` of `program`, when it is one of the four programs'.
pub fn decode(program: &Pubkey, code: u32) -> Option<&'static ProgramError> {
    table().get(&(*program, code))
}

/// What to do about an error, where the CLI knows.
pub fn fix(error: &ProgramError) -> Option<&'static str> {
    Some(match (error.program, error.name.as_str()) {
        (_, "NotAuthority" | "NotUpgradeAuthority") => {
            "sign with the program's authority (-k), or print the message for its multisig with --dump-transaction-message"
        }
        (_, "MathOverflow") => "the amount is too large: use a smaller one",
        ("device_registry", "NotOperatorAuthority" | "NotDeviceOperator") => {
            "sign with the operator's key (-k) that registered the device"
        }
        ("device_registry", "DeviceSuspended") => {
            "the authority suspended the device: `groundwork device show` says why"
        }
        ("device_registry", "MakerAttestationRequired" | "MakerMismatch" | "MakerNotApproved") => {
            "this class needs an approved maker to co-sign the onboarding (--maker)"
        }
        ("device_registry", name) if name.starts_with("Location") => {
            "give the location as --lat/--lon (degrees) or a valid H3 cell of resolution 8 to 15"
        }
        ("staking", "PositionNotActive") => {
            "the position is unlocking or withdrawn: `groundwork stake list` shows its state"
        }
        ("staking", "StillLocked" | "UndelegationNotMatured") => {
            "wait until the date `groundwork stake list` shows, then try again"
        }
        ("staking", "PositionDelegated") => "undelegate first: `groundwork stake undelegate`",
        ("staking", "PositionNotDelegated") => "delegate it first: `groundwork stake delegate`",
        ("staking", "NotARegisteredOperator") => {
            "delegate to a registered operator: `groundwork network status` lists them"
        }
        ("staking", "NothingToClaim") => "nothing has accrued yet: try after the next epoch",
        ("staking", "NotPositionOwner") => "sign with the key that owns the position (-k)",
        ("tokenomics", "SlippageExceeded") => {
            "the price moved: raise --max-slippage-bps or try again"
        }
        ("tokenomics", "BurnBuysNoCredits") => "burn a larger amount: this one buys no credit",
        ("tokenomics", "StalePrice" | "PriceNotFullyVerified") => {
            "the price feed is stale: try again in a few seconds"
        }
        ("reward_epochs", "NothingDue") => {
            "everything the active root owes this recipient is already claimed"
        }
        ("reward_epochs", "NoActiveRoot") => {
            "no root is active yet: wait for the oracles' vote and its challenge period"
        }
        ("reward_epochs", "InvalidProof") => {
            "the proof is not the active root's: fetch it again with --oracle"
        }
        ("reward_epochs", "NotAnOracle") => "sign with a key of the on-chain oracle set",
        ("reward_epochs", "EpochNotEnded") => {
            "the epoch has not ended: `groundwork network status` shows when it does"
        }
        _ => return None,
    })
}

/// The refused program and its error, from a simulation's logs: the last `Program <id>
/// failed: custom program error: 0x<code>` line of one of the four programs; otherwise an
/// Anchor framework error (an account constraint) as the program logged it.
pub fn from_logs(logs: &[String]) -> Option<ProgramError> {
    let own = logs.iter().rev().find_map(|line| {
        let rest = line.strip_prefix("Program ")?;
        let (program, rest) = rest.split_once(" failed: custom program error: 0x")?;
        let code = u32::from_str_radix(rest.trim(), 16).ok()?;
        decode(&program.parse().ok()?, code)
    });
    if let Some(own) = own {
        return Some(own.clone());
    }
    // "Program log: AnchorError caused by account: x. Error Code: ConstraintSeeds. Error
    // Number: 2006. Error Message: A seeds constraint was violated."
    logs.iter().rev().find_map(|line| {
        let rest = line.strip_prefix("Program log: AnchorError")?;
        let (context, rest) = rest.split_once("Error Code: ")?;
        let (name, rest) = rest.split_once(". Error Number: ")?;
        let (_, message) = rest.split_once(". Error Message: ")?;
        let account = context
            .trim()
            .strip_prefix("caused by account: ")
            .map(|account| account.trim_end_matches('.').trim());
        Some(ProgramError {
            program: "the program",
            name: name.to_string(),
            message: match account {
                Some(account) => format!("{} (account `{account}`)", message.trim_end_matches('.')),
                None => message.trim_end_matches('.').to_string(),
            },
        })
    })
}

/// The error in words, with its fix when one is known.
pub fn describe(error: &ProgramError) -> String {
    match fix(error) {
        Some(fix) => format!(
            "{} refused it: {} — {} ({fix})",
            error.program, error.name, error.message
        ),
        None => format!(
            "{} refused it: {} — {}",
            error.program, error.name, error.message
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_of_the_four_programs_is_named() {
        // Each program's IDL lists its error enum from 6000 on, without gaps: every code of
        // every variant decodes to its name and message.
        let programs = [
            (device_registry::ID, "device_registry"),
            (staking::ID, "staking"),
            (tokenomics::ID, "tokenomics"),
            (reward_epochs::ID, "reward_epochs"),
        ];
        for (address, name) in programs {
            let codes: Vec<u32> = table()
                .iter()
                .filter(|((program, _), _)| *program == address)
                .map(|((_, code), _)| *code)
                .collect();
            assert!(codes.len() >= 29, "{name}: {}", codes.len());
            let last = 6_000 + codes.len() as u32 - 1;
            for code in 6_000..=last {
                let error = decode(&address, code).unwrap_or_else(|| panic!("{name} {code}"));
                assert_eq!(error.program, name);
                assert!(!error.name.is_empty() && !error.message.is_empty());
            }
        }
        // The enums themselves agree with the table.
        let position_not_active = u32::from(staking::errors::StakingError::PositionNotActive);
        assert_eq!(
            decode(&staking::ID, position_not_active).unwrap().name,
            "PositionNotActive"
        );
        let nothing_due = u32::from(reward_epochs::errors::RewardError::NothingDue);
        assert_eq!(
            decode(&reward_epochs::ID, nothing_due).unwrap().name,
            "NothingDue"
        );
    }

    #[test]
    fn a_refusal_in_the_logs_is_put_in_words_with_its_fix() {
        let code = u32::from(staking::errors::StakingError::PositionNotActive);
        let logs = vec![
            format!("Program {} invoke [1]", staking::ID),
            "Program log: Instruction: DelegateV0".to_string(),
            format!(
                "Program {} failed: custom program error: {code:#x}",
                staking::ID
            ),
        ];
        let error = from_logs(&logs).unwrap();
        let words = describe(&error);
        assert!(
            words.starts_with("staking refused it: PositionNotActive — "),
            "{words}"
        );
        assert!(words.contains("groundwork stake list"), "{words}");
        assert!(from_logs(&["Program log: hello".to_string()]).is_none());
        // A framework error (an account constraint) is put in words too.
        let constraint = from_logs(&["Program log: AnchorError caused by account: operator. Error Code: ConstraintHasOne. Error Number: 2001. Error Message: A has one constraint was violated.".to_string()]).unwrap();
        assert_eq!(
            describe(&constraint),
            "the program refused it: ConstraintHasOne — A has one constraint was violated (account `operator`)"
        );
    }
}
