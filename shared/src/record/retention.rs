//! How long a council keeps a closed case, and so when it is due for disposal. No clock and no
//! I/O: "today" is the caller's.
//!
//! Councils set this in their records policy: until the child's date of birth plus 25 years
//! (Lincolnshire, Derbyshire), until the child is 30 (North Somerset), or 3 years after the
//! child turns 18 or the case last changed, whichever is later (Devon). A record about adults
//! only is kept until 6 years after it closed. A case never closed counts from the day it last
//! changed, so an abandoned case is kept no longer than a closed one (the records manager is
//! told it is still open). A case whose children's dates are not recorded is never due:
//! nothing is destroyed on a guess.

use super::dates::Day;
use super::family::Role;
use super::CaseRecord;
use serde::{Deserialize, Serialize};

/// A deployment's retention rule for records about children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RetentionRule {
    /// Until the youngest child's date of birth (or an unborn baby's expected date of
    /// delivery) plus `years`; a younger brother or sister with a recorded birth lengthens it.
    AfterBirth { years: u32 },
    /// Until `years` after the youngest child turns 18 or the case last changed, whichever
    /// is later.
    AfterAdulthoodAndQuiet { years: u32 },
}

impl Default for RetentionRule {
    fn default() -> Self {
        RetentionRule::AfterBirth { years: 25 }
    }
}

/// Records about adults only: kept this many years after closure.
pub const ADULTS_ONLY_YEARS: u32 = 6;

impl RetentionRule {
    /// The rule in words, for the records manager.
    pub fn in_words(self) -> String {
        match self {
            RetentionRule::AfterBirth { years } => format!(
                "Kept until {years} years after the youngest child's date of birth (or expected date of delivery), counting younger brothers and sisters"
            ),
            RetentionRule::AfterAdulthoodAndQuiet { years } => format!(
                "Kept until {years} years after the youngest child turns 18 or the case last changed, whichever is later"
            ),
        }
    }

    /// A rule with sensible bounds: 1 to 100 years.
    pub fn is_valid(self) -> bool {
        let years = match self {
            RetentionRule::AfterBirth { years }
            | RetentionRule::AfterAdulthoodAndQuiet { years } => years,
        };
        (1..=100).contains(&years)
    }
}

/// When a case may be destroyed under a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// On or after this day.
    On(Day),
    /// Not while this holds.
    NotYet(&'static str),
}

/// The same date `years` later; 29 February in a year without one is 1 March (kept a day
/// longer, never a day short).
fn years(day: Day, years: u32) -> Day {
    let later = day.add_months(i64::from(years) * 12);
    if day.iso().ends_with("-02-29") && later.iso().ends_with("-02-28") {
        Day::from_days(later.days() + 1)
    } else {
        later
    }
}

/// The day `record` closed, if it did: else (or if that day cannot be read) its retention counts
/// from its last change.
pub fn closed_on(record: &CaseRecord) -> Option<Day> {
    Day::parse(&record.closure.date)
}

