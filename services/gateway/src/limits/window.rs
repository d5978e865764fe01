//! Calendar windows of quotas, in the platform's time zone (UTC+8): a day
//! starts at 00:00 in Beijing (16:00 UTC the day before), a month at 00:00
//! on its first day.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, TimeDelta, Utc};

use crate::domain::QuotaWindow;

/// Hours the platform's time zone is ahead of UTC.
const PLATFORM_OFFSET_HOURS: i64 = 8;

/// One calendar window: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpan {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The window of kind `window` that contains `now`.
pub fn window_at(window: QuotaWindow, now: DateTime<Utc>) -> WindowSpan {
    let offset = TimeDelta::hours(PLATFORM_OFFSET_HOURS);
    let local_date = (now.naive_utc() + offset).date();
    let (first, next) = match window {
        QuotaWindow::Day => (local_date, local_date.checked_add_days(Days::new(1))),
        QuotaWindow::Month => {
            let first = local_date.with_day(1).unwrap_or(local_date);
            (first, first.checked_add_months(Months::new(1)))
        }
    };
    WindowSpan {
        start: local_midnight(first, offset),
        end: next.map_or(DateTime::<Utc>::MAX_UTC, |date| {
            local_midnight(date, offset)
        }),
    }
}

fn local_midnight(date: NaiveDate, offset: TimeDelta) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN)
        .checked_sub_signed(offset)
        .map_or(DateTime::<Utc>::MIN_UTC, |naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_day_starts_at_midnight_in_beijing() {
        let before = window_at(QuotaWindow::Day, utc("2026-06-15T15:59:59.999Z"));
        assert_eq!(before.start, utc("2026-06-14T16:00:00Z"));
        assert_eq!(before.end, utc("2026-06-15T16:00:00Z"));
        let after = window_at(QuotaWindow::Day, utc("2026-06-15T16:00:00Z"));
        assert_eq!(after.start, utc("2026-06-15T16:00:00Z"));
        assert_eq!(after.end, utc("2026-06-16T16:00:00Z"));
    }

    #[test]
    fn new_years_eve_at_16_utc_starts_a_new_day_and_month() {
        let last_second = utc("2026-12-31T15:59:59Z");
        let first_second = utc("2026-12-31T16:00:00Z");
        let day = window_at(QuotaWindow::Day, first_second);
        assert_eq!(day.start, first_second);
        assert_eq!(day.end, utc("2027-01-01T16:00:00Z"));
        let month = window_at(QuotaWindow::Month, first_second);
        assert_eq!(month.start, first_second);
        assert_eq!(month.end, utc("2027-01-31T16:00:00Z"));
        let december = window_at(QuotaWindow::Month, last_second);
        assert_eq!(december.start, utc("2026-11-30T16:00:00Z"));
        assert_eq!(december.end, first_second);
    }

    #[test]
    fn february_is_a_short_month() {
        let feb = window_at(QuotaWindow::Month, utc("2028-02-29T12:00:00Z"));
        assert_eq!(feb.start, utc("2028-01-31T16:00:00Z"));
        assert_eq!(feb.end, utc("2028-02-29T16:00:00Z"));
        let march = window_at(QuotaWindow::Month, utc("2028-02-29T16:00:00Z"));
        assert_eq!(march.start, utc("2028-02-29T16:00:00Z"));
    }
}
