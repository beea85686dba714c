//! A request for support to the MASH (a step-up referral), built from what the case already
//! holds, its completeness rules, and what marking it sent records.
//!
//! Audits single out poor referral quality and missing consent information, so a request
//! cannot be marked sent with a required part blank: "not known" is an answer, blank is not.
//! Marking it sent records the sharing decision in the case's consent (what, to whom, why,
//! the lawful basis) and dates the step-up, which then waits for an answer until its status
//! says accepted or rejected (a follow-up date the next working day shows when to chase it).

use super::{Block, Document, Fact, Section};
use crate::api::Member;
use crate::record::consent::SharingDecision;
use crate::record::dates::Day;
use crate::record::edit::{self, List, Path};
use crate::record::family::{Person, Role};
use crate::record::plan::ActionStatus;
use crate::record::step::{ConsentCheck, Direction, NoConsentReason, Step, StepField};
use crate::record::{CaseRecord, RecordError};
use automerge::AutoCommit;

/// Who is making the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    pub name: String,
    pub organisation: String,
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "Yes",
        Some(false) => "No",
        None => "Not answered",
    }
}

/// The step-up a request for support is made from: the newest one not yet answered.
pub fn current_step(record: &CaseRecord) -> Option<&Step> {
    record
        .steps
        .iter()
        .rev()
        .find(|s| s.direction == Direction::Up && !s.status.is_final())
}

/// What the request still lacks, in words that say what to fill in. Empty when it may be
/// sent.
pub fn missing(record: &CaseRecord, step: &Step) -> Vec<String> {
    let mut out = Vec::new();
    let children: Vec<&Person> = record.children().collect();
    if children.is_empty() {
        out.push("Add the child (or unborn baby) in Family".into());
    }
    for c in &children {
        let who = c.display_name();
        match c.role {
            Role::UnbornBaby if blank(&c.expected_date) => out.push(format!(
                "{who}: add the expected date of delivery in Family"
            )),
            Role::Child if blank(&c.date_of_birth) => {
                out.push(format!("{who}: add their date of birth in Family"))
            }
            _ => {}
        }
        if c.role == Role::Child {
            if blank(&c.gender) {
                out.push(format!(
                    "{who}: add their gender in Family (\"not known\" is an answer)"
                ));
            }
            if blank(&c.first_language) {
                out.push(format!(
                    "{who}: add their first language in Family (\"not known\" is an answer)"
                ));
            }
        }
    }
    let parents: Vec<&Person> = record
        .family
        .people
        .iter()
        .filter(|p| p.role == Role::ParentCarer)
        .collect();
    if parents.is_empty() {
        out.push("Add the parents or carers in Family".into());
    }
    for p in parents
        .iter()
        .filter(|p| p.parental_responsibility.is_none())
    {
        out.push(format!(
            "{}: say in Family whether they have parental responsibility",
            p.display_name()
        ));
    }
    if blank(&record.family.address) {
        out.push("Add the family's address in Family (\"not known\" is an answer)".into());
    }
    if blank(step.reason.as_str()) {
        out.push("Say what has happened or changed".into());
    }
    if step.parents_told.is_none() {
        out.push("Say whether the parents or carers have been told about this request".into());
    }
    match &step.consent {
        None | Some(ConsentCheck::Other(_)) => {
            out.push("Say whether the family has given consent".into())
        }
        Some(ConsentCheck::Given) if blank(&step.consent_given_by) => {
            out.push("Say who gave consent".into())
        }
        Some(ConsentCheck::Refused) | Some(ConsentCheck::Override)
            if step.no_consent_reason.is_none() =>
        {
            out.push("Choose why the request goes without consent".into())
        }
        _ => {}
    }
    let a = &record.assessment;
    if blank(a.child_voice.as_str()) {
        out.push("Record the child's voice in the assessment (\"not known\" is an answer)".into());
    }
    if blank(a.parents_views.as_str()) {
        out.push("Record the parents' views in the assessment (\"not known\" is an answer)".into());
    }
    if blank(a.working_well.as_str()) {
        out.push("Record what is working well in the assessment".into());
    }
    let risks = &a.risks;
    if [
        &risks.cse,
        &risks.missing,
        &risks.neglect,
        &risks.domestic_abuse,
        &risks.pre_birth,
    ]
    .iter()
    .any(|r| r.concern.is_none())
    {
        out.push("Answer every risk question in the assessment".into());
    }
    if blank(&step.safeguarding_lead) {
        out.push("Name the safeguarding lead you talked to (\"not known\" is an answer)".into());
    }
    if step.anonymous_source.is_none() {
        out.push("Say whether the person who raised the concern wants to stay anonymous".into());
    }
    out
}

