//! The full case record: round trips through Automerge, migration from version 1, concurrent
//! edits merging, forward compatibility, validation and the plan summary.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, Value, ROOT};
use autosurgeon::{hydrate_prop, reconcile_prop, Hydrate, Reconcile, Text};
use shared::case::{Case, Field};
use shared::record::assessment::{AssessmentField, Risk, RiskField, Side, SideField};
use shared::record::closure::{ClosureField, ClosureReason, PostClosureAction, PostClosureField};
use shared::record::consent::{
    AgencyConsent, AgencyConsentField, ConsentGiver, ConsentMethod, ConsentOverride, DoNotShare,
    DoNotShareField, OverrideField, SharingDecision, SharingField,
};
use shared::record::edit::{self, ItemKind, Kind, List, Path};
use shared::record::escalation::{Escalation, EscalationCategory, EscalationField};
use shared::record::family::{FamilyField, Person, PersonField, Relationship, Role};
use shared::record::lead::{LeadField, LeadProfessional};
use shared::record::meetings::{
    ActionProgress, Agreement, AgreementField, Meeting, MeetingField, MeetingKind, Participant,
    ParticipantField, ProgressField,
};
use shared::record::migrate::{MIGRATED_CHILD_ID, MIGRATED_LEAD_ID};
use shared::record::plan::{
    Action, ActionField, ActionStatus, Outcome, OutcomeField, PlanField, Score, ScoreField,
};
use shared::record::step::{ConsentCheck, Direction, Step, StepField, StepStatus};
use shared::record::validation::{missing, plan_summary, Missing, Section};
use shared::record::{migrate, CaseRecord, RecordError, SCHEMA_VERSION};
use std::fmt::Debug;

fn t(s: &str) -> Text {
    Text::with_value(s)
}

