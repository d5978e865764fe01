//! Reconciliation of one line over one window of source commit time: count
//! and checksum at every hop, compared, naming the hop and the positions
//! where a change went missing, was applied twice, or came late.
//!
//! Hops and what they mean here:
//! - CAPTURED (line level): the changes the journal holds for the window.
//! - PUBLISHED (per subscription): durably accepted downstream, i.e. a
//!   publisher confirm from RabbitMQ, or the enclave apply transaction.
//! - DELIVERED and APPLIED: only for subscriptions applied into an enclave.
//!   A queue subscription's consumer acknowledges to the broker, not to the
//!   exchange center, so its journey visibly ends at PUBLISHED and its
//!   report has no DELIVERED or APPLIED tallies.
//!
//! What a subscription is expected to have: every captured change of the
//! window up to its delivered position (the runner advances that position
//! only once everything below it was accepted) that was committed after the
//! subscription was created or lies above the first change delivered to it
//! in the window. Changes above the delivered position are still on their
//! way.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::change::SetChecksum;

/// Most positions and change ids a discrepancy lists; its count is the
/// total.
pub const MAX_LISTED: usize = 100;

/// The longest window one report covers.
pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The hops a change passes, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hop {
    Captured,
    Published,
    Delivered,
    Applied,
}

/// A captured change as the journal keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedEntry {
    pub change_id: String,
    pub position: u64,
    pub commit_at: DateTime<Utc>,
    pub capture_at: DateTime<Utc>,
    pub content_hash: [u8; 32],
}

/// One change's delivery to one subscription as the journal keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryEntry {
    pub subscription_id: Uuid,
    pub change_id: String,
    pub position: u64,
    pub commit_at: DateTime<Utc>,
    pub filtered_out: bool,
    /// Of the delivered (projected) form.
    pub content_hash: [u8; 32],
    pub published_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub applied_at: Option<DateTime<Utc>>,
    pub attempts: u32,
    /// Applies that changed the subscriber's table.
    pub effects: u32,
}

/// What reconciliation needs to know of a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionScope {
    pub id: Uuid,
    /// Applied into an enclave (so DELIVERED and APPLIED are seen).
    pub applies: bool,
    /// Everything at or below it was accepted downstream.
    pub delivered_position: u64,
    /// Changes committed before may predate it (it starts at the line's
    /// position when created).
    pub created_at: DateTime<Utc>,
    /// Whether the line still delivers to it (not revoked or deleted).
    pub receiving: bool,
}

/// A window of source commit time: start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Why a window cannot be reconciled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("must be after the window start")]
    EndNotAfterStart,
    #[error("a window covers at most 24 hours")]
    TooLong,
    #[error("must not be in the future")]
    InFuture,
}

impl Window {
    /// A window of closed time, at most [`MAX_WINDOW`] long.
    pub fn new(
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Self, WindowError> {
        if end <= start {
            return Err(WindowError::EndNotAfterStart);
        }
        if (end - start).to_std().unwrap_or(Duration::MAX) > MAX_WINDOW {
            return Err(WindowError::TooLong);
        }
        if end > now {
            return Err(WindowError::InFuture);
        }
        Ok(Self { start, end })
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The window of `length` (aligned to the epoch) that holds `at`.
    pub fn aligned(at: DateTime<Utc>, length: Duration) -> Option<Self> {
        let length_ms = i64::try_from(length.as_millis())
            .ok()
            .filter(|ms| *ms > 0)?;
        let start_ms = at.timestamp_millis().div_euclid(length_ms) * length_ms;
        let start = DateTime::from_timestamp_millis(start_ms)?;
        let end = DateTime::from_timestamp_millis(start_ms.checked_add(length_ms)?)?;
        Some(Self { start, end })
    }
}

/// Everything one report is computed from.
#[derive(Debug, Clone)]
pub struct ReconcileInput {
    pub line_id: Uuid,
    pub window: Window,
    pub now: DateTime<Utc>,
    pub late_threshold: Duration,
    /// The line's confirmed source position.
    pub confirmed_position: u64,
    /// Captured changes committed in the window.
    pub captured: Vec<CapturedEntry>,
    /// Deliveries of changes committed in the window, of the subscriptions
    /// below.
    pub deliveries: Vec<DeliveryEntry>,
    /// The subscriptions reported on.
    pub subscriptions: Vec<SubscriptionScope>,
}

/// Count and checksum of one hop.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub hop: Hop,
    /// `None` for CAPTURED.
    pub subscription_id: Option<Uuid>,
    pub count: u64,
    pub checksum: String,
    pub min_position: u64,
    pub max_position: u64,
    /// Changes the subscription's row filter excluded.
    pub filtered_count: u64,
    pub max_lag: Duration,
}

/// Kinds of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscrepancyKind {
    Missing,
    Duplicated,
    Late,
    ChecksumMismatch,
}

