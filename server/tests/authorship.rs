//! Nobody writes under someone else's name: raw protocol clients (our sync core over a real,
//! signed-in WebSocket) try to, and the relay refuses, closes with 4403 and audits by id;
//! a member's own changes, made offline, still arrive and are journalled as theirs.

mod common;

use automerge::transaction::Transactable;
use common::{invite, practitioner, stored_case, Peer, TestRelay};
use server::sync::CLOSE_NOT_YOURS;
use shared::authorship::author_of;
use shared::sync::Holding;
use std::time::Duration;

async fn audit_rows(relay: &TestRelay) -> Vec<(String, Option<i64>, Option<String>)> {
    sqlx::query_as(
        "SELECT outcome, actor_professional_id, case_id FROM audit WHERE event = 'sync_rejected'",
    )
    .fetch_all(&relay.state.db)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_senders_own_changes_are_taken_and_journalled() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let ann = practitioner(&relay, "ann").await;
    let bob = practitioner(&relay, "bob").await;
    let mut ann_laptop = Peer::connect(&url, &ann, ann.client("laptop")).await;
    let id = stored_case(&relay, &ann, &mut ann_laptop).await;
    assert_eq!(invite(&relay, &ann, &id, &bob).await.status, 201);

    // Ann's tablet fetches the case, goes offline, and she types on it.
    let mut tablet = Peer::connect(&url, &ann, ann.client("tablet")).await;
    assert_eq!(tablet.ask(id).await, Holding::Have);
    let mut offline = tablet.client;
    offline.disconnected();
    for i in 0..3 {
        let doc = offline.document_mut(&id).unwrap();
        doc.put(automerge::ROOT, format!("visit-{i}"), "notes")
            .unwrap();
        doc.commit();
    }
    let typed = offline.document_mut(&id).unwrap().get_heads();
    // Back online: her own offline changes are taken.
    let mut tablet = Peer::connect(&url, &ann, offline).await;
    tablet.flush(&id).await;
    tablet
        .until("the offline changes to reach the relay", |p| {
            p.client.unsent_changes(&id) == 0
        })
        .await;
    let receipts = relay.state.journal.for_case(&id.to_string()).await.unwrap();
    let doc = tablet.client.document_mut(&id).unwrap();
    let all = doc.get_changes(&[]);
    assert_eq!(receipts.len(), all.len(), "every change has a receipt");
    assert!(receipts.iter().all(|r| r.professional_id == ann.id));
    assert!(typed
        .iter()
        .all(|h| receipts.iter().any(|r| r.change_hash == h.to_string())));
    // Every change of Ann's since the first names her as author through its actor.
    let last = doc
        .get_change_by_hash(&typed[0])
        .unwrap()
        .actor_id()
        .clone();
    let claims = shared::authorship::claims_in([doc.save().as_slice()]).unwrap();
    let first = claims
        .iter()
        .find(|c| c.actor == last && c.seq == 1)
        .unwrap();
    assert_eq!(first.author.as_deref(), Some(author_of(ann.id).as_bytes()));

    // Bob writes under Ann's author: refused, the connection closed, the attempt audited.
    let mut bob_peer = Peer::connect(&url, &bob, bob.client("laptop")).await;
    assert_eq!(bob_peer.ask(id).await, Holding::Have);
    let doc = bob_peer.client.document_mut(&id).unwrap();
    doc.set_author(Some(author_of(ann.id)));
    doc.put(automerge::ROOT, "forged", "by bob as ann").unwrap();
    let forged = doc.get_heads();
    bob_peer.flush(&id).await;
    assert_eq!(bob_peer.close_code().await, Some(CLOSE_NOT_YOURS));

    // Bob writes under the actor Ann's tablet used (no author of his own): refused too.
    let mut bob_peer = Peer::connect(&url, &bob, bob.client("phone")).await;
    assert_eq!(bob_peer.ask(id).await, Holding::Have);
    let doc = bob_peer.client.document_mut(&id).unwrap();
    doc.set_author(None);
    doc.set_actor(last.clone());
    doc.put(automerge::ROOT, "forged-actor", "by bob as ann")
        .unwrap();
    let forged_actor = doc.get_heads();
    bob_peer.flush(&id).await;
    assert_eq!(bob_peer.close_code().await, Some(CLOSE_NOT_YOURS));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while audit_rows(&relay).await.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "refusals audited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = audit_rows(&relay).await;
    let case = Some(id.to_string());
    assert_eq!(
        rows,
        vec![
            ("author_not_sender".into(), Some(bob.id), case.clone()),
            ("actor_not_sender".into(), Some(bob.id), case),
        ]
    );

    // Neither forgery reached the shared record, and Bob's own edits still do.
    let mut fresh = Peer::connect(&url, &ann, ann.client("desktop")).await;
    assert_eq!(fresh.ask(id).await, Holding::Have);
    fresh.idle(Duration::from_millis(300)).await;
    let doc = fresh.client.document_mut(&id).unwrap();
    assert!(doc.get_change_by_hash(&forged[0]).is_none());
    assert!(doc.get_change_by_hash(&forged_actor[0]).is_none());
    let mut bob_peer = Peer::connect(&url, &bob, bob.client("desk")).await;
    assert_eq!(bob_peer.ask(id).await, Holding::Have);
    bob_peer
        .client
        .document_mut(&id)
        .unwrap()
        .put(automerge::ROOT, "own", "by bob")
        .unwrap();
    bob_peer.flush(&id).await;
    bob_peer
        .until("Bob's own change to reach the relay", |p| {
            p.client.unsent_changes(&id) == 0
        })
        .await;
    let receipts = relay.state.journal.for_case(&id.to_string()).await.unwrap();
    assert_eq!(
        receipts
            .iter()
            .filter(|r| r.professional_id == bob.id)
            .count(),
        1
    );
    // Members read the receipts, with the names of who made them; nobody else does.
    let path = format!("/api/cases/{id}/receipts");
    let answer = common::http(relay.addr, "GET", &path, Some(&bob.token), None).await;
    assert_eq!(answer.status, 200);
    let read: shared::api::Receipts = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(read.receipts.len(), receipts.len());
    let mut named: Vec<_> = read.people.iter().map(|p| p.name.as_str()).collect();
    named.sort_unstable();
    assert_eq!(named, ["ann", "bob"]);
    let outsider = practitioner(&relay, "eve").await;
    let answer = common::http(relay.addr, "GET", &path, Some(&outsider.token), None).await;
    assert_eq!(answer.status, 404);

    // Receipts name people by id only.
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM professionals")
        .fetch_all(&relay.state.db)
        .await
        .unwrap();
    let dump: Vec<(String, String, i64, i64)> = sqlx::query_as("SELECT * FROM change_receipts")
        .fetch_all(&relay.state.db)
        .await
        .unwrap();
    for name in names {
        assert!(!format!("{dump:?}").contains(&name));
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_looks_are_private_and_history_exports_are_for_administrators_and_audited() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let ann = practitioner(&relay, "ann").await;
    let bob = practitioner(&relay, "bob").await;
    let mut peer = Peer::connect(&url, &ann, ann.client("laptop")).await;
    let id = stored_case(&relay, &ann, &mut peer).await;
    assert_eq!(invite(&relay, &ann, &id, &bob).await.status, 201);
    peer.client
        .document_mut(&id)
        .unwrap()
        .put(automerge::ROOT, "concerns", "Sam misses school")
        .unwrap();
    peer.flush(&id).await;
    peer.until("shared", |p| p.client.unsent_changes(&id) == 0)
        .await;
    let heads: Vec<String> = peer
        .client
        .document_mut(&id)
        .unwrap()
        .get_heads()
        .iter()
        .map(ToString::to_string)
        .collect();

    // Ann's last look is hers alone; an older report does not replace a newer one.
    let path = format!("/api/cases/{id}/last-looked");
    let put = |who: &common::Login, heads: &[String], at: i64| {
        let body = serde_json::json!({ "heads": heads, "looked_at": at });
        let (addr, token, path) = (relay.addr, who.token.clone(), path.clone());
        async move {
            common::http(addr, "PUT", &path, Some(&token), Some(&body))
                .await
                .status
        }
    };
    assert_eq!(put(&ann, &heads, 2_000).await, 204);
    assert_eq!(put(&ann, &[], 1_000).await, 204);
    let read = |who: &common::Login| {
        let (addr, token, path) = (relay.addr, who.token.clone(), path.clone());
        async move {
            let r = common::http(addr, "GET", &path, Some(&token), None).await;
            assert_eq!(r.status, 200);
            serde_json::from_str::<shared::api::LastLooked>(&r.body).unwrap()
        }
    };
    assert_eq!(read(&ann).await.heads, heads);
    assert_eq!(read(&ann).await.looked_at, 2_000);
    assert_eq!(read(&bob).await, shared::api::LastLooked::default());
    assert_eq!(put(&bob, &["not a hash".to_string()], 5).await, 400);
    let outsider = practitioner(&relay, "eve").await;
    assert_eq!(put(&outsider, &heads, 3_000).await, 404);

    // The history as CSV: not for members, for a system administrator, and audited.
    let csv_path = format!("/api/cases/{id}/history.csv");
    let r = common::http(relay.addr, "GET", &csv_path, Some(&ann.token), None).await;
    assert_eq!(r.status, 403);
    common::professional(&relay, "Council", "Ada", "ada@example.org", "system_admin").await;
    let ada = common::sign_in(relay.addr, "ada@example.org", common::PASSWORD).await;
    let r = common::http(relay.addr, "GET", &csv_path, Some(&ada.token), None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("shared_at_ms,"), "{}", r.body);
    let line = r
        .body
        .lines()
        .find(|l| l.contains("Sam misses school"))
        .unwrap_or_else(|| panic!("{}", r.body));
    assert!(
        line.contains(&format!(",{},ann (Test Agency),", ann.id)),
        "{line}"
    );
    let exported: Vec<i64> = sqlx::query_scalar(
        "SELECT actor_professional_id FROM audit WHERE event = 'export_history_csv'",
    )
    .fetch_all(&relay.state.db)
    .await
    .unwrap();
    assert_eq!(exported, [ada.id]);
    relay.stop().await;
}