/// A case with every section filled in, complete enough that nothing is missing.
fn full_record() -> CaseRecord {
    let mut r = CaseRecord::new("Sam Smith");
    r.worried_about = t("Sam is often late and hungry.\nMum is struggling since the move.");

    let f = &mut r.family;
    f.address = "12 Oak Road, Leeds LS1 1AA".into();
    f.household = t("Sam lives with Mum and baby brother Jo; Dad lives nearby.");
    f.no_father_reason = t("");
    let child = &mut f.people[0];
    child.relationship = None;
    child.other_names = "Sammy".into();
    child.date_of_birth = "2016-05-04".into();
    child.gender = "Male".into();
    child.ethnicity = "White British".into();
    child.religion = "None".into();
    child.first_language = "English".into();
    child.interpreter_needed = Some(false);
    child.disability_sen = t("SEN support for reading");
    child.parental_responsibility = Some(false);
    child.lives_in_household = Some(true);
    child.setting = "Oak Primary School".into();
    child.involvement = t("Keen to take part.");
    let mut baby = Person::new(Role::UnbornBaby, "");
    baby.expected_date = "2025-09-01".into();
    let mut mum = Person::new(Role::ParentCarer, "Amy Smith");
    mum.relationship = Some(Relationship::Mother);
    mum.parental_responsibility = Some(true);
    mum.lives_in_household = Some(true);
    mum.contact = "07700 900123".into();
    mum.first_language = "Polish".into();
    mum.interpreter_needed = Some(true);
    let mut dad = Person::new(Role::ParentCarer, "Lee Jones");
    dad.relationship = Some(Relationship::Father);
    dad.parental_responsibility = Some(true);
    dad.lives_in_household = Some(false);
    dad.involvement = t("Sees Sam at weekends; wants to come to meetings.");
    let mut sister = Person::new(Role::Sibling, "Jo Smith");
    sister.relationship = Some(Relationship::Sibling);
    sister.date_of_birth = "2023-01-10".into();
    let mut nan = Person::new(Role::SignificantAdult, "Pat Smith");
    nan.relationship = Some(Relationship::Grandparent);
    f.people.extend([baby, mum, dad, sister, nan]);

    let c = &mut r.consent;
    let mut school = AgencyConsent::new("Oak Primary School");
    school.scope = t("Attendance and wellbeing");
    school.given_by = "Amy Smith".into();
    school.giver = Some(ConsentGiver::Parent);
    school.method = Some(ConsentMethod::Written);
    school.date = "2025-01-06".into();
    school.notes = t("Signed form on file.");
    let mut hv = AgencyConsent::new("Health visiting");
    hv.given_by = "Amy Smith".into();
    hv.giver = Some(ConsentGiver::Parent);
    hv.method = Some(ConsentMethod::Verbal);
    hv.date = "2025-01-06".into();
    hv.withdrawn_date = "2025-03-01".into();
    c.agencies = vec![school, hv];
    let mut dns = DoNotShare::new("Lee's employer");
    dns.reason = t("Mum asked.");
    c.do_not_share.push(dns);
    let mut ov = ConsentOverride::new("MASH");
    ov.lawful_basis = "UK GDPR 6(1)(e), 9(2)(g)".into();
    ov.reason = t("Disclosure of harm; seeking consent would put Sam at risk.");
    ov.decided_by = "Jane Doe, DSL".into();
    ov.decided_date = "2025-04-02".into();
    c.overrides.push(ov);
    let mut share = SharingDecision::new("GP");
    share.date = "2025-01-20".into();
    share.shared = Some(true);
    share.what = t("The plan");
    share.reason = t("GP is part of the TAC.");
    share.decided_by = "Jane Doe".into();
    share.lawful_basis = "Consent".into();
    c.sharing.push(share);

    let a = &mut r.assessment;
    a.started = "2025-01-06".into();
    a.completed = "2025-01-20".into();
    a.author = "Jane Doe, Oak Primary".into();
    a.co_authors.push(Participant::new(
        "Kim Lee",
        "Health visiting",
        "Health visitor",
    ));
    a.present.push(Participant::new("Amy Smith", "", "Mother"));
    a.reason = t("Attendance has dropped to 82%.");
    for side in [
        &mut a.child_development,
        &mut a.parenting,
        &mut a.family_environment,
    ] {
        side.strengths = t("Warm relationships.");
        side.needs = t("Routine in the mornings.");
    }
    a.child_voice = t("I like football. I'm tired at school.");
    a.parents_views = t("Mum wants help with mornings.");
    a.working_well = t("Sam loves school.");
    a.needs_to_happen = t("A morning routine and a breakfast club place.");
    a.scale = Some(4);
    for risk in [
        &mut a.risks.cse,
        &mut a.risks.missing,
        &mut a.risks.neglect,
        &mut a.risks.domestic_abuse,
    ] {
        risk.concern = Some(false);
    }
    a.risks.pre_birth.concern = Some(true);
    a.risks.pre_birth.notes = t("Mum has not yet booked with a midwife.");

    let mut outcome = Outcome::new("Sam gets to school on time, ready to learn");
    let mut act = Action::new("Attend school every day");
    act.owner = "Amy Smith".into();
    act.agency = "Family".into();
    act.due = "2025-03-01".into();
    act.status = ActionStatus::InProgress;
    act.evidence = t("Attendance up to 90%.");
    let mut club = Action::new("Offer a breakfast club place");
    club.owner = "Jane Doe".into();
    club.agency = "Oak Primary School".into();
    club.due = "2025-02-01".into();
    club.status = ActionStatus::Done;
    club.evidence = t("Started 27 January.");
    outcome.actions = vec![act, club];

    let mut first = Meeting::new(MeetingKind::FirstTac, "2025-02-03");
    first.attendees = vec![
        Participant::new("Amy Smith", "", "Mother"),
        Participant::new("Jane Doe", "Oak Primary School", "Family worker"),
    ];
    first.apologies = vec![Participant::new("Dr Patel", "GP", "GP")];
    first.child_views = t("Sam drew his morning.");
    first.family_views = t("Mum agrees with the plan.");
    let mut progress = ActionProgress::new(&outcome.actions[0].id);
    progress.status = Some(ActionStatus::InProgress);
    progress.note = t("Late twice this week.");
    first.progress.push(progress);
    first.decisions = t("Breakfast club from Monday.");
    first.next_date = "2025-03-17".into();
    first.agreed = vec![
        Agreement::new("Amy Smith", "2025-02-03"),
        Agreement {
            agency: "Oak Primary School".into(),
            ..Agreement::new("Jane Doe", "2025-02-04")
        },
    ];
    outcome.scores.push(Score::new(&first.id, "2025-02-03", 3));
    let mut handover = Meeting::new(MeetingKind::Handover, "2025-04-20");
    handover.attendees = vec![Participant::new(
        "Sol Ade",
        "Children's social care",
        "Social worker",
    )];
    handover.child_views = t("Sam said he is happier.");
    handover.family_views = t("Mum is relieved.");
    handover.decisions = t("Social care leads from today.");
    handover.next_date = "2025-06-01".into();
    handover.agreed = vec![Agreement::new("Sol Ade", "2025-04-20")];
    r.plan.scale_max = Some(10);
    r.plan.outcomes.push(outcome);

    let mut old = LeadProfessional::new("Jane Doe", "Oak Primary School", "2025-01-06");
    old.role = "Family worker".into();
    old.contact = "jane@oak.sch.uk".into();
    old.to = "2025-04-20".into();
    old.handover_notes = t("Handed to social care at the handover meeting.");
    let current = LeadProfessional::new("Sol Ade", "Children's social care", "2025-04-20");
    r.lead_professionals = vec![old, current];

    let mut up = Step::new(Direction::Up, "2025-04-02");
    up.reason = t("Disclosure of harm.");
    up.consent = Some(ConsentCheck::Override);
    up.consent_notes = t("Seeking consent would put Sam at risk.");
    up.status = StepStatus::Done;
    up.status_date = "2025-04-20".into();
    up.receiving_team = "Assessment team (North)".into();
    up.new_lead = "Sol Ade, Children's social care".into();
    up.handover_meeting_id = handover.id.clone();
    up.referral_summary = t("Sam, 8, disclosed ...");
    up.decision_notes = t("Accepted for a child and family assessment.");
    up.parents_told = Some(true);
    up.consent_given_by = "Mary Smith (mother)".into();
    up.no_consent_reason = Some(shared::record::step::NoConsentReason::UndueDelay);
    up.safeguarding_lead = "Dee Lead (DSL)".into();
    up.confidential = t("The neighbour called first.");
    up.anonymous_source = Some(false);
    up.sent_date = "2025-04-02".into();
    up.follow_up_date = "2025-04-16".into();
    let mut down = Step::new(Direction::Down, "2025-06-01");
    down.parents_told = Some(true);
    down.anonymous_source = Some(false);
    down.reason = t("Statutory work complete.");
    down.consent = Some(ConsentCheck::Given);
    down.consent_notes = t("Mum agreed at the review.");
    r.steps = vec![up, down];
    r.meetings = vec![first, handover];

    let mut esc = Escalation::new("Housing", "2025-02-10");
    esc.stage = Some(2);
    esc.category = Some(EscalationCategory::Services);
    esc.raised_by = "Jane Doe".into();
    esc.raised_by_agency = "Oak Primary School".into();
    esc.issue = t("Housing repairs not done despite damp.");
    esc.resolved_date = "2025-03-01".into();
    esc.resolution = t("Repairs booked.");
    r.escalations.push(esc);

    r.closure.reason = Some(ClosureReason::SteppedUp);
    r.closure.date = "2025-04-21".into();
    r.closure.notes = t("Social care leads now.");
    let mut after = PostClosureAction::new("School keeps a weekly check-in");
    after.owner = "Jane Doe".into();
    after.agency = "Oak Primary School".into();
    r.closure.actions.push(after);
    r
}

fn read(doc: &AutoCommit) -> CaseRecord {
    CaseRecord::from_document(doc).expect("the record reads")
}

fn round_trip<T: Reconcile + Hydrate + PartialEq + Debug>(value: &T) {
    let mut doc = AutoCommit::new();
    reconcile_prop(&mut doc, ROOT, "value", value).unwrap();
    let back: T = hydrate_prop(&doc, ROOT, "value").unwrap();
    assert_eq!(&back, value);
}

#[test]
fn a_full_record_round_trips_through_a_document() {
    let record = full_record();
    let mut doc = record.clone().into_document().unwrap();
    assert!(!doc.get_heads().is_empty());
    assert_eq!(read(&doc), record);
    // And through saved bytes, as storage and the relay carry it.
    let loaded = AutoCommit::load(&doc.save()).unwrap();
    assert_eq!(read(&loaded), record);
    assert_eq!(read(&loaded).schema_version, SCHEMA_VERSION);
}

