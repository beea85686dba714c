//! Validation that helps and never blocks: what is still missing from a case, in plain
//! English, section by section, and the plan's state in one line.
//!
//! Nothing here stops anyone saving. The gaps listed are the ones case audits keep finding
//! (no father recorded, the child's voice missing, actions with no owner, step-ups with no
//! consent or override), so the lead professional sees them while there is time to fill them.

use super::assessment::{Risk, Side};
use super::closure::ClosureReason;
use super::consent::ConsentMethod;
use super::dates::Day;
use super::family::Role;
use super::meetings::{changed_since_agreement, Meeting};
use super::plan::ActionStatus;
use super::step::{ConsentCheck, Direction, StepStatus};
use super::CaseRecord;
use autosurgeon::Text;

/// The part of the case a missing item belongs to, so the UI can show it in that section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Family,
    Consent,
    Assessment,
    Plan,
    Meetings,
    LeadProfessional,
    StepUpDown,
    Escalation,
    Closure,
}

/// One thing missing from the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub section: Section,
    /// What is missing, as a sentence to show people (GOV.UK style, no full stop).
    pub message: String,
    /// The id of the list item concerned, if it is about one (to link to it).
    pub item: Option<String>,
}

/// Collects missing things for one section.
struct Report<'a> {
    out: &'a mut Vec<Missing>,
    section: Section,
}

impl Report<'_> {
    fn add(&mut self, message: impl Into<String>) {
        self.out.push(Missing {
            section: self.section,
            message: message.into(),
            item: None,
        });
    }

    fn item(&mut self, id: &str, message: impl Into<String>) {
        self.out.push(Missing {
            section: self.section,
            message: message.into(),
            item: Some(id.to_string()),
        });
    }
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn blank_text(t: &Text) -> bool {
    t.as_str().trim().is_empty()
}

/// The start of a free text, to name an item in a message.
fn quote(t: &Text) -> String {
    let line = t.as_str().trim().lines().next().unwrap_or("").trim();
    let mut s: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        s.push('…');
    }
    s
}

fn uncapitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Everything still missing from the case, section by section; empty for a complete record.
pub fn missing(record: &CaseRecord) -> Vec<Missing> {
    type Check = fn(&CaseRecord, &mut Report);
    let checks: [(Section, Check); 9] = [
        (Section::Family, family),
        (Section::Consent, consent),
        (Section::Assessment, assessment),
        (Section::Plan, plan),
        (Section::Meetings, meetings),
        (Section::LeadProfessional, lead),
        (Section::StepUpDown, steps),
        (Section::Escalation, escalations),
        (Section::Closure, closure),
    ];
    let mut out = Vec::new();
    for (section, check) in checks {
        check(
            record,
            &mut Report {
                out: &mut out,
                section,
            },
        );
    }
    out
}

/// Like [`missing`], adding what only the document's history shows: meeting records changed
/// after they were agreed ([`changed_after_agreement`]), in the Meetings section.
pub fn missing_in_document<D: automerge::ReadDoc + autosurgeon::ReadDoc>(
    record: &CaseRecord,
    doc: &D,
) -> Vec<Missing> {
    let mut out = missing(record);
    let at = out
        .iter()
        .position(|m| m.section > Section::Meetings)
        .unwrap_or(out.len());
    out.splice(at..at, changed_after_agreement(record, doc));
    out
}

/// Each meeting whose agreed record has changed since it was agreed (see
/// [`changed_since_agreement`]), e.g. "The review on 2026-12-01 was changed after it was
/// agreed: ask those present to agree it again". A meeting whose agreed version is not in
/// the document is left out: there is nothing to compare yet.
pub fn changed_after_agreement<D: automerge::ReadDoc + autosurgeon::ReadDoc>(
    record: &CaseRecord,
    doc: &D,
) -> Vec<Missing> {
    record
        .meetings
        .iter()
        .filter(|m| m.is_agreed())
        .filter(|m| changed_since_agreement(doc, &m.id).is_ok_and(|c| !c.is_empty()))
        .map(|m| Missing {
            section: Section::Meetings,
            message: format!(
                "{} was changed after it was agreed: ask those present to agree it again",
                m.display_name()
            ),
            item: Some(m.id.clone()),
        })
        .collect()
}

