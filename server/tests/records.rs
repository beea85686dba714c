//! Retention and disposal end to end on the relay: a closed case past its retention period is
//! listed for the records manager, a legal hold blocks destroying it, destroying it removes
//! its content from the database (its words are only ever stored sealed, and its key is gone
//! from the database's files: SQLite's file and log, or PostgreSQL's files for the database),
//! and a device that was offline meanwhile comes back with the whole case and cannot bring it
//! back.

mod common;

use common::{http, professional, sign_in, Peer, TestRelay};
use shared::record::CaseRecord;

/// A phrase found nowhere else, to look for in the database file.
const PHRASE: &str = "Zebracorn-harbour-4471";

/// Every byte of the database's files as they are on disk: SQLite's file and its log, or
/// (PostgreSQL, after a checkpoint) every file of the test's database.
async fn db_bytes(relay: &TestRelay, dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    if !common::on_postgres() {
        for name in ["tac-planner.db", "tac-planner.db-wal"] {
            if let Ok(b) = std::fs::read(dir.join(name)) {
                all.extend(b);
            }
        }
        return all;
    }
    let db = &relay.state.db;
    sqlx::query("CHECKPOINT").execute(db).await.unwrap();
    let data: String = sqlx::query_scalar("SHOW data_directory")
        .fetch_one(db)
        .await
        .unwrap();
    let oid: i64 = sqlx::query_scalar(
        "SELECT oid::bigint FROM pg_database WHERE datname = current_database()",
    )
    .fetch_one(db)
    .await
    .unwrap();
    let files = std::path::Path::new(&data)
        .join("base")
        .join(oid.to_string());
    for entry in std::fs::read_dir(&files).unwrap() {
        // A file may be unlinked between listing and reading.
        if let Ok(b) = std::fs::read(entry.unwrap().path()) {
            all.extend(b);
        }
    }
    all
}

fn holds(bytes: &[u8], what: &[u8]) -> bool {
    bytes.windows(what.len()).any(|w| w == what)
}

async fn case_key(relay: &TestRelay, id: &shared::DocumentId) -> Option<Vec<u8>> {
    sqlx::query_scalar("SELECT key FROM case_keys WHERE case_id = $1")
        .bind(id.to_string())
        .fetch_optional(&relay.state.db)
        .await
        .unwrap()
}

