//! Small, targeted edits: the UI changes one field at a time, and adds or removes one list item
//! at a time, so each edit touches only that field or item and merges cleanly with whatever
//! others are doing to the rest of the case.
//!
//! A [`Path`] names one field: which part of the record (a section, or a list item by id) and
//! which of its fields (a typed enum per part, so only real fields can be named). Then:
//!
//! - [`get`] reads it as a form shows it;
//! - [`set_text`] writes what the person typed (free text as the smallest change, so others
//!   typing in the same box keep their words; other strings and choices as single values);
//! - [`splice_text`] applies one insert/delete to free text, in UTF-16 units as the DOM counts;
//! - [`set_int`] and [`set_bool`] write numbers and yes/no answers (`None` = not answered);
//! - [`text_object`] gives the Automerge text object, for keeping the caret in place.
//!
//! [`add`] appends an item to a [`List`], [`remove`] deletes one by id, and
//! [`set_step_status`] moves a step along its status flow.

use super::assessment::{AssessmentField, Risk, RiskField, Side, SideField};
use super::closure::{ClosureField, PostClosureAction, PostClosureField};
use super::consent::{
    AgencyConsent, AgencyConsentField, ConsentOverride, DoNotShare, DoNotShareField, OverrideField,
    SharingDecision, SharingField,
};
use super::escalation::{Escalation, EscalationField};
use super::family::{FamilyField, Person, PersonField};
use super::lead::{LeadField, LeadProfessional};
use super::meetings::{
    ActionProgress, Agreement, AgreementField, Meeting, MeetingField, Participant,
    ParticipantField, ProgressField,
};
use super::plan::{Action, ActionField, Outcome, OutcomeField, PlanField, Score, ScoreField};
use super::step::{Step, StepField, StepStatus};
use super::RecordError;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use autosurgeon::Reconcile;

/// What a field holds, which decides how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Free text: Automerge text, merged character by character.
    Text,
    /// A short string (a name, a `YYYY-MM-DD` date, an agency): the last write wins.
    Str,
    /// One of a fixed list of values, stored as its string; empty means not chosen.
    Choice,
    /// A whole number, or nothing (every number in the record is optional, so clearing one
    /// never makes the case unreadable).
    Int,
    /// Yes, no, or not answered.
    Bool,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Text => "free text",
            Kind::Str => "a short text value",
            Kind::Choice => "a choice",
            Kind::Int => "a number",
            Kind::Bool => "a yes or no answer",
        }
    }
}

/// The kinds of list item, for adding and removing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Person,
    AgencyConsent,
    DoNotShare,
    Override,
    Sharing,
    /// Assessment co-authors and people present; meeting attendees and apologies.
    Participant,
    Outcome,
    Action,
    Score,
    Meeting,
    Progress,
    Agreement,
    Lead,
    Step,
    Escalation,
    PostClosureAction,
}

impl ItemKind {
    /// How to name it in an error message.
    pub fn noun(self) -> &'static str {
        match self {
            ItemKind::Person => "person",
            ItemKind::AgencyConsent => "consent",
            ItemKind::DoNotShare => "\"do not share\" entry",
            ItemKind::Override => "consent override",
            ItemKind::Sharing => "sharing decision",
            ItemKind::Participant => "participant",
            ItemKind::Outcome => "outcome",
            ItemKind::Action => "action",
            ItemKind::Score => "score",
            ItemKind::Meeting => "meeting",
            ItemKind::Progress => "progress note",
            ItemKind::Agreement => "agreement",
            ItemKind::Lead => "lead professional",
            ItemKind::Step => "step",
            ItemKind::Escalation => "escalation",
            ItemKind::PostClosureAction => "post-closure action",
        }
    }

    /// Where items of this kind live, as paths from the root (`*` = every item of a list).
    fn homes(self) -> &'static [&'static [&'static str]] {
        match self {
            ItemKind::Person => &[&["family", "people"]],
            ItemKind::AgencyConsent => &[&["consent", "agencies"]],
            ItemKind::DoNotShare => &[&["consent", "do_not_share"]],
            ItemKind::Override => &[&["consent", "overrides"]],
            ItemKind::Sharing => &[&["consent", "sharing"]],
            ItemKind::Participant => &[
                &["assessment", "co_authors"],
                &["assessment", "present"],
                &["meetings", "*", "attendees"],
                &["meetings", "*", "apologies"],
            ],
            ItemKind::Outcome => &[&["plan", "outcomes"]],
            ItemKind::Action => &[&["plan", "outcomes", "*", "actions"]],
            ItemKind::Score => &[&["plan", "outcomes", "*", "scores"]],
            ItemKind::Meeting => &[&["meetings"]],
            ItemKind::Progress => &[&["meetings", "*", "progress"]],
            ItemKind::Agreement => &[&["meetings", "*", "agreed"]],
            ItemKind::Lead => &[&["lead_professionals"]],
            ItemKind::Step => &[&["steps"]],
            ItemKind::Escalation => &[&["escalations"]],
            ItemKind::PostClosureAction => &[&["closure", "actions"]],
        }
    }
}

