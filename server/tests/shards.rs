//! The relay spreads cases over several samod repos (shards) by case id, behind one WebSocket
//! per browser: cases in different shards sync, live, over one socket, and the browser hears
//! one answer to its `join`.

mod common;

use common::{practitioner, register, Peer, TestRelay};
use shared::case::{Case, Field};
use shared::presence::Presence;
use shared::sync::{Effect, Holding};
use std::collections::HashSet;
use std::time::Duration;

fn concerns(peer: &Peer, id: &shared::DocumentId) -> String {
    Field::Concerns.read(&Case::from_document(peer.client.document(id).unwrap()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_in_different_shards_sync_over_one_socket() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let a_login = practitioner(&relay, "alice").await;
    let b_login = practitioner(&relay, "bob").await;
    let mut a = Peer::connect(&url, &a_login, a_login.client("alice")).await;

    // Three cases, each in a shard of its own.
    let mut shards = HashSet::new();
    let mut ids = Vec::new();
    while ids.len() < 3 {
        let (id, effects) = a.client.create(Case::new("Sam").into_document().unwrap());
        if !shards.insert(relay.state.repos.shard_of(&id.to_string())) {
            continue;
        }
        assert_eq!(register(&relay, &a_login, &id).await, 201);
        a.run(effects).await;
        Field::Concerns
            .write(
                a.client.document_mut(&id).unwrap(),
                &format!("Case {}", ids.len()),
            )
            .unwrap();
        a.flush(&id).await;
        ids.push(id);
    }
    a.until("the relay to store every case", |p| {
        ids.iter().all(|id| p.client.unsent_changes(id) == 0)
    })
    .await;
    for id in &ids {
        let r = common::invite(&relay, &a_login, id, &b_login).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    // Bob fetches all three over his one socket.
    let mut b = Peer::connect(&url, &b_login, b_login.client("bob")).await;
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(b.ask(*id).await, Holding::Have);
        assert_eq!(concerns(&b, id), format!("Case {n}"));
    }

    // Live edits and presence reach Bob in whichever shard the case is.
    for id in &ids {
        Field::Concerns
            .write(a.client.document_mut(id).unwrap(), "Edited live")
            .unwrap();
        a.flush(id).await;
        let presence = Presence {
            professional_id: a_login.id,
            name: "alice".into(),
            agency: "Test Agency".into(),
            section: "plan".into(),
            field: None,
            typing: true,
            leaving: false,
        };
        let effects = a.client.broadcast(id, presence.encode());
        a.run(effects).await;
    }
    b.until("every live edit and presence", |p| {
        ids.iter().all(|id| {
            concerns(p, id) == "Edited live"
                && p.events.iter().any(
                    |e| matches!(e, Effect::Ephemeral { document_id, .. } if document_id == id),
                )
        })
    })
    .await;
    a.idle(Duration::from_millis(200)).await;
    assert_eq!((a.peers, b.peers), (1, 1), "one answer to each join");
    relay.stop().await;
}
