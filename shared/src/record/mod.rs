//! The full case record (schema version 2): everything a lead professional and the Team Around
//! the Child record about a family, as one Automerge document per case.
//!
//! Each module is one idea from early help practice:
//!
//! - [`family`]: the household and the people in it (children, unborn babies, parents and
//!   carers including fathers, siblings, significant adults).
//! - [`consent`]: consent per agency, "do not share" wishes, safeguarding overrides and
//!   sharing decisions.
//! - [`assessment`]: the Early Help Assessment.
//! - [`plan`]: the TAC plan: outcomes, actions and scores.
//! - [`meetings`]: TAC meetings and reviews.
//! - [`lead`]: who holds the lead professional role, and handovers.
//! - [`step`]: step-up to social care and step-down to early help.
//! - [`escalation`]: professional disagreements between agencies.
//! - [`closure`]: closing the case.
//! - [`validation`]: what is still missing, in plain English, and the plan's state at a glance.
//! - [`edit`]: one-field-at-a-time edits, as the UI makes them.
//! - [`labels`]: what every field is called, in plain words: one place for the forms, the
//!   history, the diffs and the documents that leave the system.
//! - [`history`]: who changed what and when, the case as it stood, and what changed since.
//! - [`migrate`](mod@migrate): upgrading version-1 documents.
//!
//! How it maps to Automerge, so concurrent work merges the way people expect:
//!
//! - every list item has a stable string `id` (its autosurgeon `#[key]`), so two people adding
//!   items at once never merge into one item and edits land on the right item;
//! - every free-text field is Automerge text ([`autosurgeon::Text`]), merged character by
//!   character; short identifying values (names, `YYYY-MM-DD` dates, agencies) and choices are
//!   plain strings; numbers are signed (JavaScript reads them as plain numbers); yes/no answers
//!   are `Option<bool>` where `None` means "not asked yet";
//! - choices are stored as strings and an unknown one reads as `Other(..)`, and every field
//!   reads as its default when missing, so a document written by a newer app still opens.
//!
//! Reading: [`CaseRecord::from_document`] (after [`migrate()`]). Writing: small edits with
//! [`edit`], or a whole record with [`CaseRecord::write`].

#[macro_use]
mod macros;

pub mod assessment;
pub mod closure;
pub mod consent;
pub mod dates;
pub mod edit;
pub mod escalation;
pub mod family;
pub mod history;
pub mod labels;
pub mod lead;
pub mod meetings;
pub mod migrate;
pub mod plan;
pub mod retention;
pub mod step;
pub mod validation;

pub use migrate::migrate;

use assessment::Assessment;
use automerge::{AutoCommit, ReadDoc, ScalarValue, Value, ROOT};
use autosurgeon::{hydrate, reconcile, Hydrate, Reconcile, ReconcileError, Text};
use closure::Closure;
use consent::Consent;
use escalation::Escalation;
use family::{Family, Person, Role};
use lead::LeadProfessional;
use meetings::Meeting;
use plan::Plan;
use step::Step;

/// The schema version this module reads and writes. Version 1 is [`crate::case`].
pub const SCHEMA_VERSION: i64 = 2;

/// A fresh id for a list item: random, so ids made offline on different devices never clash.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A whole case as the app reads it.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct CaseRecord {
    /// Which schema the document follows; signed, so JavaScript reads a plain number.
    #[autosurgeon(missing = "Default::default")]
    pub schema_version: i64,
    /// Signs of Safety "what we are worried about", part of the assessment. It is stored at
    /// the document key `concerns`, where version 1 kept its one free-text field, so migration
    /// keeps that Automerge text (its history, and edits still arriving from a version-1 app)
    /// rather than copying it.
    #[autosurgeon(rename = "concerns", missing = "Default::default")]
    pub worried_about: Text,
    #[autosurgeon(missing = "Default::default")]
    pub family: Family,
    #[autosurgeon(missing = "Default::default")]
    pub consent: Consent,
    #[autosurgeon(missing = "Default::default")]
    pub assessment: Assessment,
    #[autosurgeon(missing = "Default::default")]
    pub plan: Plan,
    #[autosurgeon(missing = "Default::default")]
    pub meetings: Vec<Meeting>,
    /// Everyone who has held the lead professional role, oldest first.
    #[autosurgeon(missing = "Default::default")]
    pub lead_professionals: Vec<LeadProfessional>,
    /// Step-ups and step-downs, oldest first.
    #[autosurgeon(missing = "Default::default")]
    pub steps: Vec<Step>,
    #[autosurgeon(missing = "Default::default")]
    pub escalations: Vec<Escalation>,
    #[autosurgeon(missing = "Default::default")]
    pub closure: Closure,
}

impl CaseRecord {
    /// A new case about one child, at the current schema version.
    pub fn new(child_name: &str) -> Self {
        let mut record = Self {
            schema_version: SCHEMA_VERSION,
            ..Self::default()
        };
        record.assessment.version = Some(1);
        record
            .family
            .people
            .push(Person::new(Role::Child, child_name));
        record
    }

