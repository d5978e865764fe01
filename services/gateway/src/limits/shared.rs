//! Counting calls against the shared counters. Each (app, capability) has
//! one local state behind an async lock: concurrent calls of one key queue
//! on it, so one of them refills a lease while the others wait for it and
//! then spend from it (single flight, no thundering herd).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::gcra::Gcra;
use super::lease::{QuotaLease, RateLease};
use super::store::{self, CounterKey};
use super::window::{WindowSpan, window_at};
use super::{Admission, LimitReason, LimitRefusal, QuotaStanding, RateStanding};
use crate::domain::{CapabilityName, GatewayError, Limits, Quota, QuotaWindow, RateLimit};

/// How long an exhausted quota is refused without asking the database.
const EXHAUSTED_RECHECK: TimeDelta = TimeDelta::seconds(1);

#[derive(Debug, Default)]
struct KeyState {
    rate: Option<RateLease>,
    quotas: HashMap<QuotaWindow, QuotaLease>,
}

type SharedState = Arc<tokio::sync::Mutex<KeyState>>;

/// Rate limits and quotas counted in the shared database.
#[derive(Clone)]
pub struct SharedLimits {
    db: DatabaseConnection,
    keys: Arc<Mutex<HashMap<CounterKey, SharedState>>>,
}

impl SharedLimits {
    /// Limits counted in `db` (migrated with the gateway's schema).
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            keys: Arc::default(),
        }
    }

    /// Counts one call of (app, capability) against `limits`: the rate limit
    /// (GCRA), then each quota of its calendar window (UTC+8 day / month).
    /// Outer Err = storage failure; inner Err = refused (nothing counted).
    pub async fn admit(
        &self,
        app_id: Uuid,
        capability: &CapabilityName,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> Result<Result<Admission, LimitRefusal>, GatewayError> {
        let key = CounterKey {
            app_id,
            capability: capability.as_str().to_owned(),
        };
        let state = self.state(&key);
        let mut state = state.lock().await;
        let quotas = ordered(&limits.quotas);

        let rate = match &limits.rate_limit {
            None => None,
            Some(limit) => match self.take_rate(&mut state, &key, limit, now).await? {
                Ok(standing) => Some(standing),
                Err(retry_after) => {
                    return Ok(Err(LimitRefusal {
                        reason: LimitReason::RateLimited,
                        retry_after,
                        quotas: known_standings(&state, &quotas, now),
                    }));
                }
            },
        };

        let mut standings = Vec::with_capacity(quotas.len());
        for quota in &quotas {
            let taken = self.take_quota(&mut state, &key, quota, now).await;
            match taken {
                Ok(Ok(standing)) => standings.push(standing),
                outcome => {
                    // Nothing is counted for a refused call: what was taken
                    // goes back to this instance's leases.
                    give_back(&mut state, rate.is_some(), &standings);
                    let refused = outcome?.err();
                    let (standing, retry_after) =
                        refused.unwrap_or((standing_of(&state, quota, now), Duration::ZERO));
                    let mut known = standings;
                    known.push(standing);
                    return Ok(Err(LimitRefusal {
                        reason: LimitReason::QuotaExceeded(quota.window),
                        retry_after,
                        quotas: known,
                    }));
                }
            }
        }
        Ok(Ok(Admission {
            rate,
            quotas: standings,
        }))
    }

    /// Current standing per quota (GetUsage), without counting. Calls this
    /// instance leased and has not spent are not counted as used.
    pub async fn usage(
        &self,
        app_id: Uuid,
        capability: &CapabilityName,
        quotas: &[Quota],
        now: DateTime<Utc>,
    ) -> Result<Vec<QuotaStanding>, GatewayError> {
        let key = CounterKey {
            app_id,
            capability: capability.as_str().to_owned(),
        };
        let state = self.state(&key);
        let state = state.lock().await;
        let mut standings = Vec::with_capacity(quotas.len());
        for quota in ordered(quotas) {
            let span = window_at(quota.window, now);
            let shared = store::quota_used(&self.db, &key, quota.window, span.start).await?;
            let held = state
                .quotas
                .get(&quota.window)
                .filter(|lease| lease.window_start == span.start)
                .map_or(0, |lease| lease.unspent);
            standings.push(standing(&quota, span, shared.saturating_sub(held)));
        }
        Ok(standings)
    }

    /// Gives back leased but unspent allowance (graceful shutdown).
    pub async fn release(&self) -> Result<(), GatewayError> {
        let keys: Vec<(CounterKey, SharedState)> = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(key, state)| (key.clone(), state.clone()))
            .collect();
        let now_us = Utc::now().timestamp_micros();
        for (key, state) in keys {
            let mut state = state.lock().await;
            if let Some(lease) = state.rate.as_mut() {
                if lease.unspent > 0 && now_us < lease.valid_until_us {
                    store::return_rate(&self.db, &key, lease.gcra.cost_us(lease.unspent)).await?;
                }
                lease.unspent = 0;
            }
            for (window, lease) in &mut state.quotas {
                if lease.unspent > 0 {
                    store::return_quota(&self.db, &key, *window, lease.window_start, lease.unspent)
                        .await?;
                    lease.shared_used = lease.shared_used.saturating_sub(lease.unspent);
                    lease.unspent = 0;
                }
            }
        }
        Ok(())
    }

    fn state(&self, key: &CounterKey) -> SharedState {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.entry(key.clone()).or_default().clone()
    }

    /// One call of the rate limit: from the lease, else a new lease.
    /// Inner Err = refused, with the wait.
    async fn take_rate(
        &self,
        state: &mut KeyState,
        key: &CounterKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<Result<RateStanding, Duration>, GatewayError> {
        let gcra = Gcra::new(limit);
        let now_us = now.timestamp_micros();
        // A changed limit starts afresh; calls leased under the old one stay
        // counted.
        let lease = match &mut state.rate {
            Some(lease) if lease.gcra == gcra => lease,
            slot => slot.insert(RateLease::new(gcra)),
        };
        if now_us < lease.blocked_until_us {
            return Ok(Err(micros(lease.blocked_until_us - now_us)));
        }
        if !lease.spend(now_us) {
            let mut cells = lease.next_block.clamp(1, gcra.burst);
            loop {
                if let Some(tat) = store::lease_rate(&self.db, key, &gcra, now_us, cells).await? {
                    lease.leased(cells, tat, now_us);
                    break;
                }
                if cells > 1 {
                    cells = 1;
                    continue;
                }
                let tat = store::rate_tat(&self.db, key).await?.unwrap_or(now_us);
                let wait = gcra.retry_after(tat, now_us).max(Duration::from_micros(1));
                lease.next_block = 1;
                lease.tat_us = tat;
                lease.blocked_until_us = now_us.saturating_add(signed_micros(wait));
                return Ok(Err(wait));
            }
        }
        Ok(Ok(RateStanding {
            limit: gcra.burst,
            remaining: gcra
                .available(lease.tat_us, now_us)
                .saturating_add(lease.unspent)
                .min(gcra.burst),
            reset_after: gcra.reset_after(lease.tat_us, now_us),
        }))
    }

    /// One call of a quota: from the lease, else a new lease. Inner Err =
    /// refused, with the standing and the wait (until the window ends).
    async fn take_quota(
        &self,
        state: &mut KeyState,
        key: &CounterKey,
        quota: &Quota,
        now: DateTime<Utc>,
    ) -> Result<Result<QuotaStanding, (QuotaStanding, Duration)>, GatewayError> {
        let span = window_at(quota.window, now);
        let limit = quota.limit;
        // A new window or a changed limit starts afresh; what was leased
        // before stays counted in its own window.
        let lease = state
            .quotas
            .entry(quota.window)
            .and_modify(|lease| {
                if lease.window_start != span.start || lease.limit != limit {
                    *lease = QuotaLease::new(span.start, limit);
                }
            })
            .or_insert_with(|| QuotaLease::new(span.start, limit));
        let until_end = (span.end - now).to_std().unwrap_or(Duration::ZERO);
        if lease.exhausted_until.is_some_and(|until| now < until) {
            return Ok(Err((standing(quota, span, limit), until_end)));
        }
        if lease.unspent > 0 {
            lease.unspent -= 1;
            return Ok(Ok(standing(quota, span, lease.used())));
        }
        let mut count = lease.next_block.clamp(1, limit.max(1));
        loop {
            let leased =
                store::lease_quota(&self.db, key, quota.window, span.start, count, limit).await?;
            if let Some(shared_used) = leased {
                lease.leased(count, shared_used);
                return Ok(Ok(standing(quota, span, lease.used())));
            }
            if count > 1 {
                count = 1;
                continue;
            }
            lease.shared_used = limit;
            lease.next_block = 1;
            lease.exhausted_until = Some((now + EXHAUSTED_RECHECK).min(span.end));
            return Ok(Err((standing(quota, span, limit), until_end)));
        }
    }
}

