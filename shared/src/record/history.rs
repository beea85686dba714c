//! Who changed what, and when: a case's history read from its document alone.
//!
//! Automerge keeps every change; this turns them into what a case-file audit asks for.
//! Changes are taken in the document's causal order and grouped into *sittings*: a run of
//! changes by one person with no one else's in between and no gap of more than
//! [`SITTING_GAP_MS`]. Each sitting is compared field by field between the document just
//! before and just after it ([`automerge::Automerge::diff`]), and every field it touched
//! becomes one [`Row`] with the old and new value as a form shows them, labelled with
//! [`super::labels`]. The same sittings answer "what changed since the review" and "since you
//! last looked" (those after a point), and [`state_at`] gives the case as it stood.
//!
//! Whose a change is comes from the relay's receipts ([`crate::authorship`]), never from the
//! bytes alone: a change without a receipt is "not verified", except this device's own changes
//! not yet shared.

use super::edit::{ItemKind, Path};
use super::labels::{describe, section_title};
use super::migrate::V1_MOVED_KEYS;
use super::validation::Section;
use automerge::{Automerge, ChangeHash, ObjId, ObjType, Prop, ReadDoc, Value};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Longest pause inside one sitting.
pub const SITTING_GAP_MS: i64 = 30 * 60 * 1000;

/// Whose changes a sitting holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    /// The relay received these changes from this professional.
    Professional(i64),
    /// Made on this device by the person signed in, not yet shared.
    YouNotShared,
    /// From before the relay kept receipts, or not yet confirmed by it: nobody vouches.
    NotVerified,
}

/// A change as the relay received it (from [`crate::api::Receipt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub professional_id: i64,
    /// Unix milliseconds, the relay's clock.
    pub at: i64,
}

/// What happened to a field or an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKind {
    /// A field changed from `old` to `new` (as a form shows them; empty for "nothing").
    Changed { old: String, new: String },
    /// An item was added (its fields are not listed one by one).
    Added,
    /// An item was removed.
    Removed,
}

/// One thing a sitting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub section: Section,
    /// The item, as people name it ("Action 'Attend parenting course'"), if the field is in one.
    pub item: Option<String>,
    /// What kind of item it is, if the row is about one.
    pub item_kind: Option<ItemKind>,
    /// The field's label, for a changed field.
    pub field: Option<String>,
    pub kind: RowKind,
    /// Where in the record it happened ([`Entry::piece`]): the field's, or the item's.
    pub piece: String,
}

impl Row {
    /// The row as a sentence without its subject: "changed Action 'Visit' › By when from 3
    /// December 2026 to 10 December 2026", "added the action 'Visit'".
    pub fn sentence(&self) -> String {
        let item = self.item.clone().unwrap_or_default();
        match &self.kind {
            RowKind::Added => format!("added {}", lower_first(&item)),
            RowKind::Removed => format!("removed {}", lower_first(&item)),
            RowKind::Changed { old, new } => {
                let what = match (&self.item, &self.field) {
                    (Some(i), Some(f)) => format!("{i} › {f}"),
                    (None, Some(f)) => f.clone(),
                    (Some(i), None) => i.clone(),
                    (None, None) => "the case".into(),
                };
                match (old.is_empty(), new.is_empty()) {
                    (true, false) => format!("set {what} to {}", quoted(new)),
                    (false, true) => format!("cleared {what} (was {})", quoted(old)),
                    _ => format!("changed {what} from {} to {}", quoted(old), quoted(new)),
                }
            }
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => format!("the {}{}", c.to_lowercase(), chars.as_str()),
        None => String::new(),
    }
}

fn quoted(s: &str) -> String {
    format!("\u{201c}{s}\u{201d}")
}

/// A run of one person's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sitting {
    pub who: Who,
    /// The device clock of its first and last change (ms, from automerge's seconds; 0 where
    /// the device did not say).
    pub typed_from: i64,
    pub typed_to: i64,
    /// When its last change reached the shared record, if it has.
    pub shared_at: Option<i64>,
    /// Heads just before and just after it: for "as it stood" views either side.
    pub before: Vec<ChangeHash>,
    pub after: Vec<ChangeHash>,
    pub changes: usize,
    pub rows: Vec<Row>,
}

