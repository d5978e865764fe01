//! Which state moves operators may make on lines and subscriptions. Each
//! returns the new state, `None` when the entity already stands where asked
//! (the RPCs are idempotent), or why the move is refused.

use crate::domain::{ExchangeError, Line, LineState, SnapshotState, SourceSpec, SubscriptionState};

/// The state a new line starts in: log lines must first set up their
/// publication and slot; pushed and enclave lines stream at once.
pub fn initial_state(source: &SourceSpec) -> LineState {
    match source {
        SourceSpec::Log(_) => LineState::Provisioning,
        SourceSpec::Push(_) | SourceSpec::Enclave(_) => LineState::Streaming,
    }
}

/// A new line's snapshot: pending for log lines that asked for one,
/// skipped otherwise.
pub fn initial_snapshot_state(source: &SourceSpec) -> SnapshotState {
    match source {
        SourceSpec::Log(log) if log.snapshot => SnapshotState::Pending,
        _ => SnapshotState::Skipped,
    }
}

pub fn pause(line: &Line) -> Result<Option<LineState>, ExchangeError> {
    match line.state {
        LineState::Paused => Ok(None),
        _ if line.is_runnable() => Ok(Some(LineState::Paused)),
        state => Err(refused(line, state, "paused")),
    }
}

/// Where a resumed line goes: back to provisioning when its initial snapshot
/// never completed (it must start over from a fresh slot), else streaming
/// from its confirmed position.
pub fn resume(line: &Line, snapshot: SnapshotState) -> Result<Option<LineState>, ExchangeError> {
    match line.state {
        LineState::Paused | LineState::Failed => {
            let unfinished_snapshot = matches!(line.source, SourceSpec::Log(_))
                && !matches!(snapshot, SnapshotState::Completed | SnapshotState::Skipped);
            Ok(Some(if unfinished_snapshot {
                LineState::Provisioning
            } else {
                LineState::Streaming
            }))
        }
        _ if line.is_runnable() => Ok(None),
        state => Err(refused(line, state, "resumed")),
    }
}

/// Deleting is final; it is refused while subscribers still receive the
/// line, unless forced (their subscriptions are then deleted with it).
pub fn delete(
    line: &Line,
    live_subscriptions: usize,
    force: bool,
) -> Result<Option<LineState>, ExchangeError> {
    if line.state == LineState::Deleted {
        return Ok(None);
    }
    if live_subscriptions > 0 && !force {
        return Err(ExchangeError::precondition(format!(
            "line {} has {live_subscriptions} active subscription(s); delete them first or \
             delete with force",
            line.name
        )));
    }
    Ok(Some(LineState::Deleted))
}

/// Only lines that are not deleted can be changed.
pub fn ensure_changeable(line: &Line) -> Result<(), ExchangeError> {
    if line.state == LineState::Deleted {
        return Err(ExchangeError::precondition(format!(
            "line {} is deleted",
            line.name
        )));
    }
    Ok(())
}

fn refused(line: &Line, state: LineState, verb: &str) -> ExchangeError {
    ExchangeError::precondition(format!(
        "line {} is {} and cannot be {verb}",
        line.name,
        state.as_str()
    ))
}

pub fn pause_subscription(
    state: SubscriptionState,
) -> Result<Option<SubscriptionState>, ExchangeError> {
    match state {
        SubscriptionState::Paused => Ok(None),
        SubscriptionState::Active | SubscriptionState::Degraded => {
            Ok(Some(SubscriptionState::Paused))
        }
        final_state => Err(subscription_refused(final_state, "paused")),
    }
}

pub fn resume_subscription(
    state: SubscriptionState,
) -> Result<Option<SubscriptionState>, ExchangeError> {
    match state {
        SubscriptionState::Paused => Ok(Some(SubscriptionState::Active)),
        SubscriptionState::Active | SubscriptionState::Degraded => Ok(None),
        final_state => Err(subscription_refused(final_state, "resumed")),
    }
}

pub fn delete_subscription(state: SubscriptionState) -> Option<SubscriptionState> {
    (state != SubscriptionState::Deleted).then_some(SubscriptionState::Deleted)
}