/// A list item type: it knows its kind and its id.
pub trait Item: Reconcile {
    /// Which kind of item this is.
    const KIND: ItemKind;
    /// Its stable id.
    fn id(&self) -> &str;
}

macro_rules! items {
    ($($ty:ty => $kind:ident),+ $(,)?) => {
        $(
            impl Item for $ty {
                const KIND: ItemKind = ItemKind::$kind;
                fn id(&self) -> &str {
                    &self.id
                }
            }
        )+
    };
}

items! {
    Person => Person,
    AgencyConsent => AgencyConsent,
    DoNotShare => DoNotShare,
    ConsentOverride => Override,
    SharingDecision => Sharing,
    Participant => Participant,
    Outcome => Outcome,
    Action => Action,
    Score => Score,
    Meeting => Meeting,
    ActionProgress => Progress,
    Agreement => Agreement,
    LeadProfessional => Lead,
    Step => Step,
    Escalation => Escalation,
    PostClosureAction => PostClosureAction,
}

/// One list to add an item to. Lists inside an outcome or a meeting name it by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum List {
    People,
    AgencyConsents,
    DoNotShare,
    Overrides,
    Sharing,
    /// The assessment's co-authors.
    CoAuthors,
    /// Who was present at the assessment.
    Present,
    Outcomes,
    /// The actions of an outcome (by outcome id).
    Actions(String),
    /// The scores of an outcome (by outcome id).
    Scores(String),
    Meetings,
    /// A meeting's attendees (by meeting id).
    Attendees(String),
    /// A meeting's apologies (by meeting id).
    Apologies(String),
    /// A meeting's progress notes (by meeting id).
    Progress(String),
    /// Who agreed a meeting's record (by meeting id).
    Agreed(String),
    LeadProfessionals,
    Steps,
    Escalations,
    PostClosureActions,
}

impl List {
    /// The kind of item the list holds.
    pub fn kind(&self) -> ItemKind {
        match self {
            List::People => ItemKind::Person,
            List::AgencyConsents => ItemKind::AgencyConsent,
            List::DoNotShare => ItemKind::DoNotShare,
            List::Overrides => ItemKind::Override,
            List::Sharing => ItemKind::Sharing,
            List::CoAuthors | List::Present | List::Attendees(_) | List::Apologies(_) => {
                ItemKind::Participant
            }
            List::Outcomes => ItemKind::Outcome,
            List::Actions(_) => ItemKind::Action,
            List::Scores(_) => ItemKind::Score,
            List::Meetings => ItemKind::Meeting,
            List::Progress(_) => ItemKind::Progress,
            List::Agreed(_) => ItemKind::Agreement,
            List::LeadProfessionals => ItemKind::Lead,
            List::Steps => ItemKind::Step,
            List::Escalations => ItemKind::Escalation,
            List::PostClosureActions => ItemKind::PostClosureAction,
        }
    }

    /// Where the list lives: under which section or item, at which key.
    fn home(&self) -> (Place<'_>, &'static str) {
        use Place::{Item, Section};
        match self {
            List::People => (Section(vec!["family"]), "people"),
            List::AgencyConsents => (Section(vec!["consent"]), "agencies"),
            List::DoNotShare => (Section(vec!["consent"]), "do_not_share"),
            List::Overrides => (Section(vec!["consent"]), "overrides"),
            List::Sharing => (Section(vec!["consent"]), "sharing"),
            List::CoAuthors => (Section(vec!["assessment"]), "co_authors"),
            List::Present => (Section(vec!["assessment"]), "present"),
            List::Outcomes => (Section(vec!["plan"]), "outcomes"),
            List::Actions(o) => (Item(ItemKind::Outcome, o), "actions"),
            List::Scores(o) => (Item(ItemKind::Outcome, o), "scores"),
            List::Meetings => (Section(vec![]), "meetings"),
            List::Attendees(m) => (Item(ItemKind::Meeting, m), "attendees"),
            List::Apologies(m) => (Item(ItemKind::Meeting, m), "apologies"),
            List::Progress(m) => (Item(ItemKind::Meeting, m), "progress"),
            List::Agreed(m) => (Item(ItemKind::Meeting, m), "agreed"),
            List::LeadProfessionals => (Section(vec![]), "lead_professionals"),
            List::Steps => (Section(vec![]), "steps"),
            List::Escalations => (Section(vec![]), "escalations"),
            List::PostClosureActions => (Section(vec!["closure"]), "actions"),
        }
    }

