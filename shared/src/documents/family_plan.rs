//! The family's plan: their own copy of the TAC plan, in plain words, to print or download
//! and hand over (councils' guidance: share the agreed plan and every review with the family).
//!
//! Made from what the case holds on this device, and the team as the relay last listed it.
//! Where the record is silent the document says so plainly ("Not written yet") rather than
//! leaving a gap a family might read as "nothing".

use super::{plain, Block, Document, Fact, Section};
use crate::api::{CaseRole, Member};
use crate::caseload::{CaseRow, Owner};
use crate::record::dates::Day;
use crate::record::family::Role;
use crate::record::plan::Action;
use crate::record::CaseRecord;

const NOT_WRITTEN: &str = "Not written yet.";

/// Someone helping the family, as the plan names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    pub professional_id: Option<i64>,
    pub name: String,
    pub role: String,
    pub organisation: String,
    pub contact: String,
}

/// Who is helping: the case's team (lead professional first), with the role words used for
/// them at the latest meeting ("Class teacher"), the lead professional's contact details from
/// the record, and otherwise each person's work email; the lead professional from the record
/// if the team is not known here.
pub fn helpers(record: &CaseRecord, team: &[Member]) -> Vec<Helper> {
    let lead = record.current_lead();
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    let role_words = |name: &str| {
        record
            .meetings
            .iter()
            .rev()
            .flat_map(|m| m.attendees.iter().chain(&m.apologies))
            .find(|p| same(&p.name, name) && !p.role.trim().is_empty())
            .map(|p| p.role.trim().to_string())
    };
    let mut out: Vec<Helper> = team
        .iter()
        .map(|m| {
            let is_lead_here = lead.is_some_and(|l| same(&l.name, &m.name));
            let role = match (m.role, role_words(&m.name)) {
                (CaseRole::Lead, Some(words)) => format!("Lead professional ({words})"),
                (CaseRole::Lead, None) => "Lead professional".into(),
                (CaseRole::Member, Some(words)) => words,
                (CaseRole::Member, None) => "Part of the team".into(),
            };
            Helper {
                professional_id: Some(m.professional_id),
                name: m.name.clone(),
                role,
                organisation: m.agency_name.clone(),
                // The contact recorded for the lead professional, else their work email.
                contact: lead
                    .filter(|_| is_lead_here)
                    .map(|l| l.contact.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| m.email.trim().to_string()),
            }
        })
        .collect();
    if let Some(l) = lead.filter(|l| !out.iter().any(|h| same(&h.name, &l.name))) {
        out.push(Helper {
            professional_id: None,
            name: l.name.trim().to_string(),
            role: match l.role.trim() {
                "" => "Lead professional".into(),
                r => format!("Lead professional ({r})"),
            },
            organisation: l.agency.trim().to_string(),
            contact: l.contact.trim().to_string(),
        });
    }
    // The lead professional first: the family's main contact.
    out.sort_by_key(|h| !h.role.starts_with("Lead professional"));
    out
}

/// The family's surname as the plan's title uses it: the last word of the first child's
/// name, if it has more than one.
fn family_title(record: &CaseRecord) -> String {
    let child = record
        .children()
        .map(|p| p.name.trim())
        .find(|n| !n.is_empty());
    match child.map(|n| n.split_whitespace().collect::<Vec<_>>()) {
        Some(words) if words.len() > 1 => format!("The {} family's plan", words[words.len() - 1]),
        Some(words) if words.len() == 1 => format!("{}'s family plan", words[0]),
        _ => "Our family plan".into(),
    }
}

fn or_not_written(text: &str) -> String {
    match text.trim() {
        "" => NOT_WRITTEN.into(),
        t => t.to_string(),
    }
}

fn day_words(iso: &str) -> Option<String> {
    Day::parse(iso).map(Day::in_words)
}

