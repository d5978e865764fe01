//! The status lists in memory, so an online verification reads its bits
//! without a database round trip. Each instance loads them at start,
//! replaces a list at once after its own changes, and re-reads lists whose
//! version moved on (changed by another instance) every refresh interval.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};

use super::domain::lists::{ListPurpose, ListSnapshot, PublishedList};
use super::domain::verdict::StatusBits;
use crate::shared::StatusEntry;

/// A published list is signed afresh once less than this is left of its
/// cache period, so what verifiers get stays cacheable for a while.
const REPUBLISH_BEFORE_EXPIRY: Duration = Duration::minutes(1);

/// Every list's newest known version, and its published form.
#[derive(Default)]
pub struct StatusBoard {
    lists: RwLock<HashMap<String, Arc<ListSnapshot>>>,
    published: RwLock<HashMap<String, Arc<PublishedList>>>,
}

impl StatusBoard {
    /// The entry's bits; `None` when its group's lists are not known here
    /// yet (opened by another instance since the last refresh).
    pub fn bits(&self, entry: &StatusEntry) -> Option<StatusBits> {
        let lists = self.read();
        let revocation = lists.get(&ListPurpose::Revocation.list_id(&entry.group))?;
        let suspension = lists.get(&ListPurpose::Suspension.list_id(&entry.group))?;
        Some(StatusBits {
            revoked: revocation.is_set(entry.index),
            suspended: suspension.is_set(entry.index),
        })
    }

    /// Keeps `snapshot` unless a version at least as new is known: a
    /// snapshot holds every bit of its version, so newer ones replace
    /// older ones whole, in any order.
    pub fn apply(&self, snapshot: ListSnapshot) {
        let mut lists = self
            .lists
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let newer = lists
            .get(&snapshot.id)
            .is_none_or(|known| known.version < snapshot.version);
        if newer {
            lists.insert(snapshot.id.clone(), Arc::new(snapshot));
        }
    }

    pub fn version(&self, id: &str) -> Option<i64> {
        self.read().get(id).map(|list| list.version)
    }

    pub fn snapshot(&self, id: &str) -> Option<Arc<ListSnapshot>> {
        self.read().get(id).cloned()
    }

    /// The published form of `id` at `version`, while still worth handing
    /// out at `now`.
    pub fn published(
        &self,
        id: &str,
        version: i64,
        now: DateTime<Utc>,
    ) -> Option<Arc<PublishedList>> {
        self.published
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .filter(|list| {
                list.version == version && list.valid_until - REPUBLISH_BEFORE_EXPIRY > now
            })
            .cloned()
    }

    pub fn keep_published(&self, list: PublishedList) -> Arc<PublishedList> {
        let list = Arc::new(list);
        let mut published = self
            .published
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let newer = published
            .get(&list.id)
            .is_none_or(|known| known.version <= list.version);
        if newer {
            published.insert(list.id.clone(), list.clone());
        }
        list
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<ListSnapshot>>> {
        self.lists
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use zhongtai_credential::SigningKey;

    use super::*;
    use crate::certificates::domain::lists::{GROUP_SIZE, publish};

    fn snapshot(purpose: ListPurpose, version: i64, set: &[u64]) -> ListSnapshot {
        ListSnapshot::with_set_bits(
            "1",
            purpose,
            version,
            Utc::now(),
            GROUP_SIZE,
            set.iter().copied(),
        )
        .unwrap()
    }

    #[test]
    fn bits_come_from_the_newest_version_of_each_list() {
        let board = StatusBoard::default();
        let entry = StatusEntry {
            group: "1".into(),
            index: 5,
        };
        assert_eq!(board.bits(&entry), None);
        board.apply(snapshot(ListPurpose::Revocation, 1, &[]));
        board.apply(snapshot(ListPurpose::Suspension, 1, &[]));
        assert_eq!(board.bits(&entry), Some(StatusBits::default()));
        board.apply(snapshot(ListPurpose::Revocation, 3, &[5]));
        // An older version arriving late (a slow refresh) is ignored.
        board.apply(snapshot(ListPurpose::Revocation, 2, &[]));
        assert_eq!(
            board.bits(&entry),
            Some(StatusBits {
                revoked: true,
                suspended: false
            })
        );
        assert_eq!(board.version("1-revocation"), Some(3));
        assert_eq!(board.snapshot("1-suspension").map(|s| s.version), Some(1));
    }

    #[test]
    fn published_lists_are_reused_for_their_version_only() {
        let board = StatusBoard::default();
        let (key, _) = SigningKey::generate("p").unwrap();
        let now = Utc::now();
        let list = snapshot(ListPurpose::Revocation, 2, &[1]);
        board.keep_published(publish(&list, &key, now));
        assert!(board.published("1-revocation", 2, now).is_some());
        assert!(board.published("1-revocation", 3, now).is_none());
        assert!(
            board
                .published(
                    "1-revocation",
                    2,
                    now + Duration::minutes(4) + Duration::seconds(1)
                )
                .is_none()
        );
    }
}