    /// The list object, created (with the sections above it) if missing.
    fn ensure(&self, doc: &mut AutoCommit) -> Result<ObjId, RecordError> {
        let (place, key) = self.home();
        let parent = place.ensure(doc)?;
        ensure_child(doc, &parent, key, ObjType::List)
    }

    /// The list object, if it exists yet (a list under an item that is gone: none).
    fn find<D: ReadDoc>(&self, doc: &D) -> Result<Option<ObjId>, RecordError> {
        let (place, key) = self.home();
        let parent = match place.find(doc) {
            Ok(Some(obj)) => obj,
            Ok(None) => return Ok(None),
            // A list under an item that is gone does not exist.
            Err(_) if matches!(place, Place::Item(..)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(match child(doc, &parent, key)? {
            Some((ObjType::List, id)) => Some(id),
            _ => None,
        })
    }
}

/// The ids of a list's items, in order, read straight from the document (much cheaper than
/// reading the whole record, e.g. to draw a list as a case opens). Empty if the list does not
/// exist yet.
pub fn item_ids<D: ReadDoc>(doc: &D, list: &List) -> Result<Vec<String>, RecordError> {
    let Some(obj) = list.find(doc)? else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    for i in 0..doc.length(&obj) {
        if let Some((Value::Object(ObjType::Map), item)) = doc.get(&obj, i).map_err(read_err)? {
            if let Some((Value::Scalar(s), _)) = doc.get(&item, "id").map_err(read_err)? {
                if let ScalarValue::Str(id) = s.as_ref() {
                    ids.push(id.to_string());
                }
            }
        }
    }
    Ok(ids)
}

/// One field of the record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Path {
    /// Signs of Safety "what we are worried about" ([`super::CaseRecord::worried_about`]).
    WorriedAbout,
    Family(FamilyField),
    Person(String, PersonField),
    AgencyConsent(String, AgencyConsentField),
    DoNotShare(String, DoNotShareField),
    Override(String, OverrideField),
    Sharing(String, SharingField),
    Assessment(AssessmentField),
    /// A field of one side of the assessment triangle.
    Side(Side, SideField),
    /// A field of one risk indicator.
    Risk(Risk, RiskField),
    /// A co-author, someone present, an attendee or an apology.
    Participant(String, ParticipantField),
    Plan(PlanField),
    Outcome(String, OutcomeField),
    Action(String, ActionField),
    Score(String, ScoreField),
    Meeting(String, MeetingField),
    Progress(String, ProgressField),
    Agreement(String, AgreementField),
    Lead(String, LeadField),
    Step(String, StepField),
    Escalation(String, EscalationField),
    Closure(ClosureField),
    PostClosure(String, PostClosureField),
}

/// Where a field's (or a list's) object is.
enum Place<'a> {
    /// A section's map, by its keys from the root (none: the root itself).
    Section(Vec<&'static str>),
    /// A list item, by kind and id.
    Item(ItemKind, &'a str),
}

impl Place<'_> {
    /// The object, creating missing sections (items must exist).
    fn ensure(&self, doc: &mut AutoCommit) -> Result<ObjId, RecordError> {
        match self {
            Place::Section(keys) => ensure_section(doc, keys),
            Place::Item(kind, id) => item_obj(doc, *kind, id),
        }
    }

    /// The object, if it exists yet; an item that is not there is an error.
    fn find<D: ReadDoc>(&self, doc: &D) -> Result<Option<ObjId>, RecordError> {
        match self {
            Place::Section(keys) => {
                let mut obj = ROOT;
                for key in keys {
                    match child(doc, &obj, key)? {
                        Some((ObjType::Map, id)) => obj = id,
                        _ => return Ok(None),
                    }
                }
                Ok(Some(obj))
            }
            Place::Item(kind, id) => Ok(Some(find_item(doc, *kind, id)?.2)),
        }
    }
}

impl Path {
    /// For a choice field, the values it may take as `(stored value, label for people)`.
    pub fn choices(&self) -> Vec<(String, String)> {
        fn all<T: Clone>(
            values: &[T],
            f: impl Fn(&T) -> (String, String),
        ) -> Vec<(String, String)> {
            values.iter().map(f).collect()
        }
        use super::{closure, consent, escalation, family, meetings, plan, step};
        macro_rules! of {
            ($t:ty) => {
                all(<$t>::ALL, |v| {
                    (v.as_str().to_string(), v.label().to_string())
                })
            };
        }
        match self {
            Path::Person(_, PersonField::Role) => of!(family::Role),
            Path::Person(_, PersonField::Relationship) => of!(family::Relationship),
            Path::AgencyConsent(_, AgencyConsentField::Giver) => of!(consent::ConsentGiver),
            Path::AgencyConsent(_, AgencyConsentField::Method) => of!(consent::ConsentMethod),
            Path::Action(_, ActionField::Status) | Path::Progress(_, ProgressField::Status) => {
                of!(plan::ActionStatus)
            }
            Path::Meeting(_, MeetingField::Kind) => of!(meetings::MeetingKind),
            Path::Step(_, StepField::Direction) => of!(step::Direction),
            Path::Step(_, StepField::Consent) => of!(step::ConsentCheck),
            Path::Step(_, StepField::NoConsentReason) => of!(step::NoConsentReason),
            Path::Step(_, StepField::Status) => of!(step::StepStatus),
            Path::Escalation(_, EscalationField::Category) => of!(escalation::EscalationCategory),
            Path::Closure(ClosureField::Reason) => of!(closure::ClosureReason),
            _ => Vec::new(),
        }
    }
}

impl Path {
    /// The field's key in its object.
    pub fn key(&self) -> &'static str {
        match self {
            Path::WorriedAbout => "concerns",
            Path::Family(f) => f.key(),
            Path::Person(_, f) => f.key(),
            Path::AgencyConsent(_, f) => f.key(),
            Path::DoNotShare(_, f) => f.key(),
            Path::Override(_, f) => f.key(),
            Path::Sharing(_, f) => f.key(),
            Path::Assessment(f) => f.key(),
            Path::Side(_, f) => f.key(),
            Path::Risk(_, f) => f.key(),
            Path::Participant(_, f) => f.key(),
            Path::Plan(f) => f.key(),
            Path::Outcome(_, f) => f.key(),
            Path::Action(_, f) => f.key(),
            Path::Score(_, f) => f.key(),
            Path::Meeting(_, f) => f.key(),
            Path::Progress(_, f) => f.key(),
            Path::Agreement(_, f) => f.key(),
            Path::Lead(_, f) => f.key(),
            Path::Step(_, f) => f.key(),
            Path::Escalation(_, f) => f.key(),
            Path::Closure(f) => f.key(),
            Path::PostClosure(_, f) => f.key(),
        }
    }