/// How many stored parts of the case the database holds.
async fn stored_rows(relay: &TestRelay, id: &shared::DocumentId) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE key >= $1 AND key < $2")
        .bind(format!("{id}/"))
        .bind(format!("{id}0"))
        .fetch_one(&relay.state.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_past_its_retention_is_destroyed_everywhere_and_never_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    let addr = relay.addr;
    professional(
        &relay,
        "Council",
        "Sam Admin",
        "sam@council.test",
        "system_admin",
    )
    .await;
    professional(
        &relay,
        "Council",
        "Lee Lead",
        "lee@council.test",
        "practitioner",
    )
    .await;
    let bea_id = professional(
        &relay,
        "Council",
        "Bea Brown",
        "bea@council.test",
        "practitioner",
    )
    .await;
    let rita = professional(
        &relay,
        "Council",
        "Rita Records",
        "rita@council.test",
        "practitioner",
    )
    .await;
    // In the team but never opened the case on any device: nothing to wait for from her.
    let nia_id = professional(
        &relay,
        "Council",
        "Nia Never",
        "nia@council.test",
        "practitioner",
    )
    .await;
    let lee = sign_in(addr, "lee@council.test", common::PASSWORD).await;
    let bea = sign_in(addr, "bea@council.test", common::PASSWORD).await;

    // A case closed in 2000 about a child born in 1970: long past 25 years from birth.
    let mut record = CaseRecord::new("Jo Old");
    record.family.people[0].date_of_birth = "1970-01-01".into();
    record.closure.date = "2000-01-01".into();
    record.worried_about = autosurgeon::Text::with_value(format!("Seen by {PHRASE} on the visit."));
    let mut lead = Peer::connect(&relay.ws_url(), &lee, lee.client("lee")).await;
    let (id, effects) = lead.client.create(record.into_document().unwrap());
    assert_eq!(common::register(&relay, &lee, &id).await, 201);
    lead.run(effects).await;
    lead.until("the case stored", |p| p.client.unsent_changes(&id) == 0)
        .await;
    let added = http(
        addr,
        "POST",
        &format!("/api/cases/{id}/members"),
        Some(&lee.token),
        Some(&serde_json::json!({ "professional_id": bea_id })),
    )
    .await;
    assert_eq!(added.status, 201);
    let nia_added = http(
        addr,
        "POST",
        &format!("/api/cases/{id}/members"),
        Some(&lee.token),
        Some(&serde_json::json!({ "professional_id": nia_id })),
    )
    .await;
    assert_eq!(nia_added.status, 201);
    // Bea has the whole case on her device, then goes offline.
    let mut bea_device = Peer::connect(&relay.ws_url(), &bea, bea.client("bea")).await;
    assert_eq!(bea_device.ask(id).await, shared::sync::Holding::Have);
    let bea_client = bea_device.client;
    // Its words are stored sealed; its key is in the database.
    let key = case_key(&relay, &id).await.expect("the case has a key");
    let before = db_bytes(&relay, dir.path()).await;
    assert!(
        holds(&before, &key),
        "the case's key should be in the database's files before (else this test proves nothing)"
    );
    assert!(!holds(&before, PHRASE.as_bytes()), "stored unsealed");

    // The system administrator names the records manager; only she sees what is due.
    let sam = sign_in(addr, "sam@council.test", common::PASSWORD).await;
    let set = http(
        addr,
        "PUT",
        "/api/records/settings",
        Some(&sam.token),
        Some(&serde_json::json!({
            "rule": { "kind": "after_birth", "years": 25 },
            "records_manager_id": rita,
        })),
    )
    .await;
    assert_eq!(set.status, 204, "{}", set.body);
    let not_manager = http(addr, "GET", "/api/records/due", Some(&lee.token), None).await;
    assert_eq!(not_manager.status, 403);
    let rita_login = sign_in(addr, "rita@council.test", common::PASSWORD).await;
    // The records manager's row for a case on the due list.
    let due_row = |case: shared::DocumentId| {
        let token = rita_login.token.clone();
        async move {
            let due = http(addr, "GET", "/api/records/due", Some(&token), None).await;
            assert_eq!(due.status, 200);
            due.json()
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["case_id"] == case.to_string())
                .cloned()
                .unwrap_or_else(|| panic!("{case} is not due: {}", due.body))
        }
    };
    let row = due_row(id).await;
    assert_eq!(row["child_name"], "Jo Old");
    assert_eq!(row["due"], "2000-01-01");
    assert!(row["never_closed"].is_null(), "{row}");

    // The list follows the case: once a younger child is recorded, not due; put back, due.
    let due_ids = |token: String| async move {
        let listed = http(addr, "GET", "/api/records/due", Some(&token), None).await;
        assert_eq!(listed.status, 200);
        listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["case_id"].as_str().unwrap().to_string(),
                    c["child_name"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let jo = (id.to_string(), serde_json::json!("Jo Old"));
    assert!(due_ids(rita_login.token.clone()).await.contains(&jo));
    for (born, listed) in [("2020-01-01", false), ("1970-01-01", true)] {
        let doc = lead.client.document_mut(&id).unwrap();
        let mut record = CaseRecord::from_document(doc).unwrap();
        record.family.people[0].date_of_birth = born.into();
        record.write(doc).unwrap();
        lead.flush(&id).await;
        lead.until("the change stored", |p| p.client.unsent_changes(&id) == 0)
            .await;
        let now = due_ids(rita_login.token.clone()).await;
        assert_eq!(now.contains(&jo), listed, "born {born}: {now:?}");
    }

    // A case never closed counts from its last change: one about a grown-up "child" is due
    // from today, and the list says it was never closed.
    let mut open = CaseRecord::new("Mo Open");
    open.family.people[0].date_of_birth = "1990-01-01".into();
    let (mo, effects) = lead.client.create(open.into_document().unwrap());
    assert_eq!(common::register(&relay, &lee, &mo).await, 201);
    lead.run(effects).await;
    lead.until("the open case stored", |p| {
        p.client.unsent_changes(&mo) == 0
    })
    .await;
    let row = due_row(mo).await;
    assert!(row["never_closed"].is_string(), "{row}");
    assert_eq!(row["never_closed"], row["due"]);

    // A legal hold stops it; lifted, the case can go.
    let path = |what: &str| format!("/api/records/{id}/{what}");
    let hold = http(
        addr,
        "PUT",
        &path("hold"),
        Some(&rita_login.token),
        Some(&serde_json::json!({ "reason": "Inquiry 2026/14" })),
    )
    .await;
    assert_eq!(hold.status, 204);
    let refused = http(
        addr,
        "POST",
        &path("destroy"),
        Some(&rita_login.token),
        None,
    )
    .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let by_lead = http(addr, "POST", &path("destroy"), Some(&lee.token), None).await;
    assert_eq!(by_lead.status, 403);
    let lifted = http(addr, "DELETE", &path("hold"), Some(&rita_login.token), None).await;
    assert_eq!(lifted.status, 204);
    let destroyed = http(
        addr,
        "POST",
        &path("destroy"),
        Some(&rita_login.token),
        None,
    )
    .await;
    assert_eq!(destroyed.status, 204, "{}", destroyed.body);
    let again = http(
        addr,
        "POST",
        &path("destroy"),
        Some(&rita_login.token),
        None,
    )
    .await;
    assert_eq!(again.status, 410);

    // Nothing of it is stored, and neither its words nor its key are in the database's files.
    let rows = stored_rows(&relay, &id).await;
    assert_eq!(rows, 0);
    assert_eq!(case_key(&relay, &id).await, None);
    let after = db_bytes(&relay, dir.path()).await;
    assert!(!holds(&after, &key), "the case's key is still in the files");
    assert!(!holds(&after, PHRASE.as_bytes()));

    // Bea's device comes back online with the whole case: nothing of it is taken.
    let mut bea_device = Peer::connect(&relay.ws_url(), &bea, bea_client).await;
    bea_device.flush(&id).await;
    bea_device.idle(std::time::Duration::from_millis(500)).await;
    let copy = bea_device.client.document_mut(&id).unwrap().save();
    let (final_edits, _, _) = common::http_raw(
        addr,
        "POST",
        &format!("/api/cases/{id}/final-edits"),
        &bea.token,
        "application/octet-stream",
        &copy,
    )
    .await;
    assert_eq!(final_edits, 410);
    let register = common::register(&relay, &bea, &id).await;
    assert_ne!(register, 201);
    let rows = stored_rows(&relay, &id).await;
    assert_eq!(rows, 0, "a device brought the destroyed case back");
    let mut fresh = Peer::connect(&relay.ws_url(), &lee, lee.client("lee-new")).await;
    assert_eq!(fresh.ask(id).await, shared::sync::Holding::Unavailable);

    // Her device is told it was destroyed, removes it and says so; the log shows who is left.
    let departures = http(addr, "GET", "/api/departures", Some(&bea.token), None).await;
    let listed = departures.json();
    let gone = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["case_id"] == id.to_string())
        .expect("a departure");
    assert_eq!(gone["destroyed"], true);
    let removed = http(
        addr,
        "POST",
        &format!("/api/cases/{id}/device-copy-removed"),
        Some(&bea.token),
        Some(&serde_json::json!({ "device": "bea-laptop", "because": "destroyed" })),
    )
    .await;
    assert_eq!(removed.status, 204);
    let log = http(
        addr,
        "GET",
        "/api/records/destroyed",
        Some(&rita_login.token),
        None,
    )
    .await;
    let log = log.json();
    let entry = &log[0];
    assert_eq!(entry["case_id"], id.to_string());
    assert_eq!(entry["approved_by"], "Rita Records");
    assert_eq!(entry["devices_confirmed"], 1);
    assert_eq!(entry["waiting_for"], serde_json::json!(["Lee Lead"]));
    assert_eq!(entry["never_opened"], serde_json::json!(["Nia Never"]));

    // The audit names the case by id only.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit WHERE event = 'case_destroyed' AND outcome = 'success' AND case_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&relay.state.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}
