//! A subject access copy from a fixed case: who recorded each piece, what the reviewer is
//! offered to withhold, and that withheld words exist nowhere in the document or its JSON.

use automerge::transaction::CommitOptions;
use automerge::{AutoCommit, ChangeHash};
use shared::authorship::author_of;
use shared::documents::subject_access::{
    self, Cover, Piece, Reason, Review, WithheldPiece, WithheldWords,
};
use shared::record::edit::{self, Path};
use shared::record::family::{Person, Relationship, Role};
use shared::record::history::Received;
use shared::record::plan::{Action, Outcome};
use shared::record::CaseRecord;
use std::collections::HashMap;

const ANN: i64 = 1;
const BOB: i64 = 2;
/// 29 November 2026, 21:00 UTC.
const T0: i64 = 1_795_986_000_000;
const DAY: i64 = 86_400_000;

struct Case {
    doc: AutoCommit,
    receipts: HashMap<ChangeHash, Received>,
    mum: String,
    dad: String,
}

fn receive(doc: &mut AutoCommit, receipts: &mut HashMap<ChangeHash, Received>, who: i64, at: i64) {
    for c in shared::authorship::claims_in([doc.save().as_slice()]).unwrap() {
        receipts.entry(c.hash).or_insert(Received {
            professional_id: who,
            at,
        });
    }
}

/// Ann (school) starts the case; a day later Bob (health visitor) writes the worries, naming
/// the mother's partner, and an action whose title names him too.
fn case() -> Case {
    let mut record = CaseRecord::new("Sam Smith");
    let mut mum = Person::new(Role::ParentCarer, "Jo Smith");
    mum.relationship = Some(Relationship::Mother);
    let mut dad = Person::new(Role::ParentCarer, "Dave Jones");
    dad.relationship = Some(Relationship::Father);
    dad.contact = "07700 900123".into();
    let (mum_id, dad_id) = (mum.id.clone(), dad.id.clone());
    record.family.people.push(mum);
    record.family.people.push(dad);
    let mut outcome = Outcome::new("Sam goes to school every day");
    outcome
        .actions
        .push(Action::new("Keep Sam away from Dave Jones's flat"));
    record.plan.outcomes.push(outcome);
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::random());
    doc.set_author(Some(author_of(ANN)));
    record.write(&mut doc).unwrap();
    doc.commit_with(CommitOptions::default().with_time(T0 / 1000));
    let mut receipts = HashMap::new();
    receive(&mut doc, &mut receipts, ANN, T0);

    let mut bob = doc.fork();
    bob.set_author(Some(author_of(BOB)));
    edit::set_text(
        &mut bob,
        &Path::WorriedAbout,
        "Jo says DAVE JONES shouts at Sam. Sam is often late.",
    )
    .unwrap();
    bob.commit_with(CommitOptions::default().with_time((T0 + DAY) / 1000));
    doc.merge(&mut bob).unwrap();
    receive(&mut doc, &mut receipts, BOB, T0 + DAY);
    Case {
        doc,
        receipts,
        mum: mum_id,
        dad: dad_id,
    }
}

fn pieces_of(case: &mut Case, subject: &str) -> Vec<Piece> {
    let heads = case.doc.get_heads();
    let names = |p: i64| match p {
        ANN => Some("Ann Adams, Riverside School".to_string()),
        BOB => Some("Bob Brown, Health visiting".to_string()),
        _ => None,
    };
    subject_access::pieces(case.doc.document(), &heads, &case.receipts, subject, names)
}

fn cover(withheld: Vec<Reason>) -> Cover {
    Cover {
        subject: "Jo Smith".into(),
        received: "26 November 2026".into(),
        answer_by: "28 December 2026".into(),
        made_on: "1 December 2026".into(),
        children: vec!["Sam Smith".into()],
        recipients: vec!["Riverside School".into(), "Health visiting".into()],
        withheld,
    }
}

