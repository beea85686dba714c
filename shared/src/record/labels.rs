//! What each field is called on screen, in plain words, with a hint where one helps.

use super::assessment::{AssessmentField, Risk, RiskField, Side, SideField};
use super::closure::ClosureField;
use super::consent::{AgencyConsentField, OverrideField, SharingField};
use super::edit::Path;
use super::escalation::EscalationField;
use super::family::{FamilyField, PersonField};
use super::meetings::MeetingField;
use super::plan::{ActionField, OutcomeField};
use super::step::StepField;
use super::validation::Section;

/// The sections in the order they are worked through, with their address and title.
pub const SECTIONS: [(Section, &str, &str); 9] = [
    (Section::Family, "family", "Family"),
    (Section::Consent, "consent", "Consent"),
    (Section::Assessment, "assessment", "Assessment"),
    (Section::Plan, "plan", "Plan"),
    (Section::Meetings, "meetings", "Meetings and reviews"),
    (Section::LeadProfessional, "lead", "Lead professional"),
    (Section::StepUpDown, "step", "Step up or down"),
    (Section::Escalation, "escalation", "Escalation"),
    (Section::Closure, "closure", "Closure"),
];

/// A section's title.
pub fn section_title(section: Section) -> &'static str {
    SECTIONS
        .iter()
        .find(|(s, _, _)| *s == section)
        .map_or("Case", |(_, _, title)| title)
}

