//! A case's caseload row, taken from its record and judged against fixed dates: no plan, an
//! overdue action, a review due soon and overdue, a step-up waiting, closed, an unborn baby;
//! and "today" turning at UK midnight, in summer time and on the night the clocks change.

use shared::caseload::{Attention, CaseRow};
use shared::record::closure::Closure;
use shared::record::dates::{uk_day, Day};
use shared::record::family::{Person, Role};
use shared::record::meetings::{Meeting, MeetingKind};
use shared::record::plan::{Action, ActionStatus, Outcome};
use shared::record::step::{Direction, Step, StepStatus};
use shared::record::CaseRecord;

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

/// Sam, born 2022-06-15, with a plan of one action due on `due` and a meeting on 2026-11-02
/// that set the next review for `review`.
fn sam(due: &str, review: &str) -> CaseRecord {
    let mut r = CaseRecord::new("Sam Smith");
    r.family.people[0].date_of_birth = "2022-06-15".into();
    r.family
        .people
        .push(Person::new(Role::ParentCarer, "Jo Smith"));
    let mut outcome = Outcome::new("Sam goes to school every day");
    let mut action = Action::new("Attend parenting course");
    action.due = due.into();
    action.owner = "Tom Teacher".into();
    outcome.actions.push(action);
    r.plan.outcomes.push(outcome);
    let mut meeting = Meeting::new(MeetingKind::default(), "2026-11-02");
    meeting.next_date = review.into();
    r.meetings.push(meeting);
    r
}

#[test]
fn each_state_is_judged_against_today() {
    let today = day("2026-12-01");
    // Nothing pressing: the action is due later, the review in 3 weeks.
    let calm = CaseRow::from_record(&sam("2026-12-10", "2026-12-22"));
    assert_eq!(calm.attention(today), Attention::Nothing);
    assert_eq!(
        calm.summary(today),
        "No actions overdue; review due in 21 days"
    );
    assert_eq!(calm.age(today), "4 years old");
    assert_eq!(calm.name(), "Sam Smith");

    // The review within 14 days.
    let soon = CaseRow::from_record(&sam("2026-12-10", "2026-12-08"));
    assert_eq!(soon.attention(today), Attention::ReviewSoon(7));

    // An action past its due date; done actions never are.
    let late = CaseRow::from_record(&sam("2026-11-30", "2026-12-22"));
    assert_eq!(late.attention(today), Attention::ActionsOverdue(1));
    let mut finished = sam("2026-11-30", "2026-12-22");
    finished.plan.outcomes[0].actions[0].status = ActionStatus::Done;
    assert_eq!(
        CaseRow::from_record(&finished).attention(today),
        Attention::Nothing
    );

    // The review date passed: first of all.
    let overdue = CaseRow::from_record(&sam("2026-11-30", "2026-11-28"));
    assert_eq!(overdue.attention(today), Attention::ReviewOverdue(3));
    assert_eq!(
        overdue.summary(today),
        "1 action overdue; review overdue by 3 days"
    );

    // No plan yet.
    let new = CaseRow::from_record(&CaseRecord::new("Ali Khan"));
    assert_eq!(new.attention(today), Attention::NoPlan);
    assert_eq!(new.age(today), "");

    // A step-up waiting for an answer; once accepted and done, no longer.
    let mut stepping = sam("2026-12-10", "2026-12-22");
    stepping.steps.push(Step::new(Direction::Up, "2026-11-29"));
    let row = CaseRow::from_record(&stepping);
    assert_eq!(row.attention(today), Attention::Waiting);
    assert_eq!(row.waiting, ["Step-up waiting for an answer"]);
    // Once its request for support is sent, the caseload says when, and when to chase.
    stepping.steps[0].sent_date = "2026-11-30".into();
    stepping.steps[0].follow_up_date = "2026-12-01".into();
    assert_eq!(
        CaseRow::from_record(&stepping).waiting,
        ["Request for support sent on 30 November 2026, waiting for an answer; follow up by 1 December 2026"]
    );
    let row = CaseRow::from_record(&stepping);
    assert_eq!(
        row.attention(Day::parse("2026-12-01").unwrap()),
        Attention::Waiting,
        "on the follow-up date itself, still waiting"
    );
    let later = Day::parse("2026-12-03").unwrap();
    assert_eq!(row.attention(later), Attention::FollowUpPassed(2));
    assert!(row.attention(later).urgency() < Attention::Waiting.urgency());
    stepping.steps[0].status = StepStatus::Done;
    assert_eq!(
        CaseRow::from_record(&stepping).attention(today),
        Attention::Nothing
    );

    // Closed from its closure date on.
    let mut closing = sam("2026-11-30", "2026-11-28");
    closing.closure = Closure {
        date: "2026-12-01".into(),
        ..Closure::default()
    };
    let row = CaseRow::from_record(&closing);
    assert_eq!(
        row.attention(day("2026-11-30")),
        Attention::ReviewOverdue(2)
    );
    assert_eq!(row.attention(today), Attention::Closed);

    // An unborn baby: named as recorded, "due" rather than an age.
    let mut unborn = CaseRecord::new("Unborn baby of Jo Smith");
    unborn.family.people[0].role = Role::UnbornBaby;
    unborn.family.people[0].expected_date = "2027-03-03".into();
    let row = CaseRow::from_record(&unborn);
    assert_eq!(row.name(), "Unborn baby of Jo Smith");
    assert_eq!(row.age(today), "Due 3 March 2027");

    // Babies' ages in weeks, then months.
    let mut baby = CaseRecord::new("Mia Jones");
    baby.family.people[0].date_of_birth = "2026-11-10".into();
    assert_eq!(CaseRow::from_record(&baby).age(today), "3 weeks old");
    baby.family.people[0].date_of_birth = "2025-06-01".into();
    assert_eq!(CaseRow::from_record(&baby).age(today), "18 months old");

    // Sorting by what needs doing first.
    let mut all = [&calm, &soon, &late, &overdue, &new, &row];
    all.sort_by_key(|r| r.attention(today).urgency());
    assert_eq!(all[0], &overdue);
    assert_eq!(all[1], &late);
    // The longest overdue first.
    assert!(Attention::ReviewOverdue(30).urgency() < Attention::ReviewOverdue(1).urgency());
    assert!(Attention::ActionsOverdue(3).urgency() < Attention::ActionsOverdue(1).urgency());
    assert!(Attention::ReviewSoon(2).urgency() < Attention::ReviewSoon(9).urgency());

    // On the day of the review, it is the review until a next date is set at it.
    let mut review_day = sam("2026-12-10", "2026-11-20");
    review_day
        .meetings
        .push(Meeting::new(MeetingKind::Review, "2026-12-01"));
    let row = CaseRow::from_record(&review_day);
    assert_eq!(row.attention(today), Attention::ReviewSoon(0));
    assert_eq!(row.summary(today), "No actions overdue; review due today");
    review_day.meetings[1].next_date = "2027-03-01".into();
    assert_eq!(
        CaseRow::from_record(&review_day).next_review(today),
        Some(day("2027-03-01"))
    );
}

