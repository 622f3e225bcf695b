//! The chain state the oracle needs, and the programs' events decoded into changes of it.
//!
//! Every event the programs emit carries the clock's unix time and the records it changed as
//! they are after the change, with the values they had before (SPEC 3). An event therefore
//! decodes into [`Write`]s that each name one record and give its state before and after, so
//! the same history can be applied forward (a view following the chain) and undone backward (a
//! view started later that must go back to an epoch's start): both are "set" operations, and
//! an entity's state at any time is the `after` of its last write before that time, or the
//! `before` of its first write after it.

pub use groundwork_oracle_rewards::snapshot::EpochClose;
use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, AnchorSerialize, Discriminator};
use device_registry::{DeviceStatus, DeviceV0};
use groundwork_oracle_core::devices::DeviceInfo;
use groundwork_oracle_rewards::snapshot::ExactPrice;
use groundwork_telemetry::Key;

/// What the oracle tracks of a device record (`DeviceV0`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceState {
    /// The operator's authority.
    pub operator: Pubkey,
    pub class_id: u16,
    /// `Some(reason)` while suspended.
    pub suspension: Option<u16>,
    pub location: u64,
    /// The device's own reward recipient (`None`: its operator's).
    pub reward_recipient: Option<Pubkey>,
    pub credits_spent: u64,
    pub onboarded_at: i64,
}

impl DeviceState {
    pub fn of(device: &DeviceV0) -> Self {
        DeviceState {
            operator: device.operator,
            class_id: device.class_id,
            suspension: (device.status == DeviceStatus::Suspended)
                .then_some(device.suspension_reason),
            location: device.location,
            reward_recipient: device.reward_recipient,
            credits_spent: device.credits_spent,
            onboarded_at: device.onboarded_at,
        }
    }

    /// What ingest checks.
    pub fn info(&self) -> DeviceInfo {
        DeviceInfo {
            suspended: self.suspension.is_some(),
            class_id: self.class_id,
            location: self.location,
        }
    }
}

/// One record the chain view tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    /// A device, by its key.
    Device(Pubkey),
    /// An operator, by its authority: its reward recipient.
    Operator(Pubkey),
    /// A device class, by id: its reward weight (basis points).
    Class(u16),
    /// An operator's staking pool, by operator: the tokens delegated to it.
    Pool(Pubkey),
    /// An operator's pool rewards account, by operator: its commission terms.
    PoolRewards(Pubkey),
}

/// A tracked record's value; `None` in a [`Write`] is "does not exist".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Device(DeviceState),
    Operator { reward_recipient: Pubkey },
    Class { reward_weight_bps: u16 },
    Pool { tokens: u64 },
    PoolRewards(staking::CommissionTerms),
}

/// One record's change: its value before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write {
    pub entity: Entity,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A credit purchase: the amounts, and the price the program used (see
/// `groundwork_oracle_rewards::snapshot::CreditPrice`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Purchase {
    pub unix_timestamp: i64,
    pub network_tokens_burned: u64,
    pub credits_minted: u64,
    /// `None` for an event emitted before the program recorded the token's decimals.
    pub exact: Option<ExactPrice>,
}

/// `CreditsPurchased` as the program emitted it before it carried the token's decimals:
/// still decoded, so a chain's older purchases keep their place in history.
#[derive(AnchorDeserialize)]
struct CreditsPurchasedWithoutDecimals {
    unix_timestamp: i64,
    _payer: Pubkey,
    _recipient: Pubkey,
    network_tokens_burned: u64,
    credits_minted: u64,
    _recipient_credits_after: u64,
    _price: u64,
    _exponent: i32,
    _from_pyth: bool,
    _usd_per_credit_e9: u64,
}

