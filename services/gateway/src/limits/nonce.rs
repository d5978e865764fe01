//! Replay protection: each (app key, nonce) is accepted once while its
//! timestamp could still pass the skew check, on whichever instance.
//!
//! Claims made at the same moment are written together: one multi-row
//! `INSERT … ON CONFLICT DO NOTHING RETURNING` answers for all of them, so
//! under load the shared table costs one round trip per batch instead of
//! one per request, and a lone claim waits for nothing but its own write.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

use super::store;
use crate::domain::GatewayError;

/// Longest app key stored (the column's width).
const MAX_APP_KEY_LEN: usize = 64;
/// Longest nonce stored (the column's width).
const MAX_NONCE_LEN: usize = 128;
/// Most claims written by one statement (three parameters each, within
/// SQLite's limit).
const MAX_BATCH: usize = 256;
/// Claims waiting for their batch before callers wait to enqueue.
const QUEUE: usize = 8192;

struct Claim {
    app_key: String,
    nonce: String,
    expires_at: DateTime<Utc>,
    answer: oneshot::Sender<Result<bool, GatewayError>>,
}

/// Nonces seen, shared by every instance through the database.
#[derive(Clone)]
pub struct NonceStore {
    db: DatabaseConnection,
    claims: mpsc::Sender<Claim>,
}

impl NonceStore {
    /// Nonces kept in `db` (migrated with the gateway's schema). Starts the
    /// writer on the current Tokio runtime; it ends with the last clone.
    pub fn new(db: DatabaseConnection) -> Self {
        let (claims, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(db.clone(), queue));
        Self { db, claims }
    }

    /// True when (app_key, nonce) was not seen before (and is now remembered
    /// until expires_at); false = replay. Atomic across instances: the
    /// pair's primary key decides.
    pub async fn claim(
        &self,
        app_key: &str,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, GatewayError> {
        if app_key.is_empty() || app_key.len() > MAX_APP_KEY_LEN {
            return Err(GatewayError::invalid(
                "app_key",
                format!("must be 1..={MAX_APP_KEY_LEN} bytes"),
            ));
        }
        if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
            return Err(GatewayError::invalid(
                "nonce",
                format!("must be 1..={MAX_NONCE_LEN} bytes"),
            ));
        }
        let (answer, answered) = oneshot::channel();
        let claim = Claim {
            app_key: app_key.to_string(),
            nonce: nonce.to_string(),
            expires_at,
            answer,
        };
        let stopped = || GatewayError::Storage("the nonce writer has stopped".into());
        self.claims.send(claim).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    /// Forgets expired nonces; returns how many.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<u64, GatewayError> {
        store::delete_expired_nonces(&self.db, now).await
    }
}

/// Takes what is waiting (at least one claim), writes it as one batch,
/// answers each claim, and again.
async fn write_batches(db: DatabaseConnection, mut queue: mpsc::Receiver<Claim>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(claim) => batch.push(claim),
                Err(_) => break,
            }
        }
        answer(&db, batch).await;
    }
}

async fn answer(db: &DatabaseConnection, batch: Vec<Claim>) {
    // A pair twice in one batch: the first is the claim, the others replays.
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(batch.len());
    let firsts: Vec<bool> = batch
        .iter()
        .map(|claim| {
            let first = seen.insert((claim.app_key.clone(), claim.nonce.clone()));
            if first {
                rows.push((claim.app_key.clone(), claim.nonce.clone(), claim.expires_at));
            }
            first
        })
        .collect();
    match store::insert_nonces(db, &rows).await {
        Ok(fresh) => {
            for (claim, first) in batch.into_iter().zip(firsts) {
                let new = first && fresh.contains(&(claim.app_key, claim.nonce));
                let _ = claim.answer.send(Ok(new));
            }
        }
        Err(e) => {
            for claim in batch {
                let _ = claim.answer.send(Err(GatewayError::Storage(e.to_string())));
            }
        }
    }
}