#[test]
fn search_finds_the_child_or_anyone_in_the_family() {
    let row = CaseRow::from_record(&sam("2026-12-10", "2026-12-22"));
    assert!(row.matches("sam"));
    assert!(row.matches("jo smith"));
    assert!(row.matches("  SMITH "));
    assert!(!row.matches("omar"));
}

#[test]
fn an_action_is_overdue_from_uk_midnight_in_summer_time_and_across_the_clock_change() {
    let ms = |d: &str, h: i64, m: i64| {
        Day::from_days(0).days_until(day(d)) * 86_400_000 + (h * 60 + m) * 60_000
    };
    // Due 1 July: overdue from 2 July UK time, which starts at 23:00 UTC on 1 July.
    let row = CaseRow::from_record(&sam("2026-07-01", "2026-08-01"));
    assert_eq!(row.overdue(uk_day(ms("2026-07-01", 22, 59))).count(), 0);
    assert_eq!(row.overdue(uk_day(ms("2026-07-01", 23, 0))).count(), 1);
    // Due 25 October (the clocks go back at 01:00 UTC): overdue from midnight at the end of
    // the 25th, which is then 00:00 UTC (not 23:00).
    let row = CaseRow::from_record(&sam("2026-10-25", "2026-11-20"));
    assert_eq!(row.overdue(uk_day(ms("2026-10-25", 23, 30))).count(), 0);
    assert_eq!(row.overdue(uk_day(ms("2026-10-26", 0, 0))).count(), 1);
    // And the night before, 23:30 UTC was already the 25th in the UK.
    assert_eq!(uk_day(ms("2026-10-24", 23, 30)), day("2026-10-25"));
}

#[test]
fn an_action_is_mine_when_chosen_as_me_or_my_name_was_typed() {
    use shared::caseload::Owner;
    let mut r = sam("2026-12-10", "2026-12-22");
    let mut row = CaseRow::from_record(&r);
    // Typed in before owners were chosen: read as it is, matched by name.
    assert!(row.actions[0].is_for(7, "tom teacher"));
    assert!(!row.actions[0].is_for(7, "Ann Other"));
    // Chosen from the team, by id: whatever their name.
    r.plan.outcomes[0].actions[0].owner = Owner::Professional(7).stored();
    row = CaseRow::from_record(&r);
    assert_eq!(row.actions[0].owner, "professional:7");
    assert!(row.actions[0].is_for(7, "Anyone"));
    assert!(!row.actions[0].is_for(8, "Anyone"));
    // Someone in the family: never a professional's.
    assert_eq!(Owner::parse("person:abc"), Owner::Person("abc".into()));
    assert_eq!(Owner::parse(" Jo Smith "), Owner::Named("Jo Smith".into()));
    assert_eq!(
        Owner::parse("professional:x"),
        Owner::Named("professional:x".into())
    );
}

#[test]
fn a_case_leaves_devices_only_once_closed_for_longer_than_the_setting() {
    let day = |s| Day::parse(s).unwrap();
    let row = |closed: &str| CaseRow {
        closed_on: closed.into(),
        ..CaseRow::default()
    };
    let today = day("2026-11-26");
    assert!(row("2026-08-27").closed_before(today, 90));
    assert!(!row("2026-08-28").closed_before(today, 90));
    // Closing in the future, not closed, or a date that does not read: stays.
    assert!(!row("2027-01-01").closed_before(today, 90));
    assert!(!row("").closed_before(today, 90));
    assert!(!row("27/08/2026").closed_before(today, 90));
}
