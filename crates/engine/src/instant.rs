//! Instants and periods (hub-query.md "Instants").
//!
//! Every instant value names a *period* `[start, end)` in epoch milliseconds: a year, a month, a
//! day, or a single instant (a date-time, epoch milliseconds, `now`, `{N days ago}`), which is the
//! one-millisecond period `[t, t + 1)`. With half-open periods the three rules of the spec become
//! uniform: `after: P` is `>= P.end` (strictly after the end), `before: P` is `< P.start`
//! (strictly before the start), and a range `a .. b` is `[a.start, b.end)` (both ends whole).

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime, TimeZone, Utc,
};
use userql_directory::model::Millis;

/// A half-open period of time in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First millisecond inside the period.
    pub start: Millis,
    /// First millisecond after the period.
    pub end: Millis,
}

/// Why a value is not an instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstantError {
    /// No form matched.
    #[error("expected a date (YYYY-MM-DD, YYYY-MM, YYYY, MM-DD), a date-time (YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]), epoch milliseconds, now, today, yesterday or {{N days ago}}")]
    Unrecognised,
    /// A form matched but the date does not exist (e.g. 2024-02-30).
    #[error("no such date or time")]
    OutOfRange,
}

fn day_start(date: NaiveDate) -> Millis {
    date.and_hms_opt(0, 0, 0)
        .map(|dt| Utc.from_utc_datetime(&dt).timestamp_millis())
        .unwrap_or(0)
}

fn day_period(date: NaiveDate) -> Result<Period, InstantError> {
    let next = date.succ_opt().ok_or(InstantError::OutOfRange)?;
    Ok(Period {
        start: day_start(date),
        end: day_start(next),
    })
}

fn instant(t: Millis) -> Period {
    Period {
        start: t,
        end: t.saturating_add(1),
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn number<T: std::str::FromStr>(s: &str, len: usize) -> Result<T, InstantError> {
    if s.len() != len || !all_digits(s) {
        return Err(InstantError::Unrecognised);
    }
    s.parse().map_err(|_| InstantError::Unrecognised)
}

/// Parses an instant value relative to `now` (epoch ms), into the period it names.
pub fn parse_period(text: &str, now: Millis) -> Result<Period, InstantError> {
    let text = text.trim();
    let lower = text.to_lowercase();
    let now_dt = Utc
        .timestamp_millis_opt(now)
        .single()
        .ok_or(InstantError::OutOfRange)?;
    match lower.as_str() {
        "now" => return Ok(instant(now)),
        "today" => return day_period(now_dt.date_naive()),
        "yesterday" => {
            let day = now_dt
                .date_naive()
                .pred_opt()
                .ok_or(InstantError::OutOfRange)?;
            return day_period(day);
        }
        _ => {}
    }
    if let Some(period) = parse_relative(&lower, now_dt)? {
        return Ok(period);
    }
    if all_digits(text) && text.len() >= 10 {
        let ms: i64 = text.parse().map_err(|_| InstantError::OutOfRange)?;
        return Ok(instant(ms));
    }
    if text.contains('T') || text.contains('t') {
        return parse_date_time(text).map(instant);
    }
    let parts: Vec<&str> = text.split('-').collect();
    match parts.as_slice() {
        [y] if y.len() == 4 => {
            let year: i32 = number(y, 4)?;
            let start = NaiveDate::from_ymd_opt(year, 1, 1).ok_or(InstantError::OutOfRange)?;
            let end = NaiveDate::from_ymd_opt(year + 1, 1, 1).ok_or(InstantError::OutOfRange)?;
            Ok(Period {
                start: day_start(start),
                end: day_start(end),
            })
        }
        [y, m] if y.len() == 4 => {
            let year: i32 = number(y, 4)?;
            let month: u32 = number(m, 2)?;
            let start = NaiveDate::from_ymd_opt(year, month, 1).ok_or(InstantError::OutOfRange)?;
            let end = start
                .checked_add_months(Months::new(1))
                .ok_or(InstantError::OutOfRange)?;
            Ok(Period {
                start: day_start(start),
                end: day_start(end),
            })
        }
        [m, d] if m.len() == 2 => {
            let month: u32 = number(m, 2)?;
            let day: u32 = number(d, 2)?;
            let date = NaiveDate::from_ymd_opt(now_dt.year(), month, day)
                .ok_or(InstantError::OutOfRange)?;
            day_period(date)
        }
        [y, m, d] => {
            let year: i32 = number(y, 4)?;
            let month: u32 = number(m, 2)?;
            let day: u32 = number(d, 2)?;
            let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(InstantError::OutOfRange)?;
            day_period(date)
        }
        _ => Err(InstantError::Unrecognised),
    }
}

/// `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]`, UTC when no offset is given.
fn parse_date_time(text: &str) -> Result<Millis, InstantError> {
    if let Ok(dt) = DateTime::<FixedOffset>::parse_from_rfc3339(text) {
        return Ok(dt.timestamp_millis());
    }
    let (body, offset) = split_offset(text);
    let formats = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ];
    let body = body.replace('t', "T");
    let naive = formats
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&body, f).ok())
        .ok_or(InstantError::Unrecognised)?;
    let offset = match offset {
        None => FixedOffset::east_opt(0),
        Some(o) => parse_offset(o),
    }
    .ok_or(InstantError::Unrecognised)?;
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|dt| dt.timestamp_millis())
        .ok_or(InstantError::OutOfRange)
}