/// Quotas in window order, at most one per window.
fn ordered(quotas: &[Quota]) -> Vec<Quota> {
    let mut quotas = quotas.to_vec();
    quotas.sort_by_key(|quota| quota.window);
    quotas.dedup_by_key(|quota| quota.window);
    quotas
}

/// Returns the calls taken for a refused call to this instance's leases.
fn give_back(state: &mut KeyState, rate_taken: bool, quotas_taken: &[QuotaStanding]) {
    if rate_taken && let Some(lease) = state.rate.as_mut() {
        lease.unspent += 1;
        lease.leased = lease.leased.max(lease.unspent);
    }
    for taken in quotas_taken {
        if let Some(lease) = state.quotas.get_mut(&taken.window) {
            lease.unspent += 1;
        }
    }
}

fn known_standings(state: &KeyState, quotas: &[Quota], now: DateTime<Utc>) -> Vec<QuotaStanding> {
    quotas
        .iter()
        .filter(|quota| state.quotas.contains_key(&quota.window))
        .map(|quota| standing_of(state, quota, now))
        .collect()
}

fn standing_of(state: &KeyState, quota: &Quota, now: DateTime<Utc>) -> QuotaStanding {
    let span = window_at(quota.window, now);
    let used = state
        .quotas
        .get(&quota.window)
        .filter(|lease| lease.window_start == span.start)
        .map_or(0, QuotaLease::used);
    standing(quota, span, used)
}

fn standing(quota: &Quota, span: WindowSpan, used: u64) -> QuotaStanding {
    let used = used.min(quota.limit);
    QuotaStanding {
        window: quota.window,
        limit: quota.limit,
        used,
        remaining: quota.limit - used,
        window_start: span.start,
        window_end: span.end,
    }
}

fn micros(value: i64) -> Duration {
    Duration::from_micros(u64::try_from(value).unwrap_or(0))
}

fn signed_micros(value: Duration) -> i64 {
    i64::try_from(value.as_micros()).unwrap_or(i64::MAX)
}
