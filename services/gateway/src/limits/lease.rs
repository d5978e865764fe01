//! Allowance an instance has taken from the shared counters and not spent
//! yet, and how much to take next.
//!
//! Block-size rule: a lease takes at most 1/16 of what the shared counter
//! has left (so near the limit — fewer than 32 left — a block is one call
//! and the limit is exact), at most [`MAX_BLOCK`], and grows only with
//! demand: the first lease is one call, each lease used up doubles the
//! next, and a rate lease that lapses with calls unspent shrinks the next
//! to what was spent. Leased calls count as used by everyone else until
//! spent or given back by `release()`.

use chrono::{DateTime, Utc};

use super::gcra::Gcra;

/// Shortest time a rate lease stays spendable. A lease of k calls stands
/// for k emission intervals; at high rates that is well under a
/// microsecond, and every call would go back to the shared counter. Letting
/// a lease be spent up to 50 ms late can add at most one lease — at most
/// 1/16 of the burst — per instance to a burst, a bounded and documented
/// slack, in exchange for one shared round trip per block at any rate.
pub const RATE_LEASE_FLOOR_US: i64 = 50_000;

/// Largest block of calls leased at once.
pub const MAX_BLOCK: u64 = 100;
/// A lease takes at most 1/`BLOCK_SHARE` of what is left.
const BLOCK_SHARE: u64 = 16;

/// The next block: double the last when it was used up, capped by what is
/// left and [`MAX_BLOCK`].
pub fn next_block(last: u64, spent: u64, left: u64) -> u64 {
    let wanted = if spent >= last {
        last.saturating_mul(2)
    } else {
        spent
    };
    wanted.min(left / BLOCK_SHARE).clamp(1, MAX_BLOCK)
}

/// Rate-limit calls leased by this instance for one key.
#[derive(Debug, Clone)]
pub struct RateLease {
    pub gcra: Gcra,
    /// Leased calls left to spend.
    pub unspent: u64,
    /// Size of the current lease.
    pub leased: u64,
    /// Leased calls are valid only for the time they stand for at the
    /// steady rate, so a late spend cannot add to a later burst.
    pub valid_until_us: i64,
    /// Refused until then: the shared TAT only moves forward.
    pub blocked_until_us: i64,
    /// Shared TAT as last seen.
    pub tat_us: i64,
    pub next_block: u64,
}

impl RateLease {
    pub fn new(gcra: Gcra) -> Self {
        Self {
            gcra,
            unspent: 0,
            leased: 0,
            valid_until_us: 0,
            blocked_until_us: 0,
            tat_us: 0,
            next_block: 1,
        }
    }

    /// Spends a leased call if one is valid at `now_us`; a lapsed lease is
    /// dropped (its calls stay counted) and sizes the next.
    pub fn spend(&mut self, now_us: i64) -> bool {
        if self.unspent > 0 && now_us < self.valid_until_us {
            self.unspent -= 1;
            return true;
        }
        if self.unspent > 0 {
            let spent = self.leased - self.unspent;
            self.next_block = next_block(self.leased, spent, u64::MAX).min(self.gcra.burst);
            self.unspent = 0;
        }
        false
    }

    /// Records a new lease of `cells` (one of them spent now).
    pub fn leased(&mut self, cells: u64, tat_us: i64, now_us: i64) {
        let left = self.gcra.available(tat_us, now_us);
        self.next_block = next_block(cells, cells, left).min(self.gcra.burst);
        self.leased = cells;
        self.unspent = cells.saturating_sub(1);
        self.valid_until_us =
            now_us.saturating_add(self.gcra.cost_us(cells).max(RATE_LEASE_FLOOR_US));
        self.tat_us = tat_us;
    }
}

/// Quota calls leased by this instance for one key and window.
#[derive(Debug, Clone)]
pub struct QuotaLease {
    pub window_start: DateTime<Utc>,
    pub limit: u64,
    pub unspent: u64,
    /// The shared counter as last seen (leases included).
    pub shared_used: u64,
    pub next_block: u64,
    /// Refused without asking until then; short, because `release()` of
    /// another instance can free calls.
    pub exhausted_until: Option<DateTime<Utc>>,
}

impl QuotaLease {
    pub fn new(window_start: DateTime<Utc>, limit: u64) -> Self {
        Self {
            window_start,
            limit,
            unspent: 0,
            shared_used: 0,
            next_block: 1,
            exhausted_until: None,
        }
    }

    /// Calls counted, minus what this instance holds unspent.
    pub fn used(&self) -> u64 {
        self.shared_used
            .saturating_sub(self.unspent)
            .min(self.limit)
    }

    /// Records a new lease of `count` (one of them spent now).
    pub fn leased(&mut self, count: u64, shared_used: u64) {
        self.shared_used = shared_used;
        self.unspent = count.saturating_sub(1);
        self.next_block = next_block(count, count, self.limit.saturating_sub(shared_used));
        self.exhausted_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_grow_with_demand_and_shrink_near_the_limit() {
        assert_eq!(next_block(1, 1, 10_000), 2);
        assert_eq!(next_block(64, 64, 10_000), MAX_BLOCK);
        assert_eq!(next_block(64, 64, 320), 20);
        assert_eq!(next_block(64, 64, 31), 1);
        assert_eq!(next_block(64, 5, 10_000), 5);
        assert_eq!(next_block(8, 0, 10_000), 1);
    }

    #[test]
    fn a_lapsed_rate_lease_is_dropped() {
        let gcra = Gcra {
            interval_us: 1_000,
            burst: 1_000,
        };
        let mut lease = RateLease::new(gcra);
        lease.leased(10, 10_000, 0);
        assert_eq!(lease.unspent, 9);
        assert!(lease.spend(RATE_LEASE_FLOOR_US - 1));
        assert!(!lease.spend(RATE_LEASE_FLOOR_US));
        assert_eq!(lease.unspent, 0);
        // Two of ten were spent (one at lease time): the next lease is two.
        assert_eq!(lease.next_block, 2);
    }
}