/// A fact an event records besides record changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    /// `pay_for_service`: credits paid for a device's service.
    ServicePaid {
        device: Pubkey,
        credits: u64,
    },
    CreditsPurchased(Purchase),
    EpochClosed(EpochClose),
    /// The authority slashed an operator's pool (its pool write says by how much).
    StakeSlashed {
        operator: Pubkey,
    },
    /// What happened to an epoch's root (kept so an epoch's votes can be read from finalized
    /// history once its record is closed on chain).
    Root(RootFact),
    /// The token's books at a mint or a claim (kept for the epoch ledgers).
    Ledger(LedgerFact),
}

/// The token's books as an event states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerFact {
    /// `EpochEmissionMinted`: an epoch's emission and the totals after it.
    Minted {
        epoch: u64,
        minted: u64,
        supply_after: u64,
        minted_total: u64,
        burned_total: u64,
    },
    /// `RewardsClaimed`: what claims paid all recipients after this one.
    Claimed { total_claimed: u64 },
}

/// An epoch's books as finalized history states them at its end: the supply after its
/// emission was minted, the running mint and burn totals then, and what device-reward claims
/// had paid by its end. Stored beside its snapshot (`snapshots/<n>.ledger`); not an input of
/// verified work.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EpochLedger {
    pub epoch: u64,
    /// `None` when the chain view did not see the epoch's mint (history before its first load).
    pub minted: Option<u64>,
    pub supply_after_mint: Option<u64>,
    pub minted_total: Option<u64>,
    pub burned_total: Option<u64>,
    /// `None` until the chain view has seen a claim, or a ledger before it that knew.
    pub total_claimed: Option<u64>,
}

/// What a ledger file starts with (its format's version is the last byte).
pub const LEDGER_MAGIC: &[u8; 8] = b"GWLEDGR1";

impl EpochLedger {
    /// The file's bytes: [`LEDGER_MAGIC`], then borsh.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = LEDGER_MAGIC.to_vec();
        bytes.extend(borsh::to_vec(self).expect("encoding into memory"));
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let body = bytes
            .strip_prefix(LEDGER_MAGIC.as_slice())
            .ok_or("not a ledger of this format")?;
        EpochLedger::try_from_slice(body).map_err(|error| error.to_string())
    }
}

/// An event of an epoch's root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootFact {
    Voted {
        epoch: u64,
        oracle: Pubkey,
        root: [u8; 32],
        cumulative_total: u64,
    },
    /// The authority vetoed the epoch's root: its votes were cleared.
    Vetoed { epoch: u64 },
    Activated {
        epoch: u64,
        root: [u8; 32],
        cumulative_total: u64,
    },
}

/// One event, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub unix_timestamp: i64,
    pub writes: Vec<Write>,
    pub facts: Vec<Fact>,
}

/// The tracked records at one moment. Ordered maps: the same state iterates (and encodes) the
/// same way everywhere.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainState {
    pub devices: BTreeMap<Pubkey, DeviceState>,
    pub operators: BTreeMap<Pubkey, Pubkey>,
    pub classes: BTreeMap<u16, u16>,
    /// Tokens delegated per operator; an empty pool is absent.
    pub pools: BTreeMap<Pubkey, u64>,
    /// Commission terms per operator with a pool rewards account.
    pub pool_commissions: BTreeMap<Pubkey, staking::CommissionTerms>,
}

impl ChainState {
    /// The current value of `entity`.
    pub fn get(&self, entity: &Entity) -> Option<Value> {
        match entity {
            Entity::Device(key) => self.devices.get(key).copied().map(Value::Device),
            Entity::Operator(key) => self.operators.get(key).map(|recipient| Value::Operator {
                reward_recipient: *recipient,
            }),
            Entity::Class(id) => self.classes.get(id).map(|weight| Value::Class {
                reward_weight_bps: *weight,
            }),
            Entity::Pool(key) => self
                .pools
                .get(key)
                .map(|tokens| Value::Pool { tokens: *tokens }),
            Entity::PoolRewards(key) => self
                .pool_commissions
                .get(key)
                .map(|terms| Value::PoolRewards(*terms)),
        }
    }

