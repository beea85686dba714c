//! Upgrading a version-1 case ([`crate::case`]) to version 2 in place.
//!
//! Version 1 held `child_name`, `date_of_birth`, `setting`, `lead_professional` and a free-text
//! `concerns`. Version 2 moves the child into the family as a person and the lead professional
//! into the lead history, and keeps `concerns` where it is as "what we are worried about"
//! (Automerge cannot move an object, and keeping it keeps its history and any edits still
//! arriving from a version-1 app).
//!
//! Two devices often open the same version-1 case after an update, each migrating it while
//! offline. If each wrote its own new objects, the merge would keep one device's and hide
//! everything typed into the other's. So the migration is made deterministic: the change is
//! written by an actor derived from the document's heads, at time 0, with fixed ids. Two
//! devices migrating the same version-1 state produce the same change (same hash), which
//! Automerge stores once. Devices that migrate different states (one edited first) still make
//! different changes; their new sections then conflict and one device's version wins.

use super::family::{Person, Role};
use super::lead::LeadProfessional;
use super::{is_blank, schema_version_of, CaseRecord, RecordError, SCHEMA_VERSION};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use autosurgeon::Text;
use sha2::{Digest, Sha256};

/// The id of the child person made from a version-1 case.
pub const MIGRATED_CHILD_ID: &str = "v1-child";
/// The id of the lead professional entry made from a version-1 case.
pub const MIGRATED_LEAD_ID: &str = "v1-lead";

/// Salt for the migration actor; change it whenever the migration's output changes, so two
/// app versions never write different changes under one actor and sequence number.
const MIGRATION_SALT: &[u8] = b"tac-planner/record/migrate/v1-to-v2/1";

/// The version-1 keys moved elsewhere (and removed) by the migration.
pub(super) const V1_MOVED_KEYS: [&str; 4] = [
    "child_name",
    "date_of_birth",
    "setting",
    "lead_professional",
];

/// Upgrades a version-1 document to version 2 in place. A version-2 (or newer) document, and
/// a document with nothing in it yet, are left untouched, so this is safe to call every time
/// a case is opened and to call twice.
pub fn migrate(doc: &mut AutoCommit) -> Result<(), RecordError> {
    if is_blank(doc) {
        return Ok(());
    }
    match schema_version_of(doc)? {
        Some(v) if v >= SCHEMA_VERSION => Ok(()),
        Some(1) => from_v1(doc),
        Some(v) => Err(RecordError::Read(format!("unknown schema version {v}"))),
        None => Err(RecordError::NotACase),
    }
}

fn from_v1(doc: &mut AutoCommit) -> Result<(), RecordError> {
    // Commits pending local changes under the person's own actor.
    let mut heads = doc.get_heads();
    heads.sort();
    let record = v2_from_v1(doc)?;

    let actor = doc.get_actor().clone();
    let author = doc.get_author().cloned();
    let mut hasher = Sha256::new();
    hasher.update(MIGRATION_SALT);
    for h in &heads {
        hasher.update(h.0);
    }
    let digest = hasher.finalize();
    doc.set_actor(ActorId::from(&digest[..16]));
    doc.set_author(None);

    let result = write_v2(doc, &record);
    match result {
        Ok(()) => {
            doc.commit_with(
                CommitOptions::default()
                    .with_message("Upgrade to case record version 2")
                    .with_time(0),
            );
        }
        Err(_) => {
            doc.rollback();
        }
    }
    doc.set_actor(actor);
    doc.set_author(author);
    result
}

/// The version-2 record holding a version-1 document's data.
fn v2_from_v1(doc: &AutoCommit) -> Result<CaseRecord, RecordError> {
    let mut record = CaseRecord {
        schema_version: SCHEMA_VERSION,
        ..CaseRecord::default()
    };
    record.assessment.version = Some(1);
    let mut child = Person::new(Role::Child, &read_str(doc, "child_name")?);
    child.id = MIGRATED_CHILD_ID.to_string();
    child.date_of_birth = read_str(doc, "date_of_birth")?;
    child.setting = read_str(doc, "setting")?;
    record.family.people.push(child);
    let lead = read_str(doc, "lead_professional")?;
    if !lead.trim().is_empty() {
        let mut entry = LeadProfessional::new(&lead, "", "");
        entry.id = MIGRATED_LEAD_ID.to_string();
        record.lead_professionals.push(entry);
    }
    record.worried_about = match doc.get(ROOT, "concerns").map_err(read_err)? {
        // Hydrated (not copied), so writing the record leaves this very text object in place.
        Some((Value::Object(ObjType::Text), _)) => autosurgeon::hydrate_prop(doc, ROOT, "concerns")
            .map_err(|e| RecordError::Read(e.to_string()))?,
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(s) => Text::with_value(s.as_str()),
            _ => Text::default(),
        },
        _ => Text::default(),
    };
    Ok(record)
}

fn write_v2(doc: &mut AutoCommit, record: &CaseRecord) -> Result<(), RecordError> {
    record.write(doc)?;
    for key in V1_MOVED_KEYS {
        if doc.get(ROOT, key).map_err(read_err)?.is_some() {
            doc.delete(ROOT, key)
                .map_err(|e| RecordError::Write(e.to_string()))?;
        }
    }
    Ok(())
}

/// A string at a root key; empty if missing or not a string.
fn read_str(doc: &AutoCommit, key: &str) -> Result<String, RecordError> {
    Ok(match doc.get(ROOT, key).map_err(read_err)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(v) => v.to_string(),
            _ => String::new(),
        },
        Some((Value::Object(ObjType::Text), id)) => doc.text(&id).map_err(read_err)?,
        _ => String::new(),
    })
}

fn read_err(e: automerge::AutomergeError) -> RecordError {
    RecordError::Read(e.to_string())
}
