//! GitLab's date parameters (`created_after`, `created_before`): parsing and printing.
//!
//! Accepted: `YYYY-MM-DD` (midnight UTC) or a date-time `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]`
//! with an optional zone `Z`, `±HH:MM`, `±HHMM` or `±HH` (none = UTC). Ruby's `DateTime.parse`
//! accepts much more; this is the documented subset (reference open question 5).

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};

/// Parses a GitLab date parameter into epoch milliseconds.
pub(crate) fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    if date.len() != 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let Some(rest) = rest else {
        return Some(
            Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
                .timestamp_millis(),
        );
    };
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let offset_seconds = parse_zone(zone)?;
    let time = parse_time(time)?;
    let local = Utc
        .from_utc_datetime(&date.and_time(time))
        .timestamp_millis();
    Some(local - i64::from(offset_seconds) * 1000)
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    let (clock, fraction) = match text.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (text, None),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts
        .iter()
        .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (hour, minute, second) = match parts.as_slice() {
        [h, m] if fraction.is_none() => (h.parse().ok()?, m.parse().ok()?, 0),
        [h, m, s] => (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?),
        _ => return None,
    };
    let nanos = match fraction {
        None => 0,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            let mut padded: String = digits.chars().take(9).collect();
            while padded.len() < 9 {
                padded.push('0');
            }
            padded.parse().ok()?
        }
        Some(_) => return None,
    };
    NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
}

fn parse_zone(zone: &str) -> Option<i32> {
    if zone.is_empty() || zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || zone[1..].matches(':').count() > 1 {
        return None;
    }
    let (hours, minutes): (i32, i32) = match digits.len() {
        2 => (digits.parse().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Epoch milliseconds as GitLab prints timestamps: `2021-09-10T12:48:22.381Z`.
///
/// Written field by field rather than through a `strftime` pattern, which is parsed again on
/// every call (a user row prints several dates: the pattern's parsing was the largest single cost
/// of rendering a page). Years outside 0..=9999, which `%Y` prints with a sign, take the pattern.
pub(crate) fn format(ms: i64) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp_millis(ms) else {
        return String::new();
    };
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    }
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    )
}

/// The UTC day of an instant: `2026-06-15` (GitLab `last_activity_on`).
pub(crate) fn format_day(ms: i64) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp_millis(ms) else {
        return String::new();
    };
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%d").to_string();
    }
    format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_strftime_patterns() {
        for ms in [
            0,
            1_781_524_800_000,
            1_631_278_102_381,
            -1,
            -62_135_596_800_001,
            253_402_300_799_999,
            253_402_300_800_000,
            8_210_266_876_799_999,
        ] {
            let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
            assert_eq!(format(ms), t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            assert_eq!(format_day(ms), t.format("%Y-%m-%d").to_string());
        }
    }

    #[test]
    fn accepts_dates_and_date_times_with_zones() {
        let midnight = parse("2018-01-01").unwrap_or_default();
        assert_eq!(format(midnight), "2018-01-01T00:00:00.000Z");
        assert_eq!(parse("2018-01-01T00:00"), Some(midnight));
        assert_eq!(parse("2018-01-01T01:00:00+01:00"), Some(midnight));
        assert_eq!(parse("2018-01-01 00:00:00.5Z"), Some(midnight + 500));
        assert_eq!(parse("2017-12-31T23:00:00-0100"), Some(midnight));
    }

    #[test]
    fn rejects_anything_else() {
        for bad in [
            "",
            "invalid-date",
            "2018-1-1",
            "2018-02-30",
            "2018-01-01T25:00",
            "2018-01-01T00:00+1",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
