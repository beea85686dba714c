//! Leaving a case's team: a member removed while offline, with edits not yet shared, hands
//! them over (checked and journalled as theirs, reaching the lead live), then their device
//! says its copy is gone. Someone never on the team, or a copy forged under another's name,
//! is refused. Joining again clears the departure. Someone who leaves the service has left
//! every case: a device of theirs still signed in hands over and says its copies are gone, and
//! may do nothing else.

mod common;

use automerge::transaction::Transactable;
use common::{
    http, http_bytes, invite, practitioner, professional, sign_in, stored_case, upgrade_status,
    Login, Peer, TestRelay, PASSWORD,
};
use shared::authorship::author_of;
use shared::sync::{Holding, SyncClient};
use shared::DocumentId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_hands_over_final_edits_then_removes_their_copy() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let BobOffline {
        ann,
        bob,
        mut lead,
        id,
        mut offline,
    } = bob_typed_offline(&relay).await;
    let stranger = practitioner(&relay, "stranger").await;

    // Meanwhile Ann removes him from the team.
    let r = http(
        relay.addr,
        "DELETE",
        &format!("/api/cases/{id}/members/{}", bob.id),
        Some(&ann.token),
        None,
    )
    .await;
    assert!(r.status < 300, "{}", r.body);

    // Back online, his device learns it has left the case...
    let r = http(relay.addr, "GET", "/api/departures", Some(&bob.token), None).await;
    let left = r.json();
    assert_eq!(left[0]["case_id"], id.to_string(), "{left}");
    let r = http(
        relay.addr,
        "GET",
        "/api/departures",
        Some(&stranger.token),
        None,
    )
    .await;
    assert_eq!(r.json(), serde_json::json!([]));

    // ...hands over what he typed, which reaches Ann live and is journalled as his...
    let copy = offline.document_mut(&id).unwrap().save();
    let path = format!("/api/cases/{id}/final-edits");
    let (status, _, _) = http_bytes(relay.addr, "POST", &path, &stranger.token, None).await;
    assert_eq!(status, 404, "someone never on the team");
    let (status, head, body) = post_raw(&relay, &path, &bob.token, &copy).await;
    assert_eq!(status, 200, "{head} {}", String::from_utf8_lossy(&body));
    let taken: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(taken["new"], 1, "{taken}");
    assert!(taken["at"].as_i64().unwrap() > 0);
    ann_has_his_words(&mut lead, &id).await;
    let receipts = relay.state.journal.for_case(&id.to_string()).await.unwrap();
    assert!(receipts.iter().any(|r| r.professional_id == bob.id));

    // A copy carrying a change under Ann's name is refused, and nothing of it is taken.
    let doc = offline.document_mut(&id).unwrap();
    doc.set_author(Some(author_of(ann.id)));
    doc.set_actor(automerge::ActorId::random());
    doc.put(automerge::ROOT, "forged", "as ann").unwrap();
    doc.commit();
    let forged = doc.save();
    let (status, _, _) = post_raw(&relay, &path, &bob.token, &forged).await;
    assert_eq!(status, 403);
    let (status, _, _) = post_raw(&relay, &path, &bob.token, b"not automerge").await;
    assert_eq!(status, 400);

    // ...and says his device's copy is gone.
    let removed = format!("/api/cases/{id}/device-copy-removed");
    let body = serde_json::json!({ "device": "bob-store" });
    let r = http(
        relay.addr,
        "POST",
        &removed,
        Some(&stranger.token),
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = http(relay.addr, "POST", &removed, Some(&bob.token), Some(&body)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let devices: Vec<(i64, String)> = sqlx::query_as(
        "SELECT professional_id, device FROM device_copies_removed WHERE case_id = $1",
    )
    .bind(id.to_string())
    .fetch_all(&relay.state.db)
    .await
    .unwrap();
    assert_eq!(devices, vec![(bob.id, "bob-store".to_string())]);
    let events: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT event, outcome, actor_professional_id FROM audit
         WHERE case_id = $1 AND event IN ('final_edits', 'device_copy_removed') ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(&relay.state.db)
    .await
    .unwrap();
    let row = |e: &str, o: &str| (e.to_string(), o.to_string(), Some(bob.id));
    assert_eq!(
        events,
        vec![
            row("final_edits", "success_after_leaving"),
            row("final_edits", "refused_not_yours"),
            row("final_edits", "refused_unreadable"),
            row("device_copy_removed", "left"),
        ]
    );
    let lead_doc = lead.client.document(&id).unwrap();
    assert!(automerge::ReadDoc::get(lead_doc, automerge::ROOT, "forged")
        .unwrap()
        .is_none());

    // Long after leaving, a copy is no longer taken.
    sqlx::query("UPDATE departures SET left_at = left_at - 91 * 24 * 3600 WHERE case_id = $1")
        .bind(id.to_string())
        .execute(&relay.state.db)
        .await
        .unwrap();
    let (status, _, _) = post_raw(&relay, &path, &bob.token, &copy).await;
    assert_eq!(status, 404);

    // A case closed long ago leaves a member's device too: the policy says when, the case
    // list says when it last changed (so a device fetches it again only if it has), and the
    // removal is recorded as for a closed case. Someone not on the team cannot say so.
    let r = http(
        relay.addr,
        "GET",
        "/api/device-policy",
        Some(&ann.token),
        None,
    )
    .await;
    assert_eq!(r.json(), serde_json::json!({ "closed_case_days": 90 }));
    let r = http(relay.addr, "GET", "/api/cases", Some(&ann.token), None).await;
    let mine = r.json();
    assert_eq!(mine[0]["id"], id.to_string());
    let last = receipts.iter().map(|r| r.received_at).max();
    assert!(last.is_some());
    assert!(mine[0]["last_change_at"].as_i64() >= last);
    let closed = serde_json::json!({ "device": "ann-laptop", "because": "closed" });
    let r = http(
        relay.addr,
        "POST",
        &removed,
        Some(&stranger.token),
        Some(&closed),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = http(
        relay.addr,
        "POST",
        &removed,
        Some(&ann.token),
        Some(&closed),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let because: String = sqlx::query_scalar(
        "SELECT because FROM device_copies_removed WHERE case_id = $1 AND professional_id = $2",
    )
    .bind(id.to_string())
    .bind(ann.id)
    .fetch_one(&relay.state.db)
    .await
    .unwrap();
    assert_eq!(because, "closed");

    // Removals from before departures were kept are taken from the audit trail.
    sqlx::query(
        "INSERT INTO audit (at, event, case_id, subject_professional_id, outcome)
         VALUES (1, 'member_removed', $1, $2, 'consent_withdrawn')",
    )
    .bind(id.to_string())
    .bind(stranger.id)
    .execute(&relay.state.db)
    .await
    .unwrap();
    let backfill = match server::database::Dialect::of(&relay.state.db) {
        server::database::Dialect::Sqlite => {
            include_str!("../migrations/sqlite/0009_earlier_departures.sql")
        }
        server::database::Dialect::Postgres => {
            include_str!("../migrations/postgres/0009_earlier_departures.sql")
        }
    };
    sqlx::raw_sql(backfill)
        .execute(&relay.state.db)
        .await
        .unwrap();
    let r = http(
        relay.addr,
        "GET",
        "/api/departures",
        Some(&stranger.token),
        None,
    )
    .await;
    assert_eq!(r.json()[0]["case_id"], id.to_string());

    // Invited again: no longer a departure.
    assert_eq!(invite(&relay, &ann, &id, &bob).await.status, 201);
    let r = http(relay.addr, "GET", "/api/departures", Some(&bob.token), None).await;
    assert_eq!(r.json(), serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leavers_device_hands_over_every_case_and_may_do_nothing_else() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let BobOffline {
        ann,
        bob,
        mut lead,
        id,
        mut offline,
    } = bob_typed_offline(&relay).await;
    // Meanwhile he leaves the service; his phone, still connected, is cut off.
    let mut phone = Peer::connect(&url, &bob, bob.client("phone")).await;
    professional(
        &relay,
        "Test Agency",
        "Ada",
        "ada@example.org",
        "system_admin",
    )
    .await;
    let admin = sign_in(relay.addr, "ada@example.org", PASSWORD).await;
    let get = |token: &str, path: &str| {
        let token = token.to_string();
        let path = path.to_string();
        async move { http(relay.addr, "GET", &path, Some(&token), None).await }
    };
    assert_eq!(get(&bob.token, "/api/leaving").await.status, 409);
    let r = http(
        relay.addr,
        "POST",
        &format!("/api/professionals/{}/deactivate", bob.id),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(phone.close_code().await, Some(4401));

    // His laptop's session works for nothing but handing over.
    assert_eq!(upgrade_status(&url, Some(&bob.token)).await, 401);
    let r = http(
        relay.addr,
        "POST",
        &format!("/api/cases/{id}/members"),
        Some(&bob.token),
        Some(&serde_json::json!({ "professional_id": ann.id })),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(get(&bob.token, "/api/session").await.status, 401);
    assert_eq!(get(&bob.token, "/api/cases").await.status, 401);
    assert_eq!(get(&bob.token, "/api/device-policy").await.status, 401);
    let me = get(&bob.token, "/api/leaving").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["id"], bob.id);
    assert_eq!(me.json()["hand_over"], true);
    let left = get(&bob.token, "/api/departures").await.json();
    assert_eq!(left[0]["case_id"], id.to_string(), "{left}");
    assert_eq!(left[0]["destroyed"], false);

    // What he typed reaches Ann, as his, after he left; then his copy is recorded as gone.
    let copy = offline.document_mut(&id).unwrap().save();
    let path = format!("/api/cases/{id}/final-edits");
    let (status, head, body) = post_raw(&relay, &path, &bob.token, &copy).await;
    assert_eq!(status, 200, "{head} {}", String::from_utf8_lossy(&body));
    let taken: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(taken["new"], 1, "{taken}");
    ann_has_his_words(&mut lead, &id).await;
    let removed = format!("/api/cases/{id}/device-copy-removed");
    // A report his device made earlier (the case closed long ago) is recorded too.
    let closed = serde_json::json!({ "device": "bob-phone", "because": "closed" });
    let r = http(
        relay.addr,
        "POST",
        &removed,
        Some(&bob.token),
        Some(&closed),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let body = serde_json::json!({ "device": "bob-store" });
    let r = http(relay.addr, "POST", &removed, Some(&bob.token), Some(&body)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // The cases opened on it go in their audit trails: before he left, and after.
    let ms = |s: i64| s * 1000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let views = serde_json::json!([
        { "case_id": id.to_string(), "at": ms(now - 3600) },
        { "case_id": id.to_string(), "at": ms(now + 5) },
    ]);
    let r = http(
        relay.addr,
        "POST",
        "/api/views",
        Some(&bob.token),
        Some(&views),
    )
    .await;
    assert!(r.status < 300, "{} {}", r.status, r.body);
    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT event, outcome FROM audit
         WHERE case_id = $1 AND actor_professional_id = $2
           AND event IN ('final_edits', 'device_copy_removed', 'case_viewed')
         ORDER BY id",
    )
    .bind(id.to_string())
    .bind(bob.id)
    .fetch_all(&relay.state.db)
    .await
    .unwrap();
    let row = |e: &str, o: &str| (e.to_string(), o.to_string());
    assert_eq!(
        events,
        vec![
            row("final_edits", "success_after_leaving"),
            row("device_copy_removed", "closed"),
            row("device_copy_removed", "left"),
            row("case_viewed", "success"),
            row("case_viewed", "not_a_member"),
        ]
    );

    // Signing out ends that session too: nothing more is taken from it.
    let r = http(relay.addr, "DELETE", "/api/session", Some(&bob.token), None).await;
    assert_eq!(r.status, 204);
    let only_remove = |id: i64| serde_json::json!({ "id": id, "hand_over": false });
    assert_eq!(
        get(&bob.token, "/api/leaving").await.json(),
        only_remove(bob.id)
    );
    let (status, _, _) = post_raw(&relay, &path, &bob.token, &copy).await;
    assert_eq!(status, 401);

    // A laptop signed in on 80 days ago and left in a drawer: its session has long expired,
    // and is good for nothing while its owner is on the staff...
    let carl = practitioner(&relay, "carl").await;
    assert_eq!(invite(&relay, &ann, &id, &carl).await.status, 201);
    let shift = |days: i64| {
        let db = relay.state.db.clone();
        async move {
            sqlx::query(
                "UPDATE sessions SET created_at = created_at + $1, expires_at = expires_at + $1
                 WHERE professional_id = $2",
            )
            .bind(days * 86_400)
            .bind(carl.id)
            .execute(&db)
            .await
            .unwrap();
        }
    };
    shift(-80).await;
    assert_eq!(get(&carl.token, "/api/departures").await.status, 401);
    let carl_removed = |token: String| {
        let path = format!("/api/cases/{id}/device-copy-removed");
        async move {
            let body = serde_json::json!({ "device": "carl-laptop", "because": "left" });
            http(relay.addr, "POST", &path, Some(&token), Some(&body)).await
        }
    };
    assert_eq!(carl_removed(carl.token.clone()).await.status, 401);
    assert_eq!(get(&carl.token, "/api/leaving").await.status, 401);
    let deactivate = format!("/api/professionals/{}/deactivate", carl.id);
    let r = http(relay.addr, "POST", &deactivate, Some(&admin.token), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // ...but once he has left the service, it may still hand over (and only that),
    assert_eq!(get(&carl.token, "/api/leaving").await.status, 200);
    assert_eq!(get(&carl.token, "/api/session").await.status, 401);
    let left = get(&carl.token, "/api/departures").await.json();
    assert_eq!(left[0]["case_id"], id.to_string(), "{left}");
    // not once 90 days have passed since that sign-in (the device only removes its copies),
    shift(-11).await;
    assert_eq!(
        get(&carl.token, "/api/leaving").await.json(),
        only_remove(carl.id)
    );
    assert_eq!(get(&carl.token, "/api/departures").await.status, 401);
    shift(11).await;
    assert_eq!(
        get(&carl.token, "/api/leaving").await.json()["hand_over"],
        true
    );
    // and not once an administrator has signed him out everywhere (a lost laptop).
    let revoke = format!("/api/professionals/{}/revoke-sessions", carl.id);
    let r = http(relay.addr, "POST", &revoke, Some(&admin.token), None).await;
    assert!(r.status < 300, "{} {}", r.status, r.body);
    assert_eq!(
        get(&carl.token, "/api/leaving").await.json(),
        only_remove(carl.id)
    );
    assert_eq!(get(&carl.token, "/api/departures").await.status, 401);
    // Telling a device to clear is on record, and a token nobody has learns nothing.
    let told: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit WHERE event = 'leaver_device_told_to_clear' AND actor_professional_id = $1",
    )
    .bind(carl.id)
    .fetch_one(&relay.state.db)
    .await
    .unwrap();
    assert_eq!(told, 2);
    // His laptop, which may only clear itself, says it did: on record apart.
    let r = carl_removed(carl.token.clone()).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let said: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM audit WHERE event = 'device_copy_removed' AND actor_professional_id = $1",
    )
    .bind(carl.id)
    .fetch_all(&relay.state.db)
    .await
    .unwrap();
    assert_eq!(said, vec!["left_after_sign_out".to_string()]);
    // Only about his own cases, and a few devices' worth at most.
    let elsewhere = shared::DocumentId::random();
    let body = serde_json::json!({ "device": "carl-laptop", "because": "left" });
    let path = format!("/api/cases/{elsewhere}/device-copy-removed");
    let r = http(relay.addr, "POST", &path, Some(&carl.token), Some(&body)).await;
    assert_eq!(r.status, 404);
    let path = format!("/api/cases/{id}/device-copy-removed");
    let mut statuses = Vec::new();
    for n in 0..12 {
        let body = serde_json::json!({ "device": format!("laptop-{n}"), "because": "left" });
        statuses.push(
            http(relay.addr, "POST", &path, Some(&carl.token), Some(&body))
                .await
                .status,
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
    assert_eq!(get("not-a-session", "/api/leaving").await.status, 401);
}

/// Ann's case with Bob on its team. Ann's laptop is connected; Bob's fetched the case, went
/// offline, and holds a note of a home visit the relay does not have.
struct BobOffline {
    ann: Login,
    bob: Login,
    lead: Peer,
    id: DocumentId,
    offline: SyncClient,
}

async fn bob_typed_offline(relay: &TestRelay) -> BobOffline {
    let url = relay.ws_url();
    let ann = practitioner(relay, "ann").await;
    let bob = practitioner(relay, "bob").await;
    let mut lead = Peer::connect(&url, &ann, ann.client("laptop")).await;
    let id = stored_case(relay, &ann, &mut lead).await;
    assert_eq!(invite(relay, &ann, &id, &bob).await.status, 201);
    let mut bob_peer = Peer::connect(&url, &bob, bob.client("laptop")).await;
    assert_eq!(bob_peer.ask(id).await, Holding::Have);
    let mut offline = bob_peer.client;
    offline.disconnected();
    let doc = offline.document_mut(&id).unwrap();
    doc.put(automerge::ROOT, "home_visit", "Sam was calm today")
        .unwrap();
    doc.commit();
    BobOffline {
        ann,
        bob,
        lead,
        id,
        offline,
    }
}

/// Waits until Bob's note of the home visit has reached Ann's laptop, live.
async fn ann_has_his_words(lead: &mut Peer, id: &DocumentId) {
    lead.until("Bob's last words to reach Ann", |p| {
        p.client.document(id).is_some_and(|d| {
            automerge::ReadDoc::get(d, automerge::ROOT, "home_visit")
                .ok()
                .flatten()
                .is_some()
        })
    })
    .await;
}

/// A POST of raw bytes, as the app sends a copy of a case.
async fn post_raw(
    relay: &TestRelay,
    path: &str,
    token: &str,
    bytes: &[u8],
) -> (u16, String, Vec<u8>) {
    common::http_raw(
        relay.addr,
        "POST",
        path,
        token,
        "application/octet-stream",
        bytes,
    )
    .await
}