/// One finding: what, at which hop, for which subscription, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Discrepancy {
    pub kind: DiscrepancyKind,
    pub hop: Hop,
    pub subscription_id: Option<Uuid>,
    pub count: u64,
    /// At most [`MAX_LISTED`], in source order.
    pub positions: Vec<u64>,
    pub change_ids: Vec<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Balanced,
    Discrepant,
    /// The window is not settled yet; counts may still converge.
    InProgress,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Balanced => "balanced",
            Self::Discrepant => "discrepant",
            Self::InProgress => "in_progress",
        }
    }
}

/// A reconciliation report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub id: Uuid,
    pub line_id: Uuid,
    pub window: Window,
    pub generated_at: DateTime<Utc>,
    pub verdict: Verdict,
    pub tallies: Vec<Tally>,
    pub discrepancies: Vec<Discrepancy>,
    /// Commit to apply (enclave subscriptions) or to publish (queue
    /// subscriptions), over every delivered change.
    pub max_lag: Duration,
    pub p99_lag: Duration,
}

impl Report {
    /// The tally of `hop` for `subscription_id` (`None`: the line's).
    pub fn tally(&self, hop: Hop, subscription_id: Option<Uuid>) -> Option<&Tally> {
        self.tallies
            .iter()
            .find(|t| t.hop == hop && t.subscription_id == subscription_id)
    }
}

/// Collects one hop's tally.
#[derive(Default)]
struct TallyBuilder {
    checksum: SetChecksum,
    min_position: Option<u64>,
    max_position: u64,
    filtered: u64,
    max_lag: Duration,
}

impl TallyBuilder {
    fn add(&mut self, change_id: &str, hash: &[u8; 32], position: u64, lag: Duration) {
        self.checksum.add(change_id, hash);
        self.min_position = Some(self.min_position.map_or(position, |min| min.min(position)));
        self.max_position = self.max_position.max(position);
        self.max_lag = self.max_lag.max(lag);
    }

    fn build(self, hop: Hop, subscription_id: Option<Uuid>) -> Tally {
        Tally {
            hop,
            subscription_id,
            count: self.checksum.count(),
            checksum: self.checksum.hex(),
            min_position: self.min_position.unwrap_or(0),
            max_position: self.max_position,
            filtered_count: self.filtered,
            max_lag: self.max_lag,
        }
    }
}

/// Collects the changes one finding names.
struct Finding {
    kind: DiscrepancyKind,
    hop: Hop,
    subscription_id: Option<Uuid>,
    listed: Vec<(u64, String)>,
    count: u64,
}

impl Finding {
    fn new(kind: DiscrepancyKind, hop: Hop, subscription_id: Option<Uuid>) -> Self {
        Self {
            kind,
            hop,
            subscription_id,
            listed: Vec::new(),
            count: 0,
        }
    }

    fn add(&mut self, position: u64, change_id: &str) {
        self.count += 1;
        self.listed.push((position, change_id.to_owned()));
    }

    fn finish(mut self, what: &str) -> Option<Discrepancy> {
        if self.count == 0 {
            return None;
        }
        self.listed.sort();
        self.listed.truncate(MAX_LISTED);
        let whom = self
            .subscription_id
            .map(|id| format!(" for subscription {id}"))
            .unwrap_or_default();
        Some(Discrepancy {
            kind: self.kind,
            hop: self.hop,
            subscription_id: self.subscription_id,
            count: self.count,
            positions: self.listed.iter().map(|(p, _)| *p).collect(),
            change_ids: self.listed.into_iter().map(|(_, id)| id).collect(),
            detail: format!("{} changes {what}{whom}", self.count),
        })
    }
}

