//! Closing the case: why, when, and what still happens afterwards.
//!
//! The case is closing as soon as a reason or a date is recorded; until then this section is
//! empty and nothing is asked of it.

use super::new_id;
use autosurgeon::Text;

string_enum! {
    /// Why early help ended.
    pub enum ClosureReason {
        /// The plan's outcomes were met.
        #[default]
        NeedsMet = ("needs_met", "Needs met"),
        /// One agency can carry on without a TAC (universal services).
        SingleAgency = ("single_agency", "A single agency can continue"),
        /// Stepped up to children's social care.
        SteppedUp = ("stepped_up", "Stepped up to social care"),
        /// The family withdrew consent.
        ConsentWithdrawn = ("consent_withdrawn", "Family withdrew consent"),
        /// The family moved out of the area (the case is transferred).
        MovedAway = ("moved_away", "Family moved away"),
    }
}

record_struct! {
    /// The case's closure.
    pub struct Closure {
        /// `None` until chosen.
        pub reason: Option<ClosureReason>,
        /// `YYYY-MM-DD`.
        pub date: String,
        /// More about why, and what the family said.
        pub notes: Text,
        /// What carries on after closure (e.g. school keeps a check-in going).
        pub actions: Vec<PostClosureAction>,
    }
}

impl Closure {
    /// Closure has been started: a reason, a date, notes or an action is recorded.
    pub fn is_started(&self) -> bool {
        self.reason.is_some()
            || !self.date.trim().is_empty()
            || !self.notes.as_str().trim().is_empty()
            || !self.actions.is_empty()
    }
}

record_struct! {
    /// Something that carries on after the case closes.
    pub struct PostClosureAction {
        #[key]
        pub id: String,
        pub what: Text,
        pub owner: String,
        pub agency: String,
        /// `YYYY-MM-DD`, or empty for ongoing.
        pub due: String,
    }
}

impl PostClosureAction {
    /// A new post-closure action with a fresh id.
    pub fn new(what: &str) -> Self {
        Self {
            id: new_id(),
            what: Text::with_value(what),
            ..Self::default()
        }
    }
}

fields! {
    /// The closure's own fields.
    pub enum ClosureField {
        Reason = ("reason", Choice),
        Date = ("date", Str),
        Notes = ("notes", Text),
    }
}

fields! {
    /// The fields of a [`PostClosureAction`].
    pub enum PostClosureField {
        What = ("what", Text),
        Owner = ("owner", Str),
        Agency = ("agency", Str),
        Due = ("due", Str),
    }
}