impl Sitting {
    /// When it happened, for ordering and filtering: when shared, else when typed.
    pub fn when(&self) -> i64 {
        self.shared_at.unwrap_or(self.typed_to)
    }
}

/// The history of a document, oldest sitting first. `receipts` by change hash; `me` is the
/// professional signed in on this device (for "you, not yet shared").
pub fn sittings(
    doc: &Automerge,
    receipts: &HashMap<ChangeHash, Received>,
    me: Option<i64>,
) -> Vec<Sitting> {
    sittings_since(doc, receipts, me, &[])
}

/// The sittings made after the state at `since` (heads: a review, the moment a record was
/// agreed, when someone last looked), each with who made it: "what changed since".
pub fn sittings_since(
    doc: &Automerge,
    receipts: &HashMap<ChangeHash, Received>,
    me: Option<i64>,
    since: &[ChangeHash],
) -> Vec<Sitting> {
    let mut out = outline_since(doc, receipts, me, since);
    for s in &mut out {
        s.rows = rows_between(doc, &s.before, &s.after);
    }
    out
}

/// [`sittings_since`] without their rows, which cost a comparison of the document each: a
/// screen fills in only the sittings it shows ([`rows_between`] with their heads).
pub fn outline_since(
    doc: &Automerge,
    receipts: &HashMap<ChangeHash, Received>,
    me: Option<i64>,
    since: &[ChangeHash],
) -> Vec<Sitting> {
    let changes = doc.get_changes(&[]);
    let after_since: HashSet<ChangeHash> =
        doc.get_changes(since).iter().map(|c| c.hash()).collect();
    // An actor's author is named in its first change only.
    let authors: HashMap<automerge::ActorId, Option<i64>> = changes
        .iter()
        .filter(|c| c.seq() == 1)
        .map(|c| {
            let author = c
                .author()
                .and_then(|a| crate::authorship::professional_of(&a));
            (c.actor_id().clone(), author)
        })
        .collect();
    let who_of = |c: &automerge::Change| match receipts.get(&c.hash()) {
        Some(r) => Who::Professional(r.professional_id),
        None if me.is_some() && authors.get(c.actor_id()).copied().flatten() == me => {
            Who::YouNotShared
        }
        None => Who::NotVerified,
    };

    // Runs in causal order, tracking the heads of everything up to each point.
    let mut heads: BTreeSet<ChangeHash> = BTreeSet::new();
    let mut out: Vec<Sitting> = Vec::new();
    let mut baseline = true;
    for change in &changes {
        if !after_since.contains(&change.hash()) {
            // Part of the state things are compared with: tracked, not listed.
            for dep in change.deps() {
                heads.remove(dep);
            }
            heads.insert(change.hash());
            baseline = true;
            continue;
        }
        let who = who_of(change);
        // Automerge's change time is in seconds.
        let time = change.timestamp() * 1000;
        let shared = receipts.get(&change.hash()).map(|r| r.at);
        let continues = !std::mem::take(&mut baseline)
            && out.last().is_some_and(|s| {
                s.who == who
                    && (time == 0 || s.typed_to == 0 || time - s.typed_to <= SITTING_GAP_MS)
            });
        let before: Vec<ChangeHash> = heads.iter().copied().collect();
        for dep in change.deps() {
            heads.remove(dep);
        }
        heads.insert(change.hash());
        let after: Vec<ChangeHash> = heads.iter().copied().collect();
        match out.last_mut() {
            Some(s) if continues => {
                s.typed_to = time.max(s.typed_to);
                s.shared_at = shared.max(s.shared_at);
                s.after = after;
                s.changes += 1;
            }
            _ => out.push(Sitting {
                who,
                typed_from: time,
                typed_to: time,
                shared_at: shared,
                before,
                after,
                changes: 1,
                rows: Vec::new(),
            }),
        }
    }
    out
}

