//! Group commit: concurrent requests hand their messages to one writer, which commits
//! everything that arrived within a short window in one transaction and then answers each
//! request. Durability is per commit; throughput comes from grouping.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::store::{Store, StoredMessage};

type Reply = oneshot::Sender<Result<(), String>>;

/// Hands batches to the writer task.
#[derive(Clone)]
pub struct CommitQueue {
    sender: mpsc::Sender<(Vec<StoredMessage>, Reply)>,
}

/// Most messages grouped into one transaction.
const MAX_GROUP: usize = 20_000;

impl CommitQueue {
    /// Starts the writer task on `store`.
    pub fn start(store: Store, window: Duration) -> Self {
        let (sender, receiver) = mpsc::channel(1_024);
        tokio::spawn(writer(store, window, receiver));
        CommitQueue { sender }
    }

    /// Commits `messages` durably; returns once they are on disk (or the commit failed).
    pub async fn commit(&self, messages: Vec<StoredMessage>) -> Result<(), String> {
        if messages.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((messages, reply))
            .await
            .map_err(|_| "the commit writer stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the commit writer stopped".to_string())?
    }
}

async fn writer(
    store: Store,
    window: Duration,
    mut receiver: mpsc::Receiver<(Vec<StoredMessage>, Reply)>,
) {
    while let Some(first) = receiver.recv().await {
        let mut group = vec![first];
        let mut count = group[0].0.len();
        let deadline = tokio::time::Instant::now() + window;
        while count < MAX_GROUP {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(next)) => {
                    count += next.0.len();
                    group.push(next);
                }
                _ => break,
            }
        }
        let (batches, replies): (Vec<Vec<StoredMessage>>, Vec<Reply>) = group.into_iter().unzip();
        let messages: Vec<StoredMessage> = batches.into_iter().flatten().collect();
        let outcome = store
            .commit(&messages)
            .await
            .map_err(|error| error.to_string());
        if let Err(error) = &outcome {
            tracing::error!(%error, messages = messages.len(), "commit failed");
        }
        for reply in replies {
            let _ = reply.send(outcome.clone());
        }
    }
}
