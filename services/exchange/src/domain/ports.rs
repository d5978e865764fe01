//! What the domain needs from storage. The store module implements it.

use async_trait::async_trait;
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, TenantScope};

use super::error::ExchangeError;
use super::line::{Line, LineState};

/// Which lines a list returns.
#[derive(Debug, Clone, Default)]
pub struct LineFilter {
    /// Only lines in one of these states; empty means every state but
    /// [`LineState::Deleted`].
    pub states: Vec<LineState>,
    /// Only lines feeding this catalog resource.
    pub resource_id: Option<Uuid>,
}

impl LineFilter {
    /// The states a line must be in to be listed.
    pub fn wanted_states(&self) -> Vec<LineState> {
        if self.states.is_empty() {
            LineState::ALL
                .into_iter()
                .filter(|state| *state != LineState::Deleted)
                .collect()
        } else {
            self.states.clone()
        }
    }
}

/// Persistence of exchange lines.
#[async_trait]
pub trait LineRepository: Send + Sync + 'static {
    /// Lines in id (creation) order.
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &LineFilter,
        page: &PageQuery,
    ) -> Result<Page<Line>, ExchangeError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_states_means_all_but_deleted() {
        let wanted = LineFilter::default().wanted_states();
        assert_eq!(wanted.len(), LineState::ALL.len() - 1);
        assert!(!wanted.contains(&LineState::Deleted));
    }

    #[test]
    fn named_states_are_taken_as_given() {
        let filter = LineFilter {
            states: vec![LineState::Deleted, LineState::Failed],
            resource_id: None,
        };
        assert_eq!(
            filter.wanted_states(),
            [LineState::Deleted, LineState::Failed]
        );
    }
}
