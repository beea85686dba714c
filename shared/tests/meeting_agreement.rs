//! Agreeing the record of a TAC meeting: who agreed it and what they saw, changes made after
//! agreement shown as such, and agreement surviving concurrent edits and concurrent agreement.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ObjType, ReadDoc};
use shared::record::edit::{self, ItemKind, List, Path};
use shared::record::meetings::{
    changed_since_agreement, ActionProgress, Changed, ItemChange, Meeting, MeetingChange,
    MeetingField, MeetingKind, MeetingList, Participant, ParticipantField, ProgressField,
};
use shared::record::validation::{changed_after_agreement, missing, missing_in_document, Section};
use shared::record::{CaseRecord, RecordError};

const PRESENT: [(&str, &str); 2] = [("Kim Lee", "Oak Primary School"), ("Amy Smith", "")];

/// A case with one review held (attendees, views, decisions, a progress note) and one booked
/// ahead. Returns the document and the held review's id.
fn case_with_review() -> (AutoCommit, String) {
    let mut r = CaseRecord::new("Sam Smith");
    let mut m = Meeting::new(MeetingKind::Review, "2026-12-01");
    m.attendees.push(Participant::new(
        "Kim Lee",
        "Oak Primary School",
        "Class teacher",
    ));
    m.attendees
        .push(Participant::new("Amy Smith", "", "Mother"));
    m.apologies
        .push(Participant::new("Pat Jones", "Health", "Health visitor"));
    m.child_views = "Sam likes breakfast club.".into();
    m.family_views = "Mum says mornings are easier.".into();
    m.decisions = "Keep breakfast club until Easter.".into();
    m.next_date = "2027-01-12".into();
    m.progress.push(ActionProgress::new("action-1"));
    let id = m.id.clone();
    r.meetings.push(m);
    r.meetings
        .push(Meeting::new(MeetingKind::Review, "2027-01-12"));
    (r.into_document().unwrap(), id)
}

fn meeting(doc: &AutoCommit, id: &str) -> Meeting {
    let r = CaseRecord::from_document(doc).unwrap();
    r.meetings.into_iter().find(|m| m.id == id).unwrap()
}

fn hex(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ToString::to_string).collect()
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

fn changes(doc: &AutoCommit, id: &str) -> Vec<MeetingChange> {
    changed_since_agreement(doc, id).unwrap()
}

fn whats(changes: &[MeetingChange]) -> Vec<Changed> {
    changes.iter().map(|c| c.what.clone()).collect()
}

fn meeting_messages(doc: &AutoCommit) -> Vec<String> {
    let r = CaseRecord::from_document(doc).unwrap();
    missing_in_document(&r, doc)
        .into_iter()
        .filter(|m| m.section == Section::Meetings)
        .map(|m| m.message)
        .collect()
}

const CHANGED_MESSAGE: &str =
    "The review on 1 December 2026 was changed after it was agreed: ask those present to agree it again";

#[test]
fn agreeing_records_who_agreed_and_what_they_saw_in_one_change() {
    let (mut doc, id) = case_with_review();
    assert!(!meeting(&doc, &id).is_agreed());
    assert_eq!(changes(&doc, &id), vec![]);
    assert!(meeting_messages(&doc)
        .contains(&"Nobody has agreed the record of the review on 1 December 2026".to_string()));

    // Something typed just before agreeing is part of what is agreed.
    let changes_before = doc.get_changes(&[]).len();
    edit::set_text(
        &mut doc,
        &Path::Meeting(id.clone(), MeetingField::Decisions),
        "Keep breakfast club until Easter. Review in January.",
    )
    .unwrap();
    edit::agree_meeting(&mut doc, &id, &PRESENT, "2026-12-01").unwrap();
    let changes_after = doc.get_changes(&[]).len();
    // One change for the typing (committed first), one for the agreement.
    assert_eq!(changes_after, changes_before + 2);
    let agreement = doc.get_changes(&[]).last().unwrap().clone();

    let m = meeting(&doc, &id);
    assert!(m.is_agreed());
    assert_eq!(m.agreed_heads, hex(agreement.deps()));
    let who: Vec<_> = m
        .agreed
        .iter()
        .map(|a| (a.name.as_str(), a.agency.as_str(), a.date.as_str()))
        .collect();
    assert_eq!(
        who,
        vec![
            ("Kim Lee", "Oak Primary School", "2026-12-01"),
            ("Amy Smith", "", "2026-12-01")
        ]
    );
    assert_ne!(m.agreed[0].id, m.agreed[1].id);
    assert_eq!(changes(&doc, &id), vec![]);
    let messages = meeting_messages(&doc);
    assert!(
        !messages.iter().any(|m| m.contains("agree")),
        "{messages:?}"
    );
}