fn family(record: &CaseRecord, r: &mut Report) {
    let f = &record.family;
    if blank(&f.address) {
        r.add("The family's address is not recorded");
    }
    if record.children().next().is_none() {
        r.add("No child is recorded");
    }
    for p in &f.people {
        let name = p.display_name();
        if blank(&p.name) && p.role != Role::UnbornBaby {
            r.item(&p.id, format!("{name} has no name"));
        }
        match p.role {
            Role::Child => {
                if blank(&p.date_of_birth) {
                    r.item(&p.id, format!("{name} has no date of birth"));
                }
                if p.lives_in_household.is_none() {
                    r.item(
                        &p.id,
                        format!("It is not recorded whether {name} lives in the household"),
                    );
                }
            }
            Role::UnbornBaby if blank(&p.expected_date) => {
                r.item(&p.id, format!("{name} has no expected date of delivery"));
            }
            Role::ParentCarer => {
                if p.relationship.is_none() {
                    r.item(
                        &p.id,
                        format!("{name}'s relationship to the child is not recorded"),
                    );
                }
                if p.parental_responsibility.is_none() {
                    r.item(
                        &p.id,
                        format!("It is not recorded whether {name} has parental responsibility"),
                    );
                }
                if p.lives_in_household.is_none() {
                    r.item(
                        &p.id,
                        format!("It is not recorded whether {name} lives in the household"),
                    );
                }
            }
            _ => {}
        }
        if p.is_father() && blank_text(&p.involvement) {
            r.item(
                &p.id,
                format!("How {name} (father) is involved is not recorded"),
            );
        }
    }
    if !f.people.iter().any(|p| p.is_father()) && blank_text(&f.no_father_reason) {
        r.add("No father is recorded and no reason is given");
    }
}

fn consent(record: &CaseRecord, r: &mut Report) {
    let c = &record.consent;
    if c.agencies.is_empty() && c.overrides.is_empty() {
        r.add("No consent to share information is recorded");
    }
    for a in &c.agencies {
        if blank(&a.agency) {
            r.item(&a.id, "A consent does not say which agency it is for");
        }
        let who = if blank(&a.agency) {
            "Consent".to_string()
        } else {
            format!("Consent for {}", a.agency.trim())
        };
        if blank(&a.given_by) {
            r.item(&a.id, format!("{who} does not say who gave it"));
        }
        if a.giver.is_none() {
            r.item(
                &a.id,
                format!("{who} does not say whether a parent or the child gave it"),
            );
        }
        if a.method.is_none() {
            r.item(
                &a.id,
                format!(
                    "{who} does not say whether it was {} or {}",
                    uncapitalise(ConsentMethod::Written.label()),
                    uncapitalise(ConsentMethod::Verbal.label())
                ),
            );
        }
        if blank(&a.date) {
            r.item(&a.id, format!("{who} has no date"));
        }
    }
    for d in &c.do_not_share {
        if blank(&d.with) {
            r.item(&d.id, "A \"do not share\" entry does not say who with");
        }
    }
    for o in &c.overrides {
        let name = if blank(&o.agency) {
            "A consent override".to_string()
        } else {
            format!("The consent override for {}", o.agency.trim())
        };
        if blank(&o.agency) {
            r.item(
                &o.id,
                "A consent override does not say who information is shared with",
            );
        }
        if blank(&o.lawful_basis) {
            r.item(&o.id, format!("{name} has no lawful basis"));
        }
        if blank_text(&o.reason) {
            r.item(&o.id, format!("{name} has no reason"));
        }
        if blank(&o.decided_by) {
            r.item(&o.id, format!("{name} does not say who decided"));
        }
        if blank(&o.decided_date) {
            r.item(&o.id, format!("{name} has no date"));
        }
    }
    for s in &c.sharing {
        let with = if blank(&s.with) {
            "someone".to_string()
        } else {
            s.with.trim().to_string()
        };
        if blank(&s.with) {
            r.item(&s.id, "A sharing decision does not say who with");
        }
        match s.shared {
            None => r.item(
                &s.id,
                format!(
                    "The sharing decision about {with} does not say whether information was shared"
                ),
            ),
            Some(shared) if blank_text(&s.reason) => r.item(
                &s.id,
                format!(
                    "The decision {} share with {with} has no reason",
                    if shared { "to" } else { "not to" }
                ),
            ),
            Some(_) => {}
        }
        if blank(&s.date) {
            r.item(
                &s.id,
                format!("The sharing decision about {with} has no date"),
            );
        }
    }
}

