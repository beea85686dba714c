//! A case's history from its document: three people edit the same fields and lists, offline
//! and online; the sittings, their rows, the case as it stood and "since the review" must be
//! exact.

use automerge::transaction::CommitOptions;
use automerge::{AutoCommit, ChangeHash};
use shared::authorship::author_of;
use shared::record::edit::{self, List, Path};
use shared::record::history::{self, Received, RowKind, Who};
use shared::record::plan::{Action, ActionField, Outcome};
use shared::record::validation::Section;
use shared::record::CaseRecord;
use std::collections::HashMap;

const ANN: i64 = 1;
const BOB: i64 = 2;
const CAL: i64 = 3;
const MINUTE: i64 = 60_000;
/// 29 November 2026, 21:00 UTC.
const T0: i64 = 1_795_986_000_000;

fn commit(doc: &mut AutoCommit, at: i64) {
    // Automerge's change time is in seconds.
    doc.commit_with(CommitOptions::default().with_time(at / 1000));
}

/// As the relay would journal them: each change by its actor's author, shared at `at`.
fn receive(doc: &mut AutoCommit, receipts: &mut HashMap<ChangeHash, Received>, at: i64) {
    let claims = shared::authorship::claims_in([doc.save().as_slice()]).unwrap();
    let mut owners = HashMap::new();
    for c in &claims {
        if let Some(a) = &c.author {
            let id = shared::authorship::professional_of(&automerge::Author::from(a.as_slice()));
            owners.insert(c.actor.clone(), id.unwrap());
        }
    }
    for c in claims {
        receipts.entry(c.hash).or_insert(Received {
            // The creation carries no author; its sender, Ann, is who the relay would name.
            professional_id: owners.get(&c.actor).copied().unwrap_or(ANN),
            at,
        });
    }
}

fn by(doc: &AutoCommit, who: i64) -> AutoCommit {
    let mut fork = doc.clone();
    fork.set_author(Some(author_of(who)));
    fork
}

