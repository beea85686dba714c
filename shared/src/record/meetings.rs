//! Team Around the Child meetings and reviews: who came, what the child and family said, how
//! each action is going, what was decided, when the next one is, and who agreed the record.
//!
//! The first TAC meeting is due within about three weeks of the assessment and reviews about
//! every six weeks; the next date set at each meeting is what keeps the plan moving.

use super::new_id;
use super::plan::ActionStatus;
use autosurgeon::Text;

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
        /// Who agreed this record of the meeting, and when.
        pub agreed: Vec<Agreement>,
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

    /// How to name the meeting in a message, e.g. "The review on 2025-03-04".
    pub fn display_name(&self) -> String {
        let kind = self.kind.label().to_lowercase();
        let kind = kind.replace("tac", "TAC");
        if self.date.trim().is_empty() {
            format!("A {kind}")
        } else {
            format!("The {kind} on {}", self.date.trim())
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