#[test]
fn nothing_changed_after_agreement_reports_nothing() {
    let (mut doc, id) = case_with_review();
    edit::agree_meeting(&mut doc, &id, &PRESENT, "2026-12-01").unwrap();
    // Writing values the record already holds, and changing other parts of the case (even
    // another meeting), is no change to this record.
    edit::set_text(
        &mut doc,
        &Path::Meeting(id.clone(), MeetingField::Decisions),
        "Keep breakfast club until Easter.",
    )
    .unwrap();
    edit::set_text(
        &mut doc,
        &Path::Meeting(id.clone(), MeetingField::NextDate),
        "2027-01-12",
    )
    .unwrap();
    let other = CaseRecord::from_document(&doc).unwrap().meetings[1]
        .id
        .clone();
    edit::set_text(
        &mut doc,
        &Path::Meeting(other.clone(), MeetingField::Decisions),
        "Booked.",
    )
    .unwrap();
    edit::add(
        &mut doc,
        &List::Attendees(other),
        &Participant::new("Lee Jones", "", "Father"),
    )
    .unwrap();
    // A change undone before anyone looks is no difference either.
    let path = Path::Meeting(id.clone(), MeetingField::ChildViews);
    edit::set_text(&mut doc, &path, "Sam hates breakfast club.").unwrap();
    doc.commit();
    edit::set_text(&mut doc, &path, "Sam likes breakfast club.").unwrap();
    assert_eq!(changes(&doc, &id), vec![]);
    let r = CaseRecord::from_document(&doc).unwrap();
    assert_eq!(changed_after_agreement(&r, &doc), vec![]);
}

