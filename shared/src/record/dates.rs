//! Calendar dates as the record stores them (`YYYY-MM-DD`), for working out what is overdue
//! and how long until the next review. There is no clock here: "today" is always passed in.

/// A valid calendar date, as a day count (days since 1970-01-01), so dates can be compared
/// and subtracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i64);

impl Day {
    /// Reads `YYYY-MM-DD` (surrounding spaces allowed); `None` for anything else, including
    /// impossible dates like 2025-02-30.
    pub fn parse(s: &str) -> Option<Day> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        Some(Day(days_from_civil(y, m, d)))
    }

    /// The day `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Day {
        Day(days)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.0
    }

    /// `YYYY-MM-DD`.
    pub fn iso(self) -> String {
        let (y, m, d) = civil_from_days(self.0);
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// "3 December 2026", as GOV.UK writes dates.
    pub fn in_words(self) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let (y, m, d) = civil_from_days(self.0);
        format!("{d} {} {y}", MONTHS[(m - 1) as usize])
    }

    /// The same date `months` calendar months later; where that month is shorter, its last
    /// day (31 January + 1 month is 28 or 29 February), as the ICO counts a month.
    pub fn add_months(self, months: i64) -> Day {
        let (y, m, d) = civil_from_days(self.0);
        let index = y * 12 + (m - 1) + months;
        let (y, m) = (index.div_euclid(12), index.rem_euclid(12) + 1);
        Day(days_from_civil(y, m, d.min(days_in_month(y, m))))
    }

    /// Saturday or Sunday (1 January 1970 was a Thursday).
    pub fn is_weekend(self) -> bool {
        matches!(self.0.rem_euclid(7), 2 | 3)
    }

    /// Days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Day) -> i64 {
        later.0 - self.0
    }
}

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// The UK's offset from UTC at an instant (Unix ms): an hour in British Summer Time, from
/// 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October.
pub fn uk_offset_ms(unix_ms: i64) -> i64 {
    let (y, _, _) = civil_from_days(unix_ms.div_euclid(DAY_MS));
    let start = last_sunday(y, 3) * DAY_MS + HOUR_MS;
    let end = last_sunday(y, 10) * DAY_MS + HOUR_MS;
    if (start..end).contains(&unix_ms) {
        HOUR_MS
    } else {
        0
    }
}

/// The date in the UK at an instant (Unix ms): what "today" means for overdue actions and
/// reviews, wherever the device's clock is set.
pub fn uk_day(unix_ms: i64) -> Day {
    Day((unix_ms + uk_offset_ms(unix_ms)).div_euclid(DAY_MS))
}

/// Milliseconds from an instant to the next midnight in the UK (when "today" changes).
pub fn until_uk_midnight(unix_ms: i64) -> i64 {
    let midnight = (uk_day(unix_ms).0 + 1) * DAY_MS;
    // The clocks change at 01:00 UTC, never at midnight, so one correction settles it.
    let mut at = midnight - uk_offset_ms(unix_ms);
    at = midnight - uk_offset_ms(at);
    at - unix_ms
}

/// The last Sunday of a month, as a day count (1970-01-01 was a Thursday).
fn last_sunday(y: i64, m: i64) -> i64 {
    let last = days_from_civil(y, m, days_in_month(y, m));
    last - (last + 4).rem_euclid(7)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The date of a day count (Howard Hinnant's algorithm, the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::Day;

    #[test]
    fn the_uk_day_turns_at_uk_midnight_in_winter_and_in_summer_time() {
        use super::{uk_day, until_uk_midnight};
        let d = |s: &str| Day::parse(s).unwrap();
        let ms = |day: &str, h: i64, m: i64| d(day).0 * 86_400_000 + (h * 60 + m) * 60_000;
        // Winter: UTC.
        assert_eq!(uk_day(ms("2026-12-03", 23, 59)), d("2026-12-03"));
        assert_eq!(uk_day(ms("2026-12-04", 0, 0)), d("2026-12-04"));
        assert_eq!(until_uk_midnight(ms("2026-12-03", 23, 0)), 3_600_000);
        // Summer: 23:30 UTC is already tomorrow in the UK.
        assert_eq!(uk_day(ms("2026-07-01", 22, 59)), d("2026-07-01"));
        assert_eq!(uk_day(ms("2026-07-01", 23, 30)), d("2026-07-02"));
        assert_eq!(until_uk_midnight(ms("2026-07-01", 22, 0)), 3_600_000);
        // The clocks go forward at 01:00 UTC on 29 March 2026 and back on 25 October 2026.
        assert_eq!(uk_day(ms("2026-03-28", 23, 30)), d("2026-03-28"));
        assert_eq!(uk_day(ms("2026-03-29", 23, 30)), d("2026-03-30"));
        assert_eq!(uk_day(ms("2026-10-24", 23, 30)), d("2026-10-25"));
        assert_eq!(uk_day(ms("2026-10-25", 23, 30)), d("2026-10-25"));
        // The night the clocks go back: midnight UK is 23:00 UTC before, 00:00 UTC after.
        assert_eq!(until_uk_midnight(ms("2026-10-24", 22, 0)), 3_600_000);
        assert_eq!(until_uk_midnight(ms("2026-10-25", 22, 0)), 2 * 3_600_000);
    }

    #[test]
    fn parses_and_counts_days() {
        let d = |s| Day::parse(s).unwrap();
        assert_eq!(d("1970-01-01"), Day(0));
        assert_eq!(d("2024-02-28").days_until(d("2024-03-01")), 2);
        assert_eq!(d("2025-02-28").days_until(d("2025-03-01")), 1);
        assert_eq!(d("2024-12-31").days_until(d("2025-01-01")), 1);
        assert_eq!(d("2000-03-01").days_until(d("2000-02-28")), -2);
        assert_eq!(Day::parse("2025-02-29"), None);
        assert_eq!(Day::parse("2025-13-01"), None);
        assert_eq!(Day::parse("25-01-01"), None);
        assert_eq!(Day::parse("2025-1-011"), None);
        assert_eq!(Day::parse("+025-01-01"), None);
        assert_eq!(Day::parse(""), None);
    }

    #[test]
    fn a_month_later_is_the_same_date_or_the_months_last_day() {
        let d = |s| Day::parse(s).unwrap();
        assert_eq!(d("2026-11-26").add_months(1), d("2026-12-26"));
        assert_eq!(d("2026-12-15").add_months(1), d("2027-01-15"));
        assert_eq!(d("2027-01-31").add_months(1), d("2027-02-28"));
        assert_eq!(d("2028-01-31").add_months(1), d("2028-02-29"));
        assert_eq!(d("2026-11-30").add_months(3), d("2027-02-28"));
        assert!(d("2026-11-28").is_weekend() && d("2026-11-29").is_weekend());
        assert!(!d("2026-11-27").is_weekend() && !d("2026-11-30").is_weekend());
    }
}