/// Field by field, what differs between two states of the document (heads), as rows.
pub fn rows_between(doc: &Automerge, before: &[ChangeHash], after: &[ChangeHash]) -> Vec<Row> {
    let patches = doc.diff(before, after);
    let mut rows = Vec::new();
    let mut seen_fields: HashSet<Path> = HashSet::new();
    let mut new_items: HashSet<String> = HashSet::new();
    let mut seen_lists: HashSet<ObjId> = HashSet::new();
    for patch in &patches {
        let steps = steps(doc, patch, before, after);
        match &patch.action {
            automerge::PatchAction::Insert { values, .. } => {
                // New list items: one "added" row each (their fields follow in later patches).
                let Some(kind) = list_kind(&steps) else {
                    continue;
                };
                for (value, obj, _) in values.iter() {
                    if !matches!(value, Value::Object(ObjType::Map)) {
                        continue;
                    }
                    let id = read_str(doc, obj, "id", after);
                    let piece = format!("{}/{id}", piece_of(&steps));
                    new_items.insert(id);
                    rows.push(Row {
                        section: section_of_steps(&steps),
                        item: Some(item_name(doc, kind, obj, after)),
                        item_kind: Some(kind),
                        field: None,
                        kind: RowKind::Added,
                        piece,
                    });
                }
            }
            automerge::PatchAction::DeleteSeq { .. } => {
                let Some(kind) = list_kind(&steps) else {
                    continue;
                };
                // Patch indexes count from the list as earlier patches left it, so removed
                // items are found by id instead: there before, gone after.
                if !seen_lists.insert(patch.obj.clone()) {
                    continue;
                }
                let after_ids: HashSet<String> = list_items(doc, &patch.obj, after)
                    .iter()
                    .map(|o| read_str(doc, o, "id", after))
                    .collect();
                for obj in list_items(doc, &patch.obj, before) {
                    let id = read_str(doc, &obj, "id", before);
                    if after_ids.contains(&id) {
                        continue;
                    }
                    rows.push(Row {
                        section: section_of_steps(&steps),
                        item: Some(item_name(doc, kind, &obj, before)),
                        item_kind: Some(kind),
                        field: None,
                        kind: RowKind::Removed,
                        piece: format!("{}/{id}", piece_of(&steps)),
                    });
                }
            }
            action => {
                // A field: a map key put or deleted, or text spliced.
                let (holder, key, field_steps) = match action {
                    automerge::PatchAction::PutMap { key, .. }
                    | automerge::PatchAction::DeleteMap { key } => {
                        let mut s = steps.clone();
                        s.push(Step::Key(key.clone()));
                        (patch.obj.clone(), key.clone(), s)
                    }
                    automerge::PatchAction::SpliceText { .. } => {
                        let Some((parent, Prop::Map(key))) = patch.path.last() else {
                            continue;
                        };
                        (parent.clone(), key.clone(), steps.clone())
                    }
                    _ => continue,
                };
                let Some(path) = locate(&field_steps) else {
                    continue;
                };
                // Only the upgrade removes version 1's fields, having moved their values.
                if matches!(action, automerge::PatchAction::DeleteMap { .. })
                    && field_steps.len() == 1
                    && V1_MOVED_KEYS.contains(&key.as_str())
                {
                    continue;
                }
                if path.item_id().is_some_and(|id| new_items.contains(id))
                    || !seen_fields.insert(path.clone())
                {
                    continue;
                }
                let old = shown(doc, &holder, &key, &path, before);
                let new = shown(doc, &holder, &key, &path, after);
                if old == new {
                    continue;
                }
                let item = item_step(&field_steps);
                let (item_kind, item) = match item {
                    Some((kind, obj)) => (Some(kind), Some(item_name(doc, kind, &obj, after))),
                    None => match v1_item(&field_steps) {
                        Some((kind, name)) => (Some(kind), Some(name.to_string())),
                        None => (None, None),
                    },
                };
                rows.push(Row {
                    section: section_of(&path),
                    item_kind,
                    item,
                    field: Some(describe(&path).0),
                    kind: RowKind::Changed { old, new },
                    piece: piece_of(&field_steps),
                });
            }
        }
    }
    rows
}

