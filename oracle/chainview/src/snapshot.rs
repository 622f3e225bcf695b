//! Building an epoch's chain snapshot (its types: `groundwork_oracle_rewards::snapshot`) from
//! the chain view's state at the epoch's start and the events of the epoch.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
pub use groundwork_oracle_rewards::snapshot::*;

use crate::model::{ChainState, Decoded, DeviceState, Entity, Fact, Purchase, Value};

/// The pool rewards account of `operator`: its pool's recipient in the reward tree.
pub fn pool_rewards_address(operator: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[staking::state::seeds::POOL_REWARDS, operator.as_ref()],
        &staking::ID,
    )
    .0
}

fn standing_of(state: Option<&DeviceState>) -> Standing {
    match state {
        None => Standing::Absent,
        Some(DeviceState {
            suspension: Some(reason),
            ..
        }) => Standing::Suspended { reason: *reason },
        Some(_) => Standing::Active,
    }
}

struct DeviceTrack {
    /// Its last state while onboarded.
    last_present: Option<DeviceState>,
    standing: Vec<StandingSpan>,
    locations: Vec<LocationSpan>,
    credits_paid: u64,
}

impl DeviceTrack {
    fn record(&mut self, ts: i64, after: Option<DeviceState>) {
        let standing = standing_of(after.as_ref());
        if self.standing.last().map(|span| span.standing) != Some(standing) {
            self.standing.push(StandingSpan {
                from_ts: ts,
                standing,
            });
        }
        if let Some(state) = after {
            if self.locations.last().map(|span| span.cell) != Some(state.location) {
                self.locations.push(LocationSpan {
                    from_ts: ts,
                    cell: state.location,
                });
            }
            self.last_present = Some(state);
        }
    }
}