    /// Sets `entity` to `value` (`None`: removes it).
    pub fn set(&mut self, entity: &Entity, value: Option<Value>) {
        match (entity, value) {
            (Entity::Device(key), Some(Value::Device(state))) => {
                self.devices.insert(*key, state);
            }
            (Entity::Device(key), _) => {
                self.devices.remove(key);
            }
            (Entity::Operator(key), Some(Value::Operator { reward_recipient })) => {
                self.operators.insert(*key, reward_recipient);
            }
            (Entity::Operator(key), _) => {
                self.operators.remove(key);
            }
            (Entity::Class(id), Some(Value::Class { reward_weight_bps })) => {
                self.classes.insert(*id, reward_weight_bps);
            }
            (Entity::Class(id), _) => {
                self.classes.remove(id);
            }
            (Entity::Pool(key), Some(Value::Pool { tokens })) if tokens > 0 => {
                self.pools.insert(*key, tokens);
            }
            (Entity::Pool(key), _) => {
                self.pools.remove(key);
            }
            (Entity::PoolRewards(key), Some(Value::PoolRewards(terms))) => {
                self.pool_commissions.insert(*key, terms);
            }
            (Entity::PoolRewards(key), _) => {
                self.pool_commissions.remove(key);
            }
        }
    }

    /// Applies an event forward. Returns the writes whose `before` disagreed with the state
    /// (a sign of a missed event; the `after` is applied regardless).
    pub fn apply(&mut self, decoded: &Decoded) -> usize {
        let mut disagreements = 0;
        for write in &decoded.writes {
            if normalize(self.get(&write.entity)) != normalize(write.before) {
                disagreements += 1;
            }
            self.set(&write.entity, write.after);
        }
        disagreements
    }

    /// Undoes an event (the inverse of [`ChainState::apply`]).
    pub fn undo(&mut self, decoded: &Decoded) {
        for write in decoded.writes.iter().rev() {
            self.set(&write.entity, write.before);
        }
    }

    /// Decodes one account of a tracked type (a device, operator, class, staking pool or
    /// pool rewards account) into the state; any other account, or one that does not decode,
    /// is an error.
    pub fn load_account(&mut self, data: &[u8]) -> Result<(), String> {
        fn decode<A: anchor_lang::AccountDeserialize>(data: &[u8]) -> Result<A, String> {
            A::try_deserialize(&mut &data[..]).map_err(|error| error.to_string())
        }
        let discriminator = data
            .get(..8)
            .ok_or("an account shorter than its discriminator")?;
        if discriminator == DeviceV0::DISCRIMINATOR {
            let device: DeviceV0 = decode(data)?;
            self.devices
                .insert(device.device_key, DeviceState::of(&device));
        } else if discriminator == device_registry::OperatorV0::DISCRIMINATOR {
            let operator: device_registry::OperatorV0 = decode(data)?;
            self.operators
                .insert(operator.authority, operator.reward_recipient);
        } else if discriminator == device_registry::DeviceClassV0::DISCRIMINATOR {
            let class: device_registry::DeviceClassV0 = decode(data)?;
            self.classes.insert(class.class_id, class.reward_weight_bps);
        } else if discriminator == staking::OperatorPoolV0::DISCRIMINATOR {
            let pool: staking::OperatorPoolV0 = decode(data)?;
            self.set(
                &Entity::Pool(pool.operator),
                Some(Value::Pool {
                    tokens: pool.tokens,
                }),
            );
        } else if discriminator == staking::PoolRewardsV0::DISCRIMINATOR {
            let pool_rewards: staking::PoolRewardsV0 = decode(data)?;
            self.pool_commissions
                .insert(pool_rewards.operator, pool_rewards.commission_terms());
        } else {
            return Err("an account of a type the chain view does not read".into());
        }
        Ok(())
    }

    /// The device set ingest checks.
    pub fn device_infos(&self) -> std::collections::HashMap<Key, DeviceInfo> {
        self.devices
            .iter()
            .map(|(key, state)| (Key(key.to_bytes()), state.info()))
            .collect()
    }
}