/// The document as it stood at `heads`, to read with [`super::CaseRecord::from_document`].
pub fn state_at(doc: &Automerge, heads: &[ChangeHash]) -> automerge::AutoCommit {
    let mut past = automerge::AutoCommit::load(&doc.save())
        .expect("a document saved by automerge loads again");
    match past.fork_at(heads) {
        Ok(fork) => fork,
        Err(_) => past,
    }
}

/// One line of the case as it stood: an item's name, or a field's label and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub section: Section,
    /// How many items deep it is: 0 for a section's own fields and items.
    pub depth: usize,
    /// An item's name ("Action 'Visit'") or a field's label.
    pub label: String,
    /// The field's value as a form shows it; `None` for an item.
    pub value: Option<String>,
    /// The field's key in the document ("" for an item), to find it by.
    pub key: &'static str,
    /// Where it lives: map keys and item ids from the root, joined by `/`
    /// ("family/people/<id>/name"), the same for the document's life.
    pub piece: String,
    /// The pieces of the items it is inside, outermost first.
    pub within: Vec<String>,
    /// For an item, its name without anything taken from its fields ("Action", "Review").
    pub plain_label: Option<String>,
}

/// The whole case as it stood at `heads`, read-only and labelled as the forms label it: every
/// field with a value and every item, section by section in the order the app lists them,
/// fields in form order. Read from this document at those heads, so nothing is copied.
pub fn read_out(doc: &Automerge, heads: &[ChangeHash]) -> Vec<Entry> {
    let mut out = Vec::new();
    walk(doc, heads, &automerge::ROOT, &mut Vec::new(), 0, &mut out);
    let order = |section: Section| {
        super::labels::SECTIONS
            .iter()
            .position(|(s, _, _)| *s == section)
    };
    // Stable: within a section, the walk's order stays.
    out.sort_by_key(|e| order(e.section));
    out
}

fn walk(
    doc: &Automerge,
    heads: &[ChangeHash],
    obj: &ObjId,
    steps: &mut Vec<Step>,
    depth: usize,
    out: &mut Vec<Entry>,
) {
    let mut fields: Vec<(usize, Entry)> = Vec::new();
    let mut nested: Vec<Entry> = Vec::new();
    for key in doc.keys_at(obj, heads) {
        steps.push(Step::Key(key.clone()));
        match doc.get_at(obj, key.as_str(), heads) {
            Ok(Some((Value::Object(ObjType::Map), child))) => {
                walk(doc, heads, &child, steps, depth, &mut nested);
            }
            Ok(Some((Value::Object(ObjType::List), list))) => {
                if let Some(kind) = list_kind(steps) {
                    for item in list_items(doc, &list, heads) {
                        let id = read_str(doc, &item, "id", heads);
                        nested.push(Entry {
                            section: section_of_steps(steps),
                            depth,
                            label: item_name(doc, kind, &item, heads),
                            value: None,
                            key: "",
                            piece: format!("{}/{id}", piece_of(steps)),
                            within: within(steps),
                            plain_label: Some(plain_item_name(doc, kind, &item, heads)),
                        });
                        steps.push(Step::Item {
                            id,
                            obj: item.clone(),
                        });
                        walk(doc, heads, &item, steps, depth + 1, &mut nested);
                        steps.pop();
                    }
                }
            }
            Ok(Some(_)) => {
                if let Some(path) = locate(steps) {
                    let value = whole(doc, obj, &key, &path, heads);
                    if !value.trim().is_empty() {
                        fields.push((
                            path.rank(),
                            Entry {
                                section: section_of(&path),
                                depth,
                                label: describe(&path).0,
                                value: Some(value),
                                key: path.key(),
                                piece: piece_of(steps),
                                within: within(steps),
                                plain_label: None,
                            },
                        ));
                    }
                }
            }
            _ => {}
        }
        steps.pop();
    }
    fields.sort_by_key(|(rank, _)| *rank);
    out.extend(fields.into_iter().map(|(_, e)| e));
    out.extend(nested);
}