    /// A new document holding this record. Its heads are never empty once read (a peer treats
    /// a document with no heads as one it does not have).
    pub fn into_document(self) -> Result<AutoCommit, RecordError> {
        let mut doc = AutoCommit::new();
        self.write(&mut doc)?;
        doc.commit();
        Ok(doc)
    }

    /// Reads a record. Version-1 documents must be migrated first ([`migrate()`]); documents
    /// from a newer version are read as far as this version understands them.
    pub fn from_document<D: ReadDoc + autosurgeon::ReadDoc>(doc: &D) -> Result<Self, RecordError> {
        match schema_version_of(doc)? {
            None => Err(RecordError::NotACase),
            Some(v) if v < SCHEMA_VERSION => Err(RecordError::NeedsMigration(v)),
            Some(_) => hydrate(doc).map_err(|e| RecordError::Read(e.to_string())),
        }
    }

    /// Reads a record to change and write back whole with [`CaseRecord::write`]: commits
    /// pending local changes first, so the record's text fields know the document's heads.
    pub fn load(doc: &mut AutoCommit) -> Result<Self, RecordError> {
        doc.commit();
        Self::from_document(doc)
    }

    /// Writes the whole record, changing only what differs (an unchanged record makes no
    /// change). Meant for new items and bulk changes; the UI's field-by-field editing should
    /// use [`edit`], which touches one field and so merges best.
    ///
    /// - Read the record with [`CaseRecord::load`]; if the document has changed since,
    ///   the write is refused with [`RecordError::Stale`]: read it again.
    /// - A text field given a new `Text::with_value(..)` replaces that text object (and so
    ///   anything typed into it concurrently). To change free text use [`edit::set_text`] or
    ///   [`edit::splice_text`]; do not use `Text::splice`/`Text::update` on a record read from
    ///   a document: they count bytes, which is wrong for this document's UTF-16 indexes
    ///   (non-ASCII text is corrupted or the write fails).
    ///
    /// Pending local changes are committed first, so that a refused write can be rolled back
    /// without taking them with it, and nothing of a refused write is left behind.
    pub fn write(&self, doc: &mut AutoCommit) -> Result<(), RecordError> {
        doc.commit();
        reconcile(doc, self).map_err(|e| {
            doc.rollback();
            match e {
                ReconcileError::StaleHeads(_) => RecordError::Stale,
                e => RecordError::Write(e.to_string()),
            }
        })
    }

    /// The child or children the case is about (including unborn babies).
    pub fn children(&self) -> impl Iterator<Item = &Person> {
        children_of(&self.family)
    }

    /// The lead professional now, if anyone holds the role.
    pub fn current_lead(&self) -> Option<&LeadProfessional> {
        lead::current(&self.lead_professionals)
    }
}

/// The document's `schema_version`, or `None` if it has none (an empty document, or not a
/// case).
pub fn schema_version_of<D: ReadDoc>(doc: &D) -> Result<Option<i64>, RecordError> {
    let value = doc
        .get(ROOT, "schema_version")
        .map_err(|e| RecordError::Read(e.to_string()))?;
    Ok(match value {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Int(i) => Some(*i),
            ScalarValue::Uint(u) => i64::try_from(*u).ok(),
            ScalarValue::F64(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        },
        _ => None,
    })
}

/// Whether the document has anything in it yet (a case still arriving has not).
pub(crate) fn is_blank<D: ReadDoc>(doc: &D) -> bool {
    doc.keys(ROOT).next().is_none()
}

/// A case record could not be read, migrated or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("this case could not be read: {0}")]
    Read(String),
    #[error("this change could not be saved: {0}")]
    Write(String),
    #[error("this document is not a case")]
    NotACase,
    #[error("this case is in version {0} of the format and needs upgrading first")]
    NeedsMigration(i64),
    #[error("this case changed while it was being edited; read it again and repeat the change")]
    Stale,
    #[error("the {0} being changed is no longer in the case (someone may have removed it)")]
    NotFound(&'static str),
    #[error("the {field} field does not hold {wanted}")]
    WrongKind {
        field: &'static str,
        wanted: &'static str,
    },
    #[error("a {item} cannot be added to that list")]
    WrongList { item: &'static str },
    /// Agreeing a record needs at least one person agreeing it.
    #[error("name at least one person who agreed the record")]
    NobodyAgreed,
    /// The document does not hold the version of a meeting record that was agreed, so what
    /// changed since cannot be worked out (see [`meetings::changed_since_agreement`]).
    #[error("the version of this record that was agreed is not on this device yet")]
    AgreedVersionMissing,
    #[error("a step that is {from} cannot become {to}")]
    StepStatus { from: String, to: String },
}

fn children_of(family: &Family) -> impl Iterator<Item = &Person> {
    family.people.iter().filter(|p| p.is_child_of_case())
}

/// The name of the (first) child a case is about, reading only the family part of the
/// document: cheaper than [`CaseRecord::from_document`] for lists and titles.
pub fn child_name<D: ReadDoc + autosurgeon::ReadDoc>(doc: &D) -> Option<String> {
    let family: Family = autosurgeon::hydrate_prop(doc, ROOT, "family").ok()?;
    family
        .people
        .into_iter()
        .find(Person::is_child_of_case)
        .map(|c| c.name)
}
