//! The fraud rules' names and meanings: each zeroes a device's epoch, judged only on its own
//! signed data (SPEC 4.3).

use borsh::{BorshDeserialize, BorshSerialize};

use crate::VerifyParams;

/// Why a device earned nothing this epoch.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub enum Fraud {
    Suspended,
    Denylisted,
    SeqConflict,
    ClockBackwards,
    ImpossibleMovement,
    TwoPlacesInOneSlot,
    SelfWitness,
}

impl Fraud {
    /// The reason's code in reports.
    pub fn code(self) -> &'static str {
        match self {
            Fraud::Suspended => "suspended",
            Fraud::Denylisted => "denylisted",
            Fraud::SeqConflict => "seq_conflict",
            Fraud::ClockBackwards => "clock_backwards",
            Fraud::ImpossibleMovement => "impossible_movement",
            Fraud::TwoPlacesInOneSlot => "two_places_in_one_slot",
            Fraud::SelfWitness => "self_witness",
        }
    }

    /// The rule in plain words, for an operator reading why a device earned nothing (every
    /// rule judges only the device's own signed data).
    pub fn meaning(self, params: &VerifyParams) -> String {
        match self {
            Fraud::Suspended => {
                "the registry suspended it during the epoch (a suspended device earns nothing)"
                    .into()
            }
            Fraud::Denylisted => "the network's denylist names it".into(),
            Fraud::SeqConflict => "it signed two different messages with the same sequence number: its key is used by more than one device (a cloned key)".into(),
            Fraud::ClockBackwards => {
                "its clock went backwards: a later sequence number carries an earlier time".into()
            }
            Fraud::ImpossibleMovement => format!(
                "its heartbeats moved faster than {} km/h between two consecutive positions",
                params.max_speed_kmh
            ),
            Fraud::TwoPlacesInOneSlot => format!(
                "it reported two positions more than {} m apart within one slot",
                params.two_places_m
            ),
            Fraud::SelfWitness => "it reported witnessing its own beacon".into(),
        }
    }
}