#[test]
fn changes_after_agreement_are_reported_until_agreed_again() {
    let (mut doc, id) = case_with_review();
    edit::agree_meeting(&mut doc, &id, &PRESENT, "2026-12-01").unwrap();
    let before = meeting(&doc, &id);

    edit::set_text(
        &mut doc,
        &Path::Meeting(id.clone(), MeetingField::Decisions),
        "Keep breakfast club until the summer.",
    )
    .unwrap();
    assert_eq!(
        changes(&doc, &id),
        vec![MeetingChange {
            what: Changed::Field(MeetingField::Decisions),
            message: "What was decided was changed after the record was agreed".into(),
        }]
    );
    // Uncommitted typing counts too.
    let note = ActionProgress::new("action-1");
    edit::add(&mut doc, &List::Progress(id.clone()), &note).unwrap();
    let found = changes(&doc, &id);
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[1],
        MeetingChange {
            what: Changed::Item {
                list: MeetingList::Progress,
                id: note.id.clone(),
                how: ItemChange::Added,
            },
            message: "A progress note was added after the record was agreed".into(),
        }
    );
    assert_eq!(found[1].item(), Some(note.id.as_str()));
    assert_eq!(found[0].item(), None);

    // The validation message, in the Meetings section, naming the meeting.
    let r = CaseRecord::from_document(&doc).unwrap();
    let all = missing_in_document(&r, &doc);
    let flagged: Vec<_> = all
        .iter()
        .filter(|m| m.message == CHANGED_MESSAGE)
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].section, Section::Meetings);
    assert_eq!(flagged[0].item.as_deref(), Some(id.as_str()));
    // The rest is what `missing` says, in section order.
    let mut without = all.clone();
    without.retain(|m| m.message != CHANGED_MESSAGE);
    assert_eq!(without, missing(&r));
    assert!(all.windows(2).all(|w| w[0].section <= w[1].section));

    // Every field and list is watched; who agreed is not.
    let first_attendee = before.attendees[0].id.clone();
    let second_attendee = before.attendees[1].id.clone();
    let apology = before.apologies[0].id.clone();
    let progress = before.progress[0].id.clone();
    edit::set_text(
        &mut doc,
        &Path::Meeting(id.clone(), MeetingField::Kind),
        MeetingKind::Handover.as_str(),
    )
    .unwrap();
    for field in [
        MeetingField::Date,
        MeetingField::ChildViews,
        MeetingField::FamilyViews,
        MeetingField::NextDate,
    ] {
        edit::set_text(&mut doc, &Path::Meeting(id.clone(), field), "2027-02-02").unwrap();
    }
    edit::set_text(
        &mut doc,
        &Path::Participant(first_attendee.clone(), ParticipantField::Role),
        "Head teacher",
    )
    .unwrap();
    edit::remove(&mut doc, ItemKind::Participant, &second_attendee).unwrap();
    edit::remove(&mut doc, ItemKind::Participant, &apology).unwrap();
    edit::set_text(
        &mut doc,
        &Path::Progress(progress.clone(), ProgressField::Note),
        "Going well.",
    )
    .unwrap();
    let agreed_entry = before.agreed[0].id.clone();
    edit::remove(&mut doc, ItemKind::Agreement, &agreed_entry).unwrap();

    let messages: Vec<_> = changes(&doc, &id).into_iter().map(|c| c.message).collect();
    assert_eq!(
        messages,
        vec![
            "The kind of meeting was changed after the record was agreed",
            "The date of the meeting was changed after the record was agreed",
            "What the child said was changed after the record was agreed",
            "What the family said was changed after the record was agreed",
            "What was decided was changed after the record was agreed",
            "The date of the next meeting was changed after the record was agreed",
            "Attendee Kim Lee was changed after the record was agreed",
            "Attendee Amy Smith was removed after the record was agreed",
            "The apology from Pat Jones was removed after the record was agreed",
            "A progress note was changed after the record was agreed",
            "A progress note was added after the record was agreed",
        ]
    );

    // Agreeing again takes in the changes and keeps the history of who agreed.
    edit::agree_meeting(
        &mut doc,
        &id,
        &[("Kim Lee", "Oak Primary School")],
        "2027-02-02",
    )
    .unwrap();
    let m = meeting(&doc, &id);
    assert_eq!(m.agreed.len(), 2);
    assert_eq!(m.agreed[1].date, "2027-02-02");
    assert_ne!(m.agreed_heads, before.agreed_heads);
    assert_eq!(changes(&doc, &id), vec![]);
    assert!(!meeting_messages(&doc).iter().any(|m| m.contains("agree")));
}

#[test]
fn a_meeting_records_agreed_state_survives_concurrent_edits() {
    let (mut a, id) = case_with_review();
    let mut b = a.fork();
    let decisions = Path::Meeting(id.clone(), MeetingField::Decisions);

    // B starts typing in the decisions before A's agreement reaches it.
    edit::splice_text(&mut b, &decisions, 0, 0, "Dad to join next time. ").unwrap();
    b.commit();
    // A adds to the decisions, and the meeting is agreed on A's device.
    let end = "Keep breakfast club until Easter.".len();
    edit::splice_text(&mut a, &decisions, end, 0, " Review in January.").unwrap();
    edit::agree_meeting(&mut a, &id, &PRESENT, "2026-12-01").unwrap();
    let agreed_heads = meeting(&a, &id).agreed_heads;
    assert_eq!(changes(&a, &id), vec![]);

    // B is still typing when the two devices sync, both ways.
    edit::splice_text(&mut b, &decisions, 0, 0, "Agreed: ").unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    assert_eq!(sorted(a.get_heads()), sorted(b.get_heads()));

    for doc in [&a, &b] {
        let m = meeting(doc, &id);
        // Agreed by the same people, at the same state, on both devices.
        assert!(m.is_agreed());
        assert_eq!(m.agreed_heads, agreed_heads);
        let who: Vec<_> = m.agreed.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(who, vec!["Kim Lee", "Amy Smith"]);
        // Nothing typed is lost.
        assert_eq!(
            m.decisions.as_str(),
            "Agreed: Dad to join next time. Keep breakfast club until Easter. Review in January."
        );
        // B's typing, which the agreement did not see, shows as a change after agreement.
        assert_eq!(
            whats(&changes(doc, &id)),
            vec![Changed::Field(MeetingField::Decisions)]
        );
        assert!(meeting_messages(doc).contains(&CHANGED_MESSAGE.to_string()));
    }
    // The agreed version holds A's words and not B's.
    let heads: Vec<ChangeHash> = agreed_heads.iter().map(|h| h.parse().unwrap()).collect();
    let obj = edit::text_object(&a, &decisions).unwrap().unwrap();
    assert_eq!(
        a.text_at(&obj, &heads).unwrap(),
        "Keep breakfast club until Easter. Review in January."
    );
}

