//! Escalation: a professional disagreement between agencies, taken through the council's
//! resolution stages until it is resolved.
//!
//! Audits found professionals unable to resolve disagreements, so each one is recorded with its
//! stage (1-2 informal, 3-5 formal), what it is about, who raised it against which agency,
//! and how it ended.

use super::new_id;
use autosurgeon::Text;

/// The highest stage of the resolution process.
pub const TOP_STAGE: i64 = 5;

string_enum! {
    /// What the disagreement is about.
    pub enum EscalationCategory {
        /// Whether the threshold for a service (e.g. social care) is met.
        #[default]
        Threshold = ("threshold", "Threshold"),
        AssessmentOutcome = ("assessment_outcome", "Assessment outcome"),
        Roles = ("roles", "Roles and responsibilities"),
        Services = ("services", "Services provided"),
        InformationSharing = ("information_sharing", "Information sharing"),
    }
}

record_struct! {
    /// One professional disagreement.
    pub struct Escalation {
        #[key]
        pub id: String,
        /// 1 to 5; `None` until set.
        pub stage: Option<i64>,
        /// `None` until chosen.
        pub category: Option<EscalationCategory>,
        /// Who raised it (name).
        pub raised_by: String,
        pub raised_by_agency: String,
        /// The agency the disagreement is with.
        pub against_agency: String,
        /// What the disagreement is.
        pub issue: Text,
        /// `YYYY-MM-DD`.
        pub raised_date: String,
        /// `YYYY-MM-DD` the current stage was reached.
        pub stage_date: String,
        /// `YYYY-MM-DD`; empty while unresolved.
        pub resolved_date: String,
        pub resolution: Text,
    }
}

impl Escalation {
    /// A new escalation at stage 1, with a fresh id.
    pub fn new(against_agency: &str, raised_date: &str) -> Self {
        Self {
            id: new_id(),
            stage: Some(1),
            against_agency: against_agency.trim().to_string(),
            raised_date: raised_date.trim().to_string(),
            stage_date: raised_date.trim().to_string(),
            ..Self::default()
        }
    }

    /// Stages 3 to 5 are formal (written, managers involved).
    pub fn is_formal(&self) -> bool {
        self.stage.is_some_and(|s| s >= 3)
    }

    /// The stage is one the process has.
    pub fn has_stage(&self) -> bool {
        self.stage.is_some_and(|s| (1..=TOP_STAGE).contains(&s))
    }

    /// The disagreement has been resolved.
    pub fn is_resolved(&self) -> bool {
        !self.resolved_date.trim().is_empty()
    }
}

fields! {
    /// The fields of an [`Escalation`].
    pub enum EscalationField {
        Stage = ("stage", Int),
        Category = ("category", Choice),
        RaisedBy = ("raised_by", Str),
        RaisedByAgency = ("raised_by_agency", Str),
        AgainstAgency = ("against_agency", Str),
        Issue = ("issue", Text),
        RaisedDate = ("raised_date", Str),
        StageDate = ("stage_date", Str),
        ResolvedDate = ("resolved_date", Str),
        Resolution = ("resolution", Text),
    }
}