    /// Where the field comes in its form.
    pub fn rank(&self) -> usize {
        match self {
            Path::WorriedAbout => 0,
            Path::Family(f) => f.rank(),
            Path::Person(_, f) => f.rank(),
            Path::AgencyConsent(_, f) => f.rank(),
            Path::DoNotShare(_, f) => f.rank(),
            Path::Override(_, f) => f.rank(),
            Path::Sharing(_, f) => f.rank(),
            Path::Assessment(f) => f.rank(),
            Path::Side(_, f) => f.rank(),
            Path::Risk(_, f) => f.rank(),
            Path::Participant(_, f) => f.rank(),
            Path::Plan(f) => f.rank(),
            Path::Outcome(_, f) => f.rank(),
            Path::Action(_, f) => f.rank(),
            Path::Score(_, f) => f.rank(),
            Path::Meeting(_, f) => f.rank(),
            Path::Progress(_, f) => f.rank(),
            Path::Agreement(_, f) => f.rank(),
            Path::Lead(_, f) => f.rank(),
            Path::Step(_, f) => f.rank(),
            Path::Escalation(_, f) => f.rank(),
            Path::Closure(f) => f.rank(),
            Path::PostClosure(_, f) => f.rank(),
        }
    }

    /// What the field holds.
    pub fn kind(&self) -> Kind {
        match self {
            Path::WorriedAbout => Kind::Text,
            Path::Family(f) => f.kind(),
            Path::Person(_, f) => f.kind(),
            Path::AgencyConsent(_, f) => f.kind(),
            Path::DoNotShare(_, f) => f.kind(),
            Path::Override(_, f) => f.kind(),
            Path::Sharing(_, f) => f.kind(),
            Path::Assessment(f) => f.kind(),
            Path::Side(_, f) => f.kind(),
            Path::Risk(_, f) => f.kind(),
            Path::Participant(_, f) => f.kind(),
            Path::Plan(f) => f.kind(),
            Path::Outcome(_, f) => f.kind(),
            Path::Action(_, f) => f.kind(),
            Path::Score(_, f) => f.kind(),
            Path::Meeting(_, f) => f.kind(),
            Path::Progress(_, f) => f.kind(),
            Path::Agreement(_, f) => f.kind(),
            Path::Lead(_, f) => f.kind(),
            Path::Step(_, f) => f.kind(),
            Path::Escalation(_, f) => f.kind(),
            Path::Closure(f) => f.kind(),
            Path::PostClosure(_, f) => f.kind(),
        }
    }