#[test]
fn three_people_concurrently_give_exact_history_as_at_and_since() {
    let mut record = CaseRecord::default();
    record.schema_version = shared::record::SCHEMA_VERSION;
    let mut outcome = Outcome::new("Sam goes to school every day");
    let mut action = Action::new("Attend parenting course");
    action.due = "2026-12-03".into();
    action.owner = "Tom Teacher".into();
    let action_id = action.id.clone();
    let outcome_id = outcome.id.clone();
    outcome.actions.push(action);
    record.plan.outcomes.push(outcome);
    let mut ann = record.into_document().unwrap();
    ann.set_author(Some(author_of(ANN)));
    edit::set_text(&mut ann, &Path::WorriedAbout, "Sam misses school.").unwrap();
    commit(&mut ann, T0);
    let mut receipts = HashMap::new();
    receive(&mut ann, &mut receipts, T0 + MINUTE);
    let review = T0 + 10 * MINUTE;

    // After the review, all three work at once, Bob and Cal offline.
    let mut bob = by(&ann, BOB);
    let mut cal = by(&ann, CAL);
    let due = Path::Action(action_id.clone(), ActionField::Due);
    edit::set_text(&mut bob, &due, "2026-12-10").unwrap();
    commit(&mut bob, T0 + 20 * MINUTE);
    edit::add(
        &mut bob,
        &List::Actions(outcome_id.clone()),
        &Action::new("Book a school nurse visit"),
    )
    .unwrap();
    commit(&mut bob, T0 + 21 * MINUTE);
    edit::set_text(
        &mut cal,
        &Path::WorriedAbout,
        "Sam misses school and meals.",
    )
    .unwrap();
    commit(&mut cal, T0 + 22 * MINUTE);
    edit::set_text(&mut ann, &Path::WorriedAbout, "Sam often misses school.").unwrap();
    commit(&mut ann, T0 + 23 * MINUTE);
    receive(&mut ann, &mut receipts, T0 + 24 * MINUTE);
    // Back online hours later: the relay journals when their changes arrive.
    ann.merge(&mut bob).unwrap();
    receive(&mut ann, &mut receipts, T0 + 300 * MINUTE);
    ann.merge(&mut cal).unwrap();
    receive(&mut ann, &mut receipts, T0 + 310 * MINUTE);

    let doc = ann.document().clone();
    let sittings = history::sittings(&doc, &receipts, Some(ANN));
    let people: Vec<&Who> = sittings.iter().map(|s| &s.who).collect();
    assert!(people.contains(&&Who::Professional(BOB)));
    assert!(people.contains(&&Who::Professional(CAL)));
    assert!(people.iter().all(|w| matches!(w, Who::Professional(_))));

    // Bob's sitting: the due date, old → new in words, and the action he added.
    let bobs = sittings
        .iter()
        .find(|s| s.who == Who::Professional(BOB))
        .unwrap();
    assert_eq!(bobs.changes, 2);
    assert_eq!(bobs.typed_from, T0 + 20 * MINUTE);
    assert_eq!(bobs.shared_at, Some(T0 + 300 * MINUTE));
    let mut sentences: Vec<String> = bobs.rows.iter().map(|r| r.sentence()).collect();
    sentences.sort();
    assert_eq!(
        sentences,
        [
            "added the action \u{201c}Book a school nurse visit\u{201d}",
            "changed Action \u{201c}Attend parenting course\u{201d} › By when from \u{201c}3 December 2026\u{201d} to \u{201c}10 December 2026\u{201d}",
        ]
    );
    assert!(bobs.rows.iter().all(|r| r.section == Section::Plan));

    // Cal's text edit, before → after as the shared record read (Ann's concurrent edit, taken
    // first in causal order, is in both: the row shows exactly what Cal's words changed).
    let cals = sittings
        .iter()
        .find(|s| s.who == Who::Professional(CAL))
        .unwrap();
    assert_eq!(cals.rows.len(), 1);
    assert_eq!(
        cals.rows[0].kind,
        RowKind::Changed {
            old: "Sam often misses school.".into(),
            new: "Sam often misses school and meals.".into()
        }
    );
    assert_eq!(cals.rows[0].section, Section::Assessment);

    // The plan as it stood at the review: the old due date, one action.
    let heads = history::heads_at(&doc, &receipts, review);
    let then = CaseRecord::from_document(&history::state_at(&doc, &heads)).unwrap();
    let actions: Vec<_> = then.plan.actions().map(|(_, a)| a.due.clone()).collect();
    assert_eq!(actions, ["2026-12-03"]);
    // And now: both edits to the worried-about text are kept.
    let now = CaseRecord::from_document(&ann).unwrap();
    assert_eq!(now.plan.action(&action_id).unwrap().due, "2026-12-10");
    assert_eq!(now.plan.actions().count(), 2);

    // Since the review: exactly Bob's two plan changes (the plan filter), each with its author.
    let since: Vec<(Who, String)> = history::sittings_since(&doc, &receipts, Some(ANN), &heads)
        .iter()
        .flat_map(|s| {
            s.rows
                .iter()
                .filter(|r| r.section == Section::Plan)
                .map(|r| (s.who.clone(), r.sentence()))
        })
        .collect();
    assert_eq!(since.len(), 2, "{since:?}");
    assert!(since.iter().all(|(w, _)| *w == Who::Professional(BOB)));

    // As CSV for a records officer: quoted where needed, times in UTC, formulas defused.
    let csv = history::to_csv(&sittings, |w| match w {
        Who::Professional(2) => "Bob, \"the builder\"".into(),
        _ => "=HYPERLINK()".into(),
    });
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("shared_at_ms,shared_at_utc,"));
    assert!(csv.contains("\"Bob, \"\"the builder\"\"\""), "{csv}");
    assert!(csv.contains(",'=HYPERLINK(),"), "{csv}");
    assert!(csv.contains("2026-11-30T02:00:00Z"), "{csv}");
    assert!(csv.contains(",Plan,Action \u{201c}Attend parenting course\u{201d},By when,changed,3 December 2026,10 December 2026"), "{csv}");
}

#[test]
fn changes_without_receipts_are_not_verified_unless_they_are_mine_and_unshared() {
    let mut doc = CaseRecord::default().into_document().unwrap();
    doc.set_author(Some(author_of(ANN)));
    edit::set_text(&mut doc, &Path::WorriedAbout, "Mine, not yet shared").unwrap();
    commit(&mut doc, T0);
    let sittings = history::sittings(doc.document(), &HashMap::new(), Some(ANN));
    let whos: Vec<&Who> = sittings.iter().map(|s| &s.who).collect();
    // The record's creation had no author: nobody vouches for it.
    assert_eq!(whos, [&Who::NotVerified, &Who::YouNotShared]);
    // Someone else looking at the same bytes cannot take the author's word for it.
    let theirs = history::sittings(doc.document(), &HashMap::new(), Some(BOB));
    assert!(theirs.iter().all(|s| s.who == Who::NotVerified));
    // An item removed reads as removed, named as it was.
    let mut record = CaseRecord::default();
    let outcome = Outcome::new("Settled at home");
    let id = outcome.id.clone();
    record.plan.outcomes.push(outcome);
    let mut doc = record.into_document().unwrap();
    let before = doc.get_heads();
    edit::remove(&mut doc, shared::record::edit::ItemKind::Outcome, &id).unwrap();
    let after = doc.get_heads();
    let rows = history::rows_between(doc.document(), &before, &after);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].sentence(),
        "removed the outcome \u{201c}Settled at home\u{201d}"
    );
}

