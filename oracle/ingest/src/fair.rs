//! The global bound on signature work, shared fairly between sources (SPEC 4.2).
//!
//! Signatures are verified in turns (at most [`QUANTUM`] each). At most `capacity` signatures
//! are being verified at once; turns beyond wait and are granted by deficit round robin over
//! the sources that have turns waiting: each source, in its round, may start turns worth up
//! to [`QUANTUM`] signatures (a source with many single-message requests gets as many of them
//! through per round as one with a 1,000-message batch gets signatures). A source flooding
//! the oracle therefore waits behind its own backlog; every other source's next turn starts
//! within one round — the sources with work waiting times [`QUANTUM`] signatures — however
//! deep the flood's backlog is. Memory holds an entry per source only while it has turns
//! waiting.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// The most signatures a turn holds, and the share each waiting source gets per round.
pub const QUANTUM: usize = 64;

/// The bound and its queues.
pub struct FairShare {
    state: Arc<Mutex<State>>,
}

struct State {
    /// Signatures that may start now.
    available: usize,
    capacity: usize,
    /// Sources with turns waiting, in round-robin order.
    rounds: VecDeque<IpAddr>,
    waiting: HashMap<IpAddr, SourceTurns>,
}

#[derive(Default)]
struct SourceTurns {
    /// Signatures this source may still start in its current round.
    deficit: usize,
    /// Whether its current round's share was added.
    topped_up: bool,
    turns: VecDeque<(usize, oneshot::Sender<()>)>,
}

/// Signatures being verified; their capacity returns when it is dropped.
pub struct TurnPermit {
    state: Arc<Mutex<State>>,
    signatures: usize,
}

impl Drop for TurnPermit {
    fn drop(&mut self) {
        let mut state = self.state.lock().expect("fair share lock");
        state.available += self.signatures;
        state.dispatch();
    }
}

impl FairShare {
    /// At most `capacity` signatures verified at once (at least one turn's worth).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(QUANTUM);
        FairShare {
            state: Arc::new(Mutex::new(State {
                available: capacity,
                capacity,
                rounds: VecDeque::new(),
                waiting: HashMap::new(),
            })),
        }
    }

    /// Waits for `source`'s turn to verify `signatures` (at most [`QUANTUM`]; more is
    /// counted as [`QUANTUM`]). A turn dropped while waiting gives its place back.
    pub async fn turn(&self, source: IpAddr, signatures: usize) -> TurnPermit {
        let signatures = signatures.clamp(1, QUANTUM);
        let granted = {
            let mut state = self.state.lock().expect("fair share lock");
            if state.waiting.is_empty() && state.available >= signatures {
                state.available -= signatures;
                None
            } else {
                let (sender, receiver) = oneshot::channel();
                if !state.waiting.contains_key(&source) {
                    state.rounds.push_back(source);
                }
                state
                    .waiting
                    .entry(source)
                    .or_default()
                    .turns
                    .push_back((signatures, sender));
                state.dispatch();
                Some(receiver)
            }
        };
        if let Some(receiver) = granted {
            // The sender is dropped only after sending (or with the whole bound).
            receiver.await.expect("a waiting turn is always granted");
        }
        TurnPermit {
            state: self.state.clone(),
            signatures,
        }
    }

    /// Signatures that may start now (for tests and metrics).
    pub fn available(&self) -> usize {
        self.state.lock().expect("fair share lock").available
    }

    /// Sources with turns waiting.
    pub fn sources_waiting(&self) -> usize {
        self.state.lock().expect("fair share lock").waiting.len()
    }
}

