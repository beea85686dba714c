//! The Early Help Assessment (EHA): why it was done, who wrote it, what the assessment
//! triangle shows, what the child and parents say, and a Signs of Safety style summary.
//!
//! Audits found assessments not recorded, the child's voice missing, and CSE, going missing
//! and pre-birth concerns not asked about; each of those has its own field here so its absence
//! is visible. "What we are worried about" is [`super::CaseRecord::worried_about`]: it stays
//! at the document key version 1 used for its one free-text field, so that text (and its
//! history) carries on unchanged.

use super::meetings::Participant;
use autosurgeon::Text;

record_struct! {
    /// The current Early Help Assessment.
    pub struct Assessment {
        /// Which assessment this is: 1 for the first, 2 after a re-assessment, and so on.
        pub version: Option<i64>,
        /// `YYYY-MM-DD`.
        pub started: String,
        /// `YYYY-MM-DD`, empty while in progress.
        pub completed: String,
        /// Who wrote it (name and agency).
        pub author: String,
        pub co_authors: Vec<Participant>,
        /// Who was present (family members and professionals).
        pub present: Vec<Participant>,
        /// Why an assessment was needed now.
        pub reason: Text,
        /// The child's development: health, emotional and behavioural development, identity,
        /// family and social relationships, self-care, learning.
        pub child_development: TriangleSide,
        /// Parents and carers: basic care, safety, emotional warmth, stimulation, guidance and
        /// boundaries, stability.
        pub parenting: TriangleSide,
        /// Family and environment: family history and functioning, wider family, housing, work
        /// and income, community.
        pub family_environment: TriangleSide,
        /// What the child says life is like and wants to happen, in their own words.
        pub child_voice: Text,
        /// What the parents and carers think.
        pub parents_views: Text,
        /// Signs of Safety: what is working well.
        pub working_well: Text,
        /// Signs of Safety: what needs to happen.
        pub needs_to_happen: Text,
        /// 0 to 10, where 10 means safe to close; `None` until scored.
        pub scale: Option<i64>,
        /// The risk indicators every assessment asks about.
        pub risks: Risks,
    }
}

record_struct! {
    /// One side of the assessment triangle: what is going well and what is needed.
    pub struct TriangleSide {
        pub strengths: Text,
        pub needs: Text,
    }
}

record_struct! {
    /// The risk indicators audits found missed, each asked about explicitly.
    pub struct Risks {
        /// Child sexual exploitation.
        pub cse: RiskIndicator,
        /// Going missing from home, school or care.
        pub missing: RiskIndicator,
        pub neglect: RiskIndicator,
        pub domestic_abuse: RiskIndicator,
        /// Concerns about an unborn baby (including a parent's earlier children).
        pub pre_birth: RiskIndicator,
    }
}

record_struct! {
    /// The answer to one risk question.
    pub struct RiskIndicator {
        /// `Some(true)` a concern, `Some(false)` asked and no concern, `None` not asked yet.
        pub concern: Option<bool>,
        pub notes: Text,
    }
}

/// Names one side of the assessment triangle, for paths and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    ChildDevelopment,
    Parenting,
    FamilyEnvironment,
}

impl Side {
    /// All three, in the usual order.
    pub const ALL: [Side; 3] = [
        Side::ChildDevelopment,
        Side::Parenting,
        Side::FamilyEnvironment,
    ];

    /// The key in the document.
    pub fn key(self) -> &'static str {
        match self {
            Side::ChildDevelopment => "child_development",
            Side::Parenting => "parenting",
            Side::FamilyEnvironment => "family_environment",
        }
    }

    /// How to name it to people.
    pub fn label(self) -> &'static str {
        match self {
            Side::ChildDevelopment => "the child's development",
            Side::Parenting => "parents and carers",
            Side::FamilyEnvironment => "family and environment",
        }
    }

    /// This side of an assessment.
    pub fn of(self, assessment: &Assessment) -> &TriangleSide {
        match self {
            Side::ChildDevelopment => &assessment.child_development,
            Side::Parenting => &assessment.parenting,
            Side::FamilyEnvironment => &assessment.family_environment,
        }
    }
}

/// Names one risk indicator, for paths and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Risk {
    Cse,
    Missing,
    Neglect,
    DomesticAbuse,
    PreBirth,
}

impl Risk {
    /// All five, in the order asked.
    pub const ALL: [Risk; 5] = [
        Risk::Cse,
        Risk::Missing,
        Risk::Neglect,
        Risk::DomesticAbuse,
        Risk::PreBirth,
    ];

    /// The key in the document.
    pub fn key(self) -> &'static str {
        match self {
            Risk::Cse => "cse",
            Risk::Missing => "missing",
            Risk::Neglect => "neglect",
            Risk::DomesticAbuse => "domestic_abuse",
            Risk::PreBirth => "pre_birth",
        }
    }

    /// How to name it to people.
    pub fn label(self) -> &'static str {
        match self {
            Risk::Cse => "Child sexual exploitation (CSE)",
            Risk::Missing => "Going missing",
            Risk::Neglect => "Neglect",
            Risk::DomesticAbuse => "Domestic abuse",
            Risk::PreBirth => "Pre-birth concerns",
        }
    }

    /// This indicator of a set of risks.
    pub fn of(self, risks: &Risks) -> &RiskIndicator {
        match self {
            Risk::Cse => &risks.cse,
            Risk::Missing => &risks.missing,
            Risk::Neglect => &risks.neglect,
            Risk::DomesticAbuse => &risks.domestic_abuse,
            Risk::PreBirth => &risks.pre_birth,
        }
    }
}

fields! {
    /// The assessment's own fields.
    pub enum AssessmentField {
        Version = ("version", Int),
        Started = ("started", Str),
        Completed = ("completed", Str),
        Author = ("author", Str),
        Reason = ("reason", Text),
        ChildVoice = ("child_voice", Text),
        ParentsViews = ("parents_views", Text),
        WorkingWell = ("working_well", Text),
        NeedsToHappen = ("needs_to_happen", Text),
        Scale = ("scale", Int),
    }
}

fields! {
    /// The fields of one side of the triangle.
    pub enum SideField {
        Strengths = ("strengths", Text),
        Needs = ("needs", Text),
    }
}

fields! {
    /// The fields of one risk indicator.
    pub enum RiskField {
        Concern = ("concern", Bool),
        Notes = ("notes", Text),
    }
}
