//! Team Around the Child meetings and reviews: who came, what the child and family said, how
//! each action is going, what was decided, when the next one is, and who agreed the record.
//!
//! The first TAC meeting is due within about three weeks of the assessment and reviews about
//! every six weeks; the next date set at each meeting is what keeps the plan moving.
//!
//! At the end of a meeting its record is agreed by those present
//! ([`super::edit::agree_meeting`]), which keeps the document's state at that moment. The
//! record can still be changed afterwards, and [`changed_since_agreement`] lists what differs
//! from what was agreed, so nobody mistakes a later edit for something everyone agreed.

use super::edit::{find_item, ItemKind};
use super::new_id;
use super::plan::ActionStatus;
use super::RecordError;
use automerge::{AutomergeError, ChangeHash, ObjId, ObjType, Prop, ReadDoc, Value};
use autosurgeon::{Hydrate, Text};
use std::ops::RangeBounds;

string_enum! {
    /// What kind of meeting it was.
    pub enum MeetingKind {
        /// The first Team Around the Child meeting, where the plan is made.
        #[default]
        FirstTac = ("first_tac", "First TAC meeting"),
        Review = ("review", "Review"),
        /// Handing the case to a new lead professional or team (including step-up and
        /// step-down).
        Handover = ("handover", "Handover meeting"),
        /// Agreeing to close.
        Closure = ("closure", "Closure meeting"),
    }
}

record_struct! {
    /// A person taking part in an assessment or a meeting.
    pub struct Participant {
        #[key]
        pub id: String,
        pub name: String,
        /// Their agency, or empty for family members.
        pub agency: String,
        /// Their role, e.g. "Mother", "Class teacher", "Health visitor".
        pub role: String,
    }
}

impl Participant {
    /// A new participant with a fresh id.
    pub fn new(name: &str, agency: &str, role: &str) -> Self {
        Self {
            id: new_id(),
            name: name.trim().to_string(),
            agency: agency.trim().to_string(),
            role: role.trim().to_string(),
        }
    }
}

record_struct! {
    /// A TAC meeting or review.
    pub struct Meeting {
        #[key]
        pub id: String,
        pub kind: MeetingKind,
        /// `YYYY-MM-DD`; a date in the future is a meeting booked ahead.
        pub date: String,
        pub attendees: Vec<Participant>,
        /// People who sent apologies.
        pub apologies: Vec<Participant>,
        /// What the child said, or how their views were gathered.
        pub child_views: Text,
        /// What the family said.
        pub family_views: Text,
        /// How each action is going.
        pub progress: Vec<ActionProgress>,
        pub decisions: Text,
        /// When the next meeting is, `YYYY-MM-DD`.
        pub next_date: String,
        /// Who agreed this record of the meeting, and when. Everyone who ever agreed it is
        /// kept, including earlier agreements before a change and a fresh agreement.
        pub agreed: Vec<Agreement>,
        /// The document's heads (hex change hashes) at the moment the record was last
        /// agreed, so what changed after agreement can be shown; empty if never agreed this
        /// way (older cases list who agreed but not what they saw). Written only by
        /// [`super::edit::agree_meeting`], always as a new list, so two agreements made at
        /// once resolve to one of them, the same on every device.
        pub agreed_heads: Vec<String>,
    }
}

impl Meeting {
    /// A new meeting with a fresh id.
    pub fn new(kind: MeetingKind, date: &str) -> Self {
        Self {
            id: new_id(),
            kind,
            date: date.trim().to_string(),
            ..Self::default()
        }
    }

    /// Whether the record has been agreed with [`super::edit::agree_meeting`], which records
    /// what was agreed (see [`changed_since_agreement`]).
    pub fn is_agreed(&self) -> bool {
        !self.agreed_heads.is_empty()
    }

    /// How to name the meeting in a message, e.g. "The review on 4 March 2025".
    pub fn display_name(&self) -> String {
        let kind = self.kind.label().to_lowercase();
        let kind = kind.replace("tac", "TAC");
        let date = self.date.trim();
        if date.is_empty() {
            format!("A {kind}")
        } else {
            let date =
                super::dates::Day::parse(date).map_or_else(|| date.to_string(), |d| d.in_words());
            format!("The {kind} on {date}")
        }
    }
}

record_struct! {
    /// Progress on one action, as reported at a meeting.
    pub struct ActionProgress {
        #[key]
        pub id: String,
        /// The action (a [`super::plan::Action`] id).
        pub action_id: String,
        /// The status agreed at the meeting; `None` if not discussed.
        pub status: Option<ActionStatus>,
        pub note: Text,
    }
}