/// An empty pool and an absent one are the same state.
fn normalize(value: Option<Value>) -> Option<Value> {
    match value {
        Some(Value::Pool { tokens: 0 }) => None,
        other => other,
    }
}

/// Which program emitted an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Program {
    Registry,
    Staking,
    Tokenomics,
    Rewards,
}

impl Program {
    pub const ALL: [Program; 4] = [
        Program::Registry,
        Program::Staking,
        Program::Tokenomics,
        Program::Rewards,
    ];

    pub fn id(self) -> Pubkey {
        match self {
            Program::Registry => device_registry::ID,
            Program::Staking => staking::ID,
            Program::Tokenomics => tokenomics::ID,
            Program::Rewards => reward_epochs::ID,
        }
    }

    pub fn index(self) -> u8 {
        self as u8
    }

    pub fn from_index(index: u8) -> Option<Program> {
        Program::ALL.get(usize::from(index)).copied()
    }
}

/// Every event discriminator of each program, from the IDLs the programs generate: an event
/// the view does not need is skipped only when it is one of these; anything else under a
/// program's name (tampered, or a program newer than this oracle) is refused.
fn known_events(program: Program) -> &'static std::collections::HashSet<[u8; 8]> {
    static KNOWN: std::sync::OnceLock<Vec<std::collections::HashSet<[u8; 8]>>> =
        std::sync::OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        [
            include_str!("../../../idl/device_registry.json"),
            include_str!("../../../idl/staking.json"),
            include_str!("../../../idl/tokenomics.json"),
            include_str!("../../../idl/reward_epochs.json"),
        ]
        .iter()
        .map(|idl| {
            let idl: serde_json::Value = serde_json::from_str(idl).expect("a committed IDL");
            idl["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|event| {
                    let bytes: Vec<u8> = event["discriminator"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|byte| byte.as_u64().and_then(|byte| u8::try_from(byte).ok()))
                        .collect();
                    bytes.try_into().expect("an 8-byte event discriminator")
                })
                .collect()
        })
        .collect()
    });
    &known[usize::from(program.index())]
}

fn decode_as<E: AnchorDeserialize>(data: &[u8]) -> Result<E, String> {
    E::deserialize(&mut &data[8..]).map_err(|error| error.to_string())
}

/// [`decode_as`], refusing bytes left over (a layout that only reads a prefix of the event).
fn decode_exactly<E: AnchorDeserialize>(data: &[u8]) -> Result<E, String> {
    let mut rest = &data[8..];
    let event = E::deserialize(&mut rest).map_err(|error| error.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes left over", rest.len()));
    }
    Ok(event)
}

fn device_write(before: Option<DeviceState>, device: &DeviceV0) -> Write {
    Write {
        entity: Entity::Device(device.device_key),
        before: before.map(Value::Device),
        after: Some(Value::Device(DeviceState::of(device))),
    }
}