#[test]
fn every_part_round_trips_on_its_own() {
    let r = full_record();
    round_trip(&r.family);
    round_trip(&r.family.people);
    round_trip(&r.consent);
    round_trip(&r.assessment);
    round_trip(&r.assessment.risks);
    round_trip(&r.plan);
    round_trip(&r.meetings);
    round_trip(&r.lead_professionals);
    round_trip(&r.steps);
    round_trip(&r.escalations);
    round_trip(&r.closure);
    round_trip(&CaseRecord::default());
}

#[test]
fn every_choice_round_trips_including_unknown_ones() {
    fn all<T: Reconcile + Hydrate + PartialEq + Debug + Clone>(known: &[T], other: T) {
        for v in known.iter().chain([&other]) {
            round_trip(v);
            round_trip(&Some(v.clone()));
        }
    }
    all(Role::ALL, Role::Other("foster_child".into()));
    all(Relationship::ALL, Relationship::Other("aunt".into()));
    all(ConsentGiver::ALL, ConsentGiver::Other("guardian".into()));
    all(ConsentMethod::ALL, ConsentMethod::Other("email".into()));
    all(ActionStatus::ALL, ActionStatus::Other("blocked".into()));
    all(MeetingKind::ALL, MeetingKind::Other("strategy".into()));
    all(Direction::ALL, Direction::Other("sideways".into()));
    all(ConsentCheck::ALL, ConsentCheck::Other("court_order".into()));
    all(StepStatus::ALL, StepStatus::Other("paused".into()));
    all(
        EscalationCategory::ALL,
        EscalationCategory::Other("funding".into()),
    );
    all(ClosureReason::ALL, ClosureReason::Other("died".into()));
    assert_eq!(Role::parse("unborn_baby"), Role::UnbornBaby);
    assert_eq!(StepStatus::InProgress.as_str(), "in_progress");
    assert_eq!(Role::ParentCarer.label(), "Parent or carer");
}

#[test]
fn unknown_values_and_missing_fields_from_other_versions_still_read() {
    let record = full_record();
    let action_id = record.plan.outcomes[0].actions[0].id.clone();
    let person_id = record.family.people[0].id.clone();
    let mut doc = record.into_document().unwrap();
    // A newer app wrote values and a field this version does not know, and dropped a field.
    edit::set_text(
        &mut doc,
        &Path::Action(action_id.clone(), ActionField::Status),
        "blocked",
    )
    .unwrap();
    edit::set_text(
        &mut doc,
        &Path::Person(person_id.clone(), PersonField::Role),
        "care_leaver",
    )
    .unwrap();
    let family = match doc.get(ROOT, "family").unwrap() {
        Some((Value::Object(ObjType::Map), id)) => id,
        other => panic!("family is {other:?}"),
    };
    doc.put(&family, "pets", "a dog").unwrap();
    doc.delete(&family, "address").unwrap();
    doc.put(ROOT, "schema_version", 3).unwrap();

    let mut read_back = CaseRecord::load(&mut doc).unwrap();
    let action = read_back.plan.action(&action_id).unwrap();
    assert_eq!(action.status, ActionStatus::Other("blocked".into()));
    assert_eq!(
        read_back.family.people[0].role,
        Role::Other("care_leaver".into())
    );
    assert_eq!(read_back.family.address, "");

    // Writing the record back keeps what this version does not understand.
    read_back.family.address = "1 New Street".into();
    let mut stale = read_back.clone();
    read_back.write(&mut doc).unwrap();
    assert_eq!(
        edit::get(&doc, &Path::Action(action_id, ActionField::Status)).unwrap(),
        "blocked"
    );
    assert!(matches!(
        doc.get(&family, "pets").unwrap(),
        Some((Value::Scalar(s), _)) if s.as_str() == Some("a dog")
    ));
    // A record read before someone else's change is refused rather than undoing it.
    stale.family.address = "Somewhere else".into();
    assert_eq!(stale.write(&mut doc), Err(RecordError::Stale));
}

fn v1_case() -> AutoCommit {
    let mut doc = Case::new("Sam").into_document().unwrap();
    Field::DateOfBirth.write(&mut doc, "2016-05-04").unwrap();
    Field::Setting.write(&mut doc, "Oak Primary").unwrap();
    Field::LeadProfessional
        .write(&mut doc, "Jane Doe, Oak Primary")
        .unwrap();
    Field::Concerns
        .write(&mut doc, "Often late.\nTired.")
        .unwrap();
    doc
}

fn concerns_object(doc: &AutoCommit) -> automerge::ObjId {
    match doc.get(ROOT, "concerns").unwrap() {
        Some((Value::Object(ObjType::Text), id)) => id,
        other => panic!("concerns is {other:?}"),
    }
}

#[test]
fn a_version_1_case_migrates_keeping_its_data() {
    let mut doc = v1_case();
    assert_eq!(
        CaseRecord::from_document(&doc),
        Err(RecordError::NeedsMigration(1))
    );
    let concerns = concerns_object(&doc);
    migrate(&mut doc).unwrap();

    let r = read(&doc);
    assert_eq!(r.schema_version, 2);
    let child = &r.family.people[0];
    assert_eq!(child.id, MIGRATED_CHILD_ID);
    assert_eq!(child.role, Role::Child);
    assert_eq!(child.name, "Sam");
    assert_eq!(child.date_of_birth, "2016-05-04");
    assert_eq!(child.setting, "Oak Primary");
    assert_eq!(r.lead_professionals.len(), 1);
    assert_eq!(r.lead_professionals[0].id, MIGRATED_LEAD_ID);
    assert_eq!(r.current_lead().unwrap().name, "Jane Doe, Oak Primary");
    assert_eq!(r.worried_about.as_str(), "Often late.\nTired.");
    // The very same text object, so its history and concurrent typing carry on.
    assert_eq!(concerns_object(&doc), concerns);
    for old in [
        "child_name",
        "date_of_birth",
        "setting",
        "lead_professional",
    ] {
        assert!(
            doc.get(ROOT, old).unwrap().is_none(),
            "{old} is still there"
        );
    }
    // Edits by path work on the migrated case.
    edit::set_text(
        &mut doc,
        &Path::Person(MIGRATED_CHILD_ID.into(), PersonField::Gender),
        "Male",
    )
    .unwrap();
    assert_eq!(read(&doc).family.people[0].gender, "Male");
}

#[test]
fn migrating_twice_changes_nothing() {
    let mut doc = v1_case();
    migrate(&mut doc).unwrap();
    let heads = doc.get_heads();
    let record = read(&doc);
    migrate(&mut doc).unwrap();
    assert_eq!(doc.get_heads(), heads);
    assert_eq!(read(&doc), record);

    let mut fresh = full_record().into_document().unwrap();
    let heads = fresh.get_heads();
    migrate(&mut fresh).unwrap();
    assert_eq!(fresh.get_heads(), heads);
}

