//! Tokens already verified, so a client that sends the same bearer token on
//! every call pays for its signature once, not once per call.
//!
//! An entry is only trusted while the token is within its lifetime (the
//! verifier's leeway included) and while the key set it was verified against
//! is the one still loaded: every reload of the set starts a new generation.

use std::collections::HashMap;
use std::sync::Mutex;

use super::caller::Caller;

/// Bytes of tokens held at most; when full the cache starts over, so a
/// working set larger than this simply verifies every call, as without it.
const MAX_HELD_BYTES: usize = 4 * 1024 * 1024;

pub(super) struct VerifiedTokens {
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    entries: HashMap<String, Entry>,
    bytes: usize,
}

struct Entry {
    caller: Caller,
    kid: String,
    /// Seconds since the epoch after which the token no longer verifies.
    valid_until: i64,
    generation: u64,
}

/// A cache hit still to be checked against the key set.
pub(super) struct Hit {
    pub caller: Caller,
    pub kid: String,
    pub generation: u64,
}

impl VerifiedTokens {
    pub fn new() -> Self {
        Self {
            held: Mutex::new(Held::default()),
        }
    }

    /// The caller `token` was verified as, if it is still within its
    /// lifetime at `now`.
    pub fn get(&self, token: &str, now: i64) -> Option<Hit> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let entry = held.entries.get(token)?;
        (now <= entry.valid_until).then(|| Hit {
            caller: entry.caller.clone(),
            kid: entry.kid.clone(),
            generation: entry.generation,
        })
    }

    pub fn insert(
        &self,
        token: &str,
        caller: &Caller,
        kid: &str,
        valid_until: i64,
        generation: u64,
    ) {
        let size = token.len() + kid.len();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.bytes + size > MAX_HELD_BYTES {
            *held = Held::default();
        }
        let entry = Entry {
            caller: caller.clone(),
            kid: kid.to_owned(),
            valid_until,
            generation,
        };
        if held.entries.insert(token.to_owned(), entry).is_none() {
            held.bytes += size;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::tenant::TenantId;

    fn alice() -> Caller {
        Caller {
            subject: "alice".into(),
            tenant: TenantId::parse("331100", "housing-fund").unwrap_or_else(|e| panic!("{e}")),
            roles: BTreeSet::new(),
            cross_tenant_read: Vec::new(),
            token_id: None,
            peer: None,
        }
    }

    #[test]
    fn a_token_is_held_until_it_expires() {
        let cache = VerifiedTokens::new();
        assert!(cache.get("t", 100).is_none());
        cache.insert("t", &alice(), "k1", 200, 3);
        let hit = cache.get("t", 200).unwrap_or_else(|| panic!("held"));
        assert_eq!(hit.caller.subject, "alice");
        assert_eq!((hit.kid.as_str(), hit.generation), ("k1", 3));
        assert!(cache.get("t", 201).is_none(), "expired");
        assert!(cache.get("other", 100).is_none());
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = VerifiedTokens::new();
        let big = "x".repeat(MAX_HELD_BYTES / 2);
        cache.insert(&format!("a{big}"), &alice(), "k", 200, 1);
        cache.insert(&format!("b{big}"), &alice(), "k", 200, 1);
        assert!(cache.get(&format!("a{big}"), 100).is_none(), "dropped");
        assert!(cache.get(&format!("b{big}"), 100).is_some());
    }
}