/// Decodes one event of `program` (discriminator + borsh). `Ok(None)`: an event the chain
/// view does not need. An event it needs that does not decode is an error.
pub fn decode_event(program: Program, data: &[u8]) -> Result<Option<Decoded>, String> {
    let Some(discriminator) = data.get(..8) else {
        return Err("an event shorter than its discriminator".into());
    };
    if !known_events(program).contains(discriminator) {
        return Err(format!(
            "not an event of {program:?} (discriminator {discriminator:?} is not in its IDL)"
        ));
    }
    let decoded = match program {
        Program::Registry => decode_registry(discriminator, data)?,
        Program::Staking => decode_staking(discriminator, data)?,
        Program::Tokenomics => {
            use tokenomics::events::{CreditsPurchased, EpochEmissionMinted};
            // The books are not needed to follow the chain: an event of them that does not
            // decode (a future layout) is skipped, never a reason to refuse its transaction.
            if discriminator == EpochEmissionMinted::DISCRIMINATOR {
                let Ok(event) = decode_as::<EpochEmissionMinted>(data) else {
                    return Ok(None);
                };
                return Ok(Some(Decoded {
                    unix_timestamp: event.unix_timestamp,
                    writes: Vec::new(),
                    facts: vec![Fact::Ledger(LedgerFact::Minted {
                        epoch: event.epoch,
                        minted: event.minted,
                        supply_after: event.supply_after,
                        minted_total: event.minted_total,
                        burned_total: event.burned_total,
                    })],
                }));
            }
            if discriminator != CreditsPurchased::DISCRIMINATOR {
                return Ok(None);
            }
            let purchase = match decode_as::<CreditsPurchased>(data) {
                Ok(event) => Purchase {
                    unix_timestamp: event.unix_timestamp,
                    network_tokens_burned: event.network_tokens_burned,
                    credits_minted: event.credits_minted,
                    exact: Some(ExactPrice {
                        price: event.price,
                        exponent: event.exponent,
                        usd_per_credit_e9: event.usd_per_credit_e9,
                        token_decimals: event.network_token_decimals,
                    }),
                },
                Err(error) => {
                    let Ok(event) = decode_exactly::<CreditsPurchasedWithoutDecimals>(data) else {
                        return Err(error);
                    };
                    Purchase {
                        unix_timestamp: event.unix_timestamp,
                        network_tokens_burned: event.network_tokens_burned,
                        credits_minted: event.credits_minted,
                        exact: None,
                    }
                }
            };
            Some(Decoded {
                unix_timestamp: purchase.unix_timestamp,
                writes: Vec::new(),
                facts: vec![Fact::CreditsPurchased(purchase)],
            })
        }
        Program::Rewards => {
            use reward_epochs::events::{
                EpochClosed, RewardsClaimed, RootActivated, RootVetoed, RootVoted,
            };
            if discriminator == RewardsClaimed::DISCRIMINATOR {
                let Ok(event) = decode_as::<RewardsClaimed>(data) else {
                    return Ok(None);
                };
                return Ok(Some(Decoded {
                    unix_timestamp: event.unix_timestamp,
                    writes: Vec::new(),
                    facts: vec![Fact::Ledger(LedgerFact::Claimed {
                        total_claimed: event.total_claimed,
                    })],
                }));
            }
            let root = |unix_timestamp: i64, fact: RootFact| {
                Some(Decoded {
                    unix_timestamp,
                    writes: Vec::new(),
                    facts: vec![Fact::Root(fact)],
                })
            };
            if discriminator == RootVoted::DISCRIMINATOR {
                let event: RootVoted = decode_as(data)?;
                return Ok(root(
                    event.unix_timestamp,
                    RootFact::Voted {
                        epoch: event.epoch,
                        oracle: event.oracle,
                        root: event.root,
                        cumulative_total: event.cumulative_total,
                    },
                ));
            }
            if discriminator == RootVetoed::DISCRIMINATOR {
                let event: RootVetoed = decode_as(data)?;
                return Ok(root(
                    event.unix_timestamp,
                    RootFact::Vetoed { epoch: event.epoch },
                ));
            }
            if discriminator == RootActivated::DISCRIMINATOR {
                let event: RootActivated = decode_as(data)?;
                return Ok(root(
                    event.unix_timestamp,
                    RootFact::Activated {
                        epoch: event.epoch,
                        root: event.active_root,
                        cumulative_total: event.active_cumulative_total,
                    },
                ));
            }
            if discriminator != EpochClosed::DISCRIMINATOR {
                return Ok(None);
            }
            let event: EpochClosed = decode_as(data)?;
            Some(Decoded {
                unix_timestamp: event.unix_timestamp,
                writes: Vec::new(),
                facts: vec![Fact::EpochClosed(EpochClose {
                    epoch: event.epoch,
                    closed_at: event.unix_timestamp,
                    minted: event.minted,
                    device_share: event.device_share,
                    staker_share: event.staker_share,
                    treasury_share: event.treasury_share,
                    device_pool_cumulative: event.device_pool_cumulative,
                    devices_bps: event.split.devices_bps,
                    stakers_bps: event.split.stakers_bps,
                    treasury_bps: event.split.treasury_bps,
                })],
            })
        }
    };
    Ok(decoded)
}