#[test]
fn two_devices_migrating_the_same_case_make_the_same_change() {
    let mut a = v1_case();
    let mut b = a.fork();
    migrate(&mut a).unwrap();
    migrate(&mut b).unwrap();
    assert_eq!(a.get_heads(), b.get_heads());
    // Each device carries on under its own actor and both edits survive the merge.
    edit::set_text(
        &mut a,
        &Path::Person(MIGRATED_CHILD_ID.into(), PersonField::Gender),
        "Male",
    )
    .unwrap();
    edit::set_text(&mut b, &Path::Family(FamilyField::Address), "12 Oak Road").unwrap();
    a.merge(&mut b).unwrap();
    let r = read(&a);
    assert_eq!(r.family.people.len(), 1);
    assert_eq!(r.family.people[0].gender, "Male");
    assert_eq!(r.family.address, "12 Oak Road");
}

#[test]
fn typing_from_a_version_1_app_after_migration_is_kept() {
    let mut new_app = v1_case();
    let mut old_app = new_app.fork();
    migrate(&mut new_app).unwrap();
    Field::Concerns
        .write(&mut old_app, "Often late.\nTired.\nHungry.")
        .unwrap();
    edit::set_text(
        &mut new_app,
        &Path::WorriedAbout,
        "Mum says: Often late.\nTired.",
    )
    .unwrap();
    new_app.merge(&mut old_app).unwrap();
    assert_eq!(
        read(&new_app).worried_about.as_str(),
        "Mum says: Often late.\nTired.\nHungry."
    );
}

#[test]
fn an_empty_document_is_not_a_case_and_is_left_alone() {
    let mut doc = AutoCommit::new();
    assert_eq!(CaseRecord::from_document(&doc), Err(RecordError::NotACase));
    migrate(&mut doc).unwrap();
    assert!(doc.get_heads().is_empty());
}

#[test]
fn concurrent_edits_merge_without_loss_or_mix_ups() {
    let record = full_record();
    let outcome = record.plan.outcomes[0].id.clone();
    let action = record.plan.outcomes[0].actions[0].id.clone();
    let mut a = record.into_document().unwrap();
    let mut b = a.fork();

    // Both add an action to the same outcome at the same time.
    let mut mine = Action::new("Health visitor to visit");
    mine.owner = "Kim Lee".into();
    let mut theirs = Action::new("Dad to do Friday drop-off");
    theirs.owner = "Lee Jones".into();
    edit::add(&mut a, &List::Actions(outcome.clone()), &mine).unwrap();
    edit::add(&mut b, &List::Actions(outcome.clone()), &theirs).unwrap();
    // Each edits a different field of the same action, and both type in its evidence.
    edit::set_text(
        &mut a,
        &Path::Action(action.clone(), ActionField::Due),
        "2025-05-01",
    )
    .unwrap();
    edit::set_text(
        &mut b,
        &Path::Action(action.clone(), ActionField::Owner),
        "Lee Jones",
    )
    .unwrap();
    edit::set_text(
        &mut a,
        &Path::Action(action.clone(), ActionField::Evidence),
        "School says: Attendance up to 90%.",
    )
    .unwrap();
    edit::set_text(
        &mut b,
        &Path::Action(action.clone(), ActionField::Evidence),
        "Attendance up to 90%. Mum agrees.",
    )
    .unwrap();
    // One adds a person by writing the whole record, the other by a targeted add.
    let mut whole = CaseRecord::load(&mut a).unwrap();
    let aunt = Person::new(Role::SignificantAdult, "Aunt May");
    whole.family.people.push(aunt.clone());
    whole.write(&mut a).unwrap();
    let uncle = Person::new(Role::SignificantAdult, "Uncle Ben");
    edit::add(&mut b, &List::People, &uncle).unwrap();

    a.merge(&mut b).unwrap();
    let r = read(&a);
    let actions = &r.plan.outcomes[0].actions;
    assert_eq!(actions.len(), 4);
    let find = |id: &str| actions.iter().find(|x| x.id == id).unwrap();
    assert_eq!(find(&mine.id).what.as_str(), "Health visitor to visit");
    assert_eq!(find(&mine.id).owner, "Kim Lee");
    assert_eq!(find(&theirs.id).what.as_str(), "Dad to do Friday drop-off");
    assert_eq!(find(&theirs.id).owner, "Lee Jones");
    let edited = find(&action);
    assert_eq!(edited.what.as_str(), "Attend school every day");
    assert_eq!(edited.due, "2025-05-01");
    assert_eq!(edited.owner, "Lee Jones");
    assert_eq!(
        edited.evidence.as_str(),
        "School says: Attendance up to 90%. Mum agrees."
    );
    let names: Vec<_> = r.family.people.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"Aunt May") && names.contains(&"Uncle Ben"));
    assert_eq!(r.family.people.len(), full_record().family.people.len() + 2);
    // The second action is untouched.
    assert_eq!(actions[1].what.as_str(), "Offer a breakfast club place");
}

#[test]
fn concurrent_removal_and_edit_of_an_item_does_not_break_the_case() {
    let record = full_record();
    let person = record.family.people[5].id.clone();
    let mut a = record.into_document().unwrap();
    let mut b = a.fork();
    edit::remove(&mut a, ItemKind::Person, &person).unwrap();
    edit::set_text(
        &mut b,
        &Path::Person(person.clone(), PersonField::Name),
        "Patricia Smith",
    )
    .unwrap();
    a.merge(&mut b).unwrap();
    read(&a);
    // Editing what is gone is an error the UI can show, not a panic.
    let gone = edit::set_text(
        &mut a,
        &Path::Person("nobody".into(), PersonField::Name),
        "x",
    );
    assert_eq!(gone, Err(RecordError::NotFound("person")));
}