/// The heads of everything that had reached the shared record (or, with no receipt, been
/// typed) by `time` (ms): for "as it stood at" a date, a meeting or a review.
pub fn heads_at(
    doc: &Automerge,
    receipts: &HashMap<ChangeHash, Received>,
    time: i64,
) -> Vec<ChangeHash> {
    let mut heads: BTreeSet<ChangeHash> = BTreeSet::new();
    let mut included: HashSet<ChangeHash> = HashSet::new();
    for change in doc.get_changes(&[]) {
        let when = receipts
            .get(&change.hash())
            .map_or(change.timestamp() * 1000, |r| r.at);
        if when > time || !change.deps().iter().all(|d| included.contains(d)) {
            continue;
        }
        for dep in change.deps() {
            heads.remove(dep);
        }
        heads.insert(change.hash());
        included.insert(change.hash());
    }
    heads.into_iter().collect()
}

/// One step from the root to a value: a map key, or a list item (by its id).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Item { id: String, obj: ObjId },
}

/// The steps to a patch's object, items named by id (read where they exist).
fn steps(
    doc: &Automerge,
    patch: &automerge::Patch,
    before: &[ChangeHash],
    after: &[ChangeHash],
) -> Vec<Step> {
    let mut out = Vec::with_capacity(patch.path.len());
    for (i, (_, prop)) in patch.path.iter().enumerate() {
        match prop {
            Prop::Map(k) => out.push(Step::Key(k.clone())),
            Prop::Seq(_) => {
                let child = patch
                    .path
                    .get(i + 1)
                    .map_or_else(|| patch.obj.clone(), |(o, _)| o.clone());
                let mut id = read_str(doc, &child, "id", after);
                if id.is_empty() {
                    id = read_str(doc, &child, "id", before);
                }
                out.push(Step::Item { id, obj: child });
            }
        }
    }
    out
}

fn key_at(steps: &[Step], i: usize) -> Option<&str> {
    match steps.get(i)? {
        Step::Key(k) => Some(k),
        Step::Item { .. } => None,
    }
}

/// The kind of item a list holds, from the key it lives under (and, for `actions`, where).
fn kind_of_list(steps: &[Step], list_at: usize) -> Option<ItemKind> {
    let key = key_at(steps, list_at)?;
    Some(match key {
        "people" => ItemKind::Person,
        "agencies" => ItemKind::AgencyConsent,
        "do_not_share" => ItemKind::DoNotShare,
        "overrides" => ItemKind::Override,
        "sharing" => ItemKind::Sharing,
        "co_authors" | "present" | "attendees" | "apologies" => ItemKind::Participant,
        "outcomes" => ItemKind::Outcome,
        "actions" if key_at(steps, 0) == Some("closure") => ItemKind::PostClosureAction,
        "actions" => ItemKind::Action,
        "scores" => ItemKind::Score,
        "meetings" => ItemKind::Meeting,
        "progress" => ItemKind::Progress,
        "agreed" => ItemKind::Agreement,
        "lead_professionals" => ItemKind::Lead,
        "steps" => ItemKind::Step,
        "escalations" => ItemKind::Escalation,
        _ => return None,
    })
}

/// For steps that end at a list: the kind of its items.
fn list_kind(steps: &[Step]) -> Option<ItemKind> {
    kind_of_list(steps, steps.len().checked_sub(1)?)
}

/// The innermost item the steps pass through, with its kind.
fn item_step(steps: &[Step]) -> Option<(ItemKind, ObjId)> {
    let at = steps.iter().rposition(|s| matches!(s, Step::Item { .. }))?;
    let Step::Item { obj, .. } = &steps[at] else {
        return None;
    };
    Some((kind_of_list(steps, at.checked_sub(1)?)?, obj.clone()))
}