fn lag(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or_default()
}

/// Computes the report of `input`; `id` names it.
pub fn reconcile(input: &ReconcileInput, id: Uuid) -> Report {
    let window = input.window;
    let captured: Vec<&CapturedEntry> = input
        .captured
        .iter()
        .filter(|c| window.contains(c.commit_at))
        .collect();
    let mut tallies = Vec::new();
    let mut discrepancies = Vec::new();
    let mut in_progress = lag(window.end, input.now) < input.late_threshold;

    let mut line_tally = TallyBuilder::default();
    for change in &captured {
        line_tally.add(
            &change.change_id,
            &change.content_hash,
            change.position,
            lag(change.commit_at, change.capture_at),
        );
    }
    tallies.push(line_tally.build(Hop::Captured, None));

    let mut by_subscription: HashMap<Uuid, Vec<&DeliveryEntry>> = HashMap::new();
    for delivery in &input.deliveries {
        if window.contains(delivery.commit_at) {
            by_subscription
                .entry(delivery.subscription_id)
                .or_default()
                .push(delivery);
        }
    }

    let mut lags = Vec::new();
    for subscription in &input.subscriptions {
        let deliveries = by_subscription.remove(&subscription.id).unwrap_or_default();
        let outcome = reconcile_subscription(input, subscription, &captured, &deliveries);
        in_progress |= outcome.in_flight;
        lags.extend(outcome.lags);
        tallies.extend(outcome.tallies);
        discrepancies.extend(outcome.discrepancies);
    }

    lags.sort_unstable();
    let max_lag = lags.last().copied().unwrap_or_default();
    let p99_lag = percentile(&lags, 99);
    let verdict = if in_progress {
        Verdict::InProgress
    } else if discrepancies.is_empty() {
        Verdict::Balanced
    } else {
        Verdict::Discrepant
    };
    Report {
        id,
        line_id: input.line_id,
        window,
        generated_at: input.now,
        verdict,
        tallies,
        discrepancies,
        max_lag,
        p99_lag,
    }
}

/// The nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

struct SubscriptionOutcome {
    tallies: Vec<Tally>,
    discrepancies: Vec<Discrepancy>,
    lags: Vec<Duration>,
    in_flight: bool,
}