/// The snapshot of epoch `close.epoch` covering `[start_ts, end_ts)`, from the state at
/// `start_ts` (every event before it applied, none after), the last credit purchase before
/// `start_ts`, and the events with `start_ts <= time < end_ts` in chain order.
pub fn build<'a>(
    start_ts: i64,
    end_ts: i64,
    at_start: &ChainState,
    purchase_before: Option<Purchase>,
    events: impl IntoIterator<Item = &'a Decoded>,
    close: &EpochClose,
) -> Result<ChainSnapshot, String> {
    // What is read as of the end besides the devices (tracked below): operators and classes,
    // small next to the devices, so only they are copied.
    let mut state = ChainState {
        operators: at_start.operators.clone(),
        classes: at_start.classes.clone(),
        ..ChainState::default()
    };
    let mut tracks: BTreeMap<Pubkey, DeviceTrack> = at_start
        .devices
        .iter()
        .map(|(key, device)| {
            (
                *key,
                DeviceTrack {
                    last_present: Some(*device),
                    standing: vec![StandingSpan {
                        from_ts: start_ts,
                        standing: standing_of(Some(device)),
                    }],
                    locations: vec![LocationSpan {
                        from_ts: start_ts,
                        cell: device.location,
                    }],
                    credits_paid: 0,
                },
            )
        })
        .collect();
    let mut active_stake: BTreeMap<Pubkey, u64> = at_start.pools.clone();
    let mut purchases: Vec<Purchase> = Vec::new();
    for event in events {
        let ts = event.unix_timestamp;
        if ts < start_ts || ts >= end_ts {
            return Err(format!(
                "an event at {ts} outside epoch {} [{start_ts}, {end_ts})",
                close.epoch
            ));
        }
        for write in &event.writes {
            if matches!(write.entity, Entity::Operator(_) | Entity::Class(_)) {
                state.set(&write.entity, write.after);
            }
            match (&write.entity, write.after) {
                (Entity::Device(key), after) => {
                    let after = match after {
                        Some(Value::Device(device)) => Some(device),
                        _ => None,
                    };
                    let track = tracks.entry(*key).or_insert_with(|| DeviceTrack {
                        last_present: None,
                        standing: vec![StandingSpan {
                            from_ts: start_ts,
                            standing: Standing::Absent,
                        }],
                        locations: Vec::new(),
                        credits_paid: 0,
                    });
                    track.record(ts, after);
                }
                (Entity::Pool(operator), after) => {
                    let tokens_of = |value: Option<Value>| match value {
                        Some(Value::Pool { tokens }) => tokens,
                        _ => 0,
                    };
                    let (before, after) = (tokens_of(write.before), tokens_of(after));
                    let slashed = event.facts.iter().any(|fact| {
                        matches!(fact, Fact::StakeSlashed { operator: slashed } if slashed == operator)
                    });
                    let active = active_stake.entry(*operator).or_insert(0);
                    *active = if slashed && before > 0 {
                        // Every member loses the same fraction: so does the active part.
                        u64::try_from(u128::from(*active) * u128::from(after) / u128::from(before))
                            .map_err(|_| format!("the active stake of {operator} overflows"))?
                    } else {
                        (*active).min(after)
                    };
                }
                _ => {}
            }
        }
        for fact in &event.facts {
            match fact {
                Fact::ServicePaid { device, credits } => {
                    if let Some(track) = tracks.get_mut(device) {
                        track.credits_paid = track
                            .credits_paid
                            .checked_add(*credits)
                            .ok_or_else(|| format!("credits paid to {device} overflow a u64"))?;
                    }
                }
                Fact::CreditsPurchased(bought) => purchases.push(*bought),
                Fact::EpochClosed(_)
                | Fact::StakeSlashed { .. }
                | Fact::Root(_)
                | Fact::Ledger(_) => {}
            }
        }
    }
    // Operators registered, and pools (a pool's operator may not be registered).
    let mut operators: BTreeMap<Pubkey, OperatorEntry> = BTreeMap::new();
    for (operator, recipient) in &state.operators {
        operators.insert(
            *operator,
            OperatorEntry {
                operator: *operator,
                reward_recipient: Some(*recipient),
                active_stake: 0,
                pool: None,
            },
        );
    }
    for (operator, active) in active_stake {
        if active == 0 {
            continue;
        }
        operators
            .entry(operator)
            .or_insert(OperatorEntry {
                operator,
                reward_recipient: None,
                active_stake: 0,
                pool: None,
            })
            .active_stake = active;
    }
    // Each pool's commission in force at the epoch's start (a change made during the epoch
    // counts from a later one).
    for (operator, terms) in &at_start.pool_commissions {
        if let Some(entry) = operators.get_mut(operator) {
            entry.pool = Some(PoolEntry {
                rewards_account: pool_rewards_address(operator),
                commission_bps: terms.commission_for(close.epoch),
            });
        }
    }
    let devices = tracks
        .into_iter()
        .filter_map(|(device, track)| {
            let device_state = track.last_present?;
            Some(DeviceEntry {
                device,
                operator: device_state.operator,
                class_id: device_state.class_id,
                reward_recipient: device_state.reward_recipient,
                onboarded_at: device_state.onboarded_at,
                standing: track.standing,
                locations: track.locations,
                credits_paid: track.credits_paid,
            })
        })
        .collect();
    Ok(ChainSnapshot {
        version: SNAPSHOT_VERSION,
        epoch: close.epoch,
        start_ts,
        end_ts,
        params: *close,
        // The epoch's purchases; none: the last before it.
        credit_prices: if purchases.is_empty() {
            purchase_before.into_iter().collect()
        } else {
            purchases
        }
        .into_iter()
        .map(|bought| CreditPrice {
            purchased_at: bought.unix_timestamp,
            network_tokens_burned: bought.network_tokens_burned,
            credits_minted: bought.credits_minted,
            exact: bought.exact,
        })
        .collect(),
        classes: state
            .classes
            .iter()
            .map(|(class_id, weight)| ClassEntry {
                class_id: *class_id,
                reward_weight_bps: *weight,
            })
            .collect(),
        operators: operators.into_values().collect(),
        devices,
    })
}