/// When `record` is due for disposal under `rule`; `last_change` is the day it last changed.
pub fn disposal_due(record: &CaseRecord, rule: RetentionRule, last_change: Option<Day>) -> Due {
    // An open case's work ended, as far as anyone can tell, when it last changed.
    let Some(closed) = closed_on(record).or(last_change) else {
        return Due::NotYet("the case is not closed and no change to it is on record");
    };
    let mut youngest: Option<Day> = None;
    for person in &record.family.people {
        let date = match person.role {
            Role::Child => &person.date_of_birth,
            Role::UnbornBaby => &person.expected_date,
            _ => continue,
        };
        let Some(day) = Day::parse(date) else {
            return Due::NotYet("a child's date of birth is not recorded");
        };
        youngest = Some(youngest.map_or(day, |y| y.max(day)));
    }
    let Some(mut born) = youngest else {
        return Due::On(years(closed, ADULTS_ONLY_YEARS));
    };
    // A family's record is kept until its youngest child's time is up (the IRMS schedule
    // councils follow): a younger brother or sister with a recorded birth keeps it longer.
    // A sibling only ever lengthens it, since one may well be an adult.
    for person in &record.family.people {
        if person.role == Role::Sibling {
            if let Some(day) = Day::parse(&person.date_of_birth) {
                born = born.max(day);
            }
        }
    }
    let due = match rule {
        RetentionRule::AfterBirth { years: n } => years(born, n),
        RetentionRule::AfterAdulthoodAndQuiet { years: n } => {
            let adult = years(born, 18);
            let quiet = last_change.unwrap_or(closed).max(closed);
            years(adult.max(quiet), n)
        }
    };
    // Never before the case closed.
    Due::On(due.max(closed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::family::Person;

    fn case(closed: &str, people: &[(Role, &str)]) -> CaseRecord {
        let mut r = CaseRecord::new("Jo");
        r.closure.date = closed.into();
        r.family.people = people
            .iter()
            .enumerate()
            .map(|(i, (role, date))| {
                let mut p = Person {
                    id: format!("p{i}"),
                    role: role.clone(),
                    ..Default::default()
                };
                if matches!(role, Role::UnbornBaby) {
                    p.expected_date = date.to_string();
                } else {
                    p.date_of_birth = date.to_string();
                }
                p
            })
            .collect();
        r
    }

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn the_youngest_childs_birth_plus_the_rules_years() {
        let r = case(
            "2026-03-01",
            &[
                (Role::Child, "2012-05-10"),
                (Role::Child, "2015-01-31"),
                (Role::ParentCarer, "1990-01-01"),
            ],
        );
        let rule = RetentionRule::AfterBirth { years: 25 };
        assert_eq!(disposal_due(&r, rule, None), Due::On(day("2040-01-31")));
        let age_30 = RetentionRule::AfterBirth { years: 30 };
        assert_eq!(disposal_due(&r, age_30, None), Due::On(day("2045-01-31")));
    }

    #[test]
    fn a_younger_brother_or_sister_keeps_the_family_record_longer() {
        let r = case(
            "2026-03-01",
            &[
                (Role::Child, "2012-05-10"),
                (Role::Sibling, "2019-07-04"),
                (Role::Sibling, ""),
            ],
        );
        assert_eq!(
            disposal_due(&r, RetentionRule::default(), None),
            Due::On(day("2044-07-04"))
        );
        // An older sibling changes nothing, and a grown-up one never shortens a record about
        // adults only.
        let older = case(
            "2026-03-01",
            &[(Role::Child, "2012-05-10"), (Role::Sibling, "1995-01-01")],
        );
        assert_eq!(
            disposal_due(&older, RetentionRule::default(), None),
            Due::On(day("2037-05-10"))
        );
        let adults = case(
            "2026-03-01",
            &[
                (Role::ParentCarer, "1970-01-01"),
                (Role::Sibling, "1995-01-01"),
            ],
        );
        assert_eq!(
            disposal_due(&adults, RetentionRule::default(), None),
            Due::On(day("2032-03-01"))
        );
    }

    #[test]
    fn an_unborn_baby_counts_from_the_expected_date() {
        let r = case("2026-03-01", &[(Role::UnbornBaby, "2026-09-15")]);
        assert_eq!(
            disposal_due(&r, RetentionRule::default(), None),
            Due::On(day("2051-09-15"))
        );
    }

    #[test]
    fn adults_only_records_go_six_years_after_closure() {
        let r = case("2026-03-01", &[(Role::ParentCarer, "1980-01-01")]);
        assert_eq!(
            disposal_due(&r, RetentionRule::default(), None),
            Due::On(day("2032-03-01"))
        );
    }

    #[test]
    fn adulthood_or_the_last_change_whichever_is_later() {
        let rule = RetentionRule::AfterAdulthoodAndQuiet { years: 3 };
        let r = case("2020-06-01", &[(Role::Child, "2000-01-01")]);
        // 18 on 2018-01-01; closed and last changed later: 3 years after that.
        assert_eq!(
            disposal_due(&r, rule, Some(day("2021-02-01"))),
            Due::On(day("2024-02-01"))
        );
        let young = case("2020-06-01", &[(Role::Child, "2010-01-01")]);
        assert_eq!(
            disposal_due(&young, rule, Some(day("2021-02-01"))),
            Due::On(day("2031-01-01"))
        );
    }

    #[test]
    fn born_on_29_february_is_kept_to_1_march() {
        let r = case("2026-03-01", &[(Role::Child, "2012-02-29")]);
        assert_eq!(
            disposal_due(&r, RetentionRule::default(), None),
            Due::On(day("2037-03-01"))
        );
    }

    #[test]
    fn a_case_never_closed_counts_from_its_last_change() {
        let adults = case("", &[(Role::ParentCarer, "1980-01-01")]);
        let rule = RetentionRule::default();
        assert_eq!(
            disposal_due(&adults, rule, Some(day("2019-04-02"))),
            Due::On(day("2025-04-02"))
        );
        // Still being worked on: not before its last change, however old the child.
        let grown = case("", &[(Role::Child, "1990-01-01")]);
        assert_eq!(
            disposal_due(&grown, rule, Some(day("2026-11-27"))),
            Due::On(day("2026-11-27"))
        );
        // A closure day that cannot be read counts as never closed (and the list says so).
        let unreadable = case("sometime in May", &[(Role::ParentCarer, "1980-01-01")]);
        assert_eq!(closed_on(&unreadable), None);
        assert_eq!(
            disposal_due(&unreadable, rule, Some(day("2019-04-02"))),
            Due::On(day("2025-04-02"))
        );
        let quiet = RetentionRule::AfterAdulthoodAndQuiet { years: 3 };
        let devon = case("", &[(Role::Child, "2002-06-01")]);
        assert_eq!(
            disposal_due(&devon, quiet, Some(day("2021-02-01"))),
            Due::On(day("2024-02-01"))
        );
    }

    #[test]
    fn nothing_is_due_on_a_guess() {
        let open = case("", &[(Role::Child, "2000-01-01")]);
        assert!(matches!(
            disposal_due(&open, RetentionRule::default(), None),
            Due::NotYet(_)
        ));
        let no_birth = case("2020-01-01", &[(Role::Child, "")]);
        assert!(matches!(
            disposal_due(&no_birth, RetentionRule::default(), None),
            Due::NotYet(_)
        ));
        assert!(!RetentionRule::AfterBirth { years: 0 }.is_valid());
        assert!(RetentionRule::default().is_valid());
    }
}
