//! sea-orm persistence of certificates and status lists, on PostgreSQL or
//! SQLite, with each change's events and audit record written in its
//! transaction.

pub mod certificates;
pub mod entities;
mod rows;
pub mod status_lists;

/// The service name events and audit records carry.
pub const SOURCE: &str = "certificate";

/// A uniformly random number below `bound` (at least 1): status positions
/// and serial numbers are drawn, so neither reveals the order of issue.
pub fn random_below(bound: u64) -> u64 {
    // 122 random bits reduced modulo a 64-bit bound: the bias is negligible.
    (uuid::Uuid::new_v4().as_u128() % u128::from(bound.max(1))) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_numbers_stay_below_the_bound() {
        assert!((0..1000).all(|_| random_below(7) < 7));
        assert_eq!(random_below(0), 0);
        let draws: std::collections::HashSet<u64> =
            (0..100).map(|_| random_below(1 << 40)).collect();
        assert!(draws.len() > 90, "draws repeat: {}", draws.len());
    }
}