impl ActionProgress {
    /// New progress for an action, with a fresh id.
    pub fn new(action_id: &str) -> Self {
        Self {
            id: new_id(),
            action_id: action_id.to_string(),
            ..Self::default()
        }
    }
}

record_struct! {
    /// Someone agreeing a record (of a meeting, or a plan), and when.
    pub struct Agreement {
        #[key]
        pub id: String,
        pub name: String,
        /// Their agency, or empty for family members.
        pub agency: String,
        /// `YYYY-MM-DD`.
        pub date: String,
    }
}

impl Agreement {
    /// A new agreement with a fresh id.
    pub fn new(name: &str, date: &str) -> Self {
        Self {
            id: new_id(),
            name: name.trim().to_string(),
            date: date.trim().to_string(),
            ..Self::default()
        }
    }
}

fields! {
    /// The fields of a [`Meeting`].
    pub enum MeetingField {
        Kind = ("kind", Choice),
        Date = ("date", Str),
        ChildViews = ("child_views", Text),
        FamilyViews = ("family_views", Text),
        Decisions = ("decisions", Text),
        NextDate = ("next_date", Str),
    }
}

fields! {
    /// The fields of a [`Participant`].
    pub enum ParticipantField {
        Name = ("name", Str),
        Agency = ("agency", Str),
        Role = ("role", Str),
    }
}

fields! {
    /// The fields of an [`ActionProgress`].
    pub enum ProgressField {
        ActionId = ("action_id", Str),
        Status = ("status", Choice),
        Note = ("note", Text),
    }
}

fields! {
    /// The fields of an [`Agreement`].
    pub enum AgreementField {
        Name = ("name", Str),
        Agency = ("agency", Str),
        Date = ("date", Str),
    }
}

// ---- what changed after the record was agreed ----

/// A list in a meeting record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeetingList {
    Attendees,
    Apologies,
    Progress,
}

/// How a list item differs from when the record was agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemChange {
    Added,
    Removed,
    Changed,
}

impl ItemChange {
    fn verb(self) -> &'static str {
        match self {
            ItemChange::Added => "added",
            ItemChange::Removed => "removed",
            ItemChange::Changed => "changed",
        }
    }
}

/// What part of a meeting record changed after it was agreed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Changed {
    /// One of the meeting's own fields.
    Field(MeetingField),
    /// An attendee, apology or progress note (by its id).
    Item {
        list: MeetingList,
        id: String,
        how: ItemChange,
    },
}

/// One difference between a meeting record as it was agreed and as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingChange {
    /// What changed, for linking to it.
    pub what: Changed,
    /// The change as a sentence to show people (GOV.UK style, no full stop), e.g. "What was
    /// decided was changed after the record was agreed".
    pub message: String,
}

impl MeetingChange {
    /// The id of the list item concerned, if the change is to an item.
    pub fn item(&self) -> Option<&str> {
        match &self.what {
            Changed::Item { id, .. } => Some(id),
            Changed::Field(_) => None,
        }
    }

    fn field(field: MeetingField) -> Self {
        let what = match field {
            MeetingField::Kind => "The kind of meeting",
            MeetingField::Date => "The date of the meeting",
            MeetingField::ChildViews => "What the child said",
            MeetingField::FamilyViews => "What the family said",
            MeetingField::Decisions => "What was decided",
            MeetingField::NextDate => "The date of the next meeting",
        };
        Self {
            what: Changed::Field(field),
            message: format!("{what} was changed after the record was agreed"),
        }
    }

    fn item_change(list: MeetingList, id: &str, how: ItemChange, name: &str) -> Self {
        let name = name.trim();
        let what = match (list, name.is_empty()) {
            (MeetingList::Attendees, true) => "An attendee".to_string(),
            (MeetingList::Attendees, false) => format!("Attendee {name}"),
            (MeetingList::Apologies, true) => "An apology".to_string(),
            (MeetingList::Apologies, false) => format!("The apology from {name}"),
            (MeetingList::Progress, _) => "A progress note".to_string(),
        };
        Self {
            what: Changed::Item {
                list,
                id: id.to_string(),
                how,
            },
            message: format!("{what} was {} after the record was agreed", how.verb()),
        }
    }
}