fn assessment(record: &CaseRecord, r: &mut Report) {
    let a = &record.assessment;
    if blank(&a.started) {
        r.add("The assessment has no start date");
    }
    if blank(&a.author) {
        r.add("The assessment has no author");
    }
    if blank_text(&a.reason) {
        r.add("The reason for the assessment is not recorded");
    }
    for side in Side::ALL {
        let s = side.of(a);
        if blank_text(&s.strengths) {
            r.add(format!("No strengths are recorded for {}", side.label()));
        }
        if blank_text(&s.needs) {
            r.add(format!("No needs are recorded for {}", side.label()));
        }
    }
    if blank_text(&a.child_voice) {
        r.add("The child's voice is not recorded");
    }
    if blank_text(&a.parents_views) {
        r.add("Parents' views are not recorded");
    }
    if blank_text(&record.worried_about) {
        r.add("What we are worried about is not recorded");
    }
    if blank_text(&a.working_well) {
        r.add("What is working well is not recorded");
    }
    if blank_text(&a.needs_to_happen) {
        r.add("What needs to happen is not recorded");
    }
    match a.scale {
        None => r.add("The assessment has not been scored from 0 to 10"),
        Some(s) if !(0..=10).contains(&s) => {
            r.add(format!("The assessment's score of {s} is not from 0 to 10"))
        }
        Some(_) => {}
    }
    for risk in Risk::ALL {
        let indicator = risk.of(&a.risks);
        let verb = if risk == Risk::PreBirth {
            "have"
        } else {
            "has"
        };
        match indicator.concern {
            None => r.add(format!("{} {verb} not been asked about", risk.label())),
            Some(true) if blank_text(&indicator.notes) => r.add(format!(
                "{} is marked as a concern but nothing is recorded about it",
                risk.label()
            )),
            _ => {}
        }
    }
}

fn plan(record: &CaseRecord, r: &mut Report) {
    let p = &record.plan;
    if p.outcomes.is_empty() {
        r.add("The plan has no outcomes");
    }
    for o in &p.outcomes {
        let title = quote(&o.title);
        if title.is_empty() {
            r.item(&o.id, "An outcome has no description");
        } else if o.actions.is_empty() {
            r.item(&o.id, format!("Outcome '{title}' has no actions"));
        }
        for a in &o.actions {
            let what = quote(&a.what);
            let name = if what.is_empty() {
                if title.is_empty() {
                    "An action".to_string()
                } else {
                    format!("An action for '{title}'")
                }
            } else {
                format!("Action '{what}'")
            };
            if what.is_empty() {
                r.item(&a.id, format!("{name} does not say what will be done"));
            }
            if blank(&a.owner) {
                r.item(&a.id, format!("{name} has no owner"));
            }
            if blank(&a.agency) {
                r.item(&a.id, format!("{name} has no agency"));
            }
            if blank(&a.due) {
                r.item(&a.id, format!("{name} has no due date"));
            } else if Day::parse(&a.due).is_none() {
                r.item(
                    &a.id,
                    format!("{name} has a due date that is not a real date"),
                );
            }
            if a.status == ActionStatus::Done && blank_text(&a.evidence) {
                r.item(
                    &a.id,
                    format!("{name} is done but has no evidence of progress"),
                );
            }
        }
    }
}

