//! A case as a caseload lists it: what needs doing, at a glance.
//!
//! A [`CaseRow`] is taken from a case's record whenever the case changes (on the device or
//! from the relay) and kept with the case's summary, so a caseload of a thousand cases opens
//! without reading a thousand documents. Nothing in it depends on the date: it is judged
//! against "today" (the UK date, [`crate::record::dates::uk_day`]) when shown, so a new day
//! needs no re-reading.

use crate::record::dates::Day;
use crate::record::family::Role;
use crate::record::step::Direction;
use crate::record::{lead, CaseRecord};
use serde::{Deserialize, Serialize};

/// Reviews this close are "due soon".
pub const REVIEW_SOON_DAYS: i64 = 14;

/// What the caseload keeps of one case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    /// The child's name as recorded ("Unborn baby of …" for an unborn baby, as the form asks).
    pub child: String,
    pub unborn: bool,
    /// `YYYY-MM-DD`, or the expected date of delivery for an unborn baby; "" if not recorded.
    pub born: String,
    /// Everyone in the family, for search.
    pub family: Vec<String>,
    /// The lead professional now, as recorded in the case ("" if none).
    pub lead: String,
    /// Whether the plan has any outcome yet.
    pub has_plan: bool,
    /// Each meeting's date and the next date set at it (`YYYY-MM-DD` or "").
    pub meetings: Vec<(String, String)>,
    pub actions: Vec<ActionRow>,
    /// Steps up or down, and escalations, waiting on someone: in words.
    pub waiting: Vec<String>,
    /// The closure date, if the case is closing or closed ("" otherwise).
    pub closed_on: String,
    /// When the case last changed (the clock of the device that changed it, Unix ms; 0 if
    /// unknown), and by whom (their professional id, as the change names them).
    #[serde(default)]
    pub changed_at: i64,
    #[serde(default)]
    pub changed_by: Option<i64>,
    /// Their name, where this device knows it.
    #[serde(default)]
    pub changed_by_name: String,
    /// The earliest date to chase an answer to a request for support that has none yet
    /// (`YYYY-MM-DD`), or empty.
    #[serde(default)]
    pub follow_up: String,
}

/// A plan action as the caseload and "my actions" need it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionRow {
    pub id: String,
    pub what: String,
    pub outcome: String,
    /// As recorded: a name typed in, or a reference to a team member or family member.
    pub owner: String,
    /// `YYYY-MM-DD` or "".
    pub due: String,
    /// As stored (`not_started`, `in_progress`, …).
    pub status: String,
    pub finished: bool,
}

impl ActionRow {
    /// Whether the action is for this professional: chosen as them, or their name typed in.
    pub fn is_for(&self, professional_id: i64, name: &str) -> bool {
        match Owner::parse(&self.owner) {
            Owner::Professional(id) => id == professional_id,
            Owner::Person(_) => false,
            Owner::Named(n) => !n.trim().is_empty() && n.trim().eq_ignore_ascii_case(name.trim()),
        }
    }
}

/// Who an action is for, as its owner field records it: a professional in the team (by id),
/// someone in the family (by their id in the case), or a name typed in (how owners were kept
/// before, and still for someone outside both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Professional(i64),
    Person(String),
    Named(String),
}

impl Owner {
    const PROFESSIONAL: &'static str = "professional:";
    const PERSON: &'static str = "person:";

    pub fn parse(raw: &str) -> Owner {
        let raw = raw.trim();
        if let Some(id) = raw
            .strip_prefix(Self::PROFESSIONAL)
            .and_then(|id| id.parse().ok())
        {
            return Owner::Professional(id);
        }
        match raw.strip_prefix(Self::PERSON) {
            Some(id) if !id.is_empty() => Owner::Person(id.to_string()),
            _ => Owner::Named(raw.to_string()),
        }
    }

    /// As the owner field stores it.
    pub fn stored(&self) -> String {
        match self {
            Owner::Professional(id) => format!("{}{id}", Self::PROFESSIONAL),
            Owner::Person(id) => format!("{}{id}", Self::PERSON),
            Owner::Named(name) => name.trim().to_string(),
        }
    }
}

/// What a case most needs, first things first (see [`Attention::urgency`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attention {
    /// The review date has passed (by this many days).
    ReviewOverdue(i64),
    /// Actions past their due date.
    ActionsOverdue(usize),
    /// A request for support has had no answer by its follow-up date (this many days ago).
    FollowUpPassed(i64),
    /// A step-up, step-down or escalation waits for an answer.
    Waiting,
    /// No plan yet.
    NoPlan,
    /// The review is due within [`REVIEW_SOON_DAYS`] (in this many days).
    ReviewSoon(i64),
    /// Nothing pressing.
    Nothing,
    Closed,
}

