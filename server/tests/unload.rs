//! Memory that stays bounded: cases nobody has open leave the relay's memory after a quiet
//! period (`--unload-after-secs`), stay stored, and sync again when someone opens them; a case
//! someone has open stays loaded however quiet it is.

mod common;

use common::{practitioner, register, Peer, TestRelay};
use shared::case::{Case, Field};
use shared::sync::Holding;
use std::time::{Duration, Instant};

fn concerns(peer: &Peer, id: &shared::DocumentId) -> String {
    Field::Concerns.read(&Case::from_document(peer.client.document(id).unwrap()).unwrap())
}

async fn until_loaded(relay: &TestRelay, want: impl Fn(usize) -> bool, what: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let n = relay.state.repos.loaded().await;
        if want(n) {
            return n;
        }
        assert!(Instant::now() < deadline, "{what}: {n} shards loaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_cases_leave_memory_and_come_back_when_opened() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_with(data.path(), &["--unload-after-secs", "1"]).await;
    let url = relay.ws_url();
    let login = practitioner(&relay, "ann").await;

    // Nothing is loaded for a browser that has only joined.
    let mut ann = Peer::connect(&url, &login, login.client("ann")).await;
    assert_eq!(relay.state.repos.loaded().await, 0);

    let mut ids = Vec::new();
    for n in 0..24 {
        let (id, effects) = ann.client.create(Case::new("Sam").into_document().unwrap());
        assert_eq!(register(&relay, &login, &id).await, 201);
        ann.run(effects).await;
        Field::Concerns
            .write(ann.client.document_mut(&id).unwrap(), &format!("Case {n}"))
            .unwrap();
        ann.flush(&id).await;
        ids.push(id);
    }
    ann.until("the relay to store every case", |p| {
        ids.iter().all(|id| p.client.unsent_changes(id) == 0)
    })
    .await;
    let busy = relay.state.repos.loaded().await;
    assert!(busy > 1, "24 cases spread over shards, {busy} loaded");

    // While Ann is connected her cases stay loaded, however quiet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(relay.state.repos.loaded().await, busy);

    // A listener on one case's changes, to see that its document is freed, not only let go of.
    let mut changes = {
        let handle = relay
            .state
            .repos
            .find(&ids[0].to_string())
            .await
            .unwrap()
            .unwrap();
        handle.changes()
    };

    // She goes; after the quiet period everything leaves memory.
    ann.close().await;
    until_loaded(&relay, |n| n == 0, "unloading idle shards").await;
    // The stream ends only when the document itself is dropped (samod's repo and its acceptor
    // hold each other, so an unload once kept every document it had loaded).
    use futures::StreamExt;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while changes.next().await.is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "an unloaded case's document is still in memory"
    );

    // Opened again (another device), a case loads from the store, whole, and syncs live.
    let mut other = Peer::connect(&url, &login, login.client("ann-phone")).await;
    for (n, id) in ids.iter().enumerate().step_by(5) {
        assert_eq!(other.ask(*id).await, Holding::Have);
        assert_eq!(concerns(&other, id), format!("Case {n}"));
    }
    assert!(relay.state.repos.loaded().await >= 1);
    Field::Concerns
        .write(other.client.document_mut(&ids[0]).unwrap(), "Edited after")
        .unwrap();
    other.flush(&ids[0]).await;
    other
        .until("the edit to be stored", |p| {
            p.client.unsent_changes(&ids[0]) == 0
        })
        .await;
    other.close().await;
    until_loaded(&relay, |n| n == 0, "unloading again").await;

    // After unloading, the edit made after the first unload is still there.
    let mut third = Peer::connect(&url, &login, login.client("ann-tablet")).await;
    assert_eq!(third.ask(ids[0]).await, Holding::Have);
    assert_eq!(concerns(&third, &ids[0]), "Edited after");
    third.close().await;
    relay.stop().await;
}

/// The family's consent is still enforced for a case whose shard was unloaded and loaded
/// again: withdrawing it removes the organisation's members, as it does for a case never
/// unloaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_withdrawn_after_an_unload_still_removes_members() {
    use shared::record::consent::AgencyConsent;
    use shared::record::CaseRecord;
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_with(data.path(), &["--unload-after-secs", "1"]).await;
    let url = relay.ws_url();
    let lead = practitioner(&relay, "lead").await;
    common::professional(
        &relay,
        "Oak School",
        "Teacher",
        "teacher@oak.test",
        "practitioner",
    )
    .await;
    let teacher = common::sign_in(relay.addr, "teacher@oak.test", common::PASSWORD).await;

    let mut record = CaseRecord::new("Jamie");
    let mut school = AgencyConsent::new("Oak School");
    school.date = "2026-01-05".into();
    school.given_by = "Pat".into();
    record.consent.agencies.push(school);
    let mut desk = Peer::connect(&url, &lead, lead.client("desk")).await;
    let (id, effects) = desk.client.create(record.into_document().unwrap());
    assert_eq!(register(&relay, &lead, &id).await, 201);
    desk.run(effects).await;
    desk.until("the case to be stored", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;
    let r = common::invite(&relay, &lead, &id, &teacher).await;
    assert_eq!(r.status, 201, "{}", r.body);
    desk.close().await;
    until_loaded(&relay, |n| n == 0, "unloading").await;

    // Back on another day: the lead records the withdrawal.
    let mut desk = Peer::connect(&url, &lead, lead.client("desk-2")).await;
    assert_eq!(desk.ask(id).await, Holding::Have);
    {
        let doc = desk.client.document_mut(&id).unwrap();
        let mut r = CaseRecord::load(doc).unwrap();
        r.consent.agencies[0].withdrawn_date = "2026-03-01".into();
        r.write(doc).unwrap();
    }
    desk.flush(&id).await;
    desk.until("the withdrawal to be stored", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = common::http(
            relay.addr,
            "GET",
            &format!("/api/cases/{id}/members"),
            Some(&lead.token),
            None,
        )
        .await;
        let ids: Vec<i64> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["professional_id"].as_i64().unwrap())
            .collect();
        if ids == vec![lead.id] {
            break;
        }
        assert!(Instant::now() < deadline, "the teacher is still a member");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    desk.close().await;
    relay.stop().await;
}