fn meetings(record: &CaseRecord, r: &mut Report) {
    if record.meetings.is_empty() {
        r.add("No Team Around the Child meeting is recorded");
        return;
    }
    for m in &record.meetings {
        let name = m.display_name();
        let lower = uncapitalise(&name);
        if blank(&m.date) {
            r.item(&m.id, format!("{name} has no date"));
        }
        if !is_held(m) {
            continue;
        }
        if m.attendees.is_empty() {
            r.item(&m.id, format!("{name} has no attendees"));
        }
        if blank_text(&m.child_views) {
            r.item(
                &m.id,
                format!("The child's views are not recorded for {lower}"),
            );
        }
        if blank_text(&m.family_views) {
            r.item(
                &m.id,
                format!("The family's views are not recorded for {lower}"),
            );
        }
        if blank_text(&m.decisions) {
            r.item(&m.id, format!("No decisions are recorded for {lower}"));
        }
        if m.agreed.is_empty() {
            r.item(&m.id, format!("Nobody has agreed the record of {lower}"));
        }
        for p in &m.progress {
            if record.plan.action(&p.action_id).is_none() {
                r.item(
                    &p.id,
                    format!(
                        "A progress note from {lower} is about an action no longer in the plan"
                    ),
                );
            }
        }
    }
    let latest_held = record
        .meetings
        .iter()
        .filter(|m| is_held(m))
        .max_by_key(|m| Day::parse(&m.date));
    if let Some(m) = latest_held {
        let held_on = Day::parse(&m.date);
        let booked_after = record
            .meetings
            .iter()
            .any(|b| Day::parse(&b.date) > held_on);
        if blank(&m.next_date) && !booked_after && !record.closure.is_started() {
            r.item(
                &m.id,
                format!(
                    "No next meeting date is set at {}",
                    uncapitalise(&m.display_name())
                ),
            );
        }
    }
}

/// A meeting with something recorded has been held; one with nothing yet is booked ahead.
fn is_held(m: &Meeting) -> bool {
    !m.attendees.is_empty()
        || !blank_text(&m.child_views)
        || !blank_text(&m.family_views)
        || !blank_text(&m.decisions)
        || !m.progress.is_empty()
        || !m.agreed.is_empty()
}

fn lead(record: &CaseRecord, r: &mut Report) {
    let history = &record.lead_professionals;
    if history.is_empty() {
        r.add("No lead professional is recorded");
        return;
    }
    if record.current_lead().is_none() && !record.closure.is_started() {
        r.add("Nobody holds the lead professional role now");
    }
    for l in history {
        let name = if blank(&l.name) {
            "A lead professional".to_string()
        } else {
            l.name.trim().to_string()
        };
        if blank(&l.name) {
            r.item(&l.id, "A lead professional has no name");
        }
        if blank(&l.agency) {
            r.item(&l.id, format!("{name} has no agency"));
        }
        if blank(&l.from) {
            r.item(
                &l.id,
                format!("{name} has no start date as lead professional"),
            );
        }
        if !blank(&l.to) && blank_text(&l.handover_notes) {
            r.item(&l.id, format!("The handover from {name} has no notes"));
        }
    }
}