#[test]
fn two_devices_agreeing_at_once_merge_the_same_way_on_both() {
    // Both devices synced, nothing pending: they agree the same state.
    let (mut a, id) = case_with_review();
    let mut b = a.fork();
    edit::agree_meeting(
        &mut a,
        &id,
        &[("Kim Lee", "Oak Primary School")],
        "2026-12-01",
    )
    .unwrap();
    edit::agree_meeting(&mut b, &id, &[("Amy Smith", "")], "2026-12-01").unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    for doc in [&a, &b] {
        let m = meeting(doc, &id);
        assert_eq!(m.agreed.len(), 2);
        assert_eq!(changes(doc, &id), vec![]);
    }
    assert_eq!(meeting(&a, &id), meeting(&b, &id));

    // Each device changes something, then agrees, at the same time.
    let (mut a, id) = case_with_review();
    let mut b = a.fork();
    let note = ActionProgress::new("action-1");
    edit::add(&mut a, &List::Progress(id.clone()), &note).unwrap();
    edit::agree_meeting(
        &mut a,
        &id,
        &[("Kim Lee", "Oak Primary School")],
        "2026-12-01",
    )
    .unwrap();
    let a_heads = meeting(&a, &id).agreed_heads;
    let child_views = Path::Meeting(id.clone(), MeetingField::ChildViews);
    edit::set_text(
        &mut b,
        &child_views,
        "Sam likes breakfast club and football.",
    )
    .unwrap();
    edit::agree_meeting(&mut b, &id, &[("Amy Smith", "")], "2026-12-01").unwrap();
    let b_heads = meeting(&b, &id).agreed_heads;
    assert_ne!(a_heads, b_heads);

    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    let (on_a, on_b) = (meeting(&a, &id), meeting(&b, &id));
    // One agreement's heads win, the same on both devices; both agreements are kept.
    assert_eq!(on_a, on_b);
    assert!(on_a.agreed_heads == a_heads || on_a.agreed_heads == b_heads);
    let mut who: Vec<_> = on_a.agreed.iter().map(|x| x.name.clone()).collect();
    who.sort();
    assert_eq!(who, vec!["Amy Smith", "Kim Lee"]);
    // Both edits are kept; the one the winning agreement did not see is reported.
    assert_eq!(on_a.progress.len(), 2);
    assert_eq!(
        on_a.child_views.as_str(),
        "Sam likes breakfast club and football."
    );
    let expected = if on_a.agreed_heads == a_heads {
        vec![Changed::Field(MeetingField::ChildViews)]
    } else {
        vec![Changed::Item {
            list: MeetingList::Progress,
            id: note.id.clone(),
            how: ItemChange::Added,
        }]
    };
    assert_eq!(whats(&changes(&a, &id)), expected);
    assert_eq!(changes(&a, &id), changes(&b, &id));
    assert!(meeting_messages(&a).contains(&CHANGED_MESSAGE.to_string()));
    assert!(meeting_messages(&b).contains(&CHANGED_MESSAGE.to_string()));

    // Agreeing again on either device settles it everywhere.
    edit::agree_meeting(&mut b, &id, &PRESENT, "2026-12-02").unwrap();
    a.merge(&mut b).unwrap();
    assert_eq!(changes(&a, &id), vec![]);
    assert_eq!(meeting(&a, &id).agreed.len(), 4);
}