fn consent_words(step: &Step) -> String {
    match (&step.consent, &step.no_consent_reason) {
        (Some(ConsentCheck::Given), _) => format!("Yes, given by {}", step.consent_given_by.trim()),
        (Some(ConsentCheck::Refused), Some(r)) => format!(
            "No, the family refused. Going ahead without consent because {}",
            reason_words(r)
        ),
        (Some(ConsentCheck::Override), Some(r)) => {
            format!("Not asked, because {}", reason_words(r))
        }
        _ => "Not recorded".into(),
    }
}

fn person_facts(p: &Person) -> Vec<Fact> {
    let or_not = |s: &str| {
        if blank(s) {
            "Not recorded".to_string()
        } else {
            s.trim().to_string()
        }
    };
    let mut facts = vec![Fact::new("Who they are", p.role.label())];
    if p.role == Role::UnbornBaby {
        facts.push(Fact::new(
            "Expected date",
            Day::parse(&p.expected_date).map_or_else(|| or_not(&p.expected_date), Day::in_words),
        ));
    } else {
        facts.push(Fact::new(
            "Date of birth",
            Day::parse(&p.date_of_birth).map_or_else(|| or_not(&p.date_of_birth), Day::in_words),
        ));
    }
    if p.is_child_of_case() {
        facts.push(Fact::new("Gender", or_not(&p.gender)));
        facts.push(Fact::new("First language", or_not(&p.first_language)));
        facts.push(Fact::new("School or setting", or_not(&p.setting)));
    } else {
        facts.push(Fact::new(
            "Parental responsibility",
            yes_no(p.parental_responsibility),
        ));
        facts.push(Fact::new(
            "Lives with the child",
            yes_no(p.lives_in_household),
        ));
        if !blank(&p.contact) {
            facts.push(Fact::new("Contact", p.contact.trim()));
        }
    }
    facts
}

fn paragraph(text: &str) -> Block {
    Block::Paragraph {
        text: if blank(text) {
            "Not recorded.".into()
        } else {
            text.trim().to_string()
        },
    }
}