    /// The id of the list item this field belongs to, if it belongs to one.
    pub fn item_id(&self) -> Option<&str> {
        match self.place() {
            Place::Item(_, id) => Some(id),
            Place::Section(_) => None,
        }
    }

    fn place(&self) -> Place<'_> {
        use Place::{Item as I, Section as S};
        match self {
            Path::WorriedAbout => S(vec![]),
            Path::Family(_) => S(vec!["family"]),
            Path::Assessment(_) => S(vec!["assessment"]),
            Path::Side(side, _) => S(vec!["assessment", side.key()]),
            Path::Risk(risk, _) => S(vec!["assessment", "risks", risk.key()]),
            Path::Plan(_) => S(vec!["plan"]),
            Path::Closure(_) => S(vec!["closure"]),
            Path::Person(id, _) => I(ItemKind::Person, id),
            Path::AgencyConsent(id, _) => I(ItemKind::AgencyConsent, id),
            Path::DoNotShare(id, _) => I(ItemKind::DoNotShare, id),
            Path::Override(id, _) => I(ItemKind::Override, id),
            Path::Sharing(id, _) => I(ItemKind::Sharing, id),
            Path::Participant(id, _) => I(ItemKind::Participant, id),
            Path::Outcome(id, _) => I(ItemKind::Outcome, id),
            Path::Action(id, _) => I(ItemKind::Action, id),
            Path::Score(id, _) => I(ItemKind::Score, id),
            Path::Meeting(id, _) => I(ItemKind::Meeting, id),
            Path::Progress(id, _) => I(ItemKind::Progress, id),
            Path::Agreement(id, _) => I(ItemKind::Agreement, id),
            Path::Lead(id, _) => I(ItemKind::Lead, id),
            Path::Step(id, _) => I(ItemKind::Step, id),
            Path::Escalation(id, _) => I(ItemKind::Escalation, id),
            Path::PostClosure(id, _) => I(ItemKind::PostClosureAction, id),
        }
    }

    fn expect(&self, kinds: &[Kind], wanted: &'static str) -> Result<(), RecordError> {
        if kinds.contains(&self.kind()) {
            Ok(())
        } else {
            Err(RecordError::WrongKind {
                field: self.key(),
                wanted,
            })
        }
    }

    /// The object holding the field, creating missing sections (items must exist).
    fn ensure_obj(&self, doc: &mut AutoCommit) -> Result<ObjId, RecordError> {
        self.place().ensure(doc)
    }

    /// The object holding this field (a section's map, or an item's), if it exists yet.
    /// Objects keep their id for the document's life, so a form can look this up once and
    /// then read with [`get_in`] instead of searching the lists again.
    pub fn find_obj<D: ReadDoc>(&self, doc: &D) -> Result<Option<ObjId>, RecordError> {
        self.place().find(doc)
    }
}

/// Reads a field as a form shows it: text as it is, a missing value as "", numbers in
/// figures, yes/no as "yes"/"no".
pub fn get<D: ReadDoc>(doc: &D, path: &Path) -> Result<String, RecordError> {
    match path.find_obj(doc)? {
        Some(obj) => get_in(doc, &obj, path),
        None => Ok(String::new()),
    }
}