/// Every editable field of the full record, by path.
fn every_path(r: &CaseRecord) -> Vec<Path> {
    let mut paths = vec![Path::WorriedAbout];
    paths.extend(FamilyField::ALL.iter().map(|f| Path::Family(*f)));
    let person = &r.family.people[0].id;
    paths.extend(
        PersonField::ALL
            .iter()
            .map(|f| Path::Person(person.clone(), *f)),
    );
    let c = &r.consent;
    paths.extend(
        AgencyConsentField::ALL
            .iter()
            .map(|f| Path::AgencyConsent(c.agencies[0].id.clone(), *f)),
    );
    paths.extend(
        DoNotShareField::ALL
            .iter()
            .map(|f| Path::DoNotShare(c.do_not_share[0].id.clone(), *f)),
    );
    paths.extend(
        OverrideField::ALL
            .iter()
            .map(|f| Path::Override(c.overrides[0].id.clone(), *f)),
    );
    paths.extend(
        SharingField::ALL
            .iter()
            .map(|f| Path::Sharing(c.sharing[0].id.clone(), *f)),
    );
    paths.extend(AssessmentField::ALL.iter().map(|f| Path::Assessment(*f)));
    for side in Side::ALL {
        paths.extend(SideField::ALL.iter().map(|f| Path::Side(side, *f)));
    }
    for risk in Risk::ALL {
        paths.extend(RiskField::ALL.iter().map(|f| Path::Risk(risk, *f)));
    }
    let participants = [
        &r.assessment.co_authors[0],
        &r.assessment.present[0],
        &r.meetings[0].attendees[0],
        &r.meetings[0].apologies[0],
    ];
    for p in participants {
        paths.extend(
            ParticipantField::ALL
                .iter()
                .map(|f| Path::Participant(p.id.clone(), *f)),
        );
    }
    paths.extend(PlanField::ALL.iter().map(|f| Path::Plan(*f)));
    let o = &r.plan.outcomes[0];
    paths.extend(
        OutcomeField::ALL
            .iter()
            .map(|f| Path::Outcome(o.id.clone(), *f)),
    );
    paths.extend(
        ActionField::ALL
            .iter()
            .map(|f| Path::Action(o.actions[1].id.clone(), *f)),
    );
    paths.extend(
        ScoreField::ALL
            .iter()
            .map(|f| Path::Score(o.scores[0].id.clone(), *f)),
    );
    let m = &r.meetings[0];
    paths.extend(
        MeetingField::ALL
            .iter()
            .map(|f| Path::Meeting(m.id.clone(), *f)),
    );
    paths.extend(
        ProgressField::ALL
            .iter()
            .map(|f| Path::Progress(m.progress[0].id.clone(), *f)),
    );
    paths.extend(
        AgreementField::ALL
            .iter()
            .map(|f| Path::Agreement(m.agreed[1].id.clone(), *f)),
    );
    paths.extend(
        LeadField::ALL
            .iter()
            .map(|f| Path::Lead(r.lead_professionals[1].id.clone(), *f)),
    );
    paths.extend(
        StepField::ALL
            .iter()
            .map(|f| Path::Step(r.steps[1].id.clone(), *f)),
    );
    paths.extend(
        EscalationField::ALL
            .iter()
            .map(|f| Path::Escalation(r.escalations[0].id.clone(), *f)),
    );
    paths.extend(ClosureField::ALL.iter().map(|f| Path::Closure(*f)));
    paths.extend(
        PostClosureField::ALL
            .iter()
            .map(|f| Path::PostClosure(r.closure.actions[0].id.clone(), *f)),
    );
    paths
}

#[test]
fn every_path_names_a_real_field_of_the_record() {
    let record = full_record();
    let paths = every_path(&record);
    let mut doc = record.clone().into_document().unwrap();
    let mut markers = Vec::new();
    for (n, path) in paths.iter().enumerate() {
        let marker = match path.kind() {
            Kind::Text | Kind::Str | Kind::Choice => {
                let marker = format!("marker-{n}");
                edit::set_text(&mut doc, path, &marker).unwrap();
                marker
            }
            Kind::Int => {
                let marker = 900_000 + n as i64;
                edit::set_int(&mut doc, path, Some(marker)).unwrap();
                marker.to_string()
            }
            Kind::Bool => continue,
        };
        assert_eq!(edit::get(&doc, path).unwrap(), marker, "{path:?}");
        markers.push((path, marker));
    }
    // The record read back holds every value written: each path's key is its struct's key.
    let written = format!("{:?}", read(&doc));
    for (path, marker) in markers {
        assert!(written.contains(&marker), "{path:?}");
    }
    // Yes/no answers: clearing each one adds exactly one `None` to the record read back.
    let nones = |s: &str| s.matches("None").count();
    let mut cleared = 0;
    for path in paths.iter().filter(|p| p.kind() == Kind::Bool) {
        edit::set_bool(&mut doc, path, Some(true)).unwrap();
        assert_eq!(edit::get(&doc, path).unwrap(), "yes");
        edit::set_bool(&mut doc, path, None).unwrap();
        assert_eq!(edit::get(&doc, path).unwrap(), "");
        cleared += 1;
    }
    assert_eq!(
        nones(&format!("{:?}", read(&doc))),
        nones(&written) + cleared
    );
    // Writing the same value again makes no change.
    let heads = doc.get_heads();
    let address = Path::Family(FamilyField::Address);
    let same = edit::get(&doc, &address).unwrap();
    edit::set_text(&mut doc, &address, &same).unwrap();
    let scale = Path::Assessment(AssessmentField::Scale);
    let current: i64 = edit::get(&doc, &scale).unwrap().parse().unwrap();
    edit::set_int(&mut doc, &scale, Some(current)).unwrap();
    let worried = edit::get(&doc, &Path::WorriedAbout).unwrap();
    edit::set_text(&mut doc, &Path::WorriedAbout, &worried).unwrap();
    assert_eq!(doc.get_heads(), heads);
    // Every number can be cleared, and every choice unset, and the case still reads.
    for path in paths.iter().filter(|p| p.kind() == Kind::Int) {
        edit::set_int(&mut doc, path, None).unwrap();
        assert_eq!(edit::get(&doc, path).unwrap(), "", "{path:?}");
    }
    for path in paths.iter().filter(|p| p.kind() == Kind::Choice) {
        edit::set_text(&mut doc, path, "").unwrap();
    }
    read(&doc);
}

