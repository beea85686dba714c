//! Consent and information sharing: what the family agreed each agency may see, and every
//! decision to share or not share, with its reason.
//!
//! Early help is consent-based. Consent is recorded per agency and can be withdrawn; a
//! "do not share with" list says where information must not go; sharing without consent
//! when a child is at risk is an override with a lawful basis, a reason, a decider and a date.
//! The golden rule of information sharing is to record the decision and the reason either way,
//! which is what [`SharingDecision`] is for.

use super::new_id;
use autosurgeon::Text;

string_enum! {
    /// Who gave consent, because a competent child can consent for themselves (many councils
    /// use 12 and over) and auditors check which it was.
    pub enum ConsentGiver {
        #[default]
        Parent = ("parent", "Parent or carer"),
        CompetentChild = ("competent_child", "The child (competent to consent)"),
    }
}

string_enum! {
    /// How consent was given.
    pub enum ConsentMethod {
        #[default]
        Written = ("written", "Written"),
        Verbal = ("verbal", "Verbal"),
    }
}

record_struct! {
    /// Everything about consent and sharing for the case.
    pub struct Consent {
        /// Consent per agency.
        pub agencies: Vec<AgencyConsent>,
        /// Agencies or people information must not be shared with.
        pub do_not_share: Vec<DoNotShare>,
        /// Sharing without consent, for safeguarding.
        pub overrides: Vec<ConsentOverride>,
        /// Each decision to share or not to share.
        pub sharing: Vec<SharingDecision>,
    }
}

record_struct! {
    /// Consent for one agency to see and contribute to the record.
    pub struct AgencyConsent {
        #[key]
        pub id: String,
        /// The agency, e.g. "Oak Primary School", "Health visiting".
        pub agency: String,
        /// What the agency may see or is asked to share.
        pub scope: Text,
        /// The name of the person who gave consent.
        pub given_by: String,
        /// Whether a parent or the competent child gave it; `None` until recorded.
        pub giver: Option<ConsentGiver>,
        /// Written or verbal; `None` until recorded.
        pub method: Option<ConsentMethod>,
        /// `YYYY-MM-DD`.
        pub date: String,
        /// When consent was withdrawn, `YYYY-MM-DD`; empty while it stands.
        pub withdrawn_date: String,
        pub notes: Text,
    }
}

impl AgencyConsent {
    /// New consent for an agency, with a fresh id.
    pub fn new(agency: &str) -> Self {
        Self {
            id: new_id(),
            agency: agency.trim().to_string(),
            ..Self::default()
        }
    }

    /// Consent was given and has not been withdrawn.
    pub fn is_current(&self) -> bool {
        !self.date.trim().is_empty() && self.withdrawn_date.trim().is_empty()
    }
}

record_struct! {
    /// An agency or person the family does not want information shared with.
    pub struct DoNotShare {
        #[key]
        pub id: String,
        pub with: String,
        pub reason: Text,
    }
}

impl DoNotShare {
    /// A new entry with a fresh id.
    pub fn new(with: &str) -> Self {
        Self {
            id: new_id(),
            with: with.trim().to_string(),
            ..Self::default()
        }
    }
}

record_struct! {
    /// Sharing without consent because it is necessary to protect a child.
    pub struct ConsentOverride {
        #[key]
        pub id: String,
        /// Who information is shared with, e.g. "MASH".
        pub agency: String,
        /// The lawful basis, e.g. "UK GDPR Art. 6(1)(e) and 9(2)(g); Children Act 1989 s.47".
        pub lawful_basis: String,
        /// Why sharing without consent is necessary and proportionate.
        pub reason: Text,
        /// Who decided (name and role).
        pub decided_by: String,
        /// `YYYY-MM-DD`.
        pub decided_date: String,
    }
}

impl ConsentOverride {
    /// A new override with a fresh id.
    pub fn new(agency: &str) -> Self {
        Self {
            id: new_id(),
            agency: agency.trim().to_string(),
            ..Self::default()
        }
    }
}

record_struct! {
    /// One decision to share or not share information, and why.
    pub struct SharingDecision {
        #[key]
        pub id: String,
        /// `YYYY-MM-DD`.
        pub date: String,
        /// `Some(true)` shared, `Some(false)` decided not to share; `None` until decided.
        pub shared: Option<bool>,
        /// What was (or would have been) shared.
        pub what: Text,
        /// Who with.
        pub with: String,
        /// Why: the reason is recorded either way.
        pub reason: Text,
        pub decided_by: String,
        /// The lawful basis for sharing (consent, or the safeguarding basis without it).
        pub lawful_basis: String,
    }
}

impl SharingDecision {
    /// A new decision with a fresh id.
    pub fn new(with: &str) -> Self {
        Self {
            id: new_id(),
            with: with.trim().to_string(),
            ..Self::default()
        }
    }
}

fields! {
    /// The fields of an [`AgencyConsent`].
    pub enum AgencyConsentField {
        Agency = ("agency", Str),
        Scope = ("scope", Text),
        GivenBy = ("given_by", Str),
        Giver = ("giver", Choice),
        Method = ("method", Choice),
        Date = ("date", Str),
        WithdrawnDate = ("withdrawn_date", Str),
        Notes = ("notes", Text),
    }
}

fields! {
    /// The fields of a [`DoNotShare`] entry.
    pub enum DoNotShareField {
        With = ("with", Str),
        Reason = ("reason", Text),
    }
}

fields! {
    /// The fields of a [`ConsentOverride`].
    pub enum OverrideField {
        Agency = ("agency", Str),
        LawfulBasis = ("lawful_basis", Str),
        Reason = ("reason", Text),
        DecidedBy = ("decided_by", Str),
        DecidedDate = ("decided_date", Str),
    }
}

fields! {
    /// The fields of a [`SharingDecision`].
    pub enum SharingField {
        Date = ("date", Str),
        Shared = ("shared", Bool),
        What = ("what", Text),
        With = ("with", Str),
        Reason = ("reason", Text),
        DecidedBy = ("decided_by", Str),
        LawfulBasis = ("lawful_basis", Str),
    }
}
