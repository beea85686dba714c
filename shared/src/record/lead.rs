//! Who holds the lead professional role, from when, and how it was handed over.
//!
//! Audits found the role not taken up, so the history is explicit: each holder is an entry
//! with a start date, and a handover ends one entry and starts the next.

use super::new_id;
use autosurgeon::Text;

record_struct! {
    /// One person's time as lead professional.
    pub struct LeadProfessional {
        #[key]
        pub id: String,
        pub name: String,
        pub agency: String,
        /// Job title, e.g. "Family support worker".
        pub role: String,
        /// Phone or email.
        pub contact: String,
        /// `YYYY-MM-DD` they took the role.
        pub from: String,
        /// `YYYY-MM-DD` they handed it on; empty while they hold it.
        pub to: String,
        /// How the handover to the next lead went, and what they need to know.
        pub handover_notes: Text,
    }
}

impl LeadProfessional {
    /// A new lead professional entry with a fresh id.
    pub fn new(name: &str, agency: &str, from: &str) -> Self {
        Self {
            id: new_id(),
            name: name.trim().to_string(),
            agency: agency.trim().to_string(),
            from: from.trim().to_string(),
            ..Self::default()
        }
    }
}

/// The lead professional now: the latest entry not yet handed on.
pub fn current(history: &[LeadProfessional]) -> Option<&LeadProfessional> {
    history.iter().rev().find(|l| l.to.trim().is_empty())
}

fields! {
    /// The fields of a [`LeadProfessional`].
    pub enum LeadField {
        Name = ("name", Str),
        Agency = ("agency", Str),
        Role = ("role", Str),
        Contact = ("contact", Str),
        From = ("from", Str),
        To = ("to", Str),
        HandoverNotes = ("handover_notes", Text),
    }
}