#[test]
fn edits_of_the_wrong_kind_or_place_are_errors() {
    let record = full_record();
    let outcome = record.plan.outcomes[0].id.clone();
    let mut doc = record.into_document().unwrap();
    assert!(matches!(
        edit::set_int(&mut doc, &Path::WorriedAbout, Some(3)),
        Err(RecordError::WrongKind { .. })
    ));
    assert!(matches!(
        edit::splice_text(&mut doc, &Path::Family(FamilyField::Address), 0, 0, "x"),
        Err(RecordError::WrongKind { .. })
    ));
    assert_eq!(
        edit::add(
            &mut doc,
            &List::Actions(outcome),
            &Person::new(Role::Child, "x")
        ),
        Err(RecordError::WrongList { item: "person" })
    );
    assert_eq!(
        edit::add(
            &mut doc,
            &List::Actions("no-such-outcome".into()),
            &Action::new("x")
        ),
        Err(RecordError::NotFound("outcome"))
    );
    assert!(matches!(
        edit::splice_text(&mut doc, &Path::WorriedAbout, 10_000, 0, "x"),
        Err(RecordError::Write(_))
    ));
}

#[test]
fn splicing_text_counts_utf16_units_like_the_dom() {
    let mut doc = CaseRecord::new("Zoë").into_document().unwrap();
    edit::set_text(&mut doc, &Path::WorriedAbout, "é😀a").unwrap();
    edit::splice_text(&mut doc, &Path::WorriedAbout, 3, 0, "b").unwrap();
    assert_eq!(read(&doc).worried_about.as_str(), "é😀ba");
    edit::splice_text(&mut doc, &Path::WorriedAbout, 1, 2, "").unwrap();
    assert_eq!(edit::get(&doc, &Path::WorriedAbout).unwrap(), "éba");
    assert!(edit::text_object(&doc, &Path::WorriedAbout)
        .unwrap()
        .is_some());
}

#[test]
fn new_items_can_be_added_to_every_list_and_removed() {
    let record = full_record();
    let outcome = record.plan.outcomes[0].id.clone();
    let meeting = record.meetings[0].id.clone();
    let mut doc = CaseRecord::new("Sam").into_document().unwrap();
    // Lists under items need their item first.
    let o = Outcome::new("Sam sleeps well");
    let m = Meeting::new(MeetingKind::Review, "2025-03-17");
    edit::add(&mut doc, &List::Outcomes, &o).unwrap();
    edit::add(&mut doc, &List::Meetings, &m).unwrap();
    let action = Action::new("Bedtime routine");
    edit::add(&mut doc, &List::People, &Person::new(Role::Sibling, "Jo")).unwrap();
    edit::add(&mut doc, &List::AgencyConsents, &AgencyConsent::new("GP")).unwrap();
    edit::add(&mut doc, &List::DoNotShare, &DoNotShare::new("Employer")).unwrap();
    edit::add(&mut doc, &List::Overrides, &ConsentOverride::new("MASH")).unwrap();
    edit::add(&mut doc, &List::Sharing, &SharingDecision::new("GP")).unwrap();
    edit::add(
        &mut doc,
        &List::CoAuthors,
        &Participant::new("Kim", "HV", "HV"),
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::Present,
        &Participant::new("Amy", "", "Mother"),
    )
    .unwrap();
    edit::add(&mut doc, &List::Actions(o.id.clone()), &action).unwrap();
    edit::add(
        &mut doc,
        &List::Scores(o.id.clone()),
        &Score::new(&m.id, "2025-03-17", 5),
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::Attendees(m.id.clone()),
        &Participant::new("Amy", "", "Mother"),
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::Apologies(m.id.clone()),
        &Participant::new("GP", "GP", "GP"),
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::Progress(m.id.clone()),
        &ActionProgress::new(&action.id),
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::Agreed(m.id.clone()),
        &Agreement::new("Amy", "2025-03-17"),
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::LeadProfessionals,
        &LeadProfessional::new("Jane", "School", "2025-01-01"),
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::Steps,
        &Step::new(Direction::Up, "2025-04-01"),
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::Escalations,
        &Escalation::new("Housing", "2025-02-01"),
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::PostClosureActions,
        &PostClosureAction::new("Check in"),
    )
    .unwrap();
    // The same item twice is refused.
    assert!(edit::add(&mut doc, &List::Outcomes, &o).is_err());

    let r = read(&doc);
    assert_eq!(r.family.people.len(), 2);
    assert_eq!(r.plan.outcomes[0].actions[0], action);
    assert_eq!(r.meetings[0].progress[0].action_id, action.id);
    assert_eq!(
        r.assessment.co_authors.len() + r.assessment.present.len(),
        2
    );
    assert_eq!(
        r.meetings[0].attendees.len() + r.meetings[0].apologies.len(),
        2
    );
    assert_eq!(r.closure.actions.len(), 1);

    edit::remove(&mut doc, ItemKind::Action, &action.id).unwrap();
    edit::remove(
        &mut doc,
        ItemKind::Participant,
        &r.meetings[0].apologies[0].id,
    )
    .unwrap();
    let r = read(&doc);
    assert!(r.plan.outcomes[0].actions.is_empty());
    assert!(r.meetings[0].apologies.is_empty());
    assert_eq!(
        edit::remove(&mut doc, ItemKind::Action, &action.id),
        Err(RecordError::NotFound("action"))
    );
    // Ids from another case are simply not found.
    assert!(edit::remove(&mut doc, ItemKind::Outcome, &outcome).is_err());
    assert!(edit::remove(&mut doc, ItemKind::Meeting, &meeting).is_err());
}

#[test]
fn a_step_follows_its_status_flow() {
    let mut doc = CaseRecord::new("Sam").into_document().unwrap();
    let step = Step::new(Direction::Up, "2025-04-01");
    edit::add(&mut doc, &List::Steps, &step).unwrap();
    let refused = edit::set_step_status(&mut doc, &step.id, &StepStatus::Done, "2025-04-02");
    assert!(matches!(refused, Err(RecordError::StepStatus { .. })));
    edit::set_step_status(&mut doc, &step.id, &StepStatus::Accepted, "2025-04-03").unwrap();
    edit::set_step_status(&mut doc, &step.id, &StepStatus::Done, "2025-04-20").unwrap();
    assert!(
        edit::set_step_status(&mut doc, &step.id, &StepStatus::Withdrawn, "2025-04-21").is_err()
    );
    let r = read(&doc);
    assert_eq!(r.steps[0].status, StepStatus::Done);
    assert_eq!(r.steps[0].status_date, "2025-04-20");
    assert!(StepStatus::InProgress.can_become(&StepStatus::Rejected));
    assert!(!StepStatus::Rejected.can_become(&StepStatus::Accepted));
}

fn messages(record: &CaseRecord) -> Vec<(Section, String)> {
    missing(record)
        .into_iter()
        .map(|m: Missing| (m.section, m.message))
        .collect()
}