impl State {
    /// Starts waiting turns, source by source in round-robin order, while capacity lasts.
    fn dispatch(&mut self) {
        debug_assert!(self.available <= self.capacity);
        while let Some(&source) = self.rounds.front() {
            let queue = self
                .waiting
                .get_mut(&source)
                .expect("a source in rounds waits");
            if !queue.topped_up {
                queue.deficit += QUANTUM;
                queue.topped_up = true;
            }
            while let Some((signatures, _)) = queue.turns.front() {
                let signatures = *signatures;
                if signatures > queue.deficit {
                    break;
                }
                if signatures > self.available {
                    // Out of capacity: this source goes on when a permit returns.
                    return;
                }
                let (_, sender) = queue.turns.pop_front().expect("looked at");
                queue.deficit -= signatures;
                if sender.send(()).is_ok() {
                    self.available -= signatures;
                }
            }
            self.rounds.pop_front();
            if queue.turns.is_empty() {
                self.waiting.remove(&source);
            } else {
                queue.topped_up = false;
                self.rounds.push_back(source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn source(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[tokio::test]
    async fn another_source_starts_within_one_round_of_a_flood() {
        let share = Arc::new(FairShare::new(2 * QUANTUM));
        // The flood holds the whole capacity and has 100 more turns waiting.
        let held = vec![
            share.turn(source(1), QUANTUM).await,
            share.turn(source(1), QUANTUM).await,
        ];
        assert_eq!(share.available(), 0);
        let started = Arc::new(Mutex::new(Vec::<(u8, usize)>::new()));
        let mut tasks = tokio::task::JoinSet::new();
        let spawn_turn = |tasks: &mut tokio::task::JoinSet<()>, from: u8, number: usize| {
            let (share, started) = (share.clone(), started.clone());
            tasks.spawn(async move {
                let permit = share.turn(source(from), QUANTUM).await;
                started.lock().unwrap().push((from, number));
                tokio::time::sleep(Duration::from_millis(2)).await;
                drop(permit);
            });
        };
        for number in 0..100 {
            spawn_turn(&mut tasks, 1, number);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        // An honest source asks after the flood's backlog is queued.
        spawn_turn(&mut tasks, 2, 0);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(share.sources_waiting(), 2);
        drop(held);
        while tasks.join_next().await.is_some() {}
        let started = started.lock().unwrap().clone();
        let honest_at = started.iter().position(|(from, _)| *from == 2).unwrap();
        // Round robin: the flood's first turn, then the honest source's.
        assert!(honest_at <= 2, "started {honest_at}th: {started:?}");
        assert_eq!(started.len(), 101);
        assert_eq!(share.available(), 2 * QUANTUM);
        assert_eq!(share.sources_waiting(), 0);
    }

    #[tokio::test]
    async fn a_round_lets_a_source_start_many_small_turns() {
        let share = Arc::new(FairShare::new(QUANTUM));
        let held = share.turn(source(1), QUANTUM).await;
        let mut waiting = tokio::task::JoinSet::new();
        // The flood queues a full turn; the honest source queues 64 single signatures.
        let flood = share.clone();
        waiting.spawn(async move { (1u8, flood.turn(source(1), QUANTUM).await) });
        tokio::time::sleep(Duration::from_millis(10)).await;
        for _ in 0..QUANTUM {
            let share = share.clone();
            waiting.spawn(async move { (2u8, share.turn(source(2), 1).await) });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(held);
        // The flood's turn (first in the round) takes the capacity; when it returns, all 64
        // single signatures start together in the honest source's round.
        let (first, permit) = waiting.join_next().await.unwrap().unwrap();
        assert_eq!(first, 1);
        assert_eq!(share.available(), 0);
        drop(permit);
        let mut honest = Vec::new();
        while let Some(joined) = waiting.join_next().await {
            let (from, permit) = joined.unwrap();
            assert_eq!(from, 2);
            honest.push(permit);
        }
        assert_eq!(honest.len(), QUANTUM);
        assert_eq!(share.available(), 0);
        drop(honest);
        assert_eq!(share.available(), QUANTUM);
    }

    #[tokio::test]
    async fn a_turn_given_up_while_waiting_returns_its_place() {
        let share = Arc::new(FairShare::new(QUANTUM));
        let held = share.turn(source(1), QUANTUM).await;
        let abandoned = {
            let share = share.clone();
            tokio::spawn(async move {
                let _permit = share.turn(source(2), QUANTUM).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        abandoned.abort();
        let _ = abandoned.await;
        drop(held);
        assert_eq!(share.available(), QUANTUM);
        assert_eq!(share.sources_waiting(), 0);
        let again = share.turn(source(3), 10).await;
        assert_eq!(share.available(), QUANTUM - 10);
        drop(again);
    }
}