impl Attention {
    /// For sorting, most urgent first: by kind, then the longest overdue, the most actions
    /// overdue, the soonest review.
    pub fn urgency(&self) -> (u8, i64) {
        match self {
            Attention::ReviewOverdue(days) => (0, -days),
            Attention::ActionsOverdue(n) => (1, -(*n as i64)),
            Attention::FollowUpPassed(days) => (2, -days),
            Attention::Waiting => (2, 0),
            Attention::NoPlan => (3, 0),
            Attention::ReviewSoon(days) => (4, *days),
            Attention::Nothing => (5, 0),
            Attention::Closed => (6, 0),
        }
    }
}

impl CaseRow {
    pub fn from_record(record: &CaseRecord) -> Self {
        let child = record.family.people.iter().find(|p| p.is_child_of_case());
        let unborn = child.is_some_and(|c| c.role == Role::UnbornBaby);
        let born = child
            .map(|c| {
                if unborn {
                    c.expected_date.clone()
                } else {
                    c.date_of_birth.clone()
                }
            })
            .unwrap_or_default();
        let waiting =
            record
                .steps
                .iter()
                .filter(|s| !s.status.is_final())
                .map(|s| match (&s.direction, Day::parse(&s.sent_date)) {
                    (Direction::Down, _) => "Step-down waiting for an answer".to_string(),
                    (_, Some(sent)) => {
                        let chase = Day::parse(&s.follow_up_date)
                            .map(|f| format!("; follow up by {}", f.in_words()))
                            .unwrap_or_default();
                        format!(
                            "Request for support sent on {}, waiting for an answer{chase}",
                            sent.in_words()
                        )
                    }
                    _ => "Step-up waiting for an answer".to_string(),
                })
                .chain(record.escalations.iter().filter(|e| !e.is_resolved()).map(
                    |e| match e.stage {
                        Some(stage) => format!("Disagreement open at stage {stage}"),
                        None => "Disagreement open".to_string(),
                    },
                ))
                .collect();
        CaseRow {
            child: child.map(|c| c.name.trim().to_string()).unwrap_or_default(),
            unborn,
            born,
            family: record
                .family
                .people
                .iter()
                .map(|p| p.name.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
            lead: lead::current(&record.lead_professionals)
                .map(|l| l.name.trim().to_string())
                .unwrap_or_default(),
            has_plan: !record.plan.outcomes.is_empty(),
            meetings: record
                .meetings
                .iter()
                .map(|m| (m.date.clone(), m.next_date.clone()))
                .collect(),
            actions: record
                .plan
                .actions()
                .map(|(o, a)| ActionRow {
                    id: a.id.clone(),
                    what: a.what.as_str().trim().to_string(),
                    outcome: o.title.as_str().trim().to_string(),
                    owner: a.owner.trim().to_string(),
                    due: a.due.clone(),
                    status: a.status.as_str().to_string(),
                    finished: a.status.is_finished(),
                })
                .collect(),
            waiting,
            follow_up: record
                .steps
                .iter()
                .filter(|s| !s.status.is_final() && Day::parse(&s.sent_date).is_some())
                .filter_map(|s| Day::parse(&s.follow_up_date))
                .min()
                .map(Day::iso)
                .unwrap_or_default(),
            closed_on: if record.closure.is_started() {
                record.closure.date.clone()
            } else {
                String::new()
            },
            ..CaseRow::default()
        }
    }

    /// Notes the document's latest change: when, and whose (see [`CaseRow::changed_at`]). Whose
    /// is what the change claims; the history shows what the relay vouches for.
    pub fn with_last_change(mut self, doc: &automerge::Automerge) -> Self {
        use automerge::ReadDoc;
        let latest = doc
            .get_heads()
            .iter()
            .filter_map(|h| doc.get_change_by_hash(h))
            .max_by_key(|c| c.timestamp())
            .map(|c| (c.timestamp() * 1000, c.actor_id().clone()));
        if let Some((at, actor)) = latest {
            self.changed_at = at;
            self.changed_by = doc
                .get_author_for_actor(&actor)
                .and_then(|a| crate::authorship::professional_of(&a));
        }
        self
    }

    /// The child's name to show: as recorded, or what they are if it is not.
    pub fn name(&self) -> String {
        match (self.child.is_empty(), self.unborn) {
            (false, _) => self.child.clone(),
            (true, true) => "Unborn baby (no name recorded)".into(),
            (true, false) => "Unnamed child".into(),
        }
    }

    /// "4 years old", "8 months old", "Due 3 March 2027"; "" if no date is recorded.
    pub fn age(&self, today: Day) -> String {
        let Some(born) = Day::parse(&self.born) else {
            return String::new();
        };
        if self.unborn {
            return format!("Due {}", born.in_words());
        }
        let (by, bm, bd) = ymd(born);
        let (ty, tm, td) = ymd(today);
        let months = (ty - by) * 12 + (tm - bm) - i64::from(td < bd);
        match months {
            m if m < 0 => String::new(),
            0 => {
                let weeks = born.days_until(today) / 7;
                if weeks == 1 {
                    "1 week old".into()
                } else {
                    format!("{weeks} weeks old")
                }
            }
            1 => "1 month old".into(),
            m if m < 24 => format!("{m} months old"),
            m => format!("{} years old", m / 12),
        }
    }

    /// The next review: the earliest meeting booked from today on (today's counts until a next
    /// date is set at it), or else the next date set at the latest meeting held (which may
    /// have passed).
    pub fn next_review(&self, today: Day) -> Option<Day> {
        let booked = self
            .meetings
            .iter()
            .filter_map(|(d, next)| Some((Day::parse(d)?, next)))
            .filter(|(d, next)| *d > today || (*d == today && Day::parse(next).is_none()))
            .map(|(d, _)| d)
            .min();
        if booked.is_some() {
            return booked;
        }
        self.meetings
            .iter()
            .filter_map(|(d, next)| Day::parse(d).map(|d| (d, next)))
            .filter(|(d, _)| *d <= today)
            .max_by_key(|(d, _)| *d)
            .and_then(|(_, next)| Day::parse(next))
    }

    /// Actions past their due date and neither done nor no longer needed.
    pub fn overdue(&self, today: Day) -> impl Iterator<Item = &ActionRow> {
        self.actions
            .iter()
            .filter(move |a| !a.finished && Day::parse(&a.due).is_some_and(|d| d < today))
    }

    /// Whether the case closed more than `days` days before `today`, so it leaves devices.
    pub fn closed_before(&self, today: Day, days: u32) -> bool {
        Day::parse(&self.closed_on).is_some_and(|d| d.days_until(today) > i64::from(days))
    }

    /// Closed: a closure date recorded, and reached.
    pub fn is_closed(&self, today: Day) -> bool {
        Day::parse(&self.closed_on).is_some_and(|d| d <= today)
    }

    /// What the case most needs today.
    pub fn attention(&self, today: Day) -> Attention {
        if self.is_closed(today) {
            return Attention::Closed;
        }
        let review = self.next_review(today).map(|d| today.days_until(d));
        if let Some(days) = review.filter(|d| *d < 0) {
            return Attention::ReviewOverdue(-days);
        }
        match self.overdue(today).count() {
            0 => {}
            n => return Attention::ActionsOverdue(n),
        }
        if let Some(days) = Day::parse(&self.follow_up)
            .map(|f| f.days_until(today))
            .filter(|d| *d > 0)
        {
            return Attention::FollowUpPassed(days);
        }
        if !self.waiting.is_empty() {
            return Attention::Waiting;
        }
        if !self.has_plan {
            return Attention::NoPlan;
        }
        match review {
            Some(days) if days <= REVIEW_SOON_DAYS => Attention::ReviewSoon(days),
            _ => Attention::Nothing,
        }
    }

    /// The plan at a glance, e.g. "2 actions overdue; review due in 5 days".
    pub fn summary(&self, today: Day) -> String {
        let actions = match self.overdue(today).count() {
            0 => "no actions overdue".to_string(),
            1 => "1 action overdue".to_string(),
            n => format!("{n} actions overdue"),
        };
        if self.is_closed(today) {
            return capitalise(&format!("case closed; {actions}"));
        }
        let review = match self.next_review(today).map(|d| today.days_until(d)) {
            None => "no review date set".to_string(),
            Some(0) => "review due today".to_string(),
            Some(1) => "review due tomorrow".to_string(),
            Some(n) if n > 1 => format!("review due in {n} days"),
            Some(-1) => "review overdue by 1 day".to_string(),
            Some(n) => format!("review overdue by {} days", -n),
        };
        capitalise(&format!("{actions}; {review}"))
    }

    /// Whether the child's or a family member's name contains every word searched for.
    pub fn matches(&self, search: &str) -> bool {
        let names: Vec<String> = std::iter::once(&self.child)
            .chain(&self.family)
            .map(|n| n.to_lowercase())
            .collect();
        search
            .split_whitespace()
            .all(|word| names.iter().any(|n| n.contains(&word.to_lowercase())))
    }
}

fn ymd(day: Day) -> (i64, i64, i64) {
    let iso = day.iso();
    let part = |r: std::ops::Range<usize>| iso.get(r).and_then(|p| p.parse().ok()).unwrap_or(0);
    (part(0..4), part(5..7), part(8..10))
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