/// The request for support, for the MASH (professionals, not the family: it holds what must
/// stay confidential from them).
pub fn build(
    record: &CaseRecord,
    step: &Step,
    team: &[Member],
    referrer: &Referrer,
    today: Day,
) -> Document {
    let child = crate::caseload::CaseRow::from_record(record).name();
    let mut sections = Vec::new();
    sections.push(Section {
        heading: "About this request".into(),
        blocks: vec![Block::Item {
            heading: String::new(),
            facts: vec![
                Fact::new(
                    "Sent to",
                    if blank(&step.receiving_team) {
                        "The MASH".to_string()
                    } else {
                        step.receiving_team.trim().to_string()
                    },
                ),
                Fact::new(
                    "Date",
                    Day::parse(&step.sent_date).unwrap_or(today).in_words(),
                ),
                Fact::new(
                    "From",
                    format!("{} ({})", referrer.name, referrer.organisation),
                ),
                Fact::new("Safeguarding lead consulted", step.safeguarding_lead.trim()),
            ],
        }],
    });
    let address = record.family.address.trim();
    let mut people: Vec<Block> = Vec::new();
    for p in record.children() {
        people.push(Block::Item {
            heading: p.display_name(),
            facts: person_facts(p),
        });
    }
    for p in record
        .family
        .people
        .iter()
        .filter(|p| !p.is_child_of_case())
    {
        people.push(Block::Item {
            heading: p.display_name(),
            facts: person_facts(p),
        });
    }
    people.push(Block::Item {
        heading: "Where the family lives".into(),
        facts: vec![Fact::new(
            "Address",
            if address.is_empty() {
                "Not recorded"
            } else {
                address
            },
        )],
    });
    if !blank(record.family.household.as_str()) {
        people.push(Block::Paragraph {
            text: record.family.household.as_str().trim().to_string(),
        });
    }
    sections.push(Section {
        heading: "The child and family".into(),
        blocks: people,
    });
    let mut agencies: Vec<String> = team
        .iter()
        .map(|m| format!("{} ({})", m.agency_name, m.name))
        .collect();
    agencies.extend(
        record
            .consent
            .agencies
            .iter()
            .filter(|c| !blank(&c.agency))
            .map(|c| c.agency.trim().to_string()),
    );
    let mut seen = std::collections::HashSet::new();
    agencies.retain(|a| seen.insert(a.to_lowercase()));
    sections.push(Section {
        heading: "Other agencies involved".into(),
        blocks: vec![if agencies.is_empty() {
            paragraph("")
        } else {
            Block::Bullets { items: agencies }
        }],
    });
    sections.push(Section {
        heading: "Consent".into(),
        blocks: vec![Block::Item {
            heading: String::new(),
            facts: vec![
                Fact::new("Parents or carers told", yes_no(step.parents_told)),
                Fact::new("Consent", consent_words(step)),
                Fact::new(
                    "Notes",
                    if blank(step.consent_notes.as_str()) {
                        "None".into()
                    } else {
                        step.consent_notes.as_str().trim().to_string()
                    },
                ),
            ],
        }],
    });
    sections.push(Section {
        heading: "What has happened or changed".into(),
        blocks: vec![paragraph(step.reason.as_str())],
    });
    let a = &record.assessment;
    sections.push(Section {
        heading: format!("What {child} says"),
        blocks: vec![paragraph(a.child_voice.as_str())],
    });
    sections.push(Section {
        heading: "What the parents or carers say".into(),
        blocks: vec![paragraph(a.parents_views.as_str())],
    });
    let r = &a.risks;
    let risk = |name: &str, ind: &crate::record::assessment::RiskIndicator| {
        let answer = match ind.concern {
            Some(true) => "A concern",
            Some(false) => "Asked: no concern",
            None => "Not asked",
        };
        let notes = ind.notes.as_str().trim();
        Fact::new(
            name,
            if notes.is_empty() {
                answer.to_string()
            } else {
                format!("{answer}. {notes}")
            },
        )
    };
    sections.push(Section {
        heading: "Strengths and risks".into(),
        blocks: vec![
            Block::Subheading {
                text: "What is working well".into(),
            },
            paragraph(a.working_well.as_str()),
            Block::Subheading {
                text: "Risk indicators".into(),
            },
            Block::Item {
                heading: String::new(),
                facts: vec![
                    risk("Child sexual exploitation", &r.cse),
                    risk("Going missing", &r.missing),
                    risk("Neglect", &r.neglect),
                    risk("Domestic abuse", &r.domestic_abuse),
                    risk("Before birth", &r.pre_birth),
                ],
            },
        ],
    });
    // Early help so far: the plan's actions and how they went, and the reviews held.
    let mut tried: Vec<String> = record
        .plan
        .actions()
        .map(|(o, act)| {
            let status = match act.status {
                ActionStatus::Done => "done",
                ActionStatus::InProgress => "in progress",
                ActionStatus::NoLongerNeeded => "no longer needed",
                _ => "not started",
            };
            let how = act.evidence.as_str().trim();
            let mut line = format!(
                "{} (for \"{}\"): {status}",
                act.what.as_str().trim(),
                o.title.as_str().trim()
            );
            if !how.is_empty() {
                line.push_str(&format!(". {how}"));
            }
            line
        })
        .collect();
    for m in &record.meetings {
        if let Some(d) = Day::parse(&m.date).filter(|d| *d <= today) {
            let decided = m.decisions.as_str().trim();
            tried.push(if decided.is_empty() {
                format!("{} on {}", m.kind.label(), d.in_words())
            } else {
                format!("{} on {}: {decided}", m.kind.label(), d.in_words())
            });
        }
    }
    sections.push(Section {
        heading: "Early help tried so far, and how it went".into(),
        blocks: vec![if tried.is_empty() {
            paragraph("")
        } else {
            Block::Bullets { items: tried }
        }],
    });
    sections.push(Section {
        heading: "Confidential: not to be shared with the family".into(),
        blocks: vec![
            Block::Item {
                heading: String::new(),
                facts: vec![Fact::new(
                    "The person who raised the concern wants to stay anonymous",
                    yes_no(step.anonymous_source),
                )],
            },
            Block::Paragraph {
                text: if blank(step.confidential.as_str()) {
                    "Nothing else.".into()
                } else {
                    step.confidential.as_str().trim().to_string()
                },
            },
        ],
    });
    let mut doc = Document {
        title: format!("Request for support: {child}"),
        subtitle: "Early help step-up to children's social care".into(),
        sections,
    };
    super::plain::spell_out(&mut doc);
    doc
}