fn steps(record: &CaseRecord, r: &mut Report) {
    for s in &record.steps {
        let noun = s.noun();
        if blank(&s.date) {
            r.item(&s.id, format!("The {noun} has no date"));
        }
        if blank_text(&s.reason) {
            r.item(&s.id, format!("The {noun} has no reason"));
        }
        match &s.consent {
            None | Some(ConsentCheck::Other(_)) => r.item(
                &s.id,
                format!("The {noun} has no recorded consent or safeguarding override"),
            ),
            Some(ConsentCheck::Refused) => r.item(
                &s.id,
                format!(
                    "The family refused consent to the {noun} and no safeguarding override is recorded"
                ),
            ),
            Some(ConsentCheck::Override) if blank_text(&s.consent_notes) => r.item(
                &s.id,
                format!("The safeguarding override for the {noun} has no reason"),
            ),
            Some(_) => {}
        }
        if s.direction == Direction::Up && blank_text(&s.referral_summary) {
            r.item(&s.id, format!("The {noun} has no referral summary"));
        }
        if matches!(s.status, StepStatus::Accepted | StepStatus::Done) {
            if blank(&s.receiving_team) {
                r.item(
                    &s.id,
                    format!("The {noun} was accepted but no receiving team is recorded"),
                );
            }
            if blank(&s.new_lead) {
                r.item(
                    &s.id,
                    format!("The {noun} was accepted but no new lead professional is recorded"),
                );
            }
        }
        if s.status == StepStatus::Done {
            if blank(&s.handover_meeting_id) {
                r.item(
                    &s.id,
                    format!("The {noun} is done but no handover meeting is recorded"),
                );
            } else if !record
                .meetings
                .iter()
                .any(|m| m.id == s.handover_meeting_id)
            {
                r.item(
                    &s.id,
                    format!("The handover meeting for the {noun} is no longer in the record"),
                );
            }
        }
        let why = match s.status {
            StepStatus::Rejected => Some("rejected"),
            StepStatus::Withdrawn => Some("withdrawn"),
            _ => None,
        };
        if let Some(why) = why {
            if blank_text(&s.decision_notes) {
                r.item(
                    &s.id,
                    format!("The {noun} was {why} but the reason is not recorded"),
                );
            }
        }
    }
}

fn escalations(record: &CaseRecord, r: &mut Report) {
    for e in &record.escalations {
        let name = if blank(&e.against_agency) {
            "An escalation".to_string()
        } else {
            format!("The escalation about {}", e.against_agency.trim())
        };
        if blank(&e.against_agency) {
            r.item(&e.id, "An escalation does not say which agency it is about");
        }
        if !e.has_stage() {
            r.item(&e.id, format!("{name} has no stage"));
        }
        if e.category.is_none() {
            r.item(&e.id, format!("{name} has no category"));
        }
        if blank(&e.raised_by) {
            r.item(&e.id, format!("{name} does not say who raised it"));
        }
        if blank_text(&e.issue) {
            r.item(
                &e.id,
                format!("{name} does not say what the disagreement is"),
            );
        }
        if blank(&e.raised_date) {
            r.item(&e.id, format!("{name} has no date raised"));
        }
        if e.is_resolved() && blank_text(&e.resolution) {
            r.item(
                &e.id,
                format!("{name} is resolved but the resolution is not recorded"),
            );
        }
    }
}

fn closure(record: &CaseRecord, r: &mut Report) {
    let c = &record.closure;
    if !c.is_started() {
        return;
    }
    if c.reason.is_none() {
        r.add("Closure has no reason");
    }
    if blank(&c.date) {
        r.add("Closure has no date");
    }
    if c.reason == Some(ClosureReason::SteppedUp)
        && !record.steps.iter().any(|s| {
            s.direction == Direction::Up
                && matches!(s.status, StepStatus::Accepted | StepStatus::Done)
        })
    {
        r.add("Closure says the case was stepped up but no accepted step-up is recorded");
    }
    for a in &c.actions {
        let what = quote(&a.what);
        if what.is_empty() {
            r.item(
                &a.id,
                "A post-closure action does not say what will be done",
            );
        }
        let name = if what.is_empty() {
            "A post-closure action".to_string()
        } else {
            format!("Post-closure action '{what}'")
        };
        if blank(&a.owner) {
            r.item(&a.id, format!("{name} has no owner"));
        }
    }
}

/// The plan at a glance, e.g. "2 actions overdue; review due in 5 days". `today` is
/// `YYYY-MM-DD` (there is no clock here); if it is not a date the summary is empty.
///
/// An action is overdue when its due date is before today and it is neither done nor no
/// longer needed. The next review is the earliest meeting booked after today, or else the
/// next date set at the latest meeting held (which may have passed: "review overdue by …").
pub fn plan_summary(record: &CaseRecord, today: &str) -> String {
    let Some(today) = Day::parse(today) else {
        return String::new();
    };
    crate::caseload::CaseRow::from_record(record).summary(today)
}