/// Like [`get`], with the field's object already found (see [`Path::find_obj`]).
pub fn get_in<D: ReadDoc>(doc: &D, obj: &ObjId, path: &Path) -> Result<String, RecordError> {
    Ok(match doc.get(obj, path.key()).map_err(read_err)? {
        Some((Value::Object(ObjType::Text), id)) => doc.text(&id).map_err(read_err)?,
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(v) => v.to_string(),
            ScalarValue::Int(i) => i.to_string(),
            ScalarValue::Uint(u) => u.to_string(),
            ScalarValue::Boolean(true) => "yes".to_string(),
            ScalarValue::Boolean(false) => "no".to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    })
}

/// The Automerge text object of a free-text field, if it has one yet (for cursors that keep
/// the caret in place, see [`crate::text`]).
pub fn text_object<D: ReadDoc>(doc: &D, path: &Path) -> Result<Option<ObjId>, RecordError> {
    path.expect(&[Kind::Text], Kind::Text.name())?;
    let Some(obj) = path.find_obj(doc)? else {
        return Ok(None);
    };
    Ok(match child(doc, &obj, path.key())? {
        Some((ObjType::Text, id)) => Some(id),
        _ => None,
    })
}

/// Writes what the person typed into a free-text, short text or choice field. Free text is
/// changed by the smallest edit (so concurrent typing merges); other values are replaced, and
/// only if different (so an unchanged field makes no change). An empty choice means "not
/// chosen".
pub fn set_text(doc: &mut AutoCommit, path: &Path, value: &str) -> Result<(), RecordError> {
    path.expect(&[Kind::Text, Kind::Str, Kind::Choice], "text")?;
    let obj = path.ensure_obj(doc)?;
    let key = path.key();
    match path.kind() {
        Kind::Text => {
            let text = ensure_child(doc, &obj, key, ObjType::Text)?;
            doc.update_text(&text, value).map_err(write_err)?;
            Ok(())
        }
        Kind::Choice if value.trim().is_empty() => put_scalar(doc, &obj, key, ScalarValue::Null),
        _ => put_scalar(doc, &obj, key, ScalarValue::Str(value.into())),
    }
}

/// Applies one edit to a free-text field: at `start`, delete `delete` and insert `insert`.
/// Positions count UTF-16 units, as the DOM does (see [`crate::text::splice`]).
pub fn splice_text(
    doc: &mut AutoCommit,
    path: &Path,
    start: usize,
    delete: usize,
    insert: &str,
) -> Result<(), RecordError> {
    path.expect(&[Kind::Text], Kind::Text.name())?;
    let obj = path.ensure_obj(doc)?;
    let text = ensure_child(doc, &obj, path.key(), ObjType::Text)?;
    let len = doc.length(&text);
    if start > len || delete > len - start {
        return Err(RecordError::Write(format!(
            "{start}..{} is outside the text ({len} long)",
            start + delete
        )));
    }
    let delete = isize::try_from(delete).map_err(|e| RecordError::Write(e.to_string()))?;
    doc.splice_text(&text, start, delete, insert)
        .map_err(write_err)
}

/// Writes a number field (`None` clears it).
pub fn set_int(doc: &mut AutoCommit, path: &Path, value: Option<i64>) -> Result<(), RecordError> {
    path.expect(&[Kind::Int], Kind::Int.name())?;
    let obj = path.ensure_obj(doc)?;
    let value = value.map_or(ScalarValue::Null, ScalarValue::Int);
    put_scalar(doc, &obj, path.key(), value)
}

/// Writes a yes/no field (`None` means not answered).
pub fn set_bool(doc: &mut AutoCommit, path: &Path, value: Option<bool>) -> Result<(), RecordError> {
    path.expect(&[Kind::Bool], Kind::Bool.name())?;
    let obj = path.ensure_obj(doc)?;
    let value = value.map_or(ScalarValue::Null, ScalarValue::Boolean);
    put_scalar(doc, &obj, path.key(), value)
}

/// Appends an item to a list (creating the list if needed). The item's own id is kept, so the
/// caller knows it; an item whose id is already in the list is refused.
pub fn add<T: Item>(doc: &mut AutoCommit, list: &List, item: &T) -> Result<(), RecordError> {
    if list.kind() != T::KIND {
        return Err(RecordError::WrongList {
            item: T::KIND.noun(),
        });
    }
    let obj = list.ensure(doc)?;
    if position(doc, &obj, item.id())?.is_some() {
        return Err(RecordError::Write(format!(
            "this {} is already in the list",
            T::KIND.noun()
        )));
    }
    let end = doc.length(&obj);
    autosurgeon::reconcile_insert(doc, obj, end, item).map_err(|e| write_err_rec(&e))
}