#[test]
fn a_complete_record_is_missing_nothing() {
    assert_eq!(messages(&full_record()), Vec::<(Section, String)>::new());
}

#[test]
fn validation_names_each_missing_thing_in_its_section() {
    type Change = fn(&mut CaseRecord);
    let cases: Vec<(Change, Section, &str)> = vec![
        (
            |r| r.family.people.retain(|p| !p.is_father()),
            Section::Family,
            "No father is recorded and no reason is given",
        ),
        (
            |r| r.family.people[0].date_of_birth.clear(),
            Section::Family,
            "Sam Smith has no date of birth",
        ),
        (
            |r| r.family.people[2].parental_responsibility = None,
            Section::Family,
            "It is not recorded whether Amy Smith has parental responsibility",
        ),
        (
            |r| r.family.people[3].involvement = t(""),
            Section::Family,
            "How Lee Jones (father) is involved is not recorded",
        ),
        (
            |r| r.family.people[1].expected_date.clear(),
            Section::Family,
            "The unborn baby has no expected date of delivery",
        ),
        (
            |r| r.consent.agencies[0].method = None,
            Section::Consent,
            "Consent for Oak Primary School does not say whether it was written or verbal",
        ),
        (
            |r| r.consent.overrides[0].lawful_basis.clear(),
            Section::Consent,
            "The consent override for MASH has no lawful basis",
        ),
        (
            |r| r.consent.sharing[0].reason = t(""),
            Section::Consent,
            "The decision to share with GP has no reason",
        ),
        (
            |r| {
                r.consent.agencies.clear();
                r.consent.overrides.clear();
            },
            Section::Consent,
            "No consent to share information is recorded",
        ),
        (
            |r| r.assessment.child_voice = t("  "),
            Section::Assessment,
            "The child's voice is not recorded",
        ),
        (
            |r| r.assessment.parents_views = t(""),
            Section::Assessment,
            "Parents' views are not recorded",
        ),
        (
            |r| r.worried_about = t(""),
            Section::Assessment,
            "What we are worried about is not recorded",
        ),
        (
            |r| r.assessment.parenting.strengths = t(""),
            Section::Assessment,
            "No strengths are recorded for parents and carers",
        ),
        (
            |r| r.assessment.scale = None,
            Section::Assessment,
            "The assessment has not been scored from 0 to 10",
        ),
        (
            |r| r.assessment.risks.cse.concern = None,
            Section::Assessment,
            "Child sexual exploitation (CSE) has not been asked about",
        ),
        (
            |r| r.assessment.risks.pre_birth.concern = None,
            Section::Assessment,
            "Pre-birth concerns have not been asked about",
        ),
        (
            |r| r.plan.outcomes[0].actions[0].owner.clear(),
            Section::Plan,
            "Action 'Attend school every day' has no owner",
        ),
        (
            |r| r.plan.outcomes[0].actions[0].due.clear(),
            Section::Plan,
            "Action 'Attend school every day' has no due date",
        ),
        (
            |r| r.plan.outcomes[0].actions[1].evidence = t(""),
            Section::Plan,
            "Action 'Offer a breakfast club place' is done but has no evidence of progress",
        ),
        (
            |r| r.plan.outcomes.clear(),
            Section::Plan,
            "The plan has no outcomes",
        ),
        (
            |r| r.meetings[0].child_views = t(""),
            Section::Meetings,
            "The child's views are not recorded for the first TAC meeting on 3 February 2025",
        ),
        (
            |r| r.meetings[1].agreed.clear(),
            Section::Meetings,
            "Nobody has agreed the record of the handover meeting on 20 April 2025",
        ),
        (
            |r| r.meetings.clear(),
            Section::Meetings,
            "No Team Around the Child meeting is recorded",
        ),
        (
            |r| {
                r.closure = Default::default();
                r.meetings[1].next_date.clear();
            },
            Section::Meetings,
            "No next meeting date is set at the handover meeting on 20 April 2025",
        ),
        (
            |r| r.lead_professionals.clear(),
            Section::LeadProfessional,
            "No lead professional is recorded",
        ),
        (
            |r| r.steps[0].consent = None,
            Section::StepUpDown,
            "The step-up has no recorded consent or safeguarding override",
        ),
        (
            |r| r.steps[1].consent = Some(ConsentCheck::Refused),
            Section::StepUpDown,
            "The family refused consent to the step-down and no safeguarding override is recorded",
        ),
        (
            |r| r.steps[0].referral_summary = t(""),
            Section::StepUpDown,
            "The step-up has no referral summary",
        ),
        (
            |r| r.steps[0].receiving_team.clear(),
            Section::StepUpDown,
            "The step-up was accepted but no receiving team is recorded",
        ),
        (
            |r| r.escalations[0].category = None,
            Section::Escalation,
            "The escalation about Housing has no category",
        ),
        (
            |r| r.escalations[0].resolution = t(""),
            Section::Escalation,
            "The escalation about Housing is resolved but the resolution is not recorded",
        ),
        (
            |r| r.closure.reason = None,
            Section::Closure,
            "Closure has no reason",
        ),
        (
            |r| r.closure.date.clear(),
            Section::Closure,
            "Closure has no date",
        ),
    ];
    for (change, section, message) in cases {
        let mut r = full_record();
        change(&mut r);
        let found = messages(&r);
        assert!(
            found.contains(&(section, message.to_string())),
            "expected {section:?} {message:?}, got {found:?}"
        );
    }

    // A reason for no father stands in for a father.
    let mut r = full_record();
    r.family.people.retain(|p| !p.is_father());
    r.family.no_father_reason = t("Father not known.");
    assert_eq!(messages(&r), vec![]);

    // Item messages carry the item's id.
    let mut r = full_record();
    r.plan.outcomes[0].actions[0].owner.clear();
    let id = r.plan.outcomes[0].actions[0].id.clone();
    assert_eq!(missing(&r)[0].item.as_deref(), Some(id.as_str()));

    // A new case lists gaps in every section but closure (which has not started).
    let new = messages(&CaseRecord::new("Sam"));
    for s in [
        Section::Family,
        Section::Consent,
        Section::Assessment,
        Section::Plan,
        Section::Meetings,
        Section::LeadProfessional,
    ] {
        assert!(new.iter().any(|(x, _)| *x == s), "{s:?}");
    }
    assert!(!new.iter().any(|(x, _)| *x == Section::Closure));
}

