//! The clock the bindings give the roster: the system clock until a script
//! fixes the day, as tests and replays of past calls do.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use roster_core::clock::{Clock, FixedClock};
use roster_core::error::{Field, ValidationError};

/// The first and last day a script may set. Far-off years would only be
/// typing mistakes, and keeping "today" within them keeps one-year terms and
/// date arithmetic well inside what the calendar types hold.
const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();

/// Shows the system time until [`DayClock::set_day`] stops it at a day.
#[derive(Debug, Default)]
pub(crate) struct DayClock {
    fixed: OnceLock<FixedClock>,
}

impl DayClock {
    /// Stops the clock at noon of `day` in `zone`, so that "today" in that
    /// zone is `day` whatever the machine's own zone.
    pub(crate) fn set_day(&self, day: NaiveDate, zone: Tz) {
        let at = noon(day, zone);
        self.fixed.get_or_init(|| FixedClock::new(at)).set(at);
    }

    /// Whether a day was set.
    pub(crate) fn is_fixed(&self) -> bool {
        self.fixed.get().is_some()
    }
}

impl Clock for DayClock {
    fn now(&self) -> DateTime<Utc> {
        self.fixed.get().map_or_else(Utc::now, FixedClock::now)
    }
}

/// Reads a day written `YYYY-MM-DD`, between 1900 and 9999.
pub(crate) fn parse_day(text: &str, field: &str) -> Result<NaiveDate, ValidationError> {
    let invalid = || {
        ValidationError::new(
            Field::new(field),
            format!("`{text}` is not a day written YYYY-MM-DD between {FIRST_DAY} and {LAST_DAY}"),
        )
    };
    let trimmed = text.trim();
    // `%Y` also takes signed and five-digit years; the range check below
    // refuses them.
    let day = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d").map_err(|_| invalid())?;
    if (FIRST_DAY..=LAST_DAY).contains(&day) {
        Ok(day)
    } else {
        Err(invalid())
    }
}

fn noon(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN));
    match zone.from_local_datetime(&local).earliest() {
        Some(at) => at.with_timezone(&Utc),
        // A zone that skips noon altogether (none does today); UTC noon is
        // still the same calendar day within fourteen hours either way.
        None => local.and_utc(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::DEFAULT_ZONE;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_set_day_is_today_in_the_roster_zone() {
        let clock = DayClock::default();
        assert!(!clock.is_fixed());
        clock.set_day(day("2025-03-01"), DEFAULT_ZONE);
        assert!(clock.is_fixed());
        // Noon in Bangkok is 05:00 UTC.
        assert_eq!(clock.now().to_rfc3339(), "2025-03-01T05:00:00+00:00");
        clock.set_day(day("2024-02-29"), DEFAULT_ZONE);
        assert_eq!(
            clock.now().with_timezone(&DEFAULT_ZONE).date_naive(),
            day("2024-02-29")
        );
    }

    #[test]
    fn days_parse_within_the_range() {
        assert_eq!(parse_day(" 2025-07-01 ", "today"), Ok(day("2025-07-01")));
        assert_eq!(parse_day("1900-01-01", "today"), Ok(FIRST_DAY));
        assert_eq!(parse_day("9999-12-31", "today"), Ok(LAST_DAY));
        for bad in [
            "1899-12-31",
            "+10000-01-01",
            "-0001-01-01",
            "2025-02-29",
            "1/7/2025",
            "",
        ] {
            let err = parse_day(bad, "today").unwrap_err();
            assert_eq!(err.field.as_str(), "today", "{bad}");
            assert!(err.message.contains("YYYY-MM-DD"), "{bad}");
        }
    }
}