/// Removes an item by id, wherever it is.
pub fn remove(doc: &mut AutoCommit, kind: ItemKind, id: &str) -> Result<(), RecordError> {
    let (list, index, _) = find_item(doc, kind, id)?;
    doc.delete(&list, index).map_err(write_err)
}

/// Marks a meeting's record as agreed, on `date` (`YYYY-MM-DD`), by the people present
/// (`(name, agency)`, agency empty for family members).
///
/// Pending local changes are committed first, so the record agreed is exactly what this
/// device shows; the document's heads then are kept in the meeting's
/// [`agreed_heads`](Meeting::agreed_heads), and one change (committed here) writes them with
/// an [`Agreement`] (fresh id) for each person. Later edits stay possible and show up in
/// [`changed_since_agreement`](super::meetings::changed_since_agreement).
///
/// Agreeing again, after changes, replaces the agreed heads and adds the new agreements
/// (earlier ones are kept, as the history of who agreed). The heads are always written as a
/// new list, so two devices agreeing at once end with one of their states, the same one on
/// both, and every agreement from both.
pub fn agree_meeting(
    doc: &mut AutoCommit,
    meeting_id: &str,
    people: &[(&str, &str)],
    date: &str,
) -> Result<(), RecordError> {
    doc.commit();
    let meeting = item_obj(doc, ItemKind::Meeting, meeting_id)?;
    if people.iter().all(|(name, _)| name.trim().is_empty()) {
        return Err(RecordError::NobodyAgreed);
    }
    let heads = doc.get_heads();
    let result = (|| {
        let list = doc
            .put_object(&meeting, "agreed_heads", ObjType::List)
            .map_err(write_err)?;
        for (i, head) in heads.iter().enumerate() {
            doc.insert(&list, i, head.to_string()).map_err(write_err)?;
        }
        let agreed = List::Agreed(meeting_id.to_string());
        for (name, agency) in people.iter().filter(|(n, _)| !n.trim().is_empty()) {
            let mut agreement = Agreement::new(name, date);
            agreement.agency = agency.trim().to_string();
            add(doc, &agreed, &agreement)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            doc.commit();
            Ok(())
        }
        Err(e) => {
            doc.rollback();
            Err(e)
        }
    }
}

/// Moves a step to a new status, on `date` (`YYYY-MM-DD`), if the status flow allows it
/// (see [`StepStatus::next`]).
pub fn set_step_status(
    doc: &mut AutoCommit,
    step_id: &str,
    status: &StepStatus,
    date: &str,
) -> Result<(), RecordError> {
    let status_path = Path::Step(step_id.to_string(), StepField::Status);
    let current = StepStatus::parse(&get(doc, &status_path)?);
    let current = match current {
        StepStatus::Other(s) if s.is_empty() => StepStatus::default(),
        other => other,
    };
    if !current.can_become(status) {
        return Err(RecordError::StepStatus {
            from: current.label().to_lowercase(),
            to: status.label().to_lowercase(),
        });
    }
    set_text(doc, &status_path, status.as_str())?;
    set_text(
        doc,
        &Path::Step(step_id.to_string(), StepField::StatusDate),
        date,
    )
}

// ---- finding things ----

/// The object at `key` under `obj`, with its type, if it is an object.
fn child<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
) -> Result<Option<(ObjType, ObjId)>, RecordError> {
    Ok(match doc.get(obj, key).map_err(read_err)? {
        Some((Value::Object(t), id)) => Some((t, id)),
        _ => None,
    })
}

/// The object of type `ty` at `key` under `obj`, created if missing (or not an object).
fn ensure_child(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    ty: ObjType,
) -> Result<ObjId, RecordError> {
    match child(doc, obj, key)? {
        Some((t, id)) if t == ty => Ok(id),
        Some((t, _)) => Err(RecordError::Write(format!(
            "{key} holds a {t:?} where a {ty:?} belongs"
        ))),
        None => doc.put_object(obj, key, ty).map_err(write_err),
    }
}

/// A section map by its keys from the root, created if missing.
fn ensure_section(doc: &mut AutoCommit, keys: &[&str]) -> Result<ObjId, RecordError> {
    let mut obj = ROOT;
    for key in keys {
        obj = ensure_child(doc, &obj, key, ObjType::Map)?;
    }
    Ok(obj)
}