/// The field the steps lead to, if it is one the record knows.
fn locate(steps: &[Step]) -> Option<Path> {
    use super::assessment::{AssessmentField, Risk, RiskField, Side, SideField};
    use super::closure::{ClosureField, PostClosureField};
    use super::consent::{AgencyConsentField, DoNotShareField, OverrideField, SharingField};
    use super::escalation::EscalationField;
    use super::family::{FamilyField, PersonField};
    use super::lead::LeadField;
    use super::meetings::{AgreementField, MeetingField, ParticipantField, ProgressField};
    use super::plan::{ActionField, OutcomeField, PlanField, ScoreField};
    use super::step::StepField;
    macro_rules! field {
        ($t:ty, $key:expr) => {
            <$t>::ALL.iter().copied().find(|f| f.key() == $key)?
        };
    }
    let field = key_at(steps, steps.len().checked_sub(1)?)?;
    if let Some((kind, _)) = item_step(steps) {
        // The field must belong to the item itself, not to something inside it.
        if !matches!(
            steps.get(steps.len().checked_sub(2)?),
            Some(Step::Item { .. })
        ) {
            return None;
        }
        let Some(Step::Item { id, .. }) = steps.get(steps.len() - 2) else {
            return None;
        };
        let id = id.clone();
        return Some(match kind {
            ItemKind::Person => Path::Person(id, field!(PersonField, field)),
            ItemKind::AgencyConsent => Path::AgencyConsent(id, field!(AgencyConsentField, field)),
            ItemKind::DoNotShare => Path::DoNotShare(id, field!(DoNotShareField, field)),
            ItemKind::Override => Path::Override(id, field!(OverrideField, field)),
            ItemKind::Sharing => Path::Sharing(id, field!(SharingField, field)),
            ItemKind::Participant => Path::Participant(id, field!(ParticipantField, field)),
            ItemKind::Outcome => Path::Outcome(id, field!(OutcomeField, field)),
            ItemKind::Action => Path::Action(id, field!(ActionField, field)),
            ItemKind::Score => Path::Score(id, field!(ScoreField, field)),
            ItemKind::Meeting => Path::Meeting(id, field!(MeetingField, field)),
            ItemKind::Progress => Path::Progress(id, field!(ProgressField, field)),
            ItemKind::Agreement => Path::Agreement(id, field!(AgreementField, field)),
            ItemKind::Lead => Path::Lead(id, field!(LeadField, field)),
            ItemKind::Step => Path::Step(id, field!(StepField, field)),
            ItemKind::Escalation => Path::Escalation(id, field!(EscalationField, field)),
            ItemKind::PostClosureAction => Path::PostClosure(id, field!(PostClosureField, field)),
        });
    }
    let keys: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Key(k) => Some(k.as_str()),
            Step::Item { .. } => None,
        })
        .collect();
    use super::migrate::{MIGRATED_CHILD_ID, MIGRATED_LEAD_ID};
    let child = |f| Path::Person(MIGRATED_CHILD_ID.to_string(), f);
    Some(match keys.as_slice() {
        ["concerns"] => Path::WorriedAbout,
        // Version 1 kept these at the root; they read as the fields they became.
        ["child_name"] => child(PersonField::Name),
        ["date_of_birth"] => child(PersonField::DateOfBirth),
        ["setting"] => child(PersonField::Setting),
        ["lead_professional"] => Path::Lead(MIGRATED_LEAD_ID.to_string(), LeadField::Name),
        ["family", f] => Path::Family(field!(FamilyField, *f)),
        ["assessment", f] => Path::Assessment(field!(AssessmentField, *f)),
        ["assessment", "risks", r, f] => Path::Risk(
            Risk::ALL.iter().copied().find(|x| x.key() == *r)?,
            field!(RiskField, *f),
        ),
        ["assessment", s, f] => Path::Side(
            Side::ALL.iter().copied().find(|x| x.key() == *s)?,
            field!(SideField, *f),
        ),
        ["plan", f] => Path::Plan(field!(PlanField, *f)),
        ["closure", f] => Path::Closure(field!(ClosureField, *f)),
        _ => return None,
    })
}

