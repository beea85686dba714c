//! A request for support to the MASH from a fixed case: what it says, what stops it being
//! sent, and what sending it records.

use autosurgeon::Text;
use shared::documents::referral::{self, NotSent, Referrer};
use shared::documents::{family_plan, Document};
use shared::record::dates::Day;
use shared::record::family::{Person, Role};
use shared::record::step::{ConsentCheck, Direction, NoConsentReason, Step, StepStatus};
use shared::record::CaseRecord;

fn today() -> Day {
    Day::parse("2026-11-26").unwrap()
}

fn referrer() -> Referrer {
    Referrer {
        name: "Lena Lead".into(),
        organisation: "Oak Primary School".into(),
    }
}

/// A case ready to refer, but for the consent reason.
fn case() -> CaseRecord {
    let mut r = CaseRecord::new("Sam Smith");
    let child = &mut r.family.people[0];
    child.date_of_birth = "2018-05-04".into();
    child.gender = "Male".into();
    child.first_language = "English".into();
    child.setting = "Oak Primary School".into();
    let mut mum = Person::new(Role::ParentCarer, "Jo Smith");
    mum.parental_responsibility = Some(true);
    r.family.people.push(mum);
    r.family.address = "12 High Street, Anytown".into();
    let a = &mut r.assessment;
    a.child_voice = Text::with_value("I get scared when they shout.");
    a.parents_views = Text::with_value("Not known");
    a.working_well = Text::with_value("Sam goes to school every day.");
    for risk in [
        &mut a.risks.cse,
        &mut a.risks.missing,
        &mut a.risks.neglect,
        &mut a.risks.pre_birth,
    ] {
        risk.concern = Some(false);
    }
    a.risks.domestic_abuse.concern = Some(true);
    a.risks.domestic_abuse.notes = Text::with_value("Police called twice in October.");
    let mut step = Step::new(Direction::Up, "2026-11-25");
    step.reason = Text::with_value("Sam told his teacher his dad hit his mum; DV is escalating.");
    step.parents_told = Some(false);
    step.consent = Some(ConsentCheck::Override);
    step.safeguarding_lead = "Dee Lead, Designated Safeguarding Lead".into();
    step.anonymous_source = Some(true);
    step.confidential = Text::with_value("The neighbour at number 12 made the first call.");
    step.receiving_team = "Anytown MASH".into();
    r.steps.push(step);
    r
}

fn text(doc: &Document) -> String {
    doc.plain_text()
}

#[test]
fn a_request_without_the_reason_for_no_consent_cannot_be_sent() {
    let record = case();
    let step = referral::current_step(&record).unwrap();
    assert_eq!(
        referral::missing(&record, step),
        vec!["Choose why the request goes without consent".to_string()]
    );
    let mut doc = record.clone().into_document().unwrap();
    let err = referral::mark_sent(&mut doc, &step.id, &referrer(), today()).unwrap_err();
    assert!(matches!(err, NotSent::Incomplete(_)), "{err}");
    // Nothing was recorded.
    let after = CaseRecord::from_document(&doc).unwrap();
    assert!(after.steps[0].sent_date.is_empty());
    assert!(after.consent.sharing.is_empty());
}

#[test]
fn blank_is_not_an_answer_but_not_known_is() {
    let mut record = CaseRecord::new("Ava Jones");
    record.steps.push(Step::new(Direction::Up, "2026-11-25"));
    let gaps = referral::missing(&record, &record.steps[0]).join("\n");
    for gap in [
        "Ava Jones: add their date of birth in Family",
        "Ava Jones: add their gender",
        "Add the parents or carers in Family",
        "Add the family's address",
        "Say what has happened or changed",
        "whether the parents or carers have been told",
        "whether the family has given consent",
        "the child's voice",
        "Answer every risk question",
        "Name the safeguarding lead",
        "stay anonymous",
    ] {
        assert!(gaps.contains(gap), "{gap:?} not in:\n{gaps}");
    }
    // "Not known" answers the parents' views in the fixed case.
    let mut ready = case();
    ready.steps[0].no_consent_reason = Some(NoConsentReason::ChildAtRisk);
    assert!(referral::missing(&ready, &ready.steps[0]).is_empty());
}

#[test]
fn sending_dates_the_step_up_and_records_the_sharing_decision() {
    let mut record = case();
    record.steps[0].no_consent_reason = Some(NoConsentReason::ChildAtRisk);
    let step_id = record.steps[0].id.clone();
    let mut doc = record.into_document().unwrap();
    referral::mark_sent(&mut doc, &step_id, &referrer(), today()).unwrap();
    let after = CaseRecord::from_document(&doc).unwrap();
    let step = &after.steps[0];
    assert_eq!(step.sent_date, "2026-11-26");
    assert_eq!(step.follow_up_date, "2026-11-27", "the next working day");
    assert_eq!(step.status, StepStatus::InProgress, "waiting for an answer");
    let decision = &after.consent.sharing[0];
    assert_eq!(decision.with, "Anytown MASH");
    assert_eq!(decision.shared, Some(true));
    assert_eq!(decision.date, "2026-11-26");
    assert_eq!(decision.decided_by, "Lena Lead (Oak Primary School)");
    assert!(decision
        .lawful_basis
        .contains("Schedule 1, Part 2, paragraph 18), because it would place the child at increased risk of significant harm"));
    assert!(decision.what.as_str().contains("Sam Smith"));
    // Twice is refused: one request, one decision to share.
    let again = referral::mark_sent(&mut doc, &step_id, &referrer(), today()).unwrap_err();
    assert!(matches!(again, NotSent::AlreadySent(_)), "{again}");
    assert_eq!(
        CaseRecord::from_document(&doc)
            .unwrap()
            .consent
            .sharing
            .len(),
        1
    );
}

#[test]
fn each_parent_or_carer_is_asked_about_parental_responsibility() {
    let mut record = case();
    record.steps[0].no_consent_reason = Some(NoConsentReason::ChildAtRisk);
    record
        .family
        .people
        .push(Person::new(Role::ParentCarer, "Dan Smith"));
    assert_eq!(
        referral::missing(&record, &record.steps[0]),
        vec!["Dan Smith: say in Family whether they have parental responsibility".to_string()]
    );
}

#[test]
fn the_request_says_what_the_mash_needs_and_the_family_copy_keeps_the_confidential_out() {
    let mut record = case();
    record.steps[0].no_consent_reason = Some(NoConsentReason::PoliceInvestigation);
    let step = record.steps[0].clone();
    let doc = referral::build(&record, &step, &[], &referrer(), today());
    let all = text(&doc);
    assert_eq!(doc.title, "Request for support: Sam Smith");
    for words in [
        "Anytown MASH",
        "Lena Lead (Oak Primary School)",
        "Dee Lead, Designated Safeguarding Lead",
        "4 May 2018",
        "Parental responsibility",
        "Not asked, because it would prejudice a police investigation",
        "DV (domestic violence) is escalating",
        "I get scared when they shout.",
        "A concern. Police called twice in October.",
        "The neighbour at number 12 made the first call.",
        "Confidential: not to be shared with the family",
    ] {
        assert!(all.contains(words), "{words:?} not in:\n{all}");
    }
    let family_copy = text(&family_plan::build(&record, &[], today()));
    assert!(!family_copy.contains("neighbour at number 12"));
}