/// Every list object an item kind can live in.
fn lists<D: ReadDoc>(doc: &D, kind: ItemKind) -> Result<Vec<ObjId>, RecordError> {
    let mut found = Vec::new();
    for home in kind.homes() {
        let mut objs = vec![ROOT];
        for seg in home.iter() {
            let mut next = Vec::new();
            for obj in &objs {
                if *seg == "*" {
                    for i in 0..doc.length(obj) {
                        if let Some((Value::Object(ObjType::Map), id)) =
                            doc.get(obj, i).map_err(read_err)?
                        {
                            next.push(id);
                        }
                    }
                } else if let Some((_, id)) = child(doc, obj, seg)? {
                    next.push(id);
                }
            }
            objs = next;
        }
        found.extend(
            objs.into_iter()
                .filter(|o| doc.object_type(o).ok() == Some(ObjType::List)),
        );
    }
    Ok(found)
}

/// The index of the item with this id in a list.
fn position<D: ReadDoc>(doc: &D, list: &ObjId, id: &str) -> Result<Option<usize>, RecordError> {
    for i in 0..doc.length(list) {
        if let Some((Value::Object(ObjType::Map), item)) = doc.get(list, i).map_err(read_err)? {
            if let Some((Value::Scalar(s), _)) = doc.get(&item, "id").map_err(read_err)? {
                if matches!(s.as_ref(), ScalarValue::Str(v) if v.as_str() == id) {
                    return Ok(Some(i));
                }
            }
        }
    }
    Ok(None)
}

/// Every list item's object by item id, found in one pass over the document. Looking items
/// up one field at a time searches the lists each time, which is slow for a screen showing
/// hundreds of fields.
pub fn item_objects<D: ReadDoc>(
    doc: &D,
) -> Result<std::collections::HashMap<String, ObjId>, RecordError> {
    const KINDS: [ItemKind; 16] = [
        ItemKind::Person,
        ItemKind::AgencyConsent,
        ItemKind::DoNotShare,
        ItemKind::Override,
        ItemKind::Sharing,
        ItemKind::Participant,
        ItemKind::Outcome,
        ItemKind::Action,
        ItemKind::Score,
        ItemKind::Meeting,
        ItemKind::Progress,
        ItemKind::Agreement,
        ItemKind::Lead,
        ItemKind::Step,
        ItemKind::Escalation,
        ItemKind::PostClosureAction,
    ];
    let mut found = std::collections::HashMap::new();
    for kind in KINDS {
        for list in lists(doc, kind)? {
            for i in 0..doc.length(&list) {
                if let Some((Value::Object(ObjType::Map), item)) =
                    doc.get(&list, i).map_err(read_err)?
                {
                    if let Some((Value::Scalar(s), _)) = doc.get(&item, "id").map_err(read_err)? {
                        if let ScalarValue::Str(id) = s.as_ref() {
                            found.insert(id.to_string(), item);
                        }
                    }
                }
            }
        }
    }
    Ok(found)
}

/// An item by kind and id: its list, its index and its object.
pub(crate) fn find_item<D: ReadDoc>(
    doc: &D,
    kind: ItemKind,
    id: &str,
) -> Result<(ObjId, usize, ObjId), RecordError> {
    for list in lists(doc, kind)? {
        if let Some(i) = position(doc, &list, id)? {
            if let Some((_, obj)) = doc.get(&list, i).map_err(read_err)? {
                return Ok((list, i, obj));
            }
        }
    }
    Err(RecordError::NotFound(kind.noun()))
}

fn item_obj<D: ReadDoc>(doc: &D, kind: ItemKind, id: &str) -> Result<ObjId, RecordError> {
    Ok(find_item(doc, kind, id)?.2)
}

/// Puts a scalar unless it is already there (so an unchanged field makes no change).
fn put_scalar(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: ScalarValue,
) -> Result<(), RecordError> {
    if let Some((Value::Scalar(s), _)) = doc.get(obj, key).map_err(read_err)? {
        if s.as_ref() == &value {
            return Ok(());
        }
    }
    doc.put(obj, key, value).map_err(write_err)
}

fn read_err(e: automerge::AutomergeError) -> RecordError {
    RecordError::Read(e.to_string())
}

fn write_err(e: automerge::AutomergeError) -> RecordError {
    RecordError::Write(e.to_string())
}

fn write_err_rec(e: &autosurgeon::ReconcileError) -> RecordError {
    RecordError::Write(e.to_string())
}