/// Paragraphs from several texts, leaving out empty ones; "Not written yet." if all are.
fn paragraphs(texts: &[&str]) -> Vec<Block> {
    let blocks: Vec<Block> = texts
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(|t| Block::Paragraph { text: t.into() })
        .collect();
    if blocks.is_empty() {
        vec![Block::Paragraph {
            text: NOT_WRITTEN.into(),
        }]
    } else {
        blocks
    }
}

/// Builds the family's plan as it stands, dated `today`.
pub fn build(record: &CaseRecord, team: &[Member], today: Day) -> Document {
    let helpers = helpers(record, team);
    let row = CaseRow::from_record(record);
    let who = |action: &Action| -> String {
        match Owner::parse(&action.owner) {
            Owner::Professional(id) => helpers
                .iter()
                .find(|h| h.professional_id == Some(id))
                .map(|h| h.name.clone())
                .unwrap_or_else(|| "A member of the team".into()),
            Owner::Person(id) => record
                .family
                .people
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.name.trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "Someone in the family".into()),
            Owner::Named(name) if name.is_empty() => "Not agreed yet".into(),
            Owner::Named(name) => name,
        }
    };
    let is_family = |action: &Action| {
        matches!(Owner::parse(&action.owner), Owner::Person(_))
            || action.agency.trim().eq_ignore_ascii_case("family")
    };

    let mut sections = Vec::new();

    // About this plan.
    let family: Vec<String> = record
        .family
        .people
        .iter()
        .filter(|p| !p.name.trim().is_empty())
        .filter(|p| {
            matches!(
                p.role,
                Role::Child | Role::UnbornBaby | Role::ParentCarer | Role::Sibling
            )
        })
        .map(|p| p.name.trim().to_string())
        .collect();
    let next_review = row
        .next_review(today)
        .map(Day::in_words)
        .unwrap_or_else(|| "Not booked yet".into());
    sections.push(Section {
        heading: "About this plan".into(),
        blocks: vec![
            Block::Paragraph {
                text: "This is the plan we agreed with you. It says what we will all do, who \
                       will do it and by when. You can ask any of the people helping you to \
                       explain it or change it."
                    .into(),
            },
            Block::Item {
                heading: String::new(),
                facts: vec![
                    Fact::new(
                        "Family",
                        if family.is_empty() {
                            "Not recorded yet".into()
                        } else {
                            family.join(", ")
                        },
                    ),
                    Fact::new("Date of this copy", today.in_words()),
                    Fact::new("Next review meeting", next_review.clone()),
                ],
            },
        ],
    });

    // Who is helping.
    sections.push(Section {
        heading: "Who is helping".into(),
        blocks: if helpers.is_empty() {
            vec![Block::Paragraph {
                text: "No one is named yet.".into(),
            }]
        } else {
            helpers
                .iter()
                .map(|h| {
                    let mut facts = vec![Fact::new("Role", h.role.clone())];
                    if !h.organisation.trim().is_empty() {
                        facts.push(Fact::new("Organisation", h.organisation.clone()));
                    }
                    if !h.contact.trim().is_empty() {
                        facts.push(Fact::new("How to contact them", h.contact.clone()));
                    }
                    Block::Item {
                        heading: h.name.clone(),
                        facts,
                    }
                })
                .collect()
        },
    });

    let a = &record.assessment;
    sections.push(Section {
        heading: "What is going well".into(),
        blocks: paragraphs(&[a.working_well.as_str()]),
    });
    sections.push(Section {
        heading: "What people are worried about".into(),
        blocks: paragraphs(&[record.worried_about.as_str(), a.needs_to_happen.as_str()]),
    });

    // The family's goals, each with its actions.
    let mut goals = Vec::new();
    for outcome in &record.plan.outcomes {
        goals.push(Block::Subheading {
            text: or_not_written(outcome.title.as_str()),
        });
        if outcome.actions.is_empty() {
            goals.push(Block::Paragraph {
                text: "No actions agreed yet.".into(),
            });
        }
        for action in &outcome.actions {
            let mut facts = vec![
                Fact::new("Who", who(action)),
                Fact::new(
                    "By when",
                    day_words(&action.due).unwrap_or_else(|| "No date agreed yet".into()),
                ),
                Fact::new("Where it has got to", action.status.label()),
            ];
            if !action.evidence.as_str().trim().is_empty() {
                facts.push(Fact::new(
                    "How it is going",
                    action.evidence.as_str().trim(),
                ));
            }
            goals.push(Block::Item {
                heading: or_not_written(action.what.as_str()),
                facts,
            });
        }
    }
    if goals.is_empty() {
        goals.push(Block::Paragraph {
            text: "No goals agreed yet.".into(),
        });
    }
    sections.push(Section {
        heading: "Your goals and what will happen".into(),
        blocks: goals,
    });

    let family_actions: Vec<String> = record
        .plan
        .actions()
        .map(|(_, a)| a)
        .filter(|a| is_family(a) && !a.status.is_finished())
        .map(|a| match day_words(&a.due) {
            Some(d) => format!("{} ({}, by {d})", a.what.as_str().trim(), who(a)),
            None => format!("{} ({})", a.what.as_str().trim(), who(a)),
        })
        .collect();
    sections.push(Section {
        heading: "Things you will do".into(),
        blocks: if family_actions.is_empty() {
            vec![Block::Paragraph {
                text: "Nothing is written down for the family to do yet.".into(),
            }]
        } else {
            vec![Block::Bullets {
                items: family_actions,
            }]
        },
    });

    let latest = record
        .meetings
        .iter()
        .filter(|m| Day::parse(&m.date).is_some_and(|d| d <= today))
        .max_by_key(|m| m.date.clone());
    let child = row.name();
    sections.push(Section {
        heading: format!("What {child} says"),
        blocks: paragraphs(&[
            a.child_voice.as_str(),
            latest.map_or("", |m| m.child_views.as_str()),
        ]),
    });
    sections.push(Section {
        heading: "What parents and carers say".into(),
        blocks: paragraphs(&[
            a.parents_views.as_str(),
            latest.map_or("", |m| m.family_views.as_str()),
        ]),
    });

    // Who the plan is shared with: the team's organisations and the agencies the family
    // agreed may see it (consent given and not withdrawn).
    let mut shared_with: Vec<String> = helpers
        .iter()
        .map(|h| h.organisation.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    for c in &record.consent.agencies {
        if c.is_current() && !c.agency.trim().is_empty() {
            shared_with.push(c.agency.trim().to_string());
        }
    }
    let mut seen = std::collections::HashSet::new();
    shared_with.retain(|o| seen.insert(o.to_lowercase()));
    sections.push(Section {
        heading: "Who this plan is shared with".into(),
        blocks: if shared_with.is_empty() {
            vec![Block::Paragraph {
                text: "Only you and the people named in this plan.".into(),
            }]
        } else {
            vec![
                Block::Paragraph {
                    text: "You, and the people named in this plan at:".into(),
                },
                Block::Bullets { items: shared_with },
            ]
        },
    });

    let main_contact = helpers.first().map(|h| {
        if h.contact.trim().is_empty() {
            h.name.clone()
        } else {
            format!("{} ({})", h.name, h.contact.trim())
        }
    });
    let mut worse = vec![Block::Paragraph {
        text: match &main_contact {
            Some(who) => format!(
                "If things get harder, or something changes, tell {who} as soon as you can. \
                 You do not have to wait for the next meeting."
            ),
            None => "If things get harder, or something changes, tell one of the people \
                     helping you as soon as you can. You do not have to wait for the next \
                     meeting."
                .into(),
        },
    }];
    worse.push(Block::Paragraph {
        text: "If you think a child is in danger right now, call 999.".into(),
    });
    sections.push(Section {
        heading: "If things get worse".into(),
        blocks: worse,
    });

    let mut doc = Document {
        title: family_title(record),
        subtitle: format!("Next review meeting: {next_review}"),
        sections,
    };
    plain::spell_out(&mut doc);
    doc
}
