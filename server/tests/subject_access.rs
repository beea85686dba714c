//! A subject access request through the relay: recorded with its deadline, reviewed, refused
//! approval by the reviewer, approved by a second person, and released as PDF and JSON from
//! which the withheld words are gone (read back with `pdftotext`, and in the raw bytes).
//! Every step is in the audit, by id.

mod common;

use common::{http, http_bytes, invite, pdf_text, practitioner, Peer, TestRelay};
use shared::documents::subject_access::{PiecesAt, Request, Status};
use shared::record::edit::{self, Path};
use shared::record::family::{Person, Relationship, Role};
use shared::record::plan::{Action, Outcome};
use shared::record::CaseRecord;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_reviewed_approved_by_someone_else_and_released_without_what_was_withheld() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let ann = practitioner(&relay, "ann").await;
    let bob = practitioner(&relay, "bob").await;
    let stranger = practitioner(&relay, "stranger").await;

    // Ann records the case: Sam, his mother Jo, and Dave, whom the worries name.
    let mut record = CaseRecord::new("Sam Smith");
    let mut mum = Person::new(Role::ParentCarer, "Jo Smith");
    mum.relationship = Some(Relationship::Mother);
    let mut dad = Person::new(Role::ParentCarer, "Dave Jones");
    dad.contact = "07700 900123".into();
    let (mum_id, dad_id) = (mum.id.clone(), dad.id.clone());
    record.family.people.extend([mum, dad]);
    let mut outcome = Outcome::new("Sam goes to school every day");
    outcome
        .actions
        .push(Action::new("Keep Sam away from Dave Jones's flat"));
    record.plan.outcomes.push(outcome);
    let mut doc = record.into_document().unwrap();
    edit::set_text(
        &mut doc,
        &Path::WorriedAbout,
        "Jo says Dave Jones shouts at Sam.",
    )
    .unwrap();
    doc.commit();
    let mut peer = Peer::connect(&url, &ann, ann.client("laptop")).await;
    let (id, effects) = peer.client.create(doc);
    assert_eq!(common::register(&relay, &ann, &id).await, 201);
    peer.run(effects).await;
    peer.until("the relay to store the case", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;
    assert_eq!(invite(&relay, &ann, &id, &bob).await.status, 201);
    let base = format!("/api/cases/{id}/subject-access");

    // Not on the case: as if it did not exist.
    let r = http(relay.addr, "GET", &base, Some(&stranger.token), None).await;
    assert_eq!(r.status, 404);

    // Recorded, with its deadline: a month on, moved off the weekend (20 December 2026 is a
    // Sunday). A date in the future, or someone not in the case, is refused plainly.
    let open =
        |person: &str, on: &str| serde_json::json!({ "person_id": person, "received_on": on });
    let r = http(
        relay.addr,
        "POST",
        &base,
        Some(&ann.token),
        Some(&open(&mum_id, "2099-01-01")),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("today or in the past"), "{}", r.body);
    let r = http(
        relay.addr,
        "POST",
        &base,
        Some(&ann.token),
        Some(&open("nobody", "2026-11-20")),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = http(
        relay.addr,
        "POST",
        &base,
        Some(&ann.token),
        Some(&open(&mum_id, "2026-11-20")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let request: Request = serde_json::from_str(&r.body).unwrap();
    assert_eq!(request.answer_by, "2026-12-21");
    assert_eq!(request.status, Status::Reviewing);
    let at = |what: &str| format!("{base}/{}/{what}", request.id);

    // The reviewer sees every piece; the father's details are offered as withheld.
    let r = http(relay.addr, "GET", &at("pieces"), Some(&ann.token), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let PiecesAt { heads, pieces } = serde_json::from_str(&r.body).unwrap();
    let dad_piece = format!("family/people/{dad_id}");
    let offered = pieces.iter().find(|p| p.piece == dad_piece).unwrap();
    assert!(offered.suggested.is_some());
    let action_title = pieces
        .iter()
        .find(|p| p.value.as_deref() == Some("Keep Sam away from Dave Jones's flat"))
        .unwrap()
        .piece
        .clone();
    let review = serde_json::json!({
        "pieces": [
            { "piece": dad_piece, "reason": "rights_of_others" },
            { "piece": action_title, "reason": "confidential_source" },
        ],
        "words": [ { "words": "Dave Jones", "reason": "rights_of_others" } ],
    });
    let r = http(
        relay.addr,
        "PUT",
        &at("review"),
        Some(&ann.token),
        Some(&review),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // No copy before a second person approves.
    let (status, _, _) = http_bytes(relay.addr, "GET", &at("copy.pdf"), &ann.token, None).await;
    assert_eq!(status, 409);
    // Sent for approval as the reviewer saw it: a version the relay does not hold is refused.
    let unknown = serde_json::json!({ "heads": ["00".repeat(32)] });
    let r = http(
        relay.addr,
        "POST",
        &at("submit"),
        Some(&ann.token),
        Some(&unknown),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let seen = serde_json::json!({ "heads": heads });
    let r = http(
        relay.addr,
        "POST",
        &at("submit"),
        Some(&ann.token),
        Some(&seen),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen_by_approver = serde_json::json!({ "heads": heads, "review": review });
    let r = http(
        relay.addr,
        "POST",
        &at("approve"),
        Some(&ann.token),
        Some(&seen_by_approver),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("someone else must approve"), "{}", r.body);

    // Ann writes more after the review: not reviewed, so not in this copy.
    let doc = peer.client.document_mut(&id).unwrap();
    edit::set_text(
        doc,
        &Path::WorriedAbout,
        "Jo says Dave Jones shouts at Sam. Written after the review.",
    )
    .unwrap();
    doc.commit();
    peer.flush(&id).await;
    peer.until("the late edit to reach the relay", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;

    // Approving something other than what was sent for approval is refused.
    let other = serde_json::json!({ "heads": heads, "review": { "pieces": [], "words": [] } });
    let r = http(
        relay.addr,
        "POST",
        &at("approve"),
        Some(&bob.token),
        Some(&other),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = http(
        relay.addr,
        "POST",
        &at("approve"),
        Some(&bob.token),
        Some(&seen_by_approver),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let approved: Request = serde_json::from_str(&r.body).unwrap();
    assert_eq!(approved.status, Status::Approved);
    assert_eq!(approved.reviewed_by, Some(ann.id));
    assert_eq!(approved.approved_by, Some(bob.id));

    let (status, head, pdf) =
        http_bytes(relay.addr, "GET", &at("copy.pdf"), &ann.token, None).await;
    assert_eq!(status, 200, "{head}");
    let text = pdf_text(&pdf);
    let (status, _, json_bytes) =
        http_bytes(relay.addr, "GET", &at("copy.json"), &ann.token, None).await;
    assert_eq!(status, 200);
    let json_text = String::from_utf8(json_bytes.clone()).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("Information we hold about Jo Smith"),
        "{flat}"
    );
    assert!(flat.contains("Jo says [withheld] shouts at Sam."), "{flat}");
    assert!(flat.contains("21 December 2026"), "{flat}");
    for gone in ["Dave", "Jones", "07700", "flat", "Written after the review"] {
        assert!(
            !flat.contains(gone),
            "{gone:?} is in the PDF's text:\n{flat}"
        );
        assert!(
            !pdf.windows(gone.len()).any(|w| w == gone.as_bytes()),
            "{gone:?} is in the PDF's bytes"
        );
        assert!(!json_text.contains(gone), "{gone:?} is in the JSON");
    }
    assert!(json_text.contains("Jo Smith"));

    // Every step on the record, by id.
    let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT event, outcome, actor_professional_id FROM audit
         WHERE event LIKE 'subject_access%' AND case_id = $1 ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(&relay.state.db)
    .await
    .unwrap();
    let step = |e: &str, o: &str, who: &common::Login| (e.to_string(), o.to_string(), Some(who.id));
    assert_eq!(
        rows,
        vec![
            step("subject_access_opened", "success", &ann),
            step("subject_access_read", "success", &ann),
            step("subject_access_review_saved", "success", &ann),
            step("subject_access_released", "denied", &ann),
            step("subject_access_review_submitted", "success", &ann),
            step("subject_access_approved", "denied", &ann),
            step("subject_access_approved", "success", &bob),
            step("subject_access_released_pdf", "success", &ann),
            step("subject_access_released_json", "success", &ann),
        ]
    );
    let r = http(relay.addr, "GET", &base, Some(&bob.token), None).await;
    let listed: Vec<Request> = serde_json::from_str(&r.body).unwrap();
    assert_eq!(listed[0].status, Status::Released);
    assert!(listed[0].released_at.is_some());
    // What went out stays on the record: it cannot be taken back.
    let r = http(relay.addr, "POST", &at("reopen"), Some(&ann.token), None).await;
    assert_eq!(r.status, 409, "{}", r.body);
}