fn decode_registry(discriminator: &[u8], data: &[u8]) -> Result<Option<Decoded>, String> {
    use device_registry::events::*;
    let one = |unix_timestamp: i64, write: Write| Decoded {
        unix_timestamp,
        writes: vec![write],
        facts: Vec::new(),
    };
    let decoded = if discriminator == DeviceOnboarded::DISCRIMINATOR {
        let event: DeviceOnboarded = decode_as(data)?;
        one(event.unix_timestamp, device_write(None, &event.device))
    } else if discriminator == LocationAsserted::DISCRIMINATOR {
        let event: LocationAsserted = decode_as(data)?;
        let before = DeviceState {
            location: event.location_before,
            ..DeviceState::of(&event.device)
        };
        one(
            event.unix_timestamp,
            device_write(Some(before), &event.device),
        )
    } else if discriminator == RewardRecipientSet::DISCRIMINATOR {
        let event: RewardRecipientSet = decode_as(data)?;
        let before = DeviceState {
            reward_recipient: event.reward_recipient_before,
            ..DeviceState::of(&event.device)
        };
        one(
            event.unix_timestamp,
            device_write(Some(before), &event.device),
        )
    } else if discriminator == DeviceTransferred::DISCRIMINATOR {
        let event: DeviceTransferred = decode_as(data)?;
        let before = DeviceState {
            operator: event.operator_before,
            reward_recipient: event.reward_recipient_before,
            ..DeviceState::of(&event.device)
        };
        one(
            event.unix_timestamp,
            device_write(Some(before), &event.device),
        )
    } else if discriminator == DeviceStatusChanged::DISCRIMINATOR {
        let event: DeviceStatusChanged = decode_as(data)?;
        let before = DeviceState {
            suspension: (event.status_before == DeviceStatus::Suspended)
                .then_some(event.reason_before),
            ..DeviceState::of(&event.device)
        };
        one(
            event.unix_timestamp,
            device_write(Some(before), &event.device),
        )
    } else if discriminator == ServicePaid::DISCRIMINATOR {
        let event: ServicePaid = decode_as(data)?;
        let before = DeviceState {
            credits_spent: event.credits_spent_before,
            ..DeviceState::of(&event.device)
        };
        Decoded {
            unix_timestamp: event.unix_timestamp,
            writes: vec![device_write(Some(before), &event.device)],
            facts: vec![Fact::ServicePaid {
                device: event.device.device_key,
                credits: event.credits,
            }],
        }
    } else if discriminator == DeviceDeactivated::DISCRIMINATOR {
        let event: DeviceDeactivated = decode_as(data)?;
        one(
            event.unix_timestamp,
            Write {
                entity: Entity::Device(event.device.device_key),
                before: Some(Value::Device(DeviceState::of(&event.device))),
                after: None,
            },
        )
    } else if discriminator == OperatorRegistered::DISCRIMINATOR {
        let event: OperatorRegistered = decode_as(data)?;
        one(
            event.unix_timestamp,
            Write {
                entity: Entity::Operator(event.operator.authority),
                before: None,
                after: Some(Value::Operator {
                    reward_recipient: event.operator.reward_recipient,
                }),
            },
        )
    } else if discriminator == OperatorUpdated::DISCRIMINATOR {
        let event: OperatorUpdated = decode_as(data)?;
        one(
            event.unix_timestamp,
            Write {
                entity: Entity::Operator(event.operator.authority),
                before: Some(Value::Operator {
                    reward_recipient: event.reward_recipient_before,
                }),
                after: Some(Value::Operator {
                    reward_recipient: event.operator.reward_recipient,
                }),
            },
        )
    } else if discriminator == DeviceClassAdded::DISCRIMINATOR {
        let event: DeviceClassAdded = decode_as(data)?;
        one(
            event.unix_timestamp,
            Write {
                entity: Entity::Class(event.device_class.class_id),
                before: None,
                after: Some(Value::Class {
                    reward_weight_bps: event.device_class.reward_weight_bps,
                }),
            },
        )
    } else if discriminator == DeviceClassUpdated::DISCRIMINATOR {
        let event: DeviceClassUpdated = decode_as(data)?;
        one(
            event.unix_timestamp,
            Write {
                entity: Entity::Class(event.device_class.class_id),
                before: Some(Value::Class {
                    reward_weight_bps: event.before.reward_weight_bps,
                }),
                after: Some(Value::Class {
                    reward_weight_bps: event.device_class.reward_weight_bps,
                }),
            },
        )
    } else {
        return Ok(None);
    };
    Ok(Some(decoded))
}

