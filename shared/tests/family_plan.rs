//! The family's plan made from a fixed case: what it says, in plain words.

use autosurgeon::Text;
use shared::api::{CaseRole, Member};
use shared::documents::family_plan;
use shared::documents::{Block, Document};
use shared::record::consent::AgencyConsent;
use shared::record::dates::Day;
use shared::record::family::{Person, Role};
use shared::record::lead::LeadProfessional;
use shared::record::meetings::{Meeting, MeetingKind, Participant};
use shared::record::plan::{Action, ActionStatus, Outcome};
use shared::record::CaseRecord;

fn case() -> CaseRecord {
    let mut r = CaseRecord::new("Sam Smith");
    let mother = Person::new(Role::ParentCarer, "Jo Smith");
    let mother_id = mother.id.clone();
    r.family.people.push(mother);
    r.family
        .people
        .push(Person::new(Role::SignificantAdult, "Pat Neighbour"));
    r.worried_about = Text::with_value("Sam is often late and tired at school.");
    r.assessment.working_well = Text::with_value("Sam loves football and his mum.");
    r.assessment.child_voice = Text::with_value("I want to get to school on time.");
    r.assessment.parents_views = Text::with_value("Mornings are hard since the baby came.");
    let mut lead = LeadProfessional::new("Alex Adams", "Oak Primary School", "2026-09-01");
    lead.contact = "01632 960 001".into();
    r.lead_professionals.push(lead);
    let mut outcome = Outcome::new("Sam gets to school on time every day");
    let mut a1 = Action::new("Referral to CAMHS for sleep");
    a1.owner = "professional:7".into();
    a1.due = "2026-12-15".into();
    a1.status = ActionStatus::InProgress;
    a1.evidence = Text::with_value("The GP has written to CAMHS.");
    let mut a2 = Action::new("Set two alarms each morning");
    a2.owner = format!("person:{mother_id}");
    a2.due = "2026-12-01".into();
    outcome.actions = vec![a1, a2];
    r.plan.outcomes.push(outcome);
    let mut meeting = Meeting::new(MeetingKind::Review, "2026-11-20");
    meeting.attendees = vec![Participant::new(
        "Bea Brown",
        "Oak Primary School",
        "Class teacher",
    )];
    meeting.next_date = "2027-01-08".into();
    meeting.child_views = Text::with_value("School is better now.");
    r.meetings.push(meeting);
    let mut consent = AgencyConsent::new("Health visiting");
    consent.date = "2026-09-02".into();
    r.consent.agencies.push(consent);
    let mut withdrawn = AgencyConsent::new("Youth club");
    withdrawn.date = "2026-09-02".into();
    withdrawn.withdrawn_date = "2026-10-01".into();
    r.consent.agencies.push(withdrawn);
    r
}

fn team() -> Vec<Member> {
    vec![
        Member {
            professional_id: 7,
            name: "Bea Brown".into(),
            agency_id: 2,
            agency_name: "Oak Primary School".into(),
            role: CaseRole::Member,
            email: "bea.brown@oak.sch.uk".into(),
        },
        Member {
            professional_id: 3,
            name: "Alex Adams".into(),
            agency_id: 2,
            agency_name: "Oak Primary School".into(),
            role: CaseRole::Lead,
            email: "alex.adams@oak.sch.uk".into(),
        },
    ]
}

fn section<'a>(doc: &'a Document, heading: &str) -> &'a [Block] {
    &doc.sections
        .iter()
        .find(|s| s.heading == heading)
        .unwrap_or_else(|| panic!("no section {heading:?} in {doc:#?}"))
        .blocks
}

fn text(blocks: &[Block]) -> String {
    serde_json::to_string(blocks).unwrap()
}

#[test]
fn the_family_plan_says_who_what_and_when_in_plain_words() {
    let today = Day::parse("2026-11-26").unwrap();
    let doc = family_plan::build(&case(), &team(), today);
    assert_eq!(doc.title, "The Smith family's plan");
    assert_eq!(doc.subtitle, "Next review meeting: 8 January 2027");

    let about = text(section(&doc, "About this plan"));
    assert!(about.contains("Sam Smith, Jo Smith"), "{about}");
    assert!(!about.contains("Pat Neighbour"), "{about}");
    assert!(about.contains("26 November 2026"), "{about}");

    // The lead professional first, with their contact; the teacher by the role words the
    // meeting used.
    let helping = section(&doc, "Who is helping");
    let Block::Item { heading, facts } = &helping[0] else {
        panic!("{helping:?}")
    };
    assert_eq!(heading, "Alex Adams");
    assert_eq!(facts[0].value, "Lead professional");
    assert!(facts.iter().any(|f| f.value == "01632 960 001"));
    assert!(text(helping).contains("Class teacher"));
    // Others are reached at their work email; the lead's recorded contact comes first.
    assert!(text(helping).contains("bea.brown@oak.sch.uk"));
    assert!(!text(helping).contains("alex.adams@oak.sch.uk"));

    assert!(text(section(&doc, "What is going well")).contains("loves football"));
    assert!(text(section(&doc, "What people are worried about")).contains("late and tired"));

    // Actions: who by name (team member by id, family member by person id), dates in words,
    // abbreviations spelled out once.
    let goals = text(section(&doc, "Your goals and what will happen"));
    assert!(
        goals.contains("Sam gets to school on time every day"),
        "{goals}"
    );
    assert!(
        goals.contains("Referral to CAMHS (Child and Adolescent Mental Health Services) for sleep"),
        "{goals}"
    );
    assert!(goals.contains("\"Bea Brown\""), "{goals}");
    assert!(goals.contains("15 December 2026"), "{goals}");
    assert!(goals.contains("In progress"), "{goals}");
    assert!(
        goals.contains("The GP (family doctor) has written to CAMHS."),
        "{goals}"
    );
    let family = text(section(&doc, "Things you will do"));
    assert!(
        family.contains("Set two alarms each morning (Jo Smith, by 1 December 2026)"),
        "{family}"
    );

    let child = text(section(&doc, "What Sam Smith says"));
    assert!(child.contains("on time") && child.contains("School is better now"));
    assert!(text(section(&doc, "What parents and carers say")).contains("Mornings are hard"));

    let shared_with = text(section(&doc, "Who this plan is shared with"));
    assert!(shared_with.contains("Oak Primary School") && shared_with.contains("Health visiting"));
    assert!(!shared_with.contains("Youth club"), "withdrawn consent");

    let worse = text(section(&doc, "If things get worse"));
    assert!(worse.contains("tell Alex Adams (01632 960 001)"), "{worse}");
    assert!(worse.contains("call 999"));
    assert!(doc.within_limits());
}

#[test]
fn an_empty_case_reads_as_not_yet_written_not_blank() {
    let today = Day::parse("2026-11-26").unwrap();
    let doc = family_plan::build(&CaseRecord::new(""), &[], today);
    assert_eq!(doc.title, "Our family plan");
    for s in &doc.sections {
        assert!(!s.blocks.is_empty(), "{} is empty", s.heading);
    }
    assert!(text(section(&doc, "What is going well")).contains("Not written yet."));
    assert!(text(section(&doc, "Your goals and what will happen")).contains("No goals agreed yet."));
    assert!(text(section(&doc, "Who is helping")).contains("No one is named yet."));
}