/// The item a version-1 root field now belongs to, as people name it.
fn v1_item(steps: &[Step]) -> Option<(ItemKind, &'static str)> {
    match steps {
        [Step::Key(k)] if k == "lead_professional" => Some((ItemKind::Lead, "Lead professional")),
        [Step::Key(k)] if V1_MOVED_KEYS.contains(&k.as_str()) => Some((ItemKind::Person, "Child")),
        _ => None,
    }
}

/// The section a field is shown in.
pub fn section_of(path: &Path) -> Section {
    match path {
        Path::WorriedAbout | Path::Assessment(_) | Path::Side(..) | Path::Risk(..) => {
            Section::Assessment
        }
        Path::Family(_) | Path::Person(..) => Section::Family,
        Path::AgencyConsent(..) | Path::DoNotShare(..) | Path::Override(..) | Path::Sharing(..) => {
            Section::Consent
        }
        Path::Participant(..) => Section::Meetings,
        Path::Plan(_) | Path::Outcome(..) | Path::Action(..) | Path::Score(..) => Section::Plan,
        Path::Meeting(..) | Path::Progress(..) | Path::Agreement(..) => Section::Meetings,
        Path::Lead(..) => Section::LeadProfessional,
        Path::Step(..) => Section::StepUpDown,
        Path::Escalation(..) => Section::Escalation,
        Path::Closure(_) | Path::PostClosure(..) => Section::Closure,
    }
}

/// The section a list or item lives in, from its first key.
fn section_of_steps(steps: &[Step]) -> Section {
    match key_at(steps, 0) {
        Some("family") => Section::Family,
        Some("consent") => Section::Consent,
        Some("assessment") | Some("concerns") => Section::Assessment,
        Some("plan") => Section::Plan,
        Some("meetings") => Section::Meetings,
        Some("lead_professionals") => Section::LeadProfessional,
        Some("steps") => Section::StepUpDown,
        Some("escalations") => Section::Escalation,
        _ => Section::Closure,
    }
}

/// Where the steps lead, as [`Entry::piece`] writes it.
fn piece_of(steps: &[Step]) -> String {
    let parts: Vec<&str> = steps
        .iter()
        .map(|s| match s {
            Step::Key(k) => k.as_str(),
            Step::Item { id, .. } => id.as_str(),
        })
        .collect();
    parts.join("/")
}

/// The pieces of the items the steps pass through, outermost first.
fn within(steps: &[Step]) -> Vec<String> {
    (0..steps.len())
        .filter(|&i| matches!(steps[i], Step::Item { .. }))
        .map(|i| piece_of(&steps[..=i]))
        .collect()
}

/// "Action", "Review": what kind of item it is, without anything written in it.
fn plain_item_name(doc: &Automerge, kind: ItemKind, obj: &ObjId, heads: &[ChangeHash]) -> String {
    if kind == ItemKind::Meeting {
        let kind = read_str(doc, obj, "kind", heads);
        return super::meetings::MeetingKind::parse(&kind)
            .label()
            .to_string();
    }
    let noun = kind.noun();
    match noun.get(..1) {
        Some(first) => first.to_uppercase() + &noun[1..],
        None => noun.to_string(),
    }
}

/// "Action 'Attend parenting course'": the kind of item and what it is called.
fn item_name(doc: &Automerge, kind: ItemKind, obj: &ObjId, heads: &[ChangeHash]) -> String {
    if kind == ItemKind::Meeting {
        // "Review on 3 December 2026", as people name meetings.
        let label = super::meetings::MeetingKind::parse(&read_str(doc, obj, "kind", heads))
            .label()
            .to_string();
        let date = read_str(doc, obj, "date", heads);
        return match super::dates::Day::parse(&date) {
            Some(day) => format!("{label} on {}", day.in_words()),
            None => label,
        };
    }
    let noun = kind.noun();
    let mut title = String::new();
    for key in ["what", "title", "name", "agency", "issue", "date"] {
        title = read_str(doc, obj, key, heads);
        if !title.trim().is_empty() {
            break;
        }
    }
    let mut noun = noun.to_string();
    if let Some(first) = noun.get(..1) {
        noun = first.to_uppercase() + &noun[1..];
    }
    if let Some(day) = super::dates::Day::parse(&title) {
        title = day.in_words();
    }
    if title.trim().is_empty() {
        noun
    } else {
        format!("{noun} {}", quoted(&snippet(&title)))
    }
}