#[test]
fn each_piece_says_who_recorded_it_and_others_in_the_family_are_offered_as_withheld() {
    let mut case = case();
    let mum = case.mum.clone();
    let pieces = pieces_of(&mut case, &mum);
    let worries = pieces.iter().find(|p| p.piece == "concerns").unwrap();
    assert_eq!(
        worries.recorded_by.as_deref(),
        Some("Bob Brown, Health visiting")
    );
    assert_eq!(worries.recorded_at, Some(T0 + DAY));
    let name = |id: &str| format!("family/people/{id}/name");
    let mum_name = pieces.iter().find(|p| p.piece == name(&case.mum)).unwrap();
    assert_eq!(
        mum_name.recorded_by.as_deref(),
        Some("Ann Adams, Riverside School")
    );
    // The father and the child are someone else to Jo: offered as withheld; Jo is not.
    let suggested: Vec<&str> = pieces
        .iter()
        .filter(|p| p.suggested == Some(Reason::RightsOfOthers))
        .map(|p| p.label.as_str())
        .collect();
    assert_eq!(suggested, ["Person “Sam Smith”", "Person “Dave Jones”"]);
}

#[test]
fn withheld_pieces_and_words_are_nowhere_in_the_copy_or_its_json() {
    let mut case = case();
    let mum = case.mum.clone();
    let pieces = pieces_of(&mut case, &mum);
    let action_title = pieces
        .iter()
        .find(|p| p.value.as_deref() == Some("Keep Sam away from Dave Jones's flat"))
        .unwrap()
        .piece
        .clone();
    let review = Review {
        pieces: vec![
            WithheldPiece {
                piece: format!("family/people/{}", case.dad),
                reason: Reason::RightsOfOthers,
            },
            WithheldPiece {
                piece: action_title,
                reason: Reason::ConfidentialSource,
            },
        ],
        words: vec![WithheldWords {
            words: "dave jones".into(),
            reason: Reason::RightsOfOthers,
        }],
    };
    assert_eq!(review.problem(), None);
    let redacted = subject_access::redact(&pieces, &review);
    let (document, export) = subject_access::build(&cover(review.reasons()), &redacted);
    let text = document.plain_text();
    let json = serde_json::to_string(&export).unwrap();
    for gone in ["Dave", "DAVE", "07700 900123", "flat", "Keep Sam away"] {
        assert!(!text.contains(gone), "{gone:?} is in the copy:\n{text}");
        assert!(!json.contains(gone), "{gone:?} is in the JSON");
    }
    // What is not withheld is there, with the words taken out.
    assert!(text.contains("Jo says [withheld] shouts at Sam. Sam is often late."));
    assert!(text.contains("Jo Smith"));
    assert!(text.contains("Sam goes to school every day"));
    // The action whose title was withheld is named only as an action.
    assert!(text.lines().any(|l| l == "Action"), "{text}");
    // The cover note gives the reasons, never where.
    assert!(text.contains("Information about other people"));
    assert!(text.contains("Information that would identify someone"));
    assert!(text.contains("We must answer by"));
    assert!(text.contains("ico.org.uk"));
    // Their story in order: Ann's family details (day 0) come before Bob's worries (day 1).
    let family = text.find("Person “Jo Smith”").unwrap();
    let worries = text.find("Jo says").unwrap();
    assert!(family < worries);
    assert!(text.contains("Recorded by Bob Brown, Health visiting, 30 November 2026"));
}

#[test]
fn nothing_withheld_is_said_plainly() {
    let mut case = case();
    let mum = case.mum.clone();
    let pieces = pieces_of(&mut case, &mum);
    let redacted = subject_access::redact(&pieces, &Review::default());
    let (document, export) = subject_access::build(&cover(vec![]), &redacted);
    assert!(document
        .plain_text()
        .contains("We have not withheld anything from this copy."));
    assert!(document.plain_text().contains("Dave Jones"));
    assert_eq!(export.record.len(), redacted.len());
}

#[test]
fn a_review_with_too_short_or_too_many_words_is_refused() {
    let words = |w: &str, n: usize| Review {
        pieces: vec![],
        words: vec![
            WithheldWords {
                words: w.into(),
                reason: Reason::Crime,
            };
            n
        ],
    };
    assert!(words("a", 1).problem().is_some());
    assert!(words(&"x".repeat(101), 1).problem().is_some());
    assert!(words("ab", 101).problem().is_some());
    assert!(words("ab", 100).problem().is_none());
}