/// What differs between a meeting record as it was last agreed ([`super::edit::agree_meeting`])
/// and as it is now: each of its fields, and attendees, apologies and progress notes added,
/// removed or changed (matched by id). Who agreed it, and when, does not count.
///
/// Empty if the record was never agreed this way ([`Meeting::is_agreed`]) or nothing differs
/// (a change later undone is no difference). Values are compared as the record reads them,
/// so a change from the agreed state and back again, or a field written with the value it
/// already had, is not reported.
///
/// If the document does not hold the agreed state ([`RecordError::AgreedVersionMissing`]),
/// nothing can be compared. That does not happen in normal use: the change recording the
/// agreement depends on exactly that state, so a device holding one holds the other.
pub fn changed_since_agreement<D: ReadDoc + autosurgeon::ReadDoc>(
    doc: &D,
    meeting_id: &str,
) -> Result<Vec<MeetingChange>, RecordError> {
    let (_, _, obj) = find_item(doc, ItemKind::Meeting, meeting_id)?;
    let now = Meeting::hydrate_map(doc, &obj).map_err(hydrate_err)?;
    let heads = parse_heads(&now.agreed_heads)?;
    if heads.is_empty() {
        return Ok(Vec::new());
    }
    if heads.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
        return Err(RecordError::AgreedVersionMissing);
    }
    let then = At { doc, heads: &heads };
    let then = Meeting::hydrate_map(&then, &obj).map_err(hydrate_err)?;
    Ok(differences(&then, &now))
}

/// The hex change hashes of a meeting's `agreed_heads`, as hashes.
pub fn parse_heads(heads: &[String]) -> Result<Vec<ChangeHash>, RecordError> {
    heads
        .iter()
        .map(|h| {
            h.trim()
                .parse()
                .map_err(|e| RecordError::Read(format!("agreed version {h:?}: {e}")))
        })
        .collect()
}

fn differences(then: &Meeting, now: &Meeting) -> Vec<MeetingChange> {
    let mut out = Vec::new();
    for field in MeetingField::ALL {
        let same = match field {
            MeetingField::Kind => then.kind == now.kind,
            MeetingField::Date => then.date.trim() == now.date.trim(),
            MeetingField::ChildViews => then.child_views == now.child_views,
            MeetingField::FamilyViews => then.family_views == now.family_views,
            MeetingField::Decisions => then.decisions == now.decisions,
            MeetingField::NextDate => then.next_date.trim() == now.next_date.trim(),
        };
        if !same {
            out.push(MeetingChange::field(*field));
        }
    }
    let name = |p: &Participant| p.name.clone();
    list_differences(
        &mut out,
        MeetingList::Attendees,
        &then.attendees,
        &now.attendees,
        |p| &p.id,
        name,
    );
    list_differences(
        &mut out,
        MeetingList::Apologies,
        &then.apologies,
        &now.apologies,
        |p| &p.id,
        name,
    );
    list_differences(
        &mut out,
        MeetingList::Progress,
        &then.progress,
        &now.progress,
        |p| &p.id,
        |_| String::new(),
    );
    out
}

fn list_differences<T: PartialEq>(
    out: &mut Vec<MeetingChange>,
    list: MeetingList,
    then: &[T],
    now: &[T],
    id: impl Fn(&T) -> &String,
    name: impl Fn(&T) -> String,
) {
    for old in then {
        match now.iter().find(|x| id(x) == id(old)) {
            None => out.push(MeetingChange::item_change(
                list,
                id(old),
                ItemChange::Removed,
                &name(old),
            )),
            Some(new) if new != old => out.push(MeetingChange::item_change(
                list,
                id(old),
                ItemChange::Changed,
                &name(new),
            )),
            Some(_) => {}
        }
    }
    for new in now {
        if !then.iter().any(|x| id(x) == id(new)) {
            out.push(MeetingChange::item_change(
                list,
                id(new),
                ItemChange::Added,
                &name(new),
            ));
        }
    }
}

fn hydrate_err(e: autosurgeon::HydrateError) -> RecordError {
    RecordError::Read(e.to_string())
}

/// A document read as it was at some heads, for hydrating.
struct At<'a, D> {
    doc: &'a D,
    heads: &'a [ChangeHash],
}

impl<D: ReadDoc> autosurgeon::ReadDoc for At<'_, D> {
    type Parents<'b>
        = automerge::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<ChangeHash> {
        self.heads.to_vec()
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        self.doc.get_at(obj, prop, self.heads)
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        self.doc.object_type(obj).ok()
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> automerge::iter::MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
        R: RangeBounds<String>,
    {
        self.doc.map_range_at(obj, range, self.heads)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> automerge::iter::ListRange<'_> {
        self.doc.list_range_at(obj, range, self.heads)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        self.doc.length_at(obj, self.heads)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        self.doc.text_at(obj, self.heads)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        self.doc.parents_at(obj, self.heads)
    }

    fn is_empty(&self) -> bool {
        self.doc
            .keys_at(automerge::ROOT, self.heads)
            .next()
            .is_none()
    }
}