fn summary_record() -> CaseRecord {
    let mut r = CaseRecord::new("Sam");
    let mut o = Outcome::new("On time");
    let action = |due: &str, status: ActionStatus| Action {
        due: due.into(),
        status,
        ..Action::new("x")
    };
    o.actions = vec![
        action("2024-02-28", ActionStatus::InProgress),
        action("2024-02-29", ActionStatus::NotStarted),
        action("2024-03-01", ActionStatus::NotStarted),
        action("2024-02-01", ActionStatus::Done),
        action("2024-02-01", ActionStatus::NoLongerNeeded),
        action("", ActionStatus::NotStarted),
        action("not a date", ActionStatus::NotStarted),
    ];
    r.plan.outcomes.push(o);
    let mut first = Meeting::new(MeetingKind::FirstTac, "2024-01-15");
    first.next_date = "2024-03-04".into();
    r.meetings.push(first);
    r
}

#[test]
fn plan_summary_counts_overdue_actions_and_days_to_the_review() {
    let r = summary_record();
    // A leap year: 29 February counts.
    assert_eq!(
        plan_summary(&r, "2024-02-28"),
        "No actions overdue; review due in 5 days"
    );
    assert_eq!(
        plan_summary(&r, "2024-02-29"),
        "1 action overdue; review due in 4 days"
    );
    assert_eq!(
        plan_summary(&r, "2024-03-01"),
        "2 actions overdue; review due in 3 days"
    );
    assert_eq!(
        plan_summary(&r, "2024-03-03"),
        "3 actions overdue; review due tomorrow"
    );
    assert_eq!(
        plan_summary(&r, "2024-03-04"),
        "3 actions overdue; review due today"
    );
    assert_eq!(
        plan_summary(&r, "2024-03-05"),
        "3 actions overdue; review overdue by 1 day"
    );
    assert_eq!(
        plan_summary(&r, "2024-04-03"),
        "3 actions overdue; review overdue by 30 days"
    );
    assert_eq!(plan_summary(&r, "someday"), "");

    // A meeting booked ahead is the next review; once held, its next date is.
    let mut r = summary_record();
    let mut review = Meeting::new(MeetingKind::Review, "2024-03-11");
    review.next_date = "2024-04-22".into();
    r.meetings.push(review);
    assert_eq!(
        plan_summary(&r, "2024-03-01"),
        "2 actions overdue; review due in 10 days"
    );
    assert_eq!(
        plan_summary(&r, "2024-03-12"),
        "3 actions overdue; review due in 41 days"
    );

    // No meetings: no review date.
    let mut r = summary_record();
    r.meetings.clear();
    assert_eq!(
        plan_summary(&r, "2024-01-01"),
        "No actions overdue; no review date set"
    );

    // A closed case says so.
    let mut r = summary_record();
    r.closure.reason = Some(ClosureReason::NeedsMet);
    r.closure.date = "2024-03-02".into();
    assert_eq!(
        plan_summary(&r, "2024-03-03"),
        "Case closed; 3 actions overdue"
    );
}

#[test]
fn writing_an_unchanged_record_makes_no_change() {
    let mut doc = full_record().into_document().unwrap();
    let heads = doc.get_heads();
    let record = CaseRecord::load(&mut doc).unwrap();
    record.write(&mut doc).unwrap();
    assert_eq!(doc.get_heads(), heads);
}

#[test]
fn every_choice_field_offers_its_values() {
    use shared::record::edit::Path;
    use shared::record::plan::ActionField;
    let choices = Path::Action("a".into(), ActionField::Status).choices();
    assert!(choices.len() >= 3, "{choices:?}");
    assert!(choices.iter().all(|(v, l)| !v.is_empty() && !l.is_empty()));
    assert!(Path::Action("a".into(), ActionField::What)
        .choices()
        .is_empty());
}

#[test]
fn item_objects_finds_every_item_in_one_pass() {
    use shared::record::edit::{self, List, Path};
    use shared::record::plan::{Action, ActionField, Outcome};
    let mut doc = shared::record::CaseRecord::new("Sam")
        .into_document()
        .unwrap();
    let outcome = Outcome::new("Safe at home");
    edit::add(&mut doc, &List::Outcomes, &outcome).unwrap();
    let action = Action::new("Parenting course");
    edit::add(&mut doc, &List::Actions(outcome.id.clone()), &action).unwrap();
    let index = edit::item_objects(&doc).unwrap();
    let path = Path::Action(action.id.clone(), ActionField::What);
    assert_eq!(path.item_id(), Some(action.id.as_str()));
    let obj = &index[&action.id];
    assert_eq!(edit::get_in(&doc, obj, &path).unwrap(), "Parenting course");
    assert!(index.contains_key(&outcome.id));
}

#[test]
fn child_name_reads_the_case_child_from_the_family_alone() {
    let doc = shared::record::CaseRecord::new("Amira Khan")
        .into_document()
        .unwrap();
    assert_eq!(
        shared::record::child_name(&doc).as_deref(),
        Some("Amira Khan")
    );
    assert_eq!(
        shared::record::child_name(&automerge::AutoCommit::new()),
        None
    );
}

#[test]
fn list_ids_read_from_the_document_match_the_record() {
    let mut doc = CaseRecord::new("Amira Khan").into_document().unwrap();
    assert!(
        edit::item_ids(&doc, &List::Outcomes).unwrap().is_empty(),
        "no plan yet"
    );
    assert!(edit::item_ids(&doc, &List::Actions("nope".into()))
        .unwrap()
        .is_empty());
    let outcome = Outcome::new("Safe at home");
    edit::add(&mut doc, &List::Outcomes, &outcome).unwrap();
    for what in ["Parenting course", "Safety plan"] {
        edit::add(
            &mut doc,
            &List::Actions(outcome.id.clone()),
            &Action::new(what),
        )
        .unwrap();
    }
    let record = CaseRecord::load(&mut doc).unwrap();
    let actions: Vec<String> = record.plan.outcomes[0]
        .actions
        .iter()
        .map(|a| a.id.clone())
        .collect();
    assert_eq!(
        edit::item_ids(&doc, &List::Actions(outcome.id.clone())).unwrap(),
        actions
    );
    assert_eq!(edit::item_ids(&doc, &List::Outcomes).unwrap(), [outcome.id]);
    let people: Vec<String> = record.family.people.iter().map(|p| p.id.clone()).collect();
    assert_eq!(edit::item_ids(&doc, &List::People).unwrap(), people);
}
