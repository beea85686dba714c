//! The Team Around the Child plan: a few outcomes in the family's words, each with SMART
//! actions (what, who, by when, status, evidence) and a score at each review.
//!
//! Actions name both a person and an agency because audits found agencies not planning
//! jointly: an action with no named owner is an action nobody does.

use super::new_id;
use autosurgeon::Text;

string_enum! {
    /// Where an action has got to.
    pub enum ActionStatus {
        #[default]
        NotStarted = ("not_started", "Not started"),
        InProgress = ("in_progress", "In progress"),
        Done = ("done", "Done"),
        /// Overtaken by events; kept so the plan's history still reads.
        NoLongerNeeded = ("no_longer_needed", "No longer needed"),
    }
}

impl ActionStatus {
    /// Nothing more is expected of the action, so it cannot be overdue.
    pub fn is_finished(&self) -> bool {
        matches!(self, ActionStatus::Done | ActionStatus::NoLongerNeeded)
    }
}

record_struct! {
    /// The plan.
    pub struct Plan {
        /// The top of the scale outcomes are scored on (usually 5 or 10); `None` until chosen,
        /// read as 10 (see [`Plan::scale_top`]).
        pub scale_max: Option<i64>,
        pub outcomes: Vec<Outcome>,
    }
}

impl Plan {
    /// The top of the scale outcomes are scored on.
    pub fn scale_top(&self) -> i64 {
        match self.scale_max {
            Some(top) if top > 0 => top,
            _ => 10,
        }
    }

    /// Every action in the plan with the outcome it serves.
    pub fn actions(&self) -> impl Iterator<Item = (&Outcome, &Action)> {
        self.outcomes
            .iter()
            .flat_map(|o| o.actions.iter().map(move |a| (o, a)))
    }

    /// An action by id, wherever it is in the plan.
    pub fn action(&self, id: &str) -> Option<&Action> {
        self.actions().map(|(_, a)| a).find(|a| a.id == id)
    }
}

record_struct! {
    /// What the family wants to be different, in their words.
    pub struct Outcome {
        #[key]
        pub id: String,
        pub title: Text,
        pub actions: Vec<Action>,
        /// The outcome's score at each review.
        pub scores: Vec<Score>,
    }
}

impl Outcome {
    /// A new outcome with a fresh id.
    pub fn new(title: &str) -> Self {
        Self {
            id: new_id(),
            title: Text::with_value(title),
            ..Self::default()
        }
    }
}

record_struct! {
    /// One SMART action: what, who, by when, and how it is going.
    pub struct Action {
        #[key]
        pub id: String,
        /// What will be done.
        pub what: Text,
        /// The named person who will do it.
        pub owner: String,
        /// Their agency, or "Family".
        pub agency: String,
        /// `YYYY-MM-DD`.
        pub due: String,
        pub status: ActionStatus,
        /// Evidence of progress.
        pub evidence: Text,
    }
}

impl Action {
    /// A new action with a fresh id.
    pub fn new(what: &str) -> Self {
        Self {
            id: new_id(),
            what: Text::with_value(what),
            ..Self::default()
        }
    }
}

record_struct! {
    /// An outcome's score at one review.
    pub struct Score {
        #[key]
        pub id: String,
        /// The meeting the score was given at (a [`super::meetings::Meeting`] id).
        pub meeting_id: String,
        /// `YYYY-MM-DD`.
        pub date: String,
        /// On the plan's scale; `None` until scored.
        pub score: Option<i64>,
    }
}

impl Score {
    /// A new score with a fresh id.
    pub fn new(meeting_id: &str, date: &str, score: i64) -> Self {
        Self {
            id: new_id(),
            meeting_id: meeting_id.to_string(),
            date: date.to_string(),
            score: Some(score),
        }
    }
}

fields! {
    /// The plan's own fields.
    pub enum PlanField {
        ScaleMax = ("scale_max", Int),
    }
}

fields! {
    /// The fields of an [`Outcome`].
    pub enum OutcomeField {
        Title = ("title", Text),
    }
}

fields! {
    /// The fields of an [`Action`].
    pub enum ActionField {
        What = ("what", Text),
        Owner = ("owner", Str),
        Agency = ("agency", Str),
        Due = ("due", Str),
        Status = ("status", Choice),
        Evidence = ("evidence", Text),
    }
}

fields! {
    /// The fields of a [`Score`].
    pub enum ScoreField {
        MeetingId = ("meeting_id", Str),
        Date = ("date", Str),
        Score = ("score", Int),
    }
}