#[test]
fn the_case_as_it_stood_reads_out_every_section_with_labels_in_form_order() {
    let mut record = CaseRecord::new("Sam Smith");
    record.worried_about = autosurgeon::Text::with_value("Sam misses school.");
    let mut outcome = Outcome::new("Sam goes to school every day");
    let mut action = Action::new("Attend parenting course");
    action.due = "2026-12-03".into();
    action.owner = "Tom Teacher".into();
    let action_id = action.id.clone();
    outcome.actions.push(action);
    record.plan.outcomes.push(outcome);
    let mut doc = record.into_document().unwrap();
    let then = doc.get_heads();
    edit::set_text(
        &mut doc,
        &Path::Action(action_id, ActionField::Due),
        "2026-12-10",
    )
    .unwrap();
    doc.commit();

    let out = history::read_out(doc.document(), &then);
    let line = |e: &history::Entry| match &e.value {
        Some(v) => format!("{}{}: {v}", "  ".repeat(e.depth), e.label),
        None => format!("{}[{}]", "  ".repeat(e.depth), e.label),
    };
    let plan: Vec<String> = out
        .iter()
        .filter(|e| e.section == Section::Plan)
        .map(line)
        .collect();
    assert_eq!(
        plan,
        [
            "[Outcome \u{201c}Sam goes to school every day\u{201d}]",
            "  What we want to be different: Sam goes to school every day",
            "  [Action \u{201c}Attend parenting course\u{201d}]",
            "    What will be done: Attend parenting course",
            "    Who will do it: Tom Teacher",
            "    By when: 3 December 2026",
            "    Status: Not started",
        ],
        "{out:#?}"
    );
    // Sections come in the app's order: the family first, the plan after the assessment.
    let first = |s: Section| out.iter().position(|e| e.section == s).unwrap();
    assert!(first(Section::Family) < first(Section::Assessment));
    assert!(first(Section::Assessment) < first(Section::Plan));
    assert!(out
        .iter()
        .any(|e| e.label == "Full name" && e.value.as_deref() == Some("Sam Smith")));
    // Now: the new date.
    let heads = doc.get_heads();
    let now = history::read_out(doc.document(), &heads);
    assert!(now
        .iter()
        .any(|e| e.key == "due" && e.value.as_deref() == Some("10 December 2026")));
}

#[test]
fn version_one_fields_read_as_the_fields_they_became_in_old_history() {
    let mut doc = shared::case::Case::new("Sam").into_document().unwrap();
    doc.commit();
    let before = doc.get_heads();
    doc.set_author(Some(author_of(ANN)));
    shared::case::Field::ChildName
        .write(&mut doc, "Samuel Smith")
        .unwrap();
    shared::case::Field::LeadProfessional
        .write(&mut doc, "Tom Teacher")
        .unwrap();
    doc.commit();
    let edited = doc.get_heads();
    let sentences: Vec<String> = history::rows_between(doc.document(), &before, &edited)
        .iter()
        .map(|r| r.sentence())
        .collect();
    assert_eq!(
        sentences,
        [
            "changed Child › Full name from \u{201c}Sam\u{201d} to \u{201c}Samuel Smith\u{201d}",
            "set Lead professional › Name to \u{201c}Tom Teacher\u{201d}",
        ]
    );
    // The upgrade moves those values; it does not read as clearing them.
    shared::record::migrate::migrate(&mut doc).unwrap();
    let upgraded = doc.get_heads();
    let upgrade = history::rows_between(doc.document(), &edited, &upgraded);
    assert!(
        upgrade
            .iter()
            .all(|r| !matches!(&r.kind, RowKind::Changed { new, .. } if new.is_empty())),
        "{upgrade:#?}"
    );
    assert!(upgrade
        .iter()
        .any(|r| r.sentence() == "added the person \u{201c}Samuel Smith\u{201d}"));
}