/// The label and hint for a field.
pub fn describe(path: &Path) -> (String, Option<&'static str>) {
    use Path as P;
    let (label, hint): (&str, Option<&'static str>) = match path {
        P::WorriedAbout => ("What are we worried about?", Some("What has happened, and what might happen if nothing changes.")),
        P::Family(FamilyField::Household) => ("Who lives in the household", None),
        P::Family(FamilyField::NoFatherReason) => ("If no father is recorded, why not", Some("For example, not known, or the family has asked that he is not contacted.")),
        P::Person(_, PersonField::Name) => ("Full name", Some("For an unborn baby, write 'Unborn baby of' and the mother's name.")),
        P::Person(_, PersonField::ExpectedDate) => ("Expected date of delivery", Some("Only for an unborn baby.")),
        P::Person(_, PersonField::DisabilitySen) => ("Disability or special educational needs", None),
        P::Person(_, PersonField::ParentalResponsibility) => ("Has parental responsibility", None),
        P::Person(_, PersonField::LivesInHousehold) => ("Lives in the household", None),
        P::Person(_, PersonField::Involvement) => ("How they are involved", Some("For fathers and partners especially: have they been asked to take part?")),
        P::Person(_, PersonField::Setting) => ("School, nursery or setting", None),
        P::AgencyConsent(_, AgencyConsentField::Scope) => ("What the family agreed can be shared", None),
        P::AgencyConsent(_, AgencyConsentField::Giver) => ("Who gave consent", None),
        P::AgencyConsent(_, AgencyConsentField::GivenBy) => ("Name of the person who gave consent", None),
        P::AgencyConsent(_, AgencyConsentField::Method) => ("How consent was given", None),
        P::AgencyConsent(_, AgencyConsentField::Date) => ("Date consent was given", None),
        P::AgencyConsent(_, AgencyConsentField::WithdrawnDate) => ("Date consent was withdrawn", Some("Leave empty unless the family has withdrawn consent.")),
        P::Override(_, OverrideField::LawfulBasis) => ("Lawful basis for sharing without consent", Some("For example, Children Act 1989 section 47, or UK GDPR Article 6(1)(e).")),
        P::Override(_, OverrideField::Reason) => ("Why sharing without consent is necessary", None),
        P::Override(_, OverrideField::DecidedBy) => ("Who decided", None),
        P::Sharing(_, SharingField::Shared) => ("Was the information shared", None),
        P::Assessment(AssessmentField::Reason) => ("Why is the assessment being done?", None),
        P::Assessment(AssessmentField::ChildVoice) => ("The child's voice", Some("What the child says life is like and what they want to happen, in their own words.")),
        P::Assessment(AssessmentField::ParentsViews) => ("What parents and carers say", None),
        P::Assessment(AssessmentField::WorkingWell) => ("What is working well?", None),
        P::Assessment(AssessmentField::NeedsToHappen) => ("What needs to happen?", None),
        P::Assessment(AssessmentField::Version) => ("Assessment version", None),
        P::Assessment(AssessmentField::Scale) => ("Scale from 0 to 10", Some("10 means everyone agrees the child is safe and well enough to close early help; 0 means things are as bad as they could be.")),
        P::Side(side, field) => return (side_label(*side, *field), None),
        P::Risk(risk, RiskField::Concern) => return (format!("{}: is this a concern?", risk_label(*risk)), None),
        P::Risk(risk, RiskField::Notes) => return (format!("{}: what we know", risk_label(*risk)), None),
        P::Outcome(_, OutcomeField::Title) => ("What we want to be different", Some("In words the family would use, for example 'Sam goes to school every day'.")),
        P::Action(_, ActionField::What) => ("What will be done", Some("Specific and measurable, in words the family uses.")),
        P::Action(_, ActionField::Owner) => ("Who will do it", Some("A named person.")),
        P::Action(_, ActionField::Agency) => ("Their organisation", None),
        P::Action(_, ActionField::Due) => ("By when", None),
        P::Action(_, ActionField::Evidence) => ("Evidence of progress", None),
        P::Meeting(_, MeetingField::Kind) => ("Type of meeting", None),
        P::Meeting(_, MeetingField::ChildViews) => ("What the child said", None),
        P::Meeting(_, MeetingField::FamilyViews) => ("What the family said", None),
        P::Meeting(_, MeetingField::Decisions) => ("What was decided", None),
        P::Meeting(_, MeetingField::NextDate) => ("Date of the next meeting", None),
        P::Step(_, StepField::Direction) => ("Step up or step down", None),
        P::Step(_, StepField::Consent) => ("Consent", Some("Has the family agreed, or is there a recorded reason to proceed without consent?")),
        P::Step(_, StepField::ReferralSummary) => ("Summary sent with the referral", None),
        P::Step(_, StepField::Reason) => ("What has happened or changed", Some("For a step-up, this is what the request for support says has happened.")),
        P::Step(_, StepField::ReceivingTeam) => ("Team it is sent to", Some("For example, the MASH, or the assessment team taking the case.")),
        P::Step(_, StepField::DecisionNotes) => ("What was decided and why", Some("The answer to the request, when it comes.")),
        P::Step(_, StepField::ParentsTold) => ("Have the parents or carers been told about this request?", None),
        P::Step(_, StepField::ConsentGivenBy) => ("Who gave consent", Some("If consent was given: their name and who they are to the child.")),
        P::Step(_, StepField::NoConsentReason) => ("Why there is no consent", Some("If the family has not agreed, or was not asked.")),
        P::Step(_, StepField::SafeguardingLead) => ("Safeguarding lead you talked to", Some("Their name and role. Write \"not known\" if you could not talk to one.")),
        P::Step(_, StepField::Confidential) => ("Anything the family must not be told", Some("This stays out of everything the family is given.")),
        P::Step(_, StepField::AnonymousSource) => ("Does the person who raised the concern want to stay anonymous?", None),
        P::Step(_, StepField::SentDate) => ("Date the request was sent", Some("Filled in when you mark the request as sent.")),
        P::Step(_, StepField::FollowUpDate) => ("Follow up by", Some("When to chase an answer if none has come.")),
        P::Sharing(_, SharingField::LawfulBasis) => ("Lawful basis for sharing", None),
        P::Escalation(_, EscalationField::Stage) => ("Stage (1 to 5)", Some("Stages 1 and 2 are informal; 3 to 5 are formal.")),
        P::Escalation(_, EscalationField::Issue) => ("What the disagreement is about", None),
        P::Closure(ClosureField::Reason) => ("Why is the case closing?", None),
        P::Closure(ClosureField::Date) => ("Date of closure", None),
        _ => return (humanise(path.key()), None),
    };
    (label.to_string(), hint)
}

fn side_label(side: Side, field: SideField) -> String {
    let name = match side {
        Side::ChildDevelopment => "The child's development",
        Side::Parenting => "Parents and carers",
        Side::FamilyEnvironment => "Family and environment",
    };
    match field {
        SideField::Strengths => format!("{name}: strengths"),
        SideField::Needs => format!("{name}: needs"),
    }
}

fn risk_label(risk: Risk) -> &'static str {
    match risk {
        Risk::Cse => "Child sexual exploitation",
        Risk::Missing => "Going missing",
        Risk::Neglect => "Neglect",
        Risk::DomesticAbuse => "Domestic abuse",
        Risk::PreBirth => "Pre-birth concerns",
    }
}

/// `date_of_birth` → "Date of birth".
fn humanise(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