/// Why a request could not be marked sent.
#[derive(Debug, thiserror::Error)]
pub enum NotSent {
    #[error("the request is not complete: {0}")]
    Incomplete(String),
    #[error("the request was already marked as sent on {0}")]
    AlreadySent(String),
    #[error("{0}")]
    Record(#[from] RecordError),
}

/// Marks the request sent on `today`: dates the step-up (which now waits for an answer) and
/// records the sharing decision in the case's consent. Refused while anything is missing.
pub fn mark_sent(
    doc: &mut AutoCommit,
    step_id: &str,
    referrer: &Referrer,
    today: Day,
) -> Result<(), NotSent> {
    let record = CaseRecord::from_document(doc)?;
    let step = record
        .steps
        .iter()
        .find(|s| s.id == step_id)
        .ok_or_else(|| NotSent::Incomplete("the step-up is no longer in the case".into()))?;
    if !blank(&step.sent_date) {
        return Err(NotSent::AlreadySent(step.sent_date.trim().to_string()));
    }
    let gaps = missing(&record, step);
    if !gaps.is_empty() {
        return Err(NotSent::Incomplete(gaps.join("; ")));
    }
    let date = today.iso();
    let to = if blank(&step.receiving_team) {
        "The MASH".to_string()
    } else {
        step.receiving_team.trim().to_string()
    };
    let basis = match (&step.consent, &step.no_consent_reason) {
        (Some(ConsentCheck::Given), _) => {
            format!("Consent, given by {}", step.consent_given_by.trim())
        }
        (_, Some(reason)) => format!(
            "Safeguarding of children and individuals at risk, without consent (Data \
             Protection Act 2018, Schedule 1, Part 2, paragraph 18), because {}",
            reason_words(reason)
        ),
        _ => "Not recorded".into(),
    };
    let child = crate::caseload::CaseRow::from_record(&record).name();
    let mut decision = SharingDecision::new(&to);
    decision.date = date.clone();
    decision.shared = Some(true);
    decision.what = autosurgeon::Text::with_value(format!(
        "A request for support about {child}, with the early help record"
    ));
    decision.reason = autosurgeon::Text::with_value(step.reason.as_str().trim());
    decision.decided_by = format!("{} ({})", referrer.name, referrer.organisation);
    decision.lawful_basis = basis;
    let step_id = step_id.to_string();
    edit::set_text(
        doc,
        &Path::Step(step_id.clone(), StepField::SentDate),
        &date,
    )?;
    if blank(&step.follow_up_date) {
        // Children's social care should decide what happens next within one working day of
        // a referral (Working Together to Safeguard Children 2023): chase it the next one.
        edit::set_text(
            doc,
            &Path::Step(step_id.clone(), StepField::FollowUpDate),
            &next_working_day(today).iso(),
        )?;
    }
    edit::set_text(doc, &Path::Step(step_id, StepField::StatusDate), &date)?;
    edit::add(doc, &List::Sharing, &decision)?;
    Ok(())
}

fn reason_words(reason: &NoConsentReason) -> String {
    let label = reason.label();
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The next weekday after `day` (bank holidays are not known here).
fn next_working_day(day: Day) -> Day {
    let mut next = Day::from_days(day.days() + 1);
    // 1 January 1970 was a Thursday: days % 7 == 2 is a Saturday, 3 a Sunday.
    while matches!(next.days().rem_euclid(7), 2 | 3) {
        next = Day::from_days(next.days() + 1);
    }
    next
}
