//! The case document: what a lead professional records about a child, as an Automerge document.
//!
//! This is the thin first version of the schema (the child, the setting, the lead professional
//! and one free-text account of what is happening). Scalars are last-writer-wins; free text is
//! Automerge text so two people typing in the same box both keep their words.

use automerge::{AutoCommit, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use autosurgeon::{hydrate, reconcile, Hydrate, Reconcile, Text};

/// The schema version new documents are written with.
pub const SCHEMA_VERSION: i64 = 1;

/// A case as the app reads it.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Case {
    /// A signed integer, which JavaScript automerge reads as a plain number (unsigned ones become BigInt).
    pub schema_version: i64,
    pub child_name: String,
    pub date_of_birth: String,
    pub setting: String,
    pub lead_professional: String,
    /// What is happening for the child, in the words of whoever is recording.
    pub concerns: Text,
}

impl Case {
    pub fn new(child_name: &str) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            child_name: child_name.trim().to_string(),
            date_of_birth: String::new(),
            setting: String::new(),
            lead_professional: String::new(),
            concerns: Text::with_value(""),
        }
    }

    /// A new document holding this case. It has one change, so its heads are never empty
    /// (a peer treats a document with no heads as one it does not have).
    pub fn into_document(self) -> Result<AutoCommit, CaseError> {
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, &self).map_err(|e| CaseError::Write(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_document<D: ReadDoc + autosurgeon::ReadDoc>(doc: &D) -> Result<Self, CaseError> {
        hydrate(doc).map_err(|e| CaseError::Read(e.to_string()))
    }
}

/// A field a person can edit on the case screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    ChildName,
    DateOfBirth,
    Setting,
    LeadProfessional,
    Concerns,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::ChildName,
        Field::DateOfBirth,
        Field::Setting,
        Field::LeadProfessional,
        Field::Concerns,
    ];

    /// The key in the document.
    pub fn key(self) -> &'static str {
        match self {
            Field::ChildName => "child_name",
            Field::DateOfBirth => "date_of_birth",
            Field::Setting => "setting",
            Field::LeadProfessional => "lead_professional",
            Field::Concerns => "concerns",
        }
    }

    /// Free text is Automerge text (merged character by character); the rest are single values.
    pub fn is_text(self) -> bool {
        matches!(self, Field::Concerns)
    }

    pub fn read(self, case: &Case) -> String {
        match self {
            Field::ChildName => case.child_name.clone(),
            Field::DateOfBirth => case.date_of_birth.clone(),
            Field::Setting => case.setting.clone(),
            Field::LeadProfessional => case.lead_professional.clone(),
            Field::Concerns => case.concerns.as_str().to_string(),
        }
    }

    /// Writes what the person typed, as the smallest change that gets there.
    pub fn write(self, doc: &mut AutoCommit, value: &str) -> Result<(), CaseError> {
        use automerge::transaction::Transactable;
        let key = self.key();
        if self.is_text() {
            let obj = match doc.get(ROOT, key).map_err(write_err)? {
                Some((Value::Object(ObjType::Text), id)) => id,
                _ => doc
                    .put_object(ROOT, key, ObjType::Text)
                    .map_err(write_err)?,
            };
            doc.update_text(&obj, value).map_err(write_err)?;
        } else {
            let same = matches!(
                doc.get(ROOT, key).map_err(write_err)?,
                Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Str(v) if v.as_str() == value)
            );
            if !same {
                doc.put(ROOT, key, value).map_err(write_err)?;
            }
        }
        Ok(())
    }
}

fn write_err(e: automerge::AutomergeError) -> CaseError {
    CaseError::Write(e.to_string())
}

/// A case document could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("this case could not be read: {0}")]
    Read(String),
    #[error("this change could not be saved: {0}")]
    Write(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_case_round_trips_and_has_heads() {
        let mut doc = Case::new(" Sam Smith ").into_document().unwrap();
        assert!(!doc.get_heads().is_empty());
        let case = Case::from_document(&doc).unwrap();
        assert_eq!(case.child_name, "Sam Smith");
        assert_eq!(case.schema_version, SCHEMA_VERSION);
        Field::Setting.write(&mut doc, "Oak Primary").unwrap();
        Field::Concerns
            .write(&mut doc, "Often late.\nTired.")
            .unwrap();
        let case = Case::from_document(&doc).unwrap();
        assert_eq!(Field::Setting.read(&case), "Oak Primary");
        assert_eq!(Field::Concerns.read(&case), "Often late.\nTired.");
    }

    #[test]
    fn concurrent_typing_in_the_same_text_keeps_both() {
        let mut a = Case::new("Sam").into_document().unwrap();
        Field::Concerns.write(&mut a, "Sleeps badly.").unwrap();
        let mut b = a.fork();
        Field::Concerns
            .write(&mut a, "Mum says: Sleeps badly.")
            .unwrap();
        Field::Concerns
            .write(&mut b, "Sleeps badly. School agrees.")
            .unwrap();
        a.merge(&mut b).unwrap();
        let text = Field::Concerns.read(&Case::from_document(&a).unwrap());
        assert_eq!(text, "Mum says: Sleeps badly. School agrees.");
    }

    #[test]
    fn writing_the_same_value_makes_no_change() {
        let mut doc = Case::new("Sam").into_document().unwrap();
        let heads = doc.get_heads();
        Field::ChildName.write(&mut doc, "Sam").unwrap();
        assert_eq!(doc.get_heads(), heads);
    }
}