fn split_offset(text: &str) -> (&str, Option<&str>) {
    if let Some(body) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return (body, Some("+00:00"));
    }
    // An offset is the last `+` or `-` after the `T`.
    let t = text.find(['T', 't']).unwrap_or(0);
    match text[t..].rfind(['+', '-']) {
        Some(i) => (&text[..t + i], Some(&text[t + i..])),
        None => (text, None),
    }
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = &text[1..];
    let (h, m) = rest
        .split_once(':')
        .unwrap_or((rest.get(..2)?, rest.get(2..)?));
    let h: i32 = number(h, 2).ok()?;
    let m: i32 = number(m, 2).ok()?;
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// `N days ago` and friends (the braces are already gone).
fn parse_relative(lower: &str, now: DateTime<Utc>) -> Result<Option<Period>, InstantError> {
    let words: Vec<&str> = lower.split_whitespace().collect();
    let [count, unit, "ago"] = words.as_slice() else {
        return Ok(None);
    };
    if !all_digits(count) {
        return Ok(None);
    }
    let n: u32 = count.parse().map_err(|_| InstantError::OutOfRange)?;
    let unit = unit.strip_suffix('s').unwrap_or(unit);
    let t = match unit {
        "day" => now.checked_sub_signed(Duration::days(i64::from(n))),
        "week" => now.checked_sub_signed(Duration::days(7 * i64::from(n))),
        "month" => now.checked_sub_months(Months::new(n)),
        "year" => n
            .checked_mul(12)
            .and_then(|months| now.checked_sub_months(Months::new(months))),
        "hour" => now.checked_sub_signed(Duration::hours(i64::from(n))),
        _ => return Ok(None),
    };
    t.map(|t| Some(instant(t.timestamp_millis())))
        .ok_or(InstantError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> Millis {
        DateTime::parse_from_rfc3339(text)
            .map(|d| d.timestamp_millis())
            .unwrap_or(i64::MIN)
    }

    const NOW: &str = "2026-06-15T12:00:00Z";

    fn period(text: &str) -> Period {
        parse_period(text, ms(NOW)).unwrap_or(Period { start: -1, end: -1 })
    }

    #[test]
    fn a_day_is_the_whole_day() {
        assert_eq!(
            period("2018-01-01"),
            Period {
                start: ms("2018-01-01T00:00:00Z"),
                end: ms("2018-01-02T00:00:00Z")
            }
        );
    }

    #[test]
    fn month_year_and_month_day() {
        assert_eq!(period("2024-02").end, ms("2024-03-01T00:00:00Z"));
        assert_eq!(period("2024").end, ms("2025-01-01T00:00:00Z"));
        assert_eq!(period("06-15").start, ms("2026-06-15T00:00:00Z"));
    }

    #[test]
    fn date_times_are_instants_in_utc_unless_offset() {
        assert_eq!(period("2024-01-01T10:30").start, ms("2024-01-01T10:30:00Z"));
        assert_eq!(
            period("2024-01-01T10:30:15.250Z").start,
            ms("2024-01-01T10:30:15.250Z")
        );
        assert_eq!(
            period("2024-01-01T10:30+01:00").start,
            ms("2024-01-01T09:30:00Z")
        );
        assert_eq!(
            period("2024-01-01T10:30:00-02:00").start,
            ms("2024-01-01T12:30:00Z")
        );
        let p = period("2024-01-01T10:30");
        assert_eq!(p.end - p.start, 1);
    }

    #[test]
    fn relative_forms() {
        assert_eq!(period("now").start, ms(NOW));
        assert_eq!(period("today").start, ms("2026-06-15T00:00:00Z"));
        assert_eq!(period("yesterday").start, ms("2026-06-14T00:00:00Z"));
        assert_eq!(period("30 days ago").start, ms("2026-05-16T12:00:00Z"));
        assert_eq!(period("1 day ago").start, ms("2026-06-14T12:00:00Z"));
        assert_eq!(period("2 weeks ago").start, ms("2026-06-01T12:00:00Z"));
        assert_eq!(period("1 month ago").start, ms("2026-05-15T12:00:00Z"));
        assert_eq!(period("1 year ago").start, ms("2025-06-15T12:00:00Z"));
    }

    #[test]
    fn months_ago_clamps_to_month_end() {
        let now = ms("2026-03-31T00:00:00Z");
        let p = parse_period("1 month ago", now).map(|p| p.start);
        assert_eq!(p, Ok(ms("2026-02-28T00:00:00Z")));
    }

    #[test]
    fn epoch_millis() {
        assert_eq!(period("1700000000000").start, 1_700_000_000_000);
    }

    #[test]
    fn bad_values() {
        for bad in [
            "2024-13-01",
            "2024-02-30",
            "soon",
            "20-01-01",
            "2024/01/01",
            "",
            "-5 days ago",
        ] {
            assert!(parse_period(bad, ms(NOW)).is_err(), "{bad}");
        }
    }
}
