//! Views of a case reported by devices go in its audit trail, with when they happened: a
//! member's as `success`, a former member's as `not_a_member`; ids never registered, and
//! reports too large, are refused or ignored.

mod common;

use common::{http, practitioner, register, TestRelay};

async fn views(relay: &TestRelay, case: &str) -> Vec<(String, Option<i64>, Option<i64>, i64)> {
    sqlx::query_as(
        "SELECT outcome, actor_professional_id, occurred_at, at FROM audit
         WHERE event = 'case_viewed' AND case_id = $1 ORDER BY id",
    )
    .bind(case)
    .fetch_all(&relay.state.db)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_are_recorded_with_when_they_happened() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let ann = practitioner(&relay, "ann").await;
    let bob = practitioner(&relay, "bob").await;
    let id = shared::DocumentId::random();
    assert_eq!(register(&relay, &ann, &id).await, 201);
    let case = id.to_string();
    let never = shared::DocumentId::random().to_string();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let hour_ago = now_ms - 3_600_000;

    let r = http(
        relay.addr,
        "POST",
        "/api/views",
        Some(&ann.token),
        Some(&serde_json::json!([
            { "case_id": case, "at": hour_ago },
            { "case_id": never, "at": hour_ago },
            { "case_id": "not an id", "at": hour_ago },
            // As the device's clock says, even a day ahead.
            { "case_id": case, "at": now_ms + 86_400_000 },
        ])),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // Stranger was never on the case: ignored. Bob has left it: what he saw while on the team
    // is recorded as such, what he saw after leaving as not a member.
    let stranger = practitioner(&relay, "stranger").await;
    let r = http(
        relay.addr,
        "POST",
        "/api/views",
        Some(&stranger.token),
        Some(&serde_json::json!([{ "case_id": case, "at": hour_ago }])),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(common::invite(&relay, &ann, &id, &bob).await.status, 201);
    let r = http(
        relay.addr,
        "DELETE",
        &format!("/api/cases/{case}/members/{}", bob.id),
        Some(&ann.token),
        None,
    )
    .await;
    assert!(r.status < 300, "{}", r.body);
    let r = http(
        relay.addr,
        "POST",
        "/api/views",
        Some(&bob.token),
        Some(&serde_json::json!([
            { "case_id": case, "at": hour_ago },
            { "case_id": case, "at": now_ms + 60_000 },
        ])),
    )
    .await;
    assert_eq!(r.status, 204);

    let rows = views(&relay, &case).await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0].0, "success");
    assert_eq!(rows[0].1, Some(ann.id));
    assert_eq!(rows[0].2, Some(hour_ago));
    assert!(rows[0].3 >= hour_ago / 1000 + 3_599);
    assert_eq!(rows[1].2, Some(now_ms + 86_400_000));
    assert_eq!(rows[2].0, "success");
    assert_eq!(rows[2].1, Some(bob.id));
    assert_eq!(rows[3].0, "not_a_member");
    assert_eq!(rows[3].1, Some(bob.id));
    assert!(views(&relay, &never).await.is_empty());

    // Too many at once, or not signed in: refused.
    let many: Vec<_> = (0..501)
        .map(|_| serde_json::json!({ "case_id": case, "at": hour_ago }))
        .collect();
    let r = http(
        relay.addr,
        "POST",
        "/api/views",
        Some(&ann.token),
        Some(&serde_json::Value::Array(many)),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = http(
        relay.addr,
        "POST",
        "/api/views",
        None,
        Some(&serde_json::json!([])),
    )
    .await;
    assert_eq!(r.status, 401);
    // The same view reported again (an answer lost on the way) is recorded once.
    let again = serde_json::json!([{ "case_id": case, "at": hour_ago }]);
    let r = http(
        relay.addr,
        "POST",
        "/api/views",
        Some(&ann.token),
        Some(&again),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(views(&relay, &case).await.len(), 4);
}