/// The item objects of a list at `heads`.
fn list_items(doc: &Automerge, list: &ObjId, heads: &[ChangeHash]) -> Vec<ObjId> {
    (0..doc.length_at(list, heads))
        .filter_map(|i| match doc.get_at(list, i, heads) {
            Ok(Some((Value::Object(ObjType::Map), obj))) => Some(obj),
            _ => None,
        })
        .collect()
}

/// A string or text value under `key` of `obj` at `heads` ("" if none).
fn read_str(doc: &Automerge, obj: &ObjId, key: &str, heads: &[ChangeHash]) -> String {
    match doc.get_at(obj, key, heads) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => s.to_string(),
            _ => String::new(),
        },
        Ok(Some((Value::Object(ObjType::Text), text))) => {
            doc.text_at(&text, heads).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// A field's value at `heads` as a list of changes shows it: [`whole`], free text shortened.
fn shown(doc: &Automerge, holder: &ObjId, key: &str, path: &Path, heads: &[ChangeHash]) -> String {
    snippet(&whole(doc, holder, key, path, heads))
}

/// A field's value at `heads` as a form shows it: choices by label, dates in words, yes/no,
/// figures, text as written.
fn whole(doc: &Automerge, holder: &ObjId, key: &str, path: &Path, heads: &[ChangeHash]) -> String {
    let raw = match doc.get_at(holder, key, heads) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => s.to_string(),
            automerge::ScalarValue::Int(i) => i.to_string(),
            automerge::ScalarValue::Uint(i) => i.to_string(),
            automerge::ScalarValue::Boolean(true) => "yes".into(),
            automerge::ScalarValue::Boolean(false) => "no".into(),
            _ => String::new(),
        },
        Ok(Some((Value::Object(ObjType::Text), text))) => {
            return doc.text_at(&text, heads).unwrap_or_default();
        }
        _ => String::new(),
    };
    if let Some((_, label)) = path.choices().into_iter().find(|(v, _)| *v == raw) {
        return label;
    }
    match super::dates::Day::parse(&raw) {
        Some(day) => day.in_words(),
        None => raw,
    }
}

/// Free text shortened for a list of changes: the first 80 characters.
fn snippet(text: &str) -> String {
    const MOST: usize = 80;
    let text = text.trim();
    if text.chars().count() <= MOST {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MOST).collect();
        format!("{}…", cut.trim_end())
    }
}

/// The history as CSV for a records officer: one line per row, oldest first, with the relay's
/// time (ms and UTC), the device's time, who (id and `name(who)`), and the change in words.
/// Values are quoted as RFC 4180 says, and cells a spreadsheet would run as a formula start
/// with an apostrophe.
pub fn to_csv(sittings: &[Sitting], name: impl Fn(&Who) -> String) -> String {
    let mut out = String::from(
        "shared_at_ms,shared_at_utc,typed_at_ms,professional_id,who,section,item,field,change,old,new\r\n",
    );
    for s in sittings {
        let id = match s.who {
            Who::Professional(p) => p.to_string(),
            _ => String::new(),
        };
        for row in &s.rows {
            let (change, old, new) = match &row.kind {
                RowKind::Added => ("added", "", ""),
                RowKind::Removed => ("removed", "", ""),
                RowKind::Changed { old, new } => ("changed", old.as_str(), new.as_str()),
            };
            let cells = [
                s.shared_at.map(|t| t.to_string()).unwrap_or_default(),
                s.shared_at.map(utc).unwrap_or_default(),
                s.typed_to.to_string(),
                id.clone(),
                name(&s.who),
                section_title(row.section).to_string(),
                row.item.clone().unwrap_or_default(),
                row.field.clone().unwrap_or_default(),
                change.to_string(),
                old.to_string(),
                new.to_string(),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// Unix ms as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let day = super::dates::Day::from_days(days).iso();
    format!(
        "{day}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