fn pool_write(operator: Pubkey, before: u64, after: u64) -> Write {
    Write {
        entity: Entity::Pool(operator),
        before: (before > 0).then_some(Value::Pool { tokens: before }),
        after: (after > 0).then_some(Value::Pool { tokens: after }),
    }
}

/// The staking events that move tokens in or out of an operator's pool, or set its
/// commission terms.
fn decode_staking(discriminator: &[u8], data: &[u8]) -> Result<Option<Decoded>, String> {
    use staking::events::{CommissionSet, Delegated, OperatorSlashed, Undelegated};
    let mut facts = Vec::new();
    let mut writes = Vec::new();
    let (unix_timestamp, write) = if discriminator == Delegated::DISCRIMINATOR {
        let event: Delegated = decode_as(data)?;
        let before = event
            .pool
            .tokens
            .checked_sub(event.amount)
            .ok_or("a delegation larger than its pool")?;
        let terms = event.pool_rewards.commission_terms();
        writes.push(Write {
            entity: Entity::PoolRewards(event.operator),
            before: (!event.pool_rewards_created).then_some(Value::PoolRewards(terms)),
            after: Some(Value::PoolRewards(terms)),
        });
        (
            event.unix_timestamp,
            pool_write(event.operator, before, event.pool.tokens),
        )
    } else if discriminator == CommissionSet::DISCRIMINATOR {
        let event: CommissionSet = decode_as(data)?;
        (
            event.unix_timestamp,
            Write {
                entity: Entity::PoolRewards(event.operator),
                before: event.before.map(Value::PoolRewards),
                after: Some(Value::PoolRewards(event.pool_rewards.commission_terms())),
            },
        )
    } else if discriminator == Undelegated::DISCRIMINATOR {
        // The position leaves with `amount` (an emptied pool's rounding left-over included).
        let event: Undelegated = decode_as(data)?;
        let before = event
            .pool
            .tokens
            .checked_add(event.amount)
            .ok_or("an undelegation overflowing its pool")?;
        (
            event.unix_timestamp,
            pool_write(event.operator, before, event.pool.tokens),
        )
    } else if discriminator == OperatorSlashed::DISCRIMINATOR {
        let event: OperatorSlashed = decode_as(data)?;
        facts.push(Fact::StakeSlashed {
            operator: event.operator,
        });
        (
            event.unix_timestamp,
            pool_write(event.operator, event.pool_tokens_before, event.pool.tokens),
        )
    } else {
        return Ok(None);
    };
    writes.insert(0, write);
    Ok(Some(Decoded {
        unix_timestamp,
        writes,
        facts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_event_is_known_and_anything_else_refused() {
        for program in Program::ALL {
            assert!(known_events(program).len() >= 8, "{program:?}");
        }
        let suspended = device_registry::events::DeviceStatusChanged::DISCRIMINATOR;
        assert!(known_events(Program::Registry).contains(suspended));
        // A registry event under the staking program's name, and made-up bytes, are refused.
        assert!(decode_event(Program::Staking, suspended).is_err());
        assert!(decode_event(Program::Registry, &[0xEE; 20]).is_err());
        // A root's vote is kept as a fact (what verify-epoch reads from history).
        let vote = reward_epochs::events::RootVoted {
            unix_timestamp: 7,
            epoch: 3,
            oracle: Pubkey::new_from_array([5; 32]),
            root: [6; 32],
            cumulative_total: 99,
            leaf_count: 2,
            dropped_votes: 0,
            resubmitted: false,
            votes: Vec::new(),
            matching_votes: 1,
            disagrees: false,
            reached_quorum: false,
            status: reward_epochs::RootStatus::Voting,
            activates_at: None,
        };
        let mut data = reward_epochs::events::RootVoted::DISCRIMINATOR.to_vec();
        vote.serialize(&mut data).unwrap();
        let decoded = decode_event(Program::Rewards, &data).unwrap().unwrap();
        assert_eq!(
            decoded.facts,
            [Fact::Root(RootFact::Voted {
                epoch: 3,
                oracle: Pubkey::new_from_array([5; 32]),
                root: [6; 32],
                cumulative_total: 99,
            })]
        );
        // A claim whose bytes do not decode (a future layout) is skipped, never refused: the
        // books are not needed to follow the chain.
        let mut short = reward_epochs::events::RewardsClaimed::DISCRIMINATOR.to_vec();
        short.extend_from_slice(&[1, 2, 3]);
        assert_eq!(decode_event(Program::Rewards, &short), Ok(None));
        // A known event the view does not need is skipped.
        let oracles = reward_epochs::events::OracleSetUpdated::DISCRIMINATOR;
        assert_eq!(decode_event(Program::Rewards, oracles), Ok(None));
        // The books: a claim's running total, an epoch mint's supply and totals.
        let claim = reward_epochs::events::RewardsClaimed {
            unix_timestamp: 50,
            recipient: Pubkey::new_from_array([1; 32]),
            payer: Pubkey::new_from_array([2; 32]),
            amount: 7,
            cumulative_amount: 9,
            claimed_before: 2,
            claims: 2,
            root_epoch: 4,
            total_claimed: 1_234,
        };
        let mut data = reward_epochs::events::RewardsClaimed::DISCRIMINATOR.to_vec();
        claim.serialize(&mut data).unwrap();
        let decoded = decode_event(Program::Rewards, &data).unwrap().unwrap();
        assert_eq!(decoded.unix_timestamp, 50);
        assert_eq!(
            decoded.facts,
            [Fact::Ledger(LedgerFact::Claimed {
                total_claimed: 1_234
            })]
        );
        let mint = tokenomics::events::EpochEmissionMinted {
            unix_timestamp: 60,
            epoch: 4,
            scheduled: 100,
            epoch_burn: 3,
            smoothed_burn_before: 1,
            smoothed_burn_after: 2,
            net_emission: 1,
            before_breaker: 101,
            window_headroom: 1_000,
            minted: 101,
            clamped_by_max_supply: false,
            clamped_by_circuit_breaker: false,
            supply_before: 10_000,
            supply_after: 10_101,
            minted_total: 505,
            burned_total: 15,
            next_epoch_to_mint: 5,
        };
        let mut data = tokenomics::events::EpochEmissionMinted::DISCRIMINATOR.to_vec();
        mint.serialize(&mut data).unwrap();
        let decoded = decode_event(Program::Tokenomics, &data).unwrap().unwrap();
        assert_eq!(
            decoded.facts,
            [Fact::Ledger(LedgerFact::Minted {
                epoch: 4,
                minted: 101,
                supply_after: 10_101,
                minted_total: 505,
                burned_total: 15,
            })]
        );
    }

    #[test]
    fn a_ledger_file_reads_back_and_another_format_is_refused() {
        let ledger = EpochLedger {
            epoch: 7,
            minted: Some(1),
            supply_after_mint: Some(2),
            minted_total: Some(3),
            burned_total: None,
            total_claimed: Some(5),
        };
        let bytes = ledger.encode();
        assert!(bytes.starts_with(LEDGER_MAGIC));
        assert_eq!(EpochLedger::decode(&bytes), Ok(ledger));
        assert!(EpochLedger::decode(&bytes[8..]).is_err());
        assert!(EpochLedger::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