fn reconcile_subscription(
    input: &ReconcileInput,
    subscription: &SubscriptionScope,
    captured: &[&CapturedEntry],
    deliveries: &[&DeliveryEntry],
) -> SubscriptionOutcome {
    let id = Some(subscription.id);
    let late = |from: DateTime<Utc>, to: Option<DateTime<Utc>>| {
        to.is_some_and(|to| lag(from, to) > input.late_threshold)
    };
    let mut published = TallyBuilder::default();
    let mut delivered = TallyBuilder::default();
    let mut applied = TallyBuilder::default();
    let mut missing_delivered = Finding::new(DiscrepancyKind::Missing, Hop::Delivered, id);
    let mut missing_applied = Finding::new(DiscrepancyKind::Missing, Hop::Applied, id);
    let mut duplicated = Finding::new(DiscrepancyKind::Duplicated, Hop::Applied, id);
    let mut late_published = Finding::new(DiscrepancyKind::Late, Hop::Published, id);
    let mut late_applied = Finding::new(DiscrepancyKind::Late, Hop::Applied, id);
    let mut lags = Vec::new();
    let mut accounted = HashSet::new();

    for d in deliveries {
        accounted.insert(d.change_id.as_str());
        if d.filtered_out {
            published.filtered += 1;
            delivered.filtered += 1;
            applied.filtered += 1;
            continue;
        }
        let Some(published_at) = d.published_at else {
            continue;
        };
        published.add(
            &d.change_id,
            &d.content_hash,
            d.position,
            lag(d.commit_at, published_at),
        );
        let late_at_publish = late(d.commit_at, d.published_at);
        if late_at_publish {
            late_published.add(d.position, &d.change_id);
        }
        if !subscription.applies {
            lags.push(lag(d.commit_at, published_at));
            continue;
        }
        if let Some(at) = d.delivered_at {
            delivered.add(
                &d.change_id,
                &d.content_hash,
                d.position,
                lag(d.commit_at, at),
            );
        }
        match (d.delivered_at, d.applied_at) {
            (_, Some(at)) => {
                applied.add(
                    &d.change_id,
                    &d.content_hash,
                    d.position,
                    lag(d.commit_at, at),
                );
                lags.push(lag(d.commit_at, at));
                if !late_at_publish && late(d.commit_at, d.applied_at) {
                    late_applied.add(d.position, &d.change_id);
                }
            }
            (None, None) => missing_delivered.add(d.position, &d.change_id),
            (Some(_), None) => missing_applied.add(d.position, &d.change_id),
        }
        if d.effects > 1 {
            duplicated.add(d.position, &d.change_id);
        }
    }

    let first_delivered = deliveries.iter().map(|d| d.position).min();
    let mut missing_published = Finding::new(DiscrepancyKind::Missing, Hop::Published, id);
    let mut in_flight = false;
    if subscription.receiving {
        for change in captured {
            if accounted.contains(change.change_id.as_str()) {
                continue;
            }
            let expected = change.position <= subscription.delivered_position
                && (change.commit_at >= subscription.created_at
                    || first_delivered.is_some_and(|first| first <= change.position));
            if !expected {
                // Not yet delivered to it: still on its way.
                in_flight |= change.position > subscription.delivered_position;
            } else if change.position > input.confirmed_position {
                // Accepted downstream, but the line has not confirmed it
                // yet: its journal entry may still be being written.
                in_flight = true;
            } else {
                missing_published.add(change.position, &change.change_id);
            }
        }
    }

    let mut tallies = vec![published.build(Hop::Published, id)];
    if subscription.applies {
        tallies.push(delivered.build(Hop::Delivered, id));
        tallies.push(applied.build(Hop::Applied, id));
    }
    let mut discrepancies: Vec<Discrepancy> = [
        missing_published.finish("captured but never published"),
        missing_delivered.finish("published but not delivered"),
        missing_applied.finish("delivered but not applied"),
        duplicated.finish("applied more than once with effect"),
        late_published.finish("published later than the lag threshold"),
        late_applied.finish("applied later than the lag threshold"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if subscription.applies {
        let (first, last) = (&tallies[0], &tallies[2]);
        if first.count == last.count && first.checksum != last.checksum {
            discrepancies.push(Discrepancy {
                kind: DiscrepancyKind::ChecksumMismatch,
                hop: Hop::Applied,
                subscription_id: id,
                count: last.count,
                positions: Vec::new(),
                change_ids: Vec::new(),
                detail: format!(
                    "published and applied counts are equal ({}) but their checksums differ for subscription {}",
                    last.count, subscription.id
                ),
            });
        }
    }
    SubscriptionOutcome {
        tallies,
        discrepancies,
        lags,
        in_flight,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    const LATE: Duration = Duration::from_secs(5);

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_770_000_000 + seconds, 0).unwrap_or_default()
    }

    fn captured(position: u64) -> CapturedEntry {
        CapturedEntry {
            change_id: format!("line:{position}:0"),
            position,
            commit_at: at(position as i64),
            capture_at: at(position as i64) + TimeDelta::milliseconds(5),
            content_hash: [position as u8; 32],
        }
    }

    fn delivery(subscription: Uuid, position: u64, applies: bool) -> DeliveryEntry {
        let commit = at(position as i64);
        let ms = |n| Some(commit + TimeDelta::milliseconds(n));
        DeliveryEntry {
            subscription_id: subscription,
            change_id: format!("line:{position}:0"),
            position,
            commit_at: commit,
            filtered_out: false,
            content_hash: [position as u8 + 1; 32],
            published_at: ms(10),
            delivered_at: if applies { ms(11) } else { None },
            applied_at: if applies { ms(12) } else { None },
            attempts: 1,
            effects: u32::from(applies),
        }
    }

    fn scope(id: Uuid, applies: bool, delivered_position: u64) -> SubscriptionScope {
        SubscriptionScope {
            id,
            applies,
            delivered_position,
            created_at: at(-3600),
            receiving: true,
        }
    }

    fn input(positions: u64, applies: bool) -> (ReconcileInput, Uuid) {
        let subscription = Uuid::from_u128(1);
        let input = ReconcileInput {
            line_id: Uuid::from_u128(9),
            window: Window {
                start: at(0),
                end: at(100),
            },
            now: at(1000),
            late_threshold: LATE,
            confirmed_position: positions,
            captured: (1..=positions).map(captured).collect(),
            deliveries: (1..=positions)
                .map(|p| delivery(subscription, p, applies))
                .collect(),
            subscriptions: vec![scope(subscription, applies, positions)],
        };
        (input, subscription)
    }

    #[test]
    fn everything_delivered_balances() {
        let (input, subscription) = input(10, true);
        let report = reconcile(&input, Uuid::nil());
        assert_eq!(
            report.verdict,
            Verdict::Balanced,
            "{:?}",
            report.discrepancies
        );
        let line = report.tally(Hop::Captured, None).unwrap();
        assert_eq!(
            (line.count, line.min_position, line.max_position),
            (10, 1, 10)
        );
        let published = report.tally(Hop::Published, Some(subscription)).unwrap();
        let applied = report.tally(Hop::Applied, Some(subscription)).unwrap();
        assert_eq!(published.count, 10);
        assert_eq!(published.checksum, applied.checksum);
        assert_eq!(report.max_lag, Duration::from_millis(12));
        assert_eq!(report.p99_lag, Duration::from_millis(12));
    }

    #[test]
    fn queue_subscriptions_have_no_delivered_or_applied_tallies() {
        let (input, subscription) = input(3, false);
        let report = reconcile(&input, Uuid::nil());
        assert_eq!(report.verdict, Verdict::Balanced);
        assert!(report.tally(Hop::Published, Some(subscription)).is_some());
        assert!(report.tally(Hop::Applied, Some(subscription)).is_none());
        assert_eq!(report.max_lag, Duration::from_millis(10));
    }

    #[test]
    fn a_missing_delivery_is_named_by_position() {
        let (mut input, subscription) = input(10, false);
        input.deliveries.retain(|d| d.position != 4);
        let report = reconcile(&input, Uuid::nil());
        assert_eq!(report.verdict, Verdict::Discrepant);
        let missing = &report.discrepancies[0];
        assert_eq!(missing.kind, DiscrepancyKind::Missing);
        assert_eq!(missing.hop, Hop::Published);
        assert_eq!(missing.subscription_id, Some(subscription));
        assert_eq!((missing.count, missing.positions.clone()), (1, vec![4]));
    }

    #[test]
    fn changes_before_the_subscription_and_its_first_delivery_are_not_expected() {
        let (mut input, subscription) = input(10, false);
        input.deliveries.retain(|d| d.position > 3);
        input.subscriptions[0].created_at = at(5);
        let report = reconcile(&input, Uuid::nil());
        assert_eq!(
            report.verdict,
            Verdict::Balanced,
            "{:?}",
            report.discrepancies
        );
        assert_eq!(
            report
                .tally(Hop::Published, Some(subscription))
                .unwrap()
                .count,
            7
        );
        input.deliveries.retain(|d| d.position != 5);
        let report = reconcile(&input, Uuid::nil());
        assert_eq!(report.discrepancies[0].positions, vec![5]);
    }

    #[test]
    fn changes_above_the_delivered_position_are_in_flight() {
        let (mut input, subscription) = input(10, false);
        input.deliveries.retain(|d| d.position <= 8);
        input.subscriptions = vec![scope(subscription, false, 8)];
        assert_eq!(reconcile(&input, Uuid::nil()).verdict, Verdict::InProgress);
    }

    #[test]
    fn unconfirmed_changes_are_in_flight_not_missing() {
        let (mut input, _) = input(10, false);
        input.deliveries.retain(|d| d.position != 10);
        input.confirmed_position = 9;
        assert_eq!(reconcile(&input, Uuid::nil()).verdict, Verdict::InProgress);
    }

    #[test]
    fn a_recent_window_is_in_progress() {
        let (mut input, _) = input(3, false);
        input.now = at(101);
        assert_eq!(reconcile(&input, Uuid::nil()).verdict, Verdict::InProgress);
    }

    #[test]
    fn filtered_changes_are_accounted_for() {
        let (mut input, subscription) = input(4, true);
        input.deliveries[1].filtered_out = true;
        input.deliveries[1].published_at = None;
        input.deliveries[1].delivered_at = None;
        input.deliveries[1].applied_at = None;
        let report = reconcile(&input, Uuid::nil());
        assert_eq!(
            report.verdict,
            Verdict::Balanced,
            "{:?}",
            report.discrepancies
        );
        let published = report.tally(Hop::Published, Some(subscription)).unwrap();
        assert_eq!((published.count, published.filtered_count), (3, 1));
    }

    #[test]
    fn a_second_effect_is_a_duplicate() {
        let (mut input, _) = input(3, true);
        input.deliveries[2].effects = 2;
        let report = reconcile(&input, Uuid::nil());
        assert_eq!(report.verdict, Verdict::Discrepant);
        assert_eq!(report.discrepancies[0].kind, DiscrepancyKind::Duplicated);
        assert_eq!(report.discrepancies[0].positions, vec![3]);
    }

    #[test]
    fn late_changes_are_reported_at_the_first_late_hop() {
        let (mut input, _) = input(3, true);
        input.deliveries[0].applied_at =
            Some(input.deliveries[0].commit_at + TimeDelta::seconds(6));
        input.deliveries[1].published_at =
            Some(input.deliveries[1].commit_at + TimeDelta::seconds(7));
        input.deliveries[1].applied_at =
            Some(input.deliveries[1].commit_at + TimeDelta::seconds(8));
        let report = reconcile(&input, Uuid::nil());
        assert_eq!(report.verdict, Verdict::Discrepant);
        let hops: Vec<_> = report
            .discrepancies
            .iter()
            .map(|d| (d.kind, d.hop, d.positions.clone()))
            .collect();
        assert_eq!(
            hops,
            vec![
                (DiscrepancyKind::Late, Hop::Published, vec![2]),
                (DiscrepancyKind::Late, Hop::Applied, vec![1]),
            ]
        );
        assert_eq!(report.max_lag, Duration::from_secs(8));
    }

    #[test]
    fn unapplied_enclave_deliveries_are_missing_at_their_hop() {
        let (mut input, _) = input(3, true);
        input.deliveries[0].applied_at = None;
        input.deliveries[1].applied_at = None;
        input.deliveries[1].delivered_at = None;
        let report = reconcile(&input, Uuid::nil());
        let found: Vec<_> = report
            .discrepancies
            .iter()
            .map(|d| (d.hop, d.positions.clone()))
            .collect();
        assert_eq!(
            found,
            vec![(Hop::Delivered, vec![2]), (Hop::Applied, vec![1])]
        );
    }

    #[test]
    fn at_most_a_hundred_positions_are_listed() {
        let (mut input, _) = input(150, false);
        input.window.end = at(200);
        input.deliveries.clear();
        let report = reconcile(&input, Uuid::nil());
        let missing = &report.discrepancies[0];
        assert_eq!(missing.count, 150);
        assert_eq!(missing.positions.len(), MAX_LISTED);
        assert_eq!(missing.positions[0], 1);
    }

    #[test]
    fn windows_are_closed_and_at_most_a_day() {
        let now = at(100_000);
        assert!(Window::new(at(0), at(10), now).is_ok());
        assert_eq!(
            Window::new(at(10), at(10), now),
            Err(WindowError::EndNotAfterStart)
        );
        assert_eq!(
            Window::new(at(0), at(86_401), now),
            Err(WindowError::TooLong)
        );
        assert_eq!(
            Window::new(at(99_000), at(100_001), now),
            Err(WindowError::InFuture)
        );
        let aligned = Window::aligned(at(61), Duration::from_secs(60)).unwrap();
        assert!(aligned.contains(at(61)));
        assert_eq!((aligned.end - aligned.start).num_seconds(), 60);
    }
}