fn subscription_refused(state: SubscriptionState, verb: &str) -> ExchangeError {
    ExchangeError::precondition(format!(
        "the subscription is {} and cannot be {verb}",
        state.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;
    use zhongtai_kit::TenantId;

    use super::*;
    use crate::domain::{LogSourceSpec, PushSourceSpec};

    fn line(state: LineState, log: bool) -> Line {
        let source = if log {
            SourceSpec::Log(LogSourceSpec {
                connection_ref: "c".into(),
                publication: String::new(),
                slot: String::new(),
                tables: vec![],
                snapshot: true,
                heartbeat_interval_ms: 10_000,
            })
        } else {
            SourceSpec::Push(PushSourceSpec {
                tables: vec![],
                producer_subject: "app".into(),
            })
        };
        Line {
            id: Uuid::nil(),
            owner: TenantId::parse("331100", "").unwrap_or_else(|_| unreachable!()),
            name: "l".into(),
            description: String::new(),
            source,
            state,
            state_reason: String::new(),
            snapshot: Default::default(),
            resource_id: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn runnable_lines_pause_and_paused_ones_stay() {
        for state in [
            LineState::Provisioning,
            LineState::Snapshotting,
            LineState::Streaming,
            LineState::Degraded,
        ] {
            assert_eq!(
                pause(&line(state, true)).ok(),
                Some(Some(LineState::Paused))
            );
        }
        assert_eq!(pause(&line(LineState::Paused, true)).ok(), Some(None));
        assert!(pause(&line(LineState::Failed, true)).is_err());
        assert!(pause(&line(LineState::Deleted, true)).is_err());
    }

    #[test]
    fn resumed_lines_provision_again_only_without_a_finished_snapshot() {
        let paused_log = line(LineState::Paused, true);
        assert_eq!(
            resume(&paused_log, SnapshotState::Running).ok(),
            Some(Some(LineState::Provisioning))
        );
        assert_eq!(
            resume(&paused_log, SnapshotState::Completed).ok(),
            Some(Some(LineState::Streaming))
        );
        assert_eq!(
            resume(&line(LineState::Failed, false), SnapshotState::Skipped).ok(),
            Some(Some(LineState::Streaming))
        );
        assert_eq!(
            resume(&line(LineState::Streaming, true), SnapshotState::Completed).ok(),
            Some(None)
        );
        assert!(resume(&line(LineState::Deleted, true), SnapshotState::Completed).is_err());
    }

    #[test]
    fn deleting_waits_for_subscribers_unless_forced() {
        let streaming = line(LineState::Streaming, false);
        assert!(matches!(
            delete(&streaming, 2, false),
            Err(ExchangeError::Precondition(_))
        ));
        assert_eq!(
            delete(&streaming, 2, true).ok(),
            Some(Some(LineState::Deleted))
        );
        assert_eq!(
            delete(&streaming, 0, false).ok(),
            Some(Some(LineState::Deleted))
        );
        assert_eq!(
            delete(&line(LineState::Deleted, false), 3, false).ok(),
            Some(None)
        );
    }

    #[test]
    fn new_lines_start_by_source_kind() {
        let log = line(LineState::Streaming, true);
        assert_eq!(initial_state(&log.source), LineState::Provisioning);
        assert_eq!(initial_snapshot_state(&log.source), SnapshotState::Pending);
        let push = line(LineState::Streaming, false);
        assert_eq!(initial_state(&push.source), LineState::Streaming);
        assert_eq!(initial_snapshot_state(&push.source), SnapshotState::Skipped);
    }

    #[test]
    fn subscriptions_pause_resume_and_delete() {
        use SubscriptionState::*;
        assert_eq!(pause_subscription(Active).ok(), Some(Some(Paused)));
        assert_eq!(pause_subscription(Paused).ok(), Some(None));
        assert!(pause_subscription(Revoked).is_err());
        assert_eq!(resume_subscription(Paused).ok(), Some(Some(Active)));
        assert_eq!(resume_subscription(Degraded).ok(), Some(None));
        assert!(resume_subscription(Deleted).is_err());
        assert_eq!(delete_subscription(Revoked), Some(Deleted));
        assert_eq!(delete_subscription(Deleted), None);
    }
}
