//! The chain view's state model against the real programs' events: a scripted history (every
//! kind of change to devices, operators, classes, pools, payments and purchases) runs through
//! the runtime; its `emit_cpi!` events, decoded by the chain view, take the state read from the
//! accounts before it to the state read from the accounts after it, every event's values
//! before agreeing with the state it applies to; and undone one by one from the end, they pass
//! back through every intermediate state — which is what lets a view started late go back to
//! an epoch's start.

use groundwork_oracle::chainview::model::{decode_event, Decoded, Program};
use groundwork_oracle::chainview::ChainState;
use groundwork_tests::*;

/// The tracked state read from the registry's and staking's accounts (other account types are
/// not tracked).
fn state_from_accounts(network: &StakingNetwork) -> ChainState {
    let mut state = ChainState::default();
    for program in [device_registry::ID, staking::ID] {
        for (_, account) in network.rt.svm.get_program_accounts(&program) {
            let _not_tracked = state.load_account(&account.data);
        }
    }
    state
}

#[test]
fn real_events_apply_forward_and_undo_backward_through_the_same_states() {
    let mut network = StakingNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let initial = state_from_accounts(&network);
    let first_event = network.rt.event_log.len();
    run_history(&mut network);
    let at_end = state_from_accounts(&network);
    assert!(at_end.devices.len() >= 3 && !at_end.pools.is_empty());

    let decoded: Vec<Decoded> = network.rt.event_log[first_event..]
        .iter()
        .filter_map(|event| {
            let program = Program::ALL
                .into_iter()
                .find(|program| program.id() == event.program)?;
            decode_event(program, &event.data).expect("a real event decodes")
        })
        .collect();
    let writes: usize = decoded.iter().map(|event| event.writes.len()).sum();
    assert!(
        writes >= 20,
        "the history changes records ({writes} writes)"
    );

    let mut state = initial.clone();
    let mut states = vec![initial];
    for (index, event) in decoded.iter().enumerate() {
        assert_eq!(
            state.apply(event),
            0,
            "event {index}: its values before differ from the state: {event:?}"
        );
        states.push(state.clone());
    }
    assert_eq!(state, at_end, "the events lead to the accounts' state");
    for (index, event) in decoded.iter().enumerate().rev() {
        state.undo(event);
        assert_eq!(state, states[index], "undoing event {index}");
    }
}