#[test]
fn older_documents_without_agreed_heads_still_read_and_can_be_agreed() {
    let (mut doc, id) = case_with_review();
    // An older app recorded who agreed, and had no `agreed_heads` key at all.
    edit::add(
        &mut doc,
        &List::Agreed(id.clone()),
        &shared::record::meetings::Agreement::new("Kim Lee", "2026-12-01"),
    )
    .unwrap();
    let obj = Path::Meeting(id.clone(), MeetingField::Decisions)
        .find_obj(&doc)
        .unwrap()
        .unwrap();
    doc.delete(&obj, "agreed_heads").unwrap();
    doc.commit();
    assert!(doc.get(&obj, "agreed_heads").unwrap().is_none());

    let bytes = doc.save();
    let mut doc = AutoCommit::load(&bytes).unwrap();
    let m = meeting(&doc, &id);
    assert_eq!(m.agreed_heads, Vec::<String>::new());
    assert!(!m.is_agreed());
    assert_eq!(m.agreed.len(), 1);
    assert_eq!(changes(&doc, &id), vec![]);
    // Its agreement still counts as agreed for "still to record"; nothing is flagged.
    let messages = meeting_messages(&doc);
    assert!(
        !messages.iter().any(|m| m.contains("agree")),
        "{messages:?}"
    );

    edit::agree_meeting(&mut doc, &id, &PRESENT, "2027-01-12").unwrap();
    let m = meeting(&doc, &id);
    assert!(m.is_agreed());
    assert_eq!(m.agreed.len(), 3);
    assert_eq!(changes(&doc, &id), vec![]);
}

#[test]
fn agreeing_needs_the_meeting_and_someone_to_agree() {
    let (mut doc, id) = case_with_review();
    doc.commit();
    let heads = doc.get_heads();
    assert_eq!(
        edit::agree_meeting(&mut doc, "no-such-meeting", &PRESENT, "2026-12-01"),
        Err(RecordError::NotFound("meeting"))
    );
    assert_eq!(
        edit::agree_meeting(&mut doc, &id, &[], "2026-12-01"),
        Err(RecordError::NobodyAgreed)
    );
    assert_eq!(
        edit::agree_meeting(&mut doc, &id, &[("  ", "School")], "2026-12-01"),
        Err(RecordError::NobodyAgreed)
    );
    doc.commit();
    assert_eq!(doc.get_heads(), heads);
    assert!(!meeting(&doc, &id).is_agreed());
    assert_eq!(
        changed_since_agreement(&doc, "no-such-meeting"),
        Err(RecordError::NotFound("meeting"))
    );
}

#[test]
fn an_agreed_version_this_device_does_not_hold_is_an_error_not_a_guess() {
    let (mut doc, id) = case_with_review();
    let obj = Path::Meeting(id.clone(), MeetingField::Decisions)
        .find_obj(&doc)
        .unwrap()
        .unwrap();
    // Heads written by something other than `agree_meeting`, naming a change not here.
    let list = doc.put_object(&obj, "agreed_heads", ObjType::List).unwrap();
    doc.insert(&list, 0, "ab".repeat(32)).unwrap();
    doc.commit();
    assert!(meeting(&doc, &id).is_agreed());
    assert_eq!(
        changed_since_agreement(&doc, &id),
        Err(RecordError::AgreedVersionMissing)
    );
    // Validation has nothing to compare, so says nothing about it.
    let r = CaseRecord::from_document(&doc).unwrap();
    assert_eq!(changed_after_agreement(&r, &doc), vec![]);

    // Not a change hash at all: a read error.
    doc.put(&list, 0, "not hex").unwrap();
    doc.commit();
    assert!(matches!(
        changed_since_agreement(&doc, &id),
        Err(RecordError::Read(_))
    ));
}
